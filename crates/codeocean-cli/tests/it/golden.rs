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
            &["capture", "--help"],
            expect_file!["golden/help-capture.txt"],
        ),
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
            &["computation", "wait", "--help"],
            expect_file!["golden/help-computation-wait.txt"],
        ),
        (
            &["data-asset", "create", "--help"],
            expect_file!["golden/help-data-asset-create.txt"],
        ),
        (&["api", "--help"], expect_file!["golden/help-api.txt"]),
        (
            &["config", "show", "--help"],
            expect_file!["golden/help-config-show.txt"],
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

/// The capsule and the parameters may come from a `--request` file: the warnings go by the
/// request sent, not only by the flags.
#[test]
fn run_warns_about_a_parameter_given_twice_with_a_request_file() {
    let sim = sim();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("req.json");
    std::fs::write(
        &file,
        serde_json::json!({
            "capsule_id": OK_CAPSULE,
            "named_parameters": [
                {"param_name": "greeting", "value": "yo"},
                {"param_name": "count", "value": "1"},
                {"param_name": "count", "value": "2"},
            ],
        })
        .to_string(),
    )
    .unwrap();
    let file = file.to_str().unwrap();
    let out = run(Some(&sim), &["run", "--request", file, "--param", "hi"]);
    let warnings: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.starts_with("warning: "))
        .collect();
    assert_eq!(
        warnings,
        [
            format!(
                "warning: {file}: named parameter count is given twice (count=1, then count=2); \
                 both are sent"
            ),
            format!(
                "warning: parameter greeting is given twice: by position (#1, hi) and by name \
                 (greeting=yo), one of them in {file}"
            ),
        ],
        "{out:?}"
    );
    assert_eq!(sim.stats().counts.get("get_capsule_app_panel"), Some(&1));
}

#[test]
fn tables_fit_columns_and_wide_shows_everything() {
    let sim = sim();
    let names = [
        "Alignment of every sample of the 2026 single-cell atlas against GRCh38, second pass",
        "短い名前と長い説明のある計算、日本語で書かれたもの、幅は二倍です",
    ];
    let mut ids = Vec::new();
    for name in names {
        let out = run(
            Some(&sim),
            &[
                "--json",
                "run",
                "--capsule",
                OK_CAPSULE,
                "--name",
                name,
                "--wait",
            ],
        );
        assert_eq!(out.code, 0, "{out:?}");
        ids.push(crate::json(&out)["id"].as_str().unwrap().to_owned());
    }
    let table = |columns: Option<&str>, extra: &[&str]| {
        let mut c = crate::cmd(Some(&sim));
        c.env_remove("COLUMNS");
        if let Some(columns) = columns {
            c.env("COLUMNS", columns);
        }
        let out: crate::Out = c
            .args(extra)
            .args(["capsule", "computations", OK_CAPSULE])
            .output()
            .unwrap()
            .into();
        assert_eq!(out.code, 0, "{out:?}");
        // Ids of the same width, in the order they were made.
        let mut text = out.stdout.clone();
        for (n, id) in ids.iter().enumerate() {
            text = text.replace(id, &format!("{:0>36}", n + 1));
        }
        (out.stdout, redact(&text))
    };
    let (raw, fitted) = table(Some("80"), &[]);
    expect_file!["golden/capsule-computations-80.txt"].assert_eq(&fitted);
    // Every line fits (the wide characters count two columns each).
    for line in raw.lines() {
        let cols: usize = line
            .chars()
            .map(|c| {
                if ('\u{3000}'..='\u{9fff}').contains(&c) {
                    2
                } else {
                    1
                }
            })
            .sum();
        assert!(cols <= 80, "{cols}: {line}");
    }
    // Ids are whole.
    for id in &ids {
        assert!(raw.contains(id.as_str()), "{raw}");
    }
    // --wide, or no terminal and no COLUMNS: every cell whole.
    for (columns, extra) in [(Some("80"), &["--wide"][..]), (None, &[])] {
        let (raw, _) = table(columns, extra);
        for name in names {
            assert!(raw.contains(name), "{columns:?} {extra:?}: {raw}");
        }
    }
    // JSON is never shortened.
    let out = run(
        Some(&sim),
        &["--json", "capsule", "computations", OK_CAPSULE],
    );
    assert!(out.stdout.contains(names[0]) && out.stdout.contains(names[1]));
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
        (
            1,
            "error: no token: pass --token, set CODEOCEAN_TOKEN, or configure a profile \
             (`codeocean config show` says where)\n"
        )
    );
    let out = run(None, &["--token", "t", "capsule", "get", "x"]);
    assert_eq!(
        (out.code, out.stderr.as_str()),
        (
            1,
            "error: no domain: pass --domain, set CODEOCEAN_DOMAIN, or configure a profile \
             (`codeocean config show` says where)\n"
        )
    );
    let out = run(Some(&sim), &["computation", "get", "no-such-id"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(out.stderr.lines().count(), 1, "{out:?}");
    assert!(
        out.stderr
            .starts_with("error: getting computation no-such-id: HTTP 404"),
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
