//! Logging and audit, time synchronisation, patching, malware protection.

use std::collections::{BTreeMap, BTreeSet};

use schemars::JsonSchema;
use serde::Serialize;

use super::network::{Component, component};
use super::system::{PackageFacts, ServiceFacts};
use super::{Gather, incomplete, with_dropins};
use crate::RootFs;

/// Logging and audit facts.
#[derive(Debug, Clone, Default, Serialize, JsonSchema)]
pub struct LoggingFacts {
    /// The Linux audit daemon.
    pub auditd: Option<Component>,
    /// Number of audit rules in `/etc/audit/rules.d/*.rules` (or `audit.rules`).
    pub audit_rules: usize,
    /// Paths watched by audit rules (`-w PATH`).
    pub audit_watches: Vec<String>,
    /// Whether the audit configuration is immutable until reboot (`-e 2`).
    pub audit_immutable: bool,
    /// journald `Storage=` (default `auto`).
    pub journald_storage: String,
    /// Whether journald keeps logs on disk (`persistent`, or `auto` with `/var/log/journal`).
    pub journald_persistent: bool,
    /// The syslog daemons installed.
    pub syslog: Vec<Component>,
    /// Remote log destinations configured: `daemon file:line → target`.
    pub remote_targets: Vec<RemoteTarget>,
    /// Whether logrotate is installed.
    pub logrotate: bool,
}

/// A remote log destination.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct RemoteTarget {
    /// `rsyslog`, `syslog-ng` or `journal-upload`.
    pub daemon: String,
    /// File it is configured in.
    pub file: String,
    /// Line number.
    pub line: usize,
    /// Where logs go, e.g. `@@logs.example.com:514`.
    pub target: String,
}

