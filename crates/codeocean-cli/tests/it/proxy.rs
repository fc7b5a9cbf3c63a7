//! `HTTPS_PROXY` and `NO_PROXY` with the default TLS stack (rustls, ring provider): a local
//! forward proxy that answers `CONNECT` and tunnels to the simulator.

use std::io::{BufRead as _, BufReader, Write as _};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

use crate::{OK_CAPSULE, cmd, sim_with};

/// A forward proxy: records each request line, answers `CONNECT` with 200 and tunnels the
/// connection to `upstream` (whatever host was asked for).
fn connect_proxy(upstream: String) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let mut reader = BufReader::new(client.try_clone().unwrap());
            let mut first = String::new();
            reader.read_line(&mut first).unwrap();
            log.lock().unwrap().push(first.trim_end().to_owned());
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap() == 0 || line == "\r\n" {
                    break;
                }
            }
            let mut client = client;
            client
                .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                .unwrap();
            let server = TcpStream::connect(&upstream).unwrap();
            let (mut c2, mut s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
            std::thread::spawn(move || std::io::copy(&mut c2, &mut s2));
            std::thread::spawn(move || {
                let (mut server, mut client) = (server, client);
                std::io::copy(&mut server, &mut client)
            });
        }
    });
    (addr, seen)
}

/// Runs `capsule get` against `https://api.codeocean.invalid` (a name that cannot resolve) with
/// the proxy set, and `NO_PROXY` as given.
fn get_through(proxy: &str, no_proxy: &str, token: &str) -> crate::Out {
    cmd(None)
        .env_remove("https_proxy")
        .env_remove("no_proxy")
        .env_remove("ALL_PROXY")
        .env_remove("all_proxy")
        .env("HTTPS_PROXY", proxy)
        .env("NO_PROXY", no_proxy)
        .args(["--domain", "api.codeocean.invalid", "--token", token])
        .args(["capsule", "get", OK_CAPSULE])
        .output()
        .unwrap()
        .into()
}

#[test]
fn https_proxy_is_used_and_no_proxy_bypasses_it() {
    // Plain HTTP even under CODEOCEAN_TEST_TLS: the tunnel's end must not speak TLS.
    let sim = sim_with(|c| c.tls = None);
    let upstream = sim.origin().strip_prefix("http://").unwrap().to_owned();
    let (proxy, seen) = connect_proxy(upstream);

    // Through the proxy: it is asked to tunnel to the API host, and the TLS handshake reaches
    // the (plain HTTP) simulator at the tunnel's end, which does not speak TLS.
    let out = get_through(&proxy, "", sim.token());
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(
        *seen.lock().unwrap(),
        ["CONNECT api.codeocean.invalid:443 HTTP/1.1"],
        "{out:?}"
    );
    assert!(out.stderr.contains("does not speak TLS"), "{out:?}");
    assert!(!out.stderr.contains(sim.token()), "{out:?}");

    // NO_PROXY names the host: the proxy is not asked, and the name does not resolve.
    seen.lock().unwrap().clear();
    let out = get_through(&proxy, "codeocean.invalid", sim.token());
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        seen.lock().unwrap().is_empty(),
        "{:?}",
        seen.lock().unwrap()
    );
    assert!(!out.stderr.contains("does not speak TLS"), "{out:?}");
}
