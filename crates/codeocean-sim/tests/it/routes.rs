//! The route table is the generated table of operations: every operation reaches a handler
//! (none the fallback) and is recorded, and faulted, under its own id and route class.

use codeocean_raw::Operation;

use super::*;

/// The operation's path with each `{param}` replaced by `x`.
fn concrete(op: Operation) -> String {
    let mut out = String::new();
    for (i, seg) in op.path().split('/').enumerate() {
        if i > 0 {
            out.push('/');
        }
        out.push_str(if seg.starts_with('{') { "x" } else { seg });
    }
    out
}

#[tokio::test]
async fn every_operation_of_the_table_reaches_its_handler_and_is_recorded_as_itself() {
    let sim = start();
    let api = Api::new(&sim);
    let mut seen = Vec::new();
    for op in Operation::ALL {
        sim.clear_requests();
        let req = api
            .http
            .request(op.method().parse().unwrap(), api.url(&concrete(op)))
            .header(CONTENT_TYPE, "application/json")
            .body("{}");
        let r = api.send(req).await;
        // The fallback answers a bare 404; every handler's error is a JSON message.
        assert!(
            r.status != 404 || !r.body.is_empty(),
            "{op}: {} {} reached the fallback",
            op.method(),
            op.path()
        );
        let log = sim.requests();
        assert_eq!(log.len(), 1, "{op}");
        assert_eq!(log[0].operation, op.id(), "{} {}", op.method(), op.path());
        if op.method() == "GET" {
            // HEAD is GET without the body: same operation, same status.
            let head = api.send(api.http.head(api.url(&concrete(op)))).await;
            assert_eq!(head.status, r.status, "HEAD {}", op.path());
            assert_eq!(sim.requests()[1].operation, op.id(), "HEAD {}", op.path());
        }
        seen.push(op.id());
    }
    seen.sort_unstable();
    seen.dedup();
    assert_eq!(seen.len(), Operation::ALL.len(), "operation ids repeat");
}

#[tokio::test]
async fn a_request_outside_the_table_gets_no_faults_no_auth_check_and_no_operation() {
    let sim = start_with(|c| c.faults = "all:503=1".parse().unwrap());
    let api = Api::new(&sim);
    // A method the table lacks on a path it has (405: the detach path without its trailing
    // slash is the attach path) and a path it lacks (404): bare answers, no 503 and no 401 though
    // every class fails and no token is sent.
    let detach = concrete(Operation::DetachCapsuleDataAssets);
    let wrong_method = concrete(Operation::RunComputation);
    let slash_too_many = format!("{}/", concrete(Operation::GetCapsule));
    for (method, path, status) in [
        ("PUT", wrong_method.as_str(), 405),
        ("DELETE", detach.trim_end_matches('/'), 405),
        ("GET", slash_too_many.as_str(), 404),
    ] {
        let r = send(
            api.http
                .request(method.parse().unwrap(), api.url(path))
                .header(CONTENT_TYPE, "application/json"),
        )
        .await;
        r.expect(status);
        assert!(r.body.is_empty(), "{method} {path}");
        assert_eq!(sim.requests().last().unwrap().operation, "unknown");
    }
}

#[tokio::test]
async fn an_empty_id_is_an_id_its_handler_gets_only_with_the_token() {
    let sim = start();
    let api = Api::new(&sim);
    let op = Operation::ListCapsuleComputations;
    let url = api.url(&op.path().replace("{capsule_id}", ""));
    // The router hands the empty id to the handler, so the layer must guard it like any other.
    let r = send(api.http.get(&url)).await;
    r.expect(401);
    let r = api.send(api.http.get(&url)).await;
    r.expect(404);
    assert!(r.message().contains("not found"), "{}", r.message());
    let log = sim.requests();
    assert_eq!(log.len(), 2);
    assert!(log.iter().all(|l| l.operation == op.id()), "{log:?}");
}
