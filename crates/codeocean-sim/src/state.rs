//! The simulator's state: catalogue, clock, runs, data assets, signing key and request log.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use codeocean_raw::open::{
    CapsuleStatus, ComputationEndStatus, ComputationState, DataAssetOrigin, DataAssetState,
    DataAssetType, EveryoneRole, Timestamp, UserRole,
};
use codeocean_raw::types;
use hmac::{Hmac, KeyInit, Mac};
use serde::Serialize;
use sha2::Sha256;

use crate::catalogue::{Catalogue, Entry, Flat, Provider, Runnable};
use crate::content::SplitMix;
use crate::faults::{FaultPlan, Faults, RouteClass};
use crate::{ApiGeneration, Config};

/// The owner id every object of the simulator belongs to.
pub(crate) const OWNER: &str = "0a1b2c3d-0000-4000-8000-00000000c0de";
/// The owner's e-mail address.
pub(crate) const OWNER_EMAIL: &str = "scientist@example.org";
/// Requests kept in the log (older ones are dropped; counts keep growing).
const LOG_CAPACITY: usize = 100_000;

/// One request as the simulator received it.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct RecordedRequest {
    /// `api` or `storage`.
    pub origin: &'static str,
    /// The HTTP method.
    pub method: String,
    /// The path, without the query.
    pub path: String,
    /// The operation id of the spec (or `storage_get`, or `unknown`).
    pub operation: &'static str,
    /// Whether it carried an `Authorization` header.
    pub authorization: bool,
    /// The status it was answered with.
    pub status: u16,
    /// The HTTP version it came in: `HTTP/1.1` (or `HTTP/1.0`), or `HTTP/2.0` (over TLS, when
    /// the client offered `h2`).
    pub http_version: String,
    /// When it arrived: Unix time in seconds on the real clock (not the simulated one), so a
    /// client in another process can line its own timestamps up with it.
    pub at: f64,
}

/// Counts and the recent request log.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Stats {
    /// Requests per operation id.
    pub counts: BTreeMap<&'static str, u64>,
    /// Requests answered per status code.
    pub statuses: BTreeMap<u16, u64>,
    /// Requests to the storage origin that carried `Authorization`.
    pub storage_requests_with_authorization: u64,
    /// Bytes of file content sent by the storage origin (before injected faults cut them).
    pub storage_bytes: u64,
    /// TCP connections the API origin accepted (`/__sim` admin requests' and, over TLS, those
    /// whose handshake failed included).
    pub api_connections: u64,
    /// TCP connections the storage origin accepted (over TLS, handshakes that failed included).
    pub storage_connections: u64,
    /// Requests recorded (to either origin; `/__sim` admin routes are not) that came over HTTP/2.
    pub http2_requests: u64,
    /// TLS handshakes that failed or timed out (an untrusted certificate, plain HTTP to HTTPS);
    /// each ends only its own connection.
    pub tls_handshake_failures: u64,
}

pub(crate) struct Clock {
    start: Instant,
    epoch_at_start: f64,
    scale: f64,
    advanced_nanos: AtomicU64,
}

impl Clock {
    fn new(scale: f64) -> Self {
        Self {
            start: Instant::now(),
            epoch_at_start: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0.0, |d| d.as_secs_f64()),
            scale,
            advanced_nanos: AtomicU64::new(0),
        }
    }

    /// Simulated seconds since the simulator started.
    pub(crate) fn now(&self) -> f64 {
        self.start.elapsed().as_secs_f64() * self.scale
            + self.advanced_nanos.load(Ordering::Relaxed) as f64 / 1e9
    }

    pub(crate) fn advance(&self, by: Duration) {
        self.advanced_nanos.fetch_add(
            by.as_nanos().min(u64::MAX as u128) as u64,
            Ordering::Relaxed,
        );
    }

    /// Unix time in seconds (real clock, fractional) at which the simulated instant `sim` comes
    /// or came, at the clock's rate; exact as long as nobody advances the clock in between.
    pub(crate) fn real_unix(&self, sim: f64) -> f64 {
        unix_now_f64() + (sim - self.now()) / self.scale
    }

    /// Unix seconds of a simulated instant.
    pub(crate) fn epoch(&self, sim: f64) -> Timestamp {
        Timestamp::from_secs((self.epoch_at_start + sim) as i64)
    }
}

