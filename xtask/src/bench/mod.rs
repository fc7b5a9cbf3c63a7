//! `cargo xtask bench [--quick] [--reps N] [--out FILE] [--only 1,3,...] [--build-baseline REV]`:
//! the codeocean tools against the official Python SDK, curl and a critical-path bound, on a local
//! simulator with injected latency; writes `BENCHMARKS.md`.
//!
//! Everything runs as child processes of this one: the simulator (`codeocean-sim`, release), the
//! `codeocean` command (release), the crate API (the `bench_download` example of the `codeocean`
//! crate, release), the Python SDK (`xtask/bench/python_tree.py` in a virtualenv under
//! `target/bench-venv`, created on first use with `pip install codeocean==0.17.0 requests`) and
//! curl. Each tool runs under GNU time for its peak RSS; its wall time is taken around spawn and
//! exit. Repetitions alternate between tools (A B C A B C ...), so that drift of a shared machine
//! hits all alike; tables show the median and the min–max. Request counts come from the
//! simulator's `/__sim/stats`, cleared before each run.
//!
//! Cases (the numbering):
//! 1. a result tree (2,000 files, 4 folder levels below the root, mixed sizes; 20 ms added to every
//!    route) against its critical-path bound;
//! 2. one 1 GiB file against `curl -o` of the same signed URL;
//! 3. CPU per API call: instructions (callgrind) of N `get computation` calls, crate against the
//!    Python SDK (`calls.rs`);
//! 4. 1,000 concurrent waiters on runs of staggered durations: polls, peak polls per second,
//!    detection lag (`waiters.rs`);
//! 5. clean builds (dev of `codeocean`, release of the CLI) of the current tree beside a baseline
//!    commit's (`--build-baseline`), and the CLI's size with and without the simulator (`build.rs`);
//! 6. how time, requests and peak RSS grow with the number of files and the depth (`scaling.rs`,
//!    with a chart, `BENCHMARKS-scaling.svg`).
//!
//! `--quick` (CI) shrinks every case (200 files, a 64 MiB file, fewer calls and waiters, 100 and
//! 1,000 files for the scaling), runs one repetition and skips the build case. `--only 3,4` runs
//! only the cases listed (case 1 brings case 2, whose bandwidth its bound uses). Timings are
//! reported, never asserted.

mod build;
mod calls;
mod chart;
mod fixture;
mod proc;
mod report;
mod scaling;
mod waiters;

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, Result, bail};
use serde_json::Value;

use fixture::TreeSpec;
use proc::{Sim, Tool};
use report::{Case, Row};

/// Latency added to every route class of the simulator in the tree case.
const LATENCY_MS: u64 = 20;
/// The Python packages the bench installs.
const PY_REQUIREMENTS: &[&str] = &["codeocean==0.17.0", "requests"];

/// Options of `cargo xtask bench`.
#[derive(Debug)]
struct Options {
    quick: bool,
    reps: usize,
    out: PathBuf,
    /// Where the scaling chart goes (beside `out`).
    chart: PathBuf,
    /// The cases to run (1..=6).
    only: Vec<u8>,
    command: String,
    /// The commit the build case compares with (`--build-baseline`).
    build_baseline: String,
}

impl Options {
    fn runs(&self, case: u8) -> bool {
        self.only.contains(&case)
    }
}

/// The options of `cargo xtask bench`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct Args {
    /// Small sizes, one repetition, no build case; the report goes to
    /// target/bench/BENCHMARKS-quick.md
    #[arg(long)]
    pub quick: bool,
    /// Repetitions of each timed run [default: 5, or 1 with --quick]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub reps: Option<u64>,
    /// Where to write the report (the scaling chart goes beside it) [default: BENCHMARKS.md]
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Run only these cases, 1 to 6, comma-separated (case 1 brings case 2, whose bandwidth its
    /// bound uses) [default: all]
    #[arg(
        long,
        value_name = "1,3,...",
        value_delimiter = ',',
        value_parser = clap::value_parser!(u8).range(1..=6)
    )]
    pub only: Vec<u8>,
    /// The commit whose clean builds the build case (5) times beside the current tree's
    #[arg(long, value_name = "REV", default_value = build::DEFAULT_BASELINE)]
    pub build_baseline: String,
}

