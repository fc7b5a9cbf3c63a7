//! One test per operation of the spec (all 48): the exact request, and the decoding of a realistic
//! answer.

use codeocean_raw::open::{
    AppPanelDataAssetKind, AppPanelParameterType, CapsuleSortBy, CapsuleStatus,
    ComputationEndStatus, ComputationState, CustomMetadataFieldType, CustomMetadataValue,
    DataAssetSearchOrigin, DataAssetSortBy, DataAssetState, DataAssetType, EveryoneRole, GroupRole,
    OneOrMany, Ownership, ReleaseJobStatus, ResultItemType, SortOrder, Timestamp, UserRole,
};
use codeocean_raw::types::{
    AwsS3Target, CapsuleSearchRequest, ComputationSource, CreateDataAssetRequest, CustomMetadata,
    DataAssetAttachParams, DataAssetAttachResult, DataAssetSearchRequest, DataAssetSource,
    DataAssetTarget, GitSyncResults, GroupPermissions, ListResultsRequest, NamedParameter,
    Permissions, ProcessParameters, RunDataAsset, RunRequest, SearchFilter, SearchFilterRange,
    TransferDataAssetRequest, UpdateDataAssetRequest, UserPermissions,
};
use serde_json::{Value, json};

use crate::{Expect, exchange, setup};

const COMPUTATION_ID: &str = "66095e3a-0747-4ec5-b8b1-95b89a428536";
const CAPSULE_ID: &str = "1d8288da-0785-4e4f-aa37-2d1db3636bc4";
const DATA_ASSET_ID: &str = "2fc14a4d-5746-4f66-8da8-079ed3441286";

fn get(path: &str) -> Expect<'_> {
    Expect {
        method: "GET",
        path,
        query: None,
        body: None,
        accept: "application/json",
    }
}

fn post(path: &str, body: Value) -> Expect<'_> {
    Expect {
        method: "POST",
        body: Some(body),
        ..get(path)
    }
}

/// A computation as a current server sends it once it has ended.
fn computation_json() -> Value {
    json!({
        "id": COMPUTATION_ID,
        "created": 1646687806,
        "name": "Run 6687806",
        "owner": "9b17d7b7-8b48-461a-95c6-ddb1a00a4e49",
        "run_time": 5,
        "state": "completed",
        "end_status": "succeeded",
        "exit_code": 0,
        "has_results": true,
        "cloud_workstation": false,
        "parameters": [{"name": "reads", "value": "75"}],
        "data_assets": [{"id": DATA_ASSET_ID, "mount": "Reference"}]
    })
}

fn data_asset_json(state: &str) -> Value {
    json!({
        "id": DATA_ASSET_ID,
        "created": 1682956260,
        "name": "Modified The Name",
        "mount": "NewMount",
        "last_used": 0,
        "owner": "9b17d7b7-8b48-461a-95c6-ddb1a00a4e49",
        "state": state,
        "type": "result",
        "tags": ["I", "Am", "New"],
        "custom_metadata": {"study": "X-1", "samples": 5}
    })
}

fn assert_finished_computation(c: &codeocean_raw::types::Computation) {
    assert_eq!(c.id, COMPUTATION_ID);
    assert_eq!(c.created, Some(Timestamp::from_secs(1646687806)));
    assert_eq!(c.state, Some(ComputationState::Completed));
    assert_eq!(c.end_status, Some(ComputationEndStatus::Succeeded));
    assert_eq!(c.exit_code, Some(0));
    assert_eq!(c.has_results, Some(true));
    assert_eq!(c.data_assets[0].mount.as_deref(), Some("Reference"));
}

#[tokio::test]
async fn get_capsule() {
    let (server, client) = setup().await;
    let path = format!("/capsules/{CAPSULE_ID}");
    let answer = json!({
        "id": CAPSULE_ID, "created": 1646687025, "name": "Example capsule",
        "owner": "9b17d7b7-8b48-461a-95c6-ddb1a00a4e49", "slug": "1576467",
        "status": "non_release", "keywords": null
    });
    let mock = exchange(&server, get(&path), 200, Some(answer)).await;
    let capsule = client.get_capsule(CAPSULE_ID).await.unwrap().into_inner();
    mock.assert_async().await;
    assert_eq!(capsule.id, CAPSULE_ID);
    assert_eq!(capsule.status, Some(CapsuleStatus::NonRelease));
    assert_eq!(capsule.slug.as_deref(), Some("1576467"));
    assert_eq!(capsule.keywords, None);
}

#[tokio::test]
async fn list_capsule_computations() {
    let (server, client) = setup().await;
    let path = format!("/capsules/{CAPSULE_ID}/computations");
    let running = json!({"id": "86a79b7f", "state": "running", "name": "Run 2"});
    let answer = json!([computation_json(), running]);
    let mock = exchange(&server, get(&path), 200, Some(answer)).await;
    let runs = client
        .list_capsule_computations(CAPSULE_ID)
        .await
        .unwrap()
        .into_inner();
    mock.assert_async().await;
    assert_eq!(runs.len(), 2);
    assert_finished_computation(&runs[0]);
    assert_eq!(runs[1].state, Some(ComputationState::Running));
    assert_eq!(runs[1].end_status, None);
}

/// The response to a run request omits most fields.
fn started_json() -> Value {
    json!({"created": 1646943238, "has_results": false, "id": "de91932c",
           "name": "Run 6943238", "run_time": 1, "state": "initializing"})
}

#[tokio::test]
async fn run_computation_of_a_capsule_with_ordered_and_named_parameters() {
    let (server, client) = setup().await;
    let request = RunRequest {
        capsule_id: Some(CAPSULE_ID.into()),
        data_assets: Some(vec![RunDataAsset {
            id: DATA_ASSET_ID.into(),
            mount: Some("Reference".into()),
        }]),
        parameters: Some(vec!["75".into(), "".into(), "HS25".into()]),
        named_parameters: Some(vec![NamedParameter {
            param_name: "NumFiles".into(),
            value: "10".into(),
        }]),
        ..Default::default()
    };
    let body = json!({
        "capsule_id": CAPSULE_ID,
        "data_assets": [{"id": DATA_ASSET_ID, "mount": "Reference"}],
        "parameters": ["75", "", "HS25"],
        "named_parameters": [{"param_name": "NumFiles", "value": "10"}]
    });
    let expect = post("/computations", body);
    let mock = exchange(&server, expect, 200, Some(started_json())).await;
    let started = client.run_computation(&request).await.unwrap().into_inner();
    mock.assert_async().await;
    assert_eq!(started.id, "de91932c");
    assert_eq!(started.state, Some(ComputationState::Initializing));
    assert_eq!(started.end_status, None);
}

