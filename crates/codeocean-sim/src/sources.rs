//! What a new data asset is made from (`POST /data_assets`): a computation's results, a cloud
//! workstation session's folder, a bucket of the catalogue (`source.aws`, `source.gcp`, with
//! `results_info` for imported results), or other data assets (`data_asset_ids`: a combined
//! asset); and where its files are written (`target.aws`).
//!
//! Every refusal is a 400 whose message starts with the field it is about
//! (`source.aws.bucket: bucket `x` not found`). Nothing here copies a tree: an asset's files
//! are a folder of the source's shared tree ([`AssetFiles`]). A GCS client secret is read and
//! checked for presence only; no message or answer carries it.
//!
//! What a target (or a transfer) writes to a bucket is recorded and listed by
//! `GET /__sim/buckets/{name}`, but a new asset made from that bucket sees only the catalogue's
//! objects.
//!
//! A cloud workstation session's folder (`/root/capsule`, the root of `source.cloud_workstation.
//! path`) holds `code/` (`run`, `main.py`, `README.md`), `results/` (what a run of its capsule
//! writes, with the same bytes) and `scratch/` (`notes.txt`, `data.bin`).

use std::sync::Arc;

use codeocean_raw::open::{DataAssetOrigin, DataAssetState, DataAssetType};
use codeocean_raw::types;

use crate::catalogue::{Node, Provider, Tree};
use crate::http::{ApiError, ApiResult};
use crate::state::{self, AssetFiles, Phase, Write};
use crate::tree::normalize;

/// What the request makes, before the fields every asset has.
pub(crate) struct Made {
    pub(crate) type_: DataAssetType,
    pub(crate) files: AssetFiles,
    /// Why it fails once it settles, if it does.
    pub(crate) fails: Option<String>,
    pub(crate) provenance: Option<types::Provenance>,
    pub(crate) source_bucket: types::SourceBucket,
    pub(crate) contained: Vec<types::ContainedDataAsset>,
    pub(crate) nextflow_profile: Option<String>,
    pub(crate) app_parameters: Vec<types::AppParameter>,
}

fn bad(m: impl Into<String>) -> ApiError {
    ApiError::bad_request(m)
}

fn local() -> types::SourceBucket {
    types::SourceBucket {
        origin: Some(DataAssetOrigin::Local),
        ..Default::default()
    }
}

/// What `req` makes (its source or its parts), or the 400 that refuses it. `target.aws` is
/// checked here but recorded by [`record_target`] once the asset has an id.
pub(crate) fn resolve(st: &state::State, req: &types::CreateDataAssetRequest) -> ApiResult<Made> {
    let mut made = match (&req.source, &req.data_asset_ids) {
        (Some(_), Some(_)) => {
            return Err(bad(
                "data_asset_ids: a combined data asset takes no source (send one or the other)",
            ));
        }
        (None, Some(ids)) => {
            if req.target.is_some() {
                return Err(bad(
                    "target: a combined data asset is not copied anywhere (target needs a source)",
                ));
            }
            if req.results_info.is_some() {
                return Err(bad(
                    "results_info: only for a data asset made from source.aws or source.gcp",
                ));
            }
            combined(st, ids)?
        }
        (Some(source), None) => from_source(st, source, req.results_info.as_ref())?,
        (None, None) => {
            return Err(bad(
                "source: a source (aws, gcp, computation or cloud_workstation) or data_asset_ids \
                 is required",
            ));
        }
    };
    if let Some(target) = &req.target {
        let aws = check_target(st, target)?;
        if made.source_bucket.external == Some(true) {
            return Err(bad(
                "target: a data asset kept on external storage is not copied (drop \
                 keep_on_external_storage or the target)",
            ));
        }
        made.source_bucket = types::SourceBucket {
            origin: Some(DataAssetOrigin::Aws),
            bucket: Some(aws.bucket.clone()),
            prefix: aws.prefix.clone(),
            external: Some(true),
        };
    }
    Ok(made)
}

