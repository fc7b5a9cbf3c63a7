//! Usage mistakes exit 2 before anything is sent, with an error that says what to type.

use crate::{OK_CAPSULE, run, sim};

/// Runs the binary against a simulator and checks it refused with exit 2 without a request;
/// stderr.
fn refused(args: &[&str]) -> String {
    let sim = sim();
    let out = run(Some(&sim), args);
    assert_eq!(out.code, 2, "{args:?}: {out:?}");
    assert!(out.stdout.is_empty(), "{args:?}: {out:?}");
    assert!(sim.requests().is_empty(), "{args:?}: {:?}", sim.requests());
    out.stderr
}

#[test]
fn run_without_a_target_names_the_flags() {
    let err = refused(&["run", "--wait"]);
    assert!(
        err.contains("--capsule") && err.contains("--pipeline") && !err.contains("capsule_id"),
        "{err}"
    );
    // A request file that names nothing to run names the fields, and the flags.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("req.json");
    std::fs::write(&file, r#"{"parameters": ["1"]}"#).unwrap();
    let err = refused(&["run", "--request", file.to_str().unwrap()]);
    assert!(
        err.contains("neither capsule_id nor pipeline_id is set")
            && err.contains("pass --capsule ID or --pipeline ID"),
        "{err}"
    );
}

#[test]
fn key_value_and_id_mount_flags_are_checked_by_the_parser() {
    for (args, says) in [
        (
            &["run", "--capsule", OK_CAPSULE, "--named-param", "greeting"][..],
            "'--named-param <NAME=VALUE>': no `=` in it (expected NAME=VALUE, e.g. greeting=VALUE)",
        ),
        (
            &["run", "--capsule", OK_CAPSULE, "--named-param", "=hi"],
            "the name before `=` is empty",
        ),
        (
            &["run", "--capsule", OK_CAPSULE, "--data-asset", ":mount"],
            "'--data-asset <ID[:MOUNT]>': the data asset id is empty",
        ),
        (
            &["capsule", "attach", OK_CAPSULE, "--data-asset", ":m"],
            "the data asset id is empty",
        ),
        (
            &["computation", "attach", "x", "--data-asset", ""],
            "the data asset id is empty",
        ),
        (
            &["data-asset", "update", "x", "--metadata", "tissue"],
            "'--metadata <KEY=VALUE>': no `=` in it",
        ),
    ] {
        let err = refused(args);
        assert!(err.contains(says), "{args:?}: {err}");
    }
}

#[test]
fn counts_must_be_at_least_one() {
    for args in [
        &["batch", "runs.jsonl", "--concurrency", "0"][..],
        &[
            "results",
            "download",
            "x",
            "--to",
            "d",
            "--concurrency",
            "0",
        ],
        &[
            "data-asset",
            "download",
            "x",
            "--to",
            "d",
            "--concurrency",
            "0",
        ],
        &["capsule", "search", "--limit", "0"],
        &["data-asset", "search", "--max-pages", "0"],
        &["--api-concurrency", "0", "capsule", "get", OK_CAPSULE],
        &["run", "--capsule", OK_CAPSULE, "--version", "0"],
    ] {
        let err = refused(args);
        assert!(
            err.starts_with("error: invalid value '0"),
            "{args:?}: {err}"
        );
    }
    for scale in ["0", "-1", "inf", "fast"] {
        let out = run(None, &["demo", &format!("--time-scale={scale}")]);
        assert_eq!(out.code, 2, "{scale}: {out:?}");
        assert!(out.stderr.contains("above zero"), "{scale}: {out:?}");
    }
    // (`cmd` passes its own --poll-interval to the simulator; this one has no server.)
    // A zero request timeout would fail every call at once ("no answer within 0ns").
    for (flag, zero) in [
        ("--poll-interval", "0s"),
        ("--request-timeout", "0s"),
        ("--request-timeout", "0"),
    ] {
        let out = run(None, &[flag, zero, "computation", "get", "x"]);
        assert_eq!(out.code, 2, "{flag}: {out:?}");
        assert!(
            out.stderr.contains("must be more than zero"),
            "{flag}: {out:?}"
        );
    }
}

/// A build without the `sim` feature keeps `sim` and `demo` in its help, marked as not in this
/// build, and both refuse with exit 2, naming the feature, whatever their arguments. Runs only in
/// such a build: `cargo test -p codeocean-cli --no-default-features --test it without_sim`.
#[cfg(not(feature = "sim"))]
#[test]
fn without_sim_the_simulator_commands_say_they_need_the_feature() {
    let help = run(None, &["--help"]);
    assert_eq!(help.code, 0, "{help:?}");
    for name in ["sim", "demo"] {
        let line = help
            .stdout
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("{name} ")))
            .unwrap_or_else(|| panic!("no {name} in the help: {}", help.stdout));
        assert!(line.contains("Not in this build"), "{line}");
    }
    for args in [
        &["sim"][..],
        &["sim", "--help"],
        &["sim", "--port", "0", "--token", "t"],
        &["demo"],
        &["demo", "--to", "out"],
    ] {
        let err = refused(args);
        assert!(
            err.contains(&format!("`codeocean {}` needs the `sim` feature", args[0]))
                && err.contains("cargo install --locked codeocean-cli"),
            "{args:?}: {err}"
        );
    }
}

/// A build without the `mcp` feature (the default build, and the one without default features)
/// keeps `mcp` in its help, marked as not in this build, and refuses it with exit 2, naming the
/// feature and the install command that builds it in. Runs in the default test run and in CI's
/// build without default features (the `without_sim` filter of `cargo test -p codeocean-cli
/// --no-default-features --test it without_sim`).
#[cfg(not(feature = "mcp"))]
#[test]
fn without_sim_features_mcp_says_it_needs_its_feature() {
    let help = run(None, &["--help"]);
    assert_eq!(help.code, 0, "{help:?}");
    let line = (help.stdout.lines())
        .find(|l| l.trim_start().starts_with("mcp "))
        .unwrap_or_else(|| panic!("no mcp in the help: {}", help.stdout));
    assert!(line.contains("Not in this build"), "{line}");
    for args in [&["mcp"][..], &["mcp", "--read-only"], &["mcp", "--help"]] {
        let err = refused(args);
        assert!(
            err.contains("`codeocean mcp` needs the `mcp` feature")
                && err.contains("cargo install --locked codeocean-cli --features mcp"),
            "{args:?}: {err}"
        );
    }
}
