//! `codeocean api`: any request through the library's client.

use std::time::Duration;

use codeocean_sim::RouteClass;

use crate::{OK_CAPSULE, json, run, sim};

#[test]
fn api_get_prints_the_answer() {
    let sim = sim();
    let typed = json(&run(Some(&sim), &["--json", "capsule", "get", OK_CAPSULE]));
    for path in [
        format!("capsules/{OK_CAPSULE}"),
        format!("/capsules/{OK_CAPSULE}"),
    ] {
        let out = run(Some(&sim), &["api", &path]);
        assert_eq!(out.code, 0, "{out:?}");
        let answer = json(&out);
        assert_eq!(answer["id"], OK_CAPSULE);
        assert_eq!(answer["name"], typed["name"]);
    }
    assert_eq!(sim.stats().counts.get("get_capsule"), Some(&3));
}

#[test]
fn api_post_with_fields_sends_a_typed_body() {
    let sim = sim();
    sim.add_data_assets(20);
    let out = run(
        Some(&sim),
        &[
            "api",
            "data_assets/search",
            "-f",
            "query=tag:bulk",
            "-f",
            "limit=7",
        ],
    );
    assert_eq!(out.code, 0, "{out:?}");
    let page = json(&out);
    assert_eq!(page["results"].as_array().map(Vec::len), Some(7), "{page}");
    assert_eq!(page["has_more"], true);
    assert_eq!(
        sim.requests().last().map(|r| r.method.as_str()),
        Some("POST")
    );
    // A string where the API wants a number is the server's 400, said with its message.
    let out = run(
        Some(&sim),
        &[
            "api",
            "-X",
            "post",
            "data_assets/search",
            "-f",
            "limit=many",
        ],
    );
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("HTTP 400"), "{out:?}");
}

