//! Integration tests of the simulator over HTTP: the run lifecycle, data assets, auth, the
//! storage origin, result listings, API generations, run validation, fault injection, hostile
//! input, many concurrent pollers, the command-line binary and all of it over TLS.
//!
//! Every simulator runs on a nearly frozen clock (`time_scale` 0.001) and tests move it with
//! [`Simulator::advance`], so no test sleeps and none depends on timing.

mod assets;
mod binary;
mod faults;
mod generations;
mod items;
mod lifecycle;
mod load;
mod rate_limit;
mod results;
mod routes;
mod runs;
mod search;
mod sources;
mod storage;
mod tls;

use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use codeocean_sim::{Config, Simulator};
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue};
use serde_json::{Value, json};

/// The token every test simulator expects.
const TOKEN: &str = "tok";
/// Built-in capsule that succeeds with a small result tree (2 + 10 + 2 simulated seconds).
const HELLO: &str = "c0ffee00-0000-4000-8000-000000000001";
/// Built-in capsule that ends with end status `failed` and exit code 1.
const FAILS: &str = "c0ffee00-0000-4000-8000-000000000002";
/// Built-in two-process pipeline.
const PIPELINE: &str = "c0ffee00-0000-4000-8000-00000000000a";
/// Built-in input data asset (mount `reference`).
const INPUT: &str = "da7a0000-0000-4000-8000-000000000001";
/// Longer than any built-in run takes, in simulated time.
const PAST_THE_END: Duration = Duration::from_secs(60);

/// Fields a current server always sends (API-NOTES, "What current servers send").
const COMPUTATION_FIELDS: &[&str] = &["id", "created", "name", "owner", "run_time", "state"];
const CAPSULE_FIELDS: &[&str] = &["id", "created", "name", "status", "owner", "slug"];
const DATA_ASSET_FIELDS: &[&str] = &[
    "id",
    "created",
    "name",
    "mount",
    "last_used",
    "owner",
    "state",
    "type",
];

/// A simulator on a nearly frozen clock (tests move it with `advance`).
fn start() -> Simulator {
    start_with(|_| {})
}

/// Like [`start`], with changes to the configuration.
fn start_with(change: impl FnOnce(&mut Config)) -> Simulator {
    let mut config = Config {
        time_scale: 0.001,
        ..Config::new(TOKEN)
    };
    change(&mut config);
    Simulator::start(config).unwrap()
}

/// `Basic base64("tok:")`.
fn basic(token: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{token}:"))
    )
}

/// A raw client built the way the `codeocean-raw` docs say (token in a default header).
fn raw_client(sim: &Simulator) -> codeocean_raw::Client {
    let mut headers = HeaderMap::new();
    headers.insert(AUTHORIZATION, HeaderValue::from_str(&basic(TOKEN)).unwrap());
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    let http = reqwest::Client::builder()
        .default_headers(headers)
        .build()
        .unwrap();
    codeocean_raw::Client::new_with_client(&sim.api_url(), http, Default::default())
}

/// A complete answer.
#[derive(Debug)]
struct Reply {
    status: u16,
    headers: HeaderMap,
    body: Bytes,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "{}: body is not JSON ({e}): {:?}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// The `message` of a JSON error body (which must be one).
    fn message(&self) -> String {
        let v = self.json();
        let m = v["message"].as_str();
        assert!(m.is_some_and(|m| !m.is_empty()), "no message in {v}");
        m.unwrap().to_owned()
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }

    /// Asserts the status, showing the body when it differs.
    #[track_caller]
    fn expect(&self, status: u16) -> &Self {
        assert_eq!(
            self.status,
            status,
            "body: {}",
            String::from_utf8_lossy(&self.body)
        );
        self
    }
}

/// Raw HTTP to the API with the right token.
struct Api {
    http: reqwest::Client,
    base: String,
}

impl Api {
    fn new(sim: &Simulator) -> Self {
        Self {
            http: reqwest::Client::new(),
            base: sim.api_url(),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Sends with the token and reads the whole answer.
    async fn send(&self, req: reqwest::RequestBuilder) -> Reply {
        send(req.header(AUTHORIZATION, basic(TOKEN))).await
    }

    async fn get(&self, path: &str) -> Reply {
        self.send(self.http.get(self.url(path))).await
    }

    async fn post(&self, path: &str, body: Value) -> Reply {
        self.send(self.http.post(self.url(path)).json(&body)).await
    }

    async fn post_raw(&self, path: &str, body: impl Into<reqwest::Body>) -> Reply {
        self.send(
            self.http
                .post(self.url(path))
                .header(CONTENT_TYPE, "application/json")
                .body(body),
        )
        .await
    }

    /// Starts a run; its id.
    async fn run(&self, body: Value) -> String {
        let r = self.post("/computations", body).await;
        r.expect(200);
        r.json()["id"].as_str().unwrap().to_owned()
    }

    async fn computation(&self, id: &str) -> Value {
        let r = self.get(&format!("/computations/{id}")).await;
        r.expect(200);
        r.json()
    }

    /// Runs a capsule to its end.
    async fn finished_run(&self, sim: &Simulator, capsule: &str) -> String {
        let id = self.run(json!({ "capsule_id": capsule })).await;
        sim.advance(PAST_THE_END);
        id
    }

    /// The signed download URL of a result file (through `results/urls`).
    async fn download_url(&self, id: &str, path: &str) -> String {
        let r = self
            .get(&format!("/computations/{id}/results/urls?path={path}"))
            .await;
        r.expect(200);
        r.json()["download_url"].as_str().unwrap().to_owned()
    }
}

/// Sends a request as it is and reads the whole answer.
async fn send(req: reqwest::RequestBuilder) -> Reply {
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp.bytes().await.unwrap();
    Reply {
        status,
        headers,
        body,
    }
}

/// Asserts that a JSON object carries every one of `fields` (and that none is `null`).
#[track_caller]
fn assert_fields(v: &Value, fields: &[&str]) {
    for f in fields {
        assert!(
            v.get(f).is_some_and(|x| !x.is_null()),
            "`{f}` missing in {v}"
        );
    }
}
