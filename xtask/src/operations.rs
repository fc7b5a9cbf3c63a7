//! The operation table generated from the spec's operations and their extensions.
//!
//! `cargo xtask regen` writes two files from it besides progenitor's client:
//! [`OPERATIONS`](crate::OPERATIONS), the public `codeocean_raw::Operation` enum (id, method,
//! path, `x-idempotent`, and `find`, which maps a request back to its operation), and
//! [`ROUTE_CLASSES`](crate::ROUTE_CLASSES), the simulator's `route_class`, which maps an
//! operation to its fault class (`x-route-class`).

use std::fmt::Write as _;

use anyhow::{Context, Result, bail};

use crate::lint::{IDEMPOTENT_EXTENSION, ROUTE_CLASS_EXTENSION};

/// One operation of the spec, with what the generated files say about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operation {
    /// The `operationId`, such as `get_capsule`.
    pub id: String,
    /// The method in upper case, such as `GET`.
    pub method: String,
    /// The path template relative to the server URL, such as `/capsules/{capsule_id}`.
    pub path: String,
    /// The operation's `summary`, if any.
    pub summary: Option<String>,
    /// `x-idempotent`: whether a client may send the request again.
    pub idempotent: bool,
    /// `x-route-class`: the simulator's fault class, as `--fault` spells it.
    pub route_class: String,
}

impl Operation {
    /// The enum variant: the id in CamelCase (`get_capsule` → `GetCapsule`).
    pub fn variant(&self) -> String {
        camel(&self.id)
    }

    /// The path's segments after the leading `/`; a parameter is `None`.
    fn segments(&self) -> Vec<Option<&str>> {
        let rest = self.path.strip_prefix('/').unwrap_or(&self.path);
        rest.split('/')
            .map(|s| {
                if s.starts_with('{') && s.ends_with('}') {
                    None
                } else {
                    Some(s)
                }
            })
            .collect()
    }
}

/// `data_assets` → `DataAssets`.
fn camel(snake: &str) -> String {
    snake
        .split('_')
        .map(|word| {
            let mut chars = word.chars();
            match chars.next() {
                Some(first) => first.to_uppercase().chain(chars).collect(),
                None => String::new(),
            }
        })
        .collect()
}

/// The operations of the spec text, in its order: paths as written, and within a path the
/// methods in OpenAPI's order (get, put, post, delete, options, head, patch, trace).
///
/// The text is read as YAML straight into the OpenAPI model so that the order of the paths is
/// kept (a JSON value would sort them). The lints ([`crate::lint::check`]) have already refused
/// an operation with a missing or ill-typed extension; this fails too rather than guess.
pub fn operations(spec_text: &str) -> Result<Vec<Operation>> {
    let spec: openapiv3::OpenAPI =
        serde_norway::from_str(spec_text).context("reading the spec as OpenAPI 3.0")?;
    let mut out = Vec::new();
    for (path, item) in spec.paths.iter() {
        let Some(item) = item.as_item() else {
            bail!("path {path} is a `$ref`");
        };
        for (method, op) in item.iter() {
            let place = format!("{} {path}", method.to_uppercase());
            let id = op
                .operation_id
                .clone()
                .with_context(|| format!("{place} has no operationId"))?;
            let idempotent = op
                .extensions
                .get(IDEMPOTENT_EXTENSION)
                .and_then(serde_json::Value::as_bool)
                .with_context(|| format!("{id} ({place}) has no boolean {IDEMPOTENT_EXTENSION}"))?;
            let route_class = op
                .extensions
                .get(ROUTE_CLASS_EXTENSION)
                .and_then(serde_json::Value::as_str)
                .with_context(|| format!("{id} ({place}) has no {ROUTE_CLASS_EXTENSION}"))?
                .to_owned();
            out.push(Operation {
                id,
                method: method.to_uppercase(),
                path: path.clone(),
                summary: op.summary.clone(),
                idempotent,
                route_class,
            });
        }
    }
    Ok(out)
}

/// Parses generated source and prints it the way the other generated file is printed.
fn unparse(what: &str, source: &str) -> Result<String> {
    let file = syn::parse_file(source).with_context(|| format!("parsing the generated {what}"))?;
    Ok(prettyplease::unparse(&file))
}

