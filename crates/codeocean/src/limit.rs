//! The API limiter: one per [`Client`](crate::Client), passed by every API request it sends
//! (downloads' URL calls, walks' listings, waiters' polls, searches...). It does three things:
//!
//! 1. **A shared gate.** A `429` or `503` that carries `Retry-After` holds every API request of
//!    the client until that time has passed, not only the one that got it: the server asked the
//!    client to wait, and the other tasks would only meet the same answer.
//! 2. **Pacing after a throttle.** The first `429`/`503` turns on a request rate (requests per
//!    second, all callers together): a little below the rate the server admitted in the second
//!    before it (measured since the last pause; backed off × 0.7 by a throttle that comes soon
//!    after one), then growing back along CUBIC's curve, quickly up to that level and slowly
//!    beyond it, so the client finds a server's rate limit and stays just under it instead of
//!    meeting it again and again. Turns are not promised ahead: the next one goes to whoever
//!    comes for it once it is due.
//! 3. **Adaptive concurrency.** How many requests are in flight at once: additive increase
//!    (one more per window of answers) while answers stay fast and un-throttled and the window is
//!    in use, multiplicative decrease (× 0.7) on `429`, `503` or an answer that never came, and
//!    × 0.9 on a clear rise in latency (an operation's smoothed latency above twice the lowest
//!    seen for it, plus 10 ms), within the bounds of [`ApiConcurrency::Adaptive`]; and growth
//!    that stops paying is undone: at each step of 25 % growth the answer rate is compared with
//!    the best step's, and after two steps in a row less than 10 % above it the limit goes back
//!    to the one that first reached that rate (a saturated server, or one sharing the client's
//!    CPU, only queues what more concurrency sends it, at latencies too small for the latency
//!    rule to see, and each request in flight holds a connection and its buffers). Reacting once per episode: only
//!    a signal from a request sent after the last decrease decreases again (as TCP does).
//!    After a throttle, the concurrency at that moment is a ceiling that growth approaches
//!    quickly and passes only slowly.
//!
//! Prior art (facts, not code): TCP's AIMD and its one-decrease-per-window rule; the AWS SDKs'
//! "adaptive" retry mode (a client-side rate set from the measured rate at a throttle, growing
//! back cubically); Netflix's `concurrency-limits` (AIMD and gradient limiters on latency).

use std::collections::VecDeque;
use std::fmt;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::sync::{Semaphore, SemaphorePermit};
use tokio::time::Instant;

/// How many API requests a client keeps in flight at once, across all the tasks that use it
/// (`ClientBuilder::api_concurrency` and `adaptive_api_concurrency`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ApiConcurrency {
    /// Exactly this many at most, whatever the server's answers.
    Fixed(usize),
    /// Starts at `initial` and adapts between `min` and `max` (see [`ApiConcurrency::DEFAULT`]).
    Adaptive {
        /// Never fewer than this (at least 1).
        min: usize,
        /// Where it starts.
        initial: usize,
        /// Never more than this.
        max: usize,
    },
}

impl ApiConcurrency {
    /// The default: adaptive from 16, between 4 and 64 requests in flight.
    pub(crate) const DEFAULT: ApiConcurrency = ApiConcurrency::Adaptive {
        min: 4,
        initial: 16,
        max: 64,
    };

    /// Adaptive between `min` and `max` (in either order; at least 1), starting at 16 within
    /// those bounds.
    pub(crate) fn adaptive(min: usize, max: usize) -> Self {
        let (min, max) = (min.min(max).max(1), max.max(min).max(1));
        ApiConcurrency::Adaptive {
            min,
            initial: 16.clamp(min, max),
            max,
        }
    }

    /// The most in flight.
    pub(crate) fn max(self) -> usize {
        self.normalized().2
    }

    /// The bounds and start, ordered and at least 1.
    fn normalized(self) -> (usize, usize, usize, bool) {
        match self {
            ApiConcurrency::Fixed(n) => {
                let n = n.max(1);
                (n, n, n, false)
            }
            ApiConcurrency::Adaptive { min, initial, max } => {
                let (min, max) = (min.min(max).max(1), max.max(min).max(1));
                (min, initial.clamp(min, max), max, true)
            }
        }
    }
}

impl Default for ApiConcurrency {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// What a client's API limiter stands at ([`Client::api_limiter`](crate::Client::api_limiter)),
/// or where a download's limit on storage transfers ended ([`Summary::transfers`](crate::Summary::transfers),
/// the same rules over storage GETs): a snapshot, for logs, benchmarks and tuning.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct LimiterState {
    /// API requests allowed in flight at once now.
    pub concurrency: usize,
    /// Whether that number adapts (`false`: fixed by
    /// [`ClientBuilder::api_concurrency`](crate::ClientBuilder::api_concurrency), or for
    /// transfers by [`Download::concurrency`](crate::Download::concurrency)).
    pub adaptive: bool,
    /// The rate, in requests per second, the client paces all its API requests to: set at the
    /// first `429`/`503`, `None` before.
    pub rate: Option<f64>,
    /// `429` and `503` answers seen.
    pub throttled: u64,
    /// API requests in flight now.
    pub in_flight: usize,
    /// Notable changes, oldest first: every decrease, and growth once it has moved the
    /// concurrency or the rate by a tenth since the last change kept. At most
    /// [`LimiterState::MAX_CHANGES`] (the oldest are dropped).
    pub changes: Vec<LimiterChange>,
}

impl LimiterState {
    /// The most changes kept.
    pub const MAX_CHANGES: usize = 256;
}

/// One notable change of a client's API limiter.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct LimiterChange {
    /// When, since the client was built.
    pub at: Duration,
    /// The concurrency after it.
    pub concurrency: usize,
    /// The rate after it (requests per second), if pacing is on.
    pub rate: Option<f64>,
    /// Why.
    pub cause: LimitCause,
}

/// Why an API limiter changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum LimitCause {
    /// Answers came fast and un-throttled: it grew.
    Growth,
    /// The server answered `429` or `503`, or did not answer in time: it backed off.
    Throttled,
    /// Latency rose clearly above the lowest seen: it backed off.
    Latency,
    /// Growing stopped paying: two steps of growth in a row brought no more answers a second,
    /// so it went back to the concurrency that reached that rate first.
    Plateau,
}

