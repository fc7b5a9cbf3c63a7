//! Download benchmarks against the simulator, printed as tables of ratios to baselines measured
//! in the same run (these machines are shared and noisy: absolute figures drift, ratios hold).
//!
//! ```text
//! cargo bench -p codeocean --bench transfer            # everything (about two minutes)
//! cargo bench -p codeocean --bench transfer -- tree    # only the result-tree table
//! cargo bench -p codeocean --bench transfer -- big     # only the 1 GiB table
//! cargo bench -p codeocean --bench transfer -- tree --no-serial   # without the slow baseline
//! ```
//!
//! **Tree.** The built-in capsule `…0003` produces 1,936 files of 4 KiB in 121 folders, five
//! folder levels deep (the root and four below it). Every route of the simulator, the storage
//! origin included, gets 20 ms of added latency. Nothing can download such a tree faster than its
//! critical path: the chain of requests each of which needs the answer of the one before —
//! one listing per folder level down to the deepest file, then that file's `results/urls`, then
//! its GET on the storage origin — plus the bytes at loopback bandwidth. The bound is
//! `(levels + 2) × RTT + bytes ÷ bandwidth`, with RTT measured here (median of sequential calls
//! through the same client) and the bandwidth measured with curl in the same run. The baseline the
//! other way is the same client doing one request at a time.
//!
//! **1 GiB.** One file of 1 GiB from the storage origin of a simulator (no latency), to a file in
//! the same folder: curl (`curl -o`) against `Client::download` with default settings, run in a
//! child process so that its peak RSS (`VmHWM`) is the client's alone. Three alternating rounds;
//! the best of each is compared.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use codeocean::{Client, RunRequest};
use codeocean_sim::catalogue::Catalogue;
use codeocean_sim::{Config, FaultSpec, Faults, Simulator};

const TREE_CAPSULE: &str = "c0ffee00-0000-4000-8000-000000000003";
const BIG_CAPSULE: &str = "c0ffee00-0000-4000-8000-0000000001bb";
const BIG_PATH: &str = "big.bin";
const LATENCY_MS: u64 = 20;
const ROUNDS: usize = 3;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("child-download") {
        return child_download(&args[1..]);
    }
    // `cargo bench` passes `--bench`; anything else that is not a flag selects tables.
    let wanted: Vec<&str> = args
        .iter()
        .map(String::as_str)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let want = |name: &str| wanted.is_empty() || wanted.contains(&name);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let work = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let mut bandwidth = None;
    if want("big") {
        bandwidth = Some(big(&runtime, work.path()));
    }
    if want("tree") {
        let bandwidth = bandwidth.unwrap_or_else(|| curl_bandwidth(&runtime, work.path()));
        tree(
            &runtime,
            work.path(),
            bandwidth,
            !args.iter().any(|a| a == "--no-serial"),
        );
    }
}

/// A client for the benchmark: `tune` sets its limits.
fn client(
    sim: &Simulator,
    tune: impl FnOnce(codeocean::ClientBuilder) -> codeocean::ClientBuilder,
) -> Client {
    tune(Client::builder().domain(sim.origin()).token(sim.token()))
        .build()
        .unwrap()
}

async fn finished_run(c: &Client, capsule: &str) -> String {
    let run = c.run(&RunRequest::capsule(capsule)).await.unwrap();
    c.wait_for_computation(&run.id)
        .await
        .unwrap()
        .into_success()
        .unwrap();
    run.id
}

fn seconds(d: Duration) -> String {
    format!("{:.3} s", d.as_secs_f64())
}

fn gbps(bytes: u64, d: Duration) -> f64 {
    bytes as f64 / d.as_secs_f64() / 1e9
}

/// Prints one table: a header, then rows of cells, aligned.
fn table(title: &str, header: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.len());
        }
    }
    println!("\n{title}\n");
    let line = |cells: Vec<&str>| {
        let out: Vec<String> = cells
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(i, (c, w))| {
                if i == 0 {
                    format!("{c:<w$}")
                } else {
                    format!("{c:>w$}")
                }
            })
            .collect();
        println!("| {} |", out.join(" | "));
    };
    line(header.to_vec());
    let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
    println!("|-{}-|", rule.join("-|-"));
    for row in rows {
        line(row.iter().map(String::as_str).collect());
    }
}

// ---------------------------------------------------------------------------------------------
// 1 GiB

/// A simulator serving the one-GiB fixture, and a finished run of it.
fn big_sim(runtime: &tokio::runtime::Runtime) -> (Simulator, String) {
    let fixture =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../codeocean-sim/fixtures/one-gib.yaml");
    let sim = Simulator::start(Config {
        catalogue: Some(Catalogue::from_file(&fixture).unwrap()),
        ..Config::new("bench-token")
    })
    .unwrap();
    let c = client(&sim, |b| b);
    let id = runtime.block_on(finished_run(&c, BIG_CAPSULE));
    (sim, id)
}

