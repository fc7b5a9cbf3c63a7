//! Data asset files (listings, signed URLs on both API generations, bytes), delete,
//! permissions, transfer and the custom metadata schema, through the raw client.

use codeocean_raw::open::{
    CustomMetadataFieldType, DataAssetOrigin, DataAssetState, EveryoneRole, GroupRole,
    ResultItemType, UserRole,
};
use codeocean_raw::types::{
    AwsS3Target, DataAssetTarget, GroupPermissions, ListResultsRequest, Permissions,
    TransferDataAssetRequest, UserPermissions,
};
use codeocean_sim::ApiGeneration;
use serde_json::json;

use crate::*;

fn listing(path: &str) -> ListResultsRequest {
    ListResultsRequest { path: path.into() }
}

/// Every file of a data asset, walking one folder at a time: (path, size).
pub(crate) async fn walk(client: &codeocean_raw::Client, id: &str) -> Vec<(String, i64)> {
    let mut files = Vec::new();
    let mut pending = vec![String::new()];
    while let Some(folder) = pending.pop() {
        let items = client
            .list_data_asset_files(id, &listing(&folder))
            .await
            .unwrap()
            .into_inner()
            .items;
        for item in items {
            let parent = item.path.rsplit_once('/').map_or("", |(p, _)| p);
            assert_eq!(parent, folder, "{item:?} listed under `{folder}`");
            assert!(item.path.ends_with(&item.name));
            match item.type_ {
                ResultItemType::Folder => pending.push(item.path),
                _ => files.push((item.path, item.size.unwrap())),
            }
        }
    }
    files.sort();
    files
}

#[tokio::test]
async fn the_builtin_asset_lists_its_tree_and_serves_every_file() {
    let sim = start();
    let client = raw_client(&sim);
    let root = client
        .list_data_asset_files(INPUT, &listing(""))
        .await
        .unwrap()
        .into_inner()
        .items;
    let names: Vec<(&str, &ResultItemType)> =
        root.iter().map(|i| (i.name.as_str(), &i.type_)).collect();
    assert_eq!(
        names,
        [
            ("README.md", &ResultItemType::File),
            ("genome", &ResultItemType::Folder),
            ("annotation", &ResultItemType::Folder),
            ("index", &ResultItemType::Folder),
        ]
    );
    let files = walk(&client, INPUT).await;
    let asset = client.get_data_asset(INPUT).await.unwrap().into_inner();
    assert_eq!(asset.files, Some(files.len() as i64));
    assert_eq!(asset.size, Some(files.iter().map(|f| f.1).sum()));
    let storage = reqwest::Client::new();
    for (path, size) in &files {
        let urls = client
            .get_data_asset_file_urls(INPUT, path)
            .await
            .unwrap()
            .into_inner();
        assert!(urls.download_url.starts_with(sim.storage_origin()));
        let body = send(storage.get(&urls.download_url)).await;
        body.expect(200);
        assert_eq!(body.body.len() as i64, *size, "{path}");
        let want = sim.data_asset_content(INPUT, path).unwrap();
        assert_eq!(body.body, want.read(0, u64::MAX), "{path}");
        let view = send(storage.get(&urls.view_url)).await;
        view.expect(200);
        assert_eq!(view.header("content-type"), Some("text/plain"));
        // The deprecated route signs the same object.
        let legacy = client
            .get_data_asset_file_download_url(INPUT, path)
            .await
            .unwrap()
            .into_inner();
        assert_eq!(send(storage.get(&legacy.url)).await.body, body.body);
    }
    // A range, as a resumed download asks.
    let url = client
        .get_data_asset_file_urls(INPUT, "genome/GRCh38.fa")
        .await
        .unwrap()
        .into_inner()
        .download_url;
    let part = send(storage.get(&url).header("range", "bytes=100-199")).await;
    part.expect(206);
    let want = sim.data_asset_content(INPUT, "genome/GRCh38.fa").unwrap();
    assert_eq!(part.body, want.read(100, 200));
    // The token never goes to storage.
    let with_auth = send(storage.get(&url).header(AUTHORIZATION, basic(TOKEN))).await;
    with_auth.expect(400);
    assert_eq!(sim.stats().storage_requests_with_authorization, 1);
}

