//! Apps: capsules and pipelines (pipelines mirror capsules under `/pipelines`): get, list
//! computations, delete, app panel, archive, attach and detach data assets, permissions,
//! release jobs and Git sync; and, for the admin routes, copies and cloud workstation sessions.
//!
//! Each handler is written once, generic over a [`Family`] that says which objects its route
//! takes; the route table instantiates it for capsules and for pipelines.
//!
//! Everything is stateful: a deleted capsule is gone (404), archiving shows in searches,
//! permissions and attached data assets are kept, a release job moves through `created`,
//! `started` and `completed` on the simulated clock and then adds a version to the capsule.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use codeocean_raw::open::{
    AppPanelDataAssetKind, AppPanelParameterType, OneOrMany, ReleaseJobStatus,
};
use codeocean_raw::types;

use crate::assets::{apply_permissions, archive_flag, check_permissions, share};
use crate::catalogue::Entry;
use crate::http::{ApiError, ApiResult, Q, St, parse_body, query};
use crate::state::{
    self, Item, OWNER, OWNER_EMAIL, Phase, RELEASE_STARTS_AFTER, RELEASE_TAKES, ReleaseJob, Run,
};

/// Which objects a route takes: `/capsules/...` routes take capsules, `/pipelines/...` routes
/// pipelines; the two original capsule routes take either (pipelines are capsules to the API).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Capsule,
    Pipeline,
    Either,
}

impl Kind {
    pub(crate) fn noun(self) -> &'static str {
        match self {
            Kind::Pipeline => "pipeline",
            Kind::Capsule | Kind::Either => "capsule",
        }
    }

    fn admits(self, item: &Item) -> bool {
        match self {
            Kind::Capsule => !item.is_pipeline,
            Kind::Pipeline => item.is_pipeline,
            Kind::Either => true,
        }
    }
}

/// Runs `f` on the capsule or pipeline `id` (404 when there is none of this kind).
pub(crate) fn with_item<T>(
    st: &state::State,
    id: &str,
    kind: Kind,
    f: impl FnOnce(&mut Item) -> T,
) -> ApiResult<T> {
    let mut items = st.items.lock().unwrap();
    match items.get_mut(id) {
        Some(item) if kind.admits(item) => Ok(f(item)),
        _ => Err(ApiError::not_found(format!(
            "{} {id} not found",
            kind.noun()
        ))),
    }
}

/// A capsule or pipeline as the API sends it.
pub(crate) fn capsule_wire(st: &state::State, item: &Item) -> types::Capsule {
    let r = &item.runnable;
    types::Capsule {
        article: Default::default(),
        cloned_from_url: None,
        created: Some(st.clock.epoch(item.created)),
        description: Some(r.description.clone()),
        field: Some("Bioinformatics".into()),
        id: r.id.clone(),
        keywords: Some(vec!["simulation".into()]),
        last_accessed: Some(st.clock.epoch(item.last_accessed.max(0.0))),
        name: Some(r.name.clone()),
        original_capsule: None,
        owner: Some(OWNER.into()),
        owner_email: Some(OWNER_EMAIL.into()),
        published_capsule: None,
        release_capsule: None,
        slug: Some(
            r.slug
                .clone()
                .unwrap_or_else(|| r.id.chars().take(7).collect()),
        ),
        status: Some(item.status(&st.clock)),
        submission: Default::default(),
        tags: vec![],
        versions: item.versions(&st.clock),
    }
}

/// Which objects a route takes, as a type: handlers are generic over it.
pub(crate) trait Family: Send + Sync + 'static {
    /// What the route takes.
    const KIND: Kind;
}

/// The `/capsules/...` routes: capsules only.
pub(crate) struct Capsules;
/// The `/pipelines/...` routes: pipelines only.
pub(crate) struct Pipelines;
/// The two original capsule routes (get, list computations): capsules or pipelines.
pub(crate) struct AnyApp;

impl Family for Capsules {
    const KIND: Kind = Kind::Capsule;
}
impl Family for Pipelines {
    const KIND: Kind = Kind::Pipeline;
}
impl Family for AnyApp {
    const KIND: Kind = Kind::Either;
}

/// `GET /capsules/{id}`, `GET /pipelines/{id}`.
pub(crate) async fn get<F: Family>(
    State(st): St,
    Path(id): Path<String>,
) -> ApiResult<Json<types::Capsule>> {
    Ok(Json(with_item(&st, &id, F::KIND, |item| {
        capsule_wire(&st, item)
    })?))
}

