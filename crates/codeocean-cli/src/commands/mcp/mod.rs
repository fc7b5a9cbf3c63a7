//! `codeocean mcp`: a Model Context Protocol server over this project's client, through the
//! official Rust MCP SDK (rmcp).
//!
//! Every tool of the official `codeocean-mcp-server` 0.13.1, with its names and argument
//! names (`apps.rs`: capsules, pipelines, releases, the custom metadata schema;
//! `computations.rs`: runs, waits, results; `data_assets.rs`), and beyond it downloads into a
//! confined folder, waits that always end and file reads capped in bytes. With `--read-only`
//! the tools that change anything are neither listed nor served.
//!
//! Over stdio only the protocol goes to stdout (the CLI's logs are on stderr). Over streamable
//! HTTP a request's `Authorization: Bearer TOKEN` is that session's token on the configured
//! domain, as the official server takes it; without one the configured token is used.
//! A failure is a tool result with `isError` and the error line (`… HTTP 404: …`), never a
//! protocol error or a crash; no result or log carries a token.

mod apps;
mod computations;
mod data_assets;

use std::collections::{HashMap, HashSet};
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use codeocean::{App, Client, PollPolicy};
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::tool::ToolCallContext;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation,
    ListToolsResult, PaginatedRequestParams, ServerCapabilities, ServerConfig,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler, ServiceExt as _};
use serde::Serialize;

use crate::Ctx;
use crate::cli::{McpArgs, McpTransport};

/// What a tool answers: a result (an error result included); a protocol error only for a
/// request that cannot be routed.
type ToolResult = Result<CallToolResult, ErrorData>;

/// What a tool does to the deployment and to local files, for `--read-only` and the tools'
/// annotations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Effect {
    /// Reads only.
    Reads,
    /// Writes local files (a download), the deployment untouched: served with `--read-only`.
    WritesLocally,
    /// Changes the deployment: hidden and refused with `--read-only`.
    Changes,
    /// Changes the deployment and may lose something (a computation, an attachment, metadata,
    /// commits): hidden and refused with `--read-only`, annotated `destructiveHint`.
    Destroys,
}

impl Effect {
    /// Whether `--read-only` hides and refuses the tool.
    fn mutates(self) -> bool {
        matches!(self, Self::Changes | Self::Destroys)
    }

    /// The tool's annotations: `readOnlyHint`, and `destructiveHint` unless it only reads.
    fn annotations(self) -> rmcp::model::ToolAnnotations {
        let hints = rmcp::model::ToolAnnotations::new().read_only(self == Self::Reads);
        match self {
            Self::Reads => hints,
            other => hints.destructive(other == Self::Destroys),
        }
    }
}

impl Server {
    /// The effect of every tool that does more than read, by tool (the names come from the
    /// tools' own definitions, so a renamed tool cannot fall out of this list unnoticed).
    fn effects() -> Vec<(rmcp::model::Tool, Effect)> {
        use Effect::{Changes, Destroys, WritesLocally};
        vec![
            (Self::attach_data_assets_tool_attr(), Changes),
            (Self::detach_data_assets_tool_attr(), Destroys),
            (Self::sync_capsule_tool_attr(), Destroys),
            (Self::release_capsule_tool_attr(), Changes),
            (Self::run_capsule_tool_attr(), Changes),
            (Self::rename_computation_tool_attr(), Changes),
            (Self::delete_computation_tool_attr(), Destroys),
            (Self::attach_computation_data_assets_tool_attr(), Changes),
            (Self::detach_computation_data_assets_tool_attr(), Destroys),
            (Self::update_metadata_tool_attr(), Destroys),
            (Self::create_data_asset_tool_attr(), Changes),
            (Self::download_results_tool_attr(), WritesLocally),
            (Self::download_data_asset_tool_attr(), WritesLocally),
        ]
    }
}

/// How long a wait tool waits unless told otherwise.
const DEFAULT_WAIT: Duration = Duration::from_secs(600);
/// The longest wait a tool accepts: a wait always ends.
const MAX_WAIT: Duration = Duration::from_secs(6 * 3600);
/// Clients made from sessions' own tokens kept at once (the official server keeps 32).
const SESSION_CLIENTS: usize = 32;

