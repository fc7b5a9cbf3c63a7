//! What the bench examples of `cargo xtask bench` share: their client, and the line they print
//! to stderr at their end, where the client's API limiter ended
//! ([`codeocean::Client::api_limiter`]) as `limiter: {JSON}` (read by
//! `xtask/src/bench/limiter.rs`).

use std::process::ExitCode;

/// [`codeocean::Client::from_env`] within `runtime` (the client may start tasks of its own), or
/// the exit code of a failure, reported on stderr as `program: ERROR`. With
/// `BENCH_API_CONCURRENCY=N` set, the client's API limit is fixed at `N`
/// ([`codeocean::ClientBuilder::api_concurrency`]) instead of adaptive: the scaling case's
/// second crate row, which tells a growth with the tree from a growth with the limit. With
/// `BENCH_DOWNLOAD_CONCURRENCY=N`, downloads run `N` transfers at once
/// ([`codeocean::ClientBuilder::download_concurrency`]).
pub(crate) fn client(
    runtime: &tokio::runtime::Runtime,
    program: &str,
) -> Result<codeocean::Client, ExitCode> {
    let _entered = runtime.enter();
    let fail = |e: &dyn std::fmt::Display| {
        eprintln!("{program}: {e}");
        ExitCode::FAILURE
    };
    let mut builder = codeocean::Client::builder_from_env().map_err(|e| fail(&e))?;
    if let Some(n) = std::env::var_os("BENCH_API_CONCURRENCY") {
        let n: usize = (n.to_str().and_then(|n| n.parse().ok()))
            .ok_or_else(|| fail(&"BENCH_API_CONCURRENCY: not a number"))?;
        builder = builder.api_concurrency(n);
    }
    if let Some(n) = std::env::var_os("BENCH_DOWNLOAD_CONCURRENCY") {
        let n: usize = (n.to_str().and_then(|n| n.parse().ok()))
            .ok_or_else(|| fail(&"BENCH_DOWNLOAD_CONCURRENCY: not a number"))?;
        builder = builder.download_concurrency(n);
    }
    builder.build().map_err(|e| fail(&e))
}

/// `limiter: {"concurrency", "adaptive", "rate", "throttled", "in_flight", "changes",
/// "last_change": {"at_secs", "concurrency", "rate", "cause"} or null}`.
pub(crate) fn limiter_line(client: &codeocean::Client) -> String {
    let s = client.api_limiter();
    let last = s.changes.last().map(|c| {
        serde_json::json!({
            "at_secs": c.at.as_secs_f64(),
            "concurrency": c.concurrency,
            "rate": c.rate,
            "cause": c.cause.to_string(),
        })
    });
    let state = serde_json::json!({
        "concurrency": s.concurrency,
        "adaptive": s.adaptive,
        "rate": s.rate,
        "throttled": s.throttled,
        "in_flight": s.in_flight,
        "changes": s.changes.len(),
        "last_change": last,
    });
    format!("limiter: {state}")
}
