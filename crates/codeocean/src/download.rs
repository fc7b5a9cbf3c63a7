//! Safe, resumable downloads of one file or a whole tree, from either source (a computation's
//! results or a data asset's files): one implementation for both.

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use futures_util::StreamExt as _;
use reqwest::header::{CONTENT_LENGTH, CONTENT_RANGE, ETAG, IF_RANGE, LAST_MODIFIED, RANGE};
use tokio::io::{AsyncSeekExt as _, AsyncWriteExt as _};

use crate::client::{Client, signal_of};
use crate::dest_state::{DestState, STATE_DIR, Stamp, reaches_state};
use crate::error::{Error, ErrorKind, Result, from_reqwest};
use crate::fs_gate::FsGate;
use crate::limit::{ApiConcurrency, ApiLimiter, LimiterState, Signal, Ticket};
use crate::tree::Tree;
use crate::walk::WalkLimits;
use crate::{ResultItem, ResultItemType};

/// Follows a download job. Every method has a default that does nothing; implement the ones
/// you need (the CLI drives its progress bars from them). Called from several tasks at once.
///
/// Where a closure is all that is needed, [`Download::on_progress`] takes one that receives
/// each [`ProgressEvent`] (any `Fn(ProgressEvent<'_>) + Send + Sync` is a `Progress`).
pub trait Progress: Send + Sync {
    /// The walk found a file of this size (unknown: `None`).
    fn file_found(&self, path: &str, size: Option<u64>) {
        let _ = (path, size);
    }
    /// `n` more bytes of the file `path` were written.
    fn bytes(&self, path: &str, n: u64) {
        let _ = (path, n);
    }
    /// A file is complete on disk (`skipped`: it already was, nothing was fetched).
    fn file_done(&self, path: &str, skipped: bool) {
        let _ = (path, skipped);
    }
    /// A file or folder failed for good.
    fn failed(&self, path: &str, error: &Error) {
        let _ = (path, error);
    }
    /// A transfer is being retried after this error.
    fn retrying(&self, path: &str, error: &Error) {
        let _ = (path, error);
    }
    /// Another download job holds the destination `dest`; this one waits until it ends, then
    /// goes on (and skips what that job completed from the same source).
    fn waiting_for_destination(&self, dest: &Path) {
        let _ = dest;
    }
}

/// One thing that happened in a download job: the calls of [`Progress`] as a value, for a
/// closure given to [`Download::on_progress`]. New events may be added.
///
/// ```no_run
/// use codeocean::ProgressEvent;
///
/// # async fn example(client: &codeocean::Client) -> codeocean::Result<()> {
/// let summary = client
///     .download("66095e3a-0000-4000-8000-000000000001", "results")
///     .on_progress(|event: ProgressEvent<'_>| {
///         if let ProgressEvent::Bytes { path, n } = event {
///             eprintln!("{path}: +{n} bytes");
///         }
///     })
///     .run()
///     .await?;
/// # let _ = summary;
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub enum ProgressEvent<'a> {
    /// [`Progress::file_found`]: the walk found a file of this size (unknown: `None`).
    FileFound {
        /// The file's path in the tree.
        path: &'a str,
        /// Its listed size.
        size: Option<u64>,
    },
    /// [`Progress::bytes`]: `n` more bytes of the file `path` were written.
    Bytes {
        /// The file's path in the tree.
        path: &'a str,
        /// Bytes written since the last event for it.
        n: u64,
    },
    /// [`Progress::file_done`]: a file is complete on disk.
    FileDone {
        /// The file's path in the tree.
        path: &'a str,
        /// It already was complete; nothing was fetched.
        skipped: bool,
    },
    /// [`Progress::failed`]: a file or folder failed for good.
    Failed {
        /// Its path in the tree (`(listing)` for a listing that failed).
        path: &'a str,
        /// Why.
        error: &'a Error,
    },
    /// [`Progress::retrying`]: a transfer is being retried after this error.
    Retrying {
        /// The file's path in the tree.
        path: &'a str,
        /// What failed.
        error: &'a Error,
    },
    /// [`Progress::waiting_for_destination`]: another job holds the destination.
    WaitingForDestination {
        /// The destination folder.
        dest: &'a Path,
    },
}

