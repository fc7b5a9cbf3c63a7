//! Case 6, how cost grows: case 1's download of a whole result tree, at several numbers of
//! (small) files and at two depths, for the crate (`bench_download`: with its defaults, and
//! with its API limit fixed at 16, which tells growth with the tree from growth with the
//! adaptive limit) and the Python SDK with 16 threads: time, requests, peak RSS and where the
//! crate's limiter ended per size, in a table and a chart ([`chart`](super::chart),
//! `BENCHMARKS-scaling.svg`).

use std::fmt::Write as _;

use anyhow::Result;

use super::chart::{self, Panel, Series};
use super::fixture::{self, TreeSpec};
use super::limiter::LimiterEnd;
use super::proc::Tool;
use super::report::{self, Row};
use super::{Ctx, Entry, alternate, finished_run, start_sim};

/// Latency added to every route (ms): enough that round trips matter, small enough that 50,000
/// files take seconds, not minutes.
const LATENCY_MS: u64 = 2;
/// Bytes per file.
const FILE_SIZE: u64 = 1024;
/// Threads of the Python client.
const PY_THREADS: usize = 16;
/// The fixed API limit of the crate's second row (the adaptive limiter starts there).
const FIXED_LIMIT: usize = 16;
/// The rows of the crate with its defaults and with the fixed limit: the first two.
const CRATE_DEFAULT: usize = 0;
const CRATE_FIXED: usize = 1;

/// The two shapes: folder levels below the root and sub-folders per folder.
const SHAPES: [(usize, usize); 2] = [(2, 16), (8, 2)];

/// One measured point: a tree and each tool's row.
struct Point {
    files: u64,
    depth: usize,
    folders: u64,
    rows: Vec<Row>,
    /// Where each row's API limiter ended in its last repetition (`None` for Python).
    limits: Vec<Option<LimiterEnd>>,
}

/// Runs the case, writes the chart; its Markdown section.
pub(crate) fn case(ctx: &Ctx<'_>) -> Result<String> {
    let sizes: &[usize] = if ctx.opts.quick {
        &[100, 1000]
    } else {
        &[100, 1000, 10_000, 50_000]
    };
    let mut points = Vec::new();
    for &files in sizes {
        for (depth, fan) in SHAPES {
            points.push(point(ctx, files, depth, fan)?);
        }
    }
    let chart_name = ctx
        .opts
        .chart
        .file_name()
        .map_or("BENCHMARKS-scaling.svg".into(), |n| {
            n.to_string_lossy().into_owned()
        });
    chart::draw(
        &ctx.opts.chart,
        &format!(
            "Whole result tree, {FILE_SIZE}-byte files, {LATENCY_MS} ms per request \
             (cargo xtask bench, case 6)"
        ),
        &panels(&points),
    )?;
    eprintln!("bench: wrote {}", ctx.opts.chart.display());
    Ok(section(&points, &chart_name))
}

fn point(ctx: &Ctx<'_>, files: usize, depth: usize, fan: usize) -> Result<Point> {
    let spec = TreeSpec {
        files,
        branching: vec![fan; depth],
        large: 0,
        large_size: 0,
        small_size: Some(FILE_SIZE),
    };
    let (catalogue, facts) = fixture::tree(&spec);
    let name = format!("scale-{files}-{depth}");
    let fault = format!("all:latency={LATENCY_MS}");
    let sim = start_sim(ctx, &name, &catalogue, &["--fault".into(), fault])?;
    let id = finished_run(ctx, &sim, fixture::TREE_CAPSULE)?;
    let env = sim.env();
    let mut entries = Vec::new();
    {
        let (bin, id, env) = (ctx.bins.crate_api.clone(), id.clone(), env.clone());
        entries.push(Entry {
            name: "crate".into(),
            make: Box::new(move |dest| Tool::new(&bin).envs(env.clone()).arg(&id).arg(dest)),
        });
    }
    {
        let (bin, id) = (ctx.bins.crate_api.clone(), id.clone());
        let mut env = env.clone();
        env.push(("BENCH_API_CONCURRENCY".into(), FIXED_LIMIT.to_string()));
        entries.push(Entry {
            name: format!("crate, API limit fixed at {FIXED_LIMIT}"),
            make: Box::new(move |dest| Tool::new(&bin).envs(env.clone()).arg(&id).arg(dest)),
        });
    }
    {
        let (py, script) = (
            ctx.python.clone(),
            ctx.root.join("xtask/bench/python_tree.py"),
        );
        entries.push(Entry {
            name: format!("Python SDK, {PY_THREADS} threads"),
            make: Box::new(move |dest| {
                Tool::new(&py)
                    .envs(env.clone())
                    .arg(&script)
                    .arg(&id)
                    .arg(dest)
                    .arg("--threads")
                    .arg(PY_THREADS.to_string())
            }),
        });
    }
    let reps = vec![
        ctx.opts.reps,
        ctx.opts.reps,
        python_reps(ctx.opts.reps, files),
    ];
    let rows = alternate(
        ctx,
        &sim,
        &name,
        &entries,
        &reps,
        (facts.files, facts.bytes),
        None,
    )?;
    // The trees of this point are no longer needed (50,000 files × tools × repetitions).
    for entry in std::fs::read_dir(&ctx.work)? {
        let path = entry?.path();
        let ours = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with(&format!("{name}-")));
        if ours && path.is_dir() {
            std::fs::remove_dir_all(&path)?;
        }
    }
    let limits = rows
        .iter()
        .map(|r| r.logs.last().and_then(|log| LimiterEnd::read(log)))
        .collect();
    Ok(Point {
        files: facts.files,
        depth,
        folders: facts.folders,
        rows,
        limits,
    })
}