pub(crate) struct Run {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) runnable: Arc<Runnable>,
    pub(crate) is_pipeline: bool,
    pub(crate) flat: Arc<Flat>,
    pub(crate) created: f64,
    pub(crate) stopped_at: Option<f64>,
    pub(crate) request: types::RunRequest,
    /// A cloud workstation session: it runs until stopped, and data assets can be attached to
    /// and detached from it.
    pub(crate) workstation: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Phase {
    Initializing,
    Running,
    Finalizing,
    Ended,
}

impl Run {
    pub(crate) fn phase(&self, now: f64) -> Phase {
        if self.stopped_at.is_some() {
            return Phase::Ended;
        }
        let p = &self.runnable.run;
        let t = now - self.created;
        if self.workstation {
            return if t < p.initializing {
                Phase::Initializing
            } else {
                Phase::Running
            };
        }
        if t < p.initializing {
            Phase::Initializing
        } else if t < p.initializing + p.running {
            Phase::Running
        } else if t < p.initializing + p.running + p.finalizing {
            Phase::Finalizing
        } else {
            Phase::Ended
        }
    }

    /// The simulated instant at which the run ends (or ended, or was stopped); a cloud
    /// workstation session runs until stopped (infinity).
    pub(crate) fn ends(&self) -> f64 {
        let p = &self.runnable.run;
        self.stopped_at.unwrap_or(if self.workstation {
            f64::INFINITY
        } else {
            self.created + p.initializing + p.running + p.finalizing
        })
    }

    pub(crate) fn end_status(&self) -> &str {
        if self.stopped_at.is_some() {
            "stopped"
        } else {
            &self.runnable.run.end_status
        }
    }

    /// Results exist once the run has ended, if its plan has any.
    pub(crate) fn has_results(&self, now: f64) -> bool {
        self.phase(now) == Phase::Ended && self.runnable.run.has_results && !self.workstation
    }

    pub(crate) fn to_wire(&self, clock: &Clock) -> types::Computation {
        let now = clock.now();
        let phase = self.phase(now);
        let plan = &self.runnable.run;
        let end = self.ends();
        let run_time = whole_seconds(now.min(end) - self.created);
        let ended = phase == Phase::Ended;
        let state = match phase {
            Phase::Initializing => ComputationState::Initializing,
            Phase::Running => ComputationState::Running,
            Phase::Finalizing => ComputationState::Finalizing,
            Phase::Ended if self.stopped_at.is_none() && plan.final_state == "failed" => {
                ComputationState::Failed
            }
            Phase::Ended => ComputationState::Completed,
        };
        let r = &self.request;
        let mut parameters: Vec<types::ComputationParameter> = r
            .parameters
            .iter()
            .flatten()
            .enumerate()
            .map(|(i, v)| types::ComputationParameter {
                name: self
                    .runnable
                    .parameters
                    .as_ref()
                    .and_then(|p| p.get(i).cloned()),
                param_name: None,
                value: Some(v.clone()),
            })
            .collect();
        parameters.extend(r.named_parameters.iter().flatten().map(|p| {
            types::ComputationParameter {
                name: Some(p.param_name.clone()),
                param_name: Some(p.param_name.clone()),
                value: Some(p.value.clone()),
            }
        }));
        let processes = r
            .processes
            .iter()
            .flatten()
            .map(|p| types::PipelineProcess {
                capsule_id: Some(format!("{}-{}", self.runnable.id, p.name)),
                name: Some(p.name.clone()),
                parameters: p
                    .parameters
                    .iter()
                    .flatten()
                    .map(|v| types::ComputationParameter {
                        value: Some(v.clone()),
                        ..Default::default()
                    })
                    .chain(p.named_parameters.iter().flatten().map(|n| {
                        types::ComputationParameter {
                            name: Some(n.param_name.clone()),
                            param_name: Some(n.param_name.clone()),
                            value: Some(n.value.clone()),
                        }
                    }))
                    .collect(),
                public: Some(false),
                version: None,
            })
            .collect();
        types::Computation {
            cloud_workstation: Some(self.workstation),
            created: Some(clock.epoch(self.created)),
            data_assets: r
                .data_assets
                .iter()
                .flatten()
                .map(|d| types::ComputationDataAsset {
                    id: d.id.clone(),
                    mount: d.mount.clone(),
                })
                .collect(),
            end_status: ended.then(|| ComputationEndStatus::from(self.end_status())),
            exit_code: ended.then(|| {
                if self.stopped_at.is_some() {
                    137
                } else {
                    plan.exit_code
                }
            }),
            has_results: Some(self.has_results(now)),
            id: self.id.clone(),
            name: Some(self.name.clone()),
            nextflow_profile: r.nextflow_profile.clone(),
            owner: Some(OWNER.into()),
            owner_email: Some(OWNER_EMAIL.into()),
            parameters,
            processes,
            result_size: (ended && plan.has_results).then(|| self.flat.totals().1 as f64),
            run_time: Some(run_time),
            state: Some(state),
        }
    }
}

