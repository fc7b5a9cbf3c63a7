//! Every operation of the spec, with Rust-friendly signatures.

use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;

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

/// A new data asset: its name, mount and tags, and where its files come from. One constructor
/// per source:
///
/// | constructor | the asset's files | options of that source |
/// | --- | --- | --- |
/// | [`from_computation`](NewDataAsset::from_computation) | a computation's results (a result asset) | [`path`](NewDataAsset::path) |
/// | [`from_s3`](NewDataAsset::from_s3) | a folder of an AWS S3 bucket | [`prefix`](NewDataAsset::prefix), [`endpoint_name`](NewDataAsset::endpoint_name), [`keep_on_external_storage`](NewDataAsset::keep_on_external_storage), [`public`](NewDataAsset::public) |
/// | [`from_gcs`](NewDataAsset::from_gcs) | a folder of a Google Cloud Storage bucket | [`prefix`](NewDataAsset::<source::Gcs>::prefix), [`gcs_credentials`](NewDataAsset::gcs_credentials) |
/// | [`combined`](NewDataAsset::combined) | other data assets, each under its mount | |
/// | [`from_cloud_workstation`](NewDataAsset::from_cloud_workstation) | a folder of a cloud workstation session | [`run_script`](NewDataAsset::run_script) |
///
/// Every asset takes a [`description`](NewDataAsset::description), [`tag`](NewDataAsset::tag)s
/// and custom [`metadata`](NewDataAsset::metadata). All but a combined asset can be written to
/// an S3 bucket of the deployment's instead of Code Ocean's storage
/// ([`target`](NewDataAsset::target)); an asset from a bucket can be recorded as the results
/// of a run made elsewhere ([`results_info`](NewDataAsset::results_info)).
///
/// The type parameter is the source (a marker of [`source`]), so that an option of another
/// source is a compile error, not a silent no-op. [`Client::create_data_asset`] takes any
/// source; code that picks the source at run time converts each into the plain
/// `NewDataAsset` (`NewDataAsset<source::Any>`) with `.into()`:
///
/// ```
/// use codeocean::NewDataAsset;
///
/// fn new_asset(bucket: Option<&str>, computation: &str) -> NewDataAsset {
///     match bucket {
///         Some(b) => NewDataAsset::from_s3(b, "Raw reads", "reads").prefix("raw").into(),
///         None => NewDataAsset::from_computation(computation, "Results", "results").into(),
///     }
/// }
/// assert!(new_asset(Some("lab-data"), "").as_raw().source.as_ref().unwrap().aws.is_some());
/// ```
///
/// An option of another source does not compile:
///
/// ```compile_fail
/// use codeocean::NewDataAsset;
///
/// // `public` is an S3 option; a computation's results have none such.
/// let asset = NewDataAsset::from_computation("66095e3a-0747-4ec5-b8b1-95b89a428536", "R", "r")
///     .public(true);
/// ```
///
/// ```compile_fail
/// use codeocean::{NewDataAsset, S3Target};
///
/// // A combined asset's files stay where its parts are: no target.
/// let asset = NewDataAsset::combined(["da7a0000-0000-4000-8000-000000000001"], "C", "c")
///     .target(S3Target::new("lab-results"));
/// ```
///
/// `Debug` never shows a GCS client secret (nor does any log line or error: request bodies
/// are not logged); [`as_raw`](NewDataAsset::as_raw) is the wire form, secret included.
#[derive(Clone, PartialEq)]
#[must_use = "a new data asset is created only when passed to `Client::create_data_asset`"]
pub struct NewDataAsset<S = source::Any> {
    raw: types::CreateDataAssetRequest,
    source: PhantomData<S>,
}

/// The sources of a [`NewDataAsset`], as its type parameter: each marker unlocks the options
/// of its source. The markers are types without values; only their names are used.
pub mod source {
    /// Any source, picked at run time: the plain `NewDataAsset`, which every other converts
    /// into with `.into()`, and what a wire request converts into. It takes the options every
    /// asset takes.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum Any {}

