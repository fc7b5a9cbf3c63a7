//! Fault injection: per route class, deterministic from a seed.
//!
//! A [`Faults`] maps a [`RouteClass`] to a [`FaultSpec`]. For every request the simulator draws a
//! [`FaultPlan`] from the spec with a generator seeded by the simulator's seed and the request's
//! sequence number, so the same seed and the same order of requests give the same faults.
//!
//! On the command line a spec reads `CLASS:key=value,key=value`, e.g.
//! `--fault storage:reset=0.05,truncate=0.05`, `--fault all:latency=20ms,jitter=5ms` or
//! `--fault search:lie_has_more=1`. Besides the classes' names, `CLASS` can be `all` (every class)
//! or `api` (every class but `storage`, the signed-URL origin).
//!
//! Two faults are limits rather than draws, so tests and benchmarks can play a strict server:
//!
//! - `rate=N[,burst=B]`: a token bucket of `B` tokens (default `max(1, ceil(N))`) refilled at
//!   `N` per second on the real clock (not the simulated one), one bucket per API token (the
//!   Basic user name of a valid token; requests without valid auth, and the storage origin's,
//!   share one anonymous bucket). A request that finds its bucket empty gets `429` with
//!   `Retry-After` (the whole seconds until a token is there, at least 1) and takes no token.
//! - `max_inflight=N[,inflight_status=503]`: a request arriving while `N` requests of the same
//!   scope are being served gets `429` with `Retry-After: 1` (or `503`); a request's slot is held
//!   from its arrival (injected latency included) until its response, body included, has been
//!   sent or dropped, so a stalled body keeps its slot.
//!
//! The scope of both: `all:rate=100` (or [`Faults::all`]) gives every class one shared
//! [`Limiter`] (one count of requests in flight too); `api:rate=100` gives one to every class but
//! the storage origin's, which stays unlimited: a real Code Ocean limits its API, not the object
//! storage that serves signed URLs. A spec set for one class (`storage:max_inflight=4`) gets a
//! limiter of its own. Faults set as
//! JSON (`POST /__sim/config`) share a limiter between the classes whose limit settings are
//! equal ([`Faults::share_limits`]). Refusals are counted in the tally (`rate_limited`,
//! `inflight_refused`); a refused request draws no other fault.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::content::SplitMix;

/// Groups of routes that share a fault spec.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RouteClass {
    /// `GET /capsules/{id}` and its computations.
    Capsules,
    /// `POST /computations` (starting a run).
    Run,
    /// Get, rename and delete of a computation.
    Computations,
    /// `POST /computations/{id}/results` (listing a folder).
    Results,
    /// `results/urls` and `results/download_url`.
    Urls,
    /// The data-asset routes (but for their file listings and URLs) and the custom metadata
    /// schema.
    DataAssets,
    /// The other capsule and pipeline routes: delete, app panel, archive, permissions, attach and
    /// detach, release, sync, and the pipeline routes that mirror the capsule ones.
    Manage,
    /// The three searches (`/capsules/search`, `/pipelines/search`, `/data_assets/search`).
    Search,
    /// The signed-URL storage origin.
    Storage,
}

impl RouteClass {
    /// Every class, in order.
    pub const ALL: [RouteClass; 9] = [
        RouteClass::Capsules,
        RouteClass::Run,
        RouteClass::Computations,
        RouteClass::Results,
        RouteClass::Urls,
        RouteClass::DataAssets,
        RouteClass::Manage,
        RouteClass::Search,
        RouteClass::Storage,
    ];

    /// Its name on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            RouteClass::Capsules => "capsules",
            RouteClass::Run => "run",
            RouteClass::Computations => "computations",
            RouteClass::Results => "results",
            RouteClass::Urls => "urls",
            RouteClass::DataAssets => "data_assets",
            RouteClass::Manage => "manage",
            RouteClass::Search => "search",
            RouteClass::Storage => "storage",
        }
    }
}