/// The files of a data asset (or of a bucket, or of a cloud workstation session's folder): a
/// folder of a shared flattened tree, or folders named by mount each holding files of their own
/// (a combined asset). Nothing is copied: a folder of a tree is its path in the shared tree, and
/// a file's bytes are those of its path in that tree under its seed (a computation's results or
/// a bucket's objects keep their bytes when they become an asset).
#[derive(Clone)]
pub(crate) enum AssetFiles {
    /// The folder `root` (`""`: the whole tree) of `flat`, contents seeded by `seed` and a
    /// file's path in `flat`.
    Tree {
        flat: Arc<Flat>,
        root: String,
        seed: u64,
    },
    /// A folder per part, named by its mount (one path segment each, distinct), in order.
    Combined(Arc<[(String, AssetFiles)]>),
}

/// `parent/name`, or `name` at the root.
fn join(parent: &str, name: &str) -> String {
    if parent.is_empty() {
        name.to_owned()
    } else if name.is_empty() {
        parent.to_owned()
    } else {
        format!("{parent}/{name}")
    }
}

impl AssetFiles {
    /// A whole tree.
    pub(crate) fn tree(flat: Arc<Flat>, seed: u64) -> Self {
        AssetFiles::Tree {
            flat,
            root: String::new(),
            seed,
        }
    }

    /// The folder at `path` (relative to these files, `""` for all of them) as files of their
    /// own, or `None` when it is not a folder.
    pub(crate) fn at(&self, path: &str) -> Option<AssetFiles> {
        if path.is_empty() {
            return Some(self.clone());
        }
        match self {
            AssetFiles::Tree { flat, root, seed } => {
                let full = join(root, path);
                match flat.entries.get(&full) {
                    Some(Entry::Folder(_)) => Some(AssetFiles::Tree {
                        flat: flat.clone(),
                        root: full,
                        seed: *seed,
                    }),
                    _ => None,
                }
            }
            AssetFiles::Combined(parts) => {
                let (first, rest) = path.split_once('/').unwrap_or((path, ""));
                let (_, part) = parts.iter().find(|(m, _)| m == first)?;
                part.at(rest)
            }
        }
    }

    /// Whether `path` is a file of these.
    pub(crate) fn is_file(&self, path: &str) -> bool {
        self.file(path).is_some()
    }

