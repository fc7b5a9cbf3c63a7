//! `codeocean mcp` over stdio, driven by hand-written JSON-RPC lines against the simulator:
//! the official server's tool names (tests/python/fixtures/official-tools.json), errors as
//! tool errors, the whole job (run, wait, list, capped read, download), `--read-only`, and
//! neither the token nor anything but the protocol on stdout (logs, even with -vvv, on
//! stderr, without the token); and over streamable HTTP, by hand-written HTTP/1.1 requests,
//! each session's own bearer token (none: a tool error; a wrong one: the 401), progress
//! notifications in a call's event stream, and the `Host` check. tests/python/mcp_check.py
//! drives it with the official Python MCP client.

use std::io::{BufRead as _, BufReader, Write as _};
use std::process::{Child, ChildStdin, ChildStdout, Stdio};

use serde_json::{Value, json};

use crate::{OK_CAPSULE, TOKEN, cmd, sim};

/// The tools that change the deployment: hidden and refused with `--read-only`.
const MUTATING: [&str; 11] = [
    "attach_data_assets",
    "detach_data_assets",
    "sync_capsule",
    "release_capsule",
    "run_capsule",
    "rename_computation",
    "delete_computation",
    "attach_computation_data_assets",
    "detach_computation_data_assets",
    "update_metadata",
    "create_data_asset",
];

/// The official codeocean-mcp-server 0.13.1's tools, as its own client listed them.
fn official_tools() -> Vec<Value> {
    let file = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/python/fixtures/official-tools.json"
    );
    serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap()
}

/// A running `codeocean mcp` and its protocol lines.
struct Session {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
    /// Every line read from stdout.
    seen: Vec<String>,
    next_id: u64,
}

impl Session {
    /// Starts `codeocean [global] mcp ARGS` against the simulator and initializes it.
    fn start(sim: &codeocean_sim::Simulator, global: &[&str], args: &[&str]) -> Self {
        let mut child = cmd(Some(sim))
            .args(global)
            .arg("mcp")
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let mut s = Self {
            child,
            stdin,
            stdout,
            seen: Vec::new(),
            next_id: 1,
        };
        let init = s.request(
            "initialize",
            json!({
                "protocolVersion": "2025-06-18",
                "capabilities": {},
                "clientInfo": {"name": "it", "version": "0"},
            }),
        );
        assert!(
            init["result"]["instructions"]
                .as_str()
                .unwrap()
                .contains("wait_until_completed"),
            "{init}"
        );
        s.send(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
        s
    }

    fn send(&mut self, message: &Value) {
        let stdin = self.stdin.as_mut().unwrap();
        writeln!(stdin, "{message}").unwrap();
        stdin.flush().unwrap();
    }

    /// Sends a request and returns its response (every line before it must be JSON-RPC).
    fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        loop {
            let mut line = String::new();
            let n = self.stdout.read_line(&mut line).unwrap();
            assert!(n > 0, "the server closed stdout before answering {method}");
            self.seen.push(line.clone());
            let message: Value = serde_json::from_str(&line)
                .unwrap_or_else(|e| panic!("not JSON-RPC on stdout ({e}): {line}"));
            assert_eq!(message["jsonrpc"], "2.0", "{line}");
            if message["id"] == json!(id) {
                return message;
            }
        }
    }

    /// Calls a tool; returns the result (`isError`, `content`, `structuredContent`).
    fn call(&mut self, tool: &str, arguments: Value) -> Value {
        let response = self.request("tools/call", json!({"name": tool, "arguments": arguments}));
        assert!(
            response.get("error").is_none(),
            "{tool}: a protocol error instead of a tool result: {response}"
        );
        response["result"].clone()
    }

    /// Calls a tool that must succeed; returns its structured content.
    fn ok(&mut self, tool: &str, arguments: Value) -> Value {
        let result = self.call(tool, arguments);
        assert_ne!(result["isError"], true, "{tool}: {result}");
        result["structuredContent"].clone()
    }

    /// The names `tools/list` gives.
    fn tool_names(&mut self) -> Vec<String> {
        let listed = self.request("tools/list", json!({}));
        listed["result"]["tools"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap().to_owned())
            .collect()
    }

    /// Closes stdin and waits: the server must exit 0; returns (stdout, stderr) in full.
    fn finish(mut self) -> (String, String) {
        drop(self.stdin.take());
        let mut rest = String::new();
        std::io::Read::read_to_string(&mut self.stdout, &mut rest).unwrap();
        let mut stderr = String::new();
        std::io::Read::read_to_string(self.child.stderr.as_mut().unwrap(), &mut stderr).unwrap();
        let status = self.child.wait().unwrap();
        assert!(status.success(), "exit {status}; stderr: {stderr}");
        (self.seen.concat() + &rest, stderr)
    }
}

