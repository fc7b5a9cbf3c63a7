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
    assert_eq!(v["name"], "nightly");
    let id = v["id"].as_str().unwrap();
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
    assert!(
        out.stderr
            .contains("gave up waiting after 1s: computation "),
        "{out:?}"
    );
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
fn a_fixed_api_concurrency_downloads_the_same_tree() {
    let sim = sim_with(|_| {});
    let id = finished_run(&sim, OK_CAPSULE);
    for (flag, env) in [(Some("1"), None), (None, Some("2"))] {
        let dir = tempfile::tempdir().unwrap();
        let to = dir.path().to_str().unwrap();
        let mut c = crate::cmd(Some(&sim));
        if let Some(n) = flag {
            c.args(["--api-concurrency", n]);
        }
        if let Some(n) = env {
            c.env("CODEOCEAN_API_CONCURRENCY", n);
        }
        let out: crate::Out = c
            .args(["results", "download", &id, "--to", to])
            .output()
            .unwrap()
            .into();
        assert_eq!(out.code, 0, "{out:?}");
        assert_identical(&sim, &id, dir.path(), 7);
    }
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
            "replicate=3",
        ],
    );
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(json(&out)["name"], "S");
    assert_eq!(json(&out)["custom_metadata"]["replicate"], 3);
}

#[test]
fn interrupted_download_leaves_only_complete_files_and_resumes() {
    let sim = sim_with(|c| {
        c.faults.apply("storage:latency=5").unwrap();
    });
    let id = finished_run(&sim, "c0ffee00-0000-4000-8000-000000000003");
    let dir = tempfile::tempdir().unwrap();
    let to = dir.path().to_str().unwrap();
    let child = crate::cmd(Some(&sim))
        .args(["-q", "results", "download", &id, "--to", to])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    crate::wait_for(std::time::Duration::from_secs(20), "no progress", || {
        sim.stats().storage_bytes >= 40 * 4096
    });
    crate::interrupt(&child);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130));
    // The last word says how to go on.
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "error: interrupted: complete files are kept; run the same command again to resume \
         the download\n"
    );
    // Every file under its final name is complete; partial ones are part files in the
    // download's state folder.
    let complete = count_complete(dir.path());
    // The big tree: 16 files in each of 1 + 3 + 9 + 27 + 81 folders.
    assert!(complete > 0 && complete < 1936, "{complete}");
    let out = run(
        Some(&sim),
        &["--json", "results", "download", &id, "--to", to],
    );
    assert_eq!(out.code, 0, "{out:?}");
    let v = json(&out);
    assert_eq!(v["skipped"], complete);
    assert_eq!(v["downloaded"].as_u64().unwrap() + complete, 1936);
}

/// The files of 4096 bytes under `dest` (each file there must be one), outside the download's
/// state folder `.codeocean-download`.
fn count_complete(dest: &std::path::Path) -> u64 {
    let mut complete = 0;
    let mut stack = vec![dest.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let name = e.file_name().into_string().unwrap();
            if d == dest && name == ".codeocean-download" {
                continue;
            }
            if e.file_type().unwrap().is_dir() {
                stack.push(e.path());
            } else {
                assert_eq!(e.metadata().unwrap().len(), 4096, "{name}");
                complete += 1;
            }
        }
    }
    complete
}

#[test]
fn two_downloads_into_one_folder_at_once_both_succeed() {
    let sim = sim_with(|c| {
        c.faults.apply("storage:latency=2").unwrap();
    });
    let id = finished_run(&sim, "c0ffee00-0000-4000-8000-000000000003");
    let dir = tempfile::tempdir().unwrap();
    let to = dir.path().to_str().unwrap();
    let spawn = || {
        crate::cmd(Some(&sim))
            .args(["--json", "results", "download", &id, "--to", to])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let first = spawn();
    // The second starts once the first has begun writing.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while sim.stats().storage_bytes == 0 {
        assert!(std::time::Instant::now() < deadline, "no progress");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let second = spawn();
    let outs: Vec<crate::Out> = [first, second]
        .into_iter()
        .map(|c| crate::Out::from(c.wait_with_output().unwrap()))
        .collect();
    for out in &outs {
        assert_eq!(out.code, 0, "{out:?}");
    }
    let (a, b) = (json(&outs[0]), json(&outs[1]));
    // The big tree: 16 files in each of 1 + 3 + 9 + 27 + 81 folders, each fetched once.
    assert_eq!(a["downloaded"].as_u64().unwrap(), 1936, "{a}");
    assert_eq!(
        (b["downloaded"].as_u64(), b["skipped"].as_u64()),
        (Some(0), Some(1936)),
        "{b}"
    );
    assert!(
        outs[1].stderr.contains("waiting: another download into"),
        "{:?}",
        outs[1]
    );
    assert_eq!(count_complete(dir.path()), 1936);
}

#[test]
fn demo_uses_the_local_server_even_when_configured_for_another() {
    let dir = tempfile::tempdir().unwrap();
    let to = dir.path().join("demo");
    let out = crate::cmd(None)
        .env("CODEOCEAN_DOMAIN", "https://acmecorp.codeocean.example")
        .env("CODEOCEAN_TOKEN", "not-used")
        .args(["demo", "--to", to.to_str().unwrap(), "--time-scale", "50"])
        .output()
        .unwrap();
    let out = crate::Out::from(out);
    assert_eq!(out.code, 0, "{out:?}");
    let first = out.stdout.lines().next().unwrap();
    assert!(
        first.starts_with("server: the local simulator at http://127.0.0.1:")
            && first.ends_with("CODEOCEAN_DOMAIN is ignored, pass --remote to use it)"),
        "{first}"
    );
    assert!(
        out.stdout
            .contains("7 files match the listing and the server's bytes"),
        "{out:?}"
    );
    assert!(out.stdout.contains("[7/7] POST /data_assets"), "{out:?}");
    assert!(to.join("tables/per-sample/s2.csv").is_file());
}

#[test]
fn sim_command_serves_and_prints_a_hint() {
    use std::io::BufRead as _;
    let mut child = crate::cmd(None)
        .args(["sim", "--token", "tok", "--time-scale", "50"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    let origin = first
        .trim()
        .strip_prefix("listening on ")
        .unwrap()
        .to_owned();
    let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut hint = String::new();
    stderr.read_line(&mut hint).unwrap();
    assert_eq!(
        hint.trim(),
        format!("export CODEOCEAN_DOMAIN={origin} CODEOCEAN_TOKEN=tok")
    );
    let out = crate::cmd(None)
        .args([
            "--domain", &origin, "--token", "tok", "capsule", "get", OK_CAPSULE,
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    child.kill().unwrap();
    child.wait().unwrap();
}
