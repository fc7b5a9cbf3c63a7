//! The fault soak: rounds of launching a batch of runs and downloading a result tree against a
//! simulator that fails 10–20 % of requests in every way it knows (429 with `Retry-After`,
//! 500/502/503, HTML 502 pages, connections reset mid-body, bodies cut short, signed URLs issued
//! already expired), for `CODEOCEAN_SOAK_SECS` seconds (default 60; the round under way when
//! time is up finishes, a few seconds).
//!
//! After each round: the files are byte-identical to what the simulator serves and no part file
//! is left; each launched run exists at most once in the simulator (exactly once, with the id
//! the client got, when the launch succeeded), and the request log shows one accepted
//! `POST /computations` per run created; nothing panicked; and with the round's client dropped
//! the process's open file descriptors and the runtime's alive tasks return to their baseline.
//! A failing round says which of these broke.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use codeocean::{Client, PollPolicy, RetryPolicy, RunRequest};
use codeocean_sim::catalogue::{Catalogue, Generated, Node, Tree};
use codeocean_sim::{Config, FaultSpec, Faults, RouteClass, Simulator};

const HELLO: &str = "c0ffee00-0000-4000-8000-000000000001";
/// Runs launched per round (the batch).
const BATCH: usize = 8;

/// How long to soak: `CODEOCEAN_SOAK_SECS`, else 60 s.
fn soak_duration() -> Duration {
    let secs = std::env::var("CODEOCEAN_SOAK_SECS")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .unwrap_or(60);
    Duration::from_secs(secs.max(1))
}

/// The hello capsule with a tree of 107 files: an empty one, a one-byte one, one of 300,000
/// bytes (several storage chunks, so resets land mid-file and resumes use `Range`), and 104 of
/// 5,000 bytes in 13 folders three levels deep.
fn catalogue() -> Catalogue {
    let mut cat = Catalogue::builtin();
    let file = |name: &str, size: u64| Node::File {
        name: name.into(),
        size,
    };
    cat.capsules[0].run.results = Tree {
        entries: vec![
            file("empty.txt", 0),
            file("one.bin", 1),
            file("large.bin", 300_000),
        ],
        generate: Some(Generated {
            depth: 2,
            folders: 3,
            files: 8,
            size: 5_000,
        }),
    };
    cat
}
const TREE_FILES: u64 = 107;

/// About 15 % of requests of each class fail, in every way the simulator can.
fn faults() -> Faults {
    let api = FaultSpec {
        p429: 0.03,
        retry_after_secs: 1,
        p500: 0.02,
        p502: 0.02,
        p503: 0.02,
        html: 0.02,
        reset: 0.02,
        truncate: 0.02,
        ..FaultSpec::default()
    };
    let mut f = Faults::all(api.clone());
    f.set(
        RouteClass::Urls,
        FaultSpec {
            expire: 0.05,
            ..api.clone()
        },
    );
    f.set(
        RouteClass::Storage,
        FaultSpec {
            p429: 0.02,
            retry_after_secs: 1,
            p500: 0.02,
            p503: 0.02,
            html: 0.01,
            reset: 0.04,
            truncate: 0.04,
            ..FaultSpec::default()
        },
    );
    // Starting a run: throttling (retried), and failures a client must not retry (the run may
    // have been created: a reset arrives after the server acted).
    f.set(
        RouteClass::Run,
        FaultSpec {
            p429: 0.05,
            retry_after_secs: 1,
            p503: 0.03,
            reset: 0.03,
            ..FaultSpec::default()
        },
    );
    f
}

fn client(sim: &Simulator) -> Client {
    Client::builder()
        .domain(sim.origin())
        .token(sim.token())
        .retry_policy(
            RetryPolicy::default()
                .max_retries(10)
                .initial_backoff(Duration::from_millis(5))
                .max_backoff(Duration::from_millis(100))
                .max_retry_after(Duration::from_secs(5)),
        )
        .poll_policy(
            PollPolicy::default()
                .initial_interval(Duration::from_millis(10))
                .max_interval(Duration::from_millis(50))
                .factor(1.5)
                .max_wait(Some(Duration::from_secs(60))),
        )
        .build()
        .unwrap()
}

fn open_fds() -> Vec<String> {
    std::fs::read_dir("/proc/self/fd")
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| {
                    let target = std::fs::read_link(e.path())
                        .map(|t| t.display().to_string())
                        .unwrap_or_default();
                    format!("{} -> {target}", e.file_name().to_string_lossy())
                })
                .collect()
        })
        .unwrap_or_default()
}

fn alive_tasks() -> usize {
    tokio::runtime::Handle::current()
        .metrics()
        .num_alive_tasks()
}

