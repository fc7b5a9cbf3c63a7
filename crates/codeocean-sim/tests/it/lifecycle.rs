//! Runs move through their states on the simulated clock; data assets made from them settle.

use std::time::Duration;

use serde_json::json;

use crate::*;

#[tokio::test]
async fn a_run_moves_through_its_states_and_reports_its_outcome_only_at_the_end() {
    let sim = start();
    let api = Api::new(&sim);

    let started = api
        .post("/computations", json!({ "capsule_id": HELLO }))
        .await;
    started.expect(200);
    let started = started.json();
    assert_fields(&started, COMPUTATION_FIELDS);
    assert_eq!(started["state"], "initializing");
    let id = started["id"].as_str().unwrap().to_owned();

    // HELLO: 2 s initializing, 10 s running, 2 s finalizing (simulated).
    let mut last_run_time = 0;
    let mut at = 0;
    for (to, state) in [
        (1, "initializing"),
        (7, "running"),
        (13, "finalizing"),
        (20, "completed"),
    ] {
        sim.advance(Duration::from_secs(to - at));
        at = to;
        let c = api.computation(&id).await;
        assert_fields(&c, COMPUTATION_FIELDS);
        assert_eq!(c["id"], id.as_str());
        assert_eq!(c["state"], state, "{c}");
        let run_time = c["run_time"].as_i64().unwrap();
        assert!(run_time >= last_run_time, "run_time went back: {c}");
        last_run_time = run_time;
        let ended = state == "completed";
        for late in ["end_status", "exit_code"] {
            assert_eq!(c.get(late).is_some(), ended, "{late} at {state}: {c}");
        }
        assert_eq!(c["has_results"], ended, "{c}");
        if ended {
            assert_eq!(c["end_status"], "succeeded");
            assert_eq!(c["exit_code"], 0);
            assert_eq!(c["run_time"], 14, "run_time stops at the end: {c}");
            assert!(c["result_size"].as_f64().unwrap() > 0.0);
        }
    }

    // The same object in the capsule's list, and the capsule itself.
    let list = api.get(&format!("/capsules/{HELLO}/computations")).await;
    list.expect(200);
    let list = list.json();
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_fields(&list[0], COMPUTATION_FIELDS);
    assert_eq!(list[0]["end_status"], "succeeded");
    let capsule = api.get(&format!("/capsules/{HELLO}")).await;
    capsule.expect(200);
    let capsule = capsule.json();
    assert_fields(&capsule, CAPSULE_FIELDS);
    assert_eq!(capsule["id"], HELLO);
    assert!(
        ["release", "non_release"].contains(&capsule["status"].as_str().unwrap()),
        "{capsule}"
    );
    // The built-in input data asset.
    let asset = api.get(&format!("/data_assets/{INPUT}")).await;
    asset.expect(200);
    let asset = asset.json();
    assert_fields(&asset, DATA_ASSET_FIELDS);
    assert_eq!(
        (asset["state"].as_str(), asset["type"].as_str()),
        (Some("ready"), Some("dataset"))
    );

    // The typed client reads every stage too.
    let typed = raw_client(&sim)
        .get_computation(&id)
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        typed.state,
        Some(codeocean_raw::open::ComputationState::Completed)
    );
    assert_eq!(typed.exit_code, Some(0));
}

