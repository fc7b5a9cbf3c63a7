//! Open wire types: the few types of the spec that are written by hand instead of generated.
//!
//! Each is a component schema marked `x-rust-open-type: true` in `openapi/codeocean.yaml`;
//! `cargo xtask regen` makes the generated structs use the type of the same name here.
//!
//! They exist because a server that sends something the spec does not list must not break a
//! whole response:
//!
//! - the server-owned enumerations keep a value they do not know as `Unknown(String)`, and write it
//!   back unchanged;
//! - [`Timestamp`] accepts integral and fractional seconds (the documents say both);
//! - [`CustomMetadataValue`] keeps a value of any JSON type;
//! - [`OneOrMany`] reads a field the sources give as one object or as a list in either form.

use std::borrow::Cow;
use std::convert::Infallible;
use std::fmt;
use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// Declares an open string enumeration: known values as variants, anything else kept in
/// `Unknown`. The first string of a variant is how it is written; the others are accepted too.
macro_rules! open_enum {
    (
        $(#[$meta:meta])*
        $name:ident {
            $(
                $(#[$vmeta:meta])*
                $variant:ident = $wire:literal $(| $alias:literal)*
            ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        ///
        /// This enumeration is open: a value the server sends that is not listed here decodes to
        /// `Unknown` with the value as sent, and is written back unchanged (a known value read in
        /// an alternative spelling is written in its main spelling). Build values with
        /// `From<&str>` or [`FromStr`] so that known strings map to their variants.
        #[derive(Clone, Debug, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum $name {
            $(
                $(#[$vmeta])*
                $variant,
            )+
            /// A value this version of the crate does not know, as the server sent it.
            Unknown(String),
        }

        impl $name {
            /// The values this version of the crate knows, as they are written on the wire.
            pub const KNOWN: &'static [&'static str] = &[$($wire),+];

            /// The value as it is written on the wire.
            pub fn as_str(&self) -> &str {
                match self {
                    $(Self::$variant => $wire,)+
                    Self::Unknown(value) => value,
                }
            }

            /// Whether this is a value the crate does not know.
            pub fn is_unknown(&self) -> bool {
                matches!(self, Self::Unknown(_))
            }

            fn known(value: &str) -> Option<Self> {
                match value {
                    $($wire $(| $alias)* => Some(Self::$variant),)+
                    _ => None,
                }
            }
        }

        impl From<&str> for $name {
            fn from(value: &str) -> Self {
                Self::known(value).unwrap_or_else(|| Self::Unknown(value.to_owned()))
            }
        }

        impl From<String> for $name {
            fn from(value: String) -> Self {
                Self::known(&value).unwrap_or(Self::Unknown(value))
            }
        }

        impl FromStr for $name {
            type Err = Infallible;
            fn from_str(value: &str) -> Result<Self, Infallible> {
                Ok(value.into())
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                String::deserialize(deserializer).map(Self::from)
            }
        }

        impl schemars::JsonSchema for $name {
            fn schema_name() -> Cow<'static, str> {
                stringify!($name).into()
            }

            fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
                let known = Self::KNOWN.join(", ");
                schemars::json_schema!({
                    "type": "string",
                    "description": format!(
                        "Known values: {known}. Servers may send others; clients keep them."
                    ),
                })
            }
        }
    };
}

open_enum! {
    /// Where a computation is in its life.
    ///
    /// `Completed` and `Failed` are final. A completed run did not necessarily succeed: that is
    /// told by its [`ComputationEndStatus`].
    ComputationState {
        /// The run is being set up.
        Initializing = "initializing",
        /// The run's code is running.
        Running = "running",
        /// The run's code has ended and its results are being saved.
        Finalizing = "finalizing",
        /// The run has ended (successfully or not: see its end status).
        Completed = "completed",
        /// The run could not be carried out.
        Failed = "failed",
    }
}

open_enum! {
    /// How a computation ended; present only once it has ended.
    ComputationEndStatus {
        /// The run's code finished successfully.
        Succeeded = "succeeded",
        /// The run's code failed.
        Failed = "failed",
        /// The run was stopped before it finished.
        Stopped = "stopped",
    }
}

open_enum! {
    /// A capsule's release status.
    ///
    /// Current servers send `non_release` or `release`; the API documents show the older
    /// publication statuses.
    CapsuleStatus {
        /// Not released (current servers).
        NonRelease = "non_release",
        /// Released (current servers).
        Release = "release",
        /// Not published (older servers). Read in both spellings of the documents; written as
        /// `non-published`, the spelling of their example response.
        NonPublished = "non-published" | "non_published",
        /// Submitted for publication (older servers).
        Submitted = "submitted",
        /// Being published (older servers).
        Publishing = "publishing",
        /// Published (older servers).
        Published = "published",
        /// Published and verified (older servers).
        Verified = "verified",
    }
}

open_enum! {
    /// Where a data asset is in its creation. `Ready` and `Failed` are final.
    DataAssetState {
        /// The data asset is still being created.
        Draft = "draft",
        /// The data asset can be used.
        Ready = "ready",
        /// Creating the data asset failed.
        Failed = "failed",
    }
}

open_enum! {
    /// What a data asset holds.
    DataAssetType {
        /// Data brought in from outside.
        Dataset = "dataset",
        /// Results of a computation.
        Result = "result",
        /// Several data assets combined into one.
        Combined = "combined",
        /// A model.
        Model = "model",
    }
}

open_enum! {
    /// Where the files of a data asset came from.
    DataAssetOrigin {
        /// Code Ocean's own storage.
        Local = "local",
        /// An AWS S3 bucket.
        Aws = "aws",
        /// A Google Cloud Storage bucket.
        Gcp = "gcp",
    }
}

open_enum! {
    /// Whether a listed result entry is a file or a folder.
    ResultItemType {
        /// A file.
        File = "file",
        /// A folder, which can be listed in turn.
        Folder = "folder",
    }
}

open_enum! {
    /// Where a capsule or pipeline release job is. `Completed`, `Failed` and `Canceled` are
    /// final.
    ReleaseJobStatus {
        /// The job was created and has not started yet.
        Created = "created",
        /// The release is under way.
        Started = "started",
        /// The new version was released.
        Completed = "completed",
        /// The release failed; the job's `error` says why.
        Failed = "failed",
        /// The release was canceled.
        Canceled = "canceled",
        /// The release is being canceled.
        Canceling = "canceling",
    }
}

open_enum! {
    /// Where the files of a data asset shown in an app panel live. In a pipeline, an asset can
    /// only be replaced by one of the same kind.
    AppPanelDataAssetKind {
        /// Stored inside Code Ocean.
        Internal = "internal",
        /// Stored outside Code Ocean.
        External = "external",
        /// Several external data assets combined.
        Combined = "combined",
    }
}

open_enum! {
    /// How an app panel parameter is entered.
    AppPanelParameterType {
        /// Free text.
        Text = "text",
        /// A choice from a list of values.
        List = "list",
        /// A file.
        File = "file",
    }
}

open_enum! {
    /// The type of a custom metadata field's values.
    CustomMetadataFieldType {
        /// Strings.
        String = "string",
        /// Numbers.
        Number = "number",
        /// Dates, as seconds since the Unix epoch.
        Date = "date",
    }
}

open_enum! {
    /// What a user may do with a capsule, pipeline or data asset.
    UserRole {
        /// Everything, including changing permissions.
        Owner = "owner",
        /// See and change it.
        Editor = "editor",
        /// See it.
        Viewer = "viewer",
    }
}

open_enum! {
    /// What a group may do with a capsule, pipeline or data asset.
    GroupRole {
        /// Everything, including changing permissions.
        Owner = "owner",
        /// See and change it.
        Editor = "editor",
        /// See it.
        Viewer = "viewer",
        /// Find it in searches.
        Discoverable = "discoverable",
    }
}

open_enum! {
    /// What everyone in the deployment may do with a capsule, pipeline or data asset.
    EveryoneRole {
        /// See it.
        Viewer = "viewer",
        /// Find it in searches.
        Discoverable = "discoverable",
        /// Nothing.
        None = "none",
    }
}

open_enum! {
    /// The order of search results.
    SortOrder {
        /// Smallest first.
        Ascending = "asc",
        /// Largest first.
        Descending = "desc",
    }
}

open_enum! {
    /// The field capsule and pipeline search results are sorted by.
    CapsuleSortBy {
        /// Creation time.
        Created = "created",
        /// Last access time.
        LastAccessed = "last_accessed",
        /// Name.
        Name = "name",
    }
}

open_enum! {
    /// The field data asset search results are sorted by.
    DataAssetSortBy {
        /// Creation time.
        Created = "created",
        /// Type.
        Type = "type",
        /// Name.
        Name = "name",
        /// Size.
        Size = "size",
    }
}

open_enum! {
    /// Which items a search returns by who owns them.
    Ownership {
        /// The caller's private items (capsules and pipelines).
        Private = "private",
        /// Items shared with the caller.
        Shared = "shared",
        /// Items the caller created.
        Created = "created",
    }
}

open_enum! {
    /// Whether a data asset search returns internal or external assets.
    DataAssetSearchOrigin {
        /// Assets stored inside Code Ocean.
        Internal = "internal",
        /// Assets stored outside Code Ocean.
        External = "external",
    }
}

/// One value or a list of values: a field whose form the sources disagree on.
///
/// The official SDK reads one object where the surrounding shape suggests a list (the
/// categories and parameters of a pipeline process's app panel). Both forms decode; each is
/// written back in the form it was read.
#[derive(Clone, Debug, PartialEq)]
pub enum OneOrMany<T> {
    /// A single value, as the official SDK models the field.
    One(T),
    /// A list of values.
    Many(Vec<T>),
}

impl<T> OneOrMany<T> {
    /// The values, one or many, as a slice.
    pub fn as_slice(&self) -> &[T] {
        match self {
            Self::One(value) => std::slice::from_ref(value),
            Self::Many(values) => values,
        }
    }

    /// The values, one or many, as a list.
    pub fn into_vec(self) -> Vec<T> {
        match self {
            Self::One(value) => vec![value],
            Self::Many(values) => values,
        }
    }
}

impl<T: Serialize> Serialize for OneOrMany<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::One(value) => value.serialize(serializer),
            Self::Many(values) => values.serialize(serializer),
        }
    }
}

