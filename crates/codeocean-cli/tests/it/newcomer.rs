//! What a newcomer meets: closed pipes, one line per error, resumable runs, JSON shapes,
//! destinations, help.

use crate::{OK_CAPSULE, Out, finished_run, sim};

/// Runs the binary with stdout a pipe whose read end is already closed.
fn run_into_closed_pipe(sim: Option<&codeocean_sim::Simulator>, args: &[&str]) -> Out {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = crate::cmd(sim)
        .args(args)
        .stdout(writer)
        .stderr(std::process::Stdio::piped())
        .output()
        .unwrap();
    out.into()
}

#[test]
fn a_closed_stdout_ends_every_command_quietly() {
    let sim = sim();
    let id = finished_run(&sim, OK_CAPSULE);
    for args in [
        &["results", "ls", &id, "-r"][..],
        &["--json", "results", "ls", &id, "-r"],
        &["results", "ls", &id],
        &["--json", "computation", "get", &id],
        &["capsule", "search"],
        &["--json", "data-asset", "search"],
        &["completions", "zsh"],
        &["schema", "batch-line"],
        &["sim", "--print-builtin"],
    ] {
        let out = run_into_closed_pipe(Some(&sim), args);
        assert_eq!(
            (out.code, out.stderr.as_str()),
            (0, ""),
            "{args:?}: {out:?}"
        );
    }
}

#[test]
fn sim_prints_its_catalogue_without_a_token_and_its_help_without_global_options() {
    let out = crate::run(None, &["sim", "--print-builtin"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.starts_with("capsules:\n"), "{out:?}");
    let out = crate::run(None, &["sim", "--help"]);
    assert_eq!(out.code, 0, "{out:?}");
    expect_test::expect_file!["golden/help-sim.txt"].assert_eq(&out.stdout);
    for global in ["--domain", "--json", "--quiet", "--poll-interval"] {
        assert!(!out.stdout.contains(global), "{global}: {}", out.stdout);
    }
    let out = crate::run(None, &["sim"]);
    assert_eq!(
        (out.code, out.stderr.as_str()),
        (
            1,
            "error: no token: pass --token or set CODEOCEAN_SIM_TOKEN or CODEOCEAN_TOKEN\n"
        )
    );
}

#[test]
fn sim_serves_with_the_token_of_codeocean_token() {
    use std::io::BufRead as _;
    let mut child = crate::cmd(None)
        .env("CODEOCEAN_TOKEN", "from-env")
        .args(["sim", "--time-scale", "50"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut hint = String::new();
    stderr.read_line(&mut hint).unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        hint.starts_with("export CODEOCEAN_DOMAIN=http://127.0.0.1:")
            && hint.trim_end().ends_with(" CODEOCEAN_TOKEN=from-env"),
        "{hint}"
    );
}
