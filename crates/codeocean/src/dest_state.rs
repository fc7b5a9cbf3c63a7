//! The state a download keeps in its destination: `DEST/.codeocean-download/`.
//!
//! - `lock`: held (an exclusive advisory lock, `flock` on Unix) for the whole job, so two jobs
//!   into one folder run one after the other; the second waits and then finds the first's files.
//! - `manifest.jsonl`: an append-only journal, one JSON object a line. A `done` line records a
//!   file completed from a source: the source (kind and id), the path, the listed size, the
//!   storage validator (`ETag`, else `Last-Modified`) and the local file's length, modification
//!   time and inode at completion. A `start` line records a part file started from a source with
//!   the validator of the response it was started from. A file at its final name is skipped only
//!   when the last `done` line for its path is of this same source and the file on disk still has
//!   that length, modification time and inode; anything else is fetched again and replaced.
//! - `parts/`: part files, named by a hash of (source, path, listed size): short whatever the
//!   file name (a legal name stays legal), never at a final name, and a part file of another
//!   source or another size of the object is never resumed (it is deleted when a job starts).
//!
//! The journal is read once per job, after the lock is taken, into a map of this source's
//! completed paths (other sources' lines are passed over), and appended to with one `write` per
//! line; nothing reads the bytes of a file a second time. When superseded lines make up most of
//! it, a job rewrites it with only the current ones (written beside it and renamed over it).

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{BufRead as _, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use crate::error::{Error, ErrorKind, Result};

/// The name of the state folder inside a destination. A server path whose first segment is this
/// name (in any case) is refused as unsafe.
pub(crate) const STATE_DIR: &str = ".codeocean-download";

/// Whether a segment of a server path would reach the state folder on some filesystem:
/// compared without case (`.CodeOcean-Download` is the same folder on a case-insensitive
/// one), without the code points HFS+ ignores in names (zero-width joiners, direction marks,
/// byte-order mark: `.codeocean\u{200c}-download` is the same folder there), and without the
/// trailing dots and spaces Windows drops (`.codeocean-download.`). The name is ASCII, so no
/// Unicode normalization or case folding can reach it otherwise.
pub(crate) fn reaches_state(segment: &str) -> bool {
    let hfs_ignored = |c: char| {
        matches!(
            c,
            '\u{200c}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{206a}'..='\u{206f}' | '\u{feff}'
        )
    };
    let seen: String = segment.chars().filter(|&c| !hfs_ignored(c)).collect();
    seen.trim_end_matches(['.', ' '])
        .eq_ignore_ascii_case(STATE_DIR)
}

/// What the journal says about one completed file of this job's source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Done {
    size: u64,
    len: u64,
    mtime_ns: u64,
    ino: u64,
}

/// The identity of a file on disk, compared with a `done` line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stamp {
    len: u64,
    mtime_ns: u64,
    ino: u64,
}

impl Stamp {
    pub(crate) fn of(m: &std::fs::Metadata) -> Self {
        let mtime_ns = m
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos() as u64);
        #[cfg(unix)]
        let ino = std::os::unix::fs::MetadataExt::ino(m);
        #[cfg(not(unix))]
        let ino = 0;
        Self {
            len: m.len(),
            mtime_ns,
            ino,
        }
    }
}

/// A destination's state, for one job: the lock held, this source's completed files, and the
/// journal open for appending.
pub(crate) struct DestState {
    /// `DEST/.codeocean-download`.
    dir: PathBuf,
    /// `DEST/.codeocean-download/parts`.
    parts: PathBuf,
    /// This job's source, as the journal spells it (`results/ID`, `data_asset/ID`).
    source: String,
    /// The lock, held as long as the job runs (released when the file is closed).
    _lock: File,
    /// This source's completed files by path.
    done: HashMap<String, Done>,
    /// Validators of this source's part files, by part name (`None`: started from a response
    /// without one).
    started: HashMap<String, Option<String>>,
    journal: Mutex<File>,
}

impl std::fmt::Debug for DestState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DestState")
            .field("dir", &self.dir)
            .field("source", &self.source)
            .field("done", &self.done.len())
            .finish_non_exhaustive()
    }
}

