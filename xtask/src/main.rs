//! `cargo xtask`: see the library documentation of this crate.

use std::process::ExitCode;

use clap::Parser as _;

/// What a command that writes or checks committed files does.
enum Action {
    Regen,
    PublicApi,
}

fn main() -> ExitCode {
    // `cargo xtask public-api` runs this binary as cargo's `RUSTDOC`, to reach rustdoc's JSON.
    if let Some(code) = xtask::public_api::wrapped_rustdoc() {
        return ExitCode::from(u8::try_from(code).unwrap_or(1));
    }
    // Usage errors exit with 2 (clap's code); `--help` and `help` print and exit with 0.
    let cli = xtask::Cli::parse();
    let root = xtask::workspace_root();
    let (check, action) = match cli.command {
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
        xtask::Command::Regen { check } => (check, Action::Regen),
        xtask::Command::PublicApi { check } => (check, Action::PublicApi),
    };
    let (found, fix) = match action {
        Action::Regen => (
            xtask::regen(&root, check),
            format!("is stale against {}; run `cargo xtask regen`", xtask::SPEC),
        ),
        Action::PublicApi => (
            xtask::public_api::run(&root, check),
            "differs from the code's public API; if the change is deliberate, run \
             `cargo xtask public-api`"
                .to_owned(),
        ),
    };
    let found = match found {
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
                eprintln!("error: {file} {fix} and commit the result");
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