impl<F> Progress for F
where
    F: Fn(ProgressEvent<'_>) + Send + Sync,
{
    fn file_found(&self, path: &str, size: Option<u64>) {
        self(ProgressEvent::FileFound { path, size });
    }
    fn bytes(&self, path: &str, n: u64) {
        self(ProgressEvent::Bytes { path, n });
    }
    fn file_done(&self, path: &str, skipped: bool) {
        self(ProgressEvent::FileDone { path, skipped });
    }
    fn failed(&self, path: &str, error: &Error) {
        self(ProgressEvent::Failed { path, error });
    }
    fn retrying(&self, path: &str, error: &Error) {
        self(ProgressEvent::Retrying { path, error });
    }
    fn waiting_for_destination(&self, dest: &Path) {
        self(ProgressEvent::WaitingForDestination { dest });
    }
}

struct NoProgress;
impl Progress for NoProgress {}

/// New ground a transfer must cover for its stall clock to start again: a body that
/// trickles in below this per request timeout (16 KiB per 90 s by default, about 180 B/s)
/// is stalled, though never silent long enough for the read timeout.
const MIN_PROGRESS: u64 = 16 << 10;

/// What a download job did. [`Download::run`] returns it when every file is complete; an
/// incomplete job is an error of kind [`ErrorKind::Incomplete`] that carries it
/// ([`Error::summary`]), unless the job [allows partial results](Download::allow_partial).
/// Fields may be added later (`#[non_exhaustive]`): read them; only a download builds one.
#[derive(Debug, Default)]
#[non_exhaustive]
#[must_use = "a summary may say that files failed; check `is_complete()` or use `into_result()`"]
pub struct Summary {
    /// Files fetched.
    pub downloaded: u64,
    /// Files already complete on disk, not fetched again: completed earlier from this same
    /// source and unchanged since.
    pub skipped: u64,
    /// Bytes written.
    pub bytes: u64,
    /// Transfers retried (broken connections, expired URLs, throttling...).
    pub retries: u64,
    /// Files and folders that failed for good, with why.
    pub failures: Vec<Failure>,
    /// Wall time of the job.
    pub elapsed: Duration,
    /// Why the job stopped before trying every file, if it did: the API refused the
    /// credentials (HTTP 401 or 403), so nothing more was asked of it. Files not tried are not
    /// in [`failures`](Self::failures); [`not_attempted`](Self::not_attempted) counts them.
    pub stopped: Option<String>,
    /// Files listed but not tried because the job [`stopped`](Self::stopped).
    pub not_attempted: u64,
    /// Where the limit on storage transfers at once ended ([`Download::concurrency`]).
    pub transfers: LimiterState,
    /// What was downloaded, for the message of [`into_result`](Self::into_result).
    what: String,
}

/// A file or folder of a download that failed for good: its path in the tree and why.
#[derive(Debug)]
#[non_exhaustive]
pub struct Failure {
    path: String,
    error: Error,
}

impl Failure {
    /// The file's (or folder's) path in the tree; `(listing)` for a listing that failed.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Why it failed.
    pub fn error(&self) -> &Error {
        &self.error
    }

    /// The error, taken out.
    pub fn into_error(self) -> Error {
        self.error
    }
}

impl Summary {
    /// Whether every file is complete on disk.
    pub fn is_complete(&self) -> bool {
        self.failures.is_empty() && self.stopped.is_none()
    }

    /// `Ok(self)` when complete, else an error of kind [`ErrorKind::Incomplete`] that counts the
    /// failures, quotes the first, and carries this summary ([`Error::summary`]): what
    /// [`Download::run`] returns unless the job [allows partial results](Download::allow_partial).
    pub fn into_result(self) -> Result<Summary> {
        if self.is_complete() {
            return Ok(self);
        }
        let error = if let Some(why) = &self.stopped {
            Error::new(
                ErrorKind::Incomplete,
                format!("downloading the {}", self.what),
                format!(
                    "stopped: {why}; {} complete, {} failed, {} listed file(s) not tried",
                    self.downloaded + self.skipped,
                    self.failures.len(),
                    self.not_attempted
                ),
            )
        } else {
            let first = &self.failures[0];
            Error::new(
                ErrorKind::Incomplete,
                if self.what.is_empty() {
                    "downloading".to_owned()
                } else {
                    format!("downloading the {}", self.what)
                },
                format!(
                    "{} file(s) or folder(s) failed ({} complete); first, `{}`: {}",
                    self.failures.len(),
                    self.downloaded + self.skipped,
                    first.path,
                    crate::DisplayErrorContext(&first.error)
                ),
            )
        };
        Err(error.with_summary(self))
    }
}

/// Checks a file path from the server (a result or a data asset file) and splits it into safe segments: no absolute path,
/// no `..`, `.` or empty segment, no NUL, backslash or drive letter.
pub fn safe_segments(path: &str) -> Result<Vec<&str>> {
    let refuse = |why: &str| {
        Err(Error::new(
            ErrorKind::UnsafePath,
            format!("checking server path {path:?}"),
            format!("refused: {why}; nothing was written for it"),
        ))
    };
    if path.is_empty() {
        return refuse("the path is empty");
    }
    if path.starts_with('/') {
        return refuse("the path is absolute");
    }
    if path.contains('\\') {
        return refuse("the path contains a backslash");
    }
    if path.contains('\0') {
        return refuse("the path contains a NUL byte");
    }
    let bytes = path.as_bytes();
    if bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':' {
        return refuse("the path starts with a drive letter");
    }
    let segments: Vec<&str> = path.split('/').collect();
    for s in &segments {
        match *s {
            "" => return refuse("the path has an empty segment"),
            "." | ".." => return refuse("the path has a `.` or `..` segment"),
            _ if cfg!(windows) && s.contains(':') => return refuse("the path contains `:`"),
            _ => {}
        }
    }
    Ok(segments)
}

/// Where a file of the tree goes, made ready for its transfer with nothing held open: the
/// folders above it created (none of them a symbolic link), where its part file is and how many
/// of its bytes can be resumed ([`resumable`]), or `None` when the file is already complete at
/// its final name (completed from this same source and unchanged since, as the destination's
/// journal says). All of it in one blocking call: a tree of small files would otherwise spend
/// more time hopping to a filesystem thread than transferring. The part file itself is opened
/// only when its transfer starts ([`open_part`]), so files waiting for a transfer slot hold no
/// file descriptor.
fn prepare_part(
    state: &DestState,
    dest: &Path,
    segments: &[&str],
    path: &str,
    size: Option<u64>,
) -> Result<Option<(Place, u64)>> {
    let dir = make_folders(dest, &segments[..segments.len() - 1], path)?;
    let name = segments[segments.len() - 1];
    let target = dir.join(name);
    match std::fs::symlink_metadata(&target) {
        Ok(m) if m.file_type().is_symlink() => {
            return Err(refused_write(
                path,
                format!("{} is a symbolic link", target.display()),
            ));
        }
        Ok(m) if m.is_file() && state.is_complete(path, size, Stamp::of(&m)) => return Ok(None),
        _ => {}
    }
    // The part file lives in the state folder under a short name tied to this source, path and
    // size: a part file of another source is never resumed (the job deleted those when it
    // started), and a legal file name stays legal.
    let part_name = state.part_name(path, size);
    let part = state.part_path(&part_name);
    let have = match part_metadata(&part, path)? {
        Some(m) => resumable(state, &part_name, size, m.len()),
        None => 0,
    };
    let place = Place {
        target,
        part,
        part_name,
    };
    Ok(Some((place, have)))
}

/// Opens the part file of `place` for writing (created if missing), when its transfer starts:
/// still a regular file, not a symbolic link, and emptied unless [`resumable`].
fn open_part(state: &DestState, place: Place, path: &str, size: Option<u64>) -> Result<PartFile> {
    let io = |what: &Path, e| write_failed(path, what, e);
    let part = &place.part;
    part_metadata(part, path)?;
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(part)
        .map_err(|e| io(part, e))?;
    let len = file.metadata().map_err(|e| io(part, e))?.len();
    let have = resumable(state, &place.part_name, size, len);
    if have < len {
        file.set_len(0).map_err(|e| io(part, e))?;
    }
    let validator = state.started(&place.part_name).flatten().map(str::to_owned);
    Ok(PartFile {
        file,
        have,
        validator,
        place,
    })
}

/// The part file's metadata, without following a symbolic link (`None`: there is none yet);
/// anything there but a regular file is refused.
fn part_metadata(part: &Path, path: &str) -> Result<Option<std::fs::Metadata>> {
    match std::fs::symlink_metadata(part) {
        Ok(m) if !m.is_file() => Err(refused_write(
            path,
            format!("{} is not a regular file", part.display()),
        )),
        Ok(m) => Ok(Some(m)),
        Err(_) => Ok(None),
    }
}

/// How many of the `len` bytes of a part file can be resumed: all of them when the journal says
/// this source started it and they are not more than the listed size, else none (nothing in it
/// can be trusted).
fn resumable(state: &DestState, part_name: &str, size: Option<u64>, len: u64) -> u64 {
    let trusted = state.started(part_name).is_some() && size.is_none_or(|s| len <= s);
    if trusted { len } else { 0 }
}

/// Creates the folders `folders` below `dest` for the file `path` (none of them may be a
/// symbolic link or something other than a folder); returns the innermost.
fn make_folders(dest: &Path, folders: &[&str], path: &str) -> Result<PathBuf> {
    let not_a_folder =
        |dir: &Path| refused_write(path, format!("{} is not a folder", dir.display()));
    let mut dir = dest.to_path_buf();
    for seg in folders {
        dir.push(seg);
        match std::fs::symlink_metadata(&dir) {
            Ok(m) if m.file_type().is_symlink() => {
                return Err(refused_write(
                    path,
                    format!("{} is a symbolic link", dir.display()),
                ));
            }
            Ok(m) if m.is_dir() => {}
            Ok(_) => return Err(not_a_folder(&dir)),
            Err(_) => match std::fs::create_dir(&dir) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let m =
                        std::fs::symlink_metadata(&dir).map_err(|e| write_failed(path, &dir, e))?;
                    if !m.is_dir() || m.file_type().is_symlink() {
                        return Err(not_a_folder(&dir));
                    }
                }
                Err(e) => return Err(write_failed(path, &dir, e)),
            },
        }
    }
    Ok(dir)
}

