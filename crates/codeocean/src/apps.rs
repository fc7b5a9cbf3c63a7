//! Capsules and pipelines: the operations they share (the API serves pipelines as capsules
//! under `/pipelines`), release jobs and the release waiter.

use std::future::Future;

use codeocean_raw::{Operation, types};
use futures_util::future::Either;

use crate::client::{Client, PollPolicy, RawResult, op};
use crate::error::{Error, ErrorKind, Result};
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

    /// "capsule ID" (the full id).
    pub(crate) fn named(self, id: &str) -> String {
        format!("{} {id}", self.noun())
    }

    /// Picks the operation of this family.
    pub(crate) fn pick(self, capsule: Operation, pipeline: Operation) -> Operation {
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
        format!("release job {} of {}", job.job_id, app.named(id)),
        format!("the release ended `{status}`{why}"),
    )
    .about(&job.job_id)
}

impl Client {
    /// Sends the capsule's or the pipeline's form of one operation: each family's
    /// [`Operation`] with the raw call that sends it.
    pub(crate) async fn send_app<T, C, P>(
        &self,
        app: App,
        what: String,
        capsule: (Operation, impl Fn() -> C),
        pipeline: (Operation, impl Fn() -> P),
    ) -> Result<T>
    where
        C: Future<Output = RawResult<T>>,
        P: Future<Output = RawResult<T>>,
    {
        let operation = app.pick(capsule.0, pipeline.0);
        self.send(op(operation, what), || match app {
            App::Capsule => Either::Left((capsule.1)()),
            App::Pipeline => Either::Right((pipeline.1)()),
        })
        .await
    }

    /// Gets a capsule's or a pipeline's metadata: [`get_capsule`](Client::get_capsule) or
    /// [`get_pipeline`](Client::get_pipeline), the family picked at run time.
    pub async fn get_app(&self, app: App, id: &str) -> Result<Capsule> {
        let what = format!("getting {}", app.named(id));
        self.send_app(
            app,
            what,
            (Operation::GetCapsule, || self.raw().get_capsule(id)),
            (Operation::GetPipeline, || self.raw().get_pipeline(id)),
        )
        .await
    }

    /// Deletes a capsule or a pipeline permanently: [`delete_capsule`](Client::delete_capsule)
    /// or [`delete_pipeline`](Client::delete_pipeline).
    pub async fn delete_app(&self, app: App, id: &str) -> Result<()> {
        let what = format!("deleting {}", app.named(id));
        self.send_app(
            app,
            what,
            (Operation::DeleteCapsule, || self.raw().delete_capsule(id)),
            (Operation::DeletePipeline, || self.raw().delete_pipeline(id)),
        )
        .await
    }

    /// Lists a capsule's or a pipeline's computations:
    /// [`list_capsule_computations`](Client::list_capsule_computations) or
    /// [`list_pipeline_computations`](Client::list_pipeline_computations).
    pub async fn list_app_computations(&self, app: App, id: &str) -> Result<Vec<Computation>> {
        let what = format!("listing computations of {}", app.named(id));
        self.send_app(
            app,
            what,
            (Operation::ListCapsuleComputations, || {
                self.raw().list_capsule_computations(id)
            }),
            (Operation::ListPipelineComputations, || {
                self.raw().list_pipeline_computations(id)
            }),
        )
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
        self.send_app(
            app,
            what,
            (Operation::GetCapsuleAppPanel, || {
                self.raw().get_capsule_app_panel(id, version)
            }),
            (Operation::GetPipelineAppPanel, || {
                self.raw().get_pipeline_app_panel(id, version)
            }),
        )
        .await
    }

    /// Archives a capsule or a pipeline: [`archive_capsule`](Client::archive_capsule) or
    /// [`archive_pipeline`](Client::archive_pipeline). [`unarchive_app`](Client::unarchive_app)
    /// undoes it.
    pub async fn archive_app(&self, app: App, id: &str) -> Result<()> {
        self.set_app_archived(app, id, true).await
    }

    /// Unarchives a capsule or a pipeline: [`unarchive_capsule`](Client::unarchive_capsule) or
    /// [`unarchive_pipeline`](Client::unarchive_pipeline).
    pub async fn unarchive_app(&self, app: App, id: &str) -> Result<()> {
        self.set_app_archived(app, id, false).await
    }

