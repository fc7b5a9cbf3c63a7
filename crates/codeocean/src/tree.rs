//! The two kinds of file tree the API serves, a computation's results and a data asset's files,
//! behind one type: the walk, the URL fallback and the downloads are written once, for both.
//!
//! Both trees are listed one folder at a time with the same request and answer shapes, and
//! both give signed URLs through a current route (`…/urls`) and a deprecated one
//! (`…/download_url`). Whether a server has the current route is learned per kind of tree (a
//! server may have grown `results/urls` before `files/urls`, or the other way round).

use std::future::Future;
use std::sync::atomic::Ordering;

use codeocean_raw::{Operation, types};

use crate::ResultItem;
use crate::client::{Client, RawResult, URL_MODE_LEGACY, URL_MODE_MODERN, URL_MODE_UNKNOWN, op};
use crate::error::{Error, Result, from_reqwest};

/// A file tree: a computation's results or a data asset's files. The two are listed, walked
/// and downloaded alike; [`Client::list_folder`], [`Client::walk_tree`],
/// [`Client::tree_file_urls`] and [`Client::download_tree`] take either, for code that picks
/// the kind at run time.
///
/// ```
/// use codeocean::Tree;
///
/// let tree = Tree::results("66095e3a-0747-4ec5-b8b1-95b89a428536");
/// assert_eq!(tree.id(), "66095e3a-0747-4ec5-b8b1-95b89a428536");
/// assert_eq!(tree.to_string(), "results of computation 66095e3a-0747-4ec5-b8b1-95b89a428536");
/// assert_eq!(Tree::data_asset("da7a").to_string(), "files of data asset da7a");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Tree {
    /// A computation's results (`/computations/{id}/results`), by the computation's id.
    Results(String),
    /// A data asset's files (`/data_assets/{id}/files`), by the data asset's id.
    DataAsset(String),
}

impl Tree {
    /// The results of the computation `computation_id`.
    pub fn results(computation_id: impl Into<String>) -> Self {
        Self::Results(computation_id.into())
    }

    /// The files of the data asset `data_asset_id`.
    pub fn data_asset(data_asset_id: impl Into<String>) -> Self {
        Self::DataAsset(data_asset_id.into())
    }

    /// The id of the computation or data asset whose tree this is.
    pub fn id(&self) -> &str {
        match self {
            Self::Results(id) | Self::DataAsset(id) => id,
        }
    }

    /// Which slot of the client's URL-mode cache this kind of source uses.
    fn slot(&self) -> usize {
        match self {
            Self::Results(_) => 0,
            Self::DataAsset(_) => 1,
        }
    }

    /// The source as a download's journal records it: `results/ID` or `data_asset/ID`.
    pub(crate) fn key(&self) -> String {
        match self {
            Self::Results(computation) => format!("results/{computation}"),
            Self::DataAsset(id) => format!("data_asset/{id}"),
        }
    }

    /// "computation ID" or "data asset ID".
    pub(crate) fn owner(&self) -> String {
        match self {
            Self::Results(computation) => format!("computation {computation}"),
            Self::DataAsset(id) => format!("data asset {id}"),
        }
    }

    /// "results of computation ID" or "files of data asset ID".
    pub(crate) fn named(&self) -> String {
        match self {
            Self::Results(_) => format!("results of {}", self.owner()),
            Self::DataAsset(_) => format!("files of {}", self.owner()),
        }
    }

    /// "result `a/b` of computation ID" or "file `a/b` of data asset ID".
    pub(crate) fn file(&self, path: &str) -> String {
        match self {
            Self::Results(_) => format!("result `{path}` of {}", self.owner()),
            Self::DataAsset(_) => format!("file `{path}` of {}", self.owner()),
        }
    }

    /// Sends the results' or the data asset's form of one operation: each kind's [`Operation`]
    /// with the raw call that sends it.
    async fn send<T, R, D>(
        &self,
        client: &Client,
        what: String,
        results: (Operation, impl Fn() -> R),
        files: (Operation, impl Fn() -> D),
    ) -> Result<T>
    where
        R: Future<Output = RawResult<T>>,
        D: Future<Output = RawResult<T>>,
    {
        match self {
            Self::Results(_) => client.send(op(results.0, what), results.1).await,
            Self::DataAsset(_) => client.send(op(files.0, what), files.1).await,
        }
    }

