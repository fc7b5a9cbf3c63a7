//! The state files of `batch` and `capture`: JSON Lines journals, one record a line, each
//! appended and synced to disk before the command goes on.
//!
//! A crash (or a full disk) can leave the last record cut short, without its line end. Reading
//! skips blank lines and warns about unreadable ones, and opening writes the missing `\n`, so
//! that the next record starts on a line of its own and is readable when the command resumes
//! again: a record appended to the fragment's line would be lost with it, and what it recorded
//! (a run launched) done a second time.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use anyhow::{Context as _, bail};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// A state file open for appending, after its records were read.
///
/// Appends go through a lock, so concurrent tasks can share a `&Journal`; each record is one
/// write of its line and `\n`, then `sync_data`.
#[derive(Debug)]
pub(crate) struct Journal {
    path: PathBuf,
    file: Mutex<std::fs::File>,
}

impl Journal {
    /// Reads the records of the state file at `path` (none when it does not exist), calls
    /// `each` with every readable one in order, repairs a record cut short at the end and opens
    /// the file (created if needed) for appending.
    ///
    /// Blank lines are skipped; an unreadable line (a record whose write never completed) is
    /// ignored with a warning naming the file and the line.
    pub(crate) fn open<T: DeserializeOwned>(
        path: &Path,
        mut each: impl FnMut(T),
    ) -> anyhow::Result<Self> {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => bail!("reading the state file {}: {e}", path.display()),
        };
        for (i, line) in bytes.split(|b| *b == b'\n').enumerate() {
            if line.trim_ascii().is_empty() {
                continue;
            }
            match serde_json::from_slice::<T>(line) {
                Ok(r) => each(r),
                // A record cut short by a crash: its write never completed.
                Err(e) => tracing::warn!(
                    "{} line {}: ignoring an unreadable record: {e}",
                    path.display(),
                    i + 1
                ),
            }
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| anyhow::anyhow!("opening the state file {}: {e}", path.display()))?;
        let journal = Self {
            path: path.to_owned(),
            file: Mutex::new(file),
        };
        // A record cut short has no line end: the next one starts on a line of its own.
        if bytes.last().is_some_and(|b| *b != b'\n') {
            journal.write(b"\n")?;
        }
        Ok(journal)
    }

    /// The state file's path.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Appends a record as one line and waits until it is on disk.
    pub(crate) fn append<T: Serialize>(&self, record: &T) -> anyhow::Result<()> {
        let mut text = serde_json::to_string(record)
            .with_context(|| format!("writing the state file {}", self.path.display()))?;
        text.push('\n');
        self.write(text.as_bytes())
    }

    /// Writes these bytes at the end in one call and waits until they are on disk.
    fn write(&self, bytes: &[u8]) -> anyhow::Result<()> {
        let mut file = self.file.lock().unwrap_or_else(PoisonError::into_inner);
        file.write_all(bytes)
            .and_then(|()| file.sync_data())
            .map_err(|e| anyhow::anyhow!("writing the state file {}: {e}", self.path.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct R {
        n: u32,
        s: String,
    }

    fn r(n: u32) -> R {
        R {
            n,
            s: format!("record {n}"),
        }
    }

    fn read(path: &Path) -> Vec<R> {
        let mut out = Vec::new();
        Journal::open(path, |x: R| out.push(x)).unwrap();
        out
    }

    #[test]
    fn records_round_trip_and_a_missing_file_is_created_empty() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state");
        let j = Journal::open(&path, |_: R| panic!("no records yet")).unwrap();
        assert!(path.exists());
        assert_eq!(j.path(), path);
        j.append(&r(1)).unwrap();
        j.append(&r(2)).unwrap();
        drop(j);
        assert_eq!(read(&path), [r(1), r(2)]);
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 2, "{text:?}");
        assert!(text.ends_with('\n'));
    }

    #[test]
    fn blank_lines_are_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state");
        let one = serde_json::to_string(&r(1)).unwrap();
        let two = serde_json::to_string(&r(2)).unwrap();
        std::fs::write(&path, format!("\n{one}\n  \n\r\n{two}\r\n\n")).unwrap();
        assert_eq!(read(&path), [r(1), r(2)]);
        // Nothing to repair: the file ended with a line end.
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            format!("\n{one}\n  \n\r\n{two}\r\n\n")
        );
    }

    #[test]
    fn a_fragment_is_ignored_and_the_next_record_gets_a_line_of_its_own() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state");
        let one = serde_json::to_string(&r(1)).unwrap();
        std::fs::write(&path, format!("{one}\n{{\"n\":2,\"s\":\"rec")).unwrap();
        let mut seen = Vec::new();
        let j = Journal::open(&path, |x: R| seen.push(x)).unwrap();
        assert_eq!(seen, [r(1)]);
        j.append(&r(3)).unwrap();
        drop(j);
        // The record after the fragment is readable on the next open.
        assert_eq!(read(&path), [r(1), r(3)]);
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            text.lines().nth(2),
            Some(&*serde_json::to_string(&r(3)).unwrap())
        );
    }

    #[test]
    fn an_unreadable_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        // A folder where the file should be.
        let e = Journal::open(dir.path(), |_: R| {}).unwrap_err();
        assert!(
            e.to_string().contains(&dir.path().display().to_string()),
            "{e}"
        );
        assert!(e.to_string().contains("the state file"), "{e}");
    }
}
