//! Every fixture under `tests/fixtures/` decodes into its generated type, with the values it
//! holds. A fixture file without an expectation here fails the tests, and so does an expectation
//! without its file.
//!
//! - `seeds/`: the examples of the API documents (see `seeds/README.md` for what was left out);
//! - `current/`: each object as current servers send it (API-NOTES, "What current servers send");
//! - `tolerance/`: unknown fields, unknown enum values and fractional timestamps.

use std::collections::BTreeSet;
use std::path::Path;

use codeocean_raw::open::{
    CapsuleStatus, ComputationEndStatus, ComputationState, CustomMetadataValue, DataAssetOrigin,
    DataAssetState, DataAssetType, ResultItemType, Timestamp,
};
use codeocean_raw::types::{
    ApiError, Capsule, Computation, CreateDataAssetRequest, DataAsset, ListResultsRequest,
    ResultFileDownloadUrl, ResultFileUrls, ResultsFolder, RunRequest, UpdateDataAssetRequest,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

fn fixtures_dir() -> std::path::PathBuf {
    crate::root().join("tests/fixtures")
}

fn load(name: &str) -> Value {
    let path = fixtures_dir().join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name} is not JSON: {e}"))
}

/// `value` without `null` members (an absent optional field is written back as absent).
fn without_nulls(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, without_nulls(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(without_nulls).collect()),
        other => other,
    }
}

/// `value` without the object member each JSON pointer of `unknown` names; each must be there.
fn without(mut value: Value, unknown: &[&str], name: &str) -> Value {
    for pointer in unknown {
        let (parent, member) = pointer.rsplit_once('/').expect("a JSON pointer");
        let removed = value
            .pointer_mut(parent)
            .and_then(Value::as_object_mut)
            .and_then(|object| object.remove(member));
        assert!(removed.is_some(), "{name} has no unknown field {pointer}");
    }
    value
}

/// Decodes a fixture and encodes the result again, which must give the fixture back without the
/// fields the spec does not know (`unknown`, as JSON pointers): every known field is kept as it
/// was, unknown enum values included, and the unknown fields are dropped.
fn decode<T: DeserializeOwned + Serialize>(name: &str, unknown: &[&str]) -> T {
    let value = load(name);
    let decoded: T = serde_json::from_value(value.clone())
        .unwrap_or_else(|e| panic!("{name} does not decode: {e}"));
    let again = serde_json::to_value(&decoded).unwrap();
    assert_eq!(
        without_nulls(again),
        without_nulls(without(value, unknown, name)),
        "{name} does not round-trip"
    );
    decoded
}

/// Decodes a fixture that holds only fields the spec knows: writing it back gives the same JSON.
fn exact<T: DeserializeOwned + Serialize>(name: &str) -> T {
    decode(name, &[])
}

/// Decodes a fixture with fields the spec does not know, named by JSON pointers.
fn tolerant<T: DeserializeOwned + Serialize>(name: &str, unknown: &[&str]) -> T {
    assert!(!unknown.is_empty(), "{name}: name its unknown fields");
    decode(name, unknown)
}

fn assert_started(c: &Computation, id: &str) {
    assert_eq!(c.id, id);
    assert_eq!(c.state, Some(ComputationState::Initializing));
    assert_eq!(c.has_results, Some(false));
    assert_eq!(c.end_status, None);
    assert_eq!(c.exit_code, None);
}

fn run_request(name: &str) -> RunRequest {
    exact(name)
}

type Expectation = (&'static str, fn(&'static str));