pub(crate) fn logging(
    fs: &RootFs,
    packages: &PackageFacts,
    services: &ServiceFacts,
    processes: Option<&BTreeSet<String>>,
    g: &mut Gather,
) -> LoggingFacts {
    let mut facts = LoggingFacts {
        auditd: Some(component(
            "auditd",
            fs,
            packages,
            services,
            processes,
            (
                &["auditd", "audit"],
                &["/sbin/auditd", "/usr/sbin/auditd"],
                &["auditd.service"],
                &["auditd"],
            ),
        )),
        ..LoggingFacts::default()
    };
    let mut unreadable = Vec::new();
    let mut rule_files = fs.glob("/etc/audit/rules.d/*.rules").unwrap_or_else(|e| {
        unreadable.push(e.0);
        Vec::new()
    });
    if rule_files.is_empty() && unreadable.is_empty() {
        rule_files.push("/etc/audit/audit.rules".to_owned());
    }
    let mut rule_texts = Vec::new();
    for file in rule_files {
        match fs.read_if_present(&file) {
            Ok(Some(text)) => rule_texts.push(text),
            Ok(None) => {}
            Err(e) => unreadable.push(e.0),
        }
    }
    incomplete(g, "logging.audit_rules", &unreadable);
    for text in rule_texts {
        for line in text.lines().map(str::trim).filter(|l| l.starts_with('-')) {
            if line.starts_with("-w ") || line.starts_with("-a ") {
                facts.audit_rules = facts.audit_rules.saturating_add(1);
            }
            if let Some(path) = line
                .strip_prefix("-w ")
                .and_then(|r| r.split_whitespace().next())
            {
                facts.audit_watches.push(path.to_owned());
            }
            if line.split_whitespace().collect::<Vec<_>>() == ["-e", "2"] {
                facts.audit_immutable = true;
            }
        }
    }
    facts.audit_watches.sort();
    facts.audit_watches.dedup();

    let mut storage = "auto".to_owned();
    let (journald, unreadable) = with_dropins(
        fs,
        "/etc/systemd/journald.conf",
        "/etc/systemd/journald.conf.d/*.conf",
    );
    incomplete(g, "logging.journald_storage", &unreadable);
    for (_, text) in journald {
        for line in text.lines() {
            if let Some(v) = line.trim().strip_prefix("Storage=") {
                storage = v.trim().to_lowercase();
            }
        }
    }
    facts.journald_persistent =
        storage == "persistent" || (storage == "auto" && fs.exists("/var/log/journal"));
    facts.journald_storage = storage;

    facts.syslog = vec![
        component(
            "rsyslog",
            fs,
            packages,
            services,
            processes,
            (
                &["rsyslog"],
                &["/usr/sbin/rsyslogd"],
                &["rsyslog.service"],
                &["rsyslogd"],
            ),
        ),
        component(
            "syslog-ng",
            fs,
            packages,
            services,
            processes,
            (
                &["syslog-ng", "syslog-ng-core"],
                &["/usr/sbin/syslog-ng"],
                &["syslog-ng.service"],
                &["syslog-ng"],
            ),
        ),
    ]
    .into_iter()
    .filter(|c| c.installed)
    .collect();

    let (rsyslog, mut unreadable) = with_dropins(fs, "/etc/rsyslog.conf", "/etc/rsyslog.d/*.conf");
    let (syslog_ng, more) = with_dropins(
        fs,
        "/etc/syslog-ng/syslog-ng.conf",
        "/etc/syslog-ng/conf.d/*.conf",
    );
    unreadable.extend(more);
    for (file, text) in rsyslog {
        for (i, line) in text.lines().enumerate() {
            let l = line.trim();
            if l.starts_with('#') {
                continue;
            }
            let forward = l
                .split_whitespace()
                .nth(1)
                .filter(|a| a.starts_with('@'))
                .map(str::to_owned);
            let omfwd = (l.contains("omfwd") || l.contains("omrelp")).then(|| {
                l.split("target=").nth(1).map_or_else(
                    || l.to_owned(),
                    |t| {
                        t.split_whitespace()
                            .next()
                            .unwrap_or_default()
                            .trim_matches('"')
                            .to_owned()
                    },
                )
            });
            if let Some(target) = forward.or(omfwd) {
                facts.remote_targets.push(RemoteTarget {
                    daemon: "rsyslog".into(),
                    file: file.clone(),
                    line: i.saturating_add(1),
                    target,
                });
            }
        }
    }
    for (file, text) in syslog_ng {
        for (i, line) in text.lines().enumerate() {
            let l = line.trim();
            if !l.starts_with('#')
                && ["network(", "syslog(", "tcp(", "udp("]
                    .iter()
                    .any(|d| l.contains(d))
                && l.contains("destination")
            {
                facts.remote_targets.push(RemoteTarget {
                    daemon: "syslog-ng".into(),
                    file: file.clone(),
                    line: i.saturating_add(1),
                    target: l.to_owned(),
                });
            }
        }
    }
    let upload = fs
        .read_if_present("/etc/systemd/journal-upload.conf")
        .unwrap_or_else(|e| {
            unreadable.push(e.0);
            None
        });
    incomplete(g, "logging.remote_targets", &unreadable);
    if let Some(text) = upload {
        for (i, line) in text.lines().enumerate() {
            if let Some(url) = line.trim().strip_prefix("URL=") {
                facts.remote_targets.push(RemoteTarget {
                    daemon: "journal-upload".into(),
                    file: "/etc/systemd/journal-upload.conf".into(),
                    line: i.saturating_add(1),
                    target: url.trim().to_owned(),
                });
            }
        }
    }
    facts.logrotate = packages.has("logrotate") || fs.exists("/usr/sbin/logrotate");
    facts
}

/// Time synchronisation.
#[derive(Debug, Clone, Default, Serialize, JsonSchema)]
pub struct TimeFacts {
    /// Time daemons found, with the servers each is configured with.
    pub daemons: Vec<TimeDaemon>,
    /// Whether some daemon is installed, enabled and has at least one server or pool.
    pub configured: bool,
}