    /// `PATCH …/archive?archive=`: one operation, two methods, so that a call says which way.
    async fn set_app_archived(&self, app: App, id: &str, archive: bool) -> Result<()> {
        let verb = if archive { "archiving" } else { "unarchiving" };
        let what = format!("{verb} {}", app.named(id));
        self.send_app(
            app,
            what,
            (Operation::ArchiveCapsule, || {
                self.raw().archive_capsule(id, archive)
            }),
            (Operation::ArchivePipeline, || {
                self.raw().archive_pipeline(id, archive)
            }),
        )
        .await
    }

    /// Syncs a capsule or a pipeline with its Git repository:
    /// [`sync_capsule`](Client::sync_capsule) or [`sync_pipeline`](Client::sync_pipeline).
    pub async fn sync_app(&self, app: App, id: &str) -> Result<types::GitSyncResults> {
        let what = format!("syncing {} with its Git remote", app.named(id));
        // Syncing twice pushes and pulls nothing new the second time.
        self.send_app(
            app,
            what,
            (Operation::SyncCapsule, || self.raw().sync_capsule(id)),
            (Operation::SyncPipeline, || self.raw().sync_pipeline(id)),
        )
        .await
    }

    /// Starts releasing a new version of a capsule or a pipeline (never re-sent once it may
    /// have reached the server): [`release_capsule`](Client::release_capsule) or
    /// [`release_pipeline`](Client::release_pipeline).
    pub async fn release_app(&self, app: App, id: &str) -> Result<types::ReleaseJob> {
        let what = format!("releasing a new version of {}", app.named(id));
        // Each request starts a release: never re-sent once it may have reached the server.
        self.send_app(
            app,
            what,
            (Operation::ReleaseCapsule, || self.raw().release_capsule(id)),
            (Operation::ReleasePipeline, || {
                self.raw().release_pipeline(id)
            }),
        )
        .await
    }

    async fn app_release_job(&self, app: App, id: &str, job_id: &str) -> Result<types::ReleaseJob> {
        let what = format!("getting release job {job_id} of {}", app.named(id));
        self.send_app(
            app,
            what,
            (Operation::GetCapsuleReleaseJob, || {
                self.raw().get_capsule_release_job(id, job_id)
            }),
            (Operation::GetPipelineReleaseJob, || {
                self.raw().get_pipeline_release_job(id, job_id)
            }),
        )
        .await
    }

    /// Waits until a capsule's or a pipeline's release job has completed: await the returned
    /// [`WaitForRelease`]; [`wait_for_capsule_release`](Client::wait_for_capsule_release) or
    /// [`wait_for_pipeline_release`](Client::wait_for_pipeline_release).
    pub fn wait_for_app_release(&self, app: App, id: &str, job_id: &str) -> WaitForRelease {
        WaitForRelease {
            client: self.clone(),
            app,
            id: id.to_owned(),
            job_id: job_id.to_owned(),
            policy: self.inner.poll.clone(),
        }
    }

    /// Waits until a capsule's release job has completed and returns it (naming the released
    /// capsule and version): await the returned [`WaitForRelease`], with a
    /// [`timeout`](WaitForRelease::timeout) of its own if need be. A job that `failed` or was
    /// `canceled` is an error of kind [`ErrorKind::ReleaseFailed`] with the server's reason; a
    /// status this client does not know is never taken for success (it keeps polling); giving
    /// up is [`ErrorKind::WaitTimeout`]. Polls with the client's [`PollPolicy`] by default.
    pub fn wait_for_capsule_release(&self, capsule_id: &str, job_id: &str) -> WaitForRelease {
        self.wait_for_app_release(App::Capsule, capsule_id, job_id)
    }

    /// Waits until a pipeline's release job has completed; see
    /// [`wait_for_capsule_release`](Client::wait_for_capsule_release).
    pub fn wait_for_pipeline_release(&self, pipeline_id: &str, job_id: &str) -> WaitForRelease {
        self.wait_for_app_release(App::Pipeline, pipeline_id, job_id)
    }
}

/// A wait for a release job of a capsule or a pipeline to complete: made by
/// [`Client::wait_for_capsule_release`] (and its twins), run by awaiting it (it is
/// [`IntoFuture`]).
#[derive(Clone, Debug)]
#[must_use = "a wait does nothing until it is awaited"]
pub struct WaitForRelease {
    client: Client,
    app: App,
    id: String,
    job_id: String,
    policy: PollPolicy,
}

