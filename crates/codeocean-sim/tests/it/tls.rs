//! The simulator over TLS: both origins over HTTPS with only its CA trusted, HTTP/2 by ALPN,
//! refused clients that leave the server serving, given and expired certificates, the binary's
//! `--tls` flags, and faults over TLS.

use std::io::BufRead as _;
use std::process::Command;
use std::time::{Duration, Instant, SystemTime};

use codeocean_sim::{CertificateAuthority, Faults, Tls};
use reqwest::header::CONTENT_LENGTH;
use serde_json::json;

use crate::binary::{BIN, Process, TempFile};
use crate::*;

const DAY: Duration = Duration::from_secs(86_400);

/// A simulator over TLS with a generated CA, on a nearly frozen clock.
fn start_tls() -> Simulator {
    start_with(|c| c.tls = Some(Tls::Generated))
}

/// A client that trusts this CA (PEM) and nothing else; HTTP/2 when the server offers it.
fn trusting(ca_pem: &str) -> reqwest::ClientBuilder {
    let ca = reqwest::Certificate::from_pem(ca_pem.as_bytes()).unwrap();
    reqwest::Client::builder().tls_certs_only([ca])
}

/// [`Api`] through a client that trusts the simulator's CA.
fn api_tls(sim: &Simulator, http: reqwest::Client) -> Api {
    Api {
        http,
        base: sim.api_url(),
    }
}

/// The whole error chain of a failed request, on one line.
fn chain(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// Waits up to 5 s for `done` (the server notes a failed handshake after the client gave up).
#[track_caller]
fn eventually(done: impl Fn() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < Duration::from_secs(5), "not within 5 s");
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[tokio::test]
async fn a_listing_and_a_signed_url_over_https_with_only_the_ca_trusted() {
    let sim = start_tls();
    assert!(sim.origin().starts_with("https://127.0.0.1:"), "{sim:?}");
    assert!(sim.storage_origin().starts_with("https://127.0.0.1:"));
    assert!(sim.api_url().starts_with("https://"));
    let ca = sim.ca_certificate_pem().expect("a generated CA").to_owned();
    assert!(ca.starts_with("-----BEGIN CERTIFICATE-----"), "{ca}");
    assert_eq!(sim.ca_certificate_path(), None, "nothing written yet");

    let http = trusting(&ca).build().unwrap();
    let api = api_tls(&sim, http.clone());
    let id = api.finished_run(&sim, HELLO).await;
    let listing = api
        .post(
            &format!("/computations/{id}/results"),
            json!({ "path": "" }),
        )
        .await;
    let items = listing.expect(200).json()["items"].clone();
    let names: Vec<&str> = items
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"output.txt"), "{names:?}");

    let url = api.download_url(&id, "output.txt").await;
    assert!(url.starts_with(sim.storage_origin()), "{url}");
    assert!(url.starts_with("https://"), "{url}");
    let want = sim
        .result_content(&id, "output.txt")
        .unwrap()
        .read(0, u64::MAX);
    let got = send(http.get(&url)).await;
    got.expect(200);
    assert_eq!(
        got.header(CONTENT_LENGTH.as_str()),
        Some(want.len().to_string().as_str())
    );
    assert!(got.body == want, "bytes differ over TLS");

    let stats = sim.stats();
    assert_eq!(stats.counts["storage_get"], 1);
    assert_eq!(stats.storage_requests_with_authorization, 0);
    assert!(stats.api_connections >= 1, "{stats:?}");
    assert_eq!(stats.storage_connections, 1, "{stats:?}");
    assert_eq!(stats.tls_handshake_failures, 0, "{stats:?}");

    // A CA written to a file is the same CA, and the simulator says where it is.
    let mut sim = sim;
    let file = TempFile::new("written-ca.pem", "");
    sim.write_ca_certificate(&file.0).unwrap();
    assert_eq!(sim.ca_certificate_path(), Some(file.0.as_path()));
    assert_eq!(std::fs::read_to_string(&file.0).unwrap(), ca);
    let banner = sim.banner();
    let lines: Vec<&str> = banner.lines().collect();
    assert_eq!(
        lines,
        [
            format!("listening on {}", sim.origin()),
            format!("storage on {}", sim.storage_origin()),
            format!(
                "API base {} (admin: {}/__sim/stats)",
                sim.api_url(),
                sim.origin()
            ),
            format!("CA certificate {}", file.path()),
        ]
    );
    assert!(banner.ends_with('\n'));
}

