//! The data-asset operations: create (from any source, see [`crate::sources`]), get, update,
//! delete, archive, permissions, file listings (signed file URLs through [`crate::tree`]),
//! transfer; the custom metadata schema; and many assets at once (admin).
//!
//! An asset's files are a tree like a computation's results (a built-in asset's from the
//! catalogue, a result asset's from its computation re-rooted at `source.computation.path`, a
//! bucket asset's from the bucket's objects re-rooted at the prefix, a cloud workstation
//! asset's from the session's folder; a combined asset's a folder per part, named by the
//! part's mount), listed one folder at a time and served by the storage origin under
//! `data/{asset}/{path}`. A draft or failed asset lists an empty root; an asset whose files were
//! transferred to another bucket has no files in Code Ocean to list, while one kept on external
//! storage lists and serves its bucket's objects.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use codeocean_raw::open::{
    CustomMetadataFieldType, CustomMetadataValue, DataAssetOrigin, DataAssetState, DataAssetType,
    EveryoneRole, GroupRole, UserRole,
};
use codeocean_raw::types;
use serde_json::Value;

use crate::http::{ApiError, ApiResult, Q, St, parse_body, query};
use crate::sources;
use crate::state::{self, Asset, AssetFiles, OWNER, OWNER_EMAIL, Transfer};
use crate::tree::{self, asset_items, normalize};

/// Simulated seconds a transfer of an asset's files takes.
pub(crate) const TRANSFER_TAKES: f64 = 3.0;

fn not_found(id: &str) -> ApiError {
    ApiError::not_found(format!("data asset {id} not found"))
}

/// Runs `f` on the data asset `id` (404 when there is none).
pub(crate) fn with_asset<T>(
    st: &state::State,
    id: &str,
    f: impl FnOnce(&mut state::Asset) -> ApiResult<T>,
) -> ApiResult<T> {
    let mut assets = st.assets.lock().unwrap();
    f(assets.get_mut(id).ok_or_else(|| not_found(id))?)
}

/// The `archive` query parameter: `true` or `false`, in any case (the official SDK writes
/// Python's `True` and `False`).
pub(crate) fn archive_flag(q: Q) -> ApiResult<bool> {
    let q = query(q)?;
    let v = q.get("archive").ok_or_else(|| {
        ApiError::bad_request("archive: the `archive` query parameter is required")
    })?;
    match v.to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(ApiError::bad_request(format!(
            "archive: `{v}` is not true or false"
        ))),
    }
}

// --- Create, get, update ----------------------------------------------------------------

/// Refuses custom metadata values that are neither strings nor numbers, naming the key.
pub(crate) fn check_metadata(m: &Option<types::CustomMetadata>) -> ApiResult<()> {
    for (k, v) in m.iter().flat_map(|m| m.iter()) {
        if matches!(v, CustomMetadataValue::Other(_)) {
            return Err(ApiError::bad_request(format!(
                "custom_metadata.{k}: values must be strings or numbers"
            )));
        }
    }
    Ok(())
}

/// `POST /data_assets`: a data asset made from its source (see [`crate::sources`]) or, with
/// `data_asset_ids`, combined from other data assets; ready after the asset delay.
pub(crate) async fn create_data_asset(
    State(st): St,
    body: Bytes,
) -> ApiResult<Json<types::DataAsset>> {
    let (req, _): (types::CreateDataAssetRequest, _) =
        parse_body(&body).map_err(hide_client_secret)?;
    for (field, value) in [("name", &req.name), ("mount", &req.mount)] {
        if value.trim().is_empty() {
            return Err(ApiError::bad_request(format!("{field}: must not be empty")));
        }
    }
    check_metadata(&req.custom_metadata)?;
    let made = sources::resolve(&st, &req)?;
    let now = st.clock.now();
    let (files, size) = made.files.totals();
    let id = st.new_id();
    let wire = types::DataAsset {
        id: id.clone(),
        name: Some(req.name),
        description: Some(req.description.unwrap_or_default()),
        mount: Some(req.mount),
        tags: req.tags,
        custom_metadata: req.custom_metadata,
        owner: Some(OWNER.into()),
        owner_email: Some(OWNER_EMAIL.into()),
        files: Some(files as i64),
        size: Some(size as i64),
        type_: Some(made.type_),
        provenance: made.provenance,
        source_bucket: Some(made.source_bucket),
        contained_data_assets: made.contained,
        nextflow_profile: made.nextflow_profile,
        app_parameters: made.app_parameters,
        ..state::empty_asset()
    };
    let settles_at = now + st.asset_delay;
    sources::record_target(
        &st,
        req.target.as_ref(),
        &made.files,
        settles_at,
        made.fails.is_some(),
    );
    let asset = Asset::new(wire, now, settles_at, made.fails, Some(made.files));
    let out = asset.to_wire(&st.clock);
    st.assets.lock().unwrap().insert(id, asset);
    Ok(Json(out))
}

