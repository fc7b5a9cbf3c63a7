//! Memory of downloads: the peak live heap of a download does not grow with the number of files,
//! and a body that never ends is streamed in bounded memory.
//!
//! The heap is counted by a `#[global_allocator]` ([`cap::Cap`] with its `stats` feature: live
//! bytes and their maximum). So that nothing else shares the count, every measurement runs in a
//! child process: the test re-runs this binary with `--exact` on itself and a job description in
//! `CODEOCEAN_MEMORY_JOB`, and the child runs only the client, printing one `MEMORY-RESULT` line.
//! The simulator (whose catalogue holds the whole tree) stays in the parent, whose heap is not
//! measured. Peaks are exact byte counts of live allocations, not RSS, so they are deterministic
//! up to scheduling (how far the walk runs ahead of the transfers).

use std::alloc::System;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use codeocean::{Client, RetryPolicy, RunRequest};
use codeocean_sim::catalogue::{Catalogue, Entry, Flat, Node, RunPlan, Runnable, Tree};
use codeocean_sim::{Config, Simulator};
use serde_json::{Value, json};

#[global_allocator]
static HEAP: cap::Cap<System> = cap::Cap::new(System, usize::MAX);

const JOB_VAR: &str = "CODEOCEAN_MEMORY_JOB";
const RESULT: &str = "MEMORY-RESULT ";
const FILE_SIZE: u64 = 100;
/// One file in this many is not empty.
const NONEMPTY_EVERY: u64 = 50;

/// Runs `test` (this binary's test of that name) in a child process with `job`; returns the
/// child's result line.
fn in_child(test: &str, job: Value) -> Value {
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", test, "--nocapture", "--test-threads=1"])
        .env(JOB_VAR, job.to_string())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the child failed ({}):\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let line = stdout
        .lines()
        .find_map(|l| l.split_once(RESULT).map(|(_, r)| r))
        .unwrap_or_else(|| panic!("no result line from the child:\n{stdout}"));
    serde_json::from_str(line).unwrap()
}

/// The job of this process, when it is a child.
fn child_job() -> Option<Value> {
    std::env::var(JOB_VAR)
        .ok()
        .map(|j| serde_json::from_str(&j).unwrap())
}

