//! Run requests from files, batch lines and flags, checked before anything is sent.

use std::path::Path;

use anyhow::{Context as _, bail};
use codeocean::codeocean_raw::types::{NamedParameter, RunDataAsset, RunRequest};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::cli::{RunSpec, SchemaKind};
use crate::usage_error;

/// One line of a `codeocean batch` file: a run request (the body of `POST /computations`, as
/// in `codeocean run --request`) plus an optional name.
#[derive(Serialize, Deserialize, JsonSchema, Debug, Clone)]
pub(crate) struct BatchLine {
    /// A name for the line in summaries; the computation is renamed to it right after it is
    /// created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) name: Option<String>,
    /// The run request.
    #[serde(flatten)]
    pub(crate) request: RunRequest,
}

/// The JSON Schema of a request file, pretty-printed.
pub(crate) fn schema(kind: SchemaKind) -> String {
    let schema = match kind {
        SchemaKind::RunRequest => schemars::schema_for!(RunRequest),
        SchemaKind::BatchLine => schemars::schema_for!(BatchLine),
    };
    serde_json::to_string_pretty(&schema).expect("a schema serializes")
}

/// Decodes a run request (and, for batch lines, its `name`), naming the first problem by its
/// JSON path: `runs.jsonl line 3: data_assets[0].id: missing field`.
pub(crate) fn parse(text: &str, origin: &str, with_name: bool) -> anyhow::Result<BatchLine> {
    let mut value: Value =
        serde_json::from_str(text).map_err(|e| anyhow::anyhow!("{origin}: not valid JSON: {e}"))?;
    let Some(object) = value.as_object_mut() else {
        bail!("{origin}: expected a JSON object");
    };
    let name = match with_name.then(|| object.remove("name")).flatten() {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s),
        Some(_) => bail!("{origin}: name: expected a string"),
    };
    let request: RunRequest = serde_path_to_error::deserialize(&value).map_err(|e| {
        let inner = e.inner().to_string();
        let mut path = e.path().to_string();
        let message = match inner.strip_prefix("missing field `") {
            Some(rest) => {
                let field = rest.trim_end_matches('`');
                path = if path == "." {
                    field.to_owned()
                } else {
                    format!("{path}.{field}")
                };
                "missing field".to_owned()
            }
            None => inner,
        };
        if path == "." {
            anyhow::anyhow!("{origin}: {message}")
        } else {
            anyhow::anyhow!("{origin}: {path}: {message}")
        }
    })?;
    let known = serde_json::to_value(&request)?;
    if let Some(path) = unknown_field(&value, &known, "") {
        bail!("{origin}: {path}: unknown field");
    }
    Ok(BatchLine { name, request })
}

/// The path of the first field of `input` that did not survive decoding (a misspelt or
/// unsupported field), ignoring empty values.
fn unknown_field(input: &Value, decoded: &Value, path: &str) -> Option<String> {
    match (input, decoded) {
        (Value::Object(i), Value::Object(d)) => i.iter().find_map(|(k, v)| {
            let here = if path.is_empty() {
                k.clone()
            } else {
                format!("{path}.{k}")
            };
            match d.get(k) {
                Some(dv) => unknown_field(v, dv, &here),
                None if is_empty(v) => None,
                None => Some(here),
            }
        }),
        (Value::Array(i), Value::Array(d)) => i
            .iter()
            .zip(d)
            .enumerate()
            .find_map(|(n, (iv, dv))| unknown_field(iv, dv, &format!("{path}[{n}]"))),
        _ => None,
    }
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    }
}

/// Refuses a request that names nothing to run, or a data asset with an empty id.
pub(crate) fn check_target(request: &RunRequest, origin: &str) -> anyhow::Result<()> {
    if request.capsule_id.is_none() && request.pipeline_id.is_none() {
        bail!("{origin}: neither capsule_id nor pipeline_id is set");
    }
    for (i, a) in request.data_assets.iter().flatten().enumerate() {
        if a.id.trim().is_empty() {
            bail!("{origin}: data_assets[{i}].id: empty");
        }
    }
    Ok(())
}