/// What every tool call shares.
struct Shared {
    ctx: Ctx,
    read_only: bool,
    /// The canonical folder downloads are confined to.
    download_root: PathBuf,
    max_read_bytes: u64,
    /// The configured client, made at the first call that needs it.
    configured: Mutex<Option<Client>>,
    /// Clients of sessions' bearer tokens, by token.
    sessions: Mutex<HashMap<String, Client>>,
}

/// The MCP server: the shared state and the tools' router.
#[derive(Clone)]
pub(crate) struct Server {
    shared: Arc<Shared>,
    tool_router: ToolRouter<Self>,
    /// The tools that change the deployment (hidden and refused with `--read-only`).
    mutating: Arc<HashSet<String>>,
}

/// The client a call runs with, and the token it came with when the session sent one (to be
/// kept out of every answer).
struct CallClient {
    client: Client,
    bearer: Option<String>,
}

impl Server {
    fn new(shared: Shared) -> Self {
        let mut tool_router =
            Self::capsule_tools() + Self::computation_tools() + Self::data_asset_tools();
        // Hints for the client: which tools only read, which may lose something.
        let effects: HashMap<String, Effect> = Self::effects()
            .into_iter()
            .map(|(tool, effect)| (tool.name.into_owned(), effect))
            .collect();
        let mut mutating = HashSet::new();
        for (name, route) in tool_router.map.iter_mut() {
            let effect = effects.get(name.as_ref()).copied().unwrap_or(Effect::Reads);
            route.attr.annotations = Some(effect.annotations());
            if effect.mutates() {
                mutating.insert(name.to_string());
            }
        }
        if shared.read_only {
            for name in &mutating {
                tool_router.disable_route(name.clone());
            }
        }
        Self {
            shared: Arc::new(shared),
            tool_router,
            mutating: Arc::new(mutating),
        }
    }

    /// The client for this call: the session's bearer token (HTTP) on the configured domain,
    /// or the configured client; an error result saying what is missing otherwise.
    fn client(&self, rc: &RequestContext<RoleServer>) -> Result<CallClient, CallToolResult> {
        // Over HTTP each request's parts are there; over stdio there are none.
        let parts = rc.extensions.get::<http::request::Parts>();
        let bearer = parts
            .and_then(|parts| parts.headers.get(http::header::AUTHORIZATION))
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                let (scheme, token) = v.split_once(' ')?;
                let token = token.trim();
                (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty())
                    .then(|| token.to_owned())
            });
        let ctx = &self.shared.ctx;
        if let Some(token) = bearer {
            let mut sessions = self.shared.sessions.lock().unwrap();
            if let Some(client) = sessions.get(&token) {
                return Ok(CallClient {
                    client: client.clone(),
                    bearer: Some(token),
                });
            }
            let made = ctx.resolve().map_err(|e| e.to_string()).and_then(|r| {
                let domain = r.domain().ok_or_else(|| {
                    "no domain: set CODEOCEAN_DOMAIN (or --domain, or a profile) for the \
                     server; the session's token is used on it"
                        .to_owned()
                })?;
                ctx.client_trusting(domain, &token, None)
                    .map_err(|e| format!("{e:#}"))
            });
            return match made {
                Ok(client) => {
                    if sessions.len() >= SESSION_CLIENTS {
                        sessions.clear();
                    }
                    sessions.insert(token.clone(), client.clone());
                    Ok(CallClient {
                        client,
                        bearer: Some(token),
                    })
                }
                Err(e) => Err(error_text(redact(&e, Some(&token)))),
            };
        }
        let mut configured = self.shared.configured.lock().unwrap();
        if let Some(client) = &*configured {
            return Ok(CallClient {
                client: client.clone(),
                bearer: None,
            });
        }
        match ctx.client() {
            Ok(client) => {
                *configured = Some(client.clone());
                Ok(CallClient {
                    client,
                    bearer: None,
                })
            }
            Err(e) if parts.is_some() => Err(error_text(format!(
                "{e:#} (or send the token as an `Authorization: Bearer TOKEN` header)"
            ))),
            Err(e) => Err(error_text(format!("{e:#}"))),
        }
    }

    /// The folder a download tool writes to: `folder` under the download root, refused when
    /// it would escape it (an absolute path elsewhere, `..`, or a link out of it).
    fn download_folder(&self, folder: &str) -> Result<PathBuf, String> {
        let root = &self.shared.download_root;
        let given = Path::new(folder);
        let relative = if given.is_absolute() {
            given.strip_prefix(root).map_err(|_| {
                format!(
                    "folder `{folder}` is outside the download folder {} (the server's \
                     --download-dir); give a folder inside it, or a relative one",
                    root.display()
                )
            })?
        } else {
            given
        };
        if relative
            .components()
            .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir))
        {
            return Err(format!(
                "folder `{folder}` may not contain `..`: downloads stay inside {}",
                root.display()
            ));
        }
        let dir = root.join(relative);
        let outside = || {
            format!(
                "folder `{folder}` leads outside the download folder {} (through a link)",
                root.display()
            )
        };
        // The part that exists already is checked before anything is created, so that a link
        // out of the root does not get folders made at its far end.
        let existing = dir
            .ancestors()
            .find(|a| a.exists())
            .unwrap_or(root.as_path());
        let real = existing
            .canonicalize()
            .map_err(|e| format!("cannot resolve folder {}: {e}", existing.display()))?;
        if !real.starts_with(root) {
            return Err(outside());
        }
        std::fs::create_dir_all(&dir)
            .map_err(|e| format!("cannot create folder {}: {e}", dir.display()))?;
        let real = dir
            .canonicalize()
            .map_err(|e| format!("cannot resolve folder {}: {e}", dir.display()))?;
        if !real.starts_with(root) {
            return Err(outside());
        }
        Ok(real)
    }
}