/// Runs `cargo xtask bench`; `command` is the command line after `cargo xtask`, for the report.
pub fn run(root: &Path, args: &Args, command: &str) -> Result<()> {
    let quick = args.quick;
    let mut only: Vec<u8> = if args.only.is_empty() {
        (1..=6).collect()
    } else {
        args.only.clone()
    };
    if only.contains(&1) && !only.contains(&2) {
        only.push(2);
    }
    let reps = match args.reps {
        Some(n) => Some(usize::try_from(n).context("--reps is too large")?),
        None => None,
    };
    let out = args.out.clone();
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
    let out = out.unwrap_or_else(|| {
        if quick {
            target.join("bench/BENCHMARKS-quick.md")
        } else {
            root.join("BENCHMARKS.md")
        }
    });
    let opts = Options {
        quick,
        reps: reps.unwrap_or(if quick { 1 } else { 5 }),
        chart: out.with_file_name(format!(
            "{}-scaling.svg",
            out.file_stem()
                .map_or("BENCHMARKS".into(), |s| s.to_string_lossy())
        )),
        out,
        only,
        command: format!("cargo xtask {command}"),
        build_baseline: args.build_baseline.clone(),
    };
    let started = std::time::Instant::now();
    // The report's folder, made before any case runs: the scaling case draws its chart there
    // first, and a long run should not fail at the end over a missing folder.
    if let Some(dir) = opts.out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let bins = build(root, &target)?;
    let python = python_venv(&target)?;
    let work = target.join("bench/work");
    if work.exists() {
        std::fs::remove_dir_all(&work)?;
    }
    std::fs::create_dir_all(&work)?;
    let mut facts = report::machine_facts(root, &python);
    let rss = proc::have_gnu_time();
    if !rss {
        eprintln!("bench: /usr/bin/time (GNU time) not found: peak RSS will not be reported");
    }
    let ctx = Ctx {
        root: root.to_path_buf(),
        bins,
        python,
        work: work.clone(),
        rss,
        opts: &opts,
    };
    // Sections by case number; cases run in an order that keeps the slow ones last.
    let mut sections: Vec<(u8, String)> = Vec::new();
    if opts.runs(2) {
        let (big, bandwidth) = big_case(&ctx)?;
        if opts.runs(1) {
            let tree = tree_case(&ctx, bandwidth)?;
            sections.push((1, report::case_section(&tree)));
        }
        sections.push((2, report::case_section(&big)));
    }
    if opts.runs(3) {
        sections.push((3, calls::case(&ctx)?));
    }
    if opts.runs(4) {
        sections.push((4, waiters::case(&ctx)?));
    }
    if opts.runs(6) {
        sections.push((6, scaling::case(&ctx)?));
    }
    if opts.runs(5) {
        sections.push((5, build::case(&ctx)?));
    }
    sections.sort_by_key(|(n, _)| *n);
    let sections: Vec<String> = sections.into_iter().map(|(_, s)| s).collect();
    let elapsed = started.elapsed().as_secs_f64();
    facts.push(("load average at end (1/5/15 min)", report::load_average()));
    let text = report::markdown(&opts.command, &facts, &sections, elapsed, opts.quick);
    std::fs::write(&opts.out, &text).with_context(|| format!("writing {}", opts.out.display()))?;
    print!("{text}");
    eprintln!("bench: wrote {} ({elapsed:.0} s)", opts.out.display());
    let _ = std::fs::remove_dir_all(&work);
    Ok(())
}

/// The release binaries the bench runs.
struct Bins {
    cli: PathBuf,
    sim: PathBuf,
    crate_api: PathBuf,
    /// `bench_calls`: N `get computation` calls (case 3).
    calls: PathBuf,
    /// `bench_waiters`: concurrent runs and waiters (case 4).
    waiters: PathBuf,
}

