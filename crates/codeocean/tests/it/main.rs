//! Behaviour of the high-level client against the in-process simulator.

use std::path::Path;
use std::time::Duration;

use codeocean::{
    Client, ClientBuilder, ErrorKind, NewDataAsset, Outcome, PollPolicy, RetryPolicy, RunRequest,
};
use codeocean_sim::catalogue::{Catalogue, Generated, Tree};
use codeocean_sim::{ApiGeneration, Config, FaultSpec, Faults, RouteClass, Simulator, Tls};

mod bounds;
mod data_assets;
mod errors;
mod families;
mod hostile;
mod integrity;
mod pipeline;
mod props;
mod scripted;
mod throttle;
mod tls;

const HELLO: &str = "c0ffee00-0000-4000-8000-000000000001";
const FAILS: &str = "c0ffee00-0000-4000-8000-000000000002";

/// Whether this binary runs over HTTPS (`CODEOCEAN_TEST_TLS=1`, a second pass in CI): [`sim`]
/// serves HTTPS with a generated CA, and [`builder`] (so [`client`]) trusts it.
fn over_tls() -> bool {
    std::env::var("CODEOCEAN_TEST_TLS").is_ok_and(|v| v == "1")
}

/// A simulator on a fast clock, over HTTPS when [`over_tls`]; `config` may change anything
/// (`c.tls = None`: plain HTTP whatever the environment says).
fn sim(config: impl FnOnce(&mut Config)) -> Simulator {
    let mut c = Config {
        time_scale: 1000.0,
        asset_ready_after: Duration::from_secs(5),
        tls: over_tls().then_some(Tls::Generated),
        ..Config::new("test-token-123")
    };
    config(&mut c);
    Simulator::start(c).unwrap()
}

/// A builder for `sim`: its origin and token, and its CA trusted when it has one.
fn builder(sim: &Simulator) -> ClientBuilder {
    let b = Client::builder().domain(sim.origin()).token(sim.token());
    match sim.ca_certificate_pem() {
        Some(ca) => b.add_root_certificates(ca),
        None => b,
    }
}

/// A client for `sim` with fast retries and polls, as a test wants them.
fn client(sim: &Simulator) -> Client {
    fast(builder(sim))
}

/// `b` with fast retries and polls, built.
fn fast(b: ClientBuilder) -> Client {
    b.retry_policy(
        RetryPolicy::default()
            .max_retries(8)
            .initial_backoff(Duration::from_millis(5))
            .max_backoff(Duration::from_millis(50))
            .max_retry_after(Duration::from_secs(5)),
    )
    .poll_policy(
        PollPolicy::default()
            .initial_interval(Duration::from_millis(5))
            .max_interval(Duration::from_millis(50))
            .factor(1.5)
            .max_wait(Some(Duration::from_secs(30))),
    )
    .build()
    .unwrap()
}

async fn finished_run(c: &Client, capsule: &str) -> String {
    let run = c.run(&RunRequest::capsule(capsule)).await.unwrap();
    c.wait_for_computation(&run.id).await.unwrap();
    run.id
}

/// Every file of a computation's results is on disk with the simulator's bytes, and nothing
/// else is (no part files).
fn assert_tree_matches(sim: &Simulator, computation: &str, dest: &Path, expected_files: usize) {
    assert_dir_matches(dest, expected_files, |rel| {
        sim.result_content(computation, rel)
    });
}

/// The download's state folder inside a destination.
const STATE: &str = ".codeocean-download";

/// The part files left in `dest`'s state folder.
fn part_files(dest: &Path) -> Vec<std::path::PathBuf> {
    match std::fs::read_dir(dest.join(STATE).join("parts")) {
        Ok(rd) => rd.map(|e| e.unwrap().path()).collect(),
        Err(_) => Vec::new(),
    }
}