    /// The file at `path`: (content seed, size), or `None` when it is not a file.
    pub(crate) fn file(&self, path: &str) -> Option<(u64, u64)> {
        match self {
            AssetFiles::Tree { flat, root, seed } => {
                let full = join(root, path);
                match flat.entries.get(&full) {
                    Some(Entry::File(size)) if !path.is_empty() => {
                        Some((crate::content::file_seed(*seed, &full), *size))
                    }
                    _ => None,
                }
            }
            AssetFiles::Combined(parts) => {
                let (first, rest) = path.split_once('/')?;
                let (_, part) = parts.iter().find(|(m, _)| m == first)?;
                part.file(rest)
            }
        }
    }

    /// The entries directly inside the folder at `path`: (path relative to these files, the
    /// size of a file or `None` for a folder), in listing order; `None` when it is not a folder.
    pub(crate) fn folder(&self, path: &str) -> Option<Vec<(String, Option<u64>)>> {
        match self {
            AssetFiles::Tree { flat, root, .. } => {
                let full = join(root, path);
                let Some(Entry::Folder(children)) = flat.entries.get(&full) else {
                    return None;
                };
                let strip = if root.is_empty() { 0 } else { root.len() + 1 };
                Some(
                    children
                        .iter()
                        .map(|c| {
                            let size = match &flat.entries[c] {
                                Entry::File(size) => Some(*size),
                                Entry::Folder(_) => None,
                            };
                            (c[strip..].to_owned(), size)
                        })
                        .collect(),
                )
            }
            AssetFiles::Combined(parts) => {
                if path.is_empty() {
                    return Some(parts.iter().map(|(m, _)| (m.clone(), None)).collect());
                }
                let (first, rest) = path.split_once('/').unwrap_or((path, ""));
                let (mount, part) = parts.iter().find(|(m, _)| m == first)?;
                let items = part.folder(rest)?;
                Some(
                    items
                        .into_iter()
                        .map(|(p, size)| (join(mount, &p), size))
                        .collect(),
                )
            }
        }
    }

    /// Number of files and their total size.
    pub(crate) fn totals(&self) -> (u64, u64) {
        let mut out = (0, 0);
        self.each_file(&mut |_, size| {
            out.0 += 1;
            out.1 += size;
        });
        out
    }

    /// Calls `f` with each file's path (relative to these files) and size, in key order for
    /// a tree.
    pub(crate) fn each_file(&self, f: &mut dyn FnMut(&str, u64)) {
        match self {
            AssetFiles::Tree { flat, root, .. } => {
                let prefix = if root.is_empty() {
                    String::new()
                } else {
                    format!("{root}/")
                };
                for (k, e) in flat
                    .entries
                    .range(prefix.clone()..)
                    .take_while(|(k, _)| k.starts_with(&prefix))
                {
                    if let Entry::File(size) = e {
                        f(&k[prefix.len()..], *size);
                    }
                }
            }
            AssetFiles::Combined(parts) => {
                for (mount, part) in parts.iter() {
                    part.each_file(&mut |p, s| f(&join(mount, p), s));
                }
            }
        }
    }
}

/// A bucket of the catalogue, with what assets wrote to it.
pub(crate) struct BucketState {
    pub(crate) provider: Provider,
    pub(crate) public: bool,
    /// Its objects from the catalogue.
    pub(crate) objects: AssetFiles,
    /// What assets (`target.aws`) and transfers wrote to it, oldest first.
    pub(crate) writes: Vec<Write>,
}

/// Files written to a bucket under `prefix` (a folder path, `""` for the root), visible from
/// the simulated instant `at` unless the asset writing them failed.
pub(crate) struct Write {
    pub(crate) prefix: String,
    pub(crate) files: AssetFiles,
    pub(crate) at: f64,
    pub(crate) fails: bool,
}

impl BucketState {
    /// Every object at `now` (the catalogue's, then those written so far; a later write of the
    /// same key wins): key → size.
    pub(crate) fn objects(&self, now: f64) -> BTreeMap<String, u64> {
        let mut out = BTreeMap::new();
        self.objects.each_file(&mut |p, s| {
            out.insert(p.to_owned(), s);
        });
        for w in self.writes.iter().filter(|w| now >= w.at && !w.fails) {
            w.files.each_file(&mut |p, s| {
                out.insert(join(&w.prefix, p), s);
            });
        }
        out
    }
}

