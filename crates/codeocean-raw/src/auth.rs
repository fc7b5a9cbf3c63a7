//! An authenticated [`Client`] in one call: [`Client::with_token`], or [`Client::builder`] to
//! choose the hooks and the `reqwest` settings. Hand-written.

use std::fmt;
use std::time::Duration;

use base64::Engine as _;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue};

use crate::Client;
use crate::hooks::Hooks;

/// How long opening a connection may take in a client built by [`Client::with_token`] or by a
/// [`ClientBuilder`] without [`ClientBuilder::http`]: 10 seconds.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

impl Client {
    /// A client for the API at `base_url` (`https://acmecorp.codeocean.com/api/v1`) that sends
    /// `token` on every request, with the default [`Hooks`] (response bodies capped at 64 MiB)
    /// and a 10-second connect timeout ([`DEFAULT_CONNECT_TIMEOUT`]); no total timeout, so that
    /// long answers are not cut off. [`Client::builder`] chooses the hooks and the `reqwest`
    /// settings.
    ///
    /// Every request carries `Authorization: Basic base64("TOKEN:")` (marked sensitive, so that
    /// no `Debug` output shows it) and `Content-Type: application/json` ([`auth_headers`]).
    /// A program that uses the `codeocean` crate already has such a client:
    /// `codeocean::Client::raw()`, with the same credentials and settings.
    ///
    /// ```no_run
    /// # async fn example() -> Result<(), Box<dyn std::error::Error>> {
    /// let token = std::env::var("CODEOCEAN_TOKEN")?;
    /// let client =
    ///     codeocean_raw::Client::with_token("https://acmecorp.codeocean.com/api/v1", &token)?;
    /// let computation = client
    ///     .get_computation("66095e3a-0747-4ec5-b8b1-95b89a428536")
    ///     .await?
    ///     .into_inner();
    /// println!("{:?}", computation.state);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`BuildError`] when the token is empty or holds control characters, when `base_url` is
    /// not an absolute `http`/`https` URL, or when `reqwest` cannot build its client.
    pub fn with_token(base_url: &str, token: &str) -> Result<Self, BuildError> {
        Self::builder(base_url, token).build()
    }

    /// A builder of an authenticated client for the API at `base_url`, sending `token`: set
    /// the [`Hooks`] and the `reqwest` settings, then [`ClientBuilder::build`].
    ///
    /// ```no_run
    /// use std::time::Duration;
    ///
    /// # fn example(token: &str) -> Result<(), codeocean_raw::BuildError> {
    /// let client = codeocean_raw::Client::builder("https://acmecorp.codeocean.com/api/v1", token)
    ///     .hooks(codeocean_raw::hooks::Hooks::default().max_body(8 << 20))
    ///     .http(
    ///         codeocean_raw::reqwest::Client::builder()
    ///             .user_agent("my-tool/1.0")
    ///             .connect_timeout(Duration::from_secs(5)),
    ///     )
    ///     .build()?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn builder(base_url: impl Into<String>, token: impl Into<String>) -> ClientBuilder {
        ClientBuilder {
            base_url: base_url.into(),
            token: token.into(),
            hooks: Hooks::default(),
            http: None,
        }
    }
}

/// Builds an authenticated [`Client`]: made by [`Client::builder`]. Its `Debug` output never
/// shows the token.
#[must_use = "a builder does nothing until `build` is called"]
pub struct ClientBuilder {
    base_url: String,
    token: String,
    hooks: Hooks,
    http: Option<reqwest::ClientBuilder>,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("base_url", &self.base_url)
            .field("token", &"<redacted>")
            .field("hooks", &self.hooks)
            .field("http", &self.http.is_some())
            .finish()
    }
}

impl ClientBuilder {
    /// The hooks requests run with (the body cap and an observer); [`Hooks::default`] unless set.
    pub fn hooks(mut self, hooks: Hooks) -> Self {
        self.hooks = hooks;
        self
    }

