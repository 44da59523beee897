//! Whether a drop-in takes effect where the **last** value wins: sysctl.d, systemd's
//! `journald.conf.d` and `coredump.conf.d`, and PAM's `limits.d`.
//!
//! Each family applies its files in a fixed order and a later assignment of a key replaces an
//! earlier one:
//! - sysctl (systemd-sysctl and `sysctl --system`, as the host collector reads them): the
//!   `*.conf` files of `/etc/sysctl.d`, `/run/sysctl.d`, `/usr/local/lib/sysctl.d`,
//!   `/usr/lib/sysctl.d` and `/lib/sysctl.d` sorted by file name across the folders (a name in
//!   an earlier folder hides the same name in a later one), then `/etc/sysctl.conf`;
//! - systemd (`journald.conf(5)`, `coredump.conf(5)`): the main file, then the `*.conf` files
//!   of `/etc/systemd/<name>.d`, `/run/systemd/<name>.d`, `/usr/local/lib/systemd/<name>.d`
//!   and `/usr/lib/systemd/<name>.d` sorted by file name the same way; only lines in the
//!   program's section (`[Journal]`, `[Coredump]`) count;
//! - limits (`pam_limits(8)`): `/etc/security/limits.conf`, then `/etc/security/limits.d/*.conf`
//!   in C-locale order, as if concatenated; a later line for the same domain replaces an
//!   earlier one, and a line for a user or group beats a `*` line wherever it is.
//!
//! A drop-in named `60-attest-...` therefore loses to any later file that sets the same key to
//! another value; the plan is then blocked and the manual edit changes that winning line.

use std::collections::BTreeMap;

use attest_collect::RootFs;
use attest_collect::host::kernel::{SYSCTL_DIRS, sysctl_assignments, sysctl_files};

use crate::{DropIn, Verdict, conclude};

/// One assignment read from a file.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Assignment {
    file: String,
    line: usize,
    key: String,
    value: String,
}

impl Assignment {
    fn at(&self) -> String {
        format!("{}:{}", self.file, self.line)
    }
}

/// The `*.conf` files of `dirs` by file name, a name in an earlier folder hiding the same name
/// in later ones, with the drop-in in its place (hiding any file of its name).
fn by_name(fs: &RootFs, dirs: &[String], dropin: &DropIn) -> Result<Vec<String>, String> {
    let mut names: BTreeMap<String, String> = BTreeMap::new();
    names.insert(dropin.name().to_owned(), dropin.path.clone());
    for dir in dirs {
        for name in fs.entries(dir).map_err(|e| e.0)? {
            if name.ends_with(".conf") && !name.starts_with('.') {
                names
                    .entry(name.clone())
                    .or_insert_with(|| format!("{dir}/{name}"));
            }
        }
    }
    Ok(names.into_values().collect())
}

/// The text of each file in `order`, the drop-in's from the plan; files that do not exist
/// are left out. An unreadable file is an error: it may set anything.
fn texts(fs: &RootFs, order: &[String], dropin: &DropIn) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    for path in order {
        if *path == dropin.path {
            out.push((path.clone(), dropin.content.clone()));
            continue;
        }
        match fs.read_if_present(path) {
            Ok(Some(text)) => out.push((path.clone(), text)),
            Ok(None) => {}
            Err(e) => return Err(e.0),
        }
    }
    Ok(out)
}

fn cannot_tell(why: &str) -> Verdict {
    Verdict::blocked(format!(
        "cannot tell whether the drop-in would take effect: {why}"
    ))
}

/// The files read after the drop-in, for explanations.
fn after(order: &[(String, String)], dropin: &DropIn) -> String {
    let later: Vec<&str> = order
        .iter()
        .skip_while(|(p, _)| *p != dropin.path)
        .skip(1)
        .map(|(p, _)| p.as_str())
        .collect();
    if later.is_empty() {
        "none".to_owned()
    } else {
        later.join(", ")
    }
}