/// What can go wrong on one class of routes. Probabilities are in `[0, 1]`; at most one of the
/// failure kinds happens per request (they are drawn in the order of the fields).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FaultSpec {
    /// Latency added to every request, in milliseconds.
    pub latency_ms: u64,
    /// Extra latency, uniform in `[0, jitter_ms]`.
    pub jitter_ms: u64,
    /// Probability of `429 Too Many Requests`.
    pub p429: f64,
    /// The `Retry-After` seconds sent with a 429.
    pub retry_after_secs: u64,
    /// Probability of `500` with a JSON error.
    pub p500: f64,
    /// Probability of `502` with a JSON error.
    pub p502: f64,
    /// Probability of `503` with a JSON error.
    pub p503: f64,
    /// Probability of a `502` HTML page, as a proxy sends.
    pub html: f64,
    /// Probability of a connection reset in the middle of the body.
    pub reset: f64,
    /// Probability of a body cut short that still ends cleanly (no `Content-Length`).
    pub truncate: f64,
    /// Probability that a signed URL is issued already expired (urls class).
    pub expire: f64,
    /// Probability that a JSON response carries unknown fields and enum values.
    pub unknown: f64,
    /// Probability that a search answers `has_more: true` with a `next_token` leading back to
    /// the same page (search class): a client that trusts it pages forever.
    pub lie_has_more: f64,
    /// Requests per second of the token bucket (per API token); `0`: no rate limit.
    pub rate: f64,
    /// Tokens the bucket holds; `0`: `max(1, ceil(rate))`.
    pub burst: u32,
    /// Requests served at once; `0`: no limit.
    pub max_inflight: u32,
    /// The status of a request refused by `max_inflight`: `429` (also when `0`) or `503`.
    pub inflight_status: u16,
    /// The state of `rate` and `max_inflight` (buckets, requests in flight), shared by the
    /// spec's clones and by the classes one `all` spec was given to. Like the tally, not part
    /// of the spec's value.
    #[serde(skip)]
    pub limiter: Limiter,
    /// The faults this spec has drawn so far, shared by its clones (the simulator draws from a
    /// clone of the spec it was given, so a test keeping the spec or the [`Faults`] it passed
    /// reads the simulator's counts). Not part of the spec's value: equal for any two specs,
    /// never serialized.
    #[serde(skip)]
    pub tally: FaultTally,
}

/// Counts of drawn faults, shared by the clones of one [`FaultSpec`].
#[derive(Clone, Default)]
pub struct FaultTally(Arc<[AtomicU64; FaultCounts::KINDS]>);

impl FaultTally {
    /// The counts so far.
    pub fn counts(&self) -> FaultCounts {
        let n = |i: usize| self.0[i].load(Ordering::Relaxed);
        FaultCounts {
            too_many_requests: n(0),
            status_500: n(1),
            status_502: n(2),
            status_503: n(3),
            html: n(4),
            reset: n(5),
            truncate: n(6),
            expire: n(7),
            unknown: n(8),
            rate_limited: n(9),
            inflight_refused: n(10),
        }
    }

    fn count(&self, plan: &FaultPlan) {
        let add = |i: usize| {
            self.0[i].fetch_add(1, Ordering::Relaxed);
        };
        match plan.fail {
            Some(Failure::TooMany { .. }) | Some(Failure::Status(429)) => add(0),
            Some(Failure::Status(500)) => add(1),
            Some(Failure::Status(502)) => add(2),
            Some(Failure::Status(_)) => add(3),
            Some(Failure::Html) => add(4),
            None => {}
        }
        match plan.body {
            Some(BodyFault::Reset) => add(5),
            Some(BodyFault::Truncate) => add(6),
            None => {}
        }
        if plan.expire {
            add(7);
        }
        if plan.unknown {
            add(8);
        }
    }

    fn count_refusal(&self, refusal: Refusal) {
        let i = match refusal {
            Refusal::RateLimited { .. } => 9,
            Refusal::Inflight { .. } => 10,
        };
        self.0[i].fetch_add(1, Ordering::Relaxed);
    }

    /// Whether two tallies are the same shared counters.
    fn same(&self, other: &FaultTally) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

/// Tallies never make two specs differ.
impl PartialEq for FaultTally {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl fmt::Debug for FaultTally {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.counts(), f)
    }
}

