//! Firewalls, listening sockets and encryption at rest.

use std::collections::BTreeSet;

use schemars::JsonSchema;
use serde::Serialize;

use super::Gather;
use super::system::{PackageFacts, ServiceFacts, parse_env_file};
use crate::RootFs;

/// One firewall front end found on the host.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Firewall {
    /// `nftables`, `iptables`, `ufw` or `firewalld`.
    pub name: String,
    /// Whether it is installed (package or binary).
    pub installed: bool,
    /// Whether it is set to start at boot (systemd unit enabled, or ufw `ENABLED=yes`).
    pub enabled: bool,
    /// Default policy for incoming traffic in its saved configuration (`drop`, `reject`, `accept`).
    pub input_policy: Option<String>,
    /// Number of rules in its saved configuration, where countable.
    pub rules: Option<usize>,
}

/// A listening socket (live root only).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, JsonSchema)]
pub struct ListeningSocket {
    /// `tcp`, `tcp6`, `udp`, `udp6`.
    pub protocol: String,
    /// Local address.
    pub address: String,
    /// Local port.
    pub port: u16,
    /// Whether it listens on every address (not loopback only).
    pub exposed: bool,
}

/// Network facts.
#[derive(Debug, Clone, Default, Serialize, JsonSchema)]
pub struct NetworkFacts {
    /// Firewall front ends found.
    pub firewalls: Vec<Firewall>,
    /// Whether some installed firewall is enabled with a `drop` or `reject` input policy.
    pub default_deny_configured: bool,
    /// Listening sockets (absent when the root is not live).
    pub listening: Option<Vec<ListeningSocket>>,
}

fn nft_policy(text: &str) -> (Option<String>, usize) {
    let mut policy = None;
    let mut rules = 0_usize;
    let mut in_input = false;
    for line in text.lines().map(str::trim) {
        if line.starts_with("chain ") {
            in_input = line.contains("input") || line.contains("INPUT");
        }
        if in_input
            && line.contains("hook input")
            && let Some(p) = line.split("policy").nth(1)
        {
            policy = Some(p.trim().trim_end_matches(';').trim().to_lowercase());
        }
        if in_input && line.starts_with("policy ") {
            policy = Some(
                line.trim_start_matches("policy")
                    .trim()
                    .trim_end_matches(';')
                    .trim()
                    .to_lowercase(),
            );
        }
        if !line.is_empty()
            && !line.starts_with('#')
            && !line.starts_with("chain")
            && !line.starts_with("table")
            && !line.starts_with("type")
            && !line.starts_with("policy")
            && !line.starts_with("flush")
            && !line.starts_with('}')
            && !line.starts_with("#!")
        {
            rules = rules.saturating_add(1);
        }
    }
    (policy, rules)
}

/// The first of `paths` that exists; one that exists but cannot be read is recorded as
/// unknown under `fact`, never taken for an absent file.
fn saved_config(fs: &RootFs, paths: &[&str], fact: &str, g: &mut Gather) -> Option<String> {
    for path in paths {
        match fs.read_if_present(path) {
            Ok(Some(text)) => return Some(text),
            Ok(None) => {}
            Err(e) => {
                g.unknown(fact, e.0);
                return None;
            }
        }
    }
    None
}

fn iptables_policy(text: &str) -> (Option<String>, usize) {
    let policy = text
        .lines()
        .find_map(|l| l.strip_prefix(":INPUT "))
        .and_then(|rest| rest.split_whitespace().next())
        .map(str::to_lowercase);
    let rules = text.lines().filter(|l| l.starts_with("-A ")).count();
    (policy, rules)
}

