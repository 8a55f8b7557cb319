//! Bearer-token auth for the read and admin API, by role (SPEC 5): an operator may do
//! everything, a viewer may only read.

use super::{error_response, errors::ApiError, AppState};
use crate::settings::Secret;
use axum::{
    extract::FromRequestParts,
    http::{header, request::Parts, StatusCode},
    response::{IntoResponse, Response},
};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Who a token speaks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// `HOOKGATE_API_TOKEN`: reads and changes.
    Operator,
    /// `HOOKGATE_VIEWER_TOKEN`: reads only, personal data masked.
    Viewer,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Operator => "operator",
            Role::Viewer => "viewer",
        }
    }
}

/// Every configured token with its role. Each variable holds a list, so a token is rotated by
/// adding the new one, moving clients over, and removing the old one; a removed token stops
/// working at once, its console sessions included.
#[derive(Clone, Default)]
pub struct Tokens {
    operator: Vec<Secret>,
    viewer: Vec<Secret>,
}

impl Tokens {
    pub fn new(operator: Vec<Secret>, viewer: Vec<Secret>) -> Tokens {
        Tokens { operator, viewer }
    }

    /// Whether any token is configured: without one the API and the console are off.
    pub fn any(&self) -> bool {
        !self.operator.is_empty() || !self.viewer.is_empty()
    }

    /// Whether an operator token is configured: without one, changes answer 503.
    pub fn any_operator(&self) -> bool {
        !self.operator.is_empty()
    }

    /// The role of `given`. Every configured token is compared, in constant time, whichever
    /// matches, so the answer's timing says nothing of which or how many there are.
    pub fn role_of(&self, given: &str) -> Option<Role> {
        self.role_where(|token| !given.is_empty() && same(given.as_bytes(), token.as_bytes()))
    }

    /// The role of the token whose SHA-256 is `fingerprint` (what a console session keeps),
    /// while that token is still configured.
    pub fn role_of_fingerprint(&self, fingerprint: &[u8]) -> Option<Role> {
        self.role_where(|token| same(fingerprint, &fingerprint_of(token)))
    }

    fn role_where(&self, matches: impl Fn(&str) -> bool) -> Option<Role> {
        let any_of = |tokens: &[Secret]| {
            tokens
                .iter()
                .fold(false, |found, token| matches(token.expose()) | found)
        };
        let operator = any_of(&self.operator);
        let viewer = any_of(&self.viewer);
        if operator {
            Some(Role::Operator)
        } else {
            viewer.then_some(Role::Viewer)
        }
    }
}

/// What a console session keeps of the token it signed in with.
pub fn fingerprint_of(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

fn same(a: &[u8], b: &[u8]) -> bool {
    bool::from(a.ct_eq(b))
}

/// Present in a handler's arguments: the request carried a configured token, of this role.
pub struct Authorized(pub Role);

impl FromRequestParts<AppState> for Authorized {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        if !state.tokens.any() {
            return Err(error_response(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "no API token is configured (HOOKGATE_API_TOKEN)",
            ));
        }
        let given = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or_default();
        state.tokens.role_of(given).map(Authorized).ok_or_else(|| {
            error_response(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "a valid bearer token is required",
            )
        })
    }
}

impl Authorized {
    /// Refuses a change to anyone but an operator: 403 `forbidden` to a viewer, 503 when no
    /// operator token is configured at all.
    pub fn may_change(&self, state: &AppState) -> Result<(), ApiError> {
        if !state.tokens.any_operator() {
            return Err(ApiError::NoOperatorToken);
        }
        match self.0 {
            Role::Operator => Ok(()),
            Role::Viewer => Err(ApiError::Forbidden),
        }
    }
}

/// Present in a handler's arguments: the request carried an operator's token.
pub struct Operator;

impl FromRequestParts<AppState> for Operator {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let authorized = Authorized::from_request_parts(parts, state).await?;
        authorized
            .may_change(state)
            .map_err(IntoResponse::into_response)?;
        Ok(Operator)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens() -> Tokens {
        Tokens::new(
            vec![Secret::new("op-old"), Secret::new("op-new")],
            vec![Secret::new("view")],
        )
    }

    #[test]
    fn each_token_of_a_list_has_its_role() {
        let tokens = tokens();
        assert_eq!(tokens.role_of("op-old"), Some(Role::Operator));
        assert_eq!(tokens.role_of("op-new"), Some(Role::Operator));
        assert_eq!(tokens.role_of("view"), Some(Role::Viewer));
        assert_eq!(tokens.role_of("op"), None);
        assert_eq!(tokens.role_of(""), None);
    }

    #[test]
    fn a_session_keeps_its_role_only_while_its_token_is_configured() {
        let fingerprint = fingerprint_of("op-old");
        assert_eq!(
            tokens().role_of_fingerprint(&fingerprint),
            Some(Role::Operator)
        );
        let rotated = Tokens::new(vec![Secret::new("op-new")], vec![Secret::new("view")]);
        assert_eq!(rotated.role_of_fingerprint(&fingerprint), None);
        let demoted = Tokens::new(vec![], vec![Secret::new("op-old")]);
        assert_eq!(
            demoted.role_of_fingerprint(&fingerprint),
            Some(Role::Viewer)
        );
    }

    #[test]
    fn without_tokens_nothing_is_anyones() {
        let none = Tokens::default();
        assert!(!none.any());
        assert_eq!(none.role_of("anything"), None);
    }
}
