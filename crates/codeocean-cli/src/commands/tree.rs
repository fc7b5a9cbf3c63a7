//! The commands of file trees, written once for both kinds: a computation's results
//! (`results ls|url|download`) and a data asset's files (`data-asset ls|url|download`).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use codeocean::{Client, Summary, Tree};
use futures_util::StreamExt as _;

use super::{DownloadOutput, show, show_list, summary_line};
use crate::cli::DownloadDest;
use crate::output;
use crate::progress::Downloading;
use crate::{Ctx, Exit, commands::objects};

/// Lists one folder, or walks the tree below it (JSON Lines with `--json`).
pub(crate) async fn ls(
    ctx: &Ctx,
    client: &Client,
    tree: &Tree,
    path: &str,
    recursive: bool,
) -> anyhow::Result<()> {
    let path = path.trim_matches('/');
    if !recursive {
        let mut items = client.list_folder(tree, path).await?;
        items.sort_by(|a, b| a.path.cmp(&b.path));
        return show_list(ctx, &items, || objects::result_items(&items));
    }
    let mut walk = client.walk_tree(tree).path(path).limits(ctx.walk).stream();
    let mut items = Vec::new();
    // Each failed folder is said once, as it happens; the walk goes on with the others.
    let mut failures = 0;
    while let Some(item) = walk.next().await {
        match item {
            Ok(item) if ctx.json => output::json_line(&item)?,
            Ok(item) => items.push(item),
            Err(e) => {
                failures += 1;
                eprintln!("error: {}", crate::full(&e));
            }
        }
    }
    if !ctx.json && (failures == 0 || !items.is_empty()) {
        items.sort_by(|a, b| a.path.cmp(&b.path));
        output::print(&objects::result_items(&items))?;
    }
    match failures {
        0 => Ok(()),
        // Already said: exit 1 without another line.
        _ => Err(Exit {
            code: 1,
            message: String::new(),
        }
        .into()),
    }
}

/// Prints a file's signed download URL (and its view URL on stderr).
pub(crate) async fn url(ctx: &Ctx, client: &Client, tree: &Tree, path: &str) -> anyhow::Result<()> {
    let urls = client.tree_file_urls(tree, path).await?;
    let out = serde_json::json!({
        "download_url": urls.download_url,
        "view_url": urls.view_url,
    });
    if !ctx.json
        && let Some(view) = &urls.view_url
    {
        ctx.note(format!("view: {view}"));
    }
    show(ctx, &out, || format!("{}\n", urls.download_url))
}

/// The destination folder of `download`, from `DIR` or `--to DIR` (one of them, once), and not
/// an existing file. A usage error (exit 2) says exactly what to type instead.
fn destination(
    tree: &Tree,
    dir: Option<PathBuf>,
    to: Option<PathBuf>,
    path: &str,
) -> anyhow::Result<PathBuf> {
    let (command, id) = match tree {
        Tree::Results(id) => ("results", id),
        Tree::DataAsset(id) => ("data-asset", id),
    };
    let usage = |message: String| -> anyhow::Error {
        Exit {
            code: crate::EXIT_USAGE,
            message,
        }
        .into()
    };
    let dir = match (dir, to) {
        (Some(dir), None) | (None, Some(dir)) => dir,
        (None, None) => {
            return Err(usage(format!(
                "no destination: codeocean {command} download {id} DIR (a folder, created if \
                 missing)"
            )));
        }
        // The old form, `download ID PATH --to DIR`: the positional is the destination now.
        (Some(first), Some(to)) => {
            let sub = first.display().to_string();
            return Err(usage(format!(
                "two destinations, `{sub}` and --to {to}; to download only `{sub}`: codeocean \
                 {command} download {id} {to} --path {sub}",
                to = to.display()
            )));
        }
    };
    if dir.is_file() {
        let only = if path.is_empty() {
            String::new()
        } else {
            format!(" --path {path}")
        };
        return Err(usage(format!(
            "{} is a file: the destination is a folder (created if missing) and the files keep \
             their names under it, e.g. codeocean {command} download {id} DIR{only}",
            dir.display()
        )));
    }
    Ok(dir)
}

/// Downloads with progress; the summary is returned even when some files failed.
pub(crate) async fn fetch(
    ctx: &Ctx,
    client: &Client,
    tree: &Tree,
    path: &str,
    dir: &Path,
    concurrency: Option<usize>,
) -> anyhow::Result<Summary> {
    let progress = Arc::new(Downloading::new(ctx));
    let mut job = client
        .download_tree(tree, dir)
        .path(path)
        .max_depth(ctx.walk.max_depth)
        .max_entries(ctx.walk.max_entries);
    if let Some(n) = concurrency {
        job = job.concurrency(n);
    }
    // Partial results are reported here (`complete`), with the CLI's own messages.
    let summary = job
        .allow_partial(true)
        .progress(progress.clone())
        .run()
        .await;
    progress.finish();
    Ok(summary?)
}

/// The `download` command: finds the destination (`DIR` or `--to DIR`), fetches, prints the
/// summary, fails when a file is missing.
pub(crate) async fn download(
    ctx: &Ctx,
    client: &Client,
    tree: &Tree,
    path: &str,
    dest: DownloadDest,
) -> anyhow::Result<()> {
    let to = &destination(tree, dest.dir, dest.to, path)?;
    let summary = fetch(ctx, client, tree, path, to, dest.concurrency).await?;
    show(ctx, &DownloadOutput::from(&summary), || {
        summary_line(&summary, to)
    })?;
    complete(tree, &summary)
}

/// `Ok` when every file is complete, else an error (exit 1) that counts the failures: each was
/// already said on its own line as it happened (`failed: …`), so none is repeated.
pub(crate) fn complete(tree: &Tree, summary: &Summary) -> anyhow::Result<()> {
    let failed = summary.failures.len();
    let complete = summary.downloaded + summary.skipped;
    if let Some(why) = &summary.stopped {
        // Refused credentials: a re-run with the same token would be refused again, and the
        // files never tried are not among the failures.
        return Err(Exit {
            code: 1,
            message: format!(
                "downloading the {tree}: stopped: {why}; {complete} complete, {failed} failed, {} not tried",
                output::count(summary.not_attempted, "listed file", "listed files"),
            ),
        }
        .into());
    }
    if failed == 0 {
        return Ok(());
    }
    // A path that is not there (a mistyped `--path`) is not there on a re-run either.
    let hint = if summary.failures.iter().all(|f| f.error().is_not_found()) {
        "not found; check the path (`results ls`, `data-asset ls`)"
    } else {
        "a re-run resumes"
    };
    Err(Exit {
        code: 1,
        message: format!(
            "downloading the {tree}: {} failed ({} complete); {hint}",
            output::count(failed as u64, "file or folder", "files or folders"),
            complete
        ),
    }
    .into())
}
