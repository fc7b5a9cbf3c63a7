//! A client for the [Code Ocean](https://codeocean.com) REST API: run capsules and pipelines,
//! wait for them, walk and download their results, make data assets (from results, S3 and GCS
//! buckets, cloud workstation sessions, or other data assets: [`NewDataAsset`]), search and
//! download data assets, find where one is used ([`Client::data_asset_usage`]), and manage
//! capsules, pipelines and data assets.
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
//! // Download its whole result tree (resumable, verified); a missing file is an error.
//! let summary = client.download(&finished.id, "results").run().await?;
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
//! - **Errors** are one [`Error`] whose message names the operation and the object by its
//!   full id ([`id`](Error::id)), with [`status`](Error::status),
//!   [`is_not_found`](Error::is_not_found), [`is_rate_limited`](Error::is_rate_limited),
//!   [`is_timeout`](Error::is_timeout) (HTTP), [`is_wait_timeout`](Error::is_wait_timeout)
//!   (a waiter gave up; [`last_state`](Error::last_state)),
//!   [`is_credentials_refused`](Error::is_credentials_refused) and
//!   [`is_retryable`](Error::is_retryable). Its message is its own layer; the cause (a
//!   refused connection, an I/O error) is the `source()` chain: print it all with `anyhow`'s
//!   `{:#}` or [`DisplayErrorContext`]. An empty id is refused before anything is sent
//!   ([`ErrorKind::InvalidInput`]). The token never appears in an error, a log line or
//!   `Debug` output.
//! - **Retries** ([`RetryPolicy`]): `429` everywhere (honouring `Retry-After`); `500`, `502`, `503`,
//!   `504`, timeouts and broken connections only on idempotent requests. A run or a
//!   data-asset creation is never re-sent once it may have reached the server.
//! - **Waiters** ([`PollPolicy`]) poll with jittered, growing intervals and a maximum wait (one
//!   wait's own: [`WaitForComputation::timeout`]), and tell succeeded, failed and stopped apart
//!   ([`Outcome`]); [`Client::watch_computation`] streams state changes for progress display.
//! - **Every operation** of the API v1 (the 48 of the official Python SDK 0.17.0): capsules and
//!   pipelines (search, app panels, permissions, attach/detach, archive, Git sync, releases
//!   with [`Client::wait_for_capsule_release`]), computations, data assets (search, files,
//!   permissions, archive, transfer) and the custom metadata schema.
//! - **Searches** ([`Client::search_capsules`], [`Client::search_pipelines`],
//!   [`Client::search_data_assets`]) are streams that page by themselves and always end: a
//!   server that claims more results without sending them is an [`ErrorKind::Paging`] error,
//!   not a loop, and so is passing the page cap.
//! - **Walks** ([`Client::walk_results`], [`Client::walk_data_asset`]: a [`Walk`]) list folders
//!   concurrently: a deep tree costs about its depth in round trips. They end whatever the
//!   server lists ([`WalkLimits`]: 100 levels, a million entries by default).
//! - **Bounds**: every API call ends within
//!   [`request_timeout`](ClientBuilder::request_timeout) (90 s), retries included; a transfer
//!   gives up after as long without progress; API bodies are capped at 64 MiB
//!   ([`ErrorKind::TooLarge`]); a `401`/`403` from the API stops a download job
//!   ([`Summary::stopped`]); a host that does not resolve, a refused certificate or a
//!   plain-HTTP answer to TLS fails at once, without retries
//!   ([Private CAs and HTTPS](#private-cas-and-https)).
//! - **Downloads** ([`Client::download`], [`Client::download_data_asset`]) stream to disk in
//!   constant memory, rename into place only complete files, resume with `Range`, refresh
//!   expired signed URLs, never send the token to the storage host, and refuse hostile names;
//!   results and data assets share one implementation.
//! - **URL fallback** ([`Client::file_urls`], [`Client::data_asset_file_urls`]): `…/urls`, or
//!   the deprecated `…/download_url` on servers that lack it, probed once per client.
//!
//! # Configuration: environment, profiles, credentials.json
//!
//! [`Client::from_env`] takes the domain and the token from `CODEOCEAN_DOMAIN` and
//! `CODEOCEAN_TOKEN`; what they leave unset comes from a named profile of
//! `~/.config/codeocean/config.toml` (`CODEOCEAN_PROFILE`, or the file's `default`;
//! [`Client::from_profile`] names one), and when nothing configures the client, from the older
//! `~/.codeocean/credentials.json`. The [`profile`] module has the precedence, the file's format,
//! `token_command`, and [`profile::Resolver`] to see where each setting came from. The CLI's
//! `--domain`, `--token` and `--profile` go through the same resolver.
//!
//! # Any operation as JSON
//!
//! [`Client::request_json`] sends any of the API's operations by method and path, with a JSON
//! body or query, through the same limiter, retries and timeouts (the CLI's `codeocean api`).
//!
//! # Private CAs and HTTPS
//!
//! A bare domain means HTTPS, and certificates are always verified (there is no switch that
//! turns that off; [`ClientBuilder::customize_http`] reaches reqwest for anything beyond what
//! follows). With the `rustls` features (the default) they are checked by the platform
//! verifier: on Linux against the system's CA bundle, or against the file `SSL_CERT_FILE`
//! names **instead** of it; on macOS and Windows by the system's own verifier and store.
//! A deployment signed by a company's own CA needs that CA trusted, either in the system store
//! (for every program) or for this client alone, **in addition to** the platform's store:
//!
//! - [`ClientBuilder::add_root_certificates_file`]: a PEM file of one or more CA certificates;
//! - [`ClientBuilder::add_root_certificates`]: the same PEM as bytes;
//! - `CODEOCEAN_CA_CERT=FILE` ([`CA_CERT_ENV`]), read by [`Client::from_env`] and
//!   [`Client::builder_from_env`] (the `codeocean` CLI's `--ca-cert FILE` sets the same).
//!
//! Both the API and the storage origin (signed download URLs) trust them. A file that cannot
//! be read, or PEM without a certificate, fails [`build`](ClientBuilder::build) with
//! [`ErrorKind::Config`] naming it.
//!
//! ```no_run
//! use codeocean::Client;
//!
//! # fn example() -> codeocean::Result<()> {
//! // The company's CA, besides the platform's trust store.
//! let client = Client::builder()
//!     .domain("codeocean.acme.internal")
//!     .token("…")
//!     .add_root_certificates_file("/etc/acme/root-ca.pem")
//!     .build()?;
//!
//! // The same from the environment: CODEOCEAN_DOMAIN, CODEOCEAN_TOKEN and
//! // CODEOCEAN_CA_CERT=/etc/acme/root-ca.pem.
//! let from_env = Client::from_env()?;
//! # let _ = (client, from_env);
//! # Ok(())
//! # }
//! ```
//!
//! A certificate the client refuses is one line of [`ErrorKind::Connection`], never retried
//! (nothing was sent, the token included), naming the host and what to do:
//!
//! ```text
//! the certificate of HOST is signed by a CA this machine does not trust; if HOST uses a private CA, trust it with CODEOCEAN_CA_CERT=<file.pem> (the CLI's --ca-cert) or the system's trust store
//! the certificate of HOST is for other.example, not HOST; check the domain
//! the certificate of HOST expired on Thu, 01 Jan 2026 00:00:00 GMT; the server's certificate must be renewed (or this machine's clock is wrong)
//! the certificate of HOST is not valid before Thu, 01 Jan 2099 00:00:00 GMT; this machine's clock is wrong (or the server's certificate is dated in the future)
//! the server does not speak TLS; use http://HOST:PORT
//! the server's answer is not HTTP; if it speaks only HTTPS, use https://HOST:PORT
//! ```
//!
//! (A self-signed certificate reads as the first. With `native-tls` the names and dates are
//! left out where the platform's library does not give them.)
//!
//! The client speaks HTTP/1.1 by default ([`DEFAULT_HTTP2`] is `false`): `cargo xtask bench`
//! (`BENCHMARKS.md`, section 7) found it as fast as HTTP/2 on many small requests and faster
//! on big bodies, where HTTP/2's flow control paces the download.
//! [`ClientBuilder::http2(true)`](ClientBuilder::http2) speaks HTTP/2 with servers that offer
//! it over TLS (ALPN), multiplexing the client's concurrent requests on one connection per
//! origin (fewer connections and TLS handshakes), for servers or proxies that limit
//! connections.
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
//!   no run-time choice in practice (release job lookups) have
//!   flat names only.
//! - **[`App`] and [`Tree`] are exhaustive.** API v1 has exactly these two app families and
//!   these two trees, and callers (the CLI among them) match on them without a wildcard arm,
//!   so a new family would be a compile error where it must be handled, not a silent default.
//! - **Errors show full ids; `Display` is one layer.** Messages no longer cut ids to 8
//!   characters (three built-in capsules all read `c0ffee00…`): an id is what a user pastes
//!   into the next command. [`Error::id`] is the last path parameter of the request that was
//!   sent (the object it is about), or the waited-for object; `None` for a request that never
//!   reached the transport (a try cut by a timeout before any answer, an empty id). Following
//!   reqwest and std, `Display` leaves the causes to `source()`; [`DisplayErrorContext`] (as in
//!   aws-sdk-rust) prints the chain for callers without `anyhow`.
//! - **The short retry budget of a refused connection is not configurable.**
//!   [`RetryPolicy::CONNECT_RETRIES`] and [`RetryPolicy::CONNECT_MAX_BACKOFF`] are constants, not
//!   fields: a connection nobody accepts is a wrong address or a server down for longer than
//!   any backoff worth waiting; `max_retries` still lowers it. A field can be added later
//!   without breaking callers; taking one away cannot.
//! - **Empty ids are refused by the raw client's hook**, for every operation with a path
//!   parameter (and for callers of [`Client::raw`] too), from the operation's path template:
//!   one check, not one per method.
//! - **Archiving is two methods, not a flag.** [`Client::archive_capsule`] and
//!   [`Client::unarchive_capsule`] (and the same for pipelines, data assets and the generic
//!   [`Client::archive_app`]/[`Client::unarchive_app`]): `archive_capsule(id, false)` read as
//!   "archive" and meant the opposite. An enum argument was weighed and not taken: a call
//!   that names its direction in the method reads best, and there are only two directions.
//! - **Searches return a named, `Unpin` [`SearchStream`]** (boxed inside, one allocation per
//!   search), so `.next()` and `.try_next()` need no `pin!`, and the type can be named in a
//!   struct field or a function signature.
//! - **Config types grow without breaking callers.** [`RetryPolicy`] and [`PollPolicy`] are
//!   `#[non_exhaustive]`: built from `default()` (or [`RetryPolicy::none`]) and setters
//!   (`RetryPolicy::default().max_retries(3)`), their fields public to read. A field added
//!   later is a new setter, not a compile error in every struct literal.
//! - **Builders and requests are `#[must_use]`**, with a message saying what to do with them:
//!   a [`RunRequest`], a search or a [`ClientBuilder`] left unused is a warning, not a silent
//!   no-op (see [Mistakes the compiler catches](#mistakes-the-compiler-catches)).
//! - **Ids stay `&str`/`String`, not newtypes, for now.** A `ComputationId`/`DataAssetId`/
//!   `CapsuleId` with `Display`/`FromStr`/`AsRef<str>` would turn "a data asset id passed to
//!   `download()`" into a compile error, but it costs: the generated model types hold every
//!   id as `String` (typing them means retyping the spec's id fields through progenitor's
//!   type replacement, in the raw crate too), every method and the CLI change, and ids read
//!   from JSON, files or the command line need a conversion at each use. What protects users
//!   instead: an error names the kind of object it looked for and the id it was given
//!   (`getting computation <id>`, answered 404), so a data asset's id passed where a
//!   computation's belongs shows at the first failure. Typed ids later would change
//!   every signature, a breaking change: to be done before 1.0 or not at all. Its likely form:
//!   `&DataAssetId` parameters, model fields typed so that `asset.id` already is one, and
//!   `From<String>` for ids from files or the command line.
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
//! - **Waits are awaited builders.** [`Client::wait_for_computation`] and the other waiters
//!   return a builder that is [`IntoFuture`], so the plain call stays
//!   `client.wait_for_computation(&id).await` and a time limit is one more call (`.timeout(d)`,
//!   keeping the client's intervals). No `.send()` as in reqwest or aws-sdk-rust: a wait sends
//!   many requests, and awaiting is all there is to do with it. The `_with(policy)` variants
//!   are removed, not deprecated: nothing is published.
//! - **Walks and downloads are built, then run.** [`Walk::stream`] starts a walk as
//!   [`Download::run`] starts a download; the builder itself is not a stream (a `Stream` that
//!   still takes options is easy to misuse). The stream is boxed, so `.next()` needs no `pin!`.
//! - **An incomplete download is an error** ([`ErrorKind::Incomplete`], carrying the
//!   [`Summary`]: [`Error::summary`]) unless the job opts into partial results
//!   ([`Download::allow_partial`]): a missing file the caller forgot to check must not pass
//!   for success.
//! - **Progress is a trait, or a closure.** [`Progress`] keeps one method per event (the CLI's
//!   bars implement a few); [`Download::on_progress`] takes a closure of [`ProgressEvent`]
//!   where that is all a caller needs, and any such closure is a `Progress`.
//!
//! # Mistakes the compiler catches
//!
//! Requests, builders, searches, downloads and their summaries are `#[must_use]`: building one
//! and dropping it is a warning. Under `#![deny(unused_must_use)]` each of these fails to
//! compile; using the value (`client.run(&request)`, `.build()`, streaming the search,
//! `.run().await` and reading the summary) is the fix.
//!
//! A request value that is never sent:
//!
//! ```compile_fail
//! #![deny(unused_must_use)]
//! codeocean::RunRequest::capsule("c0ffee00-0000-4000-8000-000000000001").version(2);
//! ```
//!
//! A builder whose setter's result is dropped (it returns the changed builder):
//!
//! ```compile_fail
//! #![deny(unused_must_use)]
//! let builder = codeocean::Client::builder();
//! builder.domain("acmecorp.codeocean.com");
//! ```
//!
//! A search that is never streamed:
//!
//! ```compile_fail
//! #![deny(unused_must_use)]
//! fn search(client: &codeocean::Client) {
//!     client.search_capsules(&codeocean::CapsuleSearch::new().query("tag:rna"));
//! }
//! ```
//!
//! A download that is described but never run (`Download` is `#[must_use]`):
//!
//! ```compile_fail
//! #![deny(unused_must_use)]
//! fn forgotten(client: &codeocean::Client) {
//!     client.download("66095e3a-0747-4ec5-b8b1-95b89a428536", "results");
//! }
//! ```
//!
//! A download's [`Summary`] that is dropped unread (it may say the download is incomplete;
//! `Summary` is `#[must_use]`):
//!
//! ```compile_fail
//! #![deny(unused_must_use)]
//! async fn ignored(client: &codeocean::Client) -> codeocean::Result<()> {
//!     client.download("66095e3a-0747-4ec5-b8b1-95b89a428536", "results").run().await?;
//!     Ok(())
//! }
//! ```
//!
//! A config type built with a struct literal (they are `#[non_exhaustive]`: start from
//! `default()` and use the setters, `RetryPolicy::default().max_retries(3)`):
//!
//! ```compile_fail,E0639
//! let retry = codeocean::RetryPolicy {
//!     max_retries: 3,
//!     ..codeocean::RetryPolicy::default()
//! };
//! ```
//!
//! The same code, with each value used, compiles:
//!
//! ```
//! #![deny(unused_must_use)]
//! use codeocean::{CapsuleSearch, Client, RunRequest, SearchStream};
//!
//! let request = RunRequest::capsule("c0ffee00-0000-4000-8000-000000000001").version(2);
//! let builder = Client::builder().domain("acmecorp.codeocean.com");
//! fn search(client: &Client) -> SearchStream<codeocean::Capsule> {
//!     client.search_capsules(&CapsuleSearch::new().query("tag:rna"))
//! }
//! async fn fetched(client: &Client) -> codeocean::Result<u64> {
//!     let summary = client
//!         .download("66095e3a-0747-4ec5-b8b1-95b89a428536", "results")
//!         .run()
//!         .await?
//!         .into_result()?;
//!     Ok(summary.downloaded)
//! }
//! # let _ = (request, builder);
//! ```
//!
//! Every request runs in a `tracing` span `codeocean.request` with the operation, method,
//! status, duration and retry count. Each try logs one INFO event (method, path without query,
//! status, `elapsed_ms`); retries and throttling log at DEBUG, and so do storage GETs (host
//! and path only). Nothing logged carries the token or a signed URL's query. For exact wire control, [`Client::raw`] is the generated
//! [`codeocean_raw::Client`] with the same credentials.

