//! `codeocean-sim`: run the simulator from the shell.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use codeocean_sim::{ApiGeneration, Catalogue, Config, Faults, Simulator};

/// A local, stateful Code Ocean server: the 12 API operations, runs on a fast clock, signed-URL
/// storage on a second port, and fault injection.
///
/// Prints `listening on http://HOST:PORT` (the API origin; the API is under /api/v1) as its first
/// line and `storage on http://HOST:PORT` as its second, then serves until killed.
#[derive(Parser, Debug)]
#[command(version)]
struct Args {
    /// API port (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Storage (signed URL) port (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    storage_port: u16,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    host: std::net::IpAddr,
    /// The API token clients must send (HTTP Basic user name).
    #[arg(long, env = "CODEOCEAN_SIM_TOKEN", hide_env_values = true)]
    token: String,
    /// Catalogue of capsules, pipelines and data assets (JSON or YAML); a built-in one otherwise.
    #[arg(long)]
    fixture: Option<PathBuf>,
    /// Simulated seconds per real second.
    #[arg(long, default_value_t = 1.0)]
    time_scale: f64,
    /// Which result-URL routes exist: legacy (no results/urls), modern (no
    /// results/download_url) or both.
    #[arg(long, default_value = "both")]
    api: ApiGeneration,
    /// Seed for ids and fault draws.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// A fault spec, CLASS:key=value,... (repeatable). Classes: all, capsules, run,
    /// computations, results, urls, data_assets, storage. Keys: latency, jitter (ms), 429,
    /// retry_after (s), 500, 502, 503, html, reset, truncate, expire, unknown (probabilities).
    #[arg(long = "fault")]
    faults: Vec<String>,
    /// Lifetime of signed URLs in seconds.
    #[arg(long, default_value_t = 3600)]
    url_ttl: u64,
    /// Simulated seconds a new data asset stays in draft.
    #[arg(long, default_value_t = 5.0)]
    asset_delay: f64,
    /// Server threads.
    #[arg(long, default_value_t = 2)]
    threads: usize,
    /// Print the built-in catalogue as YAML (a starting point for --fixture) and exit.
    #[arg(long)]
    print_builtin: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    if args.print_builtin {
        print!(
            "{}",
            serde_norway::to_string(&Catalogue::builtin()).expect("serializable")
        );
        return ExitCode::SUCCESS;
    }
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("codeocean-sim: {e}");
            ExitCode::from(2)
        }
    }
}

fn run(args: Args) -> Result<(), String> {
    let mut faults = Faults::default();
    for f in &args.faults {
        faults.apply(f).map_err(|e| e.to_string())?;
    }
    let catalogue = args
        .fixture
        .as_deref()
        .map(Catalogue::from_file)
        .transpose()?;
    if !(args.time_scale.is_finite() && args.time_scale > 0.0) {
        return Err("--time-scale must be a positive number".into());
    }
    if !(args.asset_delay.is_finite() && args.asset_delay >= 0.0) {
        return Err("--asset-delay must be a non-negative number".into());
    }
    let sim = Simulator::start(Config {
        catalogue,
        time_scale: args.time_scale,
        api: args.api,
        seed: args.seed,
        faults,
        url_ttl: Duration::from_secs(args.url_ttl),
        asset_ready_after: Duration::from_secs_f64(args.asset_delay),
        host: args.host,
        port: args.port,
        storage_port: args.storage_port,
        worker_threads: args.threads,
        ..Config::new(args.token)
    })
    .map_err(|e| format!("cannot start: {e}"))?;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "listening on {}", sim.origin());
    let _ = writeln!(out, "storage on {}", sim.storage_origin());
    let _ = writeln!(
        out,
        "API base {} (admin: {}/__sim/stats)",
        sim.api_url(),
        sim.origin()
    );
    let _ = out.flush();
    drop(out);
    loop {
        std::thread::park();
    }
}
