//! Waiting for computations and data assets to reach a final state.

use std::future::{Future, IntoFuture};
use std::ops::ControlFlow;
use std::time::{Duration, Instant};

use futures_util::future::BoxFuture;
use futures_util::stream::BoxStream;
use futures_util::{Stream, StreamExt as _};

use crate::client::{Client, PollPolicy};
use crate::error::{Error, ErrorKind, Result};
use crate::{Computation, ComputationEndStatus, ComputationState, DataAsset, DataAssetState};

/// How a finished computation ended. New outcomes may be added: a `match` needs a wildcard
/// arm (treat it as "not a success", as [`Finished::is_success`] does).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// The run's code finished successfully (end status `succeeded`).
    Succeeded,
    /// The run failed (end status `failed`, or state `failed`).
    Failed,
    /// The run was stopped.
    Stopped,
    /// The run ended with an end status this client does not know, or none: never a success.
    Unknown(String),
}

/// A computation that has reached a final state. Fields may be added; build one with
/// [`Finished::new`] (or [`Finished::from_computation`]).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Finished {
    /// The computation as last polled.
    pub computation: Computation,
    /// How it ended.
    pub outcome: Outcome,
}

impl Finished {
    /// A computation and how it ended (in tests, or for a computation polled by other means).
    pub fn new(computation: Computation, outcome: Outcome) -> Self {
        Self {
            computation,
            outcome,
        }
    }

    /// The computation with its [`outcome`](fn@outcome), if it has reached a final state.
    pub fn from_computation(computation: Computation) -> Option<Self> {
        let outcome = outcome(&computation)?;
        Some(Self::new(computation, outcome))
    }

    /// Whether it succeeded.
    pub fn is_success(&self) -> bool {
        self.outcome == Outcome::Succeeded
    }

    /// The computation if it succeeded, else an error of kind [`ErrorKind::RunFailed`] naming
    /// the outcome and exit code.
    pub fn into_success(self) -> Result<Computation> {
        if self.is_success() {
            return Ok(self.computation);
        }
        let c = &self.computation;
        let how = match &self.outcome {
            Outcome::Failed => "failed".to_owned(),
            Outcome::Stopped => "was stopped".to_owned(),
            Outcome::Unknown(s) => format!("ended with an unknown status `{s}`"),
            Outcome::Succeeded => unreachable!(),
        };
        let code = c
            .exit_code
            .map(|e| format!(" (exit code {e})"))
            .unwrap_or_default();
        Err(Error::new(
            ErrorKind::RunFailed,
            format!("computation {}", c.id),
            format!("the run {how}{code}"),
        )
        .about(&c.id))
    }
}

/// Whether a computation has ended, and how.
pub fn outcome(c: &Computation) -> Option<Outcome> {
    match c.state.as_ref()? {
        ComputationState::Completed => Some(match c.end_status.as_ref() {
            Some(ComputationEndStatus::Succeeded) => Outcome::Succeeded,
            Some(ComputationEndStatus::Failed) => Outcome::Failed,
            Some(ComputationEndStatus::Stopped) => Outcome::Stopped,
            Some(other) => Outcome::Unknown(other.as_str().to_owned()),
            None => Outcome::Unknown("completed without an end status".into()),
        }),
        ComputationState::Failed => Some(match c.end_status.as_ref() {
            Some(ComputationEndStatus::Stopped) => Outcome::Stopped,
            _ => Outcome::Failed,
        }),
        // Initializing, running, finalizing, or a state this client does not know yet.
        _ => None,
    }
}

fn state_key(c: &Computation) -> (Option<String>, Option<String>) {
    (
        c.state.as_ref().map(|s| s.as_str().to_owned()),
        c.end_status.as_ref().map(|s| s.as_str().to_owned()),
    )
}

pub(crate) struct Poll {
    client: Client,
    id: String,
    policy: PollPolicy,
    started: Instant,
    intervals: Box<dyn Iterator<Item = Duration> + Send>,
    last: Option<(Option<String>, Option<String>)>,
    done: bool,
    first: bool,
    last_chance: bool,
}

impl Poll {
    pub(crate) fn new(client: &Client, id: &str, policy: PollPolicy) -> Self {
        Self {
            client: client.clone(),
            id: id.to_owned(),
            intervals: Box::new(policy.intervals()),
            policy,
            started: Instant::now(),
            last: None,
            done: false,
            first: true,
            last_chance: false,
        }
    }

    /// Something is happening: poll again soon.
    pub(crate) fn restart(&mut self) {
        self.intervals = Box::new(self.policy.intervals());
    }

    /// Sleeps until the next poll, or fails when the next poll would come after `max_wait`.
    pub(crate) async fn pause(&mut self, what: &str, last_state: &str) -> Result<()> {
        if std::mem::take(&mut self.first) {
            return Ok(());
        }
        let delay = self.intervals.next().unwrap_or(self.policy.max_interval);
        if let Some(max) = self.policy.max_wait {
            let elapsed = self.started.elapsed();
            if elapsed + delay > max {
                // One last look at the deadline, so a run finishing right then is not missed.
                tokio::time::sleep(max.saturating_sub(elapsed)).await;
                if !self.last_chance {
                    self.last_chance = true;
                    return Ok(());
                }
                let seen = (last_state != "unknown").then_some(last_state);
                return Err(Error::wait_timeout(what, &self.id, seen, max));
            }
        }
        tokio::time::sleep(delay).await;
        Ok(())
    }
}

