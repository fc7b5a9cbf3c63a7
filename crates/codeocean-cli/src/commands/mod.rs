//! One function per command, and what they share: waiting, downloading, showing objects.

mod api;
mod apps;
mod batch;
mod capture;
mod config;
mod create;
#[cfg(feature = "sim")]
mod demo;
#[cfg(feature = "mcp")]
mod mcp;
mod objects;
mod permissions;
mod search;
#[cfg(feature = "sim")]
mod sim;
mod tree;
mod update;

use std::future::Future;
use std::path::Path;
use std::time::Duration;

use clap::CommandFactory as _;
use codeocean::{
    App, Client, Computation, DataAsset, Finished, Outcome, RunRequest, Summary, Tree,
};
use futures_util::StreamExt as _;
use serde::Serialize;

use crate::cli::{
    Cli, Command, ComputationCmd, CustomMetadataCmd, DataAssetCmd, ResultsCmd, RunArgs,
};
use crate::confirm::confirm;
use crate::output;
use crate::progress::Waiting;
use crate::request;
use crate::{Ctx, EXIT_INTERRUPTED, Exit};

/// Runs one command.
pub(crate) async fn dispatch(ctx: &Ctx, command: Command) -> anyhow::Result<()> {
    match command {
        Command::Capsule(c) => interruptible(apps::app(ctx, App::Capsule, c)).await,
        Command::Pipeline(c) => interruptible(apps::app(ctx, App::Pipeline, c)).await,
        // `run` handles Ctrl-C itself, to say how to resume its computation.
        Command::Run(args) => run(ctx, args).await,
        // Waiting handles Ctrl-C itself, to say how to resume.
        Command::Computation(c @ ComputationCmd::Wait { .. }) => computation(ctx, c).await,
        Command::Computation(c) => interruptible(computation(ctx, c)).await,
        // A download says, on Ctrl-C, that running it again resumes it.
        Command::Results(c @ ResultsCmd::Download { .. }) => {
            resumable(interruptible(results(ctx, c)).await)
        }
        Command::DataAsset(c @ DataAssetCmd::Download { .. }) => {
            resumable(interruptible(data_asset(ctx, c)).await)
        }
        Command::Results(c) => interruptible(results(ctx, c)).await,
        Command::DataAsset(c) => interruptible(data_asset(ctx, c)).await,
        Command::CustomMetadata(CustomMetadataCmd::Get) => {
            interruptible(async { permissions::custom_metadata(ctx, &ctx.client()?).await }).await
        }
        // These handle Ctrl-C themselves.
        Command::Batch(args) => batch::batch(ctx, args).await,
        Command::Capture(args) => capture::capture(ctx, *args).await,
        #[cfg(feature = "sim")]
        Command::Sim(args) => sim::sim(ctx, *args).await,
        #[cfg(feature = "sim")]
        Command::Demo(args) => interruptible(demo::demo(ctx, args)).await,
        #[cfg(not(feature = "sim"))]
        Command::Sim(_) => Err(without_sim("sim")),
        #[cfg(not(feature = "sim"))]
        Command::Demo(_) => Err(without_sim("demo")),
        // The server ends on Ctrl-C itself (stdio also when its client closes stdin).
        #[cfg(feature = "mcp")]
        Command::Mcp(args) => mcp::mcp(ctx, args).await,
        #[cfg(not(feature = "mcp"))]
        Command::Mcp(_) => Err(crate::usage_error(
            "`codeocean mcp` needs the `mcp` feature, which this build of codeocean leaves out \
             (it is not a default feature); install a build with it: \
             cargo install --locked codeocean-cli --features mcp",
        )),
        Command::Api(args) => interruptible(api::api(ctx, args)).await,
        Command::Config(c) => config::config(ctx, c),
        Command::Schema { kind } => output::print(&format!("{}\n", request::schema(kind))),
        Command::Completions { shell } => {
            // Into memory first: clap_complete panics when its writer fails.
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "codeocean", &mut script);
            output::write(&script)
        }
    }
}

