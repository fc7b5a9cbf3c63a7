//! Injected faults: what each looks like on the wire, and that they are reproducible.

use codeocean_raw::open::{CapsuleStatus, DataAssetOrigin, DataAssetType};
use codeocean_sim::{FaultSpec, Faults, RouteClass};
use reqwest::header::{CONTENT_LENGTH, CONTENT_TYPE, RETRY_AFTER};
use serde_json::json;

use crate::*;

fn faults(spec: &str) -> Faults {
    spec.parse().unwrap()
}

#[tokio::test]
async fn failure_statuses_look_like_a_real_server_or_proxy() {
    let sim = start();
    let api = Api::new(&sim);
    let capsule = format!("/capsules/{HELLO}");

    sim.set_faults(faults("capsules:429=1,retry_after=7"));
    let r = api.get(&capsule).await;
    r.expect(429);
    assert_eq!(r.header(RETRY_AFTER.as_str()), Some("7"));
    r.message();

    for status in ["500", "502", "503"] {
        sim.set_faults(faults(&format!("capsules:{status}=1")));
        let r = api.get(&capsule).await;
        r.expect(status.parse().unwrap());
        assert!(
            r.header(CONTENT_TYPE.as_str())
                .unwrap()
                .starts_with("application/json")
        );
        r.message();
    }

    sim.set_faults(faults("capsules:html=1"));
    let r = api.get(&capsule).await;
    r.expect(502);
    assert!(
        r.header(CONTENT_TYPE.as_str())
            .unwrap()
            .starts_with("text/html")
    );
    assert!(String::from_utf8_lossy(&r.body).contains("<html>"));

    // Faults hit only their class; storage errors are S3-style XML.
    api.get(&format!("/data_assets/{INPUT}")).await.expect(200);
    sim.set_faults(Faults::default());
    let id = api.finished_run(&sim, HELLO).await;
    let url = api.download_url(&id, "output.txt").await;
    sim.set_faults(faults("storage:503=1"));
    let r = send(reqwest::Client::new().get(&url)).await;
    r.expect(503);
    assert!(r.header(CONTENT_TYPE.as_str()).unwrap().contains("xml"));
    // Failures come before the token check (a proxy answers before the server).
    sim.set_faults(faults("capsules:503=1"));
    let r = send(reqwest::Client::new().get(api.url(&capsule))).await;
    r.expect(503);
}

#[tokio::test]
async fn broken_bodies_reset_or_end_short_without_a_length() {
    let sim = start();
    let api = Api::new(&sim);
    let plain = reqwest::Client::new();
    let id = api.finished_run(&sim, HELLO).await;
    let path = "figures/plot.png";
    let file = sim.result_content(&id, path).unwrap().read(0, u64::MAX);
    let url = api.download_url(&id, path).await;
    let whole = api.get(&format!("/capsules/{HELLO}")).await;
    whole.expect(200);

    // Reset: the client sees an error while reading the body (or before the head).
    sim.set_faults(faults("capsules:reset=1"));
    let resp = api
        .http
        .get(api.url(&format!("/capsules/{HELLO}")))
        .header(reqwest::header::AUTHORIZATION, basic(TOKEN))
        .send()
        .await;
    if let Ok(resp) = resp {
        assert!(resp.bytes().await.is_err(), "a reset body read cleanly");
    }
    sim.set_faults(faults("storage:reset=1"));
    match plain.get(&url).send().await {
        Ok(resp) => {
            assert_eq!(resp.status(), 200);
            assert_eq!(resp.content_length(), Some(file.len() as u64));
            assert!(resp.bytes().await.is_err(), "a reset download read cleanly");
        }
        Err(e) => assert!(!e.is_status(), "{e}"),
    }
    // The typed client reports a body error too.
    sim.set_faults(faults("capsules:reset=1"));
    assert!(raw_client(&sim).get_capsule(HELLO).await.is_err());

    // Truncate: a clean end, no Content-Length, less than the whole.
    sim.set_faults(faults("capsules:truncate=1"));
    let short = api.get(&format!("/capsules/{HELLO}")).await;
    short.expect(200);
    assert_eq!(short.header(CONTENT_LENGTH.as_str()), None);
    assert!(short.body.len() < whole.body.len());
    assert_eq!(short.body, whole.body.slice(..short.body.len()));
    assert!(serde_json::from_slice::<serde_json::Value>(&short.body).is_err());
    sim.set_faults(faults("storage:truncate=1"));
    let short = send(plain.get(&url)).await;
    short.expect(200);
    assert_eq!(short.header(CONTENT_LENGTH.as_str()), None);
    assert!(short.body.len() < file.len());
    assert!(
        short.body == file[..short.body.len()],
        "a truncated body is a prefix"
    );

    // The typed client: a body that does not decode.
    sim.set_faults(faults("capsules:truncate=1"));
    match raw_client(&sim).get_capsule(HELLO).await {
        Err(codeocean_raw::Error::InvalidResponsePayload(..)) => {}
        other => panic!("{other:?}"),
    }
    sim.set_faults(Faults::default());
    api.get(&format!("/capsules/{HELLO}")).await.expect(200);
    send(plain.get(&url)).await.expect(200);
}

