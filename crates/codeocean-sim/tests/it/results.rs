//! Listing result folders, and paths that try to leave the results tree.

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::*;

fn names(listing: &Value) -> Vec<(String, String, String, Option<i64>)> {
    listing["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["name"].as_str().unwrap().to_owned(),
                i["path"].as_str().unwrap().to_owned(),
                i["type"].as_str().unwrap().to_owned(),
                i["size"].as_i64(),
            )
        })
        .collect()
}

fn item(name: &str, path: &str, size: Option<i64>) -> (String, String, String, Option<i64>) {
    let kind = if size.is_some() { "file" } else { "folder" };
    (name.into(), path.into(), kind.into(), size)
}

#[tokio::test]
async fn folders_list_one_level_and_anything_else_is_a_json_404() {
    let sim = start();
    let api = Api::new(&sim);
    let id = api.run(json!({ "capsule_id": HELLO })).await;
    let list = |path: &str| {
        let api = &api;
        let id = id.clone();
        let path = path.to_owned();
        async move {
            api.post(
                &format!("/computations/{id}/results"),
                json!({ "path": path }),
            )
            .await
        }
    };

    // Before the end: an empty root, nothing below.
    assert_eq!(list("").await.expect(200).json(), json!({ "items": [] }));
    list("tables").await.expect(404).message();
    sim.advance(PAST_THE_END);

    let root = list("").await;
    assert_eq!(
        names(&root.expect(200).json()),
        vec![
            item("output.txt", "output.txt", Some(1_234)),
            item("summary.json", "summary.json", Some(512)),
            item("figures", "figures", None),
            item("tables", "tables", None),
            item("logs", "logs", None),
        ]
    );
    let want_tables = vec![
        item("counts.csv", "tables/counts.csv", Some(20_480)),
        item("per-sample", "tables/per-sample", None),
    ];
    for spelling in ["tables", "/tables", "tables/"] {
        assert_eq!(names(&list(spelling).await.expect(200).json()), want_tables);
    }
    assert_eq!(
        names(&list("tables/per-sample").await.expect(200).json()),
        vec![
            item("s1.csv", "tables/per-sample/s1.csv", Some(4_096)),
            item("s2.csv", "tables/per-sample/s2.csv", Some(4_097)),
        ]
    );
    assert_eq!(
        list("logs").await.expect(200).json(),
        json!({ "items": [] })
    );
    // A file is not a folder; an unknown folder is not found.
    for path in [
        "output.txt",
        "tables/per-sample/s1.csv",
        "nope",
        "tables/nope",
    ] {
        let r = list(path).await;
        r.expect(404);
        assert!(r.message().contains(path), "{path}: {}", r.message());
    }
    // An unknown computation.
    let r = api
        .post(
            "/computations/00000000-0000-4000-8000-000000000000/results",
            json!({ "path": "" }),
        )
        .await;
    r.expect(404).message();
    // A body without `path`, and one with a wrong type.
    for body in [json!({}), json!({ "path": 5 }), json!([])] {
        let r = api.post(&format!("/computations/{id}/results"), body).await;
        r.expect(400).message();
    }
}

