//! Signing in and out of the console, the session every other page needs, and the CSRF check
//! every form POST passes.
//!
//! The session cookie holds 32 random bytes; the database keeps only their SHA-256
//! (`store::console`). It is HttpOnly and SameSite=Strict, scoped to `/console`, and Secure
//! when the request came over HTTPS through a proxy (`X-Forwarded-Proto: https`). Each session
//! has its own CSRF token, which every form carries; the sign-in form, before there is a
//! session, carries one that must match a short-lived cookie (double submit).

use super::{
    form::{csrf_refused, Form, Refused},
    page::{self, Section},
};
use crate::{
    http::{
        auth::{fingerprint_of, Role},
        client::ClientAddress,
        AppState,
    },
    store::console as store,
};
use axum::{
    extract::{FromRequestParts, RawForm, State},
    http::{header, request::Parts, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Redirect, Response},
};
use chrono::{Duration, Utc};
use maud::html;
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

const SESSION_COOKIE: &str = "hookgate_session";
const SIGN_IN_COOKIE: &str = "hookgate_sign_in";
const SESSION_HOURS: i64 = 12;
/// Operator names are shown and stored, never parsed: a bound keeps the audit log readable.
const MAX_OPERATOR_CHARS: usize = 64;

/// A signed-in operator. Present in a handler's arguments, it sends anyone without a live
/// session to the sign-in page.
pub struct Session {
    pub operator: String,
    /// The role of the token it signed in with, as configured now.
    pub role: Role,
    pub csrf: String,
    id_hash: Vec<u8>,
}

impl Session {
    pub fn frame(&self) -> page::Frame<'_> {
        page::Frame {
            operator: &self.operator,
            role: self.role,
            csrf: &self.csrf,
        }
    }

    /// Refuses a change to a viewer's session, as a forged form it could not have been shown.
    pub fn may_change(&self) -> Result<(), Refused> {
        match self.role {
            Role::Operator => Ok(()),
            Role::Viewer => Err(Refused::Viewer),
        }
    }

    /// Who acts, for the audit log.
    pub fn actor(&self) -> (&str, Option<&str>) {
        (&self.operator, Some(self.role.as_str()))
    }

    /// Refuses a form whose CSRF token is not this session's.
    pub fn check_csrf(&self, form: &Form) -> Result<(), Refused> {
        if same_secret(form.first("csrf").unwrap_or_default(), &self.csrf) {
            Ok(())
        } else {
            Err(Refused::Csrf)
        }
    }
}

impl FromRequestParts<AppState> for Session {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        find(&parts.headers, state)
            .await
            .ok_or_else(|| Redirect::to("/console").into_response())
    }
}

/// The live session the request's cookie names, while the token it signed in with is still
/// configured (a rotated-out token ends its sessions), with that token's role now.
async fn find(headers: &HeaderMap, state: &AppState) -> Option<Session> {
    if !state.tokens.any() {
        return None;
    }
    let id = cookie(headers, SESSION_COOKIE)?;
    let id_hash = digest(id.as_bytes());
    let row = store::find_session(&state.pool, &id_hash).await.ok()??;
    let role = state.tokens.role_of_fingerprint(&row.token_fingerprint)?;
    Some(Session {
        operator: row.operator,
        role,
        csrf: row.csrf_token,
        id_hash,
    })
}

/// `GET /console`: the overview when signed in, else the sign-in form.
pub async fn sign_in_page(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if find(&headers, &state).await.is_some() {
        return Redirect::to("/console/overview").into_response();
    }
    sign_in_form(&state, &headers, StatusCode::OK, None)
}

fn sign_in_form(
    state: &AppState,
    headers: &HeaderMap,
    status: StatusCode,
    problem: Option<&str>,
) -> Response {
    if !state.tokens.any() {
        let body = page::notice(
            "error",
            "The console is off: no API token is configured (HOOKGATE_API_TOKEN).",
        );
        let mut response = page::render("Sign in", Section::SignIn, None, body);
        *response.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
        return response;
    }
    let csrf = random_token();
    let body = html! {
        form.signin method="post" action="/console/login" {
            @if let Some(problem) = problem { (page::notice("error", problem)) }
            label { "API token" input type="password" name="token" autocomplete="current-password" required autofocus; }
            label { "Your name, for the audit log" input type="text" name="operator" maxlength="64"; }
            input type="hidden" name="csrf" value=(csrf);
            button type="submit" { "Sign in" }
        }
    };
    let mut response = page::render("Sign in", Section::SignIn, None, body);
    *response.status_mut() = status;
    set_cookie(&mut response, headers, SIGN_IN_COOKIE, &csrf, 3_600);
    response
}

