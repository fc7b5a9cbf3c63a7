//! How every request of the generated [`Client`] is executed: a request with an empty id in
//! its path is refused before it is sent, the response body is capped, and an observer (if
//! any) is told about each exchange. Hand-written: the generator is told to emit
//! no default `ClientHooks` (`xtask/src/lib.rs`), so this is the only implementation.

use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_core::Stream;
use progenitor_client::{ClientHooks, ClientInfo as _, OperationInfo};
use reqwest::ResponseBuilderExt as _;

use crate::{Client, Operation};

/// The default cap on a response body: 64 MiB. The largest answers of the API are listings
/// (a folder of 100,000 result files is about 15 MiB of JSON) and search pages (at most 1000
/// objects); 64 MiB leaves room for four times the largest of those, and is small enough that
/// a body without end is cut off long before it hurts.
pub const DEFAULT_MAX_BODY: u64 = 64 << 20;

/// What the client saw of one request, for an observer ([`Hooks::observe`]). It holds the
/// URL's path only: never the query string, never a header.
#[derive(Debug)]
#[non_exhaustive]
pub struct Exchange<'a> {
    /// The operation (`get_computation`).
    pub operation_id: &'a str,
    /// The HTTP method.
    pub method: &'a reqwest::Method,
    /// The URL's path (`/api/v1/computations/66095e3a-…`), without its query.
    pub path: &'a str,
    /// The response status, or the error that prevented one.
    pub outcome: Result<reqwest::StatusCode, &'a reqwest::Error>,
    /// Time from sending the request to its response headers (or to the error).
    pub elapsed: Duration,
}

type Observer = Arc<dyn Fn(&Exchange<'_>) + Send + Sync>;

/// The settings [`Client`]'s hooks run with: the response body cap and an observer. Pass
/// `Hooks::default()` to [`Client::new_with_client`] for the defaults.
#[derive(Clone)]
pub struct Hooks {
    max_body: u64,
    observer: Option<Observer>,
}

impl Default for Hooks {
    fn default() -> Self {
        Self {
            max_body: DEFAULT_MAX_BODY,
            observer: None,
        }
    }
}

impl fmt::Debug for Hooks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hooks")
            .field("max_body", &self.max_body)
            .field("observer", &self.observer.is_some())
            .finish()
    }
}

impl Hooks {
    /// The most bytes a response body may have ([`DEFAULT_MAX_BODY`] unless set): reading more
    /// fails with a [`BodyTooLarge`] error in the body error's source chain, success and error
    /// bodies alike.
    pub fn max_body(mut self, bytes: u64) -> Self {
        self.max_body = bytes;
        self
    }

    /// Calls `f` once per request, when its response headers arrive or it fails.
    pub fn observe(mut self, f: impl Fn(&Exchange<'_>) + Send + Sync + 'static) -> Self {
        self.observer = Some(Arc::new(f));
        self
    }
}

/// A response body was longer than the cap ([`Hooks::max_body`]); reading stopped there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BodyTooLarge {
    /// The cap, in bytes.
    pub limit: u64,
}

impl fmt::Display for BodyTooLarge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the response body exceeds the limit of {} bytes",
            self.limit
        )
    }
}

impl std::error::Error for BodyTooLarge {}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A body stream that fails once more than `left` bytes came through.
struct Capped {
    inner: Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>> + Send>>,
    left: u64,
    limit: u64,
    done: bool,
}

