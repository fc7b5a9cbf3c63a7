//! Progress on stderr: indicatif bars on a terminal, plain lines otherwise, nothing with -q.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use codeocean::Progress;
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::Ctx;
use crate::output;

/// A spinner's line: the message takes what the terminal width leaves (cut when longer).
const SPINNER: &str = "{spinner} {wide_msg} {elapsed:>4}";

/// A download's line: the bar takes what the terminal width leaves, so the line fits at 80
/// columns (`files 10/100 [===>   ] 1.2 MiB/3.4 MiB 5 MiB/s 3s`).
const DOWNLOAD_BAR: &str =
    "{msg} [{wide_bar}] {bytes}/{total_bytes} {binary_bytes_per_sec} {elapsed}";

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

/// Most columns a spinner gives to what it is about (a batch line's name), so that the state
/// after it stays in view at 80 columns however long the name; the line that says how it
/// ended shows the name whole.
const LABEL_COLUMNS: usize = 40;

/// A spinner's message: what (cut to [`LABEL_COLUMNS`]) and its state.
fn spinner_message(what: &str, state: &str) -> String {
    format!("{}: {state}", output::truncate(what, LABEL_COLUMNS))
}

/// A spinner showing what is awaited, its current state and the time spent.
pub(crate) struct Waiting {
    bar: Option<ProgressBar>,
    /// The batch display the spinner is a line of, which it leaves when finished.
    multi: Option<MultiProgress>,
    mode: Mode,
    what: String,
    last: Mutex<String>,
}

impl Waiting {
    pub(crate) fn new(ctx: &Ctx, what: impl Into<String>) -> Self {
        let mode = mode(ctx);
        let what = what.into();
        let bar = (mode == Mode::Bar).then(|| {
            let bar = ProgressBar::new_spinner()
                .with_style(ProgressStyle::with_template(SPINNER).expect("valid template"));
            bar.enable_steady_tick(Duration::from_millis(120));
            bar.set_message(spinner_message(&what, "waiting"));
            bar
        });
        Self {
            bar,
            multi: None,
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
            (Some(bar), _) => bar.set_message(spinner_message(&self.what, state)),
            (None, Mode::Lines) => eprintln!("{}: {state}", self.what),
            _ => {}
        }
    }

    /// Removes the spinner.
    pub(crate) fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
            if let Some(multi) = &self.multi {
                multi.remove(bar);
            }
        }
    }

    /// What this display is about (a batch line's name).
    pub(crate) fn what(&self) -> &str {
        &self.what
    }

    /// Progress of a download shown on this display's line (files and bytes in its message);
    /// without a terminal, only failures are printed.
    pub(crate) fn download(&self) -> Arc<LineDownload> {
        Arc::new(LineDownload {
            bar: self.bar.clone(),
            multi: self.multi.clone(),
            mode: self.mode,
            what: self.what.clone(),
            found: AtomicU64::new(0),
            done: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
        })
    }
}

/// A download's progress on a batch line.
pub(crate) struct LineDownload {
    bar: Option<ProgressBar>,
    multi: Option<MultiProgress>,
    mode: Mode,
    what: String,
    found: AtomicU64,
    done: AtomicU64,
    bytes: AtomicU64,
}

impl LineDownload {
    fn show(&self) {
        if let Some(bar) = &self.bar {
            bar.set_message(format!(
                "{}: downloading, files {}/{}, {}",
                self.what,
                self.done.load(Ordering::Relaxed),
                self.found.load(Ordering::Relaxed),
                output::bytes(self.bytes.load(Ordering::Relaxed))
            ));
        }
    }
}

impl Progress for LineDownload {
    fn file_found(&self, _: &str, _: Option<u64>) {
        self.found.fetch_add(1, Ordering::Relaxed);
        self.show();
    }

    fn bytes(&self, _: &str, n: u64) {
        self.bytes.fetch_add(n, Ordering::Relaxed);
        self.show();
    }

    fn file_done(&self, _: &str, _: bool) {
        self.done.fetch_add(1, Ordering::Relaxed);
        self.show();
    }

    fn failed(&self, path: &str, error: &codeocean::Error) {
        let line = output::printable(&format!(
            "{}: failed: {path}: {}",
            self.what,
            crate::full(error)
        ))
        .into_owned();
        match (&self.multi, self.mode) {
            (Some(multi), _) => {
                let _ = multi.println(line);
            }
            (None, Mode::Lines) => eprintln!("{line}"),
            _ => {}
        }
    }
}

/// The progress of a batch: on a terminal, one spinner per active run, named by its line and
/// removed when the run ends, above a `k/N done` total; without one, a line per state change
/// (`3-sample_a: running`), the end of each line with the count (`3-sample_a: succeeded (2/5
/// done)`); nothing with -q.
pub(crate) struct BatchProgress {
    mode: Mode,
    multi: Option<MultiProgress>,
    total: Option<ProgressBar>,
    lines: usize,
    done: AtomicUsize,
}