#[tokio::test]
async fn plain_http_stays_plain_with_three_banner_lines_and_no_ca() {
    let mut sim = start();
    assert!(sim.origin().starts_with("http://"), "{sim:?}");
    assert!(sim.storage_origin().starts_with("http://"));
    assert_eq!(sim.ca_certificate_pem(), None);
    let file =
        std::env::temp_dir().join(format!("codeocean-sim-it-{}-none.pem", std::process::id()));
    sim.write_ca_certificate(&file).unwrap();
    assert!(!file.exists(), "no CA, no file");
    assert_eq!(sim.ca_certificate_path(), None);
    assert_eq!(sim.banner().lines().count(), 3, "{}", sim.banner());

    let api = Api::new(&sim);
    api.get(&format!("/capsules/{HELLO}")).await.expect(200);
    let log = sim.requests();
    assert_eq!(log[0].http_version, "HTTP/1.1");
    let stats = sim.stats();
    assert_eq!((stats.api_connections, stats.http2_requests), (1, 0));
    // The admin JSON carries the new counts beside the old ones.
    let admin = send(reqwest::Client::new().get(format!("{}/__sim/stats", sim.origin()))).await;
    let admin = admin.expect(200).json();
    for key in [
        "counts",
        "statuses",
        "storage_requests_with_authorization",
        "storage_bytes",
        "api_connections",
        "storage_connections",
        "http2_requests",
        "tls_handshake_failures",
    ] {
        assert!(admin.get(key).is_some(), "{key} missing in {admin}");
    }
    // The admin request came on a connection of its own (another client).
    assert_eq!(admin["api_connections"], 2, "{admin}");
    let requests =
        send(reqwest::Client::new().get(format!("{}/__sim/requests", sim.origin()))).await;
    assert_eq!(requests.expect(200).json()[0]["http_version"], "HTTP/1.1");
}

#[tokio::test]
async fn http2_when_the_client_offers_it_and_http1_when_it_does_not() {
    let sim = start_tls();
    let ca = sim.ca_certificate_pem().unwrap().to_owned();
    let path = format!("/capsules/{HELLO}");

    // HTTP/2: one connection carries a first request and then 16 at once.
    let h2 = api_tls(&sim, trusting(&ca).build().unwrap());
    h2.get(&path).await.expect(200);
    let replies = futures_util::future::join_all((0..16).map(|_| h2.get(&path))).await;
    assert!(replies.iter().all(|r| r.status == 200));
    let stats = sim.stats();
    assert_eq!(stats.http2_requests, 17, "{stats:?}");
    assert_eq!(stats.api_connections, 1, "{stats:?}");
    assert!(
        sim.requests().iter().all(|r| r.http_version == "HTTP/2.0"),
        "{:?}",
        sim.requests()
    );

    // HTTP/1.1 only: the same, and each request in flight needs a connection of its own.
    sim.clear_requests();
    let h1 = api_tls(&sim, trusting(&ca).http1_only().build().unwrap());
    h1.get(&path).await.expect(200);
    let replies = futures_util::future::join_all((0..16).map(|_| h1.get(&path))).await;
    assert!(replies.iter().all(|r| r.status == 200));
    let stats = sim.stats();
    assert_eq!(stats.http2_requests, 0, "{stats:?}");
    assert!(stats.api_connections > 1, "{stats:?}");
    assert!(
        sim.requests().iter().all(|r| r.http_version == "HTTP/1.1"),
        "{:?}",
        sim.requests()
    );

    // The storage origin negotiates the same way.
    let id = h2.finished_run(&sim, HELLO).await;
    let url = h2.download_url(&id, "output.txt").await;
    send(h2.http.get(&url)).await.expect(200);
    send(h1.http.get(&url)).await.expect(200);
    let log = sim.requests();
    let storage: Vec<&str> = log
        .iter()
        .filter(|r| r.origin == "storage")
        .map(|r| r.http_version.as_str())
        .collect();
    assert_eq!(storage, ["HTTP/2.0", "HTTP/1.1"]);
    assert_eq!(sim.stats().storage_connections, 2);
}

