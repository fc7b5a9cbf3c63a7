//! The three searches (capsules, pipelines, data assets): the query language, filters, sort
//! orders and paging of `openapi/codeocean.yaml`, over the simulator's current state.
//!
//! Paging: `limit` (1 to 1000, 100 when absent) items from `offset` (0 when absent), or from where
//! a `next_token` points (then `offset` is ignored). `has_more` is true exactly when items follow
//! the page, and then `next_token` is set. A token is opaque to clients; it carries the offset of
//! the next page and a fingerprint of the search, so a token used with another search is refused.
//!
//! The `lie_has_more` fault (class `search`) answers `has_more: true` with a `next_token` that
//! leads back to the same page: following tokens repeats the page forever, and paging by
//! `offset` runs into empty pages that still claim more.

use std::cmp::Ordering;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use base64::Engine as _;
use codeocean_raw::open::{
    CapsuleSortBy, CapsuleStatus, CustomMetadataValue, DataAssetSearchOrigin, DataAssetSortBy,
    DataAssetType, EveryoneRole, Ownership, SortOrder,
};
use codeocean_raw::types;
use serde::Serialize;

use crate::apps::{Family, Kind, capsule_wire};
use crate::faults::FaultPlan;
use crate::http::{ApiError, ApiResult, St, parse_body};
use crate::state::{self, Asset, Item};

/// Page size when the request gives none.
const DEFAULT_LIMIT: i64 = 100;
/// The largest page size.
const MAX_LIMIT: i64 = 1000;

/// Refuses a value of an open enum that the simulator does not know (`Unknown`).
fn known<T: std::fmt::Display>(
    field: &str,
    value: Option<&T>,
    unknown: impl Fn(&T) -> bool,
    allowed: &[&str],
) -> ApiResult<()> {
    match value {
        Some(v) if unknown(v) => Err(ApiError::bad_request(format!(
            "{field}: unknown value `{v}` (one of {})",
            allowed.join(", ")
        ))),
        _ => Ok(()),
    }
}

/// Where a page starts and how long it is, and the fingerprint of the search.
struct Paging {
    offset: usize,
    limit: usize,
    fingerprint: u64,
}

/// FNV-1a over the search without its paging fields.
fn fingerprint(kind: &str, search: &impl Serialize) -> u64 {
    let text = serde_json::to_string(search).unwrap_or_default();
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in kind.bytes().chain([0]).chain(text.bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

fn token(offset: usize, fingerprint: u64) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{offset}:{fingerprint:016x}"))
}

fn paging(
    kind: &str,
    unpaged: &impl Serialize,
    next_token: Option<&str>,
    offset: Option<i64>,
    limit: Option<i64>,
) -> ApiResult<Paging> {
    let fp = fingerprint(kind, unpaged);
    let limit = limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::bad_request(format!(
            "limit: must be between 1 and {MAX_LIMIT}, not {limit}"
        )));
    }
    let offset = match next_token {
        Some(t) => {
            let bad = || ApiError::bad_request("next_token: not a token this search returned");
            let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(t)
                .map_err(|_| bad())?;
            let text = String::from_utf8(raw).map_err(|_| bad())?;
            let (o, f) = text.split_once(':').ok_or_else(bad)?;
            let o: usize = o.parse().map_err(|_| bad())?;
            if u64::from_str_radix(f, 16).ok() != Some(fp) {
                return Err(ApiError::bad_request(
                    "next_token: the token belongs to another search (query, filters or sort changed)",
                ));
            }
            o
        }
        None => {
            let o = offset.unwrap_or(0);
            usize::try_from(o).map_err(|_| {
                ApiError::bad_request(format!("offset: must not be negative, not {o}"))
            })?
        }
    };
    Ok(Paging {
        offset,
        limit: limit as usize,
        fingerprint: fp,
    })
}

/// One page of `all`: (results, has_more, next_token).
fn page<T>(all: Vec<T>, p: &Paging, lie: bool) -> (Vec<T>, bool, Option<String>) {
    let total = all.len();
    let results: Vec<T> = all.into_iter().skip(p.offset).take(p.limit).collect();
    let end = p.offset.saturating_add(results.len());
    if lie {
        // The lie: more is claimed, and the token leads back to this very page.
        return (results, true, Some(token(p.offset, p.fingerprint)));
    }
    let has_more = end < total;
    (
        results,
        has_more,
        has_more.then(|| token(end, p.fingerprint)),
    )
}

