//! Wire tests of the generated client against httpmock: for every operation of the spec, the
//! exact request it sends and the decoding of what comes back; and how errors keep the status.

mod client;
mod errors;
mod hooks;
mod items;
mod operations;
mod schema;
mod wire;

use base64::Engine as _;
use codeocean_raw::{ByteStream, Client, ResponseValue};
use futures_util::TryStreamExt as _;
use httpmock::{Mock, MockServer};
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue};
use serde_json::Value;

const TOKEN: &str = "tok-123";
/// `Basic base64("tok-123:")`, worked out by hand so that the test does not share the code under
/// test.
const AUTH: &str = "Basic dG9rLTEyMzo=";

/// A mock server and a raw client pointed at its `/api/v1`, built the way the crate docs say
/// (`Client::with_token`): every wire test checks the headers it sets.
async fn setup() -> (MockServer, Client) {
    let server = MockServer::start_async().await;
    let client = Client::with_token(&format!("{}/api/v1", server.base_url()), TOKEN).unwrap();
    (server, client)
}

/// A `reqwest::Client` with the credentials set by hand, independently of the crate's
/// `auth_headers`, for the tests that build the raw client themselves.
fn http_client() -> reqwest::Client {
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{TOKEN}:"));
    let mut auth = HeaderValue::from_str(&format!("Basic {basic}")).unwrap();
    auth.set_sensitive(true);
    let mut headers = HeaderMap::new();
    headers.insert(AUTHORIZATION, auth);
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    reqwest::Client::builder()
        .default_headers(headers)
        .build()
        .unwrap()
}

/// The request an operation must send.
struct Expect<'a> {
    method: &'a str,
    /// The path below `/api/v1`, as it must appear on the wire (percent-encoded).
    path: &'a str,
    /// The exact raw query string, or `None` for no query at all.
    query: Option<&'a str>,
    /// The exact JSON body, or `None` for an empty body.
    body: Option<Value>,
    /// The exact `Accept` header: `application/json` for the operations that decode an answer,
    /// reqwest's default `*/*` for the two that answer nothing (delete and rename).
    accept: &'a str,
}

/// Mocks one exchange: the request must match `expect` exactly (method, path, query, body,
/// `Accept`, `Content-Type`, Basic `Authorization` and progenitor's `api-version: v1`); the answer
/// is `status` with `answer` as JSON (or an empty body).
async fn exchange<'a>(
    server: &'a MockServer,
    expect: Expect<'_>,
    status: u16,
    answer: Option<Value>,
) -> Mock<'a> {
    let path = format!("/api/v1{}", expect.path);
    let query = expect.query.map(str::to_owned);
    let body = expect.body.clone();
    server
        .mock_async(|when, then| {
            let when = when
                .method(expect.method)
                .is_true(move |req| req.uri().path() == path)
                .is_true(move |req| req.uri().query() == query.as_deref())
                .header("authorization", AUTH)
                .header_count("authorization", ".*", 1)
                .header("content-type", "application/json")
                .header_count("content-type", ".*", 1)
                .header("accept", expect.accept)
                .header_count("accept", ".*", 1)
                .header("api-version", "v1");
            match body {
                Some(body) => when.json_body(body),
                None => when.is_true(|req| req.body_ref().is_empty()),
            };
            let then = then.status(status);
            if let Some(answer) = answer {
                then.header("content-type", "application/json")
                    .json_body(answer);
            }
        })
        .await
}

/// Reads the whole unread body of an error response.
async fn body_text(response: ResponseValue<ByteStream>) -> String {
    let bytes = response
        .into_inner()
        .into_inner()
        .try_fold(Vec::new(), |mut all, chunk| async move {
            all.extend_from_slice(&chunk);
            Ok(all)
        })
        .await
        .unwrap();
    String::from_utf8(bytes).unwrap()
}
