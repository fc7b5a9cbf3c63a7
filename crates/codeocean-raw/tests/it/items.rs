//! The hand-written helpers on the wire types (`src/items.rs`): folders and files of a listing,
//! and sizes and counts as `Option<u64>`, negative or absent values being `None`.

use codeocean_raw::types::{ContainedDataAsset, DataAsset, GitSyncResults, ResultItem};
use serde_json::json;

fn item(value: serde_json::Value) -> ResultItem {
    serde_json::from_value(value).unwrap()
}

#[test]
fn result_items_say_whether_they_are_folders_or_files() {
    let folder = item(json!({"name": "plots", "path": "plots", "type": "folder"}));
    let file = item(json!({"name": "a.csv", "path": "a.csv", "type": "file", "size": 12}));
    let link = item(json!({"name": "l", "path": "l", "type": "symlink", "size": 3}));
    assert!(folder.is_dir() && !folder.is_file());
    assert!(file.is_file() && !file.is_dir());
    // A type the crate does not know is neither.
    assert!(!link.is_dir() && !link.is_file());
}

#[test]
fn result_item_sizes_are_unsigned_or_none() {
    let sized = |size: serde_json::Value| {
        item(json!({"name": "a", "path": "a", "type": "file", "size": size})).size_bytes()
    };
    assert_eq!(sized(json!(0)), Some(0));
    assert_eq!(sized(json!(1_u64 << 40)), Some(1 << 40));
    assert_eq!(sized(json!(i64::MAX)), Some(i64::MAX as u64));
    assert_eq!(sized(json!(-1)), None);
    let absent = item(json!({"name": "plots", "path": "plots", "type": "folder"}));
    assert_eq!(absent.size_bytes(), None);
}

#[test]
fn data_asset_sizes_and_counts_are_unsigned_or_none() {
    let asset: DataAsset = serde_json::from_value(json!({
        "id": "2fc14a4d-5746-4f66-8da8-079ed3441286",
        "size": 4096,
        "files": 3,
        "contained_data_assets": [{"id": "a", "size": 10}, {"id": "b", "size": -5}, {"id": "c"}]
    }))
    .unwrap();
    assert_eq!(asset.size_bytes(), Some(4096));
    assert_eq!(asset.file_count(), Some(3));
    let sizes: Vec<_> = asset
        .contained_data_assets
        .iter()
        .map(ContainedDataAsset::size_bytes)
        .collect();
    assert_eq!(sizes, [Some(10), None, None]);

    let unknown: DataAsset = serde_json::from_value(json!({
        "id": "2fc14a4d-5746-4f66-8da8-079ed3441286",
        "size": -1
    }))
    .unwrap();
    assert_eq!((unknown.size_bytes(), unknown.file_count()), (None, None));
}

#[test]
fn git_sync_counts_are_unsigned_or_none() {
    let sync: GitSyncResults = serde_json::from_value(json!({"pulled": 2, "pushed": -1})).unwrap();
    assert_eq!((sync.pulled_count(), sync.pushed_count()), (Some(2), None));
    assert_eq!(GitSyncResults::default().pulled_count(), None);
}
