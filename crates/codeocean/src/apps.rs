//! Capsules and pipelines: the operations they share (the API serves pipelines as capsules
//! under `/pipelines`), release jobs and the release waiter.

use codeocean_raw::types;

use crate::client::{Client, Idempotent, PollPolicy};
use crate::error::{Error, ErrorKind, Result, short};
use crate::ops::op;
use crate::wait::Poll;
use crate::{Capsule, Computation, ReleaseJobStatus};

/// A capsule or a pipeline: the two families of app, whose routes mirror each other (the API
/// serves pipelines as capsules under `/pipelines`). The methods that take one
/// ([`Client::get_app`], [`Client::release_app`], …) are for code that picks the family at
/// run time; each has a flat twin per family ([`Client::get_capsule`],
/// [`Client::get_pipeline`], …).
///
/// ```
/// use codeocean::App;
///
/// assert_eq!(App::Capsule.to_string(), "capsule");
/// assert_eq!(App::Pipeline.to_string(), "pipeline");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum App {
    /// A capsule (`/capsules/…`).
    Capsule,
    /// A pipeline (`/pipelines/…`).
    Pipeline,
}

impl std::fmt::Display for App {
    /// The noun: "capsule" or "pipeline".
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.noun())
    }
}

impl App {
    pub(crate) fn noun(self) -> &'static str {
        match self {
            Self::Capsule => "capsule",
            Self::Pipeline => "pipeline",
        }
    }

    /// "capsule 66095e3a…".
    pub(crate) fn named(self, id: &str) -> String {
        format!("{} {}", self.noun(), short(id))
    }

    /// Picks the operation id of this family.
    pub(crate) fn pick(self, capsule: &'static str, pipeline: &'static str) -> &'static str {
        match self {
            Self::Capsule => capsule,
            Self::Pipeline => pipeline,
        }
    }
}

/// A release job that has reached a final status other than `completed`.
fn release_failed(app: App, id: &str, job: &types::ReleaseJob) -> Error {
    let status = job
        .status
        .as_ref()
        .map_or("unknown", ReleaseJobStatus::as_str);
    let why = job
        .error
        .as_deref()
        .map(|e| format!(": {e}"))
        .unwrap_or_default();
    Error::new(
        ErrorKind::ReleaseFailed,
        format!("release job {} of {}", short(&job.job_id), app.named(id)),
        format!("the release ended `{status}`{why}"),
    )
}

impl Client {
    /// Gets a capsule's or a pipeline's metadata: [`get_capsule`](Client::get_capsule) or
    /// [`get_pipeline`](Client::get_pipeline), the family picked at run time.
    pub async fn get_app(&self, app: App, id: &str) -> Result<Capsule> {
        let what = format!("getting {}", app.named(id));
        let o = op(
            app.pick("get_capsule", "get_pipeline"),
            "GET",
            Idempotent::Yes,
            what,
        );
        self.send(o, || async move {
            match app {
                App::Capsule => self.raw().get_capsule(id).await,
                App::Pipeline => self.raw().get_pipeline(id).await,
            }
        })
        .await
    }

    /// Deletes a capsule or a pipeline permanently: [`delete_capsule`](Client::delete_capsule)
    /// or [`delete_pipeline`](Client::delete_pipeline).
    pub async fn delete_app(&self, app: App, id: &str) -> Result<()> {
        let what = format!("deleting {}", app.named(id));
        let o = op(
            app.pick("delete_capsule", "delete_pipeline"),
            "DELETE",
            Idempotent::Yes,
            what,
        );
        self.send(o, || async move {
            match app {
                App::Capsule => self.raw().delete_capsule(id).await,
                App::Pipeline => self.raw().delete_pipeline(id).await,
            }
        })
        .await
    }