impl Server {
    /// Downloads a whole tree into `folder` (confined to the download root), resuming;
    /// answers the summary as `codeocean … download --json` prints it, with the folder; an
    /// error result when a file failed or the job stopped, the summary still in it.
    async fn download(
        &self,
        call: &CallClient,
        tree: codeocean::Tree,
        folder: &str,
        rc: &RequestContext<RoleServer>,
    ) -> ToolResult {
        let dir = match self.download_folder(folder) {
            Ok(dir) => dir,
            Err(e) => return Ok(call.error_line(e)),
        };
        let mut job = call.client.download_tree(&tree, &dir).allow_partial(true);
        let notes = Notifier::of(rc).map(|notifier| {
            Arc::new(DownloadNotes {
                notifier,
                state: Mutex::default(),
            })
        });
        if let Some(notes) = &notes {
            let notes = notes.clone();
            job = job.on_progress(move |event| notes.event(&event));
        }
        let summary = job.run().await;
        if let Some(notes) = notes {
            notes.notifier.finish().await;
        }
        let summary = match summary {
            Ok(s) => s,
            Err(e) => return call.error(&e),
        };
        let mut out = serde_json::to_value(super::DownloadOutput::from(&summary))
            .map_err(|e| ErrorData::internal_error(format!("encoding the answer: {e}"), None))?;
        out["folder"] = dir.display().to_string().into();
        out["complete"] = summary.is_complete().into();
        let mut result = call.json(&out)?;
        if !summary.is_complete() {
            result.is_error = Some(true);
        }
        Ok(result)
    }
}