#[tokio::test]
async fn run_computation_of_a_pipeline_version_with_processes() {
    let (server, client) = setup().await;
    let request = RunRequest {
        pipeline_id: Some("cd4ef788-b404-4406-8bda-76b5e41a7b8d".into()),
        version: Some(2),
        nextflow_profile: Some("local".into()),
        data_assets: Some(vec![RunDataAsset {
            id: DATA_ASSET_ID.into(),
            mount: None,
        }]),
        processes: Some(vec![
            ProcessParameters {
                name: "capsule_np_create_files_test_3".into(),
                named_parameters: Some(vec![NamedParameter {
                    param_name: "NumFiles".into(),
                    value: "10".into(),
                }]),
                parameters: None,
            },
            ProcessParameters {
                name: "capsule_art_simulation_illumina_1".into(),
                parameters: Some(vec!["75".into(), "1".into(), "False".into()]),
                named_parameters: None,
            },
        ]),
        ..Default::default()
    };
    // Fields left empty are not sent at all: no `capsule_id: null`, no `parameters: []`.
    let body = json!({
        "pipeline_id": "cd4ef788-b404-4406-8bda-76b5e41a7b8d",
        "version": 2,
        "nextflow_profile": "local",
        "data_assets": [{"id": DATA_ASSET_ID}],
        "processes": [
            {"name": "capsule_np_create_files_test_3",
             "named_parameters": [{"param_name": "NumFiles", "value": "10"}]},
            {"name": "capsule_art_simulation_illumina_1", "parameters": ["75", "1", "False"]}
        ]
    });
    let expect = post("/computations", body);
    // A 201 is a success too: a run reported as failed would be launched again.
    let mock = exchange(&server, expect, 201, Some(started_json())).await;
    let started = client.run_computation(&request).await.unwrap();
    mock.assert_async().await;
    assert_eq!(started.status().as_u16(), 201);
    assert_eq!(started.into_inner().id, "de91932c");
}

#[tokio::test]
async fn get_computation() {
    let (server, client) = setup().await;
    let path = format!("/computations/{COMPUTATION_ID}");
    let mock = exchange(&server, get(&path), 200, Some(computation_json())).await;
    let computation = client
        .get_computation(COMPUTATION_ID)
        .await
        .unwrap()
        .into_inner();
    mock.assert_async().await;
    assert_finished_computation(&computation);
}

#[tokio::test]
async fn delete_computation() {
    let (server, client) = setup().await;
    let path = format!("/computations/{COMPUTATION_ID}");
    // Operations that answer nothing set no `Accept`: reqwest's default `*/*` goes out.
    let expect = Expect {
        method: "DELETE",
        accept: "*/*",
        ..get(&path)
    };
    let mock = exchange(&server, expect, 204, None).await;
    let done = client.delete_computation(COMPUTATION_ID).await.unwrap();
    mock.assert_async().await;
    assert_eq!(done.status().as_u16(), 204);
}

#[tokio::test]
async fn rename_computation_sends_the_name_in_the_query_and_no_body() {
    let (server, client) = setup().await;
    let path = format!("/computations/{COMPUTATION_ID}");
    let expect = Expect {
        method: "PATCH",
        query: Some("name=Run+with+%26+and+%2F"),
        accept: "*/*",
        ..get(&path)
    };
    let mock = exchange(&server, expect, 200, None).await;
    client
        .rename_computation(COMPUTATION_ID, &"Run with & and /".to_owned())
        .await
        .unwrap();
    mock.assert_async().await;
}

#[tokio::test]
async fn list_computation_results() {
    let (server, client) = setup().await;
    let path = format!("/computations/{COMPUTATION_ID}/results");
    let expect = post(&path, json!({"path": "output/plots"}));
    let answer = json!({"items": [
        {"name": "fig1.png", "path": "output/plots/fig1.png", "size": 34003, "type": "file"},
        {"name": "raw", "path": "output/plots/raw", "type": "folder"}
    ]});
    let mock = exchange(&server, expect, 200, Some(answer)).await;
    let request = ListResultsRequest {
        path: "output/plots".into(),
    };
    let folder = client
        .list_computation_results(COMPUTATION_ID, &request)
        .await
        .unwrap()
        .into_inner();
    mock.assert_async().await;
    assert_eq!(folder.items.len(), 2);
    assert_eq!(folder.items[0].size, Some(34003));
    assert_eq!(folder.items[0].type_, ResultItemType::File);
    assert_eq!(folder.items[1].type_, ResultItemType::Folder);
    assert_eq!(folder.items[1].size, None);
}

/// A result path with a space, a slash and a `&`, as the URL endpoints must encode it.
const RESULT_PATH: &str = "output/my fig&1.png";
const RESULT_QUERY: &str = "path=output%2Fmy+fig%261.png";

#[tokio::test]
async fn get_result_file_urls() {
    let (server, client) = setup().await;
    let path = format!("/computations/{COMPUTATION_ID}/results/urls");
    let expect = Expect {
        query: Some(RESULT_QUERY),
        ..get(&path)
    };
    let answer = json!({"download_url": "https://s3.example/x?X-Amz-Signature=a",
                        "view_url": "https://s3.example/x?X-Amz-Signature=b"});
    let mock = exchange(&server, expect, 200, Some(answer)).await;
    let urls = client
        .get_result_file_urls(COMPUTATION_ID, RESULT_PATH)
        .await
        .unwrap()
        .into_inner();
    mock.assert_async().await;
    assert_eq!(urls.download_url, "https://s3.example/x?X-Amz-Signature=a");
    assert_eq!(urls.view_url, "https://s3.example/x?X-Amz-Signature=b");
}

#[tokio::test]
async fn get_result_file_download_url() {
    let (server, client) = setup().await;
    let path = format!("/computations/{COMPUTATION_ID}/results/download_url");
    let expect = Expect {
        query: Some(RESULT_QUERY),
        ..get(&path)
    };
    let answer = json!({"url": "https://s3.example/x?X-Amz-Expires=3600&X-Amz-Signature=c"});
    let mock = exchange(&server, expect, 200, Some(answer)).await;
    let url = client
        .get_result_file_download_url(COMPUTATION_ID, RESULT_PATH)
        .await
        .unwrap()
        .into_inner();
    mock.assert_async().await;
    assert_eq!(
        url.url,
        "https://s3.example/x?X-Amz-Expires=3600&X-Amz-Signature=c"
    );
}

