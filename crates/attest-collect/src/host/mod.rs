//! The host collector (`source: host`): facts about a Linux system under a root folder.
//!
//! The facts document is [`HostFacts`], schema `attest.facts.host/v1`
//! (`schemas/facts/host.v1.json`, documented in `docs/formats/facts-host.md`). Every fact
//! that could not be read is absent (or `null`) and has an entry in `unknown` keyed by its
//! path, e.g. `"kernel.sysctl.kernel.randomize_va_space": "not set in any sysctl.d file ..."`.
//! Checks turn a missing fact into an `error` result with that reason: unknown is not pass.

pub mod accounts;
pub mod kernel;
pub mod network;
pub mod operations;
pub mod sshd;
pub mod system;

use std::collections::BTreeMap;

use jiff::Timestamp;
use schemars::JsonSchema;
use serde::Serialize;

use crate::RootFs;

/// Identifier of the host facts schema.
pub const HOST_FACTS_SCHEMA: &str = "attest.facts.host/v1";

/// Collects reasons for facts that could not be read.
#[derive(Debug, Default)]
pub(crate) struct Gather {
    unknown: BTreeMap<String, String>,
}

impl Gather {
    pub(crate) fn unknown(&mut self, path: &str, reason: impl Into<String>) {
        self.unknown
            .entry(path.to_owned())
            .or_insert_with(|| reason.into());
    }
}

/// The texts of a main file and its drop-ins that exist, and why others could not be read.
pub(crate) fn with_dropins(
    fs: &RootFs,
    main: &str,
    dropins: &str,
) -> (Vec<(String, String)>, Vec<String>) {
    let mut unreadable = Vec::new();
    let mut files = vec![main.to_owned()];
    match fs.glob(dropins) {
        Ok(found) => files.extend(found),
        Err(e) => unreadable.push(e.0),
    }
    let mut texts = Vec::new();
    for file in files {
        match fs.read_if_present(&file) {
            Ok(Some(text)) => texts.push((file, text)),
            Ok(None) => {}
            Err(e) => unreadable.push(e.0),
        }
    }
    (texts, unreadable)
}

/// Records why `fact` is not known in full, if some of its files could not be read.
pub(crate) fn incomplete(g: &mut Gather, fact: &str, unreadable: &[String]) {
    if !unreadable.is_empty() {
        g.unknown(fact, unreadable.join("; "));
    }
}

/// The SSH server.
#[derive(Debug, Clone, Default, Serialize, JsonSchema)]
pub struct SshFacts {
    /// Whether an SSH server is installed (binary, package or `sshd_config`).
    pub installed: bool,
    /// How the effective configuration was obtained: `sshd -T` (live) or `config` (files).
    pub source: Option<String>,
    /// Effective settings for a connection that matches no `Match` block (lower-case keys).
    pub effective: Option<BTreeMap<String, String>>,
    /// Settings that apply to every connection, with the line that set each (global lines
    /// and `Match all` lines).
    pub explicit: BTreeMap<String, sshd::Setting>,
    /// `Match` blocks and their settings.
    pub match_blocks: Vec<sshd::MatchBlock>,
    /// Files read.
    pub files: Vec<String>,
    /// Lines sshd would reject.
    pub problems: Vec<sshd::ConfigProblem>,
}

/// Facts about one host.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct HostFacts {
    /// Always `attest.facts.host/v1`.
    pub schema: String,
    /// When the facts were collected (RFC 3339).
    #[schemars(with = "String")]
    pub collected_at: Timestamp,
    /// The root that was read.
    pub root: String,
    /// Whether the root is the running system.
    pub live: bool,
    /// Host name.
    pub hostname: String,
    /// Operating system.
    pub os: system::OsFacts,
    /// Installed packages.
    pub packages: system::PackageFacts,
    /// SSH server.
    pub ssh: SshFacts,
    /// Accounts, groups, sudo.
    pub accounts: accounts::AccountFacts,
    /// Password and lockout policy.
    pub auth: accounts::AuthPolicyFacts,
    /// Kernel parameters.
    pub kernel: kernel::KernelFacts,
    /// Firewalls and listening sockets.
    pub network: network::NetworkFacts,
    /// Encryption at rest.
    pub encryption: network::EncryptionFacts,
    /// Logging and audit.
    pub logging: operations::LoggingFacts,
    /// Time synchronisation.
    pub time: operations::TimeFacts,
    /// Patching.
    pub patching: operations::PatchingFacts,
    /// Malware protection and endpoint agents.
    pub malware: operations::MalwareFacts,
    /// Permissions of sensitive files, by path.
    pub files: BTreeMap<String, kernel::FilePermission>,
    /// systemd units.
    pub services: system::ServiceFacts,
    /// Core dumps and login banners.
    pub hardening: kernel::HardeningFacts,
    /// Facts that could not be read, by path, with the reason.
    pub unknown: BTreeMap<String, String>,
}

/// Config files read through the root.
struct Source<'a>(&'a RootFs);
impl sshd::ConfigSource for Source<'_> {
    fn read(&self, path: &str) -> Result<String, String> {
        self.0.read_text(path).map_err(|e| e.0)
    }
    fn glob(&self, pattern: &str) -> Result<Vec<String>, String> {
        self.0.glob(pattern).map_err(|e| e.0)
    }
}

