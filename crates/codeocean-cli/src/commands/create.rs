//! `data-asset create` (every source, the target, GCS credentials) and `data-asset usage`.

use std::path::Path;

use codeocean::{Client, DataAsset, DataAssetUse, NewDataAsset, S3Target};
use serde::Serialize;

use super::{objects, show, wait_asset};
use crate::cli::CreateArgs;
use crate::{Ctx, usage_error};

/// The environment variables `--from-gcs` takes credentials from without `--gcs-credentials`.
pub(crate) const GCS_CLIENT_ID_ENV: &str = "CODEOCEAN_GCS_CLIENT_ID";
/// See [`GCS_CLIENT_ID_ENV`].
pub(crate) const GCS_CLIENT_SECRET_ENV: &str = "CODEOCEAN_GCS_CLIENT_SECRET";

/// `data-asset create`: the request from the flags (credentials read and checked before
/// anything is sent), then create and, with `--wait`, wait.
pub(crate) async fn create(
    ctx: &Ctx,
    client: &Client,
    args: CreateArgs,
) -> anyhow::Result<DataAsset> {
    let (name, mount) = (args.name.clone(), args.mount.clone());
    let mut new: NewDataAsset = if let Some(id) = &args.from_computation {
        let mut n = NewDataAsset::from_computation(id, name, mount);
        if let Some(p) = &args.path {
            n = n.path(p);
        }
        with_target(n, &args).into()
    } else if let Some(url) = &args.from_s3 {
        let mut n = NewDataAsset::from_s3(&url.bucket, name, mount);
        if let Some(p) = &url.prefix {
            n = n.prefix(p);
        }
        if args.keep_on_external_storage {
            n = n.keep_on_external_storage(true);
        }
        if args.public {
            n = n.public(true);
        }
        if let Some(e) = &args.endpoint {
            n = n.endpoint_name(e);
        }
        with_target(n, &args).into()
    } else if let Some(url) = &args.from_gcs {
        let mut n = NewDataAsset::from_gcs(&url.bucket, name, mount);
        if let Some(p) = &url.prefix {
            n = n.prefix(p);
        }
        if let Some((id, secret)) = gcs_credentials(args.gcs_credentials.as_deref())? {
            n = n.gcs_credentials(id, secret);
        }
        with_target(n, &args).into()
    } else {
        // clap's group requires one source; `--combine` is the last.
        NewDataAsset::combined(&args.combine, name, mount).into()
    };
    if let Some(d) = args.description {
        new = new.description(d);
    }
    for t in args.tags {
        new = new.tag(t);
    }
    let asset = client.create_data_asset(&new).await?;
    ctx.note(format!("created data asset {}", asset.id));
    if args.wait {
        wait_asset(ctx, client, &asset.id, args.timeout).await
    } else {
        Ok(asset)
    }
}

/// The `--target` of a source that takes one.
fn with_target<S: codeocean::source::Targetable>(
    asset: NewDataAsset<S>,
    args: &CreateArgs,
) -> NewDataAsset<S> {
    let Some(url) = &args.target else {
        return asset;
    };
    let mut target = S3Target::new(&url.bucket);
    if let Some(p) = &url.prefix {
        target = target.prefix(p);
    }
    if let Some(e) = &args.target_endpoint {
        target = target.endpoint_name(e);
    }
    asset.target(target)
}

/// The GCS client id and secret: from the file given, else from the environment when both
/// variables are set, else none. Every mistake is a usage error that names the file or the
/// variable and the field, never a value.
fn gcs_credentials(file: Option<&Path>) -> anyhow::Result<Option<(String, String)>> {
    let Some(file) = file else {
        let id = std::env::var(GCS_CLIENT_ID_ENV)
            .ok()
            .filter(|v| !v.is_empty());
        let secret = std::env::var(GCS_CLIENT_SECRET_ENV)
            .ok()
            .filter(|v| !v.is_empty());
        return match (id, secret) {
            (Some(id), Some(secret)) => Ok(Some((id, secret))),
            (None, None) => Ok(None),
            (Some(_), None) => Err(usage_error(format!(
                "{GCS_CLIENT_ID_ENV} is set but {GCS_CLIENT_SECRET_ENV} is not; set both, or neither for a public bucket"
            ))),
            (None, Some(_)) => Err(usage_error(format!(
                "{GCS_CLIENT_SECRET_ENV} is set but {GCS_CLIENT_ID_ENV} is not; set both, or neither for a public bucket"
            ))),
        };
    };
    let shown = file.display();
    refuse_shared(file)?;
    let text = std::fs::read(file).map_err(|e| {
        usage_error(format!(
            "{shown}: cannot read the GCS credentials file: {e}"
        ))
    })?;
    // A syntax error's message gives a line and a column, never the text around them.
    let value: serde_json::Value = serde_json::from_slice(&text).map_err(|e| {
        usage_error(format!(
            "{shown}: the GCS credentials file is not JSON (line {}, column {})",
            e.line(),
            e.column()
        ))
    })?;
    let field = |key: &str| match value.get(key) {
        Some(serde_json::Value::String(s)) if !s.is_empty() => Ok(s.clone()),
        Some(_) => Err(usage_error(format!(
            "{shown}: `{key}` of the GCS credentials must be a non-empty string"
        ))),
        None => Err(usage_error(format!(
            "{shown}: the GCS credentials file has no `{key}` (expected {{\"client_id\": …, \"client_secret\": …}})"
        ))),
    };
    Ok(Some((field("client_id")?, field("client_secret")?)))
}

/// Refuses a credentials file other users may read (as ssh refuses a shared private key).
fn refuse_shared(file: &Path) -> anyhow::Result<()> {
    let shown = file.display();
    match codeocean::profile::readable_by_others(file) {
        Err(e) => Err(usage_error(format!(
            "{shown}: cannot read the GCS credentials file: {e}"
        ))),
        Ok(Some(mode)) => Err(usage_error(format!(
            "{shown}: the GCS credentials file is readable by other users (mode {mode:o}); run `chmod 600 {shown}`"
        ))),
        Ok(None) => Ok(()),
    }
}

/// One capsule or pipeline of `data-asset usage --json`.
#[derive(Serialize)]
struct UseJson<'a> {
    id: &'a str,
    name: Option<&'a str>,
    mount: Option<&'a str>,
    archived: bool,
}

/// `data-asset usage --json`: one document.
#[derive(Serialize)]
struct UsageJson<'a> {
    id: &'a str,
    capsules: Vec<UseJson<'a>>,
    pipelines: Vec<UseJson<'a>>,
}

/// `data-asset usage`: a table of the capsules and pipelines that attach the asset (or one
/// JSON document with `--json`).
pub(crate) async fn usage(ctx: &Ctx, client: &Client, id: &str) -> anyhow::Result<()> {
    let usage = client.data_asset_usage(id).await?;
    let out = UsageJson {
        id,
        capsules: list(&usage.capsules),
        pipelines: list(&usage.pipelines),
    };
    if usage.is_empty() && !ctx.json {
        ctx.note(format!("no capsule or pipeline attaches data asset {id}"));
        return Ok(());
    }
    show(ctx, &out, || objects::usage(&usage))
}

fn list(uses: &[DataAssetUse]) -> Vec<UseJson<'_>> {
    uses.iter()
        .map(|u| UseJson {
            id: &u.id,
            name: u.name.as_deref(),
            mount: u.mount.as_deref(),
            archived: u.archived,
        })
        .collect()
}