#[tokio::test]
async fn unknown_fields_and_enum_values_still_parse_in_the_raw_client() {
    let sim = start();
    let api = Api::new(&sim);
    let id = api.finished_run(&sim, HELLO).await;
    let created = api
        .post(
            "/data_assets",
            json!({ "name": "r", "mount": "r", "tags": [], "source": { "computation": { "id": id } } }),
        )
        .await;
    let asset = created.expect(200).json()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    sim.set_faults(faults("all:unknown=1"));

    let raw = api.get(&format!("/capsules/{HELLO}")).await.json();
    assert!(raw.get("x_sim_added").is_some(), "{raw}");
    let raw = api.get(&format!("/computations/{id}")).await.json();
    assert!(raw.get("x_sim_added").is_some(), "{raw}");

    let client = raw_client(&sim);
    let capsule = client.get_capsule(HELLO).await.unwrap().into_inner();
    assert_eq!(capsule.id, HELLO);
    assert!(matches!(&capsule.status, Some(CapsuleStatus::Unknown(s)) if s == "under_review"));
    let a = client.get_data_asset(&asset).await.unwrap().into_inner();
    assert!(
        matches!(&a.type_, Some(DataAssetType::Unknown(s)) if s == "vector_index"),
        "{a:?}"
    );
    assert!(matches!(
        a.source_bucket.as_ref().and_then(|b| b.origin.as_ref()),
        Some(DataAssetOrigin::Unknown(s)) if s == "azure"
    ));
    let c = client.get_computation(&id).await.unwrap().into_inner();
    assert_eq!(c.id, id);
    let listed = client
        .list_capsule_computations(HELLO)
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.len(), 1);
    let folder = client
        .list_computation_results(
            &id,
            &codeocean_raw::types::ListResultsRequest {
                path: String::new(),
            },
        )
        .await
        .unwrap()
        .into_inner();
    assert_eq!(folder.items.len(), 5);
    let urls = client
        .get_result_file_urls(&id, "output.txt")
        .await
        .unwrap()
        .into_inner();
    assert!(urls.download_url.starts_with("http://"));
    // Error bodies are left alone.
    let missing = api.get("/computations/nope").await;
    missing.expect(404);
    assert!(missing.json().get("x_sim_added").is_none());
}

/// The statuses of `n` sequential requests of a mixed sequence.
async fn draw(seed: u64, n: usize) -> Vec<u16> {
    let spec = FaultSpec {
        p429: 0.15,
        retry_after_secs: 1,
        p500: 0.1,
        p502: 0.1,
        p503: 0.1,
        html: 0.05,
        ..FaultSpec::default()
    };
    let sim = start_with(|c| {
        c.seed = seed;
        c.faults = Faults::all(spec);
    });
    let api = Api::new(&sim);
    let mut statuses = Vec::with_capacity(n);
    for i in 0..n {
        let r = match i % 3 {
            0 => api.get(&format!("/capsules/{HELLO}")).await,
            1 => api.get(&format!("/data_assets/{INPUT}")).await,
            _ => {
                api.post("/computations", json!({ "capsule_id": HELLO }))
                    .await
            }
        };
        statuses.push(r.status);
    }
    statuses
}

#[tokio::test]
async fn the_same_seed_and_requests_give_the_same_faults() {
    let a = draw(42, 60).await;
    let b = draw(42, 60).await;
    assert_eq!(a, b);
    let kinds: std::collections::BTreeSet<u16> = a.iter().copied().collect();
    assert!(kinds.len() >= 3, "not a mix: {a:?}");
    assert!(kinds.contains(&200));
    assert_ne!(a, draw(43, 60).await, "another seed, another sequence");
    // Classes without faults do not draw.
    let mut f = Faults::default();
    f.set(
        RouteClass::Storage,
        FaultSpec {
            p503: 1.0,
            ..FaultSpec::default()
        },
    );
    let sim = start_with(|c| c.faults = f);
    Api::new(&sim)
        .get(&format!("/capsules/{HELLO}"))
        .await
        .expect(200);
}

