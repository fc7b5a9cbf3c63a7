//! How API objects look in human output.

use codeocean::codeocean_raw::types::AppPanelParameter;
use codeocean::{
    AppPanel, Capsule, Computation, DataAsset, DataAssetAttachResult, ReleaseJob, ResultItem,
    ResultItemType,
};

use crate::output::{bytes, fields, opt, table, time};

/// `state` or `state/end_status`.
pub(crate) fn state(c: &Computation) -> String {
    let state = c.state.as_ref().map_or("unknown", |s| s.as_str());
    match &c.end_status {
        Some(end) => format!("{state}/{}", end.as_str()),
        None => state.to_owned(),
    }
}

pub(crate) fn capsule(c: &Capsule) -> String {
    fields(&[
        ("id", c.id.clone()),
        ("name", opt(c.name.as_ref())),
        ("slug", opt(c.slug.as_ref())),
        ("status", opt(c.status.as_ref().map(|s| s.as_str()))),
        ("description", opt(c.description.as_ref())),
        ("owner", opt(c.owner.as_ref())),
        ("created", time(c.created.as_ref())),
        ("versions", c.versions.len().to_string()),
        (
            "keywords",
            c.keywords.as_deref().unwrap_or_default().join(", "),
        ),
        ("tags", c.tags.join(", ")),
    ])
}

/// The app panel's parameters, one row each: the position a `--param` takes, the name a
/// `--named-param` takes, type, default and what else bounds it; a pipeline's processes' after
/// its own, with their process. Hidden parameters are left out. Empty when there are none.
pub(crate) fn parameters(panel: &AppPanel) -> String {
    let row = |process: Option<&str>, n: usize, p: &AppPanelParameter| {
        let kind = match (&p.type_, &p.value_type) {
            (Some(t), Some(v)) if t.as_str() == "text" => v.clone(),
            (Some(t), _) => t.as_str().to_owned(),
            (None, v) => opt(v.as_ref()),
        };
        let mut bounds = Vec::new();
        if !p.value_options.is_empty() {
            bounds.push(format!("one of {}", p.value_options.join(", ")));
        }
        match (p.minimum, p.maximum) {
            (None, None) => {}
            (min, max) => bounds.push(format!("{}..{}", opt(min), opt(max))),
        }
        if p.required == Some(true) {
            bounds.push("required".into());
        }
        let mut cells = vec![
            (n + 1).to_string(),
            p.param_name.clone().unwrap_or_else(|| p.name.clone()),
            kind,
            match p.default_value.as_deref() {
                Some("") | None => String::new(),
                Some(d) => d.to_owned(),
            },
            bounds.join("; "),
            opt(p.description.as_ref()),
        ];
        if let Some(process) = process {
            cells.insert(0, process.to_owned());
        }
        cells
    };
    let shown = |ps: &[AppPanelParameter]| -> Vec<(usize, AppPanelParameter)> {
        ps.iter()
            .enumerate()
            .filter(|(_, p)| p.hidden != Some(true))
            .map(|(i, p)| (i, p.clone()))
            .collect()
    };
    let mut out = String::new();
    let own: Vec<Vec<String>> = shown(&panel.parameters)
        .iter()
        .map(|(i, p)| row(None, *i, p))
        .collect();
    if !own.is_empty() {
        out.push_str(&table(
            &["#", "PARAMETER", "TYPE", "DEFAULT", "VALUES", "DESCRIPTION"],
            &own,
        ));
    }
    let mut per_process = Vec::new();
    for process in &panel.processes {
        let ps = process
            .parameters
            .as_ref()
            .map_or(&[][..], |p| p.as_slice());
        for (i, p) in shown(ps) {
            per_process.push(row(Some(&process.name), i, &p));
        }
    }
    if !per_process.is_empty() {
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(&table(
            &[
                "PROCESS",
                "#",
                "PARAMETER",
                "TYPE",
                "DEFAULT",
                "VALUES",
                "DESCRIPTION",
            ],
            &per_process,
        ));
    }
    out
}

pub(crate) fn computation(c: &Computation) -> String {
    let params = c
        .parameters
        .iter()
        .map(|p| {
            let name = p.param_name.as_ref().or(p.name.as_ref());
            match name {
                Some(n) => format!("{n}={}", opt(p.value.as_ref())),
                None => opt(p.value.as_ref()),
            }
        })
        .collect::<Vec<_>>()
        .join(" ");
    let assets = c
        .data_assets
        .iter()
        .map(|a| match &a.mount {
            Some(m) => format!("{}:{m}", a.id),
            None => a.id.clone(),
        })
        .collect::<Vec<_>>()
        .join(" ");
    fields(&[
        ("id", c.id.clone()),
        ("name", opt(c.name.as_ref())),
        ("state", c.state.as_ref().map_or("", |s| s.as_str()).into()),
        (
            "end status",
            c.end_status.as_ref().map_or("", |s| s.as_str()).into(),
        ),
        ("exit code", opt(c.exit_code)),
        ("created", time(c.created.as_ref())),
        ("run time", opt(c.run_time.map(|s| format!("{s}s")))),
        (
            "has results",
            opt(c.has_results.map(|h| if h { "yes" } else { "no" })),
        ),
        ("data assets", assets),
        ("parameters", params),
        (
            "processes",
            c.processes
                .iter()
                .filter_map(|p| p.name.clone())
                .collect::<Vec<_>>()
                .join(" "),
        ),
    ])
}

