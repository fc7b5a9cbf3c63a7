//! `cargo xtask`: see the library documentation of this crate.

use std::process::ExitCode;

const USAGE: &str = "\
usage: cargo xtask <command>

commands:
  regen            regenerate crates/codeocean-raw/src/{generated,operations}.rs and
                   crates/codeocean-sim/src/route_classes.rs from openapi/codeocean.yaml
  regen --check    fail with a diff when a committed file differs from what the spec generates
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    if args.first() == Some(&"bench") {
        return match xtask::bench::run(&xtask::workspace_root(), &args[1..]) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e:#}");
                ExitCode::FAILURE
            }
        };
    }
    let check = match args.as_slice() {
        ["regen"] => false,
        ["regen", "--check"] => true,
        ["help" | "--help" | "-h"] => {
            print!("{USAGE}{}", xtask::bench::USAGE);
            return ExitCode::SUCCESS;
        }
        _ => {
            eprint!("{USAGE}{}", xtask::bench::USAGE);
            return ExitCode::from(2);
        }
    };
    let root = xtask::workspace_root();
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
