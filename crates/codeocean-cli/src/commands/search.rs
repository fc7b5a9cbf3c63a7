//! `capsule search`, `pipeline search`, `data-asset search`: the library's self-paging streams,
//! printed as a table or as JSON Lines while they arrive.

use codeocean::{
    App, CapsuleSearch, CapsuleSortBy, CapsuleStatus, Client, DataAssetSearch,
    DataAssetSearchOrigin, DataAssetSortBy, DataAssetType, Ownership, SortOrder,
};
use futures_util::StreamExt as _;
use serde::Serialize;

use super::objects;
use crate::cli::SearchArgs;
use crate::{Ctx, output};

/// A search (a [`CapsuleSearch`] or a [`DataAssetSearch`]: the same builder methods, no common
/// trait) with the flags both searches share.
macro_rules! common {
    ($search:expr, $args:expr) => {{
        let args: &SearchArgs = $args;
        let mut search = $search.page_size(args.page_size).max_pages(args.max_pages);
        // Only what was asked for is sent: `false` would be a filter of its own.
        if args.favorite {
            search = search.favorite(true);
        }
        if args.archived {
            search = search.archived(true);
        }
        if let Some(q) = &args.query {
            search = search.query(q);
        }
        if let Some(o) = &args.ownership {
            search = search.ownership(Ownership::from(o.as_str()));
        }
        search
    }};
}

fn order(args: &SearchArgs) -> SortOrder {
    if args.desc {
        SortOrder::Descending
    } else {
        SortOrder::Ascending
    }
}

/// Prints every result (each as it arrives with `--json`), up to `--limit`; a paging error
/// after some results still prints them, then fails.
async fn print_all<T: Serialize>(
    ctx: &Ctx,
    args: &SearchArgs,
    results: codeocean::SearchStream<T>,
    table: impl FnOnce(&[T]) -> String,
) -> anyhow::Result<()> {
    // A search stream is `Unpin`: no pinning before `next()`.
    let mut results = results.take(args.limit.unwrap_or(usize::MAX));
    let mut found = Vec::new();
    let mut failure = None;
    while let Some(item) = results.next().await {
        match item {
            Ok(item) if ctx.json => output::json_line(&item)?,
            Ok(item) => found.push(item),
            Err(e) => {
                failure = Some(e);
                break;
            }
        }
    }
    if !ctx.json {
        output::print(&table(&found))?;
    }
    match failure {
        Some(e) => Err(flag_named(e, args.max_pages)),
        None => Ok(()),
    }
}

/// The library's page-cap error names its builder method; here the flag is what to raise.
fn flag_named(e: codeocean::Error, max_pages: usize) -> anyhow::Error {
    let message = e.to_string();
    if matches!(e.kind(), codeocean::ErrorKind::Paging) && message.contains("raise max_pages") {
        let flag = format!("raise --max-pages (now {max_pages})");
        return anyhow::anyhow!(message.replace("raise max_pages", &flag));
    }
    e.into()
}

/// Searches capsules or pipelines.
pub(crate) async fn apps(
    ctx: &Ctx,
    client: &Client,
    app: App,
    args: &SearchArgs,
    status: Option<String>,
    sort: Option<String>,
) -> anyhow::Result<()> {
    let mut search = common!(CapsuleSearch::new(), args);
    if let Some(s) = &status {
        search = search.status(CapsuleStatus::from(s.as_str()));
    }
    if let Some(f) = &sort {
        search = search.sort(CapsuleSortBy::from(f.as_str()), order(args));
    }
    print_all(
        ctx,
        args,
        client.search_apps(app, &search),
        objects::capsules,
    )
    .await
}

/// Searches data assets.
pub(crate) async fn data_assets(
    ctx: &Ctx,
    client: &Client,
    args: &SearchArgs,
    asset_type: Option<String>,
    origin: Option<String>,
    sort: Option<String>,
) -> anyhow::Result<()> {
    let mut search = common!(DataAssetSearch::new(), args);
    if let Some(t) = &asset_type {
        search = search.asset_type(DataAssetType::from(t.as_str()));
    }
    if let Some(o) = &origin {
        search = search.origin(DataAssetSearchOrigin::from(o.as_str()));
    }
    if let Some(f) = &sort {
        search = search.sort(DataAssetSortBy::from(f.as_str()), order(args));
    }
    print_all(
        ctx,
        args,
        client.search_data_assets(&search),
        objects::data_assets,
    )
    .await
}
