//! Capsule and pipeline operations beyond get (delete, app panel, permissions, attach and
//! detach, release jobs on the clock, sync, pipeline computations), and data assets attached to
//! cloud workstation sessions, through the raw client.

use std::time::Duration;

use codeocean_raw::open::{AppPanelDataAssetKind, CapsuleStatus, ReleaseJobStatus, UserRole};
use codeocean_raw::types::{DataAssetAttachParams, Permissions, UserPermissions};
use serde_json::json;

use crate::*;

fn attach_one(id: &str, mount: Option<&str>) -> Vec<DataAssetAttachParams> {
    vec![DataAssetAttachParams {
        id: id.into(),
        mount: mount.map(Into::into),
    }]
}

/// The status of a failed raw call.
fn status<T: std::fmt::Debug>(
    r: Result<T, codeocean_raw::Error<codeocean_raw::ByteStream>>,
) -> u16 {
    match r {
        Err(codeocean_raw::Error::ErrorResponse(e)) => e.status().as_u16(),
        other => panic!("expected an error status, got {other:?}"),
    }
}

#[tokio::test]
async fn pipelines_are_served_under_their_own_routes() {
    let sim = start();
    let client = raw_client(&sim);
    let p = client.get_pipeline(PIPELINE).await.unwrap().into_inner();
    assert_eq!(p.id, PIPELINE);
    assert_eq!(p.status, Some(CapsuleStatus::Release));
    // A capsule is not a pipeline, and a pipeline's routes do not take capsules.
    assert_eq!(status(client.get_pipeline(HELLO).await), 404);
    assert_eq!(status(client.list_pipeline_computations(HELLO).await), 404);
    assert_eq!(status(client.get_capsule_permissions(PIPELINE).await), 404);
    let api = Api::new(&sim);
    let run = api.run(json!({"pipeline_id": PIPELINE})).await;
    let _capsule_run = api.run(json!({"capsule_id": HELLO})).await;
    let runs = client
        .list_pipeline_computations(PIPELINE)
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        runs.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(),
        [run.as_str()]
    );
}

#[tokio::test]
async fn deleted_capsules_are_gone_but_their_runs_stay() {
    let sim = start();
    let api = Api::new(&sim);
    let client = raw_client(&sim);
    let copy = sim.copy_capsule(HELLO, 1).unwrap().remove(0);
    let run = api.run(json!({"capsule_id": copy})).await;
    client.delete_capsule(&copy).await.unwrap();
    assert_eq!(status(client.get_capsule(&copy).await), 404);
    assert_eq!(status(client.delete_capsule(&copy).await), 404);
    let r = api.post("/computations", json!({"capsule_id": copy})).await;
    r.expect(404);
    assert!(r.message().contains("capsule_id"));
    api.computation(&run).await;
    // The original is untouched; a pipeline is not deleted through /capsules.
    client.get_capsule(HELLO).await.unwrap();
    assert_eq!(status(client.delete_capsule(PIPELINE).await), 404);
    client.delete_pipeline(PIPELINE).await.unwrap();
    assert_eq!(status(client.get_pipeline(PIPELINE).await), 404);
}

