//! Case 7, HTTPS: case 1's result tree (same spec, same latency fault) served by two simulators,
//! one over plain HTTP and one started with `--tls`, downloaded by the CLI over plain HTTP (the
//! baseline), over HTTPS with its defaults (HTTP/1.1, though HTTP/2 is offered by ALPN), over
//! HTTPS with `--http2`, and by the crate's `bench_download` example over HTTPS (its defaults);
//! then one big file over HTTPS, the CLI's defaults against `--http2`, with curl (`--cacert`) on
//! the signed URL as the reference.
//!
//! Besides the times, each row reports what the simulator saw (`/__sim/stats`): the connections
//! the API and the storage origin accepted, and the share of requests that came over HTTP/2.
//! The section ends with which default the numbers support (the issue keeps the faster one);
//! which row spoke which version it takes from that share, not from the row's name.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, Result, bail};
use serde_json::Value;

use super::proc::{self, Sim, Tool};
use super::report::{self, Row};
use super::{
    Ctx, Entry, LATENCY_MS, alternate, alternate_on, big_file_url, cli_download_with, finished_run,
    fixture, start_sim, tree_spec,
};

/// The case's heading.
const TITLE: &str = "7. HTTPS: the result tree and one big file over TLS, HTTP/2 on and off";

/// Runs the case; its Markdown section.
pub(crate) fn case(ctx: &Ctx<'_>) -> Result<String> {
    let tree = tree_part(ctx)?;
    settle(ctx)?;
    let big = big_part(ctx)?;
    Ok(section(&tree, &big))
}

/// Removes the tree part's downloads (20 trees of the full case: 6 GB) and flushes what is still
/// being written back, so that the big file's first rounds do not share the disk with them.
fn settle(ctx: &Ctx<'_>) -> Result<()> {
    for entry in std::fs::read_dir(&ctx.work)? {
        let path = entry?.path();
        let ours = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with("tls-tree-"));
        if ours && path.is_dir() {
            std::fs::remove_dir_all(&path)?;
        }
    }
    proc::output(&mut Command::new("sync"))?;
    Ok(())
}

/// The measured tree: its description and rows (plain, HTTPS defaults, HTTPS `--http2`, crate).
struct TreePart {
    files: u64,
    folders: u64,
    bytes: u64,
    fault: String,
    rows: Vec<Measured>,
}

/// The measured big file: rows curl, CLI defaults, CLI `--http2`.
struct BigPart {
    size: u64,
    rows: Vec<Measured>,
}

/// A row and what the simulator said about each of its repetitions.
struct Measured {
    row: Row,
    wire: Vec<Wire>,
}

/// What one repetition looked like on the wire (from `/__sim/stats`).
#[derive(Clone, Copy, Debug, PartialEq)]
struct Wire {
    /// Connections the API origin accepted for the tool (the bench's own stats request left out).
    api_connections: u64,
    /// Connections the storage origin accepted.
    storage_connections: u64,
    /// Requests that came over HTTP/2.
    http2_requests: u64,
    /// Requests in all (both origins).
    requests: u64,
}

impl Wire {
    /// Reads one repetition's stats; `own_api` is the API connections the bench itself opens to
    /// read them (measured once per simulator right after a clear: one).
    fn of(stats: &Value, own_api: u64) -> Result<Wire> {
        let requests = proc::counts(stats)?.iter().map(|(_, n)| n).sum();
        Ok(Wire {
            api_connections: field(stats, "api_connections")?.saturating_sub(own_api),
            storage_connections: field(stats, "storage_connections")?,
            http2_requests: field(stats, "http2_requests")?,
            requests,
        })
    }

    /// The share of requests that came over HTTP/2, 0 to 1.
    fn http2_share(&self) -> f64 {
        if self.requests == 0 {
            0.0
        } else {
            self.http2_requests as f64 / self.requests as f64
        }
    }
}

/// A number of `/__sim/stats`.
fn field(stats: &Value, name: &str) -> Result<u64> {
    stats[name].as_u64().with_context(|| {
        format!(
            "/__sim/stats has no `{name}` (a simulator from before TLS support?): {:.200}",
            stats.to_string()
        )
    })
}

/// The API connections a bare stats request opens on `sim` (cleared first): what every
/// repetition's figure includes besides the tool's own.
fn own_connections(sim: &Sim) -> Result<u64> {
    sim.clear()?;
    field(&sim.stats()?, "api_connections")
}

