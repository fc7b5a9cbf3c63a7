//! Downloads that cannot lie: a file at its final name after a successful job is byte for
//! byte the source's, whatever was in the destination before (files and part files of another
//! source, a second job into the same folder), and every legal file name downloads.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use tokio::net::TcpStream;

use super::scripted::{Reply, Seen, fast_client, ok, serve};
use super::*;

/// A twin of the hello capsule: the same result tree (paths and sizes), other bytes.
const TWIN: &str = "c0ffee00-0000-4000-8000-0000000000aa";

/// `catalogue` with a twin of its first capsule (same tree, another content seed).
fn with_twin(mut catalogue: Catalogue) -> Catalogue {
    let mut twin = catalogue.capsules[0].clone();
    twin.id = TWIN.to_owned();
    twin.run.seed = twin.run.seed.wrapping_add(1000);
    catalogue.capsules.push(twin);
    catalogue
}

/// A simulator with the twin capsule.
fn twin_sim(config: impl FnOnce(&mut Config)) -> Simulator {
    sim(|c| {
        config(c);
        c.catalogue = Some(with_twin(
            c.catalogue.take().unwrap_or_else(Catalogue::builtin),
        ));
    })
}

/// A finished run of the hello capsule and one of its twin: the same paths and sizes, other
/// bytes.
async fn two_runs(sim: &Simulator, c: &Client) -> (String, String) {
    let a = finished_run(c, HELLO).await;
    let b = finished_run(c, TWIN).await;
    for path in ["output.txt", "figures/plot.png"] {
        let (ca, cb) = (
            sim.result_content(&a, path).unwrap(),
            sim.result_content(&b, path).unwrap(),
        );
        assert_eq!(ca.size(), cb.size(), "{path}");
        assert!(ca.read(0, u64::MAX) != cb.read(0, u64::MAX), "{path}");
    }
    (a, b)
}

/// The names directly in `dest`.
fn top_level(dest: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dest)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn files_of_another_source_are_fetched_again_and_replaced() {
    let sim = twin_sim(|_| {});
    let c = client(&sim);
    let (a, b) = two_runs(&sim, &c).await;
    let dir = tempfile::tempdir().unwrap();
    let s = c.download(&a, dir.path()).run().await.unwrap();
    assert_eq!((s.downloaded, s.skipped), (7, 0), "{s:?}");
    assert_tree_matches(&sim, &a, dir.path(), 7);

    // Same paths, same sizes: nothing says these files are B's, so all are fetched again.
    let s = c.download(&b, dir.path()).run().await.unwrap();
    assert_tree_matches(&sim, &b, dir.path(), 7);
    assert_eq!((s.downloaded, s.skipped), (7, 0), "{s:?}");
    // Only the tree and the state folder: no part file at any name.
    let names = top_level(dir.path());
    assert!(names.contains(&STATE.to_owned()), "{names:?}");
    assert!(
        names.iter().all(|n| n == STATE || !n.starts_with('.')),
        "{names:?}"
    );
    let s = c.download(&b, dir.path()).run().await.unwrap();
    assert_eq!((s.downloaded, s.skipped, s.bytes), (0, 7, 0), "{s:?}");

    // A file changed on disk (same size) is not this source's any more. (Later than the
    // filesystem's timestamp granularity: an edit within the same clock tick as the download's
    // completion, in place, would not be seen.)
    std::thread::sleep(std::time::Duration::from_millis(50));
    let out = dir.path().join("output.txt");
    let len = std::fs::metadata(&out).unwrap().len() as usize;
    std::fs::write(&out, vec![b'?'; len]).unwrap();
    let s = c.download(&b, dir.path()).run().await.unwrap();
    assert_eq!((s.downloaded, s.skipped), (1, 6), "{s:?}");
    assert_tree_matches(&sim, &b, dir.path(), 7);

    // The same holds for data assets, and between a data asset and results.
    let s = c
        .download_data_asset(INPUT, dir.path())
        .run()
        .await
        .unwrap();
    assert!(s.is_complete(), "{s:?}");
    let s = c.download(&b, dir.path()).run().await.unwrap();
    assert_eq!(s.skipped + s.downloaded, 7, "{s:?}");
    for path in ["output.txt", "figures/plot.png"] {
        let want = sim.result_content(&b, path).unwrap().read(0, u64::MAX);
        assert!(
            std::fs::read(dir.path().join(path)).unwrap() == want,
            "{path}"
        );
    }
}

