//! Things without end, each ended: bodies that never stop (API success bodies, storage error
//! pages), folders nested without end, servers that never answer or stall mid-transfer,
//! credentials revoked mid-job, and network mistakes (a host that does not resolve, TLS
//! against plain HTTP) that must fail at once. Plus what `-v` logs of each request.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt as _;
use tokio::net::TcpStream;

use super::scripted::{Reply, Seen, ok, serve};
use super::*;

/// A guard against hanging: the old behaviour of each case ran for minutes or forever.
const GUARD: Duration = Duration::from_secs(20);

fn fast_retries(max_retries: usize) -> RetryPolicy {
    RetryPolicy::default()
        .max_retries(max_retries)
        .initial_backoff(Duration::from_millis(5))
        .max_backoff(Duration::from_millis(20))
        .max_retry_after(Duration::from_secs(5))
}

fn client_for(origin: &str) -> codeocean::ClientBuilder {
    Client::builder()
        .domain(origin)
        .token("scripted-token")
        .retry_policy(fast_retries(2))
}

/// The path a results listing asks for (its JSON body's `path`).
fn listed_path(seen: &Seen) -> String {
    serde_json::from_str::<serde_json::Value>(&seen.body)
        .ok()
        .and_then(|v| v["path"].as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn entry(path: &str, kind: &str) -> serde_json::Value {
    serde_json::json!({
        "name": path.rsplit('/').next().unwrap(),
        "path": path,
        "type": kind,
        "size": 3,
    })
}

/// An API whose listings hold `files(folder)` and whose URLs point at `storage`.
async fn api(
    storage: String,
    listing: impl Fn(&str) -> Vec<serde_json::Value> + Send + Sync + 'static,
) -> (String, Arc<Mutex<Vec<Seen>>>) {
    serve(Arc::new(move |seen: &Seen, _: &mut TcpStream| {
        if seen.head.starts_with("POST ") {
            ok(serde_json::json!({ "items": listing(&listed_path(seen)) }).to_string())
        } else {
            ok(serde_json::json!({
                "download_url": format!("{storage}/file?X-Amz-Signature=s3cr3t"),
                "view_url": format!("{storage}/view?X-Amz-Signature=s3cr3t"),
            })
            .to_string())
        }
    }))
    .await
}

// Bodies without end.

#[tokio::test]
async fn an_api_success_body_without_end_is_cut_off_at_the_cap() {
    let (origin, log) = serve(Arc::new(|_: &Seen, _: &mut TcpStream| Reply::Forever {
        status: "200 OK",
        start: r#"{"items": ["#,
        repeat: r#"{"name": "a", "path": "a", "type": "file", "size": 1},"#,
    }))
    .await;
    let c = client_for(&origin)
        .max_response_body(1 << 20)
        .build()
        .unwrap();
    let e = tokio::time::timeout(GUARD, c.list_results("cafe", ""))
        .await
        .expect("the body is cut off")
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::TooLarge, "{e}");
    assert!(
        e.to_string().contains("1 MiB") && e.to_string().contains("max_response_body"),
        "the error names the cap and how to raise it: {e}"
    );
    assert!(!e.is_retryable());
    assert_eq!(
        log.lock().unwrap().len(),
        1,
        "a body too large is not retried"
    );
}

#[tokio::test]
async fn the_default_body_cap_is_64_mib() {
    assert_eq!(codeocean_raw::hooks::DEFAULT_MAX_BODY, 64 << 20);
    assert!(format!("{:?}", Client::builder()).contains("max_response_body: 67108864"));
}

#[tokio::test]
async fn an_api_error_body_without_end_is_read_only_in_part() {
    let (origin, log) = serve(Arc::new(|_: &Seen, _: &mut TcpStream| Reply::Forever {
        status: "404 Not Found",
        start: "<html>",
        repeat: "<p>no such page</p>",
    }))
    .await;
    let c = client_for(&origin).build().unwrap();
    let e = tokio::time::timeout(GUARD, c.get_capsule("cafe"))
        .await
        .expect("the error page is read only in part")
        .unwrap_err();
    assert_eq!(e.status(), Some(404), "{e}");
    assert!(e.to_string().contains("no such page"), "{e}");
    assert_eq!(log.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn a_storage_error_page_without_end_is_read_only_in_part() {
    let hits = Arc::new(AtomicUsize::new(0));
    let storage_hits = hits.clone();
    let (storage, _) = serve(Arc::new(move |_: &Seen, _: &mut TcpStream| {
        storage_hits.fetch_add(1, Ordering::SeqCst);
        Reply::Forever {
            status: "500 Internal Server Error",
            start: "<html><title>oops</title>",
            repeat: "<p>endless</p>",
        }
    }))
    .await;
    let (origin, _) = api(storage, |folder| match folder {
        "" => vec![entry("big.bin", "file")],
        _ => vec![],
    })
    .await;
    let c = client_for(&origin).build().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let summary = tokio::time::timeout(
        GUARD,
        c.download("cafe", dir.path()).allow_partial(true).run(),
    )
    .await
    .expect("an endless error page ends the transfer")
    .unwrap();
    let e = summary.failures[0].error();
    assert_eq!(e.status(), Some(500), "{e}");
    assert!(e.to_string().contains("oops"), "{e}");
    assert_eq!(hits.load(Ordering::SeqCst), 3, "first try + 2 retries");
    assert!(!dir.path().join("big.bin").exists());
}

// Walks end.

/// A tree whose every folder holds one more folder (`d/d/d/…`) and two files.
fn nest_forever(folder: &str) -> Vec<serde_json::Value> {
    let at = |name: &str| {
        if folder.is_empty() {
            name.to_owned()
        } else {
            format!("{folder}/{name}")
        }
    };
    vec![
        entry(&at("d"), "folder"),
        entry(&at("f1"), "file"),
        entry(&at("f2"), "file"),
    ]
}

#[tokio::test]
async fn folders_that_nest_without_end_stop_at_the_depth_cap() {
    let (origin, log) = api(String::new(), nest_forever).await;
    let c = client_for(&origin).build().unwrap();
    let walk: Vec<_> = tokio::time::timeout(
        GUARD,
        c.walk_results("cafe")
            .concurrency(4)
            .max_depth(5)
            .stream()
            .collect::<Vec<_>>(),
    )
    .await
    .expect("the walk ends");
    let errors: Vec<_> = walk.iter().filter_map(|r| r.as_ref().err()).collect();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].kind(), ErrorKind::Paging);
    let msg = errors[0].to_string();
    assert!(
        msg.contains("max_depth") && msg.contains("5") && msg.contains("--max-depth"),
        "{msg}"
    );
    // The root and five levels below it are listed; the sixth level is named, not listed.
    assert_eq!(log.lock().unwrap().len(), 6);
    assert_eq!(walk.len() - 1, 6 * 3);
}

#[tokio::test]
async fn the_default_walk_of_an_endless_nest_ends() {
    let (origin, log) = api(String::new(), nest_forever).await;
    let c = client_for(&origin).build().unwrap();
    let walk: Vec<_> = tokio::time::timeout(
        Duration::from_secs(60),
        c.walk_results("cafe")
            .concurrency(16)
            .stream()
            .collect::<Vec<_>>(),
    )
    .await
    .expect("the walk ends with the default caps");
    let last = walk.iter().rev().find_map(|r| r.as_ref().err()).unwrap();
    assert_eq!(last.kind(), ErrorKind::Paging);
    assert_eq!(log.lock().unwrap().len(), codeocean::DEFAULT_MAX_DEPTH + 1);
}

#[tokio::test]
async fn a_download_stops_at_its_entry_cap_and_says_how_to_raise_it() {
    let (storage, _) = serve(Arc::new(|_: &Seen, _: &mut TcpStream| ok("abc"))).await;
    let (origin, log) = api(storage, nest_forever).await;
    let c = client_for(&origin).build().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let summary = tokio::time::timeout(
        GUARD,
        c.download("cafe", dir.path())
            .max_entries(10)
            .max_depth(1000)
            .allow_partial(true)
            .run(),
    )
    .await
    .expect("the download ends")
    .unwrap();
    assert_eq!(summary.failures.len(), 1, "{summary:?}");
    let e = summary.failures[0].error();
    assert_eq!(e.kind(), ErrorKind::Paging);
    assert!(
        e.to_string().contains("max_entries") && e.to_string().contains("10"),
        "{e}"
    );
    // Ten entries: f1 and f2 of the first levels were fetched, nothing past the cap.
    let listings = log
        .lock()
        .unwrap()
        .iter()
        .filter(|s| s.head.starts_with("POST "))
        .count();
    assert!(listings <= 5, "{listings} listings");
    assert!(summary.downloaded <= 7, "{summary:?}");
}

// Servers that never answer.

#[tokio::test]
async fn a_hung_api_call_gives_up_within_the_request_timeout() {
    let (origin, log) = serve(Arc::new(|_: &Seen, _: &mut TcpStream| Reply::Hang)).await;
    let c = client_for(&origin)
        .retry_policy(fast_retries(50))
        .attempt_timeout(Duration::from_millis(300))
        .request_timeout(Duration::from_millis(1000))
        .build()
        .unwrap();
    let e = tokio::time::timeout(GUARD, c.get_computation("cafe"))
        .await
        .expect("the call gives up")
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
    assert!(e.to_string().contains("request timeout"), "{e}");
    // Tries of 300 ms fit three or four times in the 1 s total, not fifty-one.
    let tries = log.lock().unwrap().len();
    assert!((3..=4).contains(&tries), "{tries} tries");
}

#[tokio::test]
async fn a_stalled_transfer_gives_up_within_the_request_timeout() {
    let hits = Arc::new(AtomicUsize::new(0));
    let storage_hits = hits.clone();
    let (storage, _) = serve(Arc::new(move |_: &Seen, _: &mut TcpStream| {
        storage_hits.fetch_add(1, Ordering::SeqCst);
        Reply::Stall
    }))
    .await;
    let (origin, _) = api(storage, |folder| match folder {
        "" => vec![serde_json::json!({
            "name": "big.bin", "path": "big.bin", "type": "file", "size": 1000
        })],
        _ => vec![],
    })
    .await;
    let c = client_for(&origin)
        .retry_policy(fast_retries(50))
        .read_timeout(Duration::from_millis(150))
        .request_timeout(Duration::from_millis(1000))
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let summary = tokio::time::timeout(
        GUARD,
        c.download("cafe", dir.path()).allow_partial(true).run(),
    )
    .await
    .expect("the transfer gives up")
    .unwrap();
    let e = summary.failures[0].error();
    assert!(e.to_string().contains("request timeout"), "{e}");
    // A try ends after 150 ms of silence; 1 s without progress ends the transfer, long
    // before its 51 tries.
    let tries = hits.load(Ordering::SeqCst);
    assert!((2..=10).contains(&tries), "{tries} tries");
}

#[tokio::test]
async fn a_body_that_drips_gives_up_within_the_request_timeout() {
    // One byte every 100 ms is never silent for the read timeout, but it is no progress
    // worth the name: 1000 bytes would take 100 s (a real drip of a byte every 10 s, days).
    let (storage, _) = serve(Arc::new(|_: &Seen, _: &mut TcpStream| Reply::Drip)).await;
    let (origin, _) = api(storage, |folder| match folder {
        "" => vec![serde_json::json!({
            "name": "big.bin", "path": "big.bin", "type": "file", "size": 1000
        })],
        _ => vec![],
    })
    .await;
    let c = client_for(&origin)
        .read_timeout(Duration::from_millis(500))
        .request_timeout(Duration::from_millis(1500))
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let summary = tokio::time::timeout(
        GUARD,
        c.download("cafe", dir.path()).allow_partial(true).run(),
    )
    .await
    .expect("the transfer gives up")
    .unwrap();
    assert_eq!(summary.failures.len(), 1, "{summary:?}");
    let e = summary.failures[0].error();
    assert!(e.to_string().contains("no progress"), "{e}");
    assert!(!dir.path().join("big.bin").exists());
}

// Revoked credentials.

#[tokio::test]
async fn refused_credentials_stop_the_whole_download_job() {
    let refused = Arc::new(AtomicUsize::new(0));
    let after_refusal = Arc::new(AtomicUsize::new(0));
    let (r, a) = (refused.clone(), after_refusal.clone());
    let (origin, _) = serve(Arc::new(move |seen: &Seen, _: &mut TcpStream| {
        if r.load(Ordering::SeqCst) > 0 {
            a.fetch_add(1, Ordering::SeqCst);
        }
        if seen.head.starts_with("POST ") {
            let items: Vec<_> = (0..300).map(|i| entry(&format!("f{i}"), "file")).collect();
            return ok(serde_json::json!({ "items": items }).to_string());
        }
        r.fetch_add(1, Ordering::SeqCst);
        Reply::Full(
            "401 Unauthorized",
            String::new(),
            r#"{"message": "token revoked"}"#.into(),
        )
    }))
    .await;
    let c = client_for(&origin).build().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let summary = tokio::time::timeout(
        GUARD,
        c.download("cafe", dir.path())
            .concurrency(4)
            .url_lookahead(4)
            .allow_partial(true)
            .run(),
    )
    .await
    .expect("the job ends")
    .unwrap();
    // At most the requests already in flight when the first 401 came back: the URL calls of
    // the seven other files taken (four transfers and a look-ahead of four).
    let more = after_refusal.load(Ordering::SeqCst);
    assert!(more <= 7, "{more} requests after the first 401");
    let why = summary
        .stopped
        .as_deref()
        .expect("the summary says it stopped");
    assert!(why.contains("refused the credentials"), "{why}");
    assert!(summary.not_attempted > 250, "{summary:?}");
    let e = summary.into_result().unwrap_err();
    assert!(e.to_string().contains("refused the credentials"), "{e}");
}

#[tokio::test]
async fn refused_credentials_end_a_walk() {
    let refused = Arc::new(AtomicUsize::new(0));
    let after_refusal = Arc::new(AtomicUsize::new(0));
    let (r, a) = (refused.clone(), after_refusal.clone());
    let (origin, _) = serve(Arc::new(move |seen: &Seen, _: &mut TcpStream| {
        if r.load(Ordering::SeqCst) > 0 {
            a.fetch_add(1, Ordering::SeqCst);
        }
        if listed_path(seen).is_empty() {
            let items: Vec<_> = (0..100)
                .map(|i| entry(&format!("d{i}"), "folder"))
                .collect();
            return ok(serde_json::json!({ "items": items }).to_string());
        }
        r.fetch_add(1, Ordering::SeqCst);
        Reply::Full(
            "403 Forbidden",
            String::new(),
            r#"{"message": "no"}"#.into(),
        )
    }))
    .await;
    let c = client_for(&origin).build().unwrap();
    let walk: Vec<_> = tokio::time::timeout(
        GUARD,
        c.walk_results("cafe")
            .concurrency(4)
            .stream()
            .collect::<Vec<_>>(),
    )
    .await
    .expect("the walk ends");
    let refusals: Vec<_> = walk
        .iter()
        .filter_map(|r| r.as_ref().err())
        .filter(|e| e.is_credentials_refused())
        .collect();
    assert!(!refusals.is_empty(), "{walk:?}");
    // The listings already in flight with the first 403 (three others), none of the other 96.
    let more = after_refusal.load(Ordering::SeqCst);
    assert!(more <= 3, "{more} listings after the first 403");
}

#[tokio::test]
async fn a_storage_403_is_an_expired_url_not_refused_credentials() {
    let storage_hits = Arc::new(AtomicUsize::new(0));
    let hits = storage_hits.clone();
    let (storage, _) = serve(Arc::new(move |_: &Seen, _: &mut TcpStream| {
        // The first URL has expired; the fresh one works.
        if hits.fetch_add(1, Ordering::SeqCst) == 0 {
            Reply::Full("403 Forbidden", String::new(), "expired".into())
        } else {
            ok("abc")
        }
    }))
    .await;
    let (origin, _) = api(storage, |folder| match folder {
        "" => vec![entry("a", "file"), entry("b", "file")],
        _ => vec![],
    })
    .await;
    let c = client_for(&origin).build().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let summary = c
        .download("cafe", dir.path())
        .concurrency(1)
        .run()
        .await
        .unwrap();
    assert!(summary.stopped.is_none(), "{summary:?}");
    assert_eq!(summary.downloaded, 2, "{summary:?}");
}

// Network mistakes fail at once.

#[tokio::test]
async fn a_host_that_does_not_resolve_fails_at_once_naming_it() {
    // RFC 6761: `.invalid` never resolves. A first retry would wait 30 s, past the guard.
    let c = Client::builder()
        .domain("nowhere.invalid")
        .token("t")
        .retry_policy(RetryPolicy::default().initial_backoff(Duration::from_secs(30)))
        .build()
        .unwrap();
    let e = tokio::time::timeout(GUARD, c.get_capsule("cafe"))
        .await
        .expect("not retried")
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Connection, "{e}");
    let msg = e.to_string();
    assert!(
        msg.contains("`nowhere.invalid` could not be resolved"),
        "{msg}"
    );
    assert!(!e.is_retryable());
}

