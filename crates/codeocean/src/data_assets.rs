//! Data asset operations beyond create, get and update (those are in `ops.rs`): delete,
//! archive, transfer, where an asset is used; and the
//! deployment's custom metadata schema.

use codeocean_raw::{Operation, types};
use futures_util::{StreamExt as _, TryStreamExt as _, stream};

use crate::apps::App;
use crate::client::{Client, op};
use crate::error::Result;
use crate::search::CapsuleSearch;

/// Where to move a data asset's files: an S3 bucket (and folder) of the deployment's.
///
/// ```
/// use codeocean::Transfer;
///
/// let t = Transfer::to_s3("archive-bucket").prefix("2026/assets").force(true);
/// assert_eq!(t.as_raw().force, Some(true));
/// ```
#[derive(Clone, Debug, PartialEq)]
#[must_use = "a transfer moves nothing until passed to `Client::transfer_data_asset`"]
pub struct Transfer(types::TransferDataAssetRequest);

impl Transfer {
    /// Moves the files to this AWS S3 bucket.
    pub fn to_s3(bucket: impl Into<String>) -> Self {
        Self(types::TransferDataAssetRequest {
            force: None,
            target: types::DataAssetTarget {
                aws: Some(types::AwsS3Target {
                    bucket: bucket.into(),
                    endpoint_name: None,
                    prefix: None,
                }),
            },
        })
    }

    /// The folder in the bucket.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        if let Some(aws) = self.0.target.aws.as_mut() {
            aws.prefix = Some(prefix.into());
        }
        self
    }

    /// The name of a custom S3 endpoint the bucket is on.
    pub fn endpoint_name(mut self, name: impl Into<String>) -> Self {
        if let Some(aws) = self.0.target.aws.as_mut() {
            aws.endpoint_name = Some(name.into());
        }
        self
    }

    /// Transfers even when released pipelines use the data asset.
    pub fn force(mut self, force: bool) -> Self {
        self.0.force = Some(force);
        self
    }

    /// The wire form.
    pub fn as_raw(&self) -> &types::TransferDataAssetRequest {
        &self.0
    }
}

impl From<types::TransferDataAssetRequest> for Transfer {
    fn from(r: types::TransferDataAssetRequest) -> Self {
        Self(r)
    }
}

/// Where a data asset is used: the capsules and the pipelines that attach it
/// ([`Client::data_asset_usage`]), each list sorted by name, then id.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DataAssetUsage {
    /// The capsules that attach the asset.
    pub capsules: Vec<DataAssetUse>,
    /// The pipelines that attach the asset.
    pub pipelines: Vec<DataAssetUse>,
}

impl DataAssetUsage {
    /// Whether no capsule and no pipeline attaches the asset.
    pub fn is_empty(&self) -> bool {
        self.capsules.is_empty() && self.pipelines.is_empty()
    }

    /// The capsules, then the pipelines.
    pub fn iter(&self) -> impl Iterator<Item = &DataAssetUse> {
        self.capsules.iter().chain(&self.pipelines)
    }
}

/// A capsule or a pipeline that attaches a data asset, and where it mounts it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct DataAssetUse {
    /// A capsule or a pipeline.
    pub app: App,
    /// The capsule's or the pipeline's id.
    pub id: String,
    /// Its name.
    pub name: Option<String>,
    /// The folder under `/data` it mounts the asset in.
    pub mount: Option<String>,
    /// Whether the capsule or pipeline is archived.
    pub archived: bool,
}

/// App panels read at once by [`Client::data_asset_usage`] (the client's API limiter may
/// allow fewer).
const USAGE_CONCURRENCY: usize = 8;

