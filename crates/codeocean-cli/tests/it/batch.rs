//! `codeocean batch`: checked before launch, journaled, resumed without launching twice.

use std::time::Duration;

use expect_test::expect_file;

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
    crate::wait_for(
        Duration::from_secs(20),
        "the batch made no progress",
        || {
            std::fs::read_to_string(&state)
                .unwrap_or_default()
                .lines()
                .count()
                >= 2
        },
    );
    crate::interrupt(&child);
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

/// A three-line batch file: two named lines and a failing unnamed one.
fn three_lines(dir: &std::path::Path) -> String {
    let file = dir.join("runs.jsonl");
    std::fs::write(
        &file,
        format!(
            "{{\"capsule_id\": \"{OK_CAPSULE}\", \"name\": \"sample a\"}}\n\
             {{\"capsule_id\": \"{FAILING_CAPSULE}\"}}\n\
             {{\"capsule_id\": \"{OK_CAPSULE}\", \"name\": \"sample/c\"}}\n"
        ),
    )
    .unwrap();
    file.to_str().unwrap().to_owned()
}

/// The computation ids of a `--json` batch's rows, by line.
fn ids(stdout: &str) -> Vec<String> {
    let mut rows: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    rows.sort_by_key(|r| r["line"].as_u64());
    rows.iter()
        .map(|r| r["computation_id"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn plain_progress_names_each_line_and_counts_the_lines_done() {
    let sim = sim();
    let dir = tempfile::tempdir().unwrap();
    let file = three_lines(dir.path());
    let out = run(
        Some(&sim),
        &[
            "--json",
            "batch",
            &file,
            "--concurrency",
            "1",
            "--spacing",
            "0s",
        ],
    );
    assert_eq!(out.code, 0, "{out:?}");
    let mut stderr = out.stderr.clone();
    for (n, id) in ids(&out.stdout).iter().enumerate() {
        stderr = stderr.replace(id, &format!("<computation {}>", n + 1));
    }
    expect_file!["golden/batch-plain-progress.txt"].assert_eq(&stderr);
}

#[test]
fn plain_progress_with_concurrency_2_keeps_each_line_apart() {
    let sim = sim();
    let dir = tempfile::tempdir().unwrap();
    let file = three_lines(dir.path());
    let download = dir.path().join("out");
    let out = run(
        Some(&sim),
        &[
            "--json",
            "batch",
            &file,
            "--concurrency",
            "2",
            "--spacing",
            "0s",
            "--download",
            download.to_str().unwrap(),
        ],
    );
    assert_eq!(out.code, 3, "{out:?}");
    let ids = ids(&out.stdout);
    // Every progress line is named by its batch line (as its download folder), never by an id.
    let labels = ["1-sample_a", "line-2", "3-sample_c"];
    for l in out.stderr.lines().filter(|l| !l.starts_with("error: ")) {
        assert!(
            labels.iter().any(|p| l.starts_with(&format!("{p}: "))),
            "{l}\n{}",
            out.stderr
        );
    }
    let outcomes = ["succeeded", "failed", "succeeded"];
    for ((label, id), outcome) in labels.iter().zip(&ids).zip(outcomes) {
        let mine: Vec<&str> = out
            .stderr
            .lines()
            .filter(|l| l.starts_with(&format!("{label}: ")))
            .collect();
        assert_eq!(
            mine[0],
            format!("{label}: started computation {id}"),
            "{mine:?}"
        );
        // One line per state change: no state twice in a row.
        assert!(mine.windows(2).all(|w| w[0] != w[1]), "{mine:?}");
        let last = mine.last().unwrap();
        assert!(
            last.starts_with(&format!("{label}: {outcome} (")) && last.ends_with("/3 done)"),
            "{mine:?}"
        );
        if outcome == "succeeded" {
            assert!(
                mine.iter()
                    .any(|l| l.contains(&format!("into {}", download.join(label).display()))),
                "{mine:?}"
            );
        }
    }
    // The count goes 1, 2, 3, in the order lines end.
    let counts: Vec<&str> = out
        .stderr
        .lines()
        .filter_map(|l| l.rsplit_once(" (").map(|(_, c)| c))
        .filter(|c| c.ends_with(" done)"))
        .collect();
    assert_eq!(
        counts,
        ["1/3 done)", "2/3 done)", "3/3 done)"],
        "{}",
        out.stderr
    );
}

/// A batch line that names a parameter twice is warned about (both are sent), as `run` warns.
#[test]
fn a_line_naming_a_parameter_twice_is_warned_about() {
    let sim = sim();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("runs.jsonl");
    std::fs::write(
        &file,
        format!(
            "{{\"capsule_id\": \"{OK_CAPSULE}\"}}\n\
             {{\"capsule_id\": \"{OK_CAPSULE}\", \"named_parameters\": [\
             {{\"param_name\": \"greeting\", \"value\": \"a\"}}, \
             {{\"param_name\": \"greeting\", \"value\": \"b\"}}]}}\n"
        ),
    )
    .unwrap();
    let path = file.to_str().unwrap();
    let out = run(Some(&sim), &["batch", path]);
    assert_eq!(out.code, 0, "{out:?}");
    let warnings: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.starts_with("warning: "))
        .collect();
    assert_eq!(
        warnings,
        [format!(
            "warning: {path} line 2: named parameter greeting is given twice (greeting=a, then \
             greeting=b); both are sent"
        )],
        "{out:?}"
    );
    assert_eq!(launches(&sim), 2);
}

#[test]
fn a_batch_download_that_misses_a_file_is_the_lines_error_worded_as_before() {
    // The crate's download now fails by itself when a file is missing
    // (`ErrorKind::Incomplete`); the batch row says what it said before, and the exit code is
    // that of a line ended by an error.
    let sim = sim();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("runs.jsonl");
    std::fs::write(
        &file,
        format!("{{\"capsule_id\": \"{OK_CAPSULE}\", \"name\": \"a\"}}\n"),
    )
    .unwrap();
    let download = dir.path().join("out");
    // A file where the results' `figures` folder must go: every file under it is refused.
    std::fs::create_dir_all(download.join("1-a")).unwrap();
    std::fs::write(download.join("1-a/figures"), "in the way").unwrap();
    let out = run(
        Some(&sim),
        &[
            "--json",
            "batch",
            file.to_str().unwrap(),
            "--spacing",
            "0s",
            "--download",
            download.to_str().unwrap(),
        ],
    );
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr.contains("1 line(s) ended with an error"),
        "{}",
        out.stderr
    );
    let row: serde_json::Value = serde_json::from_str(out.stdout.trim()).unwrap();
    assert_eq!(row["outcome"], "error", "{row}");
    let error = row["error"].as_str().unwrap();
    assert!(
        error.starts_with("downloading the results of computation ")
            && error.contains(" file(s) or folder(s) failed (")
            && error.contains(" complete); first, `figures/")
            && error.contains("is not a folder"),
        "{error}"
    );
}

#[test]
fn a_journal_cut_short_by_a_crash_is_repaired_so_no_line_is_launched_twice() {
    let sim = sim();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("runs.jsonl");
    let state = dir.path().join("runs.jsonl.state");
    let mut text = String::new();
    for i in 1..=3 {
        text.push_str(&format!(
            "{{\"capsule_id\": \"{OK_CAPSULE}\", \"name\": \"run {i}\"}}\n"
        ));
    }
    std::fs::write(&file, &text).unwrap();
    let file = file.to_str().unwrap();
    let out = run(Some(&sim), &["batch", file, "--concurrency", "1"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(launches(&sim), 3);

    // As if the batch had crashed while journaling line 2: line 1's record, then a fragment
    // with no line end (lines 2 and 3 were never journaled).
    let journal = std::fs::read_to_string(&state).unwrap();
    let first = journal
        .lines()
        .find(|l| l.starts_with("{\"line\":1,"))
        .unwrap_or_else(|| panic!("no record of line 1: {journal:?}"));
    std::fs::write(&state, format!("{first}\n{{\"line\":2,\"ha")).unwrap();

    // Resume: the cut line and the one after it are launched, line 1 is not.
    let out = run(Some(&sim), &["--json", "batch", file, "--concurrency", "1"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(launches(&sim), 5);
    assert!(
        out.stderr.contains("line 2: ignoring an unreadable record"),
        "{out:?}"
    );
    let rows: Vec<serde_json::Value> = out
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let resumed: Vec<_> = rows
        .iter()
        .filter(|r| r["resumed"] == true)
        .map(|r| r["line"].as_u64().unwrap())
        .collect();
    assert_eq!(resumed, [1], "{rows:?}");

    // A third time: every line was journaled readably, so nothing is launched again.
    let out = run(Some(&sim), &["--json", "batch", file]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(launches(&sim), 5);
    let rows: Vec<serde_json::Value> = out
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 3);
    assert!(rows.iter().all(|r| r["resumed"] == true), "{rows:?}");
    // The records after the fragment are on lines of their own.
    let journal = std::fs::read_to_string(&state).unwrap();
    let lines: Vec<&str> = journal.lines().collect();
    assert_eq!(lines.len(), 4, "{journal:?}");
    assert_eq!(lines[1], "{\"line\":2,\"ha");
    for l in [lines[0], lines[2], lines[3]] {
        serde_json::from_str::<serde_json::Value>(l).unwrap_or_else(|e| panic!("{e}: {l}"));
    }
}
