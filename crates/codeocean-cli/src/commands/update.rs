//! `data-asset update`: tags and custom metadata merged into the asset's by default (read,
//! merge, send), replaced only on request, and custom metadata checked against the
//! deployment's schema before anything is written.

use std::collections::BTreeMap;

use codeocean::{
    Client, CustomMetadataFieldType, CustomMetadataSchema, CustomMetadataValue, DataAsset,
    DataAssetUpdate,
};

use crate::cli::UpdateArgs;
use crate::{Ctx, request, usage_error};

/// Applies the update and returns the asset as the server has it after.
pub(crate) async fn update(
    ctx: &Ctx,
    client: &Client,
    args: UpdateArgs,
) -> anyhow::Result<DataAsset> {
    let UpdateArgs {
        id,
        name,
        description,
        tags,
        remove_tags,
        replace_tags,
        mount,
        metadata,
        remove_metadata,
        replace_metadata,
    } = args;
    let touches_tags = replace_tags || !tags.is_empty() || !remove_tags.is_empty();
    let touches_metadata = replace_metadata || !metadata.is_empty() || !remove_metadata.is_empty();
    if name.is_none()
        && description.is_none()
        && mount.is_none()
        && !touches_tags
        && !touches_metadata
    {
        return Err(usage_error(
            "nothing to update: pass --name, --description, --mount, --tag, --remove-tag, \
             --replace-tags, --metadata, --remove-metadata or --replace-metadata",
        ));
    }
    // Every value is checked against the schema before the asset is read or changed.
    let mut given = Vec::new();
    for m in &metadata {
        let (k, v) = request::key_value(m, "--metadata")?;
        given.push((k.to_owned(), v.to_owned()));
    }
    let given = if given.is_empty() {
        BTreeMap::new()
    } else {
        let schema = client.get_custom_metadata_schema().await?;
        check_metadata(&schema, &given).map_err(usage_error)?
    };
    let needs_current = (touches_tags && !replace_tags) || (touches_metadata && !replace_metadata);
    let current = if needs_current {
        Some(client.get_data_asset(&id).await?)
    } else {
        None
    };
    let mut update = DataAssetUpdate::new();
    if let Some(n) = name {
        update = update.name(n);
    }
    if let Some(d) = description {
        update = update.description(d);
    }
    if let Some(m) = mount {
        update = update.mount(m);
    }
    if touches_tags {
        let base = match (&current, replace_tags) {
            (Some(a), false) => a.tags.clone(),
            _ => Vec::new(),
        };
        for t in &remove_tags {
            if !base.contains(t) {
                ctx.note(format!("data asset {id} has no tag {t:?} to remove"));
            }
        }
        update = update.tags(merge_tags(base, tags, &remove_tags));
    }
    if touches_metadata {
        let base = match (&current, replace_metadata) {
            (Some(a), false) => a.custom_metadata.clone().map(|m| m.0).unwrap_or_default(),
            _ => BTreeMap::new(),
        };
        for k in &remove_metadata {
            if !base.contains_key(k) {
                ctx.note(format!(
                    "data asset {id} has no custom metadata field {k:?} to remove"
                ));
            }
        }
        update = update.replace_metadata(merge_metadata(base, given, &remove_metadata));
    }
    Ok(client.update_data_asset(&id, &update).await?)
}

/// `base` plus the `added` tags it lacks (in order, once each), less the `removed` ones.
fn merge_tags(base: Vec<String>, added: Vec<String>, removed: &[String]) -> Vec<String> {
    let mut tags: Vec<String> = Vec::new();
    for t in base.into_iter().chain(added) {
        if !tags.contains(&t) && !removed.contains(&t) {
            tags.push(t);
        }
    }
    tags
}

/// `base` with the `given` fields set and the `removed` ones taken out.
fn merge_metadata(
    mut base: BTreeMap<String, CustomMetadataValue>,
    given: BTreeMap<String, CustomMetadataValue>,
    removed: &[String],
) -> BTreeMap<String, CustomMetadataValue> {
    base.extend(given);
    for k in removed {
        base.remove(k);
    }
    base
}

/// The values as the schema's field types want them, or one message naming every bad one.
/// A deployment that defines no fields takes anything (numbers when they read as numbers).
pub(crate) fn check_metadata(
    schema: &CustomMetadataSchema,
    given: &[(String, String)],
) -> Result<BTreeMap<String, CustomMetadataValue>, String> {
    let mut values = BTreeMap::new();
    let mut problems = Vec::new();
    for (key, raw) in given {
        match field_value(schema, key, raw) {
            Ok(v) => {
                values.insert(key.clone(), v);
            }
            Err(e) => problems.push(format!("--metadata {key}={raw}: {e}")),
        }
    }
    match problems.len() {
        0 => Ok(values),
        1 => Err(problems.remove(0)),
        n => Err(format!(
            "{n} custom metadata values do not fit the deployment's fields:\n  {}",
            problems.join("\n  ")
        )),
    }
}