impl Poll {
    /// Polls until the object reaches a final state: each round pauses ([`pause`](Self::pause)),
    /// fetches the object with `get`, and asks `judge` whether that is the end (`Break`, with
    /// the waiter's result) or which state it is in (`Continue`); a state other than the last
    /// one restarts the intervals. `what` names the object in the message of a timeout, with
    /// the last state seen (`unknown` before the first).
    pub(crate) async fn until<T, R, Fut>(
        mut self,
        what: &str,
        mut get: impl FnMut() -> Fut,
        mut judge: impl FnMut(T) -> ControlFlow<Result<R>, String>,
    ) -> Result<R>
    where
        Fut: Future<Output = Result<T>>,
    {
        let mut last_state = "unknown".to_owned();
        loop {
            self.pause(what, &last_state).await?;
            match judge(get().await?) {
                ControlFlow::Break(result) => return result,
                ControlFlow::Continue(now) => {
                    if now != last_state {
                        self.restart();
                        last_state = now;
                    }
                }
            }
        }
    }
}

/// The methods every waiter builder shares: a time limit, a whole policy.
macro_rules! wait_options {
    () => {
        /// Gives up after `limit` in all, with an error of kind
        /// [`ErrorKind::WaitTimeout`](crate::ErrorKind::WaitTimeout) (default: the client's
        /// [`PollPolicy::max_wait`](crate::PollPolicy::max_wait)); the poll intervals stay the
        /// client's.
        pub fn timeout(mut self, limit: std::time::Duration) -> Self {
            self.policy.max_wait = Some(limit);
            self
        }

        /// Polls with this policy instead of the client's
        /// ([`Client::poll_policy`](crate::Client::poll_policy)): its intervals and its
        /// `max_wait`.
        pub fn poll_policy(mut self, policy: crate::PollPolicy) -> Self {
            self.policy = policy;
            self
        }
    };
}
pub(crate) use wait_options;

/// A wait for a computation to finish: made by [`Client::wait_for_computation`], run by
/// awaiting it (it is [`IntoFuture`]), which tells how the run ended ([`Finished`]).
/// [`watch`](Self::watch) streams the states on the way instead.
///
/// ```no_run
/// use std::time::Duration;
///
/// # async fn example(client: &codeocean::Client) -> codeocean::Result<()> {
/// let id = "66095e3a-0000-4000-8000-000000000001";
/// // The client's poll schedule, with a time limit of this wait's own.
/// let finished = client
///     .wait_for_computation(id)
///     .timeout(Duration::from_secs(600))
///     .await?;
/// println!("{:?}", finished.outcome);
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
#[must_use = "a wait does nothing until it is awaited"]
pub struct WaitForComputation {
    client: Client,
    id: String,
    policy: PollPolicy,
}

impl WaitForComputation {
    wait_options!();

    /// The computation each time its state (or end status) changes, starting with its current
    /// state and ending after a final state; gives up with [`ErrorKind::WaitTimeout`] after
    /// the wait's time limit. The stream is boxed ([`Unpin`]: `.next()` needs no pinning).
    pub fn watch(self) -> BoxStream<'static, Result<Computation>> {
        watch(Poll::new(&self.client, &self.id, self.policy)).boxed()
    }

    async fn run(self) -> Result<Finished> {
        let mut states = std::pin::pin!(self.watch());
        let mut last = None;
        while let Some(c) = states.next().await {
            last = Some(c?);
        }
        let computation = last.expect("the watch ends only after a final state or an error");
        let outcome = outcome(&computation).expect("final");
        Ok(Finished {
            computation,
            outcome,
        })
    }
}

impl IntoFuture for WaitForComputation {
    type Output = Result<Finished>;
    type IntoFuture = BoxFuture<'static, Result<Finished>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.run())
    }
}

/// A wait for a data asset to be `ready`: made by [`Client::wait_for_data_asset`], run by
/// awaiting it (it is [`IntoFuture`]).
#[derive(Clone, Debug)]
#[must_use = "a wait does nothing until it is awaited"]
pub struct WaitForDataAsset {
    client: Client,
    id: String,
    policy: PollPolicy,
}

impl WaitForDataAsset {
    wait_options!();

    async fn run(self) -> Result<DataAsset> {
        let id = self.id.as_str();
        let judge = |asset: DataAsset| match &asset.state {
            Some(DataAssetState::Ready) => ControlFlow::Break(Ok(asset)),
            Some(DataAssetState::Failed) => {
                let reason = asset
                    .failure_reason
                    .clone()
                    .unwrap_or_else(|| "no reason given".into());
                ControlFlow::Break(Err(Error::new(
                    ErrorKind::AssetFailed,
                    format!("data asset {id}"),
                    format!("creating it failed: {reason}"),
                )
                .about(id)))
            }
            other => {
                ControlFlow::Continue(other.as_ref().map_or("unknown", |s| s.as_str()).to_owned())
            }
        };
        let client = &self.client;
        Poll::new(client, id, self.policy.clone())
            .until("data asset", || client.get_data_asset(id), judge)
            .await
    }
}

