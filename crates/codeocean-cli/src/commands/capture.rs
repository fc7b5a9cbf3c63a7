//! `codeocean capture`: start a run, wait, check that it succeeded, make a data asset of its
//! results (named from a template, tagged, shared) and wait until it is ready, with a journal
//! so that an interrupted capture resumes without a second run or a second asset. What
//! aind-codeocean-pipeline-monitor does, and its `PipelineMonitorSettings` file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::bail;
use codeocean::codeocean_raw::types::{
    AwsS3Target, ComputationSource, CreateDataAssetRequest, CustomMetadata, DataAssetSource,
    DataAssetTarget, GroupPermissions, Permissions, ResultsInfo, RunRequest, UserPermissions,
};
use codeocean::{
    Client, Computation, CustomMetadataValue, DataAsset, EveryoneRole, NewDataAsset, Outcome,
    RunRequest as Run,
};
use futures_util::StreamExt as _;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use super::{Shown, outcome_str, resume_command, show, wait_run_seen};
use crate::cli::CaptureArgs;
use crate::journal::Journal;
use crate::request;
use crate::{Ctx, EXIT_FAILED, EXIT_INTERRUPTED, EXIT_TIMEOUT, Exit, usage_error};

/// The name template's default: the monitor's name rule.
const DEFAULT_TEMPLATE: &str = "{name}_{suffix}_{datetime}";
/// `{suffix}`'s default, as the monitor's `process_name_suffix`.
const DEFAULT_SUFFIX: &str = "processed";

/// aind-codeocean-pipeline-monitor's `PipelineMonitorSettings`, as its users write it
/// (`model_dump_json()`: every field, `null` for unset ones). Unknown fields are refused, as
/// pydantic-settings does.
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct MonitorSettings {
    /// An MS Teams webhook: not acted on.
    alert_url: Option<String>,
    /// Seconds between polls: the CLI's `--poll-interval` schedule applies instead.
    #[allow(
        dead_code,
        reason = "read so that the field is known; polling is the CLI's"
    )]
    computation_polling_interval: Option<f64>,
    /// Seconds after which the run is stopped.
    computation_timeout: Option<f64>,
    /// Seconds between polls of the asset: the CLI's schedule applies instead.
    #[allow(
        dead_code,
        reason = "read so that the field is known; polling is the CLI's"
    )]
    data_asset_ready_polling_interval: Option<f64>,
    /// Seconds to wait for the asset to be ready.
    data_asset_ready_timeout: Option<f64>,
    /// The SDK's `RunParams`: the run request's JSON.
    run_params: serde_json::Value,
    /// No capture when absent or `null`.
    capture_settings: Option<CaptureSettings>,
}

/// The monitor's `CaptureSettings`: the SDK's `DataAssetParams` with an optional name and
/// mount, plus its own fields.
#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
struct CaptureSettings {
    name: Option<String>,
    mount: Option<String>,
    tags: Option<Vec<String>>,
    description: Option<String>,
    /// Always `null`: the source is the computation.
    source: Option<serde_json::Value>,
    target: Option<DataAssetTarget>,
    custom_metadata: Option<CustomMetadata>,
    /// Not used by the monitor.
    data_asset_ids: Option<Vec<String>>,
    results_info: Option<ResultsInfo>,
    /// Deprecated in the monitor, and only read there for the DocDB record's name.
    #[allow(dead_code, reason = "read so that the field is known")]
    data_description_file_name: Option<String>,
    process_name_suffix: Option<String>,
    process_name_suffix_tz: Option<String>,
    permissions: Option<Permissions>,
    /// A DocDB registration: not acted on.
    docdb_settings: Option<serde_json::Value>,
}

/// One piece of a name template.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    Name,
    Suffix,
    Datetime,
    Date,
    Time,
    ComputationId,
}

/// The placeholders a template may hold, with what they stand for.
const PLACEHOLDERS: &[(&str, Piece)] = &[
    ("name", Piece::Name),
    ("suffix", Piece::Suffix),
    ("datetime", Piece::Datetime),
    ("date", Piece::Date),
    ("time", Piece::Time),
    ("computation_id", Piece::ComputationId),
];