impl ServerHandler for Server {
    fn get_info(&self) -> ServerConfig {
        let domain = self
            .shared
            .ctx
            .resolve()
            .ok()
            .and_then(|r| r.domain().map(str::to_owned))
            .unwrap_or_else(|| "(not configured)".into());
        let read_only = if self.shared.read_only {
            " Read-only: tools that change anything are not offered."
        } else {
            ""
        };
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("codeocean", env!("CARGO_PKG_VERSION")))
            .with_instructions(format!(
                "MCP server for Code Ocean: search & run capsules, pipelines, and assets using \
                 Code Ocean domain {domain}. The usual job: search_capsules -> run_capsule -> \
                 wait_until_completed -> list_computation_results -> \
                 download_and_read_a_file_from_computation or download_results; \
                 create_data_asset from the computation -> wait_until_ready.{read_only}"
            ))
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult {
            tools: self.tool_router.list_all(),
            ..ListToolsResult::default()
        })
    }

    fn get_tool(&self, name: &str) -> Option<rmcp::model::Tool> {
        self.tool_router.get(name).cloned()
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        if self.shared.read_only && self.mutating.contains(request.name.as_ref()) {
            return Ok(error_text(format!(
                "`{}` changes the deployment, and this server runs with --read-only: refused",
                request.name
            ))
            .into());
        }
        let call = ToolCallContext::new(self, request, context);
        self.tool_router.call(call).await
    }
}

/// Runs `codeocean mcp` until its client leaves (stdio) or Ctrl-C.
pub(crate) async fn mcp(ctx: &Ctx, args: McpArgs) -> anyhow::Result<()> {
    let root = match &args.download_dir {
        Some(dir) => dir.clone(),
        None => std::env::current_dir()?,
    };
    std::fs::create_dir_all(&root).map_err(|e| {
        crate::usage_error(format!(
            "--download-dir {}: cannot create it: {e}",
            root.display()
        ))
    })?;
    let download_root = root
        .canonicalize()
        .map_err(|e| crate::usage_error(format!("--download-dir {}: {e}", root.display())))?;
    let server = Server::new(Shared {
        ctx: ctx.clone(),
        read_only: args.read_only,
        download_root,
        max_read_bytes: args.max_read_bytes,
        configured: Mutex::new(None),
        sessions: Mutex::new(HashMap::new()),
    });
    match args.transport {
        McpTransport::Stdio => {
            let running = server
                .serve(rmcp::transport::stdio())
                .await
                .map_err(|e| anyhow::anyhow!("starting the MCP session on stdio: {e}"))?;
            tokio::select! {
                ended = running.waiting() => {
                    ended.map_err(|e| anyhow::anyhow!("serving MCP on stdio: {e}"))?;
                }
                _ = tokio::signal::ctrl_c() => {}
            }
            Ok(())
        }
        McpTransport::Http => serve_http(server, &args.host, args.port).await,
    }
}

/// Serves streamable HTTP at `http://HOST:PORT/mcp` until Ctrl-C.
async fn serve_http(server: Server, host: &str, port: u16) -> anyhow::Result<()> {
    use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
    use rmcp::transport::streamable_http_server::{
        StreamableHttpServerConfig, StreamableHttpService,
    };
    let stop = tokio_util::sync::CancellationToken::new();
    let listener = tokio::net::TcpListener::bind((host, port))
        .await
        .map_err(|e| anyhow::anyhow!("listening on {host}:{port}: {e}"))?;
    let addr = listener.local_addr()?;
    // The `Host` a request may name (against DNS rebinding): the loopback names, and the
    // listen address itself. Listening on every address (0.0.0.0, ::) the server is reached
    // by names it cannot know, so any is accepted, as the official server does there.
    let mut hosts: Vec<String> = ["localhost", "127.0.0.1", "::1", "[::1]"]
        .map(String::from)
        .into();
    if !hosts.iter().any(|h| h == host) {
        hosts.push(host.to_owned());
    }
    let config = StreamableHttpServerConfig::default().with_cancellation_token(stop.child_token());
    let config = if addr.ip().is_unspecified() {
        config.disable_allowed_hosts()
    } else {
        config.with_allowed_hosts(hosts)
    };
    let service = StreamableHttpService::new(
        move || Ok(server.clone()),
        Arc::new(LocalSessionManager::default()),
        config,
    );
    let router = axum::Router::new()
        .nest_service("/mcp", service)
        .layer(axum::middleware::from_fn(deleted_is_no_content));
    let shown = if addr.is_ipv6() {
        format!("[{}]:{}", addr.ip(), addr.port())
    } else {
        addr.to_string()
    };
    // Said even with -q: a client (or a test) needs the port when it was 0.
    eprintln!("listening on http://{shown}/mcp");
    axum::serve(listener, router)
        .with_graceful_shutdown(async move {
            let _ = tokio::signal::ctrl_c().await;
            stop.cancel();
        })
        .await
        .map_err(|e| anyhow::anyhow!("serving MCP over HTTP: {e}"))
}