/// Every file under `dest` (besides its state folder) has the bytes `expected(relative path)`
/// gives, there are `expected_files` of them, and no part file is left; returns the bytes
/// compared.
fn assert_dir_matches(
    dest: &Path,
    expected_files: usize,
    expected: impl Fn(&str) -> Option<codeocean_sim::content::Content>,
) -> u64 {
    let mut seen = 0;
    let mut bytes = 0;
    let mut stack = vec![dest.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let entry = entry.unwrap();
            let p = entry.path();
            if dir == dest && entry.file_name() == STATE {
                continue;
            }
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            let rel = p.strip_prefix(dest).unwrap().to_str().unwrap().to_owned();
            let want = expected(&rel)
                .unwrap_or_else(|| panic!("unexpected file {rel}"))
                .read(0, u64::MAX);
            assert!(std::fs::read(&p).unwrap() == want, "{rel} differs");
            seen += 1;
            bytes += want.len() as u64;
        }
    }
    assert_eq!(seen, expected_files);
    assert_eq!(
        part_files(dest),
        Vec::<std::path::PathBuf>::new(),
        "part files left"
    );
    bytes
}

#[tokio::test]
async fn a_failed_run_is_reported_as_failed() {
    let sim = sim(|_| {});
    let c = client(&sim);
    let run = c.run(&RunRequest::capsule(FAILS)).await.unwrap();
    let finished = c.wait_for_computation(&run.id).await.unwrap();
    assert_eq!(finished.outcome, Outcome::Failed);
    assert_eq!(finished.computation.exit_code, Some(1));
    let err = finished.into_success().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RunFailed);
    assert!(err.to_string().contains("failed (exit code 1)"), "{err}");

    // A data asset made from it fails, and waiting for it says so.
    let asset = c
        .create_data_asset(&NewDataAsset::from_computation(&run.id, "broken", "broken"))
        .await
        .unwrap();
    let err = c.wait_for_data_asset(&asset.id).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AssetFailed, "{err}");
}

#[tokio::test]
async fn giving_up_waiting_is_its_own_error() {
    let sim = sim(|c| c.time_scale = 1.0);
    let c = client(&sim);
    let run = c.run(&RunRequest::capsule(HELLO)).await.unwrap();
    let policy = PollPolicy::default()
        .initial_interval(Duration::from_millis(10))
        .max_interval(Duration::from_millis(20))
        .factor(1.5)
        .max_wait(Some(Duration::from_millis(150)));
    let err = c
        .wait_for_computation(&run.id)
        .poll_policy(policy)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::WaitTimeout);
    // A waiter giving up is not an HTTP timeout: the server answered every poll.
    assert!(err.is_wait_timeout() && !err.is_timeout() && err.status().is_none());
    assert!(err.to_string().contains("gave up"), "{err}");
}

#[tokio::test]
async fn a_wait_timeout_keeps_the_clients_poll_schedule() {
    let sim = sim(|c| c.time_scale = 1.0);
    // The client polls every 5 to 50 ms and would wait 30 s; this one wait gives up at 300 ms.
    let c = client(&sim);
    assert_eq!(c.poll_policy().max_wait, Some(Duration::from_secs(30)));
    assert_eq!(c.poll_policy().initial_interval, Duration::from_millis(5));
    assert_eq!(c.retry_policy().max_retries, 8);
    let run = c.run(&RunRequest::capsule(HELLO)).await.unwrap();
    let before = sim
        .stats()
        .counts
        .get("get_computation")
        .copied()
        .unwrap_or(0);
    let t = std::time::Instant::now();
    let err = c
        .wait_for_computation(&run.id)
        .timeout(Duration::from_millis(300))
        .await
        .unwrap_err();
    let waited = t.elapsed();
    assert_eq!(err.kind(), ErrorKind::WaitTimeout, "{err}");
    assert!(err.to_string().contains("gave up after 0.3s"), "{err}");
    assert!(waited < Duration::from_secs(5), "{waited:?}");
    // The client's schedule (intervals of at most 50 ms), not the default one (1 s and up).
    let polls = sim
        .stats()
        .counts
        .get("get_computation")
        .copied()
        .unwrap_or(0)
        - before;
    assert!(polls >= 5, "{polls} polls in {waited:?}");
}

