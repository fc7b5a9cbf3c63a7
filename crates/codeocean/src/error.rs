//! The crate's one error type.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::{Stream, TryStreamExt as _};

use crate::client::{describe_body, parse_retry_after};

/// What went wrong, broadly. New kinds may be added (`#[non_exhaustive]`: match with a
/// wildcard arm). Its `Display` is a few lower-case words (`wait timeout`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The API (or the storage origin) answered with an error status; see [`Error::status`].
    Status,
    /// A request timed out.
    Timeout,
    /// The connection failed or broke.
    Connection,
    /// A success response whose body could not be decoded (malformed or truncated JSON).
    Decode,
    /// The client was configured wrongly (missing token, bad domain, ...).
    Config,
    /// An argument was refused before anything was sent.
    InvalidInput,
    /// A name from the server is not a safe relative path; nothing was written for it.
    UnsafePath,
    /// A local file operation failed.
    Io,
    /// A waiter gave up: the object had not reached a final state in time.
    WaitTimeout,
    /// The computation ended without succeeding (failed, stopped or an unknown end status).
    RunFailed,
    /// The data asset ended in state `failed`.
    AssetFailed,
    /// A release job of a capsule or pipeline ended `failed` or `canceled`.
    ReleaseFailed,
    /// A paged listing (a search) could not go on: the server said more pages follow but gave
    /// none that made progress, or the page cap was reached. Also a walk that reached its
    /// depth or entry cap ([`WalkLimits`](crate::WalkLimits)).
    Paging,
    /// A download did not complete: some files are missing or partial.
    Incomplete,
    /// A response body was longer than the client's cap
    /// ([`ClientBuilder::max_response_body`](crate::ClientBuilder::max_response_body)); reading
    /// stopped there and nothing was decoded.
    TooLarge,
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Status => "error status",
            Self::Timeout => "timeout",
            Self::Connection => "connection failed",
            Self::Decode => "undecodable response",
            Self::Config => "configuration error",
            Self::InvalidInput => "invalid input",
            Self::UnsafePath => "unsafe path",
            Self::Io => "local I/O error",
            Self::WaitTimeout => "wait timeout",
            Self::RunFailed => "run failed",
            Self::AssetFailed => "data asset failed",
            Self::ReleaseFailed => "release failed",
            Self::Paging => "paging stopped",
            Self::Incomplete => "incomplete download",
            Self::TooLarge => "response too large",
        })
    }
}

/// An error from the Code Ocean client.
///
/// Its message ([`Display`](fmt::Display)) names the operation and the object with its full id
/// (`listing results of computation 66095e3a-0747-4ec5-b8b1-95b89a428536: HTTP 404: …`),
/// keeps a snippet of a non-JSON body, and never contains the API token or a signed URL's
/// signature.
///
/// As in `reqwest` and `std`, the message carries this layer's part only; the underlying cause
/// (a connection refused, a file not found) is the [`source`](std::error::Error::source) chain.
/// To show it all on one line, use `anyhow`'s `{:#}`, or [`DisplayErrorContext`]:
///
/// ```
/// # async fn example(client: &codeocean::Client) {
/// if let Err(e) = client.get_computation("66095e3a-0747-4ec5-b8b1-95b89a428536").await {
///     // `getting computation 66095e3a-…: could not connect; gave up after 4 tries:
///     // error sending request: …: Connection refused (os error 111)`
///     eprintln!("{}", codeocean::DisplayErrorContext(&e));
/// }
/// # }
/// ```
pub struct Error {
    inner: Box<Inner>,
}

struct Inner {
    kind: ErrorKind,
    context: String,
    status: Option<u16>,
    detail: String,
    retry_after: Option<Duration>,
    /// Whether an error status came with a JSON error body (the route exists).
    json_body: bool,
    /// Whether the error status came from the API (not from the storage host).
    from_api: bool,
    /// Whether trying again cannot help (a host that does not resolve, TLS against plain HTTP).
    permanent: bool,
    /// The id of the object the error is about.
    id: Option<String>,
    /// A waiter's last state seen.
    last_state: Option<String>,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
    /// What an incomplete download did ([`ErrorKind::Incomplete`]).
    summary: Option<Box<crate::Summary>>,
}