/// Creates `dir` as a real folder (not a symbolic link), or checks that it is one.
fn real_dir(dir: &Path) -> Result<()> {
    let refuse = || {
        Error::new(
            ErrorKind::UnsafePath,
            format!("preparing {}", dir.display()),
            "refused: it is not a folder (or is a symbolic link)",
        )
    };
    match std::fs::symlink_metadata(dir) {
        Ok(m) if m.is_dir() && !m.file_type().is_symlink() => Ok(()),
        Ok(_) => Err(refuse()),
        Err(_) => match std::fs::create_dir(dir) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let m = std::fs::symlink_metadata(dir)
                    .map_err(|e| Error::io(format!("preparing {}", dir.display()), e))?;
                if m.is_dir() && !m.file_type().is_symlink() {
                    Ok(())
                } else {
                    Err(refuse())
                }
            }
            Err(e) => Err(Error::io(format!("creating {}", dir.display()), e)),
        },
    }
}

/// Opens a regular file of the state folder (refusing a symbolic link there).
fn open_state_file(path: &Path, append: bool) -> Result<File> {
    if let Ok(m) = std::fs::symlink_metadata(path)
        && !m.is_file()
    {
        return Err(Error::new(
            ErrorKind::UnsafePath,
            format!("opening {}", path.display()),
            "refused: it is not a regular file",
        ));
    }
    let mut o = std::fs::OpenOptions::new();
    o.create(true);
    if append {
        o.append(true);
    } else {
        o.write(true).truncate(false);
    }
    o.open(path)
        .map_err(|e| Error::io(format!("opening {}", path.display()), e))
}

