//! `GET /openapi.json`: the OpenAPI 3.1 document of the webhook, read, admin and health
//! routes, generated from the handlers' annotations and their response types. The same
//! registration builds the router's API routes ([`api_routes`]), so a route is served exactly
//! when it is documented, at the path the document gives.

use super::{admin, event_search, health, read_api, resend, stuck, views, webhooks, AppState};
use crate::{ops, receiving::Receiver, store::inbox::EventState};
use axum::{error_handling::HandleErrorLayer, extract::Path, Json};
use std::{sync::Arc, time::Duration};
use tower::{BoxError, ServiceBuilder};
use tower_http::timeout::RequestBodyTimeoutLayer;
use utoipa::{
    openapi::{
        security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme},
        Content, Ref, ResponseBuilder,
    },
    Modify, OpenApi,
};
use utoipa_axum::{
    router::{OpenApiRouter, UtoipaMethodRouterExt},
    routes,
};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "hookgate",
        description = "Verifies, deduplicates, stores and relays signed payment-platform webhooks. \
            The read and admin routes need `Authorization: Bearer <HOOKGATE_API_TOKEN>`.",
        license(name = "MIT", identifier = "MIT"),
    ),
    components(schemas(
        views::ErrorBody,
        views::ErrorDetail,
        views::Received,
        views::EventView,
        views::FoundEventView,
        views::EventPage,
        views::ObjectView,
        views::HistoryEntry,
        views::Liveness,
        views::Readiness,
        EventState,
        ops::Counts,
        ops::dlq::DeadLetter,
        ops::verify::Report,
        ops::verify::Difference,
        ops::verify::StateSummary,
        ops::stuck::Stuck,
        stuck::StuckPageView,
    )),
    modifiers(&BearerToken),
    tags(
        (name = "webhooks", description = "Callbacks from the platform"),
        (name = "read", description = "Events and the read model"),
        (name = "admin", description = "Dead letters and read-model checks"),
        (name = "health", description = "Liveness, readiness and metrics"),
    )
)]
struct ApiDoc;

struct BearerToken;

impl Modify for BearerToken {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The documented routes; webhooks only for a role that receives them, with `receiver`. The
/// other routes' bodies (admin requests) must keep arriving: tower-http's body timeout, which
/// fails a stalled body without closing its connection; the webhook route has its own, which
/// does (`receiving::Receiver::accept`).
pub(super) fn api_routes(
    receiver: Option<Arc<Receiver>>,
    body_timeout: Duration,
) -> OpenApiRouter<AppState> {
    let routes = every_role_routes().layer(RequestBodyTimeoutLayer::new(body_timeout));
    let Some(receiver) = receiver else {
        return routes;
    };
    let in_flight = receiver.max_in_flight();
    // Requests beyond the limit are shed at once, never queued; only this route counts, so
    // probes and `/metrics` always answer.
    let limit = ServiceBuilder::new()
        .layer(HandleErrorLayer::new(
            move |Path(source): Path<String>, _: BoxError| webhooks::shed(receiver.clone(), source),
        ))
        .load_shed()
        .concurrency_limit(in_flight);
    routes.routes(routes!(webhooks::receive).layer(limit))
}

fn every_role_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(health::healthz))
        .routes(routes!(health::readyz))
        .routes(routes!(health::metrics))
        .routes(routes!(read_api::object))
        .routes(routes!(event_search::search))
        .routes(routes!(read_api::event))
        .routes(routes!(stuck::stuck))
        .routes(routes!(admin::list))
        .routes(routes!(admin::replay))
        .routes(routes!(admin::verify_read_model))
        .routes(routes!(resend::resend))
}

/// The document of every role's routes together, with the crate's version.
pub fn document() -> utoipa::openapi::OpenApi {
    let (_, mut document) = every_role_routes()
        .routes(routes!(webhooks::receive))
        .split_for_parts();
    document.info.version = env!("CARGO_PKG_VERSION").to_owned();
    document_bearer_routes(&mut document);
    document
}

/// Every `/v1` and `/admin` route takes the bearer token (`auth::Authorized`), and so may also
/// answer 401 without it and 503 when the database does not answer; an admin POST changes
/// something, and answers a viewer 403: said here once for all.
fn document_bearer_routes(document: &mut utoipa::openapi::OpenApi) {
    let bearer_routes = document
        .paths
        .paths
        .iter_mut()
        .filter(|(path, _)| path.starts_with("/v1/") || path.starts_with("/admin/"));
    for (path, item) in bearer_routes {
        let admin = path.starts_with("/admin/");
        let operations = [(&mut item.get, false), (&mut item.post, admin)];
        for (operation, changes) in operations {
            let Some(operation) = operation else { continue };
            operation.security = Some(vec![SecurityRequirement::new("bearer", NO_SCOPES)]);
            let forbidden = changes.then_some(("403", "`forbidden`: a viewer's token (SPEC 5)"));
            let shared = [("401", "No valid bearer token"), ("503", "`unavailable`")];
            for (status, description) in shared.into_iter().chain(forbidden) {
                let body = Content::new(Some(Ref::from_schema_name("ErrorBody")));
                let response = ResponseBuilder::new()
                    .description(description)
                    .content("application/json", body)
                    .build();
                operation
                    .responses
                    .responses
                    .insert(status.to_owned(), response.into());
            }
        }
    }
}

const NO_SCOPES: [&str; 0] = [];

pub(super) async fn serve() -> Json<utoipa::openapi::OpenApi> {
    Json(document())
}
