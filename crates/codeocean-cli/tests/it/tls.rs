//! HTTPS end to end: the whole job against the simulator over TLS, trusting its CA through
//! `--ca-cert` or `CODEOCEAN_CA_CERT`; each refusal in one line (an untrusted CA, another
//! host's certificate, an expired one, `http://` to an HTTPS server) and a CA file that is
//! missing or not PEM (exit 2); `codeocean sim --tls` and `demo --tls`; HTTP/1.1 by default,
//! HTTP/2 with `--http2` or `CODEOCEAN_HTTP2`; the resume command keeping the flags.

use std::io::BufRead as _;
use std::path::{Path, PathBuf};

use codeocean_sim::{Simulator, Tls};

use crate::{OK_CAPSULE, Out, TOKEN, cmd, json, sim_with};

/// A simulator over HTTPS with a generated CA, written to a file (`sim.ca_certificate_path()`).
fn tls_sim() -> Simulator {
    let sim = sim_with(|c| c.tls = Some(Tls::Generated));
    assert!(sim.origin().starts_with("https://"), "{}", sim.origin());
    assert!(sim.storage_origin().starts_with("https://"));
    sim
}

/// The file `tls_sim` wrote its CA to.
fn ca_file(sim: &Simulator) -> PathBuf {
    sim.ca_certificate_path()
        .expect("the CA is written to a file")
        .to_owned()
}

/// The binary pointed at `sim` with no trust added: `--domain` and `--token` only.
fn untrusting(sim: &Simulator) -> std::process::Command {
    let mut c = cmd(None);
    c.args(["--domain", sim.origin(), "--token", sim.token()])
        .args(["--poll-interval", "50ms"]);
    c
}

/// How a test hands the binary the simulator's CA.
#[derive(Clone, Copy, Debug)]
enum Trust {
    Flag,
    Env,
}

fn trusting(sim: &Simulator, trust: Trust) -> std::process::Command {
    let mut c = untrusting(sim);
    match trust {
        Trust::Flag => c.arg("--ca-cert").arg(ca_file(sim)),
        Trust::Env => c.env("CODEOCEAN_CA_CERT", ca_file(sim)),
    };
    c
}

fn output(c: &mut std::process::Command) -> Out {
    c.output().unwrap().into()
}

/// Run, wait, download, then a data asset from the results, all over HTTPS: every result
/// file byte for byte, the API and the storage origin both reached over TLS, no credentials
/// sent to storage.
fn whole_job(trust: Trust, extra: &[&str]) {
    let sim = tls_sim();
    let dir = tempfile::tempdir().unwrap();
    let to = dir.path().join("out");
    let out = output(
        trusting(&sim, trust)
            .args(extra)
            .args(["--json", "run", "--capsule", OK_CAPSULE, "--wait"])
            .arg("--download")
            .arg(&to),
    );
    assert_eq!(out.code, 0, "{trust:?}: {out:?}");
    let v = json(&out);
    assert_eq!(v["outcome"], "succeeded", "{out:?}");
    assert_eq!(v["download"]["downloaded"], 7, "{out:?}");
    let id = v["id"].as_str().unwrap().to_owned();
    for path in ["output.txt", "tables/per-sample/s2.csv", "figures/plot.png"] {
        let want = sim.result_content(&id, path).unwrap();
        assert!(
            std::fs::read(to.join(path)).unwrap() == want.read(0, want.size()),
            "{path} differs"
        );
    }
    let out = output(trusting(&sim, trust).args(extra).args([
        "--json",
        "data-asset",
        "create",
        "--from-computation",
        &id,
        "--name",
        "Results over TLS",
        "--mount",
        "tls",
        "--wait",
    ]));
    assert_eq!(out.code, 0, "{trust:?}: {out:?}");
    assert_eq!(json(&out)["state"], "ready", "{out:?}");
    let stats = sim.stats();
    assert_eq!(stats.storage_requests_with_authorization, 0);
    assert!(
        sim.requests().iter().any(|r| r.origin == "storage"),
        "no download went to the storage origin"
    );
    assert!(!out.stderr.contains(TOKEN));
}