/// Repetitions of the Python client at a size: all of them up to 1,000 files; at most 3 at
/// 10,000 and 1 at 50,000 (about 5 ms a file: one run of 50,000 files takes minutes).
fn python_reps(reps: usize, files: usize) -> usize {
    match files {
        0..=1_000 => reps,
        1_001..=10_000 => reps.min(3),
        _ => 1,
    }
}

fn panels(points: &[Point]) -> Vec<Panel> {
    type Value = fn(&Row) -> Option<f64>;
    let quantities: [(&str, &str, Value); 3] = [
        ("time (median)", "seconds", |r| {
            Some(report::median(&r.samples))
        }),
        ("requests", "requests", |r| {
            r.requests.last().map(|&n| n as f64)
        }),
        ("peak RSS", "MB", |r| {
            report::peak_rss_kib(&r.samples).map(|k| k as f64 * 1024.0 / 1e6)
        }),
    ];
    let tools: Vec<String> = points
        .first()
        .map(|p| p.rows.iter().map(|r| r.name.clone()).collect())
        .unwrap_or_default();
    quantities
        .iter()
        .map(|(title, unit, value)| {
            let mut series = Vec::new();
            for (t, tool) in tools.iter().enumerate() {
                for (depth, _) in SHAPES {
                    let pts: Vec<(f64, f64)> = points
                        .iter()
                        .filter(|p| p.depth == depth)
                        .filter_map(|p| value(&p.rows[t]).map(|v| (p.files as f64, v)))
                        .collect();
                    series.push(Series {
                        label: format!("{tool}, depth {depth}"),
                        colour: t,
                        dashed: depth != SHAPES[0].0,
                        points: pts,
                    });
                }
            }
            Panel {
                title: (*title).to_owned(),
                unit: (*unit).to_owned(),
                series,
            }
        })
        .collect()
}