#[tokio::test]
async fn create_data_asset_from_a_computation() {
    let (server, client) = setup().await;
    let request = CreateDataAssetRequest {
        name: "Data asset From API".into(),
        description: Some("An example".into()),
        mount: "ProteinFile".into(),
        tags: vec!["proteomics".into(), "bioinformatics".into()],
        source: Some(DataAssetSource {
            computation: Some(ComputationSource {
                id: COMPUTATION_ID.into(),
                path: None,
            }),
            ..Default::default()
        }),
        target: None,
        custom_metadata: None,
        data_asset_ids: None,
        results_info: None,
    };
    let body = json!({
        "name": "Data asset From API",
        "description": "An example",
        "mount": "ProteinFile",
        "tags": ["proteomics", "bioinformatics"],
        "source": {"computation": {"id": COMPUTATION_ID}}
    });
    let expect = post("/data_assets", body);
    let mock = exchange(&server, expect, 200, Some(data_asset_json("draft"))).await;
    let asset = client
        .create_data_asset(&request)
        .await
        .unwrap()
        .into_inner();
    mock.assert_async().await;
    assert_eq!(asset.id, DATA_ASSET_ID);
    assert_eq!(asset.state, Some(DataAssetState::Draft));
    assert_eq!(asset.type_, Some(DataAssetType::Result));
}

#[tokio::test]
async fn get_data_asset() {
    let (server, client) = setup().await;
    let path = format!("/data_assets/{DATA_ASSET_ID}");
    let mock = exchange(&server, get(&path), 200, Some(data_asset_json("ready"))).await;
    let asset = client
        .get_data_asset(DATA_ASSET_ID)
        .await
        .unwrap()
        .into_inner();
    mock.assert_async().await;
    assert_eq!(asset.state, Some(DataAssetState::Ready));
    let metadata = asset.custom_metadata.unwrap();
    assert_eq!(metadata["study"], CustomMetadataValue::from("X-1"));
    assert_eq!(metadata["samples"], CustomMetadataValue::from(5));
}

#[tokio::test]
async fn update_data_asset_with_custom_metadata() {
    let (server, client) = setup().await;
    let path = format!("/data_assets/{DATA_ASSET_ID}");
    let metadata: CustomMetadata = [
        ("study".to_string(), CustomMetadataValue::from("X-1")),
        ("samples".to_string(), CustomMetadataValue::from(5)),
        (
            "collected".to_string(),
            CustomMetadataValue::from(1700000000),
        ),
    ]
    .into_iter()
    .collect::<std::collections::BTreeMap<_, _>>()
    .into();
    let request = UpdateDataAssetRequest {
        name: Some("Modified The Name".into()),
        description: None,
        tags: Some(vec!["I".into(), "Am".into(), "New".into()]),
        mount: Some("NewMount".into()),
        custom_metadata: Some(metadata),
    };
    // Numbers go out as integers (`5`, not `5.0`); the unset description is not sent.
    let body = json!({
        "name": "Modified The Name",
        "tags": ["I", "Am", "New"],
        "mount": "NewMount",
        "custom_metadata": {"study": "X-1", "samples": 5, "collected": 1700000000}
    });
    let expect = Expect {
        method: "PUT",
        body: Some(body),
        ..get(&path)
    };
    let mock = exchange(&server, expect, 200, Some(data_asset_json("ready"))).await;
    let asset = client
        .update_data_asset(DATA_ASSET_ID, &request)
        .await
        .unwrap()
        .into_inner();
    mock.assert_async().await;
    assert_eq!(asset.name.as_deref(), Some("Modified The Name"));
    assert_eq!(asset.tags, ["I", "Am", "New"]);
}

#[tokio::test]
async fn path_parameters_are_percent_encoded() {
    let (server, client) = setup().await;
    let mock = exchange(
        &server,
        get("/computations/a%2Fb%20c"),
        200,
        Some(computation_json()),
    )
    .await;
    client.get_computation("a/b c").await.unwrap();
    mock.assert_async().await;
}

#[tokio::test]
async fn unknown_fields_enum_values_and_fractional_times_decode() {
    let (server, client) = setup().await;
    let path = format!("/computations/{COMPUTATION_ID}");
    let answer = json!({
        "id": COMPUTATION_ID,
        "created": 1646687806.5,
        "state": "queued",
        "end_status": "cancelled_by_admin",
        "gpu": {"kind": "a100", "count": 2},
        "processes": [{"name": "p", "capsule_id": "c", "version": 3, "future_field": [1, 2]}]
    });
    let mock = exchange(&server, get(&path), 200, Some(answer)).await;
    let c = client
        .get_computation(COMPUTATION_ID)
        .await
        .unwrap()
        .into_inner();
    mock.assert_async().await;
    assert_eq!(c.state, Some(ComputationState::Unknown("queued".into())));
    assert_eq!(
        c.end_status,
        Some(ComputationEndStatus::Unknown("cancelled_by_admin".into()))
    );
    assert_eq!(c.created.unwrap().as_secs_f64(), 1646687806.5);
    assert_eq!(c.processes[0].version, Some(3));

    let path = format!("/computations/{COMPUTATION_ID}/results");
    let expect = post(&path, json!({"path": ""}));
    let answer = json!({"items": [{"name": "l", "path": "l", "type": "symlink", "target": "x"}],
                        "next": null});
    let mock = exchange(&server, expect, 200, Some(answer)).await;
    let folder = client
        .list_computation_results(COMPUTATION_ID, &ListResultsRequest { path: "".into() })
        .await
        .unwrap()
        .into_inner();
    mock.assert_async().await;
    assert_eq!(
        folder.items[0].type_,
        ResultItemType::Unknown("symlink".into())
    );
}

// ---------------------------------------------------------------------------------------------
// The operations of the official Python SDK 0.17.0 beyond the API documents: one test each.
// Every answer carries a field the spec does not know (`colour`, `etag`, ...) to prove that
// unknown fields are ignored, and several carry enum values the spec does not list.
// ---------------------------------------------------------------------------------------------

const PIPELINE_ID: &str = "cd4ef788-b404-4406-8bda-76b5e41a7b8d";
const JOB_ID: &str = "0b5f3c4e-5a1d-4b1e-9d55-6a9f3e0c2b71";
const OTHER_ASSET_ID: &str = "7a1f6f2c-3b44-4b0e-8d8a-2f7c1e9b0c55";

/// The request of an operation that answers nothing: no `Accept` of its own (reqwest's `*/*`).
fn silent<'a>(method: &'a str, path: &'a str) -> Expect<'a> {
    Expect {
        method,
        accept: "*/*",
        ..get(path)
    }
}

/// A capsule (or pipeline) as a current server sends it, with a field the spec does not know.
fn capsule_json(id: &str, status: &str) -> Value {
    json!({
        "id": id, "created": 1646687025, "name": "Example", "status": status,
        "owner": "9b17d7b7-8b48-461a-95c6-ddb1a00a4e49", "slug": "1576467",
        "original_capsule": {"id": "f00d", "major_version": 1, "minor_version": 2,
                             "name": "Origin", "created": 1600000000, "public": true},
        "versions": [{"major_version": 1, "minor_version": 0, "release_time": 1650000000}],
        "colour": "teal"
    })
}