/// How many faults of each kind were drawn (see [`FaultSpec::tally`]).
///
/// A drawn fault takes effect, with these exceptions: `expire` matters only on the
/// [`RouteClass::Urls`] class, `unknown` only on a successful JSON response, and on the storage
/// origin a body fault only on a successful response.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultCounts {
    /// `429 Too Many Requests` with `Retry-After`.
    pub too_many_requests: u64,
    /// `500` (JSON or S3-style XML).
    pub status_500: u64,
    /// `502` (JSON or XML).
    pub status_502: u64,
    /// `503` (JSON or XML).
    pub status_503: u64,
    /// A `502` HTML page.
    pub html: u64,
    /// A connection reset in the middle of the body.
    pub reset: u64,
    /// A body cut short that ends cleanly.
    pub truncate: u64,
    /// A signed URL issued already expired.
    pub expire: u64,
    /// A JSON response with unknown fields and enum values.
    pub unknown: u64,
    /// Requests refused with `429` because their token bucket was empty (`rate`).
    pub rate_limited: u64,
    /// Requests refused because `max_inflight` requests were being served.
    pub inflight_refused: u64,
}

impl FaultCounts {
    const KINDS: usize = 11;

    /// All faults counted.
    pub fn total(&self) -> u64 {
        self.too_many_requests
            + self.status_500
            + self.status_502
            + self.status_503
            + self.html
            + self.reset
            + self.truncate
            + self.expire
            + self.unknown
            + self.rate_limited
            + self.inflight_refused
    }

    fn add(&mut self, o: &FaultCounts) {
        self.too_many_requests += o.too_many_requests;
        self.status_500 += o.status_500;
        self.status_502 += o.status_502;
        self.status_503 += o.status_503;
        self.html += o.html;
        self.reset += o.reset;
        self.truncate += o.truncate;
        self.expire += o.expire;
        self.unknown += o.unknown;
        self.rate_limited += o.rate_limited;
        self.inflight_refused += o.inflight_refused;
    }
}

impl fmt::Display for FaultCounts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "429 {}, 500 {}, 502 {}, 503 {}, HTML 502 {}, reset {}, truncated {}, expired URL {}, \
             unknown fields {}, rate limited {}, refused in flight {}",
            self.too_many_requests,
            self.status_500,
            self.status_502,
            self.status_503,
            self.html,
            self.reset,
            self.truncate,
            self.expire,
            self.unknown,
            self.rate_limited,
            self.inflight_refused
        )
    }
}

/// The faults chosen for one request.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct FaultPlan {
    /// Latency to add before answering.
    pub delay: Duration,
    /// Answer with this instead of running the handler.
    pub fail: Option<Failure>,
    /// Break the body of the response.
    pub body: Option<BodyFault>,
    /// Issue signed URLs that are already expired.
    pub expire: bool,
    /// Add unknown fields and enum values to the JSON response.
    pub unknown: bool,
    /// Claim more search results than there are.
    pub lie_has_more: bool,
}

/// An answer that replaces the handler's.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Failure {
    /// 429 with `Retry-After`.
    TooMany {
        /// Seconds.
        retry_after: u64,
    },
    /// A JSON error with this status.
    Status(u16),
    /// A 502 HTML page.
    Html,
}

/// A broken body.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum BodyFault {
    /// The connection dies after about half the body.
    Reset,
    /// About half the body is sent and the response ends cleanly.
    Truncate,
}

impl FaultSpec {
    /// Whether the spec does nothing.
    pub fn is_noop(&self) -> bool {
        *self == FaultSpec::default()
    }

    /// The bucket size: `burst`, or `max(1, ceil(rate))`.
    fn bucket_size(&self) -> f64 {
        if self.burst > 0 {
            f64::from(self.burst)
        } else {
            self.rate.ceil().max(1.0)
        }
    }

    /// The limits' settings, for [`Faults::share_limits`].
    fn limit_settings(&self) -> (u64, u32, u32, u16) {
        (
            self.rate.to_bits(),
            self.burst,
            self.max_inflight,
            self.inflight_status,
        )
    }

    fn has_limits(&self) -> bool {
        self.rate > 0.0 || self.max_inflight > 0
    }

    /// Admits a request of `key` (its API token, or `""`) at `now` under `rate` and
    /// `max_inflight`, or says why not (and counts the refusal in the tally). The guard holds
    /// the request's slot in flight until dropped.
    pub(crate) fn admit(&self, key: &str, now: Instant) -> Result<InflightGuard, Refusal> {
        let guard = if self.max_inflight > 0 {
            let inner = &self.limiter.0;
            let before = inner.inflight.fetch_add(1, Ordering::SeqCst);
            let guard = InflightGuard(Some(inner.clone()));
            if before >= u64::from(self.max_inflight) {
                drop(guard);
                let refusal = Refusal::Inflight {
                    status: if self.inflight_status == 503 {
                        503
                    } else {
                        429
                    },
                };
                self.tally.count_refusal(refusal);
                return Err(refusal);
            }
            guard
        } else {
            InflightGuard(None)
        };
        if self.rate > 0.0 && self.rate.is_finite() {
            let size = self.bucket_size();
            let mut buckets = self
                .limiter
                .0
                .buckets
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            let bucket = buckets
                .entry(key.to_owned())
                .or_insert_with(|| Bucket::full(size, now));
            if let Err(wait) = bucket.take(now, self.rate, size) {
                let refusal = Refusal::RateLimited {
                    retry_after: retry_after_secs(wait),
                };
                self.tally.count_refusal(refusal);
                return Err(refusal);
            }
        }
        Ok(guard)
    }