/// Writing the file `path` was refused: `why`.
fn refused_write(path: &str, why: String) -> Error {
    Error::new(
        ErrorKind::UnsafePath,
        format!("writing `{path}`"),
        format!("refused: {why}"),
    )
}

/// Writing the file `path` failed at `what`.
fn write_failed(path: &str, what: &Path, e: std::io::Error) -> Error {
    Error::io(format!("writing `{path}` ({})", what.display()), e)
}

/// A part file open for writing, and where it goes when complete.
struct PartFile {
    file: std::fs::File,
    /// Bytes already in it (from an earlier, interrupted run of this same source).
    have: u64,
    /// The storage validator of the response it was started from, if that had one.
    validator: Option<String>,
    place: Place,
}

/// Where a part file is, and where it goes when complete.
struct Place {
    /// Its final name.
    target: PathBuf,
    /// The part file.
    part: PathBuf,
    /// Its name in the state folder's `parts/`.
    part_name: String,
}

/// The validator of a storage response: its `ETag`, else its `Last-Modified`.
fn validator_of(headers: &reqwest::header::HeaderMap) -> Option<String> {
    headers
        .get(ETAG)
        .or_else(|| headers.get(LAST_MODIFIED))
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

impl Client {
    /// Starts describing a download of a computation's results into `dest` (created if
    /// missing). Files keep their result paths under `dest` (`figures/plot.png` goes to
    /// `dest/figures/plot.png`).
    pub fn download(&self, computation_id: &str, dest: impl Into<PathBuf>) -> Download {
        self.download_tree(&Tree::results(computation_id), dest)
    }

    /// Starts describing a download of a data asset's files into `dest` (created if missing),
    /// with the same machinery and guarantees as [`download`](Client::download): files keep
    /// their paths under `dest`, only complete files reach their final names, a re-run skips
    /// the files this data asset completed there and resumes partial ones, names from the
    /// server are checked, and the
    /// token is never sent to the storage host. URLs come from `files/urls`, or from the
    /// deprecated `files/download_url` on servers without it
    /// ([`data_asset_file_urls`](Client::data_asset_file_urls)).
    ///
    /// ```no_run
    /// # async fn example() -> codeocean::Result<()> {
    /// let client = codeocean::Client::from_env()?;
    /// let summary = client
    ///     .download_data_asset("da7a0000-0000-4000-8000-000000000001", "reference-data")
    ///     .path("genome") // only this folder (default: everything)
    ///     .run()
    ///     .await?; // an error unless every file is complete
    /// println!("{} fetched, {} already there", summary.downloaded, summary.skipped);
    /// # Ok(())
    /// # }
    /// ```
    pub fn download_data_asset(&self, data_asset_id: &str, dest: impl Into<PathBuf>) -> Download {
        self.download_tree(&Tree::data_asset(data_asset_id), dest)
    }

    /// Starts describing a download of a tree into `dest`:
    /// [`download`](Client::download) or [`download_data_asset`](Client::download_data_asset),
    /// for code that picks the kind of tree at run time.
    pub fn download_tree(&self, tree: &Tree, dest: impl Into<PathBuf>) -> Download {
        Download {
            client: self.clone(),
            tree: tree.clone(),
            dest: dest.into(),
            path: String::new(),
            concurrency: self.inner.download_concurrency,
            url_lookahead: None,
            list_concurrency: 16,
            progress: Arc::new(NoProgress),
            sync: false,
            limits: WalkLimits::default(),
            allow_partial: false,
            stop: std::sync::atomic::AtomicBool::new(false),
            fs: FsGate::default(),
            transfers: ApiLimiter::new(TRANSFERS, Duration::ZERO),
        }
    }
}

/// A download job: a whole tree (a computation's results or a data asset's files), a folder of
/// it, or one file. Made by [`Client::download`] and [`Client::download_data_asset`].
///
/// Each file is streamed to a part file in the destination's state folder
/// (`dest/.codeocean-download/parts/`, under a short name, so that any legal file name stays
/// legal) and renamed into place only once its byte count matches the listing, so a file at its
/// final name is always complete.
///
/// A re-run skips the files this same source (computation or data asset) completed there and
/// that are unchanged on disk since, as the destination's journal
/// (`.codeocean-download/manifest.jsonl`) records; any other file at a listed path is fetched again
/// and replaced. A partial file is resumed (`Range`, with `If-Range` and the storage validator it
/// was started from) only by the source that started it, at the same listed size; a `200`, or a
/// `206` of another object, starts it over. A job holds a lock on the destination: a second job
/// into the same folder waits for it (and says so through [`Progress::waiting_for_destination`]).
/// Server paths whose first segment is `.codeocean-download` (or a name some filesystem takes
/// for it: another case, HFS+-ignored code points, trailing dots or spaces) are refused.
/// Expired signed URLs are replaced, broken transfers resumed, throttling honoured. Names from
/// the server are checked ([`safe_segments`]) and no symbolic link inside `dest` is followed.
///
/// Nothing happens until [`run`](Self::run) is awaited. A job that leaves any file missing
/// is an error ([`ErrorKind::Incomplete`], carrying the [`Summary`]) unless it
/// [allows partial results](Self::allow_partial).
#[must_use = "a download does nothing until `.run()` is awaited"]
pub struct Download {
    client: Client,
    tree: Tree,
    dest: PathBuf,
    path: String,
    /// Storage transfers at once: `None` adapts ([`TRANSFERS`]).
    concurrency: Option<usize>,
    /// `None`: as many as the most transfers at once.
    url_lookahead: Option<usize>,
    list_concurrency: usize,
    progress: Arc<dyn Progress>,
    sync: bool,
    limits: WalkLimits,
    allow_partial: bool,
    /// Set once the API refused the credentials: nothing more is asked of it.
    stop: std::sync::atomic::AtomicBool,
    /// The job's filesystem steps run on its few threads, not on one thread per file in
    /// flight.
    fs: FsGate,
    /// Storage transfers pass it: made by `run` from `concurrency`.
    transfers: ApiLimiter,
}

/// Storage transfers at once, by default: adaptive, from 16, between 4 and 64, as the API
/// limiter adapts its requests (a transfer counts as answered at its response's headers).
/// Each transfer in flight holds a storage connection and its buffers, so the job grows
/// past 16 only while more transfers at once bring more answers a second (a storage host
/// far away, or many small files), and stays lower where they only queue (a host, disk or
/// CPU already at its limit).
const TRANSFERS: ApiConcurrency = ApiConcurrency::Adaptive {
    min: 4,
    initial: 16,
    max: 64,
};

impl std::fmt::Debug for Download {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Download")
            .field("tree", &self.tree)
            .field("dest", &self.dest)
            .field("path", &self.path)
            .field("concurrency", &self.concurrency)
            .field("max_transfers", &self.max_transfers())
            .field("url_lookahead", &self.lookahead())
            .field("sync", &self.sync)
            .field("allow_partial", &self.allow_partial)
            .finish_non_exhaustive()
    }
}