fn attach_request() -> Vec<DataAssetAttachParams> {
    vec![
        DataAssetAttachParams {
            id: DATA_ASSET_ID.into(),
            mount: Some("Reference".into()),
        },
        DataAssetAttachParams {
            id: OTHER_ASSET_ID.into(),
            mount: None,
        },
    ]
}

/// The body `attach_request` must produce: an unset mount is not sent.
fn attach_body() -> Value {
    json!([{"id": DATA_ASSET_ID, "mount": "Reference"}, {"id": OTHER_ASSET_ID}])
}

fn attach_answer() -> Value {
    json!([
        {"id": DATA_ASSET_ID, "mount": "Reference", "mount_state": "mounted",
         "job_id": "j-1", "external": false, "ready": true, "etag": "x"},
        {"id": OTHER_ASSET_ID, "mount": "other", "ready": false}
    ])
}

fn assert_attached(attached: &[DataAssetAttachResult]) {
    assert_eq!(attached.len(), 2);
    assert_eq!(attached[0].id, DATA_ASSET_ID);
    assert_eq!(attached[0].mount_state.as_deref(), Some("mounted"));
    assert_eq!(attached[0].job_id.as_deref(), Some("j-1"));
    assert_eq!(attached[0].external, Some(false));
    assert_eq!(attached[0].ready, Some(true));
    assert_eq!(attached[1].mount.as_deref(), Some("other"));
    assert_eq!(attached[1].ready, Some(false));
    assert_eq!(attached[1].job_id, None);
}

fn detach_request() -> Vec<String> {
    vec![DATA_ASSET_ID.into(), OTHER_ASSET_ID.into()]
}

fn permissions_answer() -> Value {
    json!({
        "users": [{"email": "ada@example.com", "role": "owner"},
                  {"email": "bob@example.com", "role": "commenter"}],
        "groups": [{"group": "g-lab", "role": "discoverable", "since": 1700000000}],
        "everyone": "none",
        "etag": "W/1"
    })
}

fn assert_permissions(p: &Permissions) {
    let users = p.users.as_ref().unwrap();
    assert_eq!(users[0].email, "ada@example.com");
    assert_eq!(users[0].role, UserRole::Owner);
    assert_eq!(users[1].role, UserRole::Unknown("commenter".into()));
    let groups = p.groups.as_ref().unwrap();
    assert_eq!(groups[0].group, "g-lab");
    assert_eq!(groups[0].role, GroupRole::Discoverable);
    assert_eq!(p.everyone, Some(EveryoneRole::None));
    assert_eq!(p.share_assets, None);
}

fn permissions_request() -> Permissions {
    Permissions {
        users: Some(vec![UserPermissions {
            email: "ada@example.com".into(),
            role: UserRole::Editor,
        }]),
        groups: Some(vec![GroupPermissions {
            group: "g-lab".into(),
            role: GroupRole::Viewer,
        }]),
        everyone: Some(EveryoneRole::Discoverable),
        share_assets: Some(true),
    }
}

fn permissions_body() -> Value {
    json!({
        "users": [{"email": "ada@example.com", "role": "editor"}],
        "groups": [{"group": "g-lab", "role": "viewer"}],
        "everyone": "discoverable",
        "share_assets": true
    })
}

/// Mocks `POST path` with no body (release, sync) answering `answer`.
fn bodiless_post(path: &str) -> Expect<'_> {
    Expect {
        method: "POST",
        ..get(path)
    }
}

// --- capsules ---------------------------------------------------------------------------------

#[tokio::test]
async fn search_capsules_sends_every_filter_and_reads_a_page() {
    let (server, client) = setup().await;
    let request = CapsuleSearchRequest {
        query: Some("name:\"single cell\" tag:genomics".into()),
        offset: Some(100),
        limit: Some(50),
        sort_field: Some(CapsuleSortBy::LastAccessed),
        sort_order: Some(SortOrder::Descending),
        ownership: Some(Ownership::Shared),
        status: Some(CapsuleStatus::Release),
        favorite: Some(false),
        archived: Some(true),
        filters: Some(vec![
            SearchFilter {
                key: "tags".into(),
                values: Some(vec!["genomics".into(), "rna".into()]),
                exclude: Some(true),
                ..search_filter()
            },
            SearchFilter {
                key: "samples".into(),
                range: Some(SearchFilterRange {
                    min: Some(2.5),
                    max: None,
                }),
                ..search_filter()
            },
        ]),
        next_token: None,
    };
    let body = json!({
        "query": "name:\"single cell\" tag:genomics",
        "offset": 100,
        "limit": 50,
        "sort_field": "last_accessed",
        "sort_order": "desc",
        "ownership": "shared",
        "status": "release",
        "favorite": false,
        "archived": true,
        "filters": [
            {"key": "tags", "values": ["genomics", "rna"], "exclude": true},
            {"key": "samples", "range": {"min": 2.5}}
        ]
    });
    let answer = json!({
        "has_more": true,
        "next_token": "tok-2",
        "results": [capsule_json(CAPSULE_ID, "release")],
        "took_ms": 12
    });
    let mock = exchange(&server, post("/capsules/search", body), 200, Some(answer)).await;
    let page = client.search_capsules(&request).await.unwrap().into_inner();
    mock.assert_async().await;
    assert!(page.has_more);
    assert_eq!(page.next_token.as_deref(), Some("tok-2"));
    assert_eq!(page.results.len(), 1);
    let capsule = &page.results[0];
    assert_eq!(capsule.status, Some(CapsuleStatus::Release));
    let original = capsule.original_capsule.as_ref().unwrap();
    assert_eq!(original.major_version, Some(1));
    assert_eq!(original.created, Some(Timestamp::from_secs(1600000000)));
    assert_eq!(original.public, Some(true));
}

/// A filter with nothing set but its key, for `..search_filter()`.
fn search_filter() -> SearchFilter {
    SearchFilter {
        key: String::new(),
        value: None,
        values: None,
        range: None,
        exclude: None,
    }
}

#[tokio::test]
async fn delete_capsule() {
    let (server, client) = setup().await;
    let path = format!("/capsules/{CAPSULE_ID}");
    let mock = exchange(&server, silent("DELETE", &path), 204, None).await;
    let done = client.delete_capsule(CAPSULE_ID).await.unwrap();
    mock.assert_async().await;
    assert_eq!(done.status().as_u16(), 204);
}