#[test]
fn the_whole_job_runs_over_https_trusting_the_ca_through_ca_cert() {
    whole_job(Trust::Flag, &[]);
}

#[test]
fn the_whole_job_runs_over_https_trusting_the_ca_through_codeocean_ca_cert() {
    whole_job(Trust::Env, &[]);
}

#[test]
fn the_whole_job_runs_over_https_with_http2() {
    whole_job(Trust::Flag, &["--http2"]);
}

/// `CODEOCEAN_HTTP2` is a switch: 1, true, yes mean HTTP/2 where the server offers it; 0,
/// false, no leave the default (HTTP/1.1); anything else is a usage error.
#[test]
fn codeocean_http2_in_the_environment_is_read_as_a_switch() {
    let sim = tls_sim();
    for (value, version) in [
        ("1", "HTTP/2.0"),
        ("true", "HTTP/2.0"),
        ("yes", "HTTP/2.0"),
        ("0", "HTTP/1.1"),
        ("false", "HTTP/1.1"),
        ("no", "HTTP/1.1"),
    ] {
        sim.clear_requests();
        let out = output(
            trusting(&sim, Trust::Flag)
                .env("CODEOCEAN_HTTP2", value)
                .args(["capsule", "get", OK_CAPSULE]),
        );
        assert_eq!(out.code, 0, "CODEOCEAN_HTTP2={value}: {out:?}");
        assert_eq!(
            versions(&sim),
            [("api", version.to_owned())].into(),
            "CODEOCEAN_HTTP2={value}"
        );
    }
    let out = output(
        trusting(&sim, Trust::Flag)
            .env("CODEOCEAN_HTTP2", "perhaps")
            .args(["capsule", "get", OK_CAPSULE]),
    );
    assert_eq!(out.code, 2, "{out:?}");
}

#[test]
fn without_the_ca_the_certificate_is_refused_in_one_line_naming_the_host_and_ca_cert() {
    let sim = tls_sim();
    let host = sim.origin().strip_prefix("https://").unwrap();
    let host = host.rsplit_once(':').map_or(host, |(h, _)| h).to_owned();
    let started = std::time::Instant::now();
    let out = output(untrusting(&sim).args(["capsule", "get", OK_CAPSULE]));
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(out.stderr.lines().count(), 1, "{out:?}");
    let line = out.stderr.trim_end();
    assert!(line.starts_with("error: "), "{out:?}");
    assert!(line.contains(&host), "{out:?}");
    assert!(
        line.contains("--ca-cert FILE (or CODEOCEAN_CA_CERT=FILE) or the system's trust store"),
        "{out:?}"
    );
    assert!(!line.contains("the CLI's"), "{out:?}");
    assert!(!line.contains(TOKEN), "{out:?}");
    // A certificate that cannot be trusted is not tried again.
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "{out:?}"
    );
    assert!(
        sim.requests().is_empty(),
        "a request got through: {:?}",
        sim.requests()
    );
}

