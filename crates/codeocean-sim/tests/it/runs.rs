//! Run requests: validation, pipelines, rename, delete, stop and the per-capsule list.

use serde_json::json;

use crate::*;

const NOBODY: &str = "00000000-0000-4000-8000-000000000000";

#[tokio::test]
async fn bad_run_requests_are_refused_naming_what_is_wrong() {
    let sim = start();
    let api = Api::new(&sim);
    let cases = [
        (json!({}), 400, "capsule_id"),
        (json!({ "data_assets": [] }), 400, "capsule_id"),
        (json!({ "capsule_id": NOBODY }), 404, NOBODY),
        (json!({ "pipeline_id": NOBODY }), 404, NOBODY),
        (
            json!({ "capsule_id": HELLO, "data_assets": [{ "id": NOBODY }] }),
            400,
            "data_assets[0].id",
        ),
        (
            json!({ "capsule_id": HELLO, "data_assets": [{ "id": INPUT }, { "id": NOBODY }] }),
            400,
            "data_assets[1].id",
        ),
        (
            json!({ "capsule_id": HELLO, "version": "1" }),
            400,
            "version",
        ),
        (json!({ "capsule_id": HELLO, "version": 3 }), 400, "version"),
        (json!({ "capsule_id": 7 }), 400, "capsule_id"),
        (
            json!({ "capsule_id": HELLO, "parameters": "a" }),
            400,
            "parameters",
        ),
        (
            json!({ "capsule_id": HELLO, "parameters": ["a", 2] }),
            400,
            "parameters[1]",
        ),
        (
            json!({ "capsule_id": HELLO, "parameters": ["a", "b", "c"] }),
            400,
            "parameters",
        ),
        (
            json!({ "capsule_id": HELLO, "data_assets": [{ "id": 5 }] }),
            400,
            "data_assets[0].id",
        ),
        (
            json!({ "capsule_id": HELLO, "named_parameters": [{ "param_name": "nope", "value": "1" }] }),
            400,
            "named_parameters[0].param_name",
        ),
        (
            json!({ "capsule_id": HELLO, "named_parameters": [{ "param_name": "count" }] }),
            400,
            "named_parameters[0]",
        ),
        (
            json!({ "capsule_id": HELLO, "processes": [{ "name": "capsule_align_1" }] }),
            400,
            "processes[0]",
        ),
        (
            json!({ "pipeline_id": PIPELINE, "processes": [{ "name": "capsule_nope_9" }] }),
            400,
            "processes[0].name",
        ),
        (json!([HELLO]), 400, "invalid"),
        (json!("capsule"), 400, "invalid"),
    ];
    for (body, status, needle) in cases {
        let r = api.post("/computations", body.clone()).await;
        r.expect(status);
        let m = r.message();
        assert!(m.contains(needle), "{body}: `{needle}` not in {m:?}");
    }
    for raw in [
        &b"{"[..],
        b"",
        b"{\"capsule_id\": \"c0ffee00-0000-4000-8000-000000000001\",}",
        b"null",
        b"{\"capsule_id\": \"\xff\"}",
    ] {
        let r = api.post_raw("/computations", raw.to_vec()).await;
        r.expect(400);
        r.message();
    }
    // None of that started anything.
    for capsule in [HELLO, PIPELINE] {
        let list = api.get(&format!("/capsules/{capsule}/computations")).await;
        assert_eq!(list.expect(200).json(), json!([]));
    }
}