enum Fetched {
    Done(u64),
    Skipped,
    /// Not tried: the job stopped (credentials refused).
    NotAttempted,
}

impl Download {
    /// Only this folder (or file) of the tree (default: everything).
    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.path = path.into().trim_matches('/').to_owned();
        self
    }

    /// Storage transfers at once, fixed: files whose bytes are being fetched (default: the
    /// client's [download concurrency](crate::ClientBuilder::download_concurrency), which
    /// unless set adapts between 4 and 64, starting at 16, growing while more transfers at
    /// once bring more files a second and backing off on `429`, `503` or a clear rise in the
    /// storage host's latency; a number given here or there wins). Their URL calls to the API
    /// run ahead of them, up to [`url_lookahead`](Self::url_lookahead) files resolved and
    /// waiting, under the client's limit on API requests, so a transfer slot that frees up
    /// finds a file ready to fetch. Any number is taken: `usize::MAX` means no limit.
    /// Where the limit ended is in the job's [`Summary::transfers`].
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = Some(n.max(1));
        self
    }

    /// The most transfers at once.
    fn max_transfers(&self) -> usize {
        match self.concurrency {
            Some(n) => n,
            None => TRANSFERS.max(),
        }
    }

    /// Files whose signed URL may be asked for (or be ready) while they wait for a transfer
    /// slot ([`concurrency`](Self::concurrency)), at least 1 (default: as many as the job's
    /// concurrency). A file's URL call then overlaps the transfers before it instead of
    /// holding a slot for a round trip; the bound keeps the memory and the file descriptors
    /// of a job independent of the size of the tree (a waiting file holds no open file) and
    /// the URLs fresh (one that expired while waiting is asked for again). Any number is
    /// taken: `usize::MAX` means no limit.
    pub fn url_lookahead(mut self, n: usize) -> Self {
        self.url_lookahead = Some(n.max(1));
        self
    }

    /// The look-ahead in files: the one asked for, else the most transfers at once.
    fn lookahead(&self) -> usize {
        self.url_lookahead.unwrap_or_else(|| self.max_transfers())
    }

    /// Folders listed at once (default 16).
    pub fn list_concurrency(mut self, n: usize) -> Self {
        self.list_concurrency = n.max(1);
        self
    }

    /// Flushes each file to stable storage (`fsync`) before renaming it into place (default:
    /// off). Without it a file is still never at its final name before all its bytes were written,
    /// which is what an interrupted or crashed process needs; with it that also holds across a
    /// power loss, at a large cost in throughput (about half, for a 1 GiB file here).
    pub fn sync(mut self, sync: bool) -> Self {
        self.sync = sync;
        self
    }

    /// Deepest folder walked, in levels below the job's path (default
    /// [`DEFAULT_MAX_DEPTH`](crate::DEFAULT_MAX_DEPTH)); deeper folders are reported as failed
    /// ([`ErrorKind::Paging`]) and not listed.
    pub fn max_depth(mut self, levels: usize) -> Self {
        self.limits.max_depth = levels;
        self
    }

    /// Most entries walked (default [`DEFAULT_MAX_ENTRIES`](crate::DEFAULT_MAX_ENTRIES)); the
    /// walk ends there with a failure of kind [`ErrorKind::Paging`].
    pub fn max_entries(mut self, entries: u64) -> Self {
        self.limits.max_entries = entries;
        self
    }

    /// Reports progress to this hook (one shared between jobs, or one that keeps state).
    pub fn progress(mut self, progress: Arc<dyn Progress>) -> Self {
        self.progress = progress;
        self
    }

    /// Reports progress to this closure, called with each [`ProgressEvent`] (from several
    /// tasks at once): [`progress`](Self::progress) for when a closure is all that is needed.
    pub fn on_progress<F>(self, f: F) -> Self
    where
        F: Fn(ProgressEvent<'_>) + Send + Sync + 'static,
    {
        self.progress(Arc::new(f))
    }

    /// Whether a job that leaves files missing still returns `Ok` with its [`Summary`]
    /// (default `false`: it is an error of kind [`ErrorKind::Incomplete`] that carries the
    /// summary, [`Error::summary`]). With `true`, check [`Summary::is_complete`] or
    /// [`Summary::failures`] yourself, or turn it into that error with
    /// [`Summary::into_result`].
    pub fn allow_partial(mut self, allow: bool) -> Self {
        self.allow_partial = allow;
        self
    }

    /// Runs the job: `Ok` with the [`Summary`] when every file is complete on disk, else an
    /// error of kind [`ErrorKind::Incomplete`] that counts the failures, quotes the first and
    /// carries the summary ([`Error::summary`]), unless the job
    /// [allows partial results](Self::allow_partial). Other errors (the destination cannot be
    /// created or locked) mean nothing was tried. While another job holds the destination, it
    /// waits for it first (see [`Download`]). A `401` or `403` from the API
    /// ([`Error::is_credentials_refused`]) stops the whole job: the walk ends, no transfer
    /// starts, those in flight ask nothing more of the API, and [`Summary::stopped`] says why.
    pub async fn run(mut self) -> Result<Summary> {
        let started = Instant::now();
        let state = self.lock_destination().await?;
        let transfers = match self.concurrency {
            Some(n) => ApiConcurrency::Fixed(n.min(tokio::sync::Semaphore::MAX_PERMITS)),
            None => TRANSFERS,
        };
        // A storage host's `Retry-After` holds this job's transfers as long as the client's
        // limit on an API pause.
        self.transfers = ApiLimiter::new(transfers, self.client.inner.retry.max_retry_after);
        let job = Arc::new(self);
        // Listed entries waiting to be taken: enough that listing stays ahead of the transfers
        // (each takes two round trips; a folder listing one), few enough that memory does not
        // depend on the size of the tree.
        // (Bounded whatever the concurrency asked for: `usize::MAX` means "no limit", not a
        // channel of that size.)
        let queued = job.max_transfers().saturating_mul(16).clamp(256, 1 << 16);
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<ResultItem>>(queued);
        let walker = job.spawn_walk(tx);
        let retries = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let items =
            futures_util::stream::unfold(
                rx,
                |mut rx| async move { rx.recv().await.map(|i| (i, rx)) },
            );
        // Two stages per file (`fetch`): its URL, then its transfer in one of the slots of
        // `transfers`. The entries taken at once are the most transfers plus the look-ahead:
        // files resolved, or being resolved, that wait for a slot.
        let taken = job.max_transfers().saturating_add(job.lookahead());
        let mut results = std::pin::pin!(
            items
                .map(|item| {
                    let (state, retries) = (state.clone(), retries.clone());
                    job.clone().take(item, state, retries)
                })
                .buffer_unordered(taken)
        );
        let mut summary = Summary {
            what: job.tree.named(),
            ..Summary::default()
        };
        while let Some(done) = results.next().await {
            let Some((path, r)) = done else { continue };
            job.tally(&mut summary, path, r, &walker);
        }
        summary.retries = retries.load(Ordering::Relaxed);
        summary.elapsed = started.elapsed();
        summary.transfers = job.transfers.state();
        if job.allow_partial {
            Ok(summary)
        } else {
            summary.into_result()
        }
    }

    /// Creates the destination and takes its lock (waiting for another job that holds it).
    async fn lock_destination(&self) -> Result<Arc<DestState>> {
        tokio::fs::create_dir_all(&self.dest)
            .await
            .map_err(|e| Error::io(format!("creating {}", self.dest.display()), e))?;
        let dest = self.dest.clone();
        let source = self.tree.key();
        let progress = self.progress.clone();
        let state = (self.fs.run(move || {
            DestState::open(&dest, source, || {
                tracing::info!(
                    dest = %dest.display(),
                    "another download into this folder is running; waiting for it to end"
                );
                progress.waiting_for_destination(&dest);
            })
        }))
        .await?;
        Ok(Arc::new(state))
    }

    /// Starts the walk on its own task, so that listing never waits for transfers: it sends
    /// what it lists to `tx` (the job's single file, when its path names one).
    fn spawn_walk(
        self: &Arc<Self>,
        tx: tokio::sync::mpsc::Sender<Result<ResultItem>>,
    ) -> AbortOnDrop {
        let job = self.clone();
        let walker = tokio::spawn(async move {
            if let Some(item) = job.single_file().await {
                let _ = tx.send(item).await;
                return;
            }
            let mut walk = (job.client.walk_tree(&job.tree))
                .path(job.path.as_str())
                .concurrency(job.list_concurrency)
                .limits(job.limits)
                .stream();
            while let Some(item) = walk.next().await {
                if job.stopped() || tx.send(item).await.is_err() {
                    break;
                }
            }
        });
        AbortOnDrop(walker.abort_handle())
    }

    /// What becomes of one listed entry: a file is fetched (unless the job stopped), a
    /// listing failure is reported, a folder is nothing more to do.
    async fn take(
        self: Arc<Self>,
        item: Result<ResultItem>,
        state: Arc<DestState>,
        retries: Arc<std::sync::atomic::AtomicU64>,
    ) -> Option<(String, Result<Fetched>)> {
        match item {
            // Stopped: what was still queued is dropped, files counted.
            Err(_) if self.stopped() => None,
            Ok(item) if self.stopped() => {
                (item.type_ == ResultItemType::File).then(|| (item.path, Ok(Fetched::NotAttempted)))
            }
            Err(e) => Some((String::from("(listing)"), Err(e))),
            Ok(item) if item.type_ == ResultItemType::File => {
                let size = item.size.map(|s| s.max(0) as u64);
                self.progress.file_found(&item.path, size);
                let path = item.path.clone();
                let r = self.fetch(&state, &item, &retries).await;
                Some((path, r))
            }
            Ok(_) => None,
        }
    }

    /// Counts what became of a file (or a listing) in the summary and reports it; the first
    /// refusal of the credentials stops the job.
    fn tally(&self, summary: &mut Summary, path: String, r: Result<Fetched>, walker: &AbortOnDrop) {
        match r {
            Ok(Fetched::Done(bytes)) => {
                summary.downloaded += 1;
                summary.bytes += bytes;
                self.progress.file_done(&path, false);
            }
            Ok(Fetched::Skipped) => {
                summary.skipped += 1;
                self.progress.file_done(&path, true);
            }
            Ok(Fetched::NotAttempted) => summary.not_attempted += 1,
            Err(e) => {
                if e.is_credentials_refused() && summary.stopped.is_none() {
                    // Revoked or wrong credentials: every further request would be refused
                    // too. Stop the walk and start no transfer; those in flight end by
                    // themselves (each checks the flag before asking the API again).
                    self.stop.store(true, Ordering::Relaxed);
                    walker.0.abort();
                    summary.stopped = Some(format!(
                        "the API refused the credentials (HTTP {}); check the token",
                        e.status().unwrap_or(401)
                    ));
                }
                self.progress.failed(&path, &e);
                summary.failures.push(Failure { path, error: e });
            }
        }
    }

    /// Whether the job stopped (the API refused the credentials).
    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    /// When the job's path names a file, that file's listing entry.
    async fn single_file(&self) -> Option<Result<ResultItem>> {
        if self.path.is_empty() {
            return None;
        }
        let (parent, _) = self.path.rsplit_once('/').unwrap_or(("", &self.path));
        let items = self.tree.list(&self.client, parent).await.ok()?;
        items
            .into_iter()
            .find(|i| i.path.trim_matches('/') == self.path && i.type_ == ResultItemType::File)
            .map(Ok)
    }

    /// Downloads one file, resuming and retrying as needed: stage 1 (its path checked, the
    /// folders above it made, skipped when complete, else its URL asked for), then, in one of
    /// the slots of `transfers`, stage 2 (its transfer).
    async fn fetch(
        &self,
        state: &Arc<DestState>,
        item: &ResultItem,
        retries: &std::sync::atomic::AtomicU64,
    ) -> Result<Fetched> {
        let path = item.path.as_str();
        let segments = checked_segments(path)?;
        let size = item.size.map(|s| s.max(0) as u64);
        let Some((place, have)) = self.prepare(state, &segments, path, size).await? else {
            return Ok(Fetched::Skipped);
        };
        // A file with nothing left to fetch (empty, or whole in its part file) needs no URL.
        let url = if size == Some(have) {
            None
        } else {
            let deadline = tokio::time::Instant::now() + self.client.inner.request_timeout;
            match self.url(path, deadline).await? {
                Some(url) => Some(url),
                None => return Ok(Fetched::NotAttempted),
            }
        };
        let slot = self.transfers.acquire("storage").await;
        if self.stopped() {
            // Resolved while the job was still going, but its transfer never started.
            return Ok(Fetched::NotAttempted);
        }
        let part = self.open(state, place, path, size).await?;
        let mut transfer = Transfer::new(self, state, path, size, part, url, slot);
        while transfer.size != Some(transfer.have) {
            match transfer.attempt().await? {
                Step::Done => break,
                Step::Again => {}
                Step::NotAttempted => return Ok(Fetched::NotAttempted),
                Step::Retry(failure) => transfer.recover(failure, retries).await?,
            }
        }
        transfer.commit().await
    }

    /// A fresh signed URL of `path`, asked for by `deadline` (`None`: the job stopped).
    async fn url(&self, path: &str, deadline: tokio::time::Instant) -> Result<Option<String>> {
        if self.stopped() {
            return Ok(None);
        }
        let urls = tokio::time::timeout_at(deadline, self.tree.urls(&self.client, path))
            .await
            .map_err(|_| self.stalled(path))?;
        Ok(Some(urls?.download_url))
    }

    /// [`prepare_part`] on the job's filesystem threads.
    async fn prepare(
        &self,
        state: &Arc<DestState>,
        segments: &[&str],
        path: &str,
        size: Option<u64>,
    ) -> Result<Option<(Place, u64)>> {
        let dest = self.dest.clone();
        let segments: Vec<String> = segments.iter().map(|s| (*s).to_owned()).collect();
        let path = path.to_owned();
        let state = state.clone();
        (self.fs.run(move || {
            let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
            prepare_part(&state, &dest, &segments, &path, size)
        }))
        .await
    }

    /// [`open_part`] on the job's filesystem threads.
    async fn open(
        &self,
        state: &Arc<DestState>,
        place: Place,
        path: &str,
        size: Option<u64>,
    ) -> Result<PartFile> {
        let path = path.to_owned();
        let state = state.clone();
        (self.fs.run(move || open_part(&state, place, &path, size))).await
    }

    /// What the messages about a file say is being done.
    fn context(&self, path: &str) -> String {
        format!("downloading {}", self.tree.file(path))
    }

    /// The transfer of `path` made no progress within the request timeout.
    fn stalled(&self, path: &str) -> Error {
        Error::new(
            ErrorKind::Timeout,
            self.context(path),
            format!(
                "no progress within the request timeout of {:?} (retries included); \
                 the storage host stalled",
                self.client.inner.request_timeout
            ),
        )
    }

    /// A body that broke off while being read.
    fn broken_body(&self, path: &str, e: reqwest::Error) -> Error {
        let e = from_reqwest(self.context(path), e);
        if e.kind() != ErrorKind::Timeout {
            return e;
        }
        Error::new(
            ErrorKind::Timeout,
            self.context(path),
            format!(
                "the storage host sent nothing for {:?} (read timeout)",
                self.client.inner.read_timeout
            ),
        )
    }
}

