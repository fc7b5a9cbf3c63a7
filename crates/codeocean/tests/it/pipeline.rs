//! A download's two stages, read from the request logs rather than timed: each file's URL is
//! asked for (stage 1) while earlier files are being fetched from storage (stage 2, at most
//! `concurrency` at once), no more than `url_lookahead` files ahead; a URL that expired is asked
//! for again in the transfer; a complete destination asks for no URL; and a job stopped by
//! refused credentials starts no transfer of a file it had already resolved.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::net::TcpStream;

use super::scripted::{Reply, Seen, fast_client, ok, serve};
use super::*;

/// HELLO's results: seven files, none of them empty.
const FILES: usize = 7;

/// The URL calls and storage GETs of a log, in its order: `true` for a URL call.
fn url_calls_and_gets(log: &[codeocean_sim::RecordedRequest]) -> Vec<bool> {
    log.iter()
        .filter_map(|r| match (r.origin, r.operation) {
            ("api", "get_result_file_urls") => Some(true),
            ("storage", _) => Some(false),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn urls_are_resolved_ahead_of_the_transfers_within_the_lookahead() {
    let sim = sim(|_| {});
    let c = client(&sim);
    let id = finished_run(&c, HELLO).await;
    // Every storage answer takes 200 ms (real time), the API answers at once: a URL asked for
    // during a transfer is in the log before that transfer's GET.
    sim.set_faults("storage:latency=200ms".parse().unwrap());
    sim.clear_requests();
    let dir = tempfile::tempdir().unwrap();
    let (concurrency, lookahead) = (1, 3);
    let s = c
        .download(&id, dir.path())
        .concurrency(concurrency)
        .url_lookahead(lookahead)
        .run()
        .await
        .unwrap();
    assert_eq!((s.downloaded, s.retries), (FILES as u64, 0), "{s:?}");
    assert_tree_matches(&sim, &id, dir.path(), FILES);

    // The log records a request once it is answered (a GET once its latency has passed).
    let order = url_calls_and_gets(&sim.requests());
    let (mut urls, mut gets) = (0, 0);
    for (i, &is_url) in order.iter().enumerate() {
        if is_url {
            urls += 1;
        } else {
            // Overlap: while file k was being fetched, file k+1's URL was already asked for
            // (one at a time, one round trip each, it would be asked for only afterwards).
            if gets + 1 < FILES {
                assert!(
                    urls >= gets + 2,
                    "GET {gets} with only {urls} URLs: {order:?}"
                );
            }
            gets += 1;
        }
        // The bound: files resolved but not fetched, plus those being fetched.
        assert!(
            urls - gets <= concurrency + lookahead,
            "{urls} URLs, {gets} GETs after {} requests: {order:?}",
            i + 1
        );
    }
    assert_eq!((urls, gets), (FILES, FILES), "{order:?}");
}

#[tokio::test]
async fn a_url_that_expired_is_resolved_again_inside_the_transfer() {
    // Half the URLs are issued already expired; only the URL route draws faults, so the n-th
    // URL call draws the same fault on every run (seed 3).
    let sim = sim(|c| c.seed = 3);
    let c = client(&sim);
    let id = finished_run(&c, HELLO).await;
    sim.set_faults("urls:expire=0.5".parse().unwrap());
    sim.clear_requests();
    let dir = tempfile::tempdir().unwrap();
    let s = c
        .download(&id, dir.path())
        .concurrency(2)
        .url_lookahead(2)
        .run()
        .await
        .unwrap();
    assert_eq!(s.downloaded, FILES as u64, "{s:?}");
    assert_tree_matches(&sim, &id, dir.path(), FILES);
    let log = sim.requests();
    let urls = url_calls_and_gets(&log).iter().filter(|&&u| u).count();
    let refused = log
        .iter()
        .filter(|r| r.origin == "storage" && r.status == 403)
        .count();
    assert!(refused > 0, "no URL was issued expired: {log:?}");
    // Each expired URL drew one `403` from storage, one retry and one more URL call.
    assert_eq!(urls, FILES + refused, "{log:?}");
    assert_eq!(s.retries, refused as u64, "{s:?}");
    sim.set_faults(Faults::default());
}

#[tokio::test]
async fn a_complete_destination_asks_for_no_url() {
    let sim = sim(|_| {});
    let c = client(&sim);
    let id = finished_run(&c, HELLO).await;
    let dir = tempfile::tempdir().unwrap();
    let job = || c.download(&id, dir.path()).concurrency(1).url_lookahead(4);
    let first = job().run().await.unwrap();
    assert_eq!(first.downloaded, FILES as u64, "{first:?}");
    sim.clear_requests();
    let again = job().run().await.unwrap();
    assert_eq!((again.downloaded, again.skipped), (0, FILES as u64));
    let asked: Vec<_> = sim.requests().iter().map(|r| r.operation).collect();
    assert!(
        asked.iter().all(|&op| op == "list_computation_results"),
        "a re-run only lists: {asked:?}"
    );
}

#[tokio::test]
async fn a_file_resolved_ahead_is_not_fetched_once_the_job_stopped() {
    // Storage refuses every URL (as if expired). The API gives each file one URL, then refuses
    // the credentials: the first file fetched is refused its second URL.
    let storage_hits = Arc::new(AtomicUsize::new(0));
    let hits = storage_hits.clone();
    let (storage, _) = serve(Arc::new(move |_: &Seen, _: &mut TcpStream| {
        hits.fetch_add(1, Ordering::SeqCst);
        Reply::Full("403 Forbidden", String::new(), "expired".into())
    }))
    .await;
    let resolved = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let seen_urls = resolved.clone();
    let (origin, api_log) = serve(Arc::new(move |seen: &Seen, _: &mut TcpStream| {
        if seen.head.starts_with("POST ") {
            let items: Vec<_> = (0..6)
                .map(|i| {
                    let name = format!("f{i}");
                    serde_json::json!({"name": name, "path": name, "type": "file", "size": 3})
                })
                .collect();
            return ok(serde_json::json!({ "items": items }).to_string());
        }
        let request_line = seen.head.lines().next().unwrap_or_default().to_owned();
        let mut asked = seen_urls.lock().unwrap();
        if asked.contains(&request_line) {
            return Reply::Full(
                "401 Unauthorized",
                String::new(),
                r#"{"message": "token revoked"}"#.into(),
            );
        }
        asked.push(request_line);
        ok(serde_json::json!({
            "download_url": format!("{storage}/file?X-Amz-Signature=s3cr3t"),
            "view_url": format!("{storage}/view?X-Amz-Signature=s3cr3t"),
        })
        .to_string())
    }))
    .await;
    let c = fast_client(&origin);
    let dir = tempfile::tempdir().unwrap();
    let s = c
        .download("cafe", dir.path())
        .concurrency(1)
        .url_lookahead(3)
        .allow_partial(true)
        .run()
        .await
        .unwrap();
    let why = s.stopped.as_deref().expect("the job stopped");
    assert!(why.contains("refused the credentials"), "{why}");
    // One transfer: its `403`, its second URL call refused. Every other file counts as not
    // tried: those resolved ahead (up to three) never reached storage, the rest were never taken.
    assert_eq!(
        (s.downloaded, s.failures.len(), s.not_attempted, s.retries),
        (0, 1, 5, 1),
        "{s:?}"
    );
    assert!(s.failures[0].error().is_credentials_refused(), "{s:?}");
    assert_eq!(storage_hits.load(Ordering::SeqCst), 1);
    let resolved = resolved.lock().unwrap().len();
    let url_calls = api_log.lock().unwrap().len() - 1;
    assert_eq!(url_calls, resolved + 1, "one URL each, and the refused one");
    // Files were resolved ahead of the one transfer (the four taken at once ask together), at
    // most the look-ahead.
    assert!((2..=4).contains(&resolved), "{resolved} files resolved");
    // Only the file fetched opened a part file: one waiting ahead holds none.
    assert_eq!(part_files(dir.path()).len(), 1);
}

#[tokio::test]
async fn after_the_url_probe_the_files_waiting_for_it_ask_together() {
    let sim = sim(|_| {});
    let c = client(&sim);
    let id = finished_run(&c, HELLO).await;
    // Each URL call is answered no sooner than 100 ms after it arrived.
    let latency = 0.1;
    sim.set_faults("urls:latency=100ms".parse().unwrap());
    sim.clear_requests();
    let dir = tempfile::tempdir().unwrap();
    let s = c
        .download(&id, dir.path())
        .concurrency(4)
        .url_lookahead(4)
        .run()
        .await
        .unwrap();
    assert_eq!(s.downloaded, FILES as u64, "{s:?}");
    let mut arrivals: Vec<f64> = (sim.requests().iter())
        .filter(|r| r.operation == "get_result_file_urls")
        .map(|r| r.at)
        .collect();
    arrivals.sort_by(f64::total_cmp);
    assert_eq!(arrivals.len(), FILES);
    // The first call finds out the server's generation while the others wait. Then they go at
    // once: the third arrived before the second could have been answered. (Taken one at a time
    // under the probe's lock, each would arrive after the one before was answered.)
    assert!(
        arrivals[2] < arrivals[1] + latency,
        "URL calls one at a time after the probe: {arrivals:?}"
    );
}

#[tokio::test]
async fn transfers_adapt_by_default_and_a_number_fixes_them() {
    let sim = sim(|_| {});
    let c = client(&sim);
    let id = finished_run(&c, HELLO).await;
    let dir = tempfile::tempdir().unwrap();
    let s = c.download(&id, dir.path()).run().await.unwrap();
    assert!(s.transfers.adaptive, "{:?}", s.transfers);
    assert!(
        (4..=64).contains(&s.transfers.concurrency),
        "{:?}",
        s.transfers
    );
    let dir = tempfile::tempdir().unwrap();
    let s = c
        .download(&id, dir.path())
        .concurrency(3)
        .run()
        .await
        .unwrap();
    assert!(!s.transfers.adaptive, "{:?}", s.transfers);
    assert_eq!(s.transfers.concurrency, 3);
    // The client's setting fixes them too; a job's own wins.
    let fixed = fast(builder(&sim).download_concurrency(5));
    let dir = tempfile::tempdir().unwrap();
    let s = fixed.download(&id, dir.path()).run().await.unwrap();
    assert_eq!((s.transfers.adaptive, s.transfers.concurrency), (false, 5));
    let dir = tempfile::tempdir().unwrap();
    let s = fixed
        .download(&id, dir.path())
        .concurrency(2)
        .run()
        .await
        .unwrap();
    assert_eq!((s.transfers.adaptive, s.transfers.concurrency), (false, 2));
}

#[tokio::test]
async fn a_storage_host_that_refuses_transfers_beyond_its_capacity_gets_fewer() {
    let sim = sim(|_| {});
    let c = client(&sim);
    let id = finished_run(&c, HELLO).await;
    // Storage serves two at once and answers `503` (with `Retry-After: 1`) beyond that; the
    // job starts 16 at once.
    sim.set_faults(
        "storage:max_inflight=2,inflight_status=503,latency=50ms"
            .parse()
            .unwrap(),
    );
    let dir = tempfile::tempdir().unwrap();
    let s = c.download(&id, dir.path()).run().await.unwrap();
    assert_eq!(s.downloaded, FILES as u64, "{s:?}");
    assert_tree_matches(&sim, &id, dir.path(), FILES);
    let t = &s.transfers;
    assert!(t.throttled >= 1, "{t:?}");
    assert!(t.concurrency < 16, "{t:?}");
    assert!(
        t.changes
            .iter()
            .any(|c| c.cause == codeocean::LimitCause::Throttled),
        "{t:?}"
    );
}