#[tokio::test]
async fn watching_sees_every_state_then_stops() {
    let sim = sim(|c| c.time_scale = 200.0);
    let c = client(&sim);
    let run = c.run(&RunRequest::capsule(HELLO)).await.unwrap();
    use futures_util::StreamExt as _;
    let states: Vec<String> = c
        .watch_computation(&run.id)
        .map(|c| c.unwrap().state.unwrap().to_string())
        .collect()
        .await;
    assert_eq!(states.last().map(String::as_str), Some("completed"));
    assert!(states.contains(&"running".to_owned()), "{states:?}");
    let mut dedup = states.clone();
    dedup.dedup();
    assert_eq!(dedup, states, "a state was reported twice");
}

#[tokio::test]
async fn the_whole_job_succeeds_and_rerunning_skips_complete_files() {
    let sim = sim(|_| {});
    let c = client(&sim);
    let id = finished_run(&c, HELLO).await;
    let dir = tempfile::tempdir().unwrap();
    let summary = c.download(&id, dir.path()).run().await.unwrap();
    assert_eq!((summary.downloaded, summary.skipped), (7, 0));
    assert_tree_matches(&sim, &id, dir.path(), 7);
    let again = c.download(&id, dir.path()).run().await.unwrap();
    assert_eq!((again.downloaded, again.skipped, again.bytes), (0, 7, 0));

    let asset = c
        .create_data_asset(&NewDataAsset::from_computation(&id, "kept", "kept").metadata("n", 3))
        .await
        .unwrap();
    let ready = c.wait_for_data_asset(&asset.id).await.unwrap();
    assert_eq!(ready.state, Some(codeocean::DataAssetState::Ready));
    assert_eq!(sim.stats().storage_requests_with_authorization, 0);
}

#[tokio::test]
async fn a_partial_file_is_resumed_with_range() {
    let sim = sim(|_| {});
    let c = client(&sim);
    let id = finished_run(&c, HELLO).await;
    let dir = tempfile::tempdir().unwrap();
    let want = sim
        .result_content(&id, "figures/plot.png")
        .unwrap()
        .read(0, u64::MAX);
    // Interrupted half-way: the body ends early and no retry is allowed.
    sim.set_faults("storage:truncate=1".parse().unwrap());
    let once = builder(&sim)
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    let s = once
        .download(&id, dir.path())
        .path("figures/plot.png")
        .allow_partial(true)
        .run()
        .await
        .unwrap();
    assert_eq!(s.failures.len(), 1, "{s:?}");
    let parts = part_files(dir.path());
    assert_eq!(parts.len(), 1, "{parts:?}");
    let have = std::fs::metadata(&parts[0]).unwrap().len();
    assert!(have > 0 && have < want.len() as u64, "{have}");
    sim.set_faults(Faults::default());
    let before = sim.stats().storage_bytes;
    let s = c
        .download(&id, dir.path())
        .path("figures/plot.png")
        .run()
        .await
        .unwrap();
    assert_eq!((s.downloaded, s.bytes), (1, want.len() as u64 - have));
    assert_eq!(sim.stats().storage_bytes - before, want.len() as u64 - have);
    assert_eq!(
        std::fs::read(dir.path().join("figures/plot.png")).unwrap(),
        want
    );
    assert!(part_files(dir.path()).is_empty());
}

pub(crate) fn big_tree() -> Catalogue {
    let mut cat = Catalogue::builtin();
    cat.capsules[0].run.results = Tree {
        entries: vec![],
        generate: Some(Generated {
            depth: 3,
            folders: 3,
            files: 6,
            size: 20_000,
        }),
    };
    cat
}