impl Error {
    pub(crate) fn new(
        kind: ErrorKind,
        context: impl Into<String>,
        detail: impl Into<String>,
    ) -> Self {
        Self {
            inner: Box::new(Inner {
                kind,
                context: context.into(),
                status: None,
                detail: detail.into(),
                retry_after: None,
                json_body: false,
                from_api: false,
                permanent: false,
                id: None,
                last_state: None,
                source: None,
                summary: None,
            }),
        }
    }

    pub(crate) fn status_error(
        context: impl Into<String>,
        status: u16,
        detail: impl Into<String>,
        json_body: bool,
        retry_after: Option<Duration>,
    ) -> Self {
        let mut e = Self::new(ErrorKind::Status, context, detail);
        e.inner.status = Some(status);
        e.inner.json_body = json_body;
        e.inner.retry_after = retry_after;
        e
    }

    pub(crate) fn with_source(
        mut self,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        self.inner.source = Some(Box::new(source));
        self
    }

    /// Names the object the error is about ([`id`](Self::id)); an id set already is kept.
    pub(crate) fn about(mut self, id: impl Into<String>) -> Self {
        self.inner.id.get_or_insert_with(|| id.into());
        self
    }

    /// A waiter gave up: `what` (`computation`, `data asset`, ...) `id` had not reached a final
    /// state after `waited`; `last_state` is the state last seen (`None` before any answer).
    pub(crate) fn wait_timeout(
        what: &str,
        id: &str,
        last_state: Option<&str>,
        waited: Duration,
    ) -> Self {
        let mut e = Self::new(
            ErrorKind::WaitTimeout,
            format!("waiting for {what} {id}"),
            // Seconds always (`{:?}` would say `0.0ns` for a zero limit).
            format!(
                "gave up after {:.1}s; last state: {}",
                waited.as_secs_f64(),
                last_state.unwrap_or("unknown")
            ),
        )
        .about(id);
        e.inner.last_state = last_state.map(str::to_owned);
        e
    }

    /// Marks an error status as the API's answer (not the storage host's).
    pub(crate) fn api_answer(mut self) -> Self {
        self.inner.from_api = true;
        self
    }

    /// Adds a note to the message (`…: detail; note`).
    pub(crate) fn with_note(mut self, note: impl AsRef<str>) -> Self {
        if !self.inner.detail.is_empty() {
            self.inner.detail.push_str("; ");
        }
        self.inner.detail.push_str(note.as_ref());
        self
    }

    /// Marks the error as one that trying again cannot fix.
    pub(crate) fn permanent(mut self) -> Self {
        self.inner.permanent = true;
        self
    }

    /// Attaches what an incomplete download did.
    pub(crate) fn with_summary(mut self, summary: crate::Summary) -> Self {
        self.inner.summary = Some(Box::new(summary));
        self
    }

    /// What the download job did, for an error of kind [`ErrorKind::Incomplete`] from
    /// [`Download::run`](crate::Download::run) or [`Summary::into_result`](crate::Summary::into_result):
    /// the files fetched, and each that failed ([`Summary::failures`](crate::Summary::failures)).
    pub fn summary(&self) -> Option<&crate::Summary> {
        self.inner.summary.as_deref()
    }

    /// A local file operation failed: the message is the context, the I/O error its source.
    pub(crate) fn io(context: impl Into<String>, e: std::io::Error) -> Self {
        Self::new(ErrorKind::Io, context, "").with_source(e)
    }

    /// What went wrong, broadly.
    pub fn kind(&self) -> ErrorKind {
        self.inner.kind
    }

    /// The HTTP status, when the server answered with an error status.
    pub fn status(&self) -> Option<u16> {
        self.inner.status
    }

    /// Whether the object does not exist (HTTP 404).
    pub fn is_not_found(&self) -> bool {
        self.inner.status == Some(404)
    }

    /// Whether an HTTP request timed out ([`ErrorKind::Timeout`]): no answer in time, or a
    /// transfer that stalled. A waiter that gave up is **not** this (the server answered, the
    /// object just did not finish): ask [`is_wait_timeout`](Self::is_wait_timeout).
    pub fn is_timeout(&self) -> bool {
        self.inner.kind == ErrorKind::Timeout
    }

    /// Whether a waiter gave up ([`ErrorKind::WaitTimeout`]): the object had not reached a
    /// final state within the [`PollPolicy`](crate::PollPolicy)'s `max_wait`. It may still
    /// finish; [`last_state`](Self::last_state) says where it was.
    pub fn is_wait_timeout(&self) -> bool {
        self.inner.kind == ErrorKind::WaitTimeout
    }

