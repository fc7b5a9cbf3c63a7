//! Trees: a computation's results or a data asset's files. Paths as the API takes them, folder
//! listings, and the signed URLs of their files (the one place that names the storage origin's
//! URL kinds and signs object keys; `storage.rs` checks them).

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::{Path, State};
use codeocean_raw::open::ResultItemType;
use codeocean_raw::types;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use crate::catalogue::{Entry, Flat};
use crate::faults::FaultPlan;
use crate::http::{ApiError, ApiResult, Q, query};
use crate::state::{self, unix_now};

/// The kind of a result file's download URL.
pub(crate) const RESULTS: &str = "results";
/// The kind of a result file's view URL.
pub(crate) const RESULTS_VIEW: &str = "view";
/// The kind of a data asset file's download URL.
pub(crate) const DATA: &str = "data";
/// The kind of a data asset file's view URL.
pub(crate) const DATA_VIEW: &str = "data-view";

/// A result path as the API takes it: relative to `/results`, `""` for the root; a leading or
/// trailing `/` is tolerated.
pub(crate) fn normalize(path: &str) -> &str {
    path.trim_matches('/')
}

/// The entries directly inside the folder at `path` of a tree, or `None` when it is not a
/// folder of the tree.
pub(crate) fn folder_items(flat: &Flat, path: &str) -> Option<Vec<types::ResultItem>> {
    let Some(Entry::Folder(children)) = flat.entries.get(path) else {
        return None;
    };
    let items = children
        .iter()
        .map(|child| {
            let name = child.rsplit('/').next().unwrap_or(child).to_owned();
            match &flat.entries[child] {
                Entry::File(size) => types::ResultItem {
                    name,
                    path: child.clone(),
                    size: Some(*size as i64),
                    type_: ResultItemType::File,
                },
                Entry::Folder(_) => types::ResultItem {
                    name,
                    path: child.clone(),
                    size: None,
                    type_: ResultItemType::Folder,
                },
            }
        })
        .collect();
    Some(items)
}

/// The entries directly inside the folder at `path` of a data asset's files, or `None` when it
/// is not one of their folders.
pub(crate) fn asset_items(files: &state::AssetFiles, path: &str) -> Option<Vec<types::ResultItem>> {
    let items = files
        .folder(path)?
        .into_iter()
        .map(|(path, size)| types::ResultItem {
            name: path.rsplit('/').next().unwrap_or(&path).to_owned(),
            size: size.map(|s| s as i64),
            type_: if size.is_some() {
                ResultItemType::File
            } else {
                ResultItemType::Folder
            },
            path,
        })
        .collect();
    Some(items)
}

/// A tree whose files have signed URLs.
pub(crate) trait Tree {
    /// The kind of a file's download URL (the first segment of its object key).
    const DOWNLOAD: &'static str;
    /// The kind of a file's view URL.
    const VIEW: &'static str;
    /// Whether `path` is a file the tree `id` serves now; an error when there is no such tree
    /// or it serves no files.
    fn has_file(st: &state::State, id: &str, path: &str) -> ApiResult<bool>;
    /// The tree `id` in a message, e.g. `the results of computation {id}`.
    fn describe(id: &str) -> String;
}

/// Signed URLs for the file `?path=` of the tree `id`: (download, view).
fn signed_urls<T: Tree>(
    st: &state::State,
    id: &str,
    q: Q,
    plan: Option<FaultPlan>,
) -> ApiResult<(String, String)> {
    let q = query(q)?;
    let raw = q
        .get("path")
        .ok_or_else(|| ApiError::bad_request("path: the `path` query parameter is required"))?;
    let path = normalize(raw);
    if !T::has_file(st, id, path)? {
        return Err(ApiError::not_found(format!(
            "file `{path}` not found in {}",
            T::describe(id)
        )));
    }
    let expired = plan.is_some_and(|p| p.expire);
    let ttl = st.dynamic.read().unwrap().url_ttl;
    Ok((
        sign_url(st, T::DOWNLOAD, id, path, ttl, expired),
        sign_url(st, T::VIEW, id, path, ttl, expired),
    ))
}

/// `GET .../urls`: a file's download and view URLs.
pub(crate) async fn urls<T: Tree>(
    State(st): State<Arc<state::State>>,
    Path(id): Path<String>,
    plan: Option<axum::Extension<FaultPlan>>,
    q: Q,
) -> ApiResult<Json<types::ResultFileUrls>> {
    let (download_url, view_url) = signed_urls::<T>(&st, &id, q, plan.map(|p| p.0))?;
    Ok(Json(types::ResultFileUrls {
        download_url,
        view_url,
    }))
}

/// `GET .../download_url`: a file's download URL (servers before 4.0).
pub(crate) async fn download_url<T: Tree>(
    State(st): State<Arc<state::State>>,
    Path(id): Path<String>,
    plan: Option<axum::Extension<FaultPlan>>,
    q: Q,
) -> ApiResult<Json<types::ResultFileDownloadUrl>> {
    let (url, _) = signed_urls::<T>(&st, &id, q, plan.map(|p| p.0))?;
    Ok(Json(types::ResultFileDownloadUrl { url }))
}

/// Characters left as they are in a path segment (RFC 3986 unreserved).
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Builds a signed URL for the object `{kind}/{owner}/{path}` of the storage origin.
fn sign_url(
    st: &state::State,
    kind: &str,
    owner: &str,
    path: &str,
    ttl: Duration,
    expired: bool,
) -> String {
    let date = if expired {
        unix_now().saturating_sub(ttl.as_secs() + 60)
    } else {
        unix_now()
    };
    let expires = ttl.as_secs();
    let key = format!("{kind}/{owner}/{path}");
    let signature = st.sign(&key, date + expires);
    let encoded: Vec<String> = key
        .split('/')
        .map(|s| utf8_percent_encode(s, SEGMENT).to_string())
        .collect();
    format!(
        "{}/{}?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date={date}&X-Amz-Expires={expires}&X-Amz-Signature={signature}",
        st.storage_origin.read().unwrap(),
        encoded.join("/")
    )
}