/// A time synchronisation daemon.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct TimeDaemon {
    /// Installed, enabled, running.
    #[serde(flatten)]
    pub component: Component,
    /// Servers and pools configured.
    pub servers: Vec<String>,
}

fn servers(text: &str, keywords: &[&str]) -> Vec<String> {
    text.lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            let k = w.next()?;
            keywords
                .contains(&k)
                .then(|| w.next().map(str::to_owned))
                .flatten()
        })
        .collect()
}

pub(crate) fn time(
    fs: &RootFs,
    packages: &PackageFacts,
    services: &ServiceFacts,
    processes: Option<&BTreeSet<String>>,
    g: &mut Gather,
) -> TimeFacts {
    let mut daemons = Vec::new();
    let chrony = component(
        "chrony",
        fs,
        packages,
        services,
        processes,
        (
            &["chrony"],
            &["/usr/sbin/chronyd"],
            &["chrony.service", "chronyd.service"],
            &["chronyd"],
        ),
    );
    if chrony.installed {
        let mut text = String::new();
        let mut unreadable = Vec::new();
        for (main, dropins) in [
            ("/etc/chrony/chrony.conf", "/etc/chrony/sources.d/*.sources"),
            ("/etc/chrony.conf", "/etc/chrony/conf.d/*.conf"),
        ] {
            let (texts, more) = with_dropins(fs, main, dropins);
            unreadable.extend(more);
            for (_, t) in texts {
                text.push_str(&t);
                text.push('\n');
            }
        }
        incomplete(g, "time.daemons.chrony", &unreadable);
        daemons.push(TimeDaemon {
            component: chrony,
            servers: servers(&text, &["server", "pool", "peer"]),
        });
    }
    let timesyncd = component(
        "systemd-timesyncd",
        fs,
        packages,
        services,
        processes,
        (
            &["systemd-timesyncd"],
            &[
                "/lib/systemd/systemd-timesyncd",
                "/usr/lib/systemd/systemd-timesyncd",
            ],
            &["systemd-timesyncd.service"],
            &["systemd-timesyn"],
        ),
    );
    if timesyncd.installed {
        let mut list = Vec::new();
        let (texts, unreadable) = with_dropins(
            fs,
            "/etc/systemd/timesyncd.conf",
            "/etc/systemd/timesyncd.conf.d/*.conf",
        );
        incomplete(g, "time.daemons.systemd-timesyncd", &unreadable);
        for (_, text) in texts {
            for line in text.lines() {
                for key in ["NTP=", "FallbackNTP="] {
                    if let Some(v) = line.trim().strip_prefix(key) {
                        list.extend(v.split_whitespace().map(str::to_owned));
                    }
                }
            }
        }
        if list.is_empty() {
            // timesyncd ships with compiled-in fallback servers.
            list.push("(built-in fallback servers)".to_owned());
        }
        daemons.push(TimeDaemon {
            component: timesyncd,
            servers: list,
        });
    }
    let ntp = component(
        "ntp",
        fs,
        packages,
        services,
        processes,
        (
            &["ntp", "ntpsec"],
            &["/usr/sbin/ntpd"],
            &["ntp.service", "ntpd.service", "ntpsec.service"],
            &["ntpd"],
        ),
    );
    if ntp.installed {
        let mut text = String::new();
        for f in ["/etc/ntp.conf", "/etc/ntpsec/ntp.conf"] {
            match fs.read_if_present(f) {
                Ok(t) => text.push_str(&t.unwrap_or_default()),
                Err(e) => g.unknown("time.daemons.ntp", e.0),
            }
        }
        daemons.push(TimeDaemon {
            component: ntp,
            servers: servers(&text, &["server", "pool"]),
        });
    }
    let configured = daemons
        .iter()
        .any(|d| d.component.installed && d.component.enabled && !d.servers.is_empty());
    TimeFacts {
        daemons,
        configured,
    }
}

