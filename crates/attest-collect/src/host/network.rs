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
    /// The ruleset loaded in the kernel now (live root only; absent when it cannot be read,
    /// see `unknown["network.active_ruleset"]`).
    pub active_ruleset: Option<ActiveRuleset>,
}

/// The packet filter ruleset loaded in the running kernel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct ActiveRuleset {
    /// The command it was read with: `nft -j list ruleset` or `iptables-save`.
    pub tool: String,
    /// Whether any rule is loaded or an input chain drops or rejects by default.
    pub active: bool,
    /// The default policy for incoming traffic: `drop` if any input base chain drops by
    /// default (nftables evaluates every one), else `accept`.
    pub input_policy: String,
    /// Number of rules loaded.
    pub rules: usize,
}

/// How long a ruleset listing may take before it is abandoned.
const RULESET_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// Reads `nft -j list ruleset` output.
pub fn parse_nft_json(text: &str) -> Result<ActiveRuleset, String> {
    let doc: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("unreadable `nft -j` output: {e}"))?;
    let items = doc
        .get("nftables")
        .and_then(serde_json::Value::as_array)
        .ok_or("`nft -j` output has no `nftables` list")?;
    let rules = items.iter().filter(|i| i.get("rule").is_some()).count();
    let input_policies: Vec<&str> = items
        .iter()
        .filter_map(|i| i.get("chain"))
        .filter(|c| c.get("hook").and_then(serde_json::Value::as_str) == Some("input"))
        .filter_map(|c| c.get("policy").and_then(serde_json::Value::as_str))
        .collect();
    let drops = input_policies.contains(&"drop");
    Ok(ActiveRuleset {
        tool: "nft -j list ruleset".to_owned(),
        active: rules > 0 || drops,
        input_policy: if drops { "drop" } else { "accept" }.to_owned(),
        rules,
    })
}

/// Reads `iptables-save` output.
pub fn parse_iptables_save(text: &str) -> ActiveRuleset {
    let (policy, rules) = iptables_policy(text);
    let input_policy = policy.unwrap_or_else(|| "accept".to_owned());
    ActiveRuleset {
        tool: "iptables-save".to_owned(),
        active: rules > 0 || input_policy != "accept",
        input_policy,
        rules,
    }
}

/// Reads a child's pipe to its end on another thread, so a large output never blocks it.
fn drain<R: std::io::Read + Send + 'static>(pipe: Option<R>) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_end(&mut bytes);
        }
        bytes
    })
}

/// Runs `program args` and returns its standard output, or why it could not; gives up after
/// [`RULESET_TIMEOUT`].
fn run_briefly(program: &str, args: &[&str]) -> Result<String, String> {
    let mut child = std::process::Command::new(program)
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run `{program}`: {e}"))?;
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());
    let started = std::time::Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() > RULESET_TIMEOUT => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "`{program}` did not finish within {} s",
                    RULESET_TIMEOUT.as_secs()
                ));
            }
            Ok(None) => std::thread::sleep(std::time::Duration::from_millis(1)),
            Err(e) => return Err(format!("`{program}`: {e}")),
        }
    };
    let stdout = stdout.join().unwrap_or_default();
    if !status.success() {
        let stderr = stderr.join().unwrap_or_default();
        let why = String::from_utf8_lossy(&stderr);
        let why = why
            .lines()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("no message");
        return Err(format!("`{program}` failed ({status}): {}", why.trim()));
    }
    Ok(String::from_utf8_lossy(&stdout).into_owned())
}

/// The ruleset loaded in the kernel, from `nft` (which also shows iptables-nft rules) or
/// else legacy `iptables-save`. Both need `CAP_NET_ADMIN`.
fn active_ruleset(fs: &RootFs) -> Result<ActiveRuleset, String> {
    let find = |name: &str| {
        ["/usr/sbin", "/sbin", "/usr/bin"]
            .iter()
            .map(|dir| format!("{dir}/{name}"))
            .find(|p| fs.exists(p))
    };
    if let Some(nft) = find("nft") {
        return parse_nft_json(&run_briefly(&nft, &["-j", "list", "ruleset"])?);
    }
    if let Some(save) = find("iptables-save") {
        return Ok(parse_iptables_save(&run_briefly(&save, &[])?));
    }
    Err(
        "neither nft nor iptables-save is installed, so the loaded ruleset cannot be listed"
            .to_owned(),
    )
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
        match active_ruleset(fs) {
            Ok(ruleset) => facts.active_ruleset = Some(ruleset),
            Err(why) => g.unknown("network.active_ruleset", why),
        }
    } else {
        g.unknown(
            "network.active_ruleset",
            "the ruleset loaded in the kernel is known only on a live root",
        );
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
    fn active_rulesets_are_read() {
        let nft = r#"{"nftables": [{"metainfo": {"version": "1.0.6"}},
            {"table": {"family": "inet", "name": "filter", "handle": 1}},
            {"chain": {"family": "inet", "table": "filter", "name": "input", "handle": 1, "type": "filter", "hook": "input", "prio": 0, "policy": "drop"}},
            {"chain": {"family": "inet", "table": "filter", "name": "forward", "handle": 2, "type": "filter", "hook": "forward", "prio": 0, "policy": "accept"}},
            {"chain": {"family": "ip", "table": "nat", "name": "input", "handle": 3, "type": "nat", "hook": "input", "prio": 100, "policy": "accept"}},
            {"rule": {"family": "inet", "table": "filter", "chain": "input", "handle": 4, "expr": []}}]}"#;
        let ruleset = parse_nft_json(nft).unwrap();
        assert_eq!(
            (ruleset.active, ruleset.input_policy.as_str(), ruleset.rules),
            (true, "drop", 1)
        );
        let empty = parse_nft_json(r#"{"nftables": [{"metainfo": {}}]}"#).unwrap();
        assert_eq!(
            (empty.active, empty.input_policy.as_str()),
            (false, "accept")
        );
        assert!(parse_nft_json("not json").is_err());
        assert!(parse_nft_json("{}").is_err());
        let ipt =
            parse_iptables_save("*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\nCOMMIT\n");
        assert_eq!((ipt.active, ipt.input_policy.as_str()), (false, "accept"));
    }

    #[test]
    fn listing_commands_fail_with_their_message_or_time_out() {
        assert_eq!(run_briefly("/bin/sh", &["-c", "echo ok"]).unwrap(), "ok\n");
        // More than a pipe holds does not block the command.
        let big = run_briefly("/bin/sh", &["-c", "head -c 300000 /dev/zero | tr '\\0' x"]).unwrap();
        assert_eq!(big.len(), 300_000);
        let failed = run_briefly(
            "/bin/sh",
            &["-c", "echo 'Operation not permitted' >&2; exit 1"],
        )
        .unwrap_err();
        assert!(failed.contains("Operation not permitted"), "{failed}");
        assert!(
            run_briefly("/nonexistent/nft", &[])
                .unwrap_err()
                .starts_with("cannot run")
        );
        let started = std::time::Instant::now();
        let slow = run_briefly("/bin/sh", &["-c", "sleep 30"]).unwrap_err();
        assert!(slow.contains("did not finish"), "{slow}");
        assert!(started.elapsed() < std::time::Duration::from_secs(10));
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