#[tokio::test]
async fn injected_faults_are_counted_for_the_test_and_on_the_admin_route() {
    let sim = start();
    let api = Api::new(&sim);
    let capsule = format!("/capsules/{HELLO}");
    let faults = faults("capsules:503=1");
    // The simulator draws from clones of these specs; this copy sees the same counts.
    sim.set_faults(faults.clone());
    for _ in 0..3 {
        api.get(&capsule).await.expect(503);
    }
    assert_eq!(faults.injected().status_503, 3);
    assert_eq!(faults.injected().total(), 3);
    assert_eq!(faults.injected_on(RouteClass::Capsules).status_503, 3);
    assert_eq!(faults.injected_on(RouteClass::Storage).total(), 0);
    let admin =
        send(reqwest::Client::new().get(format!("{}/__sim/faults/injected", sim.origin()))).await;
    let counts = admin.expect(200).json();
    assert_eq!(counts["total"]["status_503"], 3, "{counts}");
    assert_eq!(counts["per_class"]["capsules"]["status_503"], 3, "{counts}");
}

#[tokio::test]
async fn the_new_operations_fall_in_their_route_classes() {
    let sim = start();
    let api = Api::new(&sim);
    // Each class hits its own routes and no others.
    let probes: [(&str, &str, &str, Option<serde_json::Value>); 6] = [
        ("search", "POST", "/data_assets/search", Some(json!({}))),
        ("manage", "POST", "/capsules/{HELLO}/sync", None),
        ("capsules", "GET", "/pipelines/{PIPELINE}", None),
        (
            "results",
            "POST",
            "/data_assets/{INPUT}/files",
            Some(json!({"path": ""})),
        ),
        (
            "urls",
            "GET",
            "/data_assets/{INPUT}/files/urls?path=README.md",
            None,
        ),
        ("data_assets", "GET", "/custom_metadata", None),
    ];
    let call = |method: &str, path: &str, body: &Option<serde_json::Value>| {
        let url = api.url(
            &path
                .replace("{HELLO}", HELLO)
                .replace("{PIPELINE}", PIPELINE)
                .replace("{INPUT}", INPUT),
        );
        let req = api.http.request(method.parse().unwrap(), url);
        match body {
            Some(b) => req.json(b),
            None => req,
        }
    };
    for (class, ..) in &probes {
        sim.set_faults(faults(&format!("{class}:503=1")));
        for (other, method, path, body) in &probes {
            let r = api.send(call(method, path, body)).await;
            let want = if other == class { 503 } else { 200 };
            assert_eq!(r.status, want, "fault on {class}, {method} {path}");
        }
    }
    // Data asset file URLs issued already expired under urls:expire.
    sim.set_faults(faults("urls:expire=1"));
    let r = api
        .get(&format!("/data_assets/{INPUT}/files/urls?path=README.md"))
        .await;
    r.expect(200);
    let url = r.json()["download_url"].as_str().unwrap().to_owned();
    let got = send(reqwest::Client::new().get(url)).await;
    got.expect(403);
    assert!(String::from_utf8_lossy(&got.body).contains("expired"));
    // lie_has_more parses on the command line; other keys still refuse nonsense.
    assert!("search:lie_has_more=2".parse::<Faults>().is_err());
    assert_eq!(
        faults("search:lie_has_more=0.5")
            .get(RouteClass::Search)
            .lie_has_more,
        0.5
    );
}

#[tokio::test]
async fn the_new_shapes_with_unknown_fields_still_parse_in_the_raw_client() {
    let sim = start_with(|c| c.data_assets = 5);
    let api = Api::new(&sim);
    api.finished_run(&sim, HELLO).await;
    let client = raw_client(&sim);
    let job = client.release_capsule(HELLO).await.unwrap().into_inner();
    client
        .attach_pipeline_data_assets(
            PIPELINE,
            &vec![codeocean_raw::types::DataAssetAttachParams {
                id: INPUT.into(),
                mount: None,
            }],
        )
        .await
        .unwrap();
    sim.set_faults(faults("all:unknown=1"));
    let page = client
        .search_data_assets(&Default::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(page.results.len(), 6);
    assert!(
        page.results
            .iter()
            .all(|a| a.type_.as_ref().is_some_and(|t| t.is_unknown()))
    );
    let capsules = client
        .search_capsules(&Default::default())
        .await
        .unwrap()
        .into_inner();
    assert!(!capsules.results.is_empty());
    let panel = client
        .get_pipeline_app_panel(PIPELINE, None)
        .await
        .unwrap()
        .into_inner();
    assert_eq!(panel.processes.len(), 2);
    assert_eq!(panel.data_assets.len(), 1);
    let job = client
        .get_capsule_release_job(HELLO, &job.job_id)
        .await
        .unwrap()
        .into_inner();
    assert!(
        job.status.is_some_and(|s| s.is_unknown()),
        "status is mangled"
    );
    client.get_capsule_permissions(HELLO).await.unwrap();
    client.get_custom_metadata().await.unwrap();
    let files = client
        .list_data_asset_files(
            INPUT,
            &codeocean_raw::types::ListResultsRequest {
                path: String::new(),
            },
        )
        .await
        .unwrap()
        .into_inner();
    assert!(!files.items.is_empty());
    let raw = api.post("/data_assets/search", json!({})).await.json();
    assert!(raw.get("x_sim_added").is_some(), "{raw}");
}