/// Checks a file path from the listing: [`safe_segments`], and none of them a download's state
/// folder.
fn checked_segments(path: &str) -> Result<Vec<&str>> {
    let segments = safe_segments(path)?;
    // Any segment, not only the first: a folder of this tree may be the destination of
    // another download (`out` and `out/sub`), whose state folder is as much off limits.
    if segments.iter().any(|s| reaches_state(s)) {
        return Err(Error::new(
            ErrorKind::UnsafePath,
            format!("checking server path {path:?}"),
            format!(
                "refused: it would write into a download's own state folder `{STATE_DIR}`; \
                 nothing was written for it"
            ),
        ));
    }
    Ok(segments)
}

/// How one try of a transfer ended.
enum Step {
    /// The file is complete in its part file.
    Done,
    /// Start again at once: nothing failed (a resumed object turned out to be another one).
    Again,
    /// The job stopped before this file asked the API for a URL.
    NotAttempted,
    /// The try failed; [`Transfer::recover`] says whether to try again.
    Retry(Error),
}

/// The transfer of one file into its part file: where it stands, across its tries.
struct Transfer<'a> {
    job: &'a Download,
    state: &'a Arc<DestState>,
    path: &'a str,
    /// The listed size.
    size: Option<u64>,
    file: tokio::fs::File,
    /// Bytes in the part file.
    have: u64,
    /// The storage validator of the object the part file holds.
    validator: Option<String>,
    place: Place,
    /// The signed URL in use (`None`: ask the API for one).
    url: Option<String>,
    /// Bytes written by this job.
    written: u64,
    /// The furthest the part file has reached: only bytes beyond it are progress.
    furthest: u64,
    /// Where the stall clock last started: it starts again only once MIN_PROGRESS bytes of
    /// new ground follow, so a body that drips a byte at a time is a stall too.
    mark: u64,
    /// The transfer gives up once this passes without new ground, retries included.
    stall_deadline: tokio::time::Instant,
    /// Retries since the last progress: the retry budget is for consecutive failures.
    failures: usize,
    /// Its slot among the job's transfers, told how the storage host first answered.
    slot: Ticket<'a>,
}