impl<'de, T: serde::de::DeserializeOwned> Deserialize<'de> for OneOrMany<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match serde_json::Value::deserialize(deserializer)? {
            serde_json::Value::Array(items) => items
                .into_iter()
                .map(serde_json::from_value)
                .collect::<Result<Vec<T>, _>>()
                .map(Self::Many)
                .map_err(de::Error::custom),
            value => serde_json::from_value(value)
                .map(Self::One)
                .map_err(de::Error::custom),
        }
    }
}

impl<T: schemars::JsonSchema> schemars::JsonSchema for OneOrMany<T> {
    fn schema_name() -> Cow<'static, str> {
        format!("OneOrMany_{}", T::schema_name()).into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let one = generator.subschema_for::<T>();
        schemars::json_schema!({
            "description": "One value, or a list of values.",
            "oneOf": [one, {"type": "array", "items": one}],
        })
    }
}

/// The parameter categories of a pipeline process's app panel: one, as the official SDK reads
/// them, or a list, as the top-level app panel has them.
pub type AppPanelProcessCategories = OneOrMany<crate::types::AppPanelCategory>;

/// The parameters of a pipeline process's app panel: one, as the official SDK reads them, or a
/// list, as the top-level app panel has them.
pub type AppPanelProcessParameters = OneOrMany<crate::types::AppPanelParameter>;