#[test]
fn api_paginate_prints_every_result_of_a_search_as_json_lines() {
    let sim = sim();
    let mut ids = sim.add_data_assets(250);
    let out = run(
        Some(&sim),
        &[
            "api",
            "data_assets/search",
            "-f",
            "query=tag:bulk",
            "--paginate",
        ],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let mut got: Vec<String> = out
        .stdout
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["id"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(got.len(), 250);
    got.sort();
    ids.sort();
    assert_eq!(got, ids);
    // Pages of 100: three requests.
    assert_eq!(sim.stats().counts.get("search_data_assets"), Some(&3));
    // With --jq, each line filtered.
    let out = run(
        Some(&sim),
        &[
            "api",
            "data_assets/search",
            "-f",
            "query=tag:bulk",
            "-f",
            "limit=50",
            "--paginate",
            "--jq",
            ".id",
        ],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout.lines().count(), 250);
    assert!(
        out.stdout
            .lines()
            .all(|l| ids.binary_search(&l.to_owned()).is_ok())
    );
}

#[test]
fn api_errors_exit_non_zero_with_the_status_and_message() {
    let sim = sim();
    let out = run(Some(&sim), &["api", "capsules/no-such-capsule"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr
            .starts_with("error: sending GET capsules/no-such-capsule: HTTP 404"),
        "{out:?}"
    );
    assert_eq!(out.stderr.lines().count(), 1, "{out:?}");
    assert!(out.stdout.is_empty(), "{out:?}");
    // A route the spec does not describe is sent all the same (a newer server may have it):
    // here the server has none, and says so.
    sim.clear_requests();
    let out = run(Some(&sim), &["api", "no/such/route"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr
            .starts_with("error: sending GET no/such/route: HTTP 404"),
        "{out:?}"
    );
    assert_eq!(sim.requests().len(), 1, "{:?}", sim.requests());
    // Refused before anything is sent: URLs, `..`, methods HTTP does not have.
    sim.clear_requests();
    for path in [
        "https://elsewhere.example/api/v1/capsules/x",
        "capsules/../x",
    ] {
        let out = run(Some(&sim), &["api", path]);
        assert_eq!(out.code, 1, "{path}: {out:?}");
        assert!(out.stderr.starts_with("error: "), "{out:?}");
    }
    assert!(sim.requests().is_empty(), "{:?}", sim.requests());
    // --paginate is for searches.
    let out = run(
        Some(&sim),
        &["api", "-X", "GET", "capsules/x", "--paginate"],
    );
    assert_eq!(out.code, 2, "{out:?}");
}

/// The `POST /api/v1/computations` requests (runs started) the simulator saw.
fn runs_sent(sim: &codeocean_sim::Simulator) -> usize {
    sim.requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path == "/api/v1/computations")
        .count()
}

/// A run is not idempotent: a `503` (no `Retry-After`) to `POST computations` is sent once and
/// fails the command with the status, where a retry could start a second run.
#[test]
fn api_never_sends_a_run_twice_after_a_503() {
    let sim = crate::sim_with(|c| c.faults.apply("run:503=1").unwrap());
    let body = format!("capsule_id={OK_CAPSULE}");
    let out = run(Some(&sim), &["api", "computations", "-f", &body]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr
            .starts_with("error: sending POST computations: HTTP 503"),
        "{out:?}"
    );
    assert_eq!(out.stderr.lines().count(), 1, "{out:?}");
    assert!(out.stdout.is_empty(), "{out:?}");
    assert_eq!(runs_sent(&sim), 1, "{:?}", sim.requests());
    assert_eq!(
        sim.stats().statuses.get(&503),
        Some(&1),
        "{:?}",
        sim.stats()
    );
}

/// The same with `Retry-After`: a server asking to come back is no licence to start a run twice.
/// The simulator sends `503` with `Retry-After: 1` to a request refused by `max_inflight` (with
/// `inflight_status=503`), so a first run held in flight by latency makes the second one's
/// answer that.
#[test]
fn api_never_sends_a_run_twice_after_a_503_with_retry_after() {
    let mut faults = None;
    let sim = crate::sim_with(|c| {
        c.faults
            .apply("run:max_inflight=1,inflight_status=503,latency=3000")
            .unwrap();
        faults = Some(c.faults.clone());
    });
    let faults = faults.unwrap();
    let run_limits = faults.get(RouteClass::Run).limiter;
    let body = format!("capsule_id={OK_CAPSULE}");
    let holder = crate::cmd(Some(&sim))
        .args(["api", "computations", "-f", &body])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    crate::wait_for(
        Duration::from_secs(20),
        "the first run is not in flight",
        || run_limits.inflight() == 1,
    );
    let out = run(Some(&sim), &["api", "computations", "-f", &body]);
    let holder = holder.wait_with_output().unwrap();
    assert_eq!(holder.status.code(), Some(0), "{holder:?}");
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr
            .starts_with("error: sending POST computations: HTTP 503"),
        "{out:?}"
    );
    assert_eq!(out.stderr.lines().count(), 1, "{out:?}");
    // The refused run was sent once: one refusal, and the holder's run the only other request.
    let refused: Vec<_> = sim
        .requests()
        .into_iter()
        .filter(|r| r.path == "/api/v1/computations" && r.status == 503)
        .collect();
    assert_eq!(refused.len(), 1, "{:?}", sim.requests());
    assert_eq!(runs_sent(&sim), 2, "{:?}", sim.requests());
    // A refusal by `max_inflight`, the kind that carries `Retry-After` (not a drawn `503`).
    let drawn = faults.injected_on(RouteClass::Run);
    assert_eq!(
        (drawn.inflight_refused, drawn.status_503),
        (1, 0),
        "{drawn:?}"
    );
    assert_eq!(
        sim.stats().statuses.get(&503),
        Some(&1),
        "{:?}",
        sim.stats()
    );
}

/// The other side of the rule, so the tests above fail if retrying stops: a GET answered `503`
/// is sent again and succeeds. The seed makes the draw of the first request a `503` and of the
/// second none (the plan is drawn from the seed and the request's sequence number).
#[test]
fn api_retries_a_get_after_a_503() {
    let sim = crate::sim_with(|c| {
        c.seed = RETRIED_SEED;
        c.faults.apply("capsules:503=0.5").unwrap();
    });
    let out = run(Some(&sim), &["api", &format!("capsules/{OK_CAPSULE}")]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(json(&out)["id"], OK_CAPSULE);
    let statuses: Vec<u16> = sim.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [503, 200], "{:?}", sim.requests());
}

/// A seed whose first capsules-class draw at `503=0.5` is a `503` and second is not.
const RETRIED_SEED: u64 = 4;

/// Ctrl-C in the middle of `--paginate`: exit 130, `interrupted` on stderr, and stdout holds only
/// whole JSON objects, one a line (a page is printed whole or not at all).
#[test]
fn api_paginate_interrupted_leaves_whole_json_lines() {
    use std::io::Read as _;
    use std::sync::{Arc, Mutex};

    const ASSETS: usize = 400;
    const LIMIT: usize = 5;
    let sim = crate::sim_with(|c| {
        c.data_assets = ASSETS;
        c.faults.apply("search:latency=100").unwrap();
    });
    let limit = format!("limit={LIMIT}");
    let mut child = crate::cmd(Some(&sim))
        .args([
            "api",
            "data_assets/search",
            "-f",
            "query=tag:bulk",
            "-f",
            &limit,
            "--paginate",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let reader = {
        let seen = Arc::clone(&seen);
        let mut stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            loop {
                match stdout.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => seen.lock().unwrap().extend_from_slice(&buf[..n]),
                }
            }
        })
    };
    // Two pages in, with dozens to go (80 pages at 100 ms each).
    crate::wait_for(Duration::from_secs(30), "no two pages on stdout", || {
        seen.lock().unwrap().iter().filter(|b| **b == b'\n').count() >= 2 * LIMIT
    });
    crate::interrupt(&child);
    let out = child.wait_with_output().unwrap();
    reader.join().unwrap();
    let stdout = String::from_utf8(std::mem::take(&mut *seen.lock().unwrap())).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert_eq!(stderr, "error: interrupted\n");
    assert!(stdout.ends_with('\n'), "cut mid-line: {stdout:?}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(
        lines.len() >= 2 * LIMIT && lines.len() < ASSETS,
        "{} lines",
        lines.len()
    );
    for line in &lines {
        let item: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line:?}"));
        assert!(item["id"].is_string(), "{line}");
    }
    // Whole pages only: nothing awaits between the lines of one page.
    assert_eq!(lines.len() % LIMIT, 0, "{} lines", lines.len());
}
