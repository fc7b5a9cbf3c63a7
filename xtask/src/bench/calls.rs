//! Case 3, CPU per API call: the instructions one `get computation` round trip costs the client
//! process, counted by callgrind (`valgrind --tool=callgrind --trace-children=no`) for N = 1 and
//! N = 1 + STEP calls in one process; the difference divided by STEP is the cost of a call with
//! start-up, connection set-up and the first call taken out. The crate runs
//! `crates/codeocean/examples/bench_calls.rs` (`Client::get_computation`), the Python SDK
//! `xtask/bench/python_calls.py` (`computations.get_computation`).

use std::fmt::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{Context as _, Result, bail};

use super::proc::Sim;
use super::{Ctx, Operation, finished_run, fixture, report, start_sim};

const VALGRIND: &str = "valgrind";
/// The target of the issue: the crate spends at least this many times fewer instructions per call.
const TARGET: f64 = 20.0;

/// One client's counts.
struct Counted {
    name: String,
    /// Instructions of the whole process at N = 1 and at N = 1 + step.
    one: u64,
    many: u64,
}

impl Counted {
    fn per_call(&self, step: u64) -> f64 {
        self.many.saturating_sub(self.one) as f64 / step as f64
    }
}

/// Runs the case; its Markdown section.
pub(crate) fn case(ctx: &Ctx<'_>) -> Result<String> {
    let title = "## 3. CPU per API call: instructions per `get computation`\n\n";
    let version = Command::new(VALGRIND)
        .arg("--version")
        .stderr(Stdio::null())
        .output();
    let version = match version {
        Ok(out) if out.status.success() => String::from_utf8_lossy(&out.stdout).trim().to_owned(),
        _ => {
            eprintln!("bench: valgrind not found: case 3 not measured");
            return Ok(format!(
                "{title}Not measured: `valgrind` was not found on this machine.\n\n"
            ));
        }
    };
    let step: u64 = if ctx.opts.quick { 10 } else { 100 };
    let sim = start_sim(ctx, "calls", &fixture::calls(), &[])?;
    let id = finished_run(ctx, &sim, fixture::CALLS_CAPSULE)?;
    let env = sim.env();
    let script = ctx.root.join("xtask/bench/python_calls.py");
    let clients: Vec<(&str, Command)> = vec![
        ("codeocean crate: Client::get_computation", {
            let mut c = Command::new(&ctx.bins.calls);
            c.arg(&id);
            c
        }),
        ("Python SDK 0.17.0: computations.get_computation", {
            let mut c = Command::new(&ctx.python);
            c.arg(&script).arg(&id);
            c
        }),
    ];
    // Under --quick the Python client (about 25 s under callgrind) is left out.
    let keep = if ctx.opts.quick { 1 } else { clients.len() };
    let mut counted = Vec::new();
    for (name, base) in clients.into_iter().take(keep) {
        let mut got = [0u64; 2];
        for (slot, n) in [1, 1 + step].into_iter().enumerate() {
            got[slot] = callgrind(ctx, &sim, &base, n, &env)
                .with_context(|| format!("callgrind of {name} with N = {n}"))?;
            eprintln!(
                "bench: calls: {name:<50} N = {n:>3}: {} instructions",
                got[slot]
            );
        }
        counted.push(Counted {
            name: name.to_owned(),
            one: got[0],
            many: got[1],
        });
    }
    let mut out = section(title, &version, step, &counted);
    if ctx.opts.quick {
        out.push_str(
            "`--quick`: the Python SDK was not run (its two runs take about 25 s under \
             callgrind), so there is no ratio.\n\n",
        );
    }
    Ok(out)
}

