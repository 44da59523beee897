//! `attest init`: writes a commented workspace a team commits and edits.

use std::path::{Path, PathBuf};

use attest_diagnostics::SourceFile;
use jiff::ToSpan;
use jiff::civil::Date;

use crate::CONFIG_FILE;

/// What `init` writes.
#[derive(Debug, Clone)]
pub struct InitOptions<'a> {
    /// Organisation name for `attest.toml`.
    pub organisation: String,
    /// First day of the audit period; it runs for twelve months.
    pub period_start: Date,
    /// The built-in control files, exported as the workspace's editable `controls/`.
    pub controls: &'a [SourceFile],
}

/// Why `init` wrote nothing.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    /// The target already has workspace files; nothing was overwritten.
    #[error("{} already exists; nothing was written", .0.display())]
    Exists(PathBuf),
    /// A file could not be written.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// The commented `attest.toml` written by `init`.
pub fn render_config_template(organisation: &str, period_start: Date) -> String {
    let end = period_start
        .checked_add(1.year())
        .and_then(|d| d.checked_sub(1.day()))
        .unwrap_or(period_start);
    let organisation = organisation.replace('\\', "\\\\").replace('"', "\\\"");
    format!(
        r#"#:schema ./schemas/attest.schema.json
# Attest workspace. Commit this folder; `attest validate` checks every file in it.

[organisation]
# The name printed on reports.
name = "{organisation}"

[scope]
# type1: controls are designed well at one point in time.
# type2: controls operated effectively over the whole period (3 to 12 months).
type = "type2"
# Security (the common criteria CC1-CC9) is always in scope. Add any of:
# availability, confidentiality, processing_integrity, privacy.
categories = ["availability", "confidentiality"]
# The audit period, both days included.
period = {{ start = {period_start}, end = {end} }}
# Systems in scope, by name, as they appear in the system description.
systems = ["production"]

# Where facts come from. Kinds: host, aws, terraform, kubernetes, idp, git, manual.
[[source]]
kind = "host"
path = "/"

# Controls of the library that do not apply, each with the reason auditors will read.
[controls]
exclude = [
  # {{ id = "PHY-01", reason = "Carved out: data centres are operated by our cloud provider" }},
]

# Continuous monitoring. A target silent for longer than max_gap shows a gap in monitoring
# in Type 2 reports (it is not counted as operating).
[monitoring]
interval = "1h"
max_gap = "90m"

# A control failing longer than its grace period opens a finding; a finding must be closed
# (root cause and corrective action recorded) within its SLA.
[findings]
grace = {{ critical = "0h", high = "0h", medium = "24h", low = "24h", info = "24h" }}
sla = {{ critical = "7d", high = "30d", medium = "90d", low = "180d", info = "180d" }}

# Type 2 sample sizes by control frequency (the common minimums; raise them if your auditor
# asks). Continuous controls: one run per target, at most this many targets.
[sampling]
annual = 1
quarterly = 2
monthly = 2
weekly = 5
daily = 20
per_event = 25
continuous = 25

# Notification channels (none by default). Kinds: webhook (generic JSON), slack, teams, email.
# Secrets are never written here: name the environment variable or file that holds them.
# Events: finding.opened, finding.fixed, finding.overdue, finding.closed, drift, monitor.failed
# (default: all). Try every channel with `attest notify test`.
#
# [[notify]]
# name = "security-slack"
# kind = "slack"
# url_env = "ATTEST_SLACK_WEBHOOK"        # or url_file = "/etc/attest/slack-webhook"
# events = ["finding.opened", "finding.fixed", "drift"]
# min_severity = "high"                   # info (default), low, medium, high, critical
#
# [[notify]]
# name = "soc-mail"
# kind = "email"
# smtp_host = "smtp.example.com"
# smtp_port = 587
# security = "starttls"                   # starttls (default), tls, none
# username = "attest"
# password_env = "ATTEST_SMTP_PASSWORD"   # or password_file = "/etc/attest/smtp-password"
# from = "Attest <attest@example.com>"
# to = ["security@example.com"]
"#
    )
}

/// Writes `attest.toml`, `controls/*.toml` and `schemas/*.json` into `dir`.
///
/// Nothing is written if any target file already exists. Returns the files written.
pub fn init(dir: &Path, options: &InitOptions<'_>) -> Result<Vec<PathBuf>, InitError> {
    let mut files: Vec<(PathBuf, String)> = vec![(
        PathBuf::from(CONFIG_FILE),
        render_config_template(&options.organisation, options.period_start),
    )];
    for control_file in options.controls {
        let Some(name) = control_file.path.file_name() else {
            continue;
        };
        let text = format!(
            "#:schema ../schemas/controls.schema.json\n{}",
            control_file.text
        );
        files.push((Path::new("controls").join(name), text));
    }
    for (name, schema) in crate::schemas() {
        let mut text = serde_json::to_string_pretty(&schema).map_err(std::io::Error::other)?;
        text.push('\n');
        files.push((Path::new("schemas").join(name), text));
    }
    if let Some((existing, _)) = files.iter().find(|(rel, _)| dir.join(rel).exists()) {
        return Err(InitError::Exists(dir.join(existing)));
    }
    let mut written = Vec::new();
    for (rel, text) in files {
        let path = dir.join(&rel);
        if let Some(parent) = path.parent() {
            fs_err::create_dir_all(parent)?;
        }
        // Write to a temporary name and rename, so a file is either absent or whole.
        let tmp = path.with_extension("tmp~");
        fs_err::write(&tmp, text)?;
        fs_err::rename(&tmp, &path)?;
        written.push(path);
    }
    Ok(written)
}
