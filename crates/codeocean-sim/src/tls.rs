//! HTTPS on both origins, and a small PKI for tests.
//!
//! With [`Config::tls`](crate::Config::tls) set, the API and the storage origin serve HTTPS
//! (rustls with the *ring* provider) with one certificate: a CA named `codeocean-sim local CA` and
//! a leaf for `localhost`, `127.0.0.1`, `::1` and the listen host (`--host`), both made at start
//! ([`Tls::Generated`]), or a given pair ([`Tls::Pem`]). Both origins offer ALPN `h2` and
//! `http/1.1`, so a client with HTTP/2 speaks HTTP/2 and any other HTTP/1.1; plain HTTP (no
//! `tls`) stays HTTP/1.1. A client trusts the server through
//! [`Simulator::ca_certificate_pem`](crate::Simulator::ca_certificate_pem) (or the file the
//! command line writes, `--ca-out`); nothing is added to any system store.
//!
//! Each connection runs on its own task: the TLS handshake gets [`HANDSHAKE_TIMEOUT`], and a
//! handshake that fails or stalls (an untrusted client, a plain-HTTP client, a silent socket)
//! ends only that connection; [`Stats::tls_handshake_failures`](crate::Stats) counts them.
//!
//! [`CertificateAuthority`] makes the certificates the client's tests need beyond the happy path:
//! a leaf for other names (a name mismatch) and an expired one ([`CertificateAuthority::issue_valid`]).
//!
//! ```
//! use codeocean_sim::CertificateAuthority;
//!
//! let ca = CertificateAuthority::generate("test CA");
//! let leaf = ca.issue(&["localhost", "127.0.0.1"]);
//! assert!(ca.certificate_pem().starts_with("-----BEGIN CERTIFICATE-----"));
//! assert!(leaf.key_pem.contains("PRIVATE KEY"));
//! let _tls = leaf.tls(); // Config { tls: Some(_tls), .. }
//! ```

use std::fmt;
use std::io;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use crate::layer::Origin;
use crate::state::State;

/// How long a client has to finish the TLS handshake before its connection is closed.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The common name of the CA [`Tls::Generated`] makes.
pub const GENERATED_CA_NAME: &str = "codeocean-sim local CA";

/// Serve HTTPS on both origins, with which certificate. (`Debug` leaves the private key out.)
#[derive(Clone)]
pub enum Tls {
    /// A CA and a leaf certificate for `localhost`, `127.0.0.1`, `::1` (and the listen host) made
    /// at start; clients trust the CA ([`Simulator::ca_certificate_pem`](crate::Simulator::ca_certificate_pem)).
    Generated,
    /// A given certificate chain and private key, both PEM (leaf first, then any intermediates;
    /// the key PKCS#8, PKCS#1 or SEC1).
    Pem {
        /// The certificate chain, PEM.
        cert_chain: String,
        /// The private key, PEM.
        key: String,
    },
}

impl fmt::Debug for Tls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Tls::Generated => f.write_str("Generated"),
            Tls::Pem { cert_chain, .. } => f
                .debug_struct("Pem")
                .field("cert_chain", cert_chain)
                .field("key", &"<redacted>")
                .finish(),
        }
    }
}

/// A certificate authority for tests: a self-signed CA certificate and its key, which issues
/// leaf certificates.
pub struct CertificateAuthority {
    issuer: Issuer<'static, KeyPair>,
    certificate_pem: String,
    common_name: String,
}

impl fmt::Debug for CertificateAuthority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CertificateAuthority")
            .field("common_name", &self.common_name)
            .finish_non_exhaustive()
    }
}

/// A leaf certificate issued by a [`CertificateAuthority`] and its private key.
#[derive(Clone)]
pub struct IssuedCertificate {
    /// The leaf certificate, PEM (the CA is not included: clients trust it on their own).
    pub cert_chain_pem: String,
    /// Its private key, PKCS#8 PEM.
    pub key_pem: String,
}

impl fmt::Debug for IssuedCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedCertificate")
            .field("cert_chain_pem", &self.cert_chain_pem)
            .field("key_pem", &"<redacted>")
            .finish()
    }
}

impl IssuedCertificate {
    /// [`Tls::Pem`] of this certificate and key, to serve them.
    pub fn tls(&self) -> Tls {
        Tls::Pem {
            cert_chain: self.cert_chain_pem.clone(),
            key: self.key_pem.clone(),
        }
    }
}

/// A day, for validity periods.
const DAY: Duration = Duration::from_secs(86_400);

impl CertificateAuthority {
    /// A new CA (ECDSA P-256) with this common name, valid from a day ago for ten years.
    pub fn generate(common_name: &str) -> Self {
        let key = KeyPair::generate().expect("ring generates a P-256 key");
        let mut params = CertificateParams::default();
        params
            .distinguished_name
            .push(DnType::CommonName, common_name);
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let now = SystemTime::now();
        params.not_before = offset_date_time(now - DAY);
        params.not_after = offset_date_time(now + 3650 * DAY);
        let certificate = params.self_signed(&key).expect("a valid CA certificate");
        Self {
            certificate_pem: certificate.pem(),
            issuer: Issuer::new(params, key),
            common_name: common_name.to_owned(),
        }
    }

