//! Reading files under a root (a live host, a mounted image, a container root or a fixture).
//!
//! Paths are absolute as seen from inside the root (`/etc/ssh/sshd_config`). Symbolic links
//! are resolved inside the root, so an absolute link in a mounted image never escapes to the
//! scanning host. Every read that fails says why, as an [`Unknown`] reason.

#![allow(
    clippy::disallowed_methods,
    reason = "errors become Unknown reasons naming the path inside the root, not the scanning host's path"
)]

use std::io::Read as _;
use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::{Component, Path, PathBuf};

/// Files larger than this are not read: configuration files are small, and a huge file is a
/// sign of something else (a log, a disk image) that must not stall a scan.
pub const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// Why a fact could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Unknown(pub String);

impl Unknown {
    /// An unknown with `reason`.
    pub fn new(reason: impl Into<String>) -> Self {
        Unknown(reason.into())
    }

    /// Whether the path does not exist (as opposed to existing but being unreadable).
    pub fn is_absent(&self) -> bool {
        self.0.ends_with(": absent") || self.0.ends_with(": not a directory")
    }
}

/// File facts from `stat`, never content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileStat {
    /// Permission bits, e.g. `0o640`.
    pub mode: u32,
    /// Owner uid.
    pub uid: u32,
    /// Group gid.
    pub gid: u32,
    /// Size in bytes.
    pub size: u64,
    /// Whether it is a regular file.
    pub is_file: bool,
    /// Whether it is a directory.
    pub is_dir: bool,
    /// Modification time, Unix seconds.
    pub mtime: i64,
}

/// A root folder to read facts from.
#[derive(Debug, Clone)]
pub struct RootFs {
    root: PathBuf,
    live: bool,
}

impl RootFs {
    /// A root at `root`; `live` when it is the running system (`/`), whose `/proc` and
    /// commands describe it.
    pub fn new(root: impl Into<PathBuf>, live: bool) -> Self {
        RootFs {
            root: root.into(),
            live,
        }
    }

    /// Whether this root is the running system.
    pub fn is_live(&self) -> bool {
        self.live
    }

    /// The root folder on the scanning machine.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The host path of `inner` (an absolute path inside the root), following symbolic links
    /// inside the root. `None` if a link loops.
    pub fn resolve(&self, inner: &str) -> Option<PathBuf> {
        if self.live {
            return Some(PathBuf::from(inner));
        }
        let mut pending: Vec<String> = components(inner).into_iter().rev().collect();
        let mut resolved: Vec<String> = Vec::new();
        let mut hops = 0_u32;
        while let Some(part) = pending.pop() {
            if part == ".." {
                resolved.pop();
                continue;
            }
            let candidate = self.host_path(&resolved, &part);
            match std::fs::symlink_metadata(&candidate) {
                Ok(meta) if meta.file_type().is_symlink() => {
                    hops = hops.saturating_add(1);
                    if hops > 40 {
                        return None;
                    }
                    let target = std::fs::read_link(&candidate).ok()?;
                    let target = target.to_string_lossy().into_owned();
                    if target.starts_with('/') {
                        resolved.clear();
                    }
                    pending.extend(components(&target).into_iter().rev());
                }
                _ => resolved.push(part),
            }
        }
        let mut path = self.root.clone();
        path.extend(resolved);
        Some(path)
    }

    fn host_path(&self, resolved: &[String], part: &str) -> PathBuf {
        let mut path = self.root.clone();
        path.extend(resolved);
        path.push(part);
        path
    }

    /// `stat` of `inner`, following links inside the root.
    pub fn stat(&self, inner: &str) -> Result<FileStat, Unknown> {
        let path = self
            .resolve(inner)
            .ok_or_else(|| Unknown::new(format!("{inner}: symbolic link loop")))?;
        let meta = std::fs::metadata(&path).map_err(|e| io_unknown(inner, &e))?;
        Ok(FileStat {
            mode: meta.permissions().mode() & 0o7777,
            uid: meta.uid(),
            gid: meta.gid(),
            size: meta.len(),
            is_file: meta.is_file(),
            is_dir: meta.is_dir(),
            mtime: meta.mtime(),
        })
    }

    /// Whether `inner` exists (as anything).
    pub fn exists(&self, inner: &str) -> bool {
        self.resolve(inner).is_some_and(|p| p.exists())
    }

    /// Whether `inner` exists as a directory entry, even a dangling or looping link.
    pub fn entry_exists(&self, inner: &str) -> bool {
        let path = Path::new(inner);
        let (Some(parent), Some(name)) = (path.parent(), path.file_name()) else {
            return false;
        };
        self.resolve(&parent.to_string_lossy())
            .is_some_and(|dir| std::fs::symlink_metadata(dir.join(name)).is_ok())
    }

