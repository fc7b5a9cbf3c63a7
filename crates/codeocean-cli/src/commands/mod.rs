//! One function per command, and what they share: waiting, downloading, showing objects.

mod apps;
mod batch;
mod demo;
mod objects;
mod permissions;
mod search;
mod sim;
mod tree;

use std::future::Future;
use std::path::Path;
use std::time::Duration;

use anyhow::bail;
use clap::CommandFactory as _;
use codeocean::{
    Client, Computation, DataAsset, DataAssetUpdate, Finished, NewDataAsset, Outcome, RunRequest,
    Summary,
};
use futures_util::StreamExt as _;
use serde::Serialize;

use self::tree::Tree;

use crate::cli::{
    Cli, Command, ComputationCmd, CustomMetadataCmd, DataAssetCmd, ResultsCmd, RunArgs,
};
use crate::output;
use crate::progress::Waiting;
use crate::request;
use crate::{Ctx, EXIT_INTERRUPTED, Exit};

/// Runs one command.
pub(crate) async fn dispatch(ctx: &Ctx, command: Command) -> anyhow::Result<()> {
    match command {
        Command::Capsule(c) => interruptible(apps::app(ctx, apps::App::Capsule, c)).await,
        Command::Pipeline(c) => interruptible(apps::app(ctx, apps::App::Pipeline, c)).await,
        Command::Run(args) => interruptible(run(ctx, args)).await,
        Command::Computation(c) => interruptible(computation(ctx, c)).await,
        Command::Results(c) => interruptible(results(ctx, c)).await,
        Command::DataAsset(c) => interruptible(data_asset(ctx, c)).await,
        Command::CustomMetadata(CustomMetadataCmd::Get) => {
            interruptible(async { permissions::custom_metadata(ctx, &ctx.client()?).await }).await
        }
        // These two handle Ctrl-C themselves.
        Command::Batch(args) => batch::batch(ctx, args).await,
        Command::Sim(args) => sim::sim(ctx, *args).await,
        Command::Demo(args) => interruptible(demo::demo(ctx, args)).await,
        Command::Schema { kind } => {
            println!("{}", request::schema(kind));
            Ok(())
        }
        Command::Completions { shell } => {
            let mut cmd = Cli::command();
            clap_complete::generate(shell, &mut cmd, "codeocean", &mut std::io::stdout());
            Ok(())
        }
    }
}

/// The interruption error (exit 130).
pub(crate) fn interrupted() -> anyhow::Error {
    Exit {
        code: EXIT_INTERRUPTED,
        message: "interrupted".into(),
    }
    .into()
}

/// Runs a command until it ends or Ctrl-C; on Ctrl-C the command is dropped (a download
/// leaves only its hidden part files, which a re-run resumes) and the exit code is 130.
async fn interruptible(fut: impl Future<Output = anyhow::Result<()>>) -> anyhow::Result<()> {
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
        output::print(&human());
        Ok(())
    }
}

/// What `run --json` prints.
#[derive(Serialize)]
struct RunOutput<'a> {
    computation: &'a Computation,
    #[serde(skip_serializing_if = "Option::is_none")]
    outcome: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    download: Option<DownloadOutput>,
}

pub(crate) fn outcome_str(o: &Outcome) -> &str {
    match o {
        Outcome::Succeeded => "succeeded",
        Outcome::Failed => "failed",
        Outcome::Stopped => "stopped",
        Outcome::Unknown(s) => s,
    }
}

async fn run(ctx: &Ctx, args: RunArgs) -> anyhow::Result<()> {
    // The request is checked before the client exists, so nothing is sent for a bad file.
    let request = request::from_spec(&args.spec)?;
    let client = ctx.client()?;
    let computation = start(ctx, &client, request, args.name.as_deref()).await?;
    if !args.then.waits() {
        let out = RunOutput {
            computation: &computation,
            outcome: None,
            download: None,
        };
        return show(ctx, &out, || objects::computation(&computation));
    }
    let finished = wait_run(ctx, &client, &computation.id, args.then.timeout).await?;
    let mut download = None;
    if let (Some(dir), true) = (&args.then.download, finished.is_success()) {
        download = Some(download_results(ctx, &client, &computation.id, "", dir, None).await?);
    }
    let out = RunOutput {
        computation: &finished.computation,
        outcome: Some(outcome_str(&finished.outcome)),
        download: download.as_ref().map(DownloadOutput::from),
    };
    show(ctx, &out, || {
        let mut text = objects::computation(&finished.computation);
        if let (Some(s), Some(dir)) = (&download, &args.then.download) {
            text.push_str(&summary_line(s, dir));
        }
        text
    })?;
    finished.into_success()?;
    if let Some(s) = download {
        s.into_result()?;
    }
    Ok(())
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
pub(crate) async fn wait_run(
    ctx: &Ctx,
    client: &Client,
    id: &str,
    timeout: Option<Duration>,
) -> anyhow::Result<Finished> {
    let display = Waiting::new(ctx, format!("computation {id}"));
    let mut states = std::pin::pin!(client.watch_computation_with(id, ctx.poll(timeout)));
    let mut last = None;
    while let Some(c) = states.next().await {
        let c = c?;
        display.state(&objects::state(&c));
        last = Some(c);
    }
    display.finish();
    let computation = last.ok_or_else(|| anyhow::anyhow!("waiting for {id}: no state seen"))?;
    let outcome =
        codeocean::outcome(&computation).unwrap_or_else(|| Outcome::Unknown("not finished".into()));
    Ok(Finished {
        computation,
        outcome,
    })
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
    let asset = client.wait_for_data_asset_with(id, ctx.poll(timeout)).await;
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
                .failed
                .iter()
                .map(|(path, e)| FailedFile {
                    path: path.clone(),
                    error: e.to_string(),
                })
                .collect(),
        }
    }
}

