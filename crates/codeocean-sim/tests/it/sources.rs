//! Data assets from every source: S3 and GCS buckets of the catalogue (kept on external storage
//! or copied), cloud workstation sessions, combined assets, imported results (`results_info`)
//! and target buckets; created, waited for, listed and downloaded; and the 400s that name the
//! bucket, prefix or field.

use std::collections::BTreeMap;
use std::time::Duration;

use codeocean_raw::open::{DataAssetOrigin, DataAssetState, DataAssetType};
use codeocean_raw::types;
use serde_json::{Value, json};

use crate::assets::walk;
use crate::*;

/// Simulated time past the asset delay (5 s by default).
const SETTLED: Duration = Duration::from_secs(6);

/// Creates a data asset; the answer, parsed as the raw crate's strict type.
async fn create(api: &Api, body: Value) -> types::DataAsset {
    let r = api.post("/data_assets", body).await;
    r.expect(200);
    assert_fields(&r.json(), DATA_ASSET_FIELDS);
    serde_json::from_slice(&r.body).unwrap()
}

/// A create that must be refused with 400; its message, which must name every one of `names`.
async fn refused(api: &Api, body: Value, names: &[&str]) -> String {
    let r = api.post("/data_assets", body).await;
    r.expect(400);
    let m = r.message();
    for n in names {
        assert!(m.contains(n), "`{n}` not in {m:?}");
    }
    m
}

/// A body with a name, a mount and `extra`.
fn body(mount: &str, extra: Value) -> Value {
    let mut b = json!({"name": format!("asset {mount}"), "mount": mount, "tags": ["t"]});
    b.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    b
}

/// Downloads every file of an asset through `files/urls`: path → bytes.
async fn download_all(
    client: &codeocean_raw::Client,
    id: &str,
    files: &[(String, i64)],
) -> BTreeMap<String, Vec<u8>> {
    let storage = reqwest::Client::new();
    let mut out = BTreeMap::new();
    for (path, size) in files {
        let urls = client
            .get_data_asset_file_urls(id, path)
            .await
            .unwrap()
            .into_inner();
        let r = send(storage.get(&urls.download_url)).await;
        r.expect(200);
        assert_eq!(r.body.len() as i64, *size, "{path}");
        out.insert(path.clone(), r.body.to_vec());
    }
    out
}

async fn state(client: &codeocean_raw::Client, id: &str) -> types::DataAsset {
    client.get_data_asset(id).await.unwrap().into_inner()
}