/// The text of a tool result's content blocks.
fn text(result: &Value) -> String {
    result["content"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["text"].as_str())
        .collect::<Vec<_>>()
        .join("\n")
}

/// `codeocean mcp --help`, against its golden file (`UPDATE_EXPECT=1` rewrites it).
#[test]
fn mcp_help_text() {
    let out = crate::run(None, &["mcp", "--help"]);
    assert_eq!(out.code, 0, "{out:?}");
    expect_test::expect_file!["golden/help-mcp.txt"].assert_eq(&out.stdout);
}

/// The progress notifications for `token` among stdout lines.
fn progress_notes(lines: &[String], token: &str) -> Vec<Value> {
    lines
        .iter()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|m| m["method"] == "notifications/progress")
        .inspect(|m| assert_eq!(m["params"]["progressToken"], token, "another token: {m}"))
        .collect()
}

/// A tool call whose request asks for progress (`_meta.progressToken`): the notifications
/// before its response, and its result.
fn call_with_progress(
    s: &mut Session,
    tool: &str,
    arguments: Value,
    token: &str,
) -> (Vec<Value>, Value) {
    let before = s.seen.len();
    let response = s.request(
        "tools/call",
        json!({"name": tool, "arguments": arguments, "_meta": {"progressToken": token}}),
    );
    assert_ne!(response["result"]["isError"], true, "{tool}: {response}");
    let notes = progress_notes(&s.seen[before..], token);
    // None comes after the result: the next answer has nothing before it.
    let after = s.seen.len();
    s.request("ping", json!({}));
    assert!(
        progress_notes(&s.seen[after..], token).is_empty(),
        "{tool}: progress after the result: {:?}",
        &s.seen[after..]
    );
    (notes, response["result"].clone())
}

#[test]
fn mcp_reports_progress_of_waits_and_downloads_when_asked_and_only_then() {
    let sim = sim();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_str().unwrap();
    let mut s = Session::start(&sim, &[], &["--download-dir", root]);
    let run = s.ok(
        "run_capsule",
        json!({"run_params": {"capsule_id": OK_CAPSULE}}),
    );
    let id = run["id"].as_str().unwrap().to_owned();
    let (notes, done) = call_with_progress(
        &mut s,
        "wait_until_completed",
        json!({"computation_id": id, "timeout": 60}),
        "wait-1",
    );
    assert_eq!(done["structuredContent"]["state"], "completed", "{done}");
    // Each state seen is one, in order, the last the final one.
    assert!(!notes.is_empty(), "no progress while waiting");
    let progress: Vec<f64> = notes
        .iter()
        .map(|n| n["params"]["progress"].as_f64().unwrap())
        .collect();
    assert!(progress.windows(2).all(|w| w[0] < w[1]), "{notes:?}");
    let last = notes.last().unwrap()["params"]["message"].as_str().unwrap();
    assert!(
        last.starts_with(&format!("computation {id}: completed (succeeded")),
        "{last}"
    );

    let (notes, summary) = call_with_progress(
        &mut s,
        "download_results",
        json!({"computation_id": id, "folder": "out"}),
        "dl-1",
    );
    assert_eq!(summary["structuredContent"]["complete"], true, "{summary}");
    assert!(!notes.is_empty(), "no progress while downloading");
    let first = &notes[0]["params"];
    assert!(
        first["total"].as_f64().unwrap() >= first["progress"].as_f64().unwrap(),
        "{first}"
    );
    assert!(
        first["message"]
            .as_str()
            .unwrap()
            .contains("files found so far done"),
        "{first}"
    );

    // Not asked: none.
    let before = s.seen.len();
    s.ok(
        "wait_until_completed",
        json!({"computation_id": id, "timeout": 60}),
    );
    s.ok(
        "download_results",
        json!({"computation_id": id, "folder": "again"}),
    );
    let unasked = s.seen[before..]
        .iter()
        .filter(|l| l.contains("notifications/progress"))
        .count();
    assert_eq!(unasked, 0, "{:?}", &s.seen[before..]);
    s.finish();
}

