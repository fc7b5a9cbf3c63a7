//! Oversized and malformed bodies, and many concurrent clients.

use serde_json::json;

use crate::*;

#[tokio::test]
async fn oversized_and_malformed_bodies_are_4xx_and_the_server_keeps_serving() {
    let sim = start();
    let api = Api::new(&sim);
    let id = api.finished_run(&sim, HELLO).await;
    let big = {
        // A valid JSON document of 10 MiB.
        let mut b = br#"{"capsule_id": ""#.to_vec();
        b.resize(10 << 20, b'a');
        b.extend_from_slice(br#""}"#);
        b
    };
    for path in [
        "/computations".to_owned(),
        format!("/computations/{id}/results"),
        "/data_assets".into(),
    ] {
        // The client sees the answer (not a broken pipe while it is still sending).
        let r = api.post_raw(&path, big.clone()).await;
        r.expect(413);
        r.message();
    }
    let anonymous = send(
        reqwest::Client::new()
            .post(api.url("/computations"))
            .body(big.clone()),
    )
    .await;
    assert!(
        (400..500).contains(&anonymous.status),
        "{}",
        anonymous.status
    );
    let r = api
        .send(
            api.http
                .put(api.url(&format!("/data_assets/{INPUT}")))
                .header("content-type", "application/json")
                .body(big),
        )
        .await;
    r.expect(413);

    for (path, body) in [
        ("/computations", b"{\"capsule_id\": \"\xff\xfe\"}".to_vec()),
        ("/computations", b"\xef\xbb\xbf{}".to_vec()),
        ("/data_assets", b"{\"name\": \"\xc3\x28\"}".to_vec()),
        ("/computations", "[".repeat(100_000).into_bytes()),
        (
            "/computations",
            format!("{}{}", "[".repeat(120), "]".repeat(120)).into_bytes(),
        ),
    ] {
        let r = api.post_raw(path, body).await;
        r.expect(400);
        r.message();
    }
    let r = api
        .post(
            &format!("/computations/{id}/results"),
            json!({ "path": "\u{0}" }),
        )
        .await;
    r.expect(404);

    // Still serving.
    api.get(&format!("/capsules/{HELLO}")).await.expect(200);
    api.run(json!({ "capsule_id": HELLO })).await;
    assert!(sim.stats().statuses.keys().all(|s| *s < 500));
}

#[tokio::test]
async fn a_thousand_concurrent_pollers_all_succeed() {
    let sim = start();
    let api = Api::new(&sim);
    let id = api.run(json!({ "capsule_id": HELLO })).await;
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(1_000)
        .build()
        .unwrap();
    let url = api.url(&format!("/computations/{id}"));
    sim.clear_requests();
    let polls = (0..1_000).map(|_| {
        let req = http
            .get(&url)
            .header(reqwest::header::AUTHORIZATION, basic(TOKEN));
        async move {
            let resp = req.send().await?;
            let status = resp.status().as_u16();
            let body: serde_json::Value = resp.json().await?;
            Ok::<_, reqwest::Error>((status, body["state"].as_str().map(str::to_owned)))
        }
    });
    let answers = futures_util::future::join_all(polls).await;
    for a in &answers {
        match a {
            Ok((200, Some(state))) => assert_eq!(state, "initializing"),
            other => panic!("{other:?}"),
        }
    }
    let stats = sim.stats();
    assert_eq!(stats.counts["get_computation"], 1_000);
    assert_eq!(stats.statuses[&200], 1_000);
    assert_eq!(sim.requests().len(), 1_000);
}
