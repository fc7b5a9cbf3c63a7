//! The simulator's command-line options, shared by the `codeocean-sim` binary and the
//! `codeocean sim` command.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::{ApiGeneration, Catalogue, Config, Faults, Simulator, Tls};

/// A local, stateful Code Ocean server: the 48 API operations, runs on a fast clock, signed-URL
/// storage on a second port, and fault injection.
///
/// Prints `listening on http://HOST:PORT` (the API origin; the API is under /api/v1) as its first
/// line, `storage on http://HOST:PORT` as its second and the API base and admin URL as its third
/// (`https://` with --tls, and a fourth line `CA certificate FILE`: the CA clients must trust),
/// then serves until killed.
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
    /// A fault spec, CLASS:key=value,... (repeatable). Classes: all, api (all but storage),
    /// capsules, run, computations, results, urls, data_assets, manage, search, storage. Keys:
    /// latency, jitter (ms), 429, retry_after (s), 500, 502, 503, html, reset, truncate, expire,
    /// unknown, lie_has_more (probabilities; lie_has_more makes searches claim more pages forever);
    /// limits: rate=N (requests per second per API token, a token bucket on the real clock:
    /// 429 with Retry-After when empty), burst=B (its size, default max(1, ceil(N))),
    /// max_inflight=N (requests served at once; beyond that 429 with Retry-After: 1, or 503
    /// with inflight_status=503). `all:` limits share one bucket per token and one count in
    /// flight across every class, `api:` limits across every class but storage (whose signed
    /// URLs a real server does not limit); a class's own spec has its own.
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
    /// Serve HTTPS on both origins (HTTP/1.1 and HTTP/2 by ALPN) with a CA and a certificate
    /// for localhost, 127.0.0.1, ::1 and --host made at start; the CA certificate is written to
    /// --ca-out (printed as the fourth line).
    #[arg(long)]
    pub tls: bool,
    /// Serve HTTPS with this certificate chain (PEM, leaf first); needs --tls-key.
    #[arg(long, value_name = "FILE")]
    pub tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert (PEM); needs --tls-cert.
    #[arg(long, value_name = "FILE")]
    pub tls_key: Option<PathBuf>,
    /// Where --tls writes its CA certificate (default: codeocean-sim-PORT-ca.pem in the temp
    /// folder, PORT the API port).
    #[arg(long, value_name = "FILE")]
    pub ca_out: Option<PathBuf>,
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
        let tls = self.tls_config()?;
        Ok(Config {
            tls,
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

    /// Starts the simulator these options describe and, with `--tls`, writes the generated CA
    /// certificate to `--ca-out` (or its default): what `codeocean-sim` and `codeocean sim` do
    /// before printing [`Simulator::banner`].
    pub fn start(&self) -> Result<Simulator, String> {
        let mut sim = Simulator::start(self.config()?).map_err(|e| format!("cannot start: {e}"))?;
        if sim.ca_certificate_pem().is_some() {
            let path = match &self.ca_out {
                Some(path) => path.clone(),
                None => default_ca_path(sim.origin()),
            };
            sim.write_ca_certificate(&path)
                .map_err(|e| format!("--ca-out: {e}"))?;
        }
        Ok(sim)
    }

    /// `--tls`, `--tls-cert`/`--tls-key` and `--ca-out` checked: the certificate to serve.
    fn tls_config(&self) -> Result<Option<Tls>, String> {
        let pair = match (&self.tls_cert, &self.tls_key) {
            (None, None) => None,
            (Some(_), None) => {
                return Err(
                    "--tls-cert FILE needs --tls-key FILE too (the certificate's \
                            private key, PEM)"
                        .into(),
                );
            }
            (None, Some(_)) => {
                return Err(
                    "--tls-key FILE needs --tls-cert FILE too (the certificate chain, \
                            PEM)"
                        .into(),
                );
            }
            (Some(cert), Some(key)) => Some((cert, key)),
        };
        if let Some((cert, key)) = pair {
            if self.ca_out.is_some() {
                return Err(
                    "--ca-out goes with --tls alone: with --tls-cert the CA is yours, \
                            not generated"
                        .into(),
                );
            }
            let cert_chain = read_pem("--tls-cert", cert, |pem| {
                crate::tls::parse_chain(pem).map(drop)
            })?;
            let key = read_pem("--tls-key", key, |pem| crate::tls::parse_key(pem).map(drop))?;
            return Ok(Some(Tls::Pem { cert_chain, key }));
        }
        if self.tls {
            return Ok(Some(Tls::Generated));
        }
        if self.ca_out.is_some() {
            return Err("--ca-out needs --tls (it is where the generated CA is written)".into());
        }
        Ok(None)
    }

    /// The built-in catalogue as YAML (what `--print-builtin` prints).
    pub fn builtin_yaml() -> String {
        serde_norway::to_string(&Catalogue::builtin()).expect("serializable")
    }
}

/// Reads the PEM file of `flag` and checks it with `check`; the error names the flag and file.
fn read_pem(
    flag: &str,
    path: &Path,
    check: impl FnOnce(&str) -> Result<(), String>,
) -> Result<String, String> {
    let bytes = std::fs::read(path)
        .map_err(|e| format!("{flag} {}: cannot read it: {e}", path.display()))?;
    let pem = String::from_utf8(bytes).map_err(|_| {
        format!(
            "{flag} {}: not PEM but binary (DER?); convert it, e.g. `openssl x509 -in FILE \
             -inform der` or `openssl pkey -in FILE -inform der`",
            path.display()
        )
    })?;
    check(&pem).map_err(|e| format!("{flag} {}: {e}", path.display()))?;
    Ok(pem)
}

/// `codeocean-sim-PORT-ca.pem` in the temp folder, PORT that of the API `origin`.
fn default_ca_path(origin: &str) -> PathBuf {
    let port = origin.rsplit(':').next().unwrap_or("0");
    std::env::temp_dir().join(format!("codeocean-sim-{port}-ca.pem"))
}
