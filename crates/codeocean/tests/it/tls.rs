//! The client over HTTPS: the whole job with the simulator's CA trusted (by PEM bytes, by file,
//! by `CODEOCEAN_CA_CERT`), HTTP/1.1 by default or HTTP/2 by ALPN, the refused certificates
//! (untrusted issuer, self-signed, other names, expired, not yet valid) each one line that is
//! never retried and never lets the token leave, `http://` to a server that speaks only HTTPS,
//! and CA files that cannot be used.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use codeocean::{Client, ClientBuilder, DisplayErrorContext, ErrorKind, NewDataAsset, RunRequest};
use codeocean_sim::{CertificateAuthority, Simulator, Tls};

use crate::{HELLO, assert_dir_matches, assert_tree_matches, client, finished_run};

/// Long enough for any of these to end, far shorter than a retry would take.
const GUARD: Duration = Duration::from_secs(20);

/// A simulator serving HTTPS with `tls`.
fn sim_tls(tls: Tls) -> Simulator {
    crate::sim(|c| c.tls = Some(tls))
}

/// A client for `sim` whose retries, were any made, would outlast [`GUARD`].
fn slow_retries(sim: &Simulator) -> ClientBuilder {
    Client::builder()
        .domain(sim.origin())
        .token(sim.token())
        .retry_policy(codeocean::RetryPolicy::default().initial_backoff(Duration::from_secs(30)))
}

/// run → wait → download → data asset from the results → wait → download it, through `c`.
async fn whole_job(sim: &Simulator, c: &Client) {
    let id = finished_run(c, HELLO).await;
    let dir = tempfile::tempdir().unwrap();
    let summary = c.download(&id, dir.path()).run().await.unwrap();
    assert_eq!(summary.downloaded, 7, "{summary:?}");
    assert_tree_matches(sim, &id, dir.path(), 7);
    let asset = c
        .create_data_asset(&NewDataAsset::from_computation(&id, "over TLS", "tls"))
        .await
        .unwrap();
    c.wait_for_data_asset(&asset.id).await.unwrap();
    let asset_dir = tempfile::tempdir().unwrap();
    let summary = c
        .download_data_asset(&asset.id, asset_dir.path())
        .run()
        .await
        .unwrap();
    assert_eq!(summary.downloaded, 7, "{summary:?}");
    assert_dir_matches(asset_dir.path(), 7, |rel| sim.result_content(&id, rel));
    assert_eq!(sim.stats().storage_requests_with_authorization, 0);
}

#[tokio::test]
async fn the_whole_job_over_https_with_the_ca_trusted_by_pem() {
    let sim = sim_tls(Tls::Generated);
    assert!(sim.origin().starts_with("https://"), "{}", sim.origin());
    let ca = sim.ca_certificate_pem().unwrap().to_owned();
    // `client` trusts the simulator's CA by its PEM bytes.
    let c = client(&sim);
    whole_job(&sim, &c).await;
    // A bundle: the CA among other certificates (another CA first) is trusted too.
    let other = CertificateAuthority::generate("another CA").certificate_pem();
    let c = slow_retries(&sim)
        .add_root_certificates(format!("{other}{ca}"))
        .build()
        .unwrap();
    c.get_capsule(HELLO).await.unwrap();
}

#[tokio::test]
async fn the_whole_job_over_https_with_the_ca_trusted_by_file() {
    let mut sim = sim_tls(Tls::Generated);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sim-ca.pem");
    sim.write_ca_certificate(&path).unwrap();
    let c = crate::fast(
        Client::builder()
            .domain(sim.origin())
            .token(sim.token())
            .add_root_certificates_file(&path),
    );
    whole_job(&sim, &c).await;
}