    /// Lists a capsule's or a pipeline's computations:
    /// [`list_capsule_computations`](Client::list_capsule_computations) or
    /// [`list_pipeline_computations`](Client::list_pipeline_computations).
    pub async fn list_app_computations(&self, app: App, id: &str) -> Result<Vec<Computation>> {
        let what = format!("listing computations of {}", app.named(id));
        let o = op(
            app.pick("list_capsule_computations", "list_pipeline_computations"),
            "GET",
            Idempotent::Yes,
            what,
        );
        self.send(o, || async move {
            match app {
                App::Capsule => self.raw().list_capsule_computations(id).await,
                App::Pipeline => self.raw().list_pipeline_computations(id).await,
            }
        })
        .await
    }

    /// The app panel of a capsule or a pipeline:
    /// [`capsule_app_panel`](Client::capsule_app_panel) or
    /// [`pipeline_app_panel`](Client::pipeline_app_panel).
    pub async fn app_panel(
        &self,
        app: App,
        id: &str,
        version: Option<i64>,
    ) -> Result<types::AppPanel> {
        let what = match version {
            Some(v) => format!("getting the app panel of {} version {v}", app.named(id)),
            None => format!("getting the app panel of {}", app.named(id)),
        };
        let o = op(
            app.pick("get_capsule_app_panel", "get_pipeline_app_panel"),
            "GET",
            Idempotent::Yes,
            what,
        );
        self.send(o, || async move {
            match app {
                App::Capsule => self.raw().get_capsule_app_panel(id, version).await,
                App::Pipeline => self.raw().get_pipeline_app_panel(id, version).await,
            }
        })
        .await
    }

    /// Archives (`true`) or unarchives (`false`) a capsule or a pipeline:
    /// [`archive_capsule`](Client::archive_capsule) or
    /// [`archive_pipeline`](Client::archive_pipeline).
    pub async fn archive_app(&self, app: App, id: &str, archive: bool) -> Result<()> {
        let verb = if archive { "archiving" } else { "unarchiving" };
        let what = format!("{verb} {}", app.named(id));
        let o = op(
            app.pick("archive_capsule", "archive_pipeline"),
            "PATCH",
            Idempotent::Yes,
            what,
        );
        self.send(o, || async move {
            match app {
                App::Capsule => self.raw().archive_capsule(id, archive).await,
                App::Pipeline => self.raw().archive_pipeline(id, archive).await,
            }
        })
        .await
    }

    /// Syncs a capsule or a pipeline with its Git repository:
    /// [`sync_capsule`](Client::sync_capsule) or [`sync_pipeline`](Client::sync_pipeline).
    pub async fn sync_app(&self, app: App, id: &str) -> Result<types::GitSyncResults> {
        let what = format!("syncing {} with its Git remote", app.named(id));
        // Syncing twice pushes and pulls nothing new the second time.
        let o = op(
            app.pick("sync_capsule", "sync_pipeline"),
            "POST",
            Idempotent::Yes,
            what,
        );
        self.send(o, || async move {
            match app {
                App::Capsule => self.raw().sync_capsule(id).await,
                App::Pipeline => self.raw().sync_pipeline(id).await,
            }
        })
        .await
    }

    /// Starts releasing a new version of a capsule or a pipeline (never re-sent once it may
    /// have reached the server): [`release_capsule`](Client::release_capsule) or
    /// [`release_pipeline`](Client::release_pipeline).
    pub async fn release_app(&self, app: App, id: &str) -> Result<types::ReleaseJob> {
        let what = format!("releasing a new version of {}", app.named(id));
        // Each request starts a release: never re-sent once it may have reached the server.
        let o = op(
            app.pick("release_capsule", "release_pipeline"),
            "POST",
            Idempotent::No,
            what,
        );
        self.send(o, || async move {
            match app {
                App::Capsule => self.raw().release_capsule(id).await,
                App::Pipeline => self.raw().release_pipeline(id).await,
            }
        })
        .await
    }