/// The match arms of `find`, most literal first: an arm with fewer parameters comes before one
/// with more, so that `POST /capsules/search` is not taken for a capsule id.
fn find_arms(ops: &[Operation]) -> String {
    let mut order: Vec<&Operation> = ops.iter().collect();
    order.sort_by_key(|op| op.segments().iter().filter(|s| s.is_none()).count());
    let mut arms = String::new();
    for op in order {
        let mut params = Vec::new();
        let pattern: Vec<String> = op
            .segments()
            .iter()
            .map(|segment| match segment {
                Some(literal) => format!("{literal:?}"),
                None => {
                    let name = format!("p{}", params.len());
                    params.push(format!("!{name}.is_empty()"));
                    name
                }
            })
            .collect();
        let guard = if params.is_empty() {
            String::new()
        } else {
            format!(" if {}", params.join(" && "))
        };
        writeln!(
            arms,
            "({:?}, [{}]){guard} => Some(Self::{}),",
            op.method,
            pattern.join(", "),
            op.variant()
        )
        .expect("writing to a String");
    }
    arms
}

/// `crates/codeocean-raw/src/operations.rs`: the public `Operation` enum.
pub fn render_operations(ops: &[Operation]) -> Result<String> {
    let count = ops.len();
    let max_segments = ops.iter().map(|op| op.segments().len()).max().unwrap_or(0);
    let mut variants = String::new();
    let mut all = String::new();
    let mut ids = String::new();
    let mut methods = String::new();
    let mut paths = String::new();
    let mut not_idempotent = Vec::new();
    let mut from_id = String::new();
    for op in ops {
        let v = op.variant();
        let summary = op
            .summary
            .as_deref()
            .map(|s| format!(": {}", s.trim_end_matches('.')))
            .unwrap_or_default();
        let resend = if op.idempotent {
            ""
        } else {
            " Not safe to send again."
        };
        let line = format!("`{} {}`{summary}.{resend}", op.method, op.path);
        writeln!(variants, "/// {line}\n{v},").expect("writing to a String");
        writeln!(all, "Self::{v},").expect("writing to a String");
        writeln!(ids, "Self::{v} => {:?},", op.id).expect("writing to a String");
        writeln!(methods, "Self::{v} => {:?},", op.method).expect("writing to a String");
        writeln!(paths, "Self::{v} => {:?},", op.path).expect("writing to a String");
        writeln!(from_id, "{:?} => Some(Self::{v}),", op.id).expect("writing to a String");
        if !op.idempotent {
            not_idempotent.push(format!("Self::{v}"));
        }
    }
    let idempotent_body = if not_idempotent.is_empty() {
        "true".to_owned()
    } else {
        format!("!matches!(self, {})", not_idempotent.join(" | "))
    };
    let arms = find_arms(ops);
    let source = format!(
        r#"
use std::fmt;

/// One operation of the Code Ocean API: the {count} operations of `openapi/codeocean.yaml`, one
/// variant per `operationId`, in the spec's order.
///
/// Each knows its id, method and path template, and whether it is safe to send again after a
/// failure that may have reached the server (the spec's `x-idempotent`). [`Operation::find`]
/// maps a request back to its operation. The `Display` form is the id (`get_capsule`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Operation {{
{variants}}}

impl Operation {{
    /// Every operation, in the order of the spec.
    pub const ALL: [Operation; {count}] = [
{all}    ];

    /// The `operationId`, such as `"get_capsule"`: also the name of the [`crate::Client`] method
    /// that sends it.
    pub const fn id(self) -> &'static str {{
        match self {{
{ids}        }}
    }}

    /// The HTTP method in upper case, such as `"GET"`.
    pub const fn method(self) -> &'static str {{
        match self {{
{methods}        }}
    }}

    /// The path template relative to the API's base URL (`https://{{domain}}/api/v1`), as the
    /// spec writes it, such as `"/capsules/{{capsule_id}}"`. The detach routes end in `/`.
    pub const fn path(self) -> &'static str {{
        match self {{
{paths}        }}
    }}

    /// Whether a client may send the request again after a failure that may have reached the
    /// server (the spec's `x-idempotent`): true for reads, searches and requests that set a
    /// state; false for those that start a run or a release, or create or transfer a data asset.
    pub const fn idempotent(self) -> bool {{
        {idempotent_body}
    }}

    /// The operation whose `operationId` is `id`, if any.
    pub fn from_id(id: &str) -> Option<Self> {{
        match id {{
{from_id}            _ => None,
        }}
    }}

    /// The operation a request is for: `path` relative to `/api/v1` (no query), such as
    /// `/capsules/abc/computations`. `HEAD` matches `GET`; each `{{param}}` of a template
    /// matches exactly one non-empty segment; a literal segment (including the empty one of a
    /// trailing `/`) matches itself only. `None` for a request the spec does not describe.
    pub fn find(method: &str, path: &str) -> Option<Self> {{
        let method = if method == "HEAD" {{ "GET" }} else {{ method }};
        let mut segments = [""; {max_segments}];
        let mut count = 0;
        for segment in path.strip_prefix('/')?.split('/') {{
            *segments.get_mut(count)? = segment;
            count += 1;
        }}
        match (method, &segments[..count]) {{
{arms}            _ => None,
        }}
    }}
}}

