//! Waiting for computations and data assets to reach a final state.

use std::future::Future;
use std::ops::ControlFlow;
use std::time::{Duration, Instant};

use futures_util::{Stream, StreamExt as _};

use crate::client::{Client, PollPolicy};
use crate::error::{Error, ErrorKind, Result};
use crate::{Computation, ComputationEndStatus, ComputationState, DataAsset, DataAssetState};

/// How a finished computation ended.
#[derive(Clone, Debug, PartialEq, Eq)]
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

/// A computation that has reached a final state.
#[derive(Clone, Debug, PartialEq)]
pub struct Finished {
    /// The computation as last polled.
    pub computation: Computation,
    /// How it ended.
    pub outcome: Outcome,
}

impl Finished {
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

impl Client {
    /// The computation each time its state (or end status) changes, starting with its current
    /// state and ending after a final state. Polls with the client's [`PollPolicy`]; gives up
    /// with [`ErrorKind::WaitTimeout`] after its `max_wait`.
    pub fn watch_computation(
        &self,
        computation_id: &str,
    ) -> impl Stream<Item = Result<Computation>> + Send + 'static {
        self.watch_computation_with(computation_id, self.inner.poll.clone())
    }

    /// [`watch_computation`](Client::watch_computation) with a polling policy of its own.
    pub fn watch_computation_with(
        &self,
        computation_id: &str,
        policy: PollPolicy,
    ) -> impl Stream<Item = Result<Computation>> + Send + 'static {
        futures_util::stream::unfold(
            Poll::new(self, computation_id, policy),
            |mut p| async move {
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
            },
        )
    }

    /// Waits until a computation has finished and tells how it ended. A failed or stopped run
    /// is an [`Outcome`], not an error; giving up waiting is an error of kind
    /// [`ErrorKind::WaitTimeout`]. Use [`Finished::into_success`] to treat anything but success
    /// as an error.
    pub async fn wait_for_computation(&self, computation_id: &str) -> Result<Finished> {
        self.wait_for_computation_with(computation_id, self.inner.poll.clone())
            .await
    }

    /// [`wait_for_computation`](Client::wait_for_computation) with a polling policy of its own.
    pub async fn wait_for_computation_with(
        &self,
        computation_id: &str,
        policy: PollPolicy,
    ) -> Result<Finished> {
        let mut states = std::pin::pin!(self.watch_computation_with(computation_id, policy));
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

    /// Waits until a data asset is `ready`. A `failed` asset is an error of kind
    /// [`ErrorKind::AssetFailed`] (with the server's reason); giving up is
    /// [`ErrorKind::WaitTimeout`].
    pub async fn wait_for_data_asset(&self, data_asset_id: &str) -> Result<DataAsset> {
        self.wait_for_data_asset_with(data_asset_id, self.inner.poll.clone())
            .await
    }

    /// [`wait_for_data_asset`](Client::wait_for_data_asset) with a polling policy of its own.
    pub async fn wait_for_data_asset_with(
        &self,
        data_asset_id: &str,
        policy: PollPolicy,
    ) -> Result<DataAsset> {
        let judge = |asset: DataAsset| match &asset.state {
            Some(DataAssetState::Ready) => ControlFlow::Break(Ok(asset)),
            Some(DataAssetState::Failed) => {
                let reason = asset
                    .failure_reason
                    .clone()
                    .unwrap_or_else(|| "no reason given".into());
                ControlFlow::Break(Err(Error::new(
                    ErrorKind::AssetFailed,
                    format!("data asset {data_asset_id}"),
                    format!("creating it failed: {reason}"),
                )
                .about(data_asset_id)))
            }
            other => {
                ControlFlow::Continue(other.as_ref().map_or("unknown", |s| s.as_str()).to_owned())
            }
        };
        Poll::new(self, data_asset_id, policy)
            .until("data asset", || self.get_data_asset(data_asset_id), judge)
            .await
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
        let f = Finished {
            computation: comp("completed", Some("failed")),
            outcome: Outcome::Failed,
        };
        assert_eq!(f.into_success().unwrap_err().kind(), ErrorKind::RunFailed);
    }
}
