//! Operating system, packages, processes and systemd units.

use std::collections::{BTreeMap, BTreeSet};

use jiff::civil::Date;
use schemars::JsonSchema;
use serde::Serialize;

use super::Gather;
use crate::RootFs;

/// The operating system.
#[derive(Debug, Clone, Default, Serialize, JsonSchema)]
pub struct OsFacts {
    /// `ID` from os-release, e.g. `debian`.
    pub id: Option<String>,
    /// `VERSION_ID`, e.g. `12`.
    pub version_id: Option<String>,
    /// `PRETTY_NAME`.
    pub pretty_name: Option<String>,
    /// Running kernel release (live root only).
    pub kernel: Option<String>,
    /// Kernels installed under `/boot` or `/lib/modules`.
    pub installed_kernels: Vec<String>,
    /// End of security support of this release, where known.
    #[schemars(with = "Option<String>")]
    pub end_of_life: Option<Date>,
    /// Whether the release is past its end of security support on the collection day.
    pub end_of_life_passed: Option<bool>,
}

/// End of security support (LTS where the distribution has one).
const END_OF_LIFE: &[(&str, &str, &str)] = &[
    ("debian", "9", "2022-06-30"),
    ("debian", "10", "2024-06-30"),
    ("debian", "11", "2026-08-31"),
    ("debian", "12", "2028-06-30"),
    ("debian", "13", "2030-06-30"),
    ("ubuntu", "18.04", "2023-05-31"),
    ("ubuntu", "20.04", "2025-05-31"),
    ("ubuntu", "22.04", "2027-06-01"),
    ("ubuntu", "24.04", "2029-05-31"),
    ("rhel", "7", "2024-06-30"),
    ("rhel", "8", "2029-05-31"),
    ("rhel", "9", "2032-05-31"),
    ("rocky", "8", "2029-05-31"),
    ("rocky", "9", "2032-05-31"),
    ("almalinux", "8", "2029-05-31"),
    ("almalinux", "9", "2032-05-31"),
    ("centos", "7", "2024-06-30"),
    ("centos", "8", "2021-12-31"),
    ("amzn", "2", "2026-06-30"),
    ("amzn", "2023", "2029-06-30"),
];

/// Parses os-release `KEY=value` lines (values may be quoted).
pub(crate) fn parse_env_file(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|line| {
            let line = line.trim();
            if line.starts_with('#') {
                return None;
            }
            let (key, value) = line.split_once('=')?;
            let value = value.trim().trim_matches('"').trim_matches('\'');
            Some((key.trim().to_owned(), value.to_owned()))
        })
        .collect()
}

pub(crate) fn os(fs: &RootFs, today: Date, g: &mut Gather) -> OsFacts {
    let mut facts = OsFacts::default();
    // The fallback is read only when /etc/os-release is absent, so a broken file is reported as such.
    let release = match fs.read_text("/etc/os-release") {
        Err(e) if e.is_absent() => fs.read_text("/usr/lib/os-release"),
        other => other,
    };
    match release {
        Ok(text) => {
            let env = parse_env_file(&text);
            facts.id = env.get("ID").cloned();
            facts.version_id = env.get("VERSION_ID").cloned();
            facts.pretty_name = env.get("PRETTY_NAME").cloned();
        }
        Err(e) => g.unknown("os.id", e.0),
    }
    if let (Some(id), Some(version)) = (&facts.id, &facts.version_id) {
        let major = version.split('.').next().unwrap_or(version);
        let eol = END_OF_LIFE
            .iter()
            .find(|(i, v, _)| i == id && (v == version || *v == major))
            .and_then(|(_, _, d)| d.parse::<Date>().ok());
        facts.end_of_life = eol;
        facts.end_of_life_passed = eol.map(|d| today > d);
        if eol.is_none() {
            g.unknown(
                "os.end_of_life",
                format!("no end-of-life date known for {id} {version}"),
            );
        }
    }
    if fs.is_live() {
        match fs.read_text("/proc/sys/kernel/osrelease") {
            Ok(k) => facts.kernel = Some(k.trim().to_owned()),
            Err(e) => g.unknown("os.kernel", e.0),
        }
    } else {
        g.unknown(
            "os.kernel",
            "the running kernel is known only on a live root",
        );
    }
    let mut kernels = BTreeSet::new();
    for (dir, prefix) in [("/boot", "vmlinuz-"), ("/lib/modules", "")] {
        match fs.entries(dir) {
            Ok(names) => kernels.extend(
                names
                    .into_iter()
                    .filter_map(|n| n.strip_prefix(prefix).map(str::to_owned)),
            ),
            Err(e) => g.unknown("os.installed_kernels", e.0),
        }
    }
    facts.installed_kernels = kernels.into_iter().collect();
    facts
}