    /// The text of `inner`, if it is a readable, reasonably small, UTF-8 regular file.
    pub fn read_text(&self, inner: &str) -> Result<String, Unknown> {
        let bytes = self.read_bytes(inner)?;
        if bytes.contains(&0) {
            return Err(Unknown::new(format!(
                "{inner}: binary file (contains NUL bytes)"
            )));
        }
        String::from_utf8(bytes).map_err(|e| {
            Unknown::new(format!(
                "{inner}: not UTF-8 text (invalid byte at offset {})",
                e.utf8_error().valid_up_to()
            ))
        })
    }

    /// The bytes of `inner`, with the same limits as [`RootFs::read_text`].
    pub fn read_bytes(&self, inner: &str) -> Result<Vec<u8>, Unknown> {
        let path = self
            .resolve(inner)
            .ok_or_else(|| Unknown::new(format!("{inner}: symbolic link loop")))?;
        let meta = std::fs::metadata(&path).map_err(|e| io_unknown(inner, &e))?;
        if !meta.is_file() {
            return Err(Unknown::new(format!("{inner}: not a regular file")));
        }
        // Files in /proc and /sys report size 0; the cap is enforced while reading.
        if meta.len() > MAX_FILE_BYTES {
            return Err(Unknown::new(format!(
                "{inner}: too large to be a configuration file ({} bytes)",
                meta.len()
            )));
        }
        let mut file = std::fs::File::open(&path).map_err(|e| io_unknown(inner, &e))?;
        let mut bytes = Vec::new();
        if meta.len() == 0 {
            // Generated files (/proc, /sys) report size 0 and are produced anew by each read
            // call, /proc/net/tcp by walking the whole socket table. One large read is one
            // walk; a short read is the end, so no second walk is spent to learn it.
            let mut buffer = vec![0_u8; 1024 * 1024];
            loop {
                let n = file.read(&mut buffer).map_err(|e| io_unknown(inner, &e))?;
                bytes.extend_from_slice(buffer.get(..n).unwrap_or_default());
                if n < buffer.len() || bytes.len() as u64 > MAX_FILE_BYTES {
                    break;
                }
            }
        } else {
            bytes.reserve(usize::try_from(meta.len()).unwrap_or(0).saturating_add(1));
            file.take(MAX_FILE_BYTES.saturating_add(1))
                .read_to_end(&mut bytes)
                .map_err(|e| io_unknown(inner, &e))?;
        }
        if bytes.len() as u64 > MAX_FILE_BYTES {
            return Err(Unknown::new(format!(
                "{inner}: too large to be a configuration file"
            )));
        }
        Ok(bytes)
    }

