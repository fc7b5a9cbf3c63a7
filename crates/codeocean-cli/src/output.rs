//! What goes to stdout: aligned tables for people, JSON for programs.
//!
//! Every byte the command writes to stdout goes through [`write`] (`clippy::print_stdout` is
//! denied elsewhere): when the reader has gone (`codeocean … | head -1`), the write fails with
//! [`StdoutClosed`], the command stops where it is, and `main` exits 0 without a message, as
//! `ls | head` does.

use std::io::Write as _;
use std::time::{Duration, UNIX_EPOCH};

use codeocean::Timestamp;
use serde::Serialize;

/// Stdout was closed by its reader: the command ends quietly, with exit code 0.
#[derive(Debug)]
pub(crate) struct StdoutClosed;

impl std::fmt::Display for StdoutClosed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("stdout closed")
    }
}

impl std::error::Error for StdoutClosed {}

/// Writes these bytes to stdout and flushes them: the one place stdout is written.
pub(crate) fn write(bytes: &[u8]) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Err(StdoutClosed.into()),
        Err(e) => Err(anyhow::Error::new(e).context("writing to stdout")),
    }
}

/// Prints one JSON document (pretty) on stdout.
pub(crate) fn json<T: Serialize + ?Sized>(value: &T) -> anyhow::Result<()> {
    let mut text = serde_json::to_vec_pretty(value)?;
    text.push(b'\n');
    write(&text)
}

/// Prints one JSON Lines record on stdout and flushes it (streaming output).
pub(crate) fn json_line<T: Serialize + ?Sized>(value: &T) -> anyhow::Result<()> {
    let mut text = serde_json::to_vec(value)?;
    text.push(b'\n');
    write(&text)
}

/// A table with a header row, columns aligned by padding (the last column is not padded).
pub(crate) fn table<S: AsRef<str>>(header: &[&str], rows: &[Vec<S>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.as_ref().chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: &mut dyn Iterator<Item = &str>| {
        let mut text = String::new();
        for (i, cell) in cells.enumerate() {
            if i > 0 {
                text.push_str("  ");
            }
            text.push_str(cell);
            let pad = widths[i].saturating_sub(cell.chars().count());
            text.extend(std::iter::repeat_n(' ', pad));
        }
        out.push_str(text.trim_end());
        out.push('\n');
    };
    line(&mut header.iter().copied());
    for row in rows {
        line(&mut row.iter().map(|c| c.as_ref()));
    }
    out
}

/// A two-column "field  value" listing; rows with an empty value are left out.
pub(crate) fn fields(rows: &[(&str, String)]) -> String {
    let width = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    rows.iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k:width$}  {v}\n"))
        .collect()
}

/// Prints human output on stdout.
pub(crate) fn print(text: &str) -> anyhow::Result<()> {
    write(text.as_bytes())
}

/// A timestamp as UTC RFC 3339 (`2026-05-01T12:00:00Z`).
pub(crate) fn time(t: Option<&Timestamp>) -> String {
    let Some(t) = t else { return String::new() };
    let secs = t.as_secs();
    if secs < 0 {
        return secs.to_string();
    }
    humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_secs(secs as u64)).to_string()
}

/// A displayable optional value, empty when absent.
pub(crate) fn opt<T: std::fmt::Display>(v: Option<T>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

/// A byte count for people (`1.5 MiB`).
pub(crate) fn bytes(n: u64) -> String {
    indicatif::HumanBytes(n).to_string()
}

/// `1 file`, `2 files`: a count and the noun it takes.
pub(crate) fn count(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// A duration for people, to the tenth of a second.
pub(crate) fn elapsed(d: Duration) -> String {
    format!("{:.1}s", d.as_secs_f64())
}

/// A transfer rate for people.
pub(crate) fn rate(bytes: u64, d: Duration) -> String {
    let secs = d.as_secs_f64().max(1e-3);
    format!("{}/s", indicatif::HumanBytes((bytes as f64 / secs) as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align() {
        let t = table(
            &["name", "size", "type"],
            &[vec!["a", "1", "file"], vec!["longer", "12345", ""]],
        );
        assert_eq!(
            t,
            "name    size   type\na       1      file\nlonger  12345\n"
        );
        assert_eq!(
            fields(&[("id", "x".into()), ("nothing", String::new())]),
            "id       x\n"
        );
        assert_eq!(time(Some(&Timestamp::from_secs(0))), "1970-01-01T00:00:00Z");
    }
}