    /// Lists one folder (`""`: the root).
    pub(crate) async fn list(&self, client: &Client, path: &str) -> Result<Vec<ResultItem>> {
        let what = if path.is_empty() {
            format!("listing {}", self.named())
        } else {
            format!("listing folder `{path}` of the {}", self.named())
        };
        let body = types::ListResultsRequest {
            path: path.to_owned(),
        };
        // A listing changes nothing on the server: safe to retry although it is a POST.
        let id = self.id();
        let folder = self
            .send(
                client,
                what,
                (Operation::ListComputationResults, || {
                    client.raw().list_computation_results(id, &body)
                }),
                (Operation::ListDataAssetFiles, || {
                    client.raw().list_data_asset_files(id, &body)
                }),
            )
            .await?;
        Ok(folder.items)
    }

    /// The signed URLs of one file through the current route only.
    pub(crate) async fn modern_urls(&self, client: &Client, path: &str) -> Result<FileUrls> {
        let what = format!("getting URLs of {}", self.file(path));
        let id = self.id();
        let urls = self
            .send(
                client,
                what,
                (Operation::GetResultFileUrls, || {
                    client.raw().get_result_file_urls(id, path)
                }),
                (Operation::GetDataAssetFileUrls, || {
                    client.raw().get_data_asset_file_urls(id, path)
                }),
            )
            .await?;
        Ok(FileUrls {
            download_url: urls.download_url,
            view_url: Some(urls.view_url),
        })
    }

    /// The signed download URL of one file through the deprecated route only.
    pub(crate) async fn legacy_url(&self, client: &Client, path: &str) -> Result<String> {
        let what = format!("getting the download URL of {}", self.file(path));
        let id = self.id();
        let url = self
            .send(
                client,
                what,
                (Operation::GetResultFileDownloadUrl, || {
                    client.raw().get_result_file_download_url(id, path)
                }),
                (Operation::GetDataAssetFileDownloadUrl, || {
                    client.raw().get_data_asset_file_download_url(id, path)
                }),
            )
            .await?;
        Ok(url.url)
    }

    /// The signed URLs of one file: the current route, or the deprecated one on a server
    /// proven to lack the current one. See [`Client::file_urls`].
    pub(crate) async fn urls(&self, client: &Client, path: &str) -> Result<FileUrls> {
        let mode = &client.inner.url_mode[self.slot()];
        // Until the server's generation is known, one request at a time finds out. Those that
        // waited while it did then go at once in the mode it found, not one at a time under the
        // lock (a download's first wave of files would otherwise take a round trip each).
        let _probe = loop {
            if let Some(known) = self.urls_in_known_mode(client, path).await {
                return known;
            }
            let probe = client.inner.probe[self.slot()].lock().await;
            if mode.load(Ordering::Acquire) == URL_MODE_UNKNOWN {
                break probe;
            }
        };
        match self.modern_urls(client, path).await {
            Ok(urls) => {
                let _ = mode.compare_exchange(
                    URL_MODE_UNKNOWN,
                    URL_MODE_MODERN,
                    Ordering::AcqRel,
                    Ordering::Acquire,
                );
                Ok(urls)
            }
            Err(e) if route_missing(&e) => match self.legacy_url(client, path).await {
                Ok(url) => {
                    tracing::info!(
                        route = self.legacy_route(),
                        "the server lacks the current URL route; using the deprecated one from now on"
                    );
                    mode.store(URL_MODE_LEGACY, Ordering::Release);
                    Ok(FileUrls::from_legacy(url))
                }
                // The old route did not help: report the clearer of the two answers.
                Err(e2) if e2.is_not_found() && e2.has_json_body() => Err(e2),
                Err(_) => Err(e),
            },
            Err(e) => Err(e),
        }
    }

    fn legacy_route(&self) -> &'static str {
        match self {
            Self::Results(_) => "results/download_url",
            Self::DataAsset(_) => "files/download_url",
        }
    }

    /// The URLs through the route the server is known to have, or `None` while that is unknown.
    async fn urls_in_known_mode(&self, client: &Client, path: &str) -> Option<Result<FileUrls>> {
        match client.inner.url_mode[self.slot()].load(Ordering::Acquire) {
            URL_MODE_MODERN => Some(self.modern_urls(client, path).await),
            URL_MODE_LEGACY => Some(
                self.legacy_url(client, path)
                    .await
                    .map(FileUrls::from_legacy),
            ),
            _ => None,
        }
    }
}