/// One line about a finished download.
pub(crate) fn summary_line(s: &Summary, dir: &Path) -> String {
    format!(
        "downloaded {} files ({} already there, {} failed), {} in {} ({}) into {}\n",
        s.downloaded,
        s.skipped,
        s.failed.len(),
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
    tree::fetch(ctx, client, Tree::Results(id), path, dir, concurrency).await
}

async fn computation(ctx: &Ctx, cmd: ComputationCmd) -> anyhow::Result<()> {
    let client = ctx.client()?;
    match cmd {
        ComputationCmd::Get { id } => {
            let c = client.get_computation(&id).await?;
            show(ctx, &c, || objects::computation(&c))
        }
        ComputationCmd::Wait { id, timeout } => {
            let finished = wait_run(ctx, &client, &id, timeout).await?;
            let c = &finished.computation;
            show(ctx, c, || objects::computation(c))?;
            finished.into_success()?;
            Ok(())
        }
        ComputationCmd::Rename { id, name } => {
            client.rename_computation(&id, &name).await?;
            let c = client.get_computation(&id).await?;
            show(ctx, &c, || objects::computation(&c))
        }
        ComputationCmd::Delete { id } => {
            client.delete_computation(&id).await?;
            let out = serde_json::json!({"id": id, "deleted": true});
            show(ctx, &out, || format!("deleted computation {id}\n"))
        }
        ComputationCmd::Attach { id, data_assets } => {
            let attached = client
                .attach_computation_data_assets(&id, &apps::attachments(&data_assets))
                .await?;
            show(ctx, &attached, || objects::attached(&attached))
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
        } => tree::ls(ctx, &client, Tree::Results(&id), &path, recursive).await,
        ResultsCmd::Url { id, path } => tree::url(ctx, &client, Tree::Results(&id), &path).await,
        ResultsCmd::Download {
            id,
            path,
            to,
            concurrency,
            ..
        } => tree::download(ctx, &client, Tree::Results(&id), &path, &to, concurrency).await,
    }
}

/// A custom metadata value: a number when it reads as one, else a string.
fn metadata_value(v: &str) -> codeocean::CustomMetadataValue {
    if let Ok(i) = v.parse::<i64>() {
        i.into()
    } else if let Ok(f) = v.parse::<f64>()
        && f.is_finite()
    {
        f.into()
    } else {
        v.into()
    }
}

async fn data_asset(ctx: &Ctx, cmd: DataAssetCmd) -> anyhow::Result<()> {
    let client = ctx.client()?;
    let asset = match cmd {
        DataAssetCmd::Create {
            from_computation,
            name,
            mount,
            description,
            tags,
            wait,
            timeout,
        } => {
            let mut new = NewDataAsset::from_computation(&from_computation, name, mount);
            if let Some(d) = description {
                new = new.description(d);
            }
            for t in tags {
                new = new.tag(t);
            }
            let asset = client.create_data_asset(&new).await?;
            ctx.note(format!("created data asset {}", asset.id));
            if wait {
                wait_asset(ctx, &client, &asset.id, timeout).await?
            } else {
                asset
            }
        }
        DataAssetCmd::Get { id } => client.get_data_asset(&id).await?,
        DataAssetCmd::Update {
            id,
            name,
            description,
            tags,
            mount,
            metadata,
        } => {
            if name.is_none()
                && description.is_none()
                && tags.is_empty()
                && mount.is_none()
                && metadata.is_empty()
            {
                bail!(
                    "nothing to update: pass --name, --description, --tag, --mount or --metadata"
                );
            }
            let mut update = DataAssetUpdate::new();
            if let Some(n) = name {
                update = update.name(n);
            }
            if let Some(d) = description {
                update = update.description(d);
            }
            if !tags.is_empty() {
                update = update.tags(tags);
            }
            if let Some(m) = mount {
                update = update.mount(m);
            }
            for m in &metadata {
                let (k, v) = request::key_value(m, "--metadata")?;
                update = update.metadata(k, metadata_value(v));
            }
            client.update_data_asset(&id, &update).await?
        }
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
        } => return tree::ls(ctx, &client, Tree::DataAsset(&id), &path, recursive).await,
        DataAssetCmd::Url { id, path } => {
            return tree::url(ctx, &client, Tree::DataAsset(&id), &path).await;
        }
        DataAssetCmd::Download {
            id,
            path,
            to,
            concurrency,
            ..
        } => {
            return tree::download(ctx, &client, Tree::DataAsset(&id), &path, &to, concurrency)
                .await;
        }
        DataAssetCmd::Archive { id, undo } => {
            client.archive_data_asset(&id, !undo).await?;
            return apps::show_archived(ctx, &format!("data asset {id}"), &id, !undo);
        }
        DataAssetCmd::Delete { id } => {
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
        } => {
            let target = format!("s3://{bucket}/{}", prefix.as_deref().unwrap_or_default());
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
