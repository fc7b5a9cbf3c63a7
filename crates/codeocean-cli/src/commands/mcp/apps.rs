//! The capsule and pipeline tools of `codeocean mcp` (the official server's `capsules.py`,
//! with its `custom_metadata.py`): searches in the official compact form, metadata, app
//! panels, permissions, attachments, sync and releases.

use codeocean::codeocean_raw::types;
use codeocean::{App, Attachments};
use rmcp::handler::server::wrapper::Parameters;
use rmcp::service::RequestContext;
use rmcp::{RoleServer, tool, tool_router};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Server, ToolResult, call_client, gave_up, wait_bounds};

/// A description longer than this is cut at a word (the official server's limit).
const MAX_DESCRIPTION_CHARS: usize = 200;
/// Tags kept per search result, the last one saying more were left out.
const MAX_TAGS: usize = 10;
/// What ends a cut description.
const TRUNCATION_SUFFIX: &str = "...(more)";
/// The last tag kept when more were left out.
const TAGS_TRUNCATION_MARKER: &str = "..more..";

/// `search_capsules` and `search_pipelines`: the search and whether to name the short keys.
#[derive(Debug, Deserialize, JsonSchema)]
pub(super) struct AppSearchArgs {
    /// The search: `query` (free text and field:value terms, e.g. `name:RNA-seq tag:genomics`),
    /// `limit` (up to 1000, 100 by default), `offset`, or the `next_token` of the previous
    /// answer for the next page, `ownership`, `status`, `sort_field`/`sort_order`,
    /// `favorite`, `archived`, `filters`.
    #[serde(default)]
    search_params: types::CapsuleSearchRequest,
    /// Add `field_names`, the full name of each short key, to the answer.
    #[serde(default)]
    include_field_names: bool,
}

/// Arguments naming a capsule (or a pipeline).
#[derive(Debug, Deserialize, JsonSchema)]
pub(super) struct CapsuleIdArgs {
    /// The capsule's (or pipeline's) ID.
    capsule_id: String,
}

/// `get_capsule_app_panel`.
#[derive(Debug, Deserialize, JsonSchema)]
pub(super) struct AppPanelArgs {
    /// The capsule's (or pipeline's) ID.
    capsule_id: String,
    /// A released version's number; the current one when absent.
    #[serde(default)]
    version: Option<i64>,
}

/// One data asset to attach.
#[derive(Debug, Deserialize, JsonSchema)]
pub(super) struct AttachParam {
    /// Data asset ID to attach.
    id: String,
    /// Mount folder under /data (the data asset's default when absent).
    #[serde(default)]
    mount: Option<String>,
}

/// `attach_data_assets`.
#[derive(Debug, Deserialize, JsonSchema)]
pub(super) struct AttachArgs {
    /// The capsule's (or pipeline's) ID.
    capsule_id: String,
    /// The data assets: a list of objects (`[{"id": "…", "mount": "…"}]`), not of IDs.
    attach_params: Vec<AttachParam>,
}

/// `detach_data_assets`.
#[derive(Debug, Deserialize, JsonSchema)]
pub(super) struct DetachArgs {
    /// The capsule's (or pipeline's) ID.
    capsule_id: String,
    /// The IDs of the data assets to detach.
    data_assets: Vec<String>,
}

/// `get_release_job`.
#[derive(Debug, Deserialize, JsonSchema)]
pub(super) struct ReleaseJobArgs {
    /// The capsule's (or pipeline's) ID.
    capsule_id: String,
    /// The release job's ID (from release_capsule).
    job_id: String,
}

/// `wait_until_release_completed`.
#[derive(Debug, Deserialize, JsonSchema)]
pub(super) struct WaitReleaseArgs {
    /// The capsule's (or pipeline's) ID.
    capsule_id: String,
    /// The release job's ID (from release_capsule).
    job_id: String,
    /// Seconds between polls (5 when absent).
    #[serde(default)]
    polling_interval: Option<f64>,
    /// Seconds to wait at most (600 when absent; the wait always ends).
    #[serde(default)]
    timeout: Option<f64>,
}