#[tokio::test]
async fn the_failing_capsule_fails_and_data_assets_settle_by_their_source() {
    let sim = start();
    let api = Api::new(&sim);
    let asset_from = |id: &str| {
        json!({
            "name": format!("from {id}"),
            "mount": "from-run",
            "tags": ["t"],
            "source": { "computation": { "id": id } },
        })
    };

    // From a computation that is still running: refused.
    let failing = api.run(json!({ "capsule_id": FAILS })).await;
    let early = api.post("/data_assets", asset_from(&failing)).await;
    early.expect(400);
    assert!(
        early.message().contains("source.computation.id"),
        "{}",
        early.message()
    );

    sim.advance(PAST_THE_END);
    let c = api.computation(&failing).await;
    assert_fields(&c, COMPUTATION_FIELDS);
    assert_eq!(c["end_status"], "failed", "{c}");
    assert_eq!(c["exit_code"], 1, "{c}");
    assert!(["completed", "failed"].contains(&c["state"].as_str().unwrap()));

    let ok = api.finished_run(&sim, HELLO).await;
    let mut assets = vec![];
    for (source, settles) in [(&failing, "failed"), (&ok, "ready")] {
        let created = api.post("/data_assets", asset_from(source)).await;
        created.expect(200);
        let created = created.json();
        assert_fields(&created, DATA_ASSET_FIELDS);
        assert_eq!(created["state"], "draft");
        assert_eq!(created["type"], "result");
        assert!(created.get("failure_reason").is_none());
        assert_eq!(created["provenance"]["computation"], source.as_str());
        assets.push((created["id"].as_str().unwrap().to_owned(), settles));
    }
    sim.advance(Duration::from_secs(10));
    for (id, settles) in assets {
        let a = api.get(&format!("/data_assets/{id}")).await;
        a.expect(200);
        let a = a.json();
        assert_fields(&a, DATA_ASSET_FIELDS);
        assert_eq!(a["state"], settles, "{a}");
        assert_eq!(
            a["failure_reason"].is_string(),
            settles == "failed",
            "failure_reason: {a}"
        );
    }

    // Unknown source, and an update of an asset.
    let unknown = api
        .post(
            "/data_assets",
            asset_from("00000000-0000-4000-8000-000000000000"),
        )
        .await;
    unknown.expect(400);
    let renamed = api
        .send(
            api.http
                .put(api.url(&format!("/data_assets/{INPUT}")))
                .json(&json!({ "name": "Renamed", "tags": ["a", "b"], "description": null })),
        )
        .await;
    renamed.expect(200);
    let renamed = renamed.json();
    assert_fields(&renamed, DATA_ASSET_FIELDS);
    assert_eq!(renamed["name"], "Renamed");
    assert_eq!(renamed["tags"], json!(["a", "b"]));
}

/// `GET /__sim/computations` tells when each run began and ends on the real clock, and the
/// request log tells when each request arrived: what a benchmark needs to measure how late a
/// waiter noticed the end of a run.
#[tokio::test]
async fn the_admin_timeline_and_the_request_log_are_on_the_real_clock() {
    let unix = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64()
    };
    // 1,000 simulated seconds per real second: HELLO's 14 s take 14 ms of real time.
    let sim = start_with(|c| c.time_scale = 1000.0);
    let api = Api::new(&sim);
    let timeline = || async {
        let r = api
            .send(api.http.get(format!("{}/__sim/computations", sim.origin())))
            .await;
        r.expect(200);
        r.json()
    };
    assert_eq!(timeline().await, json!([]));

    let before = unix();
    let first = api.run(json!({ "capsule_id": HELLO })).await;
    let second = api.run(json!({ "capsule_id": FAILS })).await;
    let after = unix();
    let list = timeline().await;
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 2, "{list:?}");
    assert_eq!(list[0]["id"], first.as_str(), "oldest first: {list:?}");
    assert_eq!(list[1]["id"], second.as_str());
    assert_eq!(list[0]["runnable_id"], HELLO);
    let created = list[0]["created_at"].as_f64().unwrap();
    let ends = list[0]["ends_at"].as_f64().unwrap();
    // Both are computed from the clock at the time of the listing: allow its rounding.
    assert!(
        (before - 0.01..=after + 0.01).contains(&created),
        "created_at {created} outside [{before}, {after}]"
    );
    assert!(
        ((ends - created) - 0.014).abs() < 0.002,
        "HELLO lasts 14 simulated seconds: {list:?}"
    );

    // Once its end has passed, the run reports `completed` and the listing `ended`.
    while unix() < ends + 0.005 {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let polled_from = unix();
    assert_eq!(api.computation(&first).await["state"], "completed");
    let polled_to = unix();
    let list = timeline().await;
    assert_eq!(list[0]["phase"], "ended", "{list}");
    assert!((list[0]["ends_at"].as_f64().unwrap() - ends).abs() < 0.002);

    // The poll is in the log with its arrival time.
    let log = sim.requests();
    let poll = log
        .iter()
        .rfind(|r| r.operation == "get_computation")
        .expect("the poll is logged");
    assert_eq!(poll.path, format!("/api/v1/computations/{first}"));
    assert!(
        (polled_from..=polled_to).contains(&poll.at),
        "arrived at {} outside [{polled_from}, {polled_to}]",
        poll.at
    );
    assert!(log.windows(2).all(|w| w[0].at <= w[1].at), "{log:?}");
}
