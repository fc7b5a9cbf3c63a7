//! Case 8, a rate-limited server: case 1's result tree (same spec, same 20 ms on every route) on
//! a simulator whose API, not its storage origin, is limited to [`RATE`] requests per second
//! (`--fault api:rate=100`: one token bucket of [`BURST`] for the token across every API class,
//! `429` with `Retry-After` when it is empty). The CLI with its defaults, the crate's
//! `bench_download` with its defaults and (not under `--quick`) the CLI at `--engine-baseline`
//! download it in turn, [`REPS`] times each (once under `--quick`), each run starting with a
//! full bucket.
//!
//! A tool cannot finish before the bucket has let its listings and `results/urls` calls through:
//! the floor is those requests (the ones answered, from what the simulator recorded) ÷ the rate.
//! Each row reports its time against that floor, its API requests, the `429` answers it drew
//! (the fault tally's `rate_limited`, read from `/__sim/faults/injected` around each run) and
//! the files it failed to leave; the crate's row also where its API limiter ended
//! (`Client::api_limiter()`, printed by `bench_download`). A tool that fails is reported, not an
//! error of the bench.

use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context as _, Result};
use serde_json::Value;

use super::limiter::{self, LimiterEnd};
use super::proc::{Sample, Sim};
use super::report::verdict;
use super::{
    Ctx, LATENCY_MS, baseline_about, engine_entries, finished_run, fixture, report, run_round,
    start_sim, tree_spec,
};

/// The API's rate limit, requests per second (per token).
const RATE: f64 = 100.0;
/// The bucket's size: the simulator's default for [`RATE`], `max(1, ceil(rate))`.
const BURST: f64 = 100.0;
/// Repetitions of each tool (1 under `--quick`).
const REPS: usize = 3;
/// The slowest a tool may be against the floor and still meet issue #15's target.
const FLOOR_TARGET: f64 = 1.1;
/// The largest share of API requests answered `429` that meets the target.
const SHARE_429_TARGET: f64 = 0.02;
/// A run still going after this many times the floor of the tree's listings and URL calls,
/// plus [`TIMEOUT_SLACK_SECS`], is killed: a failed run, its time the timeout.
const TIMEOUT_FLOORS: f64 = 4.0;
const TIMEOUT_SLACK_SECS: f64 = 30.0;

/// The timeout of each run on a tree of `files` in `folders`.
fn timeout(files: u64, folders: u64) -> Duration {
    Duration::from_secs_f64(TIMEOUT_FLOORS * (files + folders) as f64 / RATE + TIMEOUT_SLACK_SECS)
}

/// One run of one tool, as the case records it.
#[derive(Clone, Debug)]
struct Run {
    sample: Sample,
    /// Whether the tool exited unsuccessfully.
    failed: bool,
    /// API requests the simulator recorded (storage GETs left out), refused ones included.
    api_requests: u64,
    /// Of those, answered `429` by the rate limit (the tally's `rate_limited`).
    rate_limited: u64,
    /// Files of the tree the tool did not leave (whole).
    missing: u64,
    /// Where the crate's limiter ended (its `limiter:` line), for the crate.
    limiter: Option<LimiterEnd>,
}

impl Run {
    /// The API requests the bucket had to let through: those not refused.
    fn answered(&self) -> u64 {
        self.api_requests.saturating_sub(self.rate_limited)
    }

    /// The share of API requests answered `429`, 0 to 1.
    fn share_429(&self) -> f64 {
        if self.api_requests == 0 {
            0.0
        } else {
            self.rate_limited as f64 / self.api_requests as f64
        }
    }
}

/// A tool's runs.
#[derive(Clone, Debug)]
struct Measured {
    name: String,
    /// Whether issue #15's targets apply (today's CLI and the crate).
    judged: bool,
    runs: Vec<Run>,
}

impl Measured {
    fn samples(&self) -> Vec<Sample> {
        self.runs.iter().map(|r| r.sample.clone()).collect()
    }

    fn median(&self) -> f64 {
        report::median(&self.samples())
    }

    /// The floor in seconds: the median of the requests answered ÷ the rate.
    fn floor(&self) -> f64 {
        let mut n: Vec<u64> = self.runs.iter().map(Run::answered).collect();
        n.sort_unstable();
        n.get(n.len().saturating_sub(1) / 2)
            .map_or(f64::NAN, |n| *n as f64 / RATE)
    }

    fn worst_share(&self) -> f64 {
        self.runs.iter().map(Run::share_429).fold(0.0, f64::max)
    }

    /// Runs that failed or left files missing.
    fn incomplete(&self) -> usize {
        self.runs
            .iter()
            .filter(|r| r.failed || r.missing > 0)
            .count()
    }