/// `get_custom_metadata`: no arguments.
#[derive(Debug, Deserialize, JsonSchema)]
pub(super) struct NoArgs {}

/// A search result in the official compact form.
#[derive(Debug, Serialize)]
struct CompactApp {
    /// The capsule's (or pipeline's) id, whole.
    id: String,
    /// Name.
    n: String,
    /// Slug.
    s: String,
    /// Description, cut at [`MAX_DESCRIPTION_CHARS`].
    d: Option<String>,
    /// Tags, at most [`MAX_TAGS`].
    t: Vec<String>,
}

/// A compact search answer: one page, its `has_more` and `next_token`.
#[derive(Debug, Serialize)]
pub(super) struct CompactPage<T> {
    /// The page's results, compact.
    items: Vec<T>,
    /// Whether more results follow.
    has_more: bool,
    /// What to pass as `next_token` for the next page.
    next_token: Option<String>,
    /// How many results this page holds.
    item_count: usize,
    /// The full name of each short key, when asked for (`include_field_names`).
    field_names: Option<serde_json::Value>,
}

impl<T> CompactPage<T> {
    /// A page of these items, with the full names of the keys when asked for.
    pub(super) fn new(
        items: Vec<T>,
        has_more: bool,
        next_token: Option<String>,
        field_names: Option<serde_json::Value>,
    ) -> Self {
        Self {
            item_count: items.len(),
            items,
            has_more,
            next_token,
            field_names,
        }
    }
}

/// A description as the official compact form has it: runs of three or more blanks made
/// one space, trimmed, and when longer than [`MAX_DESCRIPTION_CHARS`] cut at a word (when
/// one ends in the second half) and ended with [`TRUNCATION_SUFFIX`]; `None` when empty.
pub(super) fn truncate_description(description: Option<&str>) -> Option<String> {
    let mut normalized = String::new();
    let mut blanks = String::new();
    for c in description?.chars() {
        if c.is_whitespace() {
            blanks.push(c);
            continue;
        }
        if blanks.chars().count() >= 3 {
            normalized.push(' ');
        } else {
            normalized.push_str(&blanks);
        }
        blanks.clear();
        normalized.push(c);
    }
    let normalized = normalized.trim();
    if normalized.is_empty() {
        return None;
    }
    let chars: Vec<char> = normalized.chars().collect();
    if chars.len() <= MAX_DESCRIPTION_CHARS {
        return Some(normalized.to_owned());
    }
    let truncate_at = MAX_DESCRIPTION_CHARS - TRUNCATION_SUFFIX.len();
    let last_space = chars[..truncate_at].iter().rposition(|c| *c == ' ');
    let cut_at = match last_space {
        Some(i) if i > MAX_DESCRIPTION_CHARS / 2 => i,
        _ => truncate_at,
    };
    let kept: String = chars[..cut_at].iter().collect();
    Some(format!("{}{TRUNCATION_SUFFIX}", kept.trim_end()))
}

/// Tags as the official compact form has them: at most [`MAX_TAGS`], the last one
/// [`TAGS_TRUNCATION_MARKER`] when more were left out.
pub(super) fn limit_tags(tags: &[String]) -> Vec<String> {
    if tags.len() <= MAX_TAGS {
        return tags.to_vec();
    }
    let mut kept = tags[..MAX_TAGS - 1].to_vec();
    kept.push(TAGS_TRUNCATION_MARKER.to_owned());
    kept
}

/// The compact answer of a capsule or pipeline search page.
fn compact_apps(page: types::CapsuleSearchResults, names: bool) -> CompactPage<CompactApp> {
    let items = page
        .results
        .into_iter()
        .map(|c| CompactApp {
            d: truncate_description(c.description.as_deref()),
            t: limit_tags(&c.tags),
            n: c.name.unwrap_or_default(),
            s: c.slug.unwrap_or_default(),
            id: c.id,
        })
        .collect();
    let field_names = names.then(|| {
        serde_json::json!({"id": "id", "n": "name", "s": "slug", "d": "description", "t": "tags"})
    });
    CompactPage::new(items, page.has_more, page.next_token, field_names)
}