/// `GET .../computations`: every computation of a capsule or pipeline.
pub(crate) async fn computations<F: Family>(
    State(st): St,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<types::Computation>>> {
    Ok(Json(computations_of(&st, &id, F::KIND)?))
}

/// Every computation of a capsule or pipeline, oldest first.
pub(crate) fn computations_of(
    st: &state::State,
    id: &str,
    kind: Kind,
) -> ApiResult<Vec<types::Computation>> {
    with_item(st, id, kind, |_| ())?;
    let runs = st.runs.lock().unwrap();
    // Cloud workstation sessions of a capsule are among its computations (`cloud_workstation`
    // tells them apart).
    let mut mine: Vec<&Run> = runs.values().filter(|r| r.runnable.id == id).collect();
    mine.sort_by(|a, b| a.created.total_cmp(&b.created).then(a.id.cmp(&b.id)));
    Ok(mine.into_iter().map(|r| r.to_wire(&st.clock)).collect())
}

// --- Delete ------------------------------------------------------------

/// `DELETE /capsules/{id}`, `DELETE /pipelines/{id}`.
pub(crate) async fn delete<F: Family>(
    State(st): St,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let (st, id, kind) = (&*st, id.as_str(), F::KIND);
    with_item(st, id, kind, |_| ())?;
    st.items.lock().unwrap().remove(id);
    Ok(StatusCode::NO_CONTENT)
}

// --- App panel ----------------------------------------------------------------------------

fn category() -> types::AppPanelCategory {
    types::AppPanelCategory {
        id: "general".into(),
        name: Some("General".into()),
        description: Some("Settings of every run.".into()),
        help_text: None,
    }
}

fn parameter(name: &str) -> types::AppPanelParameter {
    types::AppPanelParameter {
        category: Some("general".into()),
        default_value: Some(String::new()),
        description: Some(format!("The `{name}` parameter.")),
        help_text: None,
        hidden: Some(false),
        maximum: None,
        minimum: None,
        name: name.replace('_', " "),
        param_name: Some(name.into()),
        pattern: None,
        required: Some(false),
        type_: Some(AppPanelParameterType::Text),
        value_options: vec![],
        value_type: Some("string".into()),
    }
}

/// `GET .../app_panel`.
pub(crate) async fn app_panel<F: Family>(
    State(st): St,
    Path(id): Path<String>,
    q: Q,
) -> ApiResult<Json<types::AppPanel>> {
    let (st, id, kind) = (&*st, id.as_str(), F::KIND);
    let q = query(q)?;
    let version = q
        .get("version")
        .map(|v| {
            v.parse::<i64>()
                .map_err(|_| ApiError::bad_request(format!("version: `{v}` is not an integer")))
        })
        .transpose()?;
    let (runnable, flat, attached, versions) = with_item(st, id, kind, |item| {
        (
            item.runnable.clone(),
            item.flat.clone(),
            item.attached.clone(),
            item.versions(&st.clock).len() as i64,
        )
    })?;
    if let Some(v) = version
        && !(1..=versions).contains(&v)
    {
        return Err(ApiError::not_found(format!(
            "{} {id} has no released version {v} (it has {versions})",
            kind.noun()
        )));
    }
    let data_assets = {
        let assets = st.assets.lock().unwrap();
        let now = st.clock.now();
        attached
            .iter()
            .map(|(aid, mount)| {
                let a = assets.get(aid);
                types::AppPanelDataAsset {
                    accessible: Some(a.is_some()),
                    description: a.and_then(|a| a.wire.description.clone()),
                    help_text: None,
                    id: aid.clone(),
                    kind: Some(if a.is_some_and(|a| a.is_external(now)) {
                        AppPanelDataAssetKind::External
                    } else {
                        AppPanelDataAssetKind::Internal
                    }),
                    mount: Some(mount.clone()),
                    name: Some(
                        a.and_then(|a| a.wire.name.clone())
                            .unwrap_or_else(|| aid.clone()),
                    ),
                }
            })
            .collect()
    };
    let parameters: Vec<types::AppPanelParameter> = runnable
        .parameters
        .iter()
        .flatten()
        .map(|p| parameter(p))
        .collect();
    let results = match flat.entries.get("") {
        Some(Entry::Folder(children)) => children
            .iter()
            .filter(|c| matches!(flat.entries.get(*c), Some(Entry::File(_))))
            .map(|c| types::AppPanelResult {
                file_name: c.clone(),
            })
            .collect(),
        _ => vec![],
    };
    let processes = runnable
        .processes
        .iter()
        .map(|name| types::AppPanelProcess {
            categories: Some(OneOrMany::One(category())),
            name: name.clone(),
            parameters: Some(OneOrMany::One(parameter("mode"))),
        })
        .collect();
    Ok(Json(types::AppPanel {
        categories: if parameters.is_empty() {
            vec![]
        } else {
            vec![category()]
        },
        data_assets,
        general: Some(types::AppPanelGeneral {
            title: Some(runnable.name.clone()),
            instructions: Some(runnable.description.clone()),
            help_text: Some(format!("Run {} from its app panel.", runnable.name)),
        }),
        parameters,
        processes,
        results,
    }))
}

// --- Archive ------------------------------------------------------------------------------

/// `PATCH .../archive?archive=`.
pub(crate) async fn archive<F: Family>(
    State(st): St,
    Path(id): Path<String>,
    q: Q,
) -> ApiResult<StatusCode> {
    let (st, id, kind) = (&*st, id.as_str(), F::KIND);
    let flag = archive_flag(q)?;
    with_item(st, id, kind, |item| item.archived = flag)?;
    Ok(StatusCode::NO_CONTENT)
}

// --- Attach and detach data assets --------------------------------------------------------

/// What attaching needs to know of an asset: (default mount, external).
pub(crate) fn asset_facts(
    st: &state::State,
    params: &[types::DataAssetAttachParams],
) -> ApiResult<Vec<(String, bool)>> {
    let assets = st.assets.lock().unwrap();
    let now = st.clock.now();
    params
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let a = assets.get(&p.id).ok_or_else(|| {
                ApiError::bad_request(format!("[{i}].id: data asset {} not found", p.id))
            })?;
            if p.mount.as_ref().is_some_and(|m| m.trim().is_empty()) {
                return Err(ApiError::bad_request(format!(
                    "[{i}].mount: must not be empty"
                )));
            }
            let mount = p
                .mount
                .clone()
                .or_else(|| a.wire.mount.clone())
                .unwrap_or_else(|| p.id.clone());
            Ok((mount, a.is_external(now)))
        })
        .collect()
}