/// A `--ca-cert` or `CODEOCEAN_CA_CERT` file that is missing or holds no PEM certificate is a
/// usage mistake (exit 2), said in one line naming the file as it was given, before any request.
#[test]
fn a_ca_file_that_is_missing_or_not_pem_is_a_usage_error_before_any_request() {
    let sim = tls_sim();
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing-ca.pem");
    let not_pem = dir.path().join("notes.txt");
    std::fs::write(&not_pem, "this is not a certificate\n").unwrap();
    let der = dir.path().join("ca.der");
    std::fs::write(&der, [0x30, 0x82, 0x01, 0x0a, 0x02, 0x82]).unwrap();
    let check = |out: Out, given: &str, says: &str| {
        assert_eq!(out.code, 2, "{out:?}");
        assert_eq!(out.stderr.lines().count(), 1, "{out:?}");
        assert!(
            out.stderr.starts_with(&format!("error: {given}: ")),
            "{out:?}"
        );
        assert!(out.stderr.contains(says), "{out:?}");
    };
    let flag = |file: &Path| {
        output(
            untrusting(&sim)
                .arg("--ca-cert")
                .arg(file)
                .args(["capsule", "get", OK_CAPSULE]),
        )
    };
    check(
        flag(&missing),
        &format!("--ca-cert {}", missing.display()),
        "cannot read the CA certificate file",
    );
    check(
        flag(&not_pem),
        &format!("--ca-cert {}", not_pem.display()),
        "no PEM certificate in it",
    );
    check(
        flag(&der),
        &format!("--ca-cert {}", der.display()),
        "openssl x509 -inform der",
    );
    // The good CA besides a missing one: still refused, naming the missing one.
    let out = output(
        trusting(&sim, Trust::Flag)
            .arg("--ca-cert")
            .arg(&missing)
            .args(["capsule", "get", OK_CAPSULE]),
    );
    check(
        out,
        &format!("--ca-cert {}", missing.display()),
        "cannot read",
    );
    let out = output(
        untrusting(&sim)
            .env("CODEOCEAN_CA_CERT", &missing)
            .args(["capsule", "get", OK_CAPSULE]),
    );
    check(
        out,
        &format!("CODEOCEAN_CA_CERT={}", missing.display()),
        "cannot read",
    );
    assert!(sim.requests().is_empty(), "{:?}", sim.requests());
    // Commands that make no client do not read it.
    let out = output(
        cmd(None)
            .env("CODEOCEAN_CA_CERT", &missing)
            .args(["schema", "run-request"]),
    );
    assert_eq!(out.code, 0, "{out:?}");
}

/// The flag given twice: both files are trusted (here an unrelated PEM and the right CA).
#[test]
fn ca_cert_may_be_given_more_than_once() {
    let sim = tls_sim();
    let other = codeocean_sim::CertificateAuthority::generate("Another CA");
    let dir = tempfile::tempdir().unwrap();
    let other_file = dir.path().join("other.pem");
    std::fs::write(&other_file, other.certificate_pem()).unwrap();
    let out = output(
        untrusting(&sim)
            .arg("--ca-cert")
            .arg(&other_file)
            .args(["capsule", "get", OK_CAPSULE]),
    );
    assert_eq!(out.code, 1, "another CA alone is not trusted: {out:?}");
    let out = output(
        untrusting(&sim)
            .arg("--ca-cert")
            .arg(&other_file)
            .arg("--ca-cert")
            .arg(ca_file(&sim))
            .args(["capsule", "get", OK_CAPSULE]),
    );
    assert_eq!(out.code, 0, "{out:?}");
}

/// A `codeocean sim --tls` child, its banner and its hint.
struct SimChild {
    child: std::process::Child,
    banner: Vec<String>,
    hint: String,
    /// Its stdout and stderr, kept open while it serves (it ends on a write to a closed one).
    _pipes: (
        std::io::BufReader<std::process::ChildStdout>,
        std::io::BufReader<std::process::ChildStderr>,
    ),
}