/// Parses a name template; an unknown placeholder or a lone brace is a usage error.
fn template(text: &str) -> anyhow::Result<Vec<Piece>> {
    let bad = |why: String| usage_error(format!("--name-template {text:?}: {why}"));
    let mut pieces = Vec::new();
    let mut literal = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                literal.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                literal.push('}');
            }
            '{' => {
                let mut word = String::new();
                loop {
                    match chars.next() {
                        Some('}') => break,
                        Some(c) => word.push(c),
                        None => return Err(bad(format!("`{{{word}` is not closed"))),
                    }
                }
                let Some((_, piece)) = PLACEHOLDERS.iter().find(|(n, _)| *n == word) else {
                    let known: Vec<String> = PLACEHOLDERS
                        .iter()
                        .map(|(n, _)| format!("{{{n}}}"))
                        .collect();
                    return Err(bad(format!(
                        "unknown placeholder {{{word}}} (known: {}; {{{{ and }}}} for braces)",
                        known.join(", ")
                    )));
                };
                if !literal.is_empty() {
                    pieces.push(Piece::Text(std::mem::take(&mut literal)));
                }
                pieces.push(piece.clone());
            }
            '}' => return Err(bad("a `}` without its `{` (write }} for a brace)".into())),
            c => literal.push(c),
        }
    }
    if !literal.is_empty() {
        pieces.push(Piece::Text(literal));
    }
    if pieces.is_empty() {
        return Err(bad("it is empty".into()));
    }
    Ok(pieces)
}

/// What the template's placeholders stand for.
struct NameValues<'a> {
    name: &'a str,
    suffix: &'a str,
    now: &'a jiff::Zoned,
    computation_id: &'a str,
}

/// The name a template makes.
fn render(pieces: &[Piece], v: &NameValues<'_>) -> String {
    pieces
        .iter()
        .map(|p| match p {
            Piece::Text(t) => t.clone(),
            Piece::Name => v.name.to_owned(),
            Piece::Suffix => v.suffix.to_owned(),
            Piece::Datetime => v.now.strftime("%Y-%m-%d_%H-%M-%S").to_string(),
            Piece::Date => v.now.strftime("%Y-%m-%d").to_string(),
            Piece::Time => v.now.strftime("%H-%M-%S").to_string(),
            Piece::ComputationId => v.computation_id.to_owned(),
        })
        .collect()
}

/// A time zone by its IANA name; an unknown one is a usage error.
fn zone(name: &str, given: &str) -> anyhow::Result<jiff::tz::TimeZone> {
    jiff::tz::TimeZone::get(name).map_err(|e| {
        usage_error(format!(
            "{given} {name:?}: not a time zone this system knows ({e}); use an IANA name such as \
             UTC, Europe/Paris or US/Pacific"
        ))
    })
}

/// How the data asset is named.
#[derive(Debug)]
enum Naming {
    /// `--name`, or the settings' `name`.
    Fixed(String),
    /// A template.
    Template(Vec<Piece>),
}

/// The data asset to make, known before anything is sent.
#[derive(Debug)]
struct CapturePlan {
    naming: Naming,
    /// The template's text (for the state file's fingerprint).
    template_text: String,
    suffix: String,
    tz_name: String,
    tz: jiff::tz::TimeZone,
    mount: Option<String>,
    description: Option<String>,
    tags: Vec<String>,
    /// The settings' custom metadata, then the `--metadata` flags (checked later).
    metadata: BTreeMap<String, CustomMetadataValue>,
    flag_metadata: Vec<(String, String)>,
    /// The bucket (and its endpoint) the asset's files go to, and the folder the asset's
    /// folder is made in.
    target: Option<(String, Option<String>, Option<String>)>,
    results_info: Option<ResultsInfo>,
    permissions: Permissions,
    asset_timeout: Option<Duration>,
}

/// Everything the command will do, checked before anything is sent.
#[derive(Debug)]
struct Plan {
    request: RunRequest,
    run_name: Option<String>,
    timeout: Option<Duration>,
    stop_on_timeout: bool,
    capture: Option<CapturePlan>,
    state: Option<PathBuf>,
}

/// Seconds from the settings file as a duration; a negative or absurd one is a usage error.
fn seconds(value: Option<f64>, field: &str, origin: &str) -> anyhow::Result<Option<Duration>> {
    value
        .map(|s| {
            Duration::try_from_secs_f64(s)
                .ok()
                .filter(|d| !d.is_zero())
                .ok_or_else(|| {
                    usage_error(format!(
                        "{origin}: {field}: {s} is not a number of seconds above zero"
                    ))
                })
        })
        .transpose()
}