/// What each fixture decodes into, and the values it must hold.
const EXPECTATIONS: &[Expectation] = &[
    ("seeds/000-get-computation.json", |f| {
        let c: Computation = exact(f);
        assert_eq!(c.id, "66095e3a-0747-4ec5-b8b1-95b89a428536");
        assert_eq!(c.created, Some(Timestamp::from_secs(1646687806)));
        assert_eq!(c.state, Some(ComputationState::Completed));
        assert_eq!(c.end_status, Some(ComputationEndStatus::Succeeded));
        assert_eq!((c.has_results, c.run_time), (Some(true), Some(5)));
    }),
    ("seeds/000-list-results.json", |f| {
        let folder: ResultsFolder = exact(f);
        let names: Vec<_> = folder.items.iter().map(|i| i.path.as_str()).collect();
        assert_eq!(names, ["fig1.png", "output"]);
        assert_eq!(folder.items[0].size, Some(34003));
        assert!(folder.items.iter().all(|i| i.type_ == ResultItemType::File));
    }),
    ("seeds/000-download-url.json", |f| {
        let url: ResultFileDownloadUrl = exact(f);
        assert!(url.url.starts_with("https://s3.amazonaws.com/"));
        // `\u0026` in the document is an escaped `&`.
        assert!(url.url.contains("&X-Amz-Expires=3600&"), "{}", url.url);
    }),
    ("seeds/002-get-capsule.json", |f| {
        let c: Capsule = exact(f);
        assert_eq!(c.id, "1d8288da-0785-4e4f-aa37-2d1db3636bc4");
        assert_eq!(c.status, Some(CapsuleStatus::NonPublished));
        assert_eq!(c.keywords, None);
        assert_eq!(c.slug.as_deref(), Some("1576467"));
    }),
    ("seeds/002-list-capsule-computations.json", |f| {
        let runs: Vec<Computation> = exact(f);
        assert_eq!(runs.len(), 2);
        assert_eq!(runs[1].id, "29fd468c-67f6-4e32-b29a-aa0f72ce5125");
        assert!(
            runs.iter()
                .all(|r| r.end_status == Some(ComputationEndStatus::Succeeded))
        );
    }),
    ("seeds/002-run-capsule.json", |f| {
        assert_started(&exact(f), "de91932c-d885-455a-9f3a-ec4a6fd95707")
    }),
    ("seeds/003-run-pipeline.json", |f| {
        assert_started(&exact(f), "9af23fd6-2957-40bf-b691-16190056c94e")
    }),
    ("seeds/003-run-pipeline-with-data-assets.json", |f| {
        assert_started(&exact(f), "94994ace-cd3d-4e38-9c5c-9aed12a5169d")
    }),
    ("seeds/003-run-pipeline-version.json", |f| {
        assert_started(&exact(f), "9af23fd6-2957-40bf-b691-16190056c94e")
    }),
    ("seeds/004-get-data-asset-is-a-capsule.json", |f| {
        let c: Capsule = exact(f);
        assert_eq!(c.name.as_deref(), Some("deepTools-bamCoverage"));
        assert_eq!(
            c.keywords,
            Some(vec!["ChIP".into(), "Normalization".into()])
        );
    }),
    ("seeds/004-update-data-asset.json", |f| {
        let a: DataAsset = exact(f);
        assert_eq!(a.id, "2fc14a4d-5746-4f66-8da8-079ed3441286");
        assert_eq!(a.state, Some(DataAssetState::Ready));
        assert_eq!(a.type_, Some(DataAssetType::Dataset));
        assert_eq!((a.files, a.size), (Some(1), Some(4594062)));
        assert_eq!(a.last_used, Some(Timestamp::from_secs(1682956368)));
    }),
    ("seeds/requests/000-list-results.json", |f| {
        assert_eq!(exact::<ListResultsRequest>(f).path, "");
    }),
    ("seeds/requests/002-run-capsule.json", |f| {
        let r = run_request(f);
        assert_eq!(
            r.capsule_id.as_deref(),
            Some("1d8288da-0785-4e4f-aa37-2d1db3636bc4")
        );
        assert_eq!(r.pipeline_id, None);
    }),
    ("seeds/requests/003-run-pipeline.json", |f| {
        let r = run_request(f);
        assert_eq!(
            r.pipeline_id.as_deref(),
            Some("4bc97533-6eb4-48ac-966f-648548a756d2")
        );
        assert_eq!(r.version, None);
    }),
    ("seeds/requests/003-run-pipeline-version.json", |f| {
        assert_eq!(run_request(f).version, Some(1));
    }),
    (
        "seeds/requests/003-run-pipeline-with-data-assets.json",
        |f| {
            let r = run_request(f);
            assert_eq!(
                r.data_assets.as_ref().unwrap()[0].mount.as_deref(),
                Some("Alignment")
            );
        },
    ),
    (
        "seeds/requests/003-run-pipeline-ordered-parameters.json",
        |f| {
            let r = run_request(f);
            let ordered = r.processes.unwrap()[0].parameters.clone().unwrap();
            assert_eq!(ordered.len(), 15);
            assert_eq!(ordered[2], "HS25");
            assert_eq!(ordered[4], "");
        },
    ),
    (
        "seeds/requests/003-run-pipeline-named-parameters.json",
        |f| {
            let r = run_request(f);
            let processes = r.processes.unwrap();
            let named = &processes[0].named_parameters.as_ref().unwrap()[0];
            assert_eq!(
                (named.param_name.as_str(), named.value.as_str()),
                ("NumFiles", "10")
            );
        },
    ),
    (
        "seeds/requests/003-run-pipeline-ordered-and-named-parameters.json",
        |f| {
            let r = run_request(f);
            let names: Vec<_> = r
                .processes
                .iter()
                .flatten()
                .map(|p| p.name.as_str())
                .collect();
            assert_eq!(
                names,
                [
                    "capsule_np_create_files_test_3",
                    "capsule_art_simulation_illumina_1"
                ]
            );
        },
    ),
    ("seeds/requests/004-create-data-asset.json", |f| {
        let r: CreateDataAssetRequest = exact(f);
        let source = r.source.unwrap().computation.unwrap();
        assert_eq!(source.id, "c229ed13-ec06-43d0-abd9-4d481af3f5e3");
        assert_eq!(r.tags, ["proteomics", "bioinformatics"]);
    }),
    ("seeds/requests/004-update-data-asset.json", |f| {
        let r: UpdateDataAssetRequest = exact(f);
        assert_eq!(r.mount.as_deref(), Some("NewMount"));
        assert_eq!(r.custom_metadata, None);
    }),
    ("current/computation.json", |f| {
        let c: Computation = exact(f);
        assert_eq!(c.id, "3e4041e3-1970-4bc8-9d55-56887d4c5375");
        assert_eq!(
            c.owner.as_deref(),
            Some("9b17d7b7-8b48-461a-95c6-ddb1a00a4e49")
        );
        assert_eq!(c.owner_email.as_deref(), Some("scientist@acmecorp.example"));
        assert_eq!((c.run_time, c.cloud_workstation), (Some(812), Some(false)));
        assert_eq!(c.state, Some(ComputationState::Completed));
        // Completed, yet failed: the state alone does not say a run succeeded.
        assert_eq!(c.end_status, Some(ComputationEndStatus::Failed));
        assert_eq!(c.exit_code, Some(1));
        assert_eq!(c.processes[0].version, Some(2));
        assert_eq!(c.parameters[0].param_name.as_deref(), Some("NumFiles"));
    }),
    ("current/capsule.json", |f| {
        let c: Capsule = exact(f);
        assert_eq!(c.id, "1d8288da-0785-4e4f-aa37-2d1db3636bc4");
        assert_eq!(c.status, Some(CapsuleStatus::NonRelease));
        assert_eq!(
            (c.owner.as_deref(), c.slug.as_deref()),
            (
                Some("9b17d7b7-8b48-461a-95c6-ddb1a00a4e49"),
                Some("1576467")
            )
        );
        assert_eq!(c.versions[0].minor_version, Some(2));
        assert_eq!(c.article["doi"], "10.1/abc");
    }),
    ("current/data-asset.json", |f| {
        let a: DataAsset = exact(f);
        assert_eq!(a.id, "2fc14a4d-5746-4f66-8da8-079ed3441286");
        assert_eq!(a.state, Some(DataAssetState::Ready));
        assert_eq!(a.type_, Some(DataAssetType::Result));
        assert_eq!((a.files, a.size), (Some(2000), Some(4594062)));
        // Never used: 0, not absent.
        assert_eq!(a.last_used, Some(Timestamp::from_secs(0)));
        let metadata = a.custom_metadata.unwrap();
        assert_eq!(metadata["study"], CustomMetadataValue::from("X-1"));
        assert_eq!(metadata["collected"], CustomMetadataValue::from(1700000000));
        assert_eq!(metadata["ratio"].to_string(), "0.25");
        let provenance = a.provenance.unwrap();
        assert_eq!(provenance.run_script.as_deref(), Some("code/run"));
        assert_eq!(
            a.source_bucket.unwrap().origin,
            Some(DataAssetOrigin::Local)
        );
    }),
    ("current/data-asset-model-draft.json", |f| {
        let a: DataAsset = exact(f);
        assert_eq!(a.id, "7c7c7c7c-0000-4000-8000-000000000002");
        assert_eq!(a.state, Some(DataAssetState::Draft));
        assert_eq!(a.type_, Some(DataAssetType::Model));
        assert_eq!((a.size, a.files, a.custom_metadata), (None, None, None));
    }),
    ("current/data-asset-failed-combined.json", |f| {
        let a: DataAsset = exact(f);
        assert_eq!(a.state, Some(DataAssetState::Failed));
        assert_eq!(a.type_, Some(DataAssetType::Combined));
        assert_eq!(
            a.failure_reason.as_deref(),
            Some("source computation has no results")
        );
        assert_eq!(a.contained_data_assets[0].size, Some(1024));
    }),
    ("current/results-folder.json", |f| {
        let folder: ResultsFolder = exact(f);
        assert_eq!(folder.items[1].type_, ResultItemType::Folder);
        assert_eq!(folder.items[1].size, None);
    }),
    ("current/result-file-urls.json", |f| {
        let urls: ResultFileUrls = exact(f);
        assert!(urls.view_url.contains("inline"));
        assert_ne!(urls.download_url, urls.view_url);
    }),
    ("current/api-error.json", |f| {
        let e: ApiError = exact(f);
        assert_eq!(e.message.as_deref(), Some("computation not found"));
    }),
    ("tolerance/computation-unknown-values.json", |f| {
        let c: Computation = tolerant(f, &["/priority", "/gpu", "/processes/0/retries"]);
        assert_eq!(c.state, Some(ComputationState::Unknown("queued".into())));
        assert_eq!(
            c.end_status,
            Some(ComputationEndStatus::Unknown("cancelled".into()))
        );
        assert_eq!(c.created.unwrap().as_secs_f64(), 1761900000.25);
    }),
    ("tolerance/capsule-unknown-status.json", |f| {
        let c: Capsule = tolerant(f, &["/compute", "/versions/0/notes"]);
        assert_eq!(c.status, Some(CapsuleStatus::Unknown("archived".into())));
        assert_eq!(c.versions[0].major_version, Some(1));
    }),
    ("tolerance/data-asset-protobuf-enums.json", |f| {
        let a: DataAsset = tolerant(f, &["/lastUsed", "/sizeInBytes", "/source_bucket/region"]);
        assert_eq!(a.created.unwrap().as_secs_f64(), 1682956260.5);
        assert_eq!(a.last_used.unwrap().as_secs_f64(), 1682956368.75);
        // `sizeInBytes` is not `size`.
        assert_eq!(a.size, None);
        assert_eq!(
            a.state,
            Some(DataAssetState::Unknown("DATA_ASSET_STATE_DRAFT".into()))
        );
        assert_eq!(a.type_, Some(DataAssetType::Unknown("notebook".into())));
        let origin = a.source_bucket.unwrap().origin;
        assert_eq!(origin, Some(DataAssetOrigin::Unknown("azure".into())));
        let metadata = a.custom_metadata.unwrap();
        assert_eq!(metadata["flag"], CustomMetadataValue::Other(json!(true)));
        assert_eq!(metadata["nothing"], CustomMetadataValue::Other(Value::Null));
    }),
    ("tolerance/results-folder-unknown-type.json", |f| {
        let folder: ResultsFolder =
            tolerant(f, &["/items/0/target", "/items/1/modified", "/next_token"]);
        assert_eq!(
            folder.items[0].type_,
            ResultItemType::Unknown("symlink".into())
        );
        assert_eq!(folder.items[1].size, Some(20));
    }),
];

fn json_files(dir: &Path, base: &Path, found: &mut BTreeSet<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            json_files(&path, base, found);
        } else if path.extension().is_some_and(|e| e == "json") {
            let relative = path.strip_prefix(base).unwrap();
            found.insert(relative.to_string_lossy().replace('\\', "/"));
        }
    }
}

#[test]
fn every_fixture_has_an_expectation_and_every_expectation_a_fixture() {
    let mut files = BTreeSet::new();
    json_files(&fixtures_dir(), &fixtures_dir(), &mut files);
    let expected: BTreeSet<String> = EXPECTATIONS.iter().map(|(f, _)| f.to_string()).collect();
    assert_eq!(files, expected);
    assert_eq!(
        expected.len(),
        EXPECTATIONS.len(),
        "an expectation is listed twice"
    );
}

#[test]
fn fixtures_decode_with_the_values_they_hold() {
    let failed: Vec<&str> = EXPECTATIONS
        .iter()
        .filter(|(name, check)| std::panic::catch_unwind(|| check(name)).is_err())
        .map(|(name, _)| *name)
        .collect();
    assert!(
        failed.is_empty(),
        "fixtures that failed (see the panics above): {failed:?}"
    );
}