#[tokio::test]
async fn get_capsule_app_panel_of_a_version() {
    let (server, client) = setup().await;
    let path = format!("/capsules/{CAPSULE_ID}/app_panel");
    let expect = Expect {
        query: Some("version=2"),
        ..get(&path)
    };
    let answer = json!({
        "general": {"title": "Align reads", "instructions": "Pick a genome", "theme": "dark"},
        "data_assets": [
            {"id": DATA_ASSET_ID, "mount": "Reference", "name": "GRCh38",
             "kind": "internal", "accessible": true},
            {"id": OTHER_ASSET_ID, "mount": "cohort", "name": "Cohort",
             "kind": "federated", "accessible": false}
        ],
        "categories": [{"id": "c1", "name": "Inputs", "help_text": "What to read"}],
        "parameters": [
            {"name": "Reads", "type": "list", "category": "c1", "param_name": "reads",
             "value_type": "integer", "default_value": "75", "required": true,
             "minimum": 1, "maximum": 150.5, "value_options": ["75", "150"]},
            {"name": "Notes", "type": "slider", "hidden": true, "pattern": "^\\w+$"}
        ],
        "results": [{"file_name": "report.html"}],
        "layout": "grid"
    });
    let mock = exchange(&server, expect, 200, Some(answer)).await;
    let panel = client
        .get_capsule_app_panel(CAPSULE_ID, Some(2))
        .await
        .unwrap()
        .into_inner();
    mock.assert_async().await;
    assert_eq!(panel.general.unwrap().title.as_deref(), Some("Align reads"));
    assert_eq!(
        panel.data_assets[0].kind,
        Some(AppPanelDataAssetKind::Internal)
    );
    assert_eq!(
        panel.data_assets[1].kind,
        Some(AppPanelDataAssetKind::Unknown("federated".into()))
    );
    assert_eq!(panel.data_assets[1].accessible, Some(false));
    assert_eq!(panel.categories[0].id, "c1");
    let reads = &panel.parameters[0];
    assert_eq!(reads.type_, Some(AppPanelParameterType::List));
    assert_eq!(reads.param_name.as_deref(), Some("reads"));
    assert_eq!(reads.minimum, Some(1.0));
    assert_eq!(reads.maximum, Some(150.5));
    assert_eq!(reads.value_options, ["75", "150"]);
    assert_eq!(
        panel.parameters[1].type_,
        Some(AppPanelParameterType::Unknown("slider".into()))
    );
    assert_eq!(panel.results[0].file_name, "report.html");
    assert!(panel.processes.is_empty());
}

#[tokio::test]
async fn archive_capsule_sends_the_flag_in_the_query_and_no_body() {
    let (server, client) = setup().await;
    let path = format!("/capsules/{CAPSULE_ID}/archive");
    let expect = Expect {
        query: Some("archive=true"),
        ..silent("PATCH", &path)
    };
    let mock = exchange(&server, expect, 200, None).await;
    client.archive_capsule(CAPSULE_ID, true).await.unwrap();
    mock.assert_async().await;
}

#[tokio::test]
async fn attach_capsule_data_assets() {
    let (server, client) = setup().await;
    let path = format!("/capsules/{CAPSULE_ID}/data_assets");
    let expect = post(&path, attach_body());
    let mock = exchange(&server, expect, 200, Some(attach_answer())).await;
    let attached = client
        .attach_capsule_data_assets(CAPSULE_ID, &attach_request())
        .await
        .unwrap()
        .into_inner();
    mock.assert_async().await;
    assert_attached(&attached);
}

#[tokio::test]
async fn detach_capsule_data_assets_sends_ids_to_the_slashed_path() {
    let (server, client) = setup().await;
    let path = format!("/capsules/{CAPSULE_ID}/data_assets/");
    let expect = Expect {
        body: Some(json!([DATA_ASSET_ID, OTHER_ASSET_ID])),
        ..silent("DELETE", &path)
    };
    let mock = exchange(&server, expect, 204, None).await;
    client
        .detach_capsule_data_assets(CAPSULE_ID, &detach_request())
        .await
        .unwrap();
    mock.assert_async().await;
}

#[tokio::test]
async fn get_capsule_permissions() {
    let (server, client) = setup().await;
    let path = format!("/capsules/{CAPSULE_ID}/permissions");
    let mock = exchange(&server, get(&path), 200, Some(permissions_answer())).await;
    let permissions = client
        .get_capsule_permissions(CAPSULE_ID)
        .await
        .unwrap()
        .into_inner();
    mock.assert_async().await;
    assert_permissions(&permissions);
}

#[tokio::test]
async fn update_capsule_permissions() {
    let (server, client) = setup().await;
    let path = format!("/capsules/{CAPSULE_ID}/permissions");
    let expect = Expect {
        body: Some(permissions_body()),
        ..silent("POST", &path)
    };
    let mock = exchange(&server, expect, 200, None).await;
    client
        .update_capsule_permissions(CAPSULE_ID, &permissions_request())
        .await
        .unwrap();
    mock.assert_async().await;
}

#[tokio::test]
async fn release_capsule_starts_a_job() {
    let (server, client) = setup().await;
    let path = format!("/capsules/{CAPSULE_ID}/release");
    let answer = json!({"job_id": JOB_ID, "status": "created", "queue": "default"});
    let mock = exchange(&server, bodiless_post(&path), 201, Some(answer)).await;
    let job = client.release_capsule(CAPSULE_ID).await.unwrap();
    mock.assert_async().await;
    assert_eq!(job.status().as_u16(), 201);
    let job = job.into_inner();
    assert_eq!(job.job_id, JOB_ID);
    assert_eq!(job.status, Some(ReleaseJobStatus::Created));
    assert_eq!(job.release_version, None);
}

#[tokio::test]
async fn get_capsule_release_job_once_completed() {
    let (server, client) = setup().await;
    let path = format!("/capsules/{CAPSULE_ID}/release/{JOB_ID}");
    let answer = json!({
        "job_id": JOB_ID, "status": "completed", "started": 1700000000, "duration": 42,
        "release_capsule": "pub-cap-999",
        "release_version": {"major_version": 2, "minor_version": 5, "release_time": 1700000100},
        "worker": "w-3"
    });
    let mock = exchange(&server, get(&path), 200, Some(answer)).await;
    let job = client
        .get_capsule_release_job(CAPSULE_ID, JOB_ID)
        .await
        .unwrap()
        .into_inner();
    mock.assert_async().await;
    assert_eq!(job.status, Some(ReleaseJobStatus::Completed));
    assert_eq!(job.started, Some(Timestamp::from_secs(1700000000)));
    assert_eq!(job.duration, Some(42));
    assert_eq!(job.release_capsule.as_deref(), Some("pub-cap-999"));
    let version = job.release_version.unwrap();
    assert_eq!(
        (version.major_version, version.minor_version),
        (Some(2), Some(5))
    );
    assert_eq!(job.error, None);
}