/// A resolver whose first `fail` lookups fail the way glibc says `EAI_AGAIN`, then answers
/// with `addr`.
struct FlakyResolver {
    fail: AtomicUsize,
    addr: std::net::SocketAddr,
}

impl reqwest::dns::Resolve for FlakyResolver {
    fn resolve(&self, _: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let failing = self
            .fail
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        let addr = self.addr;
        Box::pin(async move {
            if failing {
                Err(std::io::Error::other(
                    "failed to lookup address information: Temporary failure in name resolution",
                )
                .into())
            } else {
                Ok(Box::new(std::iter::once(addr)) as reqwest::dns::Addrs)
            }
        })
    }
}

#[tokio::test]
async fn a_temporary_resolver_failure_is_retried_not_final() {
    // EAI_AGAIN (a resolver that timed out or is overloaded, common in containers) is not
    // "the host does not exist": a large download must not lose files to one DNS blip.
    let (origin, log) = serve(Arc::new(|_: &Seen, _: &mut TcpStream| {
        ok(r#"{"id": "cafe", "name": "c", "slug": "s", "status": "release", "created": 0}"#)
    }))
    .await;
    let addr: std::net::SocketAddr = origin.trim_start_matches("http://").parse().unwrap();
    let resolver = Arc::new(FlakyResolver {
        fail: AtomicUsize::new(1),
        addr,
    });
    let c = client_for(&format!("http://flaky.example:{}", addr.port()))
        .customize_http(move |b| b.dns_resolver(resolver.clone()))
        .build()
        .unwrap();
    let r = tokio::time::timeout(GUARD, c.get_capsule("cafe"))
        .await
        .expect("ends");
    assert!(r.is_ok(), "{r:?}");
    assert_eq!(log.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn tls_against_a_plain_http_server_says_to_use_http() {
    // Plain HTTP on purpose, whatever CODEOCEAN_TEST_TLS says.
    let sim = sim(|c| c.tls = None);
    let port = sim.origin().rsplit(':').next().unwrap().to_owned();
    // A bare `127.0.0.1:PORT` means HTTPS; the simulator speaks plain HTTP.
    let c = Client::builder()
        .domain(format!("127.0.0.1:{port}"))
        .token(sim.token())
        .retry_policy(RetryPolicy::default().initial_backoff(Duration::from_secs(30)))
        .build()
        .unwrap();
    let e = tokio::time::timeout(GUARD, c.get_capsule(HELLO))
        .await
        .expect("not retried")
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Connection, "{e}");
    assert!(
        e.to_string().contains(&format!(
            "the server does not speak TLS; use http://127.0.0.1:{port}"
        )),
        "{e}"
    );
    assert!(!e.is_retryable());
}

// What `-v` and `-vv` show.

/// Everything logged at `level` and above while `f` runs (on this thread).
pub(crate) async fn logged<T>(
    level: tracing::Level,
    f: impl std::future::Future<Output = T>,
) -> (T, String) {
    #[derive(Clone)]
    struct Buf(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let buf = Buf(Arc::new(Mutex::new(Vec::new())));
    let writer = buf.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    // tracing caches each callsite's interest process-wide, computed once against the default
    // subscriber of whichever thread hits the callsite first: a sibling test's thread with no
    // subscriber would cache "never" and blind this capture (the storage DEBUG line went
    // missing once in a loaded parallel run). A global subscriber that is interested in
    // everything (a bare registry, which writes nothing) keeps every callsite enabled; the
    // scoped subscriber below then decides what is captured on this thread.
    static EVERYTHING: std::sync::Once = std::sync::Once::new();
    EVERYTHING.call_once(|| {
        let _ = tracing::subscriber::set_global_default(tracing_subscriber::registry());
        tracing::callsite::rebuild_interest_cache();
    });
    let out = {
        let _guard = tracing::subscriber::set_default(subscriber);
        f.await
    };
    let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
    (out, text)
}

#[tokio::test]
async fn each_api_try_is_logged_at_info_without_token_or_signed_query() {
    let sim = sim(|_| {});
    let c = client(&sim);
    let run = finished_run(&c, HELLO).await;
    let dir = tempfile::tempdir().unwrap();
    for level in [tracing::Level::INFO, tracing::Level::DEBUG] {
        let (summary, log) = logged(
            level,
            c.download(&run, dir.path().join(level.as_str())).run(),
        )
        .await;
        assert!(summary.unwrap().is_complete());
        let urls = format!("GET /api/v1/computations/{run}/results/urls 200");
        let listing = format!("POST /api/v1/computations/{run}/results 200");
        for want in [&urls, &listing] {
            let line = log
                .lines()
                .find(|l| l.contains(want.as_str()))
                .unwrap_or_else(|| panic!("no `{want}` in:\n{log}"));
            assert!(line.contains(" INFO "), "{line}");
            for field in [
                "method=",
                "path=\"/api/v1/computations/",
                "status=200",
                "elapsed_ms=",
            ] {
                assert!(line.contains(field), "{field} missing: {line}");
            }
        }
        for secret in [
            sim.token().to_owned(),
            base64_of_token(sim.token()),
            "X-Amz-".into(),
            "?path=".into(),
            "Signature".into(),
        ] {
            assert!(
                !log.contains(&secret),
                "`{secret}` logged at {level}:\n{log}"
            );
        }
        let storage = log
            .lines()
            .filter(|l| l.contains("GET from storage"))
            .count();
        if level == tracing::Level::INFO {
            assert_eq!(storage, 0, "storage GETs are DEBUG:\n{log}");
        } else {
            assert!(storage > 0, "{log}");
            let line = log
                .lines()
                .find(|l| l.contains("GET from storage"))
                .unwrap();
            assert!(
                line.contains("host=\"127.0.0.1\"") && line.contains("path=\"/"),
                "{line}"
            );
        }
    }
}

fn base64_of_token(token: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(format!("{token}:"))
}

#[tokio::test]
async fn throttling_and_retries_log_at_debug_not_by_default() {
    let calls = Arc::new(AtomicUsize::new(0));
    let n = calls.clone();
    let script: super::scripted::Script = Arc::new(move |_: &Seen, _: &mut TcpStream| {
        if n.fetch_add(1, Ordering::SeqCst) == 0 {
            Reply::Full(
                "429 Too Many Requests",
                "retry-after: 0\r\n".into(),
                r#"{"message": "slow down"}"#.into(),
            )
        } else {
            ok(r#"{"id": "cafe"}"#)
        }
    });
    let (origin, _) = serve(script.clone()).await;
    let c = client_for(&origin).build().unwrap();
    let (got, info) = logged(tracing::Level::INFO, c.get_capsule("cafe")).await;
    got.unwrap();
    assert!(info.contains("GET /api/v1/capsules/cafe 429"), "{info}");
    assert!(info.contains("GET /api/v1/capsules/cafe 200"), "{info}");
    assert!(
        !info.contains("throttled") && !info.contains("WARN"),
        "{info}"
    );
    calls.store(0, Ordering::SeqCst);
    let (got, debug) = logged(tracing::Level::DEBUG, c.get_capsule("cafe")).await;
    got.unwrap();
    let line = debug
        .lines()
        .find(|l| l.contains("throttled (429)"))
        .unwrap_or_else(|| panic!("{debug}"));
    assert!(line.contains("DEBUG") && line.contains("retry=1"), "{line}");
}

#[tokio::test]
async fn each_try_logs_its_own_status_once() {
    // Two 503s, then 200: three INFO lines, none carrying an earlier try's status again (a
    // span field recorded at each try shows up repeated on every later line).
    let calls = Arc::new(AtomicUsize::new(0));
    let n = calls.clone();
    let (origin, _) = serve(Arc::new(move |_: &Seen, _: &mut TcpStream| {
        if n.fetch_add(1, Ordering::SeqCst) < 2 {
            Reply::Full("503 Service Unavailable", String::new(), "{}".into())
        } else {
            ok(r#"{"id": "cafe"}"#)
        }
    }))
    .await;
    let c = client_for(&origin).build().unwrap();
    let (got, info) = logged(tracing::Level::INFO, c.get_capsule("cafe")).await;
    got.unwrap();
    let lines: Vec<&str> = info.lines().filter(|l| l.contains(" INFO ")).collect();
    assert_eq!(lines.len(), 3, "{info}");
    for line in &lines {
        assert_eq!(line.matches("status=").count(), 1, "{line}");
    }
}