/// Installed packages.
#[derive(Debug, Clone, Default, Serialize, JsonSchema)]
pub struct PackageFacts {
    /// Which database was read: `dpkg`, `rpm`, or none.
    pub manager: Option<String>,
    /// Installed packages: name → version.
    pub installed: BTreeMap<String, String>,
}

impl PackageFacts {
    /// Whether `name` is installed.
    pub fn has(&self, name: &str) -> bool {
        self.installed.contains_key(name)
    }
}

/// Parses `/var/lib/dpkg/status`: packages whose status is `install ok installed`.
pub fn parse_dpkg_status(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for paragraph in text.split("\n\n") {
        let (mut name, mut version, mut installed) = (None, None, false);
        for line in paragraph.lines() {
            if let Some(v) = line.strip_prefix("Package:") {
                name = Some(v.trim().to_owned());
            } else if let Some(v) = line.strip_prefix("Version:") {
                version = Some(v.trim().to_owned());
            } else if let Some(v) = line.strip_prefix("Status:") {
                installed = v.split_whitespace().last() == Some("installed");
            }
        }
        if let (Some(name), Some(version), true) = (name, version, installed) {
            out.insert(name, version);
        }
    }
    out
}

/// Reads name, version and release from one RPM header blob (the format of `rpmdb.sqlite`).
pub fn parse_rpm_header(blob: &[u8]) -> Option<(String, String)> {
    let be32 = |at: usize| -> Option<u32> {
        let bytes = blob.get(at..at.checked_add(4)?)?;
        Some(u32::from_be_bytes(bytes.try_into().ok()?))
    };
    let entries = usize::try_from(be32(0)?).ok()?;
    let index_end = entries.checked_mul(16)?.checked_add(8)?;
    let data = blob.get(index_end..)?;
    let mut fields: BTreeMap<u32, String> = BTreeMap::new();
    for i in 0..entries.min(10_000) {
        let at = i.checked_mul(16)?.checked_add(8)?;
        let tag = be32(at)?;
        let kind = be32(at.checked_add(4)?)?;
        let offset = usize::try_from(be32(at.checked_add(8)?)?).ok()?;
        // 1000 NAME, 1001 VERSION, 1002 RELEASE are STRING (type 6).
        if matches!(tag, 1000..=1002) && kind == 6 {
            let rest = data.get(offset..)?;
            let end = rest.iter().position(|b| *b == 0)?;
            fields.insert(tag, String::from_utf8_lossy(rest.get(..end)?).into_owned());
        }
    }
    let name = fields.get(&1000)?.clone();
    let version = match (fields.get(&1001), fields.get(&1002)) {
        (Some(v), Some(r)) => format!("{v}-{r}"),
        (Some(v), None) => v.clone(),
        _ => String::new(),
    };
    Some((name, version))
}