/// A transfer of an asset's files to another bucket, done at `done_at` (simulated).
#[derive(Clone)]
pub(crate) struct Transfer {
    pub(crate) done_at: f64,
    pub(crate) bucket: String,
    pub(crate) prefix: Option<String>,
}

pub(crate) struct Asset {
    pub(crate) wire: types::DataAsset,
    pub(crate) created: f64,
    /// Simulated instant at which a draft asset settles, and whether it then fails.
    pub(crate) settles_at: f64,
    pub(crate) fails: Option<String>,
    pub(crate) archived: bool,
    pub(crate) permissions: types::Permissions,
    pub(crate) files: Option<AssetFiles>,
    pub(crate) transfer: Option<Transfer>,
}

impl Asset {
    /// A new asset with default permissions, not archived, never transferred.
    pub(crate) fn new(
        wire: types::DataAsset,
        created: f64,
        settles_at: f64,
        fails: Option<String>,
        files: Option<AssetFiles>,
    ) -> Self {
        Self {
            wire,
            created,
            settles_at,
            fails,
            archived: false,
            permissions: owner_permissions(),
            files,
            transfer: None,
        }
    }

    pub(crate) fn state(&self, now: f64) -> DataAssetState {
        if now < self.settles_at {
            DataAssetState::Draft
        } else if self.fails.is_some() {
            DataAssetState::Failed
        } else {
            DataAssetState::Ready
        }
    }

    /// Whether a transfer of its files to another bucket has completed (its files are no longer
    /// served through Code Ocean).
    pub(crate) fn transferred(&self, now: f64) -> bool {
        self.transfer.as_ref().is_some_and(|t| now >= t.done_at)
    }

    /// Whether its files live outside Code Ocean: a transfer has completed, or it was made from
    /// a bucket and kept there (`keep_on_external_storage`) or written to a target bucket.
    pub(crate) fn is_external(&self, now: f64) -> bool {
        self.transferred(now)
            || self
                .wire
                .source_bucket
                .as_ref()
                .is_some_and(|b| b.external == Some(true))
    }

    pub(crate) fn to_wire(&self, clock: &Clock) -> types::DataAsset {
        let mut w = self.wire.clone();
        let now = clock.now();
        w.created = Some(clock.epoch(self.created));
        w.last_used = Some(Timestamp::from_secs(0));
        w.state = Some(self.state(now));
        if let (DataAssetState::Failed, Some(reason)) = (self.state(now), &self.fails) {
            w.failure_reason = Some(reason.clone());
        }
        if let Some(t) = &self.transfer
            && now >= t.done_at
        {
            w.last_transferred = Some(clock.epoch(t.done_at));
            w.source_bucket = Some(types::SourceBucket {
                origin: Some(DataAssetOrigin::Aws),
                bucket: Some(t.bucket.clone()),
                prefix: t.prefix.clone(),
                external: Some(true),
            });
        }
        w
    }
}

/// A release of a new version of a capsule or pipeline, moving on the simulated clock.
#[derive(Clone)]
pub(crate) struct ReleaseJob {
    pub(crate) id: String,
    pub(crate) created: f64,
    pub(crate) major: i64,
}

/// Simulated seconds a release job stays `created`, then `started`.
pub(crate) const RELEASE_STARTS_AFTER: f64 = 1.0;
/// Simulated seconds from its creation until a release job is `completed`.
pub(crate) const RELEASE_TAKES: f64 = 6.0;

impl ReleaseJob {
    pub(crate) fn done_at(&self) -> f64 {
        self.created + RELEASE_TAKES
    }
}