pub(crate) fn network(
    fs: &RootFs,
    packages: &PackageFacts,
    services: &ServiceFacts,
    g: &mut Gather,
) -> NetworkFacts {
    let mut facts = NetworkFacts::default();
    let bin = |names: &[&str]| {
        names
            .iter()
            .any(|n| fs.exists(&format!("/usr/sbin/{n}")) || fs.exists(&format!("/sbin/{n}")))
    };

    let nft_conf = saved_config(
        fs,
        &["/etc/nftables.conf", "/etc/sysconfig/nftables.conf"],
        "network.firewalls.nftables",
        g,
    );
    if packages.has("nftables") || bin(&["nft"]) || nft_conf.is_some() {
        let (policy, rules) = nft_conf.as_deref().map_or((None, 0), nft_policy);
        facts.firewalls.push(Firewall {
            name: "nftables".into(),
            installed: packages.has("nftables") || bin(&["nft"]),
            enabled: services.any_enabled(&["nftables.service"]),
            input_policy: policy,
            rules: Some(rules),
        });
    }
    let ipt = saved_config(
        fs,
        &["/etc/iptables/rules.v4", "/etc/sysconfig/iptables"],
        "network.firewalls.iptables",
        g,
    );
    if packages.has("iptables") || packages.has("iptables-persistent") || ipt.is_some() {
        let (policy, rules) = ipt.as_deref().map_or((None, 0), iptables_policy);
        facts.firewalls.push(Firewall {
            name: "iptables".into(),
            installed: packages.has("iptables") || bin(&["iptables"]),
            enabled: ipt.is_some()
                && services.any_enabled(&["netfilter-persistent.service", "iptables.service"]),
            input_policy: policy,
            rules: Some(rules),
        });
    }
    if packages.has("ufw") || fs.exists("/etc/ufw/ufw.conf") {
        let conf = saved_config(fs, &["/etc/ufw/ufw.conf"], "network.firewalls.ufw", g)
            .map(|t| parse_env_file(&t))
            .unwrap_or_default();
        let defaults = saved_config(fs, &["/etc/default/ufw"], "network.firewalls.ufw", g)
            .map(|t| parse_env_file(&t))
            .unwrap_or_default();
        facts.firewalls.push(Firewall {
            name: "ufw".into(),
            installed: true,
            enabled: conf
                .get("ENABLED")
                .is_some_and(|v| v.eq_ignore_ascii_case("yes")),
            input_policy: defaults
                .get("DEFAULT_INPUT_POLICY")
                .map(|p| p.to_lowercase()),
            rules: None,
        });
    }
    if packages.has("firewalld") || fs.exists("/etc/firewalld/firewalld.conf") {
        facts.firewalls.push(Firewall {
            name: "firewalld".into(),
            installed: true,
            enabled: services.any_enabled(&["firewalld.service"]),
            // firewalld zones reject unsolicited input by default (zone `public`).
            input_policy: Some("reject".into()),
            rules: None,
        });
    }
    facts.default_deny_configured = facts.firewalls.iter().any(|f| {
        f.enabled
            && f.input_policy
                .as_deref()
                .is_some_and(|p| p == "drop" || p == "reject")
    });

    if fs.is_live() {
        let mut sockets = BTreeSet::new();
        for (file, protocol) in [
            ("/proc/net/tcp", "tcp"),
            ("/proc/net/tcp6", "tcp6"),
            ("/proc/net/udp", "udp"),
            ("/proc/net/udp6", "udp6"),
        ] {
            match fs.read_text(file) {
                Ok(text) => sockets.extend(parse_proc_net(&text, protocol)),
                Err(e) if file.ends_with('6') => {
                    g.unknown(&format!("network.listening.{protocol}"), e.0);
                }
                Err(e) => g.unknown("network.listening", e.0),
            }
        }
        facts.listening = Some(sockets.into_iter().collect());
    } else {
        g.unknown(
            "network.listening",
            "listening sockets are known only on a live root",
        );
    }
    facts
}

/// Listening sockets from `/proc/net/{tcp,udp}[6]`: TCP in state LISTEN (0A), UDP unconnected (07).
pub fn parse_proc_net(text: &str, protocol: &str) -> Vec<ListeningSocket> {
    let listen_state = if protocol.starts_with("tcp") {
        "0A"
    } else {
        "07"
    };
    let mut out = Vec::new();
    for line in text.lines().skip(1) {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let (Some(local), Some(remote), Some(state)) =
            (fields.get(1), fields.get(2), fields.get(3))
        else {
            continue;
        };
        if *state != listen_state || (protocol.starts_with("udp") && !remote.ends_with(":0000")) {
            continue;
        }
        let Some((addr_hex, port_hex)) = local.split_once(':') else {
            continue;
        };
        let Ok(port) = u16::from_str_radix(port_hex, 16) else {
            continue;
        };
        let Some(address) = decode_address(addr_hex) else {
            continue;
        };
        let exposed = !(address.starts_with("127.") || address == "::1");
        out.push(ListeningSocket {
            protocol: protocol.to_owned(),
            address,
            port,
            exposed,
        });
    }
    out
}