/// What a child measured around its job: live bytes before, the peak during, live bytes after
/// (with the client and the job's runtime dropped).
fn measure(job: impl FnOnce() -> Value) -> Value {
    let before = HEAP.allocated();
    let peak_before = HEAP.max_allocated();
    let t = Instant::now();
    let extra = job();
    let after = HEAP.allocated();
    let peak = HEAP.max_allocated();
    let result = json!({
        "before": before,
        "peak_before": peak_before,
        "peak": peak,
        "after": after,
        "secs": t.elapsed().as_secs_f64(),
        "job": extra,
    });
    println!("{RESULT}{result}");
    result
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// A capsule whose run makes `per_folder` files at the root and in each of `folders` folders,
/// plus `wide` files in one folder `wide/`. One file in [`NONEMPTY_EVERY`] has `FILE_SIZE`
/// bytes and is fetched through a signed URL; the others are empty, which the client creates
/// without a request (so that 50,000 files take seconds, not minutes, in a debug build).
fn capsule(id: &str, wide: u32, folders: u32, per_folder: u32) -> Runnable {
    let mut n = 0u64;
    let mut files = |prefix: &str, count: u32| -> Vec<Node> {
        (0..count)
            .map(|i| {
                n += 1;
                Node::File {
                    name: format!("{prefix}-{i:05}.bin"),
                    size: if n.is_multiple_of(NONEMPTY_EVERY) {
                        FILE_SIZE
                    } else {
                        0
                    },
                }
            })
            .collect()
    };
    let mut entries = files("f", per_folder);
    for d in 0..folders {
        let children = files("f", per_folder);
        entries.push(Node::Folder {
            name: format!("dir-{d:03}"),
            children,
        });
    }
    if wide > 0 {
        let children = files("w", wide);
        entries.push(Node::Folder {
            name: "wide".into(),
            children,
        });
    }
    Runnable {
        id: id.into(),
        name: id.into(),
        description: String::new(),
        slug: None,
        parameters: None,
        processes: vec![],
        versions: 0,
        git_remote: None,
        run: RunPlan {
            results: Tree {
                entries,
                generate: None,
            },
            seed: 11,
            ..RunPlan::default()
        },
    }
}

/// One tree to measure: its name, capsule, file count and largest listing.
struct Case {
    name: &'static str,
    capsule: Runnable,
    files: u64,
    largest_listing: u64,
}

fn cases() -> Vec<Case> {
    vec![
        // 500 at the root + 19 folders of 500.
        Case {
            name: "10,000 files, folders of 500",
            capsule: capsule("mem-10k", 0, 19, 500),
            files: 10_000,
            largest_listing: 519,
        },
        // 500 at the root + 99 folders of 500.
        Case {
            name: "50,000 files, folders of 500",
            capsule: capsule("mem-50k", 0, 99, 500),
            files: 50_000,
            largest_listing: 599,
        },
        // One folder of 20,000 + 500 at the root + 10 folders of 500.
        Case {
            name: "25,500 files, one folder of 20,000",
            capsule: capsule("mem-wide", 20_000, 10, 500),
            files: 25_500,
            largest_listing: 20_000,
        },
    ]
}

/// Every file under `dest` is one of the run's (`flat`), with its size; a non-empty one has
/// the simulator's bytes; no part file is left, and there are `files` of them.
fn verify(sim: &Simulator, computation: &str, flat: &Flat, dest: &Path, files: u64) {
    let mut seen = 0;
    let mut stack = vec![dest.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let entry = entry.unwrap();
            let p = entry.path();
            if dir == dest && entry.file_name() == ".codeocean-download" {
                // The download's state folder: no part file may be left in it.
                let parts = std::fs::read_dir(p.join("parts")).unwrap().count();
                assert_eq!(parts, 0, "part files left");
                continue;
            }
            if entry.file_type().unwrap().is_dir() {
                stack.push(p);
                continue;
            }
            let rel = p.strip_prefix(dest).unwrap().to_str().unwrap().to_owned();
            let Some(Entry::File(size)) = flat.entries.get(&rel) else {
                panic!("unexpected file {rel}");
            };
            assert_eq!(entry.metadata().unwrap().len(), *size, "{rel}");
            if *size > 0 {
                let want = sim.result_content(computation, &rel).unwrap();
                assert!(
                    std::fs::read(&p).unwrap() == want.read(0, u64::MAX),
                    "{rel} differs"
                );
            }
            seen += 1;
        }
    }
    assert_eq!(seen, files);
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1 << 20) as f64
}