/// Reads and checks a settings file (every mistake a usage error naming the field).
fn read_settings(path: &Path) -> anyhow::Result<MonitorSettings> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|e| usage_error(format!("{shown}: cannot read the settings file: {e}")))?;
    let mut de = serde_json::Deserializer::from_str(&text);
    let settings: MonitorSettings = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        if path == "." {
            usage_error(format!("{shown}: {}", e.inner()))
        } else {
            usage_error(format!("{shown}: {path}: {}", e.inner()))
        }
    })?;
    Ok(settings)
}

/// The plan from the flags and the settings file, with the flags taking precedence.
fn plan(ctx: &Ctx, args: &CaptureArgs) -> anyhow::Result<Plan> {
    let settings = args.settings.as_deref().map(read_settings).transpose()?;
    let origin = args
        .settings
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    let (base, mut capture_settings) = match settings {
        Some(s) => {
            for (set, what) in [
                (s.alert_url.is_some(), "alert_url (a Teams alert)"),
                (
                    s.capture_settings
                        .as_ref()
                        .is_some_and(|c| c.docdb_settings.is_some()),
                    "capture_settings.docdb_settings (a DocDB record)",
                ),
                (
                    s.capture_settings
                        .as_ref()
                        .is_some_and(|c| c.data_asset_ids.as_ref().is_some_and(|d| !d.is_empty())),
                    "capture_settings.data_asset_ids",
                ),
            ] {
                if set {
                    ctx.note(format!("warning: {origin}: {what} is not acted on"));
                }
            }
            if let Some(c) = &s.capture_settings
                && c.source.as_ref().is_some_and(|v| !v.is_null())
            {
                return Err(usage_error(format!(
                    "{origin}: capture_settings.source: must be null (the source is the run)"
                )));
            }
            let run_origin = format!("{origin}: run_params");
            let run = request::parse(&s.run_params.to_string(), &run_origin, false)
                .map_err(|e| usage_error(e.to_string()))?
                .request;
            let timeouts = (
                seconds(s.computation_timeout, "computation_timeout", &origin)?,
                seconds(
                    s.data_asset_ready_timeout,
                    "data_asset_ready_timeout",
                    &origin,
                )?,
            );
            (Some((run, run_origin, timeouts)), Some(s.capture_settings))
        }
        None => (None, None),
    };
    let request = match &base {
        Some((run, run_origin, _)) => {
            request::with_flags(run.clone(), &args.spec, Some(run_origin))?
        }
        None => request::from_spec(&args.spec)?,
    };
    let (settings_timeout, settings_asset_timeout) =
        base.as_ref().map(|(_, _, t)| *t).unwrap_or_default();
    // The monitor stops the run when its timeout passes.
    let (timeout, stop_on_timeout) = match (args.timeout, settings_timeout) {
        (Some(t), _) => (Some(t), args.stop_on_timeout),
        (None, Some(t)) => (Some(t), true),
        (None, None) => (None, false),
    };
    let capture = match capture_settings.take() {
        // A settings file without capture_settings: run and check only.
        Some(None) => None,
        _ if args.no_capture => None,
        Some(Some(c)) => Some(capture_plan(args, c, settings_asset_timeout)?),
        None => Some(capture_plan(args, CaptureSettings::default(), None)?),
    };
    let state = args.state.clone().or_else(|| {
        args.settings.as_ref().map(|p| {
            let mut name = p.as_os_str().to_owned();
            name.push(".state");
            PathBuf::from(name)
        })
    });
    Ok(Plan {
        request,
        run_name: args.run_name.clone(),
        timeout,
        stop_on_timeout,
        capture,
        state,
    })
}