/// Waits up to 10 s for `now()` to come back to `baseline` or below; the last value seen.
async fn settles(baseline: usize, now: impl Fn() -> usize) -> usize {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let n = now();
        if n <= baseline || Instant::now() > deadline {
            return n;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Files and bytes under `dest`, checked against the simulator; an error names what differs.
fn check_tree(sim: &Simulator, computation: &str, dest: &Path) -> Result<(u64, u64), String> {
    let (mut files, mut bytes) = (0, 0);
    let mut stack = vec![dest.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).map_err(|e| e.to_string())? {
            let entry = entry.map_err(|e| e.to_string())?;
            let p = entry.path();
            if dir == dest && entry.file_name() == ".codeocean-download" {
                // The download's state folder: its part files must all have been renamed.
                let parts = std::fs::read_dir(p.join("parts")).map_err(|e| e.to_string())?;
                if let Some(left) = parts.into_iter().next() {
                    let left = left.map_err(|e| e.to_string())?.file_name();
                    return Err(format!("a part file is left after success: {left:?}"));
                }
                continue;
            }
            if entry.file_type().map_err(|e| e.to_string())?.is_dir() {
                stack.push(p);
                continue;
            }
            let rel = p.strip_prefix(dest).unwrap().to_string_lossy().into_owned();
            let want = sim
                .result_content(computation, &rel)
                .ok_or_else(|| format!("a file the results do not have: {rel}"))?
                .read(0, u64::MAX);
            let got = std::fs::read(&p).map_err(|e| format!("{rel}: {e}"))?;
            if got != want {
                let at = got.iter().zip(&want).position(|(a, b)| a != b);
                return Err(format!(
                    "{rel} differs: {} bytes, want {}; first difference at {at:?}",
                    got.len(),
                    want.len()
                ));
            }
            files += 1;
            bytes += got.len() as u64;
        }
    }
    if files != TREE_FILES {
        return Err(format!("{files} files on disk, want {TREE_FILES}"));
    }
    Ok((files, bytes))
}

/// Stops the soak, saying which round broke and how.
fn failed(round: u64, what: String) -> ! {
    panic!("soak round {round}: {what}")
}

#[derive(Default)]
struct Totals {
    rounds: u64,
    launched: u64,
    launch_errors: u64,
    runs_created: u64,
    ambiguous_created: u64,
    files: u64,
    bytes: u64,
    retries: u64,
    statuses: BTreeMap<u16, u64>,
    requests: u64,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fault_soak_keeps_files_runs_fds_and_tasks_intact() {
    let soak = soak_duration();
    let panics = Arc::new(AtomicU64::new(0));
    {
        let panics = panics.clone();
        let default_hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            panics.fetch_add(1, Ordering::SeqCst);
            default_hook(info);
        }));
    }
    let faults = faults();
    let sim = Simulator::start(Config {
        time_scale: 200.0,
        catalogue: Some(catalogue()),
        seed: 8,
        ..Config::new("soak-token")
    })
    .unwrap();
    let scratch = tempfile::tempdir().unwrap();

    // Baselines, with the simulator up and no client yet.
    let fd_baseline = open_fds().len();
    let task_baseline = alive_tasks();
    sim.set_faults(faults.clone());

    let started = Instant::now();
    let mut t = Totals::default();
    let mut previous_run: Option<String> = None;
    while t.rounds == 0 || started.elapsed() < soak {
        let round = t.rounds + 1;
        macro_rules! fail {
            ($($what:tt)*) => { failed(round, format!($($what)*)) };
        }
        sim.clear_requests();
        let c = client(&sim);

        // The batch: every line launched once, at once.
        let tags: Vec<String> = (0..BATCH).map(|i| format!("r{round}-l{i}")).collect();
        let launches = futures_util::future::join_all(tags.iter().map(|tag| {
            let c = c.clone();
            async move {
                c.run(&RunRequest::capsule(HELLO).named_parameter("greeting", tag))
                    .await
            }
        }))
        .await;
        let started_ids: Vec<&str> = launches
            .iter()
            .filter_map(|r| r.as_ref().ok().map(|c| c.id.as_str()))
            .collect();
        for id in &started_ids {
            let done = c
                .wait_for_computation(id)
                .await
                .unwrap_or_else(|e| fail!("waiting for {id}: {e}"));
            if done.outcome != codeocean::Outcome::Succeeded {
                fail!("run {id} ended {:?}", done.outcome);
            }
        }

        // Each line exists at most once; a line the client saw start exists exactly once,
        // with the id the client got.
        let all = c
            .list_capsule_computations(HELLO)
            .await
            .unwrap_or_else(|e| fail!("listing computations: {e}"));
        let mut by_tag: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for comp in &all {
            for p in &comp.parameters {
                if p.name.as_deref() == Some("greeting")
                    && let Some(v) = p.value.as_deref()
                    && tags.iter().any(|t| t == v)
                {
                    by_tag.entry(v).or_default().push(comp.id.as_str());
                }
            }
        }
        let mut created = 0;
        for (tag, launch) in tags.iter().zip(&launches) {
            let ids = by_tag.get(tag.as_str()).cloned().unwrap_or_default();
            if ids.len() > 1 {
                fail!("line {tag} was created {} times: {ids:?}", ids.len());
            }
            match launch {
                Ok(comp) if ids != [comp.id.as_str()] => fail!(
                    "line {tag} started as {} but the server has {ids:?}",
                    comp.id
                ),
                Ok(_) => {}
                Err(e) => {
                    t.launch_errors += 1;
                    if !e.is_retryable() {
                        fail!("line {tag} failed with an unexpected error: {e}");
                    }
                    if matches!(e.status(), Some(429 | 500..=599)) && !ids.is_empty() {
                        fail!("line {tag} was refused ({e}) but the server created {ids:?}");
                    }
                    // Reset after the server acted: created, and the client could not know.
                    t.ambiguous_created += ids.len() as u64;
                }
            }
            created += ids.len() as u64;
        }
        let log = sim.requests();
        let accepted_posts = log
            .iter()
            .filter(|r| r.operation == "run_computation" && r.status == 200)
            .count() as u64;
        if accepted_posts != created {
            fail!("{accepted_posts} POST /computations accepted, {created} runs created");
        }
        t.launched += BATCH as u64;
        t.runs_created += created;

        // The tree, through the faults.
        let Some(run) = started_ids
            .first()
            .map(|s| s.to_string())
            .or(previous_run.clone())
        else {
            fail!("no run of this round or an earlier one started");
        };
        let dest = scratch.path().join(format!("round-{round}"));
        let summary = c
            .download(&run, &dest)
            .run()
            .await
            // A file that failed for good makes the job an error that counts and quotes them.
            .unwrap_or_else(|e| fail!("download: {e}"));
        let (files, bytes) = check_tree(&sim, &run, &dest).unwrap_or_else(|e| fail!("{e}"));
        if summary.downloaded != files || summary.bytes != bytes {
            fail!(
                "the summary says {} files and {} bytes, the disk has {files} and {bytes}",
                summary.downloaded,
                summary.bytes
            );
        }
        std::fs::remove_dir_all(&dest).unwrap();
        t.files += files;
        t.bytes += bytes;
        t.retries += summary.retries;
        previous_run = Some(run);

        // Nothing outlives the round's client.
        drop(c);
        let n = panics.load(Ordering::SeqCst);
        if n > 0 {
            fail!("{n} panic(s) so far (see above)");
        }
        let tasks = settles(task_baseline, alive_tasks).await;
        if tasks > task_baseline {
            fail!("{tasks} tasks alive after the round, {task_baseline} before the first");
        }
        let fds = settles(fd_baseline, || open_fds().len()).await;
        if fds > fd_baseline {
            fail!(
                "{fds} file descriptors open after the round, {fd_baseline} before the first: \
                 {:?}",
                open_fds()
            );
        }

        let stats = sim.stats();
        for (status, n) in stats.statuses {
            *t.statuses.entry(status).or_default() += n;
        }
        t.requests += stats.counts.values().sum::<u64>();
        assert_eq!(stats.storage_requests_with_authorization, 0);
        t.rounds += 1;
    }

    let injected = faults.injected();
    println!(
        "fault soak: {} rounds in {:.1} s; {} requests answered ({:?} by status)",
        t.rounds,
        started.elapsed().as_secs_f64(),
        t.requests,
        t.statuses
    );
    println!(
        "  faults injected: {} in all ({injected}); on storage: {}",
        injected.total(),
        faults.injected_on(RouteClass::Storage)
    );
    println!(
        "  runs: {} lines launched, {} runs created, {} launches failed ({} of them created \
         before the connection broke), 0 duplicates",
        t.launched, t.runs_created, t.launch_errors, t.ambiguous_created
    );
    println!(
        "  downloads: {} files and {} bytes verified byte for byte, {} transfers retried; \
         file descriptors back to {fd_baseline} and alive tasks to {task_baseline} after \
         every round; 0 panics",
        t.files, t.bytes, t.retries
    );
    assert!(
        injected.reset > 0 && injected.truncate > 0 && injected.expire > 0,
        "the soak hit every kind of body fault: {injected}"
    );
    assert!(
        injected.too_many_requests > 0 && injected.html > 0,
        "{injected}"
    );
}
