//! The command line: every command, flag and help text.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// The heading of the options every command takes.
const GLOBAL: &str = "Global options";

const AFTER_HELP: &str = "\
Configuration:
  --domain and --token override CODEOCEAN_DOMAIN and CODEOCEAN_TOKEN. The domain is a bare
  domain (acmecorp.codeocean.com) or a URL (http://127.0.0.1:8080). The token is never printed.

Exit codes:
  0  success
  1  error (including a download that left files missing)
  2  usage error
  3  the awaited run, data asset or release finished but failed or was stopped
  4  waiting timed out
  130  interrupted (Ctrl-C)

Try it without an account: `codeocean demo` runs the whole job against a bundled local server.";

/// Run Code Ocean capsules and pipelines, wait for them, download their results and turn them
/// into data assets.
#[derive(Parser, Debug)]
#[command(name = "codeocean", version, after_help = AFTER_HELP, max_term_width = 100)]
pub(crate) struct Cli {
    /// Code Ocean deployment: a domain or a URL.
    #[arg(
        long,
        global = true,
        env = "CODEOCEAN_DOMAIN",
        hide_env_values = true,
        value_name = "DOMAIN",
        help_heading = GLOBAL
    )]
    pub(crate) domain: Option<String>,
    /// API token (prefer the environment variable: flags show in process lists).
    #[arg(
        long,
        global = true,
        env = "CODEOCEAN_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN",
        help_heading = GLOBAL
    )]
    pub(crate) token: Option<String>,
    /// Print machine-readable JSON on stdout: one document, or JSON Lines for streaming
    /// commands (`search`, `ls --recursive`, `batch`).
    #[arg(long, global = true, help_heading = GLOBAL)]
    pub(crate) json: bool,
    /// More logging on stderr (-v: requests, -vv: debug).
    #[arg(short, long, global = true, action = clap::ArgAction::Count, conflicts_with = "quiet", help_heading = GLOBAL)]
    pub(crate) verbose: u8,
    /// Only errors on stderr: no progress, no notes.
    #[arg(short, long, global = true, help_heading = GLOBAL)]
    pub(crate) quiet: bool,
    /// First interval between status polls while waiting (they grow up to 30s).
    #[arg(long, global = true, value_name = "DURATION", default_value = "1s", value_parser = duration, help_heading = GLOBAL)]
    pub(crate) poll_interval: Duration,
    /// Give up on an API call after this long, retries included (default 90s); a download
    /// gives up on a file after this long without progress.
    #[arg(long, global = true, value_name = "DUR", value_parser = duration, help_heading = GLOBAL)]
    pub(crate) request_timeout: Option<Duration>,
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// How far `ls --recursive` and `download` walk a tree (the library's `WalkLimits`).
#[derive(clap::Args, Debug, Clone, Copy, Default)]
pub(crate) struct WalkCaps {
    /// Deepest folder walked, in levels below PATH [default: 100].
    #[arg(long, value_name = "N")]
    pub(crate) max_depth: Option<usize>,
    /// Most entries walked; the walk stops with an error past it [default: 1000000].
    #[arg(long, value_name = "N")]
    pub(crate) max_entries: Option<u64>,
}

impl WalkCaps {
    /// The library's limits with these flags applied.
    pub(crate) fn limits(self) -> codeocean::WalkLimits {
        let mut limits = codeocean::WalkLimits::default();
        if let Some(n) = self.max_depth {
            limits = limits.max_depth(n);
        }
        if let Some(n) = self.max_entries {
            limits = limits.max_entries(n);
        }
        limits
    }
}

impl Command {
    /// The walk caps given on a tree command (`results`/`data-asset` `ls`/`download`).
    pub(crate) fn walk_caps(&self) -> WalkCaps {
        match self {
            Command::Results(ResultsCmd::Ls { caps, .. } | ResultsCmd::Download { caps, .. })
            | Command::DataAsset(
                DataAssetCmd::Ls { caps, .. } | DataAssetCmd::Download { caps, .. },
            ) => *caps,
            _ => WalkCaps::default(),
        }
    }
}