#[tokio::test]
async fn sync_capsule() {
    let (server, client) = setup().await;
    let path = format!("/capsules/{CAPSULE_ID}/sync");
    let answer = json!({"pushed": 2, "pulled": 1, "new_branch": true, "remote": "origin"});
    let mock = exchange(&server, bodiless_post(&path), 200, Some(answer)).await;
    let sync = client.sync_capsule(CAPSULE_ID).await.unwrap().into_inner();
    mock.assert_async().await;
    assert_eq!(
        (sync.pushed, sync.pulled, sync.new_branch),
        (Some(2), Some(1), Some(true))
    );
}

// --- pipelines --------------------------------------------------------------------------------

#[tokio::test]
async fn search_pipelines_with_a_token_and_a_sort_field_the_spec_does_not_know() {
    let (server, client) = setup().await;
    let request = CapsuleSearchRequest {
        next_token: Some("tok-2".into()),
        sort_field: Some(CapsuleSortBy::from("relevance")),
        ..Default::default()
    };
    // An open enum sends a value a newer server knows, unchanged.
    let body = json!({"next_token": "tok-2", "sort_field": "relevance"});
    let answer = json!({"has_more": false, "results": [], "facets": {}});
    let mock = exchange(&server, post("/pipelines/search", body), 200, Some(answer)).await;
    let page = client
        .search_pipelines(&request)
        .await
        .unwrap()
        .into_inner();
    mock.assert_async().await;
    assert!(!page.has_more);
    assert!(page.results.is_empty());
    assert_eq!(page.next_token, None);
}

#[tokio::test]
async fn get_pipeline() {
    let (server, client) = setup().await;
    let path = format!("/pipelines/{PIPELINE_ID}");
    let answer = capsule_json(PIPELINE_ID, "non_release");
    let mock = exchange(&server, get(&path), 200, Some(answer)).await;
    let pipeline = client.get_pipeline(PIPELINE_ID).await.unwrap().into_inner();
    mock.assert_async().await;
    assert_eq!(pipeline.id, PIPELINE_ID);
    assert_eq!(pipeline.status, Some(CapsuleStatus::NonRelease));
    assert_eq!(pipeline.versions[0].major_version, Some(1));
}

#[tokio::test]
async fn delete_pipeline() {
    let (server, client) = setup().await;
    let path = format!("/pipelines/{PIPELINE_ID}");
    let mock = exchange(&server, silent("DELETE", &path), 204, None).await;
    client.delete_pipeline(PIPELINE_ID).await.unwrap();
    mock.assert_async().await;
}

#[tokio::test]
async fn get_pipeline_app_panel_reads_processes_in_either_form() {
    let (server, client) = setup().await;
    let path = format!("/pipelines/{PIPELINE_ID}/app_panel");
    // No version: no query at all.
    let answer = json!({
        "general": {"title": "Variant calling"},
        "processes": [
            {"name": "capsule_align_1",
             "categories": {"id": "c1", "name": "Alignment"},
             "parameters": [{"name": "Reads", "type": "text", "param_name": "reads"},
                            {"name": "Genome", "type": "file"}]},
            {"name": "capsule_call_2",
             "parameters": {"name": "Depth", "type": "text"},
             "retries": 3}
        ]
    });
    let mock = exchange(&server, get(&path), 200, Some(answer)).await;
    let panel = client
        .get_pipeline_app_panel(PIPELINE_ID, None)
        .await
        .unwrap()
        .into_inner();
    mock.assert_async().await;
    let align = &panel.processes[0];
    assert_eq!(align.name, "capsule_align_1");
    let categories = align.categories.as_ref().unwrap();
    assert!(matches!(categories, OneOrMany::One(_)));
    assert_eq!(categories.as_slice()[0].name.as_deref(), Some("Alignment"));
    let parameters = align.parameters.as_ref().unwrap().as_slice();
    assert_eq!(parameters.len(), 2);
    assert_eq!(parameters[1].type_, Some(AppPanelParameterType::File));
    let call = &panel.processes[1];
    assert_eq!(call.categories, None);
    assert_eq!(call.parameters.clone().unwrap().into_vec()[0].name, "Depth");
}

#[tokio::test]
async fn archive_pipeline_false_unarchives() {
    let (server, client) = setup().await;
    let path = format!("/pipelines/{PIPELINE_ID}/archive");
    let expect = Expect {
        query: Some("archive=false"),
        ..silent("PATCH", &path)
    };
    let mock = exchange(&server, expect, 200, None).await;
    client.archive_pipeline(PIPELINE_ID, false).await.unwrap();
    mock.assert_async().await;
}

#[tokio::test]
async fn list_pipeline_computations() {
    let (server, client) = setup().await;
    let path = format!("/pipelines/{PIPELINE_ID}/computations");
    let mut pipeline_run = computation_json();
    pipeline_run["nextflow_profile"] = json!("local");
    pipeline_run["processes"] = json!([{"name": "capsule_align_1", "capsule_id": CAPSULE_ID,
                                        "version": 2, "public": false, "cached": true}]);
    let mock = exchange(&server, get(&path), 200, Some(json!([pipeline_run]))).await;
    let runs = client
        .list_pipeline_computations(PIPELINE_ID)
        .await
        .unwrap()
        .into_inner();
    mock.assert_async().await;
    assert_finished_computation(&runs[0]);
    assert_eq!(runs[0].nextflow_profile.as_deref(), Some("local"));
    assert_eq!(runs[0].processes[0].version, Some(2));
}

#[tokio::test]
async fn attach_pipeline_data_assets() {
    let (server, client) = setup().await;
    let path = format!("/pipelines/{PIPELINE_ID}/data_assets");
    let mock = exchange(
        &server,
        post(&path, attach_body()),
        200,
        Some(attach_answer()),
    )
    .await;
    let attached = client
        .attach_pipeline_data_assets(PIPELINE_ID, &attach_request())
        .await
        .unwrap()
        .into_inner();
    mock.assert_async().await;
    assert_attached(&attached);
}

#[tokio::test]
async fn detach_pipeline_data_assets() {
    let (server, client) = setup().await;
    let path = format!("/pipelines/{PIPELINE_ID}/data_assets/");
    let expect = Expect {
        body: Some(json!([DATA_ASSET_ID, OTHER_ASSET_ID])),
        ..silent("DELETE", &path)
    };
    let mock = exchange(&server, expect, 200, None).await;
    client
        .detach_pipeline_data_assets(PIPELINE_ID, &detach_request())
        .await
        .unwrap();
    mock.assert_async().await;
}

