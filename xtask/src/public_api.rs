//! `cargo xtask public-api [--check]`: the public API of each published library, one item per
//! line, in a committed listing under `api/`, so that a change to it shows in review and is
//! deliberate.
//!
//! The listing comes from rustdoc's JSON output (`--output-format json`, unstable: the stable
//! toolchain gives it under `RUSTC_BOOTSTRAP=1`, set for rustdoc alone), read by the `public-api` crate: every public
//! item reachable from the crate root with its full path and signature, trait impls included,
//! blanket impls (`impl<T> From<T> for T`, …) left out as noise the compiler gives every type.
//! `--check` writes nothing and fails with a diff when a committed listing differs.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::Regen;

/// Each published library (its package name) and its listing, relative to the workspace root.
pub const LISTINGS: [(&str, &str); 3] = [
    ("codeocean-raw", "api/codeocean-raw.txt"),
    ("codeocean", "api/codeocean.txt"),
    ("codeocean-sim", "api/codeocean-sim.txt"),
];

/// The rustdoc JSON format the pinned `public-api` (0.52.0, rustdoc-types 0.57) reads. A
/// toolchain that writes another one is refused with a message saying what to update.
pub const RUSTDOC_FORMAT: u32 = 57;

/// The first lines of a listing.
const HEADER: &str = "\
# The public API of this crate, written by `cargo xtask public-api`: one item per line.
# Do not edit by hand; `cargo xtask public-api --check` (run by CI) fails when it is stale.
";

/// Writes (or, with `check`, compares) the listing of every crate of [`LISTINGS`]. Returns each
/// listing (relative to the workspace root) with what was found.
pub fn run(root: &Path, check: bool) -> Result<Vec<(&'static str, Regen)>> {
    let mut found = Vec::new();
    for (package, file) in LISTINGS {
        let json = rustdoc_json(root, package)?;
        let new = listing(&json).with_context(|| format!("reading {}", json.display()))?;
        let outcome = crate::refresh(root, file, &new, check, |old| diff(file, old, &new, 400))?;
        found.push((file, outcome));
    }
    Ok(found)
}

/// The listing of the crate whose rustdoc JSON is at `json`: the header, then one public item
/// per line, sorted.
pub fn listing(json: &Path) -> Result<String> {
    let text = std::fs::read_to_string(json)?;
    let format = format_version(&text).context("rustdoc JSON without a format_version")?;
    if format != RUSTDOC_FORMAT {
        bail!(
            "rustdoc wrote JSON format {format}, but the pinned public-api reads format \
             {RUSTDOC_FORMAT}: pin the public-api release that reads it in xtask/Cargo.toml \
             (and update RUSTDOC_FORMAT)"
        );
    }
    let api = public_api::Builder::from_rustdoc_json(json)
        .omit_blanket_impls(true)
        .build()?;
    let mut text = String::from(HEADER);
    for item in api.items() {
        text.push_str(&item.to_string());
        text.push('\n');
    }
    Ok(text)
}

/// The `format_version` of a rustdoc JSON document (its last top-level field), without
/// parsing the whole document.
fn format_version(json: &str) -> Option<u32> {
    let key = "\"format_version\":";
    let at = json.rfind(key)? + key.len();
    let digits: String = json[at..]
        .trim_start()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// Set for a run of this binary as cargo's `RUSTDOC`: the rustdoc it stands for.
pub const WRAPPED_RUSTDOC: &str = "XTASK_WRAPPED_RUSTDOC";

/// Runs rustdoc on `package`'s library with JSON output, into the workspace's target folder,
/// and returns the JSON file.
///
/// rustdoc's JSON output is unstable: `RUSTC_BOOTSTRAP=1` lets the stable toolchain write it.
/// Set for the whole of cargo, that variable would change the fingerprint of every dependency's
/// metadata, and the next ordinary build or `cargo doc` would check them all again; so it is
/// set for rustdoc alone, through this binary as cargo's `RUSTDOC` ([`wrapped_rustdoc`]), and
/// the dependencies' metadata of an earlier `cargo check`, clippy or `cargo doc` is reused.
fn rustdoc_json(root: &Path, package: &str) -> Result<PathBuf> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let rustdoc = std::env::var_os("RUSTDOC").unwrap_or_else(|| "rustdoc".into());
    let this = std::env::current_exe().context("finding the xtask binary")?;
    let status = Command::new(&cargo)
        .current_dir(root)
        .env("RUSTDOC", this)
        .env(WRAPPED_RUSTDOC, rustdoc)
        .args(["rustdoc", "--quiet", "--locked", "--lib", "-p", package])
        .args(["--", "-Z", "unstable-options", "--output-format", "json"])
        .status()
        .with_context(|| format!("running {}", Path::new(&cargo).display()))?;
    if !status.success() {
        bail!("cargo rustdoc -p {package} (JSON output) failed: {status}");
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|t| if t.is_absolute() { t } else { root.join(t) })
        .unwrap_or_else(|| root.join("target"));
    let json = target
        .join("doc")
        .join(format!("{}.json", package.replace('-', "_")));
    if !json.is_file() {
        bail!("rustdoc wrote no {}", json.display());
    }
    Ok(json)
}

/// When this binary runs as cargo's `RUSTDOC` (the environment names the real one in
/// [`WRAPPED_RUSTDOC`]), runs that rustdoc with `RUSTC_BOOTSTRAP=1` and the same arguments and
/// returns its exit code; `None` otherwise.
pub fn wrapped_rustdoc() -> Option<i32> {
    let rustdoc = std::env::var_os(WRAPPED_RUSTDOC)?;
    let status = Command::new(&rustdoc)
        .args(std::env::args_os().skip(1))
        .env_remove(WRAPPED_RUSTDOC)
        .env("RUSTC_BOOTSTRAP", "1")
        .status();
    Some(match status {
        Ok(status) => status.code().unwrap_or(1),
        Err(e) => {
            eprintln!("error: running {}: {e}", Path::new(&rustdoc).display());
            1
        }
    })
}

/// A unified diff of the listing `file` from `old` (committed) to `new` (the code's), cut after
/// `max_lines` lines.
fn diff(file: &str, old: &str, new: &str, max_lines: usize) -> String {
    crate::labelled_diff(file, "from the code", 1, old, new, max_lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_format_version_is_the_documents_last_one() {
        let json = r#"{"index":{"1":{"docs":"\"format_version\": 3"}},"format_version": 57}"#;
        assert_eq!(format_version(json), Some(57));
        assert_eq!(format_version(r#"{"index":{}}"#), None);
    }

    #[test]
    fn rustdoc_json_of_another_format_is_refused_with_what_to_update() {
        let path = std::env::temp_dir().join(format!("xtask-format-{}.json", std::process::id()));
        std::fs::write(&path, r#"{"root":0,"index":{},"format_version":59}"#).unwrap();
        let err = listing(&path).unwrap_err().to_string();
        std::fs::remove_file(&path).unwrap();
        assert!(err.contains("format 59"), "{err}");
        assert!(err.contains("xtask/Cargo.toml"), "{err}");
    }

    #[test]
    fn a_stale_listing_shows_as_a_diff() {
        let d = diff(
            "api/x.txt",
            "pub fn x::a()\n",
            "pub fn x::a()\npub fn x::b()\n",
            400,
        );
        assert!(d.contains("+pub fn x::b()"), "{d}");
        assert!(d.contains("api/x.txt (committed)"), "{d}");
    }
}