#[test]
fn mcp_serves_every_official_tool_and_runs_the_whole_job_over_stdio() {
    let sim = sim();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_str().unwrap();
    let mut s = Session::start(
        &sim,
        &["-vvv"],
        &["--download-dir", root, "--max-read-bytes", "10"],
    );

    let names = s.tool_names();
    let official = official_tools();
    assert_eq!(official.len(), 32);
    for tool in &official {
        let name = tool["name"].as_str().unwrap();
        assert!(names.iter().any(|n| n == name), "{name} is not listed");
    }
    for extra in ["download_results", "download_data_asset"] {
        assert!(names.iter().any(|n| n == extra), "{extra} is not listed");
    }
    let listed = s.request("tools/list", json!({}));
    for tool in listed["result"]["tools"].as_array().unwrap() {
        let name = tool["name"].as_str().unwrap();
        let read_only = tool["annotations"]["readOnlyHint"].as_bool();
        let expected = !MUTATING.contains(&name)
            && !["download_results", "download_data_asset"].contains(&name);
        assert_eq!(read_only, Some(expected), "{name}: {tool}");
        assert!(
            tool["description"].as_str().unwrap().len() > 20,
            "{name} has no description"
        );
    }

    // A missing capsule: a tool error with the HTTP status, and the server goes on.
    let missing = s.call(
        "get_capsule",
        json!({"capsule_id": "00000000-0000-4000-8000-0000000000ff"}),
    );
    assert_eq!(missing["isError"], true, "{missing}");
    assert!(text(&missing).contains("HTTP 404"), "{missing}");
    // Arguments of the wrong shape are a tool error too.
    let bad = s.call("get_capsule", json!({"capsule_id": 7}));
    assert_eq!(bad["isError"], true, "{bad}");

    let page = s.ok(
        "search_capsules",
        json!({"search_params": {"query": "Hello"}}),
    );
    let items = page["items"].as_array().unwrap();
    assert!(items.iter().any(|i| i["id"] == OK_CAPSULE), "{page}");
    assert_eq!(page["item_count"], items.len());
    assert!(page.get("next_token").is_some(), "{page}");

    let run = s.ok(
        "run_capsule",
        json!({"run_params": {"capsule_id": OK_CAPSULE}}),
    );
    let id = run["id"].as_str().unwrap().to_owned();
    let done = s.ok(
        "wait_until_completed",
        json!({"computation_id": id, "timeout": 60}),
    );
    assert_eq!(done["end_status"], "succeeded", "{done}");
    let listing = s.ok("list_computation_results", json!({"computation_id": id}));
    assert!(
        listing["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["path"] == "output.txt"),
        "{listing}"
    );

    let read = s.call(
        "download_and_read_a_file_from_computation",
        json!({"computation_id": id, "file_path": "output.txt"}),
    );
    assert_ne!(read["isError"], true, "{read}");
    assert_eq!(read["structuredContent"]["truncated"], true, "{read}");
    assert!(text(&read).contains("[truncated"), "{read}");

    let summary = s.ok(
        "download_results",
        json!({"computation_id": id, "folder": "out"}),
    );
    assert_eq!(summary["complete"], true, "{summary}");
    let on_disk = std::fs::read(dir.path().join("out/output.txt")).unwrap();
    assert!(on_disk.len() > 10);
    let shown = read["structuredContent"]["bytes"].as_u64().unwrap() as usize;
    assert!((7..=10).contains(&shown), "{read}");
    assert_eq!(
        read["structuredContent"]["result"],
        String::from_utf8_lossy(&on_disk[..shown]).as_ref(),
        "{read}"
    );
    assert_eq!(
        read["structuredContent"]["binary"],
        std::str::from_utf8(&on_disk[..shown]).is_err()
    );
    let outside = s.call(
        "download_results",
        json!({"computation_id": id, "folder": "/etc"}),
    );
    assert_eq!(outside["isError"], true, "{outside}");
    // A link out of the download folder: refused, and nothing made at its far end.
    let far = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(far.path(), dir.path().join("link")).unwrap();
    let linked = s.call(
        "download_results",
        json!({"computation_id": id, "folder": "link/sub"}),
    );
    assert_eq!(linked["isError"], true, "{linked}");
    assert!(text(&linked).contains("through a link"), "{linked}");
    assert!(
        !far.path().join("sub").exists(),
        "a folder was made through the link"
    );

    let (stdout, stderr) = s.finish();
    for line in stdout.lines() {
        serde_json::from_str::<Value>(line).unwrap_or_else(|e| panic!("{e}: {line}"));
    }
    assert!(!stdout.contains(TOKEN), "the token is in a result");
    assert!(
        stderr.contains("operation=\"run_computation\""),
        "-vvv logs the requests: {stderr}"
    );
    assert!(!stderr.contains(TOKEN), "the token is in the log: {stderr}");
}

#[test]
fn mcp_read_only_hides_and_refuses_every_mutating_tool() {
    let sim = sim();
    let dir = tempfile::tempdir().unwrap();
    let mut s = Session::start(
        &sim,
        &[],
        &[
            "--read-only",
            "--download-dir",
            dir.path().to_str().unwrap(),
        ],
    );
    let names = s.tool_names();
    for name in MUTATING {
        assert!(!names.iter().any(|n| n == name), "{name} is listed");
    }
    for tool in official_tools() {
        let name = tool["name"].as_str().unwrap();
        if !MUTATING.contains(&name) {
            assert!(names.iter().any(|n| n == name), "{name} is hidden");
        }
    }
    let refused = s.call(
        "run_capsule",
        json!({"run_params": {"capsule_id": OK_CAPSULE}}),
    );
    assert_eq!(refused["isError"], true, "{refused}");
    assert!(text(&refused).contains("--read-only"), "{refused}");
    // Reading still works.
    let capsule = s.ok("get_capsule", json!({"capsule_id": OK_CAPSULE}));
    assert_eq!(capsule["id"], OK_CAPSULE);
    let counts = sim.stats().counts;
    assert_eq!(counts.get("get_capsule"), Some(&1), "{counts:?}");
    assert_eq!(
        counts.get("run_computation"),
        None,
        "a refused run reached the server"
    );
    let (stdout, _) = s.finish();
    assert!(!stdout.contains(TOKEN));
}

/// One HTTP/1.1 request to the MCP endpoint at `addr` (`host:port`), the connection closed
/// after it: the status, the headers (lowercase names) and the body.
fn http_post(
    addr: &str,
    host: &str,
    headers: &[(&str, &str)],
    body: &Value,
) -> (u16, Vec<(String, String)>, String) {
    use std::io::Read as _;
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .unwrap();
    let body = body.to_string();
    let mut request = format!(
        "POST /mcp HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n\
         Accept: application/json, text/event-stream\r\nConnection: close\r\n\
         Content-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(&body);
    stream.write_all(request.as_bytes()).unwrap();
    let mut raw = Vec::new();
    // The server may end an event stream by closing; whatever came is the answer.
    let _ = stream.read_to_end(&mut raw);
    let raw = String::from_utf8_lossy(&raw).into_owned();
    let (head, rest) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line: {raw}"));
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    (status, headers, rest.to_owned())
}

/// The JSON-RPC message of an answer: the body itself, or the `data:` line of an event stream
/// that holds a response (chunked framing aside).
fn rpc_answer(body: &str) -> Value {
    if let Ok(v) = serde_json::from_str::<Value>(body.trim()) {
        return v;
    }
    body.lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .filter_map(|d| serde_json::from_str::<Value>(d.trim()).ok())
        .find(|v| v.get("result").is_some() || v.get("error").is_some())
        .unwrap_or_else(|| panic!("no JSON-RPC response in: {body}"))
}

/// Opens an MCP session over HTTP (initialize, then initialized) and returns its id.
fn http_session(addr: &str, auth: &[(&str, &str)]) -> String {
    let (status, headers, body) = http_post(
        addr,
        "127.0.0.1",
        auth,
        &json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": {"name": "it", "version": "0"}}}),
    );
    assert_eq!(status, 200, "{body}");
    assert!(
        rpc_answer(&body)["result"]["serverInfo"].is_object(),
        "{body}"
    );
    let session = headers
        .iter()
        .find(|(n, _)| n == "mcp-session-id")
        .map(|(_, v)| v.clone())
        .unwrap_or_else(|| panic!("no session id: {headers:?}"));
    let mut with = auth.to_vec();
    with.push(("Mcp-Session-Id", &session));
    with.push(("MCP-Protocol-Version", "2025-06-18"));
    let (status, _, body) = http_post(
        addr,
        "127.0.0.1",
        &with,
        &json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
    );
    assert!(matches!(status, 200 | 202), "{status}: {body}");
    session
}

#[test]
fn mcp_over_http_takes_each_sessions_bearer_token_and_no_other() {
    let sim = sim();
    // The server knows the domain only: the token comes from each request.
    let mut child = cmd(None)
        .args(["-vvv", "--domain", sim.origin()])
        .args(crate::trust(&sim))
        .args(["mcp", "--transport", "http", "--port", "0"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    // Log lines (-vvv) may come first.
    let mut first = String::new();
    while !first.starts_with("listening on ") {
        first.clear();
        assert!(
            stderr.read_line(&mut first).unwrap() > 0,
            "no `listening on` line"
        );
    }
    let addr = first
        .trim()
        .strip_prefix("listening on http://")
        .and_then(|a| a.strip_suffix("/mcp"))
        .unwrap_or_else(|| panic!("{first}"))
        .to_owned();

    let bearer = format!("Bearer {TOKEN}");
    let auth = [("Authorization", bearer.as_str())];
    let session = http_session(&addr, &auth);
    let call = |auth: &[(&str, &str)], session: &str, id: u64| {
        let mut with = auth.to_vec();
        with.push(("Mcp-Session-Id", session));
        with.push(("MCP-Protocol-Version", "2025-06-18"));
        let (status, _, body) = http_post(
            &addr,
            "127.0.0.1",
            &with,
            &json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {
                "name": "get_capsule", "arguments": {"capsule_id": OK_CAPSULE}}}),
        );
        assert_eq!(status, 200, "{body}");
        rpc_answer(&body)["result"].clone()
    };
    let got = call(&auth, &session, 2);
    assert_ne!(got["isError"], true, "{got}");
    assert_eq!(got["structuredContent"]["id"], OK_CAPSULE, "{got}");

    // Progress over HTTP: a call that asks for it (`_meta.progressToken`) is answered with an
    // event stream whose progress notifications all come before its response.
    let tool = |id: u64, name: &str, params: Value| {
        let mut with = auth.to_vec();
        with.push(("Mcp-Session-Id", &session));
        with.push(("MCP-Protocol-Version", "2025-06-18"));
        let mut params = params;
        params["name"] = json!(name);
        let (status, _, body) = http_post(
            &addr,
            "127.0.0.1",
            &with,
            &json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": params}),
        );
        assert_eq!(status, 200, "{body}");
        body
    };
    let run = rpc_answer(&tool(
        3,
        "run_capsule",
        json!({"arguments": {"run_params": {"capsule_id": OK_CAPSULE}}}),
    ));
    let computation = run["result"]["structuredContent"]["id"].as_str().unwrap();
    let body = tool(
        4,
        "wait_until_completed",
        json!({"arguments": {"computation_id": computation, "timeout": 60},
               "_meta": {"progressToken": "http-wait"}}),
    );
    let events: Vec<Value> = body
        .lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .filter_map(|d| serde_json::from_str(d.trim()).ok())
        .collect();
    let answered = (events.iter())
        .position(|e| e["id"] == 4 && e.get("result").is_some())
        .unwrap_or_else(|| panic!("no response in the stream: {body}"));
    let notes: Vec<usize> = (0..events.len())
        .filter(|&i| events[i]["method"] == "notifications/progress")
        .collect();
    assert!(!notes.is_empty(), "no progress over HTTP: {body}");
    assert!(
        notes.iter().all(|&i| i < answered),
        "progress after the response: {body}"
    );
    assert!(
        (notes.iter()).all(|&i| events[i]["params"]["progressToken"] == "http-wait"),
        "{body}"
    );
    let last = &events[*notes.last().unwrap()]["params"]["message"];
    assert!(
        (last.as_str().unwrap()).starts_with(&format!("computation {computation}: completed")),
        "{last}"
    );
    assert_eq!(
        events[answered]["result"]["structuredContent"]["state"], "completed",
        "{body}"
    );

    // A session without a token: a tool error naming the header.
    let anonymous = http_session(&addr, &[]);
    let refused = call(&[], &anonymous, 2);
    assert_eq!(refused["isError"], true, "{refused}");
    assert!(text(&refused).contains("Authorization"), "{refused}");
    // A wrong token: the server's 401, the token not repeated.
    let wrong = [("Authorization", "Bearer not-the-token-42")];
    let other = http_session(&addr, &wrong);
    let denied = call(&wrong, &other, 2);
    assert_eq!(denied["isError"], true, "{denied}");
    assert!(text(&denied).contains("HTTP 401"), "{denied}");
    assert!(!text(&denied).contains("not-the-token-42"), "{denied}");

    // A Host that is not the server's (DNS rebinding) is refused before any tool runs.
    let (status, _, _) = http_post(
        &addr,
        "evil.example",
        &auth,
        &json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": {"name": "it", "version": "0"}}}),
    );
    assert_eq!(status, 403);

    crate::interrupt(&child);
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "exit {status}: {rest}");
    assert!(
        rest.contains("operation=\"get_capsule\""),
        "-vvv logs the requests: {rest}"
    );
    assert!(!rest.contains(TOKEN), "the token is in the log: {rest}");
}