// --- The query language -------------------------------------------------------------------

/// One term of a query: `field:words` or free words, lower-cased and split into words.
#[derive(Debug, PartialEq)]
struct Term {
    field: Option<String>,
    words: Vec<String>,
}

/// Words of a text: maximal runs of letters and digits, lower-cased.
fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// Splits a query into terms: white space separates terms, double quotes group a phrase, and
/// `field:` before a term names its field when the field is one of `fields` (otherwise the
/// whole term is free text).
fn parse_query(query: &str, fields: &[&str]) -> Vec<Term> {
    let mut raw: Vec<(Option<String>, String)> = Vec::new();
    let mut chars = query.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.peek().is_none() {
            break;
        }
        let mut field = None;
        let mut text = String::new();
        let mut quoted = false;
        while let Some(&c) = chars.peek() {
            if c == '"' {
                quoted = !quoted;
                chars.next();
                continue;
            }
            if c.is_whitespace() && !quoted {
                break;
            }
            chars.next();
            if c == ':' && field.is_none() && !quoted {
                let name = text.to_lowercase();
                if fields.contains(&name.as_str()) {
                    field = Some(name);
                    text.clear();
                    continue;
                }
            }
            text.push(c);
        }
        raw.push((field, text));
    }
    raw.into_iter()
        .map(|(field, text)| Term {
            field,
            words: words(&text),
        })
        .filter(|t| !t.words.is_empty())
        .collect()
}

/// Whether `phrase` (words) appears, word for word and in order, in `text`.
fn phrase_in(phrase: &[String], text: &str) -> bool {
    let hay = words(text);
    !phrase.is_empty() && hay.windows(phrase.len()).any(|w| w == phrase)
}

/// Evaluates terms against an object: free terms must each match one of the free-text fields;
/// terms of the same field are OR-ed, different fields AND-ed. `field(name)` gives the texts of
/// a field (an `id` field matches whole values only).
fn query_matches(terms: &[Term], free: &[String], field: impl Fn(&str) -> Vec<String>) -> bool {
    let mut by_field: std::collections::BTreeMap<&str, bool> = Default::default();
    for t in terms {
        match &t.field {
            None => {
                if !free.iter().any(|f| phrase_in(&t.words, f)) {
                    return false;
                }
            }
            Some(name) => {
                let hit = field(name).iter().any(|v| {
                    if name == "id" || name.ends_with("_id") {
                        words(v) == t.words
                    } else {
                        phrase_in(&t.words, v)
                    }
                });
                *by_field.entry(name.as_str()).or_default() |= hit;
            }
        }
    }
    by_field.values().all(|hit| *hit)
}

// --- Filters ------------------------------------------------------------------------------

/// A value an object has for a filter key.
enum Value {
    Text(String),
    Number(f64),
}

fn check_filters(filters: &[types::SearchFilter]) -> ApiResult<()> {
    for (i, f) in filters.iter().enumerate() {
        let bad = |what: &str| {
            ApiError::bad_request(format!(
                "filters[{i}].{what}: values must be strings or numbers"
            ))
        };
        if matches!(f.value, Some(CustomMetadataValue::Other(_))) {
            return Err(bad("value"));
        }
        for (j, v) in f.values.iter().flatten().enumerate() {
            if matches!(v, CustomMetadataValue::Other(_)) {
                return Err(bad(&format!("values[{j}]")));
            }
        }
        if let Some(r) = &f.range
            && let (Some(min), Some(max)) = (r.min, r.max)
            && min > max
        {
            return Err(ApiError::bad_request(format!(
                "filters[{i}].range: min {min} is above max {max}"
            )));
        }
    }
    Ok(())
}

fn value_eq(want: &CustomMetadataValue, have: &Value) -> bool {
    match (want, have) {
        (CustomMetadataValue::String(w), Value::Text(h)) => w.trim().eq_ignore_ascii_case(h.trim()),
        (CustomMetadataValue::Number(w), Value::Number(h)) => w.as_f64() == Some(*h),
        (CustomMetadataValue::String(w), Value::Number(h)) => w.trim().parse::<f64>() == Ok(*h),
        (CustomMetadataValue::Number(w), Value::Text(h)) => {
            h.trim().parse::<f64>().ok() == w.as_f64()
        }
        _ => false,
    }
}