struct Ctx<'a> {
    root: PathBuf,
    bins: Bins,
    python: PathBuf,
    work: PathBuf,
    rss: bool,
    opts: &'a Options,
}

/// Builds the three release binaries in one cargo invocation.
fn build(root: &Path, target: &Path) -> Result<Bins> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    eprintln!(
        "bench: building release binaries (codeocean-cli, codeocean-sim, bench_download, \
         bench_calls, bench_waiters)"
    );
    let status = Command::new(cargo)
        .current_dir(root)
        .args(["build", "--release", "--locked", "--quiet"])
        .args([
            "-p",
            "codeocean-cli",
            "-p",
            "codeocean-sim",
            "-p",
            "codeocean",
        ])
        .args(["--bins", "--example", "bench_download"])
        .args(["--example", "bench_calls", "--example", "bench_waiters"])
        .status()?;
    if !status.success() {
        bail!("cargo build --release failed");
    }
    let release = target.join("release");
    Ok(Bins {
        cli: release.join("codeocean"),
        sim: release.join("codeocean-sim"),
        crate_api: release.join("examples/bench_download"),
        calls: release.join("examples/bench_calls"),
        waiters: release.join("examples/bench_waiters"),
    })
}

/// A virtualenv with the Python SDK and requests under `target/bench-venv`; its python.
fn python_venv(target: &Path) -> Result<PathBuf> {
    let venv = target.join("bench-venv");
    let python = venv.join("bin/python");
    let marker = venv.join("bench-requirements.txt");
    let wanted = PY_REQUIREMENTS.join("\n");
    if std::fs::read_to_string(&marker).ok().as_deref() == Some(wanted.as_str()) {
        return Ok(python);
    }
    eprintln!(
        "bench: creating {} ({})",
        venv.display(),
        PY_REQUIREMENTS.join(" ")
    );
    if venv.exists() {
        std::fs::remove_dir_all(&venv)?;
    }
    proc::output(Command::new("python3").arg("-m").arg("venv").arg(&venv))?;
    proc::output(
        Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
            ])
            .args(PY_REQUIREMENTS),
    )?;
    std::fs::write(&marker, wanted)?;
    Ok(python)
}

/// A random-enough token for the simulator.
fn token() -> String {
    format!(
        "bench-{:x}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos())
    )
}

/// Starts a simulator on `catalogue` with `extra` flags, its clock 1,000 times faster than real
/// time (runs end at once).
fn start_sim(ctx: &Ctx<'_>, name: &str, catalogue: &Value, extra: &[String]) -> Result<Sim> {
    start_sim_at(ctx, name, catalogue, 1000.0, extra)
}

/// [`start_sim`] with a clock running `time_scale` simulated seconds per real second.
fn start_sim_at(
    ctx: &Ctx<'_>,
    name: &str,
    catalogue: &Value,
    time_scale: f64,
    extra: &[String],
) -> Result<Sim> {
    let fixture = ctx.work.join(format!("{name}.json"));
    std::fs::write(&fixture, serde_json::to_vec_pretty(catalogue)?)?;
    let mut args = vec![
        "--fixture".to_owned(),
        fixture.display().to_string(),
        "--time-scale".into(),
        time_scale.to_string(),
    ];
    args.extend_from_slice(extra);
    Sim::start(
        &ctx.bins.sim,
        &token(),
        &args,
        &ctx.work.join(format!("{name}.sim.log")),
    )
}

/// Runs `capsule` to completion with the CLI; the computation id.
fn finished_run(ctx: &Ctx<'_>, sim: &Sim, capsule: &str) -> Result<String> {
    let out = proc::output(
        Command::new(&ctx.bins.cli)
            .envs(sim.env())
            .args(["--json", "-q", "--poll-interval", "100ms", "run"])
            .args(["--capsule", capsule, "--wait"]),
    )?;
    let v: Value = serde_json::from_str(&out).context("the CLI's `run --json` output")?;
    v["id"]
        .as_str()
        .or_else(|| v["computation"]["id"].as_str())
        .map(str::to_owned)
        .with_context(|| format!("no computation id in {out}"))
}

