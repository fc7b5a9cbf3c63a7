//! `BENCHMARKS.md`: the template, the tables and the machine facts.

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use super::proc::Sample;

/// What the ratio column of a case compares against.
pub(crate) enum Baseline {
    /// A computed lower bound on the time (seconds).
    Bound(f64),
    /// The first row's tool (throughput ratio).
    First,
}

/// One tool's measurements.
pub(crate) struct Row {
    pub(crate) name: String,
    pub(crate) samples: Vec<Sample>,
    /// Requests the simulator saw, per repetition.
    pub(crate) requests: Vec<u64>,
    /// Requests per operation, last repetition.
    pub(crate) counts: Vec<(String, u64)>,
    /// Bytes moved, for a throughput column.
    pub(crate) bytes: Option<u64>,
    /// The simulator's `/__sim/stats` after each repetition (connections, HTTP/2 requests).
    pub(crate) stats: Vec<serde_json::Value>,
    /// The tool's stderr of each repetition (in the work folder, while the case runs).
    pub(crate) logs: Vec<std::path::PathBuf>,
}

/// One table.
pub(crate) struct Case {
    pub(crate) title: String,
    pub(crate) about: String,
    pub(crate) baseline: Baseline,
    pub(crate) rows: Vec<Row>,
    /// Paragraphs after the table (targets, the limiter's state).
    pub(crate) notes: Vec<String>,
}

/// Whether a target was met, in words.
pub(crate) fn verdict(met: bool) -> &'static str {
    if met { "**met**" } else { "**not met**" }
}

/// The median wall time of the samples, in seconds.
pub(crate) fn median(samples: &[Sample]) -> f64 {
    let mut t: Vec<f64> = samples.iter().map(|s| s.secs).collect();
    t.sort_by(f64::total_cmp);
    match t.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => t[n / 2],
        n => (t[n / 2 - 1] + t[n / 2]) / 2.0,
    }
}

/// `1.5 GB`-style sizes (decimal units, as throughput is in GB/s).
pub(crate) fn human_bytes(b: u64) -> String {
    let b = b as f64;
    if b >= 1e9 {
        format!("{:.2} GB", b / 1e9)
    } else if b >= 1e6 {
        format!("{:.1} MB", b / 1e6)
    } else {
        format!("{:.1} kB", b / 1e3)
    }
}

/// `1 GiB`-style sizes for powers of two, else as [`human_bytes`].
pub(crate) fn binary_bytes(b: u64) -> String {
    if b >= 1 << 30 && b.is_multiple_of(1 << 30) {
        format!("{} GiB", b >> 30)
    } else if b >= 1 << 20 && b.is_multiple_of(1 << 20) {
        format!("{} MiB", b >> 20)
    } else {
        human_bytes(b)
    }
}

/// The 1, 5 and 15 minute load averages (`/proc/loadavg`).
pub(crate) fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "unknown".into())
}