#[tokio::test]
async fn get_pipeline_permissions() {
    let (server, client) = setup().await;
    let path = format!("/pipelines/{PIPELINE_ID}/permissions");
    let mock = exchange(&server, get(&path), 200, Some(permissions_answer())).await;
    let permissions = client
        .get_pipeline_permissions(PIPELINE_ID)
        .await
        .unwrap()
        .into_inner();
    mock.assert_async().await;
    assert_permissions(&permissions);
}

#[tokio::test]
async fn update_pipeline_permissions_sends_only_what_is_set() {
    let (server, client) = setup().await;
    let path = format!("/pipelines/{PIPELINE_ID}/permissions");
    let request = Permissions {
        everyone: Some(EveryoneRole::Viewer),
        ..Default::default()
    };
    let expect = Expect {
        body: Some(json!({"everyone": "viewer"})),
        ..silent("POST", &path)
    };
    let mock = exchange(&server, expect, 200, None).await;
    client
        .update_pipeline_permissions(PIPELINE_ID, &request)
        .await
        .unwrap();
    mock.assert_async().await;
}

#[tokio::test]
async fn release_pipeline_starts_a_job() {
    let (server, client) = setup().await;
    let path = format!("/pipelines/{PIPELINE_ID}/release");
    let answer = json!({"job_id": JOB_ID, "status": "queued"});
    let mock = exchange(&server, bodiless_post(&path), 200, Some(answer)).await;
    let job = client
        .release_pipeline(PIPELINE_ID)
        .await
        .unwrap()
        .into_inner();
    mock.assert_async().await;
    assert_eq!(job.job_id, JOB_ID);
    assert_eq!(job.status, Some(ReleaseJobStatus::Unknown("queued".into())));
}

#[tokio::test]
async fn get_pipeline_release_job_that_failed() {
    let (server, client) = setup().await;
    let path = format!("/pipelines/{PIPELINE_ID}/release/{JOB_ID}");
    let answer = json!({"job_id": JOB_ID, "status": "failed", "started": 1700000000.25,
                        "duration": 7, "error": "capsule_call_2 is not released",
                        "trace_id": "abc"});
    let mock = exchange(&server, get(&path), 200, Some(answer)).await;
    let job = client
        .get_pipeline_release_job(PIPELINE_ID, JOB_ID)
        .await
        .unwrap()
        .into_inner();
    mock.assert_async().await;
    assert_eq!(job.status, Some(ReleaseJobStatus::Failed));
    assert_eq!(job.started.unwrap().as_secs_f64(), 1700000000.25);
    assert_eq!(job.error.as_deref(), Some("capsule_call_2 is not released"));
    assert_eq!(job.release_capsule, None);
}

#[tokio::test]
async fn sync_pipeline_with_an_empty_answer() {
    let (server, client) = setup().await;
    let path = format!("/pipelines/{PIPELINE_ID}/sync");
    // Servers leave out zero counts and a false `new_branch`.
    let mock = exchange(&server, bodiless_post(&path), 200, Some(json!({}))).await;
    let sync = client
        .sync_pipeline(PIPELINE_ID)
        .await
        .unwrap()
        .into_inner();
    mock.assert_async().await;
    assert_eq!(sync, GitSyncResults::default());
}

// --- computations (cloud workstation sessions) ------------------------------------------------

#[tokio::test]
async fn attach_computation_data_assets() {
    let (server, client) = setup().await;
    let path = format!("/computations/{COMPUTATION_ID}/data_assets");
    let mock = exchange(
        &server,
        post(&path, attach_body()),
        200,
        Some(attach_answer()),
    )
    .await;
    let attached = client
        .attach_computation_data_assets(COMPUTATION_ID, &attach_request())
        .await
        .unwrap()
        .into_inner();
    mock.assert_async().await;
    assert_attached(&attached);
}

#[tokio::test]
async fn detach_computation_data_assets() {
    let (server, client) = setup().await;
    let path = format!("/computations/{COMPUTATION_ID}/data_assets/");
    let expect = Expect {
        body: Some(json!([DATA_ASSET_ID])),
        ..silent("DELETE", &path)
    };
    let mock = exchange(&server, expect, 204, None).await;
    client
        .detach_computation_data_assets(COMPUTATION_ID, &vec![DATA_ASSET_ID.to_string()])
        .await
        .unwrap();
    mock.assert_async().await;
}

// --- data assets ------------------------------------------------------------------------------

#[tokio::test]
async fn search_data_assets_sends_every_filter_and_reads_a_page() {
    let (server, client) = setup().await;
    let request = DataAssetSearchRequest {
        query: Some("tag:genomics".into()),
        limit: Some(1000),
        sort_field: Some(DataAssetSortBy::Size),
        sort_order: Some(SortOrder::Ascending),
        type_: Some(DataAssetType::Combined),
        ownership: Some(Ownership::Created),
        origin: Some(DataAssetSearchOrigin::External),
        favorite: Some(true),
        filters: Some(vec![SearchFilter {
            key: "samples".into(),
            value: Some(CustomMetadataValue::from(5)),
            ..search_filter()
        }]),
        ..Default::default()
    };
    let body = json!({
        "query": "tag:genomics",
        "limit": 1000,
        "sort_field": "size",
        "sort_order": "asc",
        "type": "combined",
        "ownership": "created",
        "origin": "external",
        "favorite": true,
        "filters": [{"key": "samples", "value": 5}]
    });
    let mut asset = data_asset_json("ready");
    asset["type"] = json!("notebook");
    let answer = json!({"has_more": true, "next_token": "n-1", "results": [asset],
                        "total": 9000});
    let mock = exchange(
        &server,
        post("/data_assets/search", body),
        200,
        Some(answer),
    )
    .await;
    let page = client
        .search_data_assets(&request)
        .await
        .unwrap()
        .into_inner();
    mock.assert_async().await;
    assert!(page.has_more);
    assert_eq!(page.next_token.as_deref(), Some("n-1"));
    assert_eq!(page.results[0].id, DATA_ASSET_ID);
    assert_eq!(
        page.results[0].type_,
        Some(DataAssetType::Unknown("notebook".into()))
    );
}

#[tokio::test]
async fn delete_data_asset() {
    let (server, client) = setup().await;
    let path = format!("/data_assets/{DATA_ASSET_ID}");
    let mock = exchange(&server, silent("DELETE", &path), 204, None).await;
    client.delete_data_asset(DATA_ASSET_ID).await.unwrap();
    mock.assert_async().await;
}

