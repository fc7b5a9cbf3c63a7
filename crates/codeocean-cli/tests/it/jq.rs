//! `--jq EXPR`: the JSON output filtered in-process.

use crate::{OK_CAPSULE, json, run, sim};

#[test]
fn jq_filters_a_document_and_prints_strings_raw() {
    let sim = sim();
    // Without --json: --jq implies it.
    let out = run(Some(&sim), &["--jq", ".id", "capsule", "get", OK_CAPSULE]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stdout, format!("{OK_CAPSULE}\n"));
    let full = json(&run(Some(&sim), &["--json", "capsule", "get", OK_CAPSULE]));
    // Anything but a string is compact JSON, one result a line.
    let out = run(
        Some(&sim),
        &["--jq", "{id, name}, .name", "capsule", "get", OK_CAPSULE],
    );
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(
        out.stdout,
        format!(
            "{}\n{}\n",
            serde_json::json!({"id": full["id"], "name": full["name"]}),
            full["name"].as_str().unwrap()
        )
    );
    let out = run(
        Some(&sim),
        &[
            "--json",
            "--jq",
            ".name | tojson",
            "capsule",
            "get",
            OK_CAPSULE,
        ],
    );
    assert_eq!(out.stdout, format!("{}\n", full["name"]));
}

#[test]
fn jq_filters_each_line_of_json_lines() {
    let sim = sim();
    let all = run(Some(&sim), &["--json", "capsule", "search"]);
    assert_eq!(all.code, 0, "{all:?}");
    let ids: Vec<String> = all
        .stdout
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert!(ids.len() > 1, "{all:?}");
    let out = run(Some(&sim), &["--jq", ".id", "capsule", "search"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(
        out.stdout,
        ids.iter().map(|i| format!("{i}\n")).collect::<String>()
    );
    // A filter that selects prints only what it selects.
    let first = &ids[0];
    let expr = format!("select(.id == \"{first}\") | .id");
    let out = run(Some(&sim), &["--jq", &expr, "capsule", "search"]);
    assert_eq!(out.stdout, format!("{first}\n"));
}

#[test]
fn a_bad_expression_is_a_usage_error_before_any_request() {
    let sim = sim();
    for expr in [".id |", "nosuchfilter", "{"] {
        let out = run(Some(&sim), &["--jq", expr, "capsule", "get", OK_CAPSULE]);
        assert_eq!(out.code, 2, "{expr}: {out:?}");
        assert!(
            out.stderr
                .starts_with(&format!("error: --jq `{expr}`: not a jq expression: ")),
            "{out:?}"
        );
        assert!(out.stdout.is_empty(), "{out:?}");
    }
    assert!(sim.requests().is_empty(), "{:?}", sim.requests());
    // An error of the filter on the data ends the command with it (exit 1).
    let out = run(
        Some(&sim),
        &["--jq", ".id + 1", "capsule", "get", OK_CAPSULE],
    );
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.starts_with("error: --jq: "), "{out:?}");
}