#[tokio::test]
async fn untrusted_and_plain_http_clients_are_refused_and_the_server_keeps_serving() {
    let sim = start_tls();
    let url = format!("{}/capsules/{HELLO}", sim.api_url());

    // A silent connection that never starts a handshake does not hold up anyone else.
    let addr = sim.origin().strip_prefix("https://").unwrap().to_owned();
    let silent = tokio::net::TcpStream::connect(&addr).await.unwrap();

    // A client trusting another CA: refused for the issuer.
    let other = CertificateAuthority::generate("some other CA");
    let e = trusting(&other.certificate_pem())
        .build()
        .unwrap()
        .get(&url)
        .header(AUTHORIZATION, basic(TOKEN))
        .send()
        .await
        .unwrap_err();
    assert!(e.is_connect(), "{e:?}");
    assert!(chain(&e).contains("UnknownIssuer"), "{}", chain(&e));

    // Plain HTTP to the HTTPS port: no answer a client could take for the API's.
    let plain = format!("http://{addr}/api/v1/capsules/{HELLO}");
    match reqwest::Client::new()
        .get(&plain)
        .header(AUTHORIZATION, basic(TOKEN))
        .send()
        .await
    {
        Err(_) => {}
        Ok(r) => assert!(!r.status().is_success(), "{r:?}"),
    }
    // The storage origin refuses the same way.
    let storage = format!("{}/results/x", sim.storage_origin());
    let e = trusting(&other.certificate_pem())
        .build()
        .unwrap()
        .get(&storage)
        .send()
        .await
        .unwrap_err();
    assert!(chain(&e).contains("UnknownIssuer"), "{}", chain(&e));

    // And the next trusted client is served, on both origins, while the silent one waits.
    let http = trusting(sim.ca_certificate_pem().unwrap()).build().unwrap();
    let api = api_tls(&sim, http.clone());
    api.get(&format!("/capsules/{HELLO}")).await.expect(200);
    let id = api.finished_run(&sim, HELLO).await;
    let url = api.download_url(&id, "output.txt").await;
    send(http.get(&url)).await.expect(200);

    eventually(|| sim.stats().tls_handshake_failures >= 3);
    let stats = sim.stats();
    assert!(stats.api_connections >= 4, "{stats:?}");
    // Refused handshakes never reach the request log.
    assert!(
        sim.requests().iter().all(|r| r.status == 200),
        "{:?}",
        sim.requests()
    );
    drop(silent);
}

#[tokio::test]
async fn a_pair_from_issue_is_served_and_a_name_it_lacks_is_refused() {
    let ca = CertificateAuthority::generate("test CA");
    let leaf = ca.issue(&["localhost", "127.0.0.1"]);
    assert!(
        leaf.cert_chain_pem
            .starts_with("-----BEGIN CERTIFICATE-----")
    );
    let sim = start_with(|c| c.tls = Some(leaf.tls()));
    assert!(sim.origin().starts_with("https://"));
    assert_eq!(sim.ca_certificate_pem(), None, "the CA is the caller's");
    let api = api_tls(&sim, trusting(&ca.certificate_pem()).build().unwrap());
    api.get(&format!("/capsules/{HELLO}")).await.expect(200);
    // By name too.
    let by_name = sim.api_url().replace("127.0.0.1", "localhost");
    let r = send(
        api.http
            .get(format!("{by_name}/capsules/{HELLO}"))
            .header(AUTHORIZATION, basic(TOKEN)),
    )
    .await;
    r.expect(200);

    // A certificate for other names: the client refuses it for the name.
    let elsewhere = ca.issue(&["api.example.org"]);
    let sim = start_with(|c| c.tls = Some(elsewhere.tls()));
    let e = trusting(&ca.certificate_pem())
        .build()
        .unwrap()
        .get(format!("{}/capsules/{HELLO}", sim.api_url()))
        .send()
        .await
        .unwrap_err();
    assert!(chain(&e).contains("not valid for name"), "{}", chain(&e));
}