/// Whether an object whose values for the filter's key are `have` passes the filter.
fn filter_passes(f: &types::SearchFilter, have: &[Value]) -> bool {
    let wants: Vec<&CustomMetadataValue> =
        f.value.iter().chain(f.values.iter().flatten()).collect();
    let mut hit = if wants.is_empty() && f.range.is_none() {
        // Nothing to compare with: the key must have a value.
        !have.is_empty()
    } else {
        wants.iter().any(|w| have.iter().any(|h| value_eq(w, h)))
    };
    if let Some(r) = &f.range {
        hit |= have.iter().any(|h| match h {
            Value::Number(n) => {
                r.min.is_none_or(|min| *n >= min) && r.max.is_none_or(|max| *n <= max)
            }
            Value::Text(_) => false,
        });
    }
    hit != f.exclude.unwrap_or(false)
}

fn metadata_values(m: Option<&types::CustomMetadata>, key: &str) -> Vec<Value> {
    m.and_then(|m| m.get(key))
        .into_iter()
        .filter_map(|v| match v {
            CustomMetadataValue::String(s) => Some(Value::Text(s.clone())),
            CustomMetadataValue::Number(n) => n.as_f64().map(Value::Number),
            _ => None,
        })
        .collect()
}

/// Whether permissions share the object with anyone but its owner.
fn is_shared(p: &types::Permissions) -> bool {
    p.users
        .iter()
        .flatten()
        .any(|u| u.email != state::OWNER_EMAIL)
        || p.groups.as_ref().is_some_and(|g| !g.is_empty())
        || p.everyone
            .as_ref()
            .is_some_and(|e| *e != EveryoneRole::None)
}

/// Whether an object of the simulator's only user passes an ownership filter: everything was
/// created by the caller, nothing was shared with them by others, and `private` means shared
/// with nobody.
fn ownership_passes(o: Option<&Ownership>, permissions: &types::Permissions) -> bool {
    match o {
        None | Some(Ownership::Created) => true,
        Some(Ownership::Private) => !is_shared(permissions),
        Some(Ownership::Shared) => false,
        Some(_) => false,
    }
}

fn order(o: Ordering, desc: bool) -> Ordering {
    if desc { o.reverse() } else { o }
}

fn check_sort(has_field: bool, sort_order: Option<&SortOrder>) -> ApiResult<bool> {
    known(
        "sort_order",
        sort_order,
        SortOrder::is_unknown,
        SortOrder::KNOWN,
    )?;
    if sort_order.is_some() && !has_field {
        return Err(ApiError::bad_request(
            "sort_order: give it together with sort_field",
        ));
    }
    Ok(sort_order == Some(&SortOrder::Descending))
}

// --- Capsules and pipelines ---------------------------------------------------------------

const CAPSULE_FIELDS: &[&str] = &[
    "id",
    "name",
    "doi",
    "tag",
    "field",
    "affiliation",
    "journal",
    "article",
    "author",
];

/// What both searches check after their own fields, in order: the sort order (`desc`), the
/// filters, the paging of the search `unpaged` (its request without paging fields).
fn sorted_filtered_paged(
    kind: &str,
    unpaged: &impl Serialize,
    (has_sort_field, sort_order): (bool, Option<&SortOrder>),
    filters: Option<&Vec<types::SearchFilter>>,
    (next_token, offset, limit): (Option<&str>, Option<i64>, Option<i64>),
) -> ApiResult<(bool, Vec<types::SearchFilter>, Paging)> {
    let desc = check_sort(has_sort_field, sort_order)?;
    let filters = filters.cloned().unwrap_or_default();
    check_filters(&filters)?;
    let paging = paging(kind, unpaged, next_token, offset, limit)?;
    Ok((desc, filters, paging))
}