    async fn app_release_job(&self, app: App, id: &str, job_id: &str) -> Result<types::ReleaseJob> {
        let what = format!("getting release job {} of {}", short(job_id), app.named(id));
        let o = op(
            app.pick("get_capsule_release_job", "get_pipeline_release_job"),
            "GET",
            Idempotent::Yes,
            what,
        );
        self.send(o, || async move {
            match app {
                App::Capsule => self.raw().get_capsule_release_job(id, job_id).await,
                App::Pipeline => self.raw().get_pipeline_release_job(id, job_id).await,
            }
        })
        .await
    }

    /// Waits until a capsule's or a pipeline's release job has completed, polling with
    /// `policy`: [`wait_for_capsule_release_with`](Client::wait_for_capsule_release_with) or
    /// [`wait_for_pipeline_release_with`](Client::wait_for_pipeline_release_with).
    pub async fn wait_for_app_release_with(
        &self,
        app: App,
        id: &str,
        job_id: &str,
        policy: PollPolicy,
    ) -> Result<types::ReleaseJob> {
        let what = format!("release job of {}", app.named(id));
        let judge = |job: types::ReleaseJob| match &job.status {
            Some(ReleaseJobStatus::Completed) => std::ops::ControlFlow::Break(Ok(job)),
            Some(ReleaseJobStatus::Failed | ReleaseJobStatus::Canceled) => {
                std::ops::ControlFlow::Break(Err(release_failed(app, id, &job)))
            }
            // Created, started, canceling, or a status this client does not know yet:
            // never taken for success.
            other => std::ops::ControlFlow::Continue(
                other.as_ref().map_or("unknown", |s| s.as_str()).to_owned(),
            ),
        };
        Poll::new(self, job_id, policy)
            .until(&what, || self.app_release_job(app, id, job_id), judge)
            .await
    }

    /// Gets a capsule's metadata.
    pub async fn get_capsule(&self, capsule_id: &str) -> Result<Capsule> {
        self.get_app(App::Capsule, capsule_id).await
    }

    /// Lists a capsule's computations.
    pub async fn list_capsule_computations(&self, capsule_id: &str) -> Result<Vec<Computation>> {
        self.list_app_computations(App::Capsule, capsule_id).await
    }

    /// Deletes a capsule permanently.
    pub async fn delete_capsule(&self, capsule_id: &str) -> Result<()> {
        self.delete_app(App::Capsule, capsule_id).await
    }

    /// The app panel of a capsule (the form a run is configured with): of its current state,
    /// or of a released `version`.
    pub async fn capsule_app_panel(
        &self,
        capsule_id: &str,
        version: Option<i64>,
    ) -> Result<types::AppPanel> {
        self.app_panel(App::Capsule, capsule_id, version).await
    }

    /// Archives (`true`) or unarchives (`false`) a capsule.
    pub async fn archive_capsule(&self, capsule_id: &str, archive: bool) -> Result<()> {
        self.archive_app(App::Capsule, capsule_id, archive).await
    }

    /// Pushes a capsule's commits to its linked Git repository and pulls the repository's new
    /// ones.
    pub async fn sync_capsule(&self, capsule_id: &str) -> Result<types::GitSyncResults> {
        self.sync_app(App::Capsule, capsule_id).await
    }

    /// Starts releasing a new version of a capsule released before, and returns the release
    /// job ([`wait_for_capsule_release`](Client::wait_for_capsule_release) waits for it).
    /// Never re-sent once it may have reached the server: each request starts a release. A
    /// capsule that does not meet the release requirements is answered with HTTP 403.
    pub async fn release_capsule(&self, capsule_id: &str) -> Result<types::ReleaseJob> {
        self.release_app(App::Capsule, capsule_id).await
    }

    /// Gets a release job of a capsule.
    pub async fn get_capsule_release_job(
        &self,
        capsule_id: &str,
        job_id: &str,
    ) -> Result<types::ReleaseJob> {
        self.app_release_job(App::Capsule, capsule_id, job_id).await
    }