/// Parses a duration like `30s`, `10m`, `1h 30m` or `250ms`.
pub(crate) fn duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s).map_err(|e| format!("{e} (examples: 30s, 10m, 1h30m)"))
}

#[derive(Subcommand, Debug)]
pub(crate) enum Command {
    /// Find, look at and manage capsules: search, attach data assets, release.
    #[command(subcommand)]
    Capsule(AppCmd),
    /// Find, look at and manage pipelines: search, attach data assets, release.
    #[command(subcommand)]
    Pipeline(AppCmd),
    /// Start a run of a capsule or a pipeline, optionally wait for it and download its results.
    Run(RunArgs),
    /// Look at, wait for, rename or delete a computation (a run); attach data assets to a
    /// cloud workstation session.
    #[command(subcommand)]
    Computation(ComputationCmd),
    /// List, link to and download a computation's results.
    #[command(subcommand)]
    Results(ResultsCmd),
    /// Find, create, look at, update, list, download, share, move, archive and delete data
    /// assets.
    #[command(subcommand)]
    DataAsset(DataAssetCmd),
    /// Show the custom metadata fields the deployment defines for data assets.
    #[command(subcommand)]
    CustomMetadata(CustomMetadataCmd),
    /// Start many runs from a JSON Lines file, resumably.
    Batch(BatchArgs),
    /// Start the bundled local Code Ocean server in the foreground (same flags as codeocean-sim).
    Sim(Box<codeocean_sim::cli::Args>),
    /// The whole job end to end against an in-process local server: run, wait, download,
    /// verify, make a data asset.
    Demo(DemoArgs),
    /// Print the JSON Schema of a request file.
    Schema {
        /// Which file: a `run --request` body, or one line of a `batch` file.
        #[arg(value_enum)]
        kind: SchemaKind,
    },
    /// Print a shell completion script.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

/// The commands of capsules and of pipelines (the API serves both alike).
#[derive(Subcommand, Debug)]
pub(crate) enum AppCmd {
    /// Show its metadata.
    Get {
        /// Capsule or pipeline id.
        id: String,
    },
    /// List its computations.
    Computations {
        /// Capsule or pipeline id.
        id: String,
    },
    /// Search by text, status, ownership and more; every match, page after page (JSON Lines
    /// with --json).
    Search {
        #[command(flatten)]
        common: SearchArgs,
        /// Only released (`release`) or only unreleased (`non_release`) ones.
        #[arg(long, value_name = "STATUS", value_parser = ["release", "non_release"])]
        status: Option<String>,
        /// Sort by this field (with --desc: largest first).
        #[arg(long, value_name = "FIELD", value_parser = ["created", "last_accessed", "name"])]
        sort: Option<String>,
    },
    /// Attach data assets (each at its mount folder under /data, or its own default).
    Attach {
        /// Capsule or pipeline id.
        id: String,
        /// A data asset to attach (repeatable).
        #[arg(long = "data-asset", value_name = "ID[:MOUNT]", required = true)]
        data_assets: Vec<String>,
    },
    /// Detach data assets.
    Detach {
        /// Capsule or pipeline id.
        id: String,
        /// Ids of the data assets to detach.
        #[arg(required = true, value_name = "DATA_ASSET_ID")]
        data_assets: Vec<String>,
    },
    /// Archive it (--undo: bring it back from the archive).
    Archive {
        /// Capsule or pipeline id.
        id: String,
        /// Unarchive instead.
        #[arg(long)]
        undo: bool,
    },
    /// Delete it permanently.
    Delete {
        /// Capsule or pipeline id.
        id: String,
    },
    /// Show or change who may use it.
    #[command(subcommand)]
    Permissions(PermissionsCmd),
    /// Push its commits to its linked Git repository and pull new ones.
    Sync {
        /// Capsule or pipeline id.
        id: String,
    },
    /// Release a new version (of one released before); with --wait, exit 3 if the release
    /// failed or was canceled.
    Release {
        /// Capsule or pipeline id.
        id: String,
        /// Wait until the release job ends.
        #[arg(long)]
        wait: bool,
        /// Give up waiting after this long (exit 4); implies --wait.
        #[arg(long, value_name = "DURATION", value_parser = duration)]
        timeout: Option<Duration>,
    },
}

/// What every search takes.
#[derive(Args, Debug, Clone)]
pub(crate) struct SearchArgs {
    /// Free text and field:value terms, e.g. `tag:genomics name:"single cell"` (default:
    /// everything you can see).
    pub(crate) query: Option<String>,
    /// Only items you created, items shared with you, or (capsules and pipelines) your
    /// private ones.
    #[arg(long, value_name = "WHICH", value_parser = ["created", "shared", "private"])]
    pub(crate) ownership: Option<String>,
    /// Only your favourites.
    #[arg(long)]
    pub(crate) favorite: bool,
    /// Only archived items.
    #[arg(long)]
    pub(crate) archived: bool,
    /// With --sort: descending order.
    #[arg(long, requires = "sort")]
    pub(crate) desc: bool,
    /// Stop after N results.
    #[arg(long, value_name = "N")]
    pub(crate) limit: Option<usize>,
    /// Results per request (1 to 1000).
    #[arg(long, value_name = "N", default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub(crate) page_size: u32,
    /// Most requests (pages) before giving up with an error, so a server that always claims
    /// more results cannot keep the command running forever.
    #[arg(long, value_name = "N", default_value_t = 1000)]
    pub(crate) max_pages: usize,
}

/// What to run and with what.
#[derive(Args, Debug, Clone, Default)]
pub(crate) struct RunSpec {
    /// Capsule to run.
    #[arg(long, value_name = "ID", group = "target")]
    pub(crate) capsule: Option<String>,
    /// Pipeline to run.
    #[arg(long, value_name = "ID", group = "target")]
    pub(crate) pipeline: Option<String>,
    /// A run-request body (the API's JSON; see `codeocean schema run-request`); the flags
    /// below add to it or override it.
    #[arg(long, value_name = "FILE.json", group = "target")]
    pub(crate) request: Option<PathBuf>,
    /// Released version to run (default: the latest).
    #[arg(long, value_name = "N")]
    pub(crate) version: Option<i64>,
    /// Attach a data asset, at MOUNT under /data (default: the asset's own mount). Repeatable;
    /// replaces an entry of the request file with the same id.
    #[arg(long = "data-asset", value_name = "ID[:MOUNT]")]
    pub(crate) data_assets: Vec<String>,
    /// Ordered parameter (repeatable, in order); replaces the request file's ordered parameters.
    #[arg(long = "param", value_name = "VALUE")]
    pub(crate) params: Vec<String>,
    /// Named parameter (repeatable); overrides the request file's parameter of that name.
    #[arg(long = "named-param", value_name = "NAME=VALUE")]
    pub(crate) named_params: Vec<String>,
}

#[derive(Args, Debug)]
pub(crate) struct RunArgs {
    #[command(flatten)]
    pub(crate) spec: RunSpec,
    /// Rename the computation right after it is created (the run API itself has no name).
    #[arg(long)]
    pub(crate) name: Option<String>,
    #[command(flatten)]
    pub(crate) then: ThenArgs,
}

/// What `run` and `batch` do after launching.
#[derive(Args, Debug)]
pub(crate) struct ThenArgs {
    /// Wait until the run finishes (batch: every run, including runs launched by an earlier,
    /// interrupted batch); exit 3 if a run failed or was stopped.
    #[arg(long)]
    pub(crate) wait: bool,
    /// Give up waiting for a run after this long (exit 4), e.g. 30s, 10m, 2h.
    #[arg(long, value_name = "DURATION", value_parser = duration)]
    pub(crate) timeout: Option<Duration>,
    /// After a successful run, download its results into DIR (batch: DIR/LINE-NAME); implies
    /// --wait.
    #[arg(long, value_name = "DIR")]
    pub(crate) download: Option<PathBuf>,
}

impl ThenArgs {
    /// Whether runs are awaited.
    pub(crate) fn waits(&self) -> bool {
        self.wait || self.download.is_some() || self.timeout.is_some()
    }
}

#[derive(Subcommand, Debug)]
pub(crate) enum ComputationCmd {
    /// Show a computation.
    Get {
        /// Computation id.
        id: String,
    },
    /// Wait until a computation finishes; exit 3 if it failed or was stopped, 4 on timeout.
    Wait {
        /// Computation id.
        id: String,
        /// Give up after this long, e.g. 30s, 10m, 2h (default 24h).
        #[arg(long, value_name = "DURATION", value_parser = duration)]
        timeout: Option<Duration>,
    },
    /// Rename a computation.
    Rename {
        /// Computation id.
        id: String,
        /// The new name.
        name: String,
    },
    /// Delete a computation (stopping it first if it is running).
    Delete {
        /// Computation id.
        id: String,
    },
    /// Attach data assets to a running cloud workstation session.
    Attach {
        /// Computation id of the session.
        id: String,
        /// A data asset to attach (repeatable).
        #[arg(long = "data-asset", value_name = "ID[:MOUNT]", required = true)]
        data_assets: Vec<String>,
    },
    /// Detach data assets from a running cloud workstation session.
    Detach {
        /// Computation id of the session.
        id: String,
        /// Ids of the data assets to detach.
        #[arg(required = true, value_name = "DATA_ASSET_ID")]
        data_assets: Vec<String>,
    },
}

#[derive(Subcommand, Debug)]
pub(crate) enum ResultsCmd {
    /// List one folder of a computation's results (or the whole tree with --recursive).
    Ls {
        /// Computation id.
        id: String,
        /// Folder to list (default: the results root).
        #[arg(default_value = "", hide_default_value = true)]
        path: String,
        /// Walk the whole tree below PATH (JSON Lines with --json).
        #[arg(short, long)]
        recursive: bool,
        #[command(flatten)]
        caps: WalkCaps,
    },
    /// Print the signed download URL of a result file (and its view URL, on stderr).
    Url {
        /// Computation id.
        id: String,
        /// File path, relative to the results root.
        path: String,
    },
    /// Download results (resumable: complete files are skipped, partial ones resumed).
    Download {
        /// Computation id.
        id: String,
        /// Folder or file to download (default: everything).
        #[arg(default_value = "", hide_default_value = true)]
        path: String,
        /// Destination folder (created if missing).
        #[arg(long, value_name = "DIR")]
        to: PathBuf,
        /// Files transferred at once [default: the library's, 16].
        #[arg(long, value_name = "N")]
        concurrency: Option<usize>,
        #[command(flatten)]
        caps: WalkCaps,
    },
}

#[derive(Subcommand, Debug)]
pub(crate) enum DataAssetCmd {
    /// Create a data asset from a computation's results.
    Create {
        /// The computation whose results become the asset.
        #[arg(long, value_name = "ID")]
        from_computation: String,
        /// The asset's name.
        #[arg(long)]
        name: String,
        /// The folder under /data the asset mounts in.
        #[arg(long)]
        mount: String,
        /// A description.
        #[arg(long)]
        description: Option<String>,
        /// A tag (repeatable).
        #[arg(long = "tag", value_name = "TAG")]
        tags: Vec<String>,
        /// Wait until the asset is ready; exit 3 if it failed, 4 on timeout.
        #[arg(long)]
        wait: bool,
        /// Give up waiting after this long.
        #[arg(long, value_name = "DURATION", requires = "wait", value_parser = duration)]
        timeout: Option<Duration>,
    },
    /// Show a data asset.
    Get {
        /// Data asset id.
        id: String,
    },
    /// Change a data asset's metadata (only what is given changes).
    Update {
        /// Data asset id.
        id: String,
        /// A new name.
        #[arg(long)]
        name: Option<String>,
        /// A new description.
        #[arg(long)]
        description: Option<String>,
        /// Tags replacing the current ones (repeatable).
        #[arg(long = "tag", value_name = "TAG")]
        tags: Vec<String>,
        /// A new mount folder.
        #[arg(long)]
        mount: Option<String>,
        /// A custom metadata field (repeatable; numbers stay numbers). The fields sent replace
        /// the asset's custom metadata.
        #[arg(long = "metadata", value_name = "KEY=VALUE")]
        metadata: Vec<String>,
    },
    /// Wait until a data asset is ready; exit 3 if it failed, 4 on timeout.
    Wait {
        /// Data asset id.
        id: String,
        /// Give up after this long.
        #[arg(long, value_name = "DURATION", value_parser = duration)]
        timeout: Option<Duration>,
    },
    /// Search data assets by text, type, ownership and more; every match, page after page
    /// (JSON Lines with --json).
    Search {
        #[command(flatten)]
        common: SearchArgs,
        /// Only data assets of this type.
        #[arg(long = "type", value_name = "TYPE", value_parser = ["dataset", "result", "combined", "model"])]
        asset_type: Option<String>,
        /// Only internal or only external data assets.
        #[arg(long, value_name = "ORIGIN", value_parser = ["internal", "external"])]
        origin: Option<String>,
        /// Sort by this field (with --desc: largest first).
        #[arg(long, value_name = "FIELD", value_parser = ["created", "type", "name", "size"])]
        sort: Option<String>,
    },
    /// List one folder of a data asset's files (or the whole tree with --recursive).
    Ls {
        /// Data asset id.
        id: String,
        /// Folder to list (default: the root).
        #[arg(default_value = "", hide_default_value = true)]
        path: String,
        /// Walk the whole tree below PATH (JSON Lines with --json).
        #[arg(short, long)]
        recursive: bool,
        #[command(flatten)]
        caps: WalkCaps,
    },
    /// Print the signed download URL of a data asset's file (and its view URL, on stderr).
    Url {
        /// Data asset id.
        id: String,
        /// File path, relative to the data asset's root.
        path: String,
    },
    /// Download a data asset's files (resumable: complete files are skipped, partial ones
    /// resumed).
    Download {
        /// Data asset id.
        id: String,
        /// Folder or file to download (default: everything).
        #[arg(default_value = "", hide_default_value = true)]
        path: String,
        /// Destination folder (created if missing).
        #[arg(long, value_name = "DIR")]
        to: PathBuf,
        /// Files transferred at once [default: the library's, 16].
        #[arg(long, value_name = "N")]
        concurrency: Option<usize>,
        #[command(flatten)]
        caps: WalkCaps,
    },
    /// Archive a data asset (--undo: bring it back from the archive).
    Archive {
        /// Data asset id.
        id: String,
        /// Unarchive instead.
        #[arg(long)]
        undo: bool,
    },
    /// Delete a data asset permanently.
    Delete {
        /// Data asset id.
        id: String,
    },
    /// Show or change who may use a data asset.
    #[command(subcommand)]
    Permissions(PermissionsCmd),
    /// Start moving a data asset's files to another S3 location (administrators only).
    ///
    /// The move runs in the background: `data-asset get` shows when it last finished
    /// (`last_transferred`) and any error (`transfer_error`).
    Transfer {
        /// Data asset id.
        id: String,
        /// The S3 bucket to move the files to.
        #[arg(long)]
        bucket: String,
        /// The folder in the bucket.
        #[arg(long)]
        prefix: Option<String>,
        /// The name of a custom S3 endpoint of the deployment's that the bucket is on.
        #[arg(long, value_name = "NAME")]
        endpoint: Option<String>,
        /// Transfer even when released pipelines use the data asset.
        #[arg(long)]
        force: bool,
    },
}

/// Permissions of a capsule, pipeline or data asset.
#[derive(Subcommand, Debug)]
pub(crate) enum PermissionsCmd {
    /// Show the users, groups and everyone's role.
    Get {
        /// Capsule, pipeline or data asset id.
        id: String,
    },
    /// Change them (at least one of --user, --group, --everyone).
    ///
    /// The users given replace the current users (the owner stays owner), the groups given
    /// replace the current groups, --everyone replaces everyone's role; what is not given stays.
    #[command(group(clap::ArgGroup::new("change").required(true).multiple(true).args(["users", "groups", "everyone"])))]
    Set {
        /// Capsule, pipeline or data asset id.
        id: String,
        /// A user by e-mail address and their role: owner, editor or viewer (repeatable).
        #[arg(long = "user", value_name = "EMAIL=ROLE", value_parser = user_role)]
        users: Vec<(String, codeocean::UserRole)>,
        /// A group by id and its role: owner, editor, viewer or discoverable (repeatable).
        #[arg(long = "group", value_name = "GROUP=ROLE", value_parser = group_role)]
        groups: Vec<(String, codeocean::GroupRole)>,
        /// What everyone in the deployment may do.
        #[arg(long, value_name = "ROLE", value_parser = ["viewer", "discoverable", "none"])]
        everyone: Option<String>,
        /// Also share the related assets (attached data assets, a pipeline's capsules) with the
        /// users and groups given.
        #[arg(long)]
        share_assets: bool,
    },
}

/// Splits `NAME=ROLE` and checks the role against `known`.
fn named_role(spec: &str, known: &[&str]) -> Result<(String, String), String> {
    let Some((name, role)) = spec.rsplit_once('=').filter(|(n, _)| !n.is_empty()) else {
        return Err(format!(
            "expected NAME=ROLE, e.g. ada@example.com={}",
            known[0]
        ));
    };
    if !known.contains(&role) {
        return Err(format!(
            "unknown role `{role}` (one of {})",
            known.join(", ")
        ));
    }
    Ok((name.to_owned(), role.to_owned()))
}

/// Parses `--user EMAIL=ROLE`.
fn user_role(spec: &str) -> Result<(String, codeocean::UserRole), String> {
    let (name, role) = named_role(spec, codeocean::UserRole::KNOWN)?;
    Ok((name, codeocean::UserRole::from(role.as_str())))
}

/// Parses `--group GROUP=ROLE`.
fn group_role(spec: &str) -> Result<(String, codeocean::GroupRole), String> {
    let (name, role) = named_role(spec, codeocean::GroupRole::KNOWN)?;
    Ok((name, codeocean::GroupRole::from(role.as_str())))
}

/// The custom metadata schema.
#[derive(Subcommand, Debug)]
pub(crate) enum CustomMetadataCmd {
    /// Show the fields: name, type, whether required, category, units, range and allowed values
    /// (the whole schema with --json).
    Get,
}

#[derive(Args, Debug)]
pub(crate) struct BatchArgs {
    /// One run request per line: the `run --request` JSON plus an optional "name" (see
    /// `codeocean schema batch-line`). Every line is checked before anything is launched.
    pub(crate) file: PathBuf,
    /// Runs launched or awaited at once.
    #[arg(long, default_value_t = 4, value_name = "N")]
    pub(crate) concurrency: usize,
    /// Least time between two launches.
    #[arg(long, default_value = "200ms", value_name = "DURATION", value_parser = duration)]
    pub(crate) spacing: Duration,
    /// Journal of launched lines (default FILE.state); a re-run skips lines recorded there.
    #[arg(long, value_name = "FILE")]
    pub(crate) state: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) then: ThenArgs,
}

