//! `capsule|pipeline|data-asset permissions get|set` and `custom-metadata get`.

use codeocean::{App, Client, CustomMetadataSchema, EveryoneRole, Permissions, PermissionsUpdate};

use super::show;
use crate::Ctx;
use crate::cli::PermissionsCmd;
use crate::output::{opt, table, table_fitted};

/// What the permissions belong to: an app (a capsule or a pipeline) or a data asset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Of {
    App(App),
    DataAsset,
}

impl std::fmt::Display for Of {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::App(app) => app.fmt(f),
            Self::DataAsset => f.write_str("data asset"),
        }
    }
}

pub(crate) async fn permissions(
    ctx: &Ctx,
    client: &Client,
    of: Of,
    cmd: PermissionsCmd,
) -> anyhow::Result<()> {
    match cmd {
        PermissionsCmd::Get { id } => {
            let p = match of {
                Of::App(app) => client.get_app_permissions(app, &id).await?,
                Of::DataAsset => client.get_data_asset_permissions(&id).await?,
            };
            show(ctx, &p, || permissions_table(&p))
        }
        PermissionsCmd::Set {
            id,
            users,
            groups,
            everyone,
            share_assets,
            yes,
        } => {
            let mut replaced = Vec::new();
            if !users.is_empty() {
                replaced.push("users");
            }
            if !groups.is_empty() {
                replaced.push("groups");
            }
            if everyone.is_some() {
                replaced.push("everyone's role");
            }
            let detail = format!(
                "The {} given replace the current ones of {of} {id}.",
                replaced.join(" and "),
            );
            let action = format!("change the permissions of {of} {id}");
            crate::confirm::confirm(yes, &action, Some(&detail)).await?;
            let mut update = PermissionsUpdate::new();
            for (email, role) in users {
                update = update.user(email, role);
            }
            for (group, role) in groups {
                update = update.group(group, role);
            }
            if let Some(e) = everyone {
                update = update.everyone(EveryoneRole::from(e.as_str()));
            }
            if share_assets {
                update = update.share_assets(true);
            }
            match of {
                Of::App(app) => client.update_app_permissions(app, &id, &update).await?,
                Of::DataAsset => client.update_data_asset_permissions(&id, &update).await?,
            }
            let out = serde_json::json!({"id": id, "updated": update.as_raw()});
            show(ctx, &out, || {
                format!("updated the permissions of {of} {id}\n")
            })
        }
    }
}

/// One row per user and group, then everyone's role.
fn permissions_table(p: &Permissions) -> String {
    let mut rows: Vec<Vec<String>> = Vec::new();
    for u in p.users.iter().flatten() {
        rows.push(vec!["user".into(), u.email.clone(), u.role.to_string()]);
    }
    for g in p.groups.iter().flatten() {
        rows.push(vec!["group".into(), g.group.clone(), g.role.to_string()]);
    }
    if let Some(e) = &p.everyone {
        rows.push(vec!["everyone".into(), String::new(), e.to_string()]);
    }
    // E-mail addresses and group ids are never shortened.
    table_fitted(&["KIND", "NAME", "ROLE"], &rows, &[], None)
}

pub(crate) async fn custom_metadata(ctx: &Ctx, client: &Client) -> anyhow::Result<()> {
    let schema = client.get_custom_metadata_schema().await?;
    show(ctx, &schema, || schema_table(&schema))
}

/// One row per field.
fn schema_table(s: &CustomMetadataSchema) -> String {
    let yes_no = |b: Option<bool>| if b == Some(true) { "yes" } else { "no" }.to_owned();
    let rows: Vec<Vec<String>> = s
        .fields
        .iter()
        .map(|f| {
            let range = f
                .range
                .as_ref()
                .map_or(String::new(), |r| match (r.min, r.max) {
                    (None, None) => String::new(),
                    (min, max) => format!("{}..{}", opt(min), opt(max)),
                });
            let allowed: Vec<String> = f
                .allowed_values
                .iter()
                .map(|v| match serde_json::to_value(v) {
                    Ok(serde_json::Value::String(s)) => s,
                    Ok(other) => other.to_string(),
                    Err(_) => String::new(),
                })
                .collect();
            vec![
                f.name.clone(),
                opt(f.type_.as_ref()),
                yes_no(f.required),
                yes_no(f.multiple),
                opt(f.category.as_ref()),
                opt(f.units.as_ref()),
                range,
                allowed.join(", "),
            ]
        })
        .collect();
    table(
        &[
            "NAME", "TYPE", "REQUIRED", "MULTIPLE", "CATEGORY", "UNITS", "RANGE", "ALLOWED",
        ],
        &rows,
    )
}