    /// Draws the plan for one request.
    pub fn plan(&self, rng: &mut SplitMix) -> FaultPlan {
        let mut plan = FaultPlan {
            delay: Duration::from_millis(self.latency_ms),
            ..FaultPlan::default()
        };
        if self.jitter_ms > 0 {
            plan.delay +=
                Duration::from_micros((rng.next_f64() * self.jitter_ms as f64 * 1e3) as u64);
        }
        let roll = rng.next_f64();
        let mut acc = 0.0;
        let mut hit = |p: f64| {
            acc += p;
            roll < acc
        };
        if hit(self.p429) {
            plan.fail = Some(Failure::TooMany {
                retry_after: self.retry_after_secs,
            });
        } else if hit(self.p500) {
            plan.fail = Some(Failure::Status(500));
        } else if hit(self.p502) {
            plan.fail = Some(Failure::Status(502));
        } else if hit(self.p503) {
            plan.fail = Some(Failure::Status(503));
        } else if hit(self.html) {
            plan.fail = Some(Failure::Html);
        } else if hit(self.reset) {
            plan.body = Some(BodyFault::Reset);
        } else if hit(self.truncate) {
            plan.body = Some(BodyFault::Truncate);
        }
        plan.expire = rng.next_f64() < self.expire;
        plan.unknown = rng.next_f64() < self.unknown;
        plan.lie_has_more = rng.next_f64() < self.lie_has_more;
        self.tally.count(&plan);
        plan
    }
}

/// The whole seconds of a `Retry-After` for a wait: rounded up, at least 1.
fn retry_after_secs(wait: Duration) -> u64 {
    (wait.as_secs_f64().ceil() as u64).max(1)
}

/// A request refused by a limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// The token bucket was empty: `429` with this `Retry-After`.
    RateLimited {
        /// Seconds until a token is there (at least 1).
        retry_after: u64,
    },
    /// `max_inflight` requests were being served: this status with `Retry-After: 1`.
    Inflight {
        /// `429` or `503`.
        status: u16,
    },
}

/// The state of a spec's limits: a token bucket per API token and the count of requests in
/// flight. Shared by clones; see the module docs for its scope.
#[derive(Clone, Default)]
pub struct Limiter(Arc<LimiterState>);

#[derive(Default)]
struct LimiterState {
    buckets: Mutex<std::collections::HashMap<String, Bucket>>,
    inflight: AtomicU64,
}

impl Limiter {
    /// Requests being served under this limiter (counted only by specs with `max_inflight`).
    pub fn inflight(&self) -> u64 {
        self.0.inflight.load(Ordering::SeqCst)
    }
}

/// Limiters never make two specs differ.
impl PartialEq for Limiter {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl fmt::Debug for Limiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Limiter")
            .field("inflight", &self.inflight())
            .finish_non_exhaustive()
    }
}

/// A request's slot in flight, given back when dropped (with the response's body).
pub(crate) struct InflightGuard(Option<Arc<LimiterState>>);

impl InflightGuard {
    /// No slot held.
    pub(crate) fn none() -> Self {
        InflightGuard(None)
    }

    /// Whether it holds a slot.
    pub(crate) fn holds(&self) -> bool {
        self.0.is_some()
    }
}