fn section(points: &[Point], chart: &str) -> String {
    let mut out = String::from("## 6. How cost grows with the number of files\n\n");
    let reps = points
        .iter()
        .flat_map(|p| &p.rows)
        .map(|r| r.samples.len())
        .max()
        .unwrap_or(0);
    let _ = writeln!(
        out,
        "Case 1's job (download a computation's whole result tree) at several sizes, every \
         file {FILE_SIZE} bytes, {LATENCY_MS} ms added to every request \
         (`--fault all:latency={LATENCY_MS}`), in two shapes: depth 2 ({} sub-folders per \
         folder) and depth 8 ({} per folder); files are dealt round-robin over all folders. \
         The crate is `Client::download` with its defaults (`bench_download`), then the same \
         with the client's API limit fixed at {FIXED_LIMIT} (`BENCH_API_CONCURRENCY`; the \
         adaptive limiter starts at 16 and may grow to 64 requests in flight), Python the \
         official SDK with a `ThreadPoolExecutor({PY_THREADS})` (`python_tree.py`), \
         alternating; the crate runs {reps} times at every size, Python {reps} times up to \
         1,000 files, {} at 10,000 and {} at 50,000 (about 5 ms a file: one Python run of \
         50,000 files takes minutes). Requests are one listing per folder plus two per file \
         (`results/urls`, then the storage GET) for both.\n\n\
         ![time, requests and peak RSS against files]({chart})\n",
        SHAPES[0].1,
        SHAPES[1].1,
        python_reps(reps, 10_000),
        python_reps(reps, 50_000),
    );
    let mut rows = Vec::new();
    for p in points {
        for (r, limit) in p.rows.iter().zip(&p.limits) {
            let m = report::median(&r.samples);
            rows.push(vec![
                format!("{}", p.files),
                format!("{} ({} folders)", p.depth, p.folders),
                r.name.clone(),
                r.samples.len().to_string(),
                format!("{m:.3} s"),
                report::spread(&r.samples),
                format!("{:.2} ms", m * 1e3 / p.files as f64),
                r.requests.last().map_or("-".into(), |n| n.to_string()),
                report::peak_rss_kib(&r.samples).map_or("-".into(), report::kib_mb),
                limit.as_ref().map_or("-".into(), |l| {
                    format!(
                        "{}{}",
                        l.concurrency,
                        if l.adaptive { "" } else { " (fixed)" }
                    )
                }),
            ]);
        }
    }
    report::table(
        &mut out,
        &[
            "files",
            "depth",
            "tool",
            "runs",
            "time (median)",
            "min–max (s)",
            "per file",
            "requests",
            "peak RSS",
            "API limit at end",
        ],
        &rows,
    );
    out.push('\n');
    let _ = writeln!(out, "{}", memory_verdict(points));
    out
}

/// Growth of peak RSS from the smallest to the largest tree above which memory is not "flat".
const FLAT: f64 = 1.10;

/// How one row's peak RSS grew at each depth: a sentence per depth, the largest growth
/// (largest tree over smallest) and the largest bytes per file between the two largest trees.
fn growth(points: &[Point], row: usize) -> (Vec<String>, f64, f64) {
    let mut lines = Vec::new();
    let mut worst: f64 = 0.0;
    let mut tail_slope: f64 = 0.0;
    for (depth, _) in SHAPES {
        let measured: Vec<(u64, u64)> = points
            .iter()
            .filter(|p| p.depth == depth)
            .filter_map(|p| {
                let r = p.rows.get(row)?;
                report::peak_rss_kib(&r.samples).map(|k| (p.files, k))
            })
            .collect();
        let (Some(&(f0, a)), Some(&(f1, b))) = (measured.first(), measured.last()) else {
            continue;
        };
        let growth = b as f64 / a as f64;
        worst = worst.max(growth);
        let per_file = (b as f64 - a as f64) * 1024.0 / (f1 - f0).max(1) as f64;
        // Between the two largest trees: past the walk's bounded queue of listed entries.
        if let [.., (fa, ka), (fb, kb)] = measured[..] {
            let slope = (kb as f64 - ka as f64) * 1024.0 / (fb - fa).max(1) as f64;
            tail_slope = tail_slope.max(slope);
        }
        lines.push(format!(
            "depth {depth}: {} at {f0} files, {} at {f1} files ({growth:.2}×, {per_file:.0} bytes \
             per extra file)",
            report::kib_mb(a),
            report::kib_mb(b),
        ));
    }
    (lines, worst, tail_slope)
}