/// One tool of a case: its name, how to run it into a destination, and how to read its result.
struct Entry {
    name: String,
    make: Box<dyn Fn(&Path) -> Tool>,
}

/// Runs every entry `reps` times, alternating, checking that each run left `expect` (files,
/// bytes) in its destination; a row per entry (`bytes`: for a throughput column).
fn alternate(
    ctx: &Ctx<'_>,
    sim: &Sim,
    case: &str,
    entries: &[Entry],
    reps: &[usize],
    expect: (u64, u64),
    bytes: Option<u64>,
) -> Result<Vec<Row>> {
    let mut results: Vec<Row> = entries
        .iter()
        .map(|e| Row {
            name: e.name.clone(),
            samples: Vec::new(),
            requests: Vec::new(),
            counts: Vec::new(),
            bytes,
        })
        .collect();
    let rounds = reps.iter().copied().max().unwrap_or(0);
    for round in 0..rounds {
        for (i, e) in entries.iter().enumerate() {
            if round >= reps[i] {
                continue;
            }
            let dest = ctx.work.join(format!("{case}-{i}-{round}"));
            std::fs::create_dir_all(&dest)?;
            let tool = (e.make)(&dest);
            sim.clear()?;
            let rss_file = ctx.work.join("rss.txt");
            let log = ctx.work.join(format!("{case}-{i}-{round}.stderr"));
            let sample = proc::measure(&tool, ctx.rss.then_some(rss_file.as_path()), &log)
                .with_context(|| format!("{case}: {}", e.name))?;
            let counts = sim.counts()?;
            let got = proc::tree_totals(&dest)?;
            if got != expect {
                bail!(
                    "{case}: {} left {} files, {} bytes in {}; expected {} files, {} bytes",
                    e.name,
                    got.0,
                    got.1,
                    dest.display(),
                    expect.0,
                    expect.1
                );
            }
            eprintln!(
                "bench: {case} round {}: {:<40} {:8.3} s",
                round + 1,
                e.name,
                sample.secs
            );
            results[i]
                .requests
                .push(counts.iter().map(|(_, n)| n).sum());
            results[i].counts = counts;
            results[i].samples.push(sample);
            // Large files go at once; trees stay until the case ends (deleting a tree of small
            // files just before the next tool writes one makes ext4 slow to create files).
            if expect.0 == 1 {
                std::fs::remove_dir_all(&dest)?;
            }
        }
    }
    Ok(results)
}

/// Case 2: one big file, the CLI against curl; also the loopback bandwidth (bytes/s, the fastest
/// tool's median, and that tool) that the tree's bound uses.
fn big_case(ctx: &Ctx<'_>) -> Result<(Case, (f64, String))> {
    let size: u64 = if ctx.opts.quick { 64 << 20 } else { 1 << 30 };
    let sim = start_sim(ctx, "big", &fixture::big(size), &[])?;
    let id = finished_run(ctx, &sim, fixture::BIG_CAPSULE)?;
    let url = proc::output(Command::new(&ctx.bins.cli).envs(sim.env()).args([
        "-q",
        "results",
        "url",
        &id,
        fixture::BIG_FILE,
    ]))?
    .trim()
    .to_owned();
    if !url.starts_with("http") {
        bail!("`codeocean results url` printed {url:?}");
    }
    let env = sim.env();
    let (cli, id2) = (ctx.bins.cli.clone(), id.clone());
    let entries = vec![
        Entry {
            name: "curl -o FILE (the signed URL)".into(),
            make: Box::new(move |dest| {
                Tool::new("curl")
                    .arg("-sS")
                    .arg("--fail")
                    .arg("-o")
                    .arg(dest.join(fixture::BIG_FILE))
                    .arg(url.clone())
            }),
        },
        Entry {
            name: "codeocean results download".into(),
            make: Box::new(move |dest| {
                cli_download(&cli, env.clone(), &id2, Some(fixture::BIG_FILE), dest)
            }),
        },
    ];
    let reps = vec![ctx.opts.reps; entries.len()];
    let rows = alternate(ctx, &sim, "big", &entries, &reps, (1, size), Some(size))?;
    // The bound's bandwidth: the fastest tool's median (curl is not always the fastest writer).
    let (fastest, best) = rows
        .iter()
        .map(|r| (r.name.clone(), report::median(&r.samples)))
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .context("no rows")?;
    let bandwidth = (size as f64 / best, fastest);
    let case = Case {
        title: format!(
            "2. One {} file: `codeocean results download` against `curl -o`",
            report::binary_bytes(size)
        ),
        about: format!(
            "One file of {} ({size} bytes) served by the simulator's storage origin on \
             loopback, no injected latency, written to disk. curl fetches the signed URL \
             (obtained once with `codeocean results url`); the CLI gets the URL itself \
             (`results/urls`) and then streams the body. The ratio is the tool's throughput \
             over curl's (median against median; 1.00 = as fast as curl).",
            report::human_bytes(size)
        ),
        baseline: report::Baseline::First,
        rows,
    };
    Ok((case, bandwidth))
}