#[tokio::test]
async fn an_incomplete_download_is_an_error_that_carries_its_summary() {
    let sim = sim(|_| {});
    let c = client(&sim);
    let id = finished_run(&c, HELLO).await;
    // Every body ends early and no retry is allowed: the file fails for good.
    sim.set_faults("storage:truncate=1".parse().unwrap());
    let once = builder(&sim)
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let job = || once.download(&id, dir.path()).path("figures/plot.png");
    let err = job().run().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Incomplete, "{err}");
    assert!(
        err.to_string()
            .contains("1 file(s) or folder(s) failed (0 complete); first, `figures/plot.png`: "),
        "{err}"
    );
    let s = err.summary().expect("the error carries the summary");
    assert_eq!(
        (s.downloaded, s.skipped, s.failures.len()),
        (0, 0, 1),
        "{s:?}"
    );
    assert_eq!(s.failures[0].path(), "figures/plot.png");
    assert!(
        s.failures[0]
            .error()
            .to_string()
            .contains("figures/plot.png"),
        "{:?}",
        s.failures[0]
    );
    // Opting into partial results: the same job is `Ok`, and the summary says what failed.
    let s = job().allow_partial(true).run().await.unwrap();
    assert!(!s.is_complete());
    assert_eq!(s.failures[0].path(), "figures/plot.png");
    let err = s.into_result().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Incomplete);
    assert_eq!(err.summary().map(|s| s.failures.len()), Some(1));
}

#[tokio::test]
async fn a_walk_is_built_then_streamed() {
    use futures_util::StreamExt as _;

    let sim = sim(|_| {});
    let c = client(&sim);
    let id = finished_run(&c, HELLO).await;
    // The whole tree: seven files and the folders above them.
    let mut all = Vec::new();
    let mut entries = c.walk_results(&id).concurrency(2).stream();
    while let Some(entry) = entries.next().await {
        all.push(entry.unwrap().path);
    }
    assert!(all.iter().any(|p| p == "figures/plot.png"), "{all:?}");
    // One folder of it.
    let under: Vec<String> = c
        .walk_results(&id)
        .path("figures")
        .stream()
        .map(|e| e.unwrap().path)
        .collect()
        .await;
    assert!(!under.is_empty() && under.len() < all.len(), "{under:?}");
    assert!(under.iter().all(|p| p.starts_with("figures/")), "{under:?}");
}

#[tokio::test]
async fn a_progress_closure_sees_the_bytes_of_each_file() {
    use codeocean::ProgressEvent;
    use std::collections::BTreeMap;
    use std::sync::{Arc, Mutex};

    let sim = sim(|_| {});
    let c = client(&sim);
    let id = finished_run(&c, HELLO).await;
    let dir = tempfile::tempdir().unwrap();
    let bytes = Arc::new(Mutex::new(BTreeMap::<String, u64>::new()));
    let done = Arc::new(Mutex::new(Vec::new()));
    let (b, d) = (bytes.clone(), done.clone());
    let summary = c
        .download(&id, dir.path())
        .on_progress(move |event: ProgressEvent<'_>| match event {
            ProgressEvent::Bytes { path, n } => {
                *b.lock().unwrap().entry(path.to_owned()).or_default() += n;
            }
            ProgressEvent::FileDone { path, skipped } => {
                d.lock().unwrap().push((path.to_owned(), skipped));
            }
            _ => {}
        })
        .run()
        .await
        .unwrap();
    let bytes = bytes.lock().unwrap();
    // Each file's bytes are reported under its own path, and add up to what is on disk.
    assert!(bytes.contains_key("figures/plot.png"), "{bytes:?}");
    for (path, n) in bytes.iter() {
        let len = std::fs::metadata(dir.path().join(path)).unwrap().len();
        assert_eq!(*n, len, "{path}");
    }
    assert_eq!(bytes.values().sum::<u64>(), summary.bytes);
    let done = done.lock().unwrap();
    assert_eq!(done.len(), 7, "{done:?}");
    assert!(done.iter().all(|(_, skipped)| !skipped));
}

#[tokio::test]
async fn a_tree_downloads_intact_through_ten_percent_faults() {
    let sim = sim(|c| c.catalogue = Some(big_tree()));
    let c = client(&sim);
    let id = finished_run(&c, HELLO).await;
    let faults = FaultSpec {
        p429: 0.02,
        p500: 0.01,
        p502: 0.01,
        p503: 0.01,
        reset: 0.02,
        truncate: 0.02,
        expire: 0.05,
        ..FaultSpec::default()
    };
    sim.set_faults(Faults::all(faults));
    let dir = tempfile::tempdir().unwrap();
    let s = c.download(&id, dir.path()).run().await.unwrap();
    assert!(s.is_complete(), "{:?}", s.failures);
    // (1 + 3 + 9 + 27) folders of 6 files.
    assert_eq!(s.downloaded, 240);
    assert!(s.retries > 0, "no fault was hit");
    assert_tree_matches(&sim, &id, dir.path(), 240);
    assert_eq!(sim.stats().storage_requests_with_authorization, 0);
}

