//! The hand-written hooks (`src/hooks.rs`): every response body is capped, and an observer sees
//! each exchange's method, path (never the query), status and time.

use std::sync::{Arc, Mutex};

use codeocean_raw::Client;
use codeocean_raw::hooks::{BodyTooLarge, Hooks};
use codeocean_raw::progenitor_client::Error;
use httpmock::MockServer;

use super::http_client;

fn client(server: &MockServer, hooks: Hooks) -> Client {
    Client::new_with_client(
        &format!("{}/api/v1", server.base_url()),
        http_client(),
        hooks,
    )
}

#[tokio::test]
async fn a_success_body_over_the_cap_fails_naming_the_cap() {
    let server = MockServer::start_async().await;
    let body = format!(r#"{{"id": "{}"}}"#, "x".repeat(10_000));
    server
        .mock_async(|when, then| {
            when.path("/api/v1/capsules/cafe");
            then.status(200).body(&body);
        })
        .await;
    let small = client(&server, Hooks::default().max_body(1000));
    let err = small.get_capsule("cafe").await.unwrap_err();
    let Error::ResponseBodyError(e) = &err else {
        panic!("not a body error: {err:?}");
    };
    let cap = std::iter::successors(std::error::Error::source(e), |s| s.source())
        .find_map(|s| s.downcast_ref::<BodyTooLarge>())
        .unwrap_or_else(|| panic!("no BodyTooLarge in the chain of {e:?}"));
    assert_eq!(cap.limit, 1000);
    // Under the cap, the same body decodes.
    let roomy = client(&server, Hooks::default().max_body(20_000));
    assert_eq!(
        roomy
            .get_capsule("cafe")
            .await
            .unwrap()
            .into_inner()
            .id
            .len(),
        10_000
    );
}

#[tokio::test]
async fn the_observer_sees_the_path_but_never_the_query() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.path("/api/v1/computations/c1/results/urls");
            then.status(200)
                .body(r#"{"download_url": "https://s/x?sig=1", "view_url": "https://s/x"}"#);
        })
        .await;
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let c = client(
        &server,
        Hooks::default().observe(move |x| {
            log.lock().unwrap().push(format!(
                "{} {} {} {:?}",
                x.operation_id,
                x.method,
                x.path,
                x.outcome.as_ref().map(|s| s.as_u16()).ok()
            ));
        }),
    );
    c.get_result_file_urls("c1", "secret/path.txt")
        .await
        .unwrap();
    assert_eq!(
        *seen.lock().unwrap(),
        ["get_result_file_urls GET /api/v1/computations/c1/results/urls Some(200)"]
    );
}