impl WaitForRelease {
    crate::wait::wait_options!();

    async fn run(self) -> Result<types::ReleaseJob> {
        let (app, id, job_id) = (self.app, self.id.as_str(), self.job_id.as_str());
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
        let client = &self.client;
        Poll::new(client, job_id, self.policy.clone())
            .until(&what, || client.app_release_job(app, id, job_id), judge)
            .await
    }
}

impl std::future::IntoFuture for WaitForRelease {
    type Output = Result<types::ReleaseJob>;
    type IntoFuture = futures_util::future::BoxFuture<'static, Result<types::ReleaseJob>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.run())
    }
}

/// The flat, SDK-named twins of the methods that take an [`App`]: one row per operation, with
/// the capsule method's docs and name, the pipeline method's docs and name, and the method
/// both call (with [`App::Capsule`] or [`App::Pipeline`] before their other arguments).
macro_rules! app_twins {
    ($(
        $(#[doc = $capsule_doc:literal])* $capsule:ident,
        $(#[doc = $pipeline_doc:literal])* $pipeline:ident
        = $generic:ident $(<$g:ident: $bound:path>)? ($($arg:ident: $ty:ty),*) -> $ret:ty;
    )*) => {
        impl Client {
            $(
                $(#[doc = $capsule_doc])*
                pub async fn $capsule $(<$g: $bound>)? (
                    &self,
                    capsule_id: &str,
                    $($arg: $ty),*
                ) -> Result<$ret> {
                    self.$generic(App::Capsule, capsule_id, $($arg),*).await
                }

                $(#[doc = $pipeline_doc])*
                pub async fn $pipeline $(<$g: $bound>)? (
                    &self,
                    pipeline_id: &str,
                    $($arg: $ty),*
                ) -> Result<$ret> {
                    self.$generic(App::Pipeline, pipeline_id, $($arg),*).await
                }
            )*
        }
    };
}
pub(crate) use app_twins;

app_twins! {
    /// Gets a capsule's metadata.
    get_capsule,
    /// Gets a pipeline's metadata.
    get_pipeline
    = get_app() -> Capsule;

    /// Lists a capsule's computations.
    list_capsule_computations,
    /// Lists a pipeline's computations.
    list_pipeline_computations
    = list_app_computations() -> Vec<Computation>;

    /// Deletes a capsule permanently.
    delete_capsule,
    /// Deletes a pipeline permanently.
    delete_pipeline
    = delete_app() -> ();

    /// The app panel of a capsule (the form a run is configured with): of its current state,
    /// or of a released `version`.
    capsule_app_panel,
    /// The app panel of a pipeline: of its current state, or of a released `version`.
    pipeline_app_panel
    = app_panel(version: Option<i64>) -> types::AppPanel;

    /// Archives a capsule (it leaves searches unless they ask for archived items;
    /// [`unarchive_capsule`](Client::unarchive_capsule) brings it back).
    archive_capsule,
    /// Archives a pipeline; [`unarchive_pipeline`](Client::unarchive_pipeline) brings it back.
    archive_pipeline
    = archive_app() -> ();

    /// Unarchives a capsule archived with [`archive_capsule`](Client::archive_capsule).
    unarchive_capsule,
    /// Unarchives a pipeline archived with [`archive_pipeline`](Client::archive_pipeline).
    unarchive_pipeline
    = unarchive_app() -> ();

    /// Pushes a capsule's commits to its linked Git repository and pulls the repository's new
    /// ones.
    sync_capsule,
    /// Pushes a pipeline's commits to its linked Git repository and pulls the repository's
    /// new ones.
    sync_pipeline
    = sync_app() -> types::GitSyncResults;

    /// Starts releasing a new version of a capsule released before, and returns the release
    /// job ([`wait_for_capsule_release`](Client::wait_for_capsule_release) waits for it).
    /// Never re-sent once it may have reached the server: each request starts a release. A
    /// capsule that does not meet the release requirements is answered with HTTP 403.
    release_capsule,
    /// Starts releasing a new version of a pipeline; see
    /// [`release_capsule`](Client::release_capsule).
    release_pipeline
    = release_app() -> types::ReleaseJob;

    /// Gets a release job of a capsule.
    get_capsule_release_job,
    /// Gets a release job of a pipeline.
    get_pipeline_release_job
    = app_release_job(job_id: &str) -> types::ReleaseJob;
}