fn rpm_sqlite(fs: &RootFs, path: &str) -> Result<BTreeMap<String, String>, String> {
    let host = fs.resolve(path).ok_or("symbolic link loop")?;
    let conn = rusqlite::Connection::open_with_flags(
        &host,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| e.to_string())?;
    let mut stmt = conn
        .prepare("SELECT blob FROM Packages")
        .map_err(|e| e.to_string())?;
    let rows = stmt
        .query_map([], |r| r.get::<_, Vec<u8>>(0))
        .map_err(|e| e.to_string())?;
    let mut out = BTreeMap::new();
    for blob in rows.flatten() {
        if let Some((name, version)) = parse_rpm_header(&blob) {
            out.insert(name, version);
        }
    }
    Ok(out)
}

pub(crate) fn packages(fs: &RootFs, g: &mut Gather) -> PackageFacts {
    match fs.read_text("/var/lib/dpkg/status") {
        Ok(text) => {
            return PackageFacts {
                manager: Some("dpkg".into()),
                installed: parse_dpkg_status(&text),
            };
        }
        Err(e) if !e.is_absent() => {
            g.unknown("packages", e.0);
            return PackageFacts::default();
        }
        Err(_) => {}
    }
    for path in [
        "/var/lib/rpm/rpmdb.sqlite",
        "/usr/lib/sysimage/rpm/rpmdb.sqlite",
    ] {
        if fs.exists(path) {
            return match rpm_sqlite(fs, path) {
                Ok(installed) => PackageFacts {
                    manager: Some("rpm".into()),
                    installed,
                },
                Err(e) => {
                    g.unknown("packages", format!("{path}: {e}"));
                    PackageFacts::default()
                }
            };
        }
    }
    if fs.exists("/var/lib/rpm/Packages") {
        g.unknown(
            "packages",
            "/var/lib/rpm/Packages: Berkeley DB rpm databases are not read",
        );
    } else {
        g.unknown("packages", "no dpkg or rpm database under the root");
    }
    PackageFacts::default()
}

/// Names of running processes (live root only), from `/proc/<pid>/comm`.
pub(crate) fn processes(fs: &RootFs, g: &mut Gather) -> Option<BTreeSet<String>> {
    if !fs.is_live() {
        g.unknown(
            "processes",
            "running processes are known only on a live root",
        );
        return None;
    }
    let pids = match fs.list_dir("/proc") {
        Ok(p) => p,
        Err(e) => {
            g.unknown("processes", e.0);
            return None;
        }
    };
    let names = pids
        .iter()
        .filter(|p| p.bytes().all(|b| b.is_ascii_digit()))
        .filter_map(|p| fs.read_text(&format!("/proc/{p}/comm")).ok())
        .map(|n| n.trim().to_owned())
        .collect();
    Some(names)
}

/// systemd units enabled or masked, from the unit folders (any root).
#[derive(Debug, Clone, Default, Serialize, JsonSchema)]
pub struct ServiceFacts {
    /// Whether the root uses systemd (`/etc/systemd/system` or `/lib/systemd/system` exists).
    pub systemd: bool,
    /// Whether systemd is running (live root only).
    pub systemd_running: Option<bool>,
    /// Units enabled (linked into a `.wants` folder), e.g. `ssh.service`.
    pub enabled: Vec<String>,
    /// Units masked (linked to `/dev/null`).
    pub masked: Vec<String>,
    /// Legacy or risky network services found installed: name → package.
    pub risky_installed: BTreeMap<String, String>,
}

impl ServiceFacts {
    /// Whether any of `units` is enabled.
    pub fn any_enabled(&self, units: &[&str]) -> bool {
        units.iter().any(|u| self.enabled.iter().any(|e| e == u))
    }
}

const RISKY_PACKAGES: &[&str] = &[
    "telnetd",
    "telnet-server",
    "inetutils-telnetd",
    "rsh-server",
    "rsh-redone-server",
    "tftpd",
    "tftp-server",
    "tftpd-hpa",
    "vsftpd",
    "xinetd",
    "nis",
    "ypserv",
    "talkd",
    "rlogin",
    "avahi-daemon",
    "snmpd",
];