/// A point in time, in seconds since the Unix epoch, exactly as the server wrote it.
///
/// The API documents give timestamps as int64 in one place and float64 in another; this type
/// reads any JSON number (and a number inside a string), and writes back what it read.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Timestamp(serde_json::Number);

impl Timestamp {
    /// A timestamp of whole seconds since the epoch.
    pub fn from_secs(secs: i64) -> Self {
        Self(secs.into())
    }

    /// A timestamp of fractional seconds since the epoch; `None` if `secs` is not finite.
    pub fn from_secs_f64(secs: f64) -> Option<Self> {
        serde_json::Number::from_f64(secs).map(Self)
    }

    /// The time of `time`, in whole seconds; `None` before the epoch.
    pub fn from_system_time(time: SystemTime) -> Option<Self> {
        let secs = time.duration_since(UNIX_EPOCH).ok()?.as_secs();
        Some(Self(secs.into()))
    }

    /// Seconds since the epoch, with any fraction.
    pub fn as_secs_f64(&self) -> f64 {
        self.0.as_f64().unwrap_or(f64::NAN)
    }

    /// Whole seconds since the epoch (a fraction is dropped).
    pub fn as_secs(&self) -> i64 {
        match self.0.as_i64() {
            Some(secs) => secs,
            None => self.as_secs_f64().floor() as i64,
        }
    }