/// The walk keeps no set of seen paths and the transfers stream, so what a download holds at
/// once is: the queue of listed entries waiting to be taken (16 × the download concurrency, at
/// least 256), the folder being taken in (its whole listing, decoded, since the API returns a
/// folder in one response), the listings in flight (up to 16), the files of the URL look-ahead
/// (as many as the concurrency, each with its signed URL and no open file), and 32 transfers
/// with their buffers (8 KiB to 1 MiB each). None of it depends on the number
/// of files: once the queue fills and 16 listings are in flight (well before 10,000 files in
/// folders of 500), the peak is flat up to noise. So five times the files in folders of the
/// same size may at most double the peak (scheduling decides how full the channel gets, how
/// many listing bodies and connection buffers are alive: runs here gave 1.2x to 1.45x, 2.3 to
/// 3.4 MiB); a leak of 64 bytes per file (2.4 MiB over the 40,000 more files) would break it.
/// A folder of 20,000 entries costs what its listing costs, at most 1 KiB per entry over the
/// spread tree. A re-run of the 50,000 files into the same folder (every file skipped) holds
/// the destination journal's map of completed files, read once: at most 256 bytes per file
/// over the first run's peak (measured about 80).
#[test]
fn download_memory_does_not_grow_with_the_number_of_files() {
    const TEST: &str = "download_memory_does_not_grow_with_the_number_of_files";
    if let Some(job) = child_job() {
        measure(|| {
            let rt = runtime();
            let summary = rt.block_on(async {
                let client = Client::builder()
                    .domain(job["origin"].as_str().unwrap())
                    .token(job["token"].as_str().unwrap())
                    .build()
                    .unwrap();
                client
                    .download(
                        job["computation"].as_str().unwrap(),
                        job["dest"].as_str().unwrap(),
                    )
                    .run()
                    .await
                    .unwrap()
            });
            drop(rt);
            assert!(summary.is_complete(), "{:?}", summary.failures.first());
            json!({
                "downloaded": summary.downloaded,
                "skipped": summary.skipped,
                "bytes": summary.bytes,
            })
        });
        return;
    }

    let cases = cases();
    let catalogue = Catalogue {
        capsules: cases.iter().map(|c| c.capsule.clone()).collect(),
        ..Catalogue::default()
    };
    let sim = Simulator::start(Config {
        time_scale: 1e6,
        catalogue: Some(catalogue),
        ..Config::new("memory-token")
    })
    .unwrap();
    let rt = runtime();
    let client = Client::builder()
        .domain(sim.origin())
        .token(sim.token())
        .retry_policy(RetryPolicy::default())
        .build()
        .unwrap();
    let mut peaks = Vec::new();
    for case in &cases {
        let id = rt.block_on(async {
            let run = client
                .run(&RunRequest::capsule(&case.capsule.id))
                .await
                .unwrap();
            client.wait_for_computation(&run.id).await.unwrap();
            run.id
        });
        let dir = tempfile::tempdir().unwrap();
        let r = in_child(
            TEST,
            json!({
                "origin": sim.origin(),
                "token": sim.token(),
                "computation": id,
                "dest": dir.path(),
            }),
        );
        assert_eq!(r["job"]["downloaded"].as_u64(), Some(case.files), "{r}");
        verify(
            &sim,
            &id,
            &case.capsule.run.results.flatten().unwrap(),
            dir.path(),
            case.files,
        );
        let before = r["before"].as_u64().unwrap();
        let peak = r["peak"].as_u64().unwrap().saturating_sub(before);
        let after = r["after"].as_u64().unwrap();
        println!(
            "{:<36} peak heap {:>7.2} MiB over {:>5.2} MiB at start ({:>6.1} bytes/file), \
             {:>5.2} MiB live after; largest listing {:>6}; {:.1} s",
            case.name,
            mib(peak),
            mib(before),
            peak as f64 / case.files as f64,
            mib(after),
            case.largest_listing,
            r["secs"].as_f64().unwrap(),
        );
        // Nothing is kept once the job and its client are gone (1 MiB: thread-local caches).
        assert!(
            after <= before + (1 << 20),
            "{}: {after} bytes live after the job, {before} before",
            case.name
        );
        peaks.push(peak);
        if case.files == 50_000 {
            // A re-run holds the destination journal's map of this source's completed files
            // (path and stamp of each), read once: a cost per file, bounded below.
            let again = in_child(
                TEST,
                json!({
                    "origin": sim.origin(),
                    "token": sim.token(),
                    "computation": id,
                    "dest": dir.path(),
                }),
            );
            assert_eq!(
                again["job"]["skipped"].as_u64(),
                Some(case.files),
                "{again}"
            );
            let rerun = again["peak"].as_u64().unwrap() - again["before"].as_u64().unwrap();
            println!(
                "{:<36} peak heap {:>7.2} MiB ({:>6.1} bytes/file); {:.1} s",
                "  re-run, every file skipped",
                mib(rerun),
                rerun as f64 / case.files as f64,
                again["secs"].as_f64().unwrap(),
            );
            assert!(
                rerun <= peak + 256 * case.files,
                "a re-run of {} files peaked at {rerun} bytes",
                case.files
            );
        }
    }
    let (small, large, wide) = (peaks[0], peaks[1], peaks[2]);
    assert!(
        large <= 2 * small,
        "5x the files raised the peak from {small} to {large} bytes"
    );
    assert!(
        wide <= large + 20_000 * 1024,
        "a folder of 20,000 entries raised the peak from {large} to {wide} bytes"
    );
}

