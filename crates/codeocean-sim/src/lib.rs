//! A local, stateful Code Ocean server for tests, demos and benchmarks.
//!
//! It serves the 48 operations of `openapi/codeocean.yaml` with the bodies current servers send
//! (built from the `codeocean-raw` types, so it cannot drift from the spec), runs computations on
//! a clock you can speed up, serves result files through signed, expiring URLs on a second origin,
//! and injects faults on demand. Nothing is written to disk: file contents are generated from a
//! seed ([`content`]), so a multi-GiB result costs no memory.
//!
//! ```no_run
//! use codeocean_sim::{Config, Simulator};
//!
//! let sim = Simulator::start(Config {
//!     time_scale: 100.0, // a 14 s run takes 0.14 s
//!     ..Config::new("secret-token")
//! })?;
//! println!("API at {} (token {})", sim.api_url(), sim.token());
//! // ... point a client at sim.origin() ...
//! println!("{:?}", sim.stats().counts);
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! The server runs on its own Tokio runtime (its own threads), so a client under test never
//! shares a scheduler with it; dropping the [`Simulator`] stops it.

mod admin;
mod apps;
mod assets;
pub mod catalogue;
pub mod cli;
mod computations;
pub mod content;
pub mod faults;
mod faults_response;
mod http;
mod layer;
mod routes;
mod search;
mod state;
mod storage;
mod tree;

use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::serve::ListenerExt as _;
use serde::{Deserialize, Serialize};

pub use catalogue::Catalogue;
pub use faults::{FaultSpec, Faults, RouteClass};
pub use state::{RecordedRequest, Stats};

/// Which of the two result-URL routes the server has.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApiGeneration {
    /// A server before Code Ocean 4.0: no `results/urls` (404 like an unknown route).
    Legacy,
    /// A current server: no `results/download_url` (404 like an unknown route).
    Modern,
    /// Both routes.
    #[default]
    Both,
}

impl std::str::FromStr for ApiGeneration {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "legacy" => Ok(Self::Legacy),
            "modern" => Ok(Self::Modern),
            "both" => Ok(Self::Both),
            _ => Err(format!("`{s}` is not one of legacy, modern, both")),
        }
    }
}

/// How to start a simulator.
#[derive(Clone)]
pub struct Config {
    /// The API token clients must send (HTTP Basic user name).
    pub token: String,
    /// What exists; [`Catalogue::builtin`] when `None`.
    pub catalogue: Option<Catalogue>,
    /// Simulated seconds per real second (run durations and data-asset delays shrink by this).
    pub time_scale: f64,
    /// Which result-URL routes exist.
    pub api: ApiGeneration,
    /// Seed for ids and fault draws.
    pub seed: u64,
    /// Faults to inject.
    pub faults: Faults,
    /// Lifetime of signed URLs (real time).
    pub url_ttl: Duration,
    /// Simulated time a new data asset stays in `draft`.
    pub asset_ready_after: Duration,
    /// Address to listen on.
    pub host: IpAddr,
    /// API port (0 picks a free one).
    pub port: u16,
    /// Storage port (0 picks a free one).
    pub storage_port: u16,
    /// Threads of the server's runtime.
    pub worker_threads: usize,
    /// Extra ready datasets made at start (see [`Simulator::add_data_assets`]).
    pub data_assets: usize,
}

impl Config {
    /// Defaults with this token: built-in catalogue, real time, both API generations, no
    /// faults, one-hour URLs, loopback on free ports.
    pub fn new(token: impl Into<String>) -> Self {
        Self {
            token: token.into(),
            catalogue: None,
            time_scale: 1.0,
            api: ApiGeneration::Both,
            seed: 0,
            faults: Faults::default(),
            url_ttl: Duration::from_secs(3600),
            asset_ready_after: Duration::from_secs(5),
            host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: 0,
            storage_port: 0,
            worker_threads: 2,
            data_assets: 0,
        }
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("token", &"<redacted>")
            .field("time_scale", &self.time_scale)
            .field("api", &self.api)
            .field("seed", &self.seed)
            .field("faults", &self.faults)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("storage_port", &self.storage_port)
            .field("data_assets", &self.data_assets)
            .finish_non_exhaustive()
    }
}

/// A running simulator. Dropping it stops the server.
pub struct Simulator {
    origin: String,
    storage_origin: String,
    state: Arc<state::State>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl fmt::Debug for Simulator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Simulator")
            .field("origin", &self.origin)
            .field("storage_origin", &self.storage_origin)
            .finish_non_exhaustive()
    }
}

