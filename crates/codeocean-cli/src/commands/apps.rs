//! `capsule …` and `pipeline …`: one implementation for both families.

use codeocean::{Attachments, Client};

use super::permissions::{self, Of};
use super::{objects, search, show, show_list};
use crate::cli::AppCmd;
use crate::progress::Waiting;
use crate::{Ctx, output, request};

/// Which family a command is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum App {
    Capsule,
    Pipeline,
}

impl App {
    fn noun(self) -> &'static str {
        match self {
            Self::Capsule => "capsule",
            Self::Pipeline => "pipeline",
        }
    }
}

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
    let noun = app.noun();
    match cmd {
        AppCmd::Get { id } => {
            let capsule = match app {
                App::Capsule => client.get_capsule(&id).await?,
                App::Pipeline => client.get_pipeline(&id).await?,
            };
            if ctx.json {
                return show(ctx, &capsule, String::new);
            }
            // The parameters are a second request; a deployment that will not give them (an
            // older server, no permission) still shows the object.
            let panel = match app {
                App::Capsule => client.capsule_app_panel(&id, None).await,
                App::Pipeline => client.pipeline_app_panel(&id, None).await,
            };
            let params = match panel {
                Ok(panel) => objects::parameters(&panel),
                Err(e) => {
                    tracing::debug!("no app panel for {noun} {id}: {e}");
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
            let panel = match app {
                App::Capsule => client.capsule_app_panel(&id, version).await?,
                App::Pipeline => client.pipeline_app_panel(&id, version).await?,
            };
            let text = objects::parameters(&panel);
            if text.is_empty() && !ctx.json {
                ctx.note(format!("{noun} {id} has no parameters"));
            }
            show(ctx, &panel, || text)
        }
        AppCmd::Computations { id } => {
            let mut list = match app {
                App::Capsule => client.list_capsule_computations(&id).await?,
                App::Pipeline => client.list_pipeline_computations(&id).await?,
            };
            list.sort_by_key(|c| (c.created.as_ref().map(|t| t.as_secs()), c.id.clone()));
            show_list(ctx, &list, || objects::computations(&list))
        }
        AppCmd::Search {
            common,
            status,
            sort,
        } => search::apps(ctx, &client, app == App::Pipeline, &common, status, sort).await,
        AppCmd::Attach { id, data_assets } => {
            let assets = attachments(&data_assets);
            let attached = match app {
                App::Capsule => client.attach_capsule_data_assets(&id, &assets).await?,
                App::Pipeline => client.attach_pipeline_data_assets(&id, &assets).await?,
            };
            show_list(ctx, &attached, || objects::attached(&attached))
        }
        AppCmd::Detach { id, data_assets } => {
            match app {
                App::Capsule => client.detach_capsule_data_assets(&id, &data_assets).await?,
                App::Pipeline => {
                    client
                        .detach_pipeline_data_assets(&id, &data_assets)
                        .await?
                }
            }
            show_detached(ctx, &format!("{noun} {id}"), &data_assets)
        }
        AppCmd::Archive { id, undo } => {
            match app {
                App::Capsule => client.archive_capsule(&id, !undo).await?,
                App::Pipeline => client.archive_pipeline(&id, !undo).await?,
            }
            show_archived(ctx, &format!("{noun} {id}"), &id, !undo)
        }
        AppCmd::Delete { id, yes } => {
            crate::confirm::confirm(yes, &format!("delete {noun} {id}"), None).await?;
            match app {
                App::Capsule => client.delete_capsule(&id).await?,
                App::Pipeline => client.delete_pipeline(&id).await?,
            }
            let out = serde_json::json!({"id": id, "deleted": true});
            show(ctx, &out, || format!("deleted {noun} {id}\n"))
        }
        AppCmd::Permissions(cmd) => {
            let of = match app {
                App::Capsule => Of::Capsule,
                App::Pipeline => Of::Pipeline,
            };
            permissions::permissions(ctx, &client, of, cmd).await
        }
        AppCmd::Sync { id } => {
            let synced = match app {
                App::Capsule => client.sync_capsule(&id).await?,
                App::Pipeline => client.sync_pipeline(&id).await?,
            };
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
    let job = match app {
        App::Capsule => client.release_capsule(id).await?,
        App::Pipeline => client.release_pipeline(id).await?,
    };
    ctx.note(format!("started release job {}", job.job_id));
    if !wait {
        return show(ctx, &job, || objects::release_job(&job));
    }
    let display = Waiting::new(ctx, format!("release job {}", job.job_id));
    display.state("waiting until released");
    let policy = ctx.poll(timeout);
    let done = match app {
        App::Capsule => {
            client
                .wait_for_capsule_release_with(id, &job.job_id, policy)
                .await
        }
        App::Pipeline => {
            client
                .wait_for_pipeline_release_with(id, &job.job_id, policy)
                .await
        }
    };
    display.finish();
    let done = done?;
    show(ctx, &done, || objects::release_job(&done))
}
