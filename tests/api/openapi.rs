//! `/openapi.json`: a valid OpenAPI 3.1 document that names every route SPEC gives, each of
//! which the app serves, with response schemas that are valid JSON Schemas matching real
//! answers.

use crate::support::{
    json_schema::{self, component},
    spawn_app, API_TOKEN,
};
use jsonschema::Validator;
use serde_json::{json, Value};
use std::collections::BTreeSet;

async fn document() -> (crate::support::TestApp, Value) {
    let app = spawn_app().await;
    let response = app.get("/openapi.json").await;
    assert_eq!(response.status(), 200);
    let document: Value = response.json().await.unwrap();
    (app, document)
}

/// The OpenAPI 3.1 document schema, from the OpenAPI Initiative's repository.
fn openapi_schema() -> Validator {
    let schema = json_schema::yaml_file("tests/api/support/schemas/openapi-3.1.yaml");
    jsonschema::validator_for(&schema).expect("the OpenAPI schema compiles")
}

fn every_ref(value: &Value, found: &mut Vec<String>) {
    match value {
        Value::Object(fields) => {
            for (key, field) in fields {
                match (key.as_str(), field) {
                    ("$ref", Value::String(target)) => found.push(target.clone()),
                    _ => every_ref(field, found),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| every_ref(item, found)),
        _ => {}
    }
}

/// SPEC 2 and 5, with the event search (issue 15) and `/admin/verify`.
const ROUTES: [(&str, &str); 12] = [
    ("post", "/webhooks/{source}"),
    ("get", "/v1/objects/{family}/{id}"),
    ("get", "/v1/events"),
    ("get", "/v1/stuck"),
    ("get", "/v1/events/{eventId}"),
    ("get", "/admin/dlq"),
    ("post", "/admin/dlq/replay"),
    ("post", "/admin/verify"),
    ("post", "/admin/notifications/resend"),
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/metrics"),
];

#[tokio::test]
async fn the_document_is_valid_openapi_3_1_and_every_reference_resolves() {
    let (_app, document) = document().await;
    assert!(document["openapi"].as_str().unwrap().starts_with("3.1."));
    assert_eq!(document["info"]["version"], env!("CARGO_PKG_VERSION"));
    let validator = openapi_schema();
    let errors: Vec<String> = validator
        .iter_errors(&document)
        .map(|e| format!("{e} at {}", e.instance_path))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    // The schema does look inside: a broken operation or a missing title is caught.
    let mut broken = document.clone();
    broken["paths"]["/healthz"]["get"]["responses"] = json!("none");
    assert!(!validator.is_valid(&broken));
    let mut untitled = document.clone();
    untitled["info"].as_object_mut().unwrap().remove("title");
    assert!(!validator.is_valid(&untitled));

    let mut refs = Vec::new();
    every_ref(&document, &mut refs);
    assert!(!refs.is_empty());
    for target in refs {
        let name = target
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("unexpected reference {target}"));
        assert!(
            document["components"]["schemas"].get(name).is_some(),
            "{target} does not resolve"
        );
    }
    for name in document["components"]["schemas"]
        .as_object()
        .unwrap()
        .keys()
    {
        component(&document, name);
    }
    assert_eq!(
        document["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
}

#[tokio::test]
async fn every_served_route_is_documented_and_every_documented_route_is_served() {
    let (app, document) = document().await;
    let documented: BTreeSet<(String, String)> = document["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .unwrap()
                .keys()
                .map(move |method| (method.clone(), path.clone()))
        })
        .collect();
    let expected: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|(method, path)| (method.to_string(), path.to_string()))
        .collect();
    assert_eq!(documented, expected);

    // Each documented route is served: none answers with the router's fallback.
    let client = reqwest::Client::new();
    for (method, path) in &documented {
        let concrete = path
            .replace("{source}", "interlace")
            .replace("{family}", "transfer")
            .replace("{id}", "no-such-object")
            .replace("{eventId}", "no-such-event");
        let request = match method.as_str() {
            "get" => client.get(app.url(&concrete)),
            _ => client.post(app.url(&concrete)).json(&json!({})),
        };
        let response = request.bearer_auth(API_TOKEN).send().await.unwrap();
        let status = response.status();
        let body = response.text().await.unwrap();
        assert!(
            !body.contains("no such route"),
            "{method} {path} is documented but not served ({status})"
        );
    }
    // And what is not documented is not an API route: the fallback answers.
    let unknown = app.get("/v1/nothing-here").await;
    assert_eq!(unknown.status(), 404);
}

#[tokio::test]
async fn answers_match_their_documented_schemas() {
    let (app, document) = document().await;
    let responses = |path: &str, method: &str, status: &str| {
        let reference = document["paths"][path][method]["responses"][status]["content"]
            ["application/json"]["schema"]["$ref"]
            .as_str()
            .unwrap_or_else(|| panic!("{method} {path} {status} has a schema"))
            .trim_start_matches("#/components/schemas/")
            .to_owned();
        component(&document, &reference)
    };
    let check = |validator: Validator, body: Value, what: &str| {
        let errors: Vec<String> = validator
            .iter_errors(&body)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{what}: {errors:?} in {body}");
    };
    app.post_transfer("oa-1", "t-oa", "Closed", crate::support::sign::EARLIER)
        .await;
    app.post_transfer(
        "oa-2",
        "t-oa-waits",
        "Pending",
        crate::support::sign::EARLIER,
    )
    .await;
    app.wait_until_handled(2).await;

    let page: Value = app.api_json("/v1/events?objectId=t-oa").await;
    assert_eq!(page["events"].as_array().unwrap().len(), 1);
    let stuck: Value = app.api_json("/v1/stuck").await;
    assert_eq!(stuck["objects"][0]["id"], "t-oa-waits");
    let event: Value = app.api_json("/v1/events/oa-1").await;
    let object: Value = app.api_json("/v1/objects/transfer/t-oa").await;
    for (route, answer, what) in [
        ("/v1/events/{eventId}", event, "event"),
        ("/v1/events", page, "search"),
        ("/v1/objects/{family}/{id}", object, "object"),
        ("/v1/stuck", stuck, "stuck"),
    ] {
        check(responses(route, "get", "200"), answer, what);
    }
    let missing = app.api("/v1/events/none").await;
    assert_eq!(missing.status(), 404);
    check(
        responses("/v1/events/{eventId}", "get", "404"),
        missing.json().await.unwrap(),
        "error",
    );
    let ready: Value = app.get("/readyz").await.json().await.unwrap();
    check(responses("/readyz", "get", "200"), ready, "readyz");
}
