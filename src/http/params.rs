//! Query parameters and admin request bodies parsed into a type, with a wrong one answered in
//! the one JSON error shape (400 `malformed_payload`) instead of axum's plain-text rejection.

use super::errors::ApiError;
use axum::{
    extract::{FromRequestParts, Query},
    http::request::Parts,
};
use serde::de::DeserializeOwned;

pub(super) struct Params<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Params<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(params)) => Ok(Params(params)),
            Err(rejection) => Err(ApiError::bad_request(rejection.body_text())),
        }
    }
}

/// An admin request's JSON body as `T`; a body that is not one is answered 400 with `shape`,
/// the form it should take (serde's own text can quote the body back).
pub(super) fn json_body<T: DeserializeOwned>(
    body: &[u8],
    shape: &'static str,
) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|_| ApiError::bad_request(shape))
}