    /// The timestamp as a [`SystemTime`]; `None` when it is out of range or not a number.
    pub fn to_system_time(&self) -> Option<SystemTime> {
        let secs = self.as_secs_f64();
        if !secs.is_finite() {
            return None;
        }
        let offset = Duration::try_from_secs_f64(secs.abs()).ok()?;
        if secs >= 0.0 {
            UNIX_EPOCH.checked_add(offset)
        } else {
            UNIX_EPOCH.checked_sub(offset)
        }
    }

    /// The number as it was read from (or will be written to) the wire.
    pub fn as_number(&self) -> &serde_json::Number {
        &self.0
    }
}

impl From<i64> for Timestamp {
    fn from(secs: i64) -> Self {
        Self::from_secs(secs)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TimestampVisitor;

        impl Visitor<'_> for TimestampVisitor {
            type Value = Timestamp;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("seconds since the Unix epoch, as a number")
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Timestamp, E> {
                Ok(Timestamp(v.into()))
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Timestamp, E> {
                Ok(Timestamp(v.into()))
            }

            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Timestamp, E> {
                serde_json::Number::from_f64(v)
                    .map(Timestamp)
                    .ok_or_else(|| E::custom("a timestamp must be a finite number"))
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Timestamp, E> {
                let number: serde_json::Number = v
                    .trim()
                    .parse()
                    .map_err(|_| E::invalid_value(de::Unexpected::Str(v), &self))?;
                Ok(Timestamp(number))
            }
        }

        deserializer.deserialize_any(TimestampVisitor)
    }
}

impl schemars::JsonSchema for Timestamp {
    fn schema_name() -> Cow<'static, str> {
        "Timestamp".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "number",
            "description": "Seconds since the Unix epoch, integral or fractional.",
        })
    }
}

/// The value of one custom metadata field.
///
/// Custom metadata fields hold strings, or numbers (number fields, and date fields as seconds
/// since the Unix epoch). A value of any other JSON type is kept as [`Other`](Self::Other).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CustomMetadataValue {
    /// A string field's value.
    String(String),
    /// A number or date field's value, exactly as written.
    Number(serde_json::Number),
    /// A value of another JSON type, as the server sent it.
    Other(serde_json::Value),
}

impl From<&str> for CustomMetadataValue {
    fn from(value: &str) -> Self {
        Self::String(value.to_owned())
    }
}

impl From<String> for CustomMetadataValue {
    fn from(value: String) -> Self {
        Self::String(value)
    }
}

impl From<i64> for CustomMetadataValue {
    fn from(value: i64) -> Self {
        Self::Number(value.into())
    }
}

