//! Runs, waits, downloads and data assets against the simulator.

use codeocean_sim::ApiGeneration;

use crate::{ASSET, FAILING_CAPSULE, OK_CAPSULE, TOKEN, finished_run, json, run, sim, sim_with};

/// Every result file under `dir` is byte-identical to the simulator's.
fn assert_identical(sim: &codeocean_sim::Simulator, id: &str, dir: &std::path::Path, n: usize) {
    let mut count = 0;
    for path in [
        "output.txt",
        "summary.json",
        "figures/plot.png",
        "figures/histogram.svg",
        "tables/counts.csv",
        "tables/per-sample/s1.csv",
        "tables/per-sample/s2.csv",
    ] {
        let Some(want) = sim.result_content(id, path) else {
            continue;
        };
        let got = std::fs::read(dir.join(path)).unwrap();
        assert!(got == want.read(0, want.size()), "{path} differs");
        count += 1;
    }
    assert_eq!(count, n);
}

#[test]
fn run_wait_download_succeeds_with_one_json_document() {
    let sim = sim();
    let dir = tempfile::tempdir().unwrap();
    let to = dir.path().join("out");
    let out = run(
        Some(&sim),
        &[
            "--json",
            "-vv",
            "run",
            "--capsule",
            OK_CAPSULE,
            "--data-asset",
            &format!("{ASSET}:reference"),
            "--named-param",
            "greeting=hi",
            "--name",
            "nightly",
            "--wait",
            "--download",
            to.to_str().unwrap(),
        ],
    );
    assert_eq!(out.code, 0, "{out:?}");
    let v = json(&out);
    assert_eq!(v["outcome"], "succeeded");
    assert_eq!(v["download"]["downloaded"], 7);
    assert_eq!(v["computation"]["name"], "nightly");
    let id = v["computation"]["id"].as_str().unwrap();
    assert_identical(&sim, id, &to, 7);
    assert!(!out.stderr.contains(TOKEN) && !out.stdout.contains(TOKEN));

    // Again into the same folder: everything is already there.
    let out = run(
        Some(&sim),
        &[
            "--json",
            "results",
            "download",
            id,
            "--to",
            to.to_str().unwrap(),
        ],
    );
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(json(&out)["skipped"], 7);
    assert_eq!(sim.stats().storage_requests_with_authorization, 0);
}

#[test]
fn failing_run_exits_3() {
    let sim = sim();
    let out = run(Some(&sim), &["run", "--capsule", FAILING_CAPSULE, "--wait"]);
    assert_eq!(out.code, 3, "{out:?}");
    assert!(
        out.stderr.ends_with("the run failed (exit code 1)\n"),
        "{out:?}"
    );
    assert!(out.stdout.contains("end status   failed"), "{out:?}");
}

#[test]
fn wait_timeout_exits_4() {
    let sim = sim_with(|c| c.time_scale = 1.0);
    let out = run(
        Some(&sim),
        &["run", "--capsule", OK_CAPSULE, "--wait", "--timeout", "1s"],
    );
    assert_eq!(out.code, 4, "{out:?}");
    assert!(out.stderr.contains("gave up after"), "{out:?}");
}

#[test]
fn legacy_server_still_downloads() {
    let sim = sim_with(|c| c.api = ApiGeneration::Legacy);
    let id = finished_run(&sim, OK_CAPSULE);
    let dir = tempfile::tempdir().unwrap();
    let out = run(
        Some(&sim),
        &[
            "results",
            "download",
            &id,
            "--to",
            dir.path().to_str().unwrap(),
        ],
    );
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stdout
            .starts_with("downloaded 7 files (0 already there, 0 failed)"),
        "{out:?}"
    );
    assert_identical(&sim, &id, dir.path(), 7);
    let out = run(Some(&sim), &["results", "url", &id, "output.txt"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.starts_with(sim.storage_origin()), "{out:?}");
}

#[test]
fn data_assets_from_results() {
    let sim = sim();
    let id = finished_run(&sim, OK_CAPSULE);
    let out = run(
        Some(&sim),
        &[
            "--json",
            "data-asset",
            "create",
            "--from-computation",
            &id,
            "--name",
            "R",
            "--mount",
            "r",
            "--tag",
            "t",
            "--wait",
        ],
    );
    assert_eq!(out.code, 0, "{out:?}");
    let asset = json(&out);
    assert_eq!(asset["state"], "ready");
    let aid = asset["id"].as_str().unwrap();
    let out = run(
        Some(&sim),
        &[
            "--json",
            "data-asset",
            "update",
            aid,
            "--name",
            "S",
            "--metadata",
            "n=3",
        ],
    );
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(json(&out)["name"], "S");
    assert_eq!(json(&out)["custom_metadata"]["n"], 3);
}
