//! The client, its configuration, and how every API request is sent: one tracing span, retries
//! where they are safe, errors that name the operation.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::AtomicU8;
use std::time::{Duration, Instant, SystemTime};

use backon::BackoffBuilder as _;
use codeocean_raw::Operation;
use codeocean_raw::progenitor_client::{ByteStream, Error as RawError, ResponseValue};
use reqwest::header::HeaderValue;
use tracing::Instrument as _;

use crate::error::{Error, ErrorKind, Result, from_reqwest, snippet};
use crate::limit::{ApiConcurrency, ApiLimiter, LimiterState, Signal};

/// When and how often to retry a request that failed in a way that may pass.
///
/// `429 Too Many Requests` is retried on every request (the server did not act on it),
/// honouring `Retry-After` up to [`max_retry_after`](Self::max_retry_after). `500`, `502`, `503`,
/// `504`, timeouts and broken connections are retried only on idempotent requests; a run or a
/// data-asset creation is retried after them only when the connection could not even be opened
/// (so the request never reached the server): a duplicate run costs money.
///
/// Built from [`RetryPolicy::default`] or [`RetryPolicy::none`] and the setters; the fields
/// are public to read. The struct is `#[non_exhaustive]`, so a field added later breaks no
/// caller: it cannot be built with a struct literal outside this crate.
///
/// ```
/// use std::time::Duration;
/// use codeocean::{Client, RetryPolicy};
///
/// let retry = RetryPolicy::default()
///     .max_retries(3)
///     .initial_backoff(Duration::from_millis(100));
/// assert_eq!(retry.max_retries, 3);
/// assert_eq!(retry.max_backoff, RetryPolicy::default().max_backoff);
/// let builder = Client::builder().retry_policy(retry);
/// # let _ = builder;
/// ```
///
/// **A connection that cannot be opened** (refused, or no answer within the
/// [`connect_timeout`](ClientBuilder::connect_timeout)) has a short budget of its own: at most
/// [`CONNECT_RETRIES`](Self::CONNECT_RETRIES) retries (fewer if `max_retries` is lower), with
/// the backoff capped at [`CONNECT_MAX_BACKOFF`](Self::CONNECT_MAX_BACKOFF): about 1.4 s (up
/// to 2.8 s with jitter) in all with the defaults, instead of the 6 to 12 s of the full
/// budget. Nothing listening at the address is either a wrong domain or port, which no retry
/// fixes, or a server restarting, which takes longer than any backoff worth waiting for;
/// the retries are there for a blip of a load balancer, which passes in well under a second.
/// (A host that does not resolve and a plain-HTTP answer to TLS are not retried at all.) An
/// error that used up its retries says how many tries were made (`…; gave up after 4 tries`).
#[derive(Clone, Debug)]
#[non_exhaustive]
#[must_use = "a retry policy does nothing until passed to `ClientBuilder::retry_policy`"]
pub struct RetryPolicy {
    /// Retries after the first attempt (0 disables retrying).
    pub max_retries: usize,
    /// First backoff delay.
    pub initial_backoff: Duration,
    /// Longest backoff delay.
    pub max_backoff: Duration,
    /// Longest `Retry-After` honoured; a longer one fails the request at once.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 5,
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(10),
            max_retry_after: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// Most retries after a connection could not be opened (see the type's docs).
    pub const CONNECT_RETRIES: usize = 3;

    /// Longest backoff before retrying a connection that could not be opened.
    pub const CONNECT_MAX_BACKOFF: Duration = Duration::from_secs(1);

    /// No retries at all.
    pub fn none() -> Self {
        Self {
            max_retries: 0,
            ..Self::default()
        }
    }

    /// Retries after the first attempt (default 5; 0 disables retrying).
    pub fn max_retries(mut self, n: usize) -> Self {
        self.max_retries = n;
        self
    }

    /// First backoff delay (default 200 ms).
    pub fn initial_backoff(mut self, delay: Duration) -> Self {
        self.initial_backoff = delay;
        self
    }

    /// Longest backoff delay (default 10 s).
    pub fn max_backoff(mut self, delay: Duration) -> Self {
        self.max_backoff = delay;
        self
    }

    /// Longest `Retry-After` honoured (default 60 s); a longer one fails the request at once.
    pub fn max_retry_after(mut self, delay: Duration) -> Self {
        self.max_retry_after = delay;
        self
    }

    /// The wait before retry number `retry + 1` (`retry` retries made so far since the budget
    /// last started again) after `failure`, or `None` to give up: the retries are spent, or the
    /// server asked to wait longer (`Retry-After`) than [`max_retry_after`](Self::max_retry_after).
    /// The wait is the backoff (jittered exponential: backon's `ExponentialBuilder`) or the
    /// `Retry-After`, whichever is longer. Whether the failure may be retried at all is the
    /// caller's to say (an API call and a storage transfer differ there); both the API calls and
    /// the downloads take their waits from here.
    ///
    /// Crate-private: a caller of this crate gets its retries from the client and has no
    /// failure of its own to feed it.
    pub(crate) fn next_delay(&self, retry: usize, failure: &Error) -> Option<Duration> {
        // A connection that could not be opened: the short budget of its own.
        let (max_retries, max_backoff) = if is_connect_error(failure) {
            (
                self.max_retries.min(Self::CONNECT_RETRIES),
                self.max_backoff.min(Self::CONNECT_MAX_BACKOFF),
            )
        } else {
            (self.max_retries, self.max_backoff)
        };
        // Each delay of the sequence has its own jitter: the n-th of a fresh one is drawn as
        // the n-th of a running one would be.
        let backoff = backon::ExponentialBuilder::default()
            .with_min_delay(self.initial_backoff.min(max_backoff))
            .with_max_delay(max_backoff)
            .with_factor(2.0)
            .with_jitter()
            .with_max_times(max_retries)
            .build()
            .nth(retry)?;
        match failure.retry_after() {
            Some(ra) if ra > self.max_retry_after => None,
            Some(ra) => Some(ra.max(backoff)),
            None => Some(backoff),
        }
    }
}

/// How waiters poll: jittered exponential intervals between `initial_interval` and
/// `max_interval`, starting again from `initial_interval` whenever the state changes, up to
/// `max_wait` in all.
///
/// Built from [`PollPolicy::default`] and the setters; the fields are public to read. The
/// struct is `#[non_exhaustive]`, so a field added later breaks no caller: it cannot be built
/// with a struct literal outside this crate.
///
/// ```
/// use std::time::Duration;
/// use codeocean::{Client, PollPolicy};
///
/// let poll = PollPolicy::default()
///     .initial_interval(Duration::from_secs(5))
///     .max_wait(Some(Duration::from_secs(3600)));
/// assert_eq!(poll.max_wait, Some(Duration::from_secs(3600)));
/// assert_eq!(poll.factor, PollPolicy::default().factor);
/// let builder = Client::builder().poll_policy(poll);
/// # let _ = builder;
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
#[must_use = "a polling policy does nothing until passed to `ClientBuilder::poll_policy` or a waiter"]
pub struct PollPolicy {
    /// First interval between polls.
    pub initial_interval: Duration,
    /// Longest interval between polls.
    pub max_interval: Duration,
    /// Growth factor of the interval.
    pub factor: f32,
    /// Give up after this long (`None`: wait forever).
    pub max_wait: Option<Duration>,
}