/// A session ended by `DELETE` is answered `204 No Content` rather than rmcp's `202
/// Accepted`: the official Python client (mcp 1.29) takes only 200 or 204 as done, and logs
/// "Session termination failed: 202" otherwise.
async fn deleted_is_no_content(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let delete = request.method() == http::Method::DELETE;
    let mut response = next.run(request).await;
    if delete && response.status() == http::StatusCode::ACCEPTED {
        *response.status_mut() = http::StatusCode::NO_CONTENT;
    }
    response
}

/// An error result with one line of text.
fn error_text(message: impl Into<String>) -> CallToolResult {
    CallToolResult::error(vec![ContentBlock::text(message.into())])
}

/// A token never shown: each occurrence of the session's bearer token is replaced.
fn redact(text: &str, bearer: Option<&str>) -> String {
    match bearer {
        Some(token) if !token.is_empty() => text.replace(token, "[redacted]"),
        _ => text.to_owned(),
    }
}

impl CallClient {
    /// A JSON answer: the value as text and, when it is an object, as structured content.
    fn json<T: Serialize>(&self, value: &T) -> ToolResult {
        let value = serde_json::to_value(value)
            .map_err(|e| ErrorData::internal_error(format!("encoding the answer: {e}"), None))?;
        let text = redact(&value.to_string(), self.bearer.as_deref());
        let is_object = value.is_object();
        let mut result = CallToolResult::success(vec![ContentBlock::text(text.clone())]);
        if is_object {
            result.structured_content = serde_json::from_str(&text).ok();
        }
        Ok(result)
    }

    /// An error result: the library's error line (`getting computation ID: HTTP 404: …`).
    fn error(&self, e: &codeocean::Error) -> ToolResult {
        Ok(self.error_line(crate::full(e)))
    }

    /// An error result with this text (redacted).
    fn error_line(&self, text: impl AsRef<str>) -> CallToolResult {
        error_text(redact(text.as_ref(), self.bearer.as_deref()))
    }

    /// The answer of a library call: its JSON, or its error.
    fn answer<T: Serialize>(&self, r: codeocean::Result<T>) -> ToolResult {
        match r {
            Ok(v) => self.json(&v),
            Err(e) => self.error(&e),
        }
    }

    /// The answer of a library call that returns nothing: a line saying it was `done`.
    fn done(&self, r: codeocean::Result<()>, done: &str) -> ToolResult {
        match r {
            Ok(()) => Ok(CallToolResult::success(vec![ContentBlock::text(done)])),
            Err(e) => self.error(&e),
        }
    }

    /// The answer of a file's signed URLs: `download_url` and `view_url`.
    fn urls(&self, r: codeocean::Result<codeocean::FileUrls>) -> ToolResult {
        match r {
            Ok(urls) => self.json(&serde_json::json!({
                "download_url": urls.download_url,
                "view_url": urls.view_url,
            })),
            Err(e) => self.error(&e),
        }
    }

    /// A call made for a capsule and, when the capsule route says not found, for the pipeline
    /// of that id (the official tools take a capsule ID or a pipeline ID).
    async fn capsule_or_pipeline<T, F, Fut>(&self, f: F) -> codeocean::Result<T>
    where
        F: Fn(Client, App) -> Fut,
        Fut: std::future::Future<Output = codeocean::Result<T>>,
    {
        match f(self.client.clone(), App::Capsule).await {
            Err(e) if e.is_not_found() => match f(self.client.clone(), App::Pipeline).await {
                Err(p) if p.is_not_found() => Err(e),
                other => other,
            },
            other => other,
        }
    }
}

/// Evaluates to the call's client, or returns the error result saying why there is none.
macro_rules! call_client {
    ($server:expr, $rc:expr) => {
        match $server.client(&$rc) {
            Ok(c) => c,
            Err(result) => return Ok(result),
        }
    };
}
pub(crate) use call_client;