/// Reads a `--request` file; what is wrong in its text is a usage error (exit 2).
pub(crate) fn load_file(path: &Path) -> anyhow::Result<RunRequest> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading {}", path.display()))
        .map_err(|e| anyhow::anyhow!("{e:#}"))?;
    parse(&text, &path.display().to_string(), false)
        .map(|line| line.request)
        .map_err(|e| usage_error(e.to_string()))
}

/// Splits `ID[:MOUNT]`.
pub(crate) fn data_asset(spec: &str) -> RunDataAsset {
    match spec.split_once(':') {
        Some((id, mount)) => RunDataAsset {
            id: id.to_owned(),
            mount: (!mount.is_empty()).then(|| mount.to_owned()),
        },
        None => RunDataAsset {
            id: spec.to_owned(),
            mount: None,
        },
    }
}

/// Splits `NAME=VALUE`.
pub(crate) fn key_value<'a>(spec: &'a str, flag: &str) -> anyhow::Result<(&'a str, &'a str)> {
    match spec.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k, v)),
        _ => bail!("{flag} {spec:?}: expected NAME=VALUE"),
    }
}

/// The request the flags describe: the `--request` file (if any) with the flags applied.
pub(crate) fn from_spec(spec: &RunSpec) -> anyhow::Result<RunRequest> {
    let request = match &spec.request {
        Some(path) => load_file(path)?,
        None => RunRequest::default(),
    };
    let origin = spec.request.as_ref().map(|p| p.display().to_string());
    with_flags(request, spec, origin.as_deref())
}

/// `request` (from a `--request` file, or `capture --settings`' `run_params`, named by
/// `origin`) with the flags of `spec` applied; a request from a file must name what to run.
pub(crate) fn with_flags(
    mut request: RunRequest,
    spec: &RunSpec,
    origin: Option<&str>,
) -> anyhow::Result<RunRequest> {
    if let Some(c) = &spec.capsule {
        request.capsule_id = Some(c.clone());
    }
    if let Some(p) = &spec.pipeline {
        request.pipeline_id = Some(p.clone());
    }
    if spec.version.is_some() {
        request.version = spec.version;
    }
    for a in &spec.data_assets {
        let asset = data_asset(a);
        let assets = request.data_assets.get_or_insert_default();
        match assets.iter_mut().find(|d| d.id == asset.id) {
            Some(existing) => *existing = asset,
            None => assets.push(asset),
        }
    }
    if !spec.params.is_empty() {
        request.parameters = Some(spec.params.clone());
    }
    for p in &spec.named_params {
        let (name, value) = key_value(p, "--named-param")?;
        let param = NamedParameter {
            param_name: name.to_owned(),
            value: value.to_owned(),
        };
        let named = request.named_parameters.get_or_insert_default();
        match named.iter_mut().find(|n| n.param_name == name) {
            Some(existing) => *existing = param,
            None => named.push(param),
        }
    }
    if let Some(origin) = origin {
        check_target(&request, origin).map_err(|e| {
            usage_error(format!(
                "{e} (set it in the file, or pass --capsule ID or --pipeline ID)"
            ))
        })?;
    }
    Ok(request)
}

/// Warnings about parameters given twice on the command line: a `--named-param` name given
/// again (the last value is sent), and, when the app's parameter names are known (`order`, the
/// app panel's names by position), a `--param` and a `--named-param` for the same parameter.
pub(crate) fn repeated_params(spec: &RunSpec, order: &[String]) -> Vec<String> {
    let mut warnings = Vec::new();
    let mut seen: Vec<(&str, &str)> = Vec::new();
    for p in &spec.named_params {
        let Some((name, value)) = p.split_once('=') else {
            continue;
        };
        match seen.iter_mut().find(|(n, _)| *n == name) {
            Some((_, first)) => {
                warnings.push(format!(
                    "--named-param {name} is given twice ({name}={first}, then {name}={value}); \
                     the last one is sent"
                ));
                *first = value;
            }
            None => seen.push((name, value)),
        }
    }
    for (i, value) in spec.params.iter().enumerate() {
        if let Some(name) = order.get(i)
            && let Some((_, named)) = seen.iter().find(|(n, _)| n == name)
        {
            warnings.push(format!(
                "parameter {name} is given twice: --param #{} ({value}) and --named-param \
                 {name}={named}",
                i + 1
            ));
        }
    }
    warnings
}