/// HTTP/1.1 by default (`DEFAULT_HTTP2` is `false`) and with `http2(false)`, a connection per
/// request in flight; HTTP/2 with `http2(true)`, to the API and the storage origin alike, over
/// few connections.
#[tokio::test]
async fn http1_by_default_and_http2_when_switched_on() {
    for setting in [None, Some(true), Some(false)] {
        // The default is HTTP/1.1 (BENCHMARKS.md, section 7).
        let http2 = setting.unwrap_or(false);
        let sim = sim_tls(Tls::Generated);
        let b = Client::builder()
            .domain(sim.origin())
            .token(sim.token())
            .add_root_certificates(sim.ca_certificate_pem().unwrap());
        let c = crate::fast(match setting {
            Some(on) => b.http2(on),
            None => b,
        });
        let id = finished_run(&c, HELLO).await;
        // 32 API requests at once.
        let calls = (0..32).map(|_| c.get_computation(&id));
        for r in futures_util::future::join_all(calls).await {
            r.unwrap();
        }
        let dir = tempfile::tempdir().unwrap();
        let s = c.download(&id, dir.path()).run().await.unwrap();
        assert_eq!(s.downloaded, 7, "{s:?}");
        let requests = sim.requests();
        let want = if http2 { "HTTP/2.0" } else { "HTTP/1.1" };
        for origin in ["api", "storage"] {
            let versions: std::collections::BTreeSet<&str> = requests
                .iter()
                .filter(|r| r.origin == origin)
                .map(|r| r.http_version.as_str())
                .collect();
            assert_eq!(versions, [want].into(), "{origin}, http2({http2})");
        }
        let stats = sim.stats();
        if http2 {
            assert_eq!(stats.http2_requests, requests.len() as u64);
            // The 32 concurrent calls share the connection the first calls opened. (Not so the
            // storage origin's: the first transfers start together, before any connection has
            // said by ALPN that it is HTTP/2, and each opens its own.)
            assert!(stats.api_connections <= 2, "{stats:?}");
        } else {
            assert_eq!(stats.http2_requests, 0);
            assert!(stats.api_connections > 2, "{stats:?}");
        }
    }
}

/// `c`'s `get_capsule` fails at once, as one line (no source to print after it), with a
/// connection error that is not retried, after one connection, and without any request (so
/// the token never reached the server).
async fn refused(sim: &Simulator, c: &Client) -> String {
    let e = tokio::time::timeout(GUARD, c.get_capsule(HELLO))
        .await
        .expect("not retried")
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Connection, "{e}");
    assert!(!e.is_retryable(), "{e}");
    assert!(std::error::Error::source(&e).is_none(), "{e:?}");
    assert_eq!(DisplayErrorContext(&e).to_string(), e.to_string());
    assert!(!e.to_string().contains(sim.token()));
    let stats = sim.stats();
    assert_eq!(stats.api_connections, 1, "retried: {stats:?}");
    assert_eq!(
        sim.requests(),
        vec![],
        "a request got through the handshake"
    );
    e.to_string()
}

/// `getting capsule HELLO: ` and then the diagnosis.
fn line(diagnosis: &str) -> String {
    format!("getting capsule {HELLO}: {diagnosis}")
}

#[tokio::test]
async fn an_untrusted_ca_says_how_to_trust_it() {
    let sim = sim_tls(Tls::Generated);
    let c = slow_retries(&sim).build().unwrap();
    assert_eq!(refused(&sim, &c).await, line(UNTRUSTED));
}

/// What an untrusted certificate of the simulator reads as.
const UNTRUSTED: &str = "the certificate of 127.0.0.1 is signed by a CA this machine does not \
                         trust; if 127.0.0.1 uses a private CA, trust it with \
                         CODEOCEAN_CA_CERT=<file.pem> (the CLI's --ca-cert) or the system's \
                         trust store";

