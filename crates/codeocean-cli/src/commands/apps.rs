//! `capsule …` and `pipeline …`: one implementation for both families.

use codeocean::{App, Attachments, Client};

use super::permissions::{self, Of};
use super::{objects, search, show, show_list};
use crate::cli::AppCmd;
use crate::progress::Waiting;
use crate::{Ctx, output, request};

/// `ID[:MOUNT]` flags as attachments.
pub(crate) fn attachments(specs: &[String]) -> Attachments {
    specs.iter().fold(Attachments::new(), |a, spec| {
        let asset = request::data_asset(spec);
        a.data_asset(asset.id, asset.mount.unwrap_or_default())
    })
}

/// Reports detached data assets.
pub(crate) fn show_detached(ctx: &Ctx, from: &str, ids: &[String]) -> anyhow::Result<()> {
    let out = serde_json::json!({"detached": ids});
    show(ctx, &out, || {
        format!(
            "detached {} from {from}\n",
            output::count(ids.len() as u64, "data asset", "data assets")
        )
    })
}

/// Reports an archived (or unarchived) object.
pub(crate) fn show_archived(ctx: &Ctx, what: &str, id: &str, archived: bool) -> anyhow::Result<()> {
    let out = serde_json::json!({"id": id, "archived": archived});
    let verb = if archived { "archived" } else { "unarchived" };
    show(ctx, &out, || format!("{verb} {what}\n"))
}

pub(crate) async fn app(ctx: &Ctx, app: App, cmd: AppCmd) -> anyhow::Result<()> {
    let client = ctx.client()?;
    match cmd {
        AppCmd::Get { id } => {
            let capsule = client.get_app(app, &id).await?;
            if ctx.json {
                return show(ctx, &capsule, String::new);
            }
            // The parameters are a second request; a deployment that will not give them (an
            // older server, no permission) still shows the object.
            let panel = client.app_panel(app, &id, None).await;
            let params = match panel {
                Ok(panel) => objects::parameters(&panel),
                Err(e) => {
                    let e = crate::full(&e);
                    tracing::debug!("no app panel for {app} {id}: {e}");
                    String::new()
                }
            };
            show(ctx, &capsule, || {
                let mut text = objects::capsule(&capsule);
                if !params.is_empty() {
                    text.push('\n');
                    text.push_str(&params);
                }
                text
            })
        }
        AppCmd::AppPanel { id, version } => {
            let panel = client.app_panel(app, &id, version).await?;
            let text = objects::parameters(&panel);
            if text.is_empty() && !ctx.json {
                ctx.note(format!("{app} {id} has no parameters"));
            }
            show(ctx, &panel, || text)
        }
        AppCmd::Computations { id } => {
            let mut list = client.list_app_computations(app, &id).await?;
            list.sort_by_key(|c| (c.created.as_ref().map(|t| t.as_secs()), c.id.clone()));
            show_list(ctx, &list, || objects::computations(&list))
        }
        AppCmd::Search {
            common,
            status,
            sort,
        } => search::apps(ctx, &client, app, &common, status, sort).await,
        AppCmd::Attach { id, data_assets } => {
            let assets = attachments(&data_assets);
            let attached = client.attach_app_data_assets(app, &id, &assets).await?;
            show_list(ctx, &attached, || objects::attached(&attached))
        }
        AppCmd::Detach { id, data_assets } => {
            client
                .detach_app_data_assets(app, &id, &data_assets)
                .await?;
            show_detached(ctx, &format!("{app} {id}"), &data_assets)
        }
        AppCmd::Archive { id, undo } => {
            if undo {
                client.unarchive_app(app, &id).await?;
            } else {
                client.archive_app(app, &id).await?;
            }
            show_archived(ctx, &format!("{app} {id}"), &id, !undo)
        }
        AppCmd::Delete { id, yes } => {
            crate::confirm::confirm(yes, &format!("delete {app} {id}"), None).await?;
            client.delete_app(app, &id).await?;
            let out = serde_json::json!({"id": id, "deleted": true});
            show(ctx, &out, || format!("deleted {app} {id}\n"))
        }
        AppCmd::Permissions(cmd) => permissions::permissions(ctx, &client, Of::App(app), cmd).await,
        AppCmd::Sync { id } => {
            let synced = client.sync_app(app, &id).await?;
            show(ctx, &synced, || {
                format!(
                    "pushed {}, pulled {}{}\n",
                    output::count(synced.pushed.unwrap_or(0) as u64, "commit", "commits"),
                    synced.pulled.unwrap_or(0),
                    if synced.new_branch == Some(true) {
                        "; created the branch on the remote"
                    } else {
                        ""
                    }
                )
            })
        }
        AppCmd::Release { id, wait, timeout } => {
            release(ctx, &client, app, &id, wait || timeout.is_some(), timeout).await
        }
    }
}

async fn release(
    ctx: &Ctx,
    client: &Client,
    app: App,
    id: &str,
    wait: bool,
    timeout: Option<std::time::Duration>,
) -> anyhow::Result<()> {
    let job = client.release_app(app, id).await?;
    ctx.note(format!("started release job {}", job.job_id));
    if !wait {
        return show(ctx, &job, || objects::release_job(&job));
    }
    let display = Waiting::new(ctx, format!("release job {}", job.job_id));
    display.state("waiting until released");
    let mut wait = client.wait_for_app_release(app, id, &job.job_id);
    if let Some(limit) = timeout {
        wait = wait.timeout(limit);
    }
    let done = wait.await;
    display.finish();
    let done = done?;
    show(ctx, &done, || objects::release_job(&done))
}