fn search_items(
    st: &state::State,
    kind: Kind,
    req: types::CapsuleSearchRequest,
    lie: bool,
) -> ApiResult<types::CapsuleSearchResults> {
    known(
        "sort_field",
        req.sort_field.as_ref(),
        CapsuleSortBy::is_unknown,
        CapsuleSortBy::KNOWN,
    )?;
    known(
        "ownership",
        req.ownership.as_ref(),
        Ownership::is_unknown,
        Ownership::KNOWN,
    )?;
    known(
        "status",
        req.status.as_ref(),
        CapsuleStatus::is_unknown,
        CapsuleStatus::KNOWN,
    )?;
    let unpaged = types::CapsuleSearchRequest {
        next_token: None,
        offset: None,
        limit: None,
        ..req.clone()
    };
    let (desc, filters, paging) = sorted_filtered_paged(
        kind.noun(),
        &unpaged,
        (req.sort_field.is_some(), req.sort_order.as_ref()),
        req.filters.as_ref(),
        (req.next_token.as_deref(), req.offset, req.limit),
    )?;
    let terms = parse_query(req.query.as_deref().unwrap_or(""), CAPSULE_FIELDS);
    let archived = req.archived.unwrap_or(false);
    let items = st.items.lock().unwrap();
    let mut found: Vec<(&Item, types::Capsule)> = items
        .values()
        .filter(|item| {
            (kind == Kind::Pipeline) == item.is_pipeline
                && item.archived == archived
                && req.favorite != Some(true)
                && ownership_passes(req.ownership.as_ref(), &item.permissions)
        })
        .map(|item| (item, capsule_wire(st, item)))
        .filter(|(_, c)| {
            req.status
                .as_ref()
                .is_none_or(|s| c.status.as_ref() == Some(s))
        })
        .filter(|(_, c)| {
            let tags: Vec<String> = c
                .tags
                .iter()
                .chain(c.keywords.iter().flatten())
                .cloned()
                .collect();
            let text = |o: &Option<String>| o.clone().into_iter().collect::<Vec<_>>();
            let mut free = text(&c.name);
            free.extend(text(&c.description));
            free.extend(text(&c.field));
            free.extend(tags.iter().cloned());
            query_matches(&terms, &free, |f| match f {
                "id" => vec![c.id.clone()],
                "name" => text(&c.name),
                "tag" => tags.clone(),
                "field" => text(&c.field),
                _ => vec![],
            }) && filters.iter().all(|f| {
                let have: Vec<Value> = match f.key.as_str() {
                    "name" => text(&c.name).into_iter().map(Value::Text).collect(),
                    "description" => text(&c.description).into_iter().map(Value::Text).collect(),
                    "tags" => tags.iter().cloned().map(Value::Text).collect(),
                    _ => vec![],
                };
                filter_passes(f, &have)
            })
        })
        .collect();
    found.sort_by(|(a, ca), (b, cb)| {
        let by = match req.sort_field {
            Some(CapsuleSortBy::Name) => order(
                ca.name
                    .as_deref()
                    .unwrap_or("")
                    .to_lowercase()
                    .cmp(&cb.name.as_deref().unwrap_or("").to_lowercase()),
                desc,
            ),
            Some(CapsuleSortBy::LastAccessed) => {
                order(a.last_accessed.total_cmp(&b.last_accessed), desc)
            }
            Some(CapsuleSortBy::Created) => order(a.created.total_cmp(&b.created), desc),
            // Without a sort field: newest first.
            _ => b.created.total_cmp(&a.created),
        };
        by.then_with(|| ca.id.cmp(&cb.id))
    });
    let all: Vec<types::Capsule> = found.into_iter().map(|(_, c)| c).collect();
    let (results, has_more, next_token) = page(all, &paging, lie);
    Ok(types::CapsuleSearchResults {
        has_more,
        next_token,
        results,
    })
}

fn lie(plan: Option<axum::Extension<FaultPlan>>) -> bool {
    plan.is_some_and(|p| p.0.lie_has_more)
}

/// `POST /capsules/search`, `POST /pipelines/search`.
pub(crate) async fn search_apps<F: Family>(
    State(st): St,
    plan: Option<axum::Extension<FaultPlan>>,
    body: Bytes,
) -> ApiResult<Json<types::CapsuleSearchResults>> {
    let (req, _) = parse_body(&body)?;
    Ok(Json(search_items(&st, F::KIND, req, lie(plan))?))
}

// --- Data assets --------------------------------------------------------------------------

const DATA_ASSET_FIELDS: &[&str] = &[
    "name",
    "tag",
    "run_script",
    "commit_id",
    "contained_data_id",
];

fn metadata_texts(m: Option<&types::CustomMetadata>) -> Vec<String> {
    m.iter()
        .flat_map(|m| m.values())
        .filter_map(|v| match v {
            CustomMetadataValue::String(s) => Some(s.clone()),
            CustomMetadataValue::Number(n) => Some(n.to_string()),
            _ => None,
        })
        .collect()
}

fn type_rank(t: Option<&DataAssetType>) -> &str {
    t.map_or("", |t| t.as_str())
}

