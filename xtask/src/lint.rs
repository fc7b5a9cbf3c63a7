//! Checks of the OpenAPI document for what progenitor rejects or silently gets wrong.
//!
//! The checks run on the document as plain JSON (before it is handed to progenitor) so that each
//! problem can name the operation or schema it is about, instead of surfacing later as a panic
//! inside the generator or as a generated client that fails at run time.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde_json::Value;

/// The extension that marks a component schema as an open wire type, hand-written in
/// `codeocean-raw/src/open.rs` instead of generated.
pub const OPEN_TYPE_EXTENSION: &str = "x-rust-open-type";

/// The extension that maps a component schema onto an existing Rust type (its value, a path such
/// as `::std::string::String`) instead of a generated one.
pub const RUST_TYPE_EXTENSION: &str = "x-rust-type";

/// The extension that says whether an operation may be sent again after a failure that may have
/// reached the server (`true` or `false`): `codeocean_raw::Operation::idempotent`.
pub const IDEMPOTENT_EXTENSION: &str = "x-idempotent";

/// The extension that names an operation's fault class in the simulator (one of
/// [`ROUTE_CLASSES`]): the simulator's `route_class`.
pub const ROUTE_CLASS_EXTENSION: &str = "x-route-class";

/// The simulator's fault classes of API routes, as its `--fault` option spells them
/// (`codeocean_sim::faults::RouteClass`; its `storage` class is the signed-URL origin, which has
/// no operation in the spec).
pub const ROUTE_CLASSES: [&str; 8] = [
    "capsules",
    "run",
    "computations",
    "results",
    "urls",
    "data_assets",
    "manage",
    "search",
];

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// One thing wrong with the document, and where.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Problem {
    /// The operation (`op_id (METHOD /path)`) or schema (`schema Name`) concerned.
    pub place: String,
    /// What is wrong and what to do about it.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.place, self.message)
    }
}

/// The names of the component schemas marked as open wire types.
pub fn open_types(doc: &Value) -> Vec<String> {
    schemas(doc)
        .filter(|(_, schema)| is_open(schema))
        .map(|(name, _)| name.clone())
        .collect()
}

/// The component schemas marked `x-rust-type`, with the Rust type each one maps to.
pub fn mapped_types(doc: &Value) -> Vec<(String, String)> {
    schemas(doc)
        .filter_map(|(name, schema)| {
            let rust = schema.get(RUST_TYPE_EXTENSION)?.as_str()?;
            Some((name.clone(), rust.to_owned()))
        })
        .collect()
}

/// Checks the whole document; an empty list means progenitor can be run on it.
pub fn check(doc: &Value) -> Vec<Problem> {
    let mut problems = Vec::new();
    let version = doc.get("openapi").and_then(Value::as_str).unwrap_or("");
    if !version.starts_with("3.0.") {
        problems.push(Problem {
            place: "document".into(),
            message: format!("`openapi: {version}`: progenitor reads OpenAPI 3.0.x only"),
        });
    }
    check_operations(doc, &mut problems);
    check_schemas(doc, &mut problems);
    problems.sort();
    problems.dedup();
    problems
}

fn schemas(doc: &Value) -> impl Iterator<Item = (&String, &Value)> {
    doc.pointer("/components/schemas")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
}

fn is_open(schema: &Value) -> bool {
    schema.get(OPEN_TYPE_EXTENSION).and_then(Value::as_bool) == Some(true)
}

/// Follows a local `$ref` (`#/components/...`) to what it names; other values are returned as is.
fn resolve<'a>(doc: &'a Value, value: &'a Value) -> Option<&'a Value> {
    match value.get("$ref").and_then(Value::as_str) {
        Some(reference) => doc.pointer(reference.strip_prefix('#')?),
        None => Some(value),
    }
}

fn schema_ref_name(schema: &Value) -> Option<&str> {
    schema
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix("#/components/schemas/"))
}

/// A schema that progenitor can name: a `$ref`, or an array of `$ref`s.
fn is_named(schema: &Value) -> bool {
    if schema_ref_name(schema).is_some() {
        return true;
    }
    schema.get("type").and_then(Value::as_str) == Some("array")
        && schema.get("items").is_some_and(is_named)
}