impl Default for PollPolicy {
    fn default() -> Self {
        Self {
            initial_interval: Duration::from_secs(1),
            max_interval: Duration::from_secs(30),
            factor: 1.5,
            max_wait: Some(Duration::from_secs(24 * 3600)),
        }
    }
}

impl PollPolicy {
    /// First interval between polls (default 1 s).
    pub fn initial_interval(mut self, interval: Duration) -> Self {
        self.initial_interval = interval;
        self
    }

    /// Longest interval between polls (default 30 s).
    pub fn max_interval(mut self, interval: Duration) -> Self {
        self.max_interval = interval;
        self
    }

    /// Growth factor of the interval (default 1.5).
    pub fn factor(mut self, factor: f32) -> Self {
        self.factor = factor;
        self
    }

    /// Give up after this long (default `Some(24 h)`; `None`: wait forever).
    pub fn max_wait(mut self, max_wait: Option<Duration>) -> Self {
        self.max_wait = max_wait;
        self
    }

    pub(crate) fn intervals(&self) -> impl Iterator<Item = Duration> + use<> {
        backon::ExponentialBuilder::default()
            .with_min_delay(self.initial_interval)
            .with_max_delay(self.max_interval)
            .with_factor(self.factor)
            .with_jitter()
            .without_max_times()
            .build()
    }
}

/// The API token: never shown by `Debug` or `Display`.
#[derive(Clone)]
pub(crate) struct Token(pub(crate) String);

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

type Customize = Arc<dyn Fn(reqwest::ClientBuilder) -> reqwest::ClientBuilder + Send + Sync>;

/// Configures a [`Client`]. Start with [`Client::builder`].
#[derive(Clone)]
#[must_use = "a client builder does nothing until `.build()` is called"]
pub struct ClientBuilder {
    domain: Option<String>,
    pub(crate) token: Option<Token>,
    user_agent: String,
    connect_timeout: Duration,
    request_timeout: Duration,
    attempt_timeout: Duration,
    read_timeout: Duration,
    max_response_body: u64,
    retry: RetryPolicy,
    poll: PollPolicy,
    api_concurrency: ApiConcurrency,
    download_concurrency: Option<usize>,
    root_certificates: Vec<RootCertificates>,
    http2: bool,
    customize: Option<Customize>,
}

/// CA certificates to trust besides the platform's store, as given to the builder: read and
/// parsed at [`ClientBuilder::build`].
#[derive(Clone)]
enum RootCertificates {
    /// PEM bytes ([`ClientBuilder::add_root_certificates`]).
    Pem(Vec<u8>),
    /// A PEM file ([`ClientBuilder::add_root_certificates_file`]).
    File(std::path::PathBuf),
}

impl fmt::Debug for RootCertificates {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Pem(pem) => write!(f, "Pem({} bytes)", pem.len()),
            Self::File(path) => f.debug_tuple("File").field(path).finish(),
        }
    }
}

impl RootCertificates {
    /// Without a TLS feature there is nothing to trust with.
    #[cfg(not(any(feature = "rustls", feature = "native-tls")))]
    fn load(&self) -> Result<Vec<Root>> {
        Err(Error::new(
            ErrorKind::Config,
            "configuring the client",
            "root certificates need a TLS feature of the crate (rustls or native-tls)",
        ))
    }

    /// The certificates, or the configuration error naming where they were to come from.
    #[cfg(any(feature = "rustls", feature = "native-tls"))]
    fn load(&self) -> Result<Vec<Root>> {
        let config = |m: String| Error::new(ErrorKind::Config, "configuring the client", m);
        let (pem, whence) = match self {
            Self::Pem(pem) => (
                std::borrow::Cow::Borrowed(pem.as_slice()),
                "the PEM given to add_root_certificates".to_owned(),
            ),
            Self::File(path) => {
                let pem = std::fs::read(path).map_err(|e| {
                    config(format!(
                        "cannot read the CA certificate file `{}`: {e}",
                        path.display()
                    ))
                })?;
                (
                    std::borrow::Cow::Owned(pem),
                    format!("the CA certificate file `{}`", path.display()),
                )
            }
        };
        // A PEM block that is not a certificate (a private key) is skipped; one that does not
        // decode fails; no certificate at all fails too (a file of the wrong kind, most often).
        let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
            config(format!(
                "{whence} holds a certificate that cannot be read ({})",
                crate::DisplayErrorContext(&e)
            ))
        })?;
        if certs.is_empty() {
            return Err(config(format!(
                "{whence} holds no PEM certificate (`-----BEGIN CERTIFICATE-----`)"
            )));
        }
        // reqwest's rustls backend parses a certificate only when it builds the client, and
        // says nothing of which one failed: each is checked here as a trust anchor.
        #[cfg(feature = "rustls")]
        {
            use rustls::pki_types::CertificateDer;
            use rustls::pki_types::pem::PemObject as _;
            for der in CertificateDer::pem_slice_iter(&pem) {
                let checked = der.map_err(|e| e.to_string()).and_then(|der| {
                    rustls::RootCertStore::empty()
                        .add(der)
                        .map_err(|e| match e {
                            // Not "invalid peer certificate: …": no peer is involved yet.
                            rustls::Error::InvalidCertificate(c) => format!("{c:?}"),
                            e => e.to_string(),
                        })
                });
                if let Err(e) = checked {
                    return Err(config(format!(
                        "{whence} holds a certificate that cannot be read ({e})"
                    )));
                }
            }
        }
        Ok(certs)
    }
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("domain", &self.domain)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("user_agent", &self.user_agent)
            .field("connect_timeout", &self.connect_timeout)
            .field("request_timeout", &self.request_timeout)
            .field("attempt_timeout", &self.attempt_timeout)
            .field("read_timeout", &self.read_timeout)
            .field("max_response_body", &self.max_response_body)
            .field("retry", &self.retry)
            .field("poll", &self.poll)
            .field("api_concurrency", &self.api_concurrency)
            .field("download_concurrency", &self.download_concurrency)
            .field("root_certificates", &self.root_certificates)
            .field("http2", &self.http2)
            .finish_non_exhaustive()
    }
}

impl Default for ClientBuilder {
    fn default() -> Self {
        Self {
            domain: None,
            token: None,
            user_agent: format!("codeocean-rs/{}", env!("CARGO_PKG_VERSION")),
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(90),
            attempt_timeout: Duration::from_secs(30),
            read_timeout: Duration::from_secs(15),
            max_response_body: codeocean_raw::hooks::DEFAULT_MAX_BODY,
            retry: RetryPolicy::default(),
            poll: PollPolicy::default(),
            api_concurrency: ApiConcurrency::DEFAULT,
            download_concurrency: None,
            root_certificates: Vec::new(),
            http2: DEFAULT_HTTP2,
            customize: None,
        }
    }
}

impl ClientBuilder {
    /// The deployment: a bare domain (`acmecorp.codeocean.com`, HTTPS implied) or a URL
    /// (`https://acmecorp.codeocean.com`, `http://127.0.0.1:8080`), with or without `/api/v1`.
    pub fn domain(mut self, domain: impl Into<String>) -> Self {
        self.domain = Some(domain.into());
        self
    }

