//! The commands of file trees, written once for both kinds: a computation's results
//! (`results ls|url|download`) and a data asset's files (`data-asset ls|url|download`).

use std::path::Path;
use std::sync::Arc;

use codeocean::{Client, Summary};
use futures_util::StreamExt as _;

use super::{DownloadOutput, show, summary_line};
use crate::output;
use crate::progress::Downloading;
use crate::{Ctx, commands::objects};

/// Whose files.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Tree<'a> {
    /// A computation's results.
    Results(&'a str),
    /// A data asset's files.
    DataAsset(&'a str),
}

/// Lists one folder, or walks the tree below it (JSON Lines with `--json`).
pub(crate) async fn ls(
    ctx: &Ctx,
    client: &Client,
    tree: Tree<'_>,
    path: &str,
    recursive: bool,
) -> anyhow::Result<()> {
    let path = path.trim_matches('/');
    if !recursive {
        let mut items = match tree {
            Tree::Results(id) => client.list_results(id, path).await?,
            Tree::DataAsset(id) => client.list_data_asset_files(id, path).await?,
        };
        items.sort_by(|a, b| a.path.cmp(&b.path));
        return show(ctx, &items, || objects::result_items(&items));
    }
    let walk = match tree {
        Tree::Results(id) => client
            .walk_results_with_limits(id, path, 16, ctx.walk)
            .boxed(),
        Tree::DataAsset(id) => client
            .walk_data_asset_with_limits(id, path, 16, ctx.walk)
            .boxed(),
    };
    let mut walk = walk;
    let mut items = Vec::new();
    let mut first_error = None;
    while let Some(item) = walk.next().await {
        match item {
            Ok(item) if ctx.json => output::json_line(&item)?,
            Ok(item) => items.push(item),
            Err(e) => {
                tracing::error!("{e}");
                first_error.get_or_insert(e);
            }
        }
    }
    if !ctx.json {
        items.sort_by(|a, b| a.path.cmp(&b.path));
        output::print(&objects::result_items(&items));
    }
    match first_error {
        Some(e) => Err(e.into()),
        None => Ok(()),
    }
}

/// Prints a file's signed download URL (and its view URL on stderr).
pub(crate) async fn url(
    ctx: &Ctx,
    client: &Client,
    tree: Tree<'_>,
    path: &str,
) -> anyhow::Result<()> {
    let urls = match tree {
        Tree::Results(id) => client.file_urls(id, path).await?,
        Tree::DataAsset(id) => client.data_asset_file_urls(id, path).await?,
    };
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

/// Downloads with progress; the summary is returned even when some files failed.
pub(crate) async fn fetch(
    ctx: &Ctx,
    client: &Client,
    tree: Tree<'_>,
    path: &str,
    dir: &Path,
    concurrency: Option<usize>,
) -> anyhow::Result<Summary> {
    let progress = Arc::new(Downloading::new(ctx));
    let mut job = match tree {
        Tree::Results(id) => client.download(id, dir),
        Tree::DataAsset(id) => client.download_data_asset(id, dir),
    }
    .path(path)
    .max_depth(ctx.walk.max_depth)
    .max_entries(ctx.walk.max_entries);
    if let Some(n) = concurrency {
        job = job.concurrency(n);
    }
    let summary = job.progress(progress.clone()).run().await;
    progress.finish();
    Ok(summary?)
}

/// The `download` command: fetches, prints the summary, fails when a file is missing.
pub(crate) async fn download(
    ctx: &Ctx,
    client: &Client,
    tree: Tree<'_>,
    path: &str,
    to: &Path,
    concurrency: Option<usize>,
) -> anyhow::Result<()> {
    let summary = fetch(ctx, client, tree, path, to, concurrency).await?;
    show(ctx, &DownloadOutput::from(&summary), || {
        summary_line(&summary, to)
    })?;
    for (path, e) in &summary.failed {
        tracing::error!("{path}: {e}");
    }
    summary.into_result()?;
    Ok(())
}