/// Downloads `id` with the body of every storage answer cut at half and no retry: leaves
/// one part file per file tried.
async fn interrupted(sim: &Simulator, id: &str, dest: &Path) {
    sim.set_faults("storage:truncate=1".parse().unwrap());
    let once = builder(sim)
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    let s = once
        .download(id, dest)
        .allow_partial(true)
        .run()
        .await
        .unwrap();
    assert!(!s.failures.is_empty(), "{s:?}");
    sim.set_faults(Faults::default());
}

#[tokio::test]
async fn a_part_file_of_another_source_is_never_resumed() {
    let sim = twin_sim(|_| {});
    let c = client(&sim);
    let (a, b) = two_runs(&sim, &c).await;
    let dir = tempfile::tempdir().unwrap();
    interrupted(&sim, &a, dir.path()).await;
    let s = c.download(&b, dir.path()).run().await.unwrap();
    assert!(s.is_complete(), "{s:?}");
    assert_eq!(s.downloaded, 7, "{s:?}");
    // Every byte fetched from B: nothing of A's half files was kept.
    assert_tree_matches(&sim, &b, dir.path(), 7);
}

#[tokio::test]
async fn a_part_file_of_the_same_source_is_resumed() {
    let sim = sim(|_| {});
    let c = client(&sim);
    let a = finished_run(&c, HELLO).await;
    let dir = tempfile::tempdir().unwrap();
    interrupted(&sim, &a, dir.path()).await;
    assert!(!part_files(dir.path()).is_empty());
    let kept: u64 = part_files(dir.path())
        .iter()
        .map(|p| std::fs::metadata(p).unwrap().len())
        .sum();
    assert!(kept > 0);
    let before = sim.stats().storage_bytes;
    let s = c.download(&a, dir.path()).run().await.unwrap();
    assert!(s.is_complete(), "{s:?}");
    let total = assert_dir_matches(dir.path(), 7, |rel| sim.result_content(&a, rel));
    assert_eq!(sim.stats().storage_bytes - before, total - kept, "resumed");
}

/// A part file replaced by a symbolic link (or a folder) is not written through, and does not
/// leave its file impossible to download: the next job removes it and starts that file over.
#[cfg(unix)]
#[tokio::test]
async fn a_part_file_replaced_by_a_link_is_dropped_and_the_file_downloads() {
    let sim = sim(|_| {});
    let c = client(&sim);
    let a = finished_run(&c, HELLO).await;
    let dir = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    let victim = outside.path().join("victim");
    std::fs::write(&victim, b"not yours").unwrap();
    interrupted(&sim, &a, dir.path()).await;
    let parts = part_files(dir.path());
    assert!(parts.len() >= 2, "{parts:?}");
    std::fs::remove_file(&parts[0]).unwrap();
    std::os::unix::fs::symlink(&victim, &parts[0]).unwrap();
    std::fs::remove_file(&parts[1]).unwrap();
    std::fs::create_dir(&parts[1]).unwrap();
    let s = c.download(&a, dir.path()).run().await.unwrap();
    assert!(s.is_complete(), "{s:?}");
    assert_tree_matches(&sim, &a, dir.path(), 7);
    assert_eq!(std::fs::read(&victim).unwrap(), b"not yours");
    assert!(part_files(dir.path()).is_empty());
}