fn search_assets(
    st: &state::State,
    req: types::DataAssetSearchRequest,
    lie: bool,
) -> ApiResult<types::DataAssetSearchResults> {
    known(
        "sort_field",
        req.sort_field.as_ref(),
        DataAssetSortBy::is_unknown,
        DataAssetSortBy::KNOWN,
    )?;
    known(
        "type",
        req.type_.as_ref(),
        DataAssetType::is_unknown,
        DataAssetType::KNOWN,
    )?;
    known(
        "ownership",
        req.ownership.as_ref(),
        Ownership::is_unknown,
        Ownership::KNOWN,
    )?;
    known(
        "origin",
        req.origin.as_ref(),
        DataAssetSearchOrigin::is_unknown,
        DataAssetSearchOrigin::KNOWN,
    )?;
    let unpaged = types::DataAssetSearchRequest {
        next_token: None,
        offset: None,
        limit: None,
        ..req.clone()
    };
    let (desc, filters, paging) = sorted_filtered_paged(
        "data_assets",
        &unpaged,
        (req.sort_field.is_some(), req.sort_order.as_ref()),
        req.filters.as_ref(),
        (req.next_token.as_deref(), req.offset, req.limit),
    )?;
    let terms = parse_query(req.query.as_deref().unwrap_or(""), DATA_ASSET_FIELDS);
    let archived = req.archived.unwrap_or(false);
    let now = st.clock.now();
    let assets = st.assets.lock().unwrap();
    // Matching and sorting read the stored metadata (what `to_wire` adds, the state and the
    // clock-driven fields, is not searched), so only the page is turned into wire objects.
    let mut found: Vec<&Asset> = assets
        .values()
        .filter(|a| {
            a.archived == archived
                && req.favorite != Some(true)
                && ownership_passes(req.ownership.as_ref(), &a.permissions)
                && match &req.origin {
                    Some(DataAssetSearchOrigin::External) => a.is_external(now),
                    Some(_) => !a.is_external(now),
                    None => true,
                }
                && req
                    .type_
                    .as_ref()
                    .is_none_or(|t| a.wire.type_.as_ref() == Some(t))
        })
        .filter(|a| {
            if terms.is_empty() && filters.is_empty() {
                return true;
            }
            let w = &a.wire;
            let text = |o: &Option<String>| o.clone().into_iter().collect::<Vec<_>>();
            let prov = w.provenance.clone().unwrap_or_default();
            let mut free = text(&w.name);
            free.extend(text(&w.description));
            free.extend(w.tags.iter().cloned());
            free.extend(metadata_texts(w.custom_metadata.as_ref()));
            query_matches(&terms, &free, |f| match f {
                "name" => text(&w.name),
                "tag" => w.tags.clone(),
                "run_script" => text(&prov.run_script),
                "commit_id" => text(&prov.commit),
                "contained_data_id" => w
                    .contained_data_assets
                    .iter()
                    .filter_map(|c| c.id.clone())
                    .collect(),
                _ => vec![],
            }) && filters.iter().all(|f| {
                let have: Vec<Value> = match f.key.as_str() {
                    "name" => text(&w.name).into_iter().map(Value::Text).collect(),
                    "description" => text(&w.description).into_iter().map(Value::Text).collect(),
                    "tags" => w.tags.iter().cloned().map(Value::Text).collect(),
                    key => metadata_values(w.custom_metadata.as_ref(), key),
                };
                filter_passes(f, &have)
            })
        })
        .collect();
    match req.sort_field {
        // Names compare case-insensitively: lower-case each once, not per comparison.
        Some(DataAssetSortBy::Name) => {
            let key = |a: &&Asset| {
                (
                    a.wire.name.as_deref().unwrap_or("").to_lowercase(),
                    a.wire.id.clone(),
                )
            };
            if desc {
                found.sort_by_cached_key(|a| {
                    let (name, id) = key(a);
                    (std::cmp::Reverse(name), id)
                });
            } else {
                found.sort_by_cached_key(key);
            }
        }
        _ => found.sort_by(|a, b| {
            let (wa, wb) = (&a.wire, &b.wire);
            let by = match req.sort_field {
                Some(DataAssetSortBy::Size) => order(wa.size.cmp(&wb.size), desc),
                Some(DataAssetSortBy::Type) => order(
                    type_rank(wa.type_.as_ref()).cmp(type_rank(wb.type_.as_ref())),
                    desc,
                ),
                Some(DataAssetSortBy::Created) => order(a.created.total_cmp(&b.created), desc),
                // Without a sort field: newest first.
                _ => b.created.total_cmp(&a.created),
            };
            by.then_with(|| wa.id.cmp(&wb.id))
        }),
    }
    let (results, has_more, next_token) = page(found, &paging, lie);
    Ok(types::DataAssetSearchResults {
        has_more,
        next_token,
        results: results.into_iter().map(|a| a.to_wire(&st.clock)).collect(),
    })
}

