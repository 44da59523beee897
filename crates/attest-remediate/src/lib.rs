//! Remediation that can be applied: a check's declarative fix, planned against a host root and
//! written as a new drop-in file.
//!
//! A check's metadata may carry a [`Fix`]: settings of one configuration family (`sshd`,
//! `sysctl`, `journald`, `coredump`, `limits`). [`plan`] turns it into the exact file that
//! would be written under the root — a drop-in in the family's `.d` folder, named
//! `<NN>-attest-<check id>.conf` — and judges, by reading the root's files as the program
//! reads them, whether that file would take effect:
//!
//! - `sshd` reads `sshd_config.d/*.conf` only where `sshd_config` includes it, and keeps the
//!   **first** value it reads for a keyword, so the drop-in is named `00-attest-...` to sort
//!   before the other drop-ins, and loses to any line read before it;
//! - `sysctl.d`, systemd's `journald.conf.d` and `coredump.conf.d`, and `limits.d` apply files
//!   in file-name order and keep the **last** value, so the drop-in is named `60-attest-...`
//!   (the range systemd keeps for local configuration): it overrides vendor files and earlier
//!   names, and loses to a later name (and for sysctl to `/etc/sysctl.conf`, read last; for
//!   limits to a line naming a user or group, which beats `*`).
//!
//! When the drop-in would not take effect the plan is [`Status::Blocked`], says which line
//! wins and why, and carries the manual edit as a unified diff instead. [`apply`] writes only
//! an applicable plan, only as a new file (temporary file, `fsync`, rename without replacing),
//! mode 0644; it never changes a file that exists.
//!
//! ```
//! use attest_model::{CheckMeta, Fix, FixKind, Severity};
//! let check = CheckMeta {
//!     id: "host.kernel.aslr".into(), source: "host".into(), title: "ASLR is on".into(),
//!     severity: Severity::High, rationale: String::new(), remediation: String::new(),
//!     references: vec![],
//!     fix: Some(Fix { kind: FixKind::Sysctl,
//!                     settings: [("kernel.randomize_va_space".into(), "2".into())].into() }),
//! };
//! let root = tempfile::tempdir().unwrap();
//! let fs = attest_collect::RootFs::new(root.path(), false);
//! let plan = attest_remediate::plan(&check, &fs);
//! assert_eq!(plan.status, attest_remediate::Status::Applicable);
//! assert_eq!(plan.path.as_deref(), Some("/etc/sysctl.d/60-attest-host.kernel.aslr.conf"));
//! assert!(plan.diff.contains("+kernel.randomize_va_space = 2"));
//! ```

#![deny(
    clippy::indexing_slicing,
    clippy::string_slice,
    clippy::arithmetic_side_effects
)]
#![allow(
    clippy::case_sensitive_file_extension_comparisons,
    reason = "the programs whose folders are read (sysctl, systemd, pam_limits) match `.conf` case-sensitively, and so must we"
)]

mod diff;
mod ordered;
mod sshd;

use std::collections::BTreeMap;
use std::io::Write as _;
use std::os::unix::fs::PermissionsExt as _;

use attest_collect::RootFs;
use attest_model::{CheckMeta, Fix, FixKind};
use schemars::JsonSchema;
use serde::Serialize;
use sha2::Digest as _;

pub use diff::{edit_diff, new_file_diff};

/// Version of the [`Remediation`] document.
pub const SCHEMA_VERSION: u32 = 1;

/// Permission bits of a written drop-in: configuration anyone may read, only root may change.
pub const DROPIN_MODE: u32 = 0o644;

/// What `attest remediate` can do for a check on a root.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// The fix is a drop-in file that would take effect (or is in place already).
    Applicable,
    /// The check has no fix Attest can write: its remediation is done by a person.
    Manual,
    /// The check has a fix, but its drop-in would not take effect on this root (or cannot be
    /// written without changing an existing file); `diff` holds the manual edit, if one can
    /// be given.
    Blocked,
}