    /// Waits until a capsule's release job has completed and returns it (naming the released
    /// capsule and version). A job that `failed` or was `canceled` is an error of kind
    /// [`ErrorKind::ReleaseFailed`] with the server's reason; a status this client does not
    /// know is never taken for success (it keeps polling); giving up is
    /// [`ErrorKind::WaitTimeout`]. Polls with the client's [`PollPolicy`].
    pub async fn wait_for_capsule_release(
        &self,
        capsule_id: &str,
        job_id: &str,
    ) -> Result<types::ReleaseJob> {
        self.wait_for_app_release_with(App::Capsule, capsule_id, job_id, self.inner.poll.clone())
            .await
    }

    /// [`wait_for_capsule_release`](Client::wait_for_capsule_release) with a polling policy of
    /// its own.
    pub async fn wait_for_capsule_release_with(
        &self,
        capsule_id: &str,
        job_id: &str,
        policy: PollPolicy,
    ) -> Result<types::ReleaseJob> {
        self.wait_for_app_release_with(App::Capsule, capsule_id, job_id, policy)
            .await
    }

    /// Gets a pipeline's metadata.
    pub async fn get_pipeline(&self, pipeline_id: &str) -> Result<Capsule> {
        self.get_app(App::Pipeline, pipeline_id).await
    }

    /// Deletes a pipeline permanently.
    pub async fn delete_pipeline(&self, pipeline_id: &str) -> Result<()> {
        self.delete_app(App::Pipeline, pipeline_id).await
    }

    /// Lists a pipeline's computations.
    pub async fn list_pipeline_computations(&self, pipeline_id: &str) -> Result<Vec<Computation>> {
        self.list_app_computations(App::Pipeline, pipeline_id).await
    }

    /// The app panel of a pipeline: of its current state, or of a released `version`.
    pub async fn pipeline_app_panel(
        &self,
        pipeline_id: &str,
        version: Option<i64>,
    ) -> Result<types::AppPanel> {
        self.app_panel(App::Pipeline, pipeline_id, version).await
    }

    /// Archives (`true`) or unarchives (`false`) a pipeline.
    pub async fn archive_pipeline(&self, pipeline_id: &str, archive: bool) -> Result<()> {
        self.archive_app(App::Pipeline, pipeline_id, archive).await
    }

    /// Pushes a pipeline's commits to its linked Git repository and pulls the repository's
    /// new ones.
    pub async fn sync_pipeline(&self, pipeline_id: &str) -> Result<types::GitSyncResults> {
        self.sync_app(App::Pipeline, pipeline_id).await
    }

    /// Starts releasing a new version of a pipeline; see
    /// [`release_capsule`](Client::release_capsule).
    pub async fn release_pipeline(&self, pipeline_id: &str) -> Result<types::ReleaseJob> {
        self.release_app(App::Pipeline, pipeline_id).await
    }

    /// Gets a release job of a pipeline.
    pub async fn get_pipeline_release_job(
        &self,
        pipeline_id: &str,
        job_id: &str,
    ) -> Result<types::ReleaseJob> {
        self.app_release_job(App::Pipeline, pipeline_id, job_id)
            .await
    }

    /// Waits until a pipeline's release job has completed; see
    /// [`wait_for_capsule_release`](Client::wait_for_capsule_release).
    pub async fn wait_for_pipeline_release(
        &self,
        pipeline_id: &str,
        job_id: &str,
    ) -> Result<types::ReleaseJob> {
        self.wait_for_app_release_with(App::Pipeline, pipeline_id, job_id, self.inner.poll.clone())
            .await
    }

    /// [`wait_for_pipeline_release`](Client::wait_for_pipeline_release) with a polling policy
    /// of its own.
    pub async fn wait_for_pipeline_release_with(
        &self,
        pipeline_id: &str,
        job_id: &str,
        policy: PollPolicy,
    ) -> Result<types::ReleaseJob> {
        self.wait_for_app_release_with(App::Pipeline, pipeline_id, job_id, policy)
            .await
    }
}
