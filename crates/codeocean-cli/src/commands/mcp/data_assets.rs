//! The data asset tools of `codeocean mcp` (the official server's `data_assets.py`): the
//! compact search, metadata, files (read capped in bytes), permissions, creating, updating,
//! waiting until ready (always bounded); and beyond it `download_data_asset`.

use codeocean::codeocean_raw::types;
use codeocean::{DataAssetUpdate, NewDataAsset, Tree};
use rmcp::handler::server::wrapper::Parameters;
use rmcp::service::RequestContext;
use rmcp::{RoleServer, tool, tool_router};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::apps::{CompactPage, limit_tags, truncate_description};
use super::{Server, ToolResult, call_client, file_read, gave_up, wait_bounds};

/// `search_data_assets`.
#[derive(Debug, Deserialize, JsonSchema)]
pub(super) struct SearchArgs {
    /// The search: `query` (free text and field:value terms, e.g. `name:RNA-seq tag:genomics`),
    /// `limit` (up to 1000, 100 by default), `offset`, or the `next_token` of the previous
    /// answer for the next page, `type`, `origin`, `ownership`, `sort_field`/`sort_order`,
    /// `favorite`, `archived`, `filters`.
    #[serde(default)]
    search_params: types::DataAssetSearchRequest,
    /// Add `field_names`, the full name of each short key, to the answer.
    #[serde(default)]
    include_field_names: bool,
}

/// Arguments naming a data asset.
#[derive(Debug, Deserialize, JsonSchema)]
pub(super) struct DataAssetIdArgs {
    /// The data asset's ID.
    data_asset_id: String,
}

/// Arguments naming a file of a data asset.
#[derive(Debug, Deserialize, JsonSchema)]
pub(super) struct FileArgs {
    /// The data asset's ID.
    data_asset_id: String,
    /// The file's path in the data asset (as list_data_asset_files gives it).
    file_path: String,
}

/// `list_data_asset_files`.
#[derive(Debug, Deserialize, JsonSchema)]
pub(super) struct ListArgs {
    /// The data asset's ID.
    data_asset_id: String,
    /// The folder to list ("" for the top).
    #[serde(default)]
    path: String,
}

/// `update_metadata`.
#[derive(Debug, Deserialize, JsonSchema)]
pub(super) struct UpdateArgs {
    /// The data asset's ID.
    data_asset_id: String,
    /// What to change: `name`, `description`, `tags`, `mount`, `custom_metadata` (each
    /// left as it is when absent).
    update_params: types::UpdateDataAssetRequest,
}

/// The data asset a wait is for: its `id` (any other field of a data asset object, as
/// create_data_asset answers it, is ignored).
#[derive(Debug, Deserialize, JsonSchema)]
pub(super) struct DataAssetRef {
    /// The data asset's ID.
    id: String,
}

/// `wait_until_ready`.
#[derive(Debug, Deserialize, JsonSchema)]
pub(super) struct WaitArgs {
    /// The data asset: the object create_data_asset answered, or just `{"id": "…"}`.
    data_asset: DataAssetRef,
    /// Seconds between polls (the server's setting when absent).
    #[serde(default)]
    polling_interval: Option<f64>,
    /// Seconds to wait at most (600 when absent; the wait always ends).
    #[serde(default)]
    timeout: Option<f64>,
}

/// `create_data_asset`.
#[derive(Debug, Deserialize, JsonSchema)]
pub(super) struct CreateArgs {
    /// The new data asset: `name`, `tags`, `mount`, `description`, and its `source`: one of
    /// `computation` ({id, path}: a computation's results), `aws` ({bucket, prefix, …}),
    /// `gcp`, `cloud_workstation`; or `data_asset_ids` for a combined one; `target`,
    /// `custom_metadata`, `results_info` as the API takes them.
    data_asset_params: types::CreateDataAssetRequest,
}

/// `download_data_asset`.
#[derive(Debug, Deserialize, JsonSchema)]
pub(super) struct DownloadArgs {
    /// The data asset's ID.
    data_asset_id: String,
    /// The folder to download into, inside the server's download folder (relative to it,
    /// or absolute under it); created if missing. Files already there complete are kept.
    folder: String,
}

/// A data asset search result in the official compact form.
#[derive(Debug, Serialize)]
struct CompactDataAsset {
    /// The data asset's id, whole.
    id: String,
    /// Name.
    n: String,
    /// Description, cut.
    d: Option<String>,
    /// Tags, limited.
    t: Vec<String>,
}