#[tokio::test]
async fn app_panels_describe_parameters_results_assets_and_processes() {
    let sim = start();
    let client = raw_client(&sim);
    client
        .attach_capsule_data_assets(HELLO, &attach_one(INPUT, Some("ref")))
        .await
        .unwrap();
    let panel = client
        .get_capsule_app_panel(HELLO, None)
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        panel.general.unwrap().title.as_deref(),
        Some("Hello results")
    );
    let params: Vec<&str> = panel
        .parameters
        .iter()
        .map(|p| p.param_name.as_deref().unwrap())
        .collect();
    assert_eq!(params, ["greeting", "count"]);
    assert!(panel.parameters.iter().all(|p| {
        panel
            .categories
            .iter()
            .any(|c| Some(&c.id) == p.category.as_ref())
    }));
    let results: Vec<&str> = panel.results.iter().map(|r| r.file_name.as_str()).collect();
    assert_eq!(results, ["output.txt", "summary.json"]);
    assert_eq!(panel.data_assets.len(), 1);
    assert_eq!(panel.data_assets[0].mount.as_deref(), Some("ref"));
    assert_eq!(
        panel.data_assets[0].kind,
        Some(AppPanelDataAssetKind::Internal)
    );
    // A released version's panel; an unknown version is a 404.
    client.get_capsule_app_panel(HELLO, Some(2)).await.unwrap();
    assert_eq!(
        status(client.get_capsule_app_panel(HELLO, Some(3)).await),
        404
    );
    let pipeline = client
        .get_pipeline_app_panel(PIPELINE, None)
        .await
        .unwrap()
        .into_inner();
    let processes: Vec<&str> = pipeline.processes.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(processes, ["capsule_align_1", "capsule_count_2"]);
    // One category and one parameter object per process, as the official SDK reads them.
    let raw = Api::new(&sim)
        .get(&format!("/pipelines/{PIPELINE}/app_panel"))
        .await
        .json();
    assert!(raw["processes"][0]["categories"].is_object(), "{raw}");
    assert!(raw["processes"][0]["parameters"].is_object(), "{raw}");
}

#[tokio::test]
async fn attach_and_detach_are_kept_and_checked() {
    let sim = start();
    let api = Api::new(&sim);
    let client = raw_client(&sim);
    let extra = sim.add_data_assets(1).remove(0);
    let out = client
        .attach_capsule_data_assets(
            HELLO,
            &vec![
                DataAssetAttachParams {
                    id: INPUT.into(),
                    mount: None,
                },
                DataAssetAttachParams {
                    id: extra.clone(),
                    mount: Some("extra".into()),
                },
            ],
        )
        .await
        .unwrap()
        .into_inner();
    assert_eq!(out.len(), 2);
    assert_eq!(
        out[0].mount.as_deref(),
        Some("reference"),
        "the default mount"
    );
    assert_eq!(out[0].ready, Some(true));
    assert_eq!(out[1].mount.as_deref(), Some("extra"));
    // Unknown assets, a taken mount, a blank mount: 400 naming the entry.
    for (body, field) in [
        (json!([{"id": "no-such-asset"}]), "[0].id"),
        (json!([{"id": INPUT, "mount": "extra"}]), "[0].mount"),
        (json!([{"id": INPUT, "mount": " "}]), "[0].mount"),
        (json!([{"mount": "x"}]), "[0]"),
        (json!({"id": INPUT}), "body"),
    ] {
        let r = api
            .post(&format!("/capsules/{HELLO}/data_assets"), body.clone())
            .await;
        r.expect(400);
        assert!(r.message().contains(field), "{body}: {}", r.message());
    }
    client
        .detach_capsule_data_assets(HELLO, &vec![INPUT.to_owned()])
        .await
        .unwrap();
    let panel = client.get_capsule_app_panel(HELLO, None).await.unwrap();
    assert_eq!(
        panel
            .data_assets
            .iter()
            .map(|d| d.id.as_str())
            .collect::<Vec<_>>(),
        [extra.as_str()]
    );
    let r = api
        .send(
            api.http
                .delete(api.url(&format!("/capsules/{HELLO}/data_assets/")))
                .json(&json!([INPUT])),
        )
        .await;
    r.expect(400);
    assert!(r.message().contains("not attached"));
    assert_eq!(
        status(
            client
                .attach_capsule_data_assets("no-such-capsule", &attach_one(INPUT, None))
                .await
        ),
        404
    );
}

