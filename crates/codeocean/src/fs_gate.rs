//! A download's filesystem work, on a few threads of its own: at most [`FS_CONCURRENCY`]
//! steps of one job at once (making folders, opening, writing, renaming), however many
//! transfers are in flight.
//!
//! On Tokio's blocking pool a job with a hundred files in flight ran on as many threads: the
//! pool starts a thread for every step that finds no idle one (up to 512 by default), and
//! even with the steps gated to a few at once it kept starting more, since a step's thread is
//! not idle yet when the next step arrives. Each thread holds its stack and its share of the
//! allocator's arenas, memory that grew with the job's concurrency and bought nothing (local
//! filesystem steps take microseconds). Here the job's steps queue for threads started as
//! needed, never more than [`FS_CONCURRENCY`], which end with the job. The one exception is
//! the body of a part file: `tokio::fs::File` writes it on Tokio's blocking pool, where a
//! stream of large writes runs fastest (measured: a 1 GiB file through the job's threads took
//! 0.98 s against 0.70 s, medians of 8), and a tree of small files makes one write per file.

use std::sync::mpsc;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::oneshot;

use crate::error::{Error, ErrorKind, Result};

/// Filesystem steps of one download job at once (and threads it starts for them). Enough to
/// keep a local disk busy, and a network filesystem of a few milliseconds a step for
/// thousands of files a second.
pub(crate) const FS_CONCURRENCY: usize = 8;

/// A step for the job's threads.
type Step = Box<dyn FnOnce() + Send>;

/// The filesystem threads of one job (cloned into its tasks; the threads end once every clone
/// is gone and the queue is empty).
#[derive(Clone)]
pub(crate) struct FsGate(Arc<Shared>);

struct Shared {
    queue: mpsc::Sender<Step>,
    /// Where the threads take steps from.
    steps: Arc<Mutex<mpsc::Receiver<Step>>>,
    counts: Mutex<Counts>,
}

/// Threads started, and steps queued or running.
#[derive(Default)]
struct Counts {
    threads: usize,
    busy: usize,
}

impl std::fmt::Debug for FsGate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let c = self.0.counts.lock().unwrap_or_else(PoisonError::into_inner);
        f.debug_struct("FsGate")
            .field("threads", &c.threads)
            .field("busy", &c.busy)
            .finish()
    }
}

impl Default for FsGate {
    fn default() -> Self {
        let (queue, steps) = mpsc::channel();
        Self(Arc::new(Shared {
            queue,
            steps: Arc::new(Mutex::new(steps)),
            counts: Mutex::default(),
        }))
    }
}

impl FsGate {
    /// Runs the filesystem step `f` on one of the job's threads.
    pub(crate) async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> Result<T> + Send + 'static,
    ) -> Result<T> {
        self.spawn(f).await.unwrap_or_else(|()| Err(step_failed()))
    }

    /// Queues `f` for the job's threads (starting one if every thread is busy and there are
    /// fewer than [`FS_CONCURRENCY`]); what it returns, or `Err(())` if it panicked.
    fn spawn<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> impl Future<Output = std::result::Result<T, ()>> + Send + 'static {
        let (tx, rx) = oneshot::channel();
        let shared = Arc::downgrade(&self.0);
        let step: Step = Box::new(move || {
            // A panic drops `tx`: the caller's error. The thread goes on.
            let v = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
            // Not busy before the caller hears: a caller that queues its next step at once
            // finds this thread about to take it, and starts no other.
            if let Some(shared) = shared.upgrade() {
                shared.lock_counts().busy -= 1;
            }
            if let Ok(v) = v {
                let _ = tx.send(v);
            }
        });
        let start = {
            let mut c = self.0.lock_counts();
            c.busy += 1;
            let start = c.busy > c.threads && c.threads < FS_CONCURRENCY;
            if start {
                c.threads += 1;
            }
            start
        };
        if start {
            let steps = self.0.steps.clone();
            let started = std::thread::Builder::new()
                .name("codeocean-fs".into())
                .spawn(move || {
                    loop {
                        let step = steps.lock().unwrap_or_else(PoisonError::into_inner).recv();
                        match step {
                            Ok(step) => step(),
                            Err(_) => break,
                        }
                    }
                });
            if started.is_err() {
                // The steps still run, on the threads there are (at least one, unless none
                // could ever start: then the step's caller gets an error).
                self.0.lock_counts().threads -= 1;
            }
        }
        let queued = self.0.queue.send(step).is_ok() && self.0.lock_counts().threads > 0;
        async move {
            if !queued {
                return Err(());
            }
            rx.await.map_err(drop)
        }
    }
}

impl Shared {
    fn lock_counts(&self) -> std::sync::MutexGuard<'_, Counts> {
        self.counts.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn step_failed() -> Error {
    Error::new(
        ErrorKind::Io,
        "writing files",
        "a filesystem step failed (its thread panicked or could not start)",
    )
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_gate_lets_only_so_many_steps_run_at_once() {
        let gate = FsGate::default();
        let (now, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let steps = (0..4 * FS_CONCURRENCY).map(|_| {
            let (gate, now, most) = (gate.clone(), now.clone(), most.clone());
            tokio::spawn(async move {
                gate.run(move || {
                    let n = now.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(n, Ordering::SeqCst);
                    std::thread::sleep(std::time::Duration::from_millis(20));
                    now.fetch_sub(1, Ordering::SeqCst);
                    Ok(())
                })
                .await
            })
        });
        for step in futures_util::future::join_all(steps).await {
            step.unwrap().unwrap();
        }
        let most = most.load(Ordering::SeqCst);
        assert!(most <= FS_CONCURRENCY, "{most} steps ran at once");
        assert!(most > 1, "the steps ran one at a time");
        let threads = gate.0.lock_counts().threads;
        assert!(threads <= FS_CONCURRENCY, "{threads} threads started");
    }

    #[tokio::test]
    async fn a_step_that_panics_is_an_error_and_the_threads_go_on() {
        let gate = FsGate::default();
        let e = gate
            .run(|| -> Result<()> { panic!("boom") })
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Io);
        assert_eq!(gate.run(|| Ok(7)).await.unwrap(), 7);
        assert_eq!(gate.0.lock_counts().busy, 0);
    }

    #[tokio::test]
    async fn one_step_at_a_time_needs_one_thread() {
        let gate = FsGate::default();
        for i in 0..100 {
            assert_eq!(gate.run(move || Ok(i)).await.unwrap(), i);
        }
        assert_eq!(gate.0.lock_counts().threads, 1);
    }
}
