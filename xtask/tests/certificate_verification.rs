//! Certificate verification is never off, and extra roots add to the platform's store: no
//! source under `crates/*/src` calls what would turn verification off, replace the platform's
//! trust store, or hand `reqwest` a TLS configuration made elsewhere.
//!
//! The test lexes every `crates/*/src/**/*.rs` into tokens (so comments and doc comments, which
//! may well name these calls to say they are not made, are not looked at) and fails, naming
//! `file:line`, for any identifier of [`FORBIDDEN`]. Tests under `tests/` are out of scope: a
//! test may trust only its own CA (`tls_certs_only`) to prove that the server is the one it
//! started. Anyone who needs one of these in a library on purpose must change this list, in
//! review: a switch that turns verification off must have "insecure" in its name and be off by
//! default (issue #23).

use proc_macro2::{TokenStream, TokenTree};

/// The identifiers refused, each with why.
const FORBIDDEN: &[(&str, &str)] = &[
    (
        "danger_accept_invalid_certs",
        "turns certificate verification off",
    ),
    (
        "tls_danger_accept_invalid_certs",
        "turns certificate verification off",
    ),
    (
        "danger_accept_invalid_hostnames",
        "turns host name verification off",
    ),
    (
        "tls_danger_accept_invalid_hostnames",
        "turns host name verification off",
    ),
    (
        "tls_certs_only",
        "replaces the platform's trust store instead of adding to it (use tls_certs_merge)",
    ),
    (
        "tls_built_in_root_certs",
        "drops or changes the platform's trust store",
    ),
    (
        "tls_backend_preconfigured",
        "takes a TLS configuration whose verifier this crate does not choose",
    ),
    (
        "use_preconfigured_tls",
        "takes a TLS configuration whose verifier this crate does not choose",
    ),
    (
        "dangerous",
        "rustls's way to replace the certificate verifier",
    ),
    ("ServerCertVerifier", "a certificate verifier of one's own"),
];

/// A forbidden identifier found in a source file.
#[derive(Debug, PartialEq, Eq)]
struct Finding {
    file: String,
    line: usize,
    ident: String,
}

/// Every identifier of `tokens` (nested groups included) with its line.
fn identifiers(tokens: TokenStream, out: &mut Vec<(usize, String)>) {
    for tree in tokens {
        match tree {
            TokenTree::Ident(ident) => out.push((ident.span().start().line, ident.to_string())),
            TokenTree::Group(group) => identifiers(group.stream(), out),
            TokenTree::Punct(_) | TokenTree::Literal(_) => {}
        }
    }
}

/// The forbidden identifiers of one file's text.
fn findings_in(file: &str, text: &str) -> Vec<Finding> {
    let tokens: TokenStream = text
        .parse()
        .unwrap_or_else(|e| panic!("{file} does not lex: {e:?}"));
    let mut idents = Vec::new();
    identifiers(tokens, &mut idents);
    idents
        .into_iter()
        .filter(|(_, ident)| FORBIDDEN.iter().any(|(name, _)| name == ident))
        .map(|(line, ident)| Finding {
            file: file.to_owned(),
            line,
            ident,
        })
        .collect()
}

#[test]
fn no_library_turns_certificate_verification_off_or_replaces_the_trust_store() {
    let root = xtask::workspace_root();
    let mut files = Vec::new();
    for entry in std::fs::read_dir(root.join("crates")).unwrap() {
        xtask::rust_files(&entry.unwrap().path().join("src"), &mut files);
    }
    assert!(
        files.iter().any(|f| f.ends_with("codeocean/src/client.rs")),
        "the scan missed the client: {files:?}"
    );
    let mut found = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        let name = file
            .strip_prefix(&root)
            .unwrap_or(file)
            .display()
            .to_string();
        found.extend(findings_in(&name, &text));
    }
    let report: Vec<String> = found
        .iter()
        .map(|f| {
            let why = FORBIDDEN
                .iter()
                .find(|(name, _)| *name == f.ident)
                .map_or("", |(_, why)| why);
            format!("{}:{}: `{}` {why}", f.file, f.line, f.ident)
        })
        .collect();
    assert!(
        report.is_empty(),
        "certificate verification is never off and extra roots add to the platform's store \
         (ARCHITECTURE.md, SECURITY.md):\n{}",
        report.join("\n")
    );
}

#[test]
fn calls_are_found_with_their_lines_but_not_in_comments_or_strings() {
    let text = "\
//! Never `danger_accept_invalid_certs`.
/// Not tls_certs_only either.
fn f(b: reqwest::ClientBuilder) -> reqwest::ClientBuilder {
    let _ = \"danger_accept_invalid_hostnames\";
    b.tls_certs_merge(Vec::new())
        .danger_accept_invalid_certs(true)
}
fn g(c: rustls::ClientConfig) {
    let _ = c.dangerous();
}
";
    let found = findings_in("x.rs", text);
    let at: Vec<(usize, &str)> = found.iter().map(|f| (f.line, f.ident.as_str())).collect();
    assert_eq!(at, [(6, "danger_accept_invalid_certs"), (9, "dangerous")]);
}