    /// Whether the server throttled the request (HTTP 429), after the client's own retries;
    /// [`retry_after`](Self::retry_after) is the wait it asked for, if any.
    pub fn is_rate_limited(&self) -> bool {
        self.inner.status == Some(429)
    }

    /// Whether the connection failed or broke ([`ErrorKind::Connection`]): nothing, or only
    /// part, of an answer arrived.
    pub fn is_connection(&self) -> bool {
        self.inner.kind == ErrorKind::Connection
    }

    /// Whether the awaited computation, data asset or release job ended without succeeding
    /// ([`ErrorKind::RunFailed`], [`ErrorKind::AssetFailed`], [`ErrorKind::ReleaseFailed`]):
    /// the request went fine, the work did not.
    pub fn is_job_failed(&self) -> bool {
        matches!(
            self.inner.kind,
            ErrorKind::RunFailed | ErrorKind::AssetFailed | ErrorKind::ReleaseFailed
        )
    }

    /// The full id of the object the error is about (a computation, a capsule, a data asset,
    /// a release job), where there is one.
    pub fn id(&self) -> Option<&str> {
        self.inner.id.as_deref()
    }

    /// The state a waiter saw last before giving up ([`is_wait_timeout`](Self::is_wait_timeout)):
    /// `running`, `draft`, `in_progress`, ...; `None` for other errors, or when no poll
    /// answered.
    pub fn last_state(&self) -> Option<&str> {
        self.inner.last_state.as_deref()
    }

    /// Whether trying the same request again later may succeed: 408, 429, 5xx except 501,
    /// timeouts and broken connections. (The client retries these itself where that is safe;
    /// this tells you what is left.)
    pub fn is_retryable(&self) -> bool {
        if self.inner.permanent {
            return false;
        }
        match self.inner.kind {
            ErrorKind::Timeout | ErrorKind::Connection => true,
            ErrorKind::Status => {
                matches!(self.inner.status, Some(408 | 429 | 500 | 502 | 503 | 504))
            }
            _ => false,
        }
    }

    /// Whether the API refused the credentials: HTTP 401 or 403 from the API host. (A `403`
    /// from the storage host means a signed URL expired, and is not this.) Nothing sent with
    /// the same token can succeed; a download job stops at the first one.
    pub fn is_credentials_refused(&self) -> bool {
        self.inner.from_api && matches!(self.inner.status, Some(401 | 403))
    }

    /// The delay the server asked for (`Retry-After`), if any.
    pub fn retry_after(&self) -> Option<Duration> {
        self.inner.retry_after
    }

    pub(crate) fn has_json_body(&self) -> bool {
        self.inner.json_body
    }
}

impl fmt::Display for Error {
    /// The context, the status and this layer's detail (`getting computation …: HTTP 404: not
    /// found`); never the source chain.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = &self.inner;
        let status = i.status.map(|s| format!("HTTP {s}"));
        let parts = [Some(i.context.as_str()), status.as_deref(), Some(&i.detail)];
        let mut sep = "";
        for part in parts.into_iter().flatten().filter(|p| !p.is_empty()) {
            write!(f, "{sep}{part}")?;
            sep = ": ";
        }
        Ok(())
    }
}

/// Shows an error and its whole [`source`](std::error::Error::source) chain on one line,
/// `error: cause: cause`, as `anyhow`'s `{:#}` does (after `aws-smithy-types`'
/// `DisplayErrorContext`). A cause whose text the line already ends with is not repeated.
///
/// ```
/// # fn example(e: &codeocean::Error) {
/// eprintln!("error: {}", codeocean::DisplayErrorContext(e));
/// # }
/// ```
#[derive(Clone, Copy, Debug)]
pub struct DisplayErrorContext<E>(pub E);

impl<E: std::error::Error> fmt::Display for DisplayErrorContext<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut line = self.0.to_string();
        let mut src = self.0.source();
        while let Some(s) = src {
            let text = s.to_string();
            if !text.is_empty() && !line.ends_with(&text) {
                if !line.is_empty() {
                    line.push_str(": ");
                }
                line.push_str(&text);
            }
            src = s.source();
        }
        f.write_str(&line)
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = &self.inner;
        f.debug_struct("Error")
            .field("kind", &i.kind)
            .field("context", &i.context)
            .field("status", &i.status)
            .field("detail", &i.detail)
            .field("id", &i.id)
            .finish_non_exhaustive()
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.inner
            .source
            .as_deref()
            .map(|s| s as &(dyn std::error::Error + 'static))
    }
}