/// The data asset's plan: the flags over the settings' `capture_settings`.
fn capture_plan(
    args: &CaptureArgs,
    c: CaptureSettings,
    settings_asset_timeout: Option<Duration>,
) -> anyhow::Result<CapturePlan> {
    let template_given = args.name_template != DEFAULT_TEMPLATE;
    let naming = match (&args.name, template_given, c.name) {
        (Some(n), _, _) => Naming::Fixed(n.clone()),
        (None, true, _) => Naming::Template(template(&args.name_template)?),
        (None, false, Some(n)) => Naming::Fixed(n),
        (None, false, None) => Naming::Template(template(&args.name_template)?),
    };
    let (tz_name, given) = match (&args.tz, c.process_name_suffix_tz) {
        (Some(z), _) => (z.clone(), "--tz".to_owned()),
        (None, Some(z)) => (z, "capture_settings.process_name_suffix_tz".to_owned()),
        (None, None) => ("UTC".to_owned(), "--tz".to_owned()),
    };
    let tz = zone(&tz_name, &given)?;
    let suffix = args
        .suffix
        .clone()
        .or(c.process_name_suffix)
        .unwrap_or_else(|| DEFAULT_SUFFIX.to_owned());
    let mut tags = c.tags.unwrap_or_default();
    for t in &args.tags {
        if !tags.contains(t) {
            tags.push(t.clone());
        }
    }
    let mut flag_metadata = Vec::new();
    for m in &args.metadata {
        let (k, v) = request::key_value(m, "--metadata")?;
        flag_metadata.push((k.to_owned(), v.to_owned()));
    }
    let target = match (&args.s3_target, c.target.and_then(|t| t.aws)) {
        (Some(url), _) => Some((url.bucket.clone(), None, url.prefix.clone())),
        // As the monitor: the settings' prefix is replaced by the asset's name.
        (None, Some(aws)) => Some((aws.bucket, aws.endpoint_name, None)),
        (None, None) => None,
    };
    // The monitor's default: everyone may see the asset.
    let mut permissions = c.permissions.unwrap_or_else(|| Permissions {
        everyone: Some(EveryoneRole::Viewer),
        ..Permissions::default()
    });
    if let Some(role) = &args.everyone {
        permissions.everyone = Some(EveryoneRole::from(role.as_str()));
    }
    for (email, role) in &args.share_users {
        let users = permissions.users.get_or_insert_default();
        users.retain(|u| &u.email != email);
        users.push(UserPermissions {
            email: email.clone(),
            role: role.clone(),
        });
    }
    for (group, role) in &args.share_groups {
        let groups = permissions.groups.get_or_insert_default();
        groups.retain(|g| &g.group != group);
        groups.push(GroupPermissions {
            group: group.clone(),
            role: role.clone(),
        });
    }
    Ok(CapturePlan {
        naming,
        template_text: args.name_template.clone(),
        suffix,
        tz_name,
        tz,
        mount: args.mount.clone().or(c.mount),
        description: args.description.clone().or(c.description),
        tags,
        metadata: c.custom_metadata.map(|m| m.0).unwrap_or_default(),
        flag_metadata,
        target,
        results_info: c.results_info,
        permissions,
        asset_timeout: args.asset_timeout.or(settings_asset_timeout),
    })
}

impl Plan {
    /// A fingerprint of what is launched and made (not of timeouts): a state file of other
    /// settings is refused.
    fn fingerprint(&self) -> String {
        let capture = self.capture.as_ref().map(|c| {
            serde_json::json!({
                "name": match &c.naming {
                    Naming::Fixed(n) => serde_json::json!({"fixed": n}),
                    Naming::Template(_) => serde_json::json!({"template": c.template_text}),
                },
                "suffix": c.suffix,
                "tz": c.tz_name,
                "mount": c.mount,
                "description": c.description,
                "tags": c.tags,
                "metadata": c.metadata,
                "flag_metadata": c.flag_metadata,
                "target": c.target,
                "results_info": c.results_info,
                "permissions": c.permissions,
            })
        });
        let text = serde_json::json!({"run": self.request, "capture": capture}).to_string();
        request::fnv1a(text.as_bytes())
    }
}

/// One journal record. Each creation is preceded by a record that it is about to happen and
/// followed by one with what it made, both on disk before going on.
#[derive(Serialize, Deserialize, Debug, Clone)]
#[serde(tag = "step", rename_all = "snake_case")]
enum Record {
    /// A run is about to be started.
    Starting { fingerprint: String },
    /// The run was started.
    Started {
        fingerprint: String,
        computation_id: String,
    },
    /// The run was stopped after its timeout.
    Stopped { computation_id: String },
    /// A data asset of this name is about to be created.
    Capturing { name: String },
    /// The data asset was created.
    Captured { data_asset_id: String, name: String },
    /// Its permissions were set.
    Permissions { data_asset_id: String },
}

/// What an earlier capture with this state file did.
#[derive(Default, Debug)]
struct Done {
    fingerprint: Option<String>,
    starting: bool,
    computation_id: Option<String>,
    stopped: bool,
    capturing: Option<String>,
    data_asset_id: Option<String>,
    permissions: bool,
}