fn run(cmd: &mut Command) -> Option<String> {
    let out = cmd.output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// `(label, value)` facts about the machine and the toolchain.
pub(crate) fn machine_facts(root: &Path, python: &Path) -> Vec<(&'static str, String)> {
    let unknown = || "unknown".to_owned();
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|v| v.trim_start_matches([' ', '\t', ':']).to_owned())
        })
        .unwrap_or_else(unknown);
    let nproc = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .map(|v| v.trim().to_owned())
        })
        .unwrap_or_else(unknown);
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let commit =
        run(Command::new("git")
            .current_dir(root)
            .args(["rev-parse", "--short=12", "HEAD"]))
        .unwrap_or_else(unknown);
    let dirty = run(Command::new("git")
        .current_dir(root)
        .args(["status", "--porcelain"]))
    .is_some_and(|s| !s.is_empty());
    vec![
        (
            "date",
            run(Command::new("date").args(["-u", "+%Y-%m-%d %H:%M UTC"])).unwrap_or_else(unknown),
        ),
        (
            "commit",
            format!(
                "{commit}{}",
                if dirty { " (with local changes)" } else { "" }
            ),
        ),
        ("nproc", nproc.to_string()),
        ("CPU", cpu),
        ("memory", mem),
        (
            "kernel",
            run(Command::new("uname").args(["-srm"])).unwrap_or_else(unknown),
        ),
        (
            "rustc",
            run(Command::new(rustc).arg("-V")).unwrap_or_else(unknown),
        ),
        (
            "python",
            run(Command::new(python).arg("-VV"))
                .map(|v| v.replace('\n', " "))
                .unwrap_or_else(unknown),
        ),
        (
            "curl",
            run(Command::new("curl").arg("-V"))
                .and_then(|v| {
                    let words: Vec<&str> = v.split_whitespace().take(2).collect();
                    (!words.is_empty()).then(|| words.join(" "))
                })
                .unwrap_or_else(unknown),
        ),
        ("load average at start (1/5/15 min)", load_average()),
    ]
}

/// The largest peak RSS of the samples, in KiB.
pub(crate) fn peak_rss_kib(samples: &[Sample]) -> Option<u64> {
    samples.iter().filter_map(|s| s.rss_kib).max()
}

/// A size in KiB (GNU time's unit) as decimal MB.
pub(crate) fn kib_mb(kib: u64) -> String {
    format!("{:.1} MB", kib as f64 * 1024.0 / 1e6)
}

/// The row's peak RSS, or `-`.
pub(crate) fn rss(row: &Row) -> String {
    peak_rss_kib(&row.samples).map_or("-".into(), kib_mb)
}

/// The row's requests: the total (or its min–max over the repetitions) and per operation.
pub(crate) fn requests(row: &Row) -> String {
    let min = row.requests.iter().min().copied().unwrap_or(0);
    let max = row.requests.iter().max().copied().unwrap_or(0);
    let total = if min == max {
        min.to_string()
    } else {
        format!("{min}–{max}")
    };
    let detail: Vec<String> = row
        .counts
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(op, n)| format!("{op} {n}"))
        .collect();
    if detail.is_empty() {
        total
    } else {
        format!("{total} ({})", detail.join(", "))
    }
}

/// `min–max` of the samples' times, or `-` for a single sample.
pub(crate) fn spread(samples: &[Sample]) -> String {
    let min = samples.iter().map(|s| s.secs).fold(f64::INFINITY, f64::min);
    let max = samples.iter().map(|s| s.secs).fold(0.0, f64::max);
    if samples.len() < 2 {
        "-".into()
    } else {
        format!("{min:.3}–{max:.3}")
    }
}

/// A Markdown table: the first column left-aligned, the others right-aligned.
pub(crate) fn table(out: &mut String, header: &[&str], rows: &[Vec<String>]) {
    let _ = writeln!(out, "| {} |", header.join(" | "));
    let rule: Vec<&str> = header
        .iter()
        .enumerate()
        .map(|(i, _)| if i == 0 { "---" } else { "---:" })
        .collect();
    let _ = writeln!(out, "| {} |", rule.join(" | "));
    for r in rows {
        let _ = writeln!(out, "| {} |", r.join(" | "));
    }
}

/// The section of a case with a table of timed tools (cases 1 and 2).
pub(crate) fn case_section(case: &Case) -> String {
    let mut out = String::new();
    case_table(&mut out, case);
    out
}

