//! One test per operation: the exact request, and the decoding of a realistic answer.

use codeocean_raw::open::{
    CapsuleStatus, ComputationEndStatus, ComputationState, CustomMetadataValue, DataAssetState,
    DataAssetType, ResultItemType, Timestamp,
};
use codeocean_raw::types::{
    ComputationSource, CreateDataAssetRequest, CustomMetadata, DataAssetSource, ListResultsRequest,
    NamedParameter, ProcessParameters, RunDataAsset, RunRequest, UpdateDataAssetRequest,
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