impl fmt::Display for LimitCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LimitCause::Growth => "growth",
            LimitCause::Throttled => "throttled",
            LimitCause::Latency => "latency",
            LimitCause::Plateau => "plateau",
        })
    }
}

/// Multiplicative decrease on a throttle or a missing answer.
const BACKOFF: f64 = 0.7;
/// Growth is judged by the answer rate once per step of this much growth.
const PLATEAU_STEP: f64 = 1.25;
/// A step whose rate is not this much above the best rate so far gained nothing.
const PLATEAU_GAIN: f64 = 1.10;
/// Steps in a row that gained nothing before growth stops paying.
const PLATEAU_STEPS: u32 = 2;
/// Fewer answers than this in a step tell nothing about its rate.
const PLATEAU_ANSWERS: u64 = 64;
/// Multiplicative decrease on a clear rise in latency.
const LATENCY_BACKOFF: f64 = 0.9;
/// The pace set at a throttle, against the rate admitted just before it.
const RATE_BELOW: f64 = 0.95;
/// CUBIC's constant for the pace, relative to the level measured at the last throttle: back
/// at that level after (0.05 / C)^⅓ ≈ 2.2 s of use, 10 % above it 2.7 s later, twice as fast
/// 5.8 s later, ten times 12 s later.
const RATE_PROBE: f64 = 0.005;
/// The same when the level was measured over less than a full window (the client had been
/// answered for less than a second): then it is a poor guess (a server's burst allowance, or
/// a limit of requests at once, looks like a low rate), so it is left behind ten times as
/// fast: back at the level after 1 s, ten times it 5.7 s later.
const RATE_PROBE_COLD: f64 = 0.05;
/// The window the admitted rate is measured over.
const RATE_WINDOW: Duration = Duration::from_secs(1);
/// Bins of that window.
const BINS: usize = 10;
/// How long the lowest latency seen is remembered (it is the lower of this window's and the
/// last one's).
const BASE_WINDOW: Duration = Duration::from_secs(30);
/// Beyond the ceiling, growth needs this many windows of answers per step.
const PROBE_WINDOWS: usize = 8;
/// The slowest pace ever set, in requests per second.
const MIN_RATE: f64 = 0.5;

/// How an API request ended, for the limiter.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Signal {
    /// The server answered (with anything but `429`/`503`).
    Answered,
    /// `429` or `503`, with the server's `Retry-After` if it sent one.
    Throttled(Option<Duration>),
    /// No answer within the attempt timeout (or a `504`).
    NoAnswer,
    /// Says nothing about the server's capacity (the connection failed, ...).
    Neutral,
}

/// The limiter of one client.
pub(crate) struct ApiLimiter {
    permits: Semaphore,
    state: Mutex<State>,
    created: Instant,
    adaptive: bool,
    min: usize,
    max: usize,
    /// The longest shared pause a `Retry-After` may set.
    max_pause: Duration,
}

