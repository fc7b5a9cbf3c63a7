//! The types describe themselves as JSON Schemas (for `schema` commands and request files).

use codeocean_raw::types::{Computation, RunRequest};
use serde_json::{Value, json};

fn keys(value: &Value) -> Vec<&str> {
    let mut keys: Vec<&str> = value
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    keys
}

#[test]
fn run_request_schema_lists_every_field_and_requires_process_names() {
    let schema = serde_json::to_value(schemars::schema_for!(RunRequest)).unwrap();
    assert_eq!(
        keys(&schema["properties"]),
        [
            "capsule_id",
            "data_assets",
            "named_parameters",
            "nextflow_profile",
            "parameters",
            "pipeline_id",
            "processes",
            "resume_run_id",
            "version"
        ]
    );
    assert_eq!(
        schema["$defs"]["ProcessParameters"]["required"],
        json!(["name"])
    );
    assert_eq!(
        schema["$defs"]["NamedParameter"]["required"],
        json!(["param_name", "value"])
    );
}

#[test]
fn open_types_stay_open_in_schemas() {
    let schema = serde_json::to_value(schemars::schema_for!(Computation)).unwrap();
    let state = &schema["$defs"]["ComputationState"];
    assert_eq!(state["type"], "string");
    assert!(
        state.get("enum").is_none(),
        "an open enum must not be closed: {state}"
    );
    assert!(state["description"].as_str().unwrap().contains("running"));
    assert_eq!(schema["$defs"]["Timestamp"]["type"], "number");
}
