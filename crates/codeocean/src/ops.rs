//! Every operation of the spec, with Rust-friendly signatures.

use std::collections::BTreeMap;

use codeocean_raw::{Operation, types};

use crate::client::{Client, op};
use crate::error::Result;
use crate::{Computation, CustomMetadataValue, DataAsset};

/// What to run and with what: a capsule or a pipeline, data assets, parameters.
///
/// ```
/// use codeocean::RunRequest;
///
/// let run = RunRequest::capsule("c0ffee00-0000-4000-8000-000000000001")
///     .version(2)
///     .data_asset("da7a0000-0000-4000-8000-000000000001", "reference")
///     .named_parameter("greeting", "hello");
/// assert_eq!(run.as_raw().named_parameters.as_ref().map(Vec::len), Some(1));
/// ```
#[derive(Clone, Debug, PartialEq)]
#[must_use = "a run request starts nothing until passed to `Client::run`"]
pub struct RunRequest(types::RunRequest);

impl RunRequest {
    /// Runs a capsule.
    pub fn capsule(capsule_id: impl Into<String>) -> Self {
        Self(types::RunRequest {
            capsule_id: Some(capsule_id.into()),
            ..Default::default()
        })
    }

    /// Runs a pipeline.
    pub fn pipeline(pipeline_id: impl Into<String>) -> Self {
        Self(types::RunRequest {
            pipeline_id: Some(pipeline_id.into()),
            ..Default::default()
        })
    }

    /// Runs this released version.
    pub fn version(mut self, version: i64) -> Self {
        self.0.version = Some(version);
        self
    }

    /// Attaches a data asset at a mount folder (empty mount: the asset's default).
    pub fn data_asset(mut self, id: impl Into<String>, mount: impl Into<String>) -> Self {
        let mount = mount.into();
        self.0
            .data_assets
            .get_or_insert_default()
            .push(types::RunDataAsset {
                id: id.into(),
                mount: (!mount.is_empty()).then_some(mount),
            });
        self
    }

    /// Appends an ordered parameter.
    pub fn parameter(mut self, value: impl Into<String>) -> Self {
        self.0.parameters.get_or_insert_default().push(value.into());
        self
    }

    /// Sets a named parameter.
    pub fn named_parameter(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.0
            .named_parameters
            .get_or_insert_default()
            .push(types::NamedParameter {
                param_name: name.into(),
                value: value.into(),
            });
        self
    }

    /// Parameters of one process of a pipeline (ordered, then named).
    pub fn process<P, N, K, V>(mut self, name: impl Into<String>, ordered: P, named: N) -> Self
    where
        P: IntoIterator,
        P::Item: Into<String>,
        N: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        self.0
            .processes
            .get_or_insert_default()
            .push(types::ProcessParameters {
                name: name.into(),
                parameters: non_empty(ordered.into_iter().map(Into::into).collect()),
                named_parameters: non_empty(
                    named
                        .into_iter()
                        .map(|(k, v)| types::NamedParameter {
                            param_name: k.into(),
                            value: v.into(),
                        })
                        .collect(),
                ),
            });
        self
    }

    /// The Nextflow profile of a pipeline run.
    pub fn nextflow_profile(mut self, profile: impl Into<String>) -> Self {
        self.0.nextflow_profile = Some(profile.into());
        self
    }

    /// The wire form.
    pub fn as_raw(&self) -> &types::RunRequest {
        &self.0
    }

    fn target(&self) -> String {
        match (&self.0.capsule_id, &self.0.pipeline_id) {
            (Some(c), _) => format!("capsule {c}"),
            (None, Some(p)) => format!("pipeline {p}"),
            (None, None) => "nothing".into(),
        }
    }
}

impl From<types::RunRequest> for RunRequest {
    fn from(r: types::RunRequest) -> Self {
        Self(r)
    }
}

