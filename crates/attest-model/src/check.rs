//! Automated checks: metadata written beside their Rego.

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
}

impl CheckMeta {
    /// The Rego rule path of the check, e.g. `data.attest.host.ssh.root_login_disabled`.
    pub fn rule_path(&self) -> String {
        format!("data.attest.{}", self.id)
    }
}
