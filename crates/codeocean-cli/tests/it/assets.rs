//! `data-asset ls|download|search` and `capsule attach` end to end, against a small scripted
//! API and storage server (threads and `std::net`: the binary is another process). It serves
//! one data asset's tree, searches that page honestly or lie about `has_more`, and records
//! every request so the tests can check what was sent.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

use crate::{Out, cmd};

const TREE: &[(&str, &[u8])] = &[
    ("readme.txt", b"hello asset\n"),
    ("genome/chr1.fa", b">chr1\nACGTACGTAC\n"),
    ("genome/deep/chr2.fa", b">chr2\nTTTT\n"),
];

/// One request as the server saw it.
#[derive(Clone, Debug)]
struct Seen {
    line: String,
    authorized: bool,
    body: String,
}

struct Server {
    origin: String,
    log: Arc<Mutex<Vec<Seen>>>,
}

fn listing(folder: &str) -> serde_json::Value {
    let mut items = Vec::new();
    let mut folders = std::collections::BTreeSet::new();
    for (path, bytes) in TREE {
        let rest = if folder.is_empty() {
            *path
        } else {
            match path.strip_prefix(folder).and_then(|r| r.strip_prefix('/')) {
                Some(r) => r,
                None => continue,
            }
        };
        let prefix = if folder.is_empty() {
            String::new()
        } else {
            format!("{folder}/")
        };
        match rest.split_once('/') {
            Some((sub, _)) => {
                folders.insert(format!("{prefix}{sub}"));
            }
            None => items.push(serde_json::json!({
                "name": rest, "path": path, "type": "file", "size": bytes.len()
            })),
        }
    }
    for f in folders {
        let name = f.rsplit('/').next().unwrap().to_owned();
        items.push(serde_json::json!({"name": name, "path": f, "type": "folder"}));
    }
    serde_json::json!({ "items": items })
}

fn answer(origin: &str, seen: &Seen, lie: bool) -> (u16, Vec<u8>) {
    let (method, target) = seen.line.split_once(' ').unwrap();
    let json = |v: serde_json::Value| (200, v.to_string().into_bytes());
    if let Some(path) = target.strip_prefix("/storage/") {
        let path = path.split('?').next().unwrap().replace("%2F", "/");
        return match TREE.iter().find(|(p, _)| *p == path) {
            Some((_, bytes)) if !seen.authorized => (200, bytes.to_vec()),
            _ => (403, b"refused".to_vec()),
        };
    }
    if !seen.authorized {
        return (401, br#"{"message":"no credentials"}"#.to_vec());
    }
    match (method, target.split('?').next().unwrap()) {
        ("POST", "/api/v1/data_assets/da7a/files") => {
            let req: serde_json::Value = serde_json::from_str(&seen.body).unwrap();
            json(listing(req["path"].as_str().unwrap()))
        }
        ("GET", "/api/v1/data_assets/da7a/files/urls") => {
            let path = target.rsplit("path=").next().unwrap();
            json(serde_json::json!({
                "download_url": format!("{origin}/storage/{path}?X-Amz-Signature=s"),
                "view_url": format!("{origin}/storage/{path}?view=1"),
            }))
        }
        ("POST", "/api/v1/data_assets/search") => {
            let req: serde_json::Value = serde_json::from_str(&seen.body).unwrap();
            let offset = req["offset"].as_i64().unwrap();
            let limit = req["limit"].as_i64().unwrap();
            if lie {
                return json(serde_json::json!({
                    "has_more": true,
                    "results": [{"id": "same", "name": "Same"}],
                }));
            }
            let end = (offset + limit).min(25);
            let results: Vec<_> = (offset..end)
                .map(|i| serde_json::json!({"id": format!("a{i:02}"), "name": format!("Asset {i}"), "type": "dataset", "state": "ready", "size": 1024}))
                .collect();
            json(serde_json::json!({"has_more": end < 25, "results": results}))
        }
        ("POST", "/api/v1/capsules/c1/data_assets") => {
            json(serde_json::json!([{"id": "da7a", "mount": "ref", "ready": true}]))
        }
        _ => (404, br#"{"message":"not found"}"#.to_vec()),
    }
}

fn handle(mut sock: TcpStream, origin: &str, log: &Mutex<Vec<Seen>>, lie: bool) {
    let mut reader = BufReader::new(sock.try_clone().unwrap());
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut length = 0;
        let mut authorized = false;
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            let h = h.trim_end().to_ascii_lowercase();
            if h.is_empty() {
                break;
            }
            if let Some(v) = h.strip_prefix("content-length:") {
                length = v.trim().parse().unwrap_or(0);
            }
            authorized |= h.starts_with("authorization:");
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let mut parts = line.split_whitespace();
        let seen = Seen {
            line: format!(
                "{} {}",
                parts.next().unwrap_or_default(),
                parts.next().unwrap_or_default()
            ),
            authorized,
            body: String::from_utf8_lossy(&body).into_owned(),
        };
        log.lock().unwrap().push(seen.clone());
        let (status, body) = answer(origin, &seen, lie);
        let head = format!(
            "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
            body.len()
        );
        if sock.write_all(head.as_bytes()).is_err() || sock.write_all(&body).is_err() {
            return;
        }
    }
}

fn server(lie: bool) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    let log = Arc::new(Mutex::new(Vec::new()));
    let (o, l) = (origin.clone(), log.clone());
    std::thread::spawn(move || {
        for sock in listener.incoming() {
            let Ok(sock) = sock else { continue };
            let (o, l) = (o.clone(), l.clone());
            std::thread::spawn(move || handle(sock, &o, &l, lie));
        }
    });
    Server { origin, log }
}

