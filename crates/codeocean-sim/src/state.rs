//! The simulator's state: catalogue, clock, runs, data assets, signing key and request log.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use codeocean_raw::open::{
    CapsuleStatus, ComputationEndStatus, ComputationState, DataAssetOrigin, DataAssetState,
    DataAssetType, Timestamp,
};
use codeocean_raw::types;
use hmac::{Hmac, KeyInit, Mac};
use serde::Serialize;
use sha2::Sha256;

use crate::catalogue::{Catalogue, Flat, Runnable};
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

    /// The simulated instant at which the run ends (or ended, or was stopped).
    pub(crate) fn ends(&self) -> f64 {
        let p = &self.runnable.run;
        self.stopped_at
            .unwrap_or(self.created + p.initializing + p.running + p.finalizing)
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
        self.phase(now) == Phase::Ended && self.runnable.run.has_results
    }

    pub(crate) fn to_wire(&self, clock: &Clock) -> types::Computation {
        let now = clock.now();
        let phase = self.phase(now);
        let plan = &self.runnable.run;
        let end = self.ends();
        let run_time = (now.min(end) - self.created).max(0.0) as i64;
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
            cloud_workstation: Some(false),
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

pub(crate) struct Asset {
    pub(crate) wire: types::DataAsset,
    pub(crate) created: f64,
    /// Simulated instant at which a draft asset settles, and whether it then fails.
    pub(crate) settles_at: f64,
    pub(crate) fails: Option<String>,
}

impl Asset {
    pub(crate) fn to_wire(&self, clock: &Clock) -> types::DataAsset {
        let mut w = self.wire.clone();
        let now = clock.now();
        w.created = Some(clock.epoch(self.created));
        w.last_used = Some(Timestamp::from_secs(0));
        w.state = Some(if now < self.settles_at {
            DataAssetState::Draft
        } else if let Some(reason) = &self.fails {
            w.failure_reason = Some(reason.clone());
            DataAssetState::Failed
        } else {
            DataAssetState::Ready
        });
        w
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
    pub(crate) capsules: HashMap<String, Arc<Runnable>>,
    pub(crate) pipelines: HashMap<String, Arc<Runnable>>,
    flats: HashMap<String, Arc<Flat>>,
    pub(crate) clock: Clock,
    pub(crate) runs: Mutex<HashMap<String, Run>>,
    pub(crate) assets: Mutex<HashMap<String, Asset>>,
    pub(crate) dynamic: RwLock<Dynamic>,
    pub(crate) asset_delay: f64,
    pub(crate) storage_origin: RwLock<String>,
    seed: u64,
    seq: AtomicU64,
    ids: AtomicU64,
    key: [u8; 32],
    log: Mutex<Log>,
}

impl State {
    pub(crate) fn new(config: &Config, catalogue: Catalogue) -> Result<Self, String> {
        catalogue.validate()?;
        let mut flats = HashMap::new();
        for r in catalogue.capsules.iter().chain(&catalogue.pipelines) {
            flats.insert(r.id.clone(), Arc::new(r.run.results.flatten()?));
        }
        let clock = Clock::new(config.time_scale);
        let mut assets = HashMap::new();
        for a in &catalogue.data_assets {
            let wire = types::DataAsset {
                id: a.id.clone(),
                name: Some(a.name.clone()),
                mount: Some(a.mount.clone()),
                owner: Some(OWNER.into()),
                owner_email: Some(OWNER_EMAIL.into()),
                size: Some(a.size as i64),
                files: Some(a.files as i64),
                type_: Some(DataAssetType::Dataset),
                description: Some(String::new()),
                tags: vec!["input".into()],
                source_bucket: Some(types::SourceBucket {
                    origin: Some(DataAssetOrigin::Local),
                    ..Default::default()
                }),
                ..empty_asset()
            };
            let asset = Asset {
                wire,
                created: 0.0,
                settles_at: 0.0,
                fails: None,
            };
            assets.insert(a.id.clone(), asset);
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
        let index = |list: &[Runnable]| -> HashMap<String, Arc<Runnable>> {
            list.iter()
                .map(|r| (r.id.clone(), Arc::new(r.clone())))
                .collect()
        };
        Ok(Self {
            token: config.token.clone(),
            capsules: index(&catalogue.capsules),
            pipelines: index(&catalogue.pipelines),
            flats,
            clock,
            runs: Mutex::new(HashMap::new()),
            assets: Mutex::new(assets),
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
            key,
            log: Mutex::new(Log::default()),
        })
    }

    pub(crate) fn flat(&self, runnable_id: &str) -> Arc<Flat> {
        self.flats.get(runnable_id).cloned().unwrap_or_default()
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
        if log.requests.len() == LOG_CAPACITY {
            log.requests.pop_front();
        }
        log.requests.push_back(req);
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

    pub(crate) fn capsule_status(&self, r: &Runnable) -> CapsuleStatus {
        if r.versions > 0 {
            CapsuleStatus::Release
        } else {
            CapsuleStatus::NonRelease
        }
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
