//! Who may use what: permissions of capsules, pipelines and data assets, and data assets
//! attached to capsules, pipelines and cloud workstation sessions.

use codeocean_raw::{Operation, types};

use crate::apps::{App, app_twins};
use crate::client::{Client, op};
use crate::error::Result;
use crate::{EveryoneRole, GroupRole, UserRole};

/// New permissions for a capsule, pipeline or data asset.
///
/// ```
/// use codeocean::{EveryoneRole, PermissionsUpdate, UserRole};
///
/// let update = PermissionsUpdate::new()
///     .user("ada@example.com", UserRole::Editor)
///     .everyone(EveryoneRole::Viewer)
///     .share_assets(true);
/// assert_eq!(update.as_raw().users.as_ref().map(Vec::len), Some(1));
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
#[must_use = "a permissions update changes nothing until passed to an `update_…_permissions` method"]
pub struct PermissionsUpdate(types::Permissions);

impl PermissionsUpdate {
    /// Permissions that set nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Gives a user (by e-mail address) a role.
    pub fn user(mut self, email: impl Into<String>, role: UserRole) -> Self {
        self.0
            .users
            .get_or_insert_default()
            .push(types::UserPermissions {
                email: email.into(),
                role,
            });
        self
    }

    /// Gives a group (by id) a role.
    pub fn group(mut self, group: impl Into<String>, role: GroupRole) -> Self {
        self.0
            .groups
            .get_or_insert_default()
            .push(types::GroupPermissions {
                group: group.into(),
                role,
            });
        self
    }

    /// Sets what everyone in the deployment may do.
    pub fn everyone(mut self, role: EveryoneRole) -> Self {
        self.0.everyone = Some(role);
        self
    }

    /// Also shares the related assets (the data assets a capsule uses, the capsules of a
    /// pipeline) with the users and groups added.
    pub fn share_assets(mut self, share: bool) -> Self {
        self.0.share_assets = Some(share);
        self
    }

    /// The wire form.
    pub fn as_raw(&self) -> &types::Permissions {
        &self.0
    }
}

impl From<types::Permissions> for PermissionsUpdate {
    fn from(p: types::Permissions) -> Self {
        Self(p)
    }
}

/// Data assets to attach to a capsule, a pipeline or a cloud workstation session.
///
/// ```
/// use codeocean::Attachments;
///
/// let attach = Attachments::new()
///     .data_asset("da7a0000-0000-4000-8000-000000000001", "reference")
///     .data_asset("da7a0000-0000-4000-8000-000000000002", ""); // its default mount
/// assert_eq!(attach.as_raw()[1].mount, None);
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
#[must_use = "attachments attach nothing until passed to an `attach_…_data_assets` method"]
pub struct Attachments(Vec<types::DataAssetAttachParams>);

impl Attachments {
    /// No data assets yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Attaches a data asset at a mount folder under `/data` (empty mount: the asset's
    /// default).
    pub fn data_asset(mut self, id: impl Into<String>, mount: impl Into<String>) -> Self {
        let mount = mount.into();
        self.0.push(types::DataAssetAttachParams {
            id: id.into(),
            mount: (!mount.is_empty()).then_some(mount),
        });
        self
    }

    /// Whether no data asset was added.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The wire form.
    pub fn as_raw(&self) -> &[types::DataAssetAttachParams] {
        &self.0
    }
}

/// What attaching or detaching acts on.
#[derive(Clone, Copy)]
enum Holder {
    App(App),
    Computation,
}

impl Holder {
    fn named(self, id: &str) -> String {
        match self {
            Self::App(app) => app.named(id),
            Self::Computation => format!("computation {id}"),
        }
    }
}

impl Client {
    async fn attach(
        &self,
        holder: Holder,
        id: &str,
        assets: &Attachments,
    ) -> Result<Vec<types::DataAssetAttachResult>> {
        let what = format!(
            "attaching {} data asset(s) to {}",
            assets.0.len(),
            holder.named(id)
        );
        let operation = match holder {
            Holder::App(App::Capsule) => Operation::AttachCapsuleDataAssets,
            Holder::App(App::Pipeline) => Operation::AttachPipelineDataAssets,
            Holder::Computation => Operation::AttachComputationDataAssets,
        };
        // Attaching sets a state: sending it again leaves the same assets attached.
        self.send(op(operation, what), || async move {
            match holder {
                Holder::App(App::Capsule) => {
                    self.raw().attach_capsule_data_assets(id, &assets.0).await
                }
                Holder::App(App::Pipeline) => {
                    self.raw().attach_pipeline_data_assets(id, &assets.0).await
                }
                Holder::Computation => {
                    self.raw()
                        .attach_computation_data_assets(id, &assets.0)
                        .await
                }
            }
        })
        .await
    }

    async fn detach<S: AsRef<str>>(
        &self,
        holder: Holder,
        id: &str,
        data_asset_ids: &[S],
    ) -> Result<()> {
        let ids: Vec<String> = data_asset_ids
            .iter()
            .map(|s| s.as_ref().to_owned())
            .collect();
        let what = format!(
            "detaching {} data asset(s) from {}",
            ids.len(),
            holder.named(id)
        );
        let operation = match holder {
            Holder::App(App::Capsule) => Operation::DetachCapsuleDataAssets,
            Holder::App(App::Pipeline) => Operation::DetachPipelineDataAssets,
            Holder::Computation => Operation::DetachComputationDataAssets,
        };
        let ids = &ids;
        self.send(op(operation, what), || async move {
            match holder {
                Holder::App(App::Capsule) => self.raw().detach_capsule_data_assets(id, ids).await,
                Holder::App(App::Pipeline) => self.raw().detach_pipeline_data_assets(id, ids).await,
                Holder::Computation => self.raw().detach_computation_data_assets(id, ids).await,
            }
        })
        .await
    }