#[tokio::test]
async fn archive_data_asset() {
    let (server, client) = setup().await;
    let path = format!("/data_assets/{DATA_ASSET_ID}/archive");
    let expect = Expect {
        query: Some("archive=true"),
        ..silent("PATCH", &path)
    };
    let mock = exchange(&server, expect, 200, None).await;
    client
        .archive_data_asset(DATA_ASSET_ID, true)
        .await
        .unwrap();
    mock.assert_async().await;
}

#[tokio::test]
async fn list_data_asset_files() {
    let (server, client) = setup().await;
    let path = format!("/data_assets/{DATA_ASSET_ID}/files");
    let expect = post(&path, json!({"path": ""}));
    let answer = json!({"items": [
        {"name": "genome.fa", "path": "genome.fa", "size": 3100000000u64, "type": "file",
         "modified": 1700000000},
        {"name": "index", "path": "index", "type": "folder"}
    ]});
    let mock = exchange(&server, expect, 200, Some(answer)).await;
    let folder = client
        .list_data_asset_files(DATA_ASSET_ID, &ListResultsRequest { path: "".into() })
        .await
        .unwrap()
        .into_inner();
    mock.assert_async().await;
    assert_eq!(folder.items[0].size, Some(3_100_000_000));
    assert_eq!(folder.items[0].type_, ResultItemType::File);
    assert_eq!(folder.items[1].path, "index");
    assert_eq!(folder.items[1].type_, ResultItemType::Folder);
}

#[tokio::test]
async fn get_data_asset_file_urls() {
    let (server, client) = setup().await;
    let path = format!("/data_assets/{DATA_ASSET_ID}/files/urls");
    let expect = Expect {
        query: Some(RESULT_QUERY),
        ..get(&path)
    };
    let answer = json!({"download_url": "https://s3.example/d?X-Amz-Signature=a",
                        "view_url": "https://s3.example/v?X-Amz-Signature=b",
                        "expires_in": 3600});
    let mock = exchange(&server, expect, 200, Some(answer)).await;
    let urls = client
        .get_data_asset_file_urls(DATA_ASSET_ID, RESULT_PATH)
        .await
        .unwrap()
        .into_inner();
    mock.assert_async().await;
    assert_eq!(urls.download_url, "https://s3.example/d?X-Amz-Signature=a");
    assert_eq!(urls.view_url, "https://s3.example/v?X-Amz-Signature=b");
}

#[tokio::test]
async fn get_data_asset_file_download_url() {
    let (server, client) = setup().await;
    let path = format!("/data_assets/{DATA_ASSET_ID}/files/download_url");
    let expect = Expect {
        query: Some(RESULT_QUERY),
        ..get(&path)
    };
    let answer = json!({"url": "https://s3.example/d?X-Amz-Expires=3600", "deprecated": true});
    let mock = exchange(&server, expect, 200, Some(answer)).await;
    let url = client
        .get_data_asset_file_download_url(DATA_ASSET_ID, RESULT_PATH)
        .await
        .unwrap()
        .into_inner();
    mock.assert_async().await;
    assert_eq!(url.url, "https://s3.example/d?X-Amz-Expires=3600");
}

#[tokio::test]
async fn get_data_asset_permissions() {
    let (server, client) = setup().await;
    let path = format!("/data_assets/{DATA_ASSET_ID}/permissions");
    let mock = exchange(&server, get(&path), 200, Some(permissions_answer())).await;
    let permissions = client
        .get_data_asset_permissions(DATA_ASSET_ID)
        .await
        .unwrap()
        .into_inner();
    mock.assert_async().await;
    assert_permissions(&permissions);
}

#[tokio::test]
async fn update_data_asset_permissions() {
    let (server, client) = setup().await;
    let path = format!("/data_assets/{DATA_ASSET_ID}/permissions");
    let expect = Expect {
        body: Some(permissions_body()),
        ..silent("POST", &path)
    };
    let mock = exchange(&server, expect, 200, None).await;
    client
        .update_data_asset_permissions(DATA_ASSET_ID, &permissions_request())
        .await
        .unwrap();
    mock.assert_async().await;
}

#[tokio::test]
async fn transfer_data_asset() {
    let (server, client) = setup().await;
    let path = format!("/data_assets/{DATA_ASSET_ID}/transfer");
    let request = TransferDataAssetRequest {
        target: DataAssetTarget {
            aws: Some(AwsS3Target {
                bucket: "lab-archive".into(),
                prefix: Some("2026/cohort".into()),
                endpoint_name: None,
            }),
        },
        force: Some(true),
    };
    let expect = Expect {
        body: Some(json!({
            "target": {"aws": {"bucket": "lab-archive", "prefix": "2026/cohort"}},
            "force": true
        })),
        ..silent("POST", &path)
    };
    let mock = exchange(&server, expect, 202, None).await;
    let accepted = client
        .transfer_data_asset(DATA_ASSET_ID, &request)
        .await
        .unwrap();
    mock.assert_async().await;
    assert_eq!(accepted.status().as_u16(), 202);
}

// --- custom metadata --------------------------------------------------------------------------

#[tokio::test]
async fn get_custom_metadata() {
    let (server, client) = setup().await;
    let answer = json!({
        "categories": ["Study", "Lab"],
        "fields": [
            {"name": "study", "type": "string", "allowed_values": ["X-1", "X-2"],
             "category": "Study", "required": true},
            {"name": "samples", "type": "number", "range": {"min": 1, "max": 96.5},
             "units": "wells", "multiple": false},
            {"name": "collected", "type": "date"},
            {"name": "reviewed", "type": "boolean", "allowed_values": [0, 1],
             "editable_by": "admins"}
        ],
        "version": 4
    });
    let mock = exchange(&server, get("/custom_metadata"), 200, Some(answer)).await;
    let schema = client.get_custom_metadata().await.unwrap().into_inner();
    mock.assert_async().await;
    assert_eq!(schema.categories, ["Study", "Lab"]);
    let [study, samples, collected, reviewed] = &schema.fields[..] else {
        panic!("four fields expected: {:?}", schema.fields)
    };
    assert_eq!(study.type_, Some(CustomMetadataFieldType::String));
    assert_eq!(
        study.allowed_values,
        [CustomMetadataValue::from("X-1"), "X-2".into()]
    );
    assert_eq!(study.required, Some(true));
    let range = samples.range.as_ref().unwrap();
    assert_eq!((range.min, range.max), (Some(1.0), Some(96.5)));
    assert_eq!(samples.units.as_deref(), Some("wells"));
    assert_eq!(collected.type_, Some(CustomMetadataFieldType::Date));
    assert_eq!(
        reviewed.type_,
        Some(CustomMetadataFieldType::Unknown("boolean".into()))
    );
    assert_eq!(
        reviewed.allowed_values,
        [CustomMetadataValue::from(0), 1.into()]
    );
}
