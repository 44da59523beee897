//! Whether an sshd drop-in takes effect, judged by the host collector's reading of
//! `sshd_config` (OpenSSH 9.6 semantics, `attest_collect::host::sshd`).
//!
//! sshd reads `/etc/ssh/sshd_config` from the top, expands each `Include` in place (its glob
//! in lexical order) and, for most keywords, keeps the **first** value it reads. A file in
//! `sshd_config.d` is therefore read only where an `Include` names it, and one of its lines
//! takes effect only if no line for the same keyword was read before it: in an earlier
//! drop-in, or in `sshd_config` above the `Include`. The drop-in is named `00-attest-...` to
//! sort before the other drop-ins. The file is judged by parsing the configuration twice —
//! as it is, and with the drop-in added — and reading which line gives each keyword its value.

use std::collections::BTreeMap;

use attest_collect::RootFs;
use attest_collect::host::sshd::{self, ConfigSource, SshdConfig};

use crate::{DropIn, Verdict, conclude};

/// The main configuration file.
pub(crate) const MAIN: &str = "/etc/ssh/sshd_config";

/// The root's configuration files, with the drop-in added or hidden.
struct Overlay<'a> {
    fs: &'a RootFs,
    dropin: &'a DropIn,
    /// Whether the drop-in is there (with its content) or absent.
    with: bool,
}

impl ConfigSource for Overlay<'_> {
    fn read(&self, path: &str) -> Result<String, String> {
        if path == self.dropin.path {
            return if self.with {
                Ok(self.dropin.content.clone())
            } else {
                Err(format!("{path}: absent"))
            };
        }
        self.fs.read_text(path).map_err(|e| e.0)
    }

    fn glob(&self, pattern: &str) -> Result<Vec<String>, String> {
        let mut found = self.fs.glob(pattern).map_err(|e| e.0)?;
        found.retain(|p| *p != self.dropin.path);
        if self.with && glob_matches(pattern, &self.dropin.path) {
            found.push(self.dropin.path.clone());
            found.sort();
        }
        Ok(found)
    }
}

/// Only the drop-in, read as if it were the whole configuration.
struct Alone<'a>(&'a DropIn);

impl ConfigSource for Alone<'_> {
    fn read(&self, path: &str) -> Result<String, String> {
        if path == self.0.path {
            Ok(self.0.content.clone())
        } else {
            Err(format!("{path}: absent"))
        }
    }

    fn glob(&self, _pattern: &str) -> Result<Vec<String>, String> {
        Ok(Vec::new())
    }
}

/// Whether `path` matches the glob `pattern` as glob(3) matches it: component by component,
/// `*` never crossing `/`, and a leading dot matched only by a leading dot.
pub(crate) fn glob_matches(pattern: &str, path: &str) -> bool {
    let pattern_parts: Vec<&str> = pattern.split('/').filter(|p| !p.is_empty()).collect();
    let path_parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    if pattern_parts.len() != path_parts.len() {
        return false;
    }
    pattern_parts.iter().zip(&path_parts).all(|(pat, name)| {
        if name.starts_with('.') && !pat.starts_with('.') {
            return false;
        }
        if !pat.contains(['*', '?', '[']) {
            return pat == name;
        }
        globset::GlobBuilder::new(pat)
            .literal_separator(true)
            .build()
            .is_ok_and(|g| g.compile_matcher().is_match(name))
    })
}

fn at(setting: &sshd::Setting) -> String {
    format!("{}:{}", setting.file, setting.line)
}

