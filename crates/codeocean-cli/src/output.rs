//! What goes to stdout: aligned tables for people, JSON for programs.
//!
//! Every byte the command writes to stdout goes through [`write`] (`clippy::print_stdout` is
//! denied elsewhere): when the reader has gone (`codeocean … | head -1`), the write fails with
//! [`StdoutClosed`], the command stops where it is, and `main` exits 0 without a message, as
//! `ls | head` does.

use std::io::{IsTerminal as _, Write as _};
use std::time::{Duration, UNIX_EPOCH};

use codeocean::Timestamp;
use serde::Serialize;
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

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

/// Prints one JSON document (pretty) on stdout, or what `--jq` makes of it.
pub(crate) fn json<T: Serialize + ?Sized>(value: &T) -> anyhow::Result<()> {
    if let Some(filtered) = jq(value) {
        return write(&filtered?);
    }
    let mut text = serde_json::to_vec_pretty(value)?;
    text.push(b'\n');
    write(&text)
}

/// Prints one JSON Lines record on stdout and flushes it (streaming output), or what `--jq`
/// makes of it.
pub(crate) fn json_line<T: Serialize + ?Sized>(value: &T) -> anyhow::Result<()> {
    if let Some(filtered) = jq(value) {
        return write(&filtered?);
    }
    let mut text = serde_json::to_vec(value)?;
    text.push(b'\n');
    write(&text)
}

/// `value` through the `--jq` filter, when there is one.
fn jq<T: Serialize + ?Sized>(value: &T) -> Option<anyhow::Result<Vec<u8>>> {
    if !crate::jq::active() {
        return None;
    }
    match serde_json::to_value(value) {
        Ok(v) => crate::jq::apply(&v),
        Err(e) => Some(Err(e.into())),
    }
}

/// Headers of free-text columns, which [`table`] may shorten to fit the width (ids, states,
/// sizes and times are never shortened).
const FREE_TEXT: &[&str] = &[
    "NAME",
    "PATH",
    "DESCRIPTION",
    "OUTCOME",
    "VALUES",
    "ALLOWED",
    "DEFAULT",
    "CATEGORY",
    "MOUNT",
];

/// How wide tables may be: `None` for no limit. Set once by `main` from `--wide` and the
/// terminal (see [`table_width`]).
static WIDTH: std::sync::OnceLock<Option<usize>> = std::sync::OnceLock::new();

/// Sets the width tables are fitted to (the first call wins).
pub(crate) fn set_table_width(width: Option<usize>) {
    let _ = WIDTH.set(width);
}

/// The width tables fit: none with `--wide`; the terminal's when stdout is one (`COLUMNS`, then
/// 80, when its size cannot be read); `COLUMNS` when stdout is not a terminal and it is set
/// (a pipe or a file gets whole cells otherwise).
pub(crate) fn table_width(wide: bool, columns: Option<&str>) -> Option<usize> {
    if wide {
        return None;
    }
    let columns = columns
        .and_then(|c| c.trim().parse::<usize>().ok())
        .filter(|&c| c > 0);
    if std::io::stdout().is_terminal() {
        let size = terminal_size::terminal_size_of(std::io::stdout()).map(|(w, _)| w.0 as usize);
        Some(size.filter(|&w| w > 0).or(columns).unwrap_or(80))
    } else {
        columns
    }
}

/// `s` as a cell may show it: control characters (a newline, a tab, an escape sequence that
/// would retitle or recolour the terminal) and the bidirectional overrides that reorder what
/// follows are written as escapes (`\n`, `\u{1b}`), so that a name from the server stays on
/// its row and cannot drive the terminal.
pub(crate) fn printable(s: &str) -> std::borrow::Cow<'_, str> {
    let shown = |c: char| {
        !(c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'))
    };
    if s.chars().all(shown) {
        return s.into();
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if shown(c) {
            out.push(c);
        } else {
            out.extend(c.escape_default());
        }
    }
    out.into()
}

/// Display width of a cell (wide characters count two columns).
fn width(s: &str) -> usize {
    UnicodeWidthStr::width(s)
}

