//! `codeocean-sim`: run the simulator from the shell.

use std::io::Write as _;
use std::process::ExitCode;

use clap::Parser;
use codeocean_sim::Simulator;
use codeocean_sim::cli::Args;

fn main() -> ExitCode {
    let args = Args::parse();
    if args.print_builtin {
        print!("{}", Args::builtin_yaml());
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
    let sim = Simulator::start(args.config()?).map_err(|e| format!("cannot start: {e}"))?;
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
