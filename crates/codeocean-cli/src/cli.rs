//! The command line: every command, flag and help text.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// The heading of the options every command takes.
const GLOBAL: &str = "Global options";

const AFTER_HELP: &str = "\
Configuration:
  The domain and the token each come from the first of: --domain/--token; CODEOCEAN_DOMAIN/
  CODEOCEAN_TOKEN; the profile --profile NAME (or CODEOCEAN_PROFILE, or the file's `default`)
  of $XDG_CONFIG_HOME/codeocean/config.toml (~/.config/codeocean/config.toml); and, only when
  none of these configures anything, ~/.codeocean/credentials.json. `codeocean config show`
  tells which. The domain is a bare domain (acmecorp.codeocean.com) or a URL
  (http://127.0.0.1:8080). The token is never printed.
  Certificates are checked against the system's trust store; a deployment signed by a private
  CA needs --ca-cert FILE (or CODEOCEAN_CA_CERT=FILE), or that CA in the system store.

Exit codes:
  0  success
  1  error (including a download that left files missing)
  2  usage error
  3  the awaited run, data asset or release finished but failed or was stopped
  4  waiting timed out
  130  interrupted (Ctrl-C)

  A run awaited by `run --wait` or `computation wait` goes on in Code Ocean after a timeout (4)
  or Ctrl-C (130): the last line gives its full id and the command that resumes it, e.g.
  `codeocean computation wait ID --download DIR`; with --json, one document with its `id`, an
  `outcome` of \"timeout\" or \"interrupted\" and `resume`. A closed stdout (`| head`) ends a
  command quietly, with exit 0.

Try it without an account: `codeocean demo` runs the whole job against a bundled local server.";

const EXAMPLES_RUN: &str = "\
Examples:
  codeocean run --capsule ID --wait --download results/
  codeocean run --capsule ID --data-asset DATA_ASSET_ID:reference --named-param greeting=hi
  codeocean run --request run.json --version 2 --name nightly --wait --timeout 2h
  codeocean --json run --capsule ID | jq -r .id
  After a timeout or Ctrl-C the run goes on; resume with the command printed, e.g.
  codeocean computation wait ID --download results/";

const EXAMPLES_COMPUTATION_WAIT: &str = "\
Examples:
  codeocean computation wait ID
  codeocean computation wait ID --download results/ --timeout 1h
  codeocean --json computation wait ID | jq -r .outcome";

const EXAMPLES_RESULTS_DOWNLOAD: &str = "\
Examples:
  codeocean results download ID results/
  codeocean results download ID results/ --path tables
  codeocean results download ID . --path output.txt --concurrency 4";

const EXAMPLES_DATA_ASSET_CREATE: &str = "\
Examples:
  codeocean data-asset create --from-computation ID --name 'Run 12' --mount run-12 --wait
  codeocean data-asset create --from-s3 s3://lab-data/raw/2026 --keep-on-external-storage \\
    --name 'Raw reads 2026' --mount raw-reads --wait
  codeocean data-asset create --from-gcs gs://lab-images/scans --gcs-credentials gcs.json \\
    --name Scans --mount scans
  codeocean data-asset create --combine ID1 ID2 --name 'Reads and reference' --mount inputs
  codeocean --json data-asset create --from-computation ID --name R --mount r --tag qc | jq -r .id";

const EXAMPLES_DATA_ASSET_DOWNLOAD: &str = "\
Examples:
  codeocean data-asset download ID data/
  codeocean data-asset download ID data/ --path genome/chromosomes";

const EXAMPLES_SEARCH: &str = "\
Examples:
  codeocean capsule search 'tag:genomics' --ownership created --sort name
  codeocean --json capsule search --status release --limit 10 | jq -r .id";

const EXAMPLES_PIPELINE_SEARCH: &str = "\
Examples:
  codeocean pipeline search 'tag:genomics' --ownership created --sort name
  codeocean --json pipeline search --status release --limit 10 | jq -r .id";

const EXAMPLES_DATA_ASSET_SEARCH: &str = "\
Examples:
  codeocean data-asset search 'name:\"single cell\"' --type dataset
  codeocean --json data-asset search --type result --sort size --desc --limit 5 | jq -r .id";

const EXAMPLES_BATCH: &str = "\
Examples:
  codeocean batch runs.jsonl --wait --download results/
  codeocean --json batch runs.jsonl --concurrency 2 --timeout 2h
  An interrupted batch resumes: run the same command again (lines in FILE.state are skipped).";

const EXAMPLES_CAPTURE: &str = "\
Examples:
  codeocean capture --capsule ID --data-asset DATA_ASSET_ID:raw --tag derived --state job.state
  codeocean capture --pipeline ID --name-template '{name}_{suffix}_{datetime}' --tz US/Pacific \\
    --metadata study=ecephys --target s3://lab-results --timeout 6h --stop-on-timeout
  codeocean --json capture --settings monitor.json | jq -r .data_asset.id
  An interrupted capture resumes: run the same command again (with the same --state; with
  --settings FILE the default is FILE.state). It never starts a second run or makes a second
  data asset.

--settings FILE.json takes aind-codeocean-pipeline-monitor's PipelineMonitorSettings JSON as it
is: run_params is the run request (the run flags add to it, as to --request); capture_settings'
name, mount, description, tags, custom_metadata, target.aws, results_info, permissions,
process_name_suffix and process_name_suffix_tz are used, each replaced by its flag when given
(--name, --mount, --description, --suffix, --tz, --everyone; --tag, --metadata, --share-user and
--share-group add to them); computation_timeout stops the run when it passes (as --timeout with
--stop-on-timeout), data_asset_ready_timeout is --asset-timeout; no capture_settings is
--no-capture. alert_url and docdb_settings are not acted on (a warning says so); polling follows
--poll-interval.";

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
    /// Profile of the configuration file to use (see Configuration below).
    #[arg(
        long,
        global = true,
        env = "CODEOCEAN_PROFILE",
        hide_env_values = true,
        value_name = "NAME",
        help_heading = GLOBAL
    )]
    pub(crate) profile: Option<String>,
    /// Print machine-readable JSON on stdout: one document about one object (`jq -r .id`), or
    /// JSON Lines for lists (`ls`, searches, `computations`, `batch`), one object per line.
    #[arg(long, global = true, help_heading = GLOBAL)]
    pub(crate) json: bool,
    /// Filter the JSON output with this jq expression (implies --json): each result on a line,
    /// strings without quotes, e.g. --jq .id or --jq 'select(.state == "failed") | .id'.
    #[arg(long, global = true, value_name = "EXPR", help_heading = GLOBAL)]
    pub(crate) jq: Option<String>,
    /// More logging on stderr (-v: requests, -vv: debug).
    #[arg(short, long, global = true, action = clap::ArgAction::Count, conflicts_with = "quiet", help_heading = GLOBAL)]
    pub(crate) verbose: u8,
    /// Tables in full: no cell shortened to fit the terminal (tables fit the terminal's width
    /// when stdout is one, or COLUMNS when it is set; JSON is never shortened).
    #[arg(long, global = true, help_heading = GLOBAL)]
    pub(crate) wide: bool,
    /// Only errors on stderr: no progress, no notes.
    #[arg(short, long, global = true, help_heading = GLOBAL)]
    pub(crate) quiet: bool,
    /// First interval between status polls while waiting (they grow up to 30s).
    #[arg(long, global = true, value_name = "DURATION", default_value = "1s", value_parser = nonzero_duration, help_heading = GLOBAL)]
    pub(crate) poll_interval: Duration,
    /// Give up on an API call after this long, retries included (default 90s); a download
    /// gives up on a file after this long without progress.
    #[arg(long, global = true, value_name = "DUR", value_parser = nonzero_duration, help_heading = GLOBAL)]
    pub(crate) request_timeout: Option<Duration>,
    /// Trust the CAs in this PEM file too (repeatable): for a deployment whose certificate a
    /// private CA signed. SSL_CERT_FILE instead replaces the system's trust store.
    #[arg(
        long = "ca-cert",
        global = true,
        env = "CODEOCEAN_CA_CERT",
        hide_env_values = true,
        value_name = "FILE",
        action = clap::ArgAction::Append,
        help_heading = GLOBAL
    )]
    pub(crate) ca_certs: Vec<PathBuf>,
    /// Speak HTTP/2 with servers that offer it over TLS (default: HTTP/1.1).
    #[arg(
        long,
        global = true,
        env = "CODEOCEAN_HTTP2",
        hide_env_values = true,
        value_parser = clap::builder::BoolishValueParser::new(),
        help_heading = GLOBAL
    )]
    pub(crate) http2: bool,
    /// API requests in flight at once, fixed (default: adaptive, 4 to 64, backing off when the
    /// server throttles or slows down). Either way a 429/503 with Retry-After holds them all.
    #[arg(
        long,
        global = true,
        env = "CODEOCEAN_API_CONCURRENCY",
        hide_env_values = true,
        value_name = "N",
        value_parser = at_least_one,
        help_heading = GLOBAL
    )]
    pub(crate) api_concurrency: Option<usize>,
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
            Command::Results(
                ResultsCmd::Ls { caps, .. }
                | ResultsCmd::Download {
                    dest: DownloadDest { caps, .. },
                    ..
                },
            )
            | Command::DataAsset(
                DataAssetCmd::Ls { caps, .. }
                | DataAssetCmd::Download {
                    dest: DownloadDest { caps, .. },
                    ..
                },
            ) => *caps,
            _ => WalkCaps::default(),
        }
    }
}

