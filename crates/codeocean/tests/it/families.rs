//! The operations of each family (capsules, pipelines, computations, data assets, custom
//! metadata) through the high-level client: what it sends, what it decodes, what it retries,
//! and how its release waiter ends. Played by a scripted server that answers by route, but
//! for searches over many assets, which the simulator makes.

use std::sync::{Arc, Mutex};

use codeocean::{
    Attachments, DataAssetSearch, EveryoneRole, PermissionsUpdate, ReleaseJobStatus, Transfer,
    UserRole,
};
use futures_util::StreamExt as _;
use tokio::net::TcpStream;

use super::scripted::{Reply, Seen, fast_client, ok, serve};
use super::*;

/// `METHOD /path?query` of a request, without `/api/v1`.
fn line(seen: &Seen) -> String {
    let mut parts = seen.head.split_whitespace();
    let method = parts.next().unwrap_or_default();
    let target = parts.next().unwrap_or_default();
    format!(
        "{method} {}",
        target.strip_prefix("/api/v1").unwrap_or(target)
    )
}

type Routes = Arc<dyn Fn(&str, &str) -> Reply + Send + Sync>;

/// A server answering `routes(line, body)`; returns its client and the log of requests.
async fn server(routes: Routes) -> (Client, Arc<Mutex<Vec<Seen>>>) {
    let (origin, log) = serve(Arc::new(move |seen: &Seen, _: &mut TcpStream| {
        routes(&line(seen), &seen.body)
    }))
    .await;
    (fast_client(&origin), log)
}

fn requests(log: &Mutex<Vec<Seen>>) -> Vec<(String, String)> {
    log.lock()
        .unwrap()
        .iter()
        .map(|s| (line(s), s.body.clone()))
        .collect()
}

fn empty() -> Reply {
    Reply::Full("204 No Content", String::new(), String::new())
}