impl Stream for Capped {
    type Item = Result<Bytes, BoxError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.done {
            // The cap was hit: the stream is over.
            return Poll::Ready(None);
        }
        match self.inner.as_mut().poll_next(cx) {
            Poll::Ready(Some(Ok(chunk))) => {
                let n = chunk.len() as u64;
                if n > self.left {
                    self.done = true;
                    let limit = self.limit;
                    return Poll::Ready(Some(Err(Box::new(BodyTooLarge { limit }))));
                }
                self.left -= n;
                Poll::Ready(Some(Ok(chunk)))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(Box::new(e)))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// Why a request must not be sent: a path parameter of its operation is empty
/// (`get_computation("")` would ask for `/computations/`, which names another route or none).
/// `path` is the request's whole URL path; `base_path` the base URL's.
fn empty_path_parameter(base_path: &str, path: &str, operation_id: &str) -> Option<String> {
    let operation = Operation::from_id(operation_id)?;
    let relative = path.strip_prefix(base_path.trim_end_matches('/'))?;
    let template: Vec<&str> = operation.path().split('/').collect();
    let actual: Vec<&str> = relative.split('/').collect();
    if template.len() != actual.len() {
        return None;
    }
    let (param, _) = template
        .iter()
        .zip(&actual)
        .find(|(t, a)| t.starts_with('{') && a.is_empty())?;
    Some(format!(
        "`{}` is empty (an id is required); nothing was sent",
        param.trim_matches(['{', '}'])
    ))
}

impl ClientHooks<Hooks> for Client {
    /// Refuses a request whose path has an empty id (`progenitor_client::Error::InvalidRequest`),
    /// before anything is sent.
    async fn pre<E>(
        &self,
        request: &mut reqwest::Request,
        info: &OperationInfo,
    ) -> Result<(), progenitor_client::Error<E>> {
        let base_path = reqwest::Url::parse(self.baseurl())
            .map(|u| u.path().to_owned())
            .unwrap_or_default();
        match empty_path_parameter(&base_path, request.url().path(), info.operation_id) {
            Some(why) => Err(progenitor_client::Error::InvalidRequest(why)),
            None => Ok(()),
        }
    }

    async fn exec(
        &self,
        request: reqwest::Request,
        info: &OperationInfo,
    ) -> reqwest::Result<reqwest::Response> {
        let hooks = &self.inner;
        let observed = hooks
            .observer
            .as_ref()
            .map(|_| (request.method().clone(), request.url().path().to_owned()));
        let started = Instant::now();
        let result = self.client.execute(request).await;
        if let (Some(observer), Some((method, path))) = (&hooks.observer, &observed) {
            observer(&Exchange {
                operation_id: info.operation_id,
                method,
                path,
                outcome: result.as_ref().map(|r| r.status()),
                elapsed: started.elapsed(),
            });
        }
        let response = result?;
        let mut builder = http::Response::builder()
            .status(response.status())
            .version(response.version())
            .url(response.url().clone());
        if let Some(headers) = builder.headers_mut() {
            *headers = response.headers().clone();
        }
        let body = Capped {
            inner: Box::pin(response.bytes_stream()),
            left: hooks.max_body,
            limit: hooks.max_body,
            done: false,
        };
        let response = builder
            .body(reqwest::Body::wrap_stream(body))
            .expect("the parts of a received response make a response");
        Ok(reqwest::Response::from(response))
    }
}

#[cfg(test)]
mod tests {
    use super::empty_path_parameter;
    use crate::Operation;

    #[test]
    fn an_empty_id_in_the_path_is_refused_and_others_pass() {
        let get = Operation::GetComputation.id();
        let why = empty_path_parameter("/api/v1", "/api/v1/computations/", get);
        assert_eq!(
            why.as_deref(),
            Some("`computation_id` is empty (an id is required); nothing was sent")
        );
        // Behind a path prefix, and in the middle of the path.
        let why = empty_path_parameter(
            "/p/api/v1/",
            "/p/api/v1/capsules//computations",
            Operation::ListCapsuleComputations.id(),
        );
        assert!(why.is_some_and(|w| w.starts_with("`capsule_id` is empty")));
        let run = format!("/api/v1{}", Operation::RunComputation.path());
        for (path, op) in [
            ("/api/v1/computations/abc", Operation::GetComputation),
            (
                "/api/v1/capsules/abc/data_assets/",
                Operation::DetachCapsuleDataAssets,
            ),
            (run.as_str(), Operation::RunComputation),
        ] {
            assert_eq!(
                empty_path_parameter("/api/v1", path, op.id()),
                None,
                "{path}"
            );
        }
    }
}
