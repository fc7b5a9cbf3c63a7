//! The computation tools of `codeocean mcp` (the official server's `computations.py`): run,
//! wait (always bounded), results, reading a result file (capped in bytes), renaming,
//! deleting, attachments of a cloud workstation; and beyond it `download_results`.

use codeocean::codeocean_raw::types;
use codeocean::{RunRequest, Tree};
use futures_util::StreamExt as _;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::service::RequestContext;
use rmcp::{RoleServer, tool, tool_router};
use schemars::JsonSchema;
use serde::Deserialize;

use super::apps::{AttachParam, attachments};
use super::{Notifier, Server, ToolResult, call_client, file_read, gave_up, wait_bounds};

/// Arguments naming a computation.
#[derive(Debug, Deserialize, JsonSchema)]
pub(super) struct ComputationIdArgs {
    /// The computation's ID (from run_capsule or list_computations).
    computation_id: String,
}

/// `run_capsule`.
#[derive(Debug, Deserialize, JsonSchema)]
pub(super) struct RunArgs {
    /// What to run: `capsule_id` (or `pipeline_id`), optionally `version`, `data_assets`
    /// ([{id, mount}]), `parameters` (ordered values) or `named_parameters`
    /// ([{param_name, value}]), and for a pipeline `processes` and `nextflow_profile`.
    run_params: types::RunRequest,
}

/// `wait_until_completed`.
#[derive(Debug, Deserialize, JsonSchema)]
pub(super) struct WaitArgs {
    /// The computation's ID (from run_capsule).
    computation_id: String,
    /// Seconds between polls (the server's setting when absent).
    #[serde(default)]
    polling_interval: Option<f64>,
    /// Seconds to wait at most (600 when absent; the wait always ends).
    #[serde(default)]
    timeout: Option<f64>,
}

/// Arguments naming a result file.
#[derive(Debug, Deserialize, JsonSchema)]
pub(super) struct ResultFileArgs {
    /// The computation's ID.
    computation_id: String,
    /// The file's path among the results (as list_computation_results gives it).
    file_path: String,
}

/// `rename_computation`.
#[derive(Debug, Deserialize, JsonSchema)]
pub(super) struct RenameArgs {
    /// The computation's ID.
    computation_id: String,
    /// Its new name.
    name: String,
}

/// `attach_computation_data_assets`.
#[derive(Debug, Deserialize, JsonSchema)]
pub(super) struct AttachArgs {
    /// The cloud workstation session's computation ID.
    computation_id: String,
    /// The data assets: a list of objects (`[{"id": "…", "mount": "…"}]`).
    attach_params: Vec<AttachParam>,
}

/// `detach_computation_data_assets`.
#[derive(Debug, Deserialize, JsonSchema)]
pub(super) struct DetachArgs {
    /// The cloud workstation session's computation ID.
    computation_id: String,
    /// The IDs of the data assets to detach.
    data_assets: Vec<String>,
}

/// `download_results`.
#[derive(Debug, Deserialize, JsonSchema)]
pub(super) struct DownloadArgs {
    /// The computation's ID.
    computation_id: String,
    /// The folder to download into, inside the server's download folder (relative to it,
    /// or absolute under it); created if missing. Files already there complete are kept.
    folder: String,
}

#[tool_router(router = computation_tools, vis = "pub(super)")]
impl Server {
    /// Get one computation by its ID: its state (initializing, running, finalizing,
    /// completed, failed), end_status (succeeded, failed, stopped), times and parameters.
    #[tool]
    async fn get_computation(
        &self,
        Parameters(ComputationIdArgs { computation_id }): Parameters<ComputationIdArgs>,
        rc: RequestContext<RoleServer>,
    ) -> ToolResult {
        let call = call_client!(self, rc);
        let r = call.client.get_computation(&computation_id).await;
        call.answer(r)
    }