/// Any concurrency and look-ahead may be asked for (the CLI's `--concurrency` takes any whole
/// number): a huge one means "no limit", not an overflow, a semaphore past its maximum or a
/// channel of that size.
#[tokio::test]
async fn a_huge_concurrency_downloads() {
    let sim = sim(|_| {});
    let c = client(&sim);
    let a = finished_run(&c, HELLO).await;
    for n in [usize::MAX, usize::MAX / 16, 1 << 62] {
        for lookahead in [None, Some(1), Some(n)] {
            let dir = tempfile::tempdir().unwrap();
            let job = c.download(&a, dir.path()).concurrency(n);
            let job = match lookahead {
                Some(l) => job.url_lookahead(l),
                None => job,
            };
            let s = job.run().await.unwrap();
            assert!(s.is_complete(), "{n}, {lookahead:?}: {s:?}");
            assert_tree_matches(&sim, &a, dir.path(), 7);
        }
    }
    // And a huge look-ahead of one transfer at a time.
    let dir = tempfile::tempdir().unwrap();
    let s = (c.download(&a, dir.path()).concurrency(1))
        .url_lookahead(usize::MAX)
        .run()
        .await
        .unwrap();
    assert!(s.is_complete(), "{s:?}");
    assert_tree_matches(&sim, &a, dir.path(), 7);
}