#[derive(Args, Debug)]
pub(crate) struct DemoArgs {
    /// Where to download the results (default: a new ./codeocean-demo-output folder).
    #[arg(long, value_name = "DIR")]
    pub(crate) to: Option<PathBuf>,
    /// Use the configured Code Ocean deployment (--domain/--token or CODEOCEAN_DOMAIN/
    /// CODEOCEAN_TOKEN) instead of the local server; needs --capsule.
    #[arg(long, requires = "capsule")]
    pub(crate) remote: bool,
    /// With --remote: the capsule to run.
    #[arg(long, value_name = "ID", requires = "remote")]
    pub(crate) capsule: Option<String>,
    /// With --remote: a data asset to attach (repeatable).
    #[arg(long = "data-asset", value_name = "ID[:MOUNT]", requires = "remote")]
    pub(crate) data_assets: Vec<String>,
    /// With --remote: a named parameter (repeatable).
    #[arg(long = "named-param", value_name = "NAME=VALUE", requires = "remote")]
    pub(crate) named_params: Vec<String>,
    /// Simulated seconds per real second of the local server.
    #[arg(long, default_value_t = 20.0, conflicts_with = "remote")]
    pub(crate) time_scale: f64,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
pub(crate) enum SchemaKind {
    /// The body of `run --request FILE.json` (the API's run request).
    RunRequest,
    /// One line of a `batch` file.
    BatchLine,
}