    /// The API token (sent as the HTTP Basic user name, to the API host only).
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(Token(token.into()));
        self
    }

    /// The `User-Agent` header (default `codeocean-rs/VERSION`).
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = user_agent.into();
        self
    }

    /// Time allowed to open a connection (default 10 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// The most time one API call may take in all, **retries and their waits included**
    /// (default 90 s), and the most time a file transfer may go without progress, retries
    /// included. This is the bound on a server that never answers.
    ///
    /// How the limits combine, for an API call: the call starts a clock; each try is given
    /// the [`attempt_timeout`](Self::attempt_timeout) or the time left on the clock, whichever
    /// is less (the [`connect_timeout`](Self::connect_timeout) counts inside the try); a retry
    /// whose backoff would end after the clock runs out is not made, and the call fails with the
    /// last error; a try still running when the clock runs out fails with
    /// [`ErrorKind::Timeout`]. So a call never takes longer than `request_timeout`: with the
    /// defaults, a hung server costs two tries of 30 s and a third cut at 90 s.
    ///
    /// For a transfer (a file of a download): each silence longer than the
    /// [`read_timeout`](Self::read_timeout) ends a try, and the transfer gives up once
    /// `request_timeout` has passed without 16 KiB of new ground (or the end of the file),
    /// whatever its retry budget says: a body that drips a byte every few seconds is a stall
    /// too. A transfer that keeps making progress is never cut: a 1 GiB file may take as long
    /// as it takes.
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// The most time one try of an API call may take, response body included (default 30 s);
    /// see [`request_timeout`](Self::request_timeout) for how it combines with the total.
    pub fn attempt_timeout(mut self, timeout: Duration) -> Self {
        self.attempt_timeout = timeout;
        self
    }

    /// Longest silence allowed while reading a download (default 15 s); it ends one try of the
    /// transfer, which is retried within [`request_timeout`](Self::request_timeout).
    pub fn read_timeout(mut self, timeout: Duration) -> Self {
        self.read_timeout = timeout;
        self
    }

    /// The most bytes an API response body may have, success or error (default 64 MiB,
    /// [`codeocean_raw::hooks::DEFAULT_MAX_BODY`]: four times the largest listing or search
    /// page expected, far below what would hurt). A longer body is cut off there and the call
    /// fails with [`ErrorKind::TooLarge`], naming the cap; it is not retried. (Error bodies are
    /// read only up to their first 64 KiB anyway, and downloads are bounded by the listed file
    /// size instead.)
    pub fn max_response_body(mut self, bytes: u64) -> Self {
        self.max_response_body = bytes;
        self
    }

    /// The retry policy (default [`RetryPolicy::default`]).
    pub fn retry_policy(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// The polling policy of waiters (default [`PollPolicy::default`]).
    pub fn poll_policy(mut self, poll: PollPolicy) -> Self {
        self.poll = poll;
        self
    }

    /// Fixes the number of API requests in flight at once, across all tasks using this client,
    /// at `n` (at least 1), instead of letting it adapt (the default, see
    /// [`adaptive_api_concurrency`](Self::adaptive_api_concurrency)). The last of the two
    /// setters called wins.
    ///
    /// A fixed limit fixes only the number in flight: a `429` or `503` with `Retry-After` still
    /// holds every API request of the client until it has passed, and the first `429`/`503`
    /// still makes the client pace its requests to the rate the server admits
    /// ([`LimiterState::rate`]).
    pub fn api_concurrency(mut self, n: usize) -> Self {
        self.api_concurrency = ApiConcurrency::Fixed(n.max(1));
        self
    }

    /// Lets the number of API requests in flight at once adapt between `min` and `max` (at
    /// least 1; the default is 4 to 64, starting at 16): one more per window of answers while
    /// answers stay fast and un-throttled and the client uses what it has; × 0.7 on a `429`,
    /// a `503` or a try that got no answer in time; × 0.9 when the smoothed latency rises above
    /// twice the lowest seen plus 10 ms; and back to where the answer rate peaked when two
    /// steps of 25 % growth in a row brought less than 10 % more answers a second (a server that
    /// only queues what more concurrency sends it). After a throttle or such a plateau, the
    /// number it had then is approached quickly and passed only slowly (a step per eight
    /// windows). Whatever the concurrency, a
    /// `429`/`503` with `Retry-After` holds every API request of the client until it has
    /// passed, and the first `429`/`503` makes the client pace all its API requests a little
    /// below the rate the server admitted in the second before, growing back slowly
    /// ([`LimiterState::rate`]). [`Client::api_limiter`] shows where it stands.
    ///
    /// ```
    /// let client = codeocean::Client::builder()
    ///     .domain("codeocean.example.org")
    ///     .token("cop_...")
    ///     .adaptive_api_concurrency(2, 128)
    ///     .build()?;
    /// let limiter = client.api_limiter();
    /// assert!(limiter.adaptive && limiter.concurrency == 16);
    /// # Ok::<(), codeocean::Error>(())
    /// ```
    pub fn adaptive_api_concurrency(mut self, min: usize, max: usize) -> Self {
        self.api_concurrency = ApiConcurrency::adaptive(min, max);
        self
    }

    /// Storage transfers at once in one download job, fixed at `n`, each file's URL call
    /// running ahead of them ([`Download::url_lookahead`](crate::Download::url_lookahead)).
    /// By default the number adapts, between 4 and 64 from 16: it grows while more transfers
    /// at once bring more files a second and backs off on `429`, `503` or a clear rise in the
    /// storage host's latency (see [`Download::concurrency`](crate::Download::concurrency),
    /// which wins over this for its job).
    pub fn download_concurrency(mut self, n: usize) -> Self {
        self.download_concurrency = Some(n.max(1));
        self
    }

    /// Trusts the CA certificates in this PEM (one or more `-----BEGIN CERTIFICATE-----`
    /// blocks) besides the platform's trust store, for the API and the storage origin alike:
    /// what a deployment signed by a company's own CA needs. May be called more than once;
    /// every certificate given is trusted. A PEM without a certificate fails at
    /// [`build`](Self::build) with [`ErrorKind::Config`]. See the crate docs, "Private CAs and
    /// HTTPS".
    pub fn add_root_certificates(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.root_certificates
            .push(RootCertificates::Pem(pem.into()));
        self
    }

    /// The same as [`add_root_certificates`](Self::add_root_certificates), read from a PEM file
    /// at [`build`](Self::build); a file that cannot be read or holds no certificate fails
    /// there with [`ErrorKind::Config`], naming the file. [`Client::builder_from_env`] takes
    /// one from `CODEOCEAN_CA_CERT`.
    pub fn add_root_certificates_file(mut self, path: impl Into<std::path::PathBuf>) -> Self {
        self.root_certificates
            .push(RootCertificates::File(path.into()));
        self
    }

    /// Whether to speak HTTP/2 with servers that offer it over TLS (ALPN), to the API and the
    /// storage origin alike (default [`DEFAULT_HTTP2`], `false`: HTTP/1.1 only).
    ///
    /// HTTP/1.1 is the default because `cargo xtask bench` (`BENCHMARKS.md`, section 7) found
    /// it as fast as HTTP/2 on many small requests (a tree of 2,000 files) and faster on big
    /// bodies (a 1 GiB file), where HTTP/2's flow control paces the download. `http2(true)`
    /// multiplexes the client's concurrent requests on one connection per origin (fewer
    /// connections and TLS handshakes), for servers or proxies that limit connections. Plain
    /// `http://` is HTTP/1.1 either way.
    pub fn http2(mut self, enabled: bool) -> Self {
        self.http2 = enabled;
        self
    }

    /// Adjusts the underlying `reqwest` clients (proxy, root certificates, pool settings...).
    /// The function is applied to both the API client and the storage client before this
    /// crate adds its timeouts and headers. A finished `reqwest::Client` cannot be taken
    /// instead: the token must be a default header of the API client only.
    pub fn customize_http(
        mut self,
        f: impl Fn(reqwest::ClientBuilder) -> reqwest::ClientBuilder + Send + Sync + 'static,
    ) -> Self {
        self.customize = Some(Arc::new(f));
        self
    }

    /// Builds the client.
    pub fn build(self) -> Result<Client> {
        let config = |m: &str| Error::new(ErrorKind::Config, "configuring the client", m);
        let domain = self
            .domain
            .as_deref()
            .ok_or_else(|| config("no domain: set it, or CODEOCEAN_DOMAIN"))?;
        let base = base_url(domain).map_err(|m| config(&m))?;
        let token = self
            .token
            .as_ref()
            .filter(|t| !t.0.is_empty())
            .ok_or_else(|| config("no API token: set it, or CODEOCEAN_TOKEN"))?;
        // `Authorization` (Basic, marked sensitive) and `Content-Type: application/json`.
        let headers = codeocean_raw::auth_headers(&token.0).map_err(|e| config(&e.to_string()))?;
        let ua = HeaderValue::from_str(&self.user_agent)
            .map_err(|_| config("the user agent is not a valid header value"))?;
        let mut roots = Vec::new();
        for source in &self.root_certificates {
            roots.extend(source.load()?);
        }
        let customize = |b: reqwest::ClientBuilder| {
            let b = match &self.customize {
                Some(f) => f(b),
                None => b,
            };
            let b = if self.http2 { b } else { b.http1_only() };
            trust(b, &roots)
        };
        // Feature `rustls` without `rustls-aws-lc`: reqwest takes rustls's process-wide crypto
        // provider, so ring is installed unless the program chose one already (then that one
        // is kept: installing fails, which is ignored).
        #[cfg(all(feature = "rustls", not(feature = "rustls-aws-lc")))]
        let _ = rustls::crypto::ring::default_provider().install_default();
        let api_http = customize(reqwest::Client::builder())
            .default_headers(headers)
            .user_agent(ua.clone())
            .connect_timeout(self.connect_timeout)
            // A backstop for users of `raw()`; `send` bounds each try and the whole call itself.
            .timeout(self.attempt_timeout.min(self.request_timeout))
            .tcp_nodelay(true)
            .build()
            .map_err(|e| build_error(&roots, e))?;
        // The storage client carries no credentials: signed URLs point at another host, which
        // refuses a second credential, and the token must never leave the API host.
        let storage_http = customize(reqwest::Client::builder())
            .user_agent(ua)
            .connect_timeout(self.connect_timeout)
            .read_timeout(self.read_timeout)
            .tcp_nodelay(true)
            .build()
            .map_err(|e| build_error(&roots, e))?;
        let limiter = ApiLimiter::new(self.api_concurrency, self.retry.max_retry_after);
        Ok(Client {
            inner: Arc::new(Inner {
                raw: codeocean_raw::Client::new_with_client(
                    &base,
                    api_http,
                    codeocean_raw::hooks::Hooks::default()
                        .max_body(self.max_response_body)
                        .observe(log_exchange),
                ),
                storage: storage_http,
                base,
                request_timeout: self.request_timeout,
                attempt_timeout: self.attempt_timeout,
                read_timeout: self.read_timeout,
                retry: self.retry,
                poll: self.poll,
                limiter,
                download_concurrency: self.download_concurrency,
                url_mode: [
                    AtomicU8::new(URL_MODE_UNKNOWN),
                    AtomicU8::new(URL_MODE_UNKNOWN),
                ],
                probe: [tokio::sync::Mutex::new(()), tokio::sync::Mutex::new(())],
            }),
        })
    }
}

