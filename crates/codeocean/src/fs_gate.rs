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
//! the body of a part file ([`PartWriter`]): its writes stay on Tokio's blocking pool, where
//! a stream of large writes hands off faster, and a tree of small files makes one write per
//! file.

use std::io::{Seek as _, SeekFrom, Write as _};
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

/// What a write gives back: the file, the emptied buffer (for the next write) and how the
/// write went.
type Written = (std::fs::File, Vec<u8>, std::io::Result<()>);

/// A write in flight (`Err`: its thread panicked).
type PendingWrite =
    std::pin::Pin<Box<dyn Future<Output = std::result::Result<Written, ()>> + Send>>;

/// A part file written behind the body: bytes gather in a buffer; a full buffer is written on
/// the blocking pool while the next one fills, at most one write in flight, so receiving and
/// writing overlap as they would with `tokio::fs::File` (without its copy of each buffer).
/// Cutting the file goes through the job's gate.
pub(crate) struct PartWriter {
    gate: FsGate,
    /// `None` while a write holds it.
    file: Option<std::fs::File>,
    /// The write in flight.
    pending: Option<PendingWrite>,
    /// Bytes gathered for the next write, which goes at `at`.
    buf: Vec<u8>,
    at: u64,
    /// The buffer a finished write gave back.
    spare: Vec<u8>,
    capacity: usize,
}

impl PartWriter {
    /// Writes `file` in writes of up to `capacity` bytes (allocated only once bytes come),
    /// cutting it through `gate`.
    pub(crate) fn new(gate: FsGate, file: std::fs::File, capacity: usize) -> Self {
        Self {
            gate,
            file: Some(file),
            pending: None,
            buf: Vec::new(),
            at: 0,
            spare: Vec::new(),
            capacity: capacity.max(1),
        }
    }

    /// The next bytes go at `offset` (what was gathered is written first).
    pub(crate) async fn seek(&mut self, offset: u64) -> std::io::Result<()> {
        if self.at + self.buf.len() as u64 != offset {
            self.submit().await?;
            self.at = offset;
        }
        Ok(())
    }

    /// Appends `bytes` (written once a buffer fills, or at [`flush`](Self::flush)).
    pub(crate) async fn write(&mut self, mut bytes: &[u8]) -> std::io::Result<()> {
        while !bytes.is_empty() {
            if self.buf.capacity() == 0 {
                self.buf = std::mem::take(&mut self.spare);
                self.buf.reserve_exact(self.capacity);
            }
            let room = self.capacity.saturating_sub(self.buf.len()).max(1);
            let (now, rest) = bytes.split_at(room.min(bytes.len()));
            self.buf.extend_from_slice(now);
            bytes = rest;
            if self.buf.len() >= self.capacity {
                self.submit().await?;
            }
        }
        Ok(())
    }

    /// Writes what was gathered and waits until every write is done.
    pub(crate) async fn flush(&mut self) -> std::io::Result<()> {
        self.submit().await?;
        self.settle().await
    }

    /// Cuts the file to `len` bytes (after every write is done); the next bytes go there.
    pub(crate) async fn set_len(&mut self, len: u64) -> std::io::Result<()> {
        self.buf.clear();
        self.settle().await?;
        let file = self.file.take().expect("settled");
        self.at = len;
        let (file, r) = self
            .gate
            .run(move || {
                let r = file.set_len(len);
                Ok((file, r))
            })
            .await
            .map_err(std::io::Error::other)?;
        self.file = Some(file);
        r
    }

    /// The file, once every write is done.
    pub(crate) async fn into_std(mut self) -> std::io::Result<std::fs::File> {
        self.flush().await?;
        Ok(self.file.take().expect("settled"))
    }

    /// Starts writing the gathered bytes (after the write in flight).
    async fn submit(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        self.settle().await?;
        let mut file = self.file.take().expect("settled");
        let mut buf = std::mem::take(&mut self.buf);
        let at = self.at;
        self.at += buf.len() as u64;
        // On Tokio's blocking pool, not the job's threads: a stream of large writes hands off
        // faster there (measured: 1 GiB in 0.76 s against 0.98 s, medians of 8), and a tree
        // of small files makes one write per file.
        let write = tokio::task::spawn_blocking(move || {
            let r = file
                .seek(SeekFrom::Start(at))
                .and_then(|_| file.write_all(&buf));
            buf.clear();
            (file, buf, r)
        });
        self.pending = Some(Box::pin(async move { write.await.map_err(drop) }));
        Ok(())
    }

    /// Waits for the write in flight (its error, if it failed); the file is back in place.
    async fn settle(&mut self) -> std::io::Result<()> {
        if let Some(task) = self.pending.take() {
            let (file, buf, r) = task
                .await
                .map_err(|()| std::io::Error::other(step_failed()))?;
            self.file = Some(file);
            self.spare = buf;
            r?;
        }
        if self.file.is_none() {
            // Only a write task that panicked keeps it.
            return Err(std::io::Error::other(
                "the part file was lost by a failed write",
            ));
        }
        Ok(())
    }
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

    #[tokio::test]
    async fn a_part_writer_writes_what_it_was_given_where_it_was_told() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("part");
        let file = std::fs::File::create(&path).unwrap();
        // Capacity 4: writes of whole buffers, a chunk split across them, one in flight while
        // the next fills.
        let mut w = PartWriter::new(FsGate::default(), file, 4);
        w.seek(0).await.unwrap();
        w.write(b"abcdefghij").await.unwrap();
        w.write(b"").await.unwrap();
        w.write(b"k").await.unwrap();
        w.flush().await.unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"abcdefghijk");
        // Starting over: emptied, the next bytes at 0.
        w.write(b"dropped").await.unwrap();
        w.set_len(0).await.unwrap();
        w.write(b"xy").await.unwrap();
        w.flush().await.unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"xy");
        // A seek elsewhere writes what was gathered first.
        w.write(b"z").await.unwrap();
        w.seek(5).await.unwrap();
        w.write(b"!").await.unwrap();
        let file = w.into_std().await.unwrap();
        assert_eq!(file.metadata().unwrap().len(), 6);
        assert_eq!(std::fs::read(&path).unwrap(), b"xyz\0\0!");
    }
}