/// A non-success HTTP answer, from the API (through the raw client) or from the storage host
/// (through reqwest): what [`Error::from_response`] reads.
pub(crate) trait ErrorResponse {
    /// The status code.
    fn status(&self) -> u16;
    /// The headers (for `Retry-After`).
    fn headers(&self) -> &reqwest::header::HeaderMap;
    /// The body, as it arrives.
    fn into_body(self) -> impl Stream<Item = reqwest::Result<bytes::Bytes>>;
}

impl ErrorResponse for reqwest::Response {
    fn status(&self) -> u16 {
        self.status().as_u16()
    }
    fn headers(&self) -> &reqwest::header::HeaderMap {
        self.headers()
    }
    fn into_body(self) -> impl Stream<Item = reqwest::Result<bytes::Bytes>> {
        self.bytes_stream()
    }
}

impl ErrorResponse
    for codeocean_raw::progenitor_client::ResponseValue<
        codeocean_raw::progenitor_client::ByteStream,
    >
{
    fn status(&self) -> u16 {
        self.status().as_u16()
    }
    fn headers(&self) -> &reqwest::header::HeaderMap {
        self.headers()
    }
    fn into_body(self) -> impl Stream<Item = reqwest::Result<bytes::Bytes>> {
        self.into_inner().into_inner()
    }
}

impl Error {
    /// The error of a non-success answer: its status, the message of its body (the JSON
    /// `message`, else a snippet; at most the first [`ERROR_BODY_LIMIT`] bytes are read) and
    /// its `Retry-After`. An answer of the API is marked as such by the caller
    /// ([`api_answer`](Self::api_answer)).
    pub(crate) async fn from_response(
        context: impl Into<String>,
        response: impl ErrorResponse,
    ) -> Self {
        let status = response.status();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_retry_after);
        // At most 64 KiB of it: an error page without end must not fill memory.
        let body = read_error_body(response.into_body()).await;
        let (detail, json) = describe_body(status, &body);
        Self::status_error(context, status, detail, json, retry_after)
    }
}

/// Most bytes of an error body read into a message.
const ERROR_BODY_LIMIT: usize = 64 * 1024;