/// Judges whether `dropin` (an sshd drop-in) would take effect on `fs`.
pub(crate) fn judge(fs: &RootFs, dropin: &DropIn) -> Verdict {
    let with = sshd::parse(
        &Overlay {
            fs,
            dropin,
            with: true,
        },
        MAIN,
    );
    if !with.unreadable.is_empty() {
        return Verdict::blocked(format!(
            "cannot tell whether the drop-in would take effect: the sshd configuration cannot be read in full ({})",
            with.unreadable.join("; ")
        ));
    }
    if with.files.is_empty() {
        let why = with
            .problems
            .first()
            .map_or_else(|| format!("{MAIN}: absent"), |p| p.message.clone());
        return Verdict::blocked(format!(
            "sshd has no configuration to add a drop-in to ({why})"
        ));
    }
    let alone = sshd::parse(&Alone(dropin), &dropin.path);
    if let Some(problem) = alone.problems.first() {
        return Verdict::blocked(format!(
            "sshd would reject line {} of the drop-in: {}",
            problem.line, problem.message
        ));
    }
    if !with.files.contains(&dropin.path) {
        return no_include(fs, dropin);
    }
    let without = sshd::parse(
        &Overlay {
            fs,
            dropin,
            with: false,
        },
        MAIN,
    );
    let read_before: Vec<&str> = with
        .files
        .iter()
        .take_while(|f| **f != dropin.path)
        .map(String::as_str)
        .collect();
    let mut explanation = vec![format!(
        "sshd reads {} through an `Include` of {}/*.conf and keeps the first value it reads for each keyword; read before it: {}",
        dropin.name(),
        dropin.dir(),
        read_before.join(", ")
    )];
    let mut blocked = Vec::new();
    let mut replacements: BTreeMap<String, BTreeMap<usize, String>> = BTreeMap::new();
    for (key, value, line) in &dropin.lines {
        let written = DropIn::line(dropin.kind, key, value);
        let Some((keyword, ours)) = alone.explicit.iter().find(|(_, s)| s.line == *line) else {
            blocked.push(format!(
                "sshd ignores `{written}` (a deprecated or unsupported keyword)"
            ));
            continue;
        };
        match with.explicit.get(keyword) {
            Some(winner) if winner.file == dropin.path => {
                explanation.push(format!(
                    "`{written}` takes effect, {}",
                    now(&without, keyword, key)
                ));
            }
            Some(winner) if with.effective.get(keyword) == Some(&ours.value) => {
                explanation.push(format!(
                    "`{written}`: {key} is {} already by {}, which sshd reads first",
                    ours.value,
                    at(winner)
                ));
            }
            Some(winner) => {
                blocked.push(format!(
                    "`{key} {}` at {} is read before the drop-in, and sshd keeps the first value",
                    winner.value,
                    at(winner)
                ));
                replacements
                    .entry(winner.file.clone())
                    .or_default()
                    .insert(winner.line, written.clone());
            }
            None => match with.unknown.get(keyword) {
                Some(why) => blocked.push(format!(
                    "the line that sets {key} first is one sshd rejects ({why}); fix that line"
                )),
                None => blocked.push(format!(
                    "`{written}` does not apply to every connection: the `Include` that reads the drop-in is inside a `Match` block"
                )),
            },
        }
    }
    conclude(fs, &blocked, replacements, explanation)
}

/// What the configuration gives `keyword` (written `key` in the fix) without the drop-in, for
/// explanations.
fn now(without: &SshdConfig, keyword: &str, key: &str) -> String {
    match (
        without.explicit.get(keyword),
        without.effective.get(keyword),
    ) {
        (Some(setting), _) => format!("replacing `{key} {}` set at {}", setting.value, at(setting)),
        (None, Some(default)) => format!("replacing OpenSSH's default `{key} {default}`"),
        (None, None) => format!("where {key} is not known now"),
    }
}

/// The verdict when sshd would not read the drop-in at all: the manual edit puts the settings
/// at the top of `sshd_config`, where they are read first.
fn no_include(fs: &RootFs, dropin: &DropIn) -> Verdict {
    let reason = format!(
        "the drop-in would not take effect: {MAIN} has no `Include` that reads {}/*.conf, so sshd would never read {}",
        dropin.dir(),
        dropin.path
    );
    let mut explanation = vec![format!(
        "sshd keeps the first value it reads for a keyword; lines at the top of {MAIN} are read first"
    )];
    let mut edits = Vec::new();
    if let Ok(before) = fs.read_text(MAIN) {
        let mut after = format!("# {} (attest remediate {})\n", dropin.title, dropin.check);
        for (key, value, _) in &dropin.lines {
            after.push_str(&DropIn::line(dropin.kind, key, value));
            after.push('\n');
        }
        after.push_str(&before);
        edits.push(crate::Edit {
            path: MAIN.to_owned(),
            before,
            after,
        });
        explanation.push(format!(
            "the diff is the manual edit that would take effect instead; or add `Include {}/*.conf` at the top of {MAIN} and run again",
            dropin.dir()
        ));
    }
    Verdict::Blocked {
        reason,
        explanation,
        edits,
    }
}