    /// Run a capsule or a pipeline and do not wait: answers the new computation (its id).
    /// Give capsule_id (or pipeline_id), optionally version, data_assets [{id, mount}], and
    /// parameters (ordered) or named_parameters [{param_name, value}] as
    /// get_capsule_app_panel lists them. Typical workflow: 1) run_capsule() to start
    /// execution 2) wait_until_completed() to monitor progress 3) list_computation_results()
    /// to see the outputs 4) download_and_read_a_file_from_computation() to read one, or
    /// download_results() to fetch them all into a local folder.
    #[tool]
    async fn run_capsule(
        &self,
        Parameters(RunArgs { run_params }): Parameters<RunArgs>,
        rc: RequestContext<RoleServer>,
    ) -> ToolResult {
        let call = call_client!(self, rc);
        let r = call.client.run(&RunRequest::from(run_params)).await;
        call.answer(r)
    }

    /// Wait until a computation finishes and answer it in its final state (check
    /// end_status: succeeded, failed or stopped). The wait always ends: `timeout` (seconds)
    /// is 600 unless set; when it passes, the answer is an error saying the computation is
    /// still running, and calling this again keeps waiting. Next: list_computation_results.
    #[tool]
    async fn wait_until_completed(
        &self,
        Parameters(args): Parameters<WaitArgs>,
        rc: RequestContext<RoleServer>,
    ) -> ToolResult {
        let call = call_client!(self, rc);
        let (timeout, poll) = match wait_bounds(args.timeout, args.polling_interval) {
            Ok(b) => b,
            Err(e) => return Ok(call.error_line(e)),
        };
        let mut wait = call
            .client
            .wait_for_computation(&args.computation_id)
            .timeout(timeout);
        if args.polling_interval.is_some() {
            wait = wait.poll_policy(poll);
        }
        // Each state on the way (the first is the current one) is a progress notification
        // when the client asked for them; the last is final.
        let notifier = Notifier::of(&rc);
        let (mut states, mut seen, mut last) = (wait.watch(), 0.0, None);
        let ended = loop {
            match states.next().await {
                Some(Ok(c)) => {
                    seen += 1.0;
                    if let Some(n) = &notifier {
                        n.send(seen, None, state_line(&c));
                    }
                    last = Some(c);
                }
                Some(Err(e)) => break Err(e),
                None => break Ok(last),
            }
        };
        if let Some(n) = notifier {
            n.finish().await;
        }
        match ended {
            Ok(Some(computation)) => call.json(&computation),
            // The crate's watch yields the current state before anything else.
            Ok(None) => Ok(call.error_line(format!(
                "waiting for computation {}: the wait ended without a state",
                args.computation_id
            ))),
            Err(e) if e.is_wait_timeout() => Ok(call.error_line(gave_up(
                &e,
                &format!("computation {}", args.computation_id),
                "wait_until_completed",
            ))),
            Err(e) => call.error(&e),
        }
    }

    /// List the output files of a computation (the root folder of its results): each
    /// item's path, name, type (file or folder) and size. Call after wait_until_completed;
    /// computation_id is required as a string. Then read one with
    /// download_and_read_a_file_from_computation, or fetch all with download_results.
    #[tool]
    async fn list_computation_results(
        &self,
        Parameters(ComputationIdArgs { computation_id }): Parameters<ComputationIdArgs>,
        rc: RequestContext<RoleServer>,
    ) -> ToolResult {
        let call = call_client!(self, rc);
        let r = call.client.list_results(&computation_id, "").await;
        match r {
            Ok(items) => call.json(&serde_json::json!({ "items": items })),
            Err(e) => call.error(&e),
        }
    }

    /// Get signed view and download URLs for one result file of a computation. The URLs
    /// are credentials for that file; prefer download_results to fetch files.
    #[tool]
    async fn get_result_file_urls(
        &self,
        Parameters(ResultFileArgs {
            computation_id,
            file_path,
        }): Parameters<ResultFileArgs>,
        rc: RequestContext<RoleServer>,
    ) -> ToolResult {
        let call = call_client!(self, rc);
        let r = call
            .client
            .result_file_urls(&computation_id, &file_path)
            .await;
        call.urls(r)
    }

