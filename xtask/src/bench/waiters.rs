//! Case 4, concurrent waiters: one process (`crates/codeocean/examples/bench_waiters.rs`) starts
//! a run per capsule of a fixture whose runs last from a few seconds to twenty, and waits for all
//! of them at once with `Client::wait_for_computation(..).poll_policy(..)` and a short `PollPolicy`
//! (`crates/codeocean/src/client.rs`). The simulator runs on the real clock (`--time-scale 1`); its request log (with
//! arrival times) gives the polls, `/__sim/computations` the instant each run ended, and the
//! client prints when each waiter returned.

use std::collections::HashMap;
use std::fmt::Write as _;

use anyhow::{Context as _, Result, bail};
use serde_json::Value;

use super::limiter::LimiterEnd;
use super::proc::{self, Sim, Tool};
use super::{Ctx, Operation, fixture, report, start_sim_at};

/// The schedule: first interval, growth factor, longest interval (seconds). Each pause is the
/// nominal interval times (1 + a uniform draw in [0, 1)): backon's jitter.
const INITIAL: f64 = 0.1;
const FACTOR: f64 = 1.5;
const MAX: f64 = 2.0;

/// The nominal intervals d_0, d_1, ...: d_0 = INITIAL, d_k+1 = min(d_k × FACTOR, MAX).
fn nominal(k: usize) -> f64 {
    let mut d = INITIAL;
    for _ in 0..k {
        d = (d * FACTOR).min(MAX);
    }
    d
}

/// Pauses of `scale` × d_k, one after the other, needed to cover `t` seconds: the smallest n with
/// scale × (d_0 + ... + d_n-1) >= t.
fn pauses_to_cover(t: f64, scale: f64) -> u64 {
    let mut covered = 0.0;
    let mut n = 0;
    while covered < t {
        covered += scale * nominal(n);
        n += 1;
    }
    n as u64
}

/// Most polls a waiter makes on a run lasting `t` seconds: the first poll at once, then one
/// after each pause until the pauses cover `t`. Every pause lasts at least its nominal interval
/// (jitter only lengthens it) and request time only delays polls, so the count cannot be larger.
fn poll_bound(t: f64) -> u64 {
    1 + pauses_to_cover(t, 1.0)
}

/// Polls a waiter makes within its first `t` seconds when every pause lasts `scale` × d_k: the
/// first, and one after each pause that ends before `t`.
fn polls_within(t: f64, scale: f64) -> u64 {
    let mut at = 0.0;
    let mut n = 0;
    while at < t {
        n += 1;
        at += scale * nominal(n as usize - 1);
    }
    n
}

/// The polls to expect with the jitter's mean (1.5 × d_k per pause).
fn poll_expected(t: f64) -> u64 {
    1 + pauses_to_cover(t, 1.5)
}

/// One run's record.
struct RunRecord {
    /// Its duration (ends − created).
    duration: f64,
    polls: u64,
    /// Seconds from its end to its waiter's return (client clock).
    lag: f64,
    /// Seconds from its end to the first poll the simulator received after it.
    server_lag: f64,
    /// The longest the pause in progress at its end could last (2 × its nominal interval).
    step_max: f64,
}

/// One repetition.
struct Rep {
    sample: proc::Sample,
    runs: Vec<RunRecord>,
    polls: u64,
    peak_per_sec: u64,
    /// Where the client's API limiter ended (`bench_waiters`' `limiter:` line).
    limiter: Option<LimiterEnd>,
}