/// One curl download of the big file into `dest`; its duration.
fn curl_once(
    runtime: &tokio::runtime::Runtime,
    sim: &Simulator,
    id: &str,
    dest: &Path,
) -> Duration {
    let c = client(sim, |b| b);
    let url = runtime
        .block_on(c.file_urls(id, BIG_PATH))
        .unwrap()
        .download_url;
    let out = Command::new("curl")
        .args(["-sS", "--fail", "-o"])
        .arg(dest)
        .args(["-w", "%{size_download} %{time_total}", &url])
        .output()
        .expect("running curl (is it installed?)");
    assert!(
        out.status.success(),
        "curl: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let (size, secs) = text.trim().split_once(' ').unwrap();
    assert_eq!(
        size.parse::<u64>().unwrap(),
        1 << 30,
        "curl got {size} bytes"
    );
    std::fs::remove_file(dest).unwrap();
    Duration::from_secs_f64(secs.parse().unwrap())
}

/// The loopback bandwidth curl gets from the storage origin (best of the rounds), in bytes/s.
fn curl_bandwidth(runtime: &tokio::runtime::Runtime, work: &Path) -> f64 {
    let (sim, id) = big_sim(runtime);
    let best = (0..ROUNDS)
        .map(|_| curl_once(runtime, &sim, &id, &work.join("curl.bin")))
        .min()
        .unwrap();
    gbps(1 << 30, best) * 1e9
}

fn big(runtime: &tokio::runtime::Runtime, work: &Path) -> f64 {
    let (sim, id) = big_sim(runtime);
    let exe = std::env::current_exe().unwrap();
    let mut curl = Vec::new();
    let mut ours = Vec::new();
    let mut rss_kib = 0u64;
    for _ in 0..ROUNDS {
        curl.push(curl_once(runtime, &sim, &id, &work.join("curl.bin")));
        let dest = work.join("ours");
        let out = Command::new(&exe)
            .args(["child-download", sim.origin(), sim.token(), &id])
            .arg(&dest)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "child: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8(out.stdout).unwrap();
        let mut fields = text.split_whitespace().map(|f| f.parse::<f64>().unwrap());
        let (secs, hwm) = (fields.next().unwrap(), fields.next().unwrap());
        ours.push(Duration::from_secs_f64(secs));
        rss_kib = rss_kib.max(hwm as u64);
        std::fs::remove_dir_all(&dest).unwrap();
    }
    let (curl_best, ours_best) = (*curl.iter().min().unwrap(), *ours.iter().min().unwrap());
    let row = |name: &str, runs: &[Duration], best: Duration, rss: String| {
        vec![
            name.to_owned(),
            runs.iter()
                .map(|d| format!("{:.2}", gbps(1 << 30, *d)))
                .collect::<Vec<_>>()
                .join(" / "),
            format!("{:.2} GB/s", gbps(1 << 30, best)),
            format!("{:.2}", curl_best.as_secs_f64() / best.as_secs_f64()),
            rss,
        ]
    };
    table(
        "1 GiB file from the storage origin to disk (loopback, no injected latency)",
        &[
            "client",
            "rounds (GB/s)",
            "best",
            "× curl's throughput",
            "peak RSS",
        ],
        &[
            row("curl -o FILE", &curl, curl_best, "-".into()),
            row(
                "codeocean Client::download (defaults)",
                &ours,
                ours_best,
                format!("{:.1} MB", rss_kib as f64 * 1024.0 / 1e6),
            ),
        ],
    );
    gbps(1 << 30, curl_best) * 1e9
}

/// The child side of the 1 GiB measurement: downloads the file with default settings and prints
/// `SECONDS VMHWM_KIB`.
fn child_download(args: &[String]) {
    let [origin, token, id, dest] = args else {
        panic!("child-download ORIGIN TOKEN COMPUTATION DEST");
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let c = Client::builder()
        .domain(origin)
        .token(token)
        .build()
        .unwrap();
    let started = Instant::now();
    let summary = runtime
        .block_on(c.download(id, PathBuf::from(dest)).path(BIG_PATH).run())
        .unwrap();
    let elapsed = started.elapsed();
    assert_eq!((summary.downloaded, summary.bytes), (1, 1 << 30));
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let hwm = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().strip_suffix("kB"))
        .map_or(0, |v| v.trim().parse::<u64>().unwrap());
    println!("{} {hwm}", elapsed.as_secs_f64());
}

// ---------------------------------------------------------------------------------------------
// Tree

/// CPU time of this process so far (client and simulator together), from `/proc/self/stat`.
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which is in parentheses and may hold spaces).
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let ticks: u64 = rest
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|f| f.parse::<u64>().ok())
        .sum();
    // utime + stime, in clock ticks of 1/100 s on Linux.
    Duration::from_millis(ticks * 10)
}

