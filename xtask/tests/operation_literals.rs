//! No operation id or operation path is spelled out by hand in the workspace's sources: they
//! come from `codeocean_raw::Operation`, generated from the spec.
//!
//! The test reads `openapi/codeocean.yaml` and lexes every `crates/*/src/**/*.rs` and
//! `xtask/src/**/*.rs` (but the generated files) into tokens, so comments and doc comments are
//! not looked at. It fails, naming `file:line`, for a string literal that is
//! - an operation id (`"get_capsule"`), or
//! - an operation's path template with any spelling of its parameters (`{capsule_id}`, `{id}`,
//!   `{}`, `{0}`, `{:?}`), with or without the `/api/v1` prefix or a leading `{base}`
//!   placeholder, and with or without a query (`"/capsules/{}/computations"`,
//!   `"{}/api/v1/computations?x={}"`, `"/api/v1/computations"`).
//!
//! A parameter must be spelled as a placeholder (`{...}`): `"/capsules/abc"` names a capsule, not
//! a route, and a word such as `"capsules"` or a storage path is no operation path. A path of one
//! segment counts only with a prefix (`"/api/v1/computations"`, `"{base}/computations"`): bare,
//! `"/computations"` is also a route of the simulator's admin API (`/__sim/computations`).
//!
//! Tests under `tests/` directories are out of scope on purpose: they state the expected wire
//! paths and ids themselves, as an oracle independent of the generated table.

use std::path::{Path, PathBuf};

use proc_macro2::{Delimiter, TokenStream, TokenTree};

/// A hand-written spelling of an operation, found in a source file.
#[derive(Debug, PartialEq, Eq)]
struct Finding {
    file: String,
    line: usize,
    literal: String,
    operation: String,
}

/// The spec's operations as (id, path template).
fn spec_operations(root: &Path) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(root.join(xtask::SPEC)).unwrap();
    xtask::operations::operations(&text)
        .unwrap()
        .into_iter()
        .map(|op| (op.id, op.path))
        .collect()
}

/// Whether a segment of a literal is a placeholder: `{}`, `{id}`, `{0}`, `{:?}` and the like.
fn is_placeholder(segment: &str) -> bool {
    segment.len() >= 2
        && segment.starts_with('{')
        && segment.ends_with('}')
        && !segment[1..segment.len() - 1].contains(['{', '}', '/'])
}

/// Whether `literal` spells the path `template` (relative to `/api/v1`, `{param}` segments).
fn spells_path(literal: &str, template: &str) -> bool {
    let literal = literal.split('?').next().unwrap_or(literal);
    // An optional leading placeholder for the base URL, then an optional `/api/v1`.
    let (literal, base) = match literal.split_once('/') {
        Some((head, _)) if is_placeholder(head) => (&literal[head.len()..], true),
        _ => (literal, false),
    };
    let (literal, api) = match literal.strip_prefix("/api/v1") {
        Some(rest) => (rest, true),
        None => (literal, false),
    };
    let (Some(literal), Some(template)) = (literal.strip_prefix('/'), template.strip_prefix('/'))
    else {
        return false;
    };
    let got: Vec<&str> = literal.split('/').collect();
    let want: Vec<&str> = template.split('/').collect();
    // A bare one-segment path (`"/computations"`) is as likely another server's route (the
    // simulator's admin API has one): only with a prefix is it the operation's.
    if want.len() == 1 && !base && !api {
        return false;
    }
    got.len() == want.len()
        && got.iter().zip(&want).all(|(g, w)| {
            if w.starts_with('{') {
                is_placeholder(g)
            } else {
                g == w
            }
        })
}

/// The operation a literal spells, if any: its id, or its path.
fn spelled(value: &str, ops: &[(String, String)]) -> Option<String> {
    ops.iter().find_map(|(id, path)| {
        if value == id {
            Some(format!("operation id of {id}"))
        } else if spells_path(value, path) {
            Some(format!("path of {id} ({path})"))
        } else {
            None
        }
    })
}

/// The string literals of `tokens` with their lines, doc attributes left out.
fn string_literals(tokens: TokenStream, out: &mut Vec<(usize, String)>) {
    for tree in tokens {
        match tree {
            TokenTree::Group(group) => {
                let inner = group.stream();
                let is_doc = group.delimiter() == Delimiter::Bracket
                    && matches!(inner.clone().into_iter().next(), Some(TokenTree::Ident(i)) if i == "doc");
                if !is_doc {
                    string_literals(inner, out);
                }
            }
            TokenTree::Literal(literal) => {
                let line = literal.span().start().line;
                if let Ok(syn::Lit::Str(s)) =
                    syn::parse2::<syn::Lit>(TokenTree::Literal(literal).into())
                {
                    out.push((line, s.value()));
                }
            }
            TokenTree::Ident(_) | TokenTree::Punct(_) => {}
        }
    }
}