    /// Who may see or change a capsule or a pipeline:
    /// [`get_capsule_permissions`](Client::get_capsule_permissions) or
    /// [`get_pipeline_permissions`](Client::get_pipeline_permissions), the family picked at run
    /// time.
    pub async fn get_app_permissions(&self, app: App, id: &str) -> Result<types::Permissions> {
        let what = format!("getting the permissions of {}", app.named(id));
        self.send_app(
            app,
            what,
            (Operation::GetCapsulePermissions, || {
                self.raw().get_capsule_permissions(id)
            }),
            (Operation::GetPipelinePermissions, || {
                self.raw().get_pipeline_permissions(id)
            }),
        )
        .await
    }

    /// Sets who may see or change a capsule or a pipeline:
    /// [`update_capsule_permissions`](Client::update_capsule_permissions) or
    /// [`update_pipeline_permissions`](Client::update_pipeline_permissions).
    pub async fn update_app_permissions(
        &self,
        app: App,
        id: &str,
        update: &PermissionsUpdate,
    ) -> Result<()> {
        let what = format!("updating the permissions of {}", app.named(id));
        // Permissions are set, not added to: sending them again changes nothing.
        self.send_app(
            app,
            what,
            (Operation::UpdateCapsulePermissions, || {
                self.raw().update_capsule_permissions(id, &update.0)
            }),
            (Operation::UpdatePipelinePermissions, || {
                self.raw().update_pipeline_permissions(id, &update.0)
            }),
        )
        .await
    }

    /// Attaches data assets to a capsule or a pipeline:
    /// [`attach_capsule_data_assets`](Client::attach_capsule_data_assets) or
    /// [`attach_pipeline_data_assets`](Client::attach_pipeline_data_assets).
    pub async fn attach_app_data_assets(
        &self,
        app: App,
        id: &str,
        assets: &Attachments,
    ) -> Result<Vec<types::DataAssetAttachResult>> {
        self.attach(Holder::App(app), id, assets).await
    }

    /// Detaches data assets (by id) from a capsule or a pipeline:
    /// [`detach_capsule_data_assets`](Client::detach_capsule_data_assets) or
    /// [`detach_pipeline_data_assets`](Client::detach_pipeline_data_assets).
    pub async fn detach_app_data_assets<S: AsRef<str>>(
        &self,
        app: App,
        id: &str,
        data_asset_ids: &[S],
    ) -> Result<()> {
        self.detach(Holder::App(app), id, data_asset_ids).await
    }

    /// Attaches data assets to a running cloud workstation session (a computation); returns
    /// one entry per attached asset.
    pub async fn attach_computation_data_assets(
        &self,
        computation_id: &str,
        assets: &Attachments,
    ) -> Result<Vec<types::DataAssetAttachResult>> {
        self.attach(Holder::Computation, computation_id, assets)
            .await
    }

    /// Detaches data assets (by id) from a running cloud workstation session.
    pub async fn detach_computation_data_assets<S: AsRef<str>>(
        &self,
        computation_id: &str,
        data_asset_ids: &[S],
    ) -> Result<()> {
        self.detach(Holder::Computation, computation_id, data_asset_ids)
            .await
    }

    /// Who may see or change a data asset.
    pub async fn get_data_asset_permissions(
        &self,
        data_asset_id: &str,
    ) -> Result<types::Permissions> {
        let what = format!("getting the permissions of data asset {data_asset_id}");
        self.send(op(Operation::GetDataAssetPermissions, what), || {
            self.raw().get_data_asset_permissions(data_asset_id)
        })
        .await
    }

    /// Sets who may see or change a data asset.
    pub async fn update_data_asset_permissions(
        &self,
        data_asset_id: &str,
        update: &PermissionsUpdate,
    ) -> Result<()> {
        let what = format!("updating the permissions of data asset {data_asset_id}");
        self.send(op(Operation::UpdateDataAssetPermissions, what), || {
            self.raw()
                .update_data_asset_permissions(data_asset_id, &update.0)
        })
        .await
    }
}

app_twins! {
    /// Attaches data assets to a capsule; returns one entry per attached asset with the state
    /// of its mount.
    attach_capsule_data_assets,
    /// Attaches data assets to a pipeline; returns one entry per attached asset.
    attach_pipeline_data_assets
    = attach_app_data_assets(assets: &Attachments) -> Vec<types::DataAssetAttachResult>;

    /// Detaches data assets (by id) from a capsule.
    detach_capsule_data_assets,
    /// Detaches data assets (by id) from a pipeline.
    detach_pipeline_data_assets
    = detach_app_data_assets<S: AsRef<str>>(data_asset_ids: &[S]) -> ();

    /// Who may see or change a capsule.
    get_capsule_permissions,
    /// Who may see or change a pipeline.
    get_pipeline_permissions
    = get_app_permissions() -> types::Permissions;

    /// Sets who may see or change a capsule.
    update_capsule_permissions,
    /// Sets who may see or change a pipeline.
    update_pipeline_permissions
    = update_app_permissions(update: &PermissionsUpdate) -> ();
}