#[tokio::test]
async fn missing_folders_files_and_assets_are_json_404s() {
    let sim = start();
    let api = Api::new(&sim);
    for (path, body, want) in [
        (
            format!("/data_assets/{INPUT}/files"),
            json!({"path": "nowhere"}),
            "nowhere",
        ),
        (
            format!("/data_assets/{INPUT}/files"),
            json!({"path": "README.md"}),
            "README.md",
        ),
        (
            "/data_assets/no-such-asset/files".into(),
            json!({"path": ""}),
            "no-such-asset",
        ),
    ] {
        let r = api.post(&path, body).await;
        r.expect(404);
        assert!(r.message().contains(want), "{}", r.message());
    }
    for route in ["urls", "download_url"] {
        let r = api
            .get(&format!("/data_assets/{INPUT}/files/{route}?path=genome"))
            .await;
        r.expect(404);
        assert!(r.message().contains("genome"));
        let r = api
            .get(&format!("/data_assets/{INPUT}/files/{route}"))
            .await;
        r.expect(400);
        assert!(r.message().contains("path"));
    }
    let r = api
        .post(&format!("/data_assets/{INPUT}/files"), json!({"path": 3}))
        .await;
    r.expect(400);
    assert!(r.message().contains("path"), "{}", r.message());
}

#[tokio::test]
async fn each_generation_has_its_file_url_route() {
    for (generation, urls, download_url) in [
        (ApiGeneration::Legacy, false, true),
        (ApiGeneration::Modern, true, false),
        (ApiGeneration::Both, true, true),
    ] {
        let sim = start_with(|c| c.api = generation);
        let api = Api::new(&sim);
        for (route, present) in [("urls", urls), ("download_url", download_url)] {
            let r = api
                .get(&format!(
                    "/data_assets/{INPUT}/files/{route}?path=README.md"
                ))
                .await;
            if present {
                r.expect(200);
                // A missing file on a present route is the API's own JSON 404.
                let missing = api
                    .get(&format!("/data_assets/{INPUT}/files/{route}?path=missing"))
                    .await;
                missing.expect(404);
                assert!(missing.message().contains("missing"));
            } else {
                // A removed route looks like an unknown one: 404, empty body.
                r.expect(404);
                assert!(r.body.is_empty(), "{generation:?} {route}");
            }
        }
    }
}

#[tokio::test]
async fn a_result_asset_lists_its_computation_files_with_the_same_bytes() {
    let sim = start();
    let api = Api::new(&sim);
    let client = raw_client(&sim);
    let run = api.finished_run(&sim, HELLO).await;
    let create = |path: Option<&str>| {
        json!({
            "name": "kept", "mount": "kept", "tags": [],
            "source": {"computation": {"id": run, "path": path}},
        })
    };
    let whole = api.post("/data_assets", create(None)).await;
    whole.expect(200);
    let whole = whole.json()["id"].as_str().unwrap().to_owned();
    // A draft asset has no files yet.
    let draft = client
        .list_data_asset_files(&whole, &listing(""))
        .await
        .unwrap()
        .into_inner();
    assert!(draft.items.is_empty());
    let r = api
        .get(&format!("/data_assets/{whole}/files/urls?path=output.txt"))
        .await;
    r.expect(404);
    sim.advance(PAST_THE_END);
    let files = walk(&client, &whole).await;
    assert_eq!(files.len(), 7);
    for (path, _) in &files {
        assert_eq!(
            sim.data_asset_content(&whole, path)
                .unwrap()
                .read(0, u64::MAX),
            sim.result_content(&run, path).unwrap().read(0, u64::MAX),
            "{path}"
        );
    }
    // A folder of the results becomes the root of the asset.
    let part = api.post("/data_assets", create(Some("tables"))).await;
    part.expect(200);
    let part = part.json();
    assert_eq!(part["files"], 3);
    let part = part["id"].as_str().unwrap().to_owned();
    sim.advance(PAST_THE_END);
    let files = walk(&client, &part).await;
    assert_eq!(
        files.iter().map(|f| f.0.as_str()).collect::<Vec<_>>(),
        ["counts.csv", "per-sample/s1.csv", "per-sample/s2.csv"]
    );
    assert_eq!(
        sim.data_asset_content(&part, "per-sample/s1.csv")
            .unwrap()
            .read(0, u64::MAX),
        sim.result_content(&run, "tables/per-sample/s1.csv")
            .unwrap()
            .read(0, u64::MAX)
    );
    let bad = api.post("/data_assets", create(Some("output.txt"))).await;
    bad.expect(400);
    assert!(bad.message().contains("source.computation.path"));
}