/// One value, checked against its field: type, range and allowed values.
fn field_value(
    schema: &CustomMetadataSchema,
    key: &str,
    raw: &str,
) -> Result<CustomMetadataValue, String> {
    if schema.fields.is_empty() {
        return Ok(guess(raw));
    }
    let Some(field) = schema.fields.iter().find(|f| f.name == key) else {
        let names: Vec<&str> = schema.fields.iter().map(|f| f.name.as_str()).collect();
        return Err(format!(
            "the deployment has no custom metadata field `{key}` (its fields: {}; see \
             `codeocean custom-metadata get`)",
            names.join(", ")
        ));
    };
    let (value, number) = match &field.type_ {
        Some(CustomMetadataFieldType::Number) => number(raw)
            .ok_or_else(|| format!("`{key}` is a number field; {raw:?} is not a number"))?,
        Some(CustomMetadataFieldType::Date) => {
            let secs = date(raw).ok_or_else(|| {
                format!(
                    "`{key}` is a date field; {raw:?} is not a date (YYYY-MM-DD, RFC 3339 or \
                     Unix seconds)"
                )
            })?;
            (CustomMetadataValue::from(secs), Some(secs as f64))
        }
        Some(CustomMetadataFieldType::String) => (CustomMetadataValue::from(raw), None),
        // A type this tool does not know: sent as it reads.
        _ => (guess(raw), None),
    };
    if let (Some(n), Some(range)) = (number, &field.range) {
        let below = range.min.is_some_and(|min| n < min);
        let above = range.max.is_some_and(|max| n > max);
        if below || above {
            let bound = |b: Option<f64>| b.map_or("…".to_owned(), |b| b.to_string());
            return Err(format!(
                "`{key}` takes values from {} to {}",
                bound(range.min),
                bound(range.max)
            ));
        }
    }
    if !field.allowed_values.is_empty() {
        // A field of a type this tool does not know (or of none) is matched by how its
        // allowed values read: `1` is the allowed string "1", `true` the allowed `true`.
        let known = matches!(
            field.type_,
            Some(
                CustomMetadataFieldType::Number
                    | CustomMetadataFieldType::Date
                    | CustomMetadataFieldType::String
            )
        );
        let same = |a: &CustomMetadataValue| match (a, &value) {
            (CustomMetadataValue::Number(a), CustomMetadataValue::Number(b)) => {
                a.as_f64() == b.as_f64()
            }
            (a, b) if a == b => true,
            (a, _) => !known && a.to_string() == raw,
        };
        // The allowed value itself is sent, as the deployment spells it.
        if let Some(allowed) = field.allowed_values.iter().find(|a| same(a)) {
            return Ok(allowed.clone());
        }
        let allowed: Vec<String> = field
            .allowed_values
            .iter()
            .map(|v| format!("\"{v}\""))
            .collect();
        return Err(format!("`{key}` takes one of {}", allowed.join(", ")));
    }
    Ok(value)
}

/// A number value (an integer stays an integer), with its value for range checks.
fn number(raw: &str) -> Option<(CustomMetadataValue, Option<f64>)> {
    let raw = raw.trim();
    if let Ok(i) = raw.parse::<i64>() {
        return Some((i.into(), Some(i as f64)));
    }
    raw.parse::<f64>()
        .ok()
        .filter(|f| f.is_finite())
        .map(|f| (f.into(), Some(f)))
}

/// A date as Unix seconds: `2026-05-01`, RFC 3339 (`2026-05-01T12:00:00Z`) or seconds.
fn date(raw: &str) -> Option<i64> {
    let raw = raw.trim();
    if let Ok(secs) = raw.parse::<i64>() {
        return Some(secs);
    }
    let text = if raw.len() == 10 {
        format!("{raw}T00:00:00Z")
    } else {
        raw.to_owned()
    };
    let t = humantime::parse_rfc3339_weak(&text).ok()?;
    let secs = t.duration_since(std::time::UNIX_EPOCH).ok()?.as_secs();
    i64::try_from(secs).ok()
}

/// With no schema to go by: a number when it reads as one, else a string.
fn guess(raw: &str) -> CustomMetadataValue {
    number(raw).map_or_else(|| raw.into(), |(v, _)| v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merges_keep_order_and_drop_removed() {
        let tags = merge_tags(
            vec!["a".into(), "b".into()],
            vec!["c".into(), "a".into()],
            &["b".into()],
        );
        assert_eq!(tags, ["a", "c"]);
        let base: BTreeMap<String, CustomMetadataValue> =
            [("x".to_owned(), 1.into()), ("y".to_owned(), "old".into())].into();
        let given = [("y".to_owned(), "new".into())].into();
        let merged = merge_metadata(base, given, &["x".into()]);
        assert_eq!(
            merged,
            [("y".to_owned(), CustomMetadataValue::from("new"))].into()
        );
    }

    fn schema(fields: serde_json::Value) -> CustomMetadataSchema {
        serde_json::from_value(serde_json::json!({ "fields": fields })).unwrap()
    }

    #[test]
    fn allowed_values_of_unknown_types_match_as_they_read() {
        let s = schema(serde_json::json!([
            {"name": "level", "type": "grade", "allowed_values": ["1", "2"]},
            {"name": "reviewed", "type": "boolean", "allowed_values": [true, false]},
            {"name": "code", "allowed_values": ["007"]},
            {"name": "wells", "type": "number", "allowed_values": [96, 384]},
        ]));
        let value = |k: &str, raw: &str| field_value(&s, k, raw);
        assert_eq!(value("level", "1"), Ok(CustomMetadataValue::from("1")));
        assert_eq!(
            value("reviewed", "true"),
            Ok(CustomMetadataValue::Other(serde_json::json!(true)))
        );
        assert_eq!(value("code", "007"), Ok(CustomMetadataValue::from("007")));
        assert_eq!(value("wells", "96.0"), Ok(CustomMetadataValue::from(96)));
        assert_eq!(
            value("level", "3"),
            Err("`level` takes one of \"1\", \"2\"".to_owned())
        );
        assert!(value("reviewed", "yes").is_err());
        assert!(value("code", "7").is_err());
        assert!(value("wells", "95").is_err());
    }

    #[test]
    fn dates_read_three_ways() {
        assert_eq!(date("1970-01-02"), Some(86_400));
        assert_eq!(date("1970-01-01T00:01:00Z"), Some(60));
        assert_eq!(date("1700000000"), Some(1_700_000_000));
        assert_eq!(date("yesterday"), None);
    }
}