struct State {
    /// Allowed in flight.
    limit: usize,
    /// Permits to forget as they come back: the limit was lowered below what was in use.
    debt: usize,
    in_flight: usize,
    /// Answers counted towards the next step of growth.
    acked: usize,
    /// The concurrency at the last throttle.
    ceiling: Option<usize>,
    /// Only a signal from a request sent after this decreases again.
    last_decrease: Option<Instant>,
    /// Latency per operation: operations differ (a listing of a large folder takes longer
    /// than a URL), so each is compared with its own lowest.
    latency: Vec<(&'static str, Latency)>,
    /// Pacing: requests per second (`None`: off), then CUBIC's state, the next turn and the
    /// last growth.
    rate: Option<f64>,
    /// The level measured at the last throttle (CUBIC's `W_max`).
    rate_max: f64,
    /// Seconds of use since the last throttle.
    rate_clock: f64,
    /// CUBIC's constant for the level measured last (RATE_PROBE, or RATE_PROBE_COLD).
    rate_probe: f64,
    /// The first answer the limiter counted.
    first_answer: Option<Instant>,
    next_slot: Instant,
    rate_grown: Instant,
    /// Answers per tenth of the window, as a ring: bin `e % BINS` counts tenth `e` since
    /// `origin`, `bin_epoch` the latest tenth counted.
    bins: [u32; BINS],
    bin_epoch: u64,
    origin: Instant,
    /// The shared gate: no API request leaves before this.
    paused_until: Option<Instant>,
    /// The end of the last pause: what was admitted is measured after it.
    sending_since: Option<Instant>,
    throttled: u64,
    changes: VecDeque<LimiterChange>,
    /// What the last kept change said.
    kept: (usize, Option<f64>),
    /// Answers counted since the limiter was made.
    answers: u64,
    /// Whether growth pays ([`ApiLimiter::judge_growth`]).
    plateau: Plateau,
}

/// Whether growing pays: the answer rate over each step of [`PLATEAU_STEP`] growth, against the
/// best so far. A server that answers no faster with more requests in flight only queues them
/// (a saturated server, or a client whose own CPU is the limit): more concurrency there costs
/// connections and memory and buys nothing, however small the latency stays. Reset by every
/// decrease for a throttle or latency (what was measured before no longer holds); a decrease
/// for a plateau keeps the best rate, which further growth must then beat.
#[derive(Default)]
struct Plateau {
    /// Where the current step started: the limit, the answers counted then, when.
    from: Option<(usize, u64, Instant)>,
    /// The best rate of a step (answers a second) and the limit at the end of the first step
    /// that came within [`PLATEAU_GAIN`] of it.
    best: Option<(f64, usize)>,
    /// Steps in a row that gained nothing.
    flat: u32,
}

impl ApiLimiter {
    pub(crate) fn new(concurrency: ApiConcurrency, max_pause: Duration) -> Self {
        let (min, initial, max, adaptive) = concurrency.normalized();
        let now = Instant::now();
        ApiLimiter {
            permits: Semaphore::new(initial),
            state: Mutex::new(State {
                limit: initial,
                debt: 0,
                in_flight: 0,
                acked: 0,
                ceiling: None,
                last_decrease: None,
                latency: Vec::new(),
                rate: None,
                rate_max: 0.0,
                rate_clock: 0.0,
                rate_probe: RATE_PROBE,
                first_answer: None,
                next_slot: now,
                rate_grown: now,
                bins: [0; BINS],
                bin_epoch: 0,
                origin: now,
                paused_until: None,
                sending_since: None,
                throttled: 0,
                changes: VecDeque::new(),
                kept: (initial, None),
                answers: 0,
                plateau: Plateau::default(),
            }),
            created: now,
            adaptive,
            min,
            max,
            max_pause,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits for the gate, a slot of the concurrency and, when pacing is on, the request's
    /// turn; the ticket goes with the request and says how it ended.
    pub(crate) async fn acquire(&self, operation: &'static str) -> Ticket<'_> {
        self.wait_for_gate().await;
        let permit = self
            .permits
            .acquire()
            .await
            .expect("the semaphore is never closed");
        loop {
            // Paused while waiting for the slot or the turn: wait again (holding the slot;
            // nothing leaves while the gate is shut).
            self.wait_for_gate().await;
            let turn = match self.take_turn() {
                Ok(in_flight) => {
                    return Ticket {
                        limiter: self,
                        permit: Some(permit),
                        sent: Instant::now(),
                        in_flight,
                        operation,
                        recorded: false,
                    };
                }
                Err(turn) => turn,
            };
            // Cancelled here, the permit goes back with nothing counted.
            if let Some(turn) = turn {
                tokio::time::sleep_until(turn).await;
            }
        }
    }

    /// The request may leave now (`Ok`, with the number in flight, itself counted), or not
    /// yet: `Err` with when its turn may come (`None`: the gate shut again).
    ///
    /// Pacing: the next turn goes to whoever comes for it first once it is due; no turn is
    /// promised ahead, so one given up (paused, cancelled) is not lost and turns never pile up
    /// into the future.
    fn take_turn(&self) -> std::result::Result<usize, Option<Instant>> {
        let mut s = self.lock();
        let now = Instant::now();
        if s.paused_until.is_some_and(|t| t > now) {
            return Err(None);
        }
        if let Some(rate) = s.rate {
            if s.next_slot > now {
                return Err(Some(s.next_slot));
            }
            // At most one interval of catching up after a quiet spell: no burst.
            let interval = Duration::from_secs_f64(1.0 / rate);
            s.next_slot = s.next_slot.max(now - interval) + interval;
        }
        s.in_flight += 1;
        Ok(s.in_flight)
    }

    async fn wait_for_gate(&self) {
        loop {
            let until = self.lock().paused_until;
            match until {
                Some(t) if t > Instant::now() => tokio::time::sleep_until(t).await,
                _ => return,
            }
        }
    }

    /// A snapshot.
    pub(crate) fn state(&self) -> LimiterState {
        let s = self.lock();
        LimiterState {
            concurrency: s.limit,
            adaptive: self.adaptive,
            rate: s.rate,
            throttled: s.throttled,
            in_flight: s.in_flight,
            changes: s.changes.iter().cloned().collect(),
        }
    }

    /// A request of `operation` sent at `sent` (with `in_flight` in flight then) ended with
    /// `signal`.
    fn record(&self, operation: &'static str, sent: Instant, in_flight: usize, signal: Signal) {
        let now = Instant::now();
        let mut s = self.lock();
        s.in_flight = s.in_flight.saturating_sub(1);
        let fresh = s.last_decrease.is_none_or(|d| sent > d);
        match signal {
            Signal::Neutral => {}
            Signal::Answered => {
                s.count_answer(now);
                s.answers += 1;
                let latency = now.saturating_duration_since(sent);
                let congested = s.observe_latency(operation, now, latency);
                s.grow_rate(now);
                if !self.adaptive {
                    return;
                }
                if congested {
                    if fresh {
                        self.decrease(&mut s, now, LATENCY_BACKOFF, LimitCause::Latency);
                    }
                } else if in_flight * 2 >= s.limit {
                    self.grow(&mut s, now);
                }
            }
            Signal::Throttled(retry_after) => {
                s.throttled += 1;
                // Measured before this pause is counted: what was admitted since the last.
                // (The first throttle turns pacing on even when a decrease for latency came
                // after its request was sent.)
                if fresh || s.rate.is_none() {
                    s.set_rate(now);
                }
                if let Some(ra) = retry_after {
                    let until = now + ra.min(self.max_pause);
                    let until = s.paused_until.map_or(until, |p| p.max(until));
                    s.paused_until = Some(until);
                    s.sending_since = Some(until);
                    // The first turn after the pause is at its end, the next one a pace's
                    // interval later: no catching up on the time paused.
                    s.next_slot = s.next_slot.max(until);
                }
                if fresh {
                    if self.adaptive {
                        s.ceiling = Some(s.limit);
                        self.decrease(&mut s, now, BACKOFF, LimitCause::Throttled);
                    } else {
                        s.last_decrease = Some(now);
                        self.keep(&mut s, now, LimitCause::Throttled);
                    }
                }
            }
            Signal::NoAnswer => {
                if self.adaptive && fresh {
                    self.decrease(&mut s, now, BACKOFF, LimitCause::Throttled);
                }
            }
        }
    }

    /// One more in flight, once a window of answers (several windows beyond the ceiling).
    fn grow(&self, s: &mut State, now: Instant) {
        if s.limit >= self.max {
            return;
        }
        s.acked += 1;
        let windows = match s.ceiling {
            Some(c) if s.limit >= c => PROBE_WINDOWS,
            _ => 1,
        };
        if s.acked < s.limit * windows {
            return;
        }
        s.acked = 0;
        if s.debt > 0 {
            s.debt -= 1;
        } else {
            self.permits.add_permits(1);
        }
        s.limit += 1;
        self.keep_if_notable(s, now);
        self.judge_growth(s, now);
    }

    /// At the end of each step of growth: whether it brought more answers a second than the
    /// best step so far; after [`PLATEAU_STEPS`] steps in a row that did not, back to the limit
    /// that reached the best rate first, which becomes a ceiling growth passes only slowly.
    fn judge_growth(&self, s: &mut State, now: Instant) {
        let Some((from, answers_then, since)) = s.plateau.from else {
            s.plateau.from = Some((s.limit, s.answers, now));
            return;
        };
        if (s.limit as f64) < from as f64 * PLATEAU_STEP {
            return;
        }
        s.plateau.from = Some((s.limit, s.answers, now));
        let (answers, secs) = (s.answers - answers_then, (now - since).as_secs_f64());
        if answers < PLATEAU_ANSWERS || secs <= 0.0 {
            return;
        }
        let rate = answers as f64 / secs;
        match s.plateau.best {
            Some((best, at)) if rate < best * PLATEAU_GAIN => {
                s.plateau.best = Some((best.max(rate), at));
                s.plateau.flat += 1;
                if s.plateau.flat >= PLATEAU_STEPS && at < s.limit {
                    s.ceiling = Some(at);
                    self.decrease_to(s, now, at, LimitCause::Plateau);
                }
            }
            _ => {
                s.plateau.best = Some((rate, s.limit));
                s.plateau.flat = 0;
            }
        }
    }

    /// Lowers the limit by `factor` (not below the minimum; see [`Self::decrease_to`]).
    fn decrease(&self, s: &mut State, now: Instant, factor: f64, cause: LimitCause) {
        let to = (s.limit as f64 * factor).floor() as usize;
        self.decrease_to(s, now, to, cause);
    }

    /// Lowers the limit to `to` (not below the minimum). A plateau keeps the best rate
    /// measured (further growth must beat it); any other cause forgets what was measured.
    fn decrease_to(&self, s: &mut State, now: Instant, to: usize, cause: LimitCause) {
        s.last_decrease = Some(now);
        s.acked = 0;
        s.plateau = match cause {
            LimitCause::Plateau => Plateau {
                best: s.plateau.best,
                ..Plateau::default()
            },
            _ => Plateau::default(),
        };
        let to = to.max(self.min);
        if to < s.limit {
            let cut = s.limit - to;
            let forgotten = self.permits.forget_permits(cut);
            s.debt += cut - forgotten;
            s.limit = to;
        }
        self.keep(s, now, cause);
    }

    fn keep_if_notable(&self, s: &mut State, now: Instant) {
        let (c, r) = s.kept;
        let moved = |a: f64, b: f64| (a - b).abs() >= b.abs() * 0.1;
        let notable = moved(s.limit as f64, c as f64)
            || (s.limit == self.max && c != self.max)
            || match (s.rate, r) {
                (Some(a), Some(b)) => moved(a, b),
                (a, b) => a.is_some() != b.is_some(),
            };
        if notable {
            self.keep(s, now, LimitCause::Growth);
        }
    }

    fn keep(&self, s: &mut State, now: Instant, cause: LimitCause) {
        if s.changes.len() == LimiterState::MAX_CHANGES {
            s.changes.pop_front();
        }
        s.changes.push_back(LimiterChange {
            at: now.saturating_duration_since(self.created),
            concurrency: s.limit,
            rate: s.rate,
            cause,
        });
        s.kept = (s.limit, s.rate);
        tracing::debug!(
            concurrency = s.limit,
            rate = s.rate,
            throttled = s.throttled,
            %cause,
            "API limiter changed"
        );
    }

    /// Gives back a slot (forgotten instead while the limit owes some).
    fn release(&self, permit: SemaphorePermit<'_>) {
        let mut s = self.lock();
        if s.debt > 0 {
            s.debt -= 1;
            permit.forget();
        }
    }
}

impl State {
    /// The bin of `now` (whole tenths of the window since the limiter's clock started).
    fn bin_of(now: Instant, origin: Instant) -> u64 {
        let tenth = RATE_WINDOW.as_nanos() / BINS as u128;
        (now.saturating_duration_since(origin).as_nanos() / tenth) as u64
    }

    /// Moves the ring to `epoch`, emptying the bins it passes.
    fn roll(&mut self, epoch: u64) {
        if epoch <= self.bin_epoch {
            return;
        }
        let gap = (epoch - self.bin_epoch).min(BINS as u64);
        for i in 1..=gap {
            self.bins[((self.bin_epoch + i) % BINS as u64) as usize] = 0;
        }
        self.bin_epoch = epoch;
    }

    fn count_answer(&mut self, now: Instant) {
        self.first_answer.get_or_insert(now);
        let epoch = Self::bin_of(now, self.origin);
        self.roll(epoch);
        self.bins[(epoch % BINS as u64) as usize] += 1;
    }

    /// Answers per second over the last window.
    fn window_rate(&mut self, now: Instant) -> f64 {
        self.roll(Self::bin_of(now, self.origin));
        f64::from(self.bins.iter().sum::<u32>()) / RATE_WINDOW.as_secs_f64()
    }

    /// What the server admitted lately, in answers per second: over the last window, or,
    /// when a pause ended within it, over the time since (then [`Admitted::Short`]: a server's
    /// burst allowance, refilled during the pause, inflates it).
    fn admitted(&mut self, now: Instant) -> Admitted {
        let epoch = Self::bin_of(now, self.origin);
        self.roll(epoch);
        let Some(since) = self.sending_since.filter(|t| *t > now - RATE_WINDOW) else {
            return Admitted::Window(self.window_rate(now));
        };
        let span = now.saturating_duration_since(since);
        if span < RATE_WINDOW / 4 {
            return Admitted::Unknown;
        }
        let from = Self::bin_of(since, self.origin);
        let count: u32 = (from..=epoch)
            .map(|e| self.bins[(e % BINS as u64) as usize])
            .sum();
        Admitted::Short(f64::from(count) / span.as_secs_f64())
    }

    /// Turns pacing on (or lowers it) at a throttle. The first time, the level is what the
    /// server admitted in the last window (a client answered for less than a window gets a
    /// low, cautious level, left behind fast: RATE_PROBE_COLD). Later, the lower of the pace
    /// and what was admitted over a window; or, when the throttle came within a window of
    /// the last pause's end (the pace was too fast even then), the lower of that and the pace
    /// × BACKOFF (the pace × BACKOFF alone within a quarter of a window: too little to
    /// measure). The level is where growth returns to and then probes beyond.
    fn set_rate(&mut self, now: Instant) {
        let level = match (self.rate, self.admitted(now)) {
            // The first time, over the whole window, pauses or not: the only measure there is.
            (None, _) => self.window_rate(now),
            (Some(r), Admitted::Window(a)) => r.min(a),
            (Some(r), Admitted::Short(a)) => (r * BACKOFF).min(a),
            (Some(r), Admitted::Unknown) => r * BACKOFF,
        };
        self.rate_max = level.max(MIN_RATE);
        self.rate_clock = 0.0;
        let cold = self
            .first_answer
            .is_none_or(|t| now.saturating_duration_since(t) < RATE_WINDOW);
        self.rate_probe = if cold { RATE_PROBE_COLD } else { RATE_PROBE };
        self.rate = Some(self.cubic());
        self.rate_grown = now;
    }

    /// The pace after `rate_clock` seconds of use since the last throttle: CUBIC's curve,
    /// `W_max × (1 + C × (t − K)³)`, starting at RATE_BELOW × `W_max`, back at `W_max` after
    /// K seconds, then faster and faster beyond it (so a level measured too low is left behind
    /// within seconds, and one measured right is passed slowly).
    fn cubic(&self) -> f64 {
        let k = ((1.0 - RATE_BELOW) / self.rate_probe).cbrt();
        let t = self.rate_clock - k;
        (self.rate_max * (1.0 + self.rate_probe * t * t * t)).max(MIN_RATE)
    }

    /// Pacing grows along [`cubic`](Self::cubic) while it is in use and un-throttled.
    fn grow_rate(&mut self, now: Instant) {
        let Some(rate) = self.rate else { return };
        let dt = now.saturating_duration_since(self.rate_grown).as_secs_f64();
        if dt < 0.05 {
            return;
        }
        self.rate_grown = now;
        // In use: requests were waiting for their turn within the last interval. (A pace that
        // is not what holds the client back does not grow: it would mean nothing.)
        let interval = Duration::from_secs_f64(1.0 / rate);
        if self.next_slot + interval < now {
            return;
        }
        self.rate_clock += dt.min(1.0);
        self.rate = Some(self.cubic());
    }

    /// Updates the latency estimates of `operation`; whether its latency has clearly risen.
    fn observe_latency(
        &mut self,
        operation: &'static str,
        now: Instant,
        latency: Duration,
    ) -> bool {
        let i = match self.latency.iter().position(|(op, _)| *op == operation) {
            Some(i) => i,
            None => {
                self.latency.push((operation, Latency::new(now, latency)));
                return false;
            }
        };
        self.latency[i].1.observe(now, latency)
    }
}

/// The latency of one operation: smoothed, and the lowest seen lately.
struct Latency {
    /// Smoothed latency, seconds.
    ewma: f64,
    /// Lowest latency in this window and the last.
    base_now: Duration,
    base_before: Option<Duration>,
    since: Instant,
}

impl Latency {
    fn new(now: Instant, latency: Duration) -> Self {
        Latency {
            ewma: latency.as_secs_f64(),
            base_now: latency,
            base_before: None,
            since: now,
        }
    }

    /// Counts one answer; whether latency has clearly risen above the lowest.
    fn observe(&mut self, now: Instant, latency: Duration) -> bool {
        if now.saturating_duration_since(self.since) >= BASE_WINDOW {
            self.base_before = Some(self.base_now);
            self.base_now = latency;
            self.since = now;
        }
        self.base_now = self.base_now.min(latency);
        self.ewma = 0.9 * self.ewma + 0.1 * latency.as_secs_f64();
        let base = self
            .base_before
            .map_or(self.base_now, |b| b.min(self.base_now));
        self.ewma > 2.0 * base.as_secs_f64() + 0.010
    }
}

/// What a server admitted lately ([`State::admitted`]).
enum Admitted {
    /// Over the last window.
    Window(f64),
    /// Over the time since a pause ended, less than a window.
    Short(f64),
    /// A pause ended less than a quarter of a window ago: too little to tell.
    Unknown,
}

/// A request's place in the limiter: tell it how the request ended ([`Ticket::done`]); dropped
/// unfinished (the call was cancelled), it just gives its slot back.
pub(crate) struct Ticket<'a> {
    limiter: &'a ApiLimiter,
    permit: Option<SemaphorePermit<'a>>,
    sent: Instant,
    in_flight: usize,
    operation: &'static str,
    /// Whether how it ended was told ([`Ticket::answered`]).
    recorded: bool,
}

impl Ticket<'_> {
    /// The request ended with `signal`.
    pub(crate) fn done(mut self, signal: Signal) {
        self.answered(signal);
        if let Some(p) = self.permit.take() {
            self.limiter.release(p);
        }
    }

    /// The request was answered with `signal` (its latency measured now), but it keeps its
    /// slot until the ticket is dropped: a storage transfer, answered at its headers, whose
    /// body then holds the connection. Only the first answer of a ticket counts.
    pub(crate) fn answered(&mut self, signal: Signal) {
        if !self.recorded {
            self.recorded = true;
            (self.limiter).record(self.operation, self.sent, self.in_flight, signal);
        }
    }
}

impl Drop for Ticket<'_> {
    fn drop(&mut self) {
        if let Some(p) = self.permit.take() {
            if !self.recorded {
                let mut s = self.limiter.lock();
                s.in_flight = s.in_flight.saturating_sub(1);
            }
            self.limiter.release(p);
        }
    }
}

#[cfg(test)]
mod tests {
    //! The limiter against model servers, on tokio's paused clock: time only moves when every
    //! task waits, so these runs are exact and take milliseconds.

    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