impl Done {
    fn add(&mut self, r: Record) {
        match r {
            Record::Starting { fingerprint } => {
                self.fingerprint = Some(fingerprint);
                self.starting = true;
            }
            Record::Started {
                fingerprint,
                computation_id,
            } => {
                self.fingerprint = Some(fingerprint);
                self.computation_id = Some(computation_id);
            }
            Record::Stopped { .. } => self.stopped = true,
            Record::Capturing { name } => self.capturing = Some(name),
            Record::Captured { data_asset_id, .. } => self.data_asset_id = Some(data_asset_id),
            Record::Permissions { .. } => self.permissions = true,
        }
    }
}

/// An optional journal: with no state file, records go nowhere.
struct State {
    journal: Option<Journal>,
}

impl State {
    fn record(&mut self, r: &Record) -> anyhow::Result<()> {
        match &self.journal {
            Some(j) => j.append(r),
            None => Ok(()),
        }
    }

    fn path(&self) -> Option<&Path> {
        self.journal.as_ref().map(Journal::path)
    }
}

/// What `capture --json` prints: one document.
#[derive(Serialize)]
struct CaptureOutput<'a> {
    computation: Option<Shown<'a>>,
    data_asset: Option<&'a DataAsset>,
    actions: &'a [&'static str],
    /// succeeded, failed, stopped, timeout, interrupted, asset failed, asset timeout.
    outcome: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    state_file: Option<String>,
}

/// What was done so far, for the output.
struct Report {
    computation_id: Option<String>,
    computation: Option<Computation>,
    data_asset: Option<DataAsset>,
    actions: Vec<&'static str>,
    state_file: Option<String>,
}

impl Report {
    /// Prints the report (JSON, or a short summary on stdout).
    fn show(&self, ctx: &Ctx, outcome: &str) -> anyhow::Result<()> {
        let computation = match (&self.computation, &self.computation_id) {
            (Some(c), _) => Some(Shown::Computation(c)),
            (None, Some(id)) => Some(Shown::Id { id }),
            (None, None) => None,
        };
        let out = CaptureOutput {
            computation,
            data_asset: self.data_asset.as_ref(),
            actions: &self.actions,
            outcome,
            state_file: self.state_file.clone(),
        };
        show(ctx, &out, || {
            let mut text = String::new();
            if let Some(id) = &self.computation_id {
                let state = self
                    .computation
                    .as_ref()
                    .map(super::objects::state)
                    .unwrap_or_default();
                text.push_str(&format!("computation {id}: {state}\n"));
            }
            if let Some(a) = &self.data_asset {
                let state = a.state.as_ref().map(|s| s.as_str()).unwrap_or("unknown");
                text.push_str(&format!(
                    "data asset {}: {} ({state}), mounts at {}\n",
                    a.id,
                    a.name.as_deref().unwrap_or_default(),
                    a.mount.as_deref().unwrap_or_default()
                ));
            }
            text.push_str(&format!(
                "outcome: {outcome} ({})\n",
                if self.actions.is_empty() {
                    "nothing done".to_owned()
                } else {
                    self.actions.join(", ")
                }
            ));
            text
        })
    }
}

/// Resolves when Ctrl-C was pressed (at once if it already was).
async fn on_stop(stop: &watch::Receiver<bool>) {
    let mut rx = stop.clone();
    let _ = rx.wait_for(|s| *s).await;
}

pub(crate) async fn capture(ctx: &Ctx, args: CaptureArgs) -> anyhow::Result<()> {
    // Everything is checked before anything is sent.
    let plan = plan(ctx, &args)?;
    for w in request::named_twice(&plan.request, "the run request") {
        ctx.note(format!("warning: {w}"));
    }
    let (journal, done) = match &plan.state {
        Some(path) => {
            let mut done = Done::default();
            let j = Journal::open(path, |r: Record| done.add(r))?;
            (Some(j), done)
        }
        None => (None, Done::default()),
    };
    let mut state = State { journal };
    let fingerprint = plan.fingerprint();
    if let Some(recorded) = &done.fingerprint
        && recorded != &fingerprint
    {
        bail!(
            "the state file {} belongs to a capture of other settings (another run request or \
             data asset); use another --state to start over",
            state
                .path()
                .map(|p| p.display().to_string())
                .unwrap_or_default()
        );
    }
    let state_file = state.path().map(|p| p.display().to_string());
    let client = ctx.client()?;
    // Custom metadata from flags is checked against the deployment's fields before the run.
    let mut metadata = BTreeMap::new();
    if let Some(c) = &plan.capture {
        metadata = c.metadata.clone();
        if !c.flag_metadata.is_empty() {
            let schema = client.get_custom_metadata_schema().await?;
            let checked =
                super::update::check_metadata(&schema, &c.flag_metadata).map_err(usage_error)?;
            metadata.extend(checked);
        }
    }
    let (stop_tx, stop) = watch::channel(false);
    let watcher = tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            let _ = stop_tx.send(true);
        }
    });
    let mut report = Report {
        computation_id: None,
        computation: None,
        data_asset: None,
        actions: Vec::new(),
        state_file,
    };
    let r = steps(
        ctx,
        &client,
        &plan,
        &done,
        &mut state,
        &stop,
        metadata,
        &mut report,
    )
    .await;
    watcher.abort();
    r
}

