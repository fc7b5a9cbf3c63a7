//! Names from the server are never trusted as paths.
//!
//! The simulator refuses to serve hostile names (its catalogue is checked), so this test
//! answers the listing itself with a few lines of HTTP.

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use super::*;

const LISTING: &str = r#"{"items": [
  {"name": "x", "path": "../x", "type": "file", "size": 3},
  {"name": "x", "path": "/etc/x", "type": "file", "size": 3},
  {"name": "b", "path": "a/../../b", "type": "file", "size": 3},
  {"name": "c", "path": "C:/c", "type": "file", "size": 3},
  {"name": "d", "path": "d\\..\\e", "type": "file", "size": 3}
]}"#;

/// Serves `LISTING` for any results listing and 404 for anything else; counts requests.
async fn hostile_server() -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    let count = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = count.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let seen = seen.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    let n = sock.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                }
                seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let head = String::from_utf8_lossy(&buf).to_string();
                let (status, body) = if head.starts_with("POST ") && head.contains("/results ") {
                    ("200 OK", LISTING)
                } else {
                    ("404 Not Found", "")
                };
                let resp = format!(
                    "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = sock.write_all(resp.as_bytes()).await;
            });
        }
    });
    (origin, count)
}

#[tokio::test]
async fn hostile_names_are_refused_and_nothing_is_written() {
    let (origin, requests) = hostile_server().await;
    let c = Client::builder()
        .domain(&origin)
        .token("t")
        .build()
        .unwrap();
    let outer = tempfile::tempdir().unwrap();
    let dest = outer.path().join("dest");
    // Files were refused: the job is incomplete, an error that carries what it did.
    let e = c.download("comp", &dest).run().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Incomplete, "{e}");
    let s = e
        .summary()
        .expect("an incomplete download carries its summary");
    assert_eq!(s.failures.len(), 5, "{:?}", s.failures);
    assert!(
        s.failures
            .iter()
            .all(|f| f.error().kind() == ErrorKind::UnsafePath),
        "{:?}",
        s.failures
    );
    assert!(
        e.to_string().contains("5 file(s) or folder(s) failed"),
        "{e}"
    );
    // Only the listing was requested: no URL was asked for any hostile name.
    assert_eq!(requests.load(std::sync::atomic::Ordering::SeqCst), 1);
    let entries: Vec<_> = std::fs::read_dir(outer.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(entries, ["dest"]);
    // Only the download's own state folder, and no part file in it.
    let entries: Vec<_> = std::fs::read_dir(&dest)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(entries, [STATE]);
    assert!(part_files(&dest).is_empty());
}

#[cfg(unix)]
#[tokio::test]
async fn a_symlink_inside_the_destination_is_not_followed() {
    let sim = sim(|_| {});
    let c = client(&sim);
    let id = finished_run(&c, HELLO).await;
    let outside = tempfile::tempdir().unwrap();
    let dest = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(outside.path(), dest.path().join("figures")).unwrap();
    std::os::unix::fs::symlink(outside.path().join("o.txt"), dest.path().join("output.txt"))
        .unwrap();
    let s = c
        .download(&id, dest.path())
        .allow_partial(true)
        .run()
        .await
        .unwrap();
    let refused: Vec<&str> = s.failures.iter().map(|f| f.path()).collect();
    assert_eq!(refused.len(), 3, "{refused:?}");
    assert!(
        s.failures
            .iter()
            .all(|f| f.error().kind() == ErrorKind::UnsafePath)
    );
    assert_eq!(
        std::fs::read_dir(outside.path()).unwrap().count(),
        0,
        "wrote through a symlink"
    );
    assert_eq!(s.downloaded, 4);
}