fn tree(runtime: &tokio::runtime::Runtime, work: &Path, bandwidth: f64, serial: bool) {
    let sim = Simulator::start(Config {
        time_scale: 1000.0,
        worker_threads: 2,
        ..Config::new("bench-token")
    })
    .unwrap();
    let setup = client(&sim, |b| b);
    let id = runtime.block_on(finished_run(&setup, TREE_CAPSULE));
    // The tree's shape, from a walk before any latency is added.
    let (files, bytes, levels) = runtime.block_on(async {
        use futures_util::StreamExt;
        let items: Vec<_> = setup
            .walk_results(&id)
            .concurrency(16)
            .stream()
            .collect()
            .await;
        let mut files = 0u64;
        let mut bytes = 0u64;
        let mut levels = 0usize;
        for item in items {
            let item = item.unwrap();
            if item.type_ == codeocean::ResultItemType::File {
                files += 1;
                bytes += item.size.unwrap_or(0) as u64;
                // A file in folder a/b/c needs the listings of "", a, a/b and a/b/c.
                levels = levels.max(item.path.matches('/').count() + 1);
            }
        }
        (files, bytes, levels)
    });
    sim.set_faults(Faults::all(FaultSpec {
        latency_ms: LATENCY_MS,
        ..FaultSpec::default()
    }));
    // Round trip through the same client, latency included: median of sequential calls.
    let rtt = runtime.block_on(async {
        let mut samples = Vec::new();
        for _ in 0..15 {
            let t = Instant::now();
            setup.list_results(&id, "").await.unwrap();
            samples.push(t.elapsed());
        }
        samples.sort();
        samples[samples.len() / 2]
    });
    let bound = rtt * (levels as u32 + 2) + Duration::from_secs_f64(bytes as f64 / bandwidth);

    // `limits`: folders listed and files transferred at once; `None` keeps the defaults.
    let runs = std::cell::Cell::new(0);
    let run = |name: &str, c: Client, limits: Option<(usize, usize)>| -> Vec<String> {
        // A fresh folder per run, all removed at the end: deleting a tree of small files just
        // before writing the next one makes ext4 slow to create files (`recently_deleted`).
        runs.set(runs.get() + 1);
        let dest = work.join(format!("tree-{}", runs.get()));
        let cpu = cpu_time();
        let t = Instant::now();
        let mut job = c.download(&id, &dest);
        if let Some((list, files)) = limits {
            job = job.list_concurrency(list).concurrency(files);
        }
        let summary = runtime.block_on(job.run()).unwrap();
        let elapsed = t.elapsed();
        let cpu = cpu_time() - cpu;
        assert_eq!((summary.downloaded, summary.bytes), (files, bytes));
        vec![
            name.to_owned(),
            limits.map_or("defaults".into(), |(l, f)| format!("{l} / {f}")),
            seconds(elapsed),
            format!("{:.2}", elapsed.as_secs_f64() / bound.as_secs_f64()),
            String::new(),
            format!("{:.2}", cpu.as_secs_f64() / elapsed.as_secs_f64()),
        ]
    };
    let mut rows = vec![vec![
        format!("critical path: ({levels} + 2) × RTT + bytes ÷ bandwidth"),
        "∞".into(),
        seconds(bound),
        "1.00".into(),
        String::new(),
        "-".into(),
    ]];
    let wide =
        |n: usize| move |b: codeocean::ClientBuilder| b.api_concurrency(n).download_concurrency(n);
    for (name, n, list) in [
        ("codeocean, 1024 requests at once", 1024, 128),
        ("codeocean, 256 requests at once", 256, 128),
        ("codeocean, 64 requests at once", 64, 64),
    ] {
        rows.push(run(name, client(&sim, wide(n)), Some((list, n))));
    }
    rows.push(run("codeocean, default limits", client(&sim, |b| b), None));
    if serial {
        let serial = run("one request at a time", client(&sim, wide(1)), Some((1, 1)));
        let serial_time = serial[2].trim_end_matches(" s").parse::<f64>().unwrap();
        rows.push(serial);
        for row in &mut rows {
            let t = row[2].trim_end_matches(" s").parse::<f64>().unwrap();
            row[4] = format!("{:.1}", serial_time / t);
        }
    }
    table(
        &format!(
            "Result tree: {files} files ({:.1} MB) in {levels} folder levels, {LATENCY_MS} ms added \
             to every request; RTT {:.1} ms, bandwidth {:.2} GB/s (curl)",
            bytes as f64 / 1e6,
            rtt.as_secs_f64() * 1e3,
            bandwidth / 1e9
        ),
        &[
            "client",
            "folders / files at once",
            "time",
            "× bound",
            "× faster than serial",
            "cores busy",
        ],
        &rows,
    );
}