fn decode_address(hex: &str) -> Option<String> {
    let bytes: Vec<u8> = (0..hex.len() / 2)
        .map(|i| {
            hex.get(i.checked_mul(2)?..i.checked_mul(2)?.checked_add(2)?)
                .and_then(|b| u8::from_str_radix(b, 16).ok())
        })
        .collect::<Option<_>>()?;
    match bytes.len() {
        4 => Some(
            std::net::Ipv4Addr::new(
                *bytes.get(3)?,
                *bytes.get(2)?,
                *bytes.get(1)?,
                *bytes.first()?,
            )
            .to_string(),
        ),
        16 => {
            // Four little-endian 32-bit words.
            let mut octets = [0_u8; 16];
            for (word, chunk) in bytes.chunks(4).enumerate() {
                for (i, b) in chunk.iter().rev().enumerate() {
                    *octets.get_mut(word.checked_mul(4)?.checked_add(i)?)? = *b;
                }
            }
            let addr = std::net::Ipv6Addr::from(octets);
            Some(
                addr.to_ipv4_mapped()
                    .map_or_else(|| addr.to_string(), |v4| v4.to_string()),
            )
        }
        _ => None,
    }
}

/// A mounted (or to-be-mounted) file system.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Mount {
    /// Mount point.
    pub mountpoint: String,
    /// Device or source.
    pub device: String,
    /// File system type.
    pub fstype: String,
    /// Whether the device is a dm-crypt (LUKS) mapping.
    pub encrypted: Option<bool>,
}

/// Encryption at rest.
#[derive(Debug, Clone, Default, Serialize, JsonSchema)]
pub struct EncryptionFacts {
    /// Names of the mappings in `/etc/crypttab`.
    pub crypttab: Vec<String>,
    /// Persistent mounts (`/etc/fstab`, or `/proc/mounts` when live) of disk-backed file systems.
    pub mounts: Vec<Mount>,
    /// Whether `/` is on an encrypted device; absent when unknown.
    pub root_encrypted: Option<bool>,
    /// dm-crypt mappings active now (live root only).
    pub active_crypt_devices: Option<Vec<String>>,
}

const VIRTUAL_FS: &[&str] = &[
    "proc",
    "sysfs",
    "tmpfs",
    "devtmpfs",
    "devpts",
    "cgroup",
    "cgroup2",
    "overlay",
    "mqueue",
    "securityfs",
    "debugfs",
    "tracefs",
    "configfs",
    "fusectl",
    "pstore",
    "bpf",
    "hugetlbfs",
    "autofs",
    "binfmt_misc",
    "nsfs",
    "swap",
    "efivarfs",
    "ramfs",
    "squashfs",
    "shm",
    "none",
    "rpc_pipefs",
    "nfsd",
];

pub(crate) fn encryption(fs: &RootFs, g: &mut Gather) -> EncryptionFacts {
    let mut facts = EncryptionFacts::default();
    if let Some(text) = saved_config(fs, &["/etc/crypttab"], "encryption.crypttab", g) {
        facts.crypttab = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
            .collect();
    }
    let mut active: Option<Vec<String>> = None;
    if fs.is_live() {
        let mut names = Vec::new();
        let devices = fs.entries("/sys/block").unwrap_or_else(|e| {
            g.unknown("encryption.active_crypt_devices", e.0);
            Vec::new()
        });
        for dm in devices.iter().filter(|d| d.starts_with("dm-")) {
            let uuid = fs
                .read_text(&format!("/sys/block/{dm}/dm/uuid"))
                .unwrap_or_default();
            if uuid.starts_with("CRYPT-") {
                names.push(
                    fs.read_text(&format!("/sys/block/{dm}/dm/name"))
                        .unwrap_or_default()
                        .trim()
                        .to_owned(),
                );
            }
        }
        active = Some(names);
    } else {
        g.unknown(
            "encryption.active_crypt_devices",
            "active device mappings are known only on a live root",
        );
    }
    let (table, source) = if fs.is_live() {
        ("/proc/mounts", "live")
    } else {
        ("/etc/fstab", "fstab")
    };
    match fs.read_text(table) {
        Ok(text) => {
            for line in text.lines().map(str::trim).filter(|l| !l.starts_with('#')) {
                let f: Vec<&str> = line.split_whitespace().collect();
                let (Some(device), Some(mountpoint), Some(fstype)) =
                    (f.first(), f.get(1), f.get(2))
                else {
                    continue;
                };
                if VIRTUAL_FS.contains(fstype) {
                    continue;
                }
                let mapper = device.strip_prefix("/dev/mapper/");
                let encrypted = match (mapper, &active) {
                    (Some(name), Some(active)) => Some(active.iter().any(|a| a == name)),
                    (Some(name), None) => {
                        if facts.crypttab.iter().any(|c| c == name) {
                            Some(true)
                        } else {
                            // An LVM volume may sit on a LUKS device: undecidable from fstab alone.
                            None
                        }
                    }
                    (None, _)
                        if device.starts_with("/dev/")
                            || device.starts_with("UUID=")
                            || device.starts_with("LABEL=") =>
                    {
                        Some(false)
                    }
                    _ => None,
                };
                facts.mounts.push(Mount {
                    mountpoint: (*mountpoint).to_owned(),
                    device: (*device).to_owned(),
                    fstype: (*fstype).to_owned(),
                    encrypted,
                });
            }
        }
        Err(e) => g.unknown("encryption.mounts", e.0),
    }
    facts.root_encrypted = facts
        .mounts
        .iter()
        .find(|m| m.mountpoint == "/")
        .and_then(|m| m.encrypted);
    if facts.root_encrypted.is_none() {
        let why = match facts.mounts.iter().find(|m| m.mountpoint == "/") {
            Some(m) => format!(
                "/ is on {} ({}), whose encryption cannot be told from the {source} table",
                m.device, m.fstype
            ),
            None => format!("no disk-backed / in the {source} table (overlay or container root)"),
        };
        g.unknown("encryption.root_encrypted", why);
    }
    facts.active_crypt_devices = active;
    facts
}

