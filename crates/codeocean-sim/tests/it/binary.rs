//! The `codeocean-sim` binary: what it prints, how it refuses bad options, fixtures.

use std::io::{BufRead as _, BufReader};
use std::path::PathBuf;
use std::process::{Child, ChildStdout, Command, Stdio};

use serde_json::json;

use crate::*;

pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_codeocean-sim");

/// A simulator process, killed when dropped.
pub(crate) struct Process {
    pub(crate) child: Child,
    /// The lines it printed at start.
    pub(crate) lines: Vec<String>,
    /// The rest of its stdout.
    pub(crate) out: BufReader<ChildStdout>,
}

impl Process {
    fn start(args: &[&str]) -> Self {
        Self::start_lines(args, 2)
    }

    /// Starts it with `args` and reads the first `n` lines it prints.
    pub(crate) fn start_lines(args: &[&str], n: usize) -> Self {
        let mut child = Command::new(BIN)
            .args(args)
            .env_remove("CODEOCEAN_SIM_TOKEN")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut lines = vec![];
        for _ in 0..n {
            let mut line = String::new();
            out.read_line(&mut line).unwrap();
            lines.push(line.trim_end().to_owned());
        }
        Self { child, lines, out }
    }

    /// The API origin from the first line.
    pub(crate) fn origin(&self) -> &str {
        let line = &self.lines[0];
        line.strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("first line: {line:?}"))
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn get(origin: &str, path: &str, token: &str) -> reqwest::RequestBuilder {
    reqwest::Client::new()
        .get(format!("{origin}/api/v1{path}"))
        .header(reqwest::header::AUTHORIZATION, basic(token))
}

#[tokio::test]
async fn prints_its_origin_first_and_serves() {
    let p = Process::start(&["--port", "0", "--token", "T", "--time-scale", "100"]);
    let origin = p.origin().to_owned();
    let port: u16 = origin
        .strip_prefix("http://127.0.0.1:")
        .unwrap()
        .parse()
        .unwrap();
    assert_ne!(port, 0);
    assert!(
        p.lines[1].starts_with("storage on http://127.0.0.1:"),
        "{:?}",
        p.lines
    );

    let capsule = send(get(&origin, &format!("/capsules/{HELLO}"), "T")).await;
    assert_fields(&capsule.expect(200).json(), CAPSULE_FIELDS);
    send(get(&origin, &format!("/capsules/{HELLO}"), "tok"))
        .await
        .expect(401);

    // A run, moved to its end through the admin route, and a download.
    let http = reqwest::Client::new();
    let run = send(
        http.post(format!("{origin}/api/v1/computations"))
            .header(reqwest::header::AUTHORIZATION, basic("T"))
            .json(&json!({ "capsule_id": HELLO })),
    )
    .await;
    let id = run.expect(200).json()["id"].as_str().unwrap().to_owned();
    send(http.post(format!("{origin}/__sim/advance?seconds=60")))
        .await
        .expect(204);
    let c = send(get(&origin, &format!("/computations/{id}"), "T")).await;
    assert_eq!(c.expect(200).json()["end_status"], "succeeded");
    let urls = send(get(
        &origin,
        &format!("/computations/{id}/results/urls?path=output.txt"),
        "T",
    ))
    .await;
    let url = urls.expect(200).json()["download_url"]
        .as_str()
        .unwrap()
        .to_owned();
    let file = send(http.get(url)).await;
    assert_eq!(file.expect(200).body.len(), 1_234);
    let stats = send(http.get(format!("{origin}/__sim/stats"))).await;
    assert_eq!(stats.expect(200).json()["counts"]["storage_get"], 1);
}

#[test]
fn bad_options_exit_non_zero_with_a_clear_message() {
    for (args, needle) in [
        (&["--token", "T", "--fault", "bogus"][..], "bogus"),
        (&["--token", "T", "--fault", "storage:boom=1"], "boom"),
        (&["--token", "T", "--time-scale", "0"], "--time-scale"),
        (&["--token", "T", "--api", "future"], "future"),
        (
            &["--token", "T", "--fixture", "/nonexistent/fixture.yaml"],
            "/nonexistent/fixture.yaml",
        ),
        (&["--port", "0"], "--token"),
    ] {
        let out = Command::new(BIN)
            .args(args)
            .env_remove("CODEOCEAN_SIM_TOKEN")
            .output()
            .unwrap();
        assert!(!out.status.success(), "{args:?} succeeded");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
        assert!(
            out.stdout.is_empty(),
            "{args:?} printed {:?}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
}

/// A file in the temporary directory, removed when dropped.
pub(crate) struct TempFile(pub(crate) PathBuf);

impl TempFile {
    pub(crate) fn new(name: &str, text: &str) -> Self {
        let path =
            std::env::temp_dir().join(format!("codeocean-sim-it-{}-{name}", std::process::id()));
        std::fs::write(&path, text).unwrap();
        Self(path)
    }

    pub(crate) fn path(&self) -> &str {
        self.0.to_str().unwrap()
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[tokio::test]
async fn serves_a_yaml_fixture() {
    let fixture = TempFile::new(
        "tiny.yaml",
        r#"
capsules:
  - id: cap-1
    name: Tiny
    slug: "42"
    run:
      initializing: 0
      running: 1
      finalizing: 0
      results:
        entries:
          - {name: a.txt, size: 3}
          - name: sub
            children: [{name: b.txt, size: 5}]
data_assets:
  - {id: in-1, name: Input, mount: input}
"#,
    );
    let p = Process::start(&["--port", "0", "--token", "T", "--fixture", fixture.path()]);
    let origin = p.origin().to_owned();
    let capsule = send(get(&origin, "/capsules/cap-1", "T")).await;
    let capsule = capsule.expect(200).json();
    assert_eq!(
        (capsule["name"].as_str(), capsule["slug"].as_str()),
        (Some("Tiny"), Some("42"))
    );
    send(get(&origin, &format!("/capsules/{HELLO}"), "T"))
        .await
        .expect(404);
    send(get(&origin, "/data_assets/in-1", "T"))
        .await
        .expect(200);

    let broken = TempFile::new("broken.yaml", "capsules:\n  - id: x\n    nmae: typo\n");
    let out = Command::new(BIN)
        .args(["--token", "T", "--fixture", broken.path()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("invalid fixture") && stderr.contains("nmae"),
        "{stderr}"
    );
}

#[tokio::test]
async fn the_printed_builtin_catalogue_is_a_fixture_for_the_same_simulator() {
    let out = Command::new(BIN)
        .args(["--token", "T", "--print-builtin"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let fixture = TempFile::new("builtin.yaml", &String::from_utf8(out.stdout).unwrap());
    let p = Process::start(&["--port", "0", "--token", "T", "--fixture", fixture.path()]);
    for id in [HELLO, FAILS, PIPELINE] {
        send(get(p.origin(), &format!("/capsules/{id}"), "T"))
            .await
            .expect(200);
    }
    send(get(p.origin(), &format!("/data_assets/{INPUT}"), "T"))
        .await
        .expect(200);
}