/// Runs the case; its Markdown section.
pub(crate) fn case(ctx: &Ctx<'_>) -> Result<String> {
    let (n, lo, hi) = if ctx.opts.quick {
        (100, 1.0, 4.0)
    } else {
        (1000, 2.0, 20.0)
    };
    // Durations spread evenly over [lo, hi], in a shuffled order (a stride prime to n) so that
    // launch order and duration are unrelated.
    let durations: Vec<f64> = (0..n)
        .map(|i| lo + (hi - lo) * ((i * 619) % n) as f64 / (n - 1) as f64)
        .collect();
    let (catalogue, capsules) = fixture::waiters(&durations);
    let list = ctx.work.join("waiters.txt");
    std::fs::write(&list, capsules.join("\n"))?;
    let mut reps = Vec::new();
    for rep in 0..ctx.opts.reps {
        // A fresh simulator each time: its run list and log hold this repetition only.
        let sim = start_sim_at(ctx, "waiters", &catalogue, 1.0, &[])?;
        let r = one_rep(ctx, &sim, &list, n).with_context(|| format!("waiters, round {rep}"))?;
        eprintln!(
            "bench: waiters round {}: {n} waiters, {:.1} s, {} polls, peak {}/s",
            rep + 1,
            r.sample.secs,
            r.polls,
            r.peak_per_sec
        );
        reps.push(r);
    }
    Ok(section(n, lo, hi, &reps))
}

fn one_rep(ctx: &Ctx<'_>, sim: &Sim, list: &std::path::Path, n: usize) -> Result<Rep> {
    let tool = Tool::new(&ctx.bins.waiters)
        .envs(sim.env())
        .arg(list)
        .arg(INITIAL.to_string())
        .arg(MAX.to_string());
    let out = ctx.work.join("waiters.out");
    let stderr = ctx.work.join("waiters.stderr");
    let sample = proc::measure_to(
        &tool,
        ctx.rss.then_some(ctx.work.join("rss.txt").as_path()),
        Some(&out),
        &stderr,
    )?;
    let limiter = LimiterEnd::read(&stderr);
    let mut detected: HashMap<String, f64> = HashMap::new();
    for line in std::fs::read_to_string(&out)?.lines() {
        let v: Value = serde_json::from_str(line).with_context(|| format!("{line:?}"))?;
        let id = v["id"].as_str().context("no id")?.to_owned();
        detected.insert(id, v["detected"].as_f64().context("no detected")?);
    }
    let timeline = sim.admin("/computations")?;
    let timeline = timeline.as_array().context("a list of runs")?;
    if timeline.len() != n || detected.len() != n {
        bail!(
            "{} runs on the simulator, {} reported by the client; expected {n}",
            timeline.len(),
            detected.len()
        );
    }
    let mut polls: HashMap<&str, Vec<f64>> = HashMap::new();
    let log = sim.admin("/requests")?;
    let log = log.as_array().context("a request log")?;
    let mut all = Vec::new();
    for r in log {
        if r["operation"] != Operation::GetComputation.id() {
            continue;
        }
        let at = r["at"].as_f64().context("a request without `at`")?;
        let id = r["path"]
            .as_str()
            .and_then(|p| p.strip_prefix("/api/v1/computations/"))
            .context("a get_computation path")?;
        polls.entry(id).or_default().push(at);
        all.push(at);
    }
    let mut runs = Vec::new();
    for t in timeline {
        let id = t["id"].as_str().context("id")?;
        let created = t["created_at"].as_f64().context("created_at")?;
        let ends = t["ends_at"].as_f64().context("ends_at")?;
        if t["phase"] != "ended" {
            bail!("run {id} has not ended: {t}");
        }
        let mut at = polls.remove(id).unwrap_or_default();
        at.sort_by(f64::total_cmp);
        let before = at.iter().filter(|&&a| a < ends).count();
        let Some(&first_after) = at.get(before) else {
            bail!("no poll of run {id} after its end");
        };
        let lag = detected
            .get(id)
            .context("a run the client did not report")?
            - ends;
        runs.push(RunRecord {
            duration: ends - created,
            polls: at.len() as u64,
            lag,
            server_lag: first_after - ends,
            // The pause after poll number `before` (1-based) is pause number `before - 1`.
            step_max: 2.0 * nominal(before.saturating_sub(1)),
        });
    }
    all.sort_by(f64::total_cmp);
    let start = all.first().copied().unwrap_or(0.0);
    let mut per_sec: HashMap<u64, u64> = HashMap::new();
    for a in &all {
        *per_sec.entry((a - start) as u64).or_default() += 1;
    }
    Ok(Rep {
        sample,
        runs,
        polls: all.len() as u64,
        peak_per_sec: per_sec.values().copied().max().unwrap_or(0),
        limiter,
    })
}

