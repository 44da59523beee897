//! The agent's spool: reports waiting for the server, one file each, oldest first.
//!
//! A report is written to the spool before anything is sent, so a report the agent made is
//! either at the server, in the spool, or in `rejected/` with the server's reason beside it;
//! it is never dropped. Files are named `<sequence>-<report id>.json` with a zero-padded
//! sequence one above the highest waiting one, so the lexical order of the names is the order
//! the reports were made in. A file appears whole or not at all (temporary file, fsync,
//! rename, fsync of the folder). One agent uses a spool at a time (a lock file).

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;

use crate::exit::Failure;

/// Name of the lock file in the spool folder.
const LOCK_FILE: &str = "agent.lock";
/// Folder, inside the spool, of the reports the server rejected.
pub(crate) const REJECTED: &str = "rejected";
/// Prefix of files being written; left-overs of a crash are removed when the spool opens.
const TEMP_PREFIX: &str = ".tmp-";
/// Digits of the sequence number in a file name.
const SEQUENCE_DIGITS: usize = 20;

/// A spool folder, locked for this agent while the value lives.
pub(crate) struct Spool {
    dir: PathBuf,
    max: usize,
    _lock: std::fs::File,
}

/// A report waiting in the spool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    /// File name, `<sequence>-<report id>.json`.
    pub(crate) name: String,
    /// Sequence number: higher is newer.
    pub(crate) sequence: u64,
    /// The report's id.
    pub(crate) report_id: String,
}

/// What became of a report handed to [`Spool::enqueue`].
#[derive(Debug)]
pub(crate) enum Enqueued {
    /// Written to the spool.
    Spooled(Entry),
    /// Not written: the spool already holds its maximum of `waiting` reports.
    Full { waiting: usize },
}

impl Spool {
    /// Opens (creating it, mode 0700) and locks the spool folder `dir`, which holds at most
    /// `max` reports; removes temporary files a crash left behind.
    pub(crate) fn open(dir: &Path, max: usize) -> anyhow::Result<Self> {
        use std::os::unix::fs::PermissionsExt as _;
        let created = !dir.exists();
        fs_err::create_dir_all(dir.join(REJECTED))?;
        if created {
            // The reports describe the host's weaknesses: for this user only.
            fs_err::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
        }
        let lock = lock(dir)?;
        for entry in fs_err::read_dir(dir)? {
            let entry = entry?;
            if entry.file_name().to_string_lossy().starts_with(TEMP_PREFIX) {
                fs_err::remove_file(entry.path())?;
            }
        }
        Ok(Spool {
            dir: dir.to_path_buf(),
            max,
            _lock: lock,
        })
    }

    /// The spool folder.
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// The reports waiting, oldest first.
    pub(crate) fn pending(&self) -> anyhow::Result<Vec<Entry>> {
        let mut entries = Vec::new();
        for entry in fs_err::read_dir(&self.dir)? {
            let entry = entry?;
            if let Some(parsed) = parse_name(&entry.file_name().to_string_lossy())
                && entry.file_type()?.is_file()
            {
                entries.push(parsed);
            }
        }
        entries.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(entries)
    }

    /// Whether the spool holds its maximum of reports.
    pub(crate) fn is_full(&self) -> anyhow::Result<bool> {
        Ok(self.pending()?.len() >= self.max)
    }

    /// Writes a report durably as the newest in the spool, unless the spool is full.
    pub(crate) fn enqueue(&self, report_id: &str, body: &[u8]) -> anyhow::Result<Enqueued> {
        let pending = self.pending()?;
        if pending.len() >= self.max {
            return Ok(Enqueued::Full {
                waiting: pending.len(),
            });
        }
        let sequence = match pending.last() {
            Some(last) => last
                .sequence
                .checked_add(1)
                .context("the spool's sequence numbers are exhausted")?,
            None => 1,
        };
        let name = format!("{sequence:0SEQUENCE_DIGITS$}-{report_id}.json");
        let entry =
            parse_name(&name).ok_or_else(|| anyhow::anyhow!("`{report_id}` is not a report id"))?;
        write_durably(&self.dir, &name, body, false)?;
        Ok(Enqueued::Spooled(entry))
    }

    /// The body of a waiting report.
    pub(crate) fn read(&self, entry: &Entry) -> anyhow::Result<Vec<u8>> {
        Ok(fs_err::read(self.dir.join(&entry.name))?)
    }

    /// Removes a report the server has.
    pub(crate) fn remove(&self, entry: &Entry) -> anyhow::Result<()> {
        fs_err::remove_file(self.dir.join(&entry.name))?;
        // Should the removal be lost in a crash, the report is pushed again and the server,
        // which records a report id once, answers that it has it.
        sync_dir(&self.dir)
    }

    /// Moves a report the server rejected to `rejected/`, with `reason` in a `.error` file
    /// beside it; returns the report's new path.
    pub(crate) fn reject(&self, entry: &Entry, reason: &str) -> anyhow::Result<PathBuf> {
        let rejected = self.dir.join(REJECTED);
        let stem = entry.name.trim_end_matches(".json");
        // The reason first: a report in rejected/ always has its reason beside it.
        // It replaces the reason of an earlier rejection of the same report, if any.
        write_durably(&rejected, &format!("{stem}.error"), reason.as_bytes(), true)?;
        let target = rejected.join(&entry.name);
        fs_err::rename(self.dir.join(&entry.name), &target)?;
        sync_dir(&rejected)?;
        sync_dir(&self.dir)?;
        Ok(target)
    }
}