/// Parses a duration like `30s`, `10m`, `1h 30m` or `250ms`.
pub(crate) fn duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s).map_err(|e| format!("{e} (examples: 30s, 10m, 1h30m)"))
}

/// Parses a duration that must not be zero (`--poll-interval 0s` would poll without pause).
fn nonzero_duration(s: &str) -> Result<Duration, String> {
    match duration(s)? {
        d if d.is_zero() => Err("must be more than zero, e.g. 1s or 250ms".into()),
        d => Ok(d),
    }
}

/// Parses a finite number above zero (`demo --time-scale`).
#[cfg(feature = "sim")]
fn positive_number(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(x) if x.is_finite() && x > 0.0 => Ok(x),
        Ok(_) => Err("must be a number above zero, e.g. 20".into()),
        Err(e) => Err(format!("{e} (expected a number above zero, e.g. 20)")),
    }
}

/// Parses a count that must be at least 1.
fn at_least_one(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(e) => Err(format!("{e} (expected a whole number, at least 1)")),
    }
}

/// Checks `NAME=VALUE` (`--named-param`, `--metadata`): an `=` and a name before it.
fn name_value(s: &str) -> Result<String, String> {
    match s.split_once('=') {
        Some((name, _)) if !name.trim().is_empty() => Ok(s.to_owned()),
        Some(_) => Err("the name before `=` is empty (expected NAME=VALUE)".into()),
        None => Err(format!(
            "no `=` in it (expected NAME=VALUE, e.g. {s}=VALUE)"
        )),
    }
}

