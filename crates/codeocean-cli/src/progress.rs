//! Progress on stderr: indicatif bars on a terminal, plain lines otherwise, nothing with -q.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use codeocean::Progress;
use indicatif::{ProgressBar, ProgressStyle};

use crate::Ctx;
use crate::output;

/// How progress is shown.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Bar,
    Lines,
    Silent,
}

fn mode(ctx: &Ctx) -> Mode {
    if ctx.quiet {
        Mode::Silent
    } else if ctx.fancy {
        Mode::Bar
    } else {
        Mode::Lines
    }
}

/// A spinner showing what is awaited, its current state and the time spent.
pub(crate) struct Waiting {
    bar: Option<ProgressBar>,
    mode: Mode,
    what: String,
    last: Mutex<String>,
}

impl Waiting {
    pub(crate) fn new(ctx: &Ctx, what: impl Into<String>) -> Self {
        let mode = mode(ctx);
        let what = what.into();
        let bar = (mode == Mode::Bar).then(|| {
            let bar = ProgressBar::new_spinner().with_style(
                ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
                    .expect("valid template"),
            );
            bar.enable_steady_tick(Duration::from_millis(120));
            bar.set_message(format!("{what}: waiting"));
            bar
        });
        Self {
            bar,
            mode,
            what,
            last: Mutex::new(String::new()),
        }
    }

    /// The awaited object is now in this state.
    pub(crate) fn state(&self, state: &str) {
        let mut last = self.last.lock().unwrap();
        if *last == state {
            return;
        }
        state.clone_into(&mut last);
        match (&self.bar, self.mode) {
            (Some(bar), _) => bar.set_message(format!("{}: {state}", self.what)),
            (None, Mode::Lines) => eprintln!("{}: {state}", self.what),
            _ => {}
        }
    }

    /// Removes the spinner.
    pub(crate) fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        self.finish();
    }
}

/// Drives a bar (files, bytes, rate) from a download job.
pub(crate) struct Downloading {
    bar: Option<ProgressBar>,
    mode: Mode,
    found: AtomicU64,
    done: AtomicU64,
    bytes: AtomicU64,
    started: Instant,
    last_line: Mutex<Instant>,
    /// Sizes of files found, so a skipped file leaves the bar's total.
    sizes: Mutex<std::collections::HashMap<String, u64>>,
}

impl Downloading {
    pub(crate) fn new(ctx: &Ctx) -> Self {
        let mode = mode(ctx);
        let bar = (mode == Mode::Bar).then(|| {
            let bar = ProgressBar::new(0).with_style(
                ProgressStyle::with_template(
                    "{msg} [{bar:30}] {bytes}/{total_bytes} {binary_bytes_per_sec} {elapsed}",
                )
                .expect("valid template")
                .progress_chars("=> "),
            );
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        });
        Self {
            bar,
            mode,
            found: AtomicU64::new(0),
            done: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            started: Instant::now(),
            last_line: Mutex::new(Instant::now()),
            sizes: Mutex::default(),
        }
    }

    fn files(&self) -> String {
        format!(
            "files {}/{}",
            self.done.load(Ordering::Relaxed),
            self.found.load(Ordering::Relaxed)
        )
    }

    /// A plain progress line at most once a second.
    fn line(&self) {
        if self.mode != Mode::Lines {
            return;
        }
        let mut last = self.last_line.lock().unwrap();
        if last.elapsed() >= Duration::from_secs(1) {
            *last = Instant::now();
            let bytes = self.bytes.load(Ordering::Relaxed);
            eprintln!(
                "downloading: {}, {} ({})",
                self.files(),
                output::bytes(bytes),
                output::rate(bytes, self.started.elapsed())
            );
        }
    }

    /// Removes the bar.
    pub(crate) fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

impl Progress for Downloading {
    fn file_found(&self, path: &str, size: Option<u64>) {
        self.found.fetch_add(1, Ordering::Relaxed);
        if let Some(bar) = &self.bar {
            let size = size.unwrap_or(0);
            self.sizes.lock().unwrap().insert(path.to_owned(), size);
            bar.inc_length(size);
            bar.set_message(self.files());
        }
    }

    fn bytes(&self, n: u64) {
        self.bytes.fetch_add(n, Ordering::Relaxed);
        if let Some(bar) = &self.bar {
            bar.inc(n);
        }
    }

    fn file_done(&self, path: &str, skipped: bool) {
        self.done.fetch_add(1, Ordering::Relaxed);
        if let Some(bar) = &self.bar {
            bar.set_message(self.files());
            let size = self.sizes.lock().unwrap().remove(path).unwrap_or(0);
            if skipped {
                bar.dec_length(size);
            }
        }
        tracing::debug!(path, skipped, "file complete");
        self.line();
    }

    /// One line per failure, also with -q (it is an error); the command's last line counts
    /// them instead of repeating one.
    fn failed(&self, path: &str, error: &codeocean::Error) {
        let line = failure_line(path, error);
        match &self.bar {
            Some(bar) => bar.suspend(|| eprintln!("{line}")),
            None => eprintln!("{line}"),
        }
    }

    fn retrying(&self, path: &str, error: &codeocean::Error) {
        tracing::debug!(path, error = %error, "retrying transfer");
    }

    fn waiting_for_destination(&self, dest: &std::path::Path) {
        let msg = format!(
            "waiting: another download into {} is running; it goes on when that one ends",
            dest.display()
        );
        match &self.bar {
            Some(bar) => bar.suspend(|| eprintln!("{msg}")),
            None if self.mode == Mode::Lines => eprintln!("{msg}"),
            None => {}
        }
    }
}

/// `failed: PATH: why`, or `failed: why` for a folder listing (its error names the folder).
pub(crate) fn failure_line(path: &str, error: &codeocean::Error) -> String {
    if path.starts_with('(') {
        format!("failed: {error}")
    } else {
        format!("failed: {path}: {error}")
    }
}

impl Drop for Downloading {
    fn drop(&mut self) {
        self.finish();
    }
}