/// A capsule or pipeline and what changed about it since the simulator started.
pub(crate) struct Item {
    pub(crate) runnable: Arc<Runnable>,
    pub(crate) flat: Arc<Flat>,
    pub(crate) is_pipeline: bool,
    pub(crate) created: f64,
    pub(crate) last_accessed: f64,
    pub(crate) archived: bool,
    pub(crate) permissions: types::Permissions,
    /// Attached data assets (id, mount), in attach order.
    pub(crate) attached: Vec<(String, String)>,
    pub(crate) releases: Vec<ReleaseJob>,
    /// How many times it was synced with its Git remote.
    pub(crate) syncs: u32,
}

impl Item {
    /// Its released versions at `now`: those of the catalogue, then completed releases.
    pub(crate) fn versions(&self, clock: &Clock) -> Vec<types::CapsuleVersion> {
        let now = clock.now();
        let month_ago = -30.0 * 86_400.0;
        (1..=self.runnable.versions)
            .map(|v| types::CapsuleVersion {
                major_version: Some(i64::from(v)),
                minor_version: Some(0),
                release_time: Some(clock.epoch(month_ago + f64::from(v) * 86_400.0)),
            })
            .chain(
                self.releases
                    .iter()
                    .filter(|j| now >= j.done_at())
                    .map(|j| types::CapsuleVersion {
                        major_version: Some(j.major),
                        minor_version: Some(0),
                        release_time: Some(clock.epoch(j.done_at())),
                    }),
            )
            .collect()
    }

    pub(crate) fn status(&self, clock: &Clock) -> CapsuleStatus {
        if self.versions(clock).is_empty() {
            CapsuleStatus::NonRelease
        } else {
            CapsuleStatus::Release
        }
    }
}

/// What a new object's permissions are: its owner, and nobody else.
pub(crate) fn owner_permissions() -> types::Permissions {
    types::Permissions {
        users: Some(vec![types::UserPermissions {
            email: OWNER_EMAIL.into(),
            role: UserRole::Owner,
        }]),
        groups: Some(vec![]),
        everyone: Some(EveryoneRole::None),
        share_assets: None,
    }
}

pub(crate) struct Dynamic {
    pub(crate) api: ApiGeneration,
    pub(crate) faults: Faults,
    pub(crate) url_ttl: Duration,
}

#[derive(Default)]
struct Log {
    requests: VecDeque<RecordedRequest>,
    stats: Stats,
}

pub(crate) struct State {
    pub(crate) token: String,
    /// Capsules and pipelines by id (a deleted one is removed).
    pub(crate) items: Mutex<HashMap<String, Item>>,
    pub(crate) clock: Clock,
    pub(crate) runs: Mutex<HashMap<String, Run>>,
    pub(crate) assets: Mutex<HashMap<String, Asset>>,
    /// The catalogue's buckets by name.
    pub(crate) buckets: Mutex<BTreeMap<String, BucketState>>,
    pub(crate) dynamic: RwLock<Dynamic>,
    pub(crate) asset_delay: f64,
    pub(crate) storage_origin: RwLock<String>,
    seed: u64,
    seq: AtomicU64,
    ids: AtomicU64,
    /// Data assets made by `add_bulk_assets` so far (their names count on).
    pub(crate) bulk: AtomicU64,
    key: [u8; 32],
    log: Mutex<Log>,
}