/// Patching facts.
#[derive(Debug, Clone, Default, Serialize, JsonSchema)]
pub struct PatchingFacts {
    /// `unattended-upgrades`, `dnf-automatic`, `yum-cron`, or none.
    pub mechanism: Option<String>,
    /// Whether automatic (security) updates are installed and switched on.
    pub automatic_updates: bool,
    /// Relevant settings read, e.g. `APT::Periodic::Unattended-Upgrade = 1`.
    pub settings: BTreeMap<String, String>,
    /// Days since the package lists were last refreshed (apt), where known.
    pub package_lists_age_days: Option<i64>,
    /// Package updates waiting to be installed, as counted by Ubuntu's update-notifier
    /// (`/var/lib/update-notifier/updates-available`); absent elsewhere, since counting them
    /// means reading the whole package indexes (see `unknown["patching.pending_updates"]`).
    pub pending_updates: Option<u64>,
    /// How many of the pending updates are security updates, from the same source.
    pub pending_security_updates: Option<u64>,
}

/// The counts in update-notifier's `updates-available` message: (all, security).
pub fn parse_updates_available(text: &str) -> Option<(u64, Option<u64>)> {
    let leading = |line: &str| line.split_whitespace().next()?.parse::<u64>().ok();
    let total = text
        .lines()
        .find(|l| {
            l.contains("can be applied")
                || l.contains("can be updated")
                || l.contains("can be installed")
        })
        .and_then(leading)?;
    let security = text
        .lines()
        .find(|l| l.contains("security update"))
        .and_then(leading);
    Some((total, security))
}

/// Pending updates where a cheap, authoritative count exists.
fn pending_updates(fs: &RootFs, facts: &mut PatchingFacts, g: &mut Gather) {
    const NOTIFIER: &str = "/var/lib/update-notifier/updates-available";
    match fs.read_if_present(NOTIFIER) {
        Ok(Some(text)) => match parse_updates_available(&text) {
            Some((total, security)) => {
                facts.pending_updates = Some(total);
                facts.pending_security_updates = security;
            }
            None => g.unknown(
                "patching.pending_updates",
                format!("{NOTIFIER}: no update count in it"),
            ),
        },
        Ok(None) => g.unknown(
            "patching.pending_updates",
            format!(
                "{NOTIFIER} is absent; counting pending updates otherwise means reading the \
                 whole package indexes, which a scan does not do"
            ),
        ),
        Err(e) => g.unknown("patching.pending_updates", e.0),
    }
}