/// The sources in scope: `crates/*/src/**/*.rs` and `xtask/src/**/*.rs`, generated files aside.
fn sources(root: &Path) -> Vec<PathBuf> {
    let mut dirs = vec![root.join("xtask/src")];
    for entry in std::fs::read_dir(root.join("crates")).unwrap() {
        dirs.push(entry.unwrap().path().join("src"));
    }
    let mut files = Vec::new();
    for dir in dirs {
        xtask::rust_files(&dir, &mut files);
    }
    let generated: Vec<PathBuf> = xtask::OUTPUTS.iter().map(|f| root.join(f)).collect();
    files.retain(|f| !generated.contains(f));
    files.sort();
    files
}

fn findings(root: &Path) -> Vec<Finding> {
    let ops = spec_operations(root);
    let mut found = Vec::new();
    for file in sources(root) {
        let text = std::fs::read_to_string(&file).unwrap();
        let name = file.strip_prefix(root).unwrap().display().to_string();
        let tokens: TokenStream = text
            .parse()
            .unwrap_or_else(|e| panic!("{name} does not lex: {e}"));
        let mut literals = Vec::new();
        string_literals(tokens, &mut literals);
        for (line, value) in literals {
            if let Some(operation) = spelled(&value, &ops) {
                found.push(Finding {
                    file: name.clone(),
                    line,
                    literal: value,
                    operation,
                });
            }
        }
    }
    found
}

#[test]
fn no_operation_is_spelled_out_by_hand() {
    let found = findings(&xtask::workspace_root());
    let list: Vec<String> = found
        .iter()
        .map(|f| format!("{}:{}: {:?} ({})", f.file, f.line, f.literal, f.operation))
        .collect();
    assert!(
        list.is_empty(),
        "{} operation ids or paths written by hand; take them from codeocean_raw::Operation \
         instead:\n{}",
        list.len(),
        list.join("\n")
    );
}

#[test]
fn the_matcher_takes_every_spelling_of_a_path_and_no_lookalike() {
    let ops = spec_operations(&xtask::workspace_root());
    for hit in [
        "get_capsule",
        "list_capsule_computations",
        "/capsules/{capsule_id}/computations",
        "/capsules/{id}/computations",
        "/capsules/{}/computations",
        "/capsules/{0}/computations",
        "/api/v1/capsules/{}/computations",
        "{}/api/v1/capsules/{}/computations",
        "{base}/capsules/{id}",
        "/api/v1/computations",
        "{base}/data_assets",
        "/computations/{}/results/urls?path={}",
        "/capsules/{}/data_assets/",
        "/data_assets/{id}/files/download_url",
        "/capsules/search",
    ] {
        assert!(spelled(hit, &ops).is_some(), "{hit} is not caught");
    }
    for miss in [
        "capsules",
        "computations",
        "search",
        "data_assets",
        "get",
        "GET",
        "/capsules",
        "/computations",
        "/custom_metadata",
        "/capsules/abc",
        "/capsules/abc/computations",
        "/capsules/{}/nothing",
        "/capsules/{}/computations/{}",
        "capsules/{}/computations",
        "/storage/{}/results/a.txt",
        "/api/v2/computations",
        "/capsules/{a}{b}",
        "get_capsule_x",
        "{}",
        "",
        "/",
    ] {
        assert_eq!(spelled(miss, &ops), None, "{miss} is caught");
    }
}

#[test]
fn literals_are_found_with_their_lines_but_not_in_comments() {
    let source = r####"
/// Calls "get_capsule".
fn f() {
    // "get_computation" in a comment
    /* "/computations" in a block comment */
    let a = "get_capsule";
    let b = format!("/capsules/{}/computations", id);
    let c = r#"/api/v1/computations"#;
    let d = 'x';
    let e = "capsules";
}
"####;
    let mut literals = Vec::new();
    string_literals(source.parse().unwrap(), &mut literals);
    let ops = spec_operations(&xtask::workspace_root());
    let hits: Vec<(usize, String)> = literals
        .into_iter()
        .filter(|(_, v)| spelled(v, &ops).is_some())
        .collect();
    assert_eq!(
        hits,
        [
            (6, "get_capsule".to_owned()),
            (7, "/capsules/{}/computations".to_owned()),
            (8, "/api/v1/computations".to_owned()),
        ]
    );
}

#[test]
fn generated_files_are_out_of_scope_and_sources_are_in() {
    let root = xtask::workspace_root();
    let files = sources(&root);
    for generated in xtask::OUTPUTS {
        assert!(!files.contains(&root.join(generated)), "{generated}");
    }
    assert!(files.contains(&root.join("crates/codeocean-sim/src/routes.rs")));
    assert!(files.contains(&root.join("xtask/src/lib.rs")));
    assert!(
        !files
            .iter()
            .any(|f| f.components().any(|c| c.as_os_str() == "tests"))
    );
}