/// The S3 target, if its bucket is one of the catalogue's S3 buckets.
fn check_target<'a>(
    st: &state::State,
    target: &'a types::DataAssetTarget,
) -> ApiResult<&'a types::AwsS3Target> {
    let aws = target
        .aws
        .as_ref()
        .ok_or_else(|| bad("target.aws: an S3 target is required"))?;
    let buckets = st.buckets.lock().unwrap();
    match buckets.get(&aws.bucket) {
        Some(b) if b.provider == Provider::Aws => Ok(aws),
        _ => Err(bad(format!(
            "target.aws.bucket: bucket `{}` not found",
            aws.bucket
        ))),
    }
}

/// Records that the asset `files` are written to the request's target bucket, if it has one,
/// from the simulated instant `at` (when the asset settles; nothing when it fails).
pub(crate) fn record_target(
    st: &state::State,
    target: Option<&types::DataAssetTarget>,
    files: &AssetFiles,
    at: f64,
    fails: bool,
) {
    let Some(aws) = target.and_then(|t| t.aws.as_ref()) else {
        return;
    };
    record_write(st, &aws.bucket, aws.prefix.as_deref(), files, at, fails);
}

/// Records files written to the catalogue's bucket `bucket` under `prefix` (nothing when there
/// is no such bucket).
pub(crate) fn record_write(
    st: &state::State,
    bucket: &str,
    prefix: Option<&str>,
    files: &AssetFiles,
    at: f64,
    fails: bool,
) {
    if let Some(b) = st.buckets.lock().unwrap().get_mut(bucket) {
        b.writes.push(Write {
            prefix: normalize(prefix.unwrap_or("")).to_owned(),
            files: files.clone(),
            at,
            fails,
        });
    }
}

fn from_source(
    st: &state::State,
    source: &types::DataAssetSource,
    results_info: Option<&types::ResultsInfo>,
) -> ApiResult<Made> {
    let given: Vec<&str> = [
        ("aws", source.aws.is_some()),
        ("gcp", source.gcp.is_some()),
        ("computation", source.computation.is_some()),
        ("cloud_workstation", source.cloud_workstation.is_some()),
    ]
    .into_iter()
    .filter_map(|(name, set)| set.then_some(name))
    .collect();
    if given.len() != 1 {
        return Err(bad(format!(
            "source: exactly one of aws, gcp, computation or cloud_workstation is needed (got {})",
            if given.is_empty() {
                "none".to_owned()
            } else {
                given.join(", ")
            }
        )));
    }
    if results_info.is_some() && source.aws.is_none() && source.gcp.is_none() {
        return Err(bad(
            "results_info: only for a data asset made from source.aws or source.gcp",
        ));
    }
    if let Some(aws) = &source.aws {
        return from_bucket(st, &Bucket::Aws(aws), results_info);
    }
    if let Some(gcp) = &source.gcp {
        return from_bucket(st, &Bucket::Gcp(gcp), results_info);
    }
    if let Some(comp) = &source.computation {
        return from_computation(st, comp);
    }
    let ws = source
        .cloud_workstation
        .as_ref()
        .expect("exactly one source is set");
    from_workstation(st, ws)
}