#[tokio::test]
async fn deleted_assets_are_gone_and_their_urls_stop_working() {
    let sim = start();
    let api = Api::new(&sim);
    let client = raw_client(&sim);
    let url = client
        .get_data_asset_file_urls(INPUT, "README.md")
        .await
        .unwrap()
        .into_inner()
        .download_url;
    client
        .attach_capsule_data_assets(
            HELLO,
            &vec![codeocean_raw::types::DataAssetAttachParams {
                id: INPUT.into(),
                mount: None,
            }],
        )
        .await
        .unwrap();
    client.delete_data_asset(INPUT).await.unwrap();
    api.get(&format!("/data_assets/{INPUT}")).await.expect(404);
    let r = api
        .send(api.http.delete(api.url(&format!("/data_assets/{INPUT}"))))
        .await;
    r.expect(404);
    send(reqwest::Client::new().get(&url)).await.expect(404);
    // It is no longer attached to the capsule.
    let panel = client.get_capsule_app_panel(HELLO, None).await.unwrap();
    assert!(panel.data_assets.is_empty());
}

#[tokio::test]
async fn permissions_are_kept_and_bad_roles_refused() {
    let sim = start();
    let api = Api::new(&sim);
    let client = raw_client(&sim);
    let initial = client
        .get_data_asset_permissions(INPUT)
        .await
        .unwrap()
        .into_inner();
    let users = initial.users.clone().unwrap();
    assert_eq!(users.len(), 1);
    assert_eq!(users[0].role, UserRole::Owner);
    assert_eq!(initial.everyone, Some(EveryoneRole::None));
    let update = Permissions {
        users: Some(vec![UserPermissions {
            email: "colleague@example.org".into(),
            role: UserRole::Editor,
        }]),
        groups: Some(vec![GroupPermissions {
            group: "lab".into(),
            role: GroupRole::Discoverable,
        }]),
        everyone: Some(EveryoneRole::Viewer),
        share_assets: None,
    };
    client
        .update_data_asset_permissions(INPUT, &update)
        .await
        .unwrap();
    let now = client
        .get_data_asset_permissions(INPUT)
        .await
        .unwrap()
        .into_inner();
    let users = now.users.unwrap();
    assert_eq!(users.len(), 2, "the owner stays");
    assert_eq!(users[0].role, UserRole::Owner);
    assert_eq!(users[1].email, "colleague@example.org");
    assert_eq!(now.groups, update.groups);
    assert_eq!(now.everyone, Some(EveryoneRole::Viewer));
    for (body, field) in [
        (
            json!({"users": [{"email": "x@y", "role": "admin"}]}),
            "users[0].role",
        ),
        (
            json!({"groups": [{"group": "g", "role": "boss"}]}),
            "groups[0].role",
        ),
        (json!({"everyone": "all"}), "everyone"),
        (json!({"users": [{"email": "x@y"}]}), "users[0]"),
        (
            json!({"users": [{"email": "scientist@example.org", "role": "viewer"}]}),
            "users[0].role",
        ),
    ] {
        let r = api
            .post(&format!("/data_assets/{INPUT}/permissions"), body.clone())
            .await;
        r.expect(400);
        assert!(r.message().contains(field), "{body}: {}", r.message());
    }
    api.get("/data_assets/none/permissions").await.expect(404);
}