    /// A computation's results ([`NewDataAsset::from_computation`](crate::NewDataAsset::from_computation)).
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum Computation {}

    /// A folder of an AWS S3 bucket ([`NewDataAsset::from_s3`](crate::NewDataAsset::from_s3)).
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum S3 {}

    /// A folder of a Google Cloud Storage bucket
    /// ([`NewDataAsset::from_gcs`](crate::NewDataAsset::from_gcs)).
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum Gcs {}

    /// Other data assets ([`NewDataAsset::combined`](crate::NewDataAsset::combined)).
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum Combined {}

    /// A folder of a cloud workstation session
    /// ([`NewDataAsset::from_cloud_workstation`](crate::NewDataAsset::from_cloud_workstation)).
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum CloudWorkstation {}

    /// A source named by its constructor: every marker but [`Any`]. Sealed.
    pub trait Known: sealed::Sealed {}

    /// A source whose files can be written to an S3 target
    /// ([`NewDataAsset::target`](crate::NewDataAsset::target)): all but [`Combined`] (and
    /// [`Any`]). Sealed.
    pub trait Targetable: Known {}

    /// A bucket, whose files can be recorded as the results of a run made elsewhere
    /// ([`NewDataAsset::results_info`](crate::NewDataAsset::results_info)): [`S3`] and
    /// [`Gcs`]. Sealed.
    pub trait Bucket: Targetable {}

    mod sealed {
        pub trait Sealed {}
    }

    macro_rules! known {
        ($($marker:ident: $($bound:ident),*;)*) => {
            $(
                impl sealed::Sealed for $marker {}
                impl Known for $marker {}
                $(impl $bound for $marker {})*
            )*
        };
    }

    known! {
        Computation: Targetable;
        S3: Targetable, Bucket;
        Gcs: Targetable, Bucket;
        Combined: ;
        CloudWorkstation: Targetable;
    }
}

/// The `description` and `metadata` setters of both data-asset builders (each wraps a wire
/// request with these two fields, reached by `$field`), with each setter's docs.
macro_rules! description_and_metadata {
    ($field:tt; $description_doc:literal, $metadata_doc:literal) => {
        #[doc = $description_doc]
        pub fn description(mut self, description: impl Into<String>) -> Self {
            self.$field.description = Some(description.into());
            self
        }

        #[doc = $metadata_doc]
        pub fn metadata(
            mut self,
            key: impl Into<String>,
            value: impl Into<CustomMetadataValue>,
        ) -> Self {
            set_metadata(&mut self.$field.custom_metadata, key.into(), value.into());
            self
        }
    };
}

impl<S> NewDataAsset<S> {
    /// A request with this source (or none) and nothing else yet.
    fn with(
        name: impl Into<String>,
        mount: impl Into<String>,
        source: Option<types::DataAssetSource>,
    ) -> Self {
        Self {
            raw: types::CreateDataAssetRequest {
                custom_metadata: None,
                data_asset_ids: None,
                description: None,
                mount: mount.into(),
                name: name.into(),
                source,
                results_info: None,
                tags: vec![],
                target: None,
            },
            source: PhantomData,
        }
    }

    description_and_metadata!(
        raw;
        "A description.",
        "Sets a custom metadata field (a string or a number)."
    );

    /// Adds a tag.
    pub fn tag(mut self, tag: impl Into<String>) -> Self {
        self.raw.tags.push(tag.into());
        self
    }

    /// The wire form (a GCS client secret included).
    pub fn as_raw(&self) -> &types::CreateDataAssetRequest {
        &self.raw
    }

    fn aws(&mut self) -> &mut types::AwsS3Source {
        self.raw
            .source
            .get_or_insert_default()
            .aws
            .get_or_insert_with(|| types::AwsS3Source {
                bucket: String::new(),
                endpoint_name: None,
                keep_on_external_storage: None,
                prefix: None,
                public: None,
                use_input_bucket: None,
            })
    }

