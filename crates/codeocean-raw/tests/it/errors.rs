//! Error responses keep their HTTP status whatever their body, and the token never shows.

use codeocean_raw::types::ApiError;
use codeocean_raw::{Client, Error, ErrorBodyError, MAX_ERROR_BODY};
use httpmock::MockServer;

use crate::{TOKEN, body_text, http_client, setup};

const ID: &str = "66095e3a-0747-4ec5-b8b1-95b89a428536";

/// Mocks `GET /computations/{ID}` answering `status` with `body` of type `content_type`.
async fn answer(server: &MockServer, status: u16, content_type: &str, body: &str) {
    server
        .mock_async(|when, then| {
            when.method("GET")
                .path(format!("/api/v1/computations/{ID}"));
            then.status(status)
                .header("content-type", content_type)
                .header("retry-after", "7")
                .body(body);
        })
        .await;
}

async fn get_error(
    status: u16,
    content_type: &str,
    body: &str,
) -> Error<codeocean_raw::ByteStream> {
    let (server, client) = setup().await;
    answer(&server, status, content_type, body).await;
    client.get_computation(ID).await.unwrap_err()
}

#[tokio::test]
async fn json_error_keeps_status_and_message() {
    let err = get_error(
        404,
        "application/json",
        r#"{"message":"computation not found"}"#,
    )
    .await;
    assert_eq!(err.status().map(|s| s.as_u16()), Some(404));
    assert!(!err.is_retryable());
    let Error::ErrorResponse(response) = err else {
        panic!("expected an error response, got {err:?}")
    };
    let body: ApiError = serde_json::from_str(&body_text(response).await).unwrap();
    assert_eq!(body.message.as_deref(), Some("computation not found"));
}

#[tokio::test]
async fn html_error_page_keeps_status_and_body() {
    let page = "<html><body>Bad gateway</body></html>";
    let err = get_error(500, "text/html", page).await;
    assert_eq!(err.status().map(|s| s.as_u16()), Some(500));
    // progenitor retries only 408, 429, 502, 503 and 504: a plain 500 is not retryable.
    assert!(!err.is_retryable());
    let Error::ErrorResponse(response) = err else {
        panic!("expected an error response, got {err:?}")
    };
    assert_eq!(body_text(response).await, page);
}

#[tokio::test]
async fn empty_404_of_a_missing_route_keeps_status() {
    let err = get_error(404, "text/plain", "").await;
    assert_eq!(err.status().map(|s| s.as_u16()), Some(404));
    assert!(!err.is_retryable());
    let Error::ErrorResponse(response) = err else {
        panic!("expected an error response, got {err:?}")
    };
    assert_eq!(body_text(response).await, "");
}

#[tokio::test]
async fn retry_after_is_readable_from_a_503() {
    let err = get_error(503, "text/html", "<h1>busy</h1>").await;
    assert_eq!(err.status().map(|s| s.as_u16()), Some(503));
    assert!(err.is_retryable());
    let Error::ErrorResponse(response) = err else {
        panic!("expected an error response, got {err:?}")
    };
    assert_eq!(response.status().as_u16(), 503);
    assert_eq!(response.headers()["retry-after"], "7");
}

#[tokio::test]
async fn malformed_success_body_is_an_invalid_payload() {
    let err = get_error(200, "application/json", r#"{"id": 12, "state": }"#).await;
    assert!(
        matches!(err, Error::InvalidResponsePayload(..)),
        "expected an invalid payload, got {err:?}"
    );
    let err = get_error(200, "application/json", r#"{"name": "no id"}"#).await;
    assert!(matches!(err, Error::InvalidResponsePayload(..)), "{err:?}");
}

#[tokio::test]
async fn the_token_never_shows_in_debug_output() {
    let err = get_error(401, "application/json", r#"{"message":"bad token"}"#).await;
    let basic = "dG9rLTEyMzo=";
    for text in [
        format!("{err:?}"),
        err.to_string(),
        format!("{:?}", http_client()),
        format!(
            "{:?}",
            Client::new_with_client("http://x/api/v1", http_client(), Default::default())
        ),
    ] {
        assert!(!text.contains(TOKEN), "token in {text}");
        assert!(!text.contains(basic), "encoded token in {text}");
    }
}

// `codeocean_raw::error_body`: what the server said, or why it said nothing readable.

#[tokio::test]
async fn error_body_reads_the_apis_message() {
    let err = get_error(
        404,
        "application/json",
        r#"{"message":"computation not found","code":"x"}"#,
    )
    .await;
    let api = codeocean_raw::error_body(err).await.unwrap();
    assert_eq!(api.message.as_deref(), Some("computation not found"));
}

#[tokio::test]
async fn error_body_of_an_html_page_keeps_status_and_text() {
    let page = "<html>\n<body>\n  <h1>502 Bad Gateway</h1>\n</body>\n</html>";
    let err = get_error(502, "text/html", page).await;
    let err = codeocean_raw::error_body(err).await.unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(502));
    let ErrorBodyError::NotApiError {
        status,
        body,
        truncated,
    } = &err
    else {
        panic!("expected NotApiError, got {err:?}")
    };
    assert_eq!(
        (status.as_u16(), body.as_str(), *truncated),
        (502, page, false)
    );
    // One line, whitespace collapsed.
    assert_eq!(
        err.to_string(),
        "HTTP 502 Bad Gateway, not the API's JSON error: \
         <html> <body> <h1>502 Bad Gateway</h1> </body> </html>"
    );
}

#[tokio::test]
async fn error_body_of_an_empty_body_says_so() {
    let err = get_error(404, "text/plain", "").await;
    let err = codeocean_raw::error_body(err).await.unwrap_err();
    assert!(
        matches!(&err, ErrorBodyError::NotApiError { body, .. } if body.is_empty()),
        "{err:?}"
    );
    assert_eq!(err.to_string(), "HTTP 404 Not Found with an empty body");
}

#[tokio::test]
async fn error_body_of_json_that_is_not_an_error_object_is_not_an_api_error() {
    for body in [r#""oops""#, r#"{"message": 5}"#, "[1, 2]"] {
        let err = get_error(500, "application/json", body).await;
        let err = codeocean_raw::error_body(err).await.unwrap_err();
        assert!(
            matches!(&err, ErrorBodyError::NotApiError { body: b, .. } if b == body),
            "{body}: {err:?}"
        );
    }
}

#[tokio::test]
async fn error_body_reads_at_most_64_kib() {
    // Valid JSON, but longer than the cap: only its beginning is read, and it is not decoded.
    let long = format!(r#"{{"message":"{}"}}"#, "x".repeat(MAX_ERROR_BODY));
    let err = get_error(400, "application/json", &long).await;
    let err = codeocean_raw::error_body(err).await.unwrap_err();
    let ErrorBodyError::NotApiError {
        body, truncated, ..
    } = &err
    else {
        panic!("expected NotApiError, got {err:?}")
    };
    assert!(*truncated);
    assert_eq!(body.len(), MAX_ERROR_BODY);
    assert!(long.starts_with(body.as_str()));
    // Display shows a one-line snippet, not 64 KiB.
    assert!(err.to_string().len() < 400, "{err}");
}

#[tokio::test]
async fn error_body_hands_back_an_error_without_a_response() {
    let err = get_error(200, "application/json", r#"{"name": "no id"}"#).await;
    let err = codeocean_raw::error_body(err).await.unwrap_err();
    assert!(
        matches!(
            err,
            ErrorBodyError::NotAnErrorResponse(Error::InvalidResponsePayload(..))
        ),
        "{err:?}"
    );
    assert_eq!(err.status(), None);
}