/// A simulator over HTTPS with a generated CA, written into the work folder.
fn start_tls_sim(ctx: &Ctx<'_>, name: &str, catalogue: &Value, extra: &[String]) -> Result<Sim> {
    let ca = ctx.work.join(format!("{name}-ca.pem"));
    let mut args = extra.to_vec();
    args.extend(["--tls".into(), "--ca-out".into(), ca.display().to_string()]);
    let sim = start_sim(ctx, name, catalogue, &args)?;
    if !sim.origin.starts_with("https://") {
        bail!(
            "the simulator started with --tls listens on {}, not https://",
            sim.origin
        );
    }
    Ok(sim)
}

/// Pairs each row with the wire facts of its repetitions.
fn measured(rows: Vec<Row>, own: &[u64]) -> Result<Vec<Measured>> {
    rows.into_iter()
        .zip(own)
        .map(|(row, own)| {
            let wire = row
                .stats
                .iter()
                .map(|s| Wire::of(s, *own))
                .collect::<Result<Vec<_>>>()?;
            Ok(Measured { row, wire })
        })
        .collect()
}

fn tree_part(ctx: &Ctx<'_>) -> Result<TreePart> {
    let (catalogue, facts) = fixture::tree(&tree_spec(ctx.opts.quick));
    let fault = format!("all:latency={LATENCY_MS}");
    let latency = ["--fault".to_owned(), fault.clone()];
    let plain = start_sim(ctx, "tls-tree-plain", &catalogue, &latency)?;
    let tls = start_tls_sim(ctx, "tls-tree", &catalogue, &latency)?;
    let plain_id = finished_run(ctx, &plain, fixture::TREE_CAPSULE)?;
    let tls_id = finished_run(ctx, &tls, fixture::TREE_CAPSULE)?;
    let cli = |name: &str, sim: &Sim, id: &str, flags: &'static [&'static str]| {
        let (cli, env, id) = (ctx.bins.cli.clone(), sim.env(), id.to_owned());
        Entry {
            name: name.to_owned(),
            make: Box::new(move |dest: &Path| {
                cli_download_with(&cli, env.clone(), flags, &id, None, dest)
            }),
        }
    };
    let crate_api = {
        let (bin, env, id) = (ctx.bins.crate_api.clone(), tls.env(), tls_id.clone());
        Entry {
            name: "codeocean crate: Client::download, https:// (defaults)".into(),
            make: Box::new(move |dest: &Path| Tool::new(&bin).envs(env.clone()).arg(&id).arg(dest)),
        }
    };
    let entries = [
        (
            &plain,
            cli(
                "codeocean results download, http:// (plain)",
                &plain,
                &plain_id,
                &[],
            ),
        ),
        (
            &tls,
            cli(
                "codeocean results download, https:// (defaults: HTTP/1.1)",
                &tls,
                &tls_id,
                &[],
            ),
        ),
        (
            &tls,
            cli(
                &format!("codeocean {FLAG} results download, https://"),
                &tls,
                &tls_id,
                &[FLAG],
            ),
        ),
        (&tls, crate_api),
    ];
    let own_plain = own_connections(&plain)?;
    let own_tls = own_connections(&tls)?;
    let on: Vec<(&Sim, &Entry)> = entries.iter().map(|(s, e)| (*s, e)).collect();
    let reps = vec![ctx.opts.reps; on.len()];
    let rows = alternate_on(
        ctx,
        "tls-tree",
        &on,
        &reps,
        (facts.files, facts.bytes),
        None,
    )?;
    let own: Vec<u64> = entries
        .iter()
        .map(|(s, _)| {
            if std::ptr::eq(*s, &plain) {
                own_plain
            } else {
                own_tls
            }
        })
        .collect();
    Ok(TreePart {
        files: facts.files,
        folders: facts.folders,
        bytes: facts.bytes,
        fault,
        rows: measured(rows, &own)?,
    })
}

fn big_part(ctx: &Ctx<'_>) -> Result<BigPart> {
    let size: u64 = if ctx.opts.quick { 64 << 20 } else { 1 << 30 };
    let sim = start_tls_sim(ctx, "tls-big", &fixture::big(size), &[])?;
    let id = finished_run(ctx, &sim, fixture::BIG_CAPSULE)?;
    let url = big_file_url(ctx, &sim, &id, "https://")?;
    let ca: PathBuf = sim.ca_cert.clone().context("a TLS simulator has a CA")?;
    let curl = Entry {
        name: "curl --cacert CA -o FILE (the signed URL)".into(),
        make: Box::new(move |dest: &Path| {
            Tool::new("curl")
                .arg("-sS")
                .arg("--fail")
                .arg("--cacert")
                .arg(&ca)
                .arg("-o")
                .arg(dest.join(fixture::BIG_FILE))
                .arg(url.clone())
        }),
    };
    let cli = |name: &str, flags: &'static [&'static str]| {
        let (cli, env, id) = (ctx.bins.cli.clone(), sim.env(), id.clone());
        Entry {
            name: name.to_owned(),
            make: Box::new(move |dest: &Path| {
                cli_download_with(&cli, env.clone(), flags, &id, Some(fixture::BIG_FILE), dest)
            }),
        }
    };
    let entries = [
        curl,
        cli(
            "codeocean results download, https:// (defaults: HTTP/1.1)",
            &[],
        ),
        cli(
            &format!("codeocean {FLAG} results download, https://"),
            &[FLAG],
        ),
    ];
    let own = own_connections(&sim)?;
    let reps = vec![ctx.opts.reps; entries.len()];
    let rows = alternate(ctx, &sim, "tls-big", &entries, &reps, (1, size), Some(size))?;
    Ok(BigPart {
        size,
        rows: measured(rows, &[own; 3])?,
    })
}