impl Drop for InflightGuard {
    fn drop(&mut self) {
        if let Some(s) = self.0.take() {
            s.inflight.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

/// A token bucket: `tokens` at `at`, refilled at a rate up to a size.
#[derive(Clone, Copy, Debug)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Bucket {
    fn full(size: f64, now: Instant) -> Self {
        Bucket {
            tokens: size,
            at: now,
        }
    }

    /// Takes a token at `now`, or says how long until one is there (taking nothing).
    fn take(&mut self, now: Instant, rate: f64, size: f64) -> Result<(), Duration> {
        if now > self.at {
            let refill = (now - self.at).as_secs_f64() * rate;
            self.tokens = (self.tokens + refill).min(size);
            self.at = now;
        }
        // A little slack for the float arithmetic of a refill that lands exactly on a token.
        if self.tokens >= 1.0 - 1e-9 {
            self.tokens = (self.tokens - 1.0).max(0.0);
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - self.tokens) / rate))
        }
    }
}

/// Fault specs for every route class.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Faults(pub BTreeMap<RouteClass, FaultSpec>);

impl Faults {
    /// The spec for a class (a no-op when none is set).
    pub fn get(&self, class: RouteClass) -> FaultSpec {
        self.0.get(&class).cloned().unwrap_or_default()
    }

    /// Sets the spec of one class.
    pub fn set(&mut self, class: RouteClass, spec: FaultSpec) -> &mut Self {
        self.0.insert(class, spec);
        self
    }

    /// Sets the same spec on every class (each class counts its own faults; all share the
    /// spec's [`Limiter`]: one bucket per token and one count in flight across the API).
    pub fn all(spec: FaultSpec) -> Self {
        Self(
            RouteClass::ALL
                .iter()
                .map(|c| {
                    let spec = FaultSpec {
                        tally: FaultTally::default(),
                        ..spec.clone()
                    };
                    (*c, spec)
                })
                .collect(),
        )
    }

    /// The faults drawn so far under these specs (by the simulator they were given to, and by
    /// any other holder of clones of them), each shared tally counted once.
    pub fn injected(&self) -> FaultCounts {
        let mut seen: Vec<&FaultTally> = Vec::new();
        let mut total = FaultCounts::default();
        for spec in self.0.values() {
            if !seen.iter().any(|t| t.same(&spec.tally)) {
                seen.push(&spec.tally);
                total.add(&spec.tally.counts());
            }
        }
        total
    }

    /// Gives the classes whose limit settings (`rate`, `burst`, `max_inflight`,
    /// `inflight_status`) are equal one shared [`Limiter`], and every other class one of its
    /// own: what the simulator does with faults set as JSON, where limiters are not carried.
    pub fn share_limits(mut self) -> Self {
        let mut shared: Vec<((u64, u32, u32, u16), Limiter)> = Vec::new();
        for spec in self.0.values_mut() {
            if !spec.has_limits() {
                continue;
            }
            let key = spec.limit_settings();
            match shared.iter().find(|(k, _)| *k == key) {
                Some((_, l)) => spec.limiter = l.clone(),
                None => {
                    spec.limiter = Limiter::default();
                    shared.push((key, spec.limiter.clone()));
                }
            }
        }
        self
    }

    /// The faults drawn so far on one class.
    pub fn injected_on(&self, class: RouteClass) -> FaultCounts {
        self.0
            .get(&class)
            .map(|s| s.tally.counts())
            .unwrap_or_default()
    }