impl<'a> Transfer<'a> {
    fn new(
        job: &'a Download,
        state: &'a Arc<DestState>,
        path: &'a str,
        size: Option<u64>,
        part: PartFile,
        url: Option<String>,
        slot: Ticket<'a>,
    ) -> Self {
        Self {
            job,
            state,
            path,
            size,
            file: tokio::fs::File::from_std(part.file),
            have: part.have,
            validator: part.validator,
            place: part.place,
            url,
            written: 0,
            furthest: part.have,
            mark: part.have,
            stall_deadline: tokio::time::Instant::now() + job.client.inner.request_timeout,
            failures: 0,
            slot,
        }
    }

    fn ctx(&self) -> String {
        self.job.context(self.path)
    }

    /// One try: a URL, one request to the storage host, and as much of its body as comes.
    async fn attempt(&mut self) -> Result<Step> {
        let Some(url) = self.url().await? else {
            return Ok(Step::NotAttempted);
        };
        let resp = match self.request(&url).await? {
            ControlFlow::Continue(resp) => resp,
            ControlFlow::Break(step) => return Ok(step),
        };
        let resp = match self.accept(resp).await? {
            ControlFlow::Continue(resp) => resp,
            ControlFlow::Break(step) => return Ok(step),
        };
        self.receive(resp).await
    }

    /// The signed URL to fetch: the one in use (resolved ahead by stage 1, or since), or a
    /// fresh one (`None`: the job stopped).
    async fn url(&mut self) -> Result<Option<String>> {
        if let Some(u) = &self.url {
            return Ok(Some(u.clone()));
        }
        let fresh = self.job.url(self.path, self.stall_deadline).await?;
        self.url.clone_from(&fresh);
        Ok(fresh)
    }

