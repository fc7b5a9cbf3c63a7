//! Data asset operations beyond create, get and update (those are in `ops.rs`), and the
//! deployment's custom metadata schema.

use codeocean_raw::{Operation, types};

use crate::client::{Client, op};
use crate::error::Result;

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

impl Client {
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