#[tokio::test]
async fn a_transfer_makes_the_asset_external_on_the_clock() {
    let sim = start();
    let api = Api::new(&sim);
    let client = raw_client(&sim);
    let target = TransferDataAssetRequest {
        force: None,
        target: DataAssetTarget {
            aws: Some(AwsS3Target {
                bucket: "archive-bucket".into(),
                prefix: Some("genomes/".into()),
                endpoint_name: None,
            }),
        },
    };
    client.transfer_data_asset(INPUT, &target).await.unwrap();
    // Until it is done, nothing changes.
    let before = client.get_data_asset(INPUT).await.unwrap().into_inner();
    assert_eq!(before.last_transferred, None);
    sim.advance(std::time::Duration::from_secs(5));
    let after = client.get_data_asset(INPUT).await.unwrap().into_inner();
    assert!(after.last_transferred.is_some());
    let bucket = after.source_bucket.unwrap();
    assert_eq!(bucket.origin, Some(DataAssetOrigin::Aws));
    assert_eq!(bucket.bucket.as_deref(), Some("archive-bucket"));
    assert_eq!(bucket.external, Some(true));
    // Its files are no longer in Code Ocean.
    let r = api
        .post(&format!("/data_assets/{INPUT}/files"), json!({"path": ""}))
        .await;
    r.expect(400);
    assert!(r.message().contains("external"));
    let external = client
        .search_data_assets(&codeocean_raw::types::DataAssetSearchRequest {
            origin: Some(codeocean_raw::open::DataAssetSearchOrigin::External),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(external.results.len(), 1);
    for (body, field) in [
        (json!({"target": {}}), "target.aws"),
        (
            json!({"target": {"aws": {"bucket": " "}}}),
            "target.aws.bucket",
        ),
        (json!({}), "target"),
    ] {
        let r = api
            .post(&format!("/data_assets/{INPUT}/transfer"), body.clone())
            .await;
        r.expect(400);
        assert!(r.message().contains(field), "{body}: {}", r.message());
    }
}

#[tokio::test]
async fn an_asset_of_a_released_pipeline_moves_only_by_force() {
    let sim = start();
    let client = raw_client(&sim);
    client
        .attach_pipeline_data_assets(
            PIPELINE,
            &vec![codeocean_raw::types::DataAssetAttachParams {
                id: INPUT.into(),
                mount: Some("ref".into()),
            }],
        )
        .await
        .unwrap();
    let mut req = TransferDataAssetRequest {
        force: None,
        target: DataAssetTarget {
            aws: Some(AwsS3Target {
                bucket: "b".into(),
                prefix: None,
                endpoint_name: None,
            }),
        },
    };
    match client.transfer_data_asset(INPUT, &req).await {
        Err(codeocean_raw::Error::ErrorResponse(r)) => assert_eq!(r.status(), 400),
        other => panic!("{other:?}"),
    }
    req.force = Some(true);
    client.transfer_data_asset(INPUT, &req).await.unwrap();
}

#[tokio::test]
async fn the_custom_metadata_schema_is_fixed_and_complete() {
    let sim = start();
    let schema = raw_client(&sim)
        .get_custom_metadata()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(schema.categories, ["Project", "Sample", "Sequencing"]);
    for f in &schema.fields {
        assert!(
            schema.categories.contains(f.category.as_ref().unwrap()),
            "{f:?}"
        );
        assert!(f.type_.as_ref().is_some_and(|t| !t.is_unknown()));
    }
    let replicate = schema
        .fields
        .iter()
        .find(|f| f.name == "replicate")
        .unwrap();
    assert_eq!(replicate.type_, Some(CustomMetadataFieldType::Number));
    assert_eq!(replicate.range.as_ref().unwrap().max, Some(100.0));
    let api = Api::new(&sim);
    send(api.http.get(api.url("/custom_metadata")))
        .await
        .expect(401);
    // The state of the built-in asset, for the record: ready from the start.
    let asset = raw_client(&sim).get_data_asset(INPUT).await.unwrap();
    assert_eq!(asset.state, Some(DataAssetState::Ready));
}