/// The attachments of a tool's `attach_params`.
pub(super) fn attachments(params: Vec<AttachParam>) -> Attachments {
    params.into_iter().fold(Attachments::new(), |a, p| {
        a.data_asset(p.id, p.mount.unwrap_or_default())
    })
}

#[tool_router(router = capsule_tools, vis = "pub(super)")]
impl Server {
    /// Search capsules by free text and field:value terms (`query`), with ownership, status,
    /// sort and paging (`limit`, then the answer's `next_token` for the next page). Answers
    /// in compact form: {items: [{id, n, s, d, t}], has_more, next_token, item_count}, where
    /// id=id, n=name, s=slug, d=description (truncated), t=tags (limited); set
    /// include_field_names=true to add field_names with the full labels. Use get_capsule(id)
    /// for full details, then run_capsule to run one.
    #[tool]
    async fn search_capsules(
        &self,
        Parameters(args): Parameters<AppSearchArgs>,
        rc: RequestContext<RoleServer>,
    ) -> ToolResult {
        self.search_apps(App::Capsule, args, &rc).await
    }

    /// Search pipelines by free text and field:value terms (`query`), with ownership, status,
    /// sort and paging (`limit`, then the answer's `next_token` for the next page). Answers
    /// in compact form: {items: [{id, n, s, d, t}], has_more, next_token, item_count}, where
    /// id=id, n=name, s=slug, d=description (truncated), t=tags (limited); set
    /// include_field_names=true to add field_names with the full labels. Use get_capsule(id)
    /// for full details, then run_capsule with pipeline_id to run one.
    #[tool]
    async fn search_pipelines(
        &self,
        Parameters(args): Parameters<AppSearchArgs>,
        rc: RequestContext<RoleServer>,
    ) -> ToolResult {
        self.search_apps(App::Pipeline, args, &rc).await
    }

    /// Get a capsule's (or pipeline's) metadata by its ID: name, description, owner, versions,
    /// tags. Use only to fetch metadata for a known ID; do not use for searching
    /// (search_capsules, search_pipelines).
    #[tool]
    async fn get_capsule(
        &self,
        Parameters(CapsuleIdArgs { capsule_id }): Parameters<CapsuleIdArgs>,
        rc: RequestContext<RoleServer>,
    ) -> ToolResult {
        let call = call_client!(self, rc);
        let r = call
            .capsule_or_pipeline(|c, app| {
                let id = capsule_id.clone();
                async move { c.get_app(app, &id).await }
            })
            .await;
        call.answer(r)
    }

    /// List a capsule's (or pipeline's) computations: each one's id, state, end_status and
    /// times. get_computation gives one; list_computation_results its files.
    #[tool]
    async fn list_computations(
        &self,
        Parameters(CapsuleIdArgs { capsule_id }): Parameters<CapsuleIdArgs>,
        rc: RequestContext<RoleServer>,
    ) -> ToolResult {
        let call = call_client!(self, rc);
        let r = call
            .capsule_or_pipeline(|c, app| {
                let id = capsule_id.clone();
                async move { c.list_app_computations(app, &id).await }
            })
            .await;
        call.answer(r)
    }

    /// Attach data assets to a capsule (or pipeline), each at its mount folder. Use when the
    /// capsule has no running cloud workstation; for an active cloud workstation session use
    /// attach_computation_data_assets instead. Accepts a list of parameter objects (e.g.
    /// [{"id": "..."}]), not just a list of IDs.
    #[tool]
    async fn attach_data_assets(
        &self,
        Parameters(AttachArgs {
            capsule_id,
            attach_params,
        }): Parameters<AttachArgs>,
        rc: RequestContext<RoleServer>,
    ) -> ToolResult {
        let call = call_client!(self, rc);
        let assets = attachments(attach_params);
        let r = call
            .capsule_or_pipeline(|c, app| {
                let (id, assets) = (capsule_id.clone(), assets.clone());
                async move { c.attach_app_data_assets(app, &id, &assets).await }
            })
            .await;
        call.answer(r)
    }

