//! Secret hygiene: at the highest verbosity, through failures of every kind, the token never
//! appears in anything the command prints, and the storage origin never sees `Authorization`.

use base64::Engine as _;
use codeocean_sim::{ApiGeneration, FaultSpec, Faults, RouteClass};

use crate::{FAILING_CAPSULE, OK_CAPSULE, Out, TOKEN, cmd, finished_run, sim_with};

/// The CA file of the test's simulator when it serves HTTPS (`CODEOCEAN_TEST_TLS`).
static CA: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();

/// The token and every form of it that could leak: the Basic header value and its base64 with
/// and without the trailing colon.
fn forms(token: &str) -> Vec<String> {
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    vec![
        token.to_owned(),
        b64(&format!("{token}:")),
        b64(token),
        format!("Basic {}", b64(&format!("{token}:"))),
    ]
}

/// Runs the binary at `-vvv` with the token in the environment (and the domain given, and the
/// CA of a simulator over HTTPS in `CODEOCEAN_CA_CERT`), and asserts no form of `token` is in
/// its output. Returns what it printed.
fn run_vvv(origin: &str, token: &str, args: &[&str]) -> Out {
    let mut c = cmd(None);
    if let Some(ca) = CA.get() {
        c.env("CODEOCEAN_CA_CERT", ca);
    }
    let out: Out = c
        .env("CODEOCEAN_TOKEN", token)
        .args(["--domain", origin, "--poll-interval", "20ms", "-vvv"])
        .args(args)
        .output()
        .unwrap()
        .into();
    for form in forms(token) {
        assert!(
            !out.stdout.contains(&form) && !out.stderr.contains(&form),
            "`{form}` leaked by {args:?}: {out:?}"
        );
    }
    out
}

#[test]
fn the_token_never_leaks_through_failures_of_any_kind() {
    let sim = sim_with(|_| {});
    if let Some(ca) = sim.ca_certificate_path() {
        CA.set(ca.to_owned()).unwrap();
    }
    let origin = sim.origin().to_owned();
    let done = finished_run(&sim, OK_CAPSULE);
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().to_str().unwrap();
    // Nothing listening (connection refused): retried with backoff for several seconds, so on
    // its own thread while the rest goes on.
    let refused = std::thread::spawn(|| {
        run_vvv("http://127.0.0.1:9", TOKEN, &["capsule", "get", OK_CAPSULE]).code
    });
    let mut codes = vec![
        // A wrong token (401), with the wrong token being the one that must not leak.
        run_vvv(&origin, "wrong-token-5f1d", &["capsule", "get", OK_CAPSULE]).code,
        // Unknown objects (404 with a JSON body).
        run_vvv(&origin, TOKEN, &["computation", "get", "nope"]).code,
        run_vvv(&origin, TOKEN, &["results", "url", &done, "no/such/file"]).code,
        // A failing run, waited for.
        run_vvv(
            &origin,
            TOKEN,
            &["run", "--capsule", FAILING_CAPSULE, "--wait"],
        )
        .code,
    ];
    // A server that answers with HTML error pages and throttling, everywhere, then a download
    // through resets, truncations and early-expiring URLs.
    sim.set_faults(Faults::all(FaultSpec {
        p500: 0.5,
        html: 1.0,
        p429: 0.2,
        retry_after_secs: 0,
        ..FaultSpec::default()
    }));
    codes.push(run_vvv(&origin, TOKEN, &["capsule", "computations", OK_CAPSULE]).code);
    codes.push(refused.join().unwrap());
    let mut faults = Faults::default();
    faults.set(
        RouteClass::Storage,
        FaultSpec {
            reset: 0.2,
            truncate: 0.2,
            p503: 0.2,
            ..FaultSpec::default()
        },
    );
    faults.set(
        RouteClass::Urls,
        FaultSpec {
            expire: 0.3,
            p502: 0.2,
            ..FaultSpec::default()
        },
    );
    sim.set_faults(faults);
    codes.push(
        run_vvv(
            &origin,
            TOKEN,
            &["results", "download", &done, "--to", dest],
        )
        .code,
    );
    // A legacy server: the fallback's probe and its 404 stay clean too.
    sim.set_faults(Faults::default());
    sim.set_api(ApiGeneration::Legacy);
    let dest2 = dir.path().join("legacy");
    codes.push(
        run_vvv(
            &origin,
            TOKEN,
            &[
                "results",
                "download",
                &done,
                "--to",
                dest2.to_str().unwrap(),
            ],
        )
        .code,
    );

    // The failures really happened (and the download under faults still completed).
    // Under HTML 500s the listing may succeed after retries or give up: either way, no leak.
    assert!(matches!(codes[4], 0 | 1), "exit codes {codes:?}");
    codes[4] = 1;
    assert_eq!(codes, [1, 1, 1, 3, 1, 1, 0, 0], "exit codes");
    let storage: Vec<_> = sim
        .requests()
        .into_iter()
        .filter(|r| r.origin == "storage")
        .collect();
    assert!(!storage.is_empty());
    assert!(
        storage.iter().all(|r| !r.authorization),
        "a storage request carried Authorization"
    );
}