impl Status {
    /// The name used in output.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Applicable => "applicable",
            Status::Manual => "manual",
            Status::Blocked => "blocked",
        }
    }
}

/// The remediation of one check on one root, as `attest remediate --format json` prints it
/// (`schemas/remediation.schema.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Remediation {
    /// Version of this document.
    pub schema_version: u32,
    /// Check id.
    pub check: String,
    /// What passing means.
    pub title: String,
    /// `applicable`, `manual` or `blocked`.
    pub status: Status,
    /// The root the plan was made for, on the machine that ran Attest.
    pub root: String,
    /// What the fix configures, for a check with a fix.
    pub kind: Option<FixKind>,
    /// The drop-in file, as a path inside the root, for a check with a fix.
    pub path: Option<String>,
    /// The settings the drop-in sets.
    pub settings: BTreeMap<String, String>,
    /// A unified diff: the new drop-in file (`applicable`; empty when it is in place already),
    /// or the manual edit of existing files (`blocked`, when one can be given).
    pub diff: String,
    /// One sentence: what the fix does, why it cannot be applied, or why it is manual.
    pub reason: String,
    /// How the program reads its configuration and what each setting does, line by line.
    pub explanation: Vec<String>,
    /// The check's remediation text, from its metadata.
    pub remediation: String,
    /// SHA-256 of the drop-in's content (lowercase hexadecimal), for a check with a fix.
    pub sha256: Option<String>,
    /// Whether the drop-in is in place already with exactly this content.
    pub in_place: bool,
    /// Whether this run wrote the drop-in.
    pub applied: bool,
    /// The ledger entry that records the written drop-in (`remediation.applied`).
    pub ledger_entry: Option<u64>,
    /// What makes the running system read the new configuration.
    pub reload: Option<String>,
    /// The drop-in's content.
    #[serde(skip)]
    content: Option<String>,
}

impl Remediation {
    /// The drop-in's content, for a check with a fix.
    pub fn content(&self) -> Option<&str> {
        self.content.as_deref()
    }
}

/// A fix's drop-in file: where it goes and what it holds, with the line of each setting.
#[derive(Debug, Clone)]
pub(crate) struct DropIn {
    pub(crate) check: String,
    pub(crate) title: String,
    pub(crate) kind: FixKind,
    pub(crate) path: String,
    pub(crate) content: String,
    /// `(key, value, 1-based line in content)`, in the order written.
    pub(crate) lines: Vec<(String, String, usize)>,
}

impl DropIn {
    /// The folder the drop-in goes to.
    pub(crate) fn dir(&self) -> &str {
        self.path.rsplit_once('/').map_or("/", |(dir, _)| dir)
    }

    /// The drop-in's file name.
    pub(crate) fn name(&self) -> &str {
        self.path
            .rsplit_once('/')
            .map_or(&self.path, |(_, name)| name)
    }

    /// How one setting is written in a file of this kind.
    pub(crate) fn line(kind: FixKind, key: &str, value: &str) -> String {
        match kind {
            FixKind::Sshd => format!("{key} {value}"),
            FixKind::Sysctl => format!("{key} = {value}"),
            FixKind::Journald | FixKind::Coredump => format!("{key}={value}"),
            FixKind::Limits => {
                let words: Vec<&str> = key.split_whitespace().collect();
                format!("{} {value}", words.join(" "))
            }
        }
    }
}

/// The folder, file-name prefix and (for systemd) section of each kind's drop-in.
fn layout(kind: FixKind) -> (&'static str, &'static str, Option<&'static str>) {
    match kind {
        FixKind::Sshd => ("/etc/ssh/sshd_config.d", "00", None),
        FixKind::Sysctl => ("/etc/sysctl.d", "60", None),
        FixKind::Journald => ("/etc/systemd/journald.conf.d", "60", Some("Journal")),
        FixKind::Coredump => ("/etc/systemd/coredump.conf.d", "60", Some("Coredump")),
        FixKind::Limits => ("/etc/security/limits.d", "60", None),
    }
}