/// The signed URLs of one file of a [`Tree`]. They point at object storage, expire (typically after
/// an hour) and must be fetched without credentials.
#[derive(Clone, PartialEq, Eq)]
pub struct FileUrls {
    /// URL to download the file.
    pub download_url: String,
    /// URL to view the file in a browser (absent when the server only has the deprecated
    /// `…/download_url` route).
    pub view_url: Option<String>,
}

impl FileUrls {
    /// What the deprecated `…/download_url` routes give: a download URL only.
    pub(crate) fn from_legacy(download_url: String) -> Self {
        Self {
            download_url,
            view_url: None,
        }
    }
}

impl std::fmt::Debug for FileUrls {
    // A signed URL is a credential for its object: show where it points, not its signature.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let strip = |u: &str| u.split('?').next().unwrap_or_default().to_owned() + "?…";
        f.debug_struct("FileUrls")
            .field("download_url", &strip(&self.download_url))
            .field("view_url", &self.view_url.as_deref().map(strip))
            .finish()
    }
}

/// The first bytes of one file of a [`Tree`], read by [`Client::read_tree_file`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct FileHead {
    /// The file's bytes: all of them, or the first `max_bytes` when [`truncated`](Self::truncated).
    pub bytes: Vec<u8>,
    /// Whether the file holds more bytes than were read.
    pub truncated: bool,
    /// The file's whole size, when the storage said it (`Content-Range` or `Content-Length`).
    pub size: Option<u64>,
}

impl std::fmt::Display for Tree {
    /// "results of computation ID" or "files of data asset ID", with the whole id.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Results(id) => write!(f, "results of computation {id}"),
            Self::DataAsset(id) => write!(f, "files of data asset {id}"),
        }
    }
}

/// Whether an error says the route itself is missing (not the file).
fn route_missing(e: &Error) -> bool {
    matches!(e.status(), Some(404 | 405 | 501))
}

impl Client {
    /// Lists one folder of a tree (`""` is the root): [`list_results`](Client::list_results)
    /// or [`list_data_asset_files`](Client::list_data_asset_files), for code that picks the
    /// kind of tree at run time.
    pub async fn list_folder(&self, tree: &Tree, path: &str) -> Result<Vec<ResultItem>> {
        tree.list(self, path).await
    }

    /// The signed URLs of a file of a tree, with the URL fallback:
    /// [`file_urls`](Client::file_urls) or [`data_asset_file_urls`](Client::data_asset_file_urls),
    /// for code that picks the kind of tree at run time.
    pub async fn tree_file_urls(&self, tree: &Tree, path: &str) -> Result<FileUrls> {
        tree.urls(self, path).await
    }

    /// Reads at most `max_bytes` of a file of a tree, from the start: its signed URL (with the
    /// URL fallback of [`tree_file_urls`](Client::tree_file_urls)), then one ranged `GET`
    /// from storage without credentials, of `max_bytes + 1` bytes, the one more telling
    /// whether the file goes on ([`FileHead::truncated`]). The rest of the file is never
    /// transferred; a storage that ignores the range is read only as far as needed. A failure
    /// that may pass (a dropped connection, 429, 5xx) is tried again with the client's
    /// [`RetryPolicy`](crate::RetryPolicy), as a download's is; a refusal by the storage is an
    /// error with its status.
    pub async fn read_tree_file(
        &self,
        tree: &Tree,
        path: &str,
        max_bytes: u64,
    ) -> Result<FileHead> {
        let context = format!("reading {}", tree.file(path));
        let urls = self.tree_file_urls(tree, path).await?;
        let mut retry = 0;
        loop {
            match self
                .read_head(&context, &urls.download_url, max_bytes)
                .await
            {
                Err(e) if e.is_retryable() => match self.retry_policy().next_delay(retry, &e) {
                    Some(wait) => {
                        tokio::time::sleep(wait).await;
                        retry += 1;
                    }
                    None => return Err(e),
                },
                other => return other,
            }
        }
    }