/// The library's update of a tool's `update_params`.
fn update_of(params: types::UpdateDataAssetRequest) -> DataAssetUpdate {
    let mut update = DataAssetUpdate::new();
    if let Some(name) = params.name {
        update = update.name(name);
    }
    if let Some(description) = params.description {
        update = update.description(description);
    }
    if let Some(mount) = params.mount {
        update = update.mount(mount);
    }
    if let Some(tags) = params.tags {
        update = update.tags(tags);
    }
    if let Some(metadata) = params.custom_metadata {
        update = update.replace_metadata(metadata.0);
    }
    update
}

#[tool_router(router = data_asset_tools, vis = "pub(super)")]
impl Server {
    /// Search data assets by free text and field:value terms (`query`), with type, origin,
    /// ownership, sort and paging (`limit`, then the answer's `next_token` for the next
    /// page). Answers in compact form: {items: [{id, n, d, t}], has_more, next_token,
    /// item_count}, where id=id, n=name, d=description (truncated), t=tags (limited); set
    /// include_field_names=true to add field_names with the full labels. Use
    /// get_data_asset(id) for full details.
    #[tool]
    async fn search_data_assets(
        &self,
        Parameters(args): Parameters<SearchArgs>,
        rc: RequestContext<RoleServer>,
    ) -> ToolResult {
        let call = call_client!(self, rc);
        match call
            .client
            .search_data_assets_page(&args.search_params)
            .await
        {
            Ok(page) => {
                let items = page
                    .results
                    .into_iter()
                    .map(|a| CompactDataAsset {
                        d: truncate_description(a.description.as_deref()),
                        t: limit_tags(&a.tags),
                        n: a.name.unwrap_or_default(),
                        id: a.id,
                    })
                    .collect();
                let names = args.include_field_names.then(|| {
                    serde_json::json!({"id": "id", "n": "name", "d": "description", "t": "tags"})
                });
                call.json(&CompactPage::new(
                    items,
                    page.has_more,
                    page.next_token,
                    names,
                ))
            }
            Err(e) => call.error(&e),
        }
    }

    /// Get full details for a data asset by ID: state (draft, ready, failed), type, size,
    /// files, source, tags, custom metadata. Use after the compact search to retrieve
    /// complete metadata.
    #[tool]
    async fn get_data_asset(
        &self,
        Parameters(DataAssetIdArgs { data_asset_id }): Parameters<DataAssetIdArgs>,
        rc: RequestContext<RoleServer>,
    ) -> ToolResult {
        let call = call_client!(self, rc);
        let r = call.client.get_data_asset(&data_asset_id).await;
        call.answer(r)
    }

    /// Get signed view and download URLs for one file of a data asset. Call only when the
    /// data asset is already created and in a ready state; if it may not be ready yet, first
    /// use `wait_until_ready`. The URLs are credentials for that file; prefer
    /// download_data_asset to fetch files.
    #[tool]
    async fn get_data_asset_file_urls(
        &self,
        Parameters(FileArgs {
            data_asset_id,
            file_path,
        }): Parameters<FileArgs>,
        rc: RequestContext<RoleServer>,
    ) -> ToolResult {
        let call = call_client!(self, rc);
        let r = call
            .client
            .data_asset_file_urls(&data_asset_id, &file_path)
            .await;
        call.urls(r)
    }

    /// Use when you want to read the content of a file from a data asset: answers its
    /// text, at most the server's byte limit (--max-read-bytes); a longer file is cut and a
    /// second block says "truncated" (structured: `truncated`: true). For the whole file,
    /// use download_data_asset.
    #[tool]
    async fn download_and_read_a_file_from_data_asset(
        &self,
        Parameters(FileArgs {
            data_asset_id,
            file_path,
        }): Parameters<FileArgs>,
        rc: RequestContext<RoleServer>,
    ) -> ToolResult {
        let call = call_client!(self, rc);
        let cap = self.shared.max_read_bytes;
        let tree = Tree::DataAsset(data_asset_id);
        match call.client.read_tree_file(&tree, &file_path, cap).await {
            Ok(head) => file_read(&call, head, cap),
            Err(e) => call.error(&e),
        }
    }

