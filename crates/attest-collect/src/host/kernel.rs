//! Kernel parameters, core dumps, login banners and sensitive file permissions.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Serialize;

use super::{Gather, incomplete, with_dropins};
use crate::RootFs;

/// sysctl keys Attest reads.
pub const SYSCTL_KEYS: &[&str] = &[
    "kernel.randomize_va_space",
    "kernel.kptr_restrict",
    "kernel.dmesg_restrict",
    "kernel.yama.ptrace_scope",
    "kernel.unprivileged_bpf_disabled",
    "kernel.sysrq",
    "kernel.core_pattern",
    "fs.suid_dumpable",
    "fs.protected_hardlinks",
    "fs.protected_symlinks",
    "fs.protected_fifos",
    "fs.protected_regular",
    "net.ipv4.ip_forward",
    "net.ipv4.conf.all.accept_redirects",
    "net.ipv4.conf.default.accept_redirects",
    "net.ipv4.conf.all.send_redirects",
    "net.ipv4.conf.default.send_redirects",
    "net.ipv4.conf.all.accept_source_route",
    "net.ipv4.conf.default.accept_source_route",
    "net.ipv4.conf.all.rp_filter",
    "net.ipv4.conf.all.log_martians",
    "net.ipv4.tcp_syncookies",
    "net.ipv4.icmp_echo_ignore_broadcasts",
    "net.ipv4.icmp_ignore_bogus_error_responses",
    "net.ipv6.conf.all.accept_redirects",
    "net.ipv6.conf.default.accept_redirects",
    "net.ipv6.conf.all.accept_ra",
    "net.ipv6.conf.all.forwarding",
];

/// Kernel parameters.
#[derive(Debug, Clone, Default, Serialize, JsonSchema)]
pub struct KernelFacts {
    /// Where values come from: `live` (`/proc/sys`) or `config` (sysctl.d files).
    pub source: String,
    /// Values by key; keys neither live nor configured are absent (see `unknown`).
    pub sysctl: BTreeMap<String, String>,
    /// For `config`: the file that set each key last.
    pub set_by: BTreeMap<String, String>,
}

/// The sysctl.d files in the order systemd-sysctl applies them: by file name across
/// folders (a name in an earlier folder masks the same name in later ones), then
/// `/etc/sysctl.conf`. Later assignments win. Also the folders that could not be listed.
pub fn sysctl_files(fs: &RootFs) -> (Vec<String>, Vec<String>) {
    let mut by_name: BTreeMap<String, String> = BTreeMap::new();
    let mut unreadable = Vec::new();
    for dir in SYSCTL_DIRS {
        let names = match fs.entries(dir) {
            Ok(names) => names,
            Err(e) => {
                unreadable.push(e.0);
                continue;
            }
        };
        for name in names {
            if name.ends_with(".conf") {
                by_name
                    .entry(name.clone())
                    .or_insert_with(|| format!("{dir}/{name}"));
            }
        }
    }
    let mut files: Vec<String> = by_name.into_values().collect();
    files.push("/etc/sysctl.conf".to_owned());
    (files, unreadable)
}

/// The sysctl.d folders, in the order a file name in one masks the same name in the next.
pub const SYSCTL_DIRS: &[&str] = &[
    "/etc/sysctl.d",
    "/run/sysctl.d",
    "/usr/local/lib/sysctl.d",
    "/usr/lib/sysctl.d",
    "/lib/sysctl.d",
];

/// The `key = value` assignments of a sysctl file, as `(1-based line, key, value)`: `;` and
/// `#` start comments, a `-` prefix (ignore errors) is dropped, and `/` in keys is `.`.
pub fn sysctl_assignments(text: &str) -> impl Iterator<Item = (usize, String, String)> + '_ {
    text.lines().enumerate().filter_map(|(index, line)| {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            return None;
        }
        let (key, value) = line.split_once('=')?;
        let key = key.trim().trim_start_matches('-').replace('/', ".");
        Some((index.saturating_add(1), key, value.trim().to_owned()))
    })
}

/// Applies sysctl `key = value` lines (see [`sysctl_assignments`]).
pub fn apply_sysctl(
    text: &str,
    file: &str,
    values: &mut BTreeMap<String, String>,
    set_by: &mut BTreeMap<String, String>,
) {
    for (_, key, value) in sysctl_assignments(text) {
        values.insert(key.clone(), value);
        set_by.insert(key, file.to_owned());
    }
}