/// Reads at most [`ERROR_BODY_LIMIT`] bytes of an error body (the rest is never read).
async fn read_error_body<E>(
    stream: impl Stream<Item = std::result::Result<bytes::Bytes, E>>,
) -> Vec<u8> {
    let mut stream = std::pin::pin!(stream);
    let mut body = Vec::new();
    while body.len() < ERROR_BODY_LIMIT {
        match stream.try_next().await {
            Ok(Some(chunk)) => {
                let room = ERROR_BODY_LIMIT - body.len();
                body.extend_from_slice(&chunk[..chunk.len().min(room)]);
            }
            _ => break,
        }
    }
    body
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The first `max` characters of a body, on one line, for an error message.
pub(crate) fn snippet(body: &[u8], max: usize) -> String {
    let text = String::from_utf8_lossy(body);
    let mut out: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    if out.chars().count() > max {
        out = out.chars().take(max).collect::<String>() + "…";
    }
    out
}

/// Describes a reqwest error without its URL (a signed URL's query is a credential).
pub(crate) fn from_reqwest(context: impl Into<String>, e: reqwest::Error) -> Error {
    // reqwest reports a body cut short or stalled while streaming as a "decode" error whose
    // source is a body (or timeout) error: that is the connection failing, not bad content.
    let mut chain = std::iter::successors(std::error::Error::source(&e), |s| s.source());
    let transport = chain.any(|s| {
        s.downcast_ref::<reqwest::Error>()
            .is_some_and(|r| r.is_body() || r.is_timeout())
            || s.downcast_ref::<std::io::Error>().is_some()
    });
    let too_large = std::iter::successors(std::error::Error::source(&e), |s| s.source())
        .find_map(|s| s.downcast_ref::<codeocean_raw::hooks::BodyTooLarge>())
        .copied();
    if let Some(BodyTooLarge { limit }) = too_large {
        return Error::new(
            ErrorKind::TooLarge,
            context,
            format!(
                "the response body exceeds the limit of {} (ClientBuilder::max_response_body); \
                 reading stopped there",
                bytes_text(limit)
            ),
        );
    }
    if e.is_connect()
        && let Some(permanent) = connect_failure(&e)
    {
        // Diagnosed: the message says all, and what to do; the resolver's or TLS library's
        // jargon it replaces is not kept as a source to be printed after it.
        return Error::new(ErrorKind::Connection, context, permanent).permanent();
    }
    if let Some(hint) = not_http(&e) {
        return Error::new(ErrorKind::Connection, context, hint).permanent();
    }
    // This layer's words only: what reqwest, hyper and the OS said is the source chain.
    let (kind, detail) = if e.is_timeout() {
        (ErrorKind::Timeout, "timed out")
    } else if e.is_decode() && !transport {
        (ErrorKind::Decode, "the response body could not be decoded")
    } else if e.is_connect() {
        (ErrorKind::Connection, "could not connect")
    } else {
        (ErrorKind::Connection, "the connection failed")
    };
    Error::new(kind, context, detail).with_source(e.without_url())
}

use codeocean_raw::hooks::BodyTooLarge;

/// A byte count for messages: `64 MiB`, `512 KiB`, `1000 bytes`.
pub(crate) fn bytes_text(n: u64) -> String {
    if n >= 1 << 20 && n.is_multiple_of(1 << 20) {
        format!("{} MiB", n >> 20)
    } else if n >= 1 << 10 && n.is_multiple_of(1 << 10) {
        format!("{} KiB", n >> 10)
    } else {
        format!("{n} bytes")
    }
}

/// A connection failure that trying again cannot fix, described: a host name that does not
/// resolve, a server certificate this client refuses (untrusted issuer, other names, expired
/// or not yet valid), or a TLS handshake answered by a server speaking plain HTTP.
fn connect_failure(e: &reqwest::Error) -> Option<String> {
    let url = e.url()?;
    let host = url.host_str().unwrap_or("?");
    if url.scheme() == "https"
        && let Some(bad) = bad_certificate(e)
    {
        return Some(bad.message(host));
    }
    let chain: Vec<String> = std::iter::successors(std::error::Error::source(e), |s| s.source())
        .map(|s| s.to_string())
        .collect();
    // hyper-util names a resolver failure "dns error"; the cause is the resolver's own words.
    if let Some(i) = chain.iter().position(|s| s == "dns error") {
        let cause = chain[i + 1..].join(": ");
        // `EAI_AGAIN` ("Temporary failure in name resolution") or a resolver timeout: the name
        // may well exist; a blip of the resolver is retried like any connection failure.
        let lower = cause.to_ascii_lowercase();
        if ["temporary failure", "try again", "timed out"]
            .iter()
            .any(|t| lower.contains(t))
        {
            return None;
        }
        return Some(format!(
            "the host `{host}` could not be resolved ({cause}); check the domain"
        ));
    }
    // rustls: "received corrupt message of type InvalidContentType" (or InvalidMessage);
    // OpenSSL: "wrong version number". Either means the answer to a TLS hello was not TLS.
    let not_tls = chain.iter().any(|s| {
        s.contains("InvalidContentType")
            || s.contains("corrupt message")
            || s.contains("wrong version number")
    });
    if url.scheme() == "https" && not_tls {
        let port = url.port_or_known_default().unwrap_or(443);
        return Some(format!(
            "the server does not speak TLS; use http://{host}:{port}"
        ));
    }
    None
}

/// A plain-HTTP request answered by something that is not HTTP, described: what a server that
/// speaks only HTTPS does (its TLS library answers with an alert record). Only an answer that
/// does not even start like HTTP (hyper: "invalid HTTP version parsed") is taken for that; a
/// connection closed or reset without an answer may be anything, and keeps its usual words.
fn not_http(e: &reqwest::Error) -> Option<String> {
    let url = e.url()?;
    if url.scheme() != "http" {
        return None;
    }
    let not_http = std::iter::successors(std::error::Error::source(e), |s| s.source())
        .any(|s| s.to_string().contains("invalid HTTP version parsed"));
    let host = url.host_str()?;
    let port = url.port_or_known_default().unwrap_or(80);
    not_http.then(|| {
        format!(
            "the server's answer is not HTTP; if it speaks only HTTPS, use https://{host}:{port}"
        )
    })
}

/// Why the client refused a server's certificate, as far as the TLS library says.
#[derive(Debug, PartialEq, Eq)]
enum BadCertificate {
    /// Signed by a CA not trusted here (a private CA, or a self-signed certificate).
    UnknownIssuer,
    /// For other names than the host; the names when the TLS library says them.
    NotValidForName(Vec<String>),
    /// Past its end of validity (when that is known).
    Expired(Option<SystemTime>),
    /// Before its start of validity (when that is known).
    NotValidYet(Option<SystemTime>),
}

impl BadCertificate {
    /// The one line saying what is wrong with `host`'s certificate and what to do.
    fn message(&self, host: &str) -> String {
        let cert = format!("the certificate of {host}");
        match self {
            Self::UnknownIssuer => format!(
                "{cert} is signed by a CA this machine does not trust; if {host} uses a \
                 private CA, trust it with {}=<file.pem> (the CLI's --ca-cert) or the \
                 system's trust store",
                crate::CA_CERT_ENV
            ),
            Self::NotValidForName(names) if !names.is_empty() => {
                format!(
                    "{cert} is for {}, not {host}; check the domain",
                    names.join(", ")
                )
            }
            Self::NotValidForName(_) => format!("{cert} is not for {host}; check the domain"),
            Self::Expired(when) => format!(
                "{cert} {}; the server's certificate must be renewed (or this machine's clock \
                 is wrong)",
                match when {
                    Some(t) => format!("expired on {}", utc_text(*t)),
                    None => "has expired".to_owned(),
                }
            ),
            Self::NotValidYet(when) => format!(
                "{cert} {}; this machine's clock is wrong (or the server's certificate is dated \
                 in the future)",
                match when {
                    Some(t) => format!("is not valid before {}", utc_text(*t)),
                    None => "is not valid yet".to_owned(),
                }
            ),
        }
    }
}

/// What the TLS library said about a refused certificate, from `e`'s source chain: rustls's
/// own error where it is there (the `rustls` features), else its words (native-tls).
fn bad_certificate(e: &reqwest::Error) -> Option<BadCertificate> {
    let chain = || std::iter::successors(std::error::Error::source(e), |s| s.source());
    #[cfg(feature = "rustls")]
    {
        if let Some(rustls::Error::InvalidCertificate(c)) = chain().find_map(rustls_error)
            && let Some(bad) = from_rustls(c)
        {
            return Some(bad);
        }
    }
    chain().find_map(|s| bad_certificate_text(&s.to_string()))
}

/// The `rustls::Error` that is `e` or that `e` wraps. tokio-rustls hands the handshake's error
/// over inside an `io::Error` (which hyper-util wraps in another): an `io::Error`'s `source()`
/// skips the error it wraps, `get_ref` reaches it.
#[cfg(feature = "rustls")]
fn rustls_error<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    if let Some(r) = e.downcast_ref::<rustls::Error>() {
        return Some(r);
    }
    let inner = e.downcast_ref::<std::io::Error>()?.get_ref()?;
    rustls_error(inner)
}

