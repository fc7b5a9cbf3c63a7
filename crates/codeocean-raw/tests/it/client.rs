//! `Client::with_token`, `Client::builder` and `auth_headers`: the credentials and headers on the
//! wire, the hooks and `reqwest` settings kept, mistakes refused before any request, and the
//! token never shown.

use std::sync::{Arc, Mutex};

use codeocean_raw::hooks::{BodyTooLarge, Hooks};
use codeocean_raw::{BuildError, Client, Error, auth_headers};
use httpmock::MockServer;
use serde_json::json;

use crate::{AUTH, Expect, TOKEN, exchange};

const ID: &str = "66095e3a-0747-4ec5-b8b1-95b89a428536";

fn get_computation() -> Expect<'static> {
    Expect {
        method: "GET",
        path: "/computations/66095e3a-0747-4ec5-b8b1-95b89a428536",
        query: None,
        body: None,
        accept: "application/json",
    }
}

#[tokio::test]
async fn with_token_sends_basic_credentials_and_json_content_type() {
    let server = MockServer::start_async().await;
    // `exchange` requires exactly one `Authorization: Basic base64("tok-123:")` and one
    // `Content-Type: application/json`; a trailing `/` of the base URL is dropped.
    let mock = exchange(&server, get_computation(), 200, Some(json!({"id": ID}))).await;
    let client = Client::with_token(&format!("{}/api/v1/", server.base_url()), TOKEN).unwrap();
    let computation = client.get_computation(ID).await.unwrap().into_inner();
    assert_eq!(computation.id, ID);
    mock.assert_async().await;
}

#[tokio::test]
async fn the_builder_keeps_the_hooks_and_the_reqwest_settings() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method("GET")
                .path(format!("/api/v1/computations/{ID}"))
                .header("authorization", AUTH)
                .header("content-type", "application/json")
                .header("user-agent", "my-tool/1.0");
            then.status(200)
                .json_body(json!({"id": ID, "name": "x".repeat(2000)}));
        })
        .await;
    let seen = Arc::new(Mutex::new(Vec::new()));
    let hooks = {
        let seen = seen.clone();
        Hooks::default()
            .max_body(1000)
            .observe(move |x| seen.lock().unwrap().push(x.operation_id.to_owned()))
    };
    let client = Client::builder(format!("{}/api/v1", server.base_url()), TOKEN)
        .hooks(hooks)
        .http(codeocean_raw::reqwest::Client::builder().user_agent("my-tool/1.0"))
        .build()
        .unwrap();
    let err = client.get_computation(ID).await.unwrap_err();
    let Error::ResponseBodyError(e) = &err else {
        panic!("the body cap of the hooks was not applied: {err:?}");
    };
    assert!(
        std::iter::successors(std::error::Error::source(e), |s| s.source())
            .any(|s| s.downcast_ref::<BodyTooLarge>().is_some()),
        "{e:?}"
    );
    assert_eq!(*seen.lock().unwrap(), ["get_computation"]);
    mock.assert_async().await;
}

#[test]
fn auth_headers_are_basic_with_an_empty_password_and_sensitive() {
    let headers = auth_headers(TOKEN).unwrap();
    assert_eq!(headers.len(), 2);
    assert_eq!(headers["authorization"], AUTH);
    assert!(headers["authorization"].is_sensitive());
    assert_eq!(headers["content-type"], "application/json");
}

#[test]
fn empty_tokens_and_tokens_with_control_characters_are_refused() {
    for token in ["", "tok-123\n", "tok\t123", "\u{7f}"] {
        let err = Client::with_token("https://acmecorp.codeocean.com/api/v1", token).unwrap_err();
        assert!(
            matches!(err, BuildError::InvalidToken),
            "{token:?}: {err:?}"
        );
        assert!(matches!(auth_headers(token), Err(BuildError::InvalidToken)));
    }
}

#[test]
fn base_urls_that_cannot_be_one_are_refused_without_repeating_them() {
    for url in [
        "acmecorp.codeocean.com/api/v1",
        "ftp://acmecorp.codeocean.com/api/v1",
        "https://user:hunter2@acmecorp.codeocean.com/api/v1",
        "https://acmecorp.codeocean.com/api/v1?x=hunter2",
        "",
    ] {
        let err = Client::with_token(url, TOKEN).unwrap_err();
        assert!(
            matches!(err, BuildError::InvalidBaseUrl(_)),
            "{url}: {err:?}"
        );
        assert!(!err.to_string().contains("hunter2"), "{err}");
    }
    Client::with_token("http://127.0.0.1:9/api/v1", TOKEN).unwrap();
}

#[test]
fn the_token_never_shows_in_debug_output_of_the_builder_or_the_client() {
    let encoded = "dG9rLTEyMzo=";
    let builder = Client::builder("https://acmecorp.codeocean.com/api/v1", TOKEN);
    let builder_text = format!("{builder:?}");
    let client = builder.build().unwrap();
    for text in [
        builder_text,
        format!("{client:?}"),
        format!("{:?}", auth_headers(TOKEN).unwrap()),
        BuildError::InvalidToken.to_string(),
    ] {
        assert!(!text.contains(TOKEN), "token in {text}");
        assert!(!text.contains(encoded), "encoded token in {text}");
    }
}

#[test]
fn the_new_errors_and_the_builder_go_into_anyhow_and_across_tasks() {
    fn send_sync<T: Send + Sync + 'static>() {}
    fn error<T: std::error::Error + Send + Sync + 'static>() {}
    send_sync::<codeocean_raw::ClientBuilder>();
    error::<BuildError>();
    error::<codeocean_raw::ErrorBodyError>();
}