/// The total's line.
const TOTAL: &str = "{wide_msg} {pos}/{len} done {elapsed:>4}";

impl BatchProgress {
    /// A display for a batch of `lines` lines, drawn on stderr.
    pub(crate) fn new(ctx: &Ctx, lines: usize) -> Self {
        Self::with_target(mode(ctx), lines, ProgressDrawTarget::stderr)
    }

    fn with_target(mode: Mode, lines: usize, target: impl FnOnce() -> ProgressDrawTarget) -> Self {
        let (multi, total) = if mode == Mode::Bar {
            let multi = MultiProgress::with_draw_target(target());
            let total = multi.add(
                ProgressBar::new(lines as u64)
                    .with_style(ProgressStyle::with_template(TOTAL).expect("valid template"))
                    .with_message("batch:"),
            );
            total.enable_steady_tick(Duration::from_millis(200));
            (Some(multi), Some(total))
        } else {
            (None, None)
        };
        Self {
            mode,
            multi,
            total,
            lines,
            done: AtomicUsize::new(0),
        }
    }

    /// The display of one line's run, named `what`; a spinner above the total until
    /// [`ended`](Self::ended).
    pub(crate) fn line(&self, what: String) -> Waiting {
        let bar = match (&self.multi, &self.total) {
            (Some(multi), Some(total)) => {
                let bar = multi.insert_before(
                    total,
                    ProgressBar::new_spinner()
                        .with_style(ProgressStyle::with_template(SPINNER).expect("valid template")),
                );
                bar.set_message(spinner_message(&what, "launching"));
                bar.enable_steady_tick(Duration::from_millis(120));
                Some(bar)
            }
            _ => None,
        };
        Waiting {
            bar,
            multi: self.multi.clone(),
            mode: self.mode,
            what,
            last: Mutex::new(String::new()),
        }
    }

    /// One line ended with this outcome: its spinner goes, a line says how it ended, and the
    /// total counts it.
    pub(crate) fn ended(&self, line: &Waiting, outcome: &str) {
        let k = self.done.fetch_add(1, Ordering::Relaxed) + 1;
        line.finish();
        let text = format!("{}: {outcome} ({k}/{} done)", line.what, self.lines);
        match (&self.multi, &self.total) {
            (Some(multi), Some(total)) => {
                total.set_position(k as u64);
                let _ = multi.println(text);
            }
            _ if self.mode == Mode::Lines => eprintln!("{text}"),
            _ => {}
        }
    }

    /// A note above the bars (or a plain line; nothing with -q).
    pub(crate) fn note(&self, text: &str) {
        match &self.multi {
            Some(multi) => {
                let _ = multi.println(text);
            }
            None if self.mode == Mode::Lines => eprintln!("{text}"),
            None => {}
        }
    }

    /// Removes the total.
    pub(crate) fn finish(&self) {
        if let Some(total) = &self.total {
            total.finish_and_clear();
        }
    }
}