/// A storage host that sends bytes forever (after announcing far more than the listing says)
/// is streamed to disk in bounded memory: the body is never collected, only written through a
/// buffer of at most 1 MiB, and cut off at the listed size. The bound, 8 MiB, is a small
/// multiple of that buffer and a tenth of what the server sends.
#[test]
fn an_endless_body_is_streamed_in_bounded_memory() {
    const TEST: &str = "an_endless_body_is_streamed_in_bounded_memory";
    const LISTED: u64 = 32 << 20;
    if let Some(job) = child_job() {
        let dest = job["dest"].as_str().unwrap().to_owned();
        // The scripted server runs on its own runtime in this process: its few fixed buffers
        // are counted too, which only makes the bound harder to meet.
        let server = runtime();
        let origin = server.block_on(endless::serve(LISTED, endless::Mode::Storage));
        measure(|| {
            let rt = runtime();
            let summary = rt.block_on(async {
                let client = Client::builder()
                    .domain(&origin)
                    .token("memory-token")
                    .read_timeout(Duration::from_secs(5))
                    .retry_policy(
                        RetryPolicy::default()
                            .max_retries(1)
                            .initial_backoff(Duration::from_millis(5))
                            .max_backoff(Duration::from_millis(5))
                            .max_retry_after(Duration::from_secs(1)),
                    )
                    .build()
                    .unwrap();
                client
                    .download("cafe", &dest)
                    .allow_partial(true)
                    .run()
                    .await
                    .unwrap()
            });
            drop(rt);
            json!({
                "failed": summary.failures.len(),
                "retries": summary.retries,
                "bytes_seen": endless::sent(),
            })
        });
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let r = in_child(TEST, json!({"dest": dir.path()}));
    let before = r["before"].as_u64().unwrap();
    let peak = r["peak"].as_u64().unwrap().saturating_sub(before);
    let sent = r["job"]["bytes_seen"].as_u64().unwrap();
    println!(
        "endless body: {:.0} MiB sent by the server, peak heap {:.2} MiB over {:.2} MiB at start",
        mib(sent),
        mib(peak),
        mib(before)
    );
    assert_eq!(r["job"]["failed"].as_u64(), Some(1), "{r}");
    assert!(
        sent > 2 * LISTED,
        "both attempts streamed past the listed size: {sent}"
    );
    assert!(
        !dir.path().join("big.bin").exists(),
        "an oversized body never reaches the final name"
    );
    assert!(
        peak < 8 << 20,
        "{peak} bytes of heap for a streamed body (the write buffer is 1 MiB)"
    );
}

/// An API listing that never ends (`200`, JSON without end) and a storage error page that never
/// ends (`500`): the first stops at the response body cap (64 MiB by default), the second is
/// read only for its first 64 KiB. Before the cap, both grew the heap without bound.
#[test]
fn endless_api_and_storage_error_bodies_stay_bounded() {
    const TEST: &str = "endless_api_and_storage_error_bodies_stay_bounded";
    if let Some(job) = child_job() {
        let dest = job["dest"].as_str().unwrap().to_owned();
        let mode = match job["mode"].as_str().unwrap() {
            "api" => endless::Mode::ApiListing,
            _ => endless::Mode::StorageError,
        };
        let server = runtime();
        let origin = server.block_on(endless::serve(3, mode));
        measure(|| {
            let rt = runtime();
            let summary = rt.block_on(async {
                let client = Client::builder()
                    .domain(&origin)
                    .token("memory-token")
                    .retry_policy(RetryPolicy::none())
                    .build()
                    .unwrap();
                client
                    .download("cafe", &dest)
                    .allow_partial(true)
                    .run()
                    .await
                    .unwrap()
            });
            drop(rt);
            json!({
                "failed": summary.failures.len(),
                "kind": format!("{:?}", summary.failures.first().map(|f| f.error().kind())),
                "bytes_seen": endless::sent(),
            })
        });
        return;
    }
    for (mode, kind, bound) in [
        ("api", "Some(TooLarge)", 80u64 << 20),
        ("storage", "Some(Status)", 8 << 20),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let r = in_child(TEST, json!({"dest": dir.path(), "mode": mode}));
        let before = r["before"].as_u64().unwrap();
        let peak = r["peak"].as_u64().unwrap().saturating_sub(before);
        let sent = r["job"]["bytes_seen"].as_u64().unwrap();
        println!(
            "endless {mode} body: {:.1} MiB sent, peak heap {:.2} MiB over {:.2} MiB at start",
            mib(sent),
            mib(peak),
            mib(before)
        );
        assert_eq!(r["job"]["failed"].as_u64(), Some(1), "{r}");
        assert_eq!(r["job"]["kind"].as_str(), Some(kind), "{r}");
        assert!(peak < bound, "{mode}: {peak} bytes of heap (bound {bound})");
    }
}

/// A raw HTTP/1.1 server for the endless-body test: lists one file of a given size, hands out a
/// URL on itself, and answers that URL with headers announcing 1 TiB and bytes forever.
mod endless {
    use std::sync::atomic::{AtomicU64, Ordering};

    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    static SENT: AtomicU64 = AtomicU64::new(0);

    /// Bytes of body the storage answers have sent.
    pub(crate) fn sent() -> u64 {
        SENT.load(Ordering::Relaxed)
    }

    /// Which answer never ends.
    #[derive(Clone, Copy, PartialEq, Eq)]
    pub(crate) enum Mode {
        /// The storage GET: `200` with a `Content-Length` of 1 TiB.
        Storage,
        /// The API listing: `200`, JSON that never closes.
        ApiListing,
        /// The storage GET: a `500` page that never ends.
        StorageError,
    }

    pub(crate) async fn serve(listed: u64, mode: Mode) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let origin = format!("http://{}", listener.local_addr().unwrap());
        let me = origin.clone();
        tokio::spawn(async move {
            while let Ok((mut sock, _)) = listener.accept().await {
                let me = me.clone();
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
                    let endless_storage =
                        head.starts_with("GET /storage/") && mode != Mode::ApiListing;
                    let endless_api = head.starts_with("POST ") && mode == Mode::ApiListing;
                    let body = if endless_storage || endless_api {
                        let head = match mode {
                            Mode::Storage => {
                                "HTTP/1.1 200 OK\r\ncontent-length: 1099511627776\r\n\r\n"
                            }
                            Mode::ApiListing => {
                                "HTTP/1.1 200 OK\r\ncontent-type: \
                                application/json\r\nconnection: close\r\n\r\n{\"items\": ["
                            }
                            Mode::StorageError => {
                                "HTTP/1.1 500 Internal Server Error\r\n\
                                connection: close\r\n\r\n<html>"
                            }
                        };
                        if sock.write_all(head.as_bytes()).await.is_err() {
                            return;
                        }
                        let block = [b'x'; 16 << 10];
                        while sock.write_all(&block).await.is_ok() {
                            SENT.fetch_add(block.len() as u64, Ordering::Relaxed);
                        }
                        return;
                    } else if head.starts_with("POST ") {
                        serde_json::json!({"items": [
                            {"name": "big.bin", "path": "big.bin", "type": "file", "size": listed}
                        ]})
                    } else {
                        serde_json::json!({
                            "download_url": format!("{me}/storage/big.bin"),
                            "view_url": format!("{me}/storage/big.bin"),
                        })
                    }
                    .to_string();
                    let resp = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\
                         content-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = sock.write_all(resp.as_bytes()).await;
                });
            }
        });
        origin
    }
}
