//! The spec holds exactly the documented operations, in the shape the generator needs.

use std::collections::BTreeSet;

use serde_json::Value;

fn spec() -> Value {
    let path = crate::root().join("openapi/codeocean.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    serde_norway::from_str(&text).unwrap()
}

/// Every (method, path, operation) of the spec.
fn operations(spec: &Value) -> Vec<(String, String, Value)> {
    let mut ops = Vec::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            if method != "parameters" {
                ops.push((method.to_uppercase(), path.clone(), op.clone()));
            }
        }
    }
    ops
}

/// The 12 operations of the API documents (API-NOTES, "Operations in the seeds").
const DOCUMENTED: [(&str, &str); 12] = [
    ("GET", "/capsules/{capsule_id}"),
    ("GET", "/capsules/{capsule_id}/computations"),
    ("POST", "/computations"),
    ("GET", "/computations/{computation_id}"),
    ("DELETE", "/computations/{computation_id}"),
    ("PATCH", "/computations/{computation_id}"),
    ("POST", "/computations/{computation_id}/results"),
    ("GET", "/computations/{computation_id}/results/urls"),
    ("GET", "/computations/{computation_id}/results/download_url"),
    ("POST", "/data_assets"),
    ("GET", "/data_assets/{data_asset_id}"),
    ("PUT", "/data_assets/{data_asset_id}"),
];

#[test]
fn is_openapi_3_0() {
    assert!(spec()["openapi"].as_str().unwrap().starts_with("3.0."));
}

#[test]
fn holds_exactly_the_documented_operations() {
    let spec = spec();
    let found: BTreeSet<(String, String)> = operations(&spec)
        .into_iter()
        .map(|(method, path, _)| (method, path))
        .collect();
    let documented: BTreeSet<(String, String)> = DOCUMENTED
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    assert_eq!(found, documented);
}

#[test]
fn operation_ids_are_unique_snake_case() {
    let spec = spec();
    let ops = operations(&spec);
    let ids: BTreeSet<&str> = ops
        .iter()
        .map(|(_, _, op)| op["operationId"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), ops.len());
    for id in ids {
        assert!(
            id.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
            "{id}"
        );
    }
}

#[test]
fn only_the_old_download_url_is_deprecated() {
    let spec = spec();
    let deprecated: Vec<(String, String)> = operations(&spec)
        .into_iter()
        .filter(|(_, _, op)| op["deprecated"] == Value::Bool(true))
        .map(|(method, path, _)| (method, path))
        .collect();
    assert_eq!(
        deprecated,
        [(
            "GET".to_string(),
            "/computations/{computation_id}/results/download_url".to_string()
        )]
    );
}

#[test]
fn server_and_basic_auth() {
    let spec = spec();
    let server = &spec["servers"][0];
    assert_eq!(server["url"], "https://{domain}/api/v1");
    assert!(server["variables"]["domain"]["default"].is_string());
    let schemes = spec["components"]["securitySchemes"].as_object().unwrap();
    let (name, _) = schemes
        .iter()
        .find(|(_, s)| s["type"] == "http" && s["scheme"] == "basic")
        .expect("an HTTP basic security scheme");
    // Applied to every operation: globally, and no operation opts out.
    let global = spec["security"].as_array().expect("global security");
    assert!(
        global.iter().any(|r| r[name] == serde_json::json!([])),
        "{name} is not applied globally: {global:?}"
    );
    for (method, path, op) in operations(&spec) {
        assert!(
            op.get("security").is_none(),
            "{method} {path} overrides security"
        );
    }
}

#[test]
fn every_operation_has_the_shared_errors_and_no_default() {
    let spec = spec();
    for (method, path, op) in operations(&spec) {
        let responses = op["responses"].as_object().unwrap();
        assert!(!responses.contains_key("default"), "{method} {path}");
        for class in ["4XX", "5XX"] {
            assert_eq!(
                responses[class]["$ref"], "#/components/responses/Error",
                "{method} {path} {class}"
            );
        }
        let success: Vec<_> = responses.keys().filter(|k| k.starts_with('2')).collect();
        assert_eq!(success, ["2XX"], "{method} {path}");
    }
}

#[test]
fn every_reference_resolves() {
    fn walk(spec: &Value, value: &Value, refs: &mut usize) {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(reference)) = map.get("$ref") {
                    let pointer = reference.strip_prefix('#').expect("local references only");
                    assert!(spec.pointer(pointer).is_some(), "dangling {reference}");
                    *refs += 1;
                }
                map.values().for_each(|v| walk(spec, v, refs));
            }
            Value::Array(items) => items.iter().for_each(|v| walk(spec, v, refs)),
            _ => {}
        }
    }
    let spec = spec();
    let mut refs = 0;
    walk(&spec, &spec, &mut refs);
    assert!(refs > 50, "only {refs} references: did the walk run?");
}