/// Checks `ID[:MOUNT]` (`--data-asset`): the id is not empty.
fn asset_spec(s: &str) -> Result<String, String> {
    let id = s.split_once(':').map_or(s, |(id, _)| id);
    if id.trim().is_empty() {
        return Err("the data asset id is empty (expected ID or ID:MOUNT)".into());
    }
    Ok(s.to_owned())
}

#[derive(Subcommand, Debug)]
pub(crate) enum Command {
    /// Find, look at and manage capsules: search, attach data assets, release.
    #[command(subcommand)]
    Capsule(AppCmd),
    /// Find, look at and manage pipelines: search, attach data assets, release.
    #[command(subcommand, mut_subcommand("search", |c| c.after_help(EXAMPLES_PIPELINE_SEARCH)))]
    Pipeline(AppCmd),
    /// Start a run of a capsule or a pipeline, optionally wait for it and download its results.
    #[command(after_help = EXAMPLES_RUN)]
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
    #[command(
        after_help = EXAMPLES_BATCH,
        mut_arg("wait", |a| a.help("Wait until every run finishes, including runs launched by an earlier, interrupted batch; exit 3 if a run failed or was stopped")),
        mut_arg("download", |a| a.help("After each successful run, download its results into DIR/LINE-NAME; implies --wait")),
    )]
    Batch(BatchArgs),
    /// Run a capsule or pipeline, check that it succeeded, and keep its results as a data
    /// asset (named from a template, tagged, shared), resumably: what
    /// aind-codeocean-pipeline-monitor does, and its settings file.
    #[command(after_help = EXAMPLES_CAPTURE)]
    Capture(Box<CaptureArgs>),
    /// Start the bundled local Code Ocean server in the foreground (same flags as codeocean-sim).
    // Its help is the simulator's own (`commands::sim::help`), without the global options,
    // which do not apply to it.
    #[cfg(feature = "sim")]
    #[command(disable_help_flag = true)]
    Sim(Box<SimArgs>),
    /// The whole job end to end against an in-process local server: run, wait, download,
    /// verify, make a data asset.
    #[cfg(feature = "sim")]
    Demo(DemoArgs),
    /// Not in this build: the bundled local server needs the `sim` feature (on by default).
    #[cfg(not(feature = "sim"))]
    #[command(disable_help_flag = true)]
    Sim(WithoutSim),
    /// Not in this build: the end-to-end demo needs the `sim` feature (on by default).
    #[cfg(not(feature = "sim"))]
    #[command(disable_help_flag = true)]
    Demo(WithoutSim),
    /// Serve the Model Context Protocol so an AI agent can search, run, wait, read and
    /// download through this client (stdio by default, or streamable HTTP).
    #[cfg(feature = "mcp")]
    #[command(after_help = EXAMPLES_MCP)]
    Mcp(McpArgs),
    /// Not in this build: the MCP server needs the `mcp` feature (cargo install --locked
    /// codeocean-cli --features mcp).
    #[cfg(not(feature = "mcp"))]
    #[command(disable_help_flag = true)]
    Mcp(WithoutMcp),
    /// Send any API request (a path under /api/v1) and print its JSON answer: everything the
    /// other commands do not cover.
    #[command(after_help = EXAMPLES_API)]
    Api(ApiArgs),
    /// Show where the domain and the token come from (profiles, environment, flags).
    #[command(subcommand)]
    Config(ConfigCmd),
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