/// `s` cut to at most `max` columns, with `…` as its last column when cut.
pub(crate) fn truncate(s: &str, max: usize) -> String {
    if width(s) <= max {
        return s.to_owned();
    }
    if max == 0 {
        return String::new();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in s.chars() {
        let w = UnicodeWidthChar::width(c).unwrap_or(0);
        if used + w > max - 1 {
            break;
        }
        out.push(c);
        used += w;
    }
    out.push('…');
    out
}

/// A table with a header row, columns aligned by padding (the last column is not padded),
/// fitted to the table width: the free-text columns ([`FREE_TEXT`]) are shortened, the
/// widest first, with an ellipsis.
pub(crate) fn table<S: AsRef<str>>(header: &[&str], rows: &[Vec<S>]) -> String {
    let free: Vec<usize> = (0..header.len())
        .filter(|&i| FREE_TEXT.contains(&header[i]))
        .collect();
    table_fitted(header, rows, &free, WIDTH.get().copied().flatten())
}

/// [`table`] with the shortenable columns (`free`, by index) and the width given.
pub(crate) fn table_fitted<S: AsRef<str>>(
    header: &[&str],
    rows: &[Vec<S>],
    free: &[usize],
    max: Option<usize>,
) -> String {
    let rows: Vec<Vec<std::borrow::Cow<'_, str>>> = rows
        .iter()
        .map(|row| row.iter().map(|c| printable(c.as_ref())).collect())
        .collect();
    let mut widths: Vec<usize> = header.iter().map(|h| width(h)).collect();
    for row in &rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(width(cell.as_ref()));
        }
    }
    if let Some(max) = max {
        let total = |w: &[usize]| w.iter().sum::<usize>() + 2 * w.len().saturating_sub(1);
        // A free column keeps at least its header, and at least a few characters.
        let floor = |i: usize| width(header[i]).max(6).min(widths[i]);
        let floors: Vec<usize> = (0..widths.len()).map(floor).collect();
        while total(&widths) > max {
            let Some(&widest) = free
                .iter()
                .filter(|&&i| widths[i] > floors[i])
                .max_by_key(|&&i| (widths[i], usize::MAX - i))
            else {
                break;
            };
            widths[widest] -= 1;
        }
    }
    let mut out = String::new();
    let mut line = |cells: &mut dyn Iterator<Item = &str>| {
        let mut text = String::new();
        for (i, cell) in cells.enumerate() {
            if i > 0 {
                text.push_str("  ");
            }
            let cell = truncate(cell, widths[i]);
            let pad = widths[i].saturating_sub(width(&cell));
            text.push_str(&cell);
            text.extend(std::iter::repeat_n(' ', pad));
        }
        out.push_str(text.trim_end());
        out.push('\n');
    };
    line(&mut header.iter().copied());
    for row in &rows {
        line(&mut row.iter().map(|c| c.as_ref()));
    }
    out
}

/// A two-column "field  value" listing; rows with an empty value are left out.
pub(crate) fn fields(rows: &[(&str, String)]) -> String {
    let key_width = rows.iter().map(|(k, _)| width(k)).max().unwrap_or(0);
    rows.iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| {
            let pad = " ".repeat(key_width - width(k));
            format!("{k}{pad}  {}\n", printable(v))
        })
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

    #[test]
    fn tables_fit_the_width_by_shortening_free_text_the_widest_first() {
        let rows = [
            vec![
                "c0ffee00-0001",
                "running",
                "a very long computation name indeed",
                "short note",
            ],
            vec!["c0ffee00-0002", "done", "x", "a somewhat long outcome text"],
        ];
        let header = ["ID", "STATE", "NAME", "OUTCOME"];
        let full = table_fitted(&header, &rows, &[2, 3], None);
        assert_eq!(full.lines().map(width).max(), Some(89));
        let fit = table_fitted(&header, &rows, &[2, 3], Some(60));
        assert_eq!(
            fit,
            "ID             STATE    NAME               OUTCOME\n\
             c0ffee00-0001  running  a very long comp…  short note\n\
             c0ffee00-0002  done     x                  a somewhat long …\n"
        );
        assert!(fit.lines().all(|l| width(l) <= 60), "{fit}");
        // Ids are never cut, even when the table cannot fit.
        let narrow = table_fitted(&header, &rows, &[2, 3], Some(20));
        assert!(narrow.contains("c0ffee00-0001  running"), "{narrow}");
        // Wide characters count two columns.
        assert_eq!(truncate("日本語のテキスト", 7), "日本語…");
        assert_eq!(width(&truncate("日本語のテキスト", 8)), 7);
        assert_eq!(truncate("abc", 3), "abc");
        let cjk = table_fitted(&["NAME", "SIZE"], &[vec!["日本", "1"]], &[0], None);
        assert_eq!(cjk, "NAME  SIZE\n日本  1\n");
    }

    #[test]
    fn names_from_the_server_stay_on_their_row_and_cannot_drive_the_terminal() {
        let evil = "evil\nname\u{1b}]0;pwned\u{7}\tx\u{202e}cba";
        let t = table_fitted(
            &["ID", "NAME"],
            &[vec!["c1", evil], vec!["c2", "ok"]],
            &[1],
            None,
        );
        assert_eq!(
            t,
            "ID  NAME\n\
             c1  evil\\nname\\u{1b}]0;pwned\\u{7}\\tx\\u{202e}cba\n\
             c2  ok\n"
        );
        // Fitted by what is shown.
        let fit = table_fitted(
            &["ID", "NAME"],
            &[vec!["c1", "a\nbcdefghij"]],
            &[1],
            Some(10),
        );
        assert_eq!(fit, "ID  NAME\nc1  a\\nbc…\n");
        assert_eq!(
            fields(&[("name", "two\nlines\u{1b}[31m".into())]),
            "name  two\\nlines\\u{1b}[31m\n"
        );
        assert_eq!(printable("日本 ok"), "日本 ok");
    }

    #[test]
    fn no_terminal_means_no_limit_unless_columns_is_set() {
        assert_eq!(table_width(true, Some("80")), None);
        // Under `cargo test` stdout is captured, not a terminal.
        if !std::io::stdout().is_terminal() {
            assert_eq!(table_width(false, None), None);
            assert_eq!(table_width(false, Some("72")), Some(72));
            assert_eq!(table_width(false, Some("junk")), None);
        }
    }
}