    /// Asks the storage host for the rest of the file.
    async fn request(&mut self, u: &str) -> Result<ControlFlow<Step, reqwest::Response>> {
        if tracing::enabled!(tracing::Level::DEBUG) {
            // Host and path only: the query of a signed URL is a credential.
            let parsed = reqwest::Url::parse(u).ok();
            tracing::debug!(
                host = parsed.as_ref().and_then(|p| p.host_str()).unwrap_or("?"),
                path = parsed.as_ref().map_or("?", |p| p.path()),
                from_byte = self.have,
                "GET from storage"
            );
        }
        let mut req = self.job.client.inner.storage.get(u);
        if self.have > 0 {
            req = req.header(RANGE, format!("bytes={}-", self.have));
            // Only the object the part file was started from may continue it: with
            // `If-Range` a server whose object changed sends it whole (`200`). A weak
            // `ETag` may not be used there; the check of the `206`'s in `accept` covers it.
            if let Some(v) = self.validator.as_deref().filter(|v| !v.starts_with("W/")) {
                req = req.header(IF_RANGE, v);
            }
        }
        match tokio::time::timeout_at(self.stall_deadline, req.send()).await {
            Ok(Ok(r)) => {
                if !matches!(r.status().as_u16(), 429 | 503 | 504) {
                    // (Those are told by `refused`, with their `Retry-After`.)
                    self.slot.answered(Signal::Answered);
                }
                Ok(ControlFlow::Continue(r))
            }
            Ok(Err(e)) => {
                let e = from_reqwest(self.ctx(), e);
                self.slot.answered(signal_of(&e));
                Ok(ControlFlow::Break(Step::Retry(e)))
            }
            Err(_) => {
                self.slot.answered(Signal::NoAnswer);
                Err(self.job.stalled(self.path))
            }
        }
    }

    /// Checks the answer: its status, and that it continues the part file (else the part file
    /// starts over); journals which object the part file holds before any byte of it is written.
    async fn accept(
        &mut self,
        resp: reqwest::Response,
    ) -> Result<ControlFlow<Step, reqwest::Response>> {
        let status = resp.status().as_u16();
        if !matches!(status, 200 | 206) {
            return self.refused(resp).await.map(ControlFlow::Break);
        }
        let resumed = status == 206 && range_start(resp.headers()) == Some(self.have);
        if status == 206 && !resumed {
            // A range other than the one asked for: its bytes belong elsewhere.
            self.start_over(true).await?;
            return Ok(ControlFlow::Break(Step::Retry(Error::status_error(
                self.ctx(),
                206,
                "the server answered another range than the one asked for; starting over",
                false,
                None,
            ))));
        }
        let got = validator_of(resp.headers());
        if resumed && self.validator.is_some() && got.is_some() && got != self.validator {
            // A server that ignored `If-Range` continued another object: drop the part file
            // and ask for the whole object again (no wait: nothing failed).
            drop(resp);
            self.start_over(true).await?;
            return Ok(ControlFlow::Break(Step::Again));
        }
        if !resumed && self.have > 0 {
            // The server sent the whole file (a `200` to a ranged request: the object
            // changed, or ranges are not served): start the part file over.
            self.start_over(false).await?;
        }
        if self.have == 0 {
            // Journal which object this part file holds before any byte of it is written, so
            // that only that object resumes it.
            self.validator = got;
            let validator = self.validator.as_deref();
            (self.state).record_start(&self.place.part_name, self.path, self.size, validator)?;
        } else if self.validator.is_none() {
            self.validator = got;
        }
        Ok(ControlFlow::Continue(resp))
    }

    /// An answer other than `200` or `206`: what to do about it.
    async fn refused(&mut self, resp: reqwest::Response) -> Result<Step> {
        match resp.status().as_u16() {
            403 => {
                // Expired (or otherwise refused) signed URL: get a fresh one.
                self.url = None;
                Ok(Step::Retry(Error::status_error(
                    self.ctx(),
                    403,
                    "signed URL refused (expired?)",
                    false,
                    None,
                )))
            }
            416 => {
                self.start_over(false).await?;
                Ok(Step::Retry(Error::status_error(
                    self.ctx(),
                    416,
                    "range not satisfiable; starting over",
                    false,
                    None,
                )))
            }
            _ => {
                let e = Error::from_response(self.ctx(), resp).await;
                self.slot.answered(signal_of(&e));
                if e.is_retryable() {
                    Ok(Step::Retry(e))
                } else {
                    Err(e)
                }
            }
        }
    }

    /// Empties the part file (and forgets which object it held, with `forget`).
    async fn start_over(&mut self, forget: bool) -> Result<()> {
        let ctx = self.job.context(self.path);
        self.file.set_len(0).await.map_err(|e| Error::io(ctx, e))?;
        self.have = 0;
        if forget {
            self.validator = None;
        }
        Ok(())
    }

    /// Writes the body into the part file, then says whether the file is complete.
    async fn receive(&mut self, resp: reqwest::Response) -> Result<Step> {
        let expected_len = resp
            .headers()
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        let start = self.have;
        let broken = self.write_body(resp).await?;
        if self.have > self.furthest && self.size.is_none_or(|s| self.have <= s) {
            // New ground was covered: the retry budget is for consecutive failures. (Bytes
            // past the listed size, or the same bytes again after a restart from zero, are not
            // progress: a server that always breaks at the same place must not be retried
            // forever.) The stall clock is not moved here: only MIN_PROGRESS bytes of new
            // ground (in `write_body`) move it, so a server that sends a byte per try ends too.
            self.furthest = self.have;
            self.failures = 0;
        }
        if let Some(e) = broken {
            if e.is_timeout() && tokio::time::Instant::now() >= self.stall_deadline {
                return Err(e);
            }
            return Ok(Step::Retry(e));
        }
        self.check_end(self.have - start, expected_len).await
    }

    /// Streams the body into the part file until it ends, breaks (the error), stalls, or goes
    /// past the listed size.
    async fn write_body(&mut self, resp: reqwest::Response) -> Result<Option<Error>> {
        let ctx = || self.job.context(self.path);
        let total = self.job.client.inner.request_timeout;
        (self.file.seek(std::io::SeekFrom::Start(self.have)).await)
            .map_err(|e| Error::io(ctx(), e))?;
        // Small files get small buffers, just what is left of them (a body never grows past
        // it: `size` stops the loop): a tree of thousands allocates one per transfer in flight.
        let capacity =
            (self.size).map_or(1 << 20, |s| s.saturating_sub(self.have).clamp(1, 1 << 20));
        let mut out = tokio::io::BufWriter::with_capacity(capacity as usize, &mut self.file);
        let mut body = resp.bytes_stream();
        let stall = tokio::time::sleep_until(self.stall_deadline);
        tokio::pin!(stall);
        let mut moved_at = tokio::time::Instant::now();
        let broken = loop {
            let chunk = tokio::select! {
                biased;
                chunk = body.next() => chunk,
                () = &mut stall => break Some(self.job.stalled(self.path)),
            };
            let c = match chunk {
                None => break None,
                Some(Ok(c)) => c,
                Some(Err(e)) => break Some(self.job.broken_body(self.path, e)),
            };
            let len = c.len() as u64;
            if self.size.is_some_and(|s| self.have + len > s) {
                // More than the listing said: stop reading at once (an endless body must not
                // fill the disk); `check_end` starts over.
                self.have += len;
                break None;
            }
            out.write_all(&c).await.map_err(|e| Error::io(ctx(), e))?;
            self.have += len;
            self.written += len;
            self.job.progress.bytes(self.path, len);
            if self.have > self.furthest && self.have >= self.mark.saturating_add(MIN_PROGRESS) {
                // New ground: the stall clock starts again (moved at most a few times a
                // second; a timer reset per chunk costs).
                let now = tokio::time::Instant::now();
                if now - moved_at >= Duration::from_millis(250) {
                    moved_at = now;
                    self.mark = self.have;
                    self.stall_deadline = now + total;
                    stall.as_mut().reset(self.stall_deadline);
                }
            }
        };
        out.flush().await.map_err(|e| Error::io(ctx(), e))?;
        Ok(broken)
    }

