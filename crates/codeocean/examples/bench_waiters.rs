//! Starts one run per capsule listed and waits for all of them at once, each with
//! [`codeocean::Client::wait_for_computation`] and a `poll_policy`: the crate's side of the
//! "concurrent waiters" case of `cargo xtask bench`.
//!
//! ```text
//! CODEOCEAN_DOMAIN=http://127.0.0.1:PORT CODEOCEAN_TOKEN=... \
//!     bench_waiters CAPSULES_FILE INITIAL_SECS MAX_SECS
//! ```
//!
//! `CAPSULES_FILE` holds one capsule id a line. All runs share one client (its default limit of
//! API requests at once) and one [`codeocean::PollPolicy`]: `INITIAL_SECS` growing by 1.5 up to
//! `MAX_SECS`, jittered. For each run it prints one JSON line, `{"id", "capsule", "detected"}`,
//! `detected` being the Unix time (seconds) at which its waiter returned; then, on stderr, where
//! the client's API limiter ended (one line `limiter: {JSON}`, also after an error). Exits 1 on
//! any error and when a run did not succeed.

use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

#[path = "support/bench.rs"]
mod support;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [file, initial, max] = args.as_slice() else {
        eprintln!("usage: bench_waiters CAPSULES_FILE INITIAL_SECS MAX_SECS");
        return ExitCode::from(2);
    };
    let (Ok(initial), Ok(max)) = (initial.parse::<f64>(), max.parse::<f64>()) else {
        eprintln!("bench_waiters: INITIAL_SECS and MAX_SECS must be numbers");
        return ExitCode::from(2);
    };
    let capsules: Vec<String> = match std::fs::read_to_string(file) {
        Ok(text) => text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect(),
        Err(e) => {
            eprintln!("bench_waiters: reading {file}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let policy = codeocean::PollPolicy::default()
        .initial_interval(Duration::from_secs_f64(initial))
        .max_interval(Duration::from_secs_f64(max))
        .factor(1.5)
        .max_wait(Some(Duration::from_secs(600)));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let client = match support::client(&runtime, "bench_waiters") {
        Ok(c) => c,
        Err(code) => return code,
    };
    let result = runtime.block_on(async {
        let waiters = capsules.iter().map(|capsule| {
            let (client, policy) = (client.clone(), policy.clone());
            async move {
                let run = client
                    .run(&codeocean::RunRequest::capsule(capsule.as_str()))
                    .await?;
                let finished = client
                    .wait_for_computation(&run.id)
                    .poll_policy(policy)
                    .await?;
                let detected = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map_or(0.0, |d| d.as_secs_f64());
                finished.into_success()?;
                Ok::<_, codeocean::Error>((run.id, capsule, detected))
            }
        });
        let done = futures_util::future::join_all(waiters).await;
        done.into_iter().collect::<codeocean::Result<Vec<_>>>()
    });
    let code = match result {
        Ok(done) => {
            for (id, capsule, detected) in done {
                println!(
                    "{}",
                    serde_json::json!({"id": id, "capsule": capsule, "detected": detected})
                );
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("bench_waiters: {e}");
            ExitCode::FAILURE
        }
    };
    eprintln!("{}", support::limiter_line(&client));
    code
}
