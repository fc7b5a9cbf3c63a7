//! `cargo xtask`: see the library documentation of this crate.

use std::process::ExitCode;

const USAGE: &str = "\
usage: cargo xtask <command>

commands:
  regen            regenerate crates/codeocean-raw/src/generated.rs from openapi/codeocean.yaml
  regen --check    fail with a diff when the committed file differs from what the spec generates
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
    match xtask::regen(&root, check) {
        Ok(xtask::Regen::Fresh) => {
            eprintln!("{} is up to date", xtask::GENERATED);
            ExitCode::SUCCESS
        }
        Ok(xtask::Regen::Written) => {
            eprintln!("wrote {}", xtask::GENERATED);
            ExitCode::SUCCESS
        }
        Ok(xtask::Regen::Stale(diff)) => {
            println!("{diff}");
            eprintln!(
                "error: {} is stale against {}; run `cargo xtask regen` and commit the result",
                xtask::GENERATED,
                xtask::SPEC
            );
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