    /// The `reqwest` builder to start from: timeouts, proxies, user agent, TLS. The client adds
    /// its two default headers ([`auth_headers`]) to those already set. Without it, the client
    /// starts from `reqwest::Client::builder().connect_timeout(DEFAULT_CONNECT_TIMEOUT)`.
    ///
    /// A total `timeout` also bounds reading the body: keep it above the time your largest
    /// answer takes.
    pub fn http(mut self, builder: reqwest::ClientBuilder) -> Self {
        self.http = Some(builder);
        self
    }

    /// The client.
    ///
    /// # Errors
    ///
    /// [`BuildError::InvalidToken`] for an empty token or one with control characters (a line
    /// break read from a file), [`BuildError::InvalidBaseUrl`] for a base URL that is not an
    /// absolute `http`/`https` URL without credentials, query or fragment, and
    /// [`BuildError::Http`] when `reqwest` cannot build its client (a TLS backend that does not
    /// load).
    pub fn build(self) -> Result<Client, BuildError> {
        let base = check_base_url(&self.base_url)?;
        let headers = auth_headers(&self.token)?;
        let http = self
            .http
            .unwrap_or_else(|| reqwest::Client::builder().connect_timeout(DEFAULT_CONNECT_TIMEOUT))
            .default_headers(headers)
            .build()
            .map_err(BuildError::Http)?;
        Ok(Client::new_with_client(base, http, self.hooks))
    }
}

/// The default headers of an API client: `Authorization: Basic base64("TOKEN:")` (the API
/// token as the user name, an empty password), marked sensitive so that `Debug` output never
/// shows it, and `Content-Type: application/json`, which the API documents ask for on every
/// request. For a `reqwest::Client` built by hand and given to [`Client::new_with_client`].
///
/// ```
/// let headers = codeocean_raw::auth_headers("tok-123")?;
/// assert_eq!(headers["authorization"], "Basic dG9rLTEyMzo=");
/// assert!(headers["authorization"].is_sensitive());
/// assert_eq!(headers["content-type"], "application/json");
/// # Ok::<(), codeocean_raw::BuildError>(())
/// ```
///
/// # Errors
///
/// [`BuildError::InvalidToken`] for an empty token or one with control characters.
pub fn auth_headers(token: &str) -> Result<HeaderMap, BuildError> {
    if token.is_empty() || token.chars().any(char::is_control) {
        return Err(BuildError::InvalidToken);
    }
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{token}:"));
    let mut auth =
        HeaderValue::try_from(format!("Basic {basic}")).map_err(|_| BuildError::InvalidToken)?;
    auth.set_sensitive(true);
    let mut headers = HeaderMap::new();
    headers.insert(AUTHORIZATION, auth);
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    Ok(headers)
}

/// The base URL without a trailing `/` (the generated methods append `/computations/…`), or why
/// it cannot be one. The messages never repeat the URL, which may carry a password.
fn check_base_url(url: &str) -> Result<&str, BuildError> {
    let base = url.trim().trim_end_matches('/');
    let bad = |why: &str| Err(BuildError::InvalidBaseUrl(why.to_owned()));
    let parsed = match reqwest::Url::parse(base) {
        Ok(parsed) => parsed,
        Err(e) => return bad(&format!("not an absolute URL ({e})")),
    };
    if !matches!(parsed.scheme(), "http" | "https") {
        return bad("the scheme is neither http nor https");
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return bad("it carries credentials; pass the token instead");
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return bad("it has a query or a fragment");
    }
    Ok(base)
}

/// Why [`ClientBuilder::build`] (or [`Client::with_token`], [`auth_headers`]) failed. Never
/// shows the token.
#[derive(Debug)]
#[non_exhaustive]
pub enum BuildError {
    /// The token is empty or holds control characters (a line break read from a file).
    InvalidToken,
    /// The base URL is not an absolute `http`/`https` URL without credentials, query or
    /// fragment; the text says why (it never repeats the URL).
    InvalidBaseUrl(String),
    /// `reqwest` could not build its client.
    Http(reqwest::Error),
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidToken => {
                f.write_str("the API token is empty or contains control characters")
            }
            Self::InvalidBaseUrl(why) => write!(f, "invalid API base URL: {why}"),
            Self::Http(_) => f.write_str("could not build the HTTP client"),
        }
    }
}

impl std::error::Error for BuildError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Http(e) => Some(e),
            _ => None,
        }
    }
}
