//! A client for the [Code Ocean](https://codeocean.com) REST API: run capsules and pipelines,
//! wait for them, walk and download their results, turn results into data assets, search and
//! download data assets, and manage capsules, pipelines and data assets.
//!
//! ```no_run
//! use codeocean::{Client, NewDataAsset, RunRequest};
//!
//! # async fn example() -> codeocean::Result<()> {
//! // CODEOCEAN_DOMAIN (acmecorp.codeocean.com, or a URL) and CODEOCEAN_TOKEN.
//! let client = Client::from_env()?;
//!
//! // Start a run with a data asset and a named parameter.
//! let run = client
//!     .run(
//!         &RunRequest::capsule("c0ffee00-0000-4000-8000-000000000001")
//!             .data_asset("da7a0000-0000-4000-8000-000000000001", "reference")
//!             .named_parameter("greeting", "hello"),
//!     )
//!     .await?;
//!
//! // Wait for it; a failed or stopped run is an error here, giving up waiting another one.
//! let finished = client.wait_for_computation(&run.id).await?.into_success()?;
//!
//! // Download its whole result tree (resumable, verified, concurrent).
//! let summary = client.download(&finished.id, "results").run().await?.into_result()?;
//! println!("{} files, {} bytes", summary.downloaded, summary.bytes);
//!
//! // Keep the results as a data asset and wait until it is ready.
//! let asset = client
//!     .create_data_asset(
//!         &NewDataAsset::from_computation(&finished.id, "Hello results", "hello-results")
//!             .tag("demo"),
//!     )
//!     .await?;
//! let asset = client.wait_for_data_asset(&asset.id).await?;
//! println!("data asset {} is {:?}", asset.id, asset.state);
//! # Ok(())
//! # }
//! ```
//!
//! # What it does for you
//!
//! - **Errors** are one [`Error`] whose message names the operation and the object, with
//!   [`status`](Error::status), [`is_not_found`](Error::is_not_found),
//!   [`is_timeout`](Error::is_timeout) and [`is_retryable`](Error::is_retryable). The token
//!   never appears in an error, a log line or `Debug` output.
//! - **Retries** ([`RetryPolicy`]): `429` everywhere (honouring `Retry-After`); `500`, `502`, `503`,
//!   `504`, timeouts and broken connections only on idempotent requests. A run or a
//!   data-asset creation is never re-sent once it may have reached the server.
//! - **Waiters** ([`PollPolicy`]) poll with jittered, growing intervals and a maximum wait, and
//!   tell succeeded, failed and stopped apart ([`Outcome`]); [`Client::watch_computation`]
//!   streams state changes for progress display.
//! - **Every operation** of the API v1 (the 48 of the official Python SDK 0.17.0): capsules and
//!   pipelines (search, app panels, permissions, attach/detach, archive, Git sync, releases
//!   with [`Client::wait_for_capsule_release`]), computations, data assets (search, files,
//!   permissions, archive, transfer) and the custom metadata schema.
//! - **Searches** ([`Client::search_capsules`], [`Client::search_pipelines`],
//!   [`Client::search_data_assets`]) are streams that page by themselves and always end: a
//!   server that claims more results without sending them is an [`ErrorKind::Paging`] error,
//!   not a loop, and so is passing the page cap.
//! - **Walks** ([`Client::walk_results`], [`Client::walk_data_asset`]) list folders
//!   concurrently: a deep tree costs about its depth in round trips. They end whatever the
//!   server lists ([`WalkLimits`]: 100 levels, a million entries by default).
//! - **Bounds**: every API call ends within
//!   [`request_timeout`](ClientBuilder::request_timeout) (90 s), retries included; a transfer
//!   gives up after as long without progress; API bodies are capped at 64 MiB
//!   ([`ErrorKind::TooLarge`]); a `401`/`403` from the API stops a download job
//!   ([`Summary::stopped`]); a host that does not resolve or a plain-HTTP answer to TLS fails
//!   at once, without retries.
//! - **Downloads** ([`Client::download`], [`Client::download_data_asset`]) stream to disk in
//!   constant memory, rename into place only complete files, resume with `Range`, refresh
//!   expired signed URLs, never send the token to the storage host, and refuse hostile names;
//!   results and data assets share one implementation.
//! - **URL fallback** ([`Client::file_urls`], [`Client::data_asset_file_urls`]): `…/urls`, or
//!   the deprecated `…/download_url` on servers that lack it, probed once per client.
//!
//! # API decisions
//!
//! - **Flat names first, generic ones beside them.** Each operation has the flat name the
//!   official Python SDK users know ([`Client::get_capsule`], [`Client::get_pipeline`],
//!   [`Client::list_results`], [`Client::list_data_asset_files`], [`Client::download`],
//!   [`Client::download_data_asset`], …): they are the documented API, and a call reads as
//!   what it does. Where code picks the family at run time (the `codeocean` CLI's
//!   `capsule …`/`pipeline …` and `results …`/`data-asset …` commands, or a user's tool doing
//!   the same), a generic method takes an [`App`] (a capsule or a pipeline:
//!   [`Client::get_app`], [`Client::release_app`], [`Client::search_apps`], …) or a [`Tree`]
//!   (a computation's results or a data asset's files: [`Client::list_folder`],
//!   [`Client::walk_tree`], [`Client::tree_file_urls`], [`Client::download_tree`]). Each flat
//!   method is a one-line call of its generic one, so the two never differ. Operations with
//!   no run-time choice in practice (release job lookups, the waiters without a policy) have
//!   flat names only.
//! - **[`App`] and [`Tree`] are exhaustive.** API v1 has exactly these two app families and
//!   these two trees, and callers (the CLI among them) match on them without a wildcard arm,
//!   so a new family would be a compile error where it must be handled, not a silent default.
//! - **Wire sizes stay `i64`; `Option<u64>` comes from methods.** [`ResultItem::size`],
//!   [`DataAsset::size`] and the like keep the spec's signed integers: a `u64` field would make a
//!   whole listing fail to decode over one odd value. `size_bytes()` (and `is_dir()`,
//!   `is_file()`, `file_count()`) are inherent methods of the raw crate, `None` for a negative
//!   or absent value. The raw error stays progenitor's: its body is a stream only an `async`
//!   read can consume, so `codeocean_raw::error_body(err).await` reads it into an `ApiError` on
//!   request.
//!
//! ```no_run
//! use codeocean::{App, Client, Tree};
//!
//! # async fn example(client: &Client, pipelines: bool, id: &str) -> codeocean::Result<()> {
//! let app = if pipelines { App::Pipeline } else { App::Capsule };
//! let found = client.get_app(app, id).await?;
//! println!("{app} {}: {}", found.id, found.name.unwrap_or_default());
//!
//! let tree = Tree::data_asset("da7a0000-0000-4000-8000-000000000001");
//! for item in client.list_folder(&tree, "").await? {
//!     println!("{}", item.path);
//! }
//! # Ok(())
//! # }
//! ```
//!
//! Every request runs in a `tracing` span `codeocean.request` with the operation, method,
//! status, duration and retry count. Each try logs one INFO event (method, path without query,
//! status, `elapsed_ms`); retries and throttling log at DEBUG, and so do storage GETs (host
//! and path only). Nothing logged carries the token or a signed URL's query. For exact wire control, [`Client::raw`] is the generated
//! [`codeocean_raw::Client`] with the same credentials.

