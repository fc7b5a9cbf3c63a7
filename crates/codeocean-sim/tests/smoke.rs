//! The simulator over HTTP: auth, the storage origin's rules, API generations, bad input.

use std::time::Duration;

use codeocean_sim::{ApiGeneration, Config, Simulator};
use serde_json::Value;

const HELLO: &str = "c0ffee00-0000-4000-8000-000000000001";

async fn finished_run(sim: &Simulator, http: &reqwest::Client) -> String {
    let run: Value = http
        .post(format!("{}/computations", sim.api_url()))
        .basic_auth(sim.token(), Some(""))
        .json(&serde_json::json!({"capsule_id": HELLO, "data_assets": null}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = run["id"].as_str().unwrap().to_owned();
    assert_eq!(run["state"], "initializing");
    assert!(run.get("end_status").is_none());
    sim.advance(Duration::from_secs(60));
    id
}

#[tokio::test]
async fn auth_storage_rules_and_generations() {
    let sim = Simulator::start(Config::new("tok")).unwrap();
    let http = reqwest::Client::new();
    let api = sim.api_url();

    // No or wrong token: 401 with a JSON message.
    for auth in [None, Some("wrong")] {
        let mut req = http.get(format!("{api}/capsules/{HELLO}"));
        if let Some(t) = auth {
            req = req.basic_auth(t, Some(""));
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status(), 401);
        assert!(resp.json::<Value>().await.unwrap()["message"].is_string());
    }

    let id = finished_run(&sim, &http).await;
    let c: Value = http
        .get(format!("{api}/computations/{id}"))
        .basic_auth("tok", Some(""))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for field in [
        "id",
        "created",
        "name",
        "owner",
        "run_time",
        "state",
        "end_status",
        "exit_code",
    ] {
        assert!(c.get(field).is_some(), "{field} missing in {c}");
    }
    assert_eq!(
        (c["state"].as_str(), c["end_status"].as_str()),
        (Some("completed"), Some("succeeded"))
    );

    let urls: Value = http
        .get(format!(
            "{api}/computations/{id}/results/urls?path=tables/per-sample/s2.csv"
        ))
        .basic_auth("tok", Some(""))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let url = urls["download_url"].as_str().unwrap();
    assert!(url.starts_with(sim.storage_origin()));
    let want = sim
        .result_content(&id, "tables/per-sample/s2.csv")
        .unwrap()
        .read(0, u64::MAX);
    let resp = http.get(url).send().await.unwrap();
    assert_eq!(resp.content_length(), Some(want.len() as u64));
    assert_eq!(resp.bytes().await.unwrap().as_ref(), want.as_slice());
    let part = http
        .get(url)
        .header("range", "bytes=10-19")
        .send()
        .await
        .unwrap();
    assert_eq!(part.status(), 206);
    assert_eq!(part.bytes().await.unwrap().as_ref(), &want[10..20]);
    // The token (or any credential) is refused by storage; a tampered signature too.
    let with_auth = http
        .get(url)
        .basic_auth("tok", Some(""))
        .send()
        .await
        .unwrap();
    assert_eq!(with_auth.status(), 400);
    let tampered = http.get(format!("{url}0")).send().await.unwrap();
    assert_eq!(tampered.status(), 403);
    assert_eq!(sim.stats().storage_requests_with_authorization, 1);

    // A removed route answers like an unknown one (404, empty body); a missing file on a
    // present route answers 404 with a JSON message.
    sim.set_api(ApiGeneration::Legacy);
    let gone = http
        .get(format!(
            "{api}/computations/{id}/results/urls?path=output.txt"
        ))
        .basic_auth("tok", Some(""))
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), 404);
    assert!(gone.bytes().await.unwrap().is_empty());
    let missing = http
        .get(format!(
            "{api}/computations/{id}/results/download_url?path=nope.txt"
        ))
        .basic_auth("tok", Some(""))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    assert!(missing.json::<Value>().await.unwrap()["message"].is_string());

    // Hostile paths and bodies get 4xx, and the server keeps serving.
    for (path, body) in [
        ("../../etc/passwd", None),
        ("a/../../b", None),
        ("", Some(b"{\"path\": \"\xff\"}".to_vec())),
        ("", Some(vec![b'['; 10 << 20])),
    ] {
        let req = match body {
            None => http
                .post(format!("{api}/computations/{id}/results"))
                .json(&serde_json::json!({ "path": path })),
            Some(b) => http
                .post(format!("{api}/computations/{id}/results"))
                .body(b),
        };
        let status = req
            .basic_auth("tok", Some(""))
            .send()
            .await
            .unwrap()
            .status();
        assert!(status.is_client_error(), "{path:?}: {status}");
    }
    let ok = http
        .get(format!("{api}/capsules/{HELLO}"))
        .basic_auth("tok", Some(""))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
}

#[tokio::test]
async fn a_thousand_concurrent_pollers() {
    let sim = Simulator::start(Config::new("tok")).unwrap();
    let http = reqwest::Client::new();
    let id = finished_run(&sim, &http).await;
    let url = format!("{}/computations/{id}", sim.api_url());
    let polls = (0..1000).map(|_| {
        let req = http.get(&url).basic_auth("tok", Some(""));
        async move { req.send().await.map(|r| r.status().as_u16()) }
    });
    let statuses = futures_util::future::join_all(polls).await;
    assert!(
        statuses.iter().all(|s| matches!(s, Ok(200))),
        "{:?}",
        statuses.iter().find(|s| !matches!(s, Ok(200)))
    );
    assert_eq!(sim.stats().counts["get_computation"], 1000);
}
