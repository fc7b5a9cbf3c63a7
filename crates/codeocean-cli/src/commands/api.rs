//! `codeocean api`: any API request, through the library's `Client::request_json`.

use std::io::Read as _;

use serde_json::{Map, Value};

use crate::cli::ApiArgs;
use crate::{Ctx, output, usage_error};

/// Most pages `--paginate` fetches (the library's searches stop at the same).
const MAX_PAGES: usize = 1000;
/// The page size `--paginate` asks for unless `limit` is given.
const PAGE_SIZE: u64 = 100;

/// A `-f` value as JSON: numbers, `true`, `false` and `null` typed, anything else a string.
fn typed(value: &str) -> Value {
    match value {
        "true" => Value::Bool(true),
        "false" => Value::Bool(false),
        "null" => Value::Null,
        v => match serde_json::from_str::<serde_json::Number>(v) {
            Ok(n) => Value::Number(n),
            Err(_) => Value::String(v.to_owned()),
        },
    }
}

/// The request's body from `--input` (a file or `-`), checked as JSON.
fn input_body(path: &std::path::Path) -> anyhow::Result<Value> {
    let (text, name) = if path.as_os_str() == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| usage_error(format!("--input -: cannot read stdin: {e}")))?;
        (text, "stdin".to_owned())
    } else {
        let text = std::fs::read_to_string(path)
            .map_err(|e| usage_error(format!("--input {}: {e}", path.display())))?;
        (text, path.display().to_string())
    };
    serde_json::from_str(&text).map_err(|e| usage_error(format!("--input {name}: not JSON: {e}")))
}

pub(crate) async fn api(ctx: &Ctx, args: ApiArgs) -> anyhow::Result<()> {
    let fields: Vec<(String, String)> = args
        .fields
        .iter()
        .filter_map(|f| f.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    let has_body = !fields.is_empty() || args.input.is_some();
    let method = match &args.method {
        Some(m) => m.to_ascii_uppercase(),
        None if has_body || args.paginate => "POST".to_owned(),
        None => "GET".to_owned(),
    };
    if !method.chars().all(|c| c.is_ascii_alphabetic()) || method.is_empty() {
        return Err(usage_error(format!("-X {method}: not an HTTP method")));
    }
    let in_query = matches!(method.as_str(), "GET" | "DELETE" | "HEAD");
    if in_query && args.input.is_some() {
        return Err(usage_error(format!(
            "--input: a {method} request has no body"
        )));
    }
    let (query, body) = if in_query {
        (fields, None)
    } else if let Some(path) = &args.input {
        (Vec::new(), Some(input_body(path)?))
    } else if has_body || args.paginate {
        let mut body = Map::new();
        for (k, v) in &fields {
            body.insert(k.clone(), typed(v));
        }
        (Vec::new(), Some(Value::Object(body)))
    } else {
        (Vec::new(), None)
    };
    if args.paginate && !matches!(body, Some(Value::Object(_))) {
        return Err(usage_error(
            "--paginate pages a search: a POST with a JSON object body (e.g. \
             `codeocean api data_assets/search --paginate`)",
        ));
    }
    let client = ctx.client()?;
    if !args.paginate {
        let answer = client
            .request_json(&method, &args.path, &query, body.as_ref())
            .await?;
        return output::json(&answer);
    }
    let Some(Value::Object(mut body)) = body else {
        unreachable!("checked above")
    };
    let mut offset = body.get("offset").and_then(Value::as_u64).unwrap_or(0);
    if !body.contains_key("limit") {
        body.insert("limit".into(), PAGE_SIZE.into());
    }
    for _ in 0..MAX_PAGES {
        body.insert("offset".into(), offset.into());
        let page = client
            .request_json(
                &method,
                &args.path,
                &query,
                Some(&Value::Object(body.clone())),
            )
            .await?;
        let Some(results) = page.get("results").and_then(Value::as_array) else {
            anyhow::bail!(
                "--paginate: the answer of {} has no `results` list (only searches page)",
                args.path
            );
        };
        for item in results {
            output::json_line(item)?;
        }
        if page.get("has_more").and_then(Value::as_bool) != Some(true) {
            return Ok(());
        }
        if results.is_empty() {
            anyhow::bail!(
                "--paginate: the server says more results follow offset {offset} but sent none"
            );
        }
        offset += results.len() as u64;
    }
    anyhow::bail!("--paginate: stopped after {MAX_PAGES} pages")
}

#[cfg(test)]
mod tests {
    use super::typed;
    use serde_json::json;

    #[test]
    fn fields_are_typed_like_gh() {
        assert_eq!(typed("10"), json!(10));
        assert_eq!(typed("-1.5"), json!(-1.5));
        assert_eq!(typed("true"), json!(true));
        assert_eq!(typed("null"), json!(null));
        assert_eq!(typed("tag:qc"), json!("tag:qc"));
        assert_eq!(typed("0x10"), json!("0x10"));
        assert_eq!(typed(""), json!(""));
    }
}