/// A service-level component: a daemon or agent, where it is installed, enabled, running.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Component {
    /// Name, e.g. `auditd`, `chrony`, `clamav`.
    pub name: String,
    /// Installed (package or binary found).
    pub installed: bool,
    /// Enabled at boot (systemd unit linked).
    pub enabled: bool,
    /// Running now (live root only).
    pub running: Option<bool>,
}

pub(crate) fn component(
    name: &str,
    fs: &RootFs,
    packages: &PackageFacts,
    services: &ServiceFacts,
    processes: Option<&BTreeSet<String>>,
    spec: (&[&str], &[&str], &[&str], &[&str]),
) -> Component {
    let (pkgs, paths, units, procs) = spec;
    let installed = pkgs.iter().any(|p| packages.has(p)) || paths.iter().any(|p| fs.exists(p));
    Component {
        name: name.to_owned(),
        installed,
        enabled: services.any_enabled(units),
        running: processes.map(|ps| procs.iter().any(|p| ps.contains(*p))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_net_listeners_decode() {
        let tcp = "  sl  local_address rem_address   st\n   0: 00000000:0016 00000000:0000 0A 0\n   1: 0100007F:0019 00000000:0000 0A 0\n   2: 0100007F:A000 0100007F:0016 01 0\n";
        let sockets = parse_proc_net(tcp, "tcp");
        assert_eq!(sockets.len(), 2);
        assert_eq!(
            (
                sockets[0].address.as_str(),
                sockets[0].port,
                sockets[0].exposed
            ),
            ("0.0.0.0", 22, true)
        );
        assert_eq!(
            (
                sockets[1].address.as_str(),
                sockets[1].port,
                sockets[1].exposed
            ),
            ("127.0.0.1", 25, false)
        );
        let tcp6 = "h\n 0: 00000000000000000000000001000000:0277 00000000000000000000000000000000:0000 0A\n 1: 00000000000000000000000000000000:0050 00000000000000000000000000000000:0000 0A\n";
        let v6 = parse_proc_net(tcp6, "tcp6");
        assert_eq!(
            (v6[0].address.as_str(), v6[0].port, v6[0].exposed),
            ("::1", 631, false)
        );
        assert_eq!((v6[1].address.as_str(), v6[1].port), ("::", 80));
        assert!(parse_proc_net("h\n 0: zz:zz 0:0 0A\n 1: 00:\n", "tcp").is_empty());
    }

    #[test]
    fn saved_firewall_policies_are_read() {
        let nft = "#!/usr/sbin/nft -f\nflush ruleset\ntable inet filter {\n  chain input {\n    type filter hook input priority 0; policy drop;\n    ct state established,related accept\n    tcp dport 22 accept\n  }\n}\n";
        assert_eq!(nft_policy(nft), (Some("drop".into()), 2));
        let ipt =
            "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n-A INPUT -i lo -j ACCEPT\nCOMMIT\n";
        assert_eq!(iptables_policy(ipt), (Some("drop".into()), 1));
    }
}
