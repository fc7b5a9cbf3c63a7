//! Servers that misbehave on purpose, in ways the simulator will not: listings that repeat
//! entries or loop back on themselves, a `Retry-After` of a year, bodies that never end, a
//! storage origin that redirects to another host. A few lines of HTTP/1.1 each, so that every
//! byte on the wire is the test's choice.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures_util::StreamExt as _;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use super::*;

/// One request as the scripted server saw it.
#[derive(Clone, Debug)]
pub(crate) struct Seen {
    pub(crate) head: String,
    pub(crate) body: String,
}

impl Seen {
    pub(crate) fn has_authorization(&self) -> bool {
        self.head
            .lines()
            .any(|l| l.to_ascii_lowercase().starts_with("authorization:"))
    }
}

pub(crate) type Script = Arc<dyn Fn(&Seen, &mut TcpStream) -> Reply + Send + Sync>;

/// What the script answers.
pub(crate) enum Reply {
    /// A complete response: status line, extra header lines, body.
    Full(&'static str, String, String),
    /// Headers announcing a body of `Content-Length: 1000`, then bytes forever.
    Endless,
    /// Headers announcing `Content-Length: 1000`, ten bytes, and the connection closed.
    Lying,
    /// Headers announcing `Content-Length: 1000`, one byte, then nothing (connection open).
    Stall,
    /// These bytes exactly (status line, headers and body), then the connection closed.
    Raw(Vec<u8>),
    /// A status line, headers without a length (the body ends when the connection closes),
    /// `start`, then `repeat` again and again, forever.
    Forever {
        status: &'static str,
        start: &'static str,
        repeat: &'static str,
    },
    /// No answer at all: the request is read and the connection held open.
    Hang,
    /// Headers announcing `Content-Length: 1000`, then one byte every 100 ms: never silent
    /// long enough for a read timeout, yet 100 s for the whole body.
    Drip,
}

/// Serves `script` on a free port; returns its origin and the requests seen so far.
pub(crate) async fn serve(script: Script) -> (String, Arc<std::sync::Mutex<Vec<Seen>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    let log = Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen_log = log.clone();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let script = script.clone();
            let log = seen_log.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                let head_end = loop {
                    if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        break i + 4;
                    }
                    match sock.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                };
                let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
                let length = head
                    .lines()
                    .find_map(|l| {
                        let l = l.to_ascii_lowercase();
                        l.strip_prefix("content-length:")
                            .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                    })
                    .unwrap_or(0);
                while buf.len() < head_end + length {
                    match sock.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
                let seen = Seen {
                    head,
                    body: String::from_utf8_lossy(&buf[head_end..]).to_string(),
                };
                log.lock().unwrap().push(seen.clone());
                let reply = script(&seen, &mut sock);
                match reply {
                    Reply::Full(status, headers, body) => {
                        let resp = format!(
                            "HTTP/1.1 {status}\r\ncontent-type: application/json\r\n{headers}\
                             content-length: {}\r\nconnection: close\r\n\r\n{body}",
                            body.len()
                        );
                        let _ = sock.write_all(resp.as_bytes()).await;
                    }
                    Reply::Raw(bytes) => {
                        let _ = sock.write_all(&bytes).await;
                    }
                    Reply::Lying | Reply::Stall => {
                        let stall = matches!(reply, Reply::Stall);
                        let head = "HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\n";
                        let body: &[u8] = if stall { b"x" } else { b"xxxxxxxxxx" };
                        let _ = sock.write_all(head.as_bytes()).await;
                        let _ = sock.write_all(body).await;
                        if stall {
                            tokio::time::sleep(Duration::from_secs(30)).await;
                        }
                    }
                    Reply::Forever {
                        status,
                        start,
                        repeat,
                    } => {
                        let head = format!(
                            "HTTP/1.1 {status}\r\ncontent-type: application/json\r\n\
                             connection: close\r\n\r\n{start}"
                        );
                        if sock.write_all(head.as_bytes()).await.is_err() {
                            return;
                        }
                        let block = repeat.repeat((4096 / repeat.len()).max(1));
                        while sock.write_all(block.as_bytes()).await.is_ok() {}
                    }
                    Reply::Hang => tokio::time::sleep(Duration::from_secs(600)).await,
                    Reply::Drip => {
                        let head = "HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\n";
                        if sock.write_all(head.as_bytes()).await.is_err() {
                            return;
                        }
                        for _ in 0..1000 {
                            tokio::time::sleep(Duration::from_millis(100)).await;
                            if sock.write_all(b"x").await.is_err() {
                                return;
                            }
                        }
                    }
                    Reply::Endless => {
                        let head = "HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\n";
                        if sock.write_all(head.as_bytes()).await.is_err() {
                            return;
                        }
                        let block = [b'x'; 4096];
                        while sock.write_all(&block).await.is_ok() {}
                    }
                }
            });
        }
    });
    (origin, log)
}