/// Whether a client speaks HTTP/2 with servers that offer it over TLS unless told otherwise
/// ([`ClientBuilder::http2`]): no, HTTP/1.1, the faster in `BENCHMARKS.md` section 7.
pub const DEFAULT_HTTP2: bool = false;

/// The environment variable [`Client::builder_from_env`] reads a CA certificate file from.
pub const CA_CERT_ENV: &str = "CODEOCEAN_CA_CERT";

/// `builder` also trusting the CA certificates of `CODEOCEAN_CA_CERT`, when it is set.
pub(crate) fn with_env_ca(builder: ClientBuilder) -> ClientBuilder {
    match std::env::var_os(CA_CERT_ENV) {
        Some(path) if !path.is_empty() => builder.add_root_certificates_file(path),
        _ => builder,
    }
}

/// `builder` trusting `roots` besides the platform's store (rustls: the platform verifier keeps
/// its store, `SSL_CERT_FILE` included; native-tls: the system library's).
#[cfg(any(feature = "rustls", feature = "native-tls"))]
fn trust(builder: reqwest::ClientBuilder, roots: &[Root]) -> reqwest::ClientBuilder {
    if roots.is_empty() {
        builder
    } else {
        builder.tls_certs_merge(roots.iter().cloned())
    }
}

/// Without a TLS feature there is nothing to trust with (`build` refuses extra roots).
#[cfg(not(any(feature = "rustls", feature = "native-tls")))]
fn trust(builder: reqwest::ClientBuilder, _roots: &[Root]) -> reqwest::ClientBuilder {
    builder
}

/// A CA certificate to trust.
#[cfg(any(feature = "rustls", feature = "native-tls"))]
type Root = reqwest::Certificate;

/// Without a TLS feature, no certificate is ever made.
#[cfg(not(any(feature = "rustls", feature = "native-tls")))]
type Root = std::convert::Infallible;

/// reqwest refused to build a client: a configuration error (of the extra roots, most likely,
/// when there are any).
fn build_error(roots: &[Root], e: reqwest::Error) -> Error {
    let with = if roots.is_empty() {
        ""
    } else {
        " with the CA certificates given"
    };
    Error::new(
        ErrorKind::Config,
        "configuring the client",
        format!(
            "the HTTP client cannot be built{with} ({})",
            crate::DisplayErrorContext(&e.without_url())
        ),
    )
}

tokio::task_local! {
    /// The URL path of the last try of the API call this task is sending ([`Client::send`]),
    /// as the raw client's observer saw it: where an error learns its object's full id.
    static SENT_PATH: std::cell::RefCell<Option<String>>;
}

/// The id of the object a request is about: the last path parameter of the operation's
/// template (`/capsules/{capsule_id}/release/{job_id}`: the job), read from the path
/// that was sent (`/api/v1/capsules/c0ffee00-…/release/…`) and percent-decoded. `None`
/// for an operation without a path parameter.
fn path_subject(template: &str, sent: &str) -> Option<String> {
    let template: Vec<&str> = template.split('/').collect();
    let sent: Vec<&str> = sent.split('/').collect();
    let tail = sent.get(sent.len().checked_sub(template.len())?..)?;
    let (_, value) = template
        .iter()
        .zip(tail)
        .rfind(|(t, _)| t.starts_with('{'))?;
    Some(percent_decode(value))
}