/// One line of text for a comment: control characters become spaces.
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// The drop-in file of `fix` for `check`.
pub(crate) fn dropin(check: &CheckMeta, fix: &Fix) -> DropIn {
    let (dir, prefix, section) = layout(fix.kind);
    // Check ids are lower-case words and dots; anything else cannot reach a file name.
    let name: String = check
        .id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut content = format!(
        "# {}\n# Written by `attest remediate {}`; delete this file to undo.\n",
        one_line(&check.title),
        one_line(&check.id)
    );
    let mut line_no = 2_usize;
    if let Some(section) = section {
        content.push('[');
        content.push_str(section);
        content.push_str("]\n");
        line_no = line_no.saturating_add(1);
    }
    let mut lines = Vec::new();
    for (key, value) in &fix.settings {
        line_no = line_no.saturating_add(1);
        content.push_str(&DropIn::line(fix.kind, key, value));
        content.push('\n');
        lines.push((key.clone(), value.clone(), line_no));
    }
    DropIn {
        check: check.id.clone(),
        title: one_line(&check.title),
        kind: fix.kind,
        path: format!("{dir}/{prefix}-attest-{name}.conf"),
        content,
        lines,
    }
}

/// Whether a drop-in would take effect, as the program reading the configuration decides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Every setting takes effect; how, line by line.
    Effective(Vec<String>),
    /// It would not take effect (or cannot be judged).
    Blocked {
        /// Why, in one sentence.
        reason: String,
        /// More detail, line by line.
        explanation: Vec<String>,
        /// The manual edit that would take effect instead, if one can be given.
        edits: Vec<Edit>,
    },
}

impl Verdict {
    /// A verdict that blocks with only a reason.
    pub(crate) fn blocked(reason: impl Into<String>) -> Self {
        Verdict::Blocked {
            reason: reason.into(),
            explanation: Vec::new(),
            edits: Vec::new(),
        }
    }
}

/// A manual edit of an existing file: its text before and after.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Edit {
    /// Path inside the root.
    pub(crate) path: String,
    /// The file's text now.
    pub(crate) before: String,
    /// The file's text after the edit.
    pub(crate) after: String,
}

/// Replaces 1-based lines of `text` with new text, keeping each line's indentation and ending.
pub(crate) fn replace_lines(text: &str, replacements: &BTreeMap<usize, String>) -> String {
    let mut out = String::with_capacity(text.len());
    for (index, line) in text.split_inclusive('\n').enumerate() {
        let Some(new) = replacements.get(&index.saturating_add(1)) else {
            out.push_str(line);
            continue;
        };
        let body = line.trim_end_matches(['\n', '\r']);
        let ending = line.get(body.len()..).unwrap_or_default();
        let indent_len = body.len().saturating_sub(body.trim_start().len());
        out.push_str(body.get(..indent_len).unwrap_or_default());
        out.push_str(new);
        out.push_str(ending);
    }
    out
}

/// The verdict once every setting is judged: effective when nothing blocks it, else blocked
/// with the reasons and the manual edit of each winning line (`replacements`: file → line →
/// new text).
pub(crate) fn conclude(
    fs: &RootFs,
    blocked: &[String],
    replacements: BTreeMap<String, BTreeMap<usize, String>>,
    mut explanation: Vec<String>,
) -> Verdict {
    if blocked.is_empty() {
        return Verdict::Effective(explanation);
    }
    let edits = edits(fs, replacements);
    if !edits.is_empty() {
        explanation.push(
            "the diff is the manual edit that would take effect instead: the line that wins gets the fix's value".to_owned(),
        );
    }
    Verdict::Blocked {
        reason: format!("the drop-in would not take effect: {}", blocked.join("; ")),
        explanation,
        edits,
    }
}