fn case_table(out: &mut String, case: &Case) {
    let _ = writeln!(out, "## {}\n\n{}\n", case.title, case.about);
    let reps = case.rows.iter().map(|r| r.samples.len()).max().unwrap_or(0);
    match case.baseline {
        Baseline::Bound(bound) => {
            let cli = case.rows.first().map_or(f64::NAN, |r| median(&r.samples));
            let mut rows = vec![vec![
                "critical-path bound".to_owned(),
                format!("{bound:.3} s"),
                "-".into(),
                "1.00".into(),
                format!("{:.2}", bound / cli),
                "-".into(),
                "-".into(),
            ]];
            for r in &case.rows {
                let m = median(&r.samples);
                rows.push(vec![
                    r.name.clone(),
                    format!("{m:.3} s"),
                    spread(&r.samples),
                    format!("{:.2}", m / bound),
                    format!("{:.2}", m / cli),
                    rss(r),
                    requests(r),
                ]);
            }
            table(
                out,
                &[
                    "tool",
                    &format!("time (median of {reps})"),
                    "min–max (s)",
                    "× bound",
                    "× CLI",
                    "peak RSS",
                    "requests",
                ],
                &rows,
            );
        }
        Baseline::First => {
            let base = case.rows.first().map_or(f64::NAN, |r| median(&r.samples));
            let rows: Vec<Vec<String>> = case
                .rows
                .iter()
                .map(|r| {
                    let m = median(&r.samples);
                    let gbps = r
                        .bytes
                        .map_or("-".into(), |b| format!("{:.2} GB/s", b as f64 / m / 1e9));
                    vec![
                        r.name.clone(),
                        format!("{m:.3} s"),
                        spread(&r.samples),
                        gbps,
                        format!("{:.2}", base / m),
                        rss(r),
                        requests(r),
                    ]
                })
                .collect();
            let first = case.rows.first().map_or("", |r| r.name.as_str());
            let ratio = format!("× throughput of {}", first.split(' ').next().unwrap_or(""));
            table(
                out,
                &[
                    "tool",
                    &format!("time (median of {reps})"),
                    "min–max (s)",
                    "throughput",
                    &ratio,
                    "peak RSS",
                    "requests",
                ],
                &rows,
            );
        }
    }
    out.push('\n');
    for note in &case.notes {
        let _ = writeln!(out, "{note}\n");
    }
}

/// The whole `BENCHMARKS.md`: the machine facts, then one section per case.
pub(crate) fn markdown(
    command: &str,
    facts: &[(&str, String)],
    sections: &[String],
    elapsed: f64,
    quick: bool,
) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# Benchmarks\n\n\
         Written by `cargo xtask bench` (`xtask/src/bench/`); do not edit by hand, run it again.\n\n\
         ```sh\n{command}\n```\n"
    );
    if quick {
        let _ = writeln!(
            out,
            "> **--quick**: sizes scaled down, one repetition and debug builds, to keep the \
             harness alive in CI. These figures say nothing about performance.\n"
        );
    }
    let _ = writeln!(out, "| machine | |\n| --- | --- |");
    for (k, v) in facts {
        let _ = writeln!(out, "| {k} | {} |", v.replace('|', "\\|"));
    }
    let _ = writeln!(
        out,
        "| bench run took | {elapsed:.0} s (build included) |\n"
    );
    let _ = writeln!(
        out,
        "How to read this: every tool runs as a child process of the bench, against a \
         `codeocean-sim` release binary on loopback in a separate process. Repetitions alternate \
         between the tools of a case (A B C A B C ...), so drift of a shared machine hits all \
         alike; times are wall clock from spawn to exit (process start-up included), shown as \
         the median and the min–max. Peak RSS is the largest `ru_maxrss` of the tool's process \
         over the repetitions (GNU time `%M`; for Python, the interpreter). Requests are what the \
         simulator recorded (`/__sim/stats`, cleared before each run), per operation.\n"
    );
    for section in sections {
        out.push_str(section);
    }
    out
}

/// The number of a case's heading line (`## 7. HTTPS ...` is 7), if it is one.
fn case_number(line: &str) -> Option<u8> {
    let rest = line.strip_prefix("## ")?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    rest[digits.len()..].starts_with('.').then_some(())?;
    digits.parse().ok()
}