/// `%XX` escapes of a path segment decoded (lossily: an id is UTF-8).
fn percent_decode(segment: &str) -> String {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Logs one API exchange (each try of each call): at INFO, so that `-v` shows it. The path only:
/// never a query string, never a header.
fn log_exchange(x: &codeocean_raw::hooks::Exchange<'_>) {
    // Outside `send` (a caller of `raw()`) there is no call to tell.
    let _ = SENT_PATH.try_with(|p| *p.borrow_mut() = Some(x.path.to_owned()));
    let elapsed_ms = x.elapsed.as_millis() as u64;
    match &x.outcome {
        Ok(status) => tracing::info!(
            method = %x.method,
            path = x.path,
            status = status.as_u16(),
            elapsed_ms,
            "{} {} {} ({elapsed_ms} ms)",
            x.method,
            x.path,
            status.as_u16()
        ),
        Err(e) => tracing::info!(
            method = %x.method,
            path = x.path,
            elapsed_ms,
            // The causes only: reqwest's own message names the URL, query included.
            error = std::iter::successors(std::error::Error::source(*e), |s| s.source())
                .map(|s| s.to_string())
                .collect::<Vec<_>>()
                .join(": "),
            "{} {} failed ({elapsed_ms} ms)",
            x.method,
            x.path
        ),
    }
}

/// Turns what a user calls their deployment into the API base URL.
pub(crate) fn base_url(domain: &str) -> std::result::Result<String, String> {
    let d = domain.trim().trim_end_matches('/');
    if d.is_empty() {
        return Err("the domain is empty".into());
    }
    let with_scheme = if d.contains("://") {
        d.to_owned()
    } else {
        format!("https://{d}")
    };
    let url = reqwest::Url::parse(&with_scheme)
        .map_err(|e| format!("`{domain}` is not a domain or URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("`{domain}`: only http and https are supported"));
    }
    if url.host_str().is_none() || !url.username().is_empty() || url.password().is_some() {
        return Err(format!("`{domain}`: expected a host, without credentials"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(format!("`{domain}`: a domain has no query or fragment"));
    }
    let path = url.path().trim_end_matches('/');
    let base = format!("{}{}", url.origin().ascii_serialization(), path);
    Ok(if path.ends_with("/api/v1") {
        base
    } else {
        format!("{base}/api/v1")
    })
}

pub(crate) const URL_MODE_UNKNOWN: u8 = 0;
pub(crate) const URL_MODE_MODERN: u8 = 1;
pub(crate) const URL_MODE_LEGACY: u8 = 2;

pub(crate) struct Inner {
    pub(crate) raw: codeocean_raw::Client,
    pub(crate) storage: reqwest::Client,
    base: String,
    /// The most time an API call (retries included) or a stalled transfer may take.
    pub(crate) request_timeout: Duration,
    /// The most time one try of an API call may take.
    attempt_timeout: Duration,
    /// The longest silence of a transfer (for messages; the storage client enforces it).
    pub(crate) read_timeout: Duration,
    pub(crate) retry: RetryPolicy,
    pub(crate) poll: PollPolicy,
    limiter: ApiLimiter,
    /// `None`: adaptive (the download's default).
    pub(crate) download_concurrency: Option<usize>,
    /// Which URL route the server has, per source kind (results, data asset files).
    pub(crate) url_mode: [AtomicU8; 2],
    /// Serializes the probe of each URL mode.
    pub(crate) probe: [tokio::sync::Mutex<()>; 2],
}

/// A Code Ocean API client. Cheap to clone (clones share connections, limits and what the
/// client learned about the server).
#[derive(Clone)]
pub struct Client {
    pub(crate) inner: Arc<Inner>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.inner.base)
            .field("retry", &self.inner.retry)
            .field("poll", &self.inner.poll)
            .finish_non_exhaustive()
    }
}

/// One API request about to be sent: its operation's id and method, whether it is safe to send
/// again (for an operation of the spec these come from its table, [`Operation`]), its path
/// template, and what it is about. Built by [`op`] (or [`Op::other`]).
pub(crate) struct Op {
    /// The operation id (`getCapsule`), for the limiter and the log; `request` for a route
    /// outside the spec.
    pub(crate) id: &'static str,
    pub(crate) method: &'static str,
    pub(crate) idempotent: bool,
    /// The spec's path template (`/capsules/{capsule_id}`), where the error's object is read.
    template: Option<&'static str>,
    /// What the request does, for messages: "listing results of computation ID" (full ids).
    pub(crate) what: String,
}

/// The operation `operation`, doing `what`.
pub(crate) fn op(operation: Operation, what: String) -> Op {
    Op {
        id: operation.id(),
        method: operation.method(),
        idempotent: operation.idempotent(),
        template: Some(operation.path()),
        what,
    }
}

impl Op {
    /// A request to a route the spec does not describe ([`Client::request_json`]): safe to
    /// send again when HTTP says its method is idempotent (GET, HEAD, PUT, DELETE, OPTIONS).
    pub(crate) fn other(method: &'static str, what: String) -> Op {
        Op {
            id: "request",
            method,
            idempotent: matches!(method, "GET" | "HEAD" | "PUT" | "DELETE" | "OPTIONS"),
            template: None,
            what,
        }
    }
}

/// What one try of a raw call gives: the decoded answer, or the raw client's error.
pub(crate) type RawResult<T> = std::result::Result<ResponseValue<T>, RawError<ByteStream>>;

impl Client {
    /// The polling policy the waiters use unless told otherwise
    /// ([`ClientBuilder::poll_policy`]); a wait's [`timeout`](crate::WaitForComputation::timeout)
    /// changes only its `max_wait`.
    pub fn poll_policy(&self) -> &PollPolicy {
        &self.inner.poll
    }

    /// The retry policy of API calls and transfers ([`ClientBuilder::retry_policy`]).
    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.inner.retry
    }

    /// Starts configuring a client.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// A client configured from the environment and the user's files: `CODEOCEAN_DOMAIN`
    /// (a bare domain or a URL) and `CODEOCEAN_TOKEN`, else the profile `CODEOCEAN_PROFILE`
    /// names or the configuration file's `default` profile, else `~/.codeocean/credentials.json`
    /// (the precedence is in the [`profile`](crate::profile) module), with default settings
    /// and the CA certificates of `CODEOCEAN_CA_CERT`, if set (see
    /// [`builder_from_env`](Self::builder_from_env)). Setting the two variables is enough, as
    /// it always was.
    pub fn from_env() -> Result<Client> {
        Self::builder_from_env()?.build()
    }

    /// A builder preset as [`from_env`](Self::from_env) resolves the domain and the token, to
    /// adjust further; and, when `CODEOCEAN_CA_CERT` is set (a PEM file of CA certificates to
    /// trust besides the platform's store),
    /// [`add_root_certificates_file`](ClientBuilder::add_root_certificates_file) of it. An
    /// [`ErrorKind::Config`] error says what to set when nothing configures the domain or
    /// the token.
    pub fn builder_from_env() -> Result<ClientBuilder> {
        let builder = crate::profile::Resolver::new().resolve()?.builder()?;
        Ok(with_env_ca(builder))
    }

    /// The API base URL (`https://…/api/v1`).
    pub fn base_url(&self) -> &str {
        &self.inner.base
    }

    /// The generated low-level client, for exact wire control. It carries the same
    /// credentials; it has no retries and no waiting.
    pub fn raw(&self) -> &codeocean_raw::Client {
        &self.inner.raw
    }

    /// Sends one API request with retries, in its own tracing span.
    pub(crate) async fn send<T, F, Fut>(&self, op: Op, mut attempt: F) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = std::result::Result<ResponseValue<T>, RawError<ByteStream>>>,
    {
        let span = tracing::info_span!(
            "codeocean.request",
            operation = op.id,
            method = op.method,
            status = tracing::field::Empty,
            retries = tracing::field::Empty,
            duration_ms = tracing::field::Empty,
        );
        let started = Instant::now();
        let deadline = tokio::time::Instant::now() + self.inner.request_timeout;
        let mut retries = 0u32;
        let calls = async {
            loop {
                let error = match self
                    .try_once(&op, &mut attempt, deadline, started, retries)
                    .await
                {
                    Ok(v) => return Ok(v),
                    Err(Tried::Final(e)) => return Err(e),
                    Err(Tried::Failed(e)) => e,
                };
                // The span's status is recorded once, at the end (as `retries` is): recorded at
                // each try it would show up repeated on every later try's line.
                let delay = self.retry_wait(error, &op, deadline, retries)?;
                retries += 1;
                tokio::time::sleep(delay).await;
            }
        };
        let (result, sent) = SENT_PATH
            .scope(std::cell::RefCell::new(None), async {
                let result = calls.await;
                (result, SENT_PATH.with(|p| p.take()))
            })
            .instrument(span.clone())
            .await;
        // The error names the object by its full id, as the request did.
        let result = result.map_err(|e| {
            match (sent.zip(op.template)).and_then(|(path, t)| path_subject(t, &path)) {
                Some(id) => e.about(id),
                None => e,
            }
        });
        span.record("duration_ms", started.elapsed().as_millis() as u64);
        // Recorded once, at the end: a span field recorded at each retry shows up repeated
        // (`retries=1 retries=2 …`) on every later line of the request log.
        span.record("retries", retries);
        if let Err(e) = &result {
            if let Some(s) = e.status() {
                span.record("status", s);
            }
            let e = crate::DisplayErrorContext(e);
            span.in_scope(|| tracing::debug!(error = %e, "request failed"));
        }
        result
    }

    /// One try of an API call, within the attempt timeout and the call's `deadline`.
    async fn try_once<T, F, Fut>(
        &self,
        op: &Op,
        attempt: &mut F,
        deadline: tokio::time::Instant,
        started: Instant,
        retries: u32,
    ) -> std::result::Result<T, Tried>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = std::result::Result<ResponseValue<T>, RawError<ByteStream>>>,
    {
        // The wait for the limiter (its shared gate, a slot, the request's turn) counts against
        // the call's clock, not the try's: a try's clock is for the server.
        let Ok(ticket) = tokio::time::timeout_at(deadline, self.inner.limiter.acquire(op.id)).await
        else {
            return Err(self.no_turn(op, retries));
        };
        let try_deadline = deadline.min(tokio::time::Instant::now() + self.inner.attempt_timeout);
        // The ticket covers reading an error body too: that is the same exchange.
        let outcome = tokio::time::timeout_at(try_deadline, async {
            match attempt().await {
                Ok(v) => Ok(v),
                Err(e) => Err(convert(e, &op.what).await),
            }
        })
        .await;
        match outcome {
            Ok(Ok(v)) => {
                ticket.done(Signal::Answered);
                tracing::Span::current().record("status", v.status().as_u16());
                Ok(v.into_inner())
            }
            Ok(Err(e)) => {
                ticket.done(signal_of(&e));
                Err(Tried::Failed(e))
            }
            Err(_) => {
                ticket.done(Signal::NoAnswer);
                Err(self.no_answer(op, try_deadline == deadline, started, retries))
            }
        }
    }

    /// Where this client's API limiter stands: requests allowed and in flight, the pace set
    /// after a throttle, and its notable changes (see
    /// [`ClientBuilder::adaptive_api_concurrency`]). Clones of a client share one limiter.
    pub fn api_limiter(&self) -> LimiterState {
        self.inner.limiter.state()
    }

    /// A call whose clock ran out while it waited for the client's API limiter: not sent
    /// (again); the error says why it waited.
    fn no_turn(&self, op: &Op, retries: u32) -> Tried {
        let limiter = self.inner.limiter.state();
        let why = match limiter.rate {
            Some(rate) => format!(
                "the client paces its API requests to {rate:.1} a second since the server \
                 throttled it ({} answer(s) 429 or 503)",
                limiter.throttled
            ),
            None => format!(
                "{} API request(s) of this client were in flight, its limit",
                limiter.in_flight
            ),
        };
        let sent = if retries == 0 {
            "never sent".to_owned()
        } else {
            format!("not sent again after {}", tries(retries))
        };
        Tried::Final(Error::new(
            ErrorKind::Timeout,
            op.what.as_str(),
            format!(
                "{sent} within the request timeout of {:?}, waiting for its turn: {why}",
                self.inner.request_timeout
            ),
        ))
    }

    /// A try that got no answer in time: the end of the call (`started` then) when the call's
    /// clock ran out (`last`), else a timeout that may be retried.
    fn no_answer(&self, op: &Op, last: bool, started: Instant, retries: u32) -> Tried {
        let (limit, timeout) = if last {
            ("request", self.inner.request_timeout)
        } else {
            ("attempt", self.inner.attempt_timeout)
        };
        // The raw hooks log a try when its answer arrives; this one never did.
        let elapsed = if last { started.elapsed() } else { timeout };
        tracing::info!(
            method = op.method,
            elapsed_ms = elapsed.as_millis() as u64,
            "{} ({}) gave no answer within the {limit} timeout",
            op.method,
            op.id
        );
        let detail = if last {
            format!(
                "no answer within the request timeout of {timeout:?} (retries included; {})",
                tries(retries + 1)
            )
        } else {
            format!("no answer within the attempt timeout of {timeout:?}")
        };
        let e = Error::new(ErrorKind::Timeout, op.what.as_str(), detail);
        if last {
            Tried::Final(e)
        } else {
            Tried::Failed(e)
        }
    }

    /// The wait before retrying after `error` (logged), or the error that ends the call, with a
    /// note saying why it was not retried where that is not plain.
    fn retry_wait(
        &self,
        error: Error,
        op: &Op,
        deadline: tokio::time::Instant,
        retries: u32,
    ) -> Result<Duration> {
        let total = self.inner.request_timeout;
        let max_retry_after = self.inner.retry.max_retry_after;
        let may_retry = self.may_retry(&error, op);
        let delay = may_retry
            .then(|| self.inner.retry.next_delay(retries as usize, &error))
            .flatten();
        let Some(delay) = delay else {
            return Err(match error.retry_after() {
                Some(ra) if ra > max_retry_after => error.with_note(format!(
                    "not retried: the server asked to wait {} (Retry-After), \
                     more than the {} this client waits at most",
                    secs(ra),
                    secs(max_retry_after)
                )),
                // The retries are spent: say how many tries that was.
                _ if may_retry && retries > 0 => {
                    error.with_note(format!("gave up after {}", tries(retries + 1)))
                }
                _ => error,
            });
        };
        if tokio::time::Instant::now() + delay >= deadline {
            if let Some(ra) = error.retry_after().filter(|ra| *ra >= delay) {
                return Err(error.with_note(format!(
                    "not retried: the server asked to wait {} (Retry-After), more \
                     than is left of the request timeout of {total:?} (retries included)",
                    secs(ra)
                )));
            }
            return Err(error.with_note(format!(
                "gave up after {}: the request timeout of {total:?} \
                 (retries included) ran out",
                tries(retries + 1)
            )));
        }
        // DEBUG, not WARN: a retry that succeeds is no news at the default level.
        tracing::debug!(
            retry = retries + 1,
            delay_ms = delay.as_millis() as u64,
            status = error.status(),
            retry_after_ms = error.retry_after().map(|d| d.as_millis() as u64),
            error = %crate::DisplayErrorContext(&error),
            "{}",
            if error.status() == Some(429) {
                "throttled (429); waiting before retrying"
            } else {
                "retrying"
            }
        );
        Ok(delay)
    }

    /// Whether `error` may be retried at all for `op` (the budget aside).
    fn may_retry(&self, error: &Error, op: &Op) -> bool {
        let safe = match (error.kind(), error.status()) {
            (ErrorKind::Status, Some(429)) => true,
            (ErrorKind::Status, Some(500 | 502 | 503 | 504)) | (ErrorKind::Timeout, _) => {
                op.idempotent
            }
            (ErrorKind::Connection, _) => op.idempotent || is_connect_error(error),
            _ => false,
        };
        safe && error.is_retryable()
    }
}

/// What a failed try says about the server's capacity.
pub(crate) fn signal_of(error: &Error) -> Signal {
    match (error.kind(), error.status()) {
        (ErrorKind::Status, Some(429 | 503)) => Signal::Throttled(error.retry_after()),
        (ErrorKind::Status, Some(504)) => Signal::NoAnswer,
        (ErrorKind::Timeout, _) => Signal::NoAnswer,
        (ErrorKind::Connection, _) => Signal::Neutral,
        _ => Signal::Answered,
    }
}

/// How a try of an API call failed.
enum Tried {
    /// The call is over: its clock ran out.
    Final(Error),
    /// This try failed; the call may retry it.
    Failed(Error),
}

/// Whether the connection could not be opened at all (so the request never left).
fn is_connect_error(error: &Error) -> bool {
    let mut src = std::error::Error::source(error);
    while let Some(s) = src {
        if let Some(re) = s.downcast_ref::<reqwest::Error>() {
            return re.is_connect();
        }
        src = s.source();
    }
    false
}

/// Parses `Retry-After`: delay-seconds or an HTTP date.
pub(crate) fn parse_retry_after(value: &str) -> Option<Duration> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = httpdate::parse_http_date(v).ok()?;
    Some(
        when.duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

/// Turns a progenitor error into ours, reading (a bounded part of) an error body.
pub(crate) async fn convert(e: RawError<ByteStream>, what: &str) -> Error {
    match e {
        RawError::ErrorResponse(rv) => Error::from_response(what, rv).await.api_answer(),
        RawError::CommunicationError(re) | RawError::ResponseBodyError(re) => {
            from_reqwest(what, re)
        }
        RawError::InvalidResponsePayload(bytes, err) if err.is_eof() => Error::new(
            ErrorKind::Connection,
            what,
            format!(
                "the response body ended early ({} bytes received; {err})",
                bytes.len()
            ),
        ),
        RawError::InvalidResponsePayload(bytes, err) => Error::new(
            ErrorKind::Decode,
            what,
            format!(
                "the server answered with success but its body could not be decoded ({err}); body starts: {}",
                snippet(&bytes, 200)
            ),
        ),
        RawError::UnexpectedResponse(resp) => Error::status_error(
            what,
            resp.status().as_u16(),
            "unexpected response status",
            false,
            None,
        )
        .api_answer(),
        RawError::InvalidRequest(m) => Error::new(ErrorKind::InvalidInput, what, m),
        other => Error::new(ErrorKind::Connection, what, other.to_string()),
    }
}

/// The message of an error body: the JSON `message` when there is one, else a snippet.
pub(crate) fn describe_body(status: u16, body: &[u8]) -> (String, bool) {
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(body)
        && let Some(m) = v.get("message").and_then(|m| m.as_str())
    {
        return (m.to_owned(), true);
    }
    let reason = reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("error");
    if body.is_empty() {
        (format!("{reason} (empty body)"), false)
    } else {
        (format!("{reason}; body: {}", snippet(body, 200)), false)
    }
}

/// A `Retry-After` wait for people: whole seconds (`3600s`), else as `Duration` shows it.
fn secs(d: Duration) -> String {
    if d.subsec_nanos() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{d:?}")
    }
}

/// "1 try", "3 tries".
fn tries(n: u32) -> String {
    if n == 1 {
        "1 try".to_owned()
    } else {
        format!("{n} tries")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_become_base_urls() {
        for (input, want) in [
            (
                "acmecorp.codeocean.com",
                "https://acmecorp.codeocean.com/api/v1",
            ),
            (
                "https://acmecorp.codeocean.com/",
                "https://acmecorp.codeocean.com/api/v1",
            ),
            (
                "https://acmecorp.codeocean.com/api/v1",
                "https://acmecorp.codeocean.com/api/v1",
            ),
            ("http://127.0.0.1:8080", "http://127.0.0.1:8080/api/v1"),
            (
                "http://localhost:1/prefix",
                "http://localhost:1/prefix/api/v1",
            ),
        ] {
            assert_eq!(base_url(input).unwrap(), want, "{input}");
        }
        for bad in [
            "",
            "ftp://x",
            "https://user:pw@host",
            "https://host/?q=1",
            "https://exa mple.com",
        ] {
            assert!(base_url(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        assert_eq!(parse_retry_after(" 7 "), Some(Duration::from_secs(7)));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO)
        );
        let later = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(120));
        let d = parse_retry_after(&later).unwrap();
        assert!(
            d > Duration::from_secs(100) && d <= Duration::from_secs(120),
            "{d:?}"
        );
        assert_eq!(parse_retry_after("soon"), None);
    }

    /// With the defaults, a server that never answers ends a call, and a storage host that
    /// stalls ends a transfer, within two minutes, retries included.
    #[test]
    fn default_limits_end_a_hung_call_or_a_stalled_transfer_within_two_minutes() {
        let b = Client::builder();
        let two_minutes = Duration::from_secs(120);
        // An API call: the total clock bounds every try and every backoff wait.
        assert!(b.request_timeout < two_minutes);
        // Each try fits inside the total at least twice (a retry is possible), and a connect
        // fits inside a try.
        assert!(b.attempt_timeout * 2 < b.request_timeout);
        assert!(b.connect_timeout < b.attempt_timeout);
        // A transfer: a stall is noticed by the read timeout, and the transfer ends once the
        // request timeout passed without progress; the stall clock cuts a try in progress too.
        assert!(b.read_timeout < b.request_timeout);
        assert!(b.request_timeout + b.read_timeout < two_minutes);
        // Before this bound existed: 6 tries of 60 s each.
        let old = Duration::from_secs(60) * (b.retry.max_retries as u32 + 1);
        assert!(old > two_minutes);
    }

    #[test]
    fn debug_never_shows_the_token() {
        let b = Client::builder().domain("x.example").token("s3cr3t-token");
        assert!(!format!("{b:?}").contains("s3cr3t"));
        // Root certificates show as their size or file, never their text.
        let with_roots = b
            .clone()
            .add_root_certificates("-----BEGIN CERTIFICATE-----")
            .add_root_certificates_file("/etc/acme/ca.pem")
            .http2(true);
        let shown = format!("{with_roots:?}");
        assert!(
            shown.contains(
                r#"root_certificates: [Pem(27 bytes), File("/etc/acme/ca.pem")], http2: true"#
            ),
            "{shown}"
        );
        let c = b.build().unwrap();
        assert!(!format!("{c:?}").contains("s3cr3t"));
        assert!(!format!("{:?}", c.raw()).contains("s3cr3t"));
    }

    #[test]
    fn next_delay_is_the_backoff_or_retry_after_within_the_budget() {
        let policy = RetryPolicy {
            max_retries: 3,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(300),
            max_retry_after: Duration::from_secs(60),
        };
        let broken = Error::new(ErrorKind::Connection, "x", "broken");
        // Jittered exponential: 100 ms, 200 ms, then capped at 300 ms, each plus up to itself.
        for (retry, base) in [100, 200, 300].into_iter().enumerate() {
            let base = Duration::from_millis(base);
            let d = policy.next_delay(retry, &broken).unwrap();
            assert!(d >= base && d <= base * 2, "retry {retry}: {d:?}");
        }
        assert_eq!(policy.next_delay(3, &broken), None, "the budget is spent");
        let throttled = |ra| Error::status_error("x", 429, "slow down", false, Some(ra));
        // A Retry-After longer than the backoff is waited for, up to max_retry_after.
        let long = Duration::from_secs(60);
        assert_eq!(policy.next_delay(0, &throttled(long)), Some(long));
        assert_eq!(policy.next_delay(3, &throttled(long)), None);
        // A longer one gives up at once.
        let too_long = Duration::from_secs(61);
        assert_eq!(policy.next_delay(0, &throttled(too_long)), None);
        // A shorter one: the backoff.
        let d = policy
            .next_delay(0, &throttled(Duration::from_millis(1)))
            .unwrap();
        assert!(d >= Duration::from_millis(100), "{d:?}");
    }

    #[test]
    fn jitter_differs_between_callers() {
        // Many tasks retrying (or waiters polling) at once must spread out: each schedule
        // draws its own jitter (backon's `std` feature; without it every schedule of the
        // process uses one fixed seed, so all of them wait exactly alike).
        let polls = PollPolicy::default();
        let a: Vec<Duration> = polls.intervals().take(8).collect();
        let b: Vec<Duration> = polls.intervals().take(8).collect();
        assert_ne!(a, b, "two waiters poll in lockstep");
        let retry = RetryPolicy::default();
        let broken = Error::new(ErrorKind::Connection, "x", "broken");
        let first: Vec<_> = (0..8).map(|_| retry.next_delay(0, &broken)).collect();
        assert!(
            first.windows(2).any(|w| w[0] != w[1]),
            "every first retry waits alike: {first:?}"
        );
    }

    #[test]
    fn the_subject_of_a_request_is_its_last_path_parameter() {
        let job = "/api/v1/capsules/c0ffee00-1/release/j%2F1";
        assert_eq!(
            path_subject(Operation::GetCapsuleReleaseJob.path(), job).as_deref(),
            Some("j/1")
        );
        let listing = "/prefix/api/v1/computations/66095e3a-0747/results";
        assert_eq!(
            path_subject(Operation::ListComputationResults.path(), listing).as_deref(),
            Some("66095e3a-0747")
        );
        let run = format!("/api/v1{}", Operation::RunComputation.path());
        assert_eq!(path_subject(Operation::RunComputation.path(), &run), None);
        assert_eq!(percent_decode("a%20b%zz%"), "a b%zz%");
    }

    /// Nothing listening: 3 short retries (about 1.4 s, at most 2.8 s with jitter), not the
    /// 5 of the full budget; other failures keep theirs.
    #[tokio::test]
    async fn a_connection_that_cannot_be_opened_has_a_short_budget() {
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        let client = Client::builder()
            .domain(format!("http://127.0.0.1:{port}"))
            .token("t")
            .build()
            .unwrap();
        let re = client
            .inner
            .storage
            .get(format!("http://127.0.0.1:{port}/"))
            .send()
            .await
            .unwrap_err();
        let refused = from_reqwest("getting x", re);
        assert!(is_connect_error(&refused), "{refused:?}");
        let policy = RetryPolicy::default();
        let delays: Vec<Duration> = (0..)
            .map_while(|n| policy.next_delay(n, &refused))
            .collect();
        assert_eq!(delays.len(), RetryPolicy::CONNECT_RETRIES, "{delays:?}");
        let total: Duration = delays.iter().sum();
        assert!(
            total >= Duration::from_millis(1400) && total <= Duration::from_millis(2800),
            "{total:?}"
        );
        let broken = Error::new(ErrorKind::Connection, "x", "broken");
        let full = (0..).map_while(|n| policy.next_delay(n, &broken)).count();
        assert_eq!(full, policy.max_retries);
        // A smaller budget of the policy wins.
        let one = RetryPolicy {
            max_retries: 1,
            ..RetryPolicy::default()
        };
        assert_eq!((0..).map_while(|n| one.next_delay(n, &refused)).count(), 1);
    }

    #[test]
    fn error_bodies() {
        assert_eq!(
            describe_body(404, br#"{"message":"nope"}"#),
            ("nope".into(), true)
        );
        let (d, json) = describe_body(502, b"<html><title>502 Bad Gateway</title></html>");
        assert!(!json && d.starts_with("Bad Gateway; body: <html>"), "{d}");
        assert_eq!(
            describe_body(404, b""),
            ("Not Found (empty body)".into(), false)
        );
    }

    #[test]
    fn each_policy_setter_sets_its_field_and_keeps_the_others() {
        let d = RetryPolicy::default();
        let r = RetryPolicy::default()
            .max_retries(2)
            .initial_backoff(Duration::from_millis(7))
            .max_backoff(Duration::from_millis(70));
        assert_eq!(
            (r.max_retries, r.initial_backoff, r.max_backoff),
            (2, Duration::from_millis(7), Duration::from_millis(70))
        );
        assert_eq!(r.max_retry_after, d.max_retry_after);
        let r = RetryPolicy::none().max_retry_after(Duration::from_secs(3));
        assert_eq!(
            (r.max_retries, r.max_retry_after),
            (0, Duration::from_secs(3))
        );
        assert_eq!(r.initial_backoff, d.initial_backoff);

        let d = PollPolicy::default();
        let p = PollPolicy::default()
            .initial_interval(Duration::from_millis(5))
            .max_interval(Duration::from_millis(9))
            .factor(2.0);
        assert_eq!(
            (p.initial_interval, p.max_interval, p.factor),
            (Duration::from_millis(5), Duration::from_millis(9), 2.0)
        );
        assert_eq!(p.max_wait, d.max_wait);
        assert_eq!(PollPolicy::default().max_wait(None).max_wait, None);
        assert_eq!(PollPolicy::default().max_wait(None).factor, d.factor);
    }
}
