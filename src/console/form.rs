//! What a console form is: its fields as sent, and the 403 a form gets when it did not come
//! from this session's page or asks a viewer's session for a change.

use super::page::{self, Section};
use axum::{
    extract::RawForm,
    http::StatusCode,
    response::{IntoResponse, Response},
};

/// A form refused with 403: without this session's CSRF token, or from a viewer.
pub enum Refused {
    /// Without this session's CSRF token.
    Csrf,
    /// From a viewer's session, which is shown no action.
    Viewer,
}

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        match self {
            Refused::Csrf => csrf_refused(),
            Refused::Viewer => {
                let problem = "A viewer may look but not change anything (forbidden).";
                let mut response = page::render(
                    "Request refused",
                    Section::SignIn,
                    None,
                    page::notice("error", problem),
                );
                *response.status_mut() = StatusCode::FORBIDDEN;
                response
            }
        }
    }
}

/// A form's fields as sent; a checkbox list repeats its name.
pub struct Form(Vec<(String, String)>);

impl Form {
    pub fn read(RawForm(bytes): RawForm) -> Form {
        Form(form_urlencoded::parse(&bytes).into_owned().collect())
    }

    pub fn first(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    pub fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
            .collect()
    }
}

pub fn csrf_refused() -> Response {
    let body = page::notice(
        "error",
        "This form is out of date or did not come from the console (missing or wrong CSRF \
         token). Go back, reload the page and try again.",
    );
    let mut response = page::render("Request refused", Section::SignIn, None, body);
    *response.status_mut() = StatusCode::FORBIDDEN;
    response
}