#[cfg(feature = "mcp")]
const EXAMPLES_MCP: &str = "\
Examples:
  codeocean mcp                                  (an MCP client starts it: stdio)
  codeocean mcp --read-only --download-dir ~/co-downloads
  codeocean mcp --transport http --port 8000     (http://127.0.0.1:8000/mcp)
  Over HTTP each request's `Authorization: Bearer TOKEN` is that session's token (on the
  configured domain); without one the configured token is used. Over stdio only the protocol
  goes to stdout; logs go to stderr.";

/// How `codeocean mcp` serves.
#[cfg(feature = "mcp")]
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum McpTransport {
    /// JSON-RPC lines on stdin and stdout: the MCP client starts the command.
    Stdio,
    /// Streamable HTTP at http://HOST:PORT/mcp.
    Http,
}

/// `codeocean mcp`.
#[cfg(feature = "mcp")]
#[derive(Args, Debug)]
pub(crate) struct McpArgs {
    /// How to serve the protocol.
    #[arg(long, value_enum, default_value_t = McpTransport::Stdio)]
    pub(crate) transport: McpTransport,
    /// With --transport http: the port (0: any free port, said on stderr).
    #[arg(long, default_value_t = 8000)]
    pub(crate) port: u16,
    /// With --transport http: the address to listen on (0.0.0.0: every address, any `Host`
    /// accepted; otherwise only loopback names and this address, against DNS rebinding).
    #[arg(long, default_value = "127.0.0.1")]
    pub(crate) host: String,
    /// Hide (and refuse) every tool that changes anything: run, rename, delete, update,
    /// create, attach, detach, sync, release.
    #[arg(long)]
    pub(crate) read_only: bool,
    /// The folder downloads are confined to (default: the current folder); a tool's folder
    /// is taken relative to it, and one escaping it is refused.
    #[arg(long, value_name = "DIR")]
    pub(crate) download_dir: Option<PathBuf>,
    /// The most bytes a file-reading tool returns (the file is read no further).
    #[arg(long, value_name = "BYTES", default_value_t = 1024 * 1024)]
    pub(crate) max_read_bytes: u64,
}

/// `codeocean mcp` in a build without the `mcp` feature: any arguments, all refused.
#[cfg(not(feature = "mcp"))]
#[derive(Args, Debug)]
pub(crate) struct WithoutMcp {
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
    pub(crate) rest: Vec<String>,
}

const EXAMPLES_API: &str = "\
Examples:
  codeocean api capsules/ID
  codeocean api computations/ID/results -X POST -f path=tables
  codeocean api data_assets/search -f query=tag:qc -f limit=100 --paginate --jq .id
  codeocean api -X PATCH data_assets/ID --input update.json
  Through the same client as every command: retries, throttling, timeouts; an error status
  exits 1 with the status and the server's message.";

/// `codeocean api`.
#[derive(Args, Debug)]
pub(crate) struct ApiArgs {
    /// The path under /api/v1: capsules/ID, data_assets/search (a leading / is allowed).
    pub(crate) path: String,
    /// The HTTP method [default: GET, or POST with -f or --input].
    #[arg(short = 'X', long, value_name = "METHOD")]
    pub(crate) method: Option<String>,
    /// A field KEY=VALUE (repeatable): of the JSON body, or a query parameter for GET and
    /// DELETE. Values are typed: numbers, true, false and null as JSON, anything else a string.
    #[arg(short = 'f', long = "field", value_name = "KEY=VALUE", value_parser = name_value)]
    pub(crate) fields: Vec<String>,
    /// The JSON body from this file (- for stdin).
    #[arg(long, value_name = "FILE", conflicts_with = "fields")]
    pub(crate) input: Option<PathBuf>,
    /// A search: fetch every page (offset and limit) and print each result as JSON Lines.
    #[arg(long)]
    pub(crate) paginate: bool,
}

/// `codeocean config`.
#[derive(Subcommand, Debug)]
pub(crate) enum ConfigCmd {
    /// Show the resolved profile, domain and token (redacted), and where each came from;
    /// a profile's token_command is not run.
    #[command(after_help = EXAMPLES_CONFIG_SHOW)]
    Show,
}

const EXAMPLES_CONFIG_SHOW: &str = "\
Examples:
  codeocean config show
  codeocean --profile staging config show
  codeocean --json config show | jq -r .domain.source

A configuration file (~/.config/codeocean/config.toml):
  default = \"acme\"
  [profiles.acme]
  domain = \"acmecorp.codeocean.com\"
  token_command = \"pass show codeocean/acme\"   # or: token = \"...\" (then chmod 600 the file)";

/// The commands of capsules and of pipelines (the API serves both alike).
#[derive(Subcommand, Debug)]
pub(crate) enum AppCmd {
    /// Show its metadata, then its app panel's parameters (--json: the capsule or pipeline
    /// object only; `app-panel ID --json` has the parameters).
    Get {
        /// Capsule or pipeline id.
        id: String,
    },
    /// Show its app panel's parameters: position (--param), name (--named-param), type,
    /// default, allowed values; a pipeline's per process (the whole app panel with --json).
    AppPanel {
        /// Capsule or pipeline id.
        id: String,
        /// Of this released version (default: the current one).
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(i64).range(1..))]
        version: Option<i64>,
    },
    /// List its computations.
    Computations {
        /// Capsule or pipeline id.
        id: String,
    },
    /// Search by text, status, ownership and more; every match, page after page (JSON Lines
    /// with --json).
    #[command(after_help = EXAMPLES_SEARCH)]
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
        #[arg(long = "data-asset", value_name = "ID[:MOUNT]", required = true, value_parser = asset_spec)]
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
    /// Delete it permanently (asks first; --yes to skip the question).
    Delete {
        /// Capsule or pipeline id.
        id: String,
        /// Do not ask for confirmation (required when stdin or stderr is not a terminal).
        #[arg(short, long)]
        yes: bool,
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
    #[arg(long, value_name = "N", value_parser = at_least_one)]
    pub(crate) limit: Option<usize>,
    /// Results per request (1 to 1000).
    #[arg(long, value_name = "N", default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub(crate) page_size: u32,
    /// Most requests (pages) before giving up with an error, so a server that always claims
    /// more results cannot keep the command running forever.
    #[arg(long, value_name = "N", default_value_t = 1000, value_parser = at_least_one)]
    pub(crate) max_pages: usize,
}

