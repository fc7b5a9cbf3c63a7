//! `cargo xtask`: see the library documentation of this crate.

use std::process::ExitCode;

use clap::Parser as _;

fn main() -> ExitCode {
    // Usage errors exit with 2 (clap's code); `--help` and `help` print and exit with 0.
    let cli = xtask::Cli::parse();
    let root = xtask::workspace_root();
    let check = match cli.command {
        xtask::Command::Bench(args) => {
            let command: Vec<String> = std::env::args().skip(1).collect();
            return match xtask::bench::run(&root, &args, &command.join(" ")) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("error: {e:#}");
                    ExitCode::FAILURE
                }
            };
        }
        xtask::Command::Regen { check } => check,
    };
    let found = match xtask::regen(&root, check) {
        Ok(found) => found,
        Err(e) => {
            eprintln!("error: {e:#}");
            return ExitCode::FAILURE;
        }
    };
    let mut stale = false;
    for (file, outcome) in found {
        match outcome {
            xtask::Regen::Fresh => eprintln!("{file} is up to date"),
            xtask::Regen::Written => eprintln!("wrote {file}"),
            xtask::Regen::Stale(diff) => {
                println!("{diff}");
                eprintln!(
                    "error: {file} is stale against {}; run `cargo xtask regen` and commit the result",
                    xtask::SPEC
                );
                stale = true;
            }
        }
    }
    if stale {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