/// `POST /console/login`: the API token in, a session cookie out. A client address with 10
/// failures in 5 minutes is refused (429) until its window passes, even with the right token,
/// so guessing costs the same on every pod (SPEC 5).
pub async fn sign_in(
    State(state): State<AppState>,
    ClientAddress(client): ClientAddress,
    headers: HeaderMap,
    form: RawForm,
) -> Response {
    let form = Form::read(form);
    let expected = cookie(&headers, SIGN_IN_COOKIE).unwrap_or_default();
    if !same_secret(form.first("csrf").unwrap_or_default(), expected) {
        return csrf_refused();
    }
    if !state.tokens.any() {
        return sign_in_form(&state, &headers, StatusCode::SERVICE_UNAVAILABLE, None);
    }
    let client = client.map_or_else(|| "unknown".to_owned(), |address| address.to_string());
    let operator = operator_name(form.first("operator").unwrap_or_default());
    match store::sign_in_blocked_for(&state.changes, &client).await {
        Ok(None) => {}
        Ok(Some(seconds)) => return rate_limited(&state, &headers, seconds),
        Err(_) => return page::failure(None, "The database is unavailable: try again shortly."),
    }
    let token = form.first("token").unwrap_or_default();
    let Some(role) = state.tokens.role_of(token) else {
        tracing::info!("console sign-in refused: wrong token");
        let recorded = store::record_sign_in_failure(&state.changes, &client).await;
        let detail = serde_json::json!({"client": client});
        let refused = (operator.as_str(), None);
        let audited = store::record_action(&state.changes, refused, "sign_in_refused", &detail);
        if recorded.is_err() || audited.await.is_err() {
            return page::failure(None, "The database is unavailable: try again shortly.");
        }
        let problem = "That is not the API token.";
        return sign_in_form(&state, &headers, StatusCode::UNAUTHORIZED, Some(problem));
    };
    let id = random_token();
    let csrf = random_token();
    let opened = store::open_session(
        &state.changes,
        &store::NewSession {
            id_hash: &digest(id.as_bytes()),
            csrf_token: &csrf,
            operator: &operator,
            token_fingerprint: &fingerprint_of(token),
            expires_at: Utc::now() + Duration::hours(SESSION_HOURS),
        },
    )
    .await;
    let audited = async {
        let actor = (operator.as_str(), Some(role.as_str()));
        store::record_action(&state.changes, actor, "sign_in", &serde_json::json!({})).await
    };
    if opened.is_err() || audited.await.is_err() {
        return page::failure(None, "The database is unavailable: try again shortly.");
    }
    let mut response = Redirect::to("/console/overview").into_response();
    set_cookie(
        &mut response,
        &headers,
        SESSION_COOKIE,
        &id,
        SESSION_HOURS * 3_600,
    );
    set_cookie(&mut response, &headers, SIGN_IN_COOKIE, "", 0);
    response
}

/// 429 `rate_limited` with `Retry-After`: the sign-in form, saying when to try again.
fn rate_limited(state: &AppState, headers: &HeaderMap, seconds: i64) -> Response {
    tracing::info!(
        seconds,
        "console sign-in refused: too many failures from this address"
    );
    state.metrics.sign_ins_rate_limited.inc();
    let problem = format!(
        "Too many failed sign-ins from your address (rate_limited): try again in {seconds} s."
    );
    let mut response = sign_in_form(
        state,
        headers,
        StatusCode::TOO_MANY_REQUESTS,
        Some(&problem),
    );
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(seconds.max(1)));
    response
}

/// `POST /console/logout`: the session ends and its cookie is cleared.
pub async fn sign_out(
    State(state): State<AppState>,
    session: Session,
    headers: HeaderMap,
    form: RawForm,
) -> Response {
    if let Err(refused) = session.check_csrf(&Form::read(form)) {
        return refused.into_response();
    }
    let closed = store::close_session(&state.changes, &session.id_hash).await;
    let audited = store::record_action(
        &state.changes,
        session.actor(),
        "sign_out",
        &serde_json::json!({}),
    )
    .await;
    if closed.is_err() || audited.is_err() {
        return page::failure(
            Some(&session.frame()),
            "The database is unavailable: try again shortly.",
        );
    }
    let mut response = Redirect::to("/console").into_response();
    set_cookie(&mut response, &headers, SESSION_COOKIE, "", 0);
    response
}

/// A trimmed name of at most 64 characters without control characters; `operator` if none.
fn operator_name(given: &str) -> String {
    let name: String = given
        .trim()
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_OPERATOR_CHARS)
        .collect();
    if name.is_empty() {
        "operator".to_owned()
    } else {
        name
    }
}

fn set_cookie(response: &mut Response, headers: &HeaderMap, name: &str, value: &str, max_age: i64) {
    let secure = headers
        .get("x-forwarded-proto")
        .is_some_and(|proto| proto.as_bytes().eq_ignore_ascii_case(b"https"));
    let cookie = format!(
        "{name}={value}; Path=/console; HttpOnly; SameSite=Strict; Max-Age={max_age}{}",
        if secure { "; Secure" } else { "" }
    );
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
}

/// The value of the cookie `name` in the request.
fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
        .filter(|value| !value.is_empty())
}

fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

fn digest(bytes: &[u8]) -> Vec<u8> {
    Sha256::digest(bytes).to_vec()
}

/// Constant-time equality of two secrets; an empty one never matches.
fn same_secret(given: &str, expected: &str) -> bool {
    !expected.is_empty() && same_secret_bytes(given.as_bytes(), expected.as_bytes())
}

fn same_secret_bytes(given: &[u8], expected: &[u8]) -> bool {
    bool::from(given.ct_eq(expected))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cookie_is_found_among_others_and_an_empty_one_is_none() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; hookgate_session=abc; b=2"),
        );
        assert_eq!(cookie(&headers, SESSION_COOKIE), Some("abc"));
        assert_eq!(cookie(&headers, SIGN_IN_COOKIE), None);
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("hookgate_session="),
        );
        assert_eq!(cookie(&headers, SESSION_COOKIE), None);
    }

    #[test]
    fn operator_names_are_trimmed_bounded_and_never_empty() {
        assert_eq!(operator_name("  ana \n"), "ana");
        assert_eq!(operator_name("\u{7}"), "operator");
        assert_eq!(operator_name(&"x".repeat(100)).chars().count(), 64);
    }

    #[test]
    fn an_empty_expected_secret_never_matches() {
        assert!(!same_secret("", ""));
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abd", "abc"));
    }
}