fn status(code: &'static str) -> Reply {
    Reply::Full(code, String::new(), r#"{"message":"try later"}"#.into())
}

#[tokio::test]
async fn capsules_and_pipelines() {
    let (c, log) = server(Arc::new(|line, _| match line {
        "GET /pipelines/p1" => ok(
            r#"{"id":"p1","name":"Pipe","status":"release","brand_new_field":1,"created":1700000000}"#,
        ),
        "GET /pipelines/p1/computations" => ok(r#"[{"id":"r1","state":"completed"}]"#),
        "GET /capsules/c1/app_panel?version=3" => ok(
            r#"{"general":{"title":"T"},"parameters":[{"name":"n","type":"slider"}],"processes":[{"name":"x","parameters":{"name":"one"}}]}"#,
        ),
        "PATCH /capsules/c1/archive?archive=true" | "DELETE /pipelines/p1" => empty(),
        "POST /capsules/c1/sync" => ok(r#"{"pulled":2}"#),
        "POST /capsules/c1/data_assets" | "POST /pipelines/p1/data_assets" => ok(
            r#"[{"id":"d1","mount":"ref","mount_state":"mounting","ready":false},{"id":"d2"}]"#,
        ),
        "DELETE /capsules/c1/data_assets/" | "POST /pipelines/p1/permissions" => empty(),
        "GET /capsules/c1/permissions" => {
            ok(r#"{"users":[{"email":"a@x","role":"owner"}],"everyone":"somebody_new"}"#)
        }
        _ => Reply::Full("404 Not Found", String::new(), r#"{"message":"no"}"#.into()),
    }))
    .await;

    let p = c.get_pipeline("p1").await.unwrap();
    assert_eq!(
        (p.name.as_deref(), p.status.unwrap().as_str()),
        (Some("Pipe"), "release")
    );
    assert_eq!(
        c.list_pipeline_computations("p1").await.unwrap()[0].id,
        "r1"
    );
    let panel = c.capsule_app_panel("c1", Some(3)).await.unwrap();
    assert!(panel.parameters[0].type_.as_ref().unwrap().is_unknown());
    assert_eq!(
        panel.processes[0]
            .parameters
            .as_ref()
            .unwrap()
            .as_slice()
            .len(),
        1
    );
    c.archive_capsule("c1").await.unwrap();
    c.delete_pipeline("p1").await.unwrap();
    let sync = c.sync_capsule("c1").await.unwrap();
    assert_eq!((sync.pulled, sync.pushed), (Some(2), None));
    let assets = Attachments::new()
        .data_asset("d1", "ref")
        .data_asset("d2", "");
    let attached = c.attach_capsule_data_assets("c1", &assets).await.unwrap();
    assert_eq!(attached[0].mount_state.as_deref(), Some("mounting"));
    c.attach_pipeline_data_assets("p1", &assets).await.unwrap();
    c.detach_capsule_data_assets("c1", &["d1", "d2"])
        .await
        .unwrap();
    let perms = c.get_capsule_permissions("c1").await.unwrap();
    assert_eq!(perms.users.unwrap()[0].role, UserRole::Owner);
    assert!(perms.everyone.unwrap().is_unknown());
    c.update_pipeline_permissions(
        "p1",
        &PermissionsUpdate::new()
            .user("b@x", UserRole::Viewer)
            .everyone(EveryoneRole::None),
    )
    .await
    .unwrap();

    let seen = requests(&log);
    let body_of = |l: &str| {
        let (_, b) = seen.iter().find(|(line, _)| line == l).unwrap();
        serde_json::from_str::<serde_json::Value>(b).unwrap()
    };
    assert_eq!(
        body_of("POST /capsules/c1/data_assets"),
        serde_json::json!([{"id": "d1", "mount": "ref"}, {"id": "d2"}])
    );
    assert_eq!(
        body_of("DELETE /capsules/c1/data_assets/"),
        serde_json::json!(["d1", "d2"])
    );
    assert_eq!(
        body_of("POST /pipelines/p1/permissions"),
        serde_json::json!({"users": [{"email": "b@x", "role": "viewer"}], "everyone": "none"})
    );
    assert_eq!(seen.len(), 11, "nothing retried: {seen:?}");
}

#[tokio::test]
async fn a_release_is_never_resent_and_its_waiter_tells_failure_from_success() {
    let polls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = polls.clone();
    let (c, log) = server(Arc::new(move |line, _| match line {
        // Each request starts a release: a 503 must not be retried.
        "POST /capsules/c1/release" => status("503 Service Unavailable"),
        "POST /pipelines/p1/release" => ok(r#"{"job_id":"j1","status":"created"}"#),
        "GET /pipelines/p1/release/j1" => {
            let n = counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            ok(match n {
                0 => r#"{"job_id":"j1","status":"started"}"#,
                // A status this client does not know is not final, and not success.
                1 => r#"{"job_id":"j1","status":"verifying"}"#,
                _ => {
                    r#"{"job_id":"j1","status":"completed","release_capsule":"p2","release_version":{"major_version":2,"minor_version":0}}"#
                }
            })
        }
        "GET /capsules/c1/release/j2" => {
            ok(r#"{"job_id":"j2","status":"failed","error":"missing reproducible run"}"#)
        }
        "GET /capsules/c1/release/j3" => ok(r#"{"job_id":"j3","status":"canceled"}"#),
        _ => Reply::Full("404 Not Found", String::new(), r#"{"message":"no"}"#.into()),
    }))
    .await;

    let e = c.release_capsule("c1").await.unwrap_err();
    assert_eq!(e.status(), Some(503));
    assert_eq!(requests(&log).len(), 1, "never re-sent");

    let job = c.release_pipeline("p1").await.unwrap();
    let fast = PollPolicy::default()
        .initial_interval(Duration::from_millis(5))
        .max_interval(Duration::from_millis(20))
        .factor(1.5)
        .max_wait(Some(Duration::from_secs(10)));
    let done = c
        .wait_for_pipeline_release("p1", &job.job_id)
        .poll_policy(fast.clone())
        .await
        .unwrap();
    assert_eq!(done.status, Some(ReleaseJobStatus::Completed));
    assert_eq!(done.release_capsule.as_deref(), Some("p2"));
    assert_eq!(polls.load(std::sync::atomic::Ordering::SeqCst), 3);

    let e = c
        .wait_for_capsule_release("c1", "j2")
        .poll_policy(fast.clone())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ReleaseFailed);
    assert!(e.to_string().contains("missing reproducible run"), "{e}");
    let e = c
        .wait_for_capsule_release("c1", "j3")
        .poll_policy(fast)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ReleaseFailed);
    assert!(e.to_string().contains("canceled"), "{e}");
}

#[tokio::test]
async fn computations_data_assets_and_custom_metadata() {
    let (c, log) = server(Arc::new(|line, _| match line {
        "POST /computations/w1/data_assets" => ok(r#"[{"id":"d1","ready":true}]"#),
        "DELETE /computations/w1/data_assets/" => empty(),
        "DELETE /data_assets/d1" | "PATCH /data_assets/d1/archive?archive=false" => empty(),
        "POST /data_assets/d1/permissions" => empty(),
        "GET /data_assets/d1/permissions" => ok(r#"{"groups":[{"group":"g","role":"discoverable"}]}"#),
        // Starts a background move: a 502 must not be retried.
        "POST /data_assets/d1/transfer" => status("502 Bad Gateway"),
        "GET /custom_metadata" => ok(
            r#"{"fields":[{"name":"samples","type":"number","range":{"min":0}},{"name":"lab","type":"string","allowed_values":["a","b"]}]}"#,
        ),
        _ => Reply::Full("404 Not Found", String::new(), r#"{"message":"no"}"#.into()),
    }))
    .await;

    let attached = c
        .attach_computation_data_assets("w1", &Attachments::new().data_asset("d1", ""))
        .await
        .unwrap();
    assert_eq!(attached[0].ready, Some(true));
    c.detach_computation_data_assets("w1", &["d1"])
        .await
        .unwrap();
    c.delete_data_asset("d1").await.unwrap();
    c.unarchive_data_asset("d1").await.unwrap();
    let perms = c.get_data_asset_permissions("d1").await.unwrap();
    assert_eq!(perms.groups.unwrap()[0].group, "g");
    c.update_data_asset_permissions("d1", &PermissionsUpdate::new().share_assets(true))
        .await
        .unwrap();
    let before = requests(&log).len();
    let e = c
        .transfer_data_asset("d1", &Transfer::to_s3("bucket").prefix("p"))
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(502));
    let seen = requests(&log);
    assert_eq!(seen.len(), before + 1, "a transfer is never re-sent");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&seen[before].1).unwrap(),
        serde_json::json!({"target": {"aws": {"bucket": "bucket", "prefix": "p"}}})
    );
    let schema = c.get_custom_metadata_schema().await.unwrap();
    assert_eq!(schema.fields.len(), 2);
    assert_eq!(schema.fields[1].allowed_values.len(), 2);
}

#[tokio::test]
async fn searching_1000_data_assets_by_100_yields_each_once_through_503s() {
    // A fifth of the search requests are throttled on the way: a search is retried (it only
    // reads), and a retried page yields nothing twice.
    let spec = FaultSpec {
        p503: 0.2,
        ..FaultSpec::default()
    };
    let mut faults = Faults::default();
    faults.set(RouteClass::Search, spec.clone());
    let sim = sim(|c| {
        c.faults = faults;
        c.seed = 7;
    });
    let mut made = sim.add_data_assets(1000);
    sim.clear_requests();
    let c = client(&sim);
    let search = DataAssetSearch::new().query("tag:bulk").page_size(100);
    let t = std::time::Instant::now();
    let found: Vec<_> = tokio::time::timeout(
        Duration::from_secs(60),
        c.search_data_assets(&search).collect(),
    )
    .await
    .expect("the search ends");
    let elapsed = t.elapsed();
    let mut ids: Vec<String> = found.into_iter().map(|r| r.unwrap().id).collect();
    assert_eq!(ids.len(), 1000);
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 1000, "each asset exactly once");
    made.sort();
    assert_eq!(ids, made, "exactly the simulated assets");

    let throttled = spec.tally.counts().status_503;
    assert!(throttled > 0, "the seed draws at least one 503");
    let stats = sim.stats();
    let searches = stats.counts.get("search_data_assets").copied();
    assert_eq!(
        searches,
        Some(10 + throttled),
        "10 pages and one retry per 503"
    );
    assert_eq!(stats.statuses.get(&503).copied(), Some(throttled));
    let pages = sim
        .requests()
        .iter()
        .filter(|r| r.operation == "search_data_assets" && r.status == 200)
        .count();
    assert_eq!(pages, 10);
    eprintln!("1000 assets: {searches:?} search requests ({throttled} of them 503) in {elapsed:?}");
}

/// The simulator with `search:lie_has_more=1`: every page claims more, so paging by offset
/// runs past the end into an empty page that still claims more.
fn lying_sim() -> Simulator {
    let faults: Faults = "search:lie_has_more=1".parse().unwrap();
    sim(|c| {
        c.faults = faults;
        c.data_assets = 250;
    })
}

/// Collects a search with a deadline: a client that trusted the server would never end.
async fn collect_within<T>(
    stream: impl futures_util::Stream<Item = codeocean::Result<T>>,
) -> Vec<codeocean::Result<T>> {
    tokio::time::timeout(Duration::from_secs(20), stream.collect::<Vec<_>>())
        .await
        .expect("the search ends")
}

#[tokio::test]
async fn a_simulated_server_that_lies_about_has_more_ends_data_asset_searches_with_an_error() {
    let sim = lying_sim();
    let c = client(&sim);
    let t = std::time::Instant::now();
    let found = collect_within(
        c.search_data_assets(&DataAssetSearch::new().query("tag:bulk").page_size(100)),
    )
    .await;
    let elapsed = t.elapsed();
    let (last, assets) = found.split_last().unwrap();
    let mut ids: Vec<String> = assets
        .iter()
        .map(|r| r.as_ref().unwrap().id.clone())
        .collect();
    assert_eq!(ids.len(), 250);
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 250, "each asset once before the error");
    let err = last.as_ref().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Paging, "{err}");
    assert!(
        err.to_string().contains("empty page at offset 250"),
        "{err}"
    );
    // Three full pages and the empty one: never a fifth request.
    assert_eq!(sim.stats().counts.get("search_data_assets"), Some(&4));
    eprintln!("lying data asset search: 4 requests, ended in {elapsed:?}");
}

#[tokio::test]
async fn a_simulated_server_that_lies_about_has_more_ends_capsule_searches_with_an_error() {
    let sim = lying_sim();
    let c = client(&sim);
    let capsules = collect_within(c.search_capsules(&codeocean::CapsuleSearch::new())).await;
    let (last, found) = capsules.split_last().unwrap();
    assert!(
        !found.is_empty() && found.iter().all(Result::is_ok),
        "{found:?}"
    );
    let err = last.as_ref().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Paging, "{err}");
    let pipelines = collect_within(c.search_pipelines(&codeocean::CapsuleSearch::new())).await;
    let err = pipelines.last().unwrap().as_ref().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Paging, "{err}");
    let counts = sim.stats().counts;
    assert_eq!(
        (
            counts.get("search_capsules"),
            counts.get("search_pipelines")
        ),
        (Some(&2), Some(&2)),
        "one page with everything, one empty page claiming more"
    );
}

/// The requests and the error text of one call against a server that answers everything
/// `404` (never retried): what a generic method and its flat twin must agree on.
async fn sent<T: std::fmt::Debug>(
    call: impl AsyncFnOnce(&Client) -> codeocean::Result<T>,
) -> (Vec<(String, String)>, String) {
    let (c, log) = server(Arc::new(|_, _| {
        Reply::Full("404 Not Found", String::new(), r#"{"message":"no"}"#.into())
    }))
    .await;
    let error = call(&c).await.unwrap_err().to_string();
    (requests(&log), error)
}

#[tokio::test]
async fn the_app_and_tree_methods_send_what_their_flat_twins_send() {
    use codeocean::{App, Tree};
    let assets = Attachments::new().data_asset("d1", "ref");
    let update = PermissionsUpdate::new().everyone(EveryoneRole::Viewer);
    for (app, id) in [(App::Capsule, "c1"), (App::Pipeline, "p1")] {
        let pipeline = app == App::Pipeline;
        let pairs = [
            (
                sent(async |c| c.get_app(app, id).await).await,
                if pipeline {
                    sent(async |c| c.get_pipeline(id).await).await
                } else {
                    sent(async |c| c.get_capsule(id).await).await
                },
            ),
            (
                sent(async |c| c.list_app_computations(app, id).await).await,
                if pipeline {
                    sent(async |c| c.list_pipeline_computations(id).await).await
                } else {
                    sent(async |c| c.list_capsule_computations(id).await).await
                },
            ),
            (
                sent(async |c| c.app_panel(app, id, Some(2)).await).await,
                if pipeline {
                    sent(async |c| c.pipeline_app_panel(id, Some(2)).await).await
                } else {
                    sent(async |c| c.capsule_app_panel(id, Some(2)).await).await
                },
            ),
            (
                sent(async |c| c.release_app(app, id).await).await,
                if pipeline {
                    sent(async |c| c.release_pipeline(id).await).await
                } else {
                    sent(async |c| c.release_capsule(id).await).await
                },
            ),
            (
                sent(async |c| c.attach_app_data_assets(app, id, &assets).await).await,
                if pipeline {
                    sent(async |c| c.attach_pipeline_data_assets(id, &assets).await).await
                } else {
                    sent(async |c| c.attach_capsule_data_assets(id, &assets).await).await
                },
            ),
            (
                sent(async |c| c.update_app_permissions(app, id, &update).await).await,
                if pipeline {
                    sent(async |c| c.update_pipeline_permissions(id, &update).await).await
                } else {
                    sent(async |c| c.update_capsule_permissions(id, &update).await).await
                },
            ),
        ];
        for (generic, flat) in pairs {
            assert_eq!(generic, flat);
            let (requests, error) = generic;
            assert_eq!(requests.len(), 1, "{requests:?}");
            let family = if pipeline {
                "/pipelines/"
            } else {
                "/capsules/"
            };
            assert!(requests[0].0.contains(family), "{requests:?}");
            assert!(error.contains(&format!("{app} {id}")), "{error}");
        }
        let found = sent(async |c| {
            futures_util::TryStreamExt::try_collect::<Vec<_>>(
                c.search_apps(app, &codeocean::CapsuleSearch::new()),
            )
            .await
        })
        .await;
        let flat = if pipeline {
            sent(async |c| {
                futures_util::TryStreamExt::try_collect::<Vec<_>>(
                    c.search_pipelines(&codeocean::CapsuleSearch::new()),
                )
                .await
            })
            .await
        } else {
            sent(async |c| {
                futures_util::TryStreamExt::try_collect::<Vec<_>>(
                    c.search_capsules(&codeocean::CapsuleSearch::new()),
                )
                .await
            })
            .await
        };
        assert_eq!(found, flat);
    }

    let results = Tree::results("r1");
    let files = Tree::data_asset("d1");
    let pairs = [
        (
            sent(async |c| c.list_folder(&results, "a").await).await,
            sent(async |c| c.list_results("r1", "a").await).await,
        ),
        (
            sent(async |c| c.list_folder(&files, "a").await).await,
            sent(async |c| c.list_data_asset_files("d1", "a").await).await,
        ),
        (
            sent(async |c| c.tree_file_urls(&results, "a/b").await).await,
            sent(async |c| c.file_urls("r1", "a/b").await).await,
        ),
        (
            sent(async |c| c.tree_file_urls(&files, "a/b").await).await,
            sent(async |c| c.data_asset_file_urls("d1", "a/b").await).await,
        ),
    ];
    for (generic, flat) in pairs {
        assert_eq!(generic, flat);
        assert!(!generic.0.is_empty());
    }
    assert_eq!(results.id(), "r1");
    assert_eq!(files.to_string(), "files of data asset d1");
}

#[tokio::test]
async fn archive_and_unarchive_say_which_way_on_the_wire_and_in_errors() {
    use codeocean::App;
    let cases = [
        (
            sent(async |c| c.archive_capsule("c1").await).await,
            "PATCH /capsules/c1/archive?archive=true",
            "archiving capsule c1",
        ),
        (
            sent(async |c| c.unarchive_capsule("c1").await).await,
            "PATCH /capsules/c1/archive?archive=false",
            "unarchiving capsule c1",
        ),
        (
            sent(async |c| c.archive_pipeline("p1").await).await,
            "PATCH /pipelines/p1/archive?archive=true",
            "archiving pipeline p1",
        ),
        (
            sent(async |c| c.unarchive_pipeline("p1").await).await,
            "PATCH /pipelines/p1/archive?archive=false",
            "unarchiving pipeline p1",
        ),
        (
            sent(async |c| c.archive_app(App::Pipeline, "p1").await).await,
            "PATCH /pipelines/p1/archive?archive=true",
            "archiving pipeline p1",
        ),
        (
            sent(async |c| c.unarchive_app(App::Capsule, "c1").await).await,
            "PATCH /capsules/c1/archive?archive=false",
            "unarchiving capsule c1",
        ),
        (
            sent(async |c| c.archive_data_asset("d1").await).await,
            "PATCH /data_assets/d1/archive?archive=true",
            "archiving data asset d1",
        ),
        (
            sent(async |c| c.unarchive_data_asset("d1").await).await,
            "PATCH /data_assets/d1/archive?archive=false",
            "unarchiving data asset d1",
        ),
    ];
    for ((requests, error), line, what) in cases {
        let lines: Vec<&str> = requests.iter().map(|(l, _)| l.as_str()).collect();
        assert_eq!(lines, [line]);
        assert!(error.contains(what), "{error}");
    }
}

#[tokio::test]
async fn searches_are_named_unpin_streams_taken_by_next_without_pin() {
    fn unpin_and_send<S: futures_util::Stream + Unpin + Send + 'static>(s: S) -> S {
        s
    }
    let sim = sim(|c| c.data_assets = 30);
    let c = client(&sim);

    // No `pin!`: `next()` takes the stream as it is.
    let mut found: codeocean::SearchStream<codeocean::Capsule> =
        unpin_and_send(c.search_capsules(&codeocean::CapsuleSearch::new()));
    let mut ids = Vec::new();
    while let Some(capsule) = found.next().await {
        ids.push(capsule.unwrap().id);
    }
    assert!(ids.iter().any(|id| id == HELLO), "{ids:?}");

    let mut assets = unpin_and_send(
        c.search_data_assets(&DataAssetSearch::new().query("tag:bulk").page_size(7)),
    );
    let mut n = 0;
    while let Some(asset) = futures_util::TryStreamExt::try_next(&mut assets)
        .await
        .unwrap()
    {
        assert!(!asset.id.is_empty());
        n += 1;
    }
    assert_eq!(n, 30);
    assert!(format!("{assets:?}").starts_with("SearchStream"));
}