pub(crate) fn ok(body: impl Into<String>) -> Reply {
    Reply::Full("200 OK", String::new(), body.into())
}

fn listing(items: &[(&str, &str)]) -> String {
    let items: Vec<_> = items
        .iter()
        .map(|(path, kind)| {
            serde_json::json!({
                "name": path.rsplit('/').next().unwrap(),
                "path": path,
                "type": kind,
                "size": 3,
            })
        })
        .collect();
    serde_json::json!({ "items": items }).to_string()
}

pub(crate) fn fast_client(origin: &str) -> Client {
    Client::builder()
        .domain(origin)
        .token("scripted-token")
        .read_timeout(Duration::from_millis(500))
        .retry_policy(
            RetryPolicy::default()
                .max_retries(2)
                .initial_backoff(Duration::from_millis(5))
                .max_backoff(Duration::from_millis(20))
                .max_retry_after(Duration::from_secs(5)),
        )
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_listing_that_repeats_entries_and_loops_back_ends_with_each_entry_once() {
    let (origin, log) = serve(Arc::new(|seen: &Seen, _: &mut TcpStream| {
        let path = serde_json::from_str::<serde_json::Value>(&seen.body)
            .ok()
            .and_then(|v| v["path"].as_str().map(str::to_owned))
            .unwrap_or_default();
        ok(match path.as_str() {
            // A deeper folder and file named early: they would be reached twice.
            "" => listing(&[
                ("a", "folder"),
                ("f", "file"),
                ("f", "file"),
                ("a", "folder"),
                ("a/b", "folder"),
                ("a/x", "file"),
            ]),
            // Itself, the root and its parent again: every way back up.
            "a" => listing(&[
                ("a", "folder"),
                ("", "folder"),
                ("a/b", "folder"),
                ("a/x", "file"),
            ]),
            "a/b" => listing(&[("a", "folder"), ("a/b", "folder"), ("a/b/y", "file")]),
            _ => listing(&[]),
        })
    }))
    .await;
    let c = fast_client(&origin);
    let walk = tokio::time::timeout(
        Duration::from_secs(10),
        c.walk_results("cafe")
            .concurrency(4)
            .stream()
            .collect::<Vec<_>>(),
    )
    .await
    .expect("the walk ends");
    let mut paths: Vec<String> = walk
        .iter()
        .filter_map(|r| r.as_ref().ok())
        .map(|i| i.path.clone())
        .collect();
    paths.sort();
    assert_eq!(paths, ["a", "a/b", "a/b/y", "a/x", "f"]);
    let refused = walk.iter().filter(|r| r.is_err()).count();
    assert_eq!(
        refused, 6,
        "each entry not directly inside its folder is reported: {walk:?}"
    );
    // Three folders listed, each once.
    assert_eq!(log.lock().unwrap().len(), 3);
}

#[tokio::test]
async fn a_retry_after_of_a_year_is_not_waited_for() {
    let (origin, log) = serve(Arc::new(|_: &Seen, _: &mut TcpStream| {
        Reply::Full(
            "429 Too Many Requests",
            "retry-after: 31536000\r\n".into(),
            r#"{"message": "slow down"}"#.into(),
        )
    }))
    .await;
    let c = fast_client(&origin);
    let t = Instant::now();
    let e = c.get_capsule("cafe").await.unwrap_err();
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    assert_eq!(e.status(), Some(429));
    assert_eq!(e.retry_after(), Some(Duration::from_secs(31_536_000)));
    assert_eq!(log.lock().unwrap().len(), 1, "given up at once");
    assert!(e.to_string().contains("slow down"), "{e}");
    // Why it was not retried, so "429" alone does not look like a client that gave up early.
    assert!(
        e.to_string()
            .contains("the server asked to wait 31536000s (Retry-After)"),
        "{e}"
    );
}

#[tokio::test]
async fn a_retry_after_beyond_the_request_timeout_is_named_as_the_reason() {
    let (origin, log) = serve(Arc::new(|_: &Seen, _: &mut TcpStream| {
        Reply::Full(
            "503 Service Unavailable",
            "retry-after: 30\r\n".into(),
            r#"{"message": "maintenance"}"#.into(),
        )
    }))
    .await;
    // The default policy waits up to 60 s for a Retry-After; the request timeout is shorter.
    let c = Client::builder()
        .domain(&origin)
        .token("scripted-token")
        .request_timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let t = Instant::now();
    let e = c.get_capsule("cafe").await.unwrap_err();
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    assert_eq!(log.lock().unwrap().len(), 1, "given up at once");
    assert!(
        e.to_string().contains(
            "the server asked to wait 30s (Retry-After), more than is left of the request timeout of 5s"
        ),
        "{e}"
    );
}

/// Lists one file of 1000 bytes (`size` overridden to `listed`) whose storage answers with
/// `reply`; downloads it; returns the summary, the folder and the storage request count.
async fn download_from_bad_storage(
    reply: fn() -> Reply,
    listed: u64,
) -> (codeocean::Summary, tempfile::TempDir, usize) {
    let hits = Arc::new(AtomicUsize::new(0));
    let storage_hits = hits.clone();
    let (storage, _) = serve(Arc::new(move |_: &Seen, _: &mut TcpStream| {
        storage_hits.fetch_add(1, Ordering::SeqCst);
        reply()
    }))
    .await;
    let (origin, _) = serve(Arc::new(move |seen: &Seen, _: &mut TcpStream| {
        if seen.head.starts_with("POST ") {
            ok(serde_json::json!({"items": [
                {"name": "big.bin", "path": "big.bin", "type": "file", "size": listed}
            ]})
            .to_string())
        } else {
            ok(serde_json::json!({
                "download_url": format!("{storage}/big.bin"),
                "view_url": format!("{storage}/big.bin"),
            })
            .to_string())
        }
    }))
    .await;
    let c = fast_client(&origin);
    let dir = tempfile::tempdir().unwrap();
    let summary = tokio::time::timeout(
        Duration::from_secs(20),
        c.download("cafe", dir.path()).allow_partial(true).run(),
    )
    .await
    .expect("the download gives up")
    .unwrap();
    assert_eq!(summary.failures.len(), 1, "{summary:?}");
    assert!(
        !dir.path().join("big.bin").exists(),
        "a failed file is never at its final name"
    );
    for part in part_files(dir.path()) {
        assert!(std::fs::metadata(&part).unwrap().len() <= listed);
    }
    (summary, dir, hits.load(Ordering::SeqCst))
}

#[tokio::test]
async fn an_endless_body_is_cut_off_and_nothing_is_left_at_the_final_name() {
    // The listed size is 3 bytes: nothing near the endless stream is kept.
    let (_, _, hits) = download_from_bad_storage(|| Reply::Endless, 3).await;
    assert_eq!(hits, 3, "first try + 2 retries");
}

#[tokio::test]
async fn a_content_length_that_lies_is_a_broken_transfer_not_a_file() {
    let (summary, _, hits) = download_from_bad_storage(|| Reply::Lying, 1000).await;
    assert_eq!(
        summary.failures[0].error().kind(),
        ErrorKind::Connection,
        "{summary:?}"
    );
    assert!(hits >= 2, "retried ({hits})");
}

#[tokio::test]
async fn a_storage_retry_after_beyond_the_cap_fails_the_file_at_once() {
    // The same reading of an error answer and the same retry rule as for the API: the
    // Retry-After is read and, above `max_retry_after` (5 s here), not waited for.
    let (summary, _, hits) = download_from_bad_storage(
        || {
            Reply::Full(
                "429 Too Many Requests",
                "retry-after: 3600\r\n".into(),
                r#"{"message": "slow down"}"#.into(),
            )
        },
        1000,
    )
    .await;
    let e = summary.failures[0].error();
    assert_eq!(hits, 1, "given up at once: {e}");
    assert_eq!(e.status(), Some(429));
    assert_eq!(e.retry_after(), Some(Duration::from_secs(3600)));
    assert!(
        !e.is_credentials_refused(),
        "a storage answer, not the API's"
    );
    assert_eq!(
        e.to_string(),
        "downloading result `big.bin` of computation cafe: HTTP 429: slow down"
    );
}

#[tokio::test]
async fn a_storage_error_page_is_retried_and_quoted() {
    let (summary, _, hits) = download_from_bad_storage(
        || {
            Reply::Full(
                "503 Service Unavailable",
                String::new(),
                "<html><title>503</title>\n<body>down</body></html>".into(),
            )
        },
        1000,
    )
    .await;
    let e = summary.failures[0].error();
    assert_eq!(hits, 3, "first try + 2 retries: {e}");
    assert_eq!(e.status(), Some(503));
    assert!(
        e.to_string().ends_with(
            "HTTP 503: Service Unavailable; body: <html><title>503</title> <body>down</body></html>"
        ),
        "{e}"
    );
}

#[tokio::test]
async fn a_stalled_body_hits_the_read_timeout() {
    let t = Instant::now();
    let (summary, _, hits) = download_from_bad_storage(|| Reply::Stall, 1000).await;
    assert!(
        summary.failures[0].error().is_timeout()
            || summary.failures[0].error().kind() == ErrorKind::Connection,
        "{summary:?}"
    );
    assert_eq!(hits, 3, "first try + 2 retries");
    // Three read timeouts of 0.5 s, not the 30 s the server would hold on.
    assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
}

#[tokio::test]
async fn a_storage_redirect_to_another_host_carries_no_credentials() {
    let (elsewhere, elsewhere_log) = serve(Arc::new(|_: &Seen, _: &mut TcpStream| ok("abc"))).await;
    let (storage, storage_log) = serve(Arc::new(move |_: &Seen, _: &mut TcpStream| {
        Reply::Full(
            "302 Found",
            format!("location: {elsewhere}/moved\r\n"),
            String::new(),
        )
    }))
    .await;
    let (origin, api_log) = serve(Arc::new(move |seen: &Seen, _: &mut TcpStream| {
        if seen.head.starts_with("POST ") {
            ok(listing(&[("f.txt", "file")]))
        } else {
            ok(serde_json::json!({
                "download_url": format!("{storage}/f.txt"),
                "view_url": format!("{storage}/f.txt"),
            })
            .to_string())
        }
    }))
    .await;
    let c = fast_client(&origin);
    let dir = tempfile::tempdir().unwrap();
    let summary = c.download("cafe", dir.path()).run().await.unwrap();
    assert!(summary.is_complete(), "{summary:?}");
    assert_eq!(std::fs::read(dir.path().join("f.txt")).unwrap(), b"abc");
    assert!(api_log.lock().unwrap().iter().all(Seen::has_authorization));
    for log in [&storage_log, &elsewhere_log] {
        let log = log.lock().unwrap();
        assert!(!log.is_empty());
        assert!(!log.iter().any(Seen::has_authorization), "{log:?}");
    }
}

/// The `offset` of a search request body.
fn offset_of(seen: &Seen) -> i64 {
    serde_json::from_str::<serde_json::Value>(&seen.body).unwrap()["offset"]
        .as_i64()
        .expect("searches page by offset")
}

/// A server that ignores `offset` and repeats its page (the simulator's `lie_has_more` fault
/// runs into an empty page instead: `families.rs`).
#[tokio::test]
async fn a_search_whose_server_lies_about_has_more_ends_with_an_error() {
    // Ignores offset and limit: the same page, "more follow", forever.
    let (origin, log) = serve(Arc::new(|_: &Seen, _: &mut TcpStream| {
        ok(serde_json::json!({
            "has_more": true,
            "results": [{"id": "a", "name": "A"}, {"id": "b", "name": "B"}],
        })
        .to_string())
    }))
    .await;
    let c = fast_client(&origin);
    let t = Instant::now();
    let found = tokio::time::timeout(
        Duration::from_secs(10),
        c.search_data_assets(&codeocean::DataAssetSearch::new().page_size(2))
            .collect::<Vec<_>>(),
    )
    .await
    .expect("the search ends");
    assert!(t.elapsed() < Duration::from_secs(5));
    let ids: Vec<_> = found
        .iter()
        .filter_map(|r| r.as_ref().ok().map(|a| a.id.clone()))
        .collect();
    assert_eq!(ids, ["a", "b"], "each once");
    let err = found.last().unwrap().as_ref().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Paging, "{err}");
    assert!(err.to_string().contains("offset 2"), "{err}");
    let log = log.lock().unwrap();
    assert_eq!(log.iter().map(offset_of).collect::<Vec<_>>(), [0, 2]);
    assert!(log[0].head.starts_with("POST /api/v1/data_assets/search "));
    assert!(log[0].body.contains(r#""limit":2"#), "{}", log[0].body);
}

/// Fresh results forever: something no finite simulator state produces.
#[tokio::test]
async fn an_endless_search_stops_at_the_page_cap_and_says_so() {
    // Fresh results on every page, always "more": only the cap ends it.
    let (origin, log) = serve(Arc::new(|seen: &Seen, _: &mut TcpStream| {
        let offset = offset_of(seen);
        ok(serde_json::json!({
            "has_more": true,
            "results": [{"id": format!("p{offset}")}],
        })
        .to_string())
    }))
    .await;
    let c = fast_client(&origin);
    let search = codeocean::CapsuleSearch::new().page_size(1).max_pages(5);
    let found: Vec<_> = tokio::time::timeout(
        Duration::from_secs(10),
        c.search_pipelines(&search).collect::<Vec<_>>(),
    )
    .await
    .expect("the search ends");
    assert_eq!(found.len(), 6, "5 pipelines and the error");
    let err = found[5].as_ref().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Paging);
    assert!(
        err.to_string().contains("stopped after 5 pages") && err.to_string().contains("max_pages"),
        "{err}"
    );
    let log = log.lock().unwrap();
    assert_eq!(log.len(), 5);
    assert!(log[0].head.starts_with("POST /api/v1/pipelines/search "));
}

/// Waiters give up with the same message shape, naming what they waited for and the last state
/// seen (through one poll loop): a release job and a data asset that never end.
#[tokio::test]
async fn waiters_that_give_up_name_the_object_and_its_last_state() {
    let (origin, log) = serve(Arc::new(|seen: &Seen, _: &mut TcpStream| {
        if seen.head.starts_with("GET /api/v1/capsules/c1/release/j1 ") {
            ok(r#"{"job_id":"j1","status":"started"}"#)
        } else {
            ok(r#"{"id":"da1","state":"draft"}"#)
        }
    }))
    .await;
    let c = fast_client(&origin);
    let policy = codeocean::PollPolicy::default()
        .initial_interval(Duration::from_millis(5))
        .max_interval(Duration::from_millis(10))
        .factor(1.5)
        .max_wait(Some(Duration::from_millis(100)));
    let e = c
        .wait_for_capsule_release("c1", "j1")
        .poll_policy(policy.clone())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::WaitTimeout);
    assert_eq!(
        e.to_string(),
        "waiting for release job of capsule c1 j1: gave up after 0.1s; last state: started"
    );
    let release_polls = log.lock().unwrap().len();
    assert!(
        release_polls >= 3,
        "polled until the deadline: {release_polls}"
    );
    let e = c
        .wait_for_data_asset("da1")
        .poll_policy(policy)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::WaitTimeout);
    assert_eq!(
        e.to_string(),
        "waiting for data asset da1: gave up after 0.1s; last state: draft"
    );
}