/// What to run and with what.
#[derive(Args, Debug, Clone, Default)]
#[command(group(clap::ArgGroup::new("target").required(true)))]
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
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(i64).range(1..))]
    pub(crate) version: Option<i64>,
    /// Attach a data asset, at MOUNT under /data (default: the asset's own mount). Repeatable;
    /// replaces an entry of the request file with the same id.
    #[arg(long = "data-asset", value_name = "ID[:MOUNT]", value_parser = asset_spec)]
    pub(crate) data_assets: Vec<String>,
    /// Ordered parameter (repeatable, in order); replaces the request file's ordered parameters.
    #[arg(long = "param", value_name = "VALUE")]
    pub(crate) params: Vec<String>,
    /// Named parameter (repeatable); overrides the request file's parameter of that name.
    #[arg(long = "named-param", value_name = "NAME=VALUE", value_parser = name_value)]
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
    /// Wait until the run finishes; exit 3 if it failed or was stopped.
    #[arg(long)]
    pub(crate) wait: bool,
    /// Give up waiting for a run after this long (exit 4), e.g. 30s, 10m, 2h.
    #[arg(long, value_name = "DURATION", value_parser = duration)]
    pub(crate) timeout: Option<Duration>,
    /// After a successful run, download its results into DIR; implies --wait.
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
    /// Wait until a computation finishes (then download its results with --download); exit 3
    /// if it failed or was stopped, 4 on timeout. Resumes a `run --wait` that timed out or was
    /// interrupted.
    #[command(after_help = EXAMPLES_COMPUTATION_WAIT)]
    Wait {
        /// Computation id.
        id: String,
        /// Give up after this long, e.g. 30s, 10m, 2h (default 24h).
        #[arg(long, value_name = "DURATION", value_parser = duration)]
        timeout: Option<Duration>,
        /// After a successful run, download its results into DIR (resumable: complete files
        /// are skipped).
        #[arg(long, value_name = "DIR")]
        download: Option<PathBuf>,
    },
    /// Rename a computation.
    Rename {
        /// Computation id.
        id: String,
        /// The new name.
        name: String,
    },
    /// Delete a computation, stopping it first if it is running (asks first; --yes to skip
    /// the question).
    Delete {
        /// Computation id.
        id: String,
        /// Do not ask for confirmation (required when stdin or stderr is not a terminal).
        #[arg(short, long)]
        yes: bool,
    },
    /// Attach data assets to a running cloud workstation session.
    Attach {
        /// Computation id of the session.
        id: String,
        /// A data asset to attach (repeatable).
        #[arg(long = "data-asset", value_name = "ID[:MOUNT]", required = true, value_parser = asset_spec)]
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

/// Where `results download` and `data-asset download` put the files, and how (after `ID` and
/// `--path`, in this order in their help).
#[derive(Args, Debug)]
pub(crate) struct DownloadDest {
    /// Destination folder (created if missing); the files keep their paths under it.
    #[arg(value_name = "DIR")]
    pub(crate) dir: Option<PathBuf>,
    /// The destination folder, as a flag (the same as DIR).
    #[arg(long, value_name = "DIR")]
    pub(crate) to: Option<PathBuf>,
    /// Files transferred at once, fixed [default: adaptive, from 16 between 4 and 64: more
    /// while more at once brings more files a second, fewer on throttling]
    #[arg(long, value_name = "N", value_parser = at_least_one)]
    pub(crate) concurrency: Option<usize>,
    #[command(flatten)]
    pub(crate) caps: WalkCaps,
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
    /// Download results (resumable: files completed from this computation are skipped, partial
    /// ones resumed, other files at its paths replaced).
    #[command(after_help = EXAMPLES_RESULTS_DOWNLOAD)]
    Download {
        /// Computation id.
        id: String,
        /// Only this folder or file of the results (default: everything).
        #[arg(
            long,
            value_name = "PATH",
            default_value = "",
            hide_default_value = true
        )]
        path: String,
        #[command(flatten)]
        dest: DownloadDest,
    },
}

#[derive(Subcommand, Debug)]
pub(crate) enum DataAssetCmd {
    /// Create a data asset from a computation's results, an S3 or GCS bucket, or other data
    /// assets (a combined asset).
    #[command(after_help = EXAMPLES_DATA_ASSET_CREATE)]
    Create(Box<CreateArgs>),
    /// Show a data asset.
    Get {
        /// Data asset id.
        id: String,
    },
    /// Show the capsules and pipelines that attach a data asset (archived ones included):
    /// searches every capsule and pipeline you can see and reads each one's app panel.
    Usage {
        /// Data asset id.
        id: String,
    },
    /// Change a data asset's metadata: only what is given changes; tags and custom metadata
    /// are merged into the current ones unless --replace-tags / --replace-metadata.
    Update(UpdateArgs),
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
    #[command(after_help = EXAMPLES_DATA_ASSET_SEARCH)]
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
    /// Download a data asset's files (resumable: files completed from this data asset are
    /// skipped, partial ones resumed, other files at its paths replaced).
    #[command(after_help = EXAMPLES_DATA_ASSET_DOWNLOAD)]
    Download {
        /// Data asset id.
        id: String,
        /// Only this folder or file of the data asset (default: everything).
        #[arg(
            long,
            value_name = "PATH",
            default_value = "",
            hide_default_value = true
        )]
        path: String,
        #[command(flatten)]
        dest: DownloadDest,
    },
    /// Archive a data asset (--undo: bring it back from the archive).
    Archive {
        /// Data asset id.
        id: String,
        /// Unarchive instead.
        #[arg(long)]
        undo: bool,
    },
    /// Delete a data asset permanently (asks first; --yes to skip the question).
    Delete {
        /// Data asset id.
        id: String,
        /// Do not ask for confirmation (required when stdin or stderr is not a terminal).
        #[arg(short, long)]
        yes: bool,
    },
    /// Show or change who may use a data asset.
    #[command(subcommand)]
    Permissions(PermissionsCmd),
    /// Start moving a data asset's files to another S3 location (administrators only; asks
    /// first, --yes to skip the question).
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
        /// Do not ask for confirmation (required when stdin or stderr is not a terminal).
        #[arg(short, long)]
        yes: bool,
    },
}

/// The heading of `data-asset create`'s source options.
const SOURCE: &str = "Source (exactly one)";