/// A body error about a GCS client secret names the field only: serde's message may quote the
/// value it could not read.
fn hide_client_secret(e: ApiError) -> ApiError {
    if e.1.contains("client_secret") {
        ApiError::bad_request(
            "invalid request body: field `source.gcp.client_secret`: expected a string",
        )
    } else {
        e
    }
}

/// `GET /data_assets/{id}`.
pub(crate) async fn get_data_asset(
    State(st): St,
    Path(id): Path<String>,
) -> ApiResult<Json<types::DataAsset>> {
    let assets = st.assets.lock().unwrap();
    let a = assets
        .get(&id)
        .ok_or_else(|| ApiError::not_found(format!("data asset {id} not found")))?;
    Ok(Json(a.to_wire(&st.clock)))
}

/// `PUT /data_assets/{id}`: changes the fields given.
pub(crate) async fn update_data_asset(
    State(st): St,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Json<types::DataAsset>> {
    let (req, _): (types::UpdateDataAssetRequest, Value) = parse_body(&body)?;
    check_metadata(&req.custom_metadata)?;
    for (field, value) in [("name", &req.name), ("mount", &req.mount)] {
        if value.as_ref().is_some_and(|v| v.trim().is_empty()) {
            return Err(ApiError::bad_request(format!("{field}: must not be empty")));
        }
    }
    let mut assets = st.assets.lock().unwrap();
    let a = assets
        .get_mut(&id)
        .ok_or_else(|| ApiError::not_found(format!("data asset {id} not found")))?;
    let w = &mut a.wire;
    if let Some(v) = req.name {
        w.name = Some(v);
    }
    if let Some(v) = req.description {
        w.description = Some(v);
    }
    if let Some(v) = req.mount {
        w.mount = Some(v);
    }
    if let Some(v) = req.tags {
        w.tags = v;
    }
    if let Some(v) = req.custom_metadata {
        w.custom_metadata = Some(v);
    }
    Ok(Json(a.to_wire(&st.clock)))
}

// --- Permissions (shared with capsules and pipelines) -------------------------------------

/// Refuses roles the simulator does not know, naming the place.
pub(crate) fn check_permissions(p: &types::Permissions) -> ApiResult<()> {
    for (i, u) in p.users.iter().flatten().enumerate() {
        if u.role.is_unknown() {
            return Err(ApiError::bad_request(format!(
                "users[{i}].role: unknown role `{}` (one of {})",
                u.role,
                UserRole::KNOWN.join(", ")
            )));
        }
        if u.email.eq_ignore_ascii_case(OWNER_EMAIL) && u.role != UserRole::Owner {
            return Err(ApiError::bad_request(format!(
                "users[{i}].role: the owner ({OWNER_EMAIL}) stays owner"
            )));
        }
    }
    for (i, g) in p.groups.iter().flatten().enumerate() {
        if g.role.is_unknown() {
            return Err(ApiError::bad_request(format!(
                "groups[{i}].role: unknown role `{}` (one of {})",
                g.role,
                GroupRole::KNOWN.join(", ")
            )));
        }
    }
    if let Some(e) = &p.everyone
        && e.is_unknown()
    {
        return Err(ApiError::bad_request(format!(
            "everyone: unknown role `{e}` (one of {})",
            EveryoneRole::KNOWN.join(", ")
        )));
    }
    Ok(())
}

/// Applies an update: each list given replaces the old one (the owner always stays, first), and
/// `everyone` replaces the old value when given. A later entry for the same user or group wins.
pub(crate) fn apply_permissions(cur: &mut types::Permissions, new: &types::Permissions) {
    if let Some(users) = &new.users {
        let mut out = vec![types::UserPermissions {
            email: OWNER_EMAIL.into(),
            role: UserRole::Owner,
        }];
        for u in users {
            if u.email.eq_ignore_ascii_case(OWNER_EMAIL) {
                continue;
            }
            out.retain(|o| !o.email.eq_ignore_ascii_case(&u.email));
            out.push(u.clone());
        }
        cur.users = Some(out);
    }
    if let Some(groups) = &new.groups {
        let mut out: Vec<types::GroupPermissions> = Vec::new();
        for g in groups {
            out.retain(|o| o.group != g.group);
            out.push(g.clone());
        }
        cur.groups = Some(out);
    }
    if let Some(e) = &new.everyone {
        cur.everyone = Some(e.clone());
    }
}

/// Shares with the users and groups of `with` (as viewers) what is not shared with them yet.
pub(crate) fn share(cur: &mut types::Permissions, with: &types::Permissions) {
    let users = cur.users.get_or_insert_with(Vec::new);
    for u in with.users.iter().flatten() {
        if !users.iter().any(|o| o.email.eq_ignore_ascii_case(&u.email)) {
            users.push(types::UserPermissions {
                email: u.email.clone(),
                role: UserRole::Viewer,
            });
        }
    }
    let groups = cur.groups.get_or_insert_with(Vec::new);
    for g in with.groups.iter().flatten() {
        if !groups.iter().any(|o| o.group == g.group) {
            groups.push(types::GroupPermissions {
                group: g.group.clone(),
                role: GroupRole::Viewer,
            });
        }
    }
}

/// `GET /data_assets/{id}/permissions`.
pub(crate) async fn permissions(
    State(st): St,
    Path(id): Path<String>,
) -> ApiResult<Json<types::Permissions>> {
    with_asset(&st, &id, |a| Ok(Json(a.permissions.clone())))
}

/// `POST /data_assets/{id}/permissions`.
pub(crate) async fn update_permissions(
    State(st): St,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<StatusCode> {
    let (p, _): (types::Permissions, _) = parse_body(&body)?;
    check_permissions(&p)?;
    with_asset(&st, &id, |a| {
        apply_permissions(&mut a.permissions, &p);
        Ok(StatusCode::NO_CONTENT)
    })
}

// --- Delete, archive, transfer ------------------------------------------------------------

/// `DELETE /data_assets/{id}` (it is detached from every capsule and pipeline).
pub(crate) async fn delete_data_asset(
    State(st): St,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    st.assets
        .lock()
        .unwrap()
        .remove(&id)
        .ok_or_else(|| not_found(&id))?;
    // It is no longer attached anywhere.
    for item in st.items.lock().unwrap().values_mut() {
        item.attached.retain(|(a, _)| *a != id);
    }
    Ok(StatusCode::NO_CONTENT)
}

/// `PATCH /data_assets/{id}/archive?archive=`.
pub(crate) async fn archive_data_asset(
    State(st): St,
    Path(id): Path<String>,
    q: Q,
) -> ApiResult<StatusCode> {
    let archive = archive_flag(q)?;
    with_asset(&st, &id, |a| {
        a.archived = archive;
        Ok(StatusCode::NO_CONTENT)
    })
}

/// `POST /data_assets/{id}/transfer`: moves the files to an S3 bucket of the user's.
pub(crate) async fn transfer(
    State(st): St,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<StatusCode> {
    let (req, _): (types::TransferDataAssetRequest, _) = parse_body(&body)?;
    let aws = req
        .target
        .aws
        .as_ref()
        .ok_or_else(|| ApiError::bad_request("target.aws: an S3 target is required"))?;
    if aws.bucket.trim().is_empty() {
        return Err(ApiError::bad_request(
            "target.aws.bucket: must not be empty",
        ));
    }
    let released_users: Vec<String> = st
        .items
        .lock()
        .unwrap()
        .values()
        .filter(|item| {
            item.is_pipeline
                && item.attached.iter().any(|(a, _)| *a == id)
                && !item.versions(&st.clock).is_empty()
        })
        .map(|item| item.runnable.id.clone())
        .collect();
    let now = st.clock.now();
    let files = with_asset(&st, &id, |a| {
        if a.state(now) != DataAssetState::Ready {
            return Err(ApiError::bad_request(format!(
                "data asset {id} is not ready (state {})",
                a.state(now)
            )));
        }
        if !released_users.is_empty() && req.force != Some(true) {
            return Err(ApiError::bad_request(format!(
                "force: data asset {id} is used by released pipeline(s) {}; send force to transfer anyway",
                released_users.join(", ")
            )));
        }
        a.transfer = Some(Transfer {
            done_at: now + TRANSFER_TAKES,
            bucket: aws.bucket.clone(),
            prefix: aws.prefix.clone(),
        });
        Ok(a.files.clone())
    })?;
    // A bucket of the catalogue records what the transfer wrote.
    if let Some(files) = files {
        sources::record_write(
            &st,
            &aws.bucket,
            aws.prefix.as_deref(),
            &files,
            now + TRANSFER_TAKES,
            false,
        );
    }
    Ok(StatusCode::NO_CONTENT)
}

// --- Files --------------------------------------------------------------------------------

/// The asset's files if it can serve them: (files, listable). A draft or failed asset has none
/// yet (an empty root); an external one has none in Code Ocean (400).
fn files_of(st: &state::State, id: &str) -> ApiResult<(Option<AssetFiles>, bool)> {
    let now = st.clock.now();
    with_asset(st, id, |a| {
        if a.transferred(now) {
            return Err(ApiError::bad_request(format!(
                "data asset {id} is external: its files were transferred out of Code Ocean"
            )));
        }
        Ok((a.files.clone(), a.state(now) == DataAssetState::Ready))
    })
}

/// `POST /data_assets/{id}/files`: one folder of the files.
pub(crate) async fn list_files(
    State(st): St,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Json<types::ResultsFolder>> {
    let (req, _): (types::ListResultsRequest, _) = parse_body(&body)?;
    let path = normalize(&req.path);
    let (files, ready) = files_of(&st, &id)?;
    let missing = || ApiError::not_found(format!("folder `{path}` not found in data asset {id}"));
    match files {
        Some(files) if ready => asset_items(&files, path)
            .map(|items| Json(types::ResultsFolder { items }))
            .ok_or_else(missing),
        _ if path.is_empty() => Ok(Json(types::ResultsFolder { items: vec![] })),
        _ => Err(missing()),
    }
}

/// A data asset's files, as a tree with signed file URLs.
pub(crate) struct Files;

impl tree::Tree for Files {
    const DOWNLOAD: &'static str = tree::DATA;
    const VIEW: &'static str = tree::DATA_VIEW;

    fn has_file(st: &state::State, id: &str, path: &str) -> ApiResult<bool> {
        let (files, ready) = files_of(st, id)?;
        let is_file = files.as_ref().is_some_and(|f| f.is_file(path));
        Ok(ready && is_file)
    }

    fn describe(id: &str) -> String {
        format!("data asset {id}")
    }
}

// --- Custom metadata schema ---------------------------------------------------------------

/// The deployment's custom metadata schema: fixed, in the shape administrators define.
pub(crate) fn metadata_schema() -> types::CustomMetadataSchema {
    let field =
        |name: &str, type_: CustomMetadataFieldType, category: &str| types::CustomMetadataField {
            allowed_values: vec![],
            category: Some(category.into()),
            multiple: Some(false),
            name: name.into(),
            range: None,
            required: Some(false),
            type_: Some(type_),
            units: None,
        };
    let range = |min: f64, max: f64| {
        Some(types::CustomMetadataFieldRange {
            min: Some(min),
            max: Some(max),
        })
    };
    types::CustomMetadataSchema {
        categories: vec!["Project".into(), "Sample".into(), "Sequencing".into()],
        fields: vec![
            types::CustomMetadataField {
                required: Some(true),
                ..field("study", CustomMetadataFieldType::String, "Project")
            },
            types::CustomMetadataField {
                allowed_values: ["Homo sapiens", "Mus musculus", "Danio rerio"]
                    .into_iter()
                    .map(CustomMetadataValue::from)
                    .collect(),
                ..field("organism", CustomMetadataFieldType::String, "Sample")
            },
            types::CustomMetadataField {
                multiple: Some(true),
                ..field("tissue", CustomMetadataFieldType::String, "Sample")
            },
            types::CustomMetadataField {
                range: range(1.0, 100.0),
                ..field("replicate", CustomMetadataFieldType::Number, "Sample")
            },
            field("collection_date", CustomMetadataFieldType::Date, "Sample"),
            types::CustomMetadataField {
                range: range(36.0, 300.0),
                units: Some("bp".into()),
                ..field("read_length", CustomMetadataFieldType::Number, "Sequencing")
            },
        ],
    }
}

/// `GET /custom_metadata`.
pub(crate) async fn custom_metadata() -> Json<types::CustomMetadataSchema> {
    Json(metadata_schema())
}

// --- Many assets at once (admin) ----------------------------------------------------------

/// The most assets one bulk request makes.
pub(crate) const MAX_BULK: usize = 100_000;

/// Makes `count` ready datasets at once, for searches over many assets; their ids.
///
/// Asset `n` (counting on over calls) is named `{prefix} {n:05}` (prefix `Bulk dataset`), has
/// tags `bulk` and `group-{n % 10}`, type `model` when `n % 4 == 3` and `dataset` otherwise,
/// custom metadata `study: bulk` and `replicate: n % 10 + 1`, and `1 + n % 5` files of
/// `1024 * (1 + n % 97)` bytes. They were created one simulated second apart, the last one now.
pub(crate) fn add_bulk(st: &state::State, count: usize, prefix: Option<&str>) -> Vec<String> {
    use std::sync::atomic::Ordering;
    let prefix = prefix.unwrap_or("Bulk dataset");
    let first = st.bulk.fetch_add(count as u64, Ordering::Relaxed);
    let now = st.clock.now();
    let mut made = Vec::with_capacity(count);
    let mut new = Vec::with_capacity(count);
    for i in 0..count {
        let n = first + i as u64;
        let id = st.new_id();
        let tree = crate::catalogue::Tree {
            entries: vec![],
            generate: Some(crate::catalogue::Generated {
                depth: 0,
                folders: 0,
                files: 1 + (n % 5) as u32,
                size: 1024 * (1 + n % 97),
            }),
        };
        let flat = tree.flatten().expect("generated names are valid");
        let (files, size) = flat.totals();
        let metadata: std::collections::BTreeMap<String, CustomMetadataValue> = [
            ("study".to_owned(), CustomMetadataValue::from("bulk")),
            (
                "replicate".to_owned(),
                CustomMetadataValue::from(n % 10 + 1),
            ),
        ]
        .into_iter()
        .collect();
        let wire = types::DataAsset {
            id: id.clone(),
            name: Some(format!("{prefix} {n:05}")),
            description: Some(format!("Generated data asset number {n}.")),
            mount: Some(format!("bulk-{n:05}")),
            owner: Some(state::OWNER.into()),
            owner_email: Some(OWNER_EMAIL.into()),
            files: Some(files as i64),
            size: Some(size as i64),
            type_: Some(if n % 4 == 3 {
                DataAssetType::Model
            } else {
                DataAssetType::Dataset
            }),
            tags: vec!["bulk".into(), format!("group-{}", n % 10)],
            custom_metadata: Some(metadata.into()),
            source_bucket: Some(types::SourceBucket {
                origin: Some(DataAssetOrigin::Local),
                ..Default::default()
            }),
            ..state::empty_asset()
        };
        let created = now - (count - 1 - i) as f64;
        let files = AssetFiles::tree(Arc::new(flat), crate::content::file_seed(n, "bulk"));
        new.push((
            id.clone(),
            state::Asset::new(wire, created, created, None, Some(files)),
        ));
        made.push(id);
    }
    st.assets.lock().unwrap().extend(new);
    made
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_null_metadata_value_is_refused_not_taken_for_absent() {
        let (r, _) = parse_body::<types::UpdateDataAssetRequest>(
            br#"{"name": null, "custom_metadata": {"k": null, "n": 1}}"#,
        )
        .unwrap();
        assert_eq!(r.name, None);
        let metadata = r.custom_metadata.clone().unwrap();
        assert_eq!(metadata.keys().collect::<Vec<_>>(), ["k", "n"]);
        let e = check_metadata(&r.custom_metadata).unwrap_err();
        assert!(e.1.contains("custom_metadata.k"), "{}", e.1);
        let (r, _) =
            parse_body::<types::UpdateDataAssetRequest>(br#"{"custom_metadata": null}"#).unwrap();
        assert_eq!(r.custom_metadata, None);
    }
}
