//! Downloads a computation's results with the crate's defaults: the "crate API" tool of
//! `cargo xtask bench`, built in release mode and run as a child process so that its peak RSS is
//! its own.
//!
//! ```text
//! CODEOCEAN_DOMAIN=http://127.0.0.1:PORT CODEOCEAN_TOKEN=... \
//!     bench_download COMPUTATION_ID DEST_DIR [PATH]
//! ```
//!
//! Prints `FILES BYTES` on stdout, then where the client's API limiter ended on stderr (one line
//! `limiter: {JSON}`, also after an error; before it, on success, where the limit on storage
//! transfers at once ended); exits 1 on any error, including a file left missing.

use std::process::ExitCode;

#[path = "support/bench.rs"]
mod support;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (id, dest, path) = match args.as_slice() {
        [id, dest] => (id, dest, ""),
        [id, dest, path] => (id, dest, path.as_str()),
        _ => {
            eprintln!("usage: bench_download COMPUTATION_ID DEST_DIR [PATH]");
            return ExitCode::from(2);
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let client = match support::client(&runtime, "bench_download") {
        Ok(c) => c,
        Err(code) => return code,
    };
    let result = runtime.block_on(client.download(id, dest).path(path).run());
    let code = match result {
        Ok(summary) => {
            println!("{} {}", summary.downloaded, summary.bytes);
            eprintln!(
                "transfers at once at the end: {}",
                summary.transfers.concurrency
            );
            if std::env::var_os("DIAG").is_some() {
                for c in &summary.transfers.changes {
                    eprintln!("  {:.3}s {} {}", c.at.as_secs_f64(), c.concurrency, c.cause);
                }
                eprintln!("API limiter:");
                for c in &client.api_limiter().changes {
                    eprintln!("  {:.3}s {} {}", c.at.as_secs_f64(), c.concurrency, c.cause);
                }
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("bench_download: {e}");
            ExitCode::FAILURE
        }
    };
    eprintln!("{}", support::limiter_line(&client));
    code
}
