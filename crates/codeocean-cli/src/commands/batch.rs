//! `codeocean batch`: many runs from a JSON Lines file, with a journal so that an interrupted
//! batch resumes without launching any line twice.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::bail;
use codeocean::{Client, Outcome, RunRequest};
use futures_util::StreamExt as _;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use super::{interrupted, outcome_str, wait_run_shown};
use crate::cli::BatchArgs;
use crate::journal::Journal;
use crate::progress::{BatchProgress, Waiting};
use crate::request::{self, Line};
use crate::{Ctx, EXIT_FAILED, EXIT_TIMEOUT, Exit, output};

/// One journal record (the state file holds JSON Lines of them, appended and synced as each
/// run is created): a line whose computation exists.
#[derive(Serialize, Deserialize, Debug, Clone)]
struct Record {
    line: usize,
    hash: String,
    computation_id: String,
}

/// What became of one line.
#[derive(Serialize, Debug)]
struct Row {
    line: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    computation_id: Option<String>,
    /// Whether the computation was launched by an earlier, interrupted batch.
    resumed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    state: Option<String>,
    /// launched, succeeded, failed, stopped, timed out, not launched, error.
    outcome: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

/// Launch spacing and the stop signal, shared by the line tasks.
struct Shared<'a> {
    client: Client,
    journal: Journal,
    args: &'a BatchArgs,
    next_launch: tokio::sync::Mutex<tokio::time::Instant>,
    stop: watch::Receiver<bool>,
    progress: BatchProgress,
}

impl Shared<'_> {
    fn stopped(&self) -> bool {
        *self.stop.borrow()
    }

    /// Resolves when Ctrl-C was pressed.
    async fn on_stop(&self) {
        let mut rx = self.stop.clone();
        let _ = rx.wait_for(|s| *s).await;
    }
}

/// The default state file: `FILE.state` next to the batch file.
fn default_state(file: &Path) -> PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(".state");
    PathBuf::from(name)
}

pub(crate) async fn batch(ctx: &Ctx, args: BatchArgs) -> anyhow::Result<()> {
    // Every line is checked before anything is sent.
    let lines = request::load_batch(&args.file)?;
    for l in &lines {
        let origin = format!("{} line {}", args.file.display(), l.number);
        for w in request::named_twice(&l.request, &origin) {
            ctx.note(format!("warning: {w}"));
        }
    }
    let state_path = args
        .state
        .clone()
        .unwrap_or_else(|| default_state(&args.file));
    let mut records = BTreeMap::new();
    let journal = Journal::open(&state_path, |r: Record| {
        records.insert(r.line, r);
    })?;
    for r in records.values() {
        match lines.iter().find(|l| l.number == r.line) {
            Some(l) if l.hash == r.hash => {}
            _ => bail!(
                "{} line {} changed since it was launched as computation {} (state file {}); \
                 restore the line, or use another --state to start over",
                args.file.display(),
                r.line,
                r.computation_id,
                state_path.display()
            ),
        }
    }
    if !records.is_empty() {
        ctx.note(format!(
            "resuming: {} of {} lines already launched (state file {})",
            records.len(),
            lines.len(),
            state_path.display()
        ));
    }
    let client = ctx.client()?;
    let (stop_tx, stop) = watch::channel(false);
    let watcher = tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            let _ = stop_tx.send(true);
        }
    });
    let shared = Shared {
        client,
        journal,
        args: &args,
        next_launch: tokio::sync::Mutex::new(tokio::time::Instant::now()),
        stop,
        progress: BatchProgress::new(ctx, lines.len()),
    };
    let mut rows = Vec::new();
    {
        let shared = &shared;
        let mut tasks = std::pin::pin!(
            futures_util::stream::iter(lines.iter())
                .map(|line| process(shared, line, records.get(&line.number)))
                .buffer_unordered(args.concurrency.max(1))
        );
        while let Some(row) = tasks.next().await {
            if ctx.json {
                output::json_line(&row)?;
            }
            rows.push(row);
        }
    }
    watcher.abort();
    shared.progress.finish();
    rows.sort_by_key(|r| r.line);
    if !ctx.json {
        let table: Vec<Vec<String>> = rows
            .iter()
            .map(|r| {
                vec![
                    r.line.to_string(),
                    r.name.clone().unwrap_or_default(),
                    r.computation_id.clone().unwrap_or_default(),
                    // A completed run is told by its outcome: `succeeded`, not
                    // `completed/succeeded` (the JSON keeps the full state).
                    r.state
                        .as_deref()
                        .map(|s| s.strip_prefix("completed/").unwrap_or(s))
                        .unwrap_or_default()
                        .to_owned(),
                    match &r.error {
                        Some(e) => format!("{}: {e}", r.outcome),
                        None => r.outcome.clone(),
                    },
                ]
            })
            .collect();
        output::print(&output::table(
            &["LINE", "NAME", "COMPUTATION", "STATE", "OUTCOME"],
            &table,
        ))?;
    }
    if shared.stopped() {
        ctx.note(format!(
            "run the same command again to resume (state file {})",
            state_path.display()
        ));
        return Err(interrupted());
    }
    let count = |o: &str| rows.iter().filter(|r| r.outcome == o).count();
    let (errors, failed, timed_out) = (
        count("error"),
        count("failed") + count("stopped"),
        count("timed out"),
    );
    let code = if errors > 0 {
        1
    } else if failed > 0 {
        EXIT_FAILED
    } else if timed_out > 0 {
        EXIT_TIMEOUT
    } else {
        return Ok(());
    };
    let parts: Vec<String> = [
        (errors, "line(s) ended with an error"),
        (failed, "run(s) failed or were stopped"),
        (timed_out, "wait(s) timed out"),
    ]
    .iter()
    .filter(|(n, _)| *n > 0)
    .map(|(n, what)| format!("{n} {what}"))
    .collect();
    Err(Exit {
        code,
        message: parts.join(", "),
    }
    .into())
}