/// `data-asset create`.
#[derive(Args, Debug)]
// Each source's own flags conflict with the other sources: clap takes a `requires` of a group
// member as met when another member of the group is given, so it alone would let
// `--from-computation ID --public` through.
#[command(group(
    clap::ArgGroup::new("source")
        .required(true)
        .args(["from_computation", "from_s3", "from_gcs", "combine"])
))]
pub(crate) struct CreateArgs {
    /// The computation whose results become the asset (a result asset).
    #[arg(long, value_name = "ID", help_heading = SOURCE)]
    pub(crate) from_computation: Option<String>,
    /// With --from-computation: only this folder of the results.
    #[arg(long, value_name = "PATH", requires = "from_computation", conflicts_with_all = ["from_s3", "from_gcs", "combine"], help_heading = SOURCE)]
    pub(crate) path: Option<String>,
    /// The files of an S3 bucket, or of one folder of it (a dataset).
    #[arg(long, value_name = "s3://BUCKET[/PREFIX]", value_parser = s3_url, help_heading = SOURCE)]
    pub(crate) from_s3: Option<BucketUrl>,
    /// With --from-s3: leave the files in the bucket (an external asset) instead of copying
    /// them into Code Ocean.
    #[arg(long, requires = "from_s3", conflicts_with_all = ["from_computation", "from_gcs", "combine"], help_heading = SOURCE)]
    pub(crate) keep_on_external_storage: bool,
    /// With --from-s3: the bucket is public; read it without credentials.
    #[arg(long, requires = "from_s3", conflicts_with_all = ["from_computation", "from_gcs", "combine"], help_heading = SOURCE)]
    pub(crate) public: bool,
    /// With --from-s3: the name of the deployment's custom S3 endpoint the bucket is on.
    #[arg(long, value_name = "NAME", requires = "from_s3", conflicts_with_all = ["from_computation", "from_gcs", "combine"], help_heading = SOURCE)]
    pub(crate) endpoint: Option<String>,
    /// The files of a Google Cloud Storage bucket, or of one folder of it (a dataset).
    #[arg(long, value_name = "gs://BUCKET[/PREFIX]", value_parser = gs_url, help_heading = SOURCE)]
    pub(crate) from_gcs: Option<BucketUrl>,
    /// With --from-gcs: a JSON file {"client_id": …, "client_secret": …} of the OAuth client
    /// to read a private bucket with; it must not be readable by other users (chmod 600).
    /// Without it, CODEOCEAN_GCS_CLIENT_ID and CODEOCEAN_GCS_CLIENT_SECRET if both are set,
    /// else no credentials (a public bucket). The secret is never printed or logged.
    #[arg(long, value_name = "FILE", requires = "from_gcs", conflicts_with_all = ["from_computation", "from_s3", "combine"], help_heading = SOURCE)]
    pub(crate) gcs_credentials: Option<PathBuf>,
    /// Combine these data assets (each ready) into one; each part is a folder named by its
    /// mount.
    #[arg(long, value_name = "ID", num_args = 1.., help_heading = SOURCE)]
    pub(crate) combine: Vec<String>,
    /// Write the asset's files to this S3 location of the deployment's instead of Code
    /// Ocean's storage.
    #[arg(long, value_name = "s3://BUCKET[/PREFIX]", value_parser = s3_url, conflicts_with = "combine")]
    pub(crate) target: Option<BucketUrl>,
    /// With --target: the name of the deployment's custom S3 endpoint the target bucket is on.
    #[arg(long, value_name = "NAME", requires = "target")]
    pub(crate) target_endpoint: Option<String>,
    /// The asset's name.
    #[arg(long)]
    pub(crate) name: String,
    /// The folder under /data the asset mounts in.
    #[arg(long)]
    pub(crate) mount: String,
    /// A description.
    #[arg(long)]
    pub(crate) description: Option<String>,
    /// A tag (repeatable).
    #[arg(long = "tag", value_name = "TAG")]
    pub(crate) tags: Vec<String>,
    /// Wait until the asset is ready; exit 3 if it failed, 4 on timeout.
    #[arg(long)]
    pub(crate) wait: bool,
    /// Give up waiting after this long.
    #[arg(long, value_name = "DURATION", requires = "wait", value_parser = duration)]
    pub(crate) timeout: Option<Duration>,
}

/// A bucket and a folder in it, from `s3://BUCKET/PREFIX` or `gs://BUCKET/PREFIX`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct BucketUrl {
    pub(crate) bucket: String,
    /// The folder, without slashes at either end; `None` for the whole bucket.
    pub(crate) prefix: Option<String>,
}

impl BucketUrl {
    /// Parses `SCHEME://BUCKET[/PREFIX]`; `extra` are the characters a bucket name may hold
    /// besides lower-case letters, digits, `.` and `-`.
    fn parse(s: &str, scheme: &str, extra: &[char]) -> Result<Self, String> {
        let form = format!("{scheme}://BUCKET[/PREFIX]");
        let Some(rest) = s.strip_prefix(&format!("{scheme}://")) else {
            let found = match s.split_once("://") {
                Some((other, _)) => format!("a URL of scheme `{other}`"),
                None => "no scheme".to_owned(),
            };
            return Err(format!("expected {form}, found {found}"));
        };
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(format!("the bucket name is empty (expected {form})"));
        }
        let allowed = |c: char| {
            c.is_ascii_lowercase()
                || c.is_ascii_digit()
                || c == '.'
                || c == '-'
                || extra.contains(&c)
        };
        if let Some(bad) = bucket.chars().find(|&c| !allowed(c)) {
            return Err(format!(
                "bucket name `{bucket}` holds `{bad}`; bucket names are lower-case letters, digits, `.`{} and `-`",
                extra.iter().map(|c| format!(", `{c}`")).collect::<String>()
            ));
        }
        let edges = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
        if !(3..=63).contains(&bucket.len())
            || !bucket.starts_with(edges)
            || !bucket.ends_with(edges)
        {
            return Err(format!(
                "bucket name `{bucket}` must be 3 to 63 characters that start and end with a letter or a digit"
            ));
        }
        let prefix = prefix.trim_matches('/');
        Ok(Self {
            bucket: bucket.to_owned(),
            prefix: (!prefix.is_empty()).then(|| prefix.to_owned()),
        })
    }
}

impl std::fmt::Display for BucketUrl {
    /// `BUCKET/PREFIX` (or `BUCKET`), without the scheme.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.prefix {
            Some(p) => write!(f, "{}/{p}", self.bucket),
            None => f.write_str(&self.bucket),
        }
    }
}

