//! What an error says and answers: full ids, empty ids refused locally, a refused connection
//! that fails fast and says how many tries it made, the cause shown once.

use std::time::{Duration, Instant};

use codeocean::{Client, DisplayErrorContext, ErrorKind};

use super::{HELLO, client, sim};

#[tokio::test]
async fn an_empty_id_is_refused_before_anything_is_sent() {
    let sim = sim(|_| {});
    let c = client(&sim);
    let errors = [
        c.get_computation("").await.unwrap_err(),
        c.get_capsule("").await.unwrap_err(),
        c.get_data_asset("").await.unwrap_err(),
        c.delete_computation("").await.unwrap_err(),
        c.list_results("", "").await.unwrap_err(),
        c.list_capsule_computations("").await.unwrap_err(),
        // The second id of the path.
        c.get_capsule_release_job(HELLO, "").await.unwrap_err(),
    ];
    for e in &errors {
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e:?}");
        assert!(e.to_string().contains("is empty"), "{e}");
        assert!(!e.is_retryable(), "{e}");
    }
    assert!(
        errors[0]
            .to_string()
            .ends_with("`computation_id` is empty (an id is required); nothing was sent"),
        "{}",
        errors[0]
    );
    assert!(
        errors[6].to_string().contains("`job_id` is empty"),
        "{}",
        errors[6]
    );
    let sent: Vec<String> = sim.requests().into_iter().map(|r| r.path).collect();
    assert!(sent.is_empty(), "requests reached the server: {sent:?}");
}

#[tokio::test]
async fn errors_carry_the_full_id_of_their_object() {
    let sim = sim(|_| {});
    let c = client(&sim);
    // The built-in capsules share their first 8 characters: the message tells them apart.
    let missing = "c0ffee00-0000-4000-8000-0000000000ff";
    let e = c.get_capsule(missing).await.unwrap_err();
    assert!(e.is_not_found(), "{e:?}");
    assert_eq!(e.id(), Some(missing));
    assert!(
        e.to_string()
            .starts_with(&format!("getting capsule {missing}: HTTP 404")),
        "{e}"
    );
    let e = c.get_computation("no-such/computation").await.unwrap_err();
    assert_eq!(
        e.id(),
        Some("no-such/computation"),
        "percent-decoded: {e:?}"
    );
    // A waiter that gives up: not an HTTP timeout, with the state it saw last.
    let run = c.run(&codeocean::RunRequest::capsule(HELLO)).await.unwrap();
    let e = c
        .wait_for_computation(&run.id)
        .timeout(Duration::ZERO)
        .await
        .unwrap_err();
    assert!(e.is_wait_timeout() && !e.is_timeout(), "{e:?}");
    assert_eq!(e.id(), Some(run.id.as_str()));
    let state = e.last_state().expect("a poll answered");
    assert!(
        e.to_string().ends_with(&format!("last state: {state}")),
        "{e}"
    );
    assert!(e.to_string().contains(&run.id), "{e}");
}

/// A port nothing listens on: bound, read, and let go.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

#[tokio::test]
async fn a_refused_connection_fails_fast_and_says_how_many_tries() {
    let c = Client::builder()
        .domain(format!("http://127.0.0.1:{}", closed_port()))
        .token("t")
        .build()
        .unwrap();
    let started = Instant::now();
    let e = c.get_computation(HELLO).await.unwrap_err();
    let took = started.elapsed();
    // The default policy: 3 retries capped at 1 s (1.4 s, at most 2.8 s with jitter), not
    // the 8.6 s of the full budget.
    assert!(took < Duration::from_secs(4), "{took:?}");
    assert!(took >= Duration::from_millis(1400), "{took:?}");
    assert!(e.is_connection() && e.is_retryable(), "{e:?}");
    assert_eq!(
        e.to_string(),
        format!("getting computation {HELLO}: could not connect; gave up after 4 tries")
    );
    // The cause is the source, and the whole line names it once.
    let line = DisplayErrorContext(&e).to_string();
    assert_eq!(
        line.to_lowercase().matches("connection refused").count(),
        1,
        "{line}"
    );
    // A run is not sent twice, but one that never left is retried all the same.
    let e = c
        .run(&codeocean::RunRequest::capsule(HELLO))
        .await
        .unwrap_err();
    assert!(e.to_string().ends_with("gave up after 4 tries"), "{e}");
}
