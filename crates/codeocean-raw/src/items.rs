//! Questions the generated types are asked all the time, answered once: is a result item a
//! folder, and sizes and counts as `Option<u64>` (the wire's integers are signed; a negative or
//! absent value is `None`). Hand-written: inherent methods must live in the crate that defines
//! the type.

use crate::open::ResultItemType;
use crate::types::{ContainedDataAsset, DataAsset, GitSyncResults, ResultItem};

/// A count or size of the wire as unsigned: `None` when absent or negative.
fn unsigned(value: Option<i64>) -> Option<u64> {
    value.and_then(|v| u64::try_from(v).ok())
}

impl ResultItem {
    /// Whether the entry is a folder, which can be listed in turn.
    ///
    /// ```
    /// # use codeocean_raw::{open::ResultItemType, types::ResultItem};
    /// let item = ResultItem {
    ///     name: "plots".into(),
    ///     path: "plots".into(),
    ///     size: None,
    ///     type_: ResultItemType::Folder,
    /// };
    /// assert!(item.is_dir() && !item.is_file());
    /// ```
    pub fn is_dir(&self) -> bool {
        self.type_ == ResultItemType::Folder
    }

    /// Whether the entry is a file. An entry of a type this crate does not know
    /// ([`ResultItemType::Unknown`]) is neither a file nor a folder.
    pub fn is_file(&self) -> bool {
        self.type_ == ResultItemType::File
    }

    /// The file's size in bytes: `None` when the server sent none (folders, usually) or a
    /// negative one.
    pub fn size_bytes(&self) -> Option<u64> {
        unsigned(self.size)
    }
}

impl DataAsset {
    /// The total size of the asset's files in bytes: `None` when unknown or negative.
    pub fn size_bytes(&self) -> Option<u64> {
        unsigned(self.size)
    }

    /// The number of files in the asset: `None` when unknown or negative.
    pub fn file_count(&self) -> Option<u64> {
        unsigned(self.files)
    }
}

impl ContainedDataAsset {
    /// The contained asset's size in bytes: `None` when unknown or negative.
    pub fn size_bytes(&self) -> Option<u64> {
        unsigned(self.size)
    }
}

impl GitSyncResults {
    /// How many commits the sync pulled from the remote: `None` when not said or negative.
    pub fn pulled_count(&self) -> Option<u64> {
        unsigned(self.pulled)
    }

    /// How many commits the sync pushed to the remote: `None` when not said or negative.
    pub fn pushed_count(&self) -> Option<u64> {
        unsigned(self.pushed)
    }
}