fn ssh(fs: &RootFs, packages: &system::PackageFacts, g: &mut Gather) -> SshFacts {
    let main = "/etc/ssh/sshd_config";
    let binary = ["/usr/sbin/sshd", "/usr/bin/sshd", "/sbin/sshd"]
        .into_iter()
        .find(|p| fs.exists(p));
    let installed = binary.is_some() || packages.has("openssh-server") || fs.exists(main);
    let mut facts = SshFacts {
        installed,
        ..SshFacts::default()
    };
    if !installed {
        g.unknown("ssh.effective", "no SSH server is installed");
        return facts;
    }
    let parsed = sshd::parse(&Source(fs), main);
    facts.explicit = parsed.explicit;
    facts.match_blocks = parsed.match_blocks;
    facts.files = parsed.files;
    facts.problems = parsed.problems;
    let invalid = parsed.unknown;
    if facts.files.is_empty() {
        g.unknown(
            "ssh.effective",
            facts.problems.first().map_or_else(
                || "sshd_config unreadable".to_owned(),
                |p| p.message.clone(),
            ),
        );
        return facts;
    }
    // On the running system, `sshd -T` is the authority: it applies the compiled-in
    // defaults of the installed version.
    if fs.is_live()
        && let Some(binary) = binary
    {
        match std::process::Command::new(binary)
            .arg("-T")
            .stderr(std::process::Stdio::null())
            .output()
        {
            Ok(out) if out.status.success() => {
                facts.source = Some("sshd -T".to_owned());
                facts.effective = Some(sshd::parse_dump(&String::from_utf8_lossy(&out.stdout)));
                return facts;
            }
            Ok(out) => g.unknown(
                "ssh.sshd_t",
                format!(
                    "`{binary} -T` failed with {}; the configuration files were parsed instead",
                    out.status
                ),
            ),
            Err(e) => g.unknown(
                "ssh.sshd_t",
                format!(
                    "cannot run `{binary} -T`: {e}; the configuration files were parsed instead"
                ),
            ),
        }
    }

    if !parsed.unreadable.is_empty() {
        g.unknown(
            "ssh.effective",
            format!(
                "the configuration is incomplete: {}",
                parsed.unreadable.join("; ")
            ),
        );
        return facts;
    }
    facts.source = Some("config".to_owned());
    facts.effective = Some(parsed.effective);
    // A setting sshd would reject is not guessed: it is unknown, with the line and reason.
    for (keyword, reason) in invalid {
        g.unknown(&format!("ssh.effective.{keyword}"), reason);
    }
    facts
}

fn hostname(fs: &RootFs) -> String {
    let from = |p: &str| {
        fs.read_text(p)
            .ok()
            .map(|t| t.trim().to_owned())
            .filter(|t| !t.is_empty())
    };
    let live = if fs.is_live() {
        from("/proc/sys/kernel/hostname")
    } else {
        None
    };
    live.or_else(|| from("/etc/hostname"))
        .or_else(|| {
            fs.root()
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
        })
        .unwrap_or_else(|| "localhost".to_owned())
}

/// Collects every host fact family from `fs` at time `now`.
pub fn collect(fs: &RootFs, now: Timestamp) -> HostFacts {
    let mut g = Gather::default();
    let today = now.to_zoned(jiff::tz::TimeZone::UTC).date();
    let today_days = now.as_second() / 86_400;
    let os = system::os(fs, today, &mut g);
    let packages = system::packages(fs, &mut g);
    let processes = system::processes(fs, &mut g);
    let services = system::services(fs, &packages, &mut g);
    let ssh = ssh(fs, &packages, &mut g);
    let accounts = accounts::accounts(fs, today_days, &mut g);
    let auth = accounts::auth_policy(fs, &mut g);
    let kernel = kernel::kernel(fs, &mut g);
    let network = network::network(fs, &packages, &services, &mut g);
    let encryption = network::encryption(fs, &mut g);
    let logging = operations::logging(fs, &packages, &services, processes.as_ref(), &mut g);
    let time = operations::time(fs, &packages, &services, processes.as_ref(), &mut g);
    let patching = operations::patching(fs, &packages, &services, now.as_second(), &mut g);
    let malware = operations::malware(fs, &packages, &services, processes.as_ref());
    let users = accounts
        .users
        .iter()
        .map(|u| (u.uid, u.name.clone()))
        .collect();
    let groups = accounts
        .groups
        .iter()
        .map(|gr| (gr.gid, gr.name.clone()))
        .collect();
    let files = kernel::permissions(fs, &users, &groups, &mut g);
    let hardening = kernel::hardening(fs, os.id.as_deref(), &mut g);
    HostFacts {
        schema: HOST_FACTS_SCHEMA.to_owned(),
        collected_at: now,
        root: fs.root().display().to_string(),
        live: fs.is_live(),
        hostname: hostname(fs),
        os,
        packages,
        ssh,
        accounts,
        auth,
        kernel,
        network,
        encryption,
        logging,
        time,
        patching,
        malware,
        files,
        services,
        hardening,
        unknown: g.unknown,
    }
}
