//! Any API operation as JSON: [`Client::request_json`], for what the typed methods do not
//! cover (and the CLI's `codeocean api`).

use codeocean_raw::Operation;
use codeocean_raw::progenitor_client::{
    ByteStream, ClientHooks as _, ClientInfo as _, Error as RawError, OperationInfo, ResponseValue,
};

use crate::client::{Op, op};
use crate::{Client, Error, ErrorKind, Result};

impl Client {
    /// Sends one request to the API, `METHOD /api/v1/PATH`, through the same machinery as every
    /// typed method: the API limiter, retries (by the operation's `x-idempotent` in the spec:
    /// a run or a data asset creation is never sent twice), the call and try timeouts, the
    /// body cap and the log lines that never show a query or a header. Its answer is the
    /// response's JSON (`null` for an empty body); an error status is an
    /// [`ErrorKind::Status`] error with the status and the server's message.
    ///
    /// `path` is relative to `/api/v1/`, with or without a leading `/` (`capsules/ID`,
    /// `/data_assets/search`); an absolute URL, a `..` or `.` segment, a `?` or `#` are
    /// refused ([`ErrorKind::InvalidInput`], nothing sent). `query` is added as query
    /// parameters; `body`, when given, is sent as JSON. A method and path of one of the API's
    /// operations ([`Operation::find`]) is retried as that operation is; any other route (one
    /// a newer server has) is sent too, and retried after a failure only when its HTTP method
    /// is idempotent (GET, HEAD, PUT, DELETE, OPTIONS), a `429` always.
    ///
    /// ```no_run
    /// # async fn example(client: codeocean::Client) -> codeocean::Result<()> {
    /// let capsule = client
    ///     .request_json("GET", "capsules/c0ffee00-0000-4000-8000-000000000001", &[], None)
    ///     .await?;
    /// println!("{}", capsule["name"]);
    /// let page = client
    ///     .request_json(
    ///         "POST",
    ///         "data_assets/search",
    ///         &[],
    ///         Some(&serde_json::json!({"limit": 10, "offset": 0})),
    ///     )
    ///     .await?;
    /// # let _ = page;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn request_json(
        &self,
        method: &str,
        path: &str,
        query: &[(String, String)],
        body: Option<&serde_json::Value>,
    ) -> Result<serde_json::Value> {
        let method = method.to_ascii_uppercase();
        let what = format!("{method} {}", path.trim_start_matches('/'));
        let invalid = |m: String| Error::new(ErrorKind::InvalidInput, what.as_str(), m);
        let path = api_path(path).map_err(invalid)?;
        let static_method = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
            .into_iter()
            .find(|m| *m == method)
            .ok_or_else(|| {
                invalid(format!(
                    "`{method}` is not an HTTP method the API takes (GET, POST, PUT, PATCH, \
                     DELETE, HEAD or OPTIONS)"
                ))
            })?;
        let request_op = match Operation::find(&method, &path) {
            Some(operation) => op(operation, format!("sending {what}")),
            None => Op::other(static_method, format!("sending {what}")),
        };
        let operation_id = request_op.id;
        let http_method = reqwest::Method::from_bytes(method.as_bytes())
            .map_err(|_| invalid(format!("`{method}` is not an HTTP method")))?;
        let raw = self.raw();
        let url = format!("{}{path}", raw.baseurl());
        let body = body
            .map(serde_json::to_vec)
            .transpose()
            .map_err(|e| Error::new(ErrorKind::InvalidInput, what.as_str(), e.to_string()))?;
        let attempt = || {
            let request = raw
                .client()
                .request(http_method.clone(), &url)
                .header(reqwest::header::ACCEPT, "application/json")
                .header("api-version", codeocean_raw::Client::api_version())
                .query(query);
            let request = match &body {
                Some(b) => request.body(b.clone()),
                None => request,
            };
            async move {
                let mut request = request.build()?;
                let info = OperationInfo { operation_id };
                raw.pre::<ByteStream>(&mut request, &info).await?;
                let response = raw.exec(request, &info).await?;
                answer(response).await
            }
        };
        self.send(request_op, attempt).await
    }
}

/// The path after `/api/v1` (`/capsules/ID`), or why it cannot be sent.
fn api_path(path: &str) -> std::result::Result<String, String> {
    if path.contains("://") {
        return Err("a path relative to /api/v1 is expected, not a URL".into());
    }
    if path.contains(['?', '#']) {
        return Err("the path has a `?` or `#`: give query parameters apart".into());
    }
    let path = path.trim_start_matches('/');
    let path = path.strip_prefix("api/v1/").unwrap_or(path);
    if path.is_empty() {
        return Err("the path is empty".into());
    }
    if path.split('/').any(|s| s == ".." || s == ".") {
        return Err("the path has a `.` or `..` segment".into());
    }
    if path.chars().any(|c| c.is_control() || c == ' ') {
        return Err("the path has a space or a control character".into());
    }
    Ok(format!("/{}", path.trim_end_matches('/')))
}

/// A response as JSON: the body of a success (`null` when empty), or the error the typed
/// methods make of an error status.
async fn answer(
    response: reqwest::Response,
) -> std::result::Result<ResponseValue<serde_json::Value>, RawError<ByteStream>> {
    let status = response.status();
    if !status.is_success() {
        return if status.is_client_error() || status.is_server_error() {
            Err(RawError::ErrorResponse(ResponseValue::stream(response)))
        } else {
            Err(RawError::UnexpectedResponse(response))
        };
    }
    let headers = response.headers().clone();
    let bytes = response
        .bytes()
        .await
        .map_err(RawError::ResponseBodyError)?;
    let value = if bytes.iter().all(u8::is_ascii_whitespace) {
        serde_json::Value::Null
    } else {
        serde_json::from_slice(&bytes).map_err(|e| RawError::InvalidResponsePayload(bytes, e))?
    };
    Ok(ResponseValue::new(value, status, headers))
}

#[cfg(test)]
mod tests {
    use super::api_path;
    use crate::client::Op;

    #[test]
    fn routes_outside_the_spec_are_retried_only_for_idempotent_methods() {
        for (method, idempotent) in [("GET", true), ("PUT", true), ("DELETE", true)] {
            assert_eq!(Op::other(method, String::new()).idempotent, idempotent);
        }
        for method in ["POST", "PATCH"] {
            assert!(!Op::other(method, String::new()).idempotent, "{method}");
        }
    }

    #[test]
    fn paths_are_relative_to_the_api() {
        assert_eq!(api_path("capsules/x").unwrap(), "/capsules/x");
        assert_eq!(api_path("/capsules/x/").unwrap(), "/capsules/x");
        assert_eq!(
            api_path("/api/v1/widgets/search").unwrap(),
            "/widgets/search"
        );
        for bad in [
            "https://evil.example/x",
            "capsules/../x",
            "",
            "a?b=1",
            "./a",
            "a b",
        ] {
            assert!(api_path(bad).is_err(), "{bad}");
        }
    }
}