    /// Applies one command-line spec (`CLASS:key=value,...`, class `all` for every class, `api`
    /// for every class but [`RouteClass::Storage`]).
    pub fn apply(&mut self, arg: &str) -> Result<(), FaultParseError> {
        let err = |m: String| FaultParseError(format!("fault `{arg}`: {m}"));
        let (class, settings) = arg
            .split_once(':')
            .ok_or_else(|| err("expected CLASS:key=value,...".into()))?;
        let classes: Vec<RouteClass> = if class == "all" {
            RouteClass::ALL.to_vec()
        } else if class == "api" {
            RouteClass::ALL
                .into_iter()
                .filter(|c| *c != RouteClass::Storage)
                .collect()
        } else {
            vec![
                RouteClass::ALL
                    .into_iter()
                    .find(|c| c.as_str() == class)
                    .ok_or_else(|| {
                        err(format!(
                            "unknown class `{class}` (all, api, {})",
                            RouteClass::ALL.map(RouteClass::as_str).join(", ")
                        ))
                    })?,
            ]
        };
        let sets_limits = settings.split(',').any(|kv| {
            let k = kv.split_once('=').map_or(kv, |(k, _)| k);
            matches!(k, "rate" | "burst" | "max_inflight" | "inflight_status")
        });
        // `all` and `api`: one limiter for all their classes (a limit across the API); one
        // class: its own.
        let limiter = Limiter::default();
        for class in classes {
            let spec = self.0.entry(class).or_default();
            if sets_limits {
                spec.limiter = limiter.clone();
            }
            for kv in settings.split(',').filter(|s| !s.is_empty()) {
                let (k, v) = kv
                    .split_once('=')
                    .ok_or_else(|| err(format!("`{kv}` is not key=value")))?;
                let prob = || -> Result<f64, FaultParseError> {
                    let p: f64 = v
                        .parse()
                        .map_err(|_| err(format!("`{v}` is not a number")))?;
                    if (0.0..=1.0).contains(&p) {
                        Ok(p)
                    } else {
                        Err(err(format!("probability `{v}` is not in [0, 1]")))
                    }
                };
                let count = || -> Result<u32, FaultParseError> {
                    v.parse::<u32>()
                        .ok()
                        .filter(|n| *n > 0)
                        .ok_or_else(|| err(format!("`{v}` is not a whole number > 0")))
                };
                let millis = || -> Result<u64, FaultParseError> {
                    let digits = v.strip_suffix("ms").unwrap_or(v);
                    digits
                        .parse()
                        .map_err(|_| err(format!("`{v}` is not a number of milliseconds")))
                };
                match k {
                    "latency" => spec.latency_ms = millis()?,
                    "jitter" => spec.jitter_ms = millis()?,
                    "429" => spec.p429 = prob()?,
                    "retry_after" => {
                        spec.retry_after_secs = v
                            .trim_end_matches('s')
                            .parse()
                            .map_err(|_| err(format!("`{v}` is not a number of seconds")))?
                    }
                    "500" => spec.p500 = prob()?,
                    "502" => spec.p502 = prob()?,
                    "503" => spec.p503 = prob()?,
                    "html" => spec.html = prob()?,
                    "reset" => spec.reset = prob()?,
                    "truncate" => spec.truncate = prob()?,
                    "expire" => spec.expire = prob()?,
                    "unknown" => spec.unknown = prob()?,
                    "lie_has_more" => spec.lie_has_more = prob()?,
                    "rate" => {
                        spec.rate = v
                            .parse::<f64>()
                            .ok()
                            .filter(|r| r.is_finite() && *r > 0.0)
                            .ok_or_else(|| {
                                err(format!(
                                    "rate `{v}` is not a number of requests per second > 0"
                                ))
                            })?
                    }
                    "burst" => spec.burst = count()?,
                    "max_inflight" => spec.max_inflight = count()?,
                    "inflight_status" => {
                        spec.inflight_status = match v {
                            "429" => 429,
                            "503" => 503,
                            _ => {
                                return Err(err(format!(
                                    "inflight_status `{v}` is not 429 or 503"
                                )));
                            }
                        }
                    }
                    _ => {
                        return Err(err(format!(
                            "unknown key `{k}` (latency, jitter, 429, retry_after, 500, 502, 503, html, reset, truncate, expire, unknown, lie_has_more, rate, burst, max_inflight, inflight_status)"
                        )));
                    }
                }
            }
            if spec.burst > 0 && spec.rate <= 0.0 {
                return Err(err("burst needs a rate (rate=N,burst=B)".into()));
            }
            if spec.inflight_status != 0 && spec.max_inflight == 0 {
                return Err(err(
                    "inflight_status needs max_inflight (max_inflight=N,inflight_status=503)"
                        .into(),
                ));
            }
        }
        Ok(())
    }
}

impl FromStr for Faults {
    type Err = FaultParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut f = Faults::default();
        f.apply(s)?;
        Ok(f)
    }
}

/// A fault spec that does not parse.
#[derive(Clone, Debug, PartialEq)]
pub struct FaultParseError(String);