impl Drop for BatchProgress {
    fn drop(&mut self) {
        self.finish();
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
                ProgressStyle::with_template(DOWNLOAD_BAR)
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

    fn bytes(&self, _: &str, n: u64) {
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
        tracing::debug!(path, error = %crate::full(error), "retrying transfer");
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
    // A server path (and what the error quotes of it) may hold control characters: shown as
    // escapes, so that it cannot drive the terminal.
    let error = crate::full(error);
    let line = if path.starts_with('(') {
        format!("failed: {error}")
    } else {
        format!("failed: {path}: {error}")
    };
    output::printable(&line).into_owned()
}

impl Drop for Downloading {
    fn drop(&mut self) {
        self.finish();
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::sync::{Arc, Mutex};

    use indicatif::{ProgressDrawTarget, TermLike};

    use super::*;

    /// A terminal of a fixed width that records what is drawn, line by line.
    #[derive(Debug, Clone, Default)]
    pub(crate) struct Recorder {
        pub(crate) width: u16,
        pub(crate) lines: Arc<Mutex<Vec<String>>>,
    }

    impl Recorder {
        pub(crate) fn new(width: u16) -> Self {
            Self {
                width,
                lines: Arc::default(),
            }
        }

        pub(crate) fn target(&self) -> ProgressDrawTarget {
            ProgressDrawTarget::term_like(Box::new(self.clone()))
        }

        /// Every line drawn so far, in order.
        pub(crate) fn drawn(&self) -> Vec<String> {
            self.lines.lock().unwrap().clone()
        }
    }

    impl TermLike for Recorder {
        fn width(&self) -> u16 {
            self.width
        }
        fn move_cursor_up(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn move_cursor_down(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn move_cursor_right(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn move_cursor_left(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn write_line(&self, s: &str) -> std::io::Result<()> {
            self.lines.lock().unwrap().push(s.to_owned());
            Ok(())
        }
        fn write_str(&self, s: &str) -> std::io::Result<()> {
            if !s.is_empty() {
                self.lines.lock().unwrap().push(s.to_owned());
            }
            Ok(())
        }
        fn clear_line(&self) -> std::io::Result<()> {
            Ok(())
        }
        fn flush(&self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// Display width, ignoring ANSI styling.
    pub(crate) fn columns(s: &str) -> usize {
        unicode_width::UnicodeWidthStr::width(console_free(s).as_str())
    }

    fn console_free(s: &str) -> String {
        let mut out = String::new();
        let mut escape = false;
        for c in s.chars() {
            match (escape, c) {
                (false, '\u{1b}') => escape = true,
                (true, 'm') => escape = false,
                (true, _) => {}
                (false, c) => out.push(c),
            }
        }
        out
    }

    #[test]
    fn a_batch_shows_one_spinner_per_active_line_and_the_total() {
        let term = Recorder::new(80);
        let batch = BatchProgress::with_target(Mode::Bar, 2, || term.target());
        let a = batch.line("1-sample_a".into());
        a.state("running");
        let b = batch.line("line-2".into());
        b.state("initializing");
        batch.ended(&a, "succeeded");
        let drawn = term.drawn();
        let ended = drawn
            .iter()
            .position(|l| l.contains("1-sample_a: succeeded (1/2 done)"))
            .unwrap_or_else(|| panic!("{drawn:?}"));
        // Each spinner is named by its line, never flipped to another's name.
        assert!(
            drawn.iter().any(|l| l.contains("1-sample_a: running")),
            "{drawn:?}"
        );
        // After its end, the ended line's spinner is gone; the other one and the total stay.
        b.state("running");
        batch.note("a note");
        // (The total is redrawn by its steady tick.)
        let deadline = Instant::now() + Duration::from_secs(10);
        while !term.drawn()[ended + 1..]
            .iter()
            .any(|l| l.contains("batch:") && l.contains("1/2 done"))
        {
            assert!(Instant::now() < deadline, "{:?}", term.drawn());
            std::thread::sleep(Duration::from_millis(20));
        }
        let after = &term.drawn()[ended + 1..];
        assert!(
            !after.iter().any(|l| l.contains("1-sample_a:")),
            "{after:?}"
        );
        assert!(
            after.iter().any(|l| l.contains("line-2: running")),
            "{after:?}"
        );
        batch.ended(&b, "failed");
        assert!(
            term.drawn()
                .iter()
                .any(|l| l.contains("line-2: failed (2/2 done)")),
            "{:?}",
            term.drawn()
        );
        for line in term.drawn() {
            assert!(columns(&line) <= 80, "{line}");
        }
    }

    #[test]
    fn a_long_line_name_leaves_its_state_in_view() {
        let term = Recorder::new(80);
        let batch = BatchProgress::with_target(Mode::Bar, 1, || term.target());
        let name = format!("1-{}", "漢字".repeat(35));
        let a = batch.line(name.clone());
        a.state("initializing");
        let deadline = Instant::now() + Duration::from_secs(10);
        while !term.drawn().iter().any(|l| l.contains(": initializing")) {
            assert!(Instant::now() < deadline, "{:?}", term.drawn());
            std::thread::sleep(Duration::from_millis(20));
        }
        batch.ended(&a, "succeeded");
        // The line that says how it ended names it whole.
        assert!(
            term.drawn()
                .iter()
                .any(|l| l.contains(&format!("{name}: succeeded (1/1 done)"))),
            "{:?}",
            term.drawn()
        );
    }

    #[test]
    fn a_failure_line_shows_control_characters_as_escapes() {
        let error = codeocean::safe_segments("").unwrap_err();
        let line = failure_line("evil\u{1b}]0;pwned\u{7}\nname", &error);
        assert!(
            line.starts_with("failed: evil\\u{1b}]0;pwned\\u{7}\\nname: "),
            "{line}"
        );
        assert!(!line.chars().any(char::is_control), "{line}");
    }

    #[test]
    fn bars_fit_the_terminal_width() {
        let term = Recorder::new(60);
        let bar = ProgressBar::with_draw_target(Some(10 << 30), term.target()).with_style(
            ProgressStyle::with_template(DOWNLOAD_BAR)
                .unwrap()
                .progress_chars("=> "),
        );
        bar.set_message("files 1234/56789");
        bar.inc(3 << 29);
        bar.tick();
        let spinner = ProgressBar::with_draw_target(None, term.target())
            .with_style(ProgressStyle::with_template(SPINNER).unwrap());
        spinner.set_message(format!(
            "computation {}: running and running with a long state text",
            "c0ffee00-0000-4000-8000-000000000001"
        ));
        spinner.tick();
        let drawn = term.drawn();
        assert!(
            drawn.iter().any(|l| l.contains("files 1234/56789 [")),
            "{drawn:?}"
        );
        assert!(
            drawn.iter().any(|l| l.contains("computation c0ffee00")),
            "{drawn:?}"
        );
        for line in &drawn {
            assert!(columns(line) <= 60, "{}: {line}", columns(line));
        }
    }
}