#[tokio::test]
async fn a_legacy_server_is_served_through_the_fallback_after_one_probe() {
    let sim = sim(|c| c.api = ApiGeneration::Legacy);
    let c = client(&sim);
    let id = finished_run(&c, HELLO).await;
    let dir = tempfile::tempdir().unwrap();
    let s = c.download(&id, dir.path()).run().await.unwrap();
    assert!(s.is_complete(), "{:?}", s.failures);
    assert_tree_matches(&sim, &id, dir.path(), 7);
    let counts = sim.stats().counts;
    assert_eq!(counts.get("get_result_file_urls"), Some(&1), "{counts:?}");
    assert_eq!(
        counts.get("get_result_file_download_url"),
        Some(&7),
        "{counts:?}"
    );
    // The deprecated wrapper still works on its own.
    #[allow(deprecated)]
    let url = c.result_download_url(&id, "output.txt").await.unwrap();
    assert!(url.starts_with(sim.storage_origin()));
}

#[tokio::test]
async fn a_missing_file_on_a_modern_server_is_not_found_and_switches_nothing() {
    let sim = sim(|c| c.api = ApiGeneration::Modern);
    let c = client(&sim);
    let id = finished_run(&c, HELLO).await;
    let err = c.file_urls(&id, "no/such/file.txt").await.unwrap_err();
    assert!(err.is_not_found(), "{err}");
    assert!(err.to_string().contains("not found"), "{err}");
    let urls = c.file_urls(&id, "output.txt").await.unwrap();
    assert!(urls.view_url.is_some(), "served by results/urls");
    let urls = c.file_urls(&id, "summary.json").await.unwrap();
    assert!(urls.view_url.is_some(), "still modern");
    let counts = sim.stats().counts;
    assert_eq!(counts.get("get_result_file_urls"), Some(&3), "{counts:?}");
}

#[tokio::test]
async fn a_run_is_never_resent_after_a_503_or_a_reset() {
    for fault in ["run:503=1", "run:reset=1", "run:502=1"] {
        let sim = sim(|c| c.faults = fault.parse().unwrap());
        let c = client(&sim);
        let err = c.run(&RunRequest::capsule(HELLO)).await.unwrap_err();
        assert!(err.is_retryable(), "{fault}: {err}");
        assert_eq!(
            sim.stats().counts.get("run_computation"),
            Some(&1),
            "{fault}"
        );
    }
    // A 429 was not acted on: retried, and the run starts once the server lets it.
    let sim = sim(|c| {
        let mut f = Faults::default();
        f.set(
            RouteClass::Run,
            FaultSpec {
                p429: 0.5,
                ..FaultSpec::default()
            },
        );
        c.faults = f;
        c.seed = 3;
    });
    let c = client(&sim);
    c.run(&RunRequest::capsule(HELLO)).await.unwrap();
    let counts = sim.stats();
    assert!(counts.counts["run_computation"] >= 1);
    assert_eq!(counts.statuses.get(&200), Some(&1));
}

#[tokio::test]
async fn errors_name_the_operation_and_never_the_token() {
    let sim = sim(|c| c.faults = "results:html=1".parse().unwrap());
    let c = builder(&sim)
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    let id = finished_run(&c, HELLO).await;
    let err = c.list_results(&id, "").await.unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.starts_with(&format!("listing results of computation {id}: HTTP 502:")),
        "{msg}"
    );
    assert!(msg.contains("<title>502 Bad Gateway</title>"), "{msg}");
    assert_eq!(err.status(), Some(502));
    assert!(err.is_retryable());
    for text in [msg, format!("{err:?}"), format!("{c:?}")] {
        assert!(!text.contains(sim.token()), "token leaked: {text}");
    }

    let wrong = builder(&sim).token("wrong").build().unwrap();
    let err = wrong.get_capsule(HELLO).await.unwrap_err();
    assert_eq!(err.status(), Some(401));
    assert_eq!(err.id(), Some(HELLO));
    assert!(!err.is_retryable());
}