/// Takes the spool's lock, or says which process holds it.
fn lock(dir: &Path) -> anyhow::Result<std::fs::File> {
    let path = dir.join(LOCK_FILE);
    let mut file = fs_err::OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(&path)?
        .into_parts()
        .0;
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            let holder = fs_err::read_to_string(&path).unwrap_or_default();
            return Err(Failure::input(format!(
                "another `attest agent` is using the spool {} (process {}); one agent per spool",
                dir.display(),
                holder.trim()
            )));
        }
        Err(std::fs::TryLockError::Error(e)) => {
            return Err(anyhow::Error::new(e).context(format!("cannot lock {}", path.display())));
        }
    }
    file.set_len(0)?;
    write!(file, "{}", std::process::id())?;
    Ok(file)
}

/// Parses `<sequence>-<report id>.json`.
fn parse_name(name: &str) -> Option<Entry> {
    let stem = name.strip_suffix(".json")?;
    let (digits, report_id) = stem.split_once('-')?;
    if digits.len() != SEQUENCE_DIGITS || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if !attest_model::is_report_id(report_id) {
        return None;
    }
    Some(Entry {
        name: name.to_owned(),
        sequence: digits.parse().ok()?,
        report_id: report_id.to_owned(),
    })
}

/// Writes `dir/name` whole or not at all, and durably: a temporary file (mode 0600) synced to
/// disk, renamed into place (over an existing file only when `replace`), then the folder synced.
fn write_durably(dir: &Path, name: &str, content: &[u8], replace: bool) -> anyhow::Result<()> {
    let target = dir.join(name);
    let mut tmp = tempfile::Builder::new()
        .prefix(TEMP_PREFIX)
        .tempfile_in(dir)
        .with_context(|| format!("cannot write in {}", dir.display()))?;
    tmp.write_all(content)
        .and_then(|()| tmp.as_file().sync_all())
        .with_context(|| format!("cannot write {}", target.display()))?;
    if replace {
        tmp.persist(&target)
    } else {
        tmp.persist_noclobber(&target)
    }
    .with_context(|| format!("cannot write {}", target.display()))?;
    sync_dir(dir)
}

/// Makes the entries of `dir` (files created, renamed or removed) durable.
fn sync_dir(dir: &Path) -> anyhow::Result<()> {
    fs_err::File::open(dir)?
        .sync_all()
        .with_context(|| format!("cannot sync {}", dir.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_order_as_the_reports_were_made_and_only_spool_files_count() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::open(dir.path(), 100).unwrap();
        let mut ids = Vec::new();
        for i in 0..12 {
            let id = format!("report-{i:04}-zz");
            spool.enqueue(&id, b"{}").unwrap();
            ids.push(id);
        }
        fs_err::write(dir.path().join("notes.txt"), "not a report").unwrap();
        fs_err::write(dir.path().join("1-abcdefgh.json"), "short sequence").unwrap();
        let pending = spool.pending().unwrap();
        assert_eq!(
            pending
                .iter()
                .map(|e| e.report_id.clone())
                .collect::<Vec<_>>(),
            ids
        );
        assert_eq!(
            pending[9].name,
            format!("00000000000000000010-{}.json", ids[9])
        );
    }

    #[test]
    fn a_second_agent_is_refused_and_crash_left_overs_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::open(dir.path(), 10).unwrap();
        let err = Spool::open(dir.path(), 10).err().unwrap();
        assert!(
            err.to_string()
                .contains("another `attest agent` is using the spool"),
            "{err}"
        );
        drop(spool);
        fs_err::write(dir.path().join(".tmp-half-written"), "{\"sch").unwrap();
        let spool = Spool::open(dir.path(), 10).unwrap();
        assert!(!dir.path().join(".tmp-half-written").exists());
        assert!(spool.pending().unwrap().is_empty());
    }

    #[test]
    fn a_full_spool_keeps_what_it_has_and_takes_no_more() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::open(dir.path(), 2).unwrap();
        assert!(matches!(
            spool.enqueue("aaaaaaaa", b"1").unwrap(),
            Enqueued::Spooled(_)
        ));
        assert!(matches!(
            spool.enqueue("bbbbbbbb", b"2").unwrap(),
            Enqueued::Spooled(_)
        ));
        assert!(matches!(
            spool.enqueue("cccccccc", b"3").unwrap(),
            Enqueued::Full { waiting: 2 }
        ));
        let pending = spool.pending().unwrap();
        assert_eq!(spool.read(&pending[0]).unwrap(), b"1");
        assert_eq!(spool.read(&pending[1]).unwrap(), b"2");
    }

    #[test]
    fn a_rejected_report_moves_with_its_reason() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::open(dir.path(), 10).unwrap();
        let Enqueued::Spooled(entry) = spool.enqueue("aaaaaaaa", b"{}").unwrap() else {
            panic!("not spooled");
        };
        let moved = spool.reject(&entry, "HTTP 422: unknown-check").unwrap();
        assert_eq!(moved, dir.path().join(REJECTED).join(&entry.name));
        assert!(moved.is_file());
        assert_eq!(
            fs_err::read_to_string(moved.with_extension("error")).unwrap(),
            "HTTP 422: unknown-check"
        );
        assert!(spool.pending().unwrap().is_empty());
    }
}