fn check_operations(doc: &Value, problems: &mut Vec<Problem>) {
    let mut seen_ids: BTreeMap<String, String> = BTreeMap::new();
    let paths = doc.get("paths").and_then(Value::as_object);
    for (path, item) in paths.into_iter().flatten() {
        if item.get("$ref").is_some() {
            problems.push(Problem {
                place: format!("path {path}"),
                message: "path items given by `$ref` are not supported by progenitor".into(),
            });
            continue;
        }
        let shared_params = item.get("parameters").and_then(Value::as_array);
        for method in METHODS {
            let Some(op) = item.get(method) else { continue };
            let upper = method.to_uppercase();
            let place = match op.get("operationId").and_then(Value::as_str) {
                Some(id) => {
                    let here = format!("{upper} {path}");
                    if let Some(first) = seen_ids.insert(id.to_string(), here.clone()) {
                        problems.push(Problem {
                            place: format!("{id} ({here})"),
                            message: format!("operationId `{id}` is also used by {first}"),
                        });
                    }
                    format!("{id} ({here})")
                }
                None => {
                    let place = format!("{upper} {path}");
                    problems.push(Problem {
                        place: place.clone(),
                        message: "no operationId: every operation needs a unique one".into(),
                    });
                    place
                }
            };
            let mut report = |message: String| {
                problems.push(Problem {
                    place: place.clone(),
                    message,
                })
            };
            check_extensions(op, &mut report);
            if let Some(bad) = path
                .split('/')
                .find(|s| s.contains(['{', '}']) && !(s.starts_with('{') && s.ends_with('}')))
            {
                report(format!(
                    "path segment `{bad}` mixes text and a parameter: a parameter must be a \
                     whole segment"
                ));
            }
            let own_params = op.get("parameters").and_then(Value::as_array);
            for param in shared_params.into_iter().chain(own_params).flatten() {
                check_parameter(doc, param, &mut report);
            }
            if let Some(body) = op.get("requestBody").and_then(|b| resolve(doc, b)) {
                check_request_body(body, &mut report);
            }
            check_responses(doc, op, &mut report);
        }
    }
}

fn check_extensions(op: &Value, report: &mut impl FnMut(String)) {
    match op.get(IDEMPOTENT_EXTENSION) {
        Some(Value::Bool(_)) => {}
        None => report(format!(
            "no `{IDEMPOTENT_EXTENSION}`: say whether a client may send it again after a failure \
             (`true` or `false`)"
        )),
        Some(other) => report(format!(
            "`{IDEMPOTENT_EXTENSION}: {other}`: must be `true` or `false`"
        )),
    }
    let known = ROUTE_CLASSES.join(", ");
    match op.get(ROUTE_CLASS_EXTENSION) {
        Some(Value::String(class)) if ROUTE_CLASSES.contains(&class.as_str()) => {}
        None => report(format!(
            "no `{ROUTE_CLASS_EXTENSION}`: name its fault class in the simulator (one of {known})"
        )),
        Some(other) => report(format!(
            "`{ROUTE_CLASS_EXTENSION}: {other}` is not a fault class of the simulator (one of \
             {known})"
        )),
    }
}

fn check_parameter(doc: &Value, param: &Value, report: &mut impl FnMut(String)) {
    let Some(param) = resolve(doc, param) else {
        report(format!("parameter reference {param} does not resolve"));
        return;
    };
    let name = param.get("name").and_then(Value::as_str).unwrap_or("?");
    let Some(schema) = param.get("schema") else {
        report(format!("parameter `{name}` has no schema"));
        return;
    };
    if schema_ref_name(schema).is_some() {
        return;
    }
    let primitive = matches!(
        schema.get("type").and_then(Value::as_str),
        Some("string" | "integer" | "number" | "boolean")
    );
    if !primitive || schema.get("enum").is_some() {
        report(format!(
            "parameter `{name}` has an inline schema that is not a plain string, number or \
             boolean: put it under components/schemas and `$ref` it"
        ));
    }
}

/// An array of plain strings, numbers or booleans (no enum): progenitor takes it as a `Vec` of the
/// Rust primitive, with no type to name.
fn is_primitive_array(schema: &Value) -> bool {
    schema.get("type").and_then(Value::as_str) == Some("array")
        && schema.get("items").is_some_and(|items| {
            items.get("enum").is_none()
                && matches!(
                    items.get("type").and_then(Value::as_str),
                    Some("string" | "integer" | "number" | "boolean")
                )
        })
}

fn check_request_body(body: &Value, report: &mut impl FnMut(String)) {
    let content = body.get("content").and_then(Value::as_object);
    for (media, media_type) in content.into_iter().flatten() {
        if media != "application/json" {
            report(format!(
                "request body of media type `{media}`: only application/json is used here"
            ));
            continue;
        }
        match media_type.get("schema") {
            Some(schema) if is_named(schema) || is_primitive_array(schema) => {}
            Some(_) => report(
                "request body uses an inline schema: put it under components/schemas and `$ref` it"
                    .into(),
            ),
            None => report("request body has no schema".into()),
        }
    }
}