/// A report cut at its case headings: the text before the first case, and each case's section
/// (heading to the next case heading) with its number.
fn split_cases(text: &str) -> (String, Vec<(u8, String)>) {
    let mut head = String::new();
    let mut cases: Vec<(u8, String)> = Vec::new();
    for line in text.split_inclusive('\n') {
        if let Some(n) = case_number(line.trim_end()) {
            cases.push((n, String::new()));
        }
        match cases.last_mut() {
            Some((_, section)) => section.push_str(line),
            None => head.push_str(line),
        }
    }
    (head, cases)
}

/// Whether a report was written by a `--quick` run.
pub(crate) fn is_quick(report: &str) -> bool {
    report.contains("> **--quick**")
}

/// The report `existing` with the `sections` of a partial run (`--only`) in place of its own of
/// the same numbers (or added in number order), each with `note` (one line, in italics) under
/// its heading; everything else, the machine facts included, is kept. `None` when `existing` is
/// not a report of this bench.
pub(crate) fn splice(existing: &str, sections: &[(u8, String)], note: &str) -> Option<String> {
    if !existing.starts_with("# Benchmarks\n") {
        return None;
    }
    let (head, mut cases) = split_cases(existing);
    for (n, text) in sections {
        let noted = match text.split_once("\n\n") {
            Some((heading, rest)) => format!("{heading}\n\n*{note}*\n\n{rest}"),
            None => format!("{text}\n*{note}*\n\n"),
        };
        match cases.iter_mut().find(|(m, _)| m == n) {
            Some((_, old)) => *old = noted,
            None => cases.push((*n, noted)),
        }
    }
    cases.sort_by_key(|(n, _)| *n);
    let mut out = head;
    for (_, text) in cases {
        out.push_str(&text);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const REPORT: &str = "# Benchmarks\n\nfacts\n\n## 1. Tree\n\nabout 1\n\n| a |\n\n\
                          ## 5. Build\n\n*an old note*\n\nabout 5\n\n## 6. Scaling\n\nabout 6\n";

    #[test]
    fn case_headings_are_numbered_lines_of_level_two() {
        assert_eq!(case_number("## 7. HTTPS: over TLS"), Some(7));
        assert_eq!(case_number("## 12. x"), Some(12));
        assert_eq!(case_number("## Notes"), None);
        assert_eq!(case_number("### 1. x"), None);
        assert_eq!(case_number("## 1 x"), None);
    }

    #[test]
    fn a_partial_run_replaces_its_sections_and_keeps_the_rest() {
        let new = [
            (5, "## 5. Build\n\nnew 5\n\n".to_owned()),
            (7, "## 7. HTTPS\n\nabout 7\n\n| b |\n\n".to_owned()),
        ];
        let text = splice(REPORT, &new, "Rerun at `abc`").unwrap();
        assert_eq!(
            text,
            "# Benchmarks\n\nfacts\n\n## 1. Tree\n\nabout 1\n\n| a |\n\n\
             ## 5. Build\n\n*Rerun at `abc`*\n\nnew 5\n\n## 6. Scaling\n\nabout 6\n\
             ## 7. HTTPS\n\n*Rerun at `abc`*\n\nabout 7\n\n| b |\n\n"
        );
        // Spliced again, a section carries one note: the new one.
        let again = splice(&text, &new[1..], "Rerun at `def`").unwrap();
        assert_eq!(again.matches("Rerun at").count(), 2, "{again}");
        assert!(again.contains("*Rerun at `def`*\n\nabout 7"), "{again}");
        assert!(splice("notes\n", &new, "x").is_none());
    }

    #[test]
    fn quick_reports_are_told_apart() {
        let quick = markdown("cargo xtask bench --quick", &[], &[], 1.0, true);
        let full = markdown("cargo xtask bench", &[], &[], 1.0, false);
        assert!(is_quick(&quick) && !is_quick(&full));
    }
}