macro_rules! metadata_from_int {
    ($($t:ty),*) => {$(
        impl From<$t> for CustomMetadataValue {
            fn from(value: $t) -> Self {
                Self::Number(value.into())
            }
        }
    )*};
}

metadata_from_int!(i32, u32, u64);

/// A finite number becomes [`CustomMetadataValue::Number`]; NaN and infinities, which JSON cannot
/// carry, become `Other(null)`.
impl From<f64> for CustomMetadataValue {
    fn from(value: f64) -> Self {
        serde_json::Number::from_f64(value)
            .map_or(Self::Other(serde_json::Value::Null), Self::Number)
    }
}

impl From<serde_json::Number> for CustomMetadataValue {
    fn from(value: serde_json::Number) -> Self {
        Self::Number(value)
    }
}

impl From<serde_json::Value> for CustomMetadataValue {
    fn from(value: serde_json::Value) -> Self {
        match value {
            serde_json::Value::String(s) => Self::String(s),
            serde_json::Value::Number(n) => Self::Number(n),
            other => Self::Other(other),
        }
    }
}

impl fmt::Display for CustomMetadataValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::String(s) => f.write_str(s),
            Self::Number(n) => fmt::Display::fmt(n, f),
            Self::Other(v) => fmt::Display::fmt(v, f),
        }
    }
}

impl Serialize for CustomMetadataValue {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::String(s) => serializer.serialize_str(s),
            Self::Number(n) => n.serialize(serializer),
            Self::Other(v) => v.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for CustomMetadataValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        serde_json::Value::deserialize(deserializer).map(Self::from)
    }
}

impl schemars::JsonSchema for CustomMetadataValue {
    fn schema_name() -> Cow<'static, str> {
        "CustomMetadataValue".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": ["string", "number"],
            "description": "A string, or a number (dates are seconds since the Unix epoch).",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn known_and_unknown_enum_values_round_trip() {
        for (wire, expected) in [
            ("running", ComputationState::Running),
            ("queued", ComputationState::Unknown("queued".into())),
            ("", ComputationState::Unknown(String::new())),
        ] {
            let decoded: ComputationState = serde_json::from_value(json!(wire)).unwrap();
            assert_eq!(decoded, expected);
            assert_eq!(serde_json::to_value(&decoded).unwrap(), json!(wire));
        }
        assert!(ComputationState::from("queued").is_unknown());
        assert_eq!(ComputationState::KNOWN.len(), 5);
    }

    #[test]
    fn aliases_map_to_one_variant() {
        assert_eq!(
            CapsuleStatus::from("non-published"),
            CapsuleStatus::NonPublished
        );
        assert_eq!(
            CapsuleStatus::from("non_published"),
            CapsuleStatus::NonPublished
        );
        assert_eq!(CapsuleStatus::NonPublished.as_str(), "non-published");
    }

    #[test]
    fn enums_refuse_non_strings() {
        assert!(serde_json::from_value::<DataAssetState>(json!(3)).is_err());
    }

    #[test]
    fn timestamps_accept_integers_fractions_and_numeric_strings() {
        let int: Timestamp = serde_json::from_value(json!(1646687806)).unwrap();
        assert_eq!(int.as_secs(), 1646687806);
        assert_eq!(serde_json::to_string(&int).unwrap(), "1646687806");

        let frac: Timestamp = serde_json::from_value(json!(1646687806.75)).unwrap();
        assert_eq!(frac.as_secs(), 1646687806);
        assert_eq!(frac.as_secs_f64(), 1646687806.75);
        assert_eq!(serde_json::to_string(&frac).unwrap(), "1646687806.75");

        let text: Timestamp = serde_json::from_value(json!("1646687806")).unwrap();
        assert_eq!(text, int);

        assert!(serde_json::from_value::<Timestamp>(json!("created ID")).is_err());
        assert!(serde_json::from_value::<Timestamp>(json!(true)).is_err());
    }