/// Judges keys where the last assignment in `assignments` (in reading order) wins; `key_of`
/// turns a setting of the fix into the key assignments carry.
fn last_wins(
    fs: &RootFs,
    dropin: &DropIn,
    assignments: &[Assignment],
    mut explanation: Vec<String>,
    key_of: impl Fn(&str) -> String,
) -> Verdict {
    let mut blocked = Vec::new();
    let mut replacements: BTreeMap<String, BTreeMap<usize, String>> = BTreeMap::new();
    for (key, value, _) in &dropin.lines {
        let written = DropIn::line(dropin.kind, key, value);
        let wanted = key_of(key);
        let for_key: Vec<&Assignment> = assignments.iter().filter(|a| a.key == wanted).collect();
        let Some(winner) = for_key.last() else {
            blocked.push(format!("`{written}` is not read from the drop-in"));
            continue;
        };
        if winner.file == dropin.path {
            let before = for_key
                .iter()
                .rev()
                .find(|a| a.file != dropin.path)
                .map_or_else(
                    || "no other file sets it".to_owned(),
                    |a| format!("replacing {} = {} from {}", a.key, a.value, a.at()),
                );
            explanation.push(format!("`{written}` takes effect, {before}"));
        } else if winner.value == *value {
            explanation.push(format!(
                "`{written}`: {} is {} already by {}, which is read after the drop-in",
                winner.key,
                winner.value,
                winner.at()
            ));
        } else {
            blocked.push(format!(
                "`{} = {}` at {} is read after the drop-in, and the last value wins",
                winner.key,
                winner.value,
                winner.at()
            ));
            replacements
                .entry(winner.file.clone())
                .or_default()
                .insert(winner.line, written.clone());
        }
    }
    conclude(fs, &blocked, replacements, explanation)
}

/// Normalises a sysctl key as sysctl reads it: `/` is `.`, a leading `-` is dropped.
fn sysctl_key(key: &str) -> String {
    key.trim().trim_start_matches('-').replace('/', ".")
}

/// Judges a sysctl.d drop-in.
pub(crate) fn sysctl(fs: &RootFs, dropin: &DropIn) -> Verdict {
    let (_, unreadable) = sysctl_files(fs);
    if !unreadable.is_empty() {
        return cannot_tell(&unreadable.join("; "));
    }
    let dirs: Vec<String> = SYSCTL_DIRS.iter().map(|d| (*d).to_owned()).collect();
    let mut order = match by_name(fs, &dirs, dropin) {
        Ok(order) => order,
        Err(why) => return cannot_tell(&why),
    };
    order.push("/etc/sysctl.conf".to_owned());
    let files = match texts(fs, &order, dropin) {
        Ok(files) => files,
        Err(why) => return cannot_tell(&why),
    };
    let assignments: Vec<Assignment> = files
        .iter()
        .flat_map(|(file, text)| {
            sysctl_assignments(text).map(move |(line, key, value)| Assignment {
                file: file.clone(),
                line,
                key,
                value,
            })
        })
        .collect();
    let explanation = vec![format!(
        "sysctl applies the *.conf files of {} by file name (a name in an earlier folder hides the same name in a later one), then /etc/sysctl.conf, and the last value of a key wins; read after {}: {}",
        SYSCTL_DIRS.join(", "),
        dropin.name(),
        after(&files, dropin)
    )];
    last_wins(fs, dropin, &assignments, explanation, sysctl_key)
}

/// The `Key=value` lines of `section` in a systemd configuration file.
fn systemd_assignments(file: &str, text: &str, section: &str) -> Vec<Assignment> {
    let mut current = String::new();
    let mut out = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            name.trim().clone_into(&mut current);
            continue;
        }
        if current != section {
            continue;
        }
        if let Some((key, value)) = line.split_once('=') {
            out.push(Assignment {
                file: file.to_owned(),
                line: index.saturating_add(1),
                key: key.trim().to_owned(),
                value: value.trim().to_owned(),
            });
        }
    }
    out
}

/// Judges a drop-in of a systemd component's configuration (`journald.conf`,
/// `coredump.conf`) whose settings are in `[section]`.
pub(crate) fn systemd(fs: &RootFs, dropin: &DropIn, conf: &str, section: &str) -> Verdict {
    let dirs: Vec<String> = [
        "/etc/systemd",
        "/run/systemd",
        "/usr/local/lib/systemd",
        "/usr/lib/systemd",
    ]
    .iter()
    .map(|d| format!("{d}/{conf}.d"))
    .collect();
    let main = format!("/etc/systemd/{conf}");
    let mut order = vec![main.clone()];
    match by_name(fs, &dirs, dropin) {
        Ok(more) => order.extend(more),
        Err(why) => return cannot_tell(&why),
    }
    let files = match texts(fs, &order, dropin) {
        Ok(files) => files,
        Err(why) => return cannot_tell(&why),
    };
    let assignments: Vec<Assignment> = files
        .iter()
        .flat_map(|(file, text)| systemd_assignments(file, text, section))
        .collect();
    let explanation = vec![format!(
        "systemd reads {main}, then the *.conf files of {} by file name (a name in an earlier folder hides the same name in a later one); in [{section}] the last value of a setting wins; read after {}: {}",
        dirs.join(", "),
        dropin.name(),
        after(&files, dropin)
    )];
    last_wins(fs, dropin, &assignments, explanation, |k| {
        k.trim().to_owned()
    })
}