fn run(server: &Server, args: &[&str]) -> Out {
    cmd(None)
        .args(["--domain", &server.origin, "--token", "asset-secret"])
        .args(args)
        .output()
        .unwrap()
        .into()
}

#[test]
fn data_asset_ls_and_download_end_to_end() {
    let s = server(false);
    let out = run(&s, &["data-asset", "ls", "da7a"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(
        out.stdout,
        "TYPE    SIZE  PATH\nfolder        genome/\nfile    12 B  readme.txt\n"
    );
    let out = run(&s, &["--json", "data-asset", "ls", "da7a", "--recursive"]);
    assert_eq!(out.code, 0, "{out:?}");
    let mut paths: Vec<String> = out
        .stdout
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["path"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    paths.sort();
    assert_eq!(
        paths,
        [
            "genome",
            "genome/chr1.fa",
            "genome/deep",
            "genome/deep/chr2.fa",
            "readme.txt"
        ]
    );

    let dir = tempfile::tempdir().unwrap();
    let to = dir.path().join("asset");
    let to_s = to.to_str().unwrap();
    let out = run(
        &s,
        &["--json", "data-asset", "download", "da7a", "--to", to_s],
    );
    assert_eq!(out.code, 0, "{out:?}");
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(
        (v["downloaded"].as_u64(), v["skipped"].as_u64()),
        (Some(3), Some(0))
    );
    for (path, bytes) in TREE {
        assert_eq!(std::fs::read(to.join(path)).unwrap(), *bytes, "{path}");
    }
    // Again: nothing fetched.
    let storage_before = s
        .log
        .lock()
        .unwrap()
        .iter()
        .filter(|r| r.line.contains("/storage/"))
        .count();
    let out = run(
        &s,
        &["--json", "data-asset", "download", "da7a", "--to", to_s],
    );
    assert_eq!(out.code, 0, "{out:?}");
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["skipped"].as_u64(), Some(3));
    let log = s.log.lock().unwrap();
    let storage: Vec<_> = log
        .iter()
        .filter(|r| r.line.contains("/storage/"))
        .collect();
    assert_eq!(storage.len(), storage_before, "a re-run fetches nothing");
    assert!(storage.iter().all(|r| !r.authorized), "no token to storage");
    assert!(!out.stderr.contains("asset-secret"));
}

#[test]
fn data_asset_search_pages_and_a_lying_server_exits_1() {
    let s = server(false);
    let out = run(
        &s,
        &[
            "--json",
            "data-asset",
            "search",
            "tag:x",
            "--page-size",
            "10",
        ],
    );
    assert_eq!(out.code, 0, "{out:?}");
    let ids: Vec<String> = out
        .stdout
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(ids.len(), 25);
    assert_eq!(ids.first().map(String::as_str), Some("a00"));
    assert_eq!(s.log.lock().unwrap().len(), 3, "pages of 10: 3 requests");
    let out = run(
        &s,
        &["data-asset", "search", "--limit", "2", "--type", "dataset"],
    );
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(
        out.stdout,
        "ID   TYPE     STATE  SIZE      NAME\na00  dataset  ready  1.00 KiB  Asset 0\na01  dataset  ready  1.00 KiB  Asset 1\n"
    );

    let liar = server(true);
    let t = std::time::Instant::now();
    let out = run(&liar, &["--json", "data-asset", "search"]);
    assert!(t.elapsed() < std::time::Duration::from_secs(20));
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(
        out.stdout.lines().count(),
        1,
        "the one result, once: {out:?}"
    );
    assert!(out.stderr.contains("more results follow"), "{out:?}");
    assert_eq!(liar.log.lock().unwrap().len(), 2);
}

#[test]
fn capsule_attach_sends_the_mounts() {
    let s = server(false);
    let out = run(
        &s,
        &[
            "--json",
            "capsule",
            "attach",
            "c1",
            "--data-asset",
            "da7a:ref",
        ],
    );
    assert_eq!(out.code, 0, "{out:?}");
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v[0]["mount"], "ref");
    let log = s.log.lock().unwrap();
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&log[0].body).unwrap(),
        serde_json::json!([{"id": "da7a", "mount": "ref"}])
    );
    // Usage errors exit 2 before anything is sent.
    drop(log);
    let out = run(&s, &["capsule", "attach", "c1"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert_eq!(s.log.lock().unwrap().len(), 1);
}
