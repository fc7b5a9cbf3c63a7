//! Reading what an error response said: [`error_body`]. Hand-written.

use std::fmt;
use std::future::poll_fn;
use std::pin::Pin;

use bytes::Bytes;
use futures_core::Stream;
use reqwest::StatusCode;

use crate::types::ApiError;
use crate::{ByteStream, Error};

/// The most bytes of an error body that [`error_body`] reads: 64 KiB. The API's error objects
/// are a sentence long; a body longer than this is not one, and is not read to its end.
pub const MAX_ERROR_BODY: usize = 64 << 10;

/// Reads the body of an error response (at most [`MAX_ERROR_BODY`] bytes) and decodes the API's
/// error object, [`ApiError`], whose `message` says what went wrong in words meant for people.
///
/// The generated methods leave error bodies unread (a proxy may answer with an HTML page, a
/// route a server does not have with no body at all), so the raw error's `Display` ends in
/// `value: <stream>`. Take the status first if you need it: the error is consumed.
///
/// ```no_run
/// # async fn example(client: &codeocean_raw::Client) -> Result<(), Box<dyn std::error::Error>> {
/// match client.get_computation("66095e3a-0747-4ec5-b8b1-95b89a428536").await {
///     Ok(computation) => println!("{:?}", computation.state),
///     Err(err) => {
///         let status = err.status();
///         match codeocean_raw::error_body(err).await {
///             // `404 Not Found: computation not found`
///             Ok(api) => eprintln!("{status:?}: {}", api.message.unwrap_or_default()),
///             // An HTML page of a proxy, an empty body, a connection that failed, …
///             Err(other) => eprintln!("{other}"),
///         }
///     }
/// }
/// # Ok(())
/// # }
/// ```
///
/// # Errors
///
/// [`ErrorBodyError::NotAnErrorResponse`] (the error, unchanged) when `err` holds no response
/// to read; [`ErrorBodyError::NotApiError`] with the status and the body's text when the body is
/// not a JSON object of the API's error shape (HTML, plain text, empty, or longer than
/// [`MAX_ERROR_BODY`]); [`ErrorBodyError::Read`] when reading the body failed.
pub async fn error_body(err: Error<ByteStream>) -> Result<ApiError, ErrorBodyError> {
    let (status, mut stream): (StatusCode, BodyStream) = match err {
        Error::ErrorResponse(response) => (response.status(), response.into_inner_stream()),
        // A status the spec does not list (a 3xx, say): the same reading.
        Error::UnexpectedResponse(response) => {
            (response.status(), Box::pin(response.bytes_stream()))
        }
        other => return Err(ErrorBodyError::NotAnErrorResponse(other)),
    };
    let mut body = Vec::new();
    let mut truncated = false;
    while let Some(chunk) = poll_fn(|cx| stream.as_mut().poll_next(cx)).await {
        let chunk = chunk.map_err(|source| ErrorBodyError::Read { status, source })?;
        let room = MAX_ERROR_BODY - body.len();
        if chunk.len() > room {
            body.extend_from_slice(&chunk[..room]);
            truncated = true;
            break;
        }
        body.extend_from_slice(&chunk);
    }
    if !truncated && let Ok(api) = serde_json::from_slice::<ApiError>(&body) {
        return Ok(api);
    }
    Err(ErrorBodyError::NotApiError {
        status,
        body: String::from_utf8_lossy(&body).into_owned(),
        truncated,
    })
}

type BodyStream = Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>> + Send + Sync>>;

/// Why [`error_body`] found no [`ApiError`].
#[derive(Debug)]
#[non_exhaustive]
pub enum ErrorBodyError {
    /// The error holds no response body to read: the request failed before an answer, or a
    /// success body did not decode. Here it is, unchanged.
    NotAnErrorResponse(Error<ByteStream>),
    /// The body is not a JSON object of the API's error shape: an HTML page of a proxy or
    /// gateway, plain text, no body at all, or more than [`MAX_ERROR_BODY`] bytes.
    NotApiError {
        /// The response's status.
        status: StatusCode,
        /// The body as text (invalid UTF-8 replaced), at most [`MAX_ERROR_BODY`] bytes.
        body: String,
        /// Whether the body was longer than [`MAX_ERROR_BODY`] and `body` is its beginning.
        truncated: bool,
    },
    /// Reading the body failed: the connection broke, or the body passed the hooks' cap
    /// ([`crate::hooks::BodyTooLarge`] in the source chain).
    Read {
        /// The response's status.
        status: StatusCode,
        /// What failed.
        source: reqwest::Error,
    },
}

impl ErrorBodyError {
    /// The response's status, when there was a response.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Self::NotAnErrorResponse(err) => err.status(),
            Self::NotApiError { status, .. } | Self::Read { status, .. } => Some(*status),
        }
    }
}

/// How much of a body that is not the API's error object `Display` shows.
const SNIPPET_CHARS: usize = 200;

impl fmt::Display for ErrorBodyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotAnErrorResponse(err) => write!(f, "no error response to read: {err}"),
            Self::NotApiError { status, body, .. } => {
                // One line: whitespace (an HTML page's line breaks) collapsed, and cut short.
                let text = body.split_whitespace().collect::<Vec<_>>().join(" ");
                if text.is_empty() {
                    return write!(f, "HTTP {status} with an empty body");
                }
                let mut snippet: String = text.chars().take(SNIPPET_CHARS).collect();
                if snippet.len() < text.len() {
                    snippet.push('…');
                }
                write!(f, "HTTP {status}, not the API's JSON error: {snippet}")
            }
            Self::Read { status, .. } => write!(f, "HTTP {status}: reading the error body failed"),
        }
    }
}

impl std::error::Error for ErrorBodyError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::NotAnErrorResponse(err) => Some(err),
            Self::Read { source, .. } => Some(source),
            Self::NotApiError { .. } => None,
        }
    }
}