/// `codeocean sim` or `demo` in a build without the simulator: a usage mistake (exit 2).
#[cfg(not(feature = "sim"))]
fn without_sim(command: &str) -> anyhow::Error {
    crate::usage_error(format!(
        "`codeocean {command}` needs the `sim` feature, which this build of codeocean leaves out \
         (built with --no-default-features); install one with it: \
         cargo install --locked codeocean-cli"
    ))
}

/// The interruption error (exit 130).
pub(crate) fn interrupted() -> anyhow::Error {
    crate::confirm::end_question_line();
    Exit {
        code: EXIT_INTERRUPTED,
        message: "interrupted".into(),
    }
    .into()
}

/// A download's Ctrl-C, told how to go on: complete files stay, the same command resumes.
fn resumable<T>(r: anyhow::Result<T>) -> anyhow::Result<T> {
    r.map_err(|e| match e.downcast::<Exit>() {
        Ok(exit) if exit.code == EXIT_INTERRUPTED => Exit {
            code: EXIT_INTERRUPTED,
            message: "interrupted: complete files are kept; run the same command again to \
                      resume the download"
                .into(),
        }
        .into(),
        Ok(exit) => exit.into(),
        Err(e) => e,
    })
}

/// Runs a command until it ends or Ctrl-C; on Ctrl-C the command is dropped (a download
/// leaves only its hidden part files, which a re-run resumes) and the exit code is 130.
async fn interruptible<T>(fut: impl Future<Output = anyhow::Result<T>>) -> anyhow::Result<T> {
    tokio::select! {
        r = fut => r,
        _ = tokio::signal::ctrl_c() => Err(interrupted()),
    }
}

/// Prints a value as JSON, or as the text `human` makes.
pub(crate) fn show<T: Serialize + ?Sized>(
    ctx: &Ctx,
    value: &T,
    human: impl FnOnce() -> String,
) -> anyhow::Result<()> {
    if ctx.json {
        output::json(value)
    } else {
        output::print(&human())
    }
}

/// Prints a list: JSON Lines with `--json` (one object per line, each as `get` shows it), or
/// the text `human` makes.
pub(crate) fn show_list<T: Serialize>(
    ctx: &Ctx,
    items: &[T],
    human: impl FnOnce() -> String,
) -> anyhow::Result<()> {
    if ctx.json {
        items.iter().try_for_each(output::json_line)
    } else {
        output::print(&human())
    }
}

/// What `run --json` and `computation wait --json` print: the computation's own fields (so
/// `jq -r .id` works), and after waiting how it ended, what was downloaded and, when the wait
/// ended early, the command that resumes it.
#[derive(Serialize)]
struct RunOutput<'a> {
    #[serde(flatten)]
    computation: Shown<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    outcome: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    download: Option<DownloadOutput>,
    #[serde(skip_serializing_if = "Option::is_none")]
    resume: Option<String>,
}