impl Client {
    /// The capsules and pipelines that attach a data asset (archived ones included): every
    /// capsule and pipeline the caller can see is searched, and the data assets of each one's
    /// app panel (its attachments, as of its current version) checked, a few at once. The
    /// asset is looked up first, so an unknown id is an error (not found), not an empty
    /// answer; an app deleted while the search runs is left out. The cost grows with the
    /// number of capsules and pipelines: one app panel each.
    ///
    /// ```no_run
    /// # async fn example(client: &codeocean::Client) -> codeocean::Result<()> {
    /// let usage = client.data_asset_usage("da7a0000-0000-4000-8000-000000000001").await?;
    /// for used in usage.iter() {
    ///     println!("{} {} mounts it at {:?}", used.app, used.id, used.mount);
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub async fn data_asset_usage(&self, data_asset_id: &str) -> Result<DataAssetUsage> {
        self.get_data_asset(data_asset_id).await?;
        let searches = [App::Capsule, App::Pipeline]
            .into_iter()
            .flat_map(|app| [false, true].map(|archived| (app, archived)))
            .map(|(app, archived)| {
                self.search_apps(app, &CapsuleSearch::new().archived(archived))
                    .map_ok(move |found| (app, archived, found))
            });
        let mut uses: Vec<DataAssetUse> = stream::iter(searches)
            .flatten()
            .map(|found| async move {
                let (app, archived, found) = found?;
                let panel = match self.app_panel(app, &found.id, None).await {
                    Ok(panel) => panel,
                    Err(e) if e.is_not_found() => return Ok(None),
                    Err(e) => return Err(e),
                };
                Ok(panel
                    .data_assets
                    .into_iter()
                    .find(|a| a.id == data_asset_id)
                    .map(|a| DataAssetUse {
                        app,
                        id: found.id,
                        name: found.name,
                        mount: a.mount,
                        archived,
                    }))
            })
            .buffer_unordered(USAGE_CONCURRENCY)
            .try_filter_map(|found| async move { Ok(found) })
            .try_collect()
            .await?;
        uses.sort_by(|a, b| (&a.name, &a.id).cmp(&(&b.name, &b.id)));
        let (capsules, pipelines) = uses.into_iter().partition(|u| u.app == App::Capsule);
        Ok(DataAssetUsage {
            capsules,
            pipelines,
        })
    }

    /// Deletes a data asset permanently.
    pub async fn delete_data_asset(&self, data_asset_id: &str) -> Result<()> {
        let what = format!("deleting data asset {data_asset_id}");
        self.send(op(Operation::DeleteDataAsset, what), || {
            self.raw().delete_data_asset(data_asset_id)
        })
        .await
    }

    /// Archives a data asset (it leaves searches unless they ask for archived items;
    /// [`unarchive_data_asset`](Client::unarchive_data_asset) brings it back).
    pub async fn archive_data_asset(&self, data_asset_id: &str) -> Result<()> {
        self.set_data_asset_archived(data_asset_id, true).await
    }

    /// Unarchives a data asset archived with
    /// [`archive_data_asset`](Client::archive_data_asset).
    pub async fn unarchive_data_asset(&self, data_asset_id: &str) -> Result<()> {
        self.set_data_asset_archived(data_asset_id, false).await
    }

    /// `PATCH /data_assets/{id}/archive?archive=`: one operation, two methods.
    async fn set_data_asset_archived(&self, data_asset_id: &str, archive: bool) -> Result<()> {
        let verb = if archive { "archiving" } else { "unarchiving" };
        let what = format!("{verb} data asset {data_asset_id}");
        self.send(op(Operation::ArchiveDataAsset, what), || {
            self.raw().archive_data_asset(data_asset_id, archive)
        })
        .await
    }

    /// Starts moving a data asset's files to another S3 location (administrators only). The
    /// move happens in the background: the asset's `last_transferred` and `transfer_error` tell
    /// how it went. Never re-sent once it may have reached the server.
    pub async fn transfer_data_asset(
        &self,
        data_asset_id: &str,
        transfer: &Transfer,
    ) -> Result<()> {
        let what = format!("transferring data asset {data_asset_id}");
        self.send(op(Operation::TransferDataAsset, what), || {
            self.raw().transfer_data_asset(data_asset_id, &transfer.0)
        })
        .await
    }

    /// The custom metadata fields the deployment's administrators defined for data assets.
    pub async fn get_custom_metadata_schema(&self) -> Result<types::CustomMetadataSchema> {
        self.send(
            op(
                Operation::GetCustomMetadata,
                "getting the custom metadata schema".to_owned(),
            ),
            || self.raw().get_custom_metadata(),
        )
        .await
    }
}
