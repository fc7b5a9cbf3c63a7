//! Auth on the API, and the rules of the signed-URL storage origin.

use reqwest::header::{AUTHORIZATION, CONTENT_LENGTH, CONTENT_RANGE, RANGE};
use serde_json::json;

use crate::*;

#[tokio::test]
async fn the_api_wants_the_token_and_says_so_in_json() {
    let sim = start();
    let http = reqwest::Client::new();
    let url = format!("{}/capsules/{HELLO}", sim.api_url());
    let no_header = send(http.get(&url)).await;
    let wrong = send(http.get(&url).header(AUTHORIZATION, basic("wrong"))).await;
    let bearer = send(http.get(&url).bearer_auth(TOKEN)).await;
    let run = send(
        http.post(format!("{}/computations", sim.api_url()))
            .json(&json!({ "capsule_id": HELLO })),
    )
    .await;
    for r in [&no_header, &wrong, &bearer, &run] {
        r.expect(401);
        assert!(
            r.header("content-type")
                .unwrap()
                .starts_with("application/json")
        );
        r.message();
    }
    // Nothing was started by the refused run.
    let api = Api::new(&sim);
    let list = api.get(&format!("/capsules/{HELLO}/computations")).await;
    assert_eq!(list.expect(200).json(), json!([]));
    // The right token, with or without the empty password.
    let ok = send(http.get(&url).basic_auth(TOKEN, None::<&str>)).await;
    ok.expect(200);
    assert_eq!(sim.stats().statuses[&401], 4);
}

#[tokio::test]
async fn signed_urls_serve_exact_bytes_ranges_and_refuse_credentials_tampering_and_expiry() {
    let sim = start();
    let api = Api::new(&sim);
    let id = api.finished_run(&sim, HELLO).await;
    let plain = reqwest::Client::new();

    for path in ["output.txt", "figures/plot.png", "tables/per-sample/s2.csv"] {
        let url = api.download_url(&id, path).await;
        assert!(url.starts_with(sim.storage_origin()), "{url}");
        let want = sim.result_content(&id, path).unwrap().read(0, u64::MAX);
        let got = send(plain.get(&url)).await;
        got.expect(200);
        assert_eq!(
            got.header(CONTENT_LENGTH.as_str()),
            Some(want.len().to_string().as_str())
        );
        assert_eq!(got.body.len(), want.len(), "{path}");
        assert!(got.body == want, "{path}: bytes differ");
    }

    // Ranges (plot.png: 48,213 bytes).
    let path = "figures/plot.png";
    let size = 48_213usize;
    let want = sim.result_content(&id, path).unwrap().read(0, u64::MAX);
    assert_eq!(want.len(), size);
    let url = api.download_url(&id, path).await;
    for (range, start, end) in [
        ("bytes=10-19", 10, 20),
        ("bytes=48000-", 48_000, size),
        ("bytes=-100", size - 100, size),
        ("bytes=40000-99999999", 40_000, size),
        ("bytes=0-0", 0, 1),
    ] {
        let r = send(plain.get(&url).header(RANGE, range)).await;
        r.expect(206);
        assert_eq!(r.body.as_ref(), &want[start..end], "{range}");
        assert_eq!(
            r.header(CONTENT_RANGE.as_str()),
            Some(format!("bytes {start}-{}/{size}", end - 1).as_str()),
            "{range}"
        );
        assert_eq!(
            r.header(CONTENT_LENGTH.as_str()),
            Some((end - start).to_string().as_str())
        );
    }
    for range in [
        format!("bytes={size}-"),
        "bytes=99999999-".into(),
        "bytes=-0".into(),
    ] {
        let r = send(plain.get(&url).header(RANGE, &range)).await;
        r.expect(416);
        assert_eq!(
            r.header(CONTENT_RANGE.as_str()),
            Some(format!("bytes */{size}").as_str()),
            "{range}"
        );
    }

    // Credentials on storage: refused (and counted), even the right token.
    assert_eq!(sim.stats().storage_requests_with_authorization, 0);
    let with_auth = send(plain.get(&url).header(AUTHORIZATION, basic(TOKEN))).await;
    with_auth.expect(400);
    assert!(!with_auth.body.is_empty() && with_auth.body.len() < 1000);
    assert_eq!(sim.stats().storage_requests_with_authorization, 1);

    // A tampered signature, a signature moved to another file, a stripped query.
    let tampered = flip_last_signature_char(&url);
    send(plain.get(&tampered)).await.expect(403);
    let other = api.download_url(&id, "output.txt").await;
    let (other_path, _) = other.split_once('?').unwrap();
    let (_, query) = url.split_once('?').unwrap();
    send(plain.get(format!("{other_path}?{query}")))
        .await
        .expect(403);
    send(plain.get(other_path)).await.expect(403);
    // A later expiry with the old signature.
    let later = url.replace("X-Amz-Expires=3600", "X-Amz-Expires=7200");
    assert_ne!(later, url);
    send(plain.get(&later)).await.expect(403);

    // Expired URLs: issued expired by a fault.
    sim.set_faults("urls:expire=1".parse().unwrap());
    let expired = api.download_url(&id, path).await;
    let r = send(plain.get(&expired)).await;
    r.expect(403);
    assert!(String::from_utf8_lossy(&r.body).contains("expired"));
    sim.set_faults(Default::default());
    send(plain.get(api.download_url(&id, path).await))
        .await
        .expect(200);

    // The same file under a deleted computation is gone.
    let del = api
        .send(api.http.delete(api.url(&format!("/computations/{id}"))))
        .await;
    del.expect(204);
    send(plain.get(&url)).await.expect(404);
    assert_eq!(sim.stats().storage_requests_with_authorization, 1);
}