/// How specific a limits domain is: lower beats higher (`pam_limits`: a user, then a group,
/// then `%` (all groups), then `*`).
fn specificity(domain: &str) -> u8 {
    match domain {
        "*" => 3,
        d if d.starts_with('%') => 2,
        d if d.starts_with('@') => 1,
        _ => 0,
    }
}

/// One limits line: `(domain, type, item, value)`.
type Limit = (String, String, String, String);

fn limits_lines(text: &str) -> Vec<(usize, Limit)> {
    text.lines()
        .enumerate()
        .filter_map(|(index, line)| {
            let body = line.split('#').next().unwrap_or_default();
            let words: Vec<&str> = body.split_whitespace().collect();
            match words.as_slice() {
                [domain, kind, item, value] => Some((
                    index.saturating_add(1),
                    (
                        (*domain).to_owned(),
                        (*kind).to_owned(),
                        (*item).to_owned(),
                        (*value).to_owned(),
                    ),
                )),
                _ => None,
            }
        })
        .collect()
}

/// Judges a limits.d drop-in.
pub(crate) fn limits(fs: &RootFs, dropin: &DropIn) -> Verdict {
    let mut order = vec!["/etc/security/limits.conf".to_owned()];
    match by_name(fs, &["/etc/security/limits.d".to_owned()], dropin) {
        Ok(more) => order.extend(more),
        Err(why) => return cannot_tell(&why),
    }
    let files = match texts(fs, &order, dropin) {
        Ok(files) => files,
        Err(why) => return cannot_tell(&why),
    };
    let lines: Vec<(usize, &str, Limit)> = files
        .iter()
        .flat_map(|(file, text)| {
            limits_lines(text)
                .into_iter()
                .map(move |(line, limit)| (line, file.as_str(), limit))
        })
        .collect();
    let mut explanation = vec![format!(
        "pam_limits reads /etc/security/limits.conf, then /etc/security/limits.d/*.conf by file name, as if concatenated: a later line for the same domain replaces an earlier one, and a line for a user or group beats a `*` line wherever it is; read after {}: {}",
        dropin.name(),
        after(&files, dropin)
    )];
    let mut blocked = Vec::new();
    let mut replacements: BTreeMap<String, BTreeMap<usize, String>> = BTreeMap::new();
    let ours_at = lines.iter().position(|(_, file, _)| *file == dropin.path);
    for (key, value, _) in &dropin.lines {
        let written = DropIn::line(dropin.kind, key, value);
        let words: Vec<&str> = key.split_whitespace().collect();
        let [domain, kind, item] = words.as_slice() else {
            blocked.push(format!("`{key}` is not `<domain> <type> <item>`"));
            continue;
        };
        let affects = |l: &Limit| {
            l.2 == *item && (l.1 == *kind || l.1 == "-" || *kind == "-") && l.3 != *value
        };
        let mut shadows = Vec::new();
        for (index, (line, file, limit)) in lines.iter().enumerate() {
            if *file == dropin.path || !affects(limit) {
                continue;
            }
            let later = ours_at.is_some_and(|ours| index > ours);
            let same_domain = limit.0 == *domain;
            let more_specific = specificity(&limit.0) < specificity(domain);
            if (same_domain && later) || more_specific {
                shadows.push((*line, *file, limit));
            }
        }
        if shadows.is_empty() {
            explanation.push(format!("`{written}` takes effect"));
            continue;
        }
        for (line, file, limit) in shadows {
            blocked.push(format!(
                "`{} {} {} {}` at {file}:{line} {}",
                limit.0,
                limit.1,
                limit.2,
                limit.3,
                if limit.0 == *domain {
                    "is read after the drop-in, and the last line wins"
                } else {
                    "names a user or group, and beats the drop-in's line for them"
                }
            ));
            replacements
                .entry(file.to_owned())
                .or_default()
                .insert(line, format!("{} {} {} {value}", limit.0, limit.1, limit.2));
        }
    }
    conclude(fs, &blocked, replacements, explanation)
}