impl State {
    pub(crate) fn new(config: &Config, catalogue: Catalogue) -> Result<Self, String> {
        catalogue.validate()?;
        let mut items = HashMap::new();
        let runnables = catalogue
            .capsules
            .iter()
            .map(|r| (r, false))
            .chain(catalogue.pipelines.iter().map(|r| (r, true)));
        for (i, (r, is_pipeline)) in runnables.enumerate() {
            // Made a month ago, an hour apart, in catalogue order.
            let created = -30.0 * 86_400.0 + i as f64 * 3_600.0;
            items.insert(
                r.id.clone(),
                Item {
                    runnable: Arc::new(r.clone()),
                    flat: Arc::new(r.run.results.flatten()?),
                    is_pipeline,
                    created,
                    last_accessed: created,
                    archived: false,
                    permissions: owner_permissions(),
                    attached: vec![],
                    releases: vec![],
                    syncs: 0,
                },
            );
        }
        let clock = Clock::new(config.time_scale);
        let mut assets = HashMap::new();
        for a in &catalogue.data_assets {
            let (files, size) = a.totals()?;
            let flat = a.tree.flatten()?;
            let wire = types::DataAsset {
                id: a.id.clone(),
                name: Some(a.name.clone()),
                mount: Some(a.mount.clone()),
                owner: Some(OWNER.into()),
                owner_email: Some(OWNER_EMAIL.into()),
                size: Some(size as i64),
                files: Some(files as i64),
                type_: Some(DataAssetType::Dataset),
                description: Some(String::new()),
                tags: vec!["input".into()],
                source_bucket: Some(types::SourceBucket {
                    origin: Some(DataAssetOrigin::Local),
                    ..Default::default()
                }),
                ..empty_asset()
            };
            let files = AssetFiles::tree(Arc::new(flat), crate::content::file_seed(0, &a.id));
            let asset = Asset::new(wire, -7.0 * 86_400.0, 0.0, None, Some(files));
            assets.insert(a.id.clone(), asset);
        }
        let mut buckets = BTreeMap::new();
        for b in &catalogue.buckets {
            let objects = AssetFiles::tree(Arc::new(b.flatten()?), b.seed());
            buckets.insert(
                b.name.clone(),
                BucketState {
                    provider: b.provider,
                    public: b.public,
                    objects,
                    writes: vec![],
                },
            );
        }
        let mut key = [0u8; 32];
        let mut rng = SplitMix(
            config.seed
                ^ SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |d| d.as_nanos() as u64),
        );
        for chunk in key.chunks_mut(8) {
            chunk.copy_from_slice(&rng.next_u64().to_le_bytes());
        }
        Ok(Self {
            token: config.token.clone(),
            items: Mutex::new(items),
            clock,
            runs: Mutex::new(HashMap::new()),
            assets: Mutex::new(assets),
            buckets: Mutex::new(buckets),
            dynamic: RwLock::new(Dynamic {
                api: config.api,
                faults: config.faults.clone(),
                url_ttl: config.url_ttl,
            }),
            asset_delay: config.asset_ready_after.as_secs_f64(),
            storage_origin: RwLock::new(String::new()),
            seed: config.seed,
            seq: AtomicU64::new(0),
            ids: AtomicU64::new(0),
            bulk: AtomicU64::new(0),
            key,
            log: Mutex::new(Log::default()),
        })
    }

    /// A fresh UUID-shaped id, deterministic from the seed and the count of ids so far.
    pub(crate) fn new_id(&self) -> String {
        let n = self.ids.fetch_add(1, Ordering::Relaxed);
        let mut rng = SplitMix(self.seed.wrapping_mul(31).wrapping_add(n));
        let (a, b) = (rng.next_u64(), rng.next_u64());
        format!(
            "{:08x}-{:04x}-4{:03x}-{:x}{:03x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xfff,
            8 + (b >> 62),
            (b >> 48) & 0xfff,
            b & 0xffff_ffff_ffff
        )
    }

    /// The fault spec of a class (a clone sharing its tally and limiter).
    pub(crate) fn fault_spec(&self, class: RouteClass) -> crate::faults::FaultSpec {
        self.dynamic.read().unwrap().faults.get(class)
    }

    /// Draws the faults of the next request of a class.
    pub(crate) fn plan(&self, class: RouteClass) -> FaultPlan {
        let spec = self.dynamic.read().unwrap().faults.get(class);
        if spec.is_noop() {
            return FaultPlan::default();
        }
        let n = self.seq.fetch_add(1, Ordering::Relaxed);
        let mut rng = SplitMix(self.seed ^ n.wrapping_mul(0xd6e8_feb8_6659_fd93));
        spec.plan(&mut rng)
    }

    pub(crate) fn api(&self) -> ApiGeneration {
        self.dynamic.read().unwrap().api
    }

    pub(crate) fn record(&self, req: RecordedRequest) {
        let mut log = self.log.lock().unwrap();
        *log.stats.counts.entry(req.operation).or_default() += 1;
        *log.stats.statuses.entry(req.status).or_default() += 1;
        if req.origin == "storage" && req.authorization {
            log.stats.storage_requests_with_authorization += 1;
        }
        if req.http_version == "HTTP/2.0" {
            log.stats.http2_requests += 1;
        }
        if log.requests.len() == LOG_CAPACITY {
            log.requests.pop_front();
        }
        log.requests.push_back(req);
    }

    /// A connection accepted by an origin.
    pub(crate) fn count_connection(&self, origin: crate::layer::Origin) {
        let stats = &mut self.log.lock().unwrap().stats;
        match origin {
            crate::layer::Origin::Api => stats.api_connections += 1,
            crate::layer::Origin::Storage => stats.storage_connections += 1,
        }
    }

    /// A TLS handshake that failed or timed out.
    pub(crate) fn count_handshake_failure(&self) {
        self.log.lock().unwrap().stats.tls_handshake_failures += 1;
    }

    pub(crate) fn add_storage_bytes(&self, n: u64) {
        self.log.lock().unwrap().stats.storage_bytes += n;
    }

    pub(crate) fn stats(&self) -> Stats {
        self.log.lock().unwrap().stats.clone()
    }

    pub(crate) fn requests(&self) -> Vec<RecordedRequest> {
        self.log.lock().unwrap().requests.iter().cloned().collect()
    }

    pub(crate) fn clear_log(&self) {
        *self.log.lock().unwrap() = Log::default();
    }

    /// The signature of a storage object URL.
    pub(crate) fn sign(&self, key: &str, expires: u64) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("any key length");
        mac.update(key.as_bytes());
        mac.update(b"\n");
        mac.update(expires.to_string().as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// Checks a signature in constant time.
    pub(crate) fn verify(&self, key: &str, expires: u64, signature: &str) -> bool {
        let Ok(sig) = hex::decode(signature) else {
            return false;
        };
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("any key length");
        mac.update(key.as_bytes());
        mac.update(b"\n");
        mac.update(expires.to_string().as_bytes());
        mac.verify_slice(&sig).is_ok()
    }
}