/// What a response decodes to, for comparing responses of one class.
fn response_shape(response: &Value) -> String {
    let content = response.get("content").and_then(Value::as_object);
    let mut shape: Vec<String> = content
        .into_iter()
        .flatten()
        .map(|(media, media_type)| {
            let schema = media_type.get("schema").cloned().unwrap_or(Value::Null);
            format!("{media}: {schema}")
        })
        .collect();
    shape.sort();
    if shape.is_empty() {
        "no content".into()
    } else {
        shape.join(", ")
    }
}

fn check_responses(doc: &Value, op: &Value, report: &mut impl FnMut(String)) {
    let Some(responses) = op.get("responses").and_then(Value::as_object) else {
        report("no responses".into());
        return;
    };
    let mut success = BTreeSet::new();
    let mut failure = BTreeSet::new();
    for (code, response) in responses {
        let Some(response) = resolve(doc, response) else {
            report(format!("response {code}: reference does not resolve"));
            continue;
        };
        let class = match code.as_bytes().first() {
            _ if code == "default" => {
                report(
                    "`default` response: progenitor treats it as both success and error; \
                     declare 4XX and 5XX instead"
                        .into(),
                );
                continue;
            }
            Some(b'2') => &mut success,
            Some(b'4' | b'5') => &mut failure,
            _ => continue,
        };
        class.insert(response_shape(response));
        let content = response.get("content").and_then(Value::as_object);
        for (media, media_type) in content.into_iter().flatten() {
            let named = media_type.get("schema").is_some_and(is_named);
            if !named {
                report(format!(
                    "response {code} ({media}) uses an inline schema: put it under \
                     components/schemas and `$ref` it"
                ));
            }
        }
    }
    if success.is_empty() {
        report("no success (2xx) response".into());
    }
    for (what, shapes) in [("success", &success), ("error", &failure)] {
        if shapes.len() > 1 {
            let listed: Vec<_> = shapes.iter().map(String::as_str).collect();
            report(format!(
                "more than one {what} type ({}): progenitor allows one per operation",
                listed.join(" | ")
            ));
        }
    }
}

fn check_schemas(doc: &Value, problems: &mut Vec<Problem>) {
    let reachable = reachable_from_responses(doc);
    for (name, schema) in schemas(doc) {
        let place = format!("schema {name}");
        if is_open(schema) {
            // Replaced by a hand-written type: progenitor never sees its shape.
            continue;
        }
        if schema.get("enum").is_some() && reachable.contains(name.as_str()) {
            problems.push(Problem {
                place: place.clone(),
                message: format!(
                    "closed enum in a response: a server value it does not list would fail the \
                     whole response; mark it `{OPEN_TYPE_EXTENSION}: true` and write it in \
                     codeocean-raw/src/open.rs"
                ),
            });
        }
        walk_schema(schema, &mut |path, sub, top| {
            let at = if path.is_empty() {
                String::new()
            } else {
                format!(" at {path}")
            };
            if sub.get("anyOf").is_some() {
                problems.push(Problem {
                    place: place.clone(),
                    message: format!("`anyOf`{at}: progenitor handles it poorly; avoid it"),
                });
            }
            if sub.get("additionalProperties") == Some(&Value::Bool(false)) {
                problems.push(Problem {
                    place: place.clone(),
                    message: format!(
                        "`additionalProperties: false`{at}: servers add fields, and the \
                         generated type would then refuse them"
                    ),
                });
            }
            if !top && sub.get("properties").is_some() {
                problems.push(Problem {
                    place: place.clone(),
                    message: format!(
                        "inline object schema{at}: put it under components/schemas and `$ref` it"
                    ),
                });
            }
            if !top && sub.get("enum").is_some() {
                problems.push(Problem {
                    place: place.clone(),
                    message: format!(
                        "inline enum{at}: put it under components/schemas and `$ref` it"
                    ),
                });
            }
        });
    }
}

/// Calls `visit(path, schema, is_top)` on a schema and every schema nested in it (not following
/// `$ref`s).
fn walk_schema(schema: &Value, visit: &mut impl FnMut(&str, &Value, bool)) {
    fn go(path: &str, schema: &Value, top: bool, visit: &mut impl FnMut(&str, &Value, bool)) {
        visit(path, schema, top);
        if let Some(props) = schema.get("properties").and_then(Value::as_object) {
            for (name, sub) in props {
                go(&format!("{path}.{name}"), sub, false, visit);
            }
        }
        for key in ["items", "additionalProperties", "not"] {
            if let Some(sub) = schema.get(key).filter(|s| s.is_object()) {
                go(&format!("{path}.{key}"), sub, false, visit);
            }
        }
        for key in ["oneOf", "allOf", "anyOf"] {
            for (i, sub) in schema
                .get(key)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .enumerate()
            {
                go(&format!("{path}.{key}[{i}]"), sub, false, visit);
            }
        }
    }
    go("", schema, true, visit);
}

