//! Legacy servers lack `results/urls`, modern ones `results/download_url`: a missing route looks
//! like an unknown route (404, empty body), a missing file like a missing file (404, JSON).

use codeocean_sim::ApiGeneration;
use serde_json::{Value, json};

use crate::*;

/// What the two routes answer for an existing file: (urls present, download_url present).
async fn routes(api: &Api, id: &str) -> (bool, bool) {
    let mut present = [false; 2];
    for (i, route) in ["urls", "download_url"].into_iter().enumerate() {
        let r = api
            .get(&format!(
                "/computations/{id}/results/{route}?path=output.txt"
            ))
            .await;
        present[i] = match r.status {
            200 => {
                let v = r.json();
                let key = if route == "urls" {
                    "download_url"
                } else {
                    "url"
                };
                assert!(v[key].as_str().unwrap().starts_with("http://"), "{v}");
                true
            }
            404 => {
                assert!(
                    r.body.is_empty(),
                    "{route}: a removed route has an empty body"
                );
                // Exactly what an unknown route gets.
                let unknown = api
                    .get(&format!("/computations/{id}/results/elsewhere"))
                    .await;
                assert_eq!(unknown.status, 404);
                assert_eq!(unknown.body, r.body);
                false
            }
            s => panic!("{route}: {s}"),
        };
        // A missing file on a present route: 404 with a JSON message.
        if present[i] {
            let missing = api
                .get(&format!(
                    "/computations/{id}/results/{route}?path=missing.txt"
                ))
                .await;
            missing.expect(404);
            assert!(missing.message().contains("missing.txt"));
        }
    }
    (present[0], present[1])
}

#[tokio::test]
async fn each_generation_has_its_routes() {
    for (generation, want) in [
        (ApiGeneration::Legacy, (false, true)),
        (ApiGeneration::Modern, (true, false)),
        (ApiGeneration::Both, (true, true)),
    ] {
        let sim = start_with(|c| c.api = generation);
        let api = Api::new(&sim);
        let id = api.finished_run(&sim, HELLO).await;
        assert_eq!(routes(&api, &id).await, want, "{generation:?}");
    }
}

#[tokio::test]
async fn the_typed_client_sees_the_status_and_the_empty_body() {
    let sim = start_with(|c| c.api = ApiGeneration::Legacy);
    let api = Api::new(&sim);
    let id = api.finished_run(&sim, HELLO).await;
    let client = raw_client(&sim);
    match client.get_result_file_urls(&id, "output.txt").await {
        Err(codeocean_raw::Error::ErrorResponse(r)) => assert_eq!(r.status(), 404),
        other => panic!("{other:?}"),
    }
    let url = client
        .get_result_file_download_url(&id, "output.txt")
        .await
        .unwrap()
        .into_inner()
        .url;
    send(reqwest::Client::new().get(url)).await.expect(200);
}

#[tokio::test]
async fn the_generation_switches_at_runtime_in_process_and_through_the_admin_route() {
    let sim = start();
    let api = Api::new(&sim);
    let id = api.finished_run(&sim, HELLO).await;
    assert_eq!(routes(&api, &id).await, (true, true));
    sim.set_api(ApiGeneration::Legacy);
    assert_eq!(routes(&api, &id).await, (false, true));
    sim.set_api(ApiGeneration::Modern);
    assert_eq!(routes(&api, &id).await, (true, false));

    // The admin routes need no token.
    let admin = reqwest::Client::new();
    let config_url = format!("{}/__sim/config", sim.origin());
    let set = |body: Value| {
        let req = admin.put(&config_url).json(&body);
        async move { send(req).await }
    };
    let r = set(json!({ "api": "legacy" })).await;
    r.expect(200);
    assert_eq!(r.json()["api"], "legacy");
    assert_eq!(routes(&api, &id).await, (false, true));
    let current = send(admin.get(&config_url)).await;
    assert_eq!(current.expect(200).json()["api"], "legacy");
    set(json!({ "api": "both" })).await.expect(200);
    assert_eq!(routes(&api, &id).await, (true, true));
    // Bad updates change nothing.
    for bad in [json!({ "api": "future" }), json!({ "apis": "legacy" })] {
        set(bad).await.expect(400).message();
    }
    assert_eq!(routes(&api, &id).await, (true, true));
}
