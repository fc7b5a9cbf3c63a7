//! Golden outputs: help texts, tables, JSON and error lines.

use expect_test::expect_file;

use crate::{OK_CAPSULE, finished_run, redact, run, sim};

#[test]
fn help_texts() {
    for (args, file) in [
        (&["--help"][..], expect_file!["golden/help.txt"]),
        (&["run", "--help"], expect_file!["golden/help-run.txt"]),
        (
            &["results", "download", "--help"],
            expect_file!["golden/help-results-download.txt"],
        ),
        (&["batch", "--help"], expect_file!["golden/help-batch.txt"]),
        (
            &["data-asset", "update", "--help"],
            expect_file!["golden/help-data-asset-update.txt"],
        ),
        (
            &["capsule", "--help"],
            expect_file!["golden/help-capsule.txt"],
        ),
        (
            &["capsule", "search", "--help"],
            expect_file!["golden/help-capsule-search.txt"],
        ),
        (
            &["pipeline", "attach", "--help"],
            expect_file!["golden/help-pipeline-attach.txt"],
        ),
        (
            &["data-asset", "--help"],
            expect_file!["golden/help-data-asset.txt"],
        ),
        (
            &["data-asset", "search", "--help"],
            expect_file!["golden/help-data-asset-search.txt"],
        ),
        (
            &["data-asset", "download", "--help"],
            expect_file!["golden/help-data-asset-download.txt"],
        ),
        (
            &["data-asset", "transfer", "--help"],
            expect_file!["golden/help-data-asset-transfer.txt"],
        ),
        (
            &["capsule", "permissions", "--help"],
            expect_file!["golden/help-capsule-permissions.txt"],
        ),
        (
            &["data-asset", "permissions", "set", "--help"],
            expect_file!["golden/help-data-asset-permissions-set.txt"],
        ),
        (
            &["custom-metadata", "--help"],
            expect_file!["golden/help-custom-metadata.txt"],
        ),
    ] {
        let out = run(None, args);
        assert_eq!(out.code, 0, "{out:?}");
        file.assert_eq(&out.stdout);
    }
}

#[test]
fn capsule_get_table_and_json() {
    let sim = sim();
    let out = run(Some(&sim), &["capsule", "get", OK_CAPSULE]);
    assert_eq!(out.code, 0, "{out:?}");
    expect_file!["golden/capsule-get.txt"].assert_eq(&redact(&out.stdout));
    let out = run(Some(&sim), &["--json", "capsule", "get", OK_CAPSULE]);
    assert_eq!(out.code, 0, "{out:?}");
    expect_file!["golden/capsule-get.json"].assert_eq(&redact(&out.stdout));
}

#[test]
fn app_panel_parameters_in_get_and_app_panel() {
    let sim = sim();
    let pipeline = "c0ffee00-0000-4000-8000-00000000000a";
    let out = run(Some(&sim), &["pipeline", "get", pipeline]);
    assert_eq!(out.code, 0, "{out:?}");
    expect_file!["golden/pipeline-get.txt"].assert_eq(&redact(&out.stdout));
    let out = run(Some(&sim), &["capsule", "app-panel", OK_CAPSULE]);
    assert_eq!(out.code, 0, "{out:?}");
    expect_file!["golden/capsule-app-panel.txt"].assert_eq(&out.stdout);
    // --json: the app panel as the API gives it; `get --json` stays the bare object.
    let out = run(Some(&sim), &["--json", "capsule", "app-panel", OK_CAPSULE]);
    let panel = crate::json(&out);
    assert_eq!(panel["parameters"][0]["param_name"], "greeting", "{panel}");
    let out = run(Some(&sim), &["--json", "pipeline", "get", pipeline]);
    let got = crate::json(&out);
    assert_eq!(got["id"], pipeline);
    assert!(got.get("parameters").is_none(), "{got}");
    // A capsule without declared parameters: nothing on stdout, a note on stderr.
    let other = "c0ffee00-0000-4000-8000-000000000002";
    let out = run(Some(&sim), &["capsule", "app-panel", other]);
    assert_eq!(
        (out.code, out.stdout.as_str(), out.stderr.as_str()),
        (
            0,
            "",
            format!("capsule {other} has no parameters\n").as_str()
        )
    );
}