/// `a` or `a–b` over the repetitions.
fn range(values: impl IntoIterator<Item = u64>) -> String {
    let v: Vec<u64> = values.into_iter().collect();
    match (v.iter().min(), v.iter().max()) {
        (Some(min), Some(max)) if min == max => min.to_string(),
        (Some(min), Some(max)) => format!("{min}–{max}"),
        _ => "-".into(),
    }
}

/// The HTTP/2 share over the repetitions, in percent.
fn share(wire: &[Wire]) -> String {
    let p: Vec<u64> = wire
        .iter()
        .map(|w| (w.http2_share() * 100.0).round() as u64)
        .collect();
    match range(p) {
        s if s == "-" => s,
        s => format!("{s} %"),
    }
}

/// The CLI's flag measured beside its defaults over HTTPS.
const FLAG: &str = "--http2";

/// An HTTP version a side of a comparison spoke, as the simulator saw it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Version {
    Http1,
    Http2,
}

impl Version {
    fn name(self) -> &'static str {
        match self {
            Version::Http1 => "HTTP/1.1",
            Version::Http2 => "HTTP/2",
        }
    }

    fn other(self) -> Version {
        match self {
            Version::Http1 => Version::Http2,
            Version::Http2 => Version::Http1,
        }
    }

    /// What making this version the default takes.
    fn switch(self) -> String {
        format!(
            "`DEFAULT_HTTP2 = {}` in `crates/codeocean/src/client.rs`",
            self == Version::Http2
        )
    }
}

/// The facts of one side of a comparison (the CLI with its defaults, or with [`FLAG`]).
#[derive(Clone, Debug)]
struct Side {
    /// Wall times in the order of the rounds (the other side ran in the same rounds).
    secs: Vec<f64>,
    /// The share of requests over HTTP/2, 0 to 1, per repetition.
    http2: Vec<f64>,
    /// API and storage connections (largest of the repetitions).
    api_connections: u64,
    storage_connections: u64,
}

impl Side {
    fn of(m: &Measured) -> Side {
        Side {
            secs: m.row.samples.iter().map(|s| s.secs).collect(),
            http2: m.wire.iter().map(Wire::http2_share).collect(),
            api_connections: m.wire.iter().map(|w| w.api_connections).max().unwrap_or(0),
            storage_connections: m
                .wire
                .iter()
                .map(|w| w.storage_connections)
                .max()
                .unwrap_or(0),
        }
    }

    fn median(&self) -> f64 {
        let mut t = self.secs.clone();
        t.sort_by(f64::total_cmp);
        match t.len() {
            0 => f64::NAN,
            n if n % 2 == 1 => t[n / 2],
            n => (t[n / 2 - 1] + t[n / 2]) / 2.0,
        }
    }

    /// The version this side spoke, from its HTTP/2 share (never from its row's name):
    /// HTTP/1.1 when no request of any repetition came over HTTP/2, HTTP/2 when most of each
    /// repetition's did, none for a mix.
    fn version(&self) -> Option<Version> {
        if self.http2.iter().all(|s| *s == 0.0) {
            Some(Version::Http1)
        } else if self.http2.iter().all(|s| *s > 0.5) {
            Some(Version::Http2)
        } else {
            None
        }
    }

    /// The largest HTTP/2 share of the repetitions, in percent.
    fn max_share(&self) -> u64 {
        (self.http2.iter().copied().fold(0.0, f64::max) * 100.0).round() as u64
    }
}

/// One workload's comparison: HTTP/2 against HTTP/1.1, each side placed by the version it was
/// measured speaking, and which of the two the CLI's defaults spoke (the other is [`FLAG`]).
#[derive(Clone, Debug)]
struct Pair {
    http2: Side,
    http1: Side,
    /// The version of the defaults' side.
    default: Version,
}