impl fmt::Display for FaultParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for FaultParseError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_command_line_specs() {
        let mut f = Faults::default();
        f.apply("all:latency=20ms,jitter=5").unwrap();
        f.apply("storage:reset=0.1,truncate=0.05").unwrap();
        assert_eq!(f.get(RouteClass::Run).latency_ms, 20);
        let s = f.get(RouteClass::Storage);
        assert_eq!(
            (s.latency_ms, s.jitter_ms, s.reset, s.truncate),
            (20, 5, 0.1, 0.05)
        );
        for bad in [
            "storage",
            "nowhere:reset=0.1",
            "storage:reset=2",
            "storage:boom=1",
            "urls:429",
        ] {
            assert!(f.apply(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn plans_are_deterministic_and_follow_probabilities() {
        let spec = FaultSpec {
            p503: 0.25,
            reset: 0.25,
            ..FaultSpec::default()
        };
        let draw = |seed| {
            let mut rng = SplitMix(seed);
            (0..4000).map(|_| spec.plan(&mut rng)).collect::<Vec<_>>()
        };
        assert_eq!(draw(7), draw(7));
        let plans = draw(7);
        let fails = plans
            .iter()
            .filter(|p| p.fail == Some(Failure::Status(503)))
            .count();
        let resets = plans
            .iter()
            .filter(|p| p.body == Some(BodyFault::Reset))
            .count();
        assert!((800..1200).contains(&fails), "{fails}");
        assert!((800..1200).contains(&resets), "{resets}");
        assert!(FaultSpec::default().plan(&mut SplitMix(1)) == FaultPlan::default());
    }

    #[test]
    fn clones_share_their_tally_and_every_class_counts_its_own() {
        let spec = FaultSpec {
            p429: 0.5,
            reset: 0.5,
            ..FaultSpec::default()
        };
        let faults = Faults::all(spec.clone());
        // What the simulator does: draw from a clone of the class's spec.
        let storage = faults.get(RouteClass::Storage);
        let mut rng = SplitMix(9);
        let plans: Vec<_> = (0..100).map(|_| storage.plan(&mut rng)).collect();
        let resets = plans
            .iter()
            .filter(|p| p.body == Some(BodyFault::Reset))
            .count() as u64;
        let counts = faults.injected_on(RouteClass::Storage);
        assert_eq!(counts.reset, resets);
        assert_eq!(counts.too_many_requests + counts.reset, 100);
        assert_eq!(faults.injected(), counts);
        assert_eq!(faults.injected_on(RouteClass::Urls).total(), 0);
        // The spec passed to `all` is not one of the class tallies, and tallies never make
        // specs unequal.
        assert_eq!(spec.tally.counts().total(), 0);
        assert_eq!(storage, spec);
        assert!(!format!("{counts}").is_empty());
    }

    #[test]
    fn parses_limits_and_refuses_their_mistakes() {
        let f: Faults = "all:rate=20,burst=5,max_inflight=3".parse().unwrap();
        let s = f.get(RouteClass::Search);
        assert_eq!((s.rate, s.burst, s.max_inflight), (20.0, 5, 3));
        let f: Faults = "storage:max_inflight=2,inflight_status=503,rate=0.5"
            .parse()
            .unwrap();
        let s = f.get(RouteClass::Storage);
        assert_eq!((s.max_inflight, s.inflight_status, s.rate), (2, 503, 0.5));
        assert_eq!(s.bucket_size(), 1.0);
        assert_eq!(
            FaultSpec {
                rate: 2.5,
                ..FaultSpec::default()
            }
            .bucket_size(),
            3.0
        );
        for (bad, needle) in [
            ("all:rate=0", "rate `0`"),
            ("all:rate=-1", "rate `-1`"),
            ("all:rate=abc", "rate `abc`"),
            ("all:rate=inf", "rate `inf`"),
            ("all:burst=5", "burst needs a rate"),
            ("all:rate=5,burst=0", "`0` is not a whole number"),
            ("all:max_inflight=0", "`0` is not a whole number"),
            ("all:max_inflight=x", "`x` is not a whole number"),
            ("all:max_inflight=2,inflight_status=500", "not 429 or 503"),
            ("all:inflight_status=503", "needs max_inflight"),
        ] {
            let e = bad.parse::<Faults>().unwrap_err().to_string();
            assert!(e.contains(needle) && e.contains(bad), "{bad}: {e}");
        }
    }

    #[test]
    fn token_buckets_refill_on_the_given_clock() {
        let spec: Faults = "capsules:rate=2,burst=3".parse().unwrap();
        let spec = spec.get(RouteClass::Capsules);
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        for _ in 0..3 {
            assert!(spec.admit("a", t0).is_ok());
        }
        // Empty: a token in half a second, which a Retry-After rounds up to 1.
        assert_eq!(
            spec.admit("a", t0).err(),
            Some(Refusal::RateLimited { retry_after: 1 })
        );
        // A refusal takes no token; another token has its own bucket.
        assert!(spec.admit("b", t0).is_ok());
        assert!(spec.admit("a", at(499)).is_err());
        assert!(spec.admit("a", at(500)).is_ok());
        assert!(spec.admit("a", at(500)).is_err());
        // A long pause fills the bucket only up to its size.
        for _ in 0..3 {
            assert!(spec.admit("a", at(60_000)).is_ok());
        }
        assert!(spec.admit("a", at(60_000)).is_err());
        assert_eq!(spec.tally.counts().rate_limited, 4);

        // A slow rate: whole seconds until the next token, rounded up.
        let slow: Faults = "capsules:rate=0.25".parse().unwrap();
        let slow = slow.get(RouteClass::Capsules);
        assert!(slow.admit("", t0).is_ok());
        assert_eq!(
            slow.admit("", at(1_500)).err(),
            Some(Refusal::RateLimited { retry_after: 3 })
        );
        assert_eq!(retry_after_secs(Duration::ZERO), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(2_001)), 3);
    }

    #[test]
    fn slots_in_flight_are_held_by_guards_and_shared_through_all() {
        let f: Faults = "all:max_inflight=2".parse().unwrap();
        let (a, b) = (f.get(RouteClass::Capsules), f.get(RouteClass::Storage));
        let now = Instant::now();
        let g1 = a.admit("", now).unwrap();
        let g2 = b.admit("x", now).unwrap();
        assert_eq!(
            a.admit("", now).err(),
            Some(Refusal::Inflight { status: 429 })
        );
        assert_eq!(b.limiter.inflight(), 2);
        drop(g1);
        let g3 = a.admit("", now).unwrap();
        drop((g2, g3));
        assert_eq!(a.limiter.inflight(), 0);
        assert_eq!(f.injected().inflight_refused, 1);
        assert_eq!(f.injected_on(RouteClass::Capsules).inflight_refused, 1);

        // `all` shares one bucket across classes; a class's own spec has its own.
        let mut f: Faults = "all:rate=1".parse().unwrap();
        f.apply("storage:rate=1").unwrap();
        let now = Instant::now();
        assert!(f.get(RouteClass::Run).admit("t", now).is_ok());
        assert!(f.get(RouteClass::Search).admit("t", now).is_err());
        assert!(f.get(RouteClass::Storage).admit("t", now).is_ok());
        let shared = Faults::all(f.get(RouteClass::Run));
        assert!(shared.get(RouteClass::Urls).admit("t", now).is_err());

        // JSON carries no limiter: equal limits share one again.
        let json: Faults = serde_json::from_value(serde_json::json!({
            "run": {"rate": 1.0}, "search": {"rate": 1.0}, "urls": {"rate": 2.0}
        }))
        .unwrap();
        let json = json.share_limits();
        assert!(json.get(RouteClass::Run).admit("t", now).is_ok());
        assert!(json.get(RouteClass::Search).admit("t", now).is_err());
        assert!(json.get(RouteClass::Urls).admit("t", now).is_ok());
    }

    /// `api` shares one limiter across every class but storage, which has no limit.
    #[test]
    fn api_limits_every_class_but_storage() {
        let f: Faults = "api:rate=1,latency=5".parse().unwrap();
        assert_eq!(f.get(RouteClass::Storage), FaultSpec::default());
        assert_eq!(
            (
                f.get(RouteClass::Manage).rate,
                f.get(RouteClass::Manage).latency_ms
            ),
            (1.0, 5)
        );
        let now = Instant::now();
        assert!(f.get(RouteClass::Results).admit("t", now).is_ok());
        assert!(f.get(RouteClass::Urls).admit("t", now).is_err());
        for _ in 0..3 {
            assert!(f.get(RouteClass::Storage).admit("t", now).is_ok());
        }
        assert_eq!(f.injected().rate_limited, 1);
        // Layered over `all:latency`, as the benchmark sets it: storage keeps its latency only.
        let mut f: Faults = "all:latency=20".parse().unwrap();
        f.apply("api:rate=100").unwrap();
        let (s, u) = (f.get(RouteClass::Storage), f.get(RouteClass::Urls));
        assert_eq!((s.latency_ms, s.rate), (20, 0.0));
        assert_eq!((u.latency_ms, u.rate), (20, 100.0));
        let e = "apis:rate=1".parse::<Faults>().unwrap_err().to_string();
        assert!(
            e.contains("unknown class `apis` (all, api, capsules,"),
            "{e}"
        );
    }
}