#[tokio::test]
async fn the_simulator_honours_if_range_and_tags_differ_with_contents() {
    let sim = twin_sim(|_| {});
    let c = client(&sim);
    let (a, b) = two_runs(&sim, &c).await;
    // Trusting the simulator's CA when it has one (`CODEOCEAN_TEST_TLS=1`).
    let roots = sim
        .ca_certificate_pem()
        .map(|ca| reqwest::Certificate::from_pem(ca.as_bytes()).unwrap());
    let http = reqwest::Client::builder()
        .tls_certs_merge(roots)
        .build()
        .unwrap();
    let url = |id: &str| {
        let c = c.clone();
        let id = id.to_owned();
        async move {
            c.file_urls(&id, "figures/plot.png")
                .await
                .unwrap()
                .download_url
        }
    };
    let (ua, ub) = (url(&a).await, url(&b).await);
    let get = |u: &str, if_range: Option<&str>| {
        let mut r = http.get(u).header("range", "bytes=10-");
        if let Some(v) = if_range {
            r = r.header("if-range", v);
        }
        r.send()
    };
    let r = get(&ua, None).await.unwrap();
    assert_eq!(r.status(), 206);
    let tag_a = r.headers()["etag"].to_str().unwrap().to_owned();
    let tag_b = get(&ub, None).await.unwrap().headers()["etag"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_ne!(tag_a, tag_b, "other bytes, other tag");
    assert_eq!(get(&ua, Some(&tag_a)).await.unwrap().status(), 206);
    for other in [
        tag_b.clone(),
        format!("W/{tag_a}"),
        "Tue, 01 Dec 2026 10:00:00 GMT".into(),
    ] {
        let r = get(&ua, Some(&other)).await.unwrap();
        assert_eq!(r.status(), 200, "{other}");
        let size = sim.result_content(&a, "figures/plot.png").unwrap().size();
        assert_eq!(r.bytes().await.unwrap().len() as u64, size);
    }
}

/// Records whether the job had to wait for the destination.
#[derive(Default)]
struct Waits(AtomicBool);

impl codeocean::Progress for Waits {
    fn waiting_for_destination(&self, _: &Path) {
        self.0.store(true, Ordering::SeqCst);
    }
}

#[tokio::test]
async fn two_downloads_into_one_folder_take_turns_and_both_succeed() {
    let sim = twin_sim(|c| {
        c.catalogue = Some(big_tree());
        c.faults = "storage:latency=5".parse().unwrap();
    });
    let c = client(&sim);
    let a = finished_run(&c, HELLO).await;
    let dir = tempfile::tempdir().unwrap();
    let (w1, w2) = (Arc::new(Waits::default()), Arc::new(Waits::default()));
    let (s1, s2) = tokio::join!(
        c.download(&a, dir.path()).progress(w1.clone()).run(),
        c.download(&a, dir.path()).progress(w2.clone()).run(),
    );
    let (s1, s2) = (s1.unwrap(), s2.unwrap());
    assert!(s1.is_complete() && s2.is_complete(), "{s1:?} {s2:?}");
    assert_eq!(
        (s1.downloaded + s2.downloaded, s1.skipped + s2.skipped),
        (240, 240),
        "each file fetched once: {s1:?} {s2:?}"
    );
    assert!(
        w1.0.load(Ordering::SeqCst) != w2.0.load(Ordering::SeqCst),
        "exactly one waited"
    );
    assert_tree_matches(&sim, &a, dir.path(), 240);

    // Two sources at once: the one that waited ran last, and the folder is all its files.
    let b = finished_run(&c, TWIN).await;
    let (w1, w2) = (Arc::new(Waits::default()), Arc::new(Waits::default()));
    let (s1, s2) = tokio::join!(
        c.download(&a, dir.path()).progress(w1.clone()).run(),
        c.download(&b, dir.path()).progress(w2.clone()).run(),
    );
    assert!(s1.unwrap().is_complete() && s2.unwrap().is_complete());
    let last = if w1.0.load(Ordering::SeqCst) { &a } else { &b };
    assert_tree_matches(&sim, last, dir.path(), 240);
}

/// A scripted API that lists the files `items` (path, size) and the folders above them, and
/// hands out URLs of `storage`.
async fn api_listing(items: Vec<(String, u64)>, storage: String) -> String {
    let (origin, _) = serve(Arc::new(move |seen: &Seen, _: &mut TcpStream| {
        if seen.head.starts_with("POST ") {
            let folder = serde_json::from_str::<serde_json::Value>(&seen.body)
                .ok()
                .and_then(|v| v["path"].as_str().map(str::to_owned))
                .unwrap_or_default();
            let mut seen_folders = std::collections::BTreeSet::new();
            let items: Vec<_> = items
                .iter()
                .filter_map(|(p, size)| {
                    let rest = if folder.is_empty() {
                        p.as_str()
                    } else {
                        p.strip_prefix(&format!("{folder}/"))?
                    };
                    let (kind, path) = match rest.split_once('/') {
                        None => ("file", p.clone()),
                        Some((sub, _)) if folder.is_empty() => ("folder", sub.to_owned()),
                        Some((sub, _)) => ("folder", format!("{folder}/{sub}")),
                    };
                    if kind == "folder" && !seen_folders.insert(path.clone()) {
                        return None;
                    }
                    Some(serde_json::json!({
                        "name": path.rsplit('/').next().unwrap(),
                        "path": path,
                        "type": kind,
                        "size": if kind == "file" { *size } else { 0 },
                    }))
                })
                .collect();
            ok(serde_json::json!({ "items": items }).to_string())
        } else {
            // `GET …/results/urls?path=P`: the storage URL names the file.
            let path = seen
                .head
                .split_whitespace()
                .nth(1)
                .and_then(|t| t.split("path=").nth(1))
                .unwrap_or("")
                .to_owned();
            ok(serde_json::json!({
                "download_url": format!("{storage}/{path}"),
                "view_url": format!("{storage}/{path}"),
            })
            .to_string())
        }
    }))
    .await;
    origin
}

#[tokio::test]
async fn a_name_of_250_bytes_downloads() {
    let name = "n".repeat(250);
    let (storage, _) = serve(Arc::new(|_: &Seen, _: &mut TcpStream| ok("abc"))).await;
    let origin = api_listing(vec![(name.clone(), 3)], storage).await;
    let c = fast_client(&origin);
    let dir = tempfile::tempdir().unwrap();
    let s = c.download("cafe", dir.path()).run().await.unwrap();
    assert!(s.is_complete(), "{s:?}");
    assert_eq!(std::fs::read(dir.path().join(&name)).unwrap(), b"abc");
    assert_eq!(top_level(dir.path()), [STATE.to_owned(), name]);
    assert!(part_files(dir.path()).is_empty());
}

#[tokio::test]
async fn server_paths_into_the_state_folder_are_refused() {
    let (storage, hits) = {
        let hits = Arc::new(AtomicUsize::new(0));
        let h = hits.clone();
        let (storage, _) = serve(Arc::new(move |_: &Seen, _: &mut TcpStream| {
            h.fetch_add(1, Ordering::SeqCst);
            ok("abc")
        }))
        .await;
        (storage, hits)
    };
    let items = [
        ".codeocean-download/manifest.jsonl",
        ".codeocean-download/parts/x",
        ".CodeOcean-Download/lock",
        "sub/.codeocean-download/manifest.jsonl",
        "sub/ok.txt",
        "ok.txt",
    ];
    let origin = api_listing(
        items.iter().map(|p| ((*p).to_owned(), 3)).collect(),
        storage,
    )
    .await;
    let c = fast_client(&origin);
    let dir = tempfile::tempdir().unwrap();
    let s = c
        .download("cafe", dir.path())
        .allow_partial(true)
        .run()
        .await
        .unwrap();
    assert_eq!(s.downloaded, 2, "{s:?}");
    assert_eq!(s.failures.len(), 4, "{s:?}");
    assert!(
        s.failures
            .iter()
            .all(|f| f.error().kind() == ErrorKind::UnsafePath),
        "{s:?}"
    );
    assert_eq!(
        hits.load(Ordering::SeqCst),
        2,
        "only the two ok.txt were fetched"
    );
    let journal = std::fs::read_to_string(dir.path().join(STATE).join("manifest.jsonl")).unwrap();
    assert!(journal.lines().all(|l| l.starts_with('{')), "{journal}");
    assert_eq!(std::fs::read(dir.path().join("ok.txt")).unwrap(), b"abc");
}

/// A storage origin for `f.bin` (20 bytes): the first answer is a `200` with `ETag: "v1"`
/// whose body breaks after 10 bytes of `a`; `then` answers each later request (numbered from 1).
async fn changing_storage(
    then: fn(usize, &Seen) -> Reply,
) -> (String, Arc<std::sync::Mutex<Vec<Seen>>>) {
    let n = Arc::new(AtomicUsize::new(0));
    serve(Arc::new(move |seen: &Seen, _: &mut TcpStream| {
        match n.fetch_add(1, Ordering::SeqCst) {
            0 => Reply::Raw(
                b"HTTP/1.1 200 OK\r\netag: \"v1\"\r\ncontent-length: 20\r\n\r\naaaaaaaaaa".to_vec(),
            ),
            i => then(i, seen),
        }
    }))
    .await
}

fn header<'a>(seen: &'a Seen, name: &str) -> Option<&'a str> {
    seen.head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