/// A bucket source of either provider.
enum Bucket<'a> {
    Aws(&'a types::AwsS3Source),
    Gcp(&'a types::GcpCloudStorageSource),
}

fn from_bucket(
    st: &state::State,
    source: &Bucket<'_>,
    results_info: Option<&types::ResultsInfo>,
) -> ApiResult<Made> {
    let (field, provider, name, prefix) = match source {
        Bucket::Aws(a) => ("source.aws", Provider::Aws, &a.bucket, &a.prefix),
        Bucket::Gcp(g) => ("source.gcp", Provider::Gcp, &g.bucket, &g.prefix),
    };
    if name.trim().is_empty() {
        return Err(bad(format!("{field}.bucket: must not be empty")));
    }
    let (public, objects) = {
        let buckets = st.buckets.lock().unwrap();
        match buckets.get(name.as_str()) {
            Some(b) if b.provider == provider => (b.public, b.objects.clone()),
            Some(b) => {
                return Err(bad(format!(
                    "{field}.bucket: bucket `{name}` not found (it is a {} bucket)",
                    b.provider.as_str()
                )));
            }
            None => return Err(bad(format!("{field}.bucket: bucket `{name}` not found"))),
        }
    };
    let external = match source {
        Bucket::Aws(a) => {
            if a.use_input_bucket == Some(true) {
                return Err(bad(
                    "source.aws.use_input_bucket: only administrators may create data assets \
                     from the input bucket",
                ));
            }
            if a.endpoint_name
                .as_ref()
                .is_some_and(|e| e.trim().is_empty())
            {
                return Err(bad("source.aws.endpoint_name: must not be empty"));
            }
            if a.public == Some(true) && !public {
                return Err(bad(format!(
                    "source.aws.public: bucket `{name}` is not public (send credentials-based \
                     access, without public)"
                )));
            }
            a.keep_on_external_storage == Some(true)
        }
        Bucket::Gcp(g) => {
            if !public {
                for (f, v) in [
                    ("client_id", &g.client_id),
                    ("client_secret", &g.client_secret),
                ] {
                    if v.as_ref().is_none_or(|v| v.trim().is_empty()) {
                        return Err(bad(format!(
                            "source.gcp.{f}: bucket `{name}` is not public: client_id and \
                             client_secret are required"
                        )));
                    }
                }
            }
            false
        }
    };
    let folder = normalize(prefix.as_deref().unwrap_or(""));
    let files = objects.at(folder).ok_or_else(|| {
        if objects.is_file(folder) {
            bad(format!(
                "{field}.prefix: `{folder}` is an object of bucket `{name}`, not a folder"
            ))
        } else {
            bad(format!(
                "{field}.prefix: no object under `{folder}` in bucket `{name}`"
            ))
        }
    })?;
    if files.totals().0 == 0 {
        return Err(bad(if folder.is_empty() {
            format!("{field}.bucket: bucket `{name}` holds no objects")
        } else {
            format!("{field}.prefix: no object under `{folder}` in bucket `{name}`")
        }));
    }
    let source_bucket = types::SourceBucket {
        origin: Some(match provider {
            Provider::Aws => DataAssetOrigin::Aws,
            Provider::Gcp => DataAssetOrigin::Gcp,
        }),
        bucket: Some(name.clone()),
        prefix: prefix.clone(),
        external: Some(external),
    };
    let mut made = Made {
        type_: DataAssetType::Dataset,
        files,
        fails: None,
        provenance: None,
        source_bucket,
        contained: vec![],
        nextflow_profile: None,
        app_parameters: vec![],
    };
    if let Some(info) = results_info {
        imported_results(st, info, &mut made)?;
    }
    Ok(made)
}

/// `results_info`: the asset is a result of the capsule or pipeline it names.
fn imported_results(
    st: &state::State,
    info: &types::ResultsInfo,
    made: &mut Made,
) -> ApiResult<()> {
    let (field, id, pipeline) = match (&info.capsule_id, &info.pipeline_id) {
        (Some(c), None) => ("capsule_id", c, false),
        (None, Some(p)) => ("pipeline_id", p, true),
        _ => {
            return Err(bad(
                "results_info: exactly one of capsule_id or pipeline_id is needed",
            ));
        }
    };
    let versions = {
        let items = st.items.lock().unwrap();
        match items.get(id.as_str()) {
            Some(item) if item.is_pipeline == pipeline => item.versions(&st.clock).len(),
            _ => {
                return Err(bad(format!(
                    "results_info.{field}: {} {id} not found",
                    if pipeline { "pipeline" } else { "capsule" }
                )));
            }
        }
    };
    if let Some(v) = info.version
        && (v < 1 || v as usize > versions)
    {
        return Err(bad(format!(
            "results_info.version: {id} has no released version {v} ({versions} released)"
        )));
    }
    made.type_ = DataAssetType::Result;
    made.provenance = Some(types::Provenance {
        capsule: Some(id.clone()),
        commit: info.commit.clone(),
        computation: None,
        data_assets: info.data_assets.clone().unwrap_or_default(),
        docker_image: None,
        run_script: info.run_script.clone(),
    });
    made.nextflow_profile = info.nextflow_profile.clone();
    made.app_parameters = info
        .parameters
        .iter()
        .flatten()
        .map(|p| types::AppParameter {
            name: p.param_name.clone().or_else(|| p.name.clone()),
            value: p.value.clone(),
        })
        .collect();
    Ok(())
}

fn from_computation(st: &state::State, comp: &types::ComputationSource) -> ApiResult<Made> {
    let now = st.clock.now();
    let runs = st.runs.lock().unwrap();
    let run = runs.get(&comp.id).ok_or_else(|| {
        bad(format!(
            "source.computation.id: computation {} not found",
            comp.id
        ))
    })?;
    if run.workstation {
        return Err(bad(format!(
            "source.computation.id: {} is a cloud workstation session (use \
             source.cloud_workstation)",
            comp.id
        )));
    }
    if run.phase(now) != Phase::Ended {
        return Err(bad(format!(
            "source.computation.id: computation {} has not finished",
            comp.id
        )));
    }
    let path = normalize(comp.path.as_deref().unwrap_or(""));
    let files = AssetFiles::tree(run.flat.clone(), run.runnable.run.seed)
        .at(path)
        .ok_or_else(|| {
            bad(format!(
                "source.computation.path: `{path}` is not a folder of the results of \
                 computation {}",
                run.id
            ))
        })?;
    let fails = if run.end_status() != "succeeded" {
        Some(format!("source computation {} did not succeed", run.id))
    } else if !run.has_results(now) {
        Some(format!("source computation {} has no results", run.id))
    } else {
        None
    };
    let provenance = types::Provenance {
        capsule: Some(run.runnable.id.clone()),
        commit: Some(format!("{:040x}", run.runnable.run.seed)),
        computation: Some(run.id.clone()),
        data_assets: run
            .request
            .data_assets
            .iter()
            .flatten()
            .map(|d| d.id.clone())
            .collect(),
        docker_image: Some(format!(
            "registry.codeocean.example/capsule/{}",
            run.runnable.id
        )),
        run_script: Some(
            if run.is_pipeline {
                "main.nf"
            } else {
                "code/run"
            }
            .into(),
        ),
    };
    Ok(Made {
        type_: DataAssetType::Result,
        files,
        fails,
        provenance: Some(provenance),
        source_bucket: local(),
        contained: vec![],
        nextflow_profile: None,
        app_parameters: vec![],
    })
}

/// The folder of a cloud workstation session (see the module docs).
fn workstation_folder(run: &state::Run) -> AssetFiles {
    let file = |name: &str, size: u64| Node::File {
        name: name.into(),
        size,
    };
    let seed = crate::content::file_seed(run.runnable.run.seed, &run.id);
    let tree = |entries: Vec<Node>| {
        let flat = Tree {
            entries,
            generate: None,
        }
        .flatten()
        .expect("fixed names are valid");
        AssetFiles::tree(Arc::new(flat), seed)
    };
    AssetFiles::Combined(Arc::from(vec![
        (
            "code".to_owned(),
            tree(vec![
                file("run", 256),
                file("main.py", 2_048),
                file("README.md", 640),
            ]),
        ),
        (
            "results".to_owned(),
            AssetFiles::tree(run.flat.clone(), run.runnable.run.seed),
        ),
        (
            "scratch".to_owned(),
            tree(vec![file("notes.txt", 512), file("data.bin", 70_000)]),
        ),
    ]))
}

fn from_workstation(st: &state::State, ws: &types::CloudWorkstationSource) -> ApiResult<Made> {
    let now = st.clock.now();
    let runs = st.runs.lock().unwrap();
    let run = runs.get(&ws.id).ok_or_else(|| {
        bad(format!(
            "source.cloud_workstation.id: session {} not found",
            ws.id
        ))
    })?;
    if !run.workstation {
        return Err(bad(format!(
            "source.cloud_workstation.id: computation {} is not a cloud workstation session",
            ws.id
        )));
    }
    if run.phase(now) == Phase::Ended {
        return Err(bad(format!(
            "source.cloud_workstation.id: session {} has ended",
            ws.id
        )));
    }
    // Relative to the capsule folder; `/root/capsule/...` and `/...` mean the same.
    let path = normalize(&ws.path);
    let path = normalize(path.strip_prefix("root/capsule").unwrap_or(path));
    let folder = workstation_folder(run);
    let files = folder.at(path).ok_or_else(|| {
        bad(format!(
            "source.cloud_workstation.path: `{path}` is not a folder of session {}",
            ws.id
        ))
    })?;
    let (type_, provenance) = match &ws.run_script {
        Some(script) => (
            DataAssetType::Result,
            Some(types::Provenance {
                capsule: Some(run.runnable.id.clone()),
                computation: Some(run.id.clone()),
                run_script: Some(script.clone()),
                ..Default::default()
            }),
        ),
        None => (DataAssetType::Dataset, None),
    };
    Ok(Made {
        type_,
        files,
        fails: None,
        provenance,
        source_bucket: local(),
        contained: vec![],
        nextflow_profile: None,
        app_parameters: vec![],
    })
}

fn combined(st: &state::State, ids: &[String]) -> ApiResult<Made> {
    if ids.is_empty() {
        return Err(bad("data_asset_ids: at least one data asset is needed"));
    }
    let now = st.clock.now();
    let assets = st.assets.lock().unwrap();
    let mut parts: Vec<(String, AssetFiles)> = Vec::with_capacity(ids.len());
    let mut contained = Vec::with_capacity(ids.len());
    for (i, id) in ids.iter().enumerate() {
        let field = format!("data_asset_ids[{i}]");
        if ids[..i].contains(id) {
            return Err(bad(format!("{field}: data asset {id} is listed twice")));
        }
        let a = assets
            .get(id)
            .ok_or_else(|| bad(format!("{field}: data asset {id} not found")))?;
        let state = a.state(now);
        if state != DataAssetState::Ready {
            return Err(bad(format!(
                "{field}: data asset {id} is not ready (state {state})"
            )));
        }
        let files = match &a.files {
            Some(f) if !a.transferred(now) => f.clone(),
            _ => {
                return Err(bad(format!(
                    "{field}: data asset {id} has no files in Code Ocean"
                )));
            }
        };
        let mount = a.wire.mount.clone().unwrap_or_default();
        if mount.is_empty() || mount == "." || mount == ".." || mount.contains('/') {
            return Err(bad(format!(
                "{field}: the mount `{mount}` of data asset {id} is not a folder name"
            )));
        }
        if let Some(j) = parts.iter().position(|(m, _)| *m == mount) {
            return Err(bad(format!(
                "{field}: data asset {id} has the mount `{mount}` of data asset {} (each part \
                 needs a folder of its own)",
                ids[j]
            )));
        }
        contained.push(types::ContainedDataAsset {
            id: Some(id.clone()),
            mount: Some(mount.clone()),
            size: Some(files.totals().1 as i64),
        });
        parts.push((mount, files));
    }
    Ok(Made {
        type_: DataAssetType::Combined,
        files: AssetFiles::Combined(Arc::from(parts)),
        fails: None,
        provenance: None,
        source_bucket: local(),
        contained,
        nextflow_profile: None,
        app_parameters: vec![],
    })
}
