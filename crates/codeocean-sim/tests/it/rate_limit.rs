//! Rate limits: `rate=N,burst=B` (a token bucket per API token on the real clock) and
//! `max_inflight=N`, in one class or across the API (`api:`, storage left out), as a strict server
//! plays them. No assertion rests on tight timing: buckets refill slowly or the bound allows for
//! the time the requests took, and slots in flight are watched through the spec's shared limiter.

use std::process::Command;
use std::time::{Duration, Instant};

use codeocean_sim::{Faults, RouteClass};
use reqwest::header::{CONTENT_TYPE, RETRY_AFTER};

use crate::binary::BIN;
use crate::*;

fn faults(spec: &str) -> Faults {
    spec.parse().unwrap()
}

/// `Retry-After` as whole seconds (which it must be).
fn retry_after(r: &Reply) -> u64 {
    r.header(RETRY_AFTER.as_str())
        .expect("no Retry-After")
        .parse()
        .expect("Retry-After is not whole seconds")
}

/// Waits (up to a generous 20 s) until `n` requests hold a slot of the class's limiter.
async fn until_inflight(f: &Faults, class: RouteClass, n: u64) {
    let limiter = f.get(class).limiter;
    let deadline = Instant::now() + Duration::from_secs(20);
    while limiter.inflight() != n {
        assert!(
            Instant::now() < deadline,
            "{} in flight, not {n}",
            limiter.inflight()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn injected(sim: &Simulator) -> Value {
    let r =
        send(reqwest::Client::new().get(format!("{}/__sim/faults/injected", sim.origin()))).await;
    r.expect(200).json()
}

#[tokio::test]
async fn a_burst_beyond_the_bucket_gets_429_with_retry_after_then_passes_again() {
    let sim = start();
    let api = Api::new(&sim);
    let capsule = format!("/capsules/{HELLO}");
    let f = faults("all:rate=20,burst=5");
    sim.set_faults(f.clone());
    let started = Instant::now();
    let replies = futures_util::future::join_all((0..30).map(|_| api.get(&capsule))).await;
    let took = started.elapsed();
    let ok = replies.iter().filter(|r| r.status == 200).count();
    let refused: Vec<&Reply> = replies.iter().filter(|r| r.status == 429).collect();
    assert_eq!(ok + refused.len(), 30, "other statuses");
    // Exactly the burst when the 30 arrived within one token's time (50 ms); a slow machine
    // may have earned a token more per 50 ms.
    let earned = (took.as_secs_f64() * 20.0).floor() as usize;
    assert!((5..=5 + earned).contains(&ok), "{ok} answered in {took:?}");
    if took < Duration::from_millis(50) {
        assert_eq!(ok, 5);
    }
    let mut wait = 0;
    for r in &refused {
        assert!(
            r.header(CONTENT_TYPE.as_str())
                .unwrap()
                .starts_with("application/json")
        );
        r.message();
        let secs = retry_after(r);
        assert!(secs >= 1);
        wait = wait.max(secs);
    }
    let counts = injected(&sim).await;
    assert_eq!(
        counts["per_class"]["capsules"]["rate_limited"],
        refused.len() as u64,
        "{counts}"
    );
    assert_eq!(
        counts["total"]["rate_limited"],
        refused.len() as u64,
        "{counts}"
    );
    assert_eq!(
        f.injected_on(RouteClass::Capsules).rate_limited,
        refused.len() as u64
    );
    assert_eq!(f.injected().inflight_refused, 0);

    tokio::time::sleep(Duration::from_secs(wait)).await;
    api.get(&capsule).await.expect(200);
    // The bucket refilled for every class (`all` gives them one).
    api.get(&format!("/data_assets/{INPUT}")).await.expect(200);
}

#[tokio::test]
async fn each_token_has_its_own_bucket_and_requests_without_one_share_the_anonymous_one() {
    let sim = start();
    let api = Api::new(&sim);
    let url = api.url(&format!("/capsules/{HELLO}"));
    let http = reqwest::Client::new();
    // A token every 10 s: nothing refills while the test runs.
    let f = faults("capsules:rate=0.1,burst=2");
    sim.set_faults(f.clone());
    for _ in 0..2 {
        send(http.get(&url).header(AUTHORIZATION, basic(TOKEN)))
            .await
            .expect(200);
    }
    let r = send(http.get(&url).header(AUTHORIZATION, basic(TOKEN))).await;
    r.expect(429).message();
    assert!((1..=10).contains(&retry_after(&r)), "{r:?}");
    // Another (here: wrong) token's bucket is full: its answer is the 401 it deserves.
    for _ in 0..2 {
        send(http.get(&url).header(AUTHORIZATION, basic("other")))
            .await
            .expect(401);
    }
    // ... and it is shared by every request without a valid token.
    send(http.get(&url)).await.expect(429);
    send(http.get(&url).header(AUTHORIZATION, basic("third")))
        .await
        .expect(429);
    send(http.get(&url).header(AUTHORIZATION, basic(TOKEN)))
        .await
        .expect(429);
    assert_eq!(f.injected_on(RouteClass::Capsules).rate_limited, 4);
    // Other classes carry no limit.
    api.get(&format!("/data_assets/{INPUT}")).await.expect(200);
}

#[tokio::test]
async fn max_inflight_refuses_the_request_beyond_it_until_responses_finish() {
    let sim = start();
    let api = Api::new(&sim);
    let capsule = format!("/capsules/{HELLO}");
    let f = faults("capsules:max_inflight=2,latency=2000ms");
    sim.set_faults(f.clone());
    let both = tokio::spawn({
        let api = Api::new(&sim);
        let capsule = capsule.clone();
        async move {
            let (a, b) = tokio::join!(api.get(&capsule), api.get(&capsule));
            (a.status, b.status)
        }
    });
    until_inflight(&f, RouteClass::Capsules, 2).await;
    let third = api.get(&capsule).await;
    third.expect(429).message();
    assert_eq!(retry_after(&third), 1);
    assert_eq!(both.await.unwrap(), (200, 200));
    until_inflight(&f, RouteClass::Capsules, 0).await;
    api.get(&capsule).await.expect(200);
    until_inflight(&f, RouteClass::Capsules, 0).await;
    assert_eq!(f.injected_on(RouteClass::Capsules).inflight_refused, 1);
    assert_eq!(injected(&sim).await["total"]["inflight_refused"], 1);
}

#[tokio::test]
async fn storage_max_inflight_answers_503_when_asked_and_a_stalled_body_keeps_its_slot() {
    use codeocean_sim::catalogue::{Catalogue, Node, RunPlan, Runnable, Tree};
    // 64 MiB: more than socket buffers hold, so a body nobody reads stays unsent.
    let catalogue = Catalogue {
        capsules: vec![Runnable {
            id: "big".into(),
            name: "Big file".into(),
            description: String::new(),
            slug: None,
            parameters: None,
            processes: vec![],
            versions: 0,
            git_remote: None,
            run: RunPlan {
                results: Tree {
                    entries: vec![Node::File {
                        name: "big.bin".into(),
                        size: 64 << 20,
                    }],
                    generate: None,
                },
                ..RunPlan::default()
            },
        }],
        ..Catalogue::default()
    };
    let sim = start_with(|c| c.catalogue = Some(catalogue));
    let api = Api::new(&sim);
    let id = api.finished_run(&sim, "big").await;
    let url = api.download_url(&id, "big.bin").await;
    let f = faults("storage:max_inflight=1,inflight_status=503");
    sim.set_faults(f.clone());
    let http = reqwest::Client::new();
    let mut stalled = http.get(&url).send().await.unwrap();
    assert_eq!(stalled.status(), 200);
    assert!(!stalled.chunk().await.unwrap().unwrap().is_empty());
    // Headers and a first chunk received, the rest unread: the slot is still taken.
    until_inflight(&f, RouteClass::Storage, 1).await;
    let r = send(http.get(&url)).await;
    r.expect(503);
    assert_eq!(retry_after(&r), 1);
    assert!(r.header(CONTENT_TYPE.as_str()).unwrap().contains("xml"));
    // The body dropped (the connection closed), the slot is given back.
    drop(stalled);
    until_inflight(&f, RouteClass::Storage, 0).await;
    let again = http
        .get(&url)
        .header("Range", "bytes=0-99")
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 206);
    assert_eq!(again.bytes().await.unwrap().len(), 100);
    assert_eq!(f.injected_on(RouteClass::Storage).inflight_refused, 1);
    assert_eq!(f.injected().total(), 1);
}

#[tokio::test]
async fn api_rate_limits_every_api_class_together_and_leaves_storage_gets_alone() {
    let sim = start();
    let api = Api::new(&sim);
    let id = api.finished_run(&sim, HELLO).await;
    let url = api.download_url(&id, "output.txt").await;
    let http = reqwest::Client::new();
    // A token every 10 s: nothing refills while the test runs.
    let f = faults("api:rate=0.1,burst=2");
    sim.set_faults(f.clone());
    api.get(&format!("/capsules/{HELLO}")).await.expect(200);
    api.post(&format!("/computations/{id}/results"), json!({"path": ""}))
        .await
        .expect(200);
    // One bucket for the API's classes: the third request, of a third class, finds it empty.
    api.get(&format!("/computations/{id}/results/urls?path=output.txt"))
        .await
        .expect(429)
        .message();
    // The storage origin has no limit (its requests carry no token: under `all:` they would
    // share the anonymous bucket).
    for _ in 0..5 {
        send(http.get(&url)).await.expect(200);
    }
    assert_eq!(f.injected().rate_limited, 1);
    assert_eq!(f.injected_on(RouteClass::Storage).total(), 0);
    let counts = injected(&sim).await;
    assert_eq!(counts["per_class"]["urls"]["rate_limited"], 1, "{counts}");
    assert!(counts["per_class"].get("storage").is_none(), "{counts}");

    // The same limit set with `all:` does limit them: what `api:` is for.
    sim.set_faults(faults("all:rate=0.1,burst=2"));
    let statuses: Vec<u16> = futures_util::future::join_all((0..4).map(|_| send(http.get(&url))))
        .await
        .iter()
        .map(|r| r.status)
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 429).count(),
        2,
        "{statuses:?}"
    );
}

