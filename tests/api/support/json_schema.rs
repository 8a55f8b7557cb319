//! JSON Schemas out of API documents (`asyncapi.yaml`, `/openapi.json`), for checking real
//! messages and answers against what the documents promise.

use jsonschema::Validator;
use serde_json::{json, Value};

/// A YAML document of the repository, as JSON.
pub fn yaml_file(relative_path: &str) -> Value {
    let path = format!("{}/{relative_path}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{path} is not YAML: {e}"))
}

/// A validator for `components.schemas.<name>` of `document`, with the other schemas there to
/// refer to.
pub fn component(document: &Value, name: &str) -> Validator {
    let definitions = serde_json::to_string(&document["components"]["schemas"])
        .unwrap()
        .replace("#/components/schemas/", "#/$defs/");
    let root = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$defs": serde_json::from_str::<Value>(&definitions).unwrap(),
        "$ref": format!("#/$defs/{name}"),
    });
    jsonschema::validator_for(&root).unwrap_or_else(|e| panic!("{name} is no JSON Schema: {e}"))
}