pub(crate) fn services(fs: &RootFs, packages: &PackageFacts, g: &mut Gather) -> ServiceFacts {
    let dirs = [
        "/etc/systemd/system",
        "/lib/systemd/system",
        "/usr/lib/systemd/system",
    ];
    let mut facts = ServiceFacts {
        systemd: dirs.iter().any(|d| fs.exists(d)),
        ..ServiceFacts::default()
    };
    let mut enabled = BTreeSet::new();
    let mut masked = BTreeSet::new();
    for dir in dirs {
        let entries = fs.entries(dir).unwrap_or_else(|e| {
            g.unknown("services.enabled", e.0);
            Vec::new()
        });
        for entry in entries {
            let path = format!("{dir}/{entry}");
            if entry.ends_with(".wants") || entry.ends_with(".requires") {
                // Vendor folders list units that are always pulled in; /etc lists what an admin enabled.
                match fs.entries(&path) {
                    Ok(units) => enabled.extend(units),
                    Err(e) => g.unknown("services.enabled", e.0),
                }
            } else if dir == "/etc/systemd/system"
                && std::fs::read_link(fs.root().join(path.trim_start_matches('/')))
                    .is_ok_and(|t| t.as_os_str() == "/dev/null")
            {
                masked.insert(entry);
            }
        }
    }
    enabled.retain(|u| !masked.contains(u));
    facts.enabled = enabled.into_iter().collect();
    facts.masked = masked.into_iter().collect();
    if fs.is_live() {
        facts.systemd_running = Some(fs.exists("/run/systemd/system"));
    } else {
        g.unknown(
            "services.systemd_running",
            "whether systemd runs is known only on a live root",
        );
    }
    facts.risky_installed = RISKY_PACKAGES
        .iter()
        .filter_map(|p| {
            packages
                .installed
                .get(*p)
                .map(|v| ((*p).to_owned(), v.clone()))
        })
        .collect();
    facts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dpkg_status_keeps_only_installed_packages() {
        let text = "Package: openssh-server\nStatus: install ok installed\nVersion: 1:9.2p1-2\n\nPackage: telnetd\nStatus: deinstall ok config-files\nVersion: 0.17\n\nPackage: broken\nStatus: install ok installed\n";
        let installed = parse_dpkg_status(text);
        assert_eq!(installed.len(), 1);
        assert_eq!(installed["openssh-server"], "1:9.2p1-2");
    }

    #[test]
    fn rpm_headers_yield_name_and_version() {
        // Index of three STRING entries, then the data store.
        let data = b"openssl\x003.0.7\x0027.el9\x00";
        let mut blob = Vec::new();
        blob.extend(3_u32.to_be_bytes());
        blob.extend(u32::try_from(data.len()).unwrap().to_be_bytes());
        for (tag, offset) in [(1000_u32, 0_u32), (1001, 8), (1002, 14)] {
            blob.extend(tag.to_be_bytes());
            blob.extend(6_u32.to_be_bytes());
            blob.extend(offset.to_be_bytes());
            blob.extend(1_u32.to_be_bytes());
        }
        blob.extend(data);
        assert_eq!(
            parse_rpm_header(&blob),
            Some(("openssl".into(), "3.0.7-27.el9".into()))
        );
        // Truncated or garbage headers are skipped, never a panic.
        for cut in 0..blob.len() {
            let _ = parse_rpm_header(&blob[..cut]);
        }
        assert_eq!(parse_rpm_header(&[0xff; 32]), None);
    }

    #[test]
    fn env_files_strip_quotes_and_comments() {
        let env = parse_env_file(
            "# c\nID=debian\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nVERSION_ID='12'\n",
        );
        assert_eq!(env["ID"], "debian");
        assert_eq!(env["PRETTY_NAME"], "Debian GNU/Linux 12 (bookworm)");
        assert_eq!(env["VERSION_ID"], "12");
    }
}