/// Parses `s3://BUCKET[/PREFIX]`.
fn s3_url(s: &str) -> Result<BucketUrl, String> {
    BucketUrl::parse(s, "s3", &[])
}

/// Parses `gs://BUCKET[/PREFIX]` (GCS bucket names may also hold `_`).
fn gs_url(s: &str) -> Result<BucketUrl, String> {
    BucketUrl::parse(s, "gs", &['_'])
}

/// `data-asset update`.
#[derive(Args, Debug)]
pub(crate) struct UpdateArgs {
    /// Data asset id.
    pub(crate) id: String,
    /// A new name.
    #[arg(long)]
    pub(crate) name: Option<String>,
    /// A new description.
    #[arg(long)]
    pub(crate) description: Option<String>,
    /// A tag to add (repeatable); with --replace-tags, the tags that replace the current ones.
    #[arg(long = "tag", value_name = "TAG")]
    pub(crate) tags: Vec<String>,
    /// A tag to remove (repeatable).
    #[arg(
        long = "remove-tag",
        value_name = "TAG",
        conflicts_with = "replace_tags"
    )]
    pub(crate) remove_tags: Vec<String>,
    /// Replace the current tags with the --tag ones (no --tag: remove every tag).
    #[arg(long)]
    pub(crate) replace_tags: bool,
    /// A new mount folder.
    #[arg(long)]
    pub(crate) mount: Option<String>,
    /// Set a custom metadata field (repeatable); the other fields stay. Checked against the
    /// deployment's fields (`codeocean custom-metadata get`) before anything is changed:
    /// number fields take numbers, date fields YYYY-MM-DD, RFC 3339 or Unix seconds.
    #[arg(long = "metadata", value_name = "KEY=VALUE", value_parser = name_value)]
    pub(crate) metadata: Vec<String>,
    /// Remove a custom metadata field (repeatable).
    #[arg(
        long = "remove-metadata",
        value_name = "KEY",
        conflicts_with = "replace_metadata"
    )]
    pub(crate) remove_metadata: Vec<String>,
    /// Replace the custom metadata with the --metadata fields (no --metadata: remove every
    /// field).
    #[arg(long)]
    pub(crate) replace_metadata: bool,
}