    #[test]
    fn timestamps_convert_to_system_time() {
        let t = Timestamp::from_secs(10);
        assert_eq!(
            t.to_system_time(),
            Some(UNIX_EPOCH + Duration::from_secs(10))
        );
        let before = Timestamp::from_secs(-10);
        assert_eq!(
            before.to_system_time(),
            Some(UNIX_EPOCH - Duration::from_secs(10))
        );
        assert_eq!(
            Timestamp::from_system_time(UNIX_EPOCH + Duration::from_secs(7)),
            Some(Timestamp::from_secs(7))
        );
        assert_eq!(Timestamp::from_secs_f64(f64::NAN), None);
    }

    #[test]
    fn one_or_many_reads_either_form_and_writes_it_back() {
        let one = json!({"id": "c1", "name": "Inputs", "colour": "blue"});
        let decoded: AppPanelProcessCategories = serde_json::from_value(one.clone()).unwrap();
        assert!(matches!(decoded, OneOrMany::One(_)));
        assert_eq!(decoded.as_slice()[0].id, "c1");
        assert_eq!(
            serde_json::to_value(&decoded).unwrap(),
            json!({"id": "c1", "name": "Inputs"}),
            "unknown fields are dropped, the form is kept"
        );

        let many = json!([{"id": "c1"}, {"id": "c2", "name": "Outputs"}]);
        let decoded: AppPanelProcessCategories = serde_json::from_value(many.clone()).unwrap();
        assert_eq!(decoded.as_slice().len(), 2);
        assert_eq!(serde_json::to_value(&decoded).unwrap(), many);
        let ids: Vec<String> = decoded.into_vec().into_iter().map(|c| c.id).collect();
        assert_eq!(ids, ["c1", "c2"]);

        let empty: AppPanelProcessParameters = serde_json::from_value(json!([])).unwrap();
        assert_eq!(empty, OneOrMany::Many(vec![]));

        // An item without its required field fails in either form, naming the field.
        for bad in [
            json!({"name": "no id"}),
            json!([{"id": "c1"}, {"name": "no id"}]),
        ] {
            let err = serde_json::from_value::<AppPanelProcessCategories>(bad).unwrap_err();
            assert!(err.to_string().contains("missing field `id`"), "{err}");
        }
        assert!(serde_json::from_value::<AppPanelProcessCategories>(json!("c1")).is_err());
    }

    #[test]
    fn one_or_many_schema_offers_both_forms() {
        let schema =
            serde_json::to_value(schemars::schema_for!(AppPanelProcessParameters)).unwrap();
        let forms = schema["oneOf"].as_array().unwrap();
        assert_eq!(forms.len(), 2);
        assert_eq!(forms[1]["type"], "array");
        assert_eq!(forms[0], forms[1]["items"]);
    }

    #[test]
    fn sdk_enum_values_are_known() {
        assert_eq!(
            ReleaseJobStatus::from("canceling"),
            ReleaseJobStatus::Canceling
        );
        assert_eq!(SortOrder::Descending.as_str(), "desc");
        assert_eq!(EveryoneRole::from("none"), EveryoneRole::None);
        assert_eq!(
            CapsuleSortBy::from("last_accessed"),
            CapsuleSortBy::LastAccessed
        );
        assert!(GroupRole::from("admin").is_unknown());
    }

    #[test]
    fn custom_metadata_values_keep_their_type() {
        for value in [json!("x"), json!(3), json!(2.5), json!(true), json!(null)] {
            let decoded: CustomMetadataValue = serde_json::from_value(value.clone()).unwrap();
            assert_eq!(serde_json::to_value(&decoded).unwrap(), value);
        }
        assert_eq!(
            CustomMetadataValue::from(1700000000),
            CustomMetadataValue::Number(1700000000.into())
        );
        assert_eq!(
            serde_json::to_string(&CustomMetadataValue::from(5)).unwrap(),
            "5"
        );
    }
}