    /// The text of `inner`, `None` if it does not exist; an existing file that cannot be read
    /// is an error, never taken for an absent one.
    pub fn read_if_present(&self, inner: &str) -> Result<Option<String>, Unknown> {
        match self.read_text(inner) {
            Ok(text) => Ok(Some(text)),
            Err(e) if e.is_absent() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Names of the entries of folder `inner`, sorted; none if it does not exist. A folder
    /// that exists but cannot be listed is an error, never taken for an empty one.
    pub fn entries(&self, inner: &str) -> Result<Vec<String>, Unknown> {
        match self.list_dir(inner) {
            Err(e) if e.is_absent() => Ok(Vec::new()),
            other => other,
        }
    }

    /// Names of the entries of folder `inner`, sorted.
    pub fn list_dir(&self, inner: &str) -> Result<Vec<String>, Unknown> {
        let path = self
            .resolve(inner)
            .ok_or_else(|| Unknown::new(format!("{inner}: symbolic link loop")))?;
        let entries = std::fs::read_dir(&path).map_err(|e| io_unknown(inner, &e))?;
        let mut names: Vec<String> = entries
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        Ok(names)
    }

    /// Paths matching a glob pattern (`*`, `?`, `[...]` in any component), sorted as glob(3)
    /// sorts them. A folder that does not exist matches nothing; one that exists but cannot
    /// be listed is an error, since what it holds is unknown.
    pub fn glob(&self, pattern: &str) -> Result<Vec<String>, Unknown> {
        let mut candidates = vec![String::new()];
        for part in components(pattern) {
            let mut next = Vec::new();
            if part.contains(['*', '?', '[']) {
                let Ok(glob) = globset::GlobBuilder::new(&part)
                    .literal_separator(true)
                    .build()
                else {
                    return Ok(Vec::new());
                };
                let matcher = glob.compile_matcher();
                for dir in &candidates {
                    let dir_path = if dir.is_empty() {
                        "/".to_owned()
                    } else {
                        dir.clone()
                    };
                    for name in self.entries(&dir_path)? {
                        // glob(3) skips dot files unless the pattern starts with a dot.
                        if name.starts_with('.') && !part.starts_with('.') {
                            continue;
                        }
                        if matcher.is_match(&name) {
                            next.push(format!("{dir}/{name}"));
                        }
                    }
                }
            } else {
                next = candidates
                    .iter()
                    .map(|dir| format!("{dir}/{part}"))
                    .collect();
            }
            candidates = next;
        }
        let mut found: Vec<String> = candidates
            .into_iter()
            .filter(|m| !m.is_empty() && self.entry_exists(m))
            .collect();
        found.sort();
        Ok(found)
    }
}

/// The normal components of an absolute or relative path, `..` kept, `.` dropped.
fn components(path: &str) -> Vec<String> {
    Path::new(path)
        .components()
        .filter_map(|c| match c {
            Component::Normal(part) => Some(part.to_string_lossy().into_owned()),
            Component::ParentDir => Some("..".to_owned()),
            _ => None,
        })
        .collect()
}

fn io_unknown(inner: &str, err: &std::io::Error) -> Unknown {
    let why = match err.kind() {
        std::io::ErrorKind::NotFound => "absent".to_owned(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
        std::io::ErrorKind::NotADirectory => "not a directory".to_owned(),
        _ => err.to_string(),
    };
    Unknown::new(format!("{inner}: {why}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root() -> (tempfile::TempDir, RootFs) {
        let dir = tempfile::tempdir().unwrap();
        let fs = RootFs::new(dir.path(), false);
        (dir, fs)
    }

    fn write(dir: &Path, inner: &str, content: &[u8]) {
        let path = dir.join(inner.trim_start_matches('/'));
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }

    #[test]
    fn absolute_links_resolve_inside_the_root() {
        let (dir, fs) = root();
        write(dir.path(), "/real/sshd_config", b"PermitRootLogin no\n");
        std::fs::create_dir_all(dir.path().join("etc/ssh")).unwrap();
        std::os::unix::fs::symlink("/real/sshd_config", dir.path().join("etc/ssh/sshd_config"))
            .unwrap();
        assert_eq!(
            fs.read_text("/etc/ssh/sshd_config").unwrap(),
            "PermitRootLogin no\n"
        );
        // A link that climbs out stays at the root.
        std::os::unix::fs::symlink(
            "../../../../../../etc/hostname",
            dir.path().join("etc/escape"),
        )
        .unwrap();
        assert_eq!(
            fs.resolve("/etc/escape").unwrap(),
            dir.path().join("etc/hostname")
        );
    }

    #[test]
    fn link_loops_binary_huge_and_missing_files_are_unknown_with_reasons() {
        let (dir, fs) = root();
        std::os::unix::fs::symlink("/b", dir.path().join("a")).unwrap();
        std::os::unix::fs::symlink("/a", dir.path().join("b")).unwrap();
        assert!(fs.read_text("/a").unwrap_err().0.contains("link loop"));
        write(dir.path(), "/bin.conf", b"x\0y");
        assert!(fs.read_text("/bin.conf").unwrap_err().0.contains("binary"));
        write(dir.path(), "/latin1.conf", b"caf\xe9");
        assert!(
            fs.read_text("/latin1.conf")
                .unwrap_err()
                .0
                .contains("not UTF-8")
        );
        let huge = std::fs::File::create(dir.path().join("huge.conf")).unwrap();
        huge.set_len(MAX_FILE_BYTES + 1).unwrap();
        assert!(
            fs.read_text("/huge.conf")
                .unwrap_err()
                .0
                .contains("too large")
        );
        assert_eq!(fs.read_text("/missing").unwrap_err().0, "/missing: absent");
        std::fs::create_dir(dir.path().join("folder")).unwrap();
        assert!(
            fs.read_text("/folder")
                .unwrap_err()
                .0
                .contains("not a regular file")
        );
    }

    #[test]
    fn globs_match_like_glob3() {
        let (dir, fs) = root();
        for f in [
            "/etc/ssh/sshd_config.d/10-a.conf",
            "/etc/ssh/sshd_config.d/20-b.conf",
            "/etc/ssh/sshd_config.d/.hidden.conf",
            "/etc/ssh/sshd_config.d/notes.txt",
        ] {
            write(dir.path(), f, b"");
        }
        assert_eq!(
            fs.glob("/etc/ssh/sshd_config.d/*.conf").unwrap(),
            [
                "/etc/ssh/sshd_config.d/10-a.conf",
                "/etc/ssh/sshd_config.d/20-b.conf"
            ]
        );
        assert_eq!(
            fs.glob("/etc/*/sshd_config.d/1?-a.conf").unwrap(),
            ["/etc/ssh/sshd_config.d/10-a.conf"]
        );
        assert!(fs.glob("/etc/ssh/none.d/*").unwrap().is_empty());
        assert!(
            fs.glob("/etc/ssh/sshd_config.d/notes.txt/*")
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            fs.glob("/etc/ssh/sshd_config.d/notes.txt").unwrap(),
            ["/etc/ssh/sshd_config.d/notes.txt"]
        );
    }
}