mod access;
mod api;
mod apps;
mod client;
mod data_assets;
mod dest_state;
mod download;
mod error;
mod fs_gate;
mod limit;
mod ops;
pub mod profile;
pub mod search;
mod tree;
mod wait;
mod walk;

pub use access::{Attachments, PermissionsUpdate};
pub use apps::{App, WaitForRelease};
pub use client::{CA_CERT_ENV, Client, ClientBuilder, DEFAULT_HTTP2, PollPolicy, RetryPolicy};
pub use data_assets::{DataAssetUsage, DataAssetUse, Transfer};
pub use download::{Download, Failure, Progress, ProgressEvent, Summary, safe_segments};
pub use error::{DisplayErrorContext, Error, ErrorKind, Result};
pub use limit::{LimitCause, LimiterChange, LimiterState};
pub use ops::{DataAssetUpdate, NewDataAsset, ResultsInfo, RunRequest, S3Target, source};
pub use search::{CapsuleSearch, DataAssetSearch, Filter, SearchStream};
pub use tree::{FileHead, FileUrls, Tree};
pub use wait::{Finished, Outcome, WaitForComputation, WaitForDataAsset, outcome};
pub use walk::{DEFAULT_MAX_DEPTH, DEFAULT_MAX_ENTRIES, Walk, WalkLimits};

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
