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
