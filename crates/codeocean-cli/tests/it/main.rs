//! The `codeocean` binary, end to end against the in-process simulator, and its golden outputs
//! (`UPDATE_EXPECT=1 cargo test -p codeocean-cli` rewrites them).

mod access;
mod api;
mod assets;
mod batch;
mod capture;
mod destructive;
mod e2e;
mod golden;
mod jq;
// `codeocean mcp` is not a default feature: CI's `mcp` step runs these with `--features mcp`.
#[cfg(feature = "mcp")]
mod mcp;
mod network;
mod newcomer;
mod profiles;
mod proxy;
mod secrets;
mod tls;
mod usage;

use std::process::{Command, Output};

use codeocean_sim::{Config, Simulator, Tls};

pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_codeocean");
pub(crate) const OK_CAPSULE: &str = "c0ffee00-0000-4000-8000-000000000001";
pub(crate) const FAILING_CAPSULE: &str = "c0ffee00-0000-4000-8000-000000000002";
pub(crate) const ASSET: &str = "da7a0000-0000-4000-8000-000000000001";
pub(crate) const TOKEN: &str = "it-secret-token";

/// Whether the tests' simulators serve HTTPS (`CODEOCEAN_TEST_TLS=1`, a second pass in CI):
/// then `cmd` passes `--ca-cert` with the simulator's CA.
pub(crate) fn test_tls() -> bool {
    std::env::var_os("CODEOCEAN_TEST_TLS").is_some_and(|v| v == "1")
}

/// A simulator on a fast clock (a 14 s run takes 0.28 s), adjusted by `f`; over HTTPS with a
/// generated CA when [`test_tls`] (unless `f` chose TLS itself), its CA written to a file.
pub(crate) fn sim_with(f: impl FnOnce(&mut Config)) -> Simulator {
    let mut config = Config {
        time_scale: 50.0,
        tls: test_tls().then_some(Tls::Generated),
        ..Config::new(TOKEN)
    };
    f(&mut config);
    let mut sim = Simulator::start(config).unwrap();
    if sim.ca_certificate_pem().is_some() {
        let file = ca_file_for(&sim);
        sim.write_ca_certificate(&file).unwrap();
    }
    sim
}

/// Where [`sim_with`] writes a simulator's CA: under the tests' own temporary folder in
/// `target/`, named after its API port.
fn ca_file_for(sim: &Simulator) -> std::path::PathBuf {
    let port = sim.origin().rsplit(':').next().unwrap_or("0").to_owned();
    std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("sim-{port}-ca.pem"))
}

/// `--ca-cert FILE` with the CA of a simulator serving HTTPS, nothing for plain HTTP: for
/// commands pointed at it by hand rather than by [`cmd`].
pub(crate) fn trust(sim: &Simulator) -> Vec<std::ffi::OsString> {
    match sim.ca_certificate_path() {
        Some(ca) => vec!["--ca-cert".into(), ca.into()],
        None => Vec::new(),
    }
}

/// A simulator on a fast clock.
pub(crate) fn sim() -> Simulator {
    sim_with(|_| {})
}

/// The binary, with no configuration from the environment, pointed at `sim`.
pub(crate) fn cmd(sim: Option<&Simulator>) -> Command {
    let mut c = Command::new(BIN);
    c.env_remove("CODEOCEAN_DOMAIN")
        .env_remove("CODEOCEAN_TOKEN")
        .env_remove("CODEOCEAN_SIM_TOKEN")
        .env_remove("CODEOCEAN_CA_CERT")
        .env_remove("CODEOCEAN_HTTP2")
        .env_remove("CODEOCEAN_API_CONCURRENCY")
        .env_remove("CODEOCEAN_PROFILE")
        // Never the real home's profiles or credentials.json: an empty home of the tests'.
        .env("HOME", empty_home())
        .env_remove("XDG_CONFIG_HOME")
        .env_remove("SSL_CERT_FILE")
        .env_remove("CODEOCEAN_GCS_CLIENT_ID")
        .env_remove("CODEOCEAN_GCS_CLIENT_SECRET")
        // Tables are fitted to COLUMNS when it is set; the goldens are whole.
        .env_remove("COLUMNS");
    if let Some(sim) = sim {
        c.args(["--domain", sim.origin(), "--token", sim.token()]);
        c.args(["--poll-interval", "50ms"]);
        if let Some(ca) = sim.ca_certificate_path() {
            c.arg("--ca-cert").arg(ca);
        }
    }
    c
}

/// An empty folder the binary takes for its home (no configuration file, no credentials).
pub(crate) fn empty_home() -> std::path::PathBuf {
    let home = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("empty-home");
    std::fs::create_dir_all(&home).unwrap();
    home
}

/// What a run of the binary did.
#[derive(Debug)]
pub(crate) struct Out {
    pub(crate) code: i32,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl From<Output> for Out {
    fn from(o: Output) -> Self {
        Self {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8(o.stdout).unwrap(),
            stderr: String::from_utf8(o.stderr).unwrap(),
        }
    }
}

/// Runs the binary with these arguments.
/// Sends SIGINT to a child, as Ctrl-C at a terminal does.
pub(crate) fn interrupt(child: &std::process::Child) {
    let sent = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success(), "kill -INT {}", child.id());
}

/// Polls `done` every 5 ms until it holds; fails the test, saying `what` did not happen, after
/// `within`.
pub(crate) fn wait_for(within: std::time::Duration, what: &str, mut done: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + within;
    while !done() {
        assert!(std::time::Instant::now() < deadline, "{what}");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

pub(crate) fn run(sim: Option<&Simulator>, args: &[&str]) -> Out {
    cmd(sim).args(args).output().unwrap().into()
}

/// The single JSON document on stdout (fails if there is anything else).
pub(crate) fn json(out: &Out) -> serde_json::Value {
    serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {out:?}"))
}

/// Starts a run to completion and returns its id.
pub(crate) fn finished_run(sim: &Simulator, capsule: &str) -> String {
    let out = run(
        Some(sim),
        &["--json", "run", "--capsule", capsule, "--wait"],
    );
    json(&out)["id"].as_str().unwrap().to_owned()
}

/// Times replaced by `<time>`, in text (RFC 3339) and in JSON (known timestamp fields).
pub(crate) fn redact(text: &str) -> String {
    if let Ok(mut v) = serde_json::from_str::<serde_json::Value>(text) {
        redact_json(&mut v);
        return serde_json::to_string_pretty(&v).unwrap() + "\n";
    }
    let chars: Vec<char> = text.chars().collect();
    let shape = "dddd-dd-ddTdd:dd:ddZ";
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        let fits = i + shape.len() <= chars.len()
            && shape.chars().zip(&chars[i..]).all(|(s, c)| match s {
                'd' => c.is_ascii_digit(),
                s => s == *c,
            });
        if fits {
            out.push_str("<time>");
            i += shape.len();
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

fn redact_json(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(o) => {
            for (k, v) in o.iter_mut() {
                if matches!(
                    k.as_str(),
                    "created" | "last_accessed" | "last_used" | "release_time" | "last_transferred"
                ) {
                    *v = "<time>".into();
                } else {
                    redact_json(v);
                }
            }
        }
        serde_json::Value::Array(a) => a.iter_mut().for_each(redact_json),
        _ => {}
    }
}