#[tokio::test]
async fn unknown_fields_and_enum_values_are_kept_not_fatal() {
    let sim = sim(|c| c.faults = "all:unknown=1".parse().unwrap());
    let c = client(&sim);
    let capsule = c.get_capsule(HELLO).await.unwrap();
    assert!(capsule.status.unwrap().is_unknown());
    let id = finished_run(&c, HELLO).await;
    let asset = c
        .create_data_asset(&NewDataAsset::from_computation(&id, "x", "x"))
        .await
        .unwrap();
    assert!(asset.type_.unwrap().is_unknown());
}

/// The built-in input data asset: 8 files in 5 folders (the root among them).
const INPUT: &str = "da7a0000-0000-4000-8000-000000000001";

/// Downloads the input data asset from a simulator of `api`: byte-identical with what it
/// serves, no credentials to storage, and a second run skips every file without a transfer.
/// Returns the simulator and the operation counts of the first download.
async fn download_input_asset(
    api: ApiGeneration,
) -> (
    Simulator,
    Client,
    std::collections::BTreeMap<&'static str, u64>,
) {
    let sim = sim(|c| c.api = api);
    let c = client(&sim);
    let dir = tempfile::tempdir().unwrap();
    let t = std::time::Instant::now();
    let summary = c
        .download_data_asset(INPUT, dir.path())
        .run()
        .await
        .unwrap();
    let elapsed = t.elapsed();
    assert_eq!((summary.downloaded, summary.skipped), (8, 0));
    let compared = assert_dir_matches(dir.path(), 8, |rel| sim.data_asset_content(INPUT, rel));
    assert_eq!(summary.bytes, compared);
    let stats = sim.stats();
    assert_eq!(stats.storage_bytes, compared, "each byte fetched once");
    assert_eq!(stats.storage_requests_with_authorization, 0);
    let requests = sim.requests();
    let storage: Vec<_> = requests.iter().filter(|r| r.origin == "storage").collect();
    assert_eq!(storage.len(), 8);
    assert!(storage.iter().all(|r| !r.authorization && r.status == 200));
    assert!(
        requests
            .iter()
            .filter(|r| r.origin == "api")
            .all(|r| r.authorization)
    );
    eprintln!("{api:?}: data asset of 8 files, {compared} bytes compared, {elapsed:?}");

    sim.clear_requests();
    let again = c
        .download_data_asset(INPUT, dir.path())
        .run()
        .await
        .unwrap();
    assert_eq!((again.downloaded, again.skipped, again.bytes), (0, 8, 0));
    let rerun = sim.stats();
    assert_eq!(rerun.storage_bytes, 0);
    assert!(
        sim.requests()
            .iter()
            .all(|r| r.origin == "api" && r.operation == "list_data_asset_files"),
        "a re-run only lists: {:?}",
        rerun.counts
    );
    (sim, c, stats.counts)
}

#[tokio::test]
async fn a_data_asset_downloads_intact_from_a_modern_server_and_rerunning_skips_it() {
    let (_, _, counts) = download_input_asset(ApiGeneration::Modern).await;
    assert_eq!(
        counts.get("get_data_asset_file_urls"),
        Some(&8),
        "{counts:?}"
    );
    assert_eq!(counts.get("get_data_asset_file_download_url"), None);
    // Its 5 folders (the root among them), each listed once.
    assert_eq!(counts.get("list_data_asset_files"), Some(&5), "{counts:?}");
}