/// MCP progress notifications of one tool call (`notifications/progress`), made only when the
/// request's `_meta` carries a `progressToken`: the client asked for them.
///
/// Sending never holds the tool up: notifications go through a small queue to a task of their
/// own, and one that finds the queue full is dropped (a later one says more). [`finish`]
/// (Self::finish) sends what is queued before the tool answers and stops the task, so none
/// comes after its result, as the protocol requires (whoever still holds the notifier then
/// sends nothing).
pub(super) struct Notifier {
    queue: tokio::sync::mpsc::Sender<Note>,
    sender: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

/// What the sending task is told.
enum Note {
    /// Progress so far, the total when known, what it means.
    Progress(f64, Option<f64>, String),
    /// Everything before this is sent: stop.
    Done,
}

impl Notifier {
    /// The notifier of this request, when it asked for progress.
    pub(super) fn of(rc: &RequestContext<RoleServer>) -> Option<Self> {
        let token = rc.meta.get_progress_token()?;
        let peer = rc.peer.clone();
        let (queue, mut queued) = tokio::sync::mpsc::channel::<Note>(16);
        let sender = tokio::spawn(async move {
            while let Some(Note::Progress(progress, total, message)) = queued.recv().await {
                let mut note = rmcp::model::ProgressNotificationParam::new(token.clone(), progress)
                    .with_message(message);
                note.total = total;
                if peer.notify_progress(note).await.is_err() {
                    // The client is gone: nobody to tell.
                    break;
                }
            }
        });
        Some(Self {
            queue,
            sender: Mutex::new(Some(sender)),
        })
    }

    /// Queues a notification: `progress` so far (it grows with each one), of `total` when
    /// known, and what it means in a line.
    pub(super) fn send(&self, progress: f64, total: Option<f64>, message: String) {
        let _ = (self.queue).try_send(Note::Progress(progress, total, message));
    }

    /// Sends what is queued, then stops sending.
    pub(super) async fn finish(&self) {
        let sender = self
            .sender
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        if let Some(sender) = sender {
            let _ = self.queue.send(Note::Done).await;
            let _ = sender.await;
        }
    }
}

/// A download's progress as MCP notifications: files done (complete, skipped or failed) of
/// files found so far, at most one every [`Self::EVERY`] besides the first.
struct DownloadNotes {
    notifier: Notifier,
    state: Mutex<DownloadCount>,
}

#[derive(Default)]
struct DownloadCount {
    found: u64,
    done: u64,
    failed: u64,
    bytes: u64,
    last: Option<std::time::Instant>,
}

impl DownloadNotes {
    const EVERY: Duration = Duration::from_millis(250);