/// How one step ended early, and the exit it makes.
fn early(code: u8, message: String) -> anyhow::Error {
    Exit { code, message }.into()
}

/// The command's steps, each skipped when the journal says it was done.
#[allow(
    clippy::too_many_arguments,
    reason = "the command's parts, each used once"
)]
async fn steps(
    ctx: &Ctx,
    client: &Client,
    plan: &Plan,
    done: &Done,
    state: &mut State,
    stop: &watch::Receiver<bool>,
    metadata: BTreeMap<String, CustomMetadataValue>,
    report: &mut Report,
) -> anyhow::Result<()> {
    // 1. The run: started once.
    let id = match &done.computation_id {
        Some(id) => {
            ctx.note(format!(
                "resuming: computation {id} was started by an earlier capture (state file {})",
                report.state_file.as_deref().unwrap_or_default()
            ));
            report.actions.push("resumed");
            id.clone()
        }
        None if done.starting => bail!(
            "an earlier capture was cut off while starting a run (state file {}), so a run may \
             exist that it did not record; look among `codeocean capsule computations ID` (or \
             `pipeline computations ID`), and wait for it with `codeocean computation wait`, \
             or use another --state to start a new run",
            report.state_file.as_deref().unwrap_or_default()
        ),
        None => {
            state.record(&Record::Starting {
                fingerprint: plan.fingerprint(),
            })?;
            // Once sent, the request is seen through even on Ctrl-C, so that it is journaled.
            let c = client.run(&Run::from(plan.request.clone())).await?;
            state.record(&Record::Started {
                fingerprint: plan.fingerprint(),
                computation_id: c.id.clone(),
            })?;
            ctx.note(format!("started computation {}", c.id));
            report.actions.push("started");
            if let Some(name) = &plan.run_name {
                client.rename_computation(&c.id, name).await?;
            }
            c.id
        }
    };
    report.computation_id = Some(id.clone());
    if done.stopped {
        report.show(ctx, "stopped")?;
        return Err(early(
            EXIT_TIMEOUT,
            format!(
                "computation {id} was stopped after its timeout by an earlier capture; use \
                 another --state to start over"
            ),
        ));
    }
    // 2. Wait for it.
    let mut last = None;
    let finished = if *stop.borrow() {
        None
    } else {
        tokio::select! {
            f = wait_run_seen(ctx, client, &id, plan.timeout, &mut last) => Some(f),
            () = on_stop(stop) => None,
        }
    };
    report.computation = last.clone();
    let finished = match finished {
        None => {
            report.show(ctx, "interrupted")?;
            let message = match report.state_file.as_deref() {
                Some(file) => format!(
                    "interrupted: computation {id} goes on in Code Ocean; run the same command \
                     again to resume the capture (state file {file})"
                ),
                None => format!(
                    "interrupted: computation {id} goes on in Code Ocean; without --state this \
                     capture cannot resume; to wait for it:\n  {}",
                    resume_command(ctx, &id, None)
                ),
            };
            return Err(early(EXIT_INTERRUPTED, message));
        }
        Some(Err(e)) if super::is_wait_timeout(&e) => {
            let after = humantime::format_duration(plan.timeout.unwrap_or_default());
            if plan.stop_on_timeout {
                client.delete_computation(&id).await?;
                state.record(&Record::Stopped {
                    computation_id: id.clone(),
                })?;
                report.actions.push("stopped");
                report.show(ctx, "timeout")?;
                return Err(early(
                    EXIT_TIMEOUT,
                    format!("gave up waiting after {after}: stopped computation {id}"),
                ));
            }
            report.show(ctx, "timeout")?;
            return Err(early(
                EXIT_TIMEOUT,
                format!(
                    "gave up waiting after {after}: computation {id} goes on in Code Ocean{}",
                    state_hint(report).unwrap_or_default()
                ),
            ));
        }
        Some(Err(e)) => return Err(e),
        Some(Ok(f)) => f,
    };
    report.computation = Some(finished.computation.clone());
    // 3. Check it: failed by its state, end status or exit code.
    let exit_code = finished.computation.exit_code.filter(|c| *c != 0);
    if finished.outcome != Outcome::Succeeded || exit_code.is_some() {
        let outcome = match (&finished.outcome, exit_code) {
            (Outcome::Succeeded, Some(_)) => "failed",
            (o, _) => outcome_str(o),
        };
        report.show(ctx, outcome)?;
        let code = exit_code
            .map(|c| format!(", exit code {c}"))
            .unwrap_or_default();
        return Err(early(
            EXIT_FAILED,
            format!(
                "computation {id} {}{code}: no data asset made",
                if outcome == "stopped" {
                    "was stopped"
                } else {
                    "failed"
                }
            ),
        ));
    }
    let Some(capture) = &plan.capture else {
        return report.show(ctx, "succeeded");
    };
    // 4. The data asset: created once.
    let asset_id = match (&done.data_asset_id, &done.capturing) {
        (Some(asset), _) => {
            report.actions.push("capture resumed");
            asset.clone()
        }
        (None, Some(name)) => match find_captured(client, name, &id).await? {
            Some(asset) => {
                state.record(&Record::Captured {
                    data_asset_id: asset.clone(),
                    name: name.clone(),
                })?;
                report.actions.push("capture resumed");
                asset
            }
            None => bail!(
                "an earlier capture was cut off while creating data asset `{name}` (state file \
                 {}), and no asset of that name made from computation {id} is found; if `codeocean \
                 data-asset search 'name:\"{name}\"'` lists none either, remove the last line of \
                 the state file and run the command again",
                report.state_file.as_deref().unwrap_or_default()
            ),
        },
        (None, None) => {
            let name = asset_name(client, plan, capture, &id).await?;
            let new = new_asset(capture, &name, &id, metadata);
            state.record(&Record::Capturing { name: name.clone() })?;
            let asset = client.create_data_asset(&new).await?;
            state.record(&Record::Captured {
                data_asset_id: asset.id.clone(),
                name: name.clone(),
            })?;
            ctx.note(format!("created data asset {} ({})", asset.id, name));
            report.actions.push("captured");
            asset.id
        }
    };
    // 5. Wait until it is ready.
    let ready = if *stop.borrow() {
        None
    } else {
        tokio::select! {
            a = super::wait_asset(ctx, client, &asset_id, capture.asset_timeout) => Some(a),
            () = on_stop(stop) => None,
        }
    };
    let asset = match ready {
        None => {
            report.data_asset = client.get_data_asset(&asset_id).await.ok();
            report.show(ctx, "interrupted")?;
            return Err(early(
                EXIT_INTERRUPTED,
                format!(
                    "interrupted while data asset {asset_id} is being made{}",
                    state_hint(report).unwrap_or_default()
                ),
            ));
        }
        Some(Ok(a)) => a,
        Some(Err(e)) => {
            let Some(ce) = e.downcast_ref::<codeocean::Error>() else {
                return Err(e);
            };
            let (failed, timeout) = (ce.is_job_failed(), ce.is_wait_timeout());
            if !(failed || timeout) {
                return Err(e);
            }
            let message = crate::full(ce);
            report.data_asset = client.get_data_asset(&asset_id).await.ok();
            report.show(
                ctx,
                if failed {
                    "asset failed"
                } else {
                    "asset timeout"
                },
            )?;
            let (code, hint) = if failed {
                (EXIT_FAILED, String::new())
            } else {
                (EXIT_TIMEOUT, state_hint(report).unwrap_or_default())
            };
            return Err(early(code, format!("{message}{hint}")));
        }
    };
    report.data_asset = Some(asset);
    // 6. Its permissions.
    if !done.permissions {
        let update = codeocean::PermissionsUpdate::from(capture.permissions.clone());
        client
            .update_data_asset_permissions(&asset_id, &update)
            .await?;
        state.record(&Record::Permissions {
            data_asset_id: asset_id.clone(),
        })?;
        report.actions.push("permissions");
    }
    report.show(ctx, "succeeded")
}