    fn gcp(&mut self) -> &mut types::GcpCloudStorageSource {
        self.raw
            .source
            .get_or_insert_default()
            .gcp
            .get_or_insert_with(|| types::GcpCloudStorageSource {
                bucket: String::new(),
                client_id: None,
                client_secret: None,
                prefix: None,
            })
    }
}

impl NewDataAsset<source::Computation> {
    /// A result data asset holding a computation's results, mounted at `mount`.
    ///
    /// ```
    /// use codeocean::NewDataAsset;
    ///
    /// let asset = NewDataAsset::from_computation("66095e3a-0747-4ec5-b8b1-95b89a428536", "My results", "my-results")
    ///     .path("tables")
    ///     .description("Results of the nightly run")
    ///     .tag("nightly")
    ///     .metadata("samples", 42);
    /// assert_eq!(asset.as_raw().tags, ["nightly"]);
    /// let computation = asset.as_raw().source.as_ref().unwrap().computation.as_ref().unwrap();
    /// assert_eq!(computation.path.as_deref(), Some("tables"));
    /// ```
    pub fn from_computation(
        computation_id: impl Into<String>,
        name: impl Into<String>,
        mount: impl Into<String>,
    ) -> Self {
        Self::with(
            name,
            mount,
            Some(types::DataAssetSource {
                computation: Some(types::ComputationSource {
                    id: computation_id.into(),
                    path: None,
                }),
                ..Default::default()
            }),
        )
    }

    /// Only this folder of the results.
    pub fn path(mut self, path: impl Into<String>) -> Self {
        if let Some(c) = self
            .raw
            .source
            .as_mut()
            .and_then(|s| s.computation.as_mut())
        {
            c.path = Some(path.into());
        }
        self
    }
}

impl NewDataAsset<source::S3> {
    /// A dataset made from an AWS S3 bucket (all of it, or the folder given to
    /// [`prefix`](Self::prefix)), mounted at `mount`. By default Code Ocean copies the files
    /// and reads the bucket with the deployment's credentials.
    ///
    /// ```
    /// use codeocean::NewDataAsset;
    ///
    /// let asset = NewDataAsset::from_s3("lab-data", "Raw reads", "reads")
    ///     .prefix("raw/2026")
    ///     .keep_on_external_storage(true)
    ///     .tag("reads");
    /// let wire = serde_json::to_value(asset.as_raw()).unwrap();
    /// assert_eq!(
    ///     wire["source"],
    ///     serde_json::json!({"aws": {"bucket": "lab-data", "prefix": "raw/2026", "keep_on_external_storage": true}})
    /// );
    /// ```
    pub fn from_s3(
        bucket: impl Into<String>,
        name: impl Into<String>,
        mount: impl Into<String>,
    ) -> Self {
        let mut asset = Self::with(name, mount, None);
        asset.aws().bucket = bucket.into();
        asset
    }

    /// The folder in the bucket (with or without a trailing `/`); none: the whole bucket.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.aws().prefix = Some(prefix.into());
        self
    }

    /// The name of a custom S3 endpoint of the deployment's that the bucket is on.
    pub fn endpoint_name(mut self, name: impl Into<String>) -> Self {
        self.aws().endpoint_name = Some(name.into());
        self
    }

    /// `true`: leave the files in the bucket (an external data asset) instead of copying them
    /// into Code Ocean.
    pub fn keep_on_external_storage(mut self, keep: bool) -> Self {
        self.aws().keep_on_external_storage = Some(keep);
        self
    }

    /// `true`: read the bucket without credentials (a public bucket).
    pub fn public(mut self, public: bool) -> Self {
        self.aws().public = Some(public);
        self
    }
}