pub(crate) fn kernel(fs: &RootFs, g: &mut Gather) -> KernelFacts {
    let mut facts = KernelFacts::default();
    if fs.is_live() {
        facts.source.push_str("live");
        for key in SYSCTL_KEYS {
            let path = format!("/proc/sys/{}", key.replace('.', "/"));
            match fs.read_text(&path) {
                Ok(v) => {
                    facts.sysctl.insert(
                        (*key).to_owned(),
                        v.split_whitespace().collect::<Vec<_>>().join(" "),
                    );
                }
                Err(e) => g.unknown(&format!("kernel.sysctl.{key}"), e.0),
            }
        }
        return facts;
    }
    facts.source.push_str("config");
    let mut values = BTreeMap::new();
    let mut set_by = BTreeMap::new();
    let (files, mut unreadable) = sysctl_files(fs);
    for file in files {
        match fs.read_if_present(&file) {
            Ok(Some(text)) => apply_sysctl(&text, &file, &mut values, &mut set_by),
            Ok(None) => {}
            Err(e) => unreadable.push(e.0),
        }
    }
    if !unreadable.is_empty() {
        // A file that cannot be read may set any key, or override any value read.
        let why = format!(
            "the sysctl.d configuration cannot be read in full: {}",
            unreadable.join("; ")
        );
        for key in SYSCTL_KEYS {
            g.unknown(&format!("kernel.sysctl.{key}"), why.clone());
        }
        return facts;
    }
    for key in SYSCTL_KEYS {
        match values.get(*key) {
            Some(v) => {
                facts.sysctl.insert((*key).to_owned(), v.clone());
                if let Some(file) = set_by.get(*key) {
                    facts.set_by.insert((*key).to_owned(), file.clone());
                }
            }
            None => g.unknown(
                &format!("kernel.sysctl.{key}"),
                "not set in any sysctl.d file; the kernel default applies and is known only on a live root",
            ),
        }
    }
    facts
}

/// Core dumps, login banners.
#[derive(Debug, Clone, Default, Serialize, JsonSchema)]
pub struct HardeningFacts {
    /// Whether `limits.conf` (or `limits.d`) sets a hard core size of 0 for everyone.
    pub core_hard_limit_zero: bool,
    /// `Storage=` of systemd-coredump, if set.
    pub coredump_storage: Option<String>,
    /// Login banners: path → facts.
    pub banners: BTreeMap<String, BannerFacts>,
}

/// One login banner file.
#[derive(Debug, Clone, Default, Serialize, JsonSchema)]
pub struct BannerFacts {
    /// Whether it exists.
    pub exists: bool,
    /// Whether it has visible text.
    pub has_text: bool,
    /// Whether it reveals the OS or kernel (`\m`, `\r`, `\s`, `\v` escapes, or the OS name).
    pub reveals_os: bool,
}

pub(crate) fn hardening(fs: &RootFs, os_id: Option<&str>, g: &mut Gather) -> HardeningFacts {
    let mut facts = HardeningFacts::default();
    let (limits, unreadable) = with_dropins(
        fs,
        "/etc/security/limits.conf",
        "/etc/security/limits.d/*.conf",
    );
    incomplete(g, "hardening.core_hard_limit_zero", &unreadable);
    for (_, text) in limits {
        for line in text.lines() {
            let words: Vec<&str> = line
                .split('#')
                .next()
                .unwrap_or_default()
                .split_whitespace()
                .collect();
            if let ["*", "hard", "core", "0"] = words.as_slice() {
                facts.core_hard_limit_zero = true;
            }
        }
    }
    let (coredump, unreadable) = with_dropins(
        fs,
        "/etc/systemd/coredump.conf",
        "/etc/systemd/coredump.conf.d/*.conf",
    );
    incomplete(g, "hardening.coredump_storage", &unreadable);
    for (_, text) in coredump {
        for line in text.lines() {
            if let Some(v) = line.trim().strip_prefix("Storage=") {
                facts.coredump_storage = Some(v.trim().to_owned());
            }
        }
    }
    for path in ["/etc/issue", "/etc/issue.net", "/etc/motd"] {
        let text = match fs.read_if_present(path) {
            Ok(text) => text,
            Err(e) => {
                g.unknown(&format!("hardening.banners.{path}"), e.0);
                None
            }
        };
        let banner = BannerFacts {
            exists: fs.exists(path),
            has_text: text.as_ref().is_some_and(|t| !t.trim().is_empty()),
            reveals_os: text.as_ref().is_some_and(|t| {
                let lower = t.to_lowercase();
                ["\\m", "\\r", "\\s", "\\v"].iter().any(|e| t.contains(e))
                    || os_id.is_some_and(|id| !id.is_empty() && lower.contains(&id.to_lowercase()))
            }),
        };
        facts.banners.insert(path.to_owned(), banner);
    }
    facts
}

