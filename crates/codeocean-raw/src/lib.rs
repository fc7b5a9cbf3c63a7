//! The low-level Code Ocean API client, generated from `openapi/codeocean.yaml` by progenitor.
//!
//! # Which crate to use
//!
//! Most programs want the high-level `codeocean` crate of this workspace (being built on this
//! one), which adds configuration, typed errors, retries, waiting for runs, walking and
//! downloading result trees, and the fallback between the two result-URL endpoints. This crate is for **exact wire control**: one method per operation of
//! the spec, sending exactly the request the spec describes and returning exactly what the server
//! answered, with no retries, no waiting and no interpretation.
//!
//! # Authentication
//!
//! The API uses HTTP Basic authentication with the API token as the user name and an empty
//! password. [`Client::with_token`] builds a client that sends it (marked sensitive, so that
//! `Debug` output never shows it) on every request, with `Content-Type: application/json`;
//! [`Client::builder`] also chooses the [`hooks::Hooks`] and the `reqwest` settings (user
//! agent, timeouts, proxies), through the [`reqwest`] this crate re-exports, so that callers
//! need not depend on the exact version themselves. [`auth_headers`] gives the two headers for
//! a `reqwest::Client` built by hand and handed to [`Client::new_with_client`]. Do not use
//! [`Client::new`]: its 15-second *total* timeout cuts off long responses, and it sends no
//! credentials.
//!
//! A program that uses the `codeocean` crate already has such a client: `codeocean::Client::raw()`
//! is one, with the same credentials and settings.
//!
//! # Bounded bodies
//!
//! Every response body goes through [`hooks`]: reading more than [`hooks::Hooks::max_body`]
//! bytes (default [`hooks::DEFAULT_MAX_BODY`], 64 MiB) fails with a [`hooks::BodyTooLarge`] in
//! the error's source chain, so a server that answers without end cannot exhaust memory. The
//! same hooks can observe each exchange (method, path, status, time), which is how the
//! `codeocean` crate logs requests.
//!
//! ```no_run
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! let token = std::env::var("CODEOCEAN_TOKEN")?;
//! let client = codeocean_raw::Client::with_token("https://acmecorp.codeocean.com/api/v1", &token)?;
//!
//! match client.get_computation("66095e3a-0747-4ec5-b8b1-95b89a428536").await {
//!     Ok(computation) => {
//!         let computation = computation.into_inner();
//!         println!("{:?} {:?}", computation.state, computation.end_status);
//!     }
//!     // The server's message (`computation not found`), or why there is none.
//!     Err(err) => match codeocean_raw::error_body(err).await {
//!         Ok(api) => eprintln!("{}", api.message.unwrap_or_default()),
//!         Err(other) => eprintln!("{other}"),
//!     },
//! }
//! # Ok(())
//! # }
//! ```
//!
//! A client built this way sends the token to the API host only: the signed URLs that
//! `get_result_file_urls` returns point at object storage, and must be fetched with a client
//! that carries **no** `Authorization` header (storage refuses a second credential, and the token
//! must not leave the API host).
//!
//! # Errors
//!
//! Every method returns `Result<ResponseValue<T>, Error<ByteStream>>`. An error status (4xx or 5xx)
//! is [`Error::ErrorResponse`] holding the status, the headers and the unread body: the body is
//! usually a JSON [`types::ApiError`], but a proxy may answer with an HTML page and a route a
//! server does not have answers with no JSON at all, so the spec leaves it undecoded and the
//! status is never lost. A success response whose body does not decode is
//! [`Error::InvalidResponsePayload`]. [`error_body`] reads an error response's body (at most
//! 64 KiB) into a [`types::ApiError`], or says why it is not one (an HTML page, an empty body).
//!
//! # Helpers on the wire types
//!
//! A few inherent methods answer what the generated types are asked all the time:
//! [`types::ResultItem::is_dir`], [`is_file`](types::ResultItem::is_file) and
//! [`size_bytes`](types::ResultItem::size_bytes), and the sizes and counts of
//! [`types::DataAsset`], [`types::ContainedDataAsset`] and [`types::GitSyncResults`] as
//! `Option<u64>` (the wire's integers are signed: a negative or absent value is `None`).
//!
//! # Open types
//!
//! The enumerations of the API (computation state, end status, capsule status, data asset
//! state, type and origin, result item type, release job status, roles, app panel kinds, search
//! sort fields and filters) are open: a value the server sends that the spec does not list
//! decodes to `Unknown(String)` instead of failing the whole response, and a caller can send a
//! value a newer server knows. They, the [`open::Timestamp`], the [`open::CustomMetadataValue`]
//! and [`open::OneOrMany`] are in [`open`]. Unknown fields in responses are ignored.
//!
//! # Operations
//!
//! The 12 operations of the API documents and the 36 more of the official Python SDK
//! (`codeocean` 0.17.0): capsules and pipelines (get, delete, app panel, computations,
//! permissions, attach and detach data assets, archive, Git sync, release and release jobs,
//! search), computations (run, get, delete, rename, results, result URLs, data assets of cloud
//! workstations), data assets (create, get, update, delete, archive, permissions, search, files
//! and file URLs, transfer) and the custom metadata schema. Searches return one page
//! (`has_more`, `results`, `next_token`); the caller pages with `offset` or `next_token`.
//! `get_result_file_download_url` and `get_data_asset_file_download_url` are deprecated on the
//! server side (the generator does not mark them `#[deprecated]`).
//!
//! # Interface style
//!
//! Methods take their parameters positionally (`client.rename_computation(&id, "new name")`):
//! progenitor's builder style produces about three times the code for no gain at this level,
//! where the ergonomic API is the `codeocean` crate. Every type derives [`schemars::JsonSchema`],
//! so request bodies can be described as JSON Schemas (`schemars::schema_for!(types::RunRequest)`).
//!
//! # Never edit the generated code
//!
//! `src/generated.rs` and `src/operations.rs` are written by `cargo xtask regen` from the spec;
//! the rest is hand-written: [`open`] (wire types), [`hooks`] (how requests run), the client
//! builder ([`Client::with_token`]), [`error_body`] and the helpers on the wire types.
//! To change the wire, change `openapi/codeocean.yaml` and regenerate; `cargo xtask regen
//! --check` (run in CI) and an ordinary test fail when a committed file is stale.
//!
//! [`Operation`] (from `src/operations.rs`) names each operation of the spec with its id, method,
//! path template and whether it is safe to send again (the spec's `x-idempotent`), and finds the
//! operation a request is for ([`Operation::find`]).
//!
//! Besides the headers the caller sets, every request carries progenitor's `api-version: v1`
//! header (the spec's version), which servers ignore, and `Accept: application/json` — except
//! the operations whose responses have no body (deletes, renames, archives, detaches, permission
//! updates, transfers): they send reqwest's default `Accept: */*`.

mod auth;
mod error_body;
pub mod hooks;
mod items;
pub mod open;

pub use auth::{BuildError, ClientBuilder, DEFAULT_CONNECT_TIMEOUT, auth_headers};
pub use error_body::{ErrorBodyError, MAX_ERROR_BODY, error_body};

#[rustfmt::skip]
#[allow(missing_docs, unreachable_pub, rust_2018_idioms, clippy::all)]
mod generated;

pub use generated::*;

#[rustfmt::skip]
mod operations;

pub use operations::Operation;

/// The `progenitor-client` runtime the generated code uses, re-exported so that callers can
/// name its types (such as `ClientInfo`) without depending on it directly.
pub use progenitor_client;

/// The `reqwest` this crate is built on, re-exported so that callers can configure
/// [`Client::builder`] (through [`ClientBuilder::http`]) or build their own client without
/// depending on the exact version themselves.
pub use reqwest;