async fn download_f_bin(storage: String) -> (codeocean::Summary, Vec<u8>) {
    let origin = api_listing(vec![("f.bin".to_owned(), 20)], storage).await;
    let c = fast_client(&origin);
    let dir = tempfile::tempdir().unwrap();
    let s = c.download("cafe", dir.path()).run().await.unwrap();
    let bytes = std::fs::read(dir.path().join("f.bin")).unwrap_or_default();
    (s, bytes)
}

#[tokio::test]
async fn a_resume_asks_if_range_and_a_whole_answer_starts_over() {
    let (storage, log) =
        changing_storage(|_, _| Reply::Full("200 OK", "etag: \"v2\"\r\n".into(), "b".repeat(20)))
            .await;
    let (s, bytes) = download_f_bin(storage).await;
    assert!(s.is_complete(), "{s:?}");
    assert_eq!(bytes, b"b".repeat(20));
    let log = log.lock().unwrap();
    assert_eq!(header(&log[1], "range"), Some("bytes=10-"));
    assert_eq!(header(&log[1], "if-range"), Some("\"v1\""));
}

#[tokio::test]
async fn a_206_of_another_object_starts_over() {
    // A server that ignores `If-Range` and continues its new object.
    let (storage, log) = changing_storage(|_, seen| match header(seen, "range") {
        Some(_) => Reply::Full(
            "206 Partial Content",
            "etag: \"v2\"\r\ncontent-range: bytes 10-19/20\r\n".into(),
            "c".repeat(10),
        ),
        None => Reply::Full("200 OK", "etag: \"v2\"\r\n".into(), "c".repeat(20)),
    })
    .await;
    let (s, bytes) = download_f_bin(storage).await;
    assert!(s.is_complete(), "{s:?}");
    assert_eq!(bytes, b"c".repeat(20), "no byte of the first object kept");
    assert_eq!(log.lock().unwrap().len(), 3);
}