#[tokio::test]
async fn a_self_signed_certificate_is_an_untrusted_ca() {
    let leaf = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
    let sim = sim_tls(Tls::Pem {
        cert_chain: leaf.cert.pem(),
        key: leaf.signing_key.serialize_pem(),
    });
    // Another CA trusted changes nothing.
    let other = CertificateAuthority::generate("another CA").certificate_pem();
    let c = slow_retries(&sim)
        .add_root_certificates(other)
        .build()
        .unwrap();
    assert_eq!(refused(&sim, &c).await, line(UNTRUSTED));
}

#[tokio::test]
async fn a_certificate_for_other_names_says_which() {
    let ca = CertificateAuthority::generate("test CA");
    let sim = sim_tls(ca.issue(&["codeocean.example", "10.1.2.3"]).tls());
    let c = slow_retries(&sim)
        .add_root_certificates(ca.certificate_pem())
        .build()
        .unwrap();
    // rustls says the names; OpenSSL (native-tls) does not.
    let want = if cfg!(feature = "rustls") {
        "the certificate of 127.0.0.1 is for codeocean.example, 10.1.2.3, not 127.0.0.1; check \
         the domain"
    } else {
        "the certificate of 127.0.0.1 is not for 127.0.0.1; check the domain"
    };
    assert_eq!(refused(&sim, &c).await, line(want));
}

/// 2026-01-01 00:00:00 UTC.
const NEW_YEAR_2026: u64 = 1_767_225_600;

#[tokio::test]
async fn an_expired_certificate_says_when() {
    let ca = CertificateAuthority::generate("test CA");
    let at = |s| UNIX_EPOCH + Duration::from_secs(s);
    let old = ca.issue_valid(
        &["127.0.0.1"],
        at(NEW_YEAR_2026 - 86_400 * 90),
        at(NEW_YEAR_2026),
    );
    assert!(SystemTime::now() > at(NEW_YEAR_2026));
    let sim = sim_tls(old.tls());
    let c = slow_retries(&sim)
        .add_root_certificates(ca.certificate_pem())
        .build()
        .unwrap();
    // rustls says the date; OpenSSL (native-tls) does not.
    let when = if cfg!(feature = "rustls") {
        "expired on Thu, 01 Jan 2026 00:00:00 GMT"
    } else {
        "has expired"
    };
    assert_eq!(
        refused(&sim, &c).await,
        line(&format!(
            "the certificate of 127.0.0.1 {when}; the server's certificate must be renewed (or \
             this machine's clock is wrong)"
        ))
    );
}

#[tokio::test]
async fn a_certificate_not_valid_yet_says_from_when() {
    let ca = CertificateAuthority::generate("test CA");
    // 2099-01-01 00:00:00 UTC, for ten years.
    let from = UNIX_EPOCH + Duration::from_secs(4_070_908_800);
    let future = ca.issue_valid(
        &["127.0.0.1"],
        from,
        from + Duration::from_secs(86_400 * 3650),
    );
    let sim = sim_tls(future.tls());
    let c = slow_retries(&sim)
        .add_root_certificates(ca.certificate_pem())
        .build()
        .unwrap();
    let when = if cfg!(feature = "rustls") {
        "is not valid before Thu, 01 Jan 2099 00:00:00 GMT"
    } else {
        "is not valid yet"
    };
    assert_eq!(
        refused(&sim, &c).await,
        line(&format!(
            "the certificate of 127.0.0.1 {when}; this machine's clock is wrong (or the \
             server's certificate is dated in the future)"
        ))
    );
}

/// A run (never re-sent) to a server whose certificate is refused: one handshake, no request,
/// so neither the token nor the run reached it.
#[tokio::test]
async fn the_token_never_reaches_an_untrusted_server() {
    let sim = sim_tls(Tls::Generated);
    let c = slow_retries(&sim).build().unwrap();
    let e = tokio::time::timeout(GUARD, c.run(&RunRequest::capsule(HELLO)))
        .await
        .expect("not retried")
        .unwrap_err();
    assert!(e.to_string().contains("does not trust"), "{e}");
    assert_eq!(sim.requests(), vec![]);
    assert_eq!(sim.stats().api_connections, 1);
}