    /// The CA certificate, PEM: what clients trust.
    pub fn certificate_pem(&self) -> String {
        self.certificate_pem.clone()
    }

    /// A leaf for these DNS names / IP addresses, valid from a day ago for a year.
    ///
    /// # Panics
    ///
    /// When a name is neither an IP address nor a valid DNS name.
    pub fn issue(&self, names: &[&str]) -> IssuedCertificate {
        let now = SystemTime::now();
        self.issue_valid(names, now - DAY, now + 365 * DAY)
    }

    /// A leaf with this validity (an expired one: both in the past).
    ///
    /// # Panics
    ///
    /// When a name is neither an IP address nor a valid DNS name.
    pub fn issue_valid(
        &self,
        names: &[&str],
        not_before: SystemTime,
        not_after: SystemTime,
    ) -> IssuedCertificate {
        let key = KeyPair::generate().expect("ring generates a P-256 key");
        let sans: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
        let mut params = CertificateParams::new(sans)
            .unwrap_or_else(|e| panic!("certificate names {names:?}: {e}"));
        if let Some(first) = names.first() {
            params.distinguished_name.push(DnType::CommonName, *first);
        }
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.use_authority_key_identifier_extension = true;
        params.not_before = offset_date_time(not_before);
        params.not_after = offset_date_time(not_after);
        let certificate = params
            .signed_by(&key, &self.issuer)
            .expect("a valid leaf certificate");
        IssuedCertificate {
            cert_chain_pem: certificate.pem(),
            key_pem: key.serialize_pem(),
        }
    }
}

/// A `SystemTime` as rcgen's date type (whole seconds; before 1970 counts back).
fn offset_date_time(t: SystemTime) -> time::OffsetDateTime {
    let secs = match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX),
    };
    time::OffsetDateTime::from_unix_timestamp(secs).expect("a date rcgen can write")
}

/// What `Simulator::start` made of a [`Tls`]: the server's TLS configuration, and the CA's PEM
/// when it generated one.
pub(crate) struct Served {
    pub(crate) acceptor: TlsAcceptor,
    pub(crate) ca_pem: Option<String>,
}

/// The names the generated leaf is for: `localhost`, `127.0.0.1`, `::1`, and `host` unless it is
/// one of them (an unspecified `0.0.0.0` too: the origin printed names it, and a client on this
/// machine that connects to it checks the certificate for it).
fn generated_names(host: IpAddr) -> Vec<String> {
    let mut names = vec!["localhost".to_owned(), "127.0.0.1".into(), "::1".into()];
    let host = host.to_string();
    if !names.contains(&host) {
        names.push(host);
    }
    names
}

/// Builds the server side of `tls` for an origin listening on `host`.
pub(crate) fn prepare(tls: &Tls, host: IpAddr) -> io::Result<Served> {
    let (chain, key, ca_pem) = match tls {
        Tls::Generated => {
            let ca = CertificateAuthority::generate(GENERATED_CA_NAME);
            let names = generated_names(host);
            let names: Vec<&str> = names.iter().map(String::as_str).collect();
            let leaf = ca.issue(&names);
            (
                leaf.cert_chain_pem,
                leaf.key_pem,
                Some(ca.certificate_pem()),
            )
        }
        Tls::Pem { cert_chain, key } => (cert_chain.clone(), key.clone(), None),
    };
    let chain = parse_chain(&chain).map_err(|e| invalid(format!("TLS certificate: {e}")))?;
    let key = parse_key(&key).map_err(|e| invalid(format!("TLS private key: {e}")))?;
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(invalid)?
    .with_no_client_auth()
    .with_single_cert(chain, key)
    .map_err(|e| invalid(format!("TLS certificate and key do not fit together: {e}")))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Served {
        acceptor: TlsAcceptor::from(Arc::new(config)),
        ca_pem,
    })
}

/// The certificates of a PEM chain; why not, when there is none or one does not parse.
pub(crate) fn parse_chain(pem: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    let chain = CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("not a valid PEM certificate chain: {e}"))?;
    if chain.is_empty() {
        return Err("not a PEM certificate chain (no `BEGIN CERTIFICATE` block)".into());
    }
    Ok(chain)
}

/// The private key of a PEM (PKCS#8, PKCS#1 or SEC1); why not, when there is none.
pub(crate) fn parse_key(pem: &str) -> Result<PrivateKeyDer<'static>, String> {
    PrivateKeyDer::from_pem_slice(pem.as_bytes()).map_err(|e| match e {
        rustls::pki_types::pem::Error::NoItemsFound => {
            "not a PEM private key (no `BEGIN ... PRIVATE KEY` block)".to_owned()
        }
        e => format!("not a valid PEM private key: {e}"),
    })
}

fn invalid(e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, e)
}