/// Groups line replacements by file into edits of the files' current text (read from `fs`).
pub(crate) fn edits(
    fs: &RootFs,
    replacements: BTreeMap<String, BTreeMap<usize, String>>,
) -> Vec<Edit> {
    replacements
        .into_iter()
        .filter_map(|(path, lines)| {
            let before = fs.read_text(&path).ok()?;
            let after = replace_lines(&before, &lines);
            Some(Edit {
                path,
                before,
                after,
            })
        })
        .collect()
}

fn reload_hint(kind: FixKind, live: bool) -> String {
    match kind {
        FixKind::Sshd => "sshd -t && systemctl reload ssh   # the unit is sshd on RHEL: sshd reads its configuration when it starts or reloads".to_owned(),
        FixKind::Sysctl => {
            let mut hint = "sysctl --system   # or reboot: the running kernel keeps its values until the files are loaded".to_owned();
            if live {
                hint.push_str("; a scan of the live root reads the running kernel, so load them before scanning again");
            }
            hint
        }
        FixKind::Journald => "systemctl restart systemd-journald".to_owned(),
        FixKind::Coredump => "nothing to reload: systemd-coredump reads its configuration at each crash".to_owned(),
        FixKind::Limits => "log in again: limits apply to sessions opened after the change".to_owned(),
    }
}

/// Plans the remediation of `check` on the root `fs`: what would be written and whether it
/// would take effect. Reads the root; writes nothing.
pub fn plan(check: &CheckMeta, fs: &RootFs) -> Remediation {
    let mut out = Remediation {
        schema_version: SCHEMA_VERSION,
        check: check.id.clone(),
        title: check.title.clone(),
        status: Status::Manual,
        root: fs.root().display().to_string(),
        kind: None,
        path: None,
        settings: BTreeMap::new(),
        diff: String::new(),
        reason: String::new(),
        explanation: Vec::new(),
        remediation: check.remediation.clone(),
        sha256: None,
        in_place: false,
        applied: false,
        ledger_entry: None,
        reload: None,
        content: None,
    };
    let Some(fix) = &check.fix else {
        out.reason = format!(
            "`{}` has no fix Attest can write: the remediation is manual",
            check.id
        );
        return out;
    };
    let dropin = dropin(check, fix);
    out.kind = Some(fix.kind);
    out.path = Some(dropin.path.clone());
    out.settings.clone_from(&fix.settings);
    out.sha256 = Some(hex::encode(sha2::Sha256::digest(dropin.content.as_bytes())));
    out.reload = Some(reload_hint(fix.kind, fs.is_live()));
    out.content = Some(dropin.content.clone());
    match fs.read_if_present(&dropin.path) {
        Ok(Some(existing)) if existing == dropin.content => out.in_place = true,
        Ok(Some(existing)) => {
            out.status = Status::Blocked;
            out.reason = format!(
                "{} exists with other content, and Attest does not change a file that exists",
                dropin.path
            );
            out.explanation.push(format!(
                "the diff shows what would make it the fix's drop-in: edit it by hand, or delete it and run `attest remediate {}` again",
                check.id
            ));
            out.diff = edit_diff(&dropin.path, &existing, &dropin.content);
            return out;
        }
        Ok(None) => {}
        Err(e) => {
            out.status = Status::Blocked;
            out.reason = format!("{} cannot be written: {e}", dropin.path);
            return out;
        }
    }
    let verdict = match fix.kind {
        FixKind::Sshd => sshd::judge(fs, &dropin),
        FixKind::Sysctl => ordered::sysctl(fs, &dropin),
        FixKind::Journald => ordered::systemd(fs, &dropin, "journald.conf", "Journal"),
        FixKind::Coredump => ordered::systemd(fs, &dropin, "coredump.conf", "Coredump"),
        FixKind::Limits => ordered::limits(fs, &dropin),
    };
    match verdict {
        Verdict::Effective(explanation) => {
            out.status = Status::Applicable;
            let set: Vec<String> = dropin
                .lines
                .iter()
                .map(|(k, v, _)| format!("`{}`", DropIn::line(fix.kind, k, v)))
                .collect();
            out.reason = if out.in_place {
                format!(
                    "{} is in place already and sets {}; nothing to write",
                    dropin.path,
                    set.join(", ")
                )
            } else {
                format!(
                    "writes the new file {} (mode 0644) that sets {}; no existing file is changed",
                    dropin.path,
                    set.join(", ")
                )
            };
            out.explanation = explanation;
            if !out.in_place {
                out.diff = new_file_diff(&dropin.path, &dropin.content);
            }
        }
        Verdict::Blocked {
            reason,
            explanation,
            edits,
        } => {
            out.status = Status::Blocked;
            out.reason = reason;
            out.explanation = explanation;
            out.diff = edits
                .iter()
                .map(|e| edit_diff(&e.path, &e.before, &e.after))
                .collect();
        }
    }
    out
}

