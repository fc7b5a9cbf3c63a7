//! Gets one computation N times in a row with [`codeocean::Client::get_computation`]: the crate's
//! side of the "CPU per API call" case of `cargo xtask bench`, which counts this process's
//! instructions under callgrind for two values of N and divides the difference.
//!
//! ```text
//! CODEOCEAN_DOMAIN=http://127.0.0.1:PORT CODEOCEAN_TOKEN=... bench_calls COMPUTATION_ID N
//! ```
//!
//! One thread (a current-thread tokio runtime), one client, calls one after the other. Prints the
//! last state seen; exits 1 on any error.

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [id, n] = args.as_slice() else {
        eprintln!("usage: bench_calls COMPUTATION_ID N");
        return ExitCode::from(2);
    };
    let Ok(n) = n.parse::<u32>() else {
        eprintln!("bench_calls: N must be a whole number, not {n:?}");
        return ExitCode::from(2);
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let result = runtime.block_on(async {
        let client = codeocean::Client::from_env()?;
        let mut state = None;
        for _ in 0..n {
            state = client.get_computation(id).await?.state;
        }
        Ok::<_, codeocean::Error>(state)
    });
    match result {
        Ok(state) => {
            println!("{}", state.as_ref().map_or("none", |s| s.as_str()));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("bench_calls: {e}");
            ExitCode::FAILURE
        }
    }
}