/// Instructions of the process `base N` under callgrind, after checking that it made exactly N
/// `get computation` requests.
fn callgrind(
    ctx: &Ctx<'_>,
    sim: &Sim,
    base: &Command,
    n: u64,
    env: &[(String, String)],
) -> Result<u64> {
    let out_file = ctx.work.join(format!("callgrind.{n}.out"));
    let _ = std::fs::remove_file(&out_file);
    let log = ctx.work.join("callgrind.log");
    let mut cmd = Command::new(VALGRIND);
    cmd.args(["--tool=callgrind", "--trace-children=no"])
        .arg(format!("--callgrind-out-file={}", out_file.display()))
        .arg(base.get_program())
        .args(base.get_args())
        .arg(n.to_string())
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log)?);
    sim.clear()?;
    let status = cmd.status().context("running valgrind")?;
    if !status.success() {
        let err = std::fs::read_to_string(&log).unwrap_or_default();
        bail!("valgrind failed ({status}): {}", err.trim());
    }
    let calls: u64 = sim
        .counts()?
        .iter()
        .filter(|(op, _)| op == Operation::GetComputation.id())
        .map(|(_, c)| c)
        .sum();
    if calls != n {
        bail!("the simulator saw {calls} `get computation` requests, not {n}");
    }
    totals(&out_file)
}

/// The `totals:` (or `summary:`) line of a callgrind output file: instructions executed.
fn totals(file: &Path) -> Result<u64> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let field = |name: &str| text.lines().find_map(|l| l.strip_prefix(name));
    field("totals:")
        .or_else(|| field("summary:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .with_context(|| format!("no totals in {}", file.display()))
}

fn section(title: &str, version: &str, step: u64, counted: &[Counted]) -> String {
    let mut out = title.to_owned();
    let _ = writeln!(
        out,
        "Instructions executed by the client process ({version}, `--tool=callgrind \
         --trace-children=no`) while it gets the same finished computation from the simulator \
         N times in a row, one call after the other, on one connection. Each client runs once \
         with N = 1 and once with N = {}; the difference divided by {step} is the cost of one \
         call, with interpreter or runtime start-up, imports, connection set-up and the first \
         call taken out. Instruction counts do not depend on the machine's load, so one run per \
         N is enough (repeated runs differ by a few hundred instructions out of millions: \
         hash seeds, addresses). The simulator (another process) is not counted; it checked \
         that each run made exactly N `get computation` requests.\n\n\
         The crate: `crates/codeocean/examples/bench_calls.rs`, `Client::get_computation` on a \
         current-thread tokio runtime (request span, concurrency permit, retry wrapper, \
         `reqwest`, JSON decoding into `Computation`). Python: `xtask/bench/python_calls.py`, \
         `computations.get_computation` of the official SDK on one `CodeOcean` client \
         (`requests` session, dataclass decoding).\n",
        1 + step
    );
    let base = counted.first().map_or(f64::NAN, |c| c.per_call(step));
    let rows: Vec<Vec<String>> = counted
        .iter()
        .map(|c| {
            vec![
                c.name.clone(),
                thousands(c.one),
                thousands(c.many),
                thousands(c.per_call(step).round() as u64),
                format!("{:.1}", c.per_call(step) / base),
            ]
        })
        .collect();
    report::table(
        &mut out,
        &[
            "client",
            "instructions, N = 1",
            &format!("instructions, N = {}", 1 + step),
            "per call",
            "× crate",
        ],
        &rows,
    );
    if let Some(py) = counted.get(1) {
        let ratio = py.per_call(step) / base;
        let verdict = if ratio >= TARGET {
            format!("**met**: {ratio:.1}× fewer instructions per call than the Python SDK")
        } else {
            format!("**missed**: only {ratio:.1}× fewer instructions per call than the Python SDK")
        };
        let _ = writeln!(
            out,
            "\nTarget (issue #6): at least {TARGET:.0}× fewer instructions per call than the \
             Python SDK: {verdict}. Start-up (N = 1) differs by {:.0}×: {} against {} \
             instructions to launch, import and make one call.\n",
            py.one as f64 / counted[0].one as f64,
            thousands(counted[0].one),
            thousands(py.one),
        );
    }
    out
}

/// `1,234,567`.
pub(crate) fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_groups_digits() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(48_059_858), "48,059,858");
    }

    #[test]
    fn totals_reads_callgrind_output() {
        let dir = std::env::temp_dir().join(format!("xtask-calls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("callgrind.out");
        std::fs::write(
            &file,
            "version: 1\nevents: Ir\nsummary: 123\n\ntotals: 456\n",
        )
        .unwrap();
        assert_eq!(totals(&file).unwrap(), 456);
        std::fs::write(&file, "events: Ir\n").unwrap();
        assert!(totals(&file).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