/// Warnings about parameters the request to be sent holds twice where a `--request` file had a
/// part ([`repeated_params`] covers the flags alone): a name the file lists twice (both are
/// sent), and, by the app's parameter names (`order`), a parameter given by position and by
/// name with one of the two from the file.
pub(crate) fn repeated_in_request(
    spec: &RunSpec,
    request: &RunRequest,
    order: &[String],
) -> Vec<String> {
    let Some(file) = &spec.request else {
        return Vec::new();
    };
    let file = file.display();
    let mut warnings = named_twice(request, &file.to_string());
    let named = request.named_parameters.as_deref().unwrap_or_default();
    let positional_flags = !spec.params.is_empty();
    let named_flag = |name: &str| {
        spec.named_params
            .iter()
            .any(|f| f.split_once('=').is_some_and(|(n, _)| n == name))
    };
    for (i, value) in request.parameters.iter().flatten().enumerate() {
        let Some(name) = order.get(i) else { continue };
        if positional_flags && named_flag(name) {
            continue; // both flags: `repeated_params` says so
        }
        if let Some(p) = named.iter().find(|p| &p.param_name == name) {
            warnings.push(format!(
                "parameter {name} is given twice: by position (#{}, {value}) and by name \
                 ({name}={}), one of them in {file}",
                i + 1,
                p.value
            ));
        }
    }
    warnings
}

/// Warnings about a name `request` lists twice in its named parameters (both are sent), as
/// only a file can give them (`origin`: the file, or a batch file's line).
pub(crate) fn named_twice(request: &RunRequest, origin: &str) -> Vec<String> {
    let named = request.named_parameters.as_deref().unwrap_or_default();
    let mut warnings = Vec::new();
    for (i, p) in named.iter().enumerate() {
        if let Some(first) = named[..i].iter().find(|f| f.param_name == p.param_name) {
            warnings.push(format!(
                "{origin}: named parameter {name} is given twice ({name}={}, then {name}={}); \
                 both are sent",
                first.value,
                p.value,
                name = p.param_name
            ));
        }
    }
    warnings
}

/// One line of a batch file, checked.
#[derive(Debug, Clone)]
pub(crate) struct Line {
    /// 1-based line number in the file.
    pub(crate) number: usize,
    /// Hash of the line's text, to notice a file edited between a run and its resumption.
    pub(crate) hash: String,
    pub(crate) name: Option<String>,
    pub(crate) request: RunRequest,
}

/// Reads and checks every line of a batch file (blank lines are skipped).
pub(crate) fn load_batch(path: &Path) -> anyhow::Result<Vec<Line>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("reading {}: {e}", path.display()))?;
    let file = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into(),
    );
    let mut lines = Vec::new();
    let mut bad = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let raw = raw.trim_end_matches('\r');
        if raw.trim().is_empty() {
            continue;
        }
        let origin = format!("{file} line {}", i + 1);
        let parsed = match parse(raw, &origin, true)
            .and_then(|p| check_target(&p.request, &origin).map(|()| p))
        {
            Ok(p) => p,
            Err(e) => {
                bad.push(e.to_string());
                continue;
            }
        };
        lines.push(Line {
            number: i + 1,
            hash: fnv1a(raw.as_bytes()),
            name: parsed.name,
            request: parsed.request,
        });
    }
    // Every bad line at once, so one edit fixes the file.
    match bad.len() {
        0 => {}
        1 => return Err(usage_error(bad.remove(0))),
        n => {
            return Err(usage_error(format!(
                "{n} bad lines in {file}:\n  {}",
                bad.join("\n  ")
            )));
        }
    }
    if lines.is_empty() {
        return Err(usage_error(format!("{file}: no run requests in it")));
    }
    Ok(lines)
}