impl Pair {
    /// The defaults' side against [`FLAG`]'s, or why they cannot be compared.
    fn of(defaults: Side, flagged: Side) -> Result<Pair, String> {
        match (defaults.version(), flagged.version()) {
            (Some(Version::Http2), Some(Version::Http1)) => Ok(Pair {
                http2: defaults,
                http1: flagged,
                default: Version::Http2,
            }),
            (Some(Version::Http1), Some(Version::Http2)) => Ok(Pair {
                http2: flagged,
                http1: defaults,
                default: Version::Http1,
            }),
            (Some(d), Some(_)) => Err(format!(
                "the CLI with its defaults and with `{FLAG}` both spoke {} only, so both HTTPS \
                 rows measure the same thing",
                d.name()
            )),
            _ => Err(format!(
                "a side mixed HTTP/2 and HTTP/1.1 (at most {} % over HTTP/2 with the defaults, \
                 {} % with `{FLAG}`)",
                defaults.max_share(),
                flagged.max_share()
            )),
        }
    }

    fn side(&self, v: Version) -> &Side {
        match v {
            Version::Http1 => &self.http1,
            Version::Http2 => &self.http2,
        }
    }

    /// How the side of `v` is called: the default, or the flag.
    fn label(&self, v: Version) -> String {
        if v == self.default {
            "the default".into()
        } else {
            format!("`{FLAG}`")
        }
    }

    /// The faster version, median against median (a tie goes to the default).
    fn faster(&self) -> Version {
        let d = self.side(self.default).median();
        let o = self.side(self.default.other()).median();
        if d <= o {
            self.default
        } else {
            self.default.other()
        }
    }

    /// How much less time the faster took, as a fraction of the slower's.
    fn difference(&self) -> f64 {
        let f = self.faster();
        1.0 - self.side(f).median() / self.side(f.other()).median()
    }

    /// In how many of the rounds the median's winner was the faster of the two, and the rounds:
    /// the repetitions alternate, so round `i` of one side ran beside round `i` of the other.
    fn rounds_won(&self) -> (usize, usize) {
        let d = &self.side(self.default).secs;
        let o = &self.side(self.default.other()).secs;
        let pairs = d.iter().zip(o);
        let rounds = pairs.len();
        let won = if self.faster() == self.default {
            pairs.filter(|(d, o)| d <= o).count()
        } else {
            pairs.filter(|(d, o)| o < d).count()
        };
        (won, rounds)
    }

    /// Whether the winner took all rounds but at most one (of at least three).
    fn consistent(&self) -> bool {
        let (won, rounds) = self.rounds_won();
        rounds >= 3 && won + 1 >= rounds
    }
}

/// `the tree: HTTP/1.1 took 12 % less time (1.000 s against 1.136 s; faster in 4 of 5
/// rounds)`-style words.
fn compare(what: &str, p: &Pair) -> String {
    let who = p.faster();
    let (winner, loser) = (p.side(who).median(), p.side(who.other()).median());
    let (won, rounds) = p.rounds_won();
    let pct = p.difference() * 100.0;
    let pct = if pct < 10.0 {
        format!("{pct:.1}")
    } else {
        format!("{pct:.0}")
    };
    format!(
        "{what}: {} took {pct} % less time ({winner:.3} s against {loser:.3} s, medians; \
         faster in {won} of {rounds} rounds)",
        who.name()
    )
}

/// The tree's and the big file's comparisons, or why there is none.
fn comparisons(tree: &[Measured], big: &[Measured]) -> Option<Result<(Pair, Pair), String>> {
    let (t, b) = (pair(tree, 1, 2)?, pair(big, 1, 2)?);
    Some(match (t, b) {
        (Ok(t), Ok(b)) if t.default == b.default => Ok((t, b)),
        (Ok(_), Ok(_)) => Err(
            "the defaults spoke another version for the tree than for the \
                               big file"
                .into(),
        ),
        (Err(e), _) => Err(format!("on the tree, {e}")),
        (_, Err(e)) => Err(format!("on the big file, {e}")),
    })
}

/// What a run without a comparison says.
fn no_comparison(why: &str) -> String {
    format!(
        "**No comparison in this run**: {why}. The comparison needs the defaults to speak one \
         of HTTP/1.1 and HTTP/2 over TLS and `{FLAG}` the other (`ClientBuilder::http2`)."
    )
}