#[tokio::test]
async fn an_expired_certificate_is_refused_by_the_client() {
    let ca = CertificateAuthority::generate("test CA");
    let now = SystemTime::now();
    let expired = ca.issue_valid(&["127.0.0.1"], now - 30 * DAY, now - DAY);
    let sim = start_with(|c| c.tls = Some(expired.tls()));
    let e = trusting(&ca.certificate_pem())
        .build()
        .unwrap()
        .get(format!("{}/capsules/{HELLO}", sim.api_url()))
        .header(AUTHORIZATION, basic(TOKEN))
        .send()
        .await
        .unwrap_err();
    assert!(e.is_connect(), "{e:?}");
    assert!(chain(&e).contains("xpired"), "{}", chain(&e));
    eventually(|| sim.stats().tls_handshake_failures == 1);

    // Not yet valid is refused as well; the same CA's current leaf is fine.
    let future = ca.issue_valid(&["127.0.0.1"], now + DAY, now + 30 * DAY);
    let sim = start_with(|c| c.tls = Some(future.tls()));
    let client = trusting(&ca.certificate_pem()).build().unwrap();
    let e = client
        .get(format!("{}/capsules/{HELLO}", sim.api_url()))
        .send()
        .await
        .unwrap_err();
    assert!(chain(&e).contains("not valid yet"), "{}", chain(&e));
    let valid = ca.issue_valid(&["127.0.0.1"], now - DAY, now + DAY);
    let sim = start_with(|c| c.tls = Some(valid.tls()));
    api_tls(&sim, client)
        .get(&format!("/capsules/{HELLO}"))
        .await
        .expect(200);
}

#[test]
fn a_pair_that_is_not_pem_fails_to_start_with_the_reason() {
    let ca = CertificateAuthority::generate("test CA");
    let leaf = ca.issue(&["127.0.0.1"]);
    for (tls, needle) in [
        (
            Tls::Pem {
                cert_chain: "not a certificate".into(),
                key: leaf.key_pem.clone(),
            },
            "TLS certificate: not a PEM certificate chain",
        ),
        (
            Tls::Pem {
                cert_chain: leaf.cert_chain_pem.clone(),
                key: leaf.cert_chain_pem.clone(),
            },
            "TLS private key: not a PEM private key",
        ),
    ] {
        let e = Simulator::start(Config {
            tls: Some(tls),
            ..Config::new(TOKEN)
        })
        .unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput);
        assert!(e.to_string().contains(needle), "{e}");
    }
}

#[tokio::test]
async fn faults_still_apply_over_tls() {
    let sim = start_tls();
    let http = trusting(sim.ca_certificate_pem().unwrap()).build().unwrap();
    let api = api_tls(&sim, http.clone());
    let path = format!("/capsules/{HELLO}");
    api.get(&path).await.expect(200);

    let mut faults = Faults::default();
    faults.apply("capsules:latency=300ms").unwrap();
    sim.set_faults(faults);
    let t = Instant::now();
    api.get(&path).await.expect(200);
    assert!(
        t.elapsed() >= Duration::from_millis(300),
        "{:?}",
        t.elapsed()
    );

    let mut faults = Faults::default();
    faults.apply("capsules:503=1").unwrap();
    faults.apply("storage:503=1").unwrap();
    sim.set_faults(faults);
    api.get(&path).await.expect(503);
    sim.set_faults(Faults::default());
    let id = api.finished_run(&sim, HELLO).await;
    let url = api.download_url(&id, "output.txt").await;
    let mut faults = Faults::default();
    faults.apply("storage:503=1").unwrap();
    sim.set_faults(faults);
    let r = send(http.get(&url)).await;
    r.expect(503);
    assert!(
        String::from_utf8_lossy(&r.body).contains("<Error>"),
        "{r:?}"
    );

    // A reset over HTTP/2 ends that stream only: the next request rides the same connection.
    let mut faults = Faults::default();
    faults.apply("capsules:reset=1").unwrap();
    sim.set_faults(faults);
    let reset = http
        .get(api.url(&path))
        .header(AUTHORIZATION, basic(TOKEN))
        .send()
        .await;
    if let Ok(resp) = reset {
        assert!(resp.bytes().await.is_err(), "a reset body read cleanly");
    }
    sim.set_faults(Faults::default());
    api.get(&path).await.expect(200);
    let stats = sim.stats();
    assert_eq!(stats.api_connections, 1, "{stats:?}");
    assert_eq!(stats.storage_connections, 1, "{stats:?}");
}