/// FNV-1a (64-bit) in hex: stable across platforms and Rust versions.
pub(crate) fn fnv1a(bytes: &[u8]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{h:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        parse(text, "f.jsonl line 3", true).unwrap_err().to_string()
    }

    #[test]
    fn problems_are_named_by_path() {
        assert_eq!(
            err(r#"{"capsule_id": "c", "data_assets": [{"mount": "m"}]}"#),
            "f.jsonl line 3: data_assets[0].id: missing field"
        );
        assert_eq!(
            err(r#"{"capsule_id": "c", "version": "two"}"#),
            "f.jsonl line 3: version: invalid type: string \"two\", expected i64"
        );
        assert_eq!(
            err(r#"{"capsule_id": "c", "data_assets": [{"id": "d", "mout": "m"}]}"#),
            "f.jsonl line 3: data_assets[0].mout: unknown field"
        );
        assert_eq!(err(r#"[1]"#), "f.jsonl line 3: expected a JSON object");
        assert!(err("{").starts_with("f.jsonl line 3: not valid JSON: "));
        let ok = parse(
            r#"{"name": "n", "pipeline_id": "p", "parameters": [], "processes": [{"name": "a", "parameters": ["1"]}]}"#,
            "x",
            true,
        )
        .unwrap();
        assert_eq!(ok.name.as_deref(), Some("n"));
        assert_eq!(
            ok.request.processes.as_ref().unwrap()[0]
                .parameters
                .as_deref(),
            Some(&["1".to_owned()][..])
        );
    }

    #[test]
    fn parameters_given_twice_are_found() {
        let spec = RunSpec {
            capsule: Some("c".into()),
            params: vec!["hi".into(), "3".into()],
            named_params: vec!["count=4".into(), "x=1".into(), "x=2".into()],
            ..RunSpec::default()
        };
        assert_eq!(
            repeated_params(&spec, &[]),
            ["--named-param x is given twice (x=1, then x=2); the last one is sent"]
        );
        assert_eq!(
            repeated_params(&spec, &["greeting".into(), "count".into()])[1],
            "parameter count is given twice: --param #2 (3) and --named-param count=4"
        );
        assert!(repeated_params(&RunSpec::default(), &["a".into()]).is_empty());
    }

    #[test]
    fn parameters_given_twice_with_a_request_file_are_found() {
        let spec = RunSpec {
            request: Some("req.json".into()),
            params: vec!["hi".into()],
            ..RunSpec::default()
        };
        let named = |n: &str, v: &str| NamedParameter {
            param_name: n.into(),
            value: v.into(),
        };
        let request = RunRequest {
            capsule_id: Some("c".into()),
            parameters: Some(vec!["hi".into(), "3".into()]),
            named_parameters: Some(vec![
                named("greeting", "yo"),
                named("x", "1"),
                named("x", "2"),
            ]),
            ..RunRequest::default()
        };
        let order = ["greeting".to_owned(), "count".to_owned()];
        assert_eq!(
            repeated_in_request(&spec, &request, &order),
            [
                "req.json: named parameter x is given twice (x=1, then x=2); both are sent",
                "parameter greeting is given twice: by position (#1, hi) and by name \
                 (greeting=yo), one of them in req.json",
            ]
        );
        // Without a file the flags' own warnings are all there is.
        let flags = RunSpec {
            request: None,
            ..spec
        };
        assert!(repeated_in_request(&flags, &request, &order).is_empty());
    }

    #[test]
    fn flags_override_the_file() {
        let spec = RunSpec {
            capsule: Some("c".into()),
            data_assets: vec!["d:m".into(), "e".into()],
            named_params: vec!["a=1".into(), "a=2".into()],
            params: vec!["x".into()],
            version: Some(2),
            ..RunSpec::default()
        };
        let r = from_spec(&spec).unwrap();
        assert_eq!(r.capsule_id.as_deref(), Some("c"));
        let assets = r.data_assets.as_ref().unwrap();
        assert_eq!(assets[0].mount.as_deref(), Some("m"));
        assert_eq!(assets[1].mount, None);
        let named = r.named_parameters.as_ref().unwrap();
        assert_eq!(named.len(), 1);
        assert_eq!(named[0].value, "2");
        assert_eq!(r.parameters, Some(vec!["x".to_owned()]));
        assert_eq!(r.version, Some(2));
    }
}
