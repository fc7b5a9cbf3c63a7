//! What the bench examples of `cargo xtask bench` share: their client, and the line they print
//! to stderr at their end, where the client's API limiter ended
//! ([`codeocean::Client::api_limiter`]) as `limiter: {JSON}` (read by
//! `xtask/src/bench/limiter.rs`).

use std::process::ExitCode;

/// [`codeocean::Client::from_env`] within `runtime` (the client may start tasks of its own), or
/// the exit code of a failure, reported on stderr as `program: ERROR`.
pub(crate) fn client(
    runtime: &tokio::runtime::Runtime,
    program: &str,
) -> Result<codeocean::Client, ExitCode> {
    let _entered = runtime.enter();
    codeocean::Client::from_env().map_err(|e| {
        eprintln!("{program}: {e}");
        ExitCode::FAILURE
    })
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