/// Which default the two comparisons support, and why, in words. "Faster" is median against
/// median, as the issue asks to keep the faster; how often the faster won its rounds says how
/// far to trust it. Which side is which version comes from what was measured.
fn verdict(tree: &Pair, big: &Pair) -> String {
    let words = format!(
        "{}; {}",
        compare("the tree", tree),
        compare("the big file", big)
    );
    let default = tree.default;
    let decision = match (tree.faster(), big.faster()) {
        (t, b) if t == b && t == default => format!(
            "**{} (the default) is the faster over both**, so the numbers support keeping it \
             as the default: {words}.",
            t.name()
        ),
        (t, b) if t == b => format!(
            "**{} (`{FLAG}`) is the faster over both**, so the numbers support making {} the \
             default ({}): {words}.",
            t.name(),
            t.name(),
            t.switch()
        ),
        (t, b) => {
            let keep = if tree.difference() >= big.difference() {
                t
            } else {
                b
            };
            format!(
                "**Neither is the faster over both** ({words}). The larger relative difference \
                 favours {}. The two workloads load different clients: the tree is mostly API \
                 requests, the big file is storage alone, and the API and the storage origin \
                 have a `reqwest` client each, so {} to the API with {} to storage (one \
                 `http2` setting per client) would take the better of both.",
                if keep == default {
                    format!(
                        "{}, the default, so that is the default these numbers support",
                        keep.name()
                    )
                } else {
                    format!(
                        "{}, so these numbers support making it the default ({})",
                        keep.name(),
                        keep.switch()
                    )
                },
                t.name(),
                b.name()
            )
        }
    };
    let shaky: Vec<&str> = [("the tree", tree), ("the big file", big)]
        .into_iter()
        .filter(|(_, p)| !p.consistent())
        .map(|(what, _)| what)
        .collect();
    let caveat = if tree.http1.secs.len() < 3 {
        " Fewer than three repetitions: no telling a difference from noise.".to_owned()
    } else if shaky.is_empty() {
        String::new()
    } else {
        format!(
            " On {} the faster won fewer than all rounds but one: there the two are even, \
             within the noise of this machine.",
            shaky.join(" and ")
        )
    };
    let why = format!(
        "Over HTTP/2 ({}) the CLI opened {} API connection(s) for the tree against {} over \
         HTTP/1.1 ({}): over HTTP/1.1 each of the API requests in flight at once (up to 64) \
         needs a connection of its own, and each new one costs a TCP and a TLS handshake, \
         while HTTP/2 multiplexes them on one. On storage it opened {} connection(s) against \
         {}. The big file is one stream: over HTTP/2 its body is cut into DATA frames and paced \
         by the stream's and the connection's flow-control windows, which the client reopens \
         with WINDOW_UPDATEs as it reads; over HTTP/1.1 the body goes straight onto the TLS \
         connection.",
        tree.label(Version::Http2),
        tree.http2.api_connections,
        tree.http1.api_connections,
        tree.label(Version::Http1),
        tree.http2.storage_connections,
        tree.http1.storage_connections,
    );
    format!("{decision}{caveat}\n\n{why}")
}

fn section(tree: &TreePart, big: &BigPart) -> String {
    let mut out = String::new();
    let reps = |rows: &[Measured]| rows.iter().map(|m| m.row.samples.len()).max().unwrap_or(0);
    let _ = writeln!(
        out,
        "## {TITLE}\n\n\
         Case 1's tree, {} files ({}) in {} folders with {LATENCY_MS} ms added to every route \
         (`--fault {}`), served by two `codeocean-sim` processes: one over plain HTTP, one \
         started with `--tls` (a CA and a certificate for `127.0.0.1` generated at start; the \
         clients trust the CA through `CODEOCEAN_CA_CERT`, the file the fourth line of the \
         simulator's banner names). Over TLS both origins offer HTTP/2 and HTTP/1.1 by ALPN. \
         The rows alternate; \"× plain HTTP\" is time ÷ the plain-HTTP row's time (median \
         against median). Connections are those the API and the storage origin accepted during \
         the run (the bench's own request for the stats left out); \"over HTTP/2\" is the \
         share of the requests, both origins, that came over HTTP/2.\n",
        tree.files,
        report::human_bytes(tree.bytes),
        tree.folders,
        tree.fault,
    );
    let base = tree
        .rows
        .first()
        .map_or(f64::NAN, |m| report::median(&m.row.samples));
    let rows: Vec<Vec<String>> = tree
        .rows
        .iter()
        .map(|m| {
            let med = report::median(&m.row.samples);
            vec![
                m.row.name.clone(),
                format!("{med:.3} s"),
                report::spread(&m.row.samples),
                format!("{:.2}", med / base),
                range(m.wire.iter().map(|w| w.api_connections)),
                range(m.wire.iter().map(|w| w.storage_connections)),
                share(&m.wire),
                report::rss(&m.row),
                report::requests(&m.row),
            ]
        })
        .collect();
    report::table(
        &mut out,
        &[
            "tool",
            &format!("time (median of {})", reps(&tree.rows)),
            "min–max (s)",
            "× plain HTTP",
            "API connections",
            "storage connections",
            "over HTTP/2",
            "peak RSS",
            "requests",
        ],
        &rows,
    );
    let _ = writeln!(
        out,
        "\nOne file of {} ({} bytes) over HTTPS, no injected latency: the CLI with its \
         defaults against `{FLAG}`, and curl on the signed URL (obtained once with \
         `codeocean results url`, the CA given with `--cacert`; curl picks its HTTP version by \
         ALPN itself, see its HTTP/2 share) as the reference. HTTP/2's flow control can cost \
         storage throughput, so the default must be the faster here too.\n",
        report::binary_bytes(big.size),
        big.size,
    );
    let base = big
        .rows
        .first()
        .map_or(f64::NAN, |m| report::median(&m.row.samples));
    let rows: Vec<Vec<String>> = big
        .rows
        .iter()
        .map(|m| {
            let med = report::median(&m.row.samples);
            vec![
                m.row.name.clone(),
                format!("{med:.3} s"),
                report::spread(&m.row.samples),
                format!("{:.2} GB/s", big.size as f64 / med / 1e9),
                format!("{:.2}", base / med),
                range(m.wire.iter().map(|w| w.storage_connections)),
                share(&m.wire),
                report::rss(&m.row),
            ]
        })
        .collect();
    report::table(
        &mut out,
        &[
            "tool",
            &format!("time (median of {})", reps(&big.rows)),
            "min–max (s)",
            "throughput",
            "× throughput of curl",
            "storage connections",
            "over HTTP/2",
            "peak RSS",
        ],
        &rows,
    );
    match comparisons(&tree.rows, &big.rows) {
        Some(Ok((t, b))) => {
            let _ = writeln!(out, "\n{}\n", verdict(&t, &b));
        }
        Some(Err(why)) => {
            let _ = writeln!(out, "\n{}\n", no_comparison(&why));
        }
        None => out.push('\n'),
    }
    out
}

