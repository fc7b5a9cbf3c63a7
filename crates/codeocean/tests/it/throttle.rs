//! One throttle per client: a `429` holds every API caller, and a download on a rate-limited
//! server paces itself instead of meeting the limit again and again.

use std::time::Duration;

use codeocean_sim::{FaultSpec, Faults, RouteClass};

use crate::{HELLO, big_tree, builder, client, fast, finished_run, sim};

#[tokio::test]
async fn a_retry_after_holds_every_api_caller_of_the_client() {
    let sim = sim(|_| {});
    let c = client(&sim);
    let id = finished_run(&c, HELLO).await;
    // Two requests' worth of tokens, one more a second: the third call is refused with
    // `Retry-After: 1`.
    sim.set_faults("computations:rate=1,burst=2".parse().unwrap());
    c.get_computation(&id).await.unwrap();
    c.get_computation(&id).await.unwrap();
    let refused = tokio::spawn({
        let (c, id) = (c.clone(), id.clone());
        async move { c.get_computation(&id).await }
    });
    while c.api_limiter().throttled == 0 {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    // The client has the 429 in hand: other callers, which got no answer of their own, wait
    // for its Retry-After too instead of meeting the limit.
    let others: Vec<_> = (0..4)
        .map(|_| {
            let (c, id) = (c.clone(), id.clone());
            tokio::spawn(async move { c.get_computation(&id).await })
        })
        .collect();
    refused.await.unwrap().unwrap();
    for o in others {
        o.await.unwrap().unwrap();
    }
    let log = sim.requests();
    let gets: Vec<_> = log
        .iter()
        .filter(|r| r.operation == "get_computation")
        .collect();
    let first_429 = gets.iter().find(|r| r.status == 429).expect("a 429").at;
    let after: Vec<f64> = gets
        .iter()
        .filter(|r| r.at > first_429)
        .map(|r| r.at - first_429)
        .collect();
    let refused = gets.iter().filter(|r| r.status == 429).count();
    // Every call after the first 429 (its own retry, the four others, and any 429 of theirs).
    assert_eq!(after.len(), 5 + refused - 1);
    assert!(
        after.iter().all(|dt| *dt >= 0.999),
        "requests within the second after the 429: {after:?}"
    );
    // Pacing is on: the five waiting calls did not all meet the limit at once.
    let limiter = c.api_limiter();
    assert!(limiter.rate.is_some(), "{limiter:?}");
    assert!(refused <= 3, "{refused} refused: {gets:?}");
}

#[tokio::test]
async fn a_download_from_a_rate_limited_api_paces_itself() {
    let sim = sim(|c| c.catalogue = Some(big_tree()));
    let c = client(&sim);
    let id = finished_run(&c, HELLO).await;
    // 100 API requests a second across the API (one limiter), the storage origin unlimited:
    // what a real deployment's gateway does.
    let mut faults = Faults::default();
    for class in RouteClass::ALL
        .into_iter()
        .filter(|c| *c != RouteClass::Storage)
    {
        faults.set(
            class,
            FaultSpec {
                rate: 100.0,
                ..FaultSpec::default()
            },
        );
    }
    sim.set_faults(faults.share_limits());
    // A fresh client, as a new job would have: the limiter starts from its defaults.
    let fresh = fast(builder(&sim));
    let dir = tempfile::tempdir().unwrap();
    let summary = fresh.download(&id, dir.path()).run().await.unwrap();
    assert_eq!(summary.downloaded, 240);
    let log = sim.requests();
    let api = log.iter().filter(|r| r.origin == "api").count();
    let refused = log
        .iter()
        .filter(|r| r.origin == "api" && r.status == 429)
        .count();
    // Before the limiter was shared, a 429 paused only the task that got it and the other
    // fifteen kept meeting the limit: 11.5 % of a download's API requests were refused.
    assert!(
        refused as f64 <= 0.05 * api as f64,
        "{refused} of {api} API requests refused; limiter {:?}",
        fresh.api_limiter()
    );
    assert!(fresh.api_limiter().rate.is_some());
}

#[tokio::test]
async fn a_walk_that_is_not_being_polled_holds_no_api_slot() {
    use futures_util::StreamExt as _;
    let sim = sim(|c| c.catalogue = Some(big_tree()));
    let c = fast(builder(&sim).api_concurrency(2));
    let id = finished_run(&c, HELLO).await;
    let mut walk = c.walk_results(&id).concurrency(8).stream();
    // The root's 9 entries (3 folders, 6 files), then one entry of the first sub-folder
    // listed: the other two sub-folders' listings are under way, and nobody polls the walk
    // now (a download whose transfers are busy, say).
    for _ in 0..10 {
        walk.next().await.unwrap().unwrap();
    }
    // Listings run to their end on their own and give their slots back: other calls of the
    // same client get through. (Polled only with the walk, two of them would keep both
    // slots for ever.)
    let got = tokio::time::timeout(Duration::from_secs(20), c.get_computation(&id)).await;
    assert!(got.expect("an API slot came free").is_ok());
    // And the walk still yields every entry: 39 folders and 240 files below the root.
    let rest = walk.count().await;
    assert_eq!(rest + 10, 39 + 240);
}
