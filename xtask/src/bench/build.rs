//! Case 5, build cost: a clean release build of the `codeocean` library and of the `codeocean`
//! command (`codeocean-cli`), each in a fresh `CARGO_TARGET_DIR` under `target/bench/`, timed
//! wall clock; the crates compiled are counted from cargo's JSON messages. Skipped by `--quick`
//! (it takes minutes).

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context as _, Result, bail};
use serde_json::Value;

use super::{Ctx, report};

const TITLE: &str = "## 5. Build cost: clean release builds\n\n";

/// One clean build.
struct Built {
    what: &'static str,
    command: String,
    secs: f64,
    /// Packages compiled (each counted once, its build script included).
    crates: usize,
    /// Size of the binary, for a binary.
    binary: Option<u64>,
}

/// Runs the case (or says why it did not); its Markdown section.
pub(crate) fn case(ctx: &Ctx<'_>) -> Result<String> {
    if ctx.opts.quick {
        eprintln!("bench: --quick: case 5 (clean release builds) skipped");
        return Ok(format!(
            "{TITLE}Skipped by `--quick`: two clean release builds take minutes. \
             `cargo xtask bench` measures them.\n\n"
        ));
    }
    let base = ctx
        .work
        .parent()
        .context("the work folder has a parent")?
        .join("clean-build");
    let cases: [(&'static str, &[&str], Option<&str>); 2] = [
        ("`codeocean` (library)", &["-p", "codeocean", "--lib"], None),
        (
            "`codeocean-cli` (the `codeocean` command)",
            &["-p", "codeocean-cli", "--bin", "codeocean"],
            Some("codeocean"),
        ),
    ];
    let mut built = Vec::new();
    for (what, args, bin) in cases {
        let dir = base.join(args[1]);
        let b = clean_build(&ctx.root, &dir, what, args, bin)?;
        eprintln!(
            "bench: clean build of {what}: {:.1} s, {} crates",
            b.secs, b.crates
        );
        built.push(b);
        // Each build leaves hundreds of MB behind.
        let _ = std::fs::remove_dir_all(&dir);
    }
    Ok(section(&built))
}

fn clean_build(
    root: &Path,
    dir: &Path,
    what: &'static str,
    args: &[&str],
    bin: Option<&str>,
) -> Result<Built> {
    if dir.exists() {
        std::fs::remove_dir_all(dir)?;
    }
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(root)
        .args(["build", "--release", "--locked", "--message-format=json"])
        .args(args)
        .env("CARGO_TARGET_DIR", dir)
        // A compiler wrapper (sccache) would turn a clean build into a cache read.
        .env_remove("RUSTC_WRAPPER")
        .env_remove("RUSTC_WORKSPACE_WRAPPER")
        .stdin(Stdio::null())
        .stderr(Stdio::null());
    let started = Instant::now();
    let out = cmd.output().context("running cargo build")?;
    let secs = started.elapsed().as_secs_f64();
    if !out.status.success() {
        bail!("clean build of {what} failed ({})", out.status);
    }
    let crates = compiled_packages(&String::from_utf8_lossy(&out.stdout));
    let binary = bin
        .map(|b| std::fs::metadata(dir.join("release").join(b)).map(|m| m.len()))
        .transpose()?;
    Ok(Built {
        what,
        command: format!("cargo build --release --locked {}", args.join(" ")),
        secs,
        crates,
        binary,
    })
}

/// Distinct packages for which cargo reported a freshly built artifact.
fn compiled_packages(messages: &str) -> usize {
    messages
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|m| m["reason"] == "compiler-artifact" && m["fresh"] == false)
        .filter_map(|m| m["package_id"].as_str().map(str::to_owned))
        .collect::<BTreeSet<_>>()
        .len()
}

fn section(built: &[Built]) -> String {
    let mut out = TITLE.to_owned();
    let jobs = std::thread::available_parallelism().map_or(1, |n| n.get());
    let _ = writeln!(
        out,
        "Each build starts from an empty `CARGO_TARGET_DIR` under `target/bench/clean-build/` \
         (downloads already in cargo's cache, so the network is not timed), with cargo's \
         defaults ({jobs} jobs on this machine) and the workspace's release profile, one run \
         each: a build takes minutes, and other work on a shared machine moves it by tens of \
         percent (see the load averages above). \"crates\" counts the packages cargo \
         compiled, the workspace's own included.\n"
    );
    let rows: Vec<Vec<String>> = built
        .iter()
        .map(|b| {
            vec![
                b.what.to_owned(),
                format!("`{}`", b.command),
                format!("{:.0} s", b.secs),
                b.crates.to_string(),
                b.binary.map_or("-".into(), report::human_bytes),
            ]
        })
        .collect();
    report::table(
        &mut out,
        &["what", "command", "wall time", "crates", "binary"],
        &rows,
    );
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_each_fresh_package_once() {
        let messages = r#"{"reason":"compiler-artifact","package_id":"a 1.0","fresh":false}
{"reason":"build-script-executed","package_id":"a 1.0"}
{"reason":"compiler-artifact","package_id":"a 1.0","fresh":false}
{"reason":"compiler-artifact","package_id":"b 1.0","fresh":true}
{"reason":"compiler-artifact","package_id":"c 1.0","fresh":false}
not json
{"reason":"build-finished","success":true}"#;
        assert_eq!(compiled_packages(messages), 2);
    }
}