#[tokio::test]
async fn paths_that_leave_the_tree_get_4xx_and_never_content() {
    let sim = start();
    let api = Api::new(&sim);
    let id = api.finished_run(&sim, HELLO).await;
    let plain = reqwest::Client::new();
    let hostile = [
        "../x",
        "..",
        ".",
        "./output.txt",
        "/etc/passwd",
        "a/../../b",
        "tables/../output.txt",
        "tables/./per-sample",
        "tables//per-sample",
        "..\\..\\windows",
        "output.txt\0",
        "tables\0/per-sample",
        "%2e%2e/%2e%2e/etc/passwd",
        "\u{fffd}",
    ];
    for path in hostile {
        let listed = api
            .post(
                &format!("/computations/{id}/results"),
                json!({ "path": path }),
            )
            .await;
        assert_client_error(&listed, path);
        assert!(listed.json().get("items").is_none(), "{path}: listed");
        for route in ["urls", "download_url"] {
            let r = api
                .send(
                    api.http
                        .get(api.url(&format!("/computations/{id}/results/{route}")))
                        .query(&[("path", path)]),
                )
                .await;
            assert_client_error(&r, path);
            assert!(
                !String::from_utf8_lossy(&r.body).contains("http"),
                "{path}: a URL"
            );
        }
    }

    // Hostile URL paths on both origins: percent-encoded dot segments, invalid UTF-8.
    let api_paths = [
        format!("/computations/{id}/results/urls?path=%FF%FE"),
        "/computations/%FF%FE".into(),
        "/computations/%2e%2e/%2e%2e/etc/passwd".into(),
        "/capsules/%2e%2e%2f%2e%2e%2fetc%2fpasswd".into(),
        "/computations/%00".into(),
        format!("/computations/{id}/results/urls?path=%00"),
    ];
    for path in &api_paths {
        let r = api.send(api.http.get(api.url(path))).await;
        assert_client_error(&r, path);
    }
    for path in [
        format!("/results/{id}/%2e%2e/%2e%2e/etc/passwd"),
        format!("/results/{id}/output.txt%FF"),
        "/%2e%2e/%2e%2e/etc/passwd".into(),
        "/".into(),
    ] {
        let r = send(plain.get(format!("{}{path}", sim.storage_origin()))).await;
        assert_client_error(&r, &path);
    }

    // Raw bytes no URL library would send.
    let origin = sim.origin().strip_prefix("http://").unwrap().to_owned();
    let storage = sim
        .storage_origin()
        .strip_prefix("http://")
        .unwrap()
        .to_owned();
    for (host, target) in [
        (&origin, b"/api/v1/computations/\xff\xfe".to_vec()),
        (
            &origin,
            [
                format!("/api/v1/computations/{id}/results/urls?path=").as_bytes(),
                b"\xff",
            ]
            .concat(),
        ),
        (&origin, b"/api/v1/computations/../../etc/passwd".to_vec()),
        (&origin, b"/api/v1/capsules/a\x00b".to_vec()),
        (
            &storage,
            format!("/results/{id}/../../etc/passwd").into_bytes(),
        ),
        (&storage, b"/results/\xff/\xfe".to_vec()),
    ] {
        let status = raw_get(host, &target).await;
        assert!(
            (400..500).contains(&status),
            "{}: {status}",
            String::from_utf8_lossy(&target)
        );
    }

    // Still serving, and no 5xx was ever answered.
    api.get(&format!("/capsules/{HELLO}")).await.expect(200);
    let stats = sim.stats();
    assert!(
        stats.statuses.keys().all(|s| *s < 500),
        "{:?}",
        stats.statuses
    );
}

#[track_caller]
fn assert_client_error(r: &Reply, what: &str) {
    assert!(
        (400..500).contains(&r.status),
        "{what:?}: {} {}",
        r.status,
        String::from_utf8_lossy(&r.body)
    );
}

/// Sends `GET target` with the token over a bare TCP connection; the status code.
async fn raw_get(host: &str, target: &[u8]) -> u16 {
    let mut tcp = tokio::net::TcpStream::connect(host).await.unwrap();
    let mut req = b"GET ".to_vec();
    req.extend_from_slice(target);
    req.extend_from_slice(
        format!(
            " HTTP/1.1\r\nHost: {host}\r\nAuthorization: {}\r\nConnection: close\r\n\r\n",
            basic(TOKEN)
        )
        .as_bytes(),
    );
    tcp.write_all(&req).await.unwrap();
    let mut answer = Vec::new();
    let _ = tcp.read_to_end(&mut answer).await;
    let head = String::from_utf8_lossy(&answer);
    assert!(head.starts_with("HTTP/1.1 "), "no answer: {head:?}");
    head[9..12].parse().unwrap()
}