#[tokio::test]
async fn data_asset_files_fall_back_to_the_deprecated_route_like_results() {
    let (sim, c, counts) = download_input_asset(ApiGeneration::Legacy).await;
    // Probed once: one files/urls, then only the deprecated route.
    assert_eq!(
        counts.get("get_data_asset_file_urls"),
        Some(&1),
        "{counts:?}"
    );
    assert_eq!(
        counts.get("get_data_asset_file_download_url"),
        Some(&8),
        "{counts:?}"
    );

    // What the client learned about data asset files says nothing about results: they still
    // ask results/urls first (and fall back on their own).
    let id = finished_run(&c, HELLO).await;
    sim.clear_requests();
    let urls = c.file_urls(&id, "output.txt").await.unwrap();
    assert!(urls.download_url.starts_with(sim.storage_origin()));
    let asked: Vec<_> = sim
        .requests()
        .iter()
        .map(|r| (r.operation, r.status))
        .collect();
    assert_eq!(
        asked,
        [
            ("get_result_file_urls", 404),
            ("get_result_file_download_url", 200)
        ]
    );
}

#[tokio::test]
async fn read_tree_file_reads_the_head_of_a_file_and_says_whether_it_goes_on() {
    let sim = sim(|_| {});
    let c = client(&sim);
    let id = finished_run(&c, HELLO).await;
    let whole = sim
        .result_content(&id, "output.txt")
        .unwrap()
        .read(0, u64::MAX);
    let tree = codeocean::Tree::Results(id.clone());
    let head = c.read_tree_file(&tree, "output.txt", 10).await.unwrap();
    assert_eq!(head.bytes, whole[..10]);
    assert!(head.truncated);
    assert_eq!(head.size, Some(whole.len() as u64));
    let all = c
        .read_tree_file(&tree, "output.txt", whole.len() as u64)
        .await
        .unwrap();
    assert_eq!(all.bytes, whole);
    assert!(!all.truncated, "a file of exactly the cap is whole");
    let missing = c.read_tree_file(&tree, "no/such", 10).await.unwrap_err();
    assert!(missing.is_not_found(), "{missing}");
    assert_eq!(sim.stats().storage_requests_with_authorization, 0);
}

#[tokio::test]
async fn search_pages_answer_one_page_with_its_has_more() {
    use codeocean::App;
    use codeocean::codeocean_raw::types::{CapsuleSearchRequest, DataAssetSearchRequest};
    let sim = sim(|_| {});
    let c = client(&sim);
    let first = c
        .search_apps_page(
            App::Capsule,
            &CapsuleSearchRequest {
                limit: Some(1),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(first.results.len(), 1);
    assert!(first.has_more);
    let rest = c
        .search_apps_page(
            App::Capsule,
            &CapsuleSearchRequest {
                offset: Some(1),
                limit: Some(100),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(!rest.has_more);
    assert!(!rest.results.iter().any(|r| r.id == first.results[0].id));
    let assets = c
        .search_data_assets_page(&DataAssetSearchRequest::default())
        .await
        .unwrap();
    assert!(!assets.results.is_empty());
    let counts = sim.stats().counts;
    assert_eq!(counts.get("search_capsules"), Some(&2), "{counts:?}");
    assert_eq!(counts.get("search_data_assets"), Some(&1), "{counts:?}");
}

#[tokio::test]
async fn read_tree_file_transfers_only_the_head_and_retries_a_storage_that_fails() {
    let sim = sim(|_| {});
    let c = client(&sim);
    let id = finished_run(&c, HELLO).await;
    let whole = sim
        .result_content(&id, "figures/plot.png")
        .unwrap()
        .read(0, u64::MAX);
    assert!(whole.len() > 1000);
    let tree = codeocean::Tree::Results(id.clone());
    let before = sim.stats().storage_bytes;
    let head = c
        .read_tree_file(&tree, "figures/plot.png", 16)
        .await
        .unwrap();
    assert_eq!(head.bytes, whole[..16]);
    assert!(head.truncated);
    // The 16 bytes and the one that says the file goes on.
    assert_eq!(sim.stats().storage_bytes - before, 17);

    sim.set_faults("storage:503=0.5".parse().unwrap());
    for _ in 0..10 {
        let head = c
            .read_tree_file(&tree, "figures/plot.png", 16)
            .await
            .unwrap();
        assert_eq!(head.bytes, whole[..16]);
    }
    let statuses = sim.stats().statuses;
    assert!(
        statuses.get(&503).copied().unwrap_or(0) > 0,
        "no fault was hit: {statuses:?}"
    );
    sim.set_faults(Faults::default());
}