#[tokio::test]
async fn a_release_job_moves_on_the_clock_and_adds_a_version() {
    let sim = start();
    let api = Api::new(&sim);
    let client = raw_client(&sim);
    // Without a run that succeeded, the requirements are not met: 403 with the flags.
    let r = api
        .send(
            api.http
                .post(api.url(&format!("/capsules/{HELLO}/release"))),
        )
        .await;
    r.expect(403);
    assert_eq!(r.json()["missing_reproducible_run"], true);
    // A capsule never released cannot be released through the API.
    let r = api
        .send(
            api.http
                .post(api.url(&format!("/capsules/{FAILS}/release"))),
        )
        .await;
    r.expect(400);
    assert!(r.message().contains("never released"));

    api.finished_run(&sim, HELLO).await;
    let job = client.release_capsule(HELLO).await.unwrap().into_inner();
    assert_eq!(job.status, Some(ReleaseJobStatus::Created));
    assert!(job.release_version.is_none());
    let get = || client.get_capsule_release_job(HELLO, &job.job_id);
    sim.advance(Duration::from_secs(2));
    let started = get().await.unwrap().into_inner();
    assert_eq!(started.status, Some(ReleaseJobStatus::Started));
    assert!(started.started.is_some());
    assert_eq!(
        client.get_capsule(HELLO).await.unwrap().versions.len(),
        2,
        "no new version before the job completes"
    );
    sim.advance(Duration::from_secs(10));
    let done = get().await.unwrap().into_inner();
    assert_eq!(done.status, Some(ReleaseJobStatus::Completed));
    assert_eq!(done.release_capsule.as_deref(), Some(HELLO));
    assert_eq!(done.release_version.unwrap().major_version, Some(3));
    assert_eq!(done.duration, Some(5));
    let capsule = client.get_capsule(HELLO).await.unwrap().into_inner();
    assert_eq!(capsule.versions.len(), 3);
    // The new version can be run.
    api.run(json!({"capsule_id": HELLO, "version": 3})).await;
    // Unknown jobs, and jobs of another capsule, are 404s.
    assert_eq!(
        status(client.get_capsule_release_job(HELLO, "no-such-job").await),
        404
    );
    assert_eq!(
        status(client.get_pipeline_release_job(PIPELINE, &job.job_id).await),
        404
    );
    // The pipeline releases the same way.
    api.run(json!({"pipeline_id": PIPELINE})).await;
    sim.advance(PAST_THE_END);
    let job = client
        .release_pipeline(PIPELINE)
        .await
        .unwrap()
        .into_inner();
    sim.advance(Duration::from_secs(10));
    let done = client
        .get_pipeline_release_job(PIPELINE, &job.job_id)
        .await
        .unwrap()
        .into_inner();
    assert_eq!(done.release_version.unwrap().major_version, Some(2));
}

#[tokio::test]
async fn sync_needs_a_remote_and_reports_what_it_did() {
    let sim = start();
    let client = raw_client(&sim);
    let first = client.sync_capsule(HELLO).await.unwrap().into_inner();
    assert_eq!(first.new_branch, Some(true));
    assert!(first.pushed.unwrap() > 0);
    let second = client.sync_capsule(HELLO).await.unwrap().into_inner();
    assert_eq!(
        second,
        Default::default(),
        "nothing to do: zero counts are left out"
    );
    let raw = Api::new(&sim)
        .send(
            Api::new(&sim)
                .http
                .post(sim.api_url() + &format!("/capsules/{HELLO}/sync")),
        )
        .await;
    raw.expect(200);
    assert_eq!(raw.json(), json!({}));
    assert_eq!(status(client.sync_capsule(FAILS).await), 400);
    client.sync_pipeline(PIPELINE).await.unwrap();
}