    /// The median run's limiter line.
    fn limiter(&self) -> Option<&LimiterEnd> {
        let secs: Vec<f64> = self.runs.iter().map(|r| r.sample.secs).collect();
        self.runs
            .get(limiter::median_index(&secs)?)?
            .limiter
            .as_ref()
    }
}

/// The tree the case downloads, for its description.
struct Tree {
    files: u64,
    folders: u64,
    bytes: u64,
    /// Each run's timeout.
    timeout: Duration,
}

/// Runs the case; its Markdown section.
pub(crate) fn case(ctx: &Ctx<'_>) -> Result<String> {
    let (catalogue, facts) = fixture::tree(&tree_spec(ctx.opts.quick));
    let faults = [
        "--fault".to_owned(),
        format!("all:latency={LATENCY_MS}"),
        "--fault".to_owned(),
        format!("api:rate={RATE}"),
    ];
    let sim = start_sim(ctx, "rate", &catalogue, &faults)?;
    let id = finished_run(ctx, &sim, fixture::TREE_CAPSULE)?;
    let env = sim.env();
    let entries = engine_entries(ctx, &env, &id);
    let mut measured: Vec<Measured> = entries
        .iter()
        .enumerate()
        .map(|(i, e)| Measured {
            name: e.name.clone(),
            // The order of `engine_entries`: today's CLI and the crate, then the baseline.
            judged: i < 2,
            runs: Vec::new(),
        })
        .collect();
    let reps = if ctx.opts.quick { 1 } else { REPS };
    let limit = timeout(facts.files, facts.folders);
    for round in 0..reps {
        for (i, e) in entries.iter().enumerate() {
            // A full bucket for every run: it refills in BURST ÷ RATE seconds.
            std::thread::sleep(Duration::from_secs_f64(BURST / RATE + 0.5));
            let before = rate_limited(&sim)?;
            let r = run_round(ctx, &sim, "rate", i, round, e, Some(limit))?;
            let refused = rate_limited(&sim)?.saturating_sub(before);
            let storage: u64 = r
                .counts
                .iter()
                .filter(|(op, _)| op == "storage_get")
                .map(|(_, n)| n)
                .sum();
            let all: u64 = r.counts.iter().map(|(_, n)| n).sum();
            let missing = missing_files(&r.dest, &catalogue)?;
            if let Some(why) = &r.failure {
                eprintln!("bench: rate: {} failed: {why}", e.name);
            }
            measured[i].runs.push(Run {
                sample: r.sample,
                failed: r.failure.is_some(),
                api_requests: all - storage,
                rate_limited: refused,
                missing,
                limiter: LimiterEnd::read(&r.log),
            });
        }
    }
    let tree = Tree {
        files: facts.files,
        folders: facts.folders,
        bytes: facts.bytes,
        timeout: limit,
    };
    Ok(section(&tree, &measured, &baseline_about(ctx)))
}

/// The rate limit's refusals so far (the fault tally's `rate_limited`, summed over classes).
fn rate_limited(sim: &Sim) -> Result<u64> {
    let v = sim.admin("/faults/injected")?;
    v["total"]["rate_limited"]
        .as_u64()
        .with_context(|| format!("/__sim/faults/injected has no total.rate_limited: {v:.200}"))
}

/// The files of the catalogue's tree that `dest` does not hold whole (absent or of another size).
fn missing_files(dest: &Path, catalogue: &Value) -> Result<u64> {
    let files = fixture::tree_files(catalogue)?;
    Ok(files
        .iter()
        .filter(|(path, size)| {
            std::fs::metadata(dest.join(path)).map_or(true, |m| m.len() != *size)
        })
        .count() as u64)
}

/// `a` or `a–b` of figures over the repetitions, formatted by `f`.
fn span<T: PartialOrd + Copy>(
    values: impl IntoIterator<Item = T>,
    f: impl Fn(T) -> String,
) -> String {
    let v: Vec<T> = values.into_iter().collect();
    let min = v.iter().copied().reduce(|a, b| if b < a { b } else { a });
    let max = v.iter().copied().reduce(|a, b| if b > a { b } else { a });
    match (min, max) {
        (Some(a), Some(b)) if f(a) == f(b) => f(a),
        (Some(a), Some(b)) => format!("{}–{}", f(a), f(b)),
        _ => "-".into(),
    }
}

/// A percentage with one decimal.
fn percent(share: f64) -> String {
    format!("{:.1} %", share * 100.0)
}

/// What a tool left undone over its runs.
fn undone(m: &Measured) -> String {
    let failed = m.runs.iter().filter(|r| r.failed).count();
    let missing = span(m.runs.iter().map(|r| r.missing), |n| n.to_string());
    if failed == 0 {
        missing
    } else {
        format!("{missing} ({failed} of {} runs failed)", m.runs.len())
    }
}

