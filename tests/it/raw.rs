//! `codeocean-raw` on its own against the simulator: `Client::with_token` is an authenticated
//! client, and `error_body` reads the server's messages; and the `codeocean` client, which
//! takes its headers from `codeocean_raw::auth_headers`, refuses a token that would be sent
//! wrong.

use codeocean_sim::{Config, Simulator};

const CAPSULE: &str = "c0ffee00-0000-4000-8000-000000000001";
const MISSING: &str = "00000000-0000-4000-8000-000000000000";

#[tokio::test]
async fn with_token_is_an_authenticated_client_of_the_simulator() {
    let sim = Simulator::start(Config::new("sim-token")).unwrap();
    let client = codeocean_raw::Client::with_token(&sim.api_url(), sim.token()).unwrap();
    let capsule = client.get_capsule(CAPSULE).await.unwrap().into_inner();
    assert_eq!(capsule.id, CAPSULE);
    assert_eq!(capsule.name.as_deref(), Some("Hello results"));
}

#[tokio::test]
async fn error_body_reads_the_simulators_messages() {
    let sim = Simulator::start(Config::new("sim-token")).unwrap();
    let client = codeocean_raw::Client::with_token(&sim.api_url(), sim.token()).unwrap();
    let err = client.get_computation(MISSING).await.unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(404));
    let api = codeocean_raw::error_body(err).await.unwrap();
    assert_eq!(
        api.message.as_deref(),
        Some(format!("computation {MISSING} not found").as_str())
    );

    let wrong = codeocean_raw::Client::with_token(&sim.api_url(), "not-the-token").unwrap();
    let err = wrong.get_capsule(CAPSULE).await.unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(401));
    let api = codeocean_raw::error_body(err).await.unwrap();
    assert!(
        api.message
            .as_deref()
            .is_some_and(|m| m.starts_with("missing or invalid API token")),
        "{api:?}"
    );
}

#[test]
fn the_codeocean_client_refuses_a_token_with_a_line_break() {
    let err = codeocean::Client::builder()
        .domain("acmecorp.codeocean.com")
        .token("s3cr3t\n")
        .build()
        .unwrap_err();
    assert_eq!(err.kind(), codeocean::ErrorKind::Config);
    assert!(err.to_string().contains("control characters"), "{err}");
    assert!(!format!("{err} {err:?}").contains("s3cr3t"), "{err:?}");
}