/// Why a drop-in could not be written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApplyError {
    /// The plan is not one that can be applied.
    #[error("`{check}` cannot be applied: {reason}")]
    NotApplicable {
        /// Check id.
        check: String,
        /// Why.
        reason: String,
    },
    /// The drop-in's folder is behind a symbolic link loop inside the root.
    #[error("cannot resolve `{path}` inside the root: symbolic link loop")]
    Resolve {
        /// The folder, inside the root.
        path: String,
    },
    /// Writing failed.
    #[error("cannot write {path}")]
    Io {
        /// The file or folder, on this machine.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A file appeared at the drop-in's path while it was written; it was left as it was.
    #[error("{path} appeared while the drop-in was written; it was left as it is")]
    Exists {
        /// The path, inside the root.
        path: String,
    },
}

/// Writes the drop-in of an applicable plan under the root: a new file, whole or absent
/// (temporary file in the same folder, `fsync`, rename that never replaces a file, `fsync` of
/// the folder), mode 0644. Returns whether a file was written: `false` when the drop-in is in
/// place already.
pub fn apply(plan: &mut Remediation, fs: &RootFs) -> Result<bool, ApplyError> {
    let (Status::Applicable, Some(path), Some(content)) =
        (plan.status, plan.path.clone(), plan.content.clone())
    else {
        return Err(ApplyError::NotApplicable {
            check: plan.check.clone(),
            reason: plan.reason.clone(),
        });
    };
    if plan.in_place {
        return Ok(false);
    }
    let (dir, name) = path.rsplit_once('/').unwrap_or(("/", &path));
    let host_dir = fs.resolve(dir).ok_or_else(|| ApplyError::Resolve {
        path: dir.to_owned(),
    })?;
    let io = |p: &std::path::Path| {
        let p = p.display().to_string();
        move |source: std::io::Error| ApplyError::Io { path: p, source }
    };
    fs_err::create_dir_all(&host_dir).map_err(io(&host_dir))?;
    let target = host_dir.join(name);
    // A dot name never matches the `*.conf` patterns the programs read.
    let mut tmp = tempfile::Builder::new()
        .prefix(".attest-")
        .tempfile_in(&host_dir)
        .map_err(io(&host_dir))?;
    tmp.write_all(content.as_bytes()).map_err(io(tmp.path()))?;
    tmp.as_file()
        .set_permissions(std::fs::Permissions::from_mode(DROPIN_MODE))
        .map_err(io(tmp.path()))?;
    tmp.as_file().sync_all().map_err(io(tmp.path()))?;
    match tmp.persist_noclobber(&target) {
        Ok(_) => {}
        Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists => {
            return Err(ApplyError::Exists { path });
        }
        Err(e) => return Err(io(&target)(e.error)),
    }
    fs_err::File::open(&host_dir)
        .and_then(|d| d.sync_all())
        .map_err(io(&host_dir))?;
    plan.applied = true;
    Ok(true)
}

#[cfg(test)]
mod tests;
