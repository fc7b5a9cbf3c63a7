//! `codeocean batch`: checked before launch, journaled, resumed without launching twice.

use std::time::{Duration, Instant};

use crate::{FAILING_CAPSULE, OK_CAPSULE, cmd, run, sim};

fn launches(sim: &codeocean_sim::Simulator) -> u64 {
    sim.stats()
        .counts
        .get("run_computation")
        .copied()
        .unwrap_or(0)
}

#[test]
fn a_bad_line_stops_the_batch_before_anything_is_sent() {
    let sim = sim();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("runs.jsonl");
    let line = format!("{{\"capsule_id\": \"{OK_CAPSULE}\"}}\n");
    std::fs::write(
        &file,
        format!("{line}{line}{{\"capsule_id\": \"x\", \"data_assets\": [{{\"mount\": \"m\"}}]}}\n"),
    )
    .unwrap();
    let out = run(Some(&sim), &["batch", file.to_str().unwrap()]);
    assert_eq!(out.code, 2, "{out:?}");
    assert_eq!(
        out.stderr,
        "error: runs.jsonl line 3: data_assets[0].id: missing field\n"
    );
    assert!(sim.requests().is_empty());

    // Every bad line is listed, with its number, not only the first.
    std::fs::write(
        &file,
        format!(
            "{{\"name\": \"no target\"}}\n{line}\n{{\"capsule_id\": \"c\", \"data_assets\": [{{\"id\": \"\"}}]}}\nnot json\n"
        ),
    )
    .unwrap();
    let out = run(Some(&sim), &["batch", file.to_str().unwrap()]);
    assert_eq!(out.code, 2, "{out:?}");
    let stderr = out.stderr.replace(
        &out.stderr[out.stderr.find("not valid JSON: ").unwrap()..],
        "not valid JSON: …\n",
    );
    assert_eq!(
        stderr,
        "error: 3 bad lines in runs.jsonl:\n  \
         runs.jsonl line 1: neither capsule_id nor pipeline_id is set\n  \
         runs.jsonl line 4: data_assets[0].id: empty\n  \
         runs.jsonl line 5: not valid JSON: …\n"
    );
    assert!(sim.requests().is_empty());
}

#[test]
fn interrupted_batch_resumes_without_launching_twice() {
    let sim = sim();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("runs.jsonl");
    let state = dir.path().join("runs.jsonl.state");
    let mut text = String::new();
    for i in 0..6 {
        let capsule = if i == 4 { FAILING_CAPSULE } else { OK_CAPSULE };
        text.push_str(&format!(
            "{{\"capsule_id\": \"{capsule}\", \"name\": \"run {i}\"}}\n"
        ));
    }
    std::fs::write(&file, &text).unwrap();
    let file = file.to_str().unwrap();

    // Interrupt (Ctrl-C) once two lines are journaled.
    let mut child = cmd(Some(&sim))
        .args([
            "-q",
            "batch",
            file,
            "--concurrency",
            "1",
            "--spacing",
            "400ms",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::fs::read_to_string(&state)
        .unwrap_or_default()
        .lines()
        .count()
        < 2
    {
        assert!(Instant::now() < deadline, "the batch made no progress");
        std::thread::sleep(Duration::from_millis(10));
    }
    let killed = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    let launched = std::fs::read_to_string(&state).unwrap().lines().count();
    assert!((2..6).contains(&launched), "{launched}");
    assert_eq!(launches(&sim), launched as u64);

    // Resume, waiting for all: every line launched exactly once; line 5 failed.
    let out = run(Some(&sim), &["--json", "batch", file, "--wait"]);
    assert_eq!(out.code, 3, "{out:?}");
    assert_eq!(launches(&sim), 6);
    let rows: Vec<serde_json::Value> = out
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 6);
    let resumed = rows.iter().filter(|r| r["resumed"] == true).count();
    assert_eq!(resumed, launched);
    let failed: Vec<_> = rows.iter().filter(|r| r["outcome"] == "failed").collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["line"], 5);

    // A third time: nothing new is launched.
    let out = run(Some(&sim), &["batch", file]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(launches(&sim), 6);

    // A recorded line that changed is refused.
    std::fs::write(file, text.replacen("run 0", "run zero", 1)).unwrap();
    let out = run(Some(&sim), &["batch", file]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr.contains("line 1 changed since it was launched"),
        "{out:?}"
    );
    assert_eq!(launches(&sim), 6);
}