/// The component schemas a response body can contain, directly or through other schemas.
fn reachable_from_responses(doc: &Value) -> BTreeSet<String> {
    let mut roots = Vec::new();
    let paths = doc.get("paths").and_then(Value::as_object);
    for item in paths.into_iter().flatten().map(|(_, item)| item) {
        for method in METHODS {
            let responses = item
                .get(method)
                .and_then(|op| op.get("responses"))
                .and_then(Value::as_object);
            for response in responses.into_iter().flatten().map(|(_, r)| r) {
                let Some(response) = resolve(doc, response) else {
                    continue;
                };
                let content = response.get("content").and_then(Value::as_object);
                for media_type in content.into_iter().flatten().map(|(_, m)| m) {
                    if let Some(schema) = media_type.get("schema") {
                        roots.push(schema.clone());
                    }
                }
            }
        }
    }
    let mut seen = BTreeSet::new();
    while let Some(schema) = roots.pop() {
        walk_schema(&schema, &mut |_, sub, _| {
            if let Some(name) = schema_ref_name(sub)
                && seen.insert(name.to_string())
                && let Some(target) = doc.pointer(&format!("/components/schemas/{name}"))
            {
                roots.push(target.clone());
            }
        });
    }
    seen
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(yaml: &str) -> Value {
        serde_norway::from_str(yaml).unwrap()
    }

    const BASE: &str = r#"
openapi: 3.0.3
info: {title: t, version: v1}
paths:
  /things/{id}:
    get:
      operationId: get_thing
      x-idempotent: true
      x-route-class: capsules
      parameters:
        - {name: id, in: path, required: true, schema: {type: string}}
      responses:
        '200':
          description: ok
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Thing'}
        '4XX':
          description: error
          content:
            '*/*':
              schema: {$ref: '#/components/schemas/Oops'}
components:
  schemas:
    Thing:
      type: object
      properties:
        state: {$ref: '#/components/schemas/State'}
    State:
      type: string
      enum: [a, b]
      x-rust-open-type: true
    Oops:
      type: object
      properties:
        message: {type: string}
"#;

    fn messages(yaml: &str) -> Vec<String> {
        check(&doc(yaml)).iter().map(ToString::to_string).collect()
    }

    #[test]
    fn a_clean_document_passes() {
        assert_eq!(messages(BASE), Vec::<String>::new());
        assert_eq!(open_types(&doc(BASE)), ["State"]);
        let mapped = doc(&format!(
            "{BASE}    Name: {{type: string, minLength: 1, x-rust-type: '::std::string::String'}}\n"
        ));
        assert_eq!(
            mapped_types(&mapped),
            [("Name".to_owned(), "::std::string::String".to_owned())]
        );
    }

    #[test]
    fn the_real_spec_passes() {
        let text = std::fs::read_to_string(crate::workspace_root().join(crate::SPEC)).unwrap();
        assert_eq!(messages(&text), Vec::<String>::new());
    }

    #[test]
    fn missing_operation_id_names_the_operation() {
        let m = messages(&BASE.replace("operationId: get_thing", "summary: x"));
        assert_eq!(
            m,
            ["GET /things/{id}: no operationId: every operation needs a unique one"]
        );
    }

    #[test]
    fn missing_extensions_are_refused_by_name() {
        let m = messages(&BASE.replace("      x-idempotent: true\n", ""));
        assert_eq!(
            m,
            [
                "get_thing (GET /things/{id}): no `x-idempotent`: say whether a client may send \
                 it again after a failure (`true` or `false`)"
            ]
        );
        let m = messages(&BASE.replace("      x-route-class: capsules\n", ""));
        assert_eq!(
            m,
            [
                "get_thing (GET /things/{id}): no `x-route-class`: name its fault class in the \
                 simulator (one of capsules, run, computations, results, urls, data_assets, \
                 manage, search)"
            ]
        );
    }

    #[test]
    fn ill_typed_idempotence_and_unknown_route_classes_are_refused() {
        let m = messages(&BASE.replace("x-idempotent: true", "x-idempotent: 'yes'"));
        assert_eq!(
            m,
            [r#"get_thing (GET /things/{id}): `x-idempotent: "yes"`: must be `true` or `false`"#]
        );
        for bad in ["storage", "Capsules", "[capsules]"] {
            let m = messages(
                &BASE.replace("x-route-class: capsules", &format!("x-route-class: {bad}")),
            );
            assert_eq!(m.len(), 1, "{bad}: {m:?}");
            assert!(
                m[0].contains("is not a fault class of the simulator (one of capsules, run,"),
                "{bad}: {m:?}"
            );
        }
    }

    #[test]
    fn a_parameter_inside_a_segment_is_refused() {
        let m = messages(&BASE.replace("/things/{id}:", "/things/x{id}:"));
        assert!(
            m.iter()
                .any(|m| m.contains("path segment `x{id}` mixes text and a parameter")),
            "{m:?}"
        );
    }

    #[test]
    fn default_response_is_refused() {
        let m = messages(&BASE.replace("'4XX':", "default:"));
        assert_eq!(m.len(), 1, "{m:?}");
        assert!(m[0].starts_with("get_thing (GET /things/{id}): `default` response"));
    }

    #[test]
    fn inline_response_schema_is_refused() {
        let m = messages(&BASE.replace(
            "schema: {$ref: '#/components/schemas/Thing'}",
            "schema: {type: object, properties: {a: {type: string}}}",
        ));
        assert_eq!(m.len(), 1, "{m:?}");
        assert!(m[0].contains("response 200 (application/json) uses an inline schema"));
    }

    /// Adds `POST /things` with `schema` as its request body.
    fn with_body(schema: &str) -> String {
        BASE.replace(
            "paths:\n",
            &format!(
                "paths:\n  /things:\n    post:\n      operationId: post_things\n      x-idempotent: false\n      x-route-class: run\n      requestBody:\n        content:\n          application/json:\n            schema: {schema}\n      responses:\n        '200': {{description: ok}}\n"
            ),
        )
    }

    #[test]
    fn array_bodies_of_refs_or_plain_values_pass_and_inline_objects_do_not() {
        for ok in [
            "{type: array, items: {$ref: '#/components/schemas/Thing'}}",
            "{type: array, items: {type: string}}",
        ] {
            assert_eq!(messages(&with_body(ok)), Vec::<String>::new(), "{ok}");
        }
        for bad in [
            "{type: array, items: {type: string, enum: [a, b]}}",
            "{type: array, items: {type: object, properties: {a: {type: string}}}}",
            "{type: object, properties: {a: {type: string}}}",
        ] {
            let m = messages(&with_body(bad));
            assert!(
                m.iter()
                    .any(|m| m.contains("request body uses an inline schema")),
                "{bad}: {m:?}"
            );
        }
    }

    #[test]
    fn two_success_types_are_refused() {
        let extra = r#"        '201':
          description: created
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Oops'}
        '4XX':"#;
        let m = messages(&BASE.replacen("        '4XX':", extra, 1));
        assert_eq!(m.len(), 1, "{m:?}");
        assert!(m[0].contains("more than one success type"), "{m:?}");
    }

    #[test]
    fn closed_enum_in_a_response_is_refused() {
        let m = messages(&BASE.replace("      x-rust-open-type: true\n", ""));
        assert_eq!(m.len(), 1, "{m:?}");
        assert!(m[0].starts_with("schema State: closed enum in a response"));
    }

    #[test]
    fn inline_nested_object_and_any_of_are_refused() {
        let m = messages(&BASE.replace(
            "state: {$ref: '#/components/schemas/State'}",
            "state: {type: object, properties: {x: {anyOf: [{type: string}]}}}",
        ));
        assert!(
            m.iter()
                .any(|m| m.contains("inline object schema at .state")),
            "{m:?}"
        );
        assert!(m.iter().any(|m| m.contains("`anyOf` at .state.x")), "{m:?}");
    }

    #[test]
    fn duplicate_operation_ids_are_refused() {
        let extra = BASE.replace(
            "paths:\n",
            "paths:\n  /other:\n    get:\n      operationId: get_thing\n      x-idempotent: true\n      x-route-class: capsules\n      responses:\n        '200': {description: ok}\n",
        );
        let m = messages(&extra);
        assert_eq!(m.len(), 1, "{m:?}");
        assert!(m[0].contains("is also used by"), "{m:?}");
    }

    #[test]
    fn openapi_versions_other_than_3_0_are_refused() {
        let m = messages(&BASE.replace("openapi: 3.0.3", "openapi: 3.1.0"));
        assert_eq!(
            m,
            ["document: `openapi: 3.1.0`: progenitor reads OpenAPI 3.0.x only"]
        );
    }
}