impl NewDataAsset<source::Gcs> {
    /// A dataset made from a Google Cloud Storage bucket (all of it, or the folder given to
    /// [`prefix`](Self::prefix)), mounted at `mount`. A bucket that is not public needs
    /// [`gcs_credentials`](Self::gcs_credentials).
    ///
    /// ```
    /// use codeocean::NewDataAsset;
    ///
    /// let asset = NewDataAsset::from_gcs("lab-images", "Images", "images")
    ///     .prefix("2026/01")
    ///     .gcs_credentials("client-id", "client-secret");
    /// let gcp = asset.as_raw().source.as_ref().unwrap().gcp.as_ref().unwrap();
    /// assert_eq!(gcp.client_secret.as_deref(), Some("client-secret"));
    /// // Debug output never shows the secret.
    /// assert!(!format!("{asset:?}").contains("client-secret"));
    /// ```
    pub fn from_gcs(
        bucket: impl Into<String>,
        name: impl Into<String>,
        mount: impl Into<String>,
    ) -> Self {
        let mut asset = Self::with(name, mount, None);
        asset.gcp().bucket = bucket.into();
        asset
    }

    /// The folder in the bucket (with or without a trailing `/`); none: the whole bucket.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.gcp().prefix = Some(prefix.into());
        self
    }

    /// The OAuth client to read the bucket with. The secret is sent in the request's body,
    /// which is never logged, and `Debug` shows it as `<redacted>`.
    pub fn gcs_credentials(
        mut self,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
    ) -> Self {
        let gcp = self.gcp();
        gcp.client_id = Some(client_id.into());
        gcp.client_secret = Some(client_secret.into());
        self
    }
}

impl NewDataAsset<source::Combined> {
    /// A combined data asset: the given data assets (each ready), mounted together at
    /// `mount`, each part in a folder named by its own mount.
    ///
    /// ```
    /// use codeocean::NewDataAsset;
    ///
    /// let asset = NewDataAsset::combined(
    ///     ["da7a0000-0000-4000-8000-000000000001", "da7a0000-0000-4000-8000-000000000002"],
    ///     "Reads and reference",
    ///     "inputs",
    /// );
    /// assert_eq!(asset.as_raw().data_asset_ids.as_ref().map(Vec::len), Some(2));
    /// assert!(asset.as_raw().source.is_none());
    /// ```
    pub fn combined<I>(data_asset_ids: I, name: impl Into<String>, mount: impl Into<String>) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        let mut asset = Self::with(name, mount, None);
        asset.raw.data_asset_ids = Some(data_asset_ids.into_iter().map(Into::into).collect());
        asset
    }
}

impl NewDataAsset<source::CloudWorkstation> {
    /// A data asset made from a folder of a cloud workstation session (a computation), mounted
    /// at `mount`: a dataset, or a result asset when [`run_script`](Self::run_script) says
    /// which script made the files.
    ///
    /// ```
    /// use codeocean::NewDataAsset;
    ///
    /// let asset = NewDataAsset::from_cloud_workstation(
    ///     "66095e3a-0747-4ec5-b8b1-95b89a428536",
    ///     "/results/figures",
    ///     "Figures",
    ///     "figures",
    /// )
    /// .run_script("code/plot.py");
    /// let cw = asset.as_raw().source.as_ref().unwrap().cloud_workstation.as_ref().unwrap();
    /// assert_eq!((cw.path.as_str(), cw.run_script.as_deref()), ("/results/figures", Some("code/plot.py")));
    /// ```
    pub fn from_cloud_workstation(
        computation_id: impl Into<String>,
        path: impl Into<String>,
        name: impl Into<String>,
        mount: impl Into<String>,
    ) -> Self {
        Self::with(
            name,
            mount,
            Some(types::DataAssetSource {
                cloud_workstation: Some(types::CloudWorkstationSource {
                    id: computation_id.into(),
                    path: path.into(),
                    run_script: None,
                }),
                ..Default::default()
            }),
        )
    }

    /// The script that produced the files, relative to the capsule folder: the asset becomes
    /// a result asset.
    pub fn run_script(mut self, script: impl Into<String>) -> Self {
        if let Some(cw) = self
            .raw
            .source
            .as_mut()
            .and_then(|s| s.cloud_workstation.as_mut())
        {
            cw.run_script = Some(script.into());
        }
        self
    }
}