/// [`state`] for tables: a completed run is shown by its end status alone (`succeeded`, not
/// `completed/succeeded`), so that a row fits 80 columns with room for the name.
fn short_state(c: &Computation) -> String {
    match (&c.state, &c.end_status) {
        (Some(s), Some(end)) if s.as_str() == "completed" => end.as_str().to_owned(),
        _ => state(c),
    }
}

pub(crate) fn computations(list: &[Computation]) -> String {
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|c| {
            vec![
                c.id.clone(),
                short_state(c),
                time(c.created.as_ref()),
                opt(c.name.as_ref()),
            ]
        })
        .collect();
    table(&["ID", "STATE", "CREATED", "NAME"], &rows)
}

pub(crate) fn result_items(items: &[ResultItem]) -> String {
    let rows: Vec<Vec<String>> = items
        .iter()
        .map(|i| {
            let folder = i.type_ == ResultItemType::Folder;
            vec![
                if folder { "folder" } else { "file" }.to_owned(),
                if folder {
                    String::new()
                } else {
                    opt(i.size.map(|s| bytes(s.max(0) as u64)))
                },
                if folder {
                    format!("{}/", i.path)
                } else {
                    i.path.clone()
                },
            ]
        })
        .collect();
    table(&["TYPE", "SIZE", "PATH"], &rows)
}

pub(crate) fn data_asset(a: &DataAsset) -> String {
    let metadata = a
        .custom_metadata
        .as_ref()
        .map(|m| {
            m.0.iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default();
    fields(&[
        ("id", a.id.clone()),
        ("name", opt(a.name.as_ref())),
        ("state", opt(a.state.as_ref().map(|s| s.as_str()))),
        ("type", opt(a.type_.as_ref().map(|s| s.as_str()))),
        ("mount", opt(a.mount.as_ref())),
        ("size", opt(a.size.map(|s| bytes(s.max(0) as u64)))),
        ("files", opt(a.files)),
        ("tags", a.tags.join(", ")),
        ("description", opt(a.description.as_ref())),
        ("metadata", metadata),
        ("created", time(a.created.as_ref())),
        ("failure", opt(a.failure_reason.as_ref())),
    ])
}

pub(crate) fn capsules(list: &[Capsule]) -> String {
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|c| {
            vec![
                c.id.clone(),
                opt(c.status.as_ref().map(|s| s.as_str())),
                time(c.created.as_ref()),
                opt(c.name.as_ref()),
            ]
        })
        .collect();
    table(&["ID", "STATUS", "CREATED", "NAME"], &rows)
}

pub(crate) fn data_assets(list: &[DataAsset]) -> String {
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|a| {
            vec![
                a.id.clone(),
                opt(a.type_.as_ref().map(|s| s.as_str())),
                opt(a.state.as_ref().map(|s| s.as_str())),
                opt(a.size.map(|s| bytes(s.max(0) as u64))),
                opt(a.name.as_ref()),
            ]
        })
        .collect();
    table(&["ID", "TYPE", "STATE", "SIZE", "NAME"], &rows)
}

pub(crate) fn attached(list: &[DataAssetAttachResult]) -> String {
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|a| {
            vec![
                a.id.clone(),
                opt(a.mount.as_ref()),
                opt(a.mount_state.as_ref()),
                opt(a.ready.map(|r| if r { "yes" } else { "no" })),
            ]
        })
        .collect();
    table(&["ID", "MOUNT", "MOUNT STATE", "READY"], &rows)
}

pub(crate) fn usage(usage: &codeocean::DataAssetUsage) -> String {
    let rows: Vec<Vec<String>> = usage
        .iter()
        .map(|u| {
            vec![
                u.app.to_string(),
                u.id.clone(),
                opt(u.mount.as_ref()),
                if u.archived { "yes" } else { "no" }.to_owned(),
                opt(u.name.as_ref()),
            ]
        })
        .collect();
    table(&["TYPE", "ID", "MOUNT", "ARCHIVED", "NAME"], &rows)
}

pub(crate) fn release_job(j: &ReleaseJob) -> String {
    let version = j.release_version.as_ref().map(|v| {
        format!(
            "{}.{}",
            v.major_version.unwrap_or(0),
            v.minor_version.unwrap_or(0)
        )
    });
    fields(&[
        ("job", j.job_id.clone()),
        ("status", opt(j.status.as_ref().map(|s| s.as_str()))),
        ("started", time(j.started.as_ref())),
        ("duration", opt(j.duration.map(|d| format!("{d}s")))),
        ("released", opt(j.release_capsule.as_ref())),
        ("version", opt(version)),
        ("error", opt(j.error.as_ref())),
    ])
}