/// Ownership and permissions of a sensitive file.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct FilePermission {
    /// Whether the file exists.
    pub exists: bool,
    /// Permission bits in octal, e.g. `0640`.
    pub mode: Option<String>,
    /// Owner name (or uid when unnamed).
    pub owner: Option<String>,
    /// Group name (or gid when unnamed).
    pub group: Option<String>,
    /// Whether anyone besides the owner and group may read it.
    pub world_readable: Option<bool>,
    /// Whether anyone besides the owner and group may write it.
    pub world_writable: Option<bool>,
}

/// Files whose permissions Attest reports.
pub const SENSITIVE_FILES: &[&str] = &[
    "/etc/passwd",
    "/etc/passwd-",
    "/etc/shadow",
    "/etc/shadow-",
    "/etc/group",
    "/etc/group-",
    "/etc/gshadow",
    "/etc/gshadow-",
    "/etc/ssh/sshd_config",
    "/etc/sudoers",
    "/etc/crontab",
    "/etc/cron.d",
    "/etc/cron.hourly",
    "/etc/cron.daily",
    "/etc/cron.weekly",
    "/etc/cron.monthly",
    "/boot/grub/grub.cfg",
    "/boot/grub2/grub.cfg",
    "/etc/security/opasswd",
];

pub(crate) fn permissions(
    fs: &RootFs,
    users: &BTreeMap<u32, String>,
    groups: &BTreeMap<u32, String>,
    g: &mut Gather,
) -> BTreeMap<String, FilePermission> {
    let mut paths: Vec<String> = SENSITIVE_FILES.iter().map(|p| (*p).to_owned()).collect();
    // Private host keys: permissions only, never content.
    match fs.glob("/etc/ssh/ssh_host_*_key") {
        Ok(keys) => paths.extend(keys),
        Err(e) => g.unknown("files./etc/ssh/ssh_host_*_key", e.0),
    }
    let mut out = BTreeMap::new();
    for path in paths {
        let entry = match fs.stat(&path) {
            Ok(stat) => FilePermission {
                exists: true,
                mode: Some(format!("{:04o}", stat.mode)),
                owner: Some(
                    users
                        .get(&stat.uid)
                        .cloned()
                        .unwrap_or_else(|| stat.uid.to_string()),
                ),
                group: Some(
                    groups
                        .get(&stat.gid)
                        .cloned()
                        .unwrap_or_else(|| stat.gid.to_string()),
                ),
                world_readable: Some(stat.mode & 0o004 != 0),
                world_writable: Some(stat.mode & 0o002 != 0),
            },
            Err(e) if e.is_absent() => FilePermission {
                exists: false,
                mode: None,
                owner: None,
                group: None,
                world_readable: None,
                world_writable: None,
            },
            Err(e) => {
                g.unknown(&format!("files.{path}"), e.0);
                continue;
            }
        };
        out.insert(path, entry);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn later_sysctl_assignments_win_and_slashes_are_dots() {
        let mut values = BTreeMap::new();
        let mut set_by = BTreeMap::new();
        apply_sysctl(
            "net.ipv4.ip_forward = 1\n# c\n; c\n",
            "/usr/lib/sysctl.d/50.conf",
            &mut values,
            &mut set_by,
        );
        apply_sysctl(
            "-net/ipv4/ip_forward=0\nbogus line\n",
            "/etc/sysctl.d/99.conf",
            &mut values,
            &mut set_by,
        );
        assert_eq!(values["net.ipv4.ip_forward"], "0");
        assert_eq!(set_by["net.ipv4.ip_forward"], "/etc/sysctl.d/99.conf");
        assert_eq!(values.len(), 1);
    }
}