#[tokio::test]
async fn ca_files_that_cannot_be_used_are_config_errors_naming_them() {
    let dir = tempfile::tempdir().unwrap();
    let builder = || Client::builder().domain("co.example").token("t");
    let config_error = |b: ClientBuilder| {
        let e = b.build().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Config, "{e}");
        e.to_string()
    };

    let missing = dir.path().join("missing.pem");
    let e = config_error(builder().add_root_certificates_file(&missing));
    assert!(
        e.starts_with(&format!(
            "configuring the client: cannot read the CA certificate file `{}`: ",
            missing.display()
        )),
        "{e}"
    );

    // A key, not a certificate.
    let key = dir.path().join("key.pem");
    let leaf = CertificateAuthority::generate("test CA").issue(&["x"]);
    std::fs::write(&key, &leaf.key_pem).unwrap();
    assert_eq!(
        config_error(builder().add_root_certificates_file(&key)),
        format!(
            "configuring the client: the CA certificate file `{}` holds no PEM certificate \
             (`-----BEGIN CERTIFICATE-----`)",
            key.display()
        )
    );
    // Not PEM at all.
    assert_eq!(
        config_error(builder().add_root_certificates(b"hello".to_vec())),
        "configuring the client: the PEM given to add_root_certificates holds no PEM \
         certificate (`-----BEGIN CERTIFICATE-----`)"
    );
    // A certificate block that does not decode.
    let broken =
        "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n";
    let e = config_error(builder().add_root_certificates(broken));
    assert!(
        e.starts_with(
            "configuring the client: the PEM given to add_root_certificates holds a certificate \
             that cannot be read ("
        ),
        "{e}"
    );
    if cfg!(feature = "rustls") {
        assert!(e.ends_with(" (BadEncoding)"), "{e}");
    }
    // One good file among them does not hide a bad one.
    let good = dir.path().join("good.pem");
    std::fs::write(&good, leaf.cert_chain_pem).unwrap();
    let e = config_error(
        builder()
            .add_root_certificates_file(&good)
            .add_root_certificates_file(&missing),
    );
    assert!(e.contains(&missing.display().to_string()), "{e}");
    builder().add_root_certificates_file(&good).build().unwrap();
}

/// The variable the child process of [`ca_cert_is_read_from_the_environment`] finds the
/// simulator in.
const CHILD_VAR: &str = "CODEOCEAN_TEST_TLS_CHILD";

/// `CODEOCEAN_CA_CERT` (a file) is trusted by `from_env`, and so is `SSL_CERT_FILE` (Linux:
/// the platform verifier reads it instead of the system's bundle), while neither leaves the
/// simulator untrusted; a missing file is a Config error naming it. The environment is the
/// process's: set in child processes only (this binary, running this test's twin below).
#[tokio::test]
async fn ca_cert_is_read_from_the_environment() {
    let mut sim = sim_tls(Tls::Generated);
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    sim.write_ca_certificate(&ca).unwrap();
    let gone = dir.path().join("gone.pem");
    let mut cases = vec![
        (Some(("CODEOCEAN_CA_CERT", &ca)), "ok"),
        (Some(("CODEOCEAN_CA_CERT", &gone)), "config"),
        (None, "untrusted"),
    ];
    if cfg!(target_os = "linux") {
        cases.push((Some(("SSL_CERT_FILE", &ca)), "ok"));
        // Read instead of the system's store: no certificate at all, no client.
        // Read instead of the system's store: a file without the CA is no trust at all.
        cases.push((Some(("SSL_CERT_FILE", &gone)), "untrusted"));
    }
    for (var, want) in cases {
        let mut child = std::process::Command::new(std::env::current_exe().unwrap());
        child
            .args([
                "--exact",
                "tls::ca_cert_from_the_environment_child",
                "--nocapture",
            ])
            .env_remove("CODEOCEAN_CA_CERT")
            .env_remove("SSL_CERT_FILE")
            .env(CHILD_VAR, want)
            .env("CODEOCEAN_DOMAIN", sim.origin())
            .env("CODEOCEAN_TOKEN", sim.token());
        if let Some((name, file)) = var {
            child.env(name, file);
        }
        let out = child.output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && stdout.contains("CHILD-DONE"),
            "{var:?}: {}\n{stdout}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        if want == "config" {
            assert!(stdout.contains(&gone.display().to_string()), "{stdout}");
        }
    }
    // The one request of each child that trusted the simulator.
    let trusted = if cfg!(target_os = "linux") { 2 } else { 1 };
    assert_eq!(sim.stats().counts.get("get_capsule"), Some(&trusted));
}