pub(crate) fn patching(
    fs: &RootFs,
    packages: &PackageFacts,
    services: &ServiceFacts,
    now: i64,
    g: &mut Gather,
) -> PatchingFacts {
    let mut facts = PatchingFacts::default();
    if packages.manager.as_deref() == Some("dpkg") || fs.exists("/etc/apt") {
        pending_updates(fs, &mut facts, g);
        let mut unreadable = Vec::new();
        let mut apt_texts = Vec::new();
        match fs.glob("/etc/apt/apt.conf.d/*") {
            Ok(files) => {
                for file in files {
                    match fs.read_if_present(&file) {
                        Ok(Some(text)) => apt_texts.push(text),
                        Ok(None) => {}
                        Err(e) => unreadable.push(e.0),
                    }
                }
            }
            Err(e) => unreadable.push(e.0),
        }
        incomplete(g, "patching.settings", &unreadable);
        incomplete(g, "patching.automatic_updates", &unreadable);
        for text in apt_texts {
            for line in text.lines() {
                let l = line.trim();
                for key in [
                    "APT::Periodic::Unattended-Upgrade",
                    "APT::Periodic::Update-Package-Lists",
                ] {
                    if let Some(rest) = l.strip_prefix(key) {
                        let value = rest
                            .trim()
                            .trim_end_matches(';')
                            .trim()
                            .trim_matches('"')
                            .to_owned();
                        facts.settings.insert(key.to_owned(), value);
                    }
                }
            }
        }
        if packages.has("unattended-upgrades") {
            facts.mechanism = Some("unattended-upgrades".into());
            let on = |k: &str| {
                facts
                    .settings
                    .get(k)
                    .is_some_and(|v| v != "0" && !v.is_empty())
            };
            facts.automatic_updates = on("APT::Periodic::Unattended-Upgrade")
                && on("APT::Periodic::Update-Package-Lists");
        }
        match fs.entries("/var/lib/apt/lists") {
            Ok(names) => {
                let newest = names
                    .iter()
                    .filter(|n| {
                        n.ends_with("Release") || n.ends_with("Packages") || n.ends_with(".lz4")
                    })
                    .filter_map(|n| fs.stat(&format!("/var/lib/apt/lists/{n}")).ok())
                    .map(|s| s.mtime)
                    .max();
                match newest {
                    Some(mtime) => {
                        facts.package_lists_age_days = Some(now.saturating_sub(mtime) / 86_400);
                    }
                    None => g.unknown(
                        "patching.package_lists_age_days",
                        "no apt package lists under /var/lib/apt/lists",
                    ),
                }
            }
            Err(e) => g.unknown("patching.package_lists_age_days", e.0),
        }
    } else if packages.has("dnf-automatic") || fs.exists("/etc/dnf/automatic.conf") {
        facts.mechanism = Some("dnf-automatic".into());
        let conf = fs
            .read_if_present("/etc/dnf/automatic.conf")
            .unwrap_or_else(|e| {
                g.unknown("patching.automatic_updates", e.0);
                None
            });
        if let Some(text) = conf {
            for line in text.lines() {
                if let Some((k, v)) = line.split_once('=') {
                    let k = k.trim();
                    if matches!(k, "apply_updates" | "upgrade_type" | "download_updates") {
                        facts.settings.insert(k.to_owned(), v.trim().to_owned());
                    }
                }
            }
        }
        let timer = services.any_enabled(&["dnf-automatic.timer", "dnf-automatic-install.timer"]);
        let applies = facts
            .settings
            .get("apply_updates")
            .is_some_and(|v| v == "yes" || v == "True" || v == "true")
            || services.any_enabled(&["dnf-automatic-install.timer"]);
        facts.automatic_updates = timer && applies;
        g.unknown(
            "patching.package_lists_age_days",
            "dnf metadata age is not read",
        );
        g.unknown(
            "patching.pending_updates",
            "pending dnf updates are not counted: that needs the repository metadata",
        );
    } else if packages.has("yum-cron") {
        facts.mechanism = Some("yum-cron".into());
        let text = fs
            .read_if_present("/etc/yum/yum-cron.conf")
            .unwrap_or_else(|e| {
                g.unknown("patching.automatic_updates", e.0);
                None
            })
            .unwrap_or_default();
        facts.automatic_updates = text
            .lines()
            .any(|l| l.replace(' ', "") == "apply_updates=yes");
    }
    facts
}

/// Malware protection and endpoint agents.
#[derive(Debug, Clone, Default, Serialize, JsonSchema)]
pub struct MalwareFacts {
    /// Agents found installed.
    pub agents: Vec<Agent>,
    /// Whether an installed agent is enabled or running.
    pub protected: bool,
}

/// An endpoint protection or telemetry agent.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Agent {
    /// Installed, enabled, running.
    #[serde(flatten)]
    pub component: Component,
    /// `antivirus`, `edr`, `hids` or `telemetry`.
    pub kind: String,
}

type AgentSpec = (
    &'static str,
    &'static str,
    &'static [&'static str],
    &'static [&'static str],
    &'static [&'static str],
    &'static [&'static str],
);