impl<S: source::Targetable> NewDataAsset<S> {
    /// Writes the asset's files to this S3 location of the deployment's instead of Code
    /// Ocean's own storage.
    ///
    /// ```
    /// use codeocean::{NewDataAsset, S3Target};
    ///
    /// let asset = NewDataAsset::from_computation("66095e3a-0747-4ec5-b8b1-95b89a428536", "Results", "results")
    ///     .target(S3Target::new("lab-results").prefix("nightly/2026-12-02"));
    /// let aws = asset.as_raw().target.as_ref().unwrap().aws.as_ref().unwrap();
    /// assert_eq!((aws.bucket.as_str(), aws.prefix.as_deref()), ("lab-results", Some("nightly/2026-12-02")));
    /// ```
    pub fn target(mut self, target: S3Target) -> Self {
        self.raw.target = Some(types::DataAssetTarget {
            aws: Some(target.into_raw()),
        });
        self
    }
}

impl<S: source::Bucket> NewDataAsset<S> {
    /// Records the bucket's files as the results of a run made elsewhere: the asset is a
    /// result asset with this provenance.
    ///
    /// ```
    /// use codeocean::{NewDataAsset, ResultsInfo};
    ///
    /// let asset = NewDataAsset::from_s3("lab-results", "Imported run", "imported")
    ///     .prefix("runs/42")
    ///     .results_info(
    ///         ResultsInfo::capsule("c0ffee00-0000-4000-8000-000000000001")
    ///             .version(3)
    ///             .named_parameter("threshold", "0.5"),
    ///     );
    /// let info = asset.as_raw().results_info.as_ref().unwrap();
    /// assert_eq!(info.version, Some(3));
    /// ```
    pub fn results_info(mut self, info: ResultsInfo) -> Self {
        self.raw.results_info = Some(info.0);
        self
    }
}

impl<S: source::Known> From<NewDataAsset<S>> for NewDataAsset {
    /// Forgets the source's type (its request stays as it is).
    fn from(asset: NewDataAsset<S>) -> Self {
        Self {
            raw: asset.raw,
            source: PhantomData,
        }
    }
}

impl From<types::CreateDataAssetRequest> for NewDataAsset {
    fn from(r: types::CreateDataAssetRequest) -> Self {
        Self {
            raw: r,
            source: PhantomData,
        }
    }
}

impl<S> fmt::Debug for NewDataAsset<S> {
    /// The request with a GCS client secret shown as `<redacted>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut shown = self.raw.clone();
        if let Some(gcp) = shown.source.as_mut().and_then(|s| s.gcp.as_mut())
            && gcp.client_secret.is_some()
        {
            gcp.client_secret = Some(REDACTED.to_owned());
        }
        f.debug_tuple("NewDataAsset").field(&shown).finish()
    }
}

/// What `Debug` shows instead of a secret.
const REDACTED: &str = "<redacted>";

/// Where a new data asset's files go when not into Code Ocean's own storage: an S3 bucket
/// (and folder) of the deployment's ([`NewDataAsset::target`]).
///
/// ```
/// use codeocean::S3Target;
///
/// let target = S3Target::new("lab-results").prefix("exports").endpoint_name("on-prem");
/// assert_eq!(target.as_raw().endpoint_name.as_deref(), Some("on-prem"));
/// ```
#[derive(Clone, Debug, PartialEq)]
#[must_use = "a target is used only when passed to `NewDataAsset::target`"]
pub struct S3Target(types::AwsS3Target);

impl S3Target {
    /// This bucket, at its root.
    pub fn new(bucket: impl Into<String>) -> Self {
        Self(types::AwsS3Target {
            bucket: bucket.into(),
            endpoint_name: None,
            prefix: None,
        })
    }