    /// Use when you want to read the content of a file from a computation: answers its
    /// text, at most the server's byte limit (--max-read-bytes); a longer file is cut and a
    /// second block says "truncated" (structured: `truncated`: true). For the whole file,
    /// use download_results.
    #[tool]
    async fn download_and_read_a_file_from_computation(
        &self,
        Parameters(ResultFileArgs {
            computation_id,
            file_path,
        }): Parameters<ResultFileArgs>,
        rc: RequestContext<RoleServer>,
    ) -> ToolResult {
        let call = call_client!(self, rc);
        let cap = self.shared.max_read_bytes;
        let tree = Tree::Results(computation_id);
        match call.client.read_tree_file(&tree, &file_path, cap).await {
            Ok(head) => file_read(&call, head, cap),
            Err(e) => call.error(&e),
        }
    }

    /// Rename a computation.
    #[tool]
    async fn rename_computation(
        &self,
        Parameters(RenameArgs {
            computation_id,
            name,
        }): Parameters<RenameArgs>,
        rc: RequestContext<RoleServer>,
    ) -> ToolResult {
        let call = call_client!(self, rc);
        let r = call.client.rename_computation(&computation_id, &name).await;
        call.done(r, "renamed")
    }

    /// Delete a computation, stopping it first if it is running. Its results are gone.
    #[tool]
    async fn delete_computation(
        &self,
        Parameters(ComputationIdArgs { computation_id }): Parameters<ComputationIdArgs>,
        rc: RequestContext<RoleServer>,
    ) -> ToolResult {
        let call = call_client!(self, rc);
        let r = call.client.delete_computation(&computation_id).await;
        call.done(r, "deleted")
    }

    /// Attach data assets to a running cloud workstation session. Accepts a list of
    /// parameter objects (e.g. [{"id": "..."}]). Use for cloud workstation sessions; for a
    /// capsule use attach_data_assets.
    #[tool]
    async fn attach_computation_data_assets(
        &self,
        Parameters(AttachArgs {
            computation_id,
            attach_params,
        }): Parameters<AttachArgs>,
        rc: RequestContext<RoleServer>,
    ) -> ToolResult {
        let call = call_client!(self, rc);
        let assets = attachments(attach_params);
        let r = call
            .client
            .attach_computation_data_assets(&computation_id, &assets)
            .await;
        call.answer(r)
    }

    /// Detach data assets (by ID) from a running cloud workstation session.
    #[tool]
    async fn detach_computation_data_assets(
        &self,
        Parameters(DetachArgs {
            computation_id,
            data_assets,
        }): Parameters<DetachArgs>,
        rc: RequestContext<RoleServer>,
    ) -> ToolResult {
        let call = call_client!(self, rc);
        let r = call
            .client
            .detach_computation_data_assets(&computation_id, &data_assets)
            .await;
        call.done(r, "detached")
    }

    /// Download all result files of a computation into a local folder (inside the
    /// server's download folder), resuming: files already there complete are kept. Answers
    /// the summary: downloaded, skipped, bytes, failed (each path with its error). Call
    /// after wait_until_completed.
    #[tool]
    async fn download_results(
        &self,
        Parameters(DownloadArgs {
            computation_id,
            folder,
        }): Parameters<DownloadArgs>,
        rc: RequestContext<RoleServer>,
    ) -> ToolResult {
        let call = call_client!(self, rc);
        self.download(&call, Tree::Results(computation_id), &folder, &rc)
            .await
    }
}

/// A computation's state in a line, for a progress notification: `computation ID: running`,
/// `…: completed (succeeded, exit code 0)`.
fn state_line(c: &types::Computation) -> String {
    let state = c.state.as_ref().map_or("unknown", |s| s.as_str());
    let mut end = Vec::new();
    if let Some(e) = &c.end_status {
        end.push(e.as_str().to_owned());
    }
    if let Some(code) = c.exit_code {
        end.push(format!("exit code {code}"));
    }
    match end.is_empty() {
        true => format!("computation {}: {state}", c.id),
        false => format!("computation {}: {state} ({})", c.id, end.join(", ")),
    }
}
