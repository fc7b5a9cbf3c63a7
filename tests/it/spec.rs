//! The spec holds exactly the operations of the API documents and of the official Python SDK, in
//! the shape the generator needs.

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

/// The 36 operations the official Python SDK (`codeocean` 0.17.0) has beyond the documents: with
/// the 12 above, its 48. The detach routes end with a slash, as the SDK sends them.
const FROM_SDK: [(&str, &str); 36] = [
    // capsules
    ("POST", "/capsules/search"),
    ("DELETE", "/capsules/{capsule_id}"),
    ("GET", "/capsules/{capsule_id}/app_panel"),
    ("PATCH", "/capsules/{capsule_id}/archive"),
    ("POST", "/capsules/{capsule_id}/data_assets"),
    ("DELETE", "/capsules/{capsule_id}/data_assets/"),
    ("GET", "/capsules/{capsule_id}/permissions"),
    ("POST", "/capsules/{capsule_id}/permissions"),
    ("POST", "/capsules/{capsule_id}/release"),
    ("GET", "/capsules/{capsule_id}/release/{job_id}"),
    ("POST", "/capsules/{capsule_id}/sync"),
    // pipelines
    ("POST", "/pipelines/search"),
    ("GET", "/pipelines/{pipeline_id}"),
    ("DELETE", "/pipelines/{pipeline_id}"),
    ("GET", "/pipelines/{pipeline_id}/app_panel"),
    ("PATCH", "/pipelines/{pipeline_id}/archive"),
    ("GET", "/pipelines/{pipeline_id}/computations"),
    ("POST", "/pipelines/{pipeline_id}/data_assets"),
    ("DELETE", "/pipelines/{pipeline_id}/data_assets/"),
    ("GET", "/pipelines/{pipeline_id}/permissions"),
    ("POST", "/pipelines/{pipeline_id}/permissions"),
    ("POST", "/pipelines/{pipeline_id}/release"),
    ("GET", "/pipelines/{pipeline_id}/release/{job_id}"),
    ("POST", "/pipelines/{pipeline_id}/sync"),
    // computations (cloud workstation sessions)
    ("POST", "/computations/{computation_id}/data_assets"),
    ("DELETE", "/computations/{computation_id}/data_assets/"),
    // data assets
    ("POST", "/data_assets/search"),
    ("DELETE", "/data_assets/{data_asset_id}"),
    ("PATCH", "/data_assets/{data_asset_id}/archive"),
    ("POST", "/data_assets/{data_asset_id}/files"),
    ("GET", "/data_assets/{data_asset_id}/files/urls"),
    ("GET", "/data_assets/{data_asset_id}/files/download_url"),
    ("GET", "/data_assets/{data_asset_id}/permissions"),
    ("POST", "/data_assets/{data_asset_id}/permissions"),
    ("POST", "/data_assets/{data_asset_id}/transfer"),
    // custom metadata
    ("GET", "/custom_metadata"),
];

#[test]
fn is_openapi_3_0() {
    assert!(spec()["openapi"].as_str().unwrap().starts_with("3.0."));
}

#[test]
fn holds_exactly_the_documented_and_sdk_operations() {
    let spec = spec();
    let ops = operations(&spec);
    let found: BTreeSet<(String, String)> = ops
        .iter()
        .map(|(method, path, _)| (method.clone(), path.clone()))
        .collect();
    let expected: BTreeSet<(String, String)> = DOCUMENTED
        .iter()
        .chain(FROM_SDK.iter())
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    assert_eq!(expected.len(), 48, "a duplicate in DOCUMENTED or FROM_SDK");
    assert_eq!(ops.len(), 48);
    assert_eq!(found, expected);
}

#[test]
fn every_operation_says_where_its_facts_come_from() {
    let spec = spec();
    let from_sdk: BTreeSet<(&str, &str)> = FROM_SDK.iter().copied().collect();
    for (method, path, op) in operations(&spec) {
        let source = op["x-source"].as_str().unwrap_or_default();
        if from_sdk.contains(&(method.as_str(), path.as_str())) {
            assert!(
                source.starts_with("codeocean 0.17.0 "),
                "{method} {path}: x-source {source:?} does not name the SDK file"
            );
        } else {
            assert!(source.contains("seeds/"), "{method} {path}: {source:?}");
        }
    }
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
fn only_the_two_old_download_urls_are_deprecated() {
    let spec = spec();
    let deprecated: BTreeSet<(String, String)> = operations(&spec)
        .into_iter()
        .filter(|(_, _, op)| op["deprecated"] == Value::Bool(true))
        .map(|(method, path, _)| (method, path))
        .collect();
    let expected: BTreeSet<(String, String)> = [
        "/computations/{computation_id}/results/download_url",
        "/data_assets/{data_asset_id}/files/download_url",
    ]
    .into_iter()
    .map(|path| ("GET".to_string(), path.to_string()))
    .collect();
    assert_eq!(deprecated, expected);
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