/// A new data asset made from a computation's results.
///
/// ```
/// use codeocean::NewDataAsset;
///
/// let asset = NewDataAsset::from_computation("66095e3a-0747-4ec5-b8b1-95b89a428536", "My results", "my-results")
///     .description("Results of the nightly run")
///     .tag("nightly")
///     .metadata("samples", 42);
/// assert_eq!(asset.as_raw().tags, ["nightly"]);
/// ```
#[derive(Clone, Debug, PartialEq)]
#[must_use = "a new data asset is created only when passed to `Client::create_data_asset`"]
pub struct NewDataAsset(types::CreateDataAssetRequest);

/// The `description` and `metadata` setters of both data-asset builders (each wraps a wire
/// request with these two fields), with each setter's docs.
macro_rules! description_and_metadata {
    ($description_doc:literal, $metadata_doc:literal) => {
        #[doc = $description_doc]
        pub fn description(mut self, description: impl Into<String>) -> Self {
            self.0.description = Some(description.into());
            self
        }

        #[doc = $metadata_doc]
        pub fn metadata(
            mut self,
            key: impl Into<String>,
            value: impl Into<CustomMetadataValue>,
        ) -> Self {
            set_metadata(&mut self.0.custom_metadata, key.into(), value.into());
            self
        }
    };
}

impl NewDataAsset {
    /// A result data asset holding a computation's results, mounted at `mount`.
    pub fn from_computation(
        computation_id: impl Into<String>,
        name: impl Into<String>,
        mount: impl Into<String>,
    ) -> Self {
        Self(types::CreateDataAssetRequest {
            custom_metadata: None,
            data_asset_ids: None,
            description: None,
            mount: mount.into(),
            name: name.into(),
            source: Some(types::DataAssetSource {
                computation: Some(types::ComputationSource {
                    id: computation_id.into(),
                    path: None,
                }),
                ..Default::default()
            }),
            results_info: None,
            tags: vec![],
            target: None,
        })
    }

    /// Only this folder of the results.
    pub fn path(mut self, path: impl Into<String>) -> Self {
        if let Some(c) = self.0.source.as_mut().and_then(|s| s.computation.as_mut()) {
            c.path = Some(path.into());
        }
        self
    }

    description_and_metadata!(
        "A description.",
        "Sets a custom metadata field (a string or a number)."
    );

    /// Adds a tag.
    pub fn tag(mut self, tag: impl Into<String>) -> Self {
        self.0.tags.push(tag.into());
        self
    }

    /// The wire form.
    pub fn as_raw(&self) -> &types::CreateDataAssetRequest {
        &self.0
    }
}

impl From<types::CreateDataAssetRequest> for NewDataAsset {
    fn from(r: types::CreateDataAssetRequest) -> Self {
        Self(r)
    }
}

/// New metadata for a data asset; fields left unset are not changed.
///
/// ```
/// use codeocean::DataAssetUpdate;
///
/// let update = DataAssetUpdate::new().name("Renamed").tags(["a", "b"]).metadata("score", 0.93);
/// assert_eq!(update.as_raw().name.as_deref(), Some("Renamed"));
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
#[must_use = "an update changes nothing until passed to `Client::update_data_asset`"]
pub struct DataAssetUpdate(types::UpdateDataAssetRequest);