    use super::*;

    /// A server's answer to one request.
    enum Answer {
        Ok,
        Throttled(Option<Duration>),
    }

    /// A model server: decides at arrival, answers after its latency.
    trait Server: Send + Sync + 'static {
        /// The request arrives with `in_flight` others being served.
        fn arrive(&self, now: Instant, in_flight: usize) -> Answer;
        /// How long it takes to answer a request of `operation` with `in_flight` being served.
        fn latency(&self, _operation: &'static str, _in_flight: usize) -> Duration {
            Duration::from_millis(20)
        }
        /// The operation of job `n`.
        fn operation(&self, _n: usize) -> &'static str {
            "test"
        }
    }

    /// A token bucket per client: `rate` a second, `burst` at most; an empty bucket answers
    /// `429` with `Retry-After` in whole seconds, at least 1 (as the simulator does).
    struct Bucket {
        rate: f64,
        burst: f64,
        state: Mutex<(f64, Option<Instant>)>,
    }

    impl Bucket {
        fn new(rate: f64, burst: f64) -> Self {
            Bucket {
                rate,
                burst,
                state: Mutex::new((burst, None)),
            }
        }
    }

    impl Server for Bucket {
        fn arrive(&self, now: Instant, _: usize) -> Answer {
            let mut s = self.state.lock().unwrap();
            let (tokens, at) = *s;
            let dt = at.map_or(0.0, |a| now.saturating_duration_since(a).as_secs_f64());
            let tokens = (tokens + dt * self.rate).min(self.burst);
            if tokens >= 1.0 {
                *s = (tokens - 1.0, Some(now));
                Answer::Ok
            } else {
                *s = (tokens, Some(now));
                let wait = ((1.0 - tokens) / self.rate).ceil().max(1.0);
                Answer::Throttled(Some(Duration::from_secs_f64(wait)))
            }
        }
    }

    /// Serves `max` at once; beyond, `503` (no `Retry-After`).
    struct MaxInflight(usize);

    impl Server for MaxInflight {
        fn arrive(&self, _: Instant, in_flight: usize) -> Answer {
            if in_flight >= self.0 {
                Answer::Throttled(None)
            } else {
                Answer::Ok
            }
        }
    }

    /// Never refuses; its latency grows once more than `capacity` are served at once (a queue).
    struct Queueing {
        capacity: usize,
    }

    impl Server for Queueing {
        fn arrive(&self, _: Instant, _: usize) -> Answer {
            Answer::Ok
        }
        fn latency(&self, _: &'static str, in_flight: usize) -> Duration {
            let load = (in_flight + 1) as f64 / self.capacity as f64;
            Duration::from_millis(20).mul_f64(load.max(1.0))
        }
    }

    /// A fast server that answers at most `capacity` requests per 2 ms (its latency grows in
    /// proportion beyond `capacity` at once): the simulator on loopback with the client on the
    /// same two cores, as in the bench's scaling case. Its latency stays far under the latency
    /// rule's threshold (twice the lowest plus 10 ms) until some 100 at once.
    struct Saturated {
        capacity: usize,
    }

    impl Server for Saturated {
        fn arrive(&self, _: Instant, _: usize) -> Answer {
            Answer::Ok
        }
        fn latency(&self, _: &'static str, in_flight: usize) -> Duration {
            let load = (in_flight + 1) as f64 / self.capacity as f64;
            Duration::from_millis(2).mul_f64(load.max(1.0))
        }
    }

    /// [`Saturated`] whose capacity grows from `before` to `after` at `at` after it was made
    /// (more instances come up behind a load balancer).
    struct Growing {
        before: usize,
        after: usize,
        at: Instant,
    }

    impl Server for Growing {
        fn arrive(&self, _: Instant, _: usize) -> Answer {
            Answer::Ok
        }
        fn latency(&self, operation: &'static str, in_flight: usize) -> Duration {
            let capacity = if Instant::now() < self.at {
                self.before
            } else {
                self.after
            };
            Saturated { capacity }.latency(operation, in_flight)
        }
    }

    /// A server of unlimited capacity whose latency varies between 80 and 160 ms, request by
    /// request (a fixed pseudo-random sequence): a real deployment over the internet.
    struct Jittery {
        draws: AtomicU64,
    }

    impl Server for Jittery {
        fn arrive(&self, _: Instant, _: usize) -> Answer {
            Answer::Ok
        }
        fn latency(&self, _: &'static str, _: usize) -> Duration {
            // A 64-bit LCG (Knuth's MMIX constants), its high bits.
            let n = self.draws.fetch_add(1, Ordering::Relaxed);
            let x = n
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let unit = (x >> 11) as f64 / (1u64 << 53) as f64;
            Duration::from_millis(80).mul_f64(1.0 + unit)
        }
    }

    /// A fast server whose listings of large folders take ten times as long as anything else.
    struct Mixed;

    impl Server for Mixed {
        fn arrive(&self, _: Instant, _: usize) -> Answer {
            Answer::Ok
        }
        fn latency(&self, operation: &'static str, _: usize) -> Duration {
            match operation {
                "list" => Duration::from_millis(300),
                _ => Duration::from_millis(30),
            }
        }
        fn operation(&self, n: usize) -> &'static str {
            if n.is_multiple_of(3) { "list" } else { "urls" }
        }
    }

    /// What a run did.
    struct Run {
        elapsed: Duration,
        sent: u64,
        throttled: u64,
        state: LimiterState,
    }

    /// `jobs` requests by `workers` tasks through one limiter to `server`; a throttled request
    /// is sent again after its `Retry-After` (or 100 ms), as `Client::send` does.
    async fn run(server: impl Server, limiter: ApiLimiter, workers: usize, jobs: usize) -> Run {
        let server = Arc::new(server);
        let limiter = Arc::new(limiter);
        let next = Arc::new(AtomicUsize::new(0));
        let serving = Arc::new(AtomicUsize::new(0));
        let (sent, throttled) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
        let start = Instant::now();
        let tasks: Vec<_> = (0..workers)
            .map(|_| {
                let (server, limiter, next) = (server.clone(), limiter.clone(), next.clone());
                let (serving, sent, throttled) = (serving.clone(), sent.clone(), throttled.clone());
                tokio::spawn(async move {
                    loop {
                        let job = next.fetch_add(1, Ordering::Relaxed);
                        if job >= jobs {
                            break;
                        }
                        let operation = server.operation(job);
                        loop {
                            let ticket = limiter.acquire(operation).await;
                            sent.fetch_add(1, Ordering::Relaxed);
                            let n = serving.fetch_add(1, Ordering::Relaxed);
                            let answer = server.arrive(Instant::now(), n);
                            tokio::time::sleep(server.latency(operation, n)).await;
                            serving.fetch_sub(1, Ordering::Relaxed);
                            match answer {
                                Answer::Ok => {
                                    ticket.done(Signal::Answered);
                                    break;
                                }
                                Answer::Throttled(ra) => {
                                    throttled.fetch_add(1, Ordering::Relaxed);
                                    ticket.done(Signal::Throttled(ra));
                                    let wait = ra.unwrap_or(Duration::from_millis(100));
                                    tokio::time::sleep(wait).await;
                                }
                            }
                        }
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        Run {
            elapsed: start.elapsed(),
            sent: sent.load(Ordering::Relaxed),
            throttled: throttled.load(Ordering::Relaxed),
            state: limiter.state(),
        }
    }

    /// A run in a line, with the limiter's changes one to a line after it.
    impl fmt::Debug for Run {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            let s = &self.state;
            writeln!(
                f,
                "{:?}, {} sent, {} throttled; now {} at once, rate {:?}",
                self.elapsed, self.sent, self.throttled, s.concurrency, s.rate
            )?;
            for c in &s.changes {
                writeln!(
                    f,
                    "  {:>8.3} s {:>3} {:>8.1} {}",
                    c.at.as_secs_f64(),
                    c.concurrency,
                    c.rate.unwrap_or(0.0),
                    c.cause
                )?;
            }
            Ok(())
        }
    }

    fn adaptive() -> ApiLimiter {
        ApiLimiter::new(ApiConcurrency::DEFAULT, Duration::from_secs(60))
    }

    #[tokio::test(start_paused = true)]
    async fn a_rate_limited_server_is_met_at_its_rate_with_few_refusals() {
        // 100 a second, a burst of 100: the floor for 2,213 requests is 22.13 s (the burst
        // makes it 21.13 s at best).
        let r = run(Bucket::new(100.0, 100.0), adaptive(), 64, 2213).await;
        let floor = 2213.0 / 100.0;
        let share = r.throttled as f64 / r.sent as f64;
        assert!(r.elapsed.as_secs_f64() <= 1.1 * floor, "{r:?}");
        assert!(share <= 0.02, "{share} of requests throttled: {r:?}");
        let rate = r.state.rate.expect("pacing is on after a throttle");
        assert!((80.0..=150.0).contains(&rate), "{r:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_small_burst_costs_time_but_not_many_refusals() {
        // 50 a second with a burst of 5: the first throttle comes 20 ms in, when the window
        // has seen 5 answers, so the level measured is a tenth of the rate; the cubic curve
        // leaves it behind within some 15 s. (A pace stuck at the first level would take
        // 300 s.)
        let r = run(Bucket::new(50.0, 5.0), adaptive(), 64, 1500).await;
        let floor = 1500.0 / 50.0;
        let share = r.throttled as f64 / r.sent as f64;
        assert!(r.elapsed.as_secs_f64() <= 1.75 * floor, "{r:?}");
        assert!(share <= 0.03, "{share} of requests throttled: {r:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_server_that_serves_eight_at_once_gets_about_eight() {
        let r = run(MaxInflight(8), adaptive(), 64, 4000).await;
        // 8 at once, 20 ms each: 400 a second at best, 10 s for 4,000. A limit of requests at
        // once looks like a rate limit of 8 a second 20 ms in; the pace grows out of it within
        // some 20 s (stuck there, the run would take 500 s), and refusals stay rare.
        assert!(r.elapsed.as_secs_f64() <= 10.0 * 3.5, "{r:?}");
        let share = r.throttled as f64 / r.sent as f64;
        assert!(share <= 0.01, "{share} of requests refused: {r:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_fast_server_lets_it_grow_to_its_maximum() {
        let r = run(Queueing { capacity: 1000 }, adaptive(), 128, 5000).await;
        assert_eq!(r.state.concurrency, 64, "{r:?}");
        assert_eq!((r.throttled, r.state.rate), (0, None), "{r:?}");
        assert!(
            r.state
                .changes
                .iter()
                .all(|c| c.cause == LimitCause::Growth)
        );
        // Growth is one more per window: from 16 to 64 within the first 2 s of 20 ms answers.
        let at_max = r.state.changes.iter().find(|c| c.concurrency == 64);
        assert!(
            at_max.is_some_and(|c| c.at <= Duration::from_secs(2)),
            "{r:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn rising_latency_holds_it_near_the_servers_capacity() {
        let r = run(Queueing { capacity: 16 }, adaptive(), 128, 6000).await;
        // 20 ms up to 16 at once, proportionally slower beyond: no faster beyond 16, so the
        // plateau rule cuts it back before the latency rule (twice the lowest plus 10 ms,
        // i.e. above 50 ms: beyond 40 at once) would; either keeps it well under 64.
        assert!(r.state.concurrency < 40, "{r:?}");
        assert!(
            r.state
                .changes
                .iter()
                .any(|c| matches!(c.cause, LimitCause::Latency | LimitCause::Plateau)),
            "{r:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_saturated_server_is_not_given_more_than_pays() {
        // 8,000 answers a second at most, from 16 at once; beyond, only queueing, at
        // latencies the latency rule does not see. The plateau rule holds it near 16.
        let r = run(Saturated { capacity: 16 }, adaptive(), 128, 40_000).await;
        assert!(r.state.concurrency <= 32, "{r:?}");
        assert!(
            (r.state.changes.iter()).any(|c| c.cause == LimitCause::Plateau),
            "{r:?}"
        );
        // Nothing lost: 40,000 at 8,000 a second.
        assert!(r.elapsed.as_secs_f64() <= 5.0 * 1.1, "{r:?}");
        // Without the rule it would have grown to its maximum.
        let fixed = run(
            Saturated { capacity: 16 },
            ApiLimiter::new(ApiConcurrency::Fixed(64), Duration::from_secs(60)),
            128,
            40_000,
        )
        .await;
        assert!(
            r.elapsed.as_secs_f64() <= fixed.elapsed.as_secs_f64() * 1.1,
            "{r:?} {fixed:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_plateau_is_left_behind_when_the_servers_capacity_grows() {
        // 16 at once pay for the first 2 s (the plateau rule holds the limit near 16), then
        // 48 do: the ceiling the plateau set is passed slowly but passed, and the rate the
        // plateau kept is beaten, so growth goes on until the new capacity.
        let server = Growing {
            before: 16,
            after: 48,
            at: Instant::now() + Duration::from_secs(2),
        };
        let r = run(server, adaptive(), 128, 200_000).await;
        let changes = &r.state.changes;
        let plateau = (changes.iter())
            .position(|c| c.cause == LimitCause::Plateau && c.at < Duration::from_secs(2));
        let Some(plateau) = plateau else {
            panic!("no plateau before the capacity grew: {r:?}")
        };
        assert!(changes[plateau].concurrency <= 32, "{r:?}");
        assert!(r.state.concurrency >= 40, "{r:?}");
        // 2 s at 8,000 a second, then 24,000 a second: 9.7 s with the limit at the capacity
        // from the start (measured: 9.7 s); within a quarter of it.
        assert!(r.elapsed.as_secs_f64() <= 9.7 * 1.25, "{r:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_jittery_server_of_ample_capacity_lets_it_grow_to_its_maximum() {
        let r = run(
            Jittery {
                draws: AtomicU64::new(0),
            },
            adaptive(),
            128,
            20_000,
        )
        .await;
        assert_eq!(r.state.concurrency, 64, "{r:?}");
        assert!(
            (r.state.changes.iter()).all(|c| c.cause == LimitCause::Growth),
            "{r:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn slow_operations_are_not_taken_for_a_rise_in_latency() {
        // Each operation is held to its own lowest latency: the slow listings mixed in with
        // fast URL calls are not congestion (one latency for all would see the smoothed value
        // at about four times the lowest, and back off to the minimum).
        let r = run(Mixed, adaptive(), 128, 6000).await;
        assert_eq!(r.state.concurrency, 64, "{r:?}");
        assert!(
            r.state
                .changes
                .iter()
                .all(|c| c.cause == LimitCause::Growth),
            "{r:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_fixed_limit_stays_fixed_but_still_paces_after_a_throttle() {
        let fixed = ApiLimiter::new(ApiConcurrency::Fixed(8), Duration::from_secs(60));
        let r = run(Bucket::new(100.0, 20.0), fixed, 32, 500).await;
        assert_eq!((r.state.concurrency, r.state.adaptive), (8, false));
        assert!(r.state.rate.is_some(), "{r:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_retry_after_holds_every_caller() {
        let limiter = adaptive();
        let first = limiter.acquire("test").await;
        let t0 = Instant::now();
        first.done(Signal::Throttled(Some(Duration::from_secs(2))));
        // Another caller, with slots free, waits for the gate.
        let other = limiter.acquire("test").await;
        assert!(t0.elapsed() >= Duration::from_secs(2), "{:?}", t0.elapsed());
        other.done(Signal::Answered);
        // A Retry-After longer than the client waits at most holds the others that long only.
        let capped = ApiLimiter::new(ApiConcurrency::DEFAULT, Duration::from_secs(5));
        capped
            .acquire("test")
            .await
            .done(Signal::Throttled(Some(Duration::from_secs(3600))));
        let t1 = Instant::now();
        drop(capped.acquire("test").await);
        assert_eq!(t1.elapsed(), Duration::from_secs(5));
    }

    #[tokio::test(start_paused = true)]
    async fn pauses_while_callers_wait_for_their_turn_neither_push_turns_away_nor_slow_the_pace() {
        let limiter = Arc::new(adaptive());
        // Pacing on at about 10 a second: ten answers in the last second, then a throttle.
        for _ in 0..10 {
            limiter.acquire("t").await.done(Signal::Answered);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        limiter.acquire("t").await.done(Signal::Throttled(None));
        let first = limiter.state().rate.expect("pacing is on");
        assert!((8.0..=11.0).contains(&first), "{first}");
        // Ten callers wait for their turns ...
        let callers: Vec<_> = (0..10)
            .map(|_| {
                let limiter = limiter.clone();
                tokio::spawn(async move { limiter.acquire("t").await.done(Signal::Answered) })
            })
            .collect();
        // ... through three pauses of a second (`Retry-After: 1`), the last two coming soon
        // after the one before ended, when almost nothing was admitted since.
        for _ in 0..3 {
            tokio::time::sleep(Duration::from_millis(1100)).await;
            limiter.record(
                "t",
                Instant::now(),
                0,
                Signal::Throttled(Some(Duration::from_secs(1))),
            );
        }
        let resumed = Instant::now() + Duration::from_secs(1);
        for c in callers {
            c.await.unwrap();
        }
        // Once the last pause is over, they go at the pace, not after turns given up during
        // the pauses; and the pace backed off by BACKOFF a throttle (a throttle so soon after
        // a pause says it was too fast), not to a level measured over time spent paused.
        let took = Instant::now().saturating_duration_since(resumed);
        let pace = limiter.state().rate.unwrap();
        assert!(pace >= first * 0.25, "the pace fell from {first} to {pace}");
        assert!(
            took <= Duration::from_secs_f64(10.0 / pace + 0.5),
            "{took:?} at {pace}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn the_first_throttle_turns_pacing_on_at_the_windows_rate_whatever_came_before() {
        let limiter = adaptive();
        for _ in 0..10 {
            limiter.acquire("t").await.done(Signal::Answered);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // A request is sent; before its 429 comes back, another try times out (a decrease),
        // so the 429 is not "fresh", and the pause it sets is counted first.
        let refused = limiter.acquire("t").await;
        tokio::time::sleep(Duration::from_millis(10)).await;
        limiter.acquire("t").await.done(Signal::NoAnswer);
        refused.done(Signal::Throttled(Some(Duration::from_secs(1))));
        let pace = limiter.state().rate.expect("pacing is on");
        assert!((8.0..=11.0).contains(&pace), "{pace}");
    }

    #[tokio::test(start_paused = true)]
    async fn lowering_the_limit_below_what_is_in_use_is_repaid_as_slots_come_back() {
        let limiter = ApiLimiter::new(ApiConcurrency::adaptive(1, 64), Duration::from_secs(60));
        let mut held = Vec::new();
        for _ in 0..16 {
            held.push(limiter.acquire("test").await);
        }
        assert_eq!(limiter.permits.available_permits(), 0);
        // A throttle of one sent after no decrease: 16 × 0.7 = 11 allowed.
        held.pop().unwrap().done(Signal::Throttled(None));
        assert_eq!(limiter.state().concurrency, 11);
        // A second throttle from the same episode (sent before the decrease) changes nothing.
        held.pop().unwrap().done(Signal::Throttled(None));
        assert_eq!(limiter.state().concurrency, 11);
        // 14 still out; as they come back (cancelled, here), slots return only up to 11.
        held.clear();
        assert_eq!(limiter.permits.available_permits(), 11);
        assert_eq!(limiter.state().in_flight, 0);
    }

    #[test]
    fn adaptive_bounds_are_ordered_and_at_least_one() {
        assert_eq!(
            ApiConcurrency::adaptive(100, 0).normalized(),
            (1, 16, 100, true)
        );
        assert_eq!(ApiConcurrency::adaptive(2, 8).normalized(), (2, 8, 8, true));
        assert_eq!(ApiConcurrency::Fixed(0).normalized(), (1, 1, 1, false));
    }
}