/// The defaults' row `d` against the [`FLAG`] row `f`, if both were measured.
fn pair(rows: &[Measured], d: usize, f: usize) -> Option<Result<Pair, String>> {
    Some(Pair::of(Side::of(rows.get(d)?), Side::of(rows.get(f)?)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::proc::Sample;
    use serde_json::json;

    fn side(secs: &[f64], http2: f64, api: u64) -> Side {
        Side {
            secs: secs.to_vec(),
            http2: vec![http2; secs.len()],
            api_connections: api,
            storage_connections: 1,
        }
    }

    /// A comparison over five rounds as the bench runs it: the defaults' times (HTTP/1.1 over
    /// 32 API connections), then `--http2`'s (HTTP/2 over one).
    fn pair(defaults: [f64; 5], http2: [f64; 5]) -> Pair {
        Pair::of(side(&defaults, 0.0, 32), side(&http2, 1.0, 1)).unwrap()
    }

    /// Every round the same time.
    fn flat(t: f64) -> [f64; 5] {
        [t; 5]
    }

    #[test]
    fn the_stats_give_connections_without_the_benchs_own_and_the_http2_share() {
        let stats = json!({
            "counts": {"a_listing": 3, "storage_get": 5},
            "api_connections": 2,
            "storage_connections": 1,
            "http2_requests": 6,
        });
        let w = Wire::of(&stats, 1).unwrap();
        assert_eq!(
            w,
            Wire {
                api_connections: 1,
                storage_connections: 1,
                http2_requests: 6,
                requests: 8
            }
        );
        assert!((w.http2_share() - 0.75).abs() < 1e-9);
        let old = json!({"counts": {}});
        let e = Wire::of(&old, 1).unwrap_err();
        assert!(
            e.to_string()
                .contains("/__sim/stats has no `api_connections`"),
            "{e}"
        );
    }

    #[test]
    fn ranges_and_shares_read_as_one_figure_when_the_repetitions_agree() {
        assert_eq!(range([3, 3]), "3");
        assert_eq!(range([4, 2, 3]), "2–4");
        assert_eq!(range([]), "-");
        let w = |h2, n| Wire {
            api_connections: 0,
            storage_connections: 0,
            http2_requests: h2,
            requests: n,
        };
        assert_eq!(share(&[w(10, 10), w(10, 10)]), "100 %");
        assert_eq!(share(&[w(0, 10), w(5, 10)]), "0–50 %");
        assert_eq!(share(&[w(0, 0)]), "0 %");
    }

    #[test]
    fn http1_the_default_faster_over_both_keeps_the_default() {
        let v = verdict(&pair(flat(1.0), flat(2.0)), &pair(flat(1.0), flat(1.1)));
        assert!(
            v.starts_with(
                "**HTTP/1.1 (the default) is the faster over both**, so the numbers support \
                 keeping it as the default: "
            ),
            "{v}"
        );
        assert!(
            v.contains(
                "the tree: HTTP/1.1 took 50 % less time (1.000 s against 2.000 s, medians; \
                 faster in 5 of 5 rounds)"
            ),
            "{v}"
        );
        assert!(
            v.contains(
                "Over HTTP/2 (`--http2`) the CLI opened 1 API connection(s) for the tree against \
                 32 over HTTP/1.1 (the default)"
            ),
            "{v}"
        );
        assert!(!v.contains("DEFAULT_HTTP2"), "{v}");
        assert!(!v.contains("noise"), "{v}");
    }

    #[test]
    fn http2_faster_over_both_asks_for_the_other_default() {
        let v = verdict(&pair(flat(2.0), flat(1.0)), &pair(flat(1.2), flat(1.0)));
        assert!(
            v.starts_with("**HTTP/2 (`--http2`) is the faster over both**"),
            "{v}"
        );
        assert!(v.contains("`DEFAULT_HTTP2 = true`"), "{v}");
        assert!(
            v.contains("the big file: HTTP/2 took 17 % less time (1.000 s against 1.200 s"),
            "{v}"
        );
    }

    /// Which side is HTTP/2 comes from the share measured: defaults that spoke HTTP/2 (a build
    /// with `DEFAULT_HTTP2 = true`) against a row that spoke HTTP/1.1 read the other way round.
    #[test]
    fn the_sides_are_told_by_the_version_measured_not_by_the_row() {
        let p = |d: [f64; 5], f: [f64; 5]| Pair::of(side(&d, 1.0, 1), side(&f, 0.0, 32)).unwrap();
        let t = p(flat(1.0), flat(2.0));
        assert_eq!(t.default, Version::Http2);
        assert_eq!(t.http2.secs, flat(1.0));
        let v = verdict(&t, &p(flat(1.0), flat(1.1)));
        assert!(
            v.starts_with("**HTTP/2 (the default) is the faster over both**"),
            "{v}"
        );
        assert!(v.contains("the tree: HTTP/2 took 50 % less time"), "{v}");
        let v = verdict(&p(flat(2.0), flat(1.0)), &p(flat(2.0), flat(1.0)));
        assert!(v.contains("`DEFAULT_HTTP2 = false`"), "{v}");
    }

    #[test]
    fn rounds_are_paired_and_a_split_count_is_called_noise() {
        // The median favours HTTP/2, which wins 3 of 5 rounds.
        let p = pair([1.0, 1.1, 1.3, 1.2, 0.9], [1.1, 1.0, 1.0, 1.0, 1.2]);
        assert_eq!(p.faster(), Version::Http2);
        assert_eq!(p.rounds_won(), (3, 5));
        assert!(!p.consistent());
        let v = verdict(&pair(flat(1.0), flat(2.0)), &p);
        assert!(
            v.contains(
                "On the big file the faster won fewer than all rounds but one: there the two \
                 are even, within the noise of this machine."
            ),
            "{v}"
        );
        // 4 of 5 is consistent.
        let p = pair([1.0, 1.1, 1.3, 1.2, 1.2], [1.1, 1.0, 1.0, 1.0, 1.0]);
        assert_eq!(p.rounds_won(), (4, 5));
        assert!(p.consistent());
        // A tie goes to the default.
        let p = pair(flat(1.0), flat(1.0));
        assert_eq!(p.faster(), Version::Http1);
        assert_eq!(p.rounds_won(), (5, 5));
    }

    #[test]
    fn a_split_result_names_both_and_follows_the_larger_difference() {
        // HTTP/1.1 (the default) wins the tree by 50 %, loses the big file by 9 %.
        let v = verdict(&pair(flat(1.0), flat(2.0)), &pair(flat(1.1), flat(1.0)));
        assert!(v.starts_with("**Neither is the faster over both**"), "{v}");
        assert!(v.contains("favours HTTP/1.1, the default, so"), "{v}");
        assert!(
            v.contains("the big file: HTTP/2 took 9.1 % less time"),
            "{v}"
        );
        assert!(
            v.contains("HTTP/1.1 to the API with HTTP/2 to storage"),
            "{v}"
        );
        // HTTP/2 wins the tree by 50 %, loses the big file by 4.8 %.
        let v = verdict(&pair(flat(2.0), flat(1.0)), &pair(flat(1.0), flat(1.05)));
        assert!(
            v.contains(
                "favours HTTP/2, so these numbers support making it the default \
                 (`DEFAULT_HTTP2 = true`"
            ),
            "{v}"
        );
        assert!(
            v.contains("HTTP/2 to the API with HTTP/1.1 to storage"),
            "{v}"
        );
    }

    #[test]
    fn one_repetition_is_called_a_hint() {
        let one = |d: f64, h: f64| Pair::of(side(&[d], 0.0, 32), side(&[h], 1.0, 1)).unwrap();
        let v = verdict(&one(1.0, 2.0), &one(1.0, 2.0));
        assert!(
            v.contains("Fewer than three repetitions: no telling a difference from noise."),
            "{v}"
        );
    }

    #[test]
    fn one_version_on_both_sides_or_a_mix_is_nothing_to_compare() {
        let e = Pair::of(side(&flat(1.0), 0.0, 32), side(&flat(1.0), 0.0, 32)).unwrap_err();
        assert_eq!(
            e,
            "the CLI with its defaults and with `--http2` both spoke HTTP/1.1 only, so both \
             HTTPS rows measure the same thing"
        );
        assert!(no_comparison(&e).starts_with("**No comparison in this run**: the CLI"));
        let e = Pair::of(side(&flat(1.0), 1.0, 1), side(&flat(1.0), 1.0, 1)).unwrap_err();
        assert!(e.contains("both spoke HTTP/2 only"), "{e}");
        let mut mixed = side(&flat(1.0), 1.0, 1);
        mixed.http2[2] = 0.0;
        let e = Pair::of(side(&flat(1.0), 0.0, 32), mixed).unwrap_err();
        assert!(e.contains("mixed HTTP/2 and HTTP/1.1"), "{e}");
        assert!(
            e.contains("0 % over HTTP/2 with the defaults, 100 % with"),
            "{e}"
        );
    }

    fn measured(name: &str, secs: f64, wire: Wire) -> Measured {
        Measured {
            row: Row {
                name: name.into(),
                samples: vec![Sample {
                    secs,
                    rss_kib: Some(20_000),
                }],
                requests: vec![wire.requests],
                counts: vec![("storage_get".into(), wire.requests)],
                bytes: None,
                stats: vec![],
                logs: vec![],
            },
            wire: vec![wire],
        }
    }

    #[test]
    fn the_section_has_both_tables_and_the_verdict() {
        let w = |api, h2| Wire {
            api_connections: api,
            storage_connections: 2,
            http2_requests: h2,
            requests: 10,
        };
        let parts = |flagged: Wire| {
            let tree = TreePart {
                files: 200,
                folders: 31,
                bytes: 20_000_000,
                fault: "all:latency=20".into(),
                rows: vec![
                    measured("plain", 2.0, w(32, 0)),
                    measured("defaults", 2.2, w(32, 0)),
                    measured("http2", 2.6, flagged),
                    measured("crate", 2.1, w(32, 0)),
                ],
            };
            let big = BigPart {
                size: 64 << 20,
                rows: vec![
                    measured("curl", 0.1, w(0, 3)),
                    measured("defaults", 0.2, w(1, 0)),
                    measured("http2", 0.25, w(1, 10)),
                ],
            };
            (tree, big)
        };
        let (tree, big) = parts(w(1, 10));
        let text = section(&tree, &big);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], format!("## {TITLE}"));
        assert_eq!(
            lines[4],
            "| tool | time (median of 1) | min–max (s) | × plain HTTP | API connections | \
             storage connections | over HTTP/2 | peak RSS | requests |"
        );
        assert_eq!(
            lines[7],
            "| defaults | 2.200 s | - | 1.10 | 32 | 2 | 0 % | 20.5 MB | 10 (storage_get 10) |"
        );
        assert_eq!(
            lines[8],
            "| http2 | 2.600 s | - | 1.30 | 1 | 2 | 100 % | 20.5 MB | 10 (storage_get 10) |"
        );
        assert!(
            text.contains("One file of 64 MiB (67108864 bytes) over HTTPS"),
            "{text}"
        );
        assert!(
            text.contains("the CLI with its defaults against `--http2`"),
            "{text}"
        );
        assert!(
            text.contains("| curl | 0.100 s | - | 0.67 GB/s | 1.00 | 2 | 30 % | 20.5 MB |"),
            "{text}"
        );
        assert!(
            text.contains("| defaults | 0.200 s | - | 0.34 GB/s | 0.50 | 2 | 0 % | 20.5 MB |"),
            "{text}"
        );
        assert!(
            text.contains("**HTTP/1.1 (the default) is the faster over both**"),
            "{text}"
        );
        assert!(text.ends_with("connection.\n\n"), "{text:?}");
        // A `--http2` that spoke HTTP/1.1 on the tree: nothing to compare.
        let (tree, big) = parts(w(32, 0));
        let text = section(&tree, &big);
        assert!(
            text.contains(
                "\n**No comparison in this run**: on the tree, the CLI with its defaults and \
                 with `--http2` both spoke HTTP/1.1 only"
            ),
            "{text}"
        );
        assert!(text.ends_with("(`ClientBuilder::http2`).\n\n"), "{text:?}");
    }
}