/// The child of [`ca_cert_is_read_from_the_environment`]; does nothing in a parent.
#[tokio::test]
async fn ca_cert_from_the_environment_child() {
    let Ok(want) = std::env::var(CHILD_VAR) else {
        return;
    };
    match want.as_str() {
        "ok" => {
            let c = Client::from_env().unwrap();
            assert!(c.base_url().starts_with("https://"));
            c.get_capsule(HELLO).await.unwrap();
        }
        "untrusted" => {
            let c = Client::builder_from_env()
                .unwrap()
                .retry_policy(codeocean::RetryPolicy::none())
                .build()
                .unwrap();
            let e = c.get_capsule(HELLO).await.unwrap_err();
            assert_eq!(e.to_string(), line(UNTRUSTED));
        }
        _ => {
            let e = Client::from_env().unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Config, "{e}");
            println!("{e}");
        }
    }
    println!("CHILD-DONE");
}

/// `CODEOCEAN_TEST_TLS=1` runs this binary over HTTPS: `sim` serves it and `client` trusts it.
#[tokio::test]
async fn the_test_helpers_follow_codeocean_test_tls() {
    let sim = crate::sim(|_| {});
    let tls = std::env::var("CODEOCEAN_TEST_TLS").is_ok_and(|v| v == "1");
    assert_eq!(
        sim.origin().starts_with("https://"),
        tls,
        "{}",
        sim.origin()
    );
    assert_eq!(sim.ca_certificate_pem().is_some(), tls);
    client(&sim).get_capsule(HELLO).await.unwrap();
    // A test may still ask for plain HTTP.
    let plain = crate::sim(|c| c.tls = None);
    assert!(plain.origin().starts_with("http://"));
}

/// The converse: `http://` to a server that speaks only HTTPS, whose TLS library answers the
/// request with an alert. Not retried (a run neither).
#[tokio::test]
async fn plain_http_to_an_https_server_says_to_use_https() {
    let sim = sim_tls(Tls::Generated);
    let port = sim.origin().rsplit(':').next().unwrap().to_owned();
    let c = Client::builder()
        .domain(format!("http://127.0.0.1:{port}"))
        .token(sim.token())
        .retry_policy(codeocean::RetryPolicy::default().initial_backoff(Duration::from_secs(30)))
        .build()
        .unwrap();
    for e in [
        tokio::time::timeout(GUARD, c.get_capsule(HELLO))
            .await
            .map(|r| r.map(drop)),
        tokio::time::timeout(GUARD, c.run(&RunRequest::capsule(HELLO)))
            .await
            .map(|r| r.map(drop)),
    ] {
        let e = e.expect("not retried").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Connection, "{e}");
        assert!(!e.is_retryable());
        let diagnosis = format!(
            "the server's answer is not HTTP; if it speaks only HTTPS, use https://127.0.0.1:{port}"
        );
        assert!(e.to_string().ends_with(&diagnosis), "{e}");
        assert_eq!(DisplayErrorContext(&e).to_string(), e.to_string());
    }
    assert_eq!(sim.stats().api_connections, 2, "retried");
    assert_eq!(sim.requests(), vec![]);
}