/// The `q` quantile (0..=1) of `v`, nearest rank.
fn quantile(v: &[f64], q: f64) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        return f64::NAN;
    }
    v[((v.len() - 1) as f64 * q).round() as usize]
}

fn section(n: usize, lo: f64, hi: f64, reps: &[Rep]) -> String {
    let mut out = format!("## 4. {n} concurrent waiters on runs of staggered durations\n\n");
    // The schedule's growing steps and the sum before it reaches MAX.
    let mut growing = 0;
    let mut sum = 0.0;
    while nominal(growing) < MAX {
        sum += nominal(growing);
        growing += 1;
    }
    let steps: Vec<String> = (0..growing).map(|k| format!("{:.3}", nominal(k))).collect();
    let _ = writeln!(
        out,
        "One process (`crates/codeocean/examples/bench_waiters.rs`) starts {n} runs at once \
         through one `Client` (its default API limiter: 16 requests at once to start, adapting \
         between 4 and 64) and waits for all of \
         them concurrently, each with `Client::wait_for_computation(..).poll_policy(..)` and the poll schedule \
         `PollPolicy {{ initial_interval: {INITIAL} s, factor: {FACTOR}, max_interval: {MAX} s }}` \
         (the default is 1 s to 30 s; this short one keeps the case to tens of seconds). Each \
         run spends between {lo} s and {hi} s in `running` (evenly spread, a capsule per run, \
         no time initializing or finalizing) on the simulator's real-time clock \
         (`--time-scale 1`), then succeeds. Polls and their arrival times come from the \
         simulator's request log, each run's end from `/__sim/computations`, and the moment \
         each waiter returned from the client (same machine, same clock); \"limiter at end\" is \
         the client's API limiter when all had returned (`Client::api_limiter()`).\n\n\
         **Poll bound.** A waiter polls once at once, then after each pause; pause k lasts \
         d_k × (1 + u), u uniform in [0, 1) (backon's jitter), with d_0 = {INITIAL} s, \
         d_k+1 = min({FACTOR} × d_k, {MAX} s), i.e. {} s, then {MAX} s. Jitter only lengthens \
         pauses and request time only delays polls, so a run lasting T seconds gets at most \
         **polls(T) = 1 + min{{n : d_0 + … + d_n-1 ≥ T}}** polls, which for T ≥ {sum:.3} s is \
         {} + ⌈(T − {sum:.3}) / {MAX}⌉. \"bound\" below is the sum of polls(T) over the runs, \
         \"expected\" the same with the jitter's mean (pauses of 1.5 × d_k).\n\n\
         **Detection lag** is the time from a run's end to its waiter's return: at most the \
         pause in progress at the end (≤ 2 × its d_k, so ≤ {} s once the schedule is at its \
         longest) plus one request. \"over a step\" counts the runs whose lag exceeded \
         2 × the d_k of the pause in progress at their end; \"server lag\" is the end to the \
         first poll the simulator received after it.\n\n\
         **Peak polls per second** is the busiest one-second bin, counted from the first poll. \
         In its first second a waiter polls at least {} times (at once, then after pauses \
         whose jittered sum stays under 1 s) and at most {}: had all {n} waiters started at \
         the same instant, the peak would be between {} and {}. Launching the runs (through \
         the client's API limiter) spreads the starts over a fraction of a second, so \
         the measured peak is lower, and after the first seconds the polls spread out.\n",
        steps.join(", "),
        1 + growing,
        2.0 * MAX,
        polls_within(1.0, 2.0),
        polls_within(1.0, 1.0),
        polls_within(1.0, 2.0) * n as u64,
        polls_within(1.0, 1.0) * n as u64,
    );
    let mut rows = Vec::new();
    for (i, r) in reps.iter().enumerate() {
        let bound: u64 = r.runs.iter().map(|x| poll_bound(x.duration)).sum();
        let expected: u64 = r.runs.iter().map(|x| poll_expected(x.duration)).sum();
        let over_bound = r
            .runs
            .iter()
            .filter(|x| x.polls > poll_bound(x.duration))
            .count();
        let lags: Vec<f64> = r.runs.iter().map(|x| x.lag).collect();
        let server: Vec<f64> = r.runs.iter().map(|x| x.server_lag).collect();
        let over_step: Vec<f64> = r
            .runs
            .iter()
            .filter(|x| x.lag > x.step_max)
            .map(|x| x.lag - x.step_max)
            .collect();
        rows.push(vec![
            (i + 1).to_string(),
            format!("{:.1} s", r.sample.secs),
            format!("{} ({over_bound} runs over)", r.polls),
            bound.to_string(),
            expected.to_string(),
            r.peak_per_sec.to_string(),
            format!(
                "{:.3} / {:.3} / {:.3} s",
                quantile(&lags, 0.5),
                quantile(&lags, 0.99),
                quantile(&lags, 1.0)
            ),
            format!(
                "{:.3} / {:.3} s",
                quantile(&server, 0.5),
                quantile(&server, 1.0)
            ),
            if over_step.is_empty() {
                "0".into()
            } else {
                format!(
                    "{} (by ≤ {:.3} s)",
                    over_step.len(),
                    over_step.iter().copied().fold(0.0, f64::max)
                )
            },
            r.sample.rss_kib.map_or("-".into(), report::kib_mb),
            r.limiter
                .as_ref()
                .map_or("not reported".into(), LimiterEnd::to_string),
        ]);
    }
    report::table(
        &mut out,
        &[
            "round",
            "time",
            "polls (measured)",
            "bound",
            "expected",
            "peak polls/s",
            "lag p50 / p99 / max",
            "server lag p50 / max",
            "over a step",
            "client peak RSS",
            "limiter at end",
        ],
        &rows,
    );
    let total_over: usize = reps
        .iter()
        .flat_map(|r| &r.runs)
        .filter(|x| x.polls > poll_bound(x.duration))
        .count();
    let max_lag = reps
        .iter()
        .flat_map(|r| &r.runs)
        .map(|x| x.lag)
        .fold(f64::NEG_INFINITY, f64::max);
    let lag_over: usize = reps
        .iter()
        .flat_map(|r| &r.runs)
        .filter(|x| x.lag > x.step_max)
        .count();
    let _ = writeln!(
        out,
        "\nTargets (issue #6): polls bounded by the schedule: **{}** ({total_over} runs over \
         their bound in {} rounds); lag ≤ one backoff step: **{}** (largest lag {max_lag:.3} s \
         against a longest step of {} s; {lag_over} runs over the step of their own pause).\n",
        if total_over == 0 { "met" } else { "missed" },
        reps.len(),
        if lag_over == 0 { "met" } else { "missed" },
        2.0 * MAX,
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schedule_grows_to_its_ceiling() {
        assert_eq!(nominal(0), INITIAL);
        assert!((nominal(1) - 0.15).abs() < 1e-12);
        assert_eq!(nominal(50), MAX);
    }

    #[test]
    fn poll_bound_counts_the_first_poll_and_each_pause() {
        // 0.1 covers 0.05 and 0.1; 0.1 + 0.15 covers 0.2.
        assert_eq!(poll_bound(0.05), 2);
        assert_eq!(poll_bound(0.1), 2);
        assert_eq!(poll_bound(0.2), 3);
        // Past the growing steps, one more poll every MAX seconds.
        assert_eq!(poll_bound(100.0) - poll_bound(100.0 - MAX), 1);
        assert!(poll_expected(20.0) < poll_bound(20.0));
        // Within 1 s: at 0, 0.2, 0.5, 0.95 with the longest pauses; one more with the shortest
        // (0.1, 0.25, 0.475, 0.8125).
        assert_eq!(polls_within(1.0, 2.0), 4);
        assert_eq!(polls_within(1.0, 1.0), 5);
    }

    #[test]
    fn quantiles_are_nearest_rank() {
        let v = [3.0, 1.0, 2.0, 4.0, 5.0];
        assert_eq!(quantile(&v, 0.0), 1.0);
        assert_eq!(quantile(&v, 0.5), 3.0);
        assert_eq!(quantile(&v, 1.0), 5.0);
        assert!(quantile(&[], 0.5).is_nan());
    }
}