/// Case 1: the result tree with latency on every route.
fn tree_case(ctx: &Ctx<'_>, (bandwidth, fastest): (f64, String)) -> Result<Case> {
    let spec = if ctx.opts.quick {
        TreeSpec {
            files: 200,
            branching: vec![2, 2, 2, 2],
            large: 2,
            large_size: 8_000_000,
            small_size: None,
        }
    } else {
        TreeSpec {
            files: 2000,
            branching: vec![4, 4, 4, 2],
            large: 4,
            large_size: 50_000_000,
            small_size: None,
        }
    };
    let (catalogue, facts) = fixture::tree(&spec);
    let fault = format!("all:latency={LATENCY_MS}");
    let sim = start_sim(ctx, "tree", &catalogue, &["--fault".into(), fault.clone()])?;
    let id = finished_run(ctx, &sim, fixture::TREE_CAPSULE)?;
    let rtt = measure_rtt(&sim, &id)?;
    let bound = rtt * (facts.levels as f64 + 2.0) + facts.bytes as f64 / bandwidth;

    let env = sim.env();
    let py_script = ctx.root.join("xtask/bench/python_tree.py");
    let mut entries = Vec::new();
    {
        let (cli, id, env) = (ctx.bins.cli.clone(), id.clone(), env.clone());
        entries.push(Entry {
            name: "codeocean results download (CLI, defaults)".into(),
            make: Box::new(move |dest| cli_download(&cli, env.clone(), &id, None, dest)),
        });
    }
    {
        let (bin, id, env) = (ctx.bins.crate_api.clone(), id.clone(), env.clone());
        entries.push(Entry {
            name: "codeocean crate: Client::download (defaults)".into(),
            make: Box::new(move |dest| Tool::new(&bin).envs(env.clone()).arg(&id).arg(dest)),
        });
    }
    for threads in [16, 1] {
        let (py, script, id, env) = (
            ctx.python.clone(),
            py_script.clone(),
            id.clone(),
            env.clone(),
        );
        entries.push(Entry {
            name: if threads == 1 {
                "Python SDK 0.17.0, sequential".into()
            } else {
                format!("Python SDK 0.17.0, ThreadPoolExecutor({threads})")
            },
            make: Box::new(move |dest| {
                Tool::new(&py)
                    .envs(env.clone())
                    .arg(&script)
                    .arg(&id)
                    .arg(dest)
                    .arg("--threads")
                    .arg(threads.to_string())
            }),
        });
    }
    // Every tool runs as often as the others, the slow sequential Python client included (over a
    // minute per run on the full tree: most of the full run's time).
    let reps = vec![ctx.opts.reps; entries.len()];
    let expect = (facts.files, facts.bytes);
    let rows = alternate(ctx, &sim, "tree", &entries, &reps, expect, None)?;
    Ok(Case {
        title: format!(
            "1. Result tree: {} files in {} folders, {LATENCY_MS} ms added to every request",
            facts.files, facts.folders
        ),
        about: format!(
            "{} files ({}) in {} folders, {} folder levels below the root ({}). The simulator \
             adds {LATENCY_MS} ms to every route class (`--fault {fault}`), the storage origin \
             included. Measured in this run: RTT {:.1} ms (median of 15 sequential keep-alive \
             listings with curl), loopback bandwidth {:.2} GB/s (the fastest median of case 2: \
             {fastest}, file to disk).\n\n\
             **Critical-path bound** = (folder levels + 2) × RTT + total bytes ÷ bandwidth = \
             ({} + 2) × {:.1} ms + {} ÷ {:.2} GB/s = **{:.3} s**. No client can beat it: the \
             deepest file needs one listing per folder level on its path (the root included: \
             {} levels), then its `results/urls`, then its GET, each waiting for the one \
             before; and every byte crosses the loopback at most at the fastest speed measured in case 2. \"× bound\" \
             is time ÷ bound; \"× CLI\" is time ÷ the CLI's time (median against median).\n\n\
             The Python client is the official SDK used the way its documentation leads a \
             user: `computations.list_computation_results` to walk the folders, \
             `computations.get_result_file_urls` per file, `requests` (streamed to disk) for \
             the bodies (`xtask/bench/python_tree.py`). The CLI and the crate run with their \
             default limits (both: 16 files and 32 API requests at once). Those limits, not the bound, set the pace here: a client that spends two \
             round trips per file (`results/urls`, then the GET) with N files at once needs at \
             least files × 2 × RTT ÷ N: {:.1} s with 8 at once, {:.1} s with 16.",
            facts.files,
            report::human_bytes(facts.bytes),
            facts.folders,
            facts.levels - 1,
            facts.mix,
            rtt * 1e3,
            bandwidth / 1e9,
            facts.levels,
            rtt * 1e3,
            report::human_bytes(facts.bytes),
            bandwidth / 1e9,
            bound,
            facts.levels,
            facts.files as f64 * 2.0 * rtt / 8.0,
            facts.files as f64 * 2.0 * rtt / 16.0,
        ),
        baseline: report::Baseline::Bound(bound),
        rows,
    })
}