    /// One try of [`read_tree_file`](Client::read_tree_file): the ranged `GET` of `url`.
    async fn read_head(&self, context: &str, url: &str, max_bytes: u64) -> Result<FileHead> {
        use futures_util::TryStreamExt as _;
        use reqwest::header::{CONTENT_LENGTH, CONTENT_RANGE, RANGE};
        let response = self
            .inner
            .storage
            .get(url)
            .header(RANGE, format!("bytes=0-{max_bytes}"))
            .send()
            .await
            .map_err(|e| from_reqwest(context, e))?;
        let status = response.status().as_u16();
        if !matches!(status, 200 | 206) {
            return Err(Error::from_response(context.to_owned(), response).await);
        }
        let header = |name| {
            response
                .headers()
                .get(name)
                .and_then(|v: &reqwest::header::HeaderValue| v.to_str().ok())
                .map(str::to_owned)
        };
        let size = if status == 206 {
            // `bytes 0-N/TOTAL` (`*` when the storage does not know the total).
            header(CONTENT_RANGE)
                .and_then(|v| v.rsplit('/').next().and_then(|t| t.parse::<u64>().ok()))
        } else {
            header(CONTENT_LENGTH).and_then(|v| v.parse::<u64>().ok())
        };
        let limit = usize::try_from(max_bytes).unwrap_or(usize::MAX);
        let mut bytes = Vec::new();
        let mut body = std::pin::pin!(response.bytes_stream());
        while bytes.len() <= limit {
            match body.try_next().await {
                Ok(Some(chunk)) => bytes.extend_from_slice(&chunk),
                Ok(None) => break,
                Err(e) => return Err(from_reqwest(context, e)),
            }
        }
        let truncated = bytes.len() > limit;
        bytes.truncate(limit);
        Ok(FileHead {
            bytes,
            truncated,
            size,
        })
    }

    /// Lists one folder of a computation's results (`""` is the root). See
    /// [`walk_results`](Client::walk_results) for the whole tree.
    pub async fn list_results(&self, computation_id: &str, path: &str) -> Result<Vec<ResultItem>> {
        self.list_folder(&Tree::results(computation_id), path).await
    }

    /// Gets the signed URLs of a result file from `results/urls` (Code Ocean 4.0 and later).
    /// [`file_urls`](Client::file_urls) falls back to the older route by itself.
    pub async fn result_file_urls(&self, computation_id: &str, path: &str) -> Result<FileUrls> {
        Tree::results(computation_id).modern_urls(self, path).await
    }

    /// Gets a result file's download URL from the deprecated `results/download_url` route
    /// (servers before Code Ocean 4.0; announced to be removed after August 2026).
    #[deprecated(
        note = "use `file_urls`, which uses `results/urls` and falls back to this route only on servers without it"
    )]
    pub async fn result_download_url(&self, computation_id: &str, path: &str) -> Result<String> {
        Tree::results(computation_id).legacy_url(self, path).await
    }

    /// The signed URLs of a result file. Uses `results/urls`; on a server without that route
    /// (404, 405 or 501) it tries the deprecated `results/download_url` once, and only when
    /// that succeeds does the client remember the server as legacy and use the old route from
    /// then on. A missing *file* on a current server therefore stays "not found" and never
    /// switches the client. The probe happens once per client, not once per file.
    pub async fn file_urls(&self, computation_id: &str, path: &str) -> Result<FileUrls> {
        self.tree_file_urls(&Tree::results(computation_id), path)
            .await
    }

    /// The signed URLs of a data asset's file: `files/urls`, falling back to the deprecated
    /// `files/download_url` exactly as [`file_urls`](Client::file_urls) falls back for results
    /// (probed once per client, remembered only after the old route succeeded).
    pub async fn data_asset_file_urls(&self, data_asset_id: &str, path: &str) -> Result<FileUrls> {
        self.tree_file_urls(&Tree::data_asset(data_asset_id), path)
            .await
    }

    /// Gets a data asset file's download URL from the deprecated `files/download_url` route.
    #[deprecated(
        note = "use `data_asset_file_urls`, which uses `files/urls` and falls back to this route only on servers without it"
    )]
    pub async fn data_asset_file_download_url(
        &self,
        data_asset_id: &str,
        path: &str,
    ) -> Result<String> {
        Tree::data_asset(data_asset_id).legacy_url(self, path).await
    }

    /// Lists one folder of a data asset's files (`""` is the root). See
    /// [`walk_data_asset`](Client::walk_data_asset) for the whole tree.
    pub async fn list_data_asset_files(
        &self,
        data_asset_id: &str,
        path: &str,
    ) -> Result<Vec<ResultItem>> {
        self.list_folder(&Tree::data_asset(data_asset_id), path)
            .await
    }
}