impl IntoFuture for WaitForDataAsset {
    type Output = Result<DataAsset>;
    type IntoFuture = BoxFuture<'static, Result<DataAsset>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.run())
    }
}

/// The states of the computation `p` polls, each time its state (or end status) changes.
fn watch(p: Poll) -> impl Stream<Item = Result<Computation>> + Send + 'static {
    futures_util::stream::unfold(p, |mut p| async move {
        if p.done {
            return None;
        }
        loop {
            let last_state = p
                .last
                .as_ref()
                .and_then(|l| l.0.clone())
                .unwrap_or_else(|| "unknown".into());
            if let Err(e) = p.pause("computation", &last_state).await {
                p.done = true;
                return Some((Err(e), p));
            }
            let c = match p.client.get_computation(&p.id).await {
                Ok(c) => c,
                Err(e) => {
                    p.done = true;
                    return Some((Err(e), p));
                }
            };
            let key = state_key(&c);
            let ended = outcome(&c).is_some();
            if ended || p.last.as_ref() != Some(&key) {
                if p.last.is_some() {
                    // Something is happening: look again soon.
                    p.restart();
                }
                p.last = Some(key);
                p.done = ended;
                return Some((Ok(c), p));
            }
        }
    })
}

impl Client {
    /// The computation each time its state (or end status) changes, starting with its current
    /// state and ending after a final state. Polls with the client's [`PollPolicy`]; gives up
    /// with [`ErrorKind::WaitTimeout`] after its `max_wait`. For a time limit or a policy of
    /// its own: `client.wait_for_computation(id).timeout(d).watch()`
    /// ([`WaitForComputation::watch`]).
    pub fn watch_computation(
        &self,
        computation_id: &str,
    ) -> BoxStream<'static, Result<Computation>> {
        self.wait_for_computation(computation_id).watch()
    }

    /// Waits until a computation has finished and tells how it ended: await the returned
    /// [`WaitForComputation`], after setting a [`timeout`](WaitForComputation::timeout) or a
    /// [`poll_policy`](WaitForComputation::poll_policy) of its own if need be (default: the
    /// client's [`PollPolicy`]). A failed or stopped run is an [`Outcome`], not an error;
    /// giving up waiting is an error of kind [`ErrorKind::WaitTimeout`]. Use
    /// [`Finished::into_success`] to treat anything but success as an error.
    pub fn wait_for_computation(&self, computation_id: &str) -> WaitForComputation {
        WaitForComputation {
            client: self.clone(),
            id: computation_id.to_owned(),
            policy: self.inner.poll.clone(),
        }
    }

    /// Waits until a data asset is `ready`: await the returned [`WaitForDataAsset`] (with a
    /// [`timeout`](WaitForDataAsset::timeout) of its own if need be). A `failed` asset is an
    /// error of kind [`ErrorKind::AssetFailed`] (with the server's reason); giving up is
    /// [`ErrorKind::WaitTimeout`].
    pub fn wait_for_data_asset(&self, data_asset_id: &str) -> WaitForDataAsset {
        WaitForDataAsset {
            client: self.clone(),
            id: data_asset_id.to_owned(),
            policy: self.inner.poll.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn comp(state: &str, end: Option<&str>) -> Computation {
        serde_json::from_value(serde_json::json!({"id": "c", "state": state, "end_status": end}))
            .unwrap()
    }

    #[test]
    fn only_succeeded_is_success() {
        assert_eq!(outcome(&comp("running", None)), None);
        assert_eq!(outcome(&comp("paused_by_admin", None)), None);
        assert_eq!(
            outcome(&comp("completed", Some("succeeded"))),
            Some(Outcome::Succeeded)
        );
        assert_eq!(
            outcome(&comp("completed", Some("failed"))),
            Some(Outcome::Failed)
        );
        assert_eq!(
            outcome(&comp("completed", Some("stopped"))),
            Some(Outcome::Stopped)
        );
        assert_eq!(outcome(&comp("failed", None)), Some(Outcome::Failed));
        assert!(matches!(
            outcome(&comp("completed", Some("cancelled"))),
            Some(Outcome::Unknown(_))
        ));
        assert!(matches!(
            outcome(&comp("completed", None)),
            Some(Outcome::Unknown(_))
        ));
        let f = Finished::new(comp("completed", Some("failed")), Outcome::Failed);
        assert_eq!(f.into_success().unwrap_err().kind(), ErrorKind::RunFailed);
        assert_eq!(Finished::from_computation(comp("running", None)), None);
        let done = Finished::from_computation(comp("completed", Some("succeeded"))).unwrap();
        assert_eq!(done.outcome, Outcome::Succeeded);
        assert!(done.is_success());
    }
}