/// `; run the same command again to resume (state file FILE)`, when there is a state file.
fn state_hint(report: &Report) -> Option<String> {
    report
        .state_file
        .as_ref()
        .map(|f| format!("; run the same command again to resume the capture (state file {f})"))
}

/// The asset an earlier, cut-off capture may have made: of this name and from this run.
async fn find_captured(
    client: &Client,
    name: &str,
    computation_id: &str,
) -> anyhow::Result<Option<String>> {
    let query = format!("name:\"{}\"", name.replace('"', " "));
    let search = codeocean::search::DataAssetSearch::new().query(query);
    let mut results = client.search_data_assets(&search);
    while let Some(a) = results.next().await {
        let a = a?;
        let from_run =
            a.provenance.as_ref().and_then(|p| p.computation.as_deref()) == Some(computation_id);
        if a.name.as_deref() == Some(name) && from_run {
            return Ok(Some(a.id));
        }
    }
    Ok(None)
}

/// The asset's name: fixed, or the template's with `{name}` the first input data asset's name
/// (the capsule's or pipeline's without one) and the time now in the plan's zone.
async fn asset_name(
    client: &Client,
    plan: &Plan,
    capture: &CapturePlan,
    computation_id: &str,
) -> anyhow::Result<String> {
    let pieces = match &capture.naming {
        Naming::Fixed(n) => return Ok(n.clone()),
        Naming::Template(p) => p,
    };
    let name = if pieces.contains(&Piece::Name) {
        let first = plan.request.data_assets.iter().flatten().next();
        match (first, &plan.request.capsule_id, &plan.request.pipeline_id) {
            (Some(a), _, _) => client.get_data_asset(&a.id).await?.name,
            (None, Some(c), _) => client.get_capsule(c).await?.name,
            (None, None, Some(p)) => client.get_pipeline(p).await?.name,
            (None, None, None) => None,
        }
        .unwrap_or_default()
    } else {
        String::new()
    };
    let now = jiff::Timestamp::now().to_zoned(capture.tz.clone());
    Ok(render(
        pieces,
        &NameValues {
            name: &name,
            suffix: &capture.suffix,
            now: &now,
            computation_id,
        },
    ))
}