#[test]
fn run_warns_about_a_parameter_given_twice() {
    let sim = sim();
    let out = run(
        Some(&sim),
        &[
            "run",
            "--capsule",
            OK_CAPSULE,
            "--param",
            "hi",
            "--named-param",
            "count=2",
            "--named-param",
            "greeting=yo",
            "--named-param",
            "count=3",
        ],
    );
    let warnings: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.starts_with("warning: "))
        .collect();
    assert_eq!(
        warnings,
        [
            "warning: --named-param count is given twice (count=2, then count=3); the last one \
             is sent",
            "warning: parameter greeting is given twice: --param #1 (hi) and --named-param \
             greeting=yo",
        ],
        "{out:?}"
    );
    // Only named parameters: no app panel is asked for, and no warning.
    sim.clear_requests();
    let out = run(
        Some(&sim),
        &[
            "run",
            "--capsule",
            OK_CAPSULE,
            "--named-param",
            "greeting=yo",
        ],
    );
    assert_eq!(out.code, 0, "{out:?}");
    assert!(!out.stderr.contains("warning"), "{out:?}");
    assert_eq!(sim.stats().counts.get("get_capsule_app_panel"), None);
}

#[test]
fn results_ls_tables() {
    let sim = sim();
    let id = finished_run(&sim, OK_CAPSULE);
    let out = run(Some(&sim), &["results", "ls", &id]);
    assert_eq!(out.code, 0, "{out:?}");
    expect_file!["golden/results-ls.txt"].assert_eq(&out.stdout);
    let out = run(Some(&sim), &["results", "ls", &id, "tables", "--recursive"]);
    assert_eq!(out.code, 0, "{out:?}");
    expect_file!["golden/results-ls-recursive.txt"].assert_eq(&out.stdout);
    // JSON Lines: one object per entry.
    let out = run(Some(&sim), &["--json", "results", "ls", &id, "--recursive"]);
    let lines: Vec<serde_json::Value> = out
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 11, "{out:?}");
}

#[test]
fn error_lines() {
    let sim = sim();
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.json");
    std::fs::write(
        &bad,
        r#"{"capsule_id": "x", "data_assets": [{"mount": "reference"}]}"#,
    )
    .unwrap();
    let bad = bad.to_str().unwrap();
    let out = run(Some(&sim), &["run", "--request", bad]);
    // A bad request file is a usage mistake: nothing was sent.
    assert_eq!(out.code, 2);
    assert_eq!(
        out.stderr.replace(bad, "bad.json"),
        "error: bad.json: data_assets[0].id: missing field\n"
    );
    assert!(out.stdout.is_empty());
    assert!(sim.requests().is_empty(), "{:?}", sim.requests());

    let out = run(
        None,
        &["--domain", "http://127.0.0.1:9", "capsule", "get", "x"],
    );
    assert_eq!(
        (out.code, out.stderr.as_str()),
        (1, "error: no token: pass --token or set CODEOCEAN_TOKEN\n")
    );
    let out = run(None, &["--token", "t", "capsule", "get", "x"]);
    assert_eq!(
        (out.code, out.stderr.as_str()),
        (
            1,
            "error: no domain: pass --domain or set CODEOCEAN_DOMAIN\n"
        )
    );
    let out = run(Some(&sim), &["computation", "get", "no-such-id"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(out.stderr.lines().count(), 1, "{out:?}");
    assert!(
        out.stderr
            .starts_with("error: getting computation no-such-…: HTTP 404"),
        "{out:?}"
    );
}

#[test]
fn schemas() {
    let out = run(None, &["schema", "batch-line"]);
    let schema: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let text = schema.to_string();
    assert!(
        text.contains("\"name\"") && text.contains("capsule_id"),
        "{text}"
    );
    let out = run(None, &["schema", "run-request"]);
    let schema: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert!(schema["properties"]["processes"].is_object(), "{schema}");
    let out = run(None, &["completions", "bash"]);
    assert!(out.stdout.contains("codeocean"), "{out:?}");
}
