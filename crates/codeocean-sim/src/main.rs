//! `codeocean-sim`: run the simulator from the shell.

use std::io::Write as _;
use std::process::ExitCode;

use clap::Parser;
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
    let sim = args.start()?;
    let mut out = std::io::stdout().lock();
    let _ = write!(out, "{}", sim.banner());
    let _ = out.flush();
    drop(out);
    loop {
        std::thread::park();
    }
}
