//! Automated checks: metadata written beside their Rego, and the fixes that can be applied.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Serialize;

use crate::Severity;

/// An automated check: metadata from `checks/<source>/<family>/checks.toml`.
///
/// The check's Rego rule is `data.attest.<source>.<family>.<name>` for an id
/// `<source>.<family>.<name>`; it yields a set of results, each an object with `resource`,
/// `status` and `message`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct CheckMeta {
    /// Identifier, e.g. `host.ssh.root_login_disabled`.
    pub id: String,
    /// The source whose facts it reads, e.g. `host`.
    pub source: String,
    /// What passing means, in a sentence.
    pub title: String,
    /// Severity of a failure.
    pub severity: Severity,
    /// Why it matters.
    pub rationale: String,
    /// How to fix a failure: exact commands or configuration lines.
    pub remediation: String,
    /// Benchmark references, e.g. `CIS Ubuntu 24.04 5.1.20`, `SSG sshd_disable_root_login`.
    pub references: Vec<String>,
    /// The configuration fix `attest remediate` can write as a new drop-in file, if the
    /// remediation is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<Fix>,
}

impl CheckMeta {
    /// The Rego rule path of the check, e.g. `data.attest.host.ssh.root_login_disabled`.
    pub fn rule_path(&self) -> String {
        format!("data.attest.{}", self.id)
    }
}

crate::named_enum! {
    /// What a fix configures, and so which drop-in folder its file goes to.
    pub enum FixKind("fix kind") {
        /// OpenSSH server keywords, in `/etc/ssh/sshd_config.d/`.
        Sshd => "sshd",
        /// Kernel parameters, in `/etc/sysctl.d/`.
        Sysctl => "sysctl",
        /// systemd-journald settings (`[Journal]`), in `/etc/systemd/journald.conf.d/`.
        Journald => "journald",
        /// systemd-coredump settings (`[Coredump]`), in `/etc/systemd/coredump.conf.d/`.
        Coredump => "coredump",
        /// PAM resource limits (`<domain> <type> <item>`), in `/etc/security/limits.d/`.
        Limits => "limits",
    }
}

/// A fix that is configuration: settings written to a new drop-in file, never into a file
/// that exists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Fix {
    /// What the settings configure.
    pub kind: FixKind,
    /// Setting → value, spelled as the configuration file spells them (e.g. `PermitRootLogin`
    /// → `no`; `kernel.randomize_va_space` → `2`; `* hard core` → `0`).
    pub settings: BTreeMap<String, String>,
}