impl DataAssetUpdate {
    /// An update that changes nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// A new name.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.0.name = Some(name.into());
        self
    }

    description_and_metadata!(
        "A new description.",
        "Sets a custom metadata field; the custom metadata sent replaces the asset's."
    );

    /// A new mount folder.
    pub fn mount(mut self, mount: impl Into<String>) -> Self {
        self.0.mount = Some(mount.into());
        self
    }

    /// New tags, replacing the old ones (an empty list removes them all).
    pub fn tags<I: IntoIterator<Item = S>, S: Into<String>>(mut self, tags: I) -> Self {
        self.0.tags = Some(tags.into_iter().map(Into::into).collect());
        self
    }

    /// Sets the whole custom metadata, replacing the asset's; an empty list removes every
    /// field (which [`metadata`](Self::metadata) cannot express). To change one field and keep
    /// the others, read the asset, merge, and send the result here.
    ///
    /// ```
    /// use codeocean::DataAssetUpdate;
    ///
    /// let clear = DataAssetUpdate::new().replace_metadata(Vec::<(String, i64)>::new());
    /// let wire = serde_json::to_value(clear.as_raw()).unwrap();
    /// assert_eq!(wire, serde_json::json!({"custom_metadata": {}}));
    /// ```
    pub fn replace_metadata<I, K, V>(mut self, fields: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<CustomMetadataValue>,
    {
        self.0.custom_metadata = Some(types::CustomMetadata(
            fields
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        ));
        self
    }

    /// The wire form.
    pub fn as_raw(&self) -> &types::UpdateDataAssetRequest {
        &self.0
    }
}

/// Sets one custom metadata field, creating the map when the request has none yet.
fn set_metadata(map: &mut Option<types::CustomMetadata>, key: String, value: CustomMetadataValue) {
    map.get_or_insert_with(|| types::CustomMetadata(BTreeMap::new()))
        .0
        .insert(key, value);
}

impl Client {
    /// Starts a run. Never retried once the request may have reached the server (only a
    /// `429`, which the server did not act on, or a connection that could not be opened).
    pub async fn run(&self, request: &RunRequest) -> Result<Computation> {
        let what = format!("running {}", request.target());
        self.send(op(Operation::RunComputation, what), || {
            self.raw().run_computation(&request.0)
        })
        .await
    }

    /// Gets a computation.
    pub async fn get_computation(&self, computation_id: &str) -> Result<Computation> {
        let what = format!("getting computation {computation_id}");
        self.send(op(Operation::GetComputation, what), || {
            self.raw().get_computation(computation_id)
        })
        .await
    }

    /// Deletes a computation, stopping it first if it is running.
    pub async fn delete_computation(&self, computation_id: &str) -> Result<()> {
        let what = format!("deleting computation {computation_id}");
        self.send(op(Operation::DeleteComputation, what), || {
            self.raw().delete_computation(computation_id)
        })
        .await
    }

    /// Renames a computation.
    pub async fn rename_computation(&self, computation_id: &str, name: &str) -> Result<()> {
        let what = format!("renaming computation {computation_id}");
        let name = name.to_owned();
        self.send(op(Operation::RenameComputation, what), || {
            self.raw().rename_computation(computation_id, &name)
        })
        .await
    }

    /// Creates a data asset. Like a run, never retried once it may have reached the server.
    pub async fn create_data_asset(&self, asset: &NewDataAsset) -> Result<DataAsset> {
        let what = format!("creating data asset `{}`", asset.0.name);
        self.send(op(Operation::CreateDataAsset, what), || {
            self.raw().create_data_asset(&asset.0)
        })
        .await
    }

    /// Gets a data asset.
    pub async fn get_data_asset(&self, data_asset_id: &str) -> Result<DataAsset> {
        let what = format!("getting data asset {data_asset_id}");
        self.send(op(Operation::GetDataAsset, what), || {
            self.raw().get_data_asset(data_asset_id)
        })
        .await
    }

    /// Updates a data asset's metadata.
    pub async fn update_data_asset(
        &self,
        data_asset_id: &str,
        update: &DataAssetUpdate,
    ) -> Result<DataAsset> {
        let what = format!("updating data asset {data_asset_id}");
        self.send(op(Operation::UpdateDataAsset, what), || {
            self.raw().update_data_asset(data_asset_id, &update.0)
        })
        .await
    }
}

/// `None` for an empty list: a field the builder was given nothing for is left out of the body.
fn non_empty<T>(items: Vec<T>) -> Option<Vec<T>> {
    (!items.is_empty()).then_some(items)
}