    /// Counts one event of the download; notifies when one is due.
    fn event(&self, event: &codeocean::ProgressEvent<'_>) {
        use codeocean::ProgressEvent as E;
        let mut c = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match event {
            E::FileFound { .. } => c.found += 1,
            E::Bytes { n, .. } => c.bytes += n,
            E::FileDone { .. } => c.done += 1,
            E::Failed { .. } => {
                c.done += 1;
                c.failed += 1;
            }
            _ => return,
        }
        let now = std::time::Instant::now();
        if matches!(event, E::FileFound { .. } | E::Bytes { .. })
            || c.last.is_some_and(|at| now - at < Self::EVERY)
        {
            return;
        }
        c.last = Some(now);
        let failed = match c.failed {
            0 => String::new(),
            n => format!(", {n} failed"),
        };
        self.notifier.send(
            c.done as f64,
            Some(c.found as f64),
            format!(
                "{} of {} files found so far done{failed}, {} bytes written",
                c.done, c.found, c.bytes
            ),
        );
    }
}

/// A wait's bounds from a tool's `timeout` and `polling_interval` (seconds): the timeout
/// defaults to [`DEFAULT_WAIT`] and is at most [`MAX_WAIT`].
fn wait_bounds(
    timeout: Option<f64>,
    polling_interval: Option<f64>,
) -> Result<(Duration, PollPolicy), String> {
    let timeout = match timeout {
        None => DEFAULT_WAIT,
        Some(t) if t.is_finite() && t > 0.0 => Duration::from_secs_f64(t).min(MAX_WAIT),
        Some(t) => {
            return Err(format!(
                "timeout must be a number of seconds above 0, not {t}"
            ));
        }
    };
    let default = PollPolicy::default();
    let poll = match polling_interval {
        None => default,
        Some(p) if p.is_finite() && p > 0.0 => {
            let every = Duration::from_secs_f64(p.clamp(0.1, 300.0));
            let max_interval = default.max_interval.max(every);
            default.initial_interval(every).max_interval(max_interval)
        }
        Some(p) => {
            return Err(format!(
                "polling_interval must be a number of seconds above 0, not {p}"
            ));
        }
    };
    Ok((timeout, poll))
}

/// The message of a wait that gave up: how long, the last state, how to go on.
fn gave_up(e: &codeocean::Error, what: &str, again: &str) -> String {
    let state = e
        .last_state()
        .map(|s| format!(" (last seen: {s})"))
        .unwrap_or_default();
    format!(
        "gave up waiting for {what}{state}: it has not finished yet; call {again} again to keep \
         waiting, or with a longer `timeout` (seconds; at most {})",
        MAX_WAIT.as_secs()
    )
}

/// A file read by a tool: its text first (as the official tools return it), then a block
/// saying so when the file goes on past the cap, and one when it is not UTF-8 text (shown
/// with replacement characters); structured: the text, `truncated`, `binary`, the bytes
/// shown and the file's size when known. A character cut by the cap is left out whole.
fn file_read(call: &CallClient, mut head: codeocean::FileHead, cap: u64) -> ToolResult {
    let binary = match std::str::from_utf8(&head.bytes) {
        Ok(_) => false,
        // Only the cap cut the last character: keep the text before it.
        Err(e) if head.truncated && e.error_len().is_none() => {
            head.bytes.truncate(e.valid_up_to());
            false
        }
        Err(_) => true,
    };
    let text = redact(
        &String::from_utf8_lossy(&head.bytes),
        call.bearer.as_deref(),
    );
    let mut content = vec![ContentBlock::text(text.clone())];
    if head.truncated {
        let size = head.size.map(|s| format!(" of {s}")).unwrap_or_default();
        content.push(ContentBlock::text(format!(
            "[truncated: these are the first {} bytes{size}, the server's limit (--max-read-bytes \
             {cap}); download_results or download_data_asset fetch the whole file]",
            head.bytes.len()
        )));
    }
    if binary {
        content.push(ContentBlock::text(
            "[binary: the file is not UTF-8 text, shown with replacement characters; \
             download_results or download_data_asset fetch its bytes]",
        ));
    }
    let mut result = CallToolResult::success(content);
    result.structured_content = Some(serde_json::json!({
        "result": text,
        "truncated": head.truncated,
        "binary": binary,
        "bytes": head.bytes.len(),
        "size": head.size,
    }));
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::{redact, wait_bounds};
    use std::time::Duration;

    #[test]
    fn waits_always_end() {
        assert_eq!(wait_bounds(None, None).unwrap().0, super::DEFAULT_WAIT);
        assert_eq!(wait_bounds(Some(1e12), None).unwrap().0, super::MAX_WAIT);
        assert_eq!(
            wait_bounds(Some(2.5), None).unwrap().0,
            Duration::from_millis(2500)
        );
        assert!(wait_bounds(Some(0.0), None).is_err());
        assert!(wait_bounds(Some(f64::NAN), None).is_err());
        assert!(wait_bounds(None, Some(-1.0)).is_err());
        let (_, poll) = wait_bounds(None, Some(0.001)).unwrap();
        assert_eq!(poll.initial_interval, Duration::from_millis(100));
    }

    #[test]
    fn the_bearer_token_is_redacted() {
        assert_eq!(
            redact("refused tok-123 here", Some("tok-123")),
            "refused [redacted] here"
        );
        assert_eq!(redact("plain", None), "plain");
    }
}