impl Drop for SimChild {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spawn_sim(args: &[&str]) -> SimChild {
    let mut child = cmd(None)
        .arg("sim")
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut banner = Vec::new();
    for _ in 0..4 {
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        banner.push(line.trim_end().to_owned());
    }
    let mut hint = String::new();
    stderr.read_line(&mut hint).unwrap();
    SimChild {
        child,
        banner,
        hint: hint.trim_end().to_owned(),
        _pipes: (stdout, stderr),
    }
}

#[test]
fn sim_tls_prints_the_banner_and_a_hint_that_a_client_can_paste() {
    let dir = tempfile::tempdir().unwrap();
    let ca_out = dir.path().join("sim-ca.pem");
    let sim = spawn_sim(&[
        "--tls",
        "--token",
        "tok",
        "--time-scale",
        "50",
        "--ca-out",
        ca_out.to_str().unwrap(),
    ]);
    let origin = sim.banner[0]
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("{:?}", sim.banner))
        .to_owned();
    assert!(origin.starts_with("https://127.0.0.1:"), "{:?}", sim.banner);
    assert!(
        sim.banner[1].starts_with("storage on https://127.0.0.1:"),
        "{:?}",
        sim.banner
    );
    assert_eq!(
        sim.banner[2],
        format!("API base {origin}/api/v1 (admin: {origin}/__sim/stats)")
    );
    assert_eq!(
        sim.banner[3],
        format!("CA certificate {}", ca_out.display())
    );
    assert!(
        std::fs::read_to_string(&ca_out)
            .unwrap()
            .contains("-----BEGIN CERTIFICATE-----")
    );
    assert_eq!(
        sim.hint,
        format!(
            "export CODEOCEAN_DOMAIN={origin} CODEOCEAN_TOKEN=tok CODEOCEAN_CA_CERT={}",
            ca_out.display()
        )
    );
    // The hint's variables, as a shell would set them, are all a client needs.
    let mut client = cmd(None);
    for pair in sim.hint.strip_prefix("export ").unwrap().split(' ') {
        let (k, v) = pair.split_once('=').unwrap();
        client.env(k, v);
    }
    let out = output(client.args(["capsule", "get", OK_CAPSULE]));
    assert_eq!(out.code, 0, "{out:?}");
    // And the printed CA file through the flag.
    let out = output(
        cmd(None)
            .args(["--domain", &origin, "--token", "tok", "--ca-cert"])
            .arg(&ca_out)
            .args(["capsule", "get", OK_CAPSULE]),
    );
    assert_eq!(out.code, 0, "{out:?}");
    // Without it: refused.
    let out = output(cmd(None).args([
        "--domain", &origin, "--token", "tok", "capsule", "get", OK_CAPSULE,
    ]));
    assert_eq!(out.code, 1, "{out:?}");
}

/// Without `--ca-out` the CA goes to a file under the temporary folder named after the API
/// port, which the banner's fourth line names.
#[test]
fn sim_tls_writes_its_ca_under_the_temporary_folder_by_default() {
    let sim = spawn_sim(&["--tls", "--token", "tok"]);
    let port = sim.banner[0].rsplit(':').next().unwrap().to_owned();
    let file = PathBuf::from(
        sim.banner[3]
            .strip_prefix("CA certificate ")
            .unwrap_or_else(|| panic!("{:?}", sim.banner)),
    );
    let removed = std::fs::remove_file(&file);
    assert!(file.starts_with(std::env::temp_dir()), "{file:?}");
    assert!(file.to_string_lossy().contains(&port), "{file:?}");
    removed.unwrap();
}

#[test]
fn demo_tls_runs_the_whole_job_over_https() {
    let dir = tempfile::tempdir().unwrap();
    let to = dir.path().join("demo");
    let out = output(cmd(None).args([
        "demo",
        "--tls",
        "--to",
        to.to_str().unwrap(),
        "--time-scale",
        "50",
    ]));
    assert_eq!(out.code, 0, "{out:?}");
    let first = out.stdout.lines().next().unwrap();
    assert!(
        first.starts_with("server: the local simulator at https://127.0.0.1:")
            && first.contains("over HTTPS"),
        "{first}"
    );
    assert!(
        out.stdout
            .contains("7 files match the listing and the server's bytes"),
        "{out:?}"
    );
    let last = out.stdout.lines().last().unwrap();
    assert!(last.starts_with("done over HTTPS in "), "{last}");
    assert!(to.join("tables/per-sample/s2.csv").is_file());
    // --tls is for the local server only.
    let out = output(cmd(None).args(["demo", "--tls", "--remote", "--capsule", OK_CAPSULE]));
    assert_eq!(out.code, 2, "{out:?}");
}