/// The create request: the run's results, the plan's fields, the mount (the name by default)
/// and the target's folder named as the asset.
fn new_asset(
    c: &CapturePlan,
    name: &str,
    computation_id: &str,
    metadata: BTreeMap<String, CustomMetadataValue>,
) -> NewDataAsset {
    let target = c
        .target
        .as_ref()
        .map(|(bucket, endpoint, prefix)| DataAssetTarget {
            aws: Some(AwsS3Target {
                bucket: bucket.clone(),
                endpoint_name: endpoint.clone(),
                prefix: Some(match prefix {
                    Some(p) => format!("{p}/{name}"),
                    None => name.to_owned(),
                }),
            }),
        });
    NewDataAsset::from(CreateDataAssetRequest {
        custom_metadata: (!metadata.is_empty()).then_some(CustomMetadata(metadata)),
        data_asset_ids: None,
        description: c.description.clone(),
        mount: c.mount.clone().unwrap_or_else(|| name.to_owned()),
        name: name.to_owned(),
        results_info: c.results_info.clone(),
        source: Some(DataAssetSource {
            computation: Some(ComputationSource {
                id: computation_id.to_owned(),
                path: None,
            }),
            ..DataAssetSource::default()
        }),
        tags: c.tags.clone(),
        target,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_read_placeholders_and_braces() {
        let t = template("{name}_{suffix}_{{x}}_{datetime}").unwrap();
        let now = jiff::Timestamp::from_second(1_780_000_000)
            .unwrap()
            .to_zoned(jiff::tz::TimeZone::get("Asia/Kolkata").unwrap());
        let v = NameValues {
            name: "ecephys_1",
            suffix: "sorted",
            now: &now,
            computation_id: "c1",
        };
        assert_eq!(render(&t, &v), "ecephys_1_sorted_{x}_2026-05-29_01-56-40");
        let t = template("{date}T{time} {computation_id}").unwrap();
        assert_eq!(render(&t, &v), "2026-05-29T01-56-40 c1");
    }

    #[test]
    fn bad_templates_are_usage_errors() {
        for (t, says) in [
            ("{nme}", "unknown placeholder {nme}"),
            ("{name", "is not closed"),
            ("a}b", "without its `{`"),
            ("", "empty"),
        ] {
            let e = template(t).unwrap_err();
            assert!(e.to_string().contains(says), "{t}: {e}");
            assert_eq!(e.downcast_ref::<Exit>().unwrap().code, crate::EXIT_USAGE);
        }
    }
}