/// Attaches to a list of (id, mount): a re-attached asset moves to its new mount; two assets
/// cannot share a mount.
pub(crate) fn attach_to(
    attached: &mut Vec<(String, String)>,
    params: &[types::DataAssetAttachParams],
    facts: &[(String, bool)],
) -> ApiResult<()> {
    let mut next = attached.clone();
    for (i, (p, (mount, _))) in params.iter().zip(facts).enumerate() {
        next.retain(|(id, _)| *id != p.id);
        if let Some((other, _)) = next.iter().find(|(_, m)| m == mount) {
            return Err(ApiError::bad_request(format!(
                "[{i}].mount: /data/{mount} is already used by data asset {other}"
            )));
        }
        next.push((p.id.clone(), mount.clone()));
    }
    *attached = next;
    Ok(())
}

/// Detaches `ids` from a list of (id, mount); each must be attached to `what`.
pub(crate) fn detach_from(
    attached: &mut Vec<(String, String)>,
    ids: &[String],
    what: &str,
) -> ApiResult<()> {
    for (i, id) in ids.iter().enumerate() {
        if !attached.iter().any(|(a, _)| a == id) {
            return Err(ApiError::bad_request(format!(
                "[{i}]: data asset {id} is not attached to {what}"
            )));
        }
    }
    attached.retain(|(a, _)| !ids.contains(a));
    Ok(())
}

