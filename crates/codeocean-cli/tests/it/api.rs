//! `codeocean api`: any request through the library's client.

use crate::{OK_CAPSULE, json, run, sim};

#[test]
fn api_get_prints_the_answer() {
    let sim = sim();
    let typed = json(&run(Some(&sim), &["--json", "capsule", "get", OK_CAPSULE]));
    for path in [
        format!("capsules/{OK_CAPSULE}"),
        format!("/capsules/{OK_CAPSULE}"),
    ] {
        let out = run(Some(&sim), &["api", &path]);
        assert_eq!(out.code, 0, "{out:?}");
        let answer = json(&out);
        assert_eq!(answer["id"], OK_CAPSULE);
        assert_eq!(answer["name"], typed["name"]);
    }
    assert_eq!(sim.stats().counts.get("get_capsule"), Some(&3));
}

#[test]
fn api_post_with_fields_sends_a_typed_body() {
    let sim = sim();
    sim.add_data_assets(20);
    let out = run(
        Some(&sim),
        &[
            "api",
            "data_assets/search",
            "-f",
            "query=tag:bulk",
            "-f",
            "limit=7",
        ],
    );
    assert_eq!(out.code, 0, "{out:?}");
    let page = json(&out);
    assert_eq!(page["results"].as_array().map(Vec::len), Some(7), "{page}");
    assert_eq!(page["has_more"], true);
    assert_eq!(
        sim.requests().last().map(|r| r.method.as_str()),
        Some("POST")
    );
    // A string where the API wants a number is the server's 400, said with its message.
    let out = run(
        Some(&sim),
        &[
            "api",
            "-X",
            "post",
            "data_assets/search",
            "-f",
            "limit=many",
        ],
    );
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("HTTP 400"), "{out:?}");
}

#[test]
fn api_paginate_prints_every_result_of_a_search_as_json_lines() {
    let sim = sim();
    let mut ids = sim.add_data_assets(250);
    let out = run(
        Some(&sim),
        &[
            "api",
            "data_assets/search",
            "-f",
            "query=tag:bulk",
            "--paginate",
        ],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let mut got: Vec<String> = out
        .stdout
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["id"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(got.len(), 250);
    got.sort();
    ids.sort();
    assert_eq!(got, ids);
    // Pages of 100: three requests.
    assert_eq!(sim.stats().counts.get("search_data_assets"), Some(&3));
    // With --jq, each line filtered.
    let out = run(
        Some(&sim),
        &[
            "api",
            "data_assets/search",
            "-f",
            "query=tag:bulk",
            "-f",
            "limit=50",
            "--paginate",
            "--jq",
            ".id",
        ],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout.lines().count(), 250);
    assert!(
        out.stdout
            .lines()
            .all(|l| ids.binary_search(&l.to_owned()).is_ok())
    );
}

#[test]
fn api_errors_exit_non_zero_with_the_status_and_message() {
    let sim = sim();
    let out = run(Some(&sim), &["api", "capsules/no-such-capsule"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr
            .starts_with("error: sending GET capsules/no-such-capsule: HTTP 404"),
        "{out:?}"
    );
    assert_eq!(out.stderr.lines().count(), 1, "{out:?}");
    assert!(out.stdout.is_empty(), "{out:?}");
    // A route the spec does not describe is sent all the same (a newer server may have it):
    // here the server has none, and says so.
    sim.clear_requests();
    let out = run(Some(&sim), &["api", "no/such/route"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr
            .starts_with("error: sending GET no/such/route: HTTP 404"),
        "{out:?}"
    );
    assert_eq!(sim.requests().len(), 1, "{:?}", sim.requests());
    // Refused before anything is sent: URLs, `..`, methods HTTP does not have.
    sim.clear_requests();
    for path in [
        "https://elsewhere.example/api/v1/capsules/x",
        "capsules/../x",
    ] {
        let out = run(Some(&sim), &["api", path]);
        assert_eq!(out.code, 1, "{path}: {out:?}");
        assert!(out.stderr.starts_with("error: "), "{out:?}");
    }
    assert!(sim.requests().is_empty(), "{:?}", sim.requests());
    // --paginate is for searches.
    let out = run(
        Some(&sim),
        &["api", "-X", "GET", "capsules/x", "--paginate"],
    );
    assert_eq!(out.code, 2, "{out:?}");
}