#[tokio::test]
async fn nulls_are_absent_fields_and_pipelines_take_processes() {
    let sim = start();
    let api = Api::new(&sim);
    // What the official Python SDK sends: every unset field as null.
    let with_nulls = json!({
        "capsule_id": HELLO,
        "pipeline_id": null,
        "version": null,
        "resume_run_id": null,
        "data_assets": [{ "id": INPUT, "mount": null }],
        "parameters": ["hi", "3"],
        "named_parameters": null,
        "processes": null,
        "nextflow_profile": null,
    });
    let id = api.run(with_nulls).await;
    let c = api.computation(&id).await;
    assert_eq!(
        c["data_assets"],
        json!([{ "id": INPUT, "mount": "reference" }])
    );
    assert_eq!(c["parameters"][0]["value"], "hi");
    assert_eq!(c["parameters"][0]["name"], "greeting");

    // Both ids: the capsule wins.
    let both = api
        .run(json!({ "capsule_id": HELLO, "pipeline_id": PIPELINE, "version": 2 }))
        .await;
    let list = api.get(&format!("/capsules/{HELLO}/computations")).await;
    let ids: Vec<_> = list
        .expect(200)
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect();
    assert!(ids.contains(&both));

    // A pipeline run with per-process parameters.
    let p = api
        .post(
            "/computations",
            json!({
                "pipeline_id": PIPELINE,
                "nextflow_profile": "local",
                "processes": [
                    { "name": "capsule_align_1", "parameters": ["--fast"] },
                    { "name": "capsule_count_2", "named_parameters": [{ "param_name": "min", "value": "3" }] },
                ],
            }),
        )
        .await;
    p.expect(200);
    let p = p.json();
    assert_fields(&p, COMPUTATION_FIELDS);
    let processes = p["processes"].as_array().unwrap();
    assert_eq!(processes.len(), 2);
    assert_eq!(processes[0]["name"], "capsule_align_1");
    assert_eq!(processes[0]["parameters"][0]["value"], "--fast");
    assert_eq!(processes[1]["parameters"][0]["param_name"], "min");
    assert_eq!(p["nextflow_profile"], "local");
    let pid = p["id"].as_str().unwrap().to_owned();
    sim.advance(PAST_THE_END);
    let done = api.computation(&pid).await;
    assert_eq!(done["end_status"], "succeeded");
    let listed = api
        .post(
            &format!("/computations/{pid}/results"),
            json!({ "path": "capsule_count_2" }),
        )
        .await;
    assert_eq!(listed.expect(200).json()["items"][0]["name"], "counts.tsv");
    // The pipeline's runs are listed under its id.
    let runs = api.get(&format!("/capsules/{PIPELINE}/computations")).await;
    assert_eq!(runs.expect(200).json().as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn rename_delete_stop_and_list() {
    let sim = start();
    let api = Api::new(&sim);
    let a = api.run(json!({ "capsule_id": HELLO })).await;
    let b = api.run(json!({ "capsule_id": HELLO })).await;
    let f = api.run(json!({ "capsule_id": FAILS })).await;
    assert!(a != b && b != f);

    // Rename through the query string.
    let patch = |id: &str, query: &[(&str, &str)]| {
        let req = api
            .http
            .patch(api.url(&format!("/computations/{id}")))
            .query(query);
        api.send(req)
    };
    let r = patch(&a, &[("name", "my run & co/ü")]).await;
    r.expect(204);
    assert!(r.body.is_empty());
    assert_eq!(api.computation(&a).await["name"], "my run & co/ü");
    for query in [
        &[][..],
        &[("name", "")],
        &[("name", "  ")],
        &[("title", "x")],
    ] {
        let r = patch(&a, query).await;
        r.expect(400);
        assert!(r.message().contains("name"));
    }
    patch(NOBODY, &[("name", "x")]).await.expect(404).message();
    assert_eq!(api.computation(&a).await["name"], "my run & co/ü");

    // The per-capsule lists hold that capsule's runs only.
    let api_ref = &api;
    let list = |capsule: &str| {
        let path = format!("/capsules/{capsule}/computations");
        let api = api_ref;
        async move {
            let r = api.get(&path).await;
            let mut ids: Vec<String> = r
                .expect(200)
                .json()
                .as_array()
                .unwrap()
                .iter()
                .map(|c| {
                    assert_fields(c, COMPUTATION_FIELDS);
                    c["id"].as_str().unwrap().to_owned()
                })
                .collect();
            ids.sort();
            ids
        }
    };
    let mut hello = vec![a.clone(), b.clone()];
    hello.sort();
    assert_eq!(list(HELLO).await, hello);
    assert_eq!(list(FAILS).await, vec![f.clone()]);
    api.get(&format!("/capsules/{NOBODY}/computations"))
        .await
        .expect(404)
        .message();

    // Stop: ends `completed` / `stopped` at once; only once.
    sim.advance(std::time::Duration::from_secs(5));
    assert_eq!(api.computation(&b).await["state"], "running");
    assert!(sim.stop_computation(&b));
    assert!(!sim.stop_computation(&b));
    assert!(!sim.stop_computation(NOBODY));
    let stopped = api.computation(&b).await;
    assert_eq!(stopped["state"], "completed", "{stopped}");
    assert_eq!(stopped["end_status"], "stopped", "{stopped}");
    assert!(stopped["exit_code"].is_i64());
    let run_time = stopped["run_time"].clone();
    sim.advance(PAST_THE_END);
    assert_eq!(
        api.computation(&b).await["run_time"],
        run_time,
        "the clock stopped"
    );
    assert!(
        !sim.stop_computation(&a),
        "a finished run cannot be stopped"
    );

    // Delete: 204, then gone everywhere.
    let delete = |id: &str| api.send(api.http.delete(api.url(&format!("/computations/{id}"))));
    let r = delete(&a).await;
    r.expect(204);
    assert!(r.body.is_empty());
    api.get(&format!("/computations/{a}"))
        .await
        .expect(404)
        .message();
    delete(&a).await.expect(404).message();
    assert!(sim.result_content(&a, "output.txt").is_none());
    assert_eq!(list(HELLO).await, vec![b.clone()]);
    // Deleting a running one works too.
    let c = api.run(json!({ "capsule_id": HELLO })).await;
    delete(&c).await.expect(204);
    api.get(&format!("/computations/{c}")).await.expect(404);
}
