//! The simulator's command-line options, shared by the `codeocean-sim` binary and the
//! `codeocean sim` command.

use std::path::PathBuf;
use std::time::Duration;

use crate::{ApiGeneration, Catalogue, Config, Faults};

/// A local, stateful Code Ocean server: the 48 API operations, runs on a fast clock, signed-URL
/// storage on a second port, and fault injection.
///
/// Prints `listening on http://HOST:PORT` (the API origin; the API is under /api/v1) as its first
/// line and `storage on http://HOST:PORT` as its second, then serves until killed.
#[derive(clap::Parser, Debug, Clone)]
#[command(version)]
pub struct Args {
    /// API port (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// Storage (signed URL) port (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    pub storage_port: u16,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: std::net::IpAddr,
    /// The API token clients must send (HTTP Basic user name); needed to serve, not for
    /// --print-builtin.
    #[arg(long, env = "CODEOCEAN_SIM_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Catalogue of capsules, pipelines and data assets (JSON or YAML); a built-in one otherwise.
    #[arg(long)]
    pub fixture: Option<PathBuf>,
    /// Simulated seconds per real second.
    #[arg(long, default_value_t = 1.0)]
    pub time_scale: f64,
    /// Which result-URL routes exist: legacy (no results/urls), modern (no
    /// results/download_url) or both.
    #[arg(long, default_value = "both")]
    pub api: ApiGeneration,
    /// Seed for ids and fault draws.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// A fault spec, CLASS:key=value,... (repeatable). Classes: all, capsules, run,
    /// computations, results, urls, data_assets, manage, search, storage. Keys: latency, jitter
    /// (ms), 429, retry_after (s), 500, 502, 503, html, reset, truncate, expire, unknown,
    /// lie_has_more (probabilities; lie_has_more makes searches claim more pages forever).
    #[arg(long = "fault")]
    pub faults: Vec<String>,
    /// Lifetime of signed URLs in seconds.
    #[arg(long, default_value_t = 3600)]
    pub url_ttl: u64,
    /// Simulated seconds a new data asset stays in draft.
    #[arg(long, default_value_t = 5.0)]
    pub asset_delay: f64,
    /// Server threads.
    #[arg(long, default_value_t = 2)]
    pub threads: usize,
    /// Extra ready datasets to make at start ("Bulk dataset 00000", ...), for searches over
    /// many assets (more at run time: POST /__sim/data_assets {"count": N}).
    #[arg(long, default_value_t = 0)]
    pub data_assets: usize,
    /// Print the built-in catalogue as YAML (a starting point for --fixture) and exit.
    #[arg(long)]
    pub print_builtin: bool,
}

impl Args {
    /// The simulator configuration these options describe, or why they are wrong.
    pub fn config(&self) -> Result<Config, String> {
        let token = self
            .token
            .clone()
            .filter(|t| !t.is_empty())
            .ok_or("no token: pass --token or set CODEOCEAN_SIM_TOKEN")?;
        let mut faults = Faults::default();
        for f in &self.faults {
            faults.apply(f).map_err(|e| e.to_string())?;
        }
        let catalogue = self
            .fixture
            .as_deref()
            .map(Catalogue::from_file)
            .transpose()?;
        if !(self.time_scale.is_finite() && self.time_scale > 0.0) {
            return Err("--time-scale must be a positive number".into());
        }
        if self.data_assets > crate::assets::MAX_BULK {
            return Err(format!(
                "--data-assets: at most {}",
                crate::assets::MAX_BULK
            ));
        }
        if !(self.asset_delay.is_finite() && self.asset_delay >= 0.0) {
            return Err("--asset-delay must be a non-negative number".into());
        }
        Ok(Config {
            catalogue,
            time_scale: self.time_scale,
            api: self.api,
            seed: self.seed,
            faults,
            url_ttl: Duration::from_secs(self.url_ttl),
            asset_ready_after: Duration::from_secs_f64(self.asset_delay),
            host: self.host,
            port: self.port,
            storage_port: self.storage_port,
            worker_threads: self.threads,
            data_assets: self.data_assets,
            ..Config::new(token)
        })
    }

    /// The built-in catalogue as YAML (what `--print-builtin` prints).
    pub fn builtin_yaml() -> String {
        serde_norway::to_string(&Catalogue::builtin()).expect("serializable")
    }
}