/// The targets line: each judged tool within [`FLOOR_TARGET`] of its floor, at most
/// [`SHARE_429_TARGET`] of its API requests answered `429` in every run, and no file failed.
fn targets(rows: &[Measured]) -> String {
    let judged: Vec<&Measured> = rows.iter().filter(|m| m.judged).collect();
    let each = |f: &dyn Fn(&Measured) -> String| {
        judged
            .iter()
            .map(|m| format!("{} {}", short(&m.name), f(m)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let floor = each(&|m| {
        let x = m.median() / m.floor();
        format!("{} ({x:.2}×)", verdict(x <= FLOOR_TARGET))
    });
    let share = each(&|m| {
        let s = m.worst_share();
        format!(
            "{} (at most {})",
            verdict(s <= SHARE_429_TARGET),
            percent(s)
        )
    });
    let files = each(&|m| {
        let n = m.incomplete();
        if n == 0 {
            verdict(true).to_owned()
        } else {
            format!(
                "{} ({n} of {} runs incomplete)",
                verdict(false),
                m.runs.len()
            )
        }
    });
    format!(
        "Targets (issue #15), medians: within {FLOOR_TARGET}× of the floor: {floor}; at most \
         {:.0} % of API requests answered `429` (every run): {share}; no file failed: {files}.",
        SHARE_429_TARGET * 100.0
    )
}

/// A row's short name for the targets line.
fn short(name: &str) -> &'static str {
    if name.starts_with("codeocean crate") {
        "crate"
    } else {
        "CLI"
    }
}

fn section(tree: &Tree, rows: &[Measured], baseline: &str) -> String {
    let reps = rows.iter().map(|m| m.runs.len()).max().unwrap_or(0);
    let mut out = format!(
        "## 8. A rate-limited server: the result tree with the API limited to {RATE:.0} requests \
         per second\n\n"
    );
    let _ = writeln!(
        out,
        "Case 1's tree, {} files ({}) in {} folders, {LATENCY_MS} ms added to every route \
         (`--fault all:latency={LATENCY_MS}`), on a simulator that limits its API as a strict \
         Code Ocean would: `--fault api:rate={RATE:.0}`, one token bucket for the token across \
         every API class (listings, `results/urls`, ...), {BURST:.0} requests deep, refilled at \
         {RATE:.0} per second on the real clock; an empty bucket answers `429` with \
         `Retry-After` (whole seconds, at least 1). The storage origin (the signed URLs) is not \
         limited. The tools run in turn, each starting with a full bucket.\n\n\
         **Floor** = API requests answered (listings + URL calls, from the requests the \
         simulator recorded, refusals left out) ÷ {RATE:.0}/s: no client gets them through the \
         bucket faster (the full bucket at the start lets one finish up to {:.0} s under it). \
         \"× floor\" is time ÷ floor (medians). \"answered 429\" is the fault tally's \
         `rate_limited` (`/__sim/faults/injected`, read around each run), its share of the \
         run's API requests beside it; \"files missing\" counts the files of the tree a run did \
         not leave whole. A run still going after {:.0} s ({TIMEOUT_FLOORS:.0} × (files + \
         folders) ÷ {RATE:.0}/s + {TIMEOUT_SLACK_SECS:.0} s) is killed and counted as failed, \
         at that time.{baseline}\n",
        tree.files,
        report::human_bytes(tree.bytes),
        tree.folders,
        BURST / RATE,
        tree.timeout.as_secs_f64(),
    );
    let table: Vec<Vec<String>> = rows
        .iter()
        .map(|m| {
            let med = m.median();
            let floor = m.floor();
            vec![
                m.name.clone(),
                format!("{med:.3} s"),
                report::spread(&m.samples()),
                format!("{floor:.2} s"),
                format!("{:.2}", med / floor),
                span(m.runs.iter().map(|r| r.api_requests), |n| n.to_string()),
                span(m.runs.iter().map(|r| r.rate_limited), |n| n.to_string()),
                span(m.runs.iter().map(Run::share_429), percent),
                undone(m),
                report::peak_rss_kib(&m.samples()).map_or("-".into(), report::kib_mb),
            ]
        })
        .collect();
    report::table(
        &mut out,
        &[
            "tool",
            &format!("time (median of {reps})"),
            "min–max (s)",
            "floor",
            "× floor",
            "API requests",
            "answered 429",
            "429 share",
            "files missing",
            "peak RSS",
        ],
        &table,
    );
    let _ = writeln!(out, "\n{}\n", targets(rows));
    for m in rows.iter().filter(|m| short(&m.name) == "crate") {
        let _ = match m.limiter() {
            Some(end) => writeln!(
                out,
                "Limiter at end ({}, `Client::api_limiter()` in the median run): {end}.\n",
                m.name
            ),
            None => writeln!(
                out,
                "Limiter at end ({}): not reported (`bench_download` printed no `limiter:` \
                 line).\n",
                m.name
            ),
        };
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(secs: f64, api: u64, refused: u64) -> Run {
        Run {
            sample: Sample {
                secs,
                rss_kib: Some(20_000),
            },
            failed: false,
            api_requests: api,
            rate_limited: refused,
            missing: 0,
            limiter: None,
        }
    }

    fn measured(name: &str, judged: bool, runs: Vec<Run>) -> Measured {
        Measured {
            name: name.into(),
            judged,
            runs,
        }
    }

    #[test]
    fn the_floor_counts_the_answered_requests_only() {
        let m = measured(
            "codeocean results download (CLI, defaults)",
            true,
            vec![run(23.0, 2213, 0), run(22.5, 2223, 10), run(30.0, 2300, 87)],
        );
        assert!((m.floor() - 22.13).abs() < 1e-9);
        assert_eq!(m.median(), 23.0);
        assert!((m.worst_share() - 87.0 / 2300.0).abs() < 1e-12);
        assert_eq!(m.incomplete(), 0);
    }

    #[test]
    fn targets_name_each_judged_tool_and_what_it_missed() {
        let mut failed = run(40.0, 2500, 300);
        failed.failed = true;
        failed.missing = 12;
        let rows = vec![
            measured(
                "codeocean results download (CLI, defaults)",
                true,
                vec![run(23.0, 2213, 10); 3],
            ),
            measured(
                "codeocean crate: Client::download (defaults)",
                true,
                vec![run(26.0, 2213, 100), run(24.0, 2213, 0), failed.clone()],
            ),
            measured("baseline", false, vec![failed]),
        ];
        let t = targets(&rows);
        assert_eq!(
            t,
            "Targets (issue #15), medians: within 1.1× of the floor: CLI **met** (1.04×), crate \
             **not met** (1.18×); at most 2 % of API requests answered `429` (every run): CLI \
             **met** (at most 0.5 %), crate **not met** (at most 12.0 %); no file failed: CLI \
             **met**, crate **not met** (1 of 3 runs incomplete)."
        );
        let text = section(
            &Tree {
                files: 2000,
                folders: 213,
                bytes: 313_200_000,
                timeout: timeout(2000, 213),
            },
            &rows,
            "",
        );
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "## 8. A rate-limited server: the result tree with the API limited to 100 requests \
             per second"
        );
        assert_eq!(
            lines[6],
            "| tool | time (median of 3) | min–max (s) | floor | × floor | API requests | \
             answered 429 | 429 share | files missing | peak RSS |"
        );
        assert_eq!(
            lines[8],
            "| codeocean results download (CLI, defaults) | 23.000 s | 23.000–23.000 | 22.03 s | \
             1.04 | 2213 | 10 | 0.5 % | 0 | 20.5 MB |"
        );
        assert_eq!(
            lines[9],
            "| codeocean crate: Client::download (defaults) | 26.000 s | 24.000–40.000 | 22.00 s \
             | 1.18 | 2213–2500 | 0–300 | 0.0 %–12.0 % | 0–12 (1 of 3 runs failed) | 20.5 MB |"
        );
        assert_eq!(
            lines[10],
            "| baseline | 40.000 s | - | 22.00 s | 1.82 | 2500 | 300 | 12.0 % | 12 (1 of 1 runs \
             failed) | 20.5 MB |"
        );
        assert!(
            text.contains(
                "Limiter at end (codeocean crate: Client::download (defaults)): not reported"
            ),
            "{text}"
        );
        assert!(
            text.contains("A run still going after 119 s (4 × (files + folders) ÷ 100/s + 30 s)"),
            "{text}"
        );
    }

    #[test]
    fn the_limiter_is_the_median_runs() {
        let mut runs = vec![run(3.0, 10, 0), run(1.0, 10, 0), run(2.0, 10, 0)];
        for (r, n) in runs.iter_mut().zip([3, 1, 2]) {
            r.limiter = LimiterEnd::parse(&format!(
                r#"limiter: {{"concurrency":{n},"adaptive":true,"rate":null,"throttled":0,"changes":0,"last_change":null}}"#
            ));
        }
        let m = measured("codeocean crate: Client::download (defaults)", true, runs);
        assert_eq!(m.limiter().map(|l| l.concurrency), Some(2));
        let text = section(
            &Tree {
                files: 1,
                folders: 1,
                bytes: 1,
                timeout: timeout(1, 1),
            },
            &[m],
            "",
        );
        assert!(
            text.contains(
                "Limiter at end (codeocean crate: Client::download (defaults), \
                 `Client::api_limiter()` in the median run): 2 in flight, no rate, 0 throttles, \
                 no change."
            ),
            "{text}"
        );
    }
}