    /// After a body ended: whether the file is complete (`got` bytes came of the
    /// `Content-Length` the answer announced).
    async fn check_end(&mut self, got: u64, expected_len: Option<u64>) -> Result<Step> {
        match (self.size, expected_len) {
            (Some(s), _) if self.have == s => Ok(Step::Done),
            (Some(s), _) if self.have > s => {
                self.start_over(false).await?;
                Ok(Step::Retry(Error::new(
                    ErrorKind::Decode,
                    self.ctx(),
                    format!("received more bytes than the listed size {s}"),
                )))
            }
            (None, Some(len)) if got == len => Ok(Step::Done),
            (None, None) => Ok(Step::Done),
            _ => Ok(Step::Retry(Error::new(
                ErrorKind::Connection,
                self.ctx(),
                format!("the body ended early ({got} bytes received)"),
            ))),
        }
    }

    /// After a failed try: waits before the next one, or gives up with the failure.
    async fn recover(
        &mut self,
        failure: Error,
        retries: &std::sync::atomic::AtomicU64,
    ) -> Result<()> {
        if failure.kind() == ErrorKind::Connection && !failure.is_retryable() {
            // A storage host that does not resolve, or TLS answered by plain HTTP.
            return Err(failure);
        }
        let policy = &self.job.client.inner.retry;
        let Some(delay) = policy.next_delay(self.failures, &failure) else {
            return Err(failure);
        };
        if tokio::time::Instant::now() + delay >= self.stall_deadline {
            return Err(failure.with_note(format!(
                "gave up: no progress within the request timeout of {:?} (retries included)",
                self.job.client.inner.request_timeout
            )));
        }
        self.failures += 1;
        retries.fetch_add(1, Ordering::Relaxed);
        self.job.progress.retrying(self.path, &failure);
        tracing::debug!(path = self.path, error = %crate::DisplayErrorContext(&failure), "retrying transfer");
        // A fresh URL after an expiry needs no wait.
        if failure.status() != Some(403) {
            tokio::time::sleep(delay).await;
        }
        Ok(())
    }

    /// Journals the complete part file and renames it into place.
    async fn commit(self) -> Result<Fetched> {
        let context = self.ctx();
        let file = self.file.into_std().await;
        // The bytes are in: the slot goes to the next transfer while this one is renamed.
        drop(self.slot);
        let sync = self.job.sync;
        let state = self.state.clone();
        let (path, size, validator) = (self.path.to_owned(), self.size, self.validator);
        let Place {
            target,
            part,
            part_name,
        } = self.place;
        let fs = self.job.fs.clone();
        (fs.run(move || {
            if sync {
                file.sync_data()
                    .map_err(|e| Error::io(context.clone(), e))?;
            }
            // Journal the file as complete with the identity it keeps through the rename (its
            // length, modification time and inode) before it reaches its final name: a crash
            // in between leaves a journal line that matches no file at that name.
            let stamp = Stamp::of(&file.metadata().map_err(|e| Error::io(context.clone(), e))?);
            drop(file);
            state.record_done(&part_name, &path, size, validator.as_deref(), stamp)?;
            std::fs::rename(&part, &target).map_err(|e| Error::io(context, e))
        }))
        .await?;
        Ok(Fetched::Done(self.written))
    }
}

/// Where a `206`'s `Content-Range` starts.
fn range_start(headers: &reqwest::header::HeaderMap) -> Option<u64> {
    headers
        .get(CONTENT_RANGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("bytes "))
        .and_then(|v| v.split('-').next())
        .and_then(|v| v.parse::<u64>().ok())
}

struct AbortOnDrop(tokio::task::AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The must-use cases warn: each `compile_fail` block below is denied by `unused_must_use`,
/// and its twin that uses the value compiles (so the failure is the warning, not a typo).
///
/// A download never run:
/// ```compile_fail
/// #![deny(unused_must_use)]
/// fn f(client: &codeocean::Client) {
///     client.download("66095e3a", "out");
/// }
/// ```
/// ```
/// #![deny(unused_must_use)]
/// async fn f(client: &codeocean::Client) -> codeocean::Result<()> {
///     let _summary = client.download("66095e3a", "out").run().await?;
///     Ok(())
/// }
/// ```
/// A summary ignored (here of a job that allows partial results):
/// ```compile_fail
/// #![deny(unused_must_use)]
/// async fn f(client: &codeocean::Client) -> codeocean::Result<()> {
///     client.download("66095e3a", "out").allow_partial(true).run().await?;
///     Ok(())
/// }
/// ```
/// ```
/// #![deny(unused_must_use)]
/// async fn f(client: &codeocean::Client) -> codeocean::Result<()> {
///     let summary = client.download("66095e3a", "out").allow_partial(true).run().await?;
///     println!("{} failed", summary.failures.len());
///     Ok(())
/// }
/// ```
/// A wait never awaited, and a walk never streamed:
/// ```compile_fail
/// #![deny(unused_must_use)]
/// fn f(client: &codeocean::Client) {
///     client.wait_for_computation("66095e3a").timeout(std::time::Duration::from_secs(5));
/// }
/// ```
/// ```compile_fail
/// #![deny(unused_must_use)]
/// fn f(client: &codeocean::Client) {
///     client.walk_results("66095e3a").concurrency(4);
/// }
/// ```
/// ```
/// #![deny(unused_must_use)]
/// async fn f(client: &codeocean::Client) -> codeocean::Result<()> {
///     let _finished = client
///         .wait_for_computation("66095e3a")
///         .timeout(std::time::Duration::from_secs(5))
///         .await?;
///     let _entries = client.walk_results("66095e3a").concurrency(4).stream();
///     Ok(())
/// }
/// ```
#[cfg(doctest)]
pub(crate) struct MustUse;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_paths_are_refused() {
        for bad in [
            "",
            "/etc/passwd",
            "../x",
            "a/../../b",
            "a//b",
            "./a",
            "a/.",
            "a\\b",
            "C:/x",
            "c:x",
            "a\0b",
            "a/",
        ] {
            assert_eq!(
                safe_segments(bad).unwrap_err().kind(),
                ErrorKind::UnsafePath,
                "{bad:?}"
            );
        }
        assert_eq!(
            safe_segments("figures/plot 1.png").unwrap(),
            ["figures", "plot 1.png"]
        );
        assert_eq!(
            safe_segments("..hidden/x..y").unwrap(),
            ["..hidden", "x..y"]
        );
    }
}