/// The accept loop of one origin over TLS: each connection on its own task, the handshake
/// bounded by `handshake_timeout` ([`HANDSHAKE_TIMEOUT`]), then HTTP/1.1 or HTTP/2 (whatever the
/// client speaks after ALPN) to `app`. Runs until the runtime stops; no connection's failure
/// ends it.
pub(crate) async fn serve(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    app: Router,
    state: Arc<State>,
    origin: Origin,
    handshake_timeout: Duration,
) {
    loop {
        let tcp = match listener.accept().await {
            Ok((tcp, _peer)) => tcp,
            // Out of file descriptors and the like: wait a little rather than spin.
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = tcp.set_nodelay(true);
        state.count_connection(origin);
        let (acceptor, app, state) = (acceptor.clone(), app.clone(), state.clone());
        tokio::spawn(async move {
            let tls = match tokio::time::timeout(handshake_timeout, acceptor.accept(tcp)).await {
                Ok(Ok(tls)) => tls,
                Ok(Err(_)) | Err(_) => {
                    state.count_handshake_failure();
                    return;
                }
            };
            let service = TowerToHyperService::new(app);
            // A connection that ends badly (a reset, a client gone) ends only itself.
            let _ = auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(tls), service)
                .await;
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_names_add_the_listen_host_once() {
        let names = |h: &str| generated_names(h.parse().unwrap());
        assert_eq!(names("127.0.0.1"), ["localhost", "127.0.0.1", "::1"]);
        assert_eq!(names("::1"), ["localhost", "127.0.0.1", "::1"]);
        assert_eq!(
            names("0.0.0.0"),
            ["localhost", "127.0.0.1", "::1", "0.0.0.0"]
        );
        assert_eq!(
            names("10.1.2.3"),
            ["localhost", "127.0.0.1", "::1", "10.1.2.3"]
        );
    }

    #[test]
    fn pem_mistakes_are_named() {
        let e = parse_chain("hello").unwrap_err();
        assert!(e.contains("no `BEGIN CERTIFICATE`"), "{e}");
        let e = parse_key("hello").unwrap_err();
        assert!(e.contains("no `BEGIN ... PRIVATE KEY`"), "{e}");
        let ca = CertificateAuthority::generate("t");
        let leaf = ca.issue(&["localhost"]);
        assert_eq!(parse_chain(&leaf.cert_chain_pem).unwrap().len(), 1);
        parse_key(&leaf.key_pem).unwrap();
        // A key where the certificate should be is no certificate.
        assert!(parse_chain(&leaf.key_pem).is_err());
    }

    #[test]
    fn a_pair_that_does_not_fit_is_refused() {
        let ca = CertificateAuthority::generate("t");
        let (a, b) = (ca.issue(&["localhost"]), ca.issue(&["localhost"]));
        let mismatched = Tls::Pem {
            cert_chain: a.cert_chain_pem,
            key: b.key_pem,
        };
        let e = prepare(&mismatched, IpAddr::from([127, 0, 0, 1]))
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("do not fit together"), "{e}");
    }

    /// A client that connects and says nothing is closed after the handshake timeout, counted,
    /// and the next connection is still accepted.
    #[test]
    fn a_stalled_handshake_ends_only_its_own_connection() {
        use tokio::io::AsyncReadExt as _;

        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let config = crate::Config::new("t");
            let state = Arc::new(State::new(&config, crate::Catalogue::builtin()).unwrap());
            let served = prepare(&Tls::Generated, IpAddr::from([127, 0, 0, 1])).unwrap();
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let timeout = Duration::from_millis(200);
            tokio::spawn(serve(
                listener,
                served.acceptor,
                Router::new(),
                state.clone(),
                Origin::Api,
                timeout,
            ));
            let started = std::time::Instant::now();
            let mut silent = tokio::net::TcpStream::connect(addr).await.unwrap();
            // Another connection meanwhile: accepted at once.
            let _other = tokio::net::TcpStream::connect(addr).await.unwrap();
            let mut buf = [0u8; 16];
            let n = tokio::time::timeout(Duration::from_secs(5), silent.read(&mut buf))
                .await
                .expect("closed by the server")
                .unwrap_or(0);
            assert_eq!(n, 0, "the server sent bytes to a silent client");
            assert!(started.elapsed() >= timeout, "{:?}", started.elapsed());
            // Counted when the connection ends (the client may see the close a moment earlier).
            for _ in 0..100 {
                if state.stats().tls_handshake_failures > 0 {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            let stats = state.stats();
            assert_eq!(stats.api_connections, 2);
            assert!(stats.tls_handshake_failures >= 1, "{stats:?}");
        });
    }

    #[test]
    fn the_key_stays_out_of_debug() {
        let leaf = CertificateAuthority::generate("t").issue(&["localhost"]);
        let debug = format!("{leaf:?} {:?}", leaf.tls());
        assert!(!debug.contains("PRIVATE KEY"), "{debug}");
        assert!(debug.contains("BEGIN CERTIFICATE"), "{debug}");
    }
}