/// Permissions of a capsule, pipeline or data asset.
#[derive(Subcommand, Debug)]
pub(crate) enum PermissionsCmd {
    /// Show the users, groups and everyone's role.
    Get {
        /// Capsule, pipeline or data asset id.
        id: String,
    },
    /// Change them (at least one of --user, --group, --everyone; asks first, --yes to skip the
    /// question).
    ///
    /// The users given replace the current users (the owner stays owner), the groups given
    /// replace the current groups, --everyone replaces everyone's role; what is not given stays.
    /// On a terminal it asks before sending; elsewhere it needs --yes.
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
        /// Do not ask for confirmation (required when stdin or stderr is not a terminal).
        #[arg(short, long)]
        yes: bool,
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
    #[arg(long, default_value_t = 4, value_name = "N", value_parser = at_least_one)]
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

/// The heading of `capture`'s data asset flags.
const CAPTURE: &str = "The data asset";

/// `codeocean capture`.
#[derive(Args, Debug)]
pub(crate) struct CaptureArgs {
    #[command(flatten)]
    pub(crate) spec: RunSpec,
    /// aind-codeocean-pipeline-monitor's settings (a PipelineMonitorSettings JSON file): the
    /// run, the capture and the timeouts, with the flags given beside it taking precedence
    /// (see below).
    #[arg(long, value_name = "FILE.json", group = "target")]
    pub(crate) settings: Option<PathBuf>,
    /// Rename the computation right after it is created.
    #[arg(long, value_name = "NAME")]
    pub(crate) run_name: Option<String>,
    /// Give up waiting for the run after this long (exit 4), e.g. 30m, 6h.
    #[arg(long, value_name = "DURATION", value_parser = duration)]
    pub(crate) timeout: Option<Duration>,
    /// When --timeout passes, stop the run (delete the computation) before exiting 4.
    #[arg(long, requires = "timeout")]
    pub(crate) stop_on_timeout: bool,
    /// Journal of what was done (JSON Lines), written before and after each creation; run
    /// again with it, the capture resumes without starting a second run or making a second
    /// asset [default: FILE.json.state with --settings, else none].
    #[arg(long, value_name = "FILE")]
    pub(crate) state: Option<PathBuf>,
    /// Only run and check: make no data asset.
    #[arg(long, conflicts_with_all = ["name", "name_template", "suffix", "tz", "tags", "metadata", "description", "mount", "s3_target", "everyone", "share_users", "share_groups", "asset_timeout"])]
    pub(crate) no_capture: bool,
    /// The data asset's name [default: the name template's].
    #[arg(long, value_name = "NAME", conflicts_with = "name_template", help_heading = CAPTURE)]
    pub(crate) name: Option<String>,
    /// The name from placeholders: {name} (the first input data asset's name, or the capsule's
    /// or pipeline's without one), {suffix}, {datetime} (%Y-%m-%d_%H-%M-%S), {date}, {time},
    /// {computation_id}; {{ and }} for braces.
    #[arg(long, value_name = "TEMPLATE", default_value = "{name}_{suffix}_{datetime}", help_heading = CAPTURE)]
    pub(crate) name_template: String,
    /// The template's {suffix} [default: processed].
    #[arg(long, value_name = "TEXT", help_heading = CAPTURE)]
    pub(crate) suffix: Option<String>,
    /// The time zone of {datetime}, {date} and {time}: an IANA name, e.g. US/Pacific
    /// [default: UTC].
    #[arg(long, value_name = "ZONE", help_heading = CAPTURE)]
    pub(crate) tz: Option<String>,
    /// The folder under /data the asset mounts in [default: its name].
    #[arg(long, help_heading = CAPTURE)]
    pub(crate) mount: Option<String>,
    /// A description.
    #[arg(long, help_heading = CAPTURE)]
    pub(crate) description: Option<String>,
    /// A tag (repeatable).
    #[arg(long = "tag", value_name = "TAG", help_heading = CAPTURE)]
    pub(crate) tags: Vec<String>,
    /// A custom metadata field (repeatable), checked against the deployment's fields before
    /// the run starts.
    #[arg(long = "metadata", value_name = "KEY=VALUE", value_parser = name_value, help_heading = CAPTURE)]
    pub(crate) metadata: Vec<String>,
    /// Write the asset's files to this S3 location of the deployment's, under a folder named
    /// as the asset (s3://BUCKET/PREFIX/NAME).
    #[arg(long = "target", value_name = "s3://BUCKET[/PREFIX]", value_parser = s3_url, help_heading = CAPTURE)]
    pub(crate) s3_target: Option<BucketUrl>,
    /// What everyone in the deployment may do with the asset [default: viewer].
    #[arg(long, value_name = "ROLE", value_parser = ["viewer", "discoverable", "none"], help_heading = CAPTURE)]
    pub(crate) everyone: Option<String>,
    /// Share the asset with a user by e-mail address: owner, editor or viewer (repeatable).
    #[arg(long = "share-user", value_name = "EMAIL=ROLE", value_parser = user_role, help_heading = CAPTURE)]
    pub(crate) share_users: Vec<(String, codeocean::UserRole)>,
    /// Share the asset with a group: owner, editor, viewer or discoverable (repeatable).
    #[arg(long = "share-group", value_name = "GROUP=ROLE", value_parser = group_role, help_heading = CAPTURE)]
    pub(crate) share_groups: Vec<(String, codeocean::GroupRole)>,
    /// Give up waiting for the asset to be ready after this long (exit 4).
    #[arg(long, value_name = "DURATION", value_parser = duration, help_heading = CAPTURE)]
    pub(crate) asset_timeout: Option<Duration>,
}

/// `codeocean sim` or `demo` in a build without the `sim` feature: any arguments, all refused.
#[cfg(not(feature = "sim"))]
#[derive(Args, Debug)]
pub(crate) struct WithoutSim {
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
    pub(crate) rest: Vec<String>,
}

/// `codeocean sim`: the simulator's flags, and a help flag of its own.
#[cfg(feature = "sim")]
#[derive(Args, Debug)]
pub(crate) struct SimArgs {
    #[command(flatten)]
    pub(crate) args: codeocean_sim::cli::Args,
    /// Print help.
    #[arg(short, long)]
    pub(crate) help: bool,
}

#[cfg(feature = "sim")]
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
    #[arg(long = "data-asset", value_name = "ID[:MOUNT]", requires = "remote", value_parser = asset_spec)]
    pub(crate) data_assets: Vec<String>,
    /// With --remote: a named parameter (repeatable).
    #[arg(long = "named-param", value_name = "NAME=VALUE", requires = "remote", value_parser = name_value)]
    pub(crate) named_params: Vec<String>,
    /// Simulated seconds per real second of the local server.
    #[arg(long, default_value_t = 20.0, conflicts_with = "remote", value_parser = positive_number)]
    pub(crate) time_scale: f64,
    /// Serve the local server over HTTPS, with a CA and certificate made at start that only
    /// this demo's client trusts.
    #[arg(long, conflicts_with = "remote")]
    pub(crate) tls: bool,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
pub(crate) enum SchemaKind {
    /// The body of `run --request FILE.json` (the API's run request).
    RunRequest,
    /// One line of a `batch` file.
    BatchLine,
}

#[cfg(test)]
mod tests {
    use super::{BucketUrl, gs_url, s3_url};

    fn url(bucket: &str, prefix: Option<&str>) -> BucketUrl {
        BucketUrl {
            bucket: bucket.into(),
            prefix: prefix.map(Into::into),
        }
    }

    #[test]
    fn bucket_urls_give_the_bucket_and_the_folder_without_slashes_at_its_ends() {
        assert_eq!(s3_url("s3://lab-data"), Ok(url("lab-data", None)));
        assert_eq!(s3_url("s3://lab-data/"), Ok(url("lab-data", None)));
        assert_eq!(
            s3_url("s3://lab-data/raw/"),
            Ok(url("lab-data", Some("raw")))
        );
        assert_eq!(
            s3_url("s3://lab.data-1/raw/2026//"),
            Ok(url("lab.data-1", Some("raw/2026")))
        );
        assert_eq!(
            gs_url("gs://lab_images/a/b"),
            Ok(url("lab_images", Some("a/b")))
        );
        assert_eq!(
            s3_url("s3://lab-data/raw").unwrap().to_string(),
            "lab-data/raw"
        );
    }

    #[test]
    fn bad_bucket_urls_say_what_is_wrong() {
        for (given, says) in [
            ("lab-data/raw", "found no scheme"),
            ("S3://lab-data", "scheme `S3`"),
            ("gs://lab-data", "scheme `gs`"),
            ("s3://", "empty"),
            ("s3:///raw", "empty"),
            ("s3://lab_data", "holds `_`"),
            ("s3://Lab", "holds `L`"),
            ("s3://ab", "3 to 63"),
            ("s3://-lab", "start and end"),
            ("s3://lab.", "start and end"),
        ] {
            let e = s3_url(given).unwrap_err();
            assert!(e.contains(says), "{given}: {e}");
        }
        assert!(gs_url(&format!("gs://{}", "a".repeat(64))).is_err());
    }
}