#[tokio::test]
async fn the_binary_with_tls_prints_four_lines_and_its_ca_file_trusts_it() {
    let p = Process::start_lines(&["--token", "T", "--tls", "--time-scale", "100"], 4);
    let origin = p.origin().to_owned();
    let port = origin.strip_prefix("https://127.0.0.1:").unwrap();
    assert!(
        p.lines[1].starts_with("storage on https://127.0.0.1:"),
        "{:?}",
        p.lines
    );
    assert_eq!(
        p.lines[2],
        format!("API base {origin}/api/v1 (admin: {origin}/__sim/stats)")
    );
    let path = p.lines[3]
        .strip_prefix("CA certificate ")
        .unwrap_or_else(|| panic!("{:?}", p.lines));
    let want = std::env::temp_dir().join(format!("codeocean-sim-{port}-ca.pem"));
    assert_eq!(path, want.to_str().unwrap());
    let ca = std::fs::read_to_string(path).unwrap();
    let _cleanup = TempFile(want);

    let http = trusting(&ca).build().unwrap();
    let capsule = send(
        http.get(format!("{origin}/api/v1/capsules/{HELLO}"))
            .header(AUTHORIZATION, basic("T")),
    )
    .await;
    assert_fields(&capsule.expect(200).json(), CAPSULE_FIELDS);
    let stats = send(http.get(format!("{origin}/__sim/stats"))).await;
    assert_eq!(stats.expect(200).json()["counts"]["get_capsule"], 1);

    // `--ca-out` chooses the file.
    let out = std::env::temp_dir().join(format!(
        "codeocean-sim-it-{}-ca-out.pem",
        std::process::id()
    ));
    let _cleanup = TempFile(out.clone());
    let p = Process::start_lines(
        &["--token", "T", "--tls", "--ca-out", out.to_str().unwrap()],
        4,
    );
    assert_eq!(p.lines[3], format!("CA certificate {}", out.display()));
    let http = trusting(&std::fs::read_to_string(&out).unwrap())
        .build()
        .unwrap();
    send(
        http.get(format!("{}/api/v1/capsules/{HELLO}", p.origin()))
            .header(AUTHORIZATION, basic("T")),
    )
    .await
    .expect(200);
}

#[tokio::test]
async fn the_binary_serves_a_given_pair_with_three_lines() {
    let ca = CertificateAuthority::generate("test CA");
    let leaf = ca.issue(&["127.0.0.1"]);
    let cert = TempFile::new("leaf.pem", &leaf.cert_chain_pem);
    let key = TempFile::new("leaf-key.pem", &leaf.key_pem);
    let mut p = Process::start_lines(
        &[
            "--token",
            "T",
            "--tls-cert",
            cert.path(),
            "--tls-key",
            key.path(),
        ],
        3,
    );
    assert!(p.origin().starts_with("https://"), "{:?}", p.lines);
    let http = trusting(&ca.certificate_pem()).build().unwrap();
    send(
        http.get(format!("{}/api/v1/capsules/{HELLO}", p.origin()))
            .header(AUTHORIZATION, basic("T")),
    )
    .await
    .expect(200);
    // No fourth line follows: the next thing on stdout would be one, and there is none.
    p.child.kill().unwrap();
    let mut rest = String::new();
    p.out.read_line(&mut rest).unwrap();
    assert_eq!(rest, "", "{:?}", p.lines);
}