/// `POST /data_assets/search`.
pub(crate) async fn search_data_assets(
    State(st): St,
    plan: Option<axum::Extension<FaultPlan>>,
    body: Bytes,
) -> ApiResult<Json<types::DataAssetSearchResults>> {
    let (req, _) = parse_body(&body)?;
    Ok(Json(search_assets(&st, req, lie(plan))?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_split_into_fields_phrases_and_free_words() {
        let t = parse_query(
            r#"name:"single cell" tag:genomics RNA-seq http://x"#,
            CAPSULE_FIELDS,
        );
        assert_eq!(t.len(), 4);
        assert_eq!(t[0].field.as_deref(), Some("name"));
        assert_eq!(t[0].words, ["single", "cell"]);
        assert_eq!(t[1].field.as_deref(), Some("tag"));
        assert_eq!(t[2].field, None);
        assert_eq!(t[2].words, ["rna", "seq"]);
        // An unknown field is free text.
        assert_eq!(t[3].field, None);
        assert_eq!(t[3].words, ["http", "x"]);
    }

    #[test]
    fn same_field_ors_and_different_fields_and() {
        let free = vec!["Hello results".to_owned()];
        let field = |f: &str| match f {
            "name" => vec!["Hello results".to_owned()],
            "tag" => vec!["input".to_owned()],
            _ => vec![],
        };
        let q = |s: &str| query_matches(&parse_query(s, DATA_ASSET_FIELDS), &free, field);
        assert!(q("name:hello name:nothing"));
        assert!(!q("name:hello tag:nothing"));
        assert!(q("name:hello tag:INPUT"));
        assert!(q(r#""hello results""#));
        assert!(!q(r#""results hello""#));
        // Whole words only: no wildcards, no substrings.
        assert!(!q("hell"));
        assert!(q(""));
    }

    #[test]
    fn tokens_carry_the_offset_and_refuse_another_search() {
        let a = types::DataAssetSearchRequest {
            query: Some("x".into()),
            ..Default::default()
        };
        let fp = fingerprint("data_assets", &a);
        let t = token(300, fp);
        let p = paging("data_assets", &a, Some(&t), Some(5), Some(100)).unwrap();
        assert_eq!((p.offset, p.limit), (300, 100));
        let b = types::DataAssetSearchRequest::default();
        let e = paging("data_assets", &b, Some(&t), None, None)
            .err()
            .unwrap();
        assert!(e.1.starts_with("next_token"), "{}", e.1);
        for (offset, limit, field) in [
            (Some(-1), None, "offset"),
            (None, Some(0), "limit"),
            (None, Some(1001), "limit"),
        ] {
            let e = paging("data_assets", &b, None, offset, limit)
                .err()
                .unwrap();
            assert!(e.1.starts_with(field), "{}", e.1);
        }
        assert!(paging("data_assets", &b, Some("!!"), None, None).is_err());
    }

    #[test]
    fn pages_say_has_more_exactly_when_items_follow() {
        let p = |offset, limit| Paging {
            offset,
            limit,
            fingerprint: 1,
        };
        let (r, more, next) = page((0..250).collect::<Vec<_>>(), &p(200, 50), false);
        assert_eq!((r.len(), more, next), (50, false, None));
        let (r, more, next) = page((0..250).collect::<Vec<_>>(), &p(100, 100), false);
        assert_eq!((r[0], r.len(), more), (100, 100, true));
        assert_eq!(next, Some(token(200, 1)));
        let (r, more, _) = page((0..250).collect::<Vec<_>>(), &p(300, 100), false);
        assert!(r.is_empty() && !more);
        let (r, more, next) = page((0..250).collect::<Vec<_>>(), &p(300, 100), true);
        assert!(r.is_empty() && more);
        assert_eq!(next, Some(token(300, 1)));
    }
}