fn flip_last_signature_char(url: &str) -> String {
    let at = url.find("X-Amz-Signature=").unwrap() + "X-Amz-Signature=".len() + 5;
    let mut s = url.to_owned();
    let c = &s[at..at + 1];
    let replacement = if c == "0" { "1" } else { "0" };
    s.replace_range(at..at + 1, replacement);
    s
}

#[tokio::test]
async fn odd_file_names_round_trip_through_signed_urls() {
    use codeocean_sim::catalogue::{Catalogue, Node, RunPlan, Runnable, Tree};
    let names = [
        "a b.txt",
        "ü-ñ.csv",
        "100%.txt",
        "q?.txt",
        "h#1.txt",
        "+plus+.txt",
        "semi;colon=.txt",
        "'quote\".txt",
        "empty.bin",
    ];
    let entries = names
        .iter()
        .map(|n| Node::File {
            name: (*n).into(),
            size: if *n == "empty.bin" { 0 } else { 70_000 },
        })
        .chain([Node::Folder {
            name: "dir with space".into(),
            children: vec![Node::File {
                name: "x&y.txt".into(),
                size: 10,
            }],
        }])
        .collect();
    let catalogue = Catalogue {
        capsules: vec![Runnable {
            id: "odd".into(),
            name: "Odd names".into(),
            description: String::new(),
            slug: None,
            parameters: None,
            processes: vec![],
            versions: 0,
            git_remote: None,
            run: RunPlan {
                results: Tree {
                    entries,
                    generate: None,
                },
                ..RunPlan::default()
            },
        }],
        ..Catalogue::default()
    };
    let sim = start_with(|c| c.catalogue = Some(catalogue));
    let api = Api::new(&sim);
    let id = api.finished_run(&sim, "odd").await;
    let client = raw_client(&sim);
    let plain = reqwest::Client::new();
    let paths = names
        .iter()
        .map(|n| n.to_string())
        .chain(["dir with space/x&y.txt".to_owned()]);
    for path in paths {
        let urls = client
            .get_result_file_urls(&id, &path)
            .await
            .unwrap_or_else(|e| panic!("{path}: {e}"))
            .into_inner();
        let want = sim.result_content(&id, &path).unwrap().read(0, u64::MAX);
        for url in [&urls.download_url, &urls.view_url] {
            let got = send(plain.get(url)).await;
            got.expect(200);
            assert!(got.body == want, "{path}: bytes differ");
        }
        let head = plain.head(&urls.download_url).send().await.unwrap();
        assert_eq!(head.status(), 200, "{path}");
        assert_eq!(
            head.headers()[CONTENT_LENGTH].to_str().unwrap(),
            want.len().to_string(),
            "{path}"
        );
        let listed = client
            .get_result_file_download_url(&id, &path)
            .await
            .unwrap()
            .into_inner();
        send(plain.get(&listed.url)).await.expect(200);
    }
    // The listing names them as they are.
    let root = client
        .list_computation_results(
            &id,
            &codeocean_raw::types::ListResultsRequest {
                path: String::new(),
            },
        )
        .await
        .unwrap()
        .into_inner();
    let listed: Vec<&str> = root.items.iter().map(|i| i.name.as_str()).collect();
    assert!(names.iter().all(|n| listed.contains(n)), "{listed:?}");
}