/// A rustls certificate error we can say more about.
#[cfg(feature = "rustls")]
fn from_rustls(c: &rustls::CertificateError) -> Option<BadCertificate> {
    use rustls::CertificateError as C;
    let at = |t: &rustls::pki_types::UnixTime| UNIX_EPOCH + Duration::from_secs(t.as_secs());
    Some(match c {
        C::UnknownIssuer => BadCertificate::UnknownIssuer,
        C::NotValidForName => BadCertificate::NotValidForName(Vec::new()),
        C::NotValidForNameContext { presented, .. } => BadCertificate::NotValidForName(
            presented.iter().filter_map(|n| presented_name(n)).collect(),
        ),
        C::Expired => BadCertificate::Expired(None),
        C::ExpiredContext { not_after, .. } => BadCertificate::Expired(Some(at(not_after))),
        C::NotValidYet => BadCertificate::NotValidYet(None),
        C::NotValidYetContext { not_before, .. } => {
            BadCertificate::NotValidYet(Some(at(not_before)))
        }
        _ => return None,
    })
}

/// A name of webpki's list of the names a certificate is for (`DnsName("x.example")`,
/// `IpAddress(127.0.0.1)`) as a person writes it; other kinds of names are left out.
#[cfg_attr(not(feature = "rustls"), allow(dead_code))]
fn presented_name(name: &str) -> Option<String> {
    let inner = |prefix: &str| {
        name.strip_prefix(prefix)
            .and_then(|rest| rest.strip_suffix(')'))
            .map(|n| n.trim_matches('"').to_owned())
    };
    inner("DnsName(").or_else(|| inner("IpAddress("))
}