#[tokio::test]
async fn limits_set_as_json_through_the_admin_route_apply() {
    let sim = start();
    let api = Api::new(&sim);
    let capsule = format!("/capsules/{HELLO}");
    let admin = reqwest::Client::new();
    let body = json!({"faults": {
        "capsules": {"rate": 0.1, "burst": 1},
        "data_assets": {"rate": 0.1, "burst": 1}
    }});
    send(
        admin
            .put(format!("{}/__sim/config", sim.origin()))
            .json(&body),
    )
    .await
    .expect(200);
    api.get(&capsule).await.expect(200);
    api.get(&capsule).await.expect(429);
    // Equal limits share one limiter, as `all` does.
    api.get(&format!("/data_assets/{INPUT}")).await.expect(429);
    assert_eq!(injected(&sim).await["total"]["rate_limited"], 2);
}

#[test]
fn limit_mistakes_exit_2_with_a_clear_message() {
    for (fault, needle) in [
        ("all:rate=0", "rate `0`"),
        ("all:rate=abc", "rate `abc`"),
        ("all:burst=5", "burst needs a rate"),
        ("storage:max_inflight=0", "`0` is not a whole number"),
        ("all:max_inflight=2,inflight_status=500", "not 429 or 503"),
    ] {
        let out = Command::new(BIN)
            .args(["--token", "T", "--fault", fault])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{fault}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(needle) && stderr.contains(fault),
            "{fault}: {stderr}"
        );
        assert!(out.stdout.is_empty());
    }
}