/// The computation as last seen, or only its id when no state was seen.
#[derive(Serialize)]
#[serde(untagged)]
enum Shown<'a> {
    Computation(&'a Computation),
    Id { id: &'a str },
}

pub(crate) fn outcome_str(o: &Outcome) -> &str {
    match o {
        Outcome::Succeeded => "succeeded",
        Outcome::Failed => "failed",
        Outcome::Stopped => "stopped",
        Outcome::Unknown(s) => s,
        // An outcome this CLI does not know yet: never a success.
        _ => "unknown",
    }
}

async fn run(ctx: &Ctx, args: RunArgs) -> anyhow::Result<()> {
    // The request is checked before the client exists, so nothing is sent for a bad file.
    let request = request::from_spec(&args.spec)?;
    let client = ctx.client()?;
    warn_repeated_params(ctx, &client, &args.spec, &request).await;
    let computation = interruptible(start(ctx, &client, request, args.name.as_deref())).await?;
    if !args.then.waits() {
        let out = RunOutput {
            computation: Shown::Computation(&computation),
            outcome: None,
            download: None,
            resume: None,
        };
        return show(ctx, &out, || objects::computation(&computation));
    }
    follow(
        ctx,
        &client,
        &computation.id,
        Some(computation.clone()),
        args.then.timeout,
        args.then.download.as_deref(),
    )
    .await
}

/// Quotes a word for a POSIX shell when it needs it.
pub(crate) fn shell_word(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-./:@%+=,".contains(c));
    if plain {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

/// The command that waits for this computation again (and downloads, as asked): the flags that
/// matter, never the token; `--domain`, `--ca-cert` and `--http2` when they were given as flags
/// rather than by `CODEOCEAN_DOMAIN`, `CODEOCEAN_CA_CERT` and `CODEOCEAN_HTTP2`.
fn resume_command(ctx: &Ctx, id: &str, download: Option<&Path>) -> String {
    let mut words = vec!["codeocean".to_owned()];
    if let Some(domain) = &ctx.domain
        && std::env::var("CODEOCEAN_DOMAIN").ok().as_ref() != Some(domain)
    {
        words.extend(["--domain".to_owned(), shell_word(domain)]);
    }
    if let Some(profile) = ctx.profile.as_ref().filter(|_| ctx.profile_from_flag) {
        words.extend(["--profile".to_owned(), shell_word(profile)]);
    }
    if !ctx.ca_certs.from_env {
        for file in &ctx.ca_certs.files {
            words.extend([
                "--ca-cert".to_owned(),
                shell_word(&file.display().to_string()),
            ]);
        }
    }
    if ctx.http2 && std::env::var_os("CODEOCEAN_HTTP2").is_none() {
        words.push("--http2".to_owned());
    }
    if ctx.json {
        words.push("--json".to_owned());
    }
    words.extend(["computation", "wait", id].map(str::to_owned));
    if let Some(dir) = download {
        words.extend([
            "--download".to_owned(),
            shell_word(&dir.display().to_string()),
        ]);
    }
    words.join(" ")
}

/// How waiting ended early.
enum Early {
    Timeout(Duration),
    Interrupted,
}

/// Waits for a computation (then downloads its results into `download` when it succeeded),
/// and prints it: for `run --wait` and `computation wait`. On a timeout (exit 4) or Ctrl-C
/// (exit 130) the computation goes on in Code Ocean: the message (and the `--json` document,
/// with `outcome` "timeout" or "interrupted") gives its full id and the command that resumes.
async fn follow(
    ctx: &Ctx,
    client: &Client,
    id: &str,
    mut last: Option<Computation>,
    timeout: Option<Duration>,
    download: Option<&Path>,
) -> anyhow::Result<()> {
    let mut summary = None;
    let work = async {
        let finished = wait_run_seen(ctx, client, id, timeout, &mut last).await?;
        if let (Some(dir), true) = (download, finished.is_success()) {
            summary = Some(download_results(ctx, client, id, "", dir, None).await?);
        }
        anyhow::Ok(finished)
    };
    let ended = tokio::select! {
        r = work => match r {
            Ok(finished) => Ok(finished),
            Err(e) if is_wait_timeout(&e) => Err(Early::Timeout(timeout.unwrap_or_default())),
            Err(e) => return Err(e),
        },
        _ = tokio::signal::ctrl_c() => Err(Early::Interrupted),
    };
    let finished = match ended {
        Ok(finished) => finished,
        Err(early) => {
            let resume = resume_command(ctx, id, download);
            let (outcome, code, why) = match early {
                Early::Timeout(after) => (
                    "timeout",
                    crate::EXIT_TIMEOUT,
                    format!(
                        "gave up waiting after {}",
                        humantime::format_duration(after)
                    ),
                ),
                Early::Interrupted => ("interrupted", EXIT_INTERRUPTED, "interrupted".to_owned()),
            };
            if ctx.json {
                output::json(&RunOutput {
                    computation: match &last {
                        Some(c) => Shown::Computation(c),
                        None => Shown::Id { id },
                    },
                    outcome: Some(outcome),
                    download: None,
                    resume: Some(resume.clone()),
                })?;
            }
            // Interrupted while downloading: the run is over, only the download is left.
            let over = last.as_ref().and_then(codeocean::outcome).is_some();
            let message = if over {
                format!(
                    "{why}: computation {id} has finished; to download the rest of its \
                     results:\n  {resume}"
                )
            } else {
                format!(
                    "{why}: computation {id} goes on in Code Ocean; to wait for it again{}:\n  \
                     {resume}",
                    if download.is_some() {
                        " and download its results"
                    } else {
                        ""
                    }
                )
            };
            return Err(Exit { code, message }.into());
        }
    };
    let out = RunOutput {
        computation: Shown::Computation(&finished.computation),
        outcome: Some(outcome_str(&finished.outcome)),
        download: summary.as_ref().map(DownloadOutput::from),
        resume: None,
    };
    show(ctx, &out, || {
        let mut text = objects::computation(&finished.computation);
        if let (Some(s), Some(dir)) = (&summary, download) {
            text.push_str(&summary_line(s, dir));
        }
        text
    })?;
    finished.into_success()?;
    if let Some(s) = &summary {
        tree::complete(&Tree::results(id), s)?;
    }
    Ok(())
}

/// Whether this error is the library's "waiting gave up".
fn is_wait_timeout(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<codeocean::Error>()
            .is_some_and(codeocean::Error::is_wait_timeout)
    })
}

/// Warns (stderr) about a parameter given twice. Whether a `--param` and a `--named-param` are
/// the same parameter is known from the app panel, asked for only when both kinds are given.
async fn warn_repeated_params(
    ctx: &Ctx,
    client: &Client,
    spec: &crate::cli::RunSpec,
    request: &codeocean::codeocean_raw::types::RunRequest,
) {
    let mut order = Vec::new();
    // By the request to be sent: its parameters and target may come from a `--request` file.
    let positional = request.parameters.as_ref().is_some_and(|p| !p.is_empty());
    let named = request
        .named_parameters
        .as_ref()
        .is_some_and(|p| !p.is_empty());
    if positional && named {
        let panel = match (&request.capsule_id, &request.pipeline_id) {
            (Some(c), _) => Some(client.capsule_app_panel(c, request.version).await),
            (None, Some(p)) => Some(client.pipeline_app_panel(p, request.version).await),
            (None, None) => None,
        };
        match panel {
            Some(Ok(panel)) => {
                order = panel
                    .parameters
                    .iter()
                    .map(|p| p.param_name.clone().unwrap_or_else(|| p.name.clone()))
                    .collect();
            }
            Some(Err(e)) => tracing::debug!(
                "no app panel to check the parameters against: {}",
                crate::full(&e)
            ),
            None => {}
        }
    }
    let warnings = request::repeated_params(spec, &order)
        .into_iter()
        .chain(request::repeated_in_request(spec, request, &order));
    for w in warnings {
        ctx.note(format!("warning: {w}"));
    }
}

/// Starts a run, renaming it when a name is given.
pub(crate) async fn start(
    ctx: &Ctx,
    client: &Client,
    request: codeocean::codeocean_raw::types::RunRequest,
    name: Option<&str>,
) -> anyhow::Result<Computation> {
    let mut computation = client.run(&RunRequest::from(request)).await?;
    ctx.note(format!("started computation {}", computation.id));
    if let Some(name) = name {
        client.rename_computation(&computation.id, name).await?;
        computation.name = Some(name.to_owned());
    }
    Ok(computation)
}

/// Waits for a run, showing its state; a failed run is an `Outcome`, not an error.
#[cfg(feature = "sim")]
pub(crate) async fn wait_run(
    ctx: &Ctx,
    client: &Client,
    id: &str,
    timeout: Option<Duration>,
) -> anyhow::Result<Finished> {
    wait_run_seen(ctx, client, id, timeout, &mut None).await
}

/// [`wait_run`], keeping the last state seen in `last` (for a wait that ends early).
async fn wait_run_seen(
    ctx: &Ctx,
    client: &Client,
    id: &str,
    timeout: Option<Duration>,
    last: &mut Option<Computation>,
) -> anyhow::Result<Finished> {
    let display = Waiting::new(ctx, format!("computation {id}"));
    let finished = wait_run_shown(client, id, timeout, &display, last).await;
    display.finish();
    finished
}

/// [`wait_run_seen`] on a display of the caller's (a batch line's), which is left in place.
pub(crate) async fn wait_run_shown(
    client: &Client,
    id: &str,
    timeout: Option<Duration>,
    display: &Waiting,
    last: &mut Option<Computation>,
) -> anyhow::Result<Finished> {
    let mut wait = client.wait_for_computation(id);
    if let Some(limit) = timeout {
        wait = wait.timeout(limit);
    }
    let mut states = wait.watch();
    let mut seen = None;
    while let Some(c) = states.next().await {
        let c = c?;
        display.state(&objects::state(&c));
        *last = Some(c.clone());
        seen = Some(c);
    }
    let computation = seen.ok_or_else(|| anyhow::anyhow!("waiting for {id}: no state seen"))?;
    let outcome =
        codeocean::outcome(&computation).unwrap_or_else(|| Outcome::Unknown("not finished".into()));
    Ok(Finished::new(computation, outcome))
}

/// Waits for a data asset to be ready, showing a spinner.
pub(crate) async fn wait_asset(
    ctx: &Ctx,
    client: &Client,
    id: &str,
    timeout: Option<Duration>,
) -> anyhow::Result<DataAsset> {
    let display = Waiting::new(ctx, format!("data asset {id}"));
    display.state("waiting until ready");
    let mut wait = client.wait_for_data_asset(id);
    if let Some(limit) = timeout {
        wait = wait.timeout(limit);
    }
    let asset = wait.await;
    display.finish();
    let asset = asset?;
    ctx.note(format!("data asset {id}: ready"));
    Ok(asset)
}

/// What a download did, for `--json`.
#[derive(Serialize)]
pub(crate) struct DownloadOutput {
    downloaded: u64,
    skipped: u64,
    bytes: u64,
    retries: u64,
    elapsed_ms: u64,
    failed: Vec<FailedFile>,
    /// Why the job stopped before trying every file (refused credentials), if it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    stopped: Option<String>,
    /// Files listed but not tried because the job stopped.
    #[serde(skip_serializing_if = "is_zero")]
    not_attempted: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

#[derive(Serialize)]
struct FailedFile {
    path: String,
    error: String,
}

impl From<&Summary> for DownloadOutput {
    fn from(s: &Summary) -> Self {
        Self {
            downloaded: s.downloaded,
            skipped: s.skipped,
            bytes: s.bytes,
            retries: s.retries,
            elapsed_ms: s.elapsed.as_millis() as u64,
            failed: s
                .failures
                .iter()
                .map(|f| FailedFile {
                    path: f.path().to_owned(),
                    error: crate::full(f.error()),
                })
                .collect(),
            stopped: s.stopped.clone(),
            not_attempted: s.not_attempted,
        }
    }
}

/// One line about a finished download.
pub(crate) fn summary_line(s: &Summary, dir: &Path) -> String {
    format!(
        "downloaded {} ({} already there, {} failed), {} in {} ({}) into {}\n",
        output::count(s.downloaded, "file", "files"),
        s.skipped,
        s.failures.len(),
        output::bytes(s.bytes),
        output::elapsed(s.elapsed),
        output::rate(s.bytes, s.elapsed),
        dir.display()
    )
}

/// Downloads results with progress; the summary is returned even when some files failed.
pub(crate) async fn download_results(
    ctx: &Ctx,
    client: &Client,
    id: &str,
    path: &str,
    dir: &Path,
    concurrency: Option<usize>,
) -> anyhow::Result<Summary> {
    tree::fetch(ctx, client, &Tree::results(id), path, dir, concurrency).await
}

async fn computation(ctx: &Ctx, cmd: ComputationCmd) -> anyhow::Result<()> {
    let client = ctx.client()?;
    match cmd {
        ComputationCmd::Get { id } => {
            let c = client.get_computation(&id).await?;
            show(ctx, &c, || objects::computation(&c))
        }
        ComputationCmd::Wait {
            id,
            timeout,
            download,
        } => follow(ctx, &client, &id, None, timeout, download.as_deref()).await,
        ComputationCmd::Rename { id, name } => {
            client.rename_computation(&id, &name).await?;
            let c = client.get_computation(&id).await?;
            show(ctx, &c, || objects::computation(&c))
        }
        ComputationCmd::Delete { id, yes } => {
            let action = format!("delete computation {id}");
            confirm(
                yes,
                &action,
                Some("A running computation is stopped first."),
            )
            .await?;
            client.delete_computation(&id).await?;
            let out = serde_json::json!({"id": id, "deleted": true});
            show(ctx, &out, || format!("deleted computation {id}\n"))
        }
        ComputationCmd::Attach { id, data_assets } => {
            let attached = client
                .attach_computation_data_assets(&id, &apps::attachments(&data_assets))
                .await?;
            show_list(ctx, &attached, || objects::attached(&attached))
        }
        ComputationCmd::Detach { id, data_assets } => {
            client
                .detach_computation_data_assets(&id, &data_assets)
                .await?;
            apps::show_detached(ctx, &format!("computation {id}"), &data_assets)
        }
    }
}

async fn results(ctx: &Ctx, cmd: ResultsCmd) -> anyhow::Result<()> {
    let client = ctx.client()?;
    match cmd {
        ResultsCmd::Ls {
            id,
            path,
            recursive,
            ..
        } => tree::ls(ctx, &client, &Tree::results(id), &path, recursive).await,
        ResultsCmd::Url { id, path } => tree::url(ctx, &client, &Tree::results(id), &path).await,
        ResultsCmd::Download { id, path, dest } => {
            tree::download(ctx, &client, &Tree::results(id), &path, dest).await
        }
    }
}

async fn data_asset(ctx: &Ctx, cmd: DataAssetCmd) -> anyhow::Result<()> {
    let client = ctx.client()?;
    let asset = match cmd {
        DataAssetCmd::Create(args) => create::create(ctx, &client, *args).await?,
        DataAssetCmd::Get { id } => client.get_data_asset(&id).await?,
        DataAssetCmd::Usage { id } => return create::usage(ctx, &client, &id).await,
        DataAssetCmd::Update(args) => update::update(ctx, &client, args).await?,
        DataAssetCmd::Wait { id, timeout } => wait_asset(ctx, &client, &id, timeout).await?,
        DataAssetCmd::Search {
            common,
            asset_type,
            origin,
            sort,
        } => {
            return search::data_assets(ctx, &client, &common, asset_type, origin, sort).await;
        }
        DataAssetCmd::Ls {
            id,
            path,
            recursive,
            ..
        } => return tree::ls(ctx, &client, &Tree::data_asset(id), &path, recursive).await,
        DataAssetCmd::Url { id, path } => {
            return tree::url(ctx, &client, &Tree::data_asset(id), &path).await;
        }
        DataAssetCmd::Download { id, path, dest } => {
            return tree::download(ctx, &client, &Tree::data_asset(id), &path, dest).await;
        }
        DataAssetCmd::Archive { id, undo } => {
            if undo {
                client.unarchive_data_asset(&id).await?;
            } else {
                client.archive_data_asset(&id).await?;
            }
            return apps::show_archived(ctx, &format!("data asset {id}"), &id, !undo);
        }
        DataAssetCmd::Delete { id, yes } => {
            confirm(yes, &format!("delete data asset {id}"), None).await?;
            client.delete_data_asset(&id).await?;
            let out = serde_json::json!({"id": id, "deleted": true});
            return show(ctx, &out, || format!("deleted data asset {id}\n"));
        }
        DataAssetCmd::Permissions(cmd) => {
            return permissions::permissions(ctx, &client, permissions::Of::DataAsset, cmd).await;
        }
        DataAssetCmd::Transfer {
            id,
            bucket,
            prefix,
            endpoint,
            force,
            yes,
        } => {
            let target = format!("s3://{bucket}/{}", prefix.as_deref().unwrap_or_default());
            let action = format!("transfer data asset {id} to {target}");
            confirm(yes, &action, Some("Its files move to the new location.")).await?;
            let mut transfer = codeocean::Transfer::to_s3(bucket).force(force);
            if let Some(p) = prefix {
                transfer = transfer.prefix(p);
            }
            if let Some(e) = endpoint {
                transfer = transfer.endpoint_name(e);
            }
            client.transfer_data_asset(&id, &transfer).await?;
            let out = serde_json::json!({"id": id, "transfer": transfer.as_raw()});
            return show(ctx, &out, || {
                format!("started transferring data asset {id} to {target}\n")
            });
        }
    };
    show(ctx, &asset, || objects::data_asset(&asset))
}