    /// Detach data assets (by ID) from a capsule (or pipeline). Use when the capsule has no
    /// running cloud workstation; for an active session use detach_computation_data_assets.
    #[tool]
    async fn detach_data_assets(
        &self,
        Parameters(DetachArgs {
            capsule_id,
            data_assets,
        }): Parameters<DetachArgs>,
        rc: RequestContext<RoleServer>,
    ) -> ToolResult {
        let call = call_client!(self, rc);
        let r = call
            .capsule_or_pipeline(|c, app| {
                let (id, ids) = (capsule_id.clone(), data_assets.clone());
                async move { c.detach_app_data_assets(app, &id, &ids).await }
            })
            .await;
        call.done(r, "detached")
    }

    /// Get a capsule's (or pipeline's) app panel: its parameters (names, types, defaults)
    /// and data asset slots, optionally of a released version. Read it before run_capsule
    /// to know which parameters and named_parameters to pass.
    #[tool]
    async fn get_capsule_app_panel(
        &self,
        Parameters(AppPanelArgs {
            capsule_id,
            version,
        }): Parameters<AppPanelArgs>,
        rc: RequestContext<RoleServer>,
    ) -> ToolResult {
        let call = call_client!(self, rc);
        let r = call
            .capsule_or_pipeline(|c, app| {
                let id = capsule_id.clone();
                async move { c.app_panel(app, &id, version).await }
            })
            .await;
        call.answer(r)
    }

    /// Get the users, groups and everyone-role permissions of a capsule or pipeline.
    /// Accepts a capsule ID or a pipeline ID.
    #[tool]
    async fn get_capsule_permissions(
        &self,
        Parameters(CapsuleIdArgs { capsule_id }): Parameters<CapsuleIdArgs>,
        rc: RequestContext<RoleServer>,
    ) -> ToolResult {
        let call = call_client!(self, rc);
        let r = call
            .capsule_or_pipeline(|c, app| {
                let id = capsule_id.clone();
                async move { c.get_app_permissions(app, &id).await }
            })
            .await;
        call.answer(r)
    }

    /// Sync a capsule or pipeline with its linked external Git repository. Accepts a capsule
    /// ID or a pipeline ID. This pushes and pulls commits against the external Git remote,
    /// so call it only when the user asked to sync.
    #[tool]
    async fn sync_capsule(
        &self,
        Parameters(CapsuleIdArgs { capsule_id }): Parameters<CapsuleIdArgs>,
        rc: RequestContext<RoleServer>,
    ) -> ToolResult {
        let call = call_client!(self, rc);
        let r = call
            .capsule_or_pipeline(|c, app| {
                let id = capsule_id.clone();
                async move { c.sync_app(app, &id).await }
            })
            .await;
        call.answer(r)
    }

    /// Start releasing a new version of an already-released capsule or pipeline; answers
    /// the release job (its id), to follow with get_release_job or
    /// wait_until_release_completed. Accepts a capsule ID or a pipeline ID.
    #[tool]
    async fn release_capsule(
        &self,
        Parameters(CapsuleIdArgs { capsule_id }): Parameters<CapsuleIdArgs>,
        rc: RequestContext<RoleServer>,
    ) -> ToolResult {
        let call = call_client!(self, rc);
        let r = call
            .capsule_or_pipeline(|c, app| {
                let id = capsule_id.clone();
                async move { c.release_app(app, &id).await }
            })
            .await;
        call.answer(r)
    }