#[tokio::test]
async fn permissions_share_attached_assets_on_request() {
    let sim = start();
    let client = raw_client(&sim);
    client
        .attach_capsule_data_assets(HELLO, &attach_one(INPUT, None))
        .await
        .unwrap();
    let colleague = Permissions {
        users: Some(vec![UserPermissions {
            email: "colleague@example.org".into(),
            role: UserRole::Editor,
        }]),
        ..Default::default()
    };
    client
        .update_capsule_permissions(HELLO, &colleague)
        .await
        .unwrap();
    let asset = client.get_data_asset_permissions(INPUT).await.unwrap();
    assert_eq!(
        asset.users.as_ref().unwrap().len(),
        1,
        "not shared without share_assets"
    );
    client
        .update_capsule_permissions(
            HELLO,
            &Permissions {
                share_assets: Some(true),
                ..colleague.clone()
            },
        )
        .await
        .unwrap();
    let capsule = client.get_capsule_permissions(HELLO).await.unwrap();
    assert_eq!(capsule.users.as_ref().unwrap()[1].role, UserRole::Editor);
    let asset = client.get_data_asset_permissions(INPUT).await.unwrap();
    let users = asset.users.clone().unwrap();
    assert_eq!(users[1].email, "colleague@example.org");
    assert_eq!(
        users[1].role,
        UserRole::Viewer,
        "shared assets are shared for viewing"
    );
    client
        .update_pipeline_permissions(PIPELINE, &colleague)
        .await
        .unwrap();
    assert_eq!(
        client
            .get_pipeline_permissions(PIPELINE)
            .await
            .unwrap()
            .users
            .as_ref()
            .unwrap()
            .len(),
        2
    );
}

#[tokio::test]
async fn assets_attach_to_a_running_cloud_workstation_only() {
    let sim = start();
    let api = Api::new(&sim);
    let client = raw_client(&sim);
    let session = sim.start_cloud_workstation(HELLO).unwrap();
    let c = api.computation(&session).await;
    assert_eq!(c["cloud_workstation"], true);
    let listed = client.list_capsule_computations(HELLO).await.unwrap();
    assert!(
        listed
            .iter()
            .any(|c| c.id == session && c.cloud_workstation == Some(true)),
        "the session is among the capsule's computations"
    );
    let out = client
        .attach_computation_data_assets(&session, &attach_one(INPUT, Some("ref")))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        out[0].ready,
        Some(false),
        "a session mounts in the background"
    );
    assert!(out[0].job_id.is_some());
    let c = api.computation(&session).await;
    assert_eq!(c["data_assets"], json!([{"id": INPUT, "mount": "ref"}]));
    // Still running long after an ordinary run would have ended.
    sim.advance(PAST_THE_END * 10);
    assert_eq!(api.computation(&session).await["state"], "running");
    client
        .detach_computation_data_assets(&session, &vec![INPUT.to_owned()])
        .await
        .unwrap();
    assert_eq!(api.computation(&session).await.get("data_assets"), None);
    assert_eq!(
        status(
            client
                .detach_computation_data_assets(&session, &vec![INPUT.to_owned()])
                .await
        ),
        400
    );
    // An ordinary run is not a session; a stopped session takes nothing.
    let run = api.run(json!({"capsule_id": HELLO})).await;
    let r = api
        .post(
            &format!("/computations/{run}/data_assets"),
            json!([{"id": INPUT}]),
        )
        .await;
    r.expect(400);
    assert!(r.message().contains("cloud workstation"));
    assert!(sim.stop_computation(&session));
    assert_eq!(
        status(
            client
                .attach_computation_data_assets(&session, &attach_one(INPUT, None))
                .await
        ),
        400
    );
    assert_eq!(
        status(
            client
                .attach_computation_data_assets("no-such-run", &attach_one(INPUT, None))
                .await
        ),
        404
    );
    // The admin route starts sessions too.
    let r = api
        .send(
            api.http
                .post(format!("{}/__sim/cloud_workstations", sim.origin()))
                .json(&json!({"capsule_id": HELLO})),
        )
        .await;
    r.expect(200);
    assert_eq!(r.json()["cloud_workstation"], true);
}

