//! Network limits and mistakes from the command line: `--request-timeout` against a server
//! that never answers, a domain that does not resolve, HTTPS against plain HTTP, and what `-v`
//! shows of each request.

use std::time::{Duration, Instant};

use crate::{OK_CAPSULE, cmd, run, sim};

/// A server that accepts connections and reads requests but never answers.
fn silent_server() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for sock in listener.incoming().flatten() {
            held.push(sock);
        }
    });
    origin
}

#[test]
fn request_timeout_ends_a_call_to_a_server_that_never_answers() {
    let origin = silent_server();
    let started = Instant::now();
    let out: crate::Out = cmd(None)
        .args([
            "--domain",
            &origin,
            "--token",
            "tok",
            "--request-timeout",
            "1s",
        ])
        .args(["capsule", "get", OK_CAPSULE])
        .output()
        .unwrap()
        .into();
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("request timeout of 1s"), "{out:?}");
    // One try within 1 s (the per-try limit is 30 s), said in the singular.
    assert!(
        out.stderr.contains("1 try") && !out.stderr.contains("1 tries"),
        "{out:?}"
    );
    // Not the default 90 s (the old default was 6 tries of 60 s).
    assert!(started.elapsed() < Duration::from_secs(60), "{out:?}");
}

#[test]
fn a_refused_connection_is_said_once_with_its_tries() {
    // A port nothing listens on: bound, read, and let go.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let started = Instant::now();
    let out = run(
        None,
        &[
            "--domain",
            &format!("http://127.0.0.1:{port}"),
            "--token",
            "tok",
            "capsule",
            "get",
            OK_CAPSULE,
        ],
    );
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(out.stderr.lines().count(), 1, "{out:?}");
    let line = out.stderr.trim_end();
    assert!(
        line.starts_with(&format!(
            "error: getting capsule {OK_CAPSULE}: could not connect; gave up after 4 tries: "
        )),
        "{out:?}"
    );
    // The cause, once (the library's message no longer repeats its source chain).
    assert_eq!(
        line.to_lowercase().matches("connection refused").count(),
        1,
        "{out:?}"
    );
    // Short retries: not the 8.6 s of the full budget.
    assert!(started.elapsed() < Duration::from_secs(5), "{out:?}");
}

#[test]
fn a_domain_that_does_not_resolve_is_named_at_once() {
    let out = run(
        None,
        &[
            "--domain",
            "nowhere.invalid",
            "--token",
            "tok",
            "capsule",
            "get",
            OK_CAPSULE,
        ],
    );
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr
            .contains("the host `nowhere.invalid` could not be resolved"),
        "{out:?}"
    );
}

#[test]
fn https_against_a_plain_http_server_says_to_use_http() {
    let sim = crate::sim_with(|c| c.tls = None);
    let hostport = sim.origin().strip_prefix("http://").unwrap().to_owned();
    let out = run(
        None,
        &[
            "--domain",
            &hostport,
            "--token",
            sim.token(),
            "capsule",
            "get",
            OK_CAPSULE,
        ],
    );
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr.contains(&format!(
            "the server does not speak TLS; use http://{hostport}"
        )),
        "{out:?}"
    );
    assert!(!out.stderr.contains("InvalidContentType"), "{out:?}");
}

#[test]
fn verbose_shows_each_request_and_the_default_does_not() {
    let sim = sim();
    let line = format!("GET /api/v1/capsules/{OK_CAPSULE} 200");
    let quiet = run(Some(&sim), &["capsule", "get", OK_CAPSULE]);
    assert_eq!(quiet.code, 0, "{quiet:?}");
    assert!(!quiet.stderr.contains(&line), "{quiet:?}");
    let verbose = run(Some(&sim), &["-v", "capsule", "get", OK_CAPSULE]);
    assert_eq!(verbose.code, 0, "{verbose:?}");
    assert!(verbose.stderr.contains(&line), "{verbose:?}");
    assert!(verbose.stderr.contains("elapsed_ms="), "{verbose:?}");
    assert!(!verbose.stderr.contains(sim.token()), "{verbose:?}");
}

#[test]
fn walks_stop_at_max_depth_and_max_entries_and_say_how_to_raise_them() {
    let sim = sim();
    let id = crate::finished_run(&sim, OK_CAPSULE);
    let out = run(
        Some(&sim),
        &[
            "results",
            "ls",
            &id,
            "tables",
            "--recursive",
            "--max-depth",
            "0",
        ],
    );
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr.contains("tables/per-sample") && out.stderr.contains("--max-depth"),
        "{out:?}"
    );
    // The folder itself is listed, not what is inside it.
    assert!(!out.stdout.contains("s1.csv"), "{out:?}");
    let dir = tempfile::tempdir().unwrap();
    let to = dir.path().to_str().unwrap();
    let out = run(
        Some(&sim),
        &["results", "download", &id, "--to", to, "--max-entries", "1"],
    );
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("--max-entries"), "{out:?}");
}

#[test]
fn a_download_with_a_refused_token_says_so_and_not_that_a_rerun_resumes() {
    let sim = sim();
    let id = crate::finished_run(&sim, OK_CAPSULE);
    let dir = tempfile::tempdir().unwrap();
    let to = dir.path().join("out");
    let out: crate::Out = cmd(None)
        .args(["--domain", sim.origin(), "--token", "revoked-token"])
        .args(crate::trust(&sim))
        .args(["results", "download", &id, "--to"])
        .arg(&to)
        .output()
        .unwrap()
        .into();
    assert_eq!(out.code, 1, "{out:?}");
    let last = out.stderr.lines().last().unwrap_or_default();
    assert!(
        last.contains("stopped: the API refused the credentials (HTTP 401); check the token"),
        "{out:?}"
    );
    // The same token would be refused again: no promise that a re-run resumes.
    assert!(!last.contains("a re-run resumes"), "{out:?}");
    assert!(!out.stderr.contains("revoked-token"), "{out:?}");
    // The JSON summary says it too.
    let out: crate::Out = cmd(None)
        .args([
            "--domain",
            sim.origin(),
            "--token",
            "revoked-token",
            "--json",
        ])
        .args(crate::trust(&sim))
        .args(["results", "download", &id, "--to"])
        .arg(&to)
        .output()
        .unwrap()
        .into();
    assert_eq!(out.code, 1, "{out:?}");
    let doc = crate::json(&out);
    assert!(
        doc["stopped"]
            .as_str()
            .is_some_and(|s| s.contains("refused the credentials")),
        "{out:?}"
    );
}