/// The HTTP versions of the requests `sim` was sent, API and storage.
fn versions(sim: &Simulator) -> std::collections::BTreeSet<(&'static str, String)> {
    sim.requests()
        .into_iter()
        .map(|r| (r.origin, r.http_version))
        .collect()
}

/// By default the CLI speaks HTTP/1.1 to both origins over TLS, though they offer HTTP/2 (the
/// library's default, `codeocean::DEFAULT_HTTP2`); `--http2` takes HTTP/2 from both.
#[test]
fn the_default_keeps_to_http_1_1_over_tls_and_http2_takes_http2() {
    let sim = tls_sim();
    let dir = tempfile::tempdir().unwrap();
    let id = crate::finished_run(&sim, OK_CAPSULE);
    let download = |extra: &[&str], to: &str| {
        output(
            trusting(&sim, Trust::Flag)
                .args(extra)
                .args(["results", "download", &id, "--path", "tables"])
                .arg(dir.path().join(to)),
        )
    };
    sim.clear_requests();
    let out = download(&[], "default");
    assert_eq!(out.code, 0, "{out:?}");
    let http1 = "HTTP/1.1".to_owned();
    assert_eq!(
        versions(&sim),
        [("api", http1.clone()), ("storage", http1)].into(),
        "by default"
    );
    sim.clear_requests();
    let out = download(&["--http2"], "http2");
    assert_eq!(out.code, 0, "{out:?}");
    let http2 = "HTTP/2.0".to_owned();
    assert_eq!(
        versions(&sim),
        [("api", http2.clone()), ("storage", http2)].into(),
        "--http2"
    );
}

/// With `CODEOCEAN_TEST_TLS=1` the shared helpers serve HTTPS and `cmd` trusts the CA, so the
/// other modules run over TLS; without it they stay on plain HTTP.
#[test]
fn codeocean_test_tls_switches_the_shared_simulator_to_https() {
    let sim = crate::sim();
    assert_eq!(
        sim.origin().starts_with("https://"),
        crate::test_tls(),
        "{}",
        sim.origin()
    );
    assert_eq!(sim.ca_certificate_path().is_some(), crate::test_tls());
    let out = crate::run(Some(&sim), &["capsule", "get", OK_CAPSULE]);
    assert_eq!(out.code, 0, "{out:?}");
}

/// The command printed to resume a wait keeps `--ca-cert` and `--http2` given as flags (so it
/// works when pasted) and leaves out what came from the environment, as it does `--domain`.
#[test]
fn the_resume_command_keeps_ca_cert_and_http2_given_as_flags() {
    let sim = sim_with(|c| {
        c.tls = Some(Tls::Generated);
        c.time_scale = 1.0;
    });
    let ca = ca_file(&sim);
    let wait = |c: &mut std::process::Command| {
        let out = output(c.args([
            "--json",
            "run",
            "--capsule",
            OK_CAPSULE,
            "--wait",
            "--timeout",
            "1s",
        ]));
        assert_eq!(out.code, 4, "{out:?}");
        json(&out)
    };
    let v = wait(trusting(&sim, Trust::Flag).arg("--http2"));
    let id = v["id"].as_str().unwrap();
    let resume = format!(
        "codeocean --domain {} --ca-cert {} --http2 --json computation wait {id}",
        sim.origin(),
        ca.display()
    );
    assert_eq!(v["resume"], resume.as_str(), "{v}");
    // Pasted as printed (the token from the environment), it waits for the run to its end.
    sim.advance(std::time::Duration::from_secs(60));
    let words: Vec<&str> = resume.split(' ').skip(1).collect();
    let out = output(cmd(None).env("CODEOCEAN_TOKEN", TOKEN).args(&words));
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(json(&out)["outcome"], "succeeded", "{out:?}");

    let v = wait(trusting(&sim, Trust::Env).env("CODEOCEAN_HTTP2", "1"));
    let id = v["id"].as_str().unwrap();
    assert_eq!(
        v["resume"],
        format!(
            "codeocean --domain {} --json computation wait {id}",
            sim.origin()
        )
        .as_str(),
        "{v}"
    );
}