/// A refused certificate from the words of a TLS library (rustls's `Display`, OpenSSL's
/// verify results, Secure Transport's and SChannel's usual phrases).
fn bad_certificate_text(text: &str) -> Option<BadCertificate> {
    let t = text.to_ascii_lowercase();
    let any = |words: &[&str]| words.iter().any(|w| t.contains(w));
    if any(&["notvalidyet", "not yet valid", "not valid yet"]) {
        Some(BadCertificate::NotValidYet(None))
    } else if any(&[
        "certificate has expired",
        "certificate expired",
        "certificate: expired",
    ]) {
        Some(BadCertificate::Expired(None))
    } else if any(&[
        "notvalidforname",
        "hostname mismatch",
        "ip address mismatch",
        "not valid for name",
        "certificate is not valid for",
    ]) {
        Some(BadCertificate::NotValidForName(Vec::new()))
    } else if any(&[
        "unknownissuer",
        "unable to get local issuer certificate",
        "self-signed certificate",
        "self signed certificate",
        "untrusted root",
        "not trusted",
    ]) {
        Some(BadCertificate::UnknownIssuer)
    } else {
        None
    }
}

/// A time as HTTP writes it, `Thu, 01 Jan 2026 00:00:00 GMT` (httpdate: always UTC, whole
/// seconds).
fn utc_text(t: SystemTime) -> String {
    httpdate::fmt_http_date(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snippets_are_short_and_on_one_line() {
        let html = b"<html>\r\n<head><title>502 Bad Gateway</title></head>\n<body>x</body></html>";
        assert_eq!(snippet(html, 30), "<html> <head><title>502 Bad Ga…");
        let e = Error::status_error(
            "getting computation 66095e3a-0747-4ec5-b8b1-95b89a428536",
            404,
            "not found",
            true,
            None,
        );
        assert_eq!(
            e.to_string(),
            "getting computation 66095e3a-0747-4ec5-b8b1-95b89a428536: HTTP 404: not found"
        );
        assert!(e.is_not_found() && !e.is_retryable() && !e.is_rate_limited());
    }

    /// Display is this layer only; the cause is the source, shown once by DisplayErrorContext.
    #[test]
    fn display_leaves_the_cause_to_source() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "no such file");
        let e = Error::io("reading `a/b`", io);
        assert_eq!(e.to_string(), "reading `a/b`");
        assert_eq!(
            std::error::Error::source(&e).map(|s| s.to_string()),
            Some("no such file".into())
        );
        assert_eq!(
            DisplayErrorContext(&e).to_string(),
            "reading `a/b`: no such file"
        );
        // A note on an error without a detail of its own reads as the detail.
        let e =
            Error::new(ErrorKind::Connection, "getting x", "").with_note("gave up after 4 tries");
        assert_eq!(e.to_string(), "getting x: gave up after 4 tries");
        // A cause the line already ends with is not repeated.
        let io = std::io::Error::other("boom");
        let e = Error::new(ErrorKind::Io, "writing", "boom").with_source(io);
        assert_eq!(DisplayErrorContext(&e).to_string(), "writing: boom");
    }

    #[test]
    fn a_wait_timeout_is_not_an_http_timeout_and_keeps_the_last_state() {
        let id = "c0ffee00-0000-4000-8000-000000000001";
        let e = Error::wait_timeout("computation", id, Some("running"), Duration::from_secs(2));
        assert!(e.is_wait_timeout() && !e.is_timeout() && !e.is_retryable());
        assert_eq!(e.kind(), ErrorKind::WaitTimeout);
        assert_eq!(e.last_state(), Some("running"));
        assert_eq!(e.id(), Some(id));
        assert_eq!(
            e.to_string(),
            format!("waiting for computation {id}: gave up after 2.0s; last state: running")
        );
        let never = Error::wait_timeout("data asset", id, None, Duration::ZERO);
        assert_eq!(never.last_state(), None);
        assert!(
            never.to_string().ends_with("last state: unknown"),
            "{never}"
        );
        let http = Error::new(ErrorKind::Timeout, "getting x", "no answer");
        assert!(http.is_timeout() && !http.is_wait_timeout() && http.last_state().is_none());
    }

    #[test]
    fn the_questions_users_ask() {
        let throttled = Error::status_error("x", 429, "slow down", false, None);
        assert!(throttled.is_rate_limited() && throttled.is_retryable());
        let refused = Error::status_error("x", 401, "no", true, None).api_answer();
        assert!(refused.is_credentials_refused() && !refused.is_rate_limited());
        for kind in [
            ErrorKind::RunFailed,
            ErrorKind::AssetFailed,
            ErrorKind::ReleaseFailed,
        ] {
            assert!(Error::new(kind, "x", "y").is_job_failed(), "{kind}");
        }
        assert!(!Error::new(ErrorKind::WaitTimeout, "x", "y").is_job_failed());
        assert!(Error::new(ErrorKind::Connection, "x", "y").is_connection());
        // The id set first is kept.
        let e = Error::new(ErrorKind::Status, "x", "y")
            .about("a")
            .about("b");
        assert_eq!(e.id(), Some("a"));
    }

    #[test]
    fn dates_are_utc_and_exact() {
        let at = |s| UNIX_EPOCH + Duration::from_secs(s);
        assert_eq!(utc_text(at(0)), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(utc_text(at(951_782_400)), "Tue, 29 Feb 2000 00:00:00 GMT");
        assert_eq!(utc_text(at(1_798_761_599)), "Thu, 31 Dec 2026 23:59:59 GMT");
    }

    #[test]
    fn certificate_errors_read_from_a_tls_librarys_words() {
        use BadCertificate::*;
        for (text, want) in [
            // rustls's Display (any backend of the `rustls` features).
            (
                "invalid peer certificate: UnknownIssuer",
                Some(UnknownIssuer),
            ),
            (
                "invalid peer certificate: NotValidForName",
                Some(NotValidForName(vec![])),
            ),
            ("invalid peer certificate: Expired", Some(Expired(None))),
            (
                "invalid peer certificate: NotValidYet",
                Some(NotValidYet(None)),
            ),
            // OpenSSL (native-tls on Linux).
            (
                "error:0A000086:SSL routines:tls_post_process_server_certificate:certificate \
                 verify failed:ssl/statem/statem_clnt.c:1889: (unable to get local issuer certificate)",
                Some(UnknownIssuer),
            ),
            (
                "certificate verify failed: (self-signed certificate)",
                Some(UnknownIssuer),
            ),
            (
                "certificate verify failed: (certificate has expired)",
                Some(Expired(None)),
            ),
            (
                "certificate verify failed: (certificate is not yet valid)",
                Some(NotValidYet(None)),
            ),
            (
                "certificate verify failed: (Hostname mismatch)",
                Some(NotValidForName(vec![])),
            ),
            // Not certificates.
            ("received corrupt message of type InvalidContentType", None),
            ("connection reset by peer", None),
        ] {
            assert_eq!(bad_certificate_text(text), want, "{text}");
        }
        assert_eq!(
            presented_name(r#"DnsName("x.example")"#).as_deref(),
            Some("x.example")
        );
        assert_eq!(
            presented_name("IpAddress(127.0.0.1)").as_deref(),
            Some("127.0.0.1")
        );
        assert_eq!(presented_name("DirectoryName"), None);
    }

    #[test]
    fn certificate_messages_name_the_host_and_the_fix() {
        let h = "co.acme.internal";
        let line = BadCertificate::UnknownIssuer.message(h);
        assert_eq!(
            line,
            "the certificate of co.acme.internal is signed by a CA this machine does not trust; \
             if co.acme.internal uses a private CA, trust it with CODEOCEAN_CA_CERT=<file.pem> \
             (the CLI's --ca-cert) or the system's trust store"
        );
        assert_eq!(
            BadCertificate::NotValidForName(vec![]).message(h),
            "the certificate of co.acme.internal is not for co.acme.internal; check the domain"
        );
        assert_eq!(
            BadCertificate::Expired(None).message(h),
            "the certificate of co.acme.internal has expired; the server's certificate must be \
             renewed (or this machine's clock is wrong)"
        );
        assert_eq!(
            BadCertificate::NotValidYet(None).message(h),
            "the certificate of co.acme.internal is not valid yet; this machine's clock is \
             wrong (or the server's certificate is dated in the future)"
        );
    }

    #[test]
    fn error_kinds_read_as_words() {
        assert_eq!(ErrorKind::WaitTimeout.to_string(), "wait timeout");
        assert_eq!(ErrorKind::InvalidInput.to_string(), "invalid input");
    }
}