/// `POST .../data_assets`: attaches data assets.
pub(crate) async fn attach<F: Family>(
    State(st): St,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Json<Vec<types::DataAssetAttachResult>>> {
    let (st, id, kind) = (&*st, id.as_str(), F::KIND);
    let (params, _): (Vec<types::DataAssetAttachParams>, _) = parse_body(&body)?;
    with_item(st, id, kind, |_| ())?;
    let facts = asset_facts(st, &params)?;
    with_item(st, id, kind, |item| {
        attach_to(&mut item.attached, &params, &facts)
    })??;
    Ok(Json(attach_results(&params, facts, None)))
}

/// The answer to an attach: each asset ready, or (with the `job` that mounts them, for a cloud
/// workstation session) on its way.
pub(crate) fn attach_results(
    params: &[types::DataAssetAttachParams],
    facts: Vec<(String, bool)>,
    job: Option<String>,
) -> Vec<types::DataAssetAttachResult> {
    let ready = job.is_none();
    params
        .iter()
        .zip(facts)
        .map(|(p, (mount, external))| types::DataAssetAttachResult {
            external: Some(external),
            id: p.id.clone(),
            job_id: job.clone(),
            mount: Some(mount),
            mount_state: Some(if ready { "ready" } else { "mounting" }.into()),
            ready: Some(ready),
        })
        .collect()
}

/// `DELETE .../data_assets/`: detaches data assets.
pub(crate) async fn detach<F: Family>(
    State(st): St,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<StatusCode> {
    let (st, id, kind) = (&*st, id.as_str(), F::KIND);
    let (ids, _): (Vec<String>, _) = parse_body(&body)?;
    let what = format!("{} {id}", kind.noun());
    with_item(st, id, kind, |item| {
        detach_from(&mut item.attached, &ids, &what)
    })??;
    Ok(StatusCode::NO_CONTENT)
}

// --- Permissions --------------------------------------------------------------------------

/// `GET .../permissions`.
pub(crate) async fn permissions<F: Family>(
    State(st): St,
    Path(id): Path<String>,
) -> ApiResult<Json<types::Permissions>> {
    let (st, id, kind) = (&*st, id.as_str(), F::KIND);
    Ok(Json(with_item(st, id, kind, |item| {
        item.permissions.clone()
    })?))
}

/// `POST .../permissions`.
pub(crate) async fn update_permissions<F: Family>(
    State(st): St,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<StatusCode> {
    let (st, id, kind) = (&*st, id.as_str(), F::KIND);
    let (p, _): (types::Permissions, _) = parse_body(&body)?;
    check_permissions(&p)?;
    let attached = with_item(st, id, kind, |item| {
        apply_permissions(&mut item.permissions, &p);
        item.attached.clone()
    })?;
    if p.share_assets == Some(true) {
        let mut assets = st.assets.lock().unwrap();
        for (aid, _) in attached {
            if let Some(a) = assets.get_mut(&aid) {
                share(&mut a.permissions, &p);
            }
        }
    }
    Ok(StatusCode::NO_CONTENT)
}

// --- Release ------------------------------------------------------------------------------

fn job_wire(st: &state::State, item_id: &str, job: &ReleaseJob) -> types::ReleaseJob {
    let now = st.clock.now();
    let t = now - job.created;
    let status = if now >= job.done_at() {
        ReleaseJobStatus::Completed
    } else if t >= RELEASE_STARTS_AFTER {
        ReleaseJobStatus::Started
    } else {
        ReleaseJobStatus::Created
    };
    let done = status == ReleaseJobStatus::Completed;
    let started = job.created + RELEASE_STARTS_AFTER;
    types::ReleaseJob {
        // Whole seconds run so far; exact once done (no float residue of the clock).
        duration: (now >= started).then_some(if done {
            (RELEASE_TAKES - RELEASE_STARTS_AFTER) as i64
        } else {
            (now - started) as i64
        }),
        error: None,
        job_id: job.id.clone(),
        release_capsule: done.then(|| item_id.to_owned()),
        release_version: done.then(|| types::CapsuleVersion {
            major_version: Some(job.major),
            minor_version: Some(0),
            release_time: Some(st.clock.epoch(job.done_at())),
        }),
        started: (now >= started).then(|| st.clock.epoch(started)),
        status: Some(status),
    }
}

/// `POST .../release`: starts a release job.
pub(crate) async fn release<F: Family>(
    State(st): St,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let (st, id, kind) = (&*st, id.as_str(), F::KIND);
    // Release requirement: a run of it that succeeded.
    let reproducible = st.runs.lock().unwrap().values().any(|r| {
        r.runnable.id == id
            && !r.workstation
            && r.phase(st.clock.now()) == Phase::Ended
            && r.end_status() == "succeeded"
    });
    let job_id = st.new_id();
    let now = st.clock.now();
    let out = with_item(st, id, kind, |item: &mut Item| {
        if item.runnable.versions == 0 {
            return Err(ApiError::bad_request(format!(
                "{} {id} was never released: its first release is made in the app",
                kind.noun()
            )));
        }
        if !reproducible {
            let body = serde_json::json!({
                "message": format!("{} {id} does not meet the release requirements", kind.noun()),
                "missing_reproducible_run": true,
            });
            return Ok((StatusCode::FORBIDDEN, Json(body)).into_response());
        }
        let major = i64::from(item.runnable.versions) + item.releases.len() as i64 + 1;
        let job = ReleaseJob {
            id: job_id,
            created: now,
            major,
        };
        let wire = job_wire(st, id, &job);
        item.releases.push(job);
        Ok(Json(wire).into_response())
    })??;
    Ok(out)
}

/// `GET .../release/{job}`.
pub(crate) async fn release_job<F: Family>(
    State(st): St,
    Path((id, job)): Path<(String, String)>,
) -> ApiResult<Json<types::ReleaseJob>> {
    let (st, id, kind) = (&*st, id.as_str(), F::KIND);
    let job = job.as_str();
    with_item(st, id, kind, |item| {
        item.releases
            .iter()
            .find(|j| j.id == job)
            .map(|j| Json(job_wire(st, id, j)))
            .ok_or_else(|| {
                ApiError::not_found(format!(
                    "release job {job} of {} {id} not found",
                    kind.noun()
                ))
            })
    })?
}

// --- Sync ---------------------------------------------------------------------------------

/// Commits the first sync pushes (the capsule's history); later syncs find nothing to do.
const FIRST_SYNC_PUSHES: i64 = 3;

/// `POST .../sync`: a Git sync.
pub(crate) async fn sync<F: Family>(
    State(st): St,
    Path(id): Path<String>,
) -> ApiResult<Json<types::GitSyncResults>> {
    let (st, id, kind) = (&*st, id.as_str(), F::KIND);
    with_item(st, id, kind, |item| {
        if item.runnable.git_remote.is_none() {
            return Err(ApiError::bad_request(format!(
                "{} {id} is not linked to an external Git repository",
                kind.noun()
            )));
        }
        item.syncs += 1;
        // Servers leave out zero counts and a false new_branch.
        Ok(Json(if item.syncs == 1 {
            types::GitSyncResults {
                new_branch: Some(true),
                pulled: None,
                pushed: Some(FIRST_SYNC_PUSHES),
            }
        } else {
            types::GitSyncResults::default()
        }))
    })?
}

// --- Copies and cloud workstation sessions (admin) ----------------------------------------

/// Makes `count` copies of a capsule or pipeline (new ids, names `{name} (copy k)`, made now,
/// same runs and versions); their ids, or `None` when there is no such capsule or pipeline.
pub(crate) fn copy(st: &state::State, id: &str, count: usize) -> Option<Vec<String>> {
    let now = st.clock.now();
    let mut items = st.items.lock().unwrap();
    let original = items.get(id)?;
    let (runnable, flat, is_pipeline) = (
        original.runnable.clone(),
        original.flat.clone(),
        original.is_pipeline,
    );
    let ids: Vec<String> = (0..count).map(|_| st.new_id()).collect();
    for (k, new_id) in ids.iter().enumerate() {
        let r = crate::catalogue::Runnable {
            id: new_id.clone(),
            name: format!("{} (copy {})", runnable.name, k + 1),
            slug: None,
            ..(*runnable).clone()
        };
        let created = now - (count - 1 - k) as f64;
        items.insert(
            new_id.clone(),
            Item {
                runnable: Arc::new(r),
                flat: flat.clone(),
                is_pipeline,
                created,
                last_accessed: created,
                archived: false,
                permissions: state::owner_permissions(),
                attached: vec![],
                releases: vec![],
                syncs: 0,
            },
        );
    }
    Some(ids)
}

/// Starts a cloud workstation session of a capsule (it runs until stopped or deleted); the
/// computation, or `None` when there is no such capsule.
pub(crate) fn start_workstation(st: &state::State, capsule_id: &str) -> Option<types::Computation> {
    let (runnable, flat) = with_item(st, capsule_id, Kind::Capsule, |item| {
        (item.runnable.clone(), item.flat.clone())
    })
    .ok()?;
    let id = st.new_id();
    let mut runs = st.runs.lock().unwrap();
    let run = state::Run {
        name: format!("Cloud Workstation {}", 1_000_000 + runs.len()),
        id: id.clone(),
        flat,
        runnable,
        is_pipeline: false,
        created: st.clock.now(),
        stopped_at: None,
        request: types::RunRequest {
            capsule_id: Some(capsule_id.to_owned()),
            ..Default::default()
        },
        workstation: true,
    };
    let wire = run.to_wire(&st.clock);
    runs.insert(id, run);
    Some(wire)
}