    /// The folder in the bucket.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.0.prefix = Some(prefix.into());
        self
    }

    /// The name of a custom S3 endpoint of the deployment's that the bucket is on.
    pub fn endpoint_name(mut self, name: impl Into<String>) -> Self {
        self.0.endpoint_name = Some(name.into());
        self
    }

    /// The wire form.
    pub fn as_raw(&self) -> &types::AwsS3Target {
        &self.0
    }

    pub(crate) fn into_raw(self) -> types::AwsS3Target {
        self.0
    }
}

impl From<types::AwsS3Target> for S3Target {
    fn from(t: types::AwsS3Target) -> Self {
        Self(t)
    }
}

/// The run that produced files imported from a bucket ([`NewDataAsset::results_info`]): the
/// capsule or pipeline, its version and commit, parameters and data assets.
///
/// ```
/// use codeocean::ResultsInfo;
///
/// let info = ResultsInfo::pipeline("c0ffee00-0000-4000-8000-000000000002")
///     .version(1)
///     .commit("4f1c2e9")
///     .data_asset("da7a0000-0000-4000-8000-000000000001")
///     .parameter("fast")
///     .nextflow_profile("aws");
/// assert_eq!(info.as_raw().commit.as_deref(), Some("4f1c2e9"));
/// ```
#[derive(Clone, Debug, PartialEq)]
#[must_use = "results info is used only when passed to `NewDataAsset::results_info`"]
pub struct ResultsInfo(types::ResultsInfo);

impl ResultsInfo {
    fn of(capsule_id: Option<String>, pipeline_id: Option<String>) -> Self {
        Self(types::ResultsInfo {
            capsule_id,
            commit: None,
            data_assets: None,
            nextflow_profile: None,
            parameters: None,
            pipeline_id,
            processes: None,
            run_script: None,
            version: None,
        })
    }

    /// Results of a run of this capsule.
    pub fn capsule(capsule_id: impl Into<String>) -> Self {
        Self::of(Some(capsule_id.into()), None)
    }

    /// Results of a run of this pipeline.
    pub fn pipeline(pipeline_id: impl Into<String>) -> Self {
        Self::of(None, Some(pipeline_id.into()))
    }

    /// The released version that ran.
    pub fn version(mut self, version: i64) -> Self {
        self.0.version = Some(version);
        self
    }

    /// The commit of the code that ran.
    pub fn commit(mut self, commit: impl Into<String>) -> Self {
        self.0.commit = Some(commit.into());
        self
    }

    /// The script that ran, relative to the capsule folder.
    pub fn run_script(mut self, script: impl Into<String>) -> Self {
        self.0.run_script = Some(script.into());
        self
    }

    /// Adds a data asset (by id) the run read.
    pub fn data_asset(mut self, id: impl Into<String>) -> Self {
        self.0.data_assets.get_or_insert_default().push(id.into());
        self
    }

    /// Appends an ordered parameter of the run.
    pub fn parameter(mut self, value: impl Into<String>) -> Self {
        self.0
            .parameters
            .get_or_insert_default()
            .push(types::ComputationParameter {
                name: None,
                param_name: None,
                value: Some(value.into()),
            });
        self
    }

    /// Adds a named parameter of the run.
    pub fn named_parameter(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.0
            .parameters
            .get_or_insert_default()
            .push(types::ComputationParameter {
                name: None,
                param_name: Some(name.into()),
                value: Some(value.into()),
            });
        self
    }

    /// The Nextflow profile of a pipeline run.
    pub fn nextflow_profile(mut self, profile: impl Into<String>) -> Self {
        self.0.nextflow_profile = Some(profile.into());
        self
    }

    /// The wire form.
    pub fn as_raw(&self) -> &types::ResultsInfo {
        &self.0
    }
}

impl From<types::ResultsInfo> for ResultsInfo {
    fn from(r: types::ResultsInfo) -> Self {
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
        0;
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
    pub async fn create_data_asset<S>(&self, asset: &NewDataAsset<S>) -> Result<DataAsset> {
        let what = format!("creating data asset `{}`", asset.raw.name);
        self.send(op(Operation::CreateDataAsset, what), || {
            self.raw().create_data_asset(&asset.raw)
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