impl DestState {
    /// Takes the destination's lock (calling `waiting` first when another job holds it, then
    /// waiting for it), reads the journal and deletes part files that are not this source's.
    /// Blocking.
    pub(crate) fn open(dest: &Path, source: String, waiting: impl FnOnce()) -> Result<Self> {
        let dir = dest.join(STATE_DIR);
        real_dir(&dir)?;
        let parts = dir.join("parts");
        real_dir(&parts)?;
        let lock_path = dir.join("lock");
        let lock = open_state_file(&lock_path, false)?;
        let locking = || format!("locking {}", lock_path.display());
        match lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                waiting();
                lock.lock().map_err(|e| Error::io(locking(), e))?;
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(Error::io(locking(), e)),
        }
        let journal_path = dir.join("manifest.jsonl");
        let mut journal = open_state_file(&journal_path, true)?;
        end_with_newline(&journal_path, &mut journal)?;
        let Journal {
            done,
            started,
            lines,
            paths,
        } = read_journal(&journal_path, &source)?;
        let mut state = Self {
            dir,
            parts,
            source,
            _lock: lock,
            done,
            started,
            journal: Mutex::new(journal),
        };
        state.discard_foreign_parts()?;
        // Superseded lines (files fetched again, part files completed or discarded) are
        // dropped once they are most of the journal: it stays within about twice what it
        // describes.
        if lines > 2 * (paths + state.started.len()) + 1000 {
            compact(&journal_path, &state.source, &state.started)?;
            *state.journal.get_mut().unwrap_or_else(|e| e.into_inner()) =
                open_state_file(&journal_path, true)?;
        }
        Ok(state)
    }

    /// Deletes part files this source did not start (other sources', other sizes', or ones
    /// whose start was never journaled), and forgets starts whose part file is gone.
    fn discard_foreign_parts(&mut self) -> Result<()> {
        let ctx = || format!("cleaning {}", self.parts.display());
        let mut present = HashSet::new();
        for entry in std::fs::read_dir(&self.parts).map_err(|e| Error::io(ctx(), e))? {
            let entry = entry.map_err(|e| Error::io(ctx(), e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            // Only a regular file can be a part file: anything else at a started name (a
            // symbolic link, a folder) was not written by a download, and refusing it on every
            // run would leave that file impossible to download. It goes, like a stranger's.
            let regular = entry.file_type().is_ok_and(|t| t.is_file());
            if regular && self.started.contains_key(&name) {
                present.insert(name);
            } else {
                let p = entry.path();
                let r = if entry.file_type().is_ok_and(|t| t.is_dir()) {
                    std::fs::remove_dir_all(&p)
                } else {
                    std::fs::remove_file(&p)
                };
                r.map_err(|e| Error::io(format!("removing {}", p.display()), e))?;
            }
        }
        self.started.retain(|name, _| present.contains(name));
        Ok(())
    }

    /// Whether the file at `path`, now on disk as `stamp`, was completed from this source at
    /// the listed `size` and is unchanged since.
    pub(crate) fn is_complete(&self, path: &str, size: Option<u64>, stamp: Stamp) -> bool {
        let Some(size) = size else { return false };
        self.done.get(path).is_some_and(|d| {
            d.size == size
                && d.len == stamp.len
                && d.mtime_ns == stamp.mtime_ns
                && d.ino == stamp.ino
        })
    }

    /// The part file's name for `path` at the listed `size`: a hash of this source, the path
    /// and the size (32 hex digits).
    pub(crate) fn part_name(&self, path: &str, size: Option<u64>) -> String {
        let mut h = Sha256::new();
        h.update(self.source.as_bytes());
        h.update([0]);
        h.update(path.as_bytes());
        h.update([0]);
        h.update(
            size.map_or_else(|| "?".to_owned(), |s| s.to_string())
                .as_bytes(),
        );
        let digest = h.finalize();
        digest[..16].iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Where the part file of that name lives.
    pub(crate) fn part_path(&self, name: &str) -> PathBuf {
        self.parts.join(name)
    }

    /// Whether a part file of that name was started by this source, and with which validator
    /// (`Some(None)`: started from a response without one).
    pub(crate) fn started(&self, name: &str) -> Option<Option<&str>> {
        self.started.get(name).map(Option::as_deref)
    }

    /// Journals that the part file `name` for `path` (listed `size`) starts over from a
    /// response with `validator`. One small `write` on an open file.
    pub(crate) fn record_start(
        &self,
        name: &str,
        path: &str,
        size: Option<u64>,
        validator: Option<&str>,
    ) -> Result<()> {
        self.append(json!({
            "start": name,
            "source": self.source,
            "path": path,
            "size": size,
            "validator": validator,
        }))
    }

    /// Journals that `path` is complete from this source as `stamp` (the part file's, taken
    /// just before it is renamed into place: the rename keeps it).
    pub(crate) fn record_done(
        &self,
        name: &str,
        path: &str,
        size: Option<u64>,
        validator: Option<&str>,
        stamp: Stamp,
    ) -> Result<()> {
        self.append(json!({
            "done": path,
            "source": self.source,
            "part": name,
            "size": size,
            "validator": validator,
            "len": stamp.len,
            "mtime_ns": stamp.mtime_ns,
            "ino": stamp.ino,
        }))
    }

    fn append(&self, line: Value) -> Result<()> {
        let mut text = line.to_string();
        text.push('\n');
        // One `write` of the whole line on a file opened for appending: lines of one job never
        // interleave, and a line cut short by a crash is skipped when read.
        self.journal
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .write_all(text.as_bytes())
            .map_err(|e| {
                Error::io(
                    format!("writing {}", self.dir.join("manifest.jsonl").display()),
                    e,
                )
            })
    }
}

/// What the journal says, for one source.
struct Journal {
    /// This source's completed files by path.
    done: HashMap<String, Done>,
    /// This source's started part files and their validators.
    started: HashMap<String, Option<String>>,
    /// Lines read.
    lines: usize,
    /// Distinct paths of completed files, of any source.
    paths: usize,
}

/// Ends the journal with a newline if a crash cut its last line short, so that the next line
/// appended is read on its own.
fn end_with_newline(path: &Path, journal: &mut File) -> Result<()> {
    use std::io::{Read as _, Seek as _};
    let ctx = || format!("reading {}", path.display());
    let mut f = File::open(path).map_err(|e| Error::io(ctx(), e))?;
    if f.metadata().map_err(|e| Error::io(ctx(), e))?.len() == 0 {
        return Ok(());
    }
    let mut last = [0u8];
    f.seek(std::io::SeekFrom::End(-1))
        .and_then(|_| f.read_exact(&mut last))
        .map_err(|e| Error::io(ctx(), e))?;
    if last[0] != b'\n' {
        journal
            .write_all(b"\n")
            .map_err(|e| Error::io(format!("writing {}", path.display()), e))?;
    }
    Ok(())
}

/// Rewrites the journal with only what is current: the last `done` line of each path (of any
/// source) and the `start` lines of this source's part files still there. Written beside it,
/// flushed and renamed over it, so a crash leaves the old or the new journal whole.
fn compact(path: &Path, source: &str, started: &HashMap<String, Option<String>>) -> Result<()> {
    let ctx = || format!("compacting {}", path.display());
    let mut done: HashMap<String, Vec<u8>> = HashMap::new();
    let mut starts: HashMap<String, Vec<u8>> = HashMap::new();
    let file = File::open(path).map_err(|e| Error::io(ctx(), e))?;
    for line in std::io::BufReader::new(file).split(b'\n') {
        let line = line.map_err(|e| Error::io(ctx(), e))?;
        let Ok(v) = serde_json::from_slice::<Value>(&line) else {
            continue;
        };
        if let Some(p) = v["done"].as_str() {
            done.insert(p.to_owned(), line);
        } else if let Some(part) = v["start"].as_str()
            && v["source"].as_str() == Some(source)
            && started.contains_key(part)
        {
            starts.insert(part.to_owned(), line);
        }
    }
    let tmp = path.with_extension("jsonl.tmp");
    let _ = std::fs::remove_file(&tmp);
    let created = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&tmp)
        .map_err(|e| Error::io(ctx(), e))?;
    let mut out = std::io::BufWriter::new(created);
    for line in done.values().chain(starts.values()) {
        out.write_all(line)
            .and_then(|()| out.write_all(b"\n"))
            .map_err(|e| Error::io(ctx(), e))?;
    }
    let out = out
        .into_inner()
        .map_err(|e| Error::io(ctx(), e.into_error()))?;
    out.sync_all().map_err(|e| Error::io(ctx(), e))?;
    drop(out);
    std::fs::rename(&tmp, path).map_err(|e| Error::io(ctx(), e))
}

/// Reads the journal: this source's completed files (a later line of another source for the
/// same path removes it: that fetch replaced the file) and its started part files.
fn read_journal(path: &Path, source: &str) -> Result<Journal> {
    let mut done = HashMap::new();
    let mut started = HashMap::new();
    // Hashes of the paths completed by any source: counts them in 8 bytes each.
    let mut paths = HashSet::new();
    let mut lines = 0;
    let file = File::open(path).map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
    for line in std::io::BufReader::new(file).split(b'\n') {
        let line = line.map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
        lines += 1;
        let Ok(v) = serde_json::from_slice::<Value>(&line) else {
            continue; // a line cut short by a crash, or not ours
        };
        let ours = v["source"].as_str() == Some(source);
        let u = |k: &str| v[k].as_u64();
        if let Some(p) = v["done"].as_str() {
            paths.insert({
                use std::hash::{BuildHasher as _, BuildHasherDefault};
                BuildHasherDefault::<std::hash::DefaultHasher>::default().hash_one(p)
            });
            if let Some(part) = v["part"].as_str() {
                started.remove(part);
            }
            match (ours, u("size"), u("len"), u("mtime_ns"), u("ino")) {
                (true, Some(size), Some(len), Some(mtime_ns), Some(ino)) => {
                    done.insert(
                        p.to_owned(),
                        Done {
                            size,
                            len,
                            mtime_ns,
                            ino,
                        },
                    );
                }
                _ => {
                    done.remove(p);
                }
            }
        } else if let Some(part) = v["start"].as_str()
            && ours
        {
            started.insert(part.to_owned(), v["validator"].as_str().map(str::to_owned));
        }
    }
    Ok(Journal {
        done,
        started,
        lines,
        paths: paths.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open(dest: &Path, source: &str) -> DestState {
        DestState::open(dest, source.to_owned(), || {
            panic!("nothing else holds the lock")
        })
        .unwrap()
    }

    fn stamp_of(p: &Path) -> Stamp {
        Stamp::of(&std::fs::metadata(p).unwrap())
    }

    #[test]
    fn only_this_sources_unchanged_files_are_complete() {
        let dest = tempfile::tempdir().unwrap();
        let file = dest.path().join("f");
        std::fs::write(&file, b"abc").unwrap();
        let st = open(dest.path(), "results/A");
        st.record_done("p", "f", Some(3), Some("\"t\""), stamp_of(&file))
            .unwrap();
        drop(st);
        let a = open(dest.path(), "results/A");
        assert!(a.is_complete("f", Some(3), stamp_of(&file)));
        assert!(
            !a.is_complete("f", Some(4), stamp_of(&file)),
            "another size"
        );
        assert!(!a.is_complete("f", None, stamp_of(&file)), "no size listed");
        assert!(
            !a.is_complete("g", Some(3), stamp_of(&file)),
            "another path"
        );
        drop(a);
        assert!(!open(dest.path(), "results/B").is_complete("f", Some(3), stamp_of(&file)));
        assert!(!open(dest.path(), "data_asset/A").is_complete("f", Some(3), stamp_of(&file)));
        // Rewritten in place (same length, same inode): a later modification time.
        let mtime = std::fs::metadata(&file).unwrap().modified().unwrap();
        std::fs::write(&file, b"xyz").unwrap();
        let f = File::options().write(true).open(&file).unwrap();
        f.set_modified(mtime + std::time::Duration::from_secs(1))
            .unwrap();
        drop(f);
        assert!(!open(dest.path(), "results/A").is_complete("f", Some(3), stamp_of(&file)));
        // Replaced by another file (a rename over it) with the same length and time: another
        // inode.
        #[cfg(unix)]
        {
            let other = dest.path().join("other");
            std::fs::write(&other, b"abc").unwrap();
            File::options()
                .write(true)
                .open(&other)
                .unwrap()
                .set_modified(mtime)
                .unwrap();
            std::fs::rename(&other, &file).unwrap();
            let now = stamp_of(&file);
            assert_eq!((now.len, now.mtime_ns), (3, stamp_of_time(mtime)));
            assert!(!open(dest.path(), "results/A").is_complete("f", Some(3), now));
        }
    }

    fn stamp_of_time(t: std::time::SystemTime) -> u64 {
        t.duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64
    }

    #[test]
    fn a_later_line_of_another_source_wins_and_a_torn_line_is_skipped() {
        let dest = tempfile::tempdir().unwrap();
        let file = dest.path().join("f");
        std::fs::write(&file, b"abc").unwrap();
        let s = stamp_of(&file);
        let a = open(dest.path(), "results/A");
        a.record_done("p", "f", Some(3), None, s).unwrap();
        drop(a);
        let b = open(dest.path(), "results/B");
        b.record_done("q", "f", Some(3), None, s).unwrap();
        drop(b);
        // A crash in the middle of a line.
        let journal = dest.path().join(STATE_DIR).join("manifest.jsonl");
        let mut j = std::fs::OpenOptions::new()
            .append(true)
            .open(&journal)
            .unwrap();
        j.write_all(br#"{"done":"f","source":"results/A","si"#)
            .unwrap();
        drop(j);
        assert!(!open(dest.path(), "results/A").is_complete("f", Some(3), s));
        assert!(open(dest.path(), "results/B").is_complete("f", Some(3), s));
    }

    #[test]
    fn part_files_are_kept_only_for_the_source_that_started_them() {
        let dest = tempfile::tempdir().unwrap();
        let a = open(dest.path(), "results/A");
        let name = a.part_name("big.bin", Some(10));
        assert_eq!(name.len(), 32);
        assert!(name.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(name, a.part_name("big.bin", Some(11)));
        assert_ne!(name, a.part_name("big.bin", None));
        assert_ne!(name, a.part_name("big.bim", Some(10)));
        std::fs::write(a.part_path(&name), b"half").unwrap();
        a.record_start(&name, "big.bin", Some(10), Some("\"v1\""))
            .unwrap();
        // Never journaled: not trusted, deleted.
        std::fs::write(a.part_path("stray"), b"?").unwrap();
        drop(a);
        let a = open(dest.path(), "results/A");
        assert_eq!(a.started(&name), Some(Some("\"v1\"")));
        assert!(a.part_path(&name).exists());
        assert!(!a.part_path("stray").exists());
        // Another source's job waits while A's holds the lock, then deletes A's part file.
        let waited = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (w, d) = (waited.clone(), dest.path().to_owned());
        let b = std::thread::spawn(move || {
            DestState::open(&d, "results/B".to_owned(), move || {
                w.store(true, std::sync::atomic::Ordering::SeqCst)
            })
            .unwrap()
        });
        while !waited.load(std::sync::atomic::Ordering::SeqCst) {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
        assert!(!b.is_finished(), "the lock is exclusive");
        let part = a.part_path(&name);
        drop(a);
        let b = b.join().unwrap();
        assert_ne!(name, b.part_name("big.bin", Some(10)), "another source");
        assert!(!part.exists());
    }

    #[cfg(unix)]
    #[test]
    fn a_started_part_file_replaced_by_a_link_or_a_folder_is_removed_not_followed() {
        let dest = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let victim = outside.path().join("victim");
        std::fs::write(&victim, b"keep me").unwrap();
        let a = open(dest.path(), "results/A");
        let linked = a.part_name("big.bin", Some(10));
        let folder = a.part_name("other.bin", Some(10));
        a.record_start(&linked, "big.bin", Some(10), Some("\"v1\""))
            .unwrap();
        a.record_start(&folder, "other.bin", Some(10), None)
            .unwrap();
        std::os::unix::fs::symlink(&victim, a.part_path(&linked)).unwrap();
        std::fs::create_dir(a.part_path(&folder)).unwrap();
        std::fs::write(a.part_path(&folder).join("x"), b"x").unwrap();
        drop(a);
        let a = open(dest.path(), "results/A");
        // Gone, so the next fetch starts a fresh part file; what the link pointed at is kept.
        assert_eq!(a.started(&linked), None);
        assert_eq!(a.started(&folder), None);
        assert!(std::fs::symlink_metadata(a.part_path(&linked)).is_err());
        assert!(std::fs::symlink_metadata(a.part_path(&folder)).is_err());
        assert_eq!(std::fs::read(&victim).unwrap(), b"keep me");
    }

    #[test]
    fn names_some_filesystem_takes_for_the_state_folder_reach_it() {
        for name in [
            ".codeocean-download",
            ".CODEOCEAN-download",
            ".codeocean\u{200c}-download",
            "\u{feff}.codeocean-download",
            ".code\u{200d}ocean-down\u{206f}load",
            ".codeocean-download.",
            ".codeocean-download . ",
        ] {
            assert!(reaches_state(name), "{name:?}");
        }
        for name in [
            "codeocean-download",
            ".codeocean-downloads",
            "..codeocean-download",
            ".codeocean_download",
            ".codeocean-dоwnload", // a Cyrillic `о`: another name everywhere
        ] {
            assert!(!reaches_state(name), "{name:?}");
        }
    }

    #[test]
    fn a_journal_of_mostly_superseded_lines_is_compacted() {
        let dest = tempfile::tempdir().unwrap();
        let file = dest.path().join("f");
        std::fs::write(&file, b"abc").unwrap();
        let s = stamp_of(&file);
        let journal = dest.path().join(STATE_DIR).join("manifest.jsonl");
        let lines = || std::fs::read_to_string(&journal).unwrap().lines().count();
        let a = open(dest.path(), "results/A");
        for _ in 0..1500 {
            a.record_done("p", "f", Some(3), None, s).unwrap();
        }
        let part = a.part_name("g", Some(9));
        std::fs::write(a.part_path(&part), b"half").unwrap();
        a.record_start(&part, "g", Some(9), Some("\"v\"")).unwrap();
        drop(a);
        assert_eq!(lines(), 1501);
        // One line per path and per part file still there, and the same answers.
        let a = open(dest.path(), "results/A");
        assert_eq!(lines(), 2);
        assert!(a.is_complete("f", Some(3), s));
        assert_eq!(a.started(&part), Some(Some("\"v\"")));
        // Still appended to.
        a.record_done("p", "g", Some(9), None, s).unwrap();
        drop(a);
        assert_eq!(lines(), 3);
        let a = open(dest.path(), "results/A");
        assert!(a.is_complete("f", Some(3), s) && a.is_complete("g", Some(9), s));
    }

    #[test]
    fn a_line_cut_short_does_not_swallow_the_next() {
        let dest = tempfile::tempdir().unwrap();
        let file = dest.path().join("f");
        std::fs::write(&file, b"abc").unwrap();
        drop(open(dest.path(), "results/A"));
        let journal = dest.path().join(STATE_DIR).join("manifest.jsonl");
        std::fs::write(&journal, br#"{"done":"x","sou"#).unwrap();
        let a = open(dest.path(), "results/A");
        a.record_done("p", "f", Some(3), None, stamp_of(&file))
            .unwrap();
        drop(a);
        assert!(open(dest.path(), "results/A").is_complete("f", Some(3), stamp_of(&file)));
    }
}