/// Whether the crate's peak RSS stayed flat from the smallest to the largest tree, with its
/// defaults and with the API limit fixed, and if not, what grew.
fn memory_verdict(points: &[Point]) -> String {
    let (lines, worst, tail_slope) = growth(points, CRATE_DEFAULT);
    let mut out = format!(
        "The crate's peak RSS from the smallest to the largest tree: {}.",
        lines.join("; ")
    );
    let (fixed_lines, fixed_worst, fixed_slope) = growth(points, CRATE_FIXED);
    if !fixed_lines.is_empty() {
        let _ = write!(
            out,
            " With the API limit fixed at {FIXED_LIMIT}: {}.",
            fixed_lines.join("; ")
        );
    }
    // Where the adaptive limiter ended on the largest trees.
    let largest = points.iter().map(|p| p.files).max().unwrap_or(0);
    let ended: Vec<String> = points
        .iter()
        .filter(|p| p.files == largest)
        .filter_map(|p| {
            let l = p.limits.get(CRATE_DEFAULT)?.as_ref()?;
            Some(format!(
                "{} requests in flight at depth {}",
                l.concurrency, p.depth
            ))
        })
        .collect();
    if worst <= FLAT {
        let _ = write!(
            out,
            " Target (issue #6), memory flat in the number of files: **met** (within {:.0}%).",
            (FLAT - 1.0) * 100.0
        );
    } else {
        let _ = write!(
            out,
            " Target (issue #6), memory flat in the number of files: **missed** with the \
             defaults: it grows by about {tail_slope:.0} bytes per file between the two largest \
             trees."
        );
        if !fixed_lines.is_empty() {
            let _ = write!(
                out,
                " With the limit fixed it grows {fixed_worst:.2}× ({fixed_slope:.0} bytes per \
                 file between the two largest trees)"
            );
            if !ended.is_empty() {
                let _ = write!(
                    out,
                    ", while the adaptive limiter ended at {} on the largest trees",
                    ended.join(" and ")
                );
            }
            let _ = write!(
                out,
                ": the difference between the two rows is the cost of more API requests in \
                 flight (each with its connection and its answer), which a longer download \
                 gives the limiter time to grow into, bounded by its maximum, not by the tree."
            );
        }
        let _ = write!(
            out,
            " What a download holds does not depend on the tree's size by construction: the \
             walk keeps no set of seen paths (it takes only direct children of each listed \
             folder, de-duplicated per listing), at most {{concurrency × 16, at least 256}} \
             listed entries wait for a transfer, and the listings in flight are bounded; \
             `crates/codeocean/tests/memory.rs` measures the peak heap at 10,000 and 50,000 \
             files. (The Python client's growth is the script's own: a list of all files and a \
             pending future per file.)"
        );
    }
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::proc::Sample;

    fn row(name: &str, rss_kib: u64) -> Row {
        Row {
            name: name.into(),
            samples: vec![Sample {
                secs: 1.0,
                rss_kib: Some(rss_kib),
            }],
            requests: vec![],
            counts: vec![],
            bytes: None,
            stats: vec![],
            logs: vec![],
        }
    }

    /// A point with the default row only.
    fn at(files: u64, depth: usize, rss_kib: u64) -> Point {
        Point {
            files,
            depth,
            folders: 0,
            rows: vec![row("crate", rss_kib)],
            limits: vec![None],
        }
    }

    /// A point with both crate rows, the adaptive one ending at `ended` in flight.
    fn both(files: u64, rss_kib: u64, fixed_kib: u64, ended: u64) -> Point {
        let end = |concurrency, adaptive| LimiterEnd {
            concurrency,
            adaptive,
            rate: None,
            throttled: 0,
            changes: 0,
            last_change: None,
        };
        Point {
            files,
            depth: 2,
            folders: 0,
            rows: vec![row("crate", rss_kib), row("crate, fixed", fixed_kib)],
            limits: vec![Some(end(ended, true)), Some(end(16, false))],
        }
    }

    #[test]
    fn memory_is_judged_flat_or_not() {
        let flat = [at(100, 2, 8000), at(50_000, 2, 8500)];
        assert!(memory_verdict(&flat).contains("**met**"));
        let grows = [
            at(100, 2, 8000),
            at(10_000, 2, 10_000),
            at(50_000, 2, 14_000),
        ];
        let v = memory_verdict(&grows);
        assert!(v.contains("**missed**"), "{v}");
        // (14,000 - 10,000) KiB over 40,000 files.
        assert!(v.contains("about 102 bytes per file"), "{v}");
        assert!(!v.contains("fixed"), "{v}");
    }

    #[test]
    fn the_fixed_limit_row_tells_the_limiters_growth_from_the_trees() {
        let points = [
            both(100, 8000, 8000, 30),
            both(10_000, 12_000, 9000, 64),
            both(50_000, 14_000, 9200, 64),
        ];
        let v = memory_verdict(&points);
        assert!(v.contains("**missed** with the defaults"), "{v}");
        assert!(
            v.contains("With the API limit fixed at 16: depth 2:"),
            "{v}"
        );
        // 9,200 / 8,000 KiB; (9,200 - 9,000) KiB over 40,000 files.
        assert!(v.contains("grows 1.15× (5 bytes per file"), "{v}");
        assert!(
            v.contains("ended at 64 requests in flight at depth 2 on the"),
            "{v}"
        );
    }

    #[test]
    fn python_runs_fewer_times_on_big_trees() {
        assert_eq!(python_reps(5, 1000), 5);
        assert_eq!(python_reps(5, 10_000), 3);
        assert_eq!(python_reps(2, 10_000), 2);
        assert_eq!(python_reps(5, 50_000), 1);
    }
}