/// The round trip of one listing through the simulator with its latency, in seconds: the median
/// of 15 sequential requests over one keep-alive connection (curl, several URLs in one process).
fn measure_rtt(sim: &Sim, id: &str) -> Result<f64> {
    let url = format!("{}/api/v1/computations/{id}/results", sim.origin);
    let auth = format!("{}:", sim.token);
    let mut args: Vec<&str> = vec![
        "-u",
        &auth,
        "-H",
        "Content-Type: application/json",
        "-d",
        "{\"path\":\"\"}",
        "-w",
        "%{time_total}\\n",
    ];
    for _ in 0..15 {
        args.extend(["-o", "/dev/null", &url]);
    }
    let out = proc::curl(&args)?;
    let mut times: Vec<f64> = out.lines().filter_map(|l| l.trim().parse().ok()).collect();
    if times.len() != 15 {
        bail!("curl timed {} of 15 listings: {out}", times.len());
    }
    times.sort_by(f64::total_cmp);
    Ok(times[times.len() / 2])
}

/// `codeocean -q results download ID [--path PATH] --to DEST`, with the simulator's environment: the
/// CLI as both cases run it.
fn cli_download(
    cli: &Path,
    env: Vec<(String, String)>,
    id: &str,
    path: Option<&str>,
    dest: &Path,
) -> Tool {
    let tool = Tool::new(cli)
        .envs(env)
        .arg("-q")
        .arg("results")
        .arg("download")
        .arg(id);
    match path {
        Some(p) => tool.arg("--path").arg(p),
        None => tool,
    }
    .arg("--to")
    .arg(dest)
}