impl Simulator {
    /// Binds both listeners and starts serving on a runtime of its own. Works from sync code
    /// and from inside another Tokio runtime.
    pub fn start(config: Config) -> io::Result<Self> {
        let catalogue = config.catalogue.clone().unwrap_or_else(Catalogue::builtin);
        let state = Arc::new(
            state::State::new(&config, catalogue)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?,
        );
        let api_listener = std::net::TcpListener::bind(SocketAddr::new(config.host, config.port))?;
        let storage_listener =
            std::net::TcpListener::bind(SocketAddr::new(config.host, config.storage_port))?;
        api_listener.set_nonblocking(true)?;
        storage_listener.set_nonblocking(true)?;
        let origin = format!("http://{}", api_listener.local_addr()?);
        let storage_origin = format!("http://{}", storage_listener.local_addr()?);
        *state.storage_origin.write().unwrap() = storage_origin.clone();
        assets::add_bulk(&state, config.data_assets, None);

        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(config.worker_threads.max(1))
            .thread_name("codeocean-sim")
            .enable_all()
            .build()?;
        {
            let _guard = runtime.enter();
            let api = tokio::net::TcpListener::from_std(api_listener)?.tap_io(|tcp| {
                let _ = tcp.set_nodelay(true);
            });
            let storage = tokio::net::TcpListener::from_std(storage_listener)?.tap_io(|tcp| {
                let _ = tcp.set_nodelay(true);
            });
            let api_app = routes::router(state.clone());
            let storage_app = storage::router(state.clone());
            runtime.spawn(async move { axum::serve(api, api_app).await });
            runtime.spawn(async move { axum::serve(storage, storage_app).await });
        }
        Ok(Self {
            origin,
            storage_origin,
            state,
            runtime: Some(runtime),
        })
    }

    /// The API origin, e.g. `http://127.0.0.1:40123` (what clients take as their domain).
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The API base URL, `{origin}/api/v1`.
    pub fn api_url(&self) -> String {
        format!("{}/api/v1", self.origin)
    }

    /// The storage origin signed URLs point at.
    pub fn storage_origin(&self) -> &str {
        &self.storage_origin
    }

    /// The token clients must send.
    pub fn token(&self) -> &str {
        &self.state.token
    }

    /// Request counts per operation and status.
    pub fn stats(&self) -> Stats {
        self.state.stats()
    }

    /// The most recent requests (up to 100,000), oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.state.requests()
    }

    /// Forgets counts and the request log.
    pub fn clear_requests(&self) {
        self.state.clear_log();
    }

    /// Replaces the faults.
    pub fn set_faults(&self, faults: Faults) {
        self.state.dynamic.write().unwrap().faults = faults;
    }

    /// Switches the API generation.
    pub fn set_api(&self, api: ApiGeneration) {
        self.state.dynamic.write().unwrap().api = api;
    }

    /// Changes the lifetime of signed URLs issued from now on.
    pub fn set_url_ttl(&self, ttl: Duration) {
        self.state.dynamic.write().unwrap().url_ttl = ttl;
    }

    /// Moves the simulated clock forward.
    pub fn advance(&self, by: Duration) {
        self.state.clock.advance(by);
    }

    /// Makes `count` ready datasets at once (for searches over many assets) and returns their
    /// ids. Asset `n` (counting on over calls, from 0) is named `Bulk dataset {n:05}`, has tags
    /// `bulk` and `group-{n % 10}`, type `model` when `n % 4 == 3` (else `dataset`), custom
    /// metadata `study: bulk, replicate: n % 10 + 1`, and `1 + n % 5` files of
    /// `1024 * (1 + n % 97)` bytes; they were created one simulated second apart. The same as
    /// `POST /__sim/data_assets {"count": N}`.
    pub fn add_data_assets(&self, count: usize) -> Vec<String> {
        assets::add_bulk(&self.state, count, None)
    }

    /// Makes `count` copies of a capsule or pipeline (new ids, same runs and versions) and
    /// returns their ids; `None` when there is no such capsule or pipeline. The same as
    /// `POST /__sim/capsules/{id}/copies {"count": N}`.
    pub fn copy_capsule(&self, id: &str, count: usize) -> Option<Vec<String>> {
        apps::copy(&self.state, id, count)
    }

    /// Starts a cloud workstation session of a capsule (a computation with `cloud_workstation`
    /// true that runs until stopped, to which data assets can be attached) and returns its id;
    /// `None` when there is no such capsule. The same as `POST /__sim/cloud_workstations`.
    pub fn start_cloud_workstation(&self, capsule_id: &str) -> Option<String> {
        apps::start_workstation(&self.state, capsule_id).map(|c| c.id)
    }

    /// The expected contents of a file of a data asset (to check downloads), or `None` when
    /// there is no such file.
    pub fn data_asset_content(&self, asset_id: &str, path: &str) -> Option<content::Content> {
        let assets = self.state.assets.lock().unwrap();
        let files = assets.get(asset_id)?.files.as_ref()?;
        match files.flat.entries.get(path)? {
            catalogue::Entry::File(size) => {
                Some(content::Content::new(files.file_seed(path), *size))
            }
            catalogue::Entry::Folder(_) => None,
        }
    }

    /// Stops a running computation (it ends with end status `stopped`); false when there is no
    /// such running computation.
    pub fn stop_computation(&self, id: &str) -> bool {
        computations::stop(&self.state, id)
    }

    /// The expected contents of a result file of a computation (to check downloads), or `None`
    /// when there is no such file.
    pub fn result_content(&self, computation_id: &str, path: &str) -> Option<content::Content> {
        let runs = self.state.runs.lock().unwrap();
        let run = runs.get(computation_id)?;
        match run.flat.entries.get(path)? {
            catalogue::Entry::File(size) => Some(content::Content::new(
                content::file_seed(run.runnable.run.seed, path),
                *size,
            )),
            catalogue::Entry::Folder(_) => None,
        }
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}