    /// Get the status of a capsule or pipeline release job. Accepts a capsule ID or a
    /// pipeline ID.
    #[tool]
    async fn get_release_job(
        &self,
        Parameters(ReleaseJobArgs { capsule_id, job_id }): Parameters<ReleaseJobArgs>,
        rc: RequestContext<RoleServer>,
    ) -> ToolResult {
        let call = call_client!(self, rc);
        let r = call
            .capsule_or_pipeline(|c, app| {
                let (id, job) = (capsule_id.clone(), job_id.clone());
                async move {
                    match app {
                        App::Capsule => c.get_capsule_release_job(&id, &job).await,
                        App::Pipeline => c.get_pipeline_release_job(&id, &job).await,
                    }
                }
            })
            .await;
        call.answer(r)
    }

    /// Wait until a capsule or pipeline release job reaches a terminal state, and answer
    /// it. Accepts a capsule ID or a pipeline ID. The wait always ends: `timeout` (seconds)
    /// is 600 unless set; when it passes, the answer is an error saying the job is still
    /// going, and calling this again keeps waiting. `polling_interval`: seconds between
    /// polls.
    #[tool]
    async fn wait_until_release_completed(
        &self,
        Parameters(args): Parameters<WaitReleaseArgs>,
        rc: RequestContext<RoleServer>,
    ) -> ToolResult {
        let call = call_client!(self, rc);
        let (timeout, poll) = match wait_bounds(args.timeout, args.polling_interval) {
            Ok(b) => b,
            Err(e) => return Ok(call.error_line(e)),
        };
        let r = call
            .capsule_or_pipeline(|c, app| {
                let (id, job) = (args.capsule_id.clone(), args.job_id.clone());
                let poll = poll.clone();
                async move {
                    c.wait_for_app_release(app, &id, &job)
                        .timeout(timeout)
                        .poll_policy(poll)
                        .await
                }
            })
            .await;
        match r {
            Err(e) if e.is_wait_timeout() => Ok(call.error_line(gave_up(
                &e,
                &format!("release job {}", args.job_id),
                "wait_until_release_completed",
            ))),
            other => call.answer(other),
        }
    }

    /// Get the deployment's custom metadata schema: the fields data assets can carry (name,
    /// type, allowed values, required), for create_data_asset and update_metadata.
    #[tool]
    async fn get_custom_metadata(
        &self,
        Parameters(NoArgs {}): Parameters<NoArgs>,
        rc: RequestContext<RoleServer>,
    ) -> ToolResult {
        let call = call_client!(self, rc);
        let r = call.client.get_custom_metadata_schema().await;
        call.answer(r)
    }
}

impl Server {
    /// One page of a capsule or pipeline search, in the official compact form.
    async fn search_apps(
        &self,
        app: App,
        args: AppSearchArgs,
        rc: &RequestContext<RoleServer>,
    ) -> ToolResult {
        let call = call_client!(self, rc);
        match call.client.search_apps_page(app, &args.search_params).await {
            Ok(page) => call.json(&compact_apps(page, args.include_field_names)),
            Err(e) => call.error(&e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{limit_tags, truncate_description};

    #[test]
    fn descriptions_are_cut_as_the_official_server_cuts_them() {
        assert_eq!(truncate_description(None), None);
        assert_eq!(truncate_description(Some("   \n ")), None);
        assert_eq!(
            truncate_description(Some("a  b   c\n\n\nd")).as_deref(),
            Some("a  b c d")
        );
        let long = "word ".repeat(60);
        let cut = truncate_description(Some(&long)).unwrap();
        assert!(cut.ends_with("...(more)"), "{cut}");
        assert!(cut.chars().count() <= 200, "{}", cut.chars().count());
        assert!(cut.starts_with("word word"));
        let unbroken = "x".repeat(300);
        let cut = truncate_description(Some(&unbroken)).unwrap();
        assert_eq!(cut, format!("{}...(more)", "x".repeat(191)));
    }

    #[test]
    fn tags_are_limited_with_a_marker() {
        let tags: Vec<String> = (0..12).map(|i| format!("t{i}")).collect();
        let kept = limit_tags(&tags);
        assert_eq!(kept.len(), 10);
        assert_eq!(kept[9], "..more..");
        assert_eq!(limit_tags(&tags[..3]), tags[..3].to_vec());
    }
}