/// Every operation with an id in its path: (method, path with `X` for the id, body).
const WITH_IDS: &[(&str, &str, &str)] = &[
    ("GET", "/capsules/X", ""),
    ("DELETE", "/capsules/X", ""),
    ("GET", "/capsules/X/app_panel", ""),
    ("PATCH", "/capsules/X/archive?archive=true", ""),
    ("GET", "/capsules/X/computations", ""),
    ("POST", "/capsules/X/data_assets", "[]"),
    ("DELETE", "/capsules/X/data_assets/", "[]"),
    ("GET", "/capsules/X/permissions", ""),
    ("POST", "/capsules/X/permissions", "{}"),
    ("POST", "/capsules/X/release", ""),
    ("GET", "/capsules/X/release/X", ""),
    ("POST", "/capsules/X/sync", ""),
    ("GET", "/pipelines/X", ""),
    ("DELETE", "/pipelines/X", ""),
    ("GET", "/pipelines/X/app_panel", ""),
    ("PATCH", "/pipelines/X/archive?archive=true", ""),
    ("GET", "/pipelines/X/computations", ""),
    ("POST", "/pipelines/X/data_assets", "[]"),
    ("DELETE", "/pipelines/X/data_assets/", "[]"),
    ("GET", "/pipelines/X/permissions", ""),
    ("POST", "/pipelines/X/permissions", "{}"),
    ("POST", "/pipelines/X/release", ""),
    ("GET", "/pipelines/X/release/X", ""),
    ("POST", "/pipelines/X/sync", ""),
    ("GET", "/computations/X", ""),
    ("DELETE", "/computations/X", ""),
    ("PATCH", "/computations/X?name=n", ""),
    ("POST", "/computations/X/data_assets", "[]"),
    ("DELETE", "/computations/X/data_assets/", "[]"),
    ("POST", "/computations/X/results", r#"{"path": ""}"#),
    ("GET", "/computations/X/results/urls?path=a", ""),
    ("GET", "/computations/X/results/download_url?path=a", ""),
    ("GET", "/data_assets/X", ""),
    ("PUT", "/data_assets/X", "{}"),
    ("DELETE", "/data_assets/X", ""),
    ("PATCH", "/data_assets/X/archive?archive=true", ""),
    ("POST", "/data_assets/X/files", r#"{"path": ""}"#),
    ("GET", "/data_assets/X/files/urls?path=a", ""),
    ("GET", "/data_assets/X/files/download_url?path=a", ""),
    ("GET", "/data_assets/X/permissions", ""),
    ("POST", "/data_assets/X/permissions", "{}"),
    (
        "POST",
        "/data_assets/X/transfer",
        r#"{"target": {"aws": {"bucket": "b"}}}"#,
    ),
];

/// The operations without an id in their path.
const WITHOUT_IDS: &[(&str, &str, &str)] = &[
    ("POST", "/capsules/search", "{}"),
    ("POST", "/pipelines/search", "{}"),
    ("POST", "/data_assets/search", "{}"),
    ("POST", "/computations", r#"{"capsule_id": "X"}"#),
    ("POST", "/data_assets", "{}"),
    ("GET", "/custom_metadata", ""),
];

#[tokio::test]
async fn every_operation_needs_the_token_and_knows_unknown_ids() {
    let sim = start();
    let api = Api::new(&sim);
    assert_eq!(WITH_IDS.len() + WITHOUT_IDS.len(), 48);
    let request = |method: &str, path: &str, body: &str, id: &str| {
        let req = api
            .http
            .request(method.parse().unwrap(), api.url(&path.replace('X', id)));
        if body.is_empty() {
            req
        } else {
            req.header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.to_owned())
        }
    };
    for (method, path, body) in WITH_IDS.iter().chain(WITHOUT_IDS) {
        let r = send(request(method, path, body, "unknown-id")).await;
        r.expect(401);
        assert!(r.header("www-authenticate").is_some(), "{method} {path}");
    }
    for (method, path, body) in WITH_IDS {
        let r = api.send(request(method, path, body, "unknown-id")).await;
        assert_eq!(r.status, 404, "{method} {path}: {:?}", r.body);
        assert!(
            r.message().contains("unknown-id"),
            "{method} {path}: {}",
            r.message()
        );
    }
}