#[test]
fn tls_flag_mistakes_exit_2_naming_what_is_wrong() {
    let ca = CertificateAuthority::generate("test CA");
    let leaf = ca.issue(&["127.0.0.1"]);
    let cert = TempFile::new("flags-cert.pem", &leaf.cert_chain_pem);
    let key = TempFile::new("flags-key.pem", &leaf.key_pem);
    let garbage = TempFile::new("flags-garbage.pem", "hello\n");
    let der = TempFile::new("flags-cert.der", "");
    std::fs::write(&der.0, [0x30u8, 0x82, 0x01, 0xff, 0xfe, 0x00]).unwrap();
    let missing = "/nonexistent/codeocean-sim/cert.pem";
    let cases: Vec<(Vec<&str>, Vec<String>)> = vec![
        (
            vec!["--tls-cert", cert.path()],
            vec!["--tls-cert FILE needs --tls-key FILE".into()],
        ),
        (
            vec!["--tls-key", key.path()],
            vec!["--tls-key FILE needs --tls-cert FILE".into()],
        ),
        (
            vec!["--tls-cert", missing, "--tls-key", key.path()],
            vec![format!("--tls-cert {missing}: cannot read it")],
        ),
        (
            vec!["--tls-cert", garbage.path(), "--tls-key", key.path()],
            vec![
                format!("--tls-cert {}", garbage.path()),
                "not a PEM certificate chain".into(),
            ],
        ),
        (
            vec!["--tls-cert", cert.path(), "--tls-key", garbage.path()],
            vec![
                format!("--tls-key {}", garbage.path()),
                "not a PEM private key".into(),
            ],
        ),
        (
            vec!["--tls-cert", der.path(), "--tls-key", key.path()],
            vec![
                format!("--tls-cert {}", der.path()),
                "not PEM but binary (DER?)".into(),
            ],
        ),
        (
            vec!["--tls-cert", cert.path(), "--tls-key", cert.path()],
            vec!["not a PEM private key".into()],
        ),
        (
            vec!["--ca-out", "/tmp/x.pem"],
            vec!["--ca-out needs --tls".into()],
        ),
        (
            vec!["--tls", "--ca-out", "/nonexistent/dir/ca.pem"],
            vec!["/nonexistent/dir/ca.pem".into()],
        ),
    ];
    for (args, needles) in cases {
        let out = Command::new(BIN)
            .args(["--token", "T"])
            .args(&args)
            .env_remove("CODEOCEAN_SIM_TOKEN")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        for needle in needles {
            assert!(stderr.contains(&needle), "{args:?}: {stderr}");
        }
        // Never a file's contents: a key must not end up in a log.
        assert!(!stderr.contains("-----BEGIN"), "{args:?}: {stderr}");
        assert!(
            out.stdout.is_empty(),
            "{args:?} printed {:?}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
}

#[tokio::test]
async fn args_start_writes_the_ca_where_the_banner_says() {
    use clap::Parser as _;

    let out = TempFile::new("args-start-ca.pem", "");
    let args = codeocean_sim::cli::Args::try_parse_from([
        "codeocean-sim",
        "--token",
        "T",
        "--tls",
        "--ca-out",
        out.path(),
    ])
    .unwrap();
    let sim = args.start().unwrap();
    assert_eq!(sim.ca_certificate_path(), Some(out.0.as_path()));
    assert_eq!(
        std::fs::read_to_string(&out.0).unwrap(),
        sim.ca_certificate_pem().unwrap()
    );
    let banner = sim.banner();
    assert_eq!(
        banner.lines().nth(3),
        Some(format!("CA certificate {}", out.path()).as_str()),
        "{banner}"
    );
    let http = trusting(sim.ca_certificate_pem().unwrap()).build().unwrap();
    send(
        http.get(format!("{}/capsules/{HELLO}", sim.api_url()))
            .header(AUTHORIZATION, basic("T")),
    )
    .await
    .expect(200);

    // Without --tls: plain HTTP, nothing written, three lines.
    let args = codeocean_sim::cli::Args::try_parse_from(["codeocean-sim", "--token", "T"]).unwrap();
    let sim = args.start().unwrap();
    assert!(sim.origin().starts_with("http://"));
    assert_eq!(sim.ca_certificate_path(), None);
    assert_eq!(sim.banner().lines().count(), 3);
}