mod access;
mod apps;
mod client;
mod data_assets;
mod dest_state;
mod download;
mod error;
mod ops;
pub mod search;
mod tree;
mod wait;
mod walk;

pub use access::{Attachments, PermissionsUpdate};
pub use apps::App;
pub use client::{Client, ClientBuilder, PollPolicy, RetryPolicy};
pub use data_assets::Transfer;
pub use download::{Download, Progress, Summary, safe_segments};
pub use error::{Error, ErrorKind, Result};
pub use ops::{DataAssetUpdate, NewDataAsset, RunRequest};
pub use search::{CapsuleSearch, DataAssetSearch, Filter};
pub use tree::{FileUrls, Tree};
pub use wait::{Finished, Outcome, outcome};
pub use walk::{DEFAULT_MAX_DEPTH, DEFAULT_MAX_ENTRIES, WalkLimits};

pub use codeocean_raw;

/// Entry points for the `cargo fuzz` targets in `fuzz/`: the crate's private readers of server
/// input. Compiled only under `--cfg fuzzing`, which cargo-fuzz sets; not part of the API.
#[cfg(fuzzing)]
#[doc(hidden)]
pub mod fuzzing {
    /// The message read from an error body (see `client::describe_body`).
    pub fn describe_body(status: u16, body: &[u8]) -> (String, bool) {
        crate::client::describe_body(status, body)
    }

    /// A `Retry-After` value (seconds or an HTTP date).
    pub fn parse_retry_after(value: &str) -> Option<std::time::Duration> {
        crate::client::parse_retry_after(value)
    }
}
/// Open enumerations and other hand-written wire types: unknown values are kept, never an error.
pub use codeocean_raw::open::{
    AppPanelDataAssetKind, AppPanelParameterType, CapsuleSortBy, CapsuleStatus,
    ComputationEndStatus, ComputationState, CustomMetadataFieldType, CustomMetadataValue,
    DataAssetOrigin, DataAssetSearchOrigin, DataAssetSortBy, DataAssetState, DataAssetType,
    EveryoneRole, GroupRole, OneOrMany, Ownership, ReleaseJobStatus, ResultItemType, SortOrder,
    Timestamp, UserRole,
};
/// The generated wire types, re-exported.
pub use codeocean_raw::types::{
    AppPanel, Capsule, Computation, CustomMetadataSchema, DataAsset, DataAssetAttachResult,
    GitSyncResults, Permissions, ReleaseJob, ResultItem,
};