/// A data asset with only its id set.
pub(crate) fn empty_asset() -> types::DataAsset {
    types::DataAsset {
        app_parameters: vec![],
        contained_data_assets: vec![],
        created: None,
        custom_metadata: None,
        description: None,
        failure_reason: None,
        files: None,
        id: String::new(),
        last_transferred: None,
        last_used: None,
        mount: None,
        name: None,
        nextflow_profile: None,
        owner: None,
        owner_email: None,
        provenance: None,
        size: None,
        source_bucket: None,
        state: None,
        tags: vec![],
        transfer_error: None,
        type_: None,
    }
}

/// Unix seconds now (real time: signed URLs expire in real time, whatever the clock scale).
pub(crate) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Unix time now in seconds, fractional (real time).
pub(crate) fn unix_now_f64() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// Whole seconds of a simulated span, rounded to the nanosecond first: the end of a run is
/// `created + durations`, and `(created + 14.0) - created` is `13.999999999999998` for about one
/// `created` in ten, which plain truncation would report as a run time of 13 s.
fn whole_seconds(span: f64) -> i64 {
    ((span * 1e9).round() / 1e9).max(0.0) as i64
}

#[cfg(test)]
mod run_time_tests {
    use super::whole_seconds;

    #[test]
    fn a_run_time_is_its_durations_whatever_the_start() {
        for i in 0..10_000 {
            let created = f64::from(i) * 0.000_73 + 0.1;
            assert_eq!(
                whole_seconds((created + 14.0) - created),
                14,
                "created {created}"
            );
        }
        assert_eq!(whole_seconds(13.6), 13);
        assert_eq!(whole_seconds(-0.5), 0);
    }
}