impl fmt::Display for Operation {{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {{
        f.write_str(self.id())
    }}
}}
"#
    );
    unparse("operation table", &source)
}

/// `crates/codeocean-sim/src/route_classes.rs`: the simulator's fault class of each operation.
pub fn render_route_classes(ops: &[Operation]) -> Result<String> {
    let mut classes: Vec<&str> = Vec::new();
    for op in ops {
        if !classes.contains(&op.route_class.as_str()) {
            classes.push(&op.route_class);
        }
    }
    let mut arms = String::new();
    for class in classes {
        let members: Vec<String> = ops
            .iter()
            .filter(|op| op.route_class == class)
            .map(|op| format!("Operation::{}", op.variant()))
            .collect();
        writeln!(
            arms,
            "{} => RouteClass::{},",
            members.join(" | "),
            camel(class)
        )
        .expect("writing to a String");
    }
    let source = format!(
        r#"
use codeocean_raw::Operation;

use crate::faults::RouteClass;

/// The fault class of an operation: the spec's `x-route-class`.
pub(crate) fn route_class(op: Operation) -> RouteClass {{
    match op {{
{arms}        // `Operation` is non-exhaustive; this file and it are generated from the same spec.
        _ => unreachable!("{{op}} has no route class: run `cargo xtask regen`"),
    }}
}}
"#
    );
    unparse("route classes", &source)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC: &str = r#"
openapi: 3.0.3
info: {title: t, version: v1}
paths:
  /things/{id}:
    get:
      operationId: get_thing
      summary: Get a thing.
      x-idempotent: true
      x-route-class: capsules
      responses: {'200': {description: ok}}
    delete:
      operationId: delete_thing
      x-idempotent: false
      x-route-class: data_assets
      responses: {'200': {description: ok}}
  /things/search:
    post:
      operationId: search_things
      x-idempotent: true
      x-route-class: search
      responses: {'200': {description: ok}}
"#;

    #[test]
    fn operations_keep_the_spec_order_and_read_the_extensions() {
        let ops = operations(SPEC).unwrap();
        let ids: Vec<&str> = ops.iter().map(|op| op.id.as_str()).collect();
        // Paths as written (not sorted), methods in OpenAPI's order.
        assert_eq!(ids, ["get_thing", "delete_thing", "search_things"]);
        assert_eq!(ops[1].method, "DELETE");
        assert_eq!(ops[1].path, "/things/{id}");
        assert!(!ops[1].idempotent);
        assert_eq!(ops[1].route_class, "data_assets");
        assert_eq!(ops[0].variant(), "GetThing");
    }

    #[test]
    fn a_missing_extension_fails_naming_the_operation() {
        let e = operations(&SPEC.replace("      x-idempotent: false\n", "")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "delete_thing (DELETE /things/{id}) has no boolean x-idempotent"
        );
    }

    #[test]
    fn find_tries_literal_segments_before_parameters() {
        let arms = find_arms(&operations(SPEC).unwrap());
        let lines: Vec<&str> = arms.lines().collect();
        assert_eq!(
            lines,
            [
                r#"("POST", ["things", "search"]) => Some(Self::SearchThings),"#,
                r#"("GET", ["things", p0]) if !p0.is_empty() => Some(Self::GetThing),"#,
                r#"("DELETE", ["things", p0]) if !p0.is_empty() => Some(Self::DeleteThing),"#,
            ]
        );
    }

    #[test]
    fn route_classes_group_operations_by_class() {
        let text = render_route_classes(&operations(SPEC).unwrap()).unwrap();
        assert!(
            text.contains("Operation::GetThing => RouteClass::Capsules,"),
            "{text}"
        );
        assert!(
            text.contains("Operation::DeleteThing => RouteClass::DataAssets,"),
            "{text}"
        );
    }
}