/// A simulator serving `leaf` (signed by `ca`), and the CA's file, which the client trusts.
fn sim_serving(
    ca: &codeocean_sim::CertificateAuthority,
    leaf: &codeocean_sim::IssuedCertificate,
    dir: &Path,
) -> (Simulator, PathBuf) {
    let sim = sim_with(|c| c.tls = Some(leaf.tls()));
    let file = dir.join("ca.pem");
    std::fs::write(&file, ca.certificate_pem()).unwrap();
    (sim, file)
}

/// One `error:` line, exit 1, nothing sent: what a refused certificate must look like.
fn refused_in_one_line(sim: &Simulator, ca: &Path) -> String {
    let out = output(
        untrusting(sim)
            .arg("--ca-cert")
            .arg(ca)
            .args(["capsule", "get", OK_CAPSULE]),
    );
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(out.stderr.lines().count(), 1, "{out:?}");
    assert!(out.stderr.starts_with("error: "), "{out:?}");
    assert!(sim.requests().is_empty(), "{:?}", sim.requests());
    out.stderr.trim_end().to_owned()
}

#[test]
fn a_certificate_for_other_names_is_refused_in_one_line_naming_them() {
    let dir = tempfile::tempdir().unwrap();
    let ca = codeocean_sim::CertificateAuthority::generate("Company CA");
    let leaf = ca.issue(&["api.other.example"]);
    let (sim, file) = sim_serving(&ca, &leaf, dir.path());
    let line = refused_in_one_line(&sim, &file);
    assert!(
        line.contains("api.other.example") && line.contains("127.0.0.1"),
        "{line}"
    );
}

#[test]
fn an_expired_certificate_is_refused_in_one_line_with_its_date() {
    let dir = tempfile::tempdir().unwrap();
    let ca = codeocean_sim::CertificateAuthority::generate("Company CA");
    let day = std::time::Duration::from_secs(86_400);
    let now = std::time::SystemTime::now();
    let leaf = ca.issue_valid(&["127.0.0.1", "localhost"], now - 30 * day, now - 2 * day);
    let (sim, file) = sim_serving(&ca, &leaf, dir.path());
    let line = refused_in_one_line(&sim, &file);
    assert!(
        line.contains("127.0.0.1") && line.contains("expired"),
        "{line}"
    );
    // The day it expired, as the library writes it (an HTTP date: `Mon, 30 Nov 2026 ...`).
    let expired_on = line
        .split("expired on ")
        .nth(1)
        .unwrap_or_else(|| panic!("{line}"));
    let expected = httpdate::fmt_http_date(now - 2 * day);
    assert!(expired_on.starts_with(&expected[..16]), "{line}");
}

/// `http://` to a server that speaks only HTTPS: one line saying to use `https://`, at once.
#[test]
fn http_against_an_https_server_says_to_use_https_in_one_line() {
    let sim = tls_sim();
    let hostport = sim.origin().strip_prefix("https://").unwrap().to_owned();
    let started = std::time::Instant::now();
    let out = output(
        cmd(None)
            .args(["--domain", &format!("http://{hostport}"), "--token", TOKEN])
            .args(["capsule", "get", OK_CAPSULE]),
    );
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(out.stderr.lines().count(), 1, "{out:?}");
    assert!(
        out.stderr.contains(&format!("use https://{hostport}")),
        "{out:?}"
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "{out:?}"
    );
}