    /// Get the users, groups and everyone-role permissions of a data asset.
    #[tool]
    async fn get_data_asset_permissions(
        &self,
        Parameters(DataAssetIdArgs { data_asset_id }): Parameters<DataAssetIdArgs>,
        rc: RequestContext<RoleServer>,
    ) -> ToolResult {
        let call = call_client!(self, rc);
        let r = call.client.get_data_asset_permissions(&data_asset_id).await;
        call.answer(r)
    }

    /// List one folder of a data asset's files ("" for the top): each item's path, name,
    /// type (file or folder) and size.
    #[tool]
    async fn list_data_asset_files(
        &self,
        Parameters(ListArgs {
            data_asset_id,
            path,
        }): Parameters<ListArgs>,
        rc: RequestContext<RoleServer>,
    ) -> ToolResult {
        let call = call_client!(self, rc);
        match call
            .client
            .list_data_asset_files(&data_asset_id, &path)
            .await
        {
            Ok(items) => call.json(&serde_json::json!({ "items": items })),
            Err(e) => call.error(&e),
        }
    }

    /// Update a data asset's metadata: name, description, tags, mount, custom_metadata
    /// (each left as it is when absent). Answers the data asset as updated.
    #[tool]
    async fn update_metadata(
        &self,
        Parameters(UpdateArgs {
            data_asset_id,
            update_params,
        }): Parameters<UpdateArgs>,
        rc: RequestContext<RoleServer>,
    ) -> ToolResult {
        let call = call_client!(self, rc);
        let r = call
            .client
            .update_data_asset(&data_asset_id, &update_of(update_params))
            .await;
        call.answer(r)
    }

    /// Wait until a data asset is ready, before using it (downloading its files, running
    /// with it), and answer it; an asset whose creation failed is an error with the reason.
    /// Pass the object create_data_asset answered (or {"id": "..."}). The wait always ends:
    /// `timeout` (seconds) is 600 unless set; when it passes, the answer is an error saying
    /// it is still being made, and calling this again keeps waiting. You can set
    /// `polling_interval` (seconds between polls).
    #[tool]
    async fn wait_until_ready(
        &self,
        Parameters(args): Parameters<WaitArgs>,
        rc: RequestContext<RoleServer>,
    ) -> ToolResult {
        let call = call_client!(self, rc);
        let (timeout, poll) = match wait_bounds(args.timeout, args.polling_interval) {
            Ok(b) => b,
            Err(e) => return Ok(call.error_line(e)),
        };
        let id = &args.data_asset.id;
        let mut wait = call.client.wait_for_data_asset(id).timeout(timeout);
        if args.polling_interval.is_some() {
            wait = wait.poll_policy(poll);
        }
        match wait.await {
            Ok(asset) => call.json(&asset),
            Err(e) if e.is_wait_timeout() => {
                Ok(call.error_line(gave_up(&e, &format!("data asset {id}"), "wait_until_ready")))
            }
            Err(e) => call.error(&e),
        }
    }

    /// Create a data asset: from a computation's results (source.computation {id, path}),
    /// from S3 (source.aws) or Google Cloud Storage (source.gcp), from a cloud workstation,
    /// or combined from data_asset_ids; name, tags and mount are required. Answers the new
    /// data asset while it is still being made (state draft): call wait_until_ready with it
    /// before using it. It is then at /data-assets/<id> on the deployment.
    #[tool]
    async fn create_data_asset(
        &self,
        Parameters(CreateArgs { data_asset_params }): Parameters<CreateArgs>,
        rc: RequestContext<RoleServer>,
    ) -> ToolResult {
        let call = call_client!(self, rc);
        let r = call
            .client
            .create_data_asset(&NewDataAsset::from(data_asset_params))
            .await;
        call.answer(r)
    }

    /// Download all files of a data asset into a local folder (inside the server's
    /// download folder), resuming: files already there complete are kept. Answers the
    /// summary: downloaded, skipped, bytes, failed (each path with its error). Call once the
    /// data asset is ready (wait_until_ready).
    #[tool]
    async fn download_data_asset(
        &self,
        Parameters(DownloadArgs {
            data_asset_id,
            folder,
        }): Parameters<DownloadArgs>,
        rc: RequestContext<RoleServer>,
    ) -> ToolResult {
        let call = call_client!(self, rc);
        self.download(&call, Tree::DataAsset(data_asset_id), &folder, &rc)
            .await
    }
}