const AGENTS: &[AgentSpec] = &[
    (
        "clamav",
        "antivirus",
        &["clamav-daemon", "clamav", "clamd"],
        &["/usr/sbin/clamd", "/usr/bin/clamscan"],
        &[
            "clamav-daemon.service",
            "clamd@scan.service",
            "clamav-freshclam.service",
        ],
        &["clamd", "freshclam"],
    ),
    (
        "crowdstrike-falcon",
        "edr",
        &["falcon-sensor"],
        &["/opt/CrowdStrike/falconctl"],
        &["falcon-sensor.service"],
        &["falcond", "falcon-sensor"],
    ),
    (
        "sentinelone",
        "edr",
        &["sentinelagent"],
        &["/opt/sentinelone/bin/sentinelctl"],
        &["sentinelone.service"],
        &["sentinelone-agent", "s1-agent"],
    ),
    (
        "microsoft-defender",
        "edr",
        &["mdatp"],
        &["/opt/microsoft/mdatp/sbin/wdavdaemon"],
        &["mdatp.service"],
        &["wdavdaemon"],
    ),
    (
        "sophos",
        "edr",
        &["sophos-spl"],
        &["/opt/sophos-spl/bin/wdctl"],
        &["sophos-spl.service"],
        &["sophos_watchdog"],
    ),
    (
        "trend-micro-deep-security",
        "edr",
        &["ds-agent"],
        &["/opt/ds_agent/ds_agent"],
        &["ds_agent.service"],
        &["ds_agent"],
    ),
    (
        "carbon-black",
        "edr",
        &["cb-psc-sensor"],
        &["/opt/carbonblack/psc/bin/cbagentd"],
        &["cbagentd.service"],
        &["cbagentd"],
    ),
    (
        "elastic-agent",
        "edr",
        &["elastic-agent"],
        &["/opt/Elastic/Agent/elastic-agent"],
        &["elastic-agent.service"],
        &["elastic-agent"],
    ),
    (
        "wazuh",
        "hids",
        &["wazuh-agent"],
        &["/var/ossec/bin/wazuh-control"],
        &["wazuh-agent.service"],
        &["wazuh-agentd"],
    ),
    (
        "ossec",
        "hids",
        &["ossec-hids-agent"],
        &["/var/ossec/bin/ossec-control"],
        &["ossec.service"],
        &["ossec-agentd"],
    ),
    (
        "aide",
        "hids",
        &["aide"],
        &["/usr/bin/aide", "/usr/sbin/aide"],
        &["aidecheck.timer", "dailyaidecheck.timer"],
        &[],
    ),
    (
        "osquery",
        "telemetry",
        &["osquery"],
        &["/usr/bin/osqueryd", "/opt/osquery/bin/osqueryd"],
        &["osqueryd.service"],
        &["osqueryd"],
    ),
];

pub(crate) fn malware(
    fs: &RootFs,
    packages: &PackageFacts,
    services: &ServiceFacts,
    processes: Option<&BTreeSet<String>>,
) -> MalwareFacts {
    let agents: Vec<Agent> = AGENTS
        .iter()
        .map(|(name, kind, pkgs, paths, units, procs)| Agent {
            component: component(
                name,
                fs,
                packages,
                services,
                processes,
                (pkgs, paths, units, procs),
            ),
            kind: (*kind).to_owned(),
        })
        .filter(|a| a.component.installed)
        .collect();
    let protected = agents.iter().any(|a| {
        a.kind != "telemetry" && (a.component.enabled || a.component.running == Some(true))
    });
    MalwareFacts { agents, protected }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn update_notifier_counts_are_read() {
        assert_eq!(
            parse_updates_available(
                "\n12 updates can be applied immediately.\n5 of these updates are standard security updates.\nTo see these additional updates run: apt list --upgradable\n"
            ),
            Some((12, Some(5)))
        );
        assert_eq!(
            parse_updates_available(
                "3 packages can be updated.\n0 updates are security updates.\n"
            ),
            Some((3, Some(0)))
        );
        assert_eq!(
            parse_updates_available("\n0 updates can be applied immediately.\n\n"),
            Some((0, None))
        );
        assert_eq!(parse_updates_available("garbage"), None);
    }
}