#[tokio::test]
async fn an_s3_prefix_kept_on_external_storage_lists_and_serves_the_bucket_objects() {
    let sim = start();
    let api = Api::new(&sim);
    let client = raw_client(&sim);
    let made = create(
        &api,
        body(
            "raw",
            json!({"source": {"aws": {"bucket": "sim-s3-data", "prefix": "raw/",
                "keep_on_external_storage": true, "endpoint_name": "default"}}}),
        ),
    )
    .await;
    assert_eq!(made.state, Some(DataAssetState::Draft));
    assert_eq!(made.type_, Some(DataAssetType::Dataset));
    assert_eq!(
        made.source_bucket,
        Some(types::SourceBucket {
            origin: Some(DataAssetOrigin::Aws),
            bucket: Some("sim-s3-data".into()),
            prefix: Some("raw/".into()),
            external: Some(true),
        })
    );
    // A draft lists an empty root.
    assert!(walk(&client, &made.id).await.is_empty());
    sim.advance(SETTLED);
    let ready = state(&client, &made.id).await;
    assert_eq!(ready.state, Some(DataAssetState::Ready));
    let files = walk(&client, &made.id).await;
    let paths: Vec<&str> = files.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(
        paths,
        [
            "README.md",
            "sample-1/meta/info.json",
            "sample-1/reads.fastq",
            "sample-2/meta/info.json",
            "sample-2/reads.fastq",
        ]
    );
    assert_eq!(ready.files, Some(files.len() as i64));
    assert_eq!(ready.size, Some(files.iter().map(|f| f.1).sum()));
    let bytes = download_all(&client, &made.id, &files).await;
    for (path, body) in &bytes {
        let want = sim
            .bucket_content("sim-s3-data", &format!("raw/{path}"))
            .unwrap();
        assert_eq!(body, &want.read(0, u64::MAX), "{path}");
        assert_eq!(
            sim.data_asset_content(&made.id, path)
                .unwrap()
                .read(0, u64::MAX),
            *body
        );
    }
    // The same folder without the trailing slash, and the whole bucket without a prefix.
    let same = create(
        &api,
        body(
            "raw2",
            json!({"source": {"aws": {"bucket": "sim-s3-data", "prefix": "raw"}}}),
        ),
    )
    .await;
    assert_eq!(same.files, ready.files);
    assert_eq!(same.source_bucket.as_ref().unwrap().external, Some(false));
    let whole = create(
        &api,
        body("all", json!({"source": {"aws": {"bucket": "sim-s3-data"}}})),
    )
    .await;
    sim.advance(SETTLED);
    let all = walk(&client, &whole.id).await;
    assert!(
        all.iter().any(|(p, _)| p == "reference/genome.fa"),
        "{all:?}"
    );
    assert!(all.iter().any(|(p, _)| p == "raw/sample-1/reads.fastq"));
    // A public bucket read without credentials.
    let open = create(
        &api,
        body(
            "open",
            json!({"source": {"aws": {"bucket": "sim-s3-open", "prefix": "shared/docs", "public": true}}}),
        ),
    )
    .await;
    sim.advance(SETTLED);
    assert_eq!(
        walk(&client, &open.id).await,
        [("notes.txt".to_owned(), 777)]
    );
    // External assets count as external in searches.
    let external = api
        .post(
            "/data_assets/search",
            json!({"origin": "external", "limit": 100}),
        )
        .await;
    external.expect(200);
    let ids: Vec<String> = external.json()["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap().to_owned())
        .collect();
    assert!(ids.contains(&made.id) && !ids.contains(&same.id), "{ids:?}");
}

#[tokio::test]
async fn a_gcs_asset_needs_both_credentials_and_the_secret_is_never_echoed() {
    const SECRET: &str = "gcs-secret-do-not-echo-8d1f";
    let sim = start();
    let api = Api::new(&sim);
    let client = raw_client(&sim);
    let gcs = |extra: Value| {
        let mut src = json!({"bucket": "sim-gcs-data", "prefix": "images"});
        src.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        body("images", json!({"source": {"gcp": src}}))
    };
    refused(
        &api,
        gcs(json!({})),
        &["source.gcp.client_id", "sim-gcs-data"],
    )
    .await;
    let m = refused(
        &api,
        gcs(json!({"client_id": "id-1", "client_secret": ""})),
        &["source.gcp.client_secret"],
    )
    .await;
    assert!(!m.contains(SECRET));
    let m = refused(
        &api,
        gcs(json!({"client_secret": SECRET})),
        &["source.gcp.client_id"],
    )
    .await;
    assert!(!m.contains(SECRET), "{m}");
    // A secret of the wrong type: the message names the field, not the value.
    let r = api
        .post(
            "/data_assets",
            gcs(json!({"client_id": "id-1", "client_secret": 918_273_645})),
        )
        .await;
    r.expect(400);
    assert!(r.message().contains("client_secret"), "{}", r.message());
    assert!(!r.message().contains("918273645"), "{}", r.message());

    let ok = api
        .post(
            "/data_assets",
            gcs(json!({"client_id": "id-1", "client_secret": SECRET})),
        )
        .await;
    ok.expect(200);
    assert!(!String::from_utf8_lossy(&ok.body).contains(SECRET));
    let made: types::DataAsset = serde_json::from_slice(&ok.body).unwrap();
    assert_eq!(
        made.source_bucket,
        Some(types::SourceBucket {
            origin: Some(DataAssetOrigin::Gcp),
            bucket: Some("sim-gcs-data".into()),
            prefix: Some("images".into()),
            external: Some(false),
        })
    );
    sim.advance(SETTLED);
    let got = api.get(&format!("/data_assets/{}", made.id)).await;
    got.expect(200);
    assert!(!String::from_utf8_lossy(&got.body).contains(SECRET));
    let files = walk(&client, &made.id).await;
    assert_eq!(
        files.iter().map(|f| f.0.as_str()).collect::<Vec<_>>(),
        ["2024/01/a.tif", "2024/02/b.tif", "index.csv"]
    );
    let bytes = download_all(&client, &made.id, &files).await;
    let want = sim
        .bucket_content("sim-gcs-data", "images/2024/02/b.tif")
        .unwrap();
    assert_eq!(bytes["2024/02/b.tif"], want.read(0, u64::MAX));
    let log = serde_json::to_string(&sim.requests()).unwrap();
    assert!(!log.contains(SECRET));
    let admin = send(reqwest::Client::new().get(format!("{}/__sim/requests", sim.origin()))).await;
    assert!(!String::from_utf8_lossy(&admin.body).contains(SECRET));
}

#[tokio::test]
async fn refusals_name_the_bucket_the_prefix_or_the_field() {
    let sim = start();
    let api = Api::new(&sim);
    let aws = |src: Value| body("m", json!({"source": {"aws": src}}));
    refused(
        &api,
        aws(json!({"bucket": "no-such-bucket"})),
        &["source.aws.bucket", "bucket `no-such-bucket` not found"],
    )
    .await;
    // A GCS bucket is not an S3 bucket.
    refused(
        &api,
        aws(json!({"bucket": "sim-gcs-data"})),
        &["source.aws.bucket", "sim-gcs-data"],
    )
    .await;
    refused(
        &api,
        body("m", json!({"source": {"gcp": {"bucket": "sim-s3-data", "client_id": "a", "client_secret": "b"}}})),
        &["source.gcp.bucket", "sim-s3-data"],
    )
    .await;
    refused(
        &api,
        aws(json!({"bucket": "sim-s3-data", "prefix": "raw/sample-9"})),
        &["source.aws.prefix", "raw/sample-9", "sim-s3-data"],
    )
    .await;
    refused(
        &api,
        aws(json!({"bucket": "sim-s3-data", "prefix": "raw/README.md"})),
        &["source.aws.prefix", "raw/README.md", "not a folder"],
    )
    .await;
    refused(
        &api,
        aws(json!({"bucket": "sim-s3-results"})),
        &["source.aws.bucket", "sim-s3-results", "no objects"],
    )
    .await;
    refused(
        &api,
        aws(json!({"bucket": "sim-s3-data", "public": true})),
        &["source.aws.public", "sim-s3-data"],
    )
    .await;
    refused(
        &api,
        aws(json!({"bucket": "sim-s3-data", "use_input_bucket": true})),
        &["source.aws.use_input_bucket"],
    )
    .await;
    refused(&api, aws(json!({"bucket": " "})), &["source.aws.bucket"]).await;
    refused(
        &api,
        body(
            "m",
            json!({"source": {"aws": {"bucket": "sim-s3-data"}, "gcp": {"bucket": "sim-gcs-data"}}}),
        ),
        &["source", "aws, gcp"],
    )
    .await;
    refused(&api, body("m", json!({})), &["source", "data_asset_ids"]).await;
    refused(&api, body("m", json!({"source": {}})), &["source", "none"]).await;
    refused(
        &api,
        body(
            "m",
            json!({"source": {"aws": {"bucket": "sim-s3-data"}}, "data_asset_ids": [INPUT]}),
        ),
        &["data_asset_ids", "source"],
    )
    .await;
    refused(
        &api,
        body(
            "m",
            json!({"source": {"aws": {"bucket": "sim-s3-data"}},
                   "target": {"aws": {"bucket": "no-such-target"}}}),
        ),
        &["target.aws.bucket", "no-such-target"],
    )
    .await;
    refused(
        &api,
        body(
            "m",
            json!({"source": {"aws": {"bucket": "sim-s3-data"}},
                   "target": {"aws": {"bucket": "sim-gcs-data"}}}),
        ),
        &["target.aws.bucket", "sim-gcs-data"],
    )
    .await;
    refused(
        &api,
        body(
            "m",
            json!({"source": {"aws": {"bucket": "sim-s3-data", "keep_on_external_storage": true}},
                   "target": {"aws": {"bucket": "sim-s3-results"}}}),
        ),
        &["target", "keep_on_external_storage"],
    )
    .await;
    refused(
        &api,
        body(
            "m",
            json!({"source": {"aws": {"bucket": "sim-s3-data"}}, "target": {}}),
        ),
        &["target.aws"],
    )
    .await;
    // Nothing was made.
    let all = api.post("/data_assets/search", json!({"limit": 100})).await;
    assert_eq!(all.json()["results"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_combined_asset_holds_a_folder_per_part_with_its_files() {
    let sim = start();
    let api = Api::new(&sim);
    let client = raw_client(&sim);
    let s3 = create(
        &api,
        body(
            "samples",
            json!({"source": {"aws": {"bucket": "sim-s3-data", "prefix": "raw"}}}),
        ),
    )
    .await;
    let gcs = create(
        &api,
        body(
            "images",
            json!({"source": {"gcp": {"bucket": "sim-gcs-data", "prefix": "images/2024",
                "client_id": "i", "client_secret": "s"}}}),
        ),
    )
    .await;
    // Parts must be ready.
    refused(
        &api,
        body("both", json!({"data_asset_ids": [INPUT, s3.id]})),
        &["data_asset_ids[1]", &s3.id, "not ready"],
    )
    .await;
    sim.advance(SETTLED);
    let made = create(
        &api,
        body("both", json!({"data_asset_ids": [INPUT, s3.id, gcs.id]})),
    )
    .await;
    assert_eq!(made.type_, Some(DataAssetType::Combined));
    assert_eq!(made.state, Some(DataAssetState::Draft));
    let part_size = |a: &types::DataAsset| a.size;
    let input = state(&client, INPUT).await;
    let s3 = state(&client, &s3.id).await;
    let gcs = state(&client, &gcs.id).await;
    let contained: Vec<(Option<&str>, Option<&str>, Option<i64>)> = made
        .contained_data_assets
        .iter()
        .map(|c| (c.id.as_deref(), c.mount.as_deref(), c.size))
        .collect();
    assert_eq!(
        contained,
        [
            (Some(INPUT), Some("reference"), part_size(&input)),
            (Some(s3.id.as_str()), Some("samples"), part_size(&s3)),
            (Some(gcs.id.as_str()), Some("images"), part_size(&gcs)),
        ]
    );
    assert_eq!(
        made.size,
        Some(input.size.unwrap() + s3.size.unwrap() + gcs.size.unwrap())
    );
    sim.advance(SETTLED);
    let root = client
        .list_data_asset_files(&made.id, &types::ListResultsRequest { path: "".into() })
        .await
        .unwrap()
        .into_inner()
        .items;
    let names: Vec<(&str, bool)> = root.iter().map(|i| (i.path.as_str(), i.is_dir())).collect();
    assert_eq!(
        names,
        [("reference", true), ("samples", true), ("images", true)]
    );
    let files = walk(&client, &made.id).await;
    assert_eq!(files.len() as i64, made.files.unwrap());
    let mut want = Vec::new();
    for (mount, part) in [
        ("reference", INPUT),
        ("samples", &s3.id),
        ("images", &gcs.id),
    ] {
        for (p, size) in walk(&client, part).await {
            want.push((format!("{mount}/{p}"), size));
        }
    }
    want.sort();
    assert_eq!(files, want);
    let bytes = download_all(&client, &made.id, &files).await;
    assert_eq!(
        bytes["samples/sample-2/reads.fastq"],
        sim.bucket_content("sim-s3-data", "raw/sample-2/reads.fastq")
            .unwrap()
            .read(0, u64::MAX)
    );
    assert_eq!(
        bytes["reference/genome/GRCh38.fa"],
        sim.data_asset_content(INPUT, "genome/GRCh38.fa")
            .unwrap()
            .read(0, u64::MAX)
    );
    assert_eq!(
        bytes["images/02/b.tif"],
        sim.data_asset_content(&gcs.id, "02/b.tif")
            .unwrap()
            .read(0, u64::MAX)
    );
    // A folder of a part is listed with the combined asset's paths.
    let inner = client
        .list_data_asset_files(
            &made.id,
            &types::ListResultsRequest {
                path: "samples/sample-1".into(),
            },
        )
        .await
        .unwrap()
        .into_inner()
        .items;
    let paths: Vec<&str> = inner.iter().map(|i| i.path.as_str()).collect();
    assert_eq!(
        paths,
        ["samples/sample-1/meta", "samples/sample-1/reads.fastq"]
    );

    refused(
        &api,
        body("x", json!({"data_asset_ids": []})),
        &["data_asset_ids"],
    )
    .await;
    refused(
        &api,
        body("x", json!({"data_asset_ids": [INPUT, "no-such-asset"]})),
        &["data_asset_ids[1]", "no-such-asset", "not found"],
    )
    .await;
    refused(
        &api,
        body("x", json!({"data_asset_ids": [INPUT, INPUT]})),
        &["data_asset_ids[1]", INPUT, "twice"],
    )
    .await;
    let twin = create(
        &api,
        body(
            "reference",
            json!({"source": {"aws": {"bucket": "sim-s3-open"}}}),
        ),
    )
    .await;
    sim.advance(SETTLED);
    refused(
        &api,
        body("x", json!({"data_asset_ids": [INPUT, twin.id]})),
        &["data_asset_ids[1]", "`reference`", INPUT],
    )
    .await;
    refused(
        &api,
        body(
            "x",
            json!({"data_asset_ids": [INPUT], "target": {"aws": {"bucket": "sim-s3-results"}}}),
        ),
        &["target"],
    )
    .await;
}

#[tokio::test]
async fn a_target_bucket_records_the_files_written_to_it_once_the_asset_is_ready() {
    let sim = start();
    let api = Api::new(&sim);
    let client = raw_client(&sim);
    let admin = reqwest::Client::new();
    let bucket =
        async |name: &str| send(admin.get(format!("{}/__sim/buckets/{name}", sim.origin()))).await;
    let before = bucket("sim-s3-results").await;
    before.expect(200);
    assert_eq!(
        before.json(),
        json!({"name": "sim-s3-results", "provider": "aws", "objects": []})
    );
    let data = bucket("sim-s3-data").await.json();
    assert_eq!(data["objects"].as_array().unwrap().len(), 7, "{data}");
    assert_eq!(
        data["objects"][0],
        json!({"path": "raw/README.md", "size": 2345})
    );
    let missing = bucket("no-such-bucket").await;
    missing.expect(404);
    assert!(missing.message().contains("no-such-bucket"));

    let run = api.finished_run(&sim, HELLO).await;
    let made = create(
        &api,
        body(
            "kept",
            json!({"source": {"computation": {"id": run, "path": "tables"}},
                   "target": {"aws": {"bucket": "sim-s3-results", "prefix": "runs/1/"}}}),
        ),
    )
    .await;
    assert_eq!(made.type_, Some(DataAssetType::Result));
    assert_eq!(
        made.source_bucket,
        Some(types::SourceBucket {
            origin: Some(DataAssetOrigin::Aws),
            bucket: Some("sim-s3-results".into()),
            prefix: Some("runs/1/".into()),
            external: Some(true),
        })
    );
    // Written when the asset is ready, not before.
    assert_eq!(bucket("sim-s3-results").await.json()["objects"], json!([]));
    sim.advance(SETTLED);
    let objects = bucket("sim-s3-results").await.json()["objects"].clone();
    assert_eq!(
        objects,
        json!([
            {"path": "runs/1/counts.csv", "size": 20480},
            {"path": "runs/1/per-sample/s1.csv", "size": 4096},
            {"path": "runs/1/per-sample/s2.csv", "size": 4097},
        ])
    );
    assert_eq!(
        sim.bucket_objects("sim-s3-results").unwrap(),
        [
            ("runs/1/counts.csv".to_owned(), 20_480),
            ("runs/1/per-sample/s1.csv".to_owned(), 4_096),
            ("runs/1/per-sample/s2.csv".to_owned(), 4_097),
        ]
    );
    assert_eq!(sim.bucket_objects("no-such-bucket"), None);
    // The asset lists and serves them, with its computation's bytes.
    let files = walk(&client, &made.id).await;
    let bytes = download_all(&client, &made.id, &files).await;
    assert_eq!(
        bytes["per-sample/s2.csv"],
        sim.result_content(&run, "tables/per-sample/s2.csv")
            .unwrap()
            .read(0, u64::MAX)
    );
    // A transfer into a bucket of the catalogue is recorded too.
    api.post(
        &format!("/data_assets/{INPUT}/transfer"),
        json!({"target": {"aws": {"bucket": "sim-s3-results", "prefix": "moved"}}}),
    )
    .await
    .expect(204);
    sim.advance(SETTLED);
    let objects = sim.bucket_objects("sim-s3-results").unwrap();
    assert_eq!(objects.len(), 3 + 8, "{objects:?}");
    assert!(objects.contains(&("moved/genome/chromosomes/chrX.fa".to_owned(), 40_000)));
}

#[tokio::test]
async fn a_cloud_workstation_asset_takes_a_folder_of_the_session() {
    let sim = start();
    let api = Api::new(&sim);
    let client = raw_client(&sim);
    let session = sim.start_cloud_workstation(HELLO).unwrap();
    let made = create(
        &api,
        body(
            "ws",
            json!({"source": {"cloud_workstation": {"id": session, "path": "/root/capsule/results"}}}),
        ),
    )
    .await;
    assert_eq!(made.type_, Some(DataAssetType::Dataset));
    assert_eq!(made.provenance, None);
    sim.advance(SETTLED);
    let files = walk(&client, &made.id).await;
    // The session's results/ holds what a run of its capsule writes, with the same bytes.
    let run = api.finished_run(&sim, HELLO).await;
    let bytes = download_all(&client, &made.id, &files).await;
    assert_eq!(files.len(), 7, "{files:?}");
    for (path, body) in &bytes {
        assert_eq!(
            body,
            &sim.result_content(&run, path).unwrap().read(0, u64::MAX),
            "{path}"
        );
    }
    let code = create(
        &api,
        body(
            "code",
            json!({"source": {"cloud_workstation": {"id": session, "path": "code", "run_script": "code/run"}}}),
        ),
    )
    .await;
    assert_eq!(code.type_, Some(DataAssetType::Result));
    let prov = code.provenance.unwrap();
    assert_eq!(prov.capsule.as_deref(), Some(HELLO));
    assert_eq!(prov.computation.as_deref(), Some(session.as_str()));
    assert_eq!(prov.run_script.as_deref(), Some("code/run"));
    sim.advance(SETTLED);
    assert_eq!(
        walk(&client, &code.id).await,
        [
            ("README.md".to_owned(), 640),
            ("main.py".to_owned(), 2_048),
            ("run".to_owned(), 256)
        ]
    );
    let whole = create(
        &api,
        body(
            "all",
            json!({"source": {"cloud_workstation": {"id": session, "path": "/"}}}),
        ),
    )
    .await;
    assert_eq!(whole.files, Some(7 + 3 + 2));

    let ws = |id: &str, path: &str| {
        body(
            "x",
            json!({"source": {"cloud_workstation": {"id": id, "path": path}}}),
        )
    };
    refused(
        &api,
        ws("no-such-session", "code"),
        &["source.cloud_workstation.id", "no-such-session"],
    )
    .await;
    refused(
        &api,
        ws(&run, "code"),
        &[
            "source.cloud_workstation.id",
            &run,
            "not a cloud workstation",
        ],
    )
    .await;
    refused(
        &api,
        ws(&session, "nowhere"),
        &["source.cloud_workstation.path", "nowhere"],
    )
    .await;
    refused(
        &api,
        ws(&session, "code/run"),
        &["source.cloud_workstation.path", "code/run"],
    )
    .await;
    // A session is not a computation source, and an ended session is no source at all.
    refused(
        &api,
        body("x", json!({"source": {"computation": {"id": session}}})),
        &["source.computation.id", &session],
    )
    .await;
    assert!(sim.stop_computation(&session));
    refused(
        &api,
        ws(&session, "code"),
        &["source.cloud_workstation.id", "ended"],
    )
    .await;
}

#[tokio::test]
async fn imported_results_are_result_assets_with_the_provenance_given() {
    let sim = start();
    let api = Api::new(&sim);
    let made = create(
        &api,
        body(
            "imported",
            json!({
                "source": {"aws": {"bucket": "sim-s3-data", "prefix": "reference"}},
                "results_info": {
                    "capsule_id": HELLO, "version": 2, "commit": "abc123",
                    "run_script": "code/run", "data_assets": [INPUT],
                    "parameters": [{"param_name": "greeting", "value": "hi"}],
                },
            }),
        ),
    )
    .await;
    assert_eq!(made.type_, Some(DataAssetType::Result));
    assert_eq!(
        made.provenance,
        Some(types::Provenance {
            capsule: Some(HELLO.into()),
            commit: Some("abc123".into()),
            computation: None,
            data_assets: vec![INPUT.into()],
            docker_image: None,
            run_script: Some("code/run".into()),
        })
    );
    assert_eq!(made.app_parameters.len(), 1);
    assert_eq!(made.app_parameters[0].name.as_deref(), Some("greeting"));
    let pipeline = create(
        &api,
        body(
            "imported-pipeline",
            json!({
                "source": {"gcp": {"bucket": "sim-gcs-data", "client_id": "i", "client_secret": "s"}},
                "results_info": {"pipeline_id": PIPELINE, "nextflow_profile": "local"},
            }),
        ),
    )
    .await;
    assert_eq!(pipeline.nextflow_profile.as_deref(), Some("local"));
    assert_eq!(
        pipeline.provenance.unwrap().capsule.as_deref(),
        Some(PIPELINE)
    );
    let with = |info: Value| {
        body(
            "x",
            json!({"source": {"aws": {"bucket": "sim-s3-data"}}, "results_info": info}),
        )
    };
    refused(&api, with(json!({})), &["results_info", "capsule_id"]).await;
    refused(
        &api,
        with(json!({"capsule_id": HELLO, "pipeline_id": PIPELINE})),
        &["results_info"],
    )
    .await;
    refused(
        &api,
        with(json!({"capsule_id": "no-such-capsule"})),
        &["results_info.capsule_id", "no-such-capsule"],
    )
    .await;
    refused(
        &api,
        with(json!({"pipeline_id": HELLO})),
        &["results_info.pipeline_id", HELLO],
    )
    .await;
    refused(
        &api,
        with(json!({"capsule_id": HELLO, "version": 9})),
        &["results_info.version", "9"],
    )
    .await;
    let run = api.finished_run(&sim, HELLO).await;
    refused(
        &api,
        body(
            "x",
            json!({"source": {"computation": {"id": run}}, "results_info": {"capsule_id": HELLO}}),
        ),
        &["results_info", "source.aws"],
    )
    .await;
}

#[test]
fn print_builtin_shows_the_buckets_and_a_fixture_with_buckets_is_read() {
    use codeocean_sim::catalogue::{Catalogue, Provider};
    let yaml = codeocean_sim::cli::Args::builtin_yaml();
    for name in [
        "sim-s3-data",
        "sim-s3-open",
        "sim-gcs-data",
        "sim-s3-results",
    ] {
        assert!(yaml.contains(name), "{name} not in --print-builtin");
    }
    // What --print-builtin prints reads back as a fixture.
    let dir = std::env::temp_dir().join(format!("codeocean-sim-buckets-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("builtin.yaml");
    std::fs::write(&path, &yaml).unwrap();
    let back = Catalogue::from_file(&path).unwrap();
    assert_eq!(back.buckets.len(), 4);
    let fixture = r#"
buckets:
  - provider: gcp
    name: lab-images
    public: true
    files:
      - {path: b/two.txt, size: 2}
      - {path: a/one.txt, size: 1}
    generate: {depth: 1, folders: 2, files: 1, size: 10}
"#;
    let path = dir.join("fixture.yaml");
    std::fs::write(&path, fixture).unwrap();
    let c = Catalogue::from_file(&path).unwrap();
    assert_eq!(c.buckets[0].provider, Provider::Gcp);
    let flat = c.buckets[0].flatten().unwrap();
    assert_eq!(flat.totals(), (2 + 3, 3 + 30));
    // Unknown fields stay refused; bad keys and duplicate names are named.
    for (bad, says) in [
        ("buckets: [{provider: aws, name: x, colour: red}]", "colour"),
        ("buckets: [{provider: azure, name: x}]", "azure"),
        (
            "buckets: [{provider: aws, name: x, files: [{path: 'a//b', size: 1}]}]",
            "a//b",
        ),
        (
            "buckets: [{provider: aws, name: x, files: [{path: 'a', size: 1}, {path: 'a/b', size: 1}]}]",
            "`a`",
        ),
        (
            "buckets: [{provider: aws, name: x}, {provider: gcp, name: x}]",
            "duplicate bucket x",
        ),
    ] {
        std::fs::write(&path, bad).unwrap();
        let e = Catalogue::from_file(&path).unwrap_err();
        assert!(e.contains(says), "{bad}: {e}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn a_fixture_bucket_with_a_generated_tree_serves_it_without_copying() {
    use codeocean_sim::catalogue::{Bucket, Catalogue, Generated, Provider};
    let catalogue = Catalogue {
        buckets: vec![Bucket {
            provider: Provider::Aws,
            name: "big".into(),
            public: true,
            files: vec![],
            generate: Some(Generated {
                depth: 3,
                folders: 4,
                files: 10,
                size: 100,
            }),
        }],
        ..Catalogue::builtin()
    };
    let sim = start_with(|c| c.catalogue = Some(catalogue));
    let api = Api::new(&sim);
    let client = raw_client(&sim);
    let made = create(
        &api,
        body(
            "big",
            json!({"source": {"aws": {"bucket": "big", "prefix": "dir-001/dir-002"}}}),
        ),
    )
    .await;
    // 1 + 4 folders below dir-001/dir-002, 10 files each.
    assert_eq!((made.files, made.size), (Some(50), Some(5_000)));
    sim.advance(SETTLED);
    let files = walk(&client, &made.id).await;
    assert_eq!(files.len(), 50);
    let bytes = download_all(&client, &made.id, &files[..2]).await;
    let (path, body) = bytes.iter().next().unwrap();
    assert_eq!(
        *body,
        sim.bucket_content("big", &format!("dir-001/dir-002/{path}"))
            .unwrap()
            .read(0, u64::MAX)
    );
}