/// One line, shown on its own line of the batch display (named as its download folder) until
/// it ends.
async fn process(shared: &Shared<'_>, line: &Line, recorded: Option<&Record>) -> Row {
    let display = shared.progress.line(folder_name(line));
    let row = process_shown(shared, line, recorded, &display).await;
    let outcome = match &row.error {
        Some(e) => format!("{}: {e}", row.outcome),
        None => row.outcome.clone(),
    };
    shared.progress.ended(&display, &outcome);
    row
}

/// Launches (unless the journal has it), waits for and downloads one line.
async fn process_shown(
    shared: &Shared<'_>,
    line: &Line,
    recorded: Option<&Record>,
    display: &Waiting,
) -> Row {
    let mut row = Row {
        line: line.number,
        name: line.name.clone(),
        computation_id: recorded.map(|r| r.computation_id.clone()),
        resumed: recorded.is_some(),
        state: None,
        outcome: "launched".into(),
        error: None,
    };
    let fail = |mut row: Row, outcome: &str, e: &dyn std::fmt::Display| {
        row.outcome = outcome.into();
        row.error = Some(e.to_string());
        row
    };
    let id = match recorded {
        Some(r) => {
            display.state(&format!("resuming computation {}", r.computation_id));
            r.computation_id.clone()
        }
        None => match launch(shared, line, display).await {
            Ok(Some(id)) => id,
            Ok(None) => {
                row.outcome = "not launched".into();
                return row;
            }
            Err(e) => return fail(row, "error", &format!("{e:#}")),
        },
    };
    row.computation_id = Some(id.clone());
    let then = &shared.args.then;
    if !then.waits() {
        if recorded.is_some() {
            row.outcome = "already launched".into();
        }
        return row;
    }
    let mut last = None;
    let finished = tokio::select! {
        f = wait_run_shown(&shared.client, &id, then.timeout, display, &mut last) => f,
        () = shared.on_stop() => {
            row.outcome = "interrupted".into();
            return row;
        }
    };
    let finished = match finished {
        Ok(f) => f,
        Err(e) => {
            let timeout = e
                .downcast_ref::<codeocean::Error>()
                .is_some_and(codeocean::Error::is_wait_timeout);
            let why = format!("{e:#}");
            return fail(row, if timeout { "timed out" } else { "error" }, &why);
        }
    };
    row.state = Some(super::objects::state(&finished.computation));
    row.outcome = outcome_str(&finished.outcome).to_owned();
    if let (Some(dir), Outcome::Succeeded) = (&then.download, &finished.outcome) {
        let dest = dir.join(folder_name(line));
        display.state("downloading");
        let job = shared
            .client
            .download(&id, &dest)
            .progress(display.download())
            .run();
        let summary = tokio::select! {
            s = job => s.map_err(anyhow::Error::from),
            () = shared.on_stop() => {
                row.outcome = "interrupted".into();
                return row;
            }
        };
        // An incomplete download is an error of its own (`ErrorKind::Incomplete`).
        match summary {
            Ok(s) => shared.progress.note(&format!(
                "{}: {}",
                display.what(),
                super::summary_line(&s, &dest).trim_end()
            )),
            Err(e) => return fail(row, "error", &format!("{e:#}")),
        }
    }
    row
}

/// Starts one line's run after the launch spacing, records it, then names it. `None` when
/// the batch was interrupted before its turn.
async fn launch(
    shared: &Shared<'_>,
    line: &Line,
    display: &Waiting,
) -> anyhow::Result<Option<String>> {
    {
        let mut next = shared.next_launch.lock().await;
        tokio::select! {
            () = tokio::time::sleep_until(*next) => {}
            () = shared.on_stop() => return Ok(None),
        }
        if shared.stopped() {
            return Ok(None);
        }
        *next = tokio::time::Instant::now() + shared.args.spacing;
    }
    // Once sent, the request is seen through even on Ctrl-C, so that it is journaled.
    let computation = shared
        .client
        .run(&RunRequest::from(line.request.clone()))
        .await?;
    shared.journal.append(&Record {
        line: line.number,
        hash: line.hash.clone(),
        computation_id: computation.id.clone(),
    })?;
    display.state(&format!("started computation {}", computation.id));
    if let Some(name) = &line.name {
        shared
            .client
            .rename_computation(&computation.id, name)
            .await?;
    }
    Ok(Some(computation.id))
}

/// `DIR/LINE-NAME` for downloads: the line number, and the name made safe for a file name.
fn folder_name(line: &Line) -> String {
    match &line.name {
        Some(name) => {
            let safe: String = name
                .chars()
                .map(|c| {
                    if c.is_alphanumeric() || matches!(c, '-' | '_' | '.') {
                        c
                    } else {
                        '_'
                    }
                })
                .collect();
            format!("{}-{}", line.number, safe.trim_start_matches('.'))
        }
        None => format!("line-{}", line.number),
    }
}
