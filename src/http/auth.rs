//! Bearer-token auth for the read and admin API.

use super::{error_response, AppState};
use axum::{
    extract::FromRequestParts,
    http::{header, request::Parts, StatusCode},
    response::Response,
};
use subtle::ConstantTimeEq;

/// Present in a handler's arguments: the request carried the configured token.
pub struct Authorized;

impl FromRequestParts<AppState> for Authorized {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let Some(token) = &state.api_token else {
            return Err(error_response(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "no API token is configured (HOOKGATE_API_TOKEN)",
            ));
        };
        let given = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or_default();
        if bool::from(given.as_bytes().ct_eq(token.expose().as_bytes())) && !given.is_empty() {
            Ok(Authorized)
        } else {
            Err(error_response(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "a valid bearer token is required",
            ))
        }
    }
}
