//! The raw shapes of workspace files, as written, with spans for diagnostics.
//!
//! Files are read into these types field by field (`read.rs`), so that one file yields every
//! problem it has rather than only the first: a required field that is missing or has the wrong
//! type is `None` here, and the rest of its table is still read and validated. Values that need
//! checking beyond their type (ids, enum names, dates) are kept as `Spanned` text and validated
//! in `validate.rs`.
//!
//! These types are also the source of the published JSON Schemas: the `#[serde]` attributes
//! describe the file format to `schemars`, and a test holds the reader to the same fields.

use schemars::JsonSchema;
use toml::Spanned;

/// `attest.toml`: the organisation, the audit scope and the sources to collect from.
#[derive(Debug, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "attest.toml", description = "Attest workspace configuration")]
pub struct RawConfig {
    /// The organisation being audited.
    #[schemars(with = "RawOrganisation")]
    pub organisation: Option<RawOrganisation>,
    /// What the audit covers.
    #[serde(default)]
    pub scope: RawScope,
    /// Where facts are collected from.
    #[serde(default)]
    pub source: Vec<RawSource>,
    /// Adjustments to the control library.
    #[serde(default)]
    pub controls: RawControlsConfig,
    /// How continuously sources are monitored.
    #[serde(default)]
    pub monitoring: RawMonitoring,
    /// Type 2 sample sizes by control frequency.
    #[serde(default)]
    pub sampling: RawSampling,
    /// When failing controls open findings, and how soon findings must be closed.
    #[serde(default)]
    pub findings: RawFindings,
    /// Notification channels: webhooks (generic JSON, Slack, Teams) and e-mail.
    #[serde(default)]
    #[schemars(with = "Vec<RawNotify>")]
    pub notify: Vec<Spanned<RawNotify>>,
}

/// When failing controls open findings, and how soon findings must be closed.
#[derive(Debug, Default, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawFindings {
    /// How long a control may fail before a finding opens, by severity (default: critical
    /// and high at once, "0h"; the others "24h").
    pub grace: Option<RawBySeverity>,
    /// How long a finding may stay unclosed, by severity (default: critical "7d", high "30d",
    /// medium "90d", low and info "180d").
    pub sla: Option<RawBySeverity>,
}

/// A duration for each severity, e.g. `{ critical = "0h", high = "4h" }`.
#[derive(Debug, Default, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawBySeverity {
    /// Critical.
    #[schemars(with = "Option<String>")]
    pub critical: Option<Spanned<String>>,
    /// High.
    #[schemars(with = "Option<String>")]
    pub high: Option<Spanned<String>>,
    /// Medium.
    #[schemars(with = "Option<String>")]
    pub medium: Option<Spanned<String>>,
    /// Low.
    #[schemars(with = "Option<String>")]
    pub low: Option<Spanned<String>>,
    /// Info.
    #[schemars(with = "Option<String>")]
    pub info: Option<Spanned<String>>,
}

/// A notification channel. Webhook kinds take `url_env` or `url_file`; `email` takes the
/// `smtp_*`, `security`, `username`, `password_*`, `from`, `to` and `ca_file` fields. Secrets
/// are never written here: only the environment variable or file that holds them.
#[derive(Debug, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawNotify {
    /// Unique name of the channel, e.g. "security-slack".
    #[schemars(with = "String")]
    pub name: Option<Spanned<String>>,
    /// `webhook` (generic JSON), `slack`, `teams` or `email`.
    #[schemars(with = "attest_model::ChannelKind")]
    pub kind: Option<Spanned<String>>,
    /// Events the channel receives (default: all): finding.opened, finding.fixed,
    /// finding.overdue, finding.closed, drift, monitor.failed.
    #[schemars(with = "Option<Vec<String>>")]
    pub events: Option<Spanned<Vec<Spanned<String>>>>,
    /// The least severe notification the channel receives (default `info`: all).
    #[schemars(with = "Option<attest_model::Severity>")]
    pub min_severity: Option<Spanned<String>>,
    /// Webhook kinds: the environment variable that holds the webhook URL.
    #[schemars(with = "Option<String>")]
    pub url_env: Option<Spanned<String>>,
    /// Webhook kinds: a file that holds the webhook URL (relative to the workspace folder).
    #[schemars(with = "Option<String>")]
    pub url_file: Option<Spanned<String>>,
    /// E-mail: the SMTP server's host name.
    #[schemars(with = "Option<String>")]
    pub smtp_host: Option<Spanned<String>>,
    /// E-mail: the SMTP server's port (default 587 for starttls, 465 for tls, 25 for none).
    #[schemars(with = "Option<u16>", range(min = 1, max = 65535))]
    pub smtp_port: Option<Spanned<i64>>,
    /// E-mail: `starttls` (default), `tls` or `none`.
    #[schemars(with = "Option<attest_model::SmtpSecurity>")]
    pub security: Option<Spanned<String>>,
    /// E-mail: the user name to authenticate with (default: no authentication).
    #[schemars(with = "Option<String>")]
    pub username: Option<Spanned<String>>,
    /// E-mail: the environment variable that holds the SMTP password.
    #[schemars(with = "Option<String>")]
    pub password_env: Option<Spanned<String>>,
    /// E-mail: a file that holds the SMTP password (relative to the workspace folder).
    #[schemars(with = "Option<String>")]
    pub password_file: Option<Spanned<String>>,
    /// E-mail: the sender, e.g. "Attest <attest@example.com>".
    #[schemars(with = "Option<String>")]
    pub from: Option<Spanned<String>>,
    /// E-mail: the recipients.
    #[schemars(with = "Option<Vec<String>>")]
    pub to: Option<Spanned<Vec<Spanned<String>>>>,
    /// E-mail: a PEM file of extra root certificates to trust (a private CA), relative to the
    /// workspace folder.
    #[schemars(with = "Option<String>")]
    pub ca_file: Option<Spanned<String>>,
}

/// How continuously sources are monitored.
#[derive(Debug, Default, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawMonitoring {
    /// How often sources are collected, e.g. "1h" or "15m" (default "1h").
    #[schemars(with = "Option<String>")]
    pub interval: Option<Spanned<String>>,
    /// When `attest monitor` runs, as a cron expression in UTC (e.g. "0 * * * *"), instead of
    /// every `interval`.
    #[schemars(with = "Option<String>")]
    pub schedule: Option<Spanned<String>>,
    /// The longest silence between two runs of a target that still counts as continuous
    /// monitoring, e.g. "90m"; a longer one is a gap in Type 2 reports (default: one and a
    /// half intervals).
    #[schemars(with = "Option<String>")]
    pub max_gap: Option<Spanned<String>>,
}

/// Type 2 sample sizes by control frequency (defaults: annual 1, quarterly 2, monthly 2,
/// weekly 5, daily 20, `per_event` 25, continuous 25).
#[derive(Debug, Default, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawSampling {
    /// Annual controls.
    #[schemars(with = "Option<u32>", range(min = 1, max = 1000))]
    pub annual: Option<Spanned<i64>>,
    /// Quarterly controls.
    #[schemars(with = "Option<u32>", range(min = 1, max = 1000))]
    pub quarterly: Option<Spanned<i64>>,
    /// Monthly controls.
    #[schemars(with = "Option<u32>", range(min = 1, max = 1000))]
    pub monthly: Option<Spanned<i64>>,
    /// Weekly controls.
    #[schemars(with = "Option<u32>", range(min = 1, max = 1000))]
    pub weekly: Option<Spanned<i64>>,
    /// Daily controls.
    #[schemars(with = "Option<u32>", range(min = 1, max = 1000))]
    pub daily: Option<Spanned<i64>>,
    /// Per-event controls.
    #[schemars(with = "Option<u32>", range(min = 1, max = 1000))]
    pub per_event: Option<Spanned<i64>>,
    /// Continuous controls: at most this many targets, one run each.
    #[schemars(with = "Option<u32>", range(min = 1, max = 1000))]
    pub continuous: Option<Spanned<i64>>,
}

/// The organisation being audited.
#[derive(Debug, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawOrganisation {
    /// Legal or trading name, as it appears on reports.
    #[schemars(with = "String")]
    pub name: Option<String>,
}

/// What the audit covers.
#[derive(Debug, Default, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawScope {
    /// `type1` (design at a point in time) or `type2` (operating effectiveness over a period).
    #[serde(rename = "type")]
    #[schemars(with = "Option<attest_model::AuditType>")]
    pub audit_type: Option<Spanned<String>>,
    /// Categories in scope besides `security`, which is always in scope.
    #[serde(default)]
    #[schemars(with = "Vec<attest_model::Category>")]
    pub categories: Vec<Spanned<String>>,
    /// The audit period, both ends inclusive.
    pub period: Option<RawPeriod>,
    /// Systems in scope, by name.
    #[serde(default)]
    pub systems: Vec<String>,
}

/// An audit period; dates as TOML local dates (`2026-01-01`) or strings.
#[derive(Debug, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawPeriod {
    /// First day.
    #[schemars(with = "String")]
    pub start: Option<Spanned<RawDate>>,
    /// Last day.
    #[schemars(with = "String")]
    pub end: Option<Spanned<RawDate>>,
}

/// A date as written: a TOML date (`2026-01-01`) or a string, kept as text for validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawDate(pub String);

/// A source to collect facts from.
#[derive(Debug, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawSource {
    /// One of `host`, `aws`, `terraform`, `kubernetes`, `idp`, `git`, `manual`.
    #[schemars(with = "String")]
    pub kind: Option<Spanned<String>>,
    /// For `host`: the root to scan (default `/`); for file-based sources: the export path.
    pub path: Option<String>,
    /// Whether the source is collected (default true).
    #[serde(default = "default_true")]
    pub enabled: bool,
}

fn default_true() -> bool {
    true
}

/// Adjustments to the control library.
#[derive(Debug, Default, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawControlsConfig {
    /// Controls that do not apply, each with the reason (shown in reports).
    #[serde(default)]
    pub exclude: Vec<RawExclusion>,
}

/// A control taken out of scope.
#[derive(Debug, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawExclusion {
    /// The control id.
    #[schemars(with = "String")]
    pub id: Option<Spanned<String>>,
    /// Why it does not apply, e.g. "carved out: data centres are operated by the cloud provider".
    #[schemars(with = "String")]
    pub reason: Option<String>,
}

/// `controls/<family>.toml`: one family of controls.
#[derive(Debug, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(
    title = "Attest control family",
    description = "One file of controls under controls/"
)]
pub struct RawControlFile {
    /// The family the file's controls belong to.
    #[schemars(with = "RawFamily")]
    pub family: Option<RawFamily>,
    /// The controls.
    #[serde(default)]
    pub control: Vec<RawControl>,
}

/// A family of controls.
#[derive(Debug, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawFamily {
    /// Family id: the prefix of its control ids, e.g. `AC`.
    #[schemars(with = "String")]
    pub id: Option<Spanned<String>>,
    /// Family name.
    #[schemars(with = "String")]
    pub name: Option<String>,
    /// One sentence on what the family covers.
    #[serde(default)]
    pub description: String,
}

/// One control.
#[derive(Debug, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawControl {
    /// Identifier, `<FAMILY>-NN`, e.g. `AC-01`.
    #[schemars(with = "String")]
    pub id: Option<Spanned<String>>,
    /// The control stated as operating.
    #[schemars(with = "String")]
    pub title: Option<Spanned<String>>,
    /// What the organisation does, concretely.
    #[schemars(with = "String")]
    pub description: Option<String>,
    /// Criteria ids the control addresses, e.g. `CC6.1`.
    #[schemars(with = "Vec<String>")]
    pub criteria: Option<Spanned<Vec<Spanned<String>>>>,
    /// The role accountable for the control.
    #[schemars(with = "String")]
    pub owner: Option<String>,
    /// How often it operates.
    #[schemars(with = "attest_model::Frequency")]
    pub frequency: Option<Spanned<String>>,
    /// How it is evidenced: automated, manual or hybrid.
    #[schemars(with = "attest_model::ControlKind")]
    pub kind: Option<Spanned<String>>,
    /// Impact when it does not operate (default `medium`).
    #[schemars(with = "Option<attest_model::Severity>")]
    pub severity: Option<Spanned<String>>,
    /// Ids of automated checks that evidence it.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub checks: Vec<Spanned<String>>,
    /// Manual evidence expected; required for manual and hybrid controls.
    #[schemars(with = "Option<RawEvidence>")]
    pub evidence: Option<Spanned<RawEvidence>>,
}

/// Manual evidence a control expects.
#[derive(Debug, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawEvidence {
    /// The document or record that proves the control operated.
    #[schemars(with = "String")]
    pub expected: Option<String>,
    /// Days one piece of evidence stays current after its effective date.
    #[schemars(with = "u32", range(min = 1, max = 3660))]
    pub freshness_days: Option<Spanned<i64>>,
}

/// `criteria/*.toml`: criteria of a framework.
#[derive(Debug, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(
    title = "Attest criteria",
    description = "Criteria of a framework, e.g. the 2017 TSC"
)]
pub struct RawCriteriaFile {
    /// The criteria.
    #[serde(default)]
    pub criterion: Vec<RawCriterion>,
}

/// One criterion.
#[derive(Debug, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawCriterion {
    /// Identifier, e.g. `CC6.1`.
    #[schemars(with = "String")]
    pub id: Option<Spanned<String>>,
    /// Category.
    #[schemars(with = "attest_model::Category")]
    pub category: Option<Spanned<String>>,
    /// Series code, e.g. `CC6`.
    #[schemars(with = "String")]
    pub series: Option<String>,
    /// Short title.
    #[schemars(with = "String")]
    pub title: Option<String>,
    /// What the criterion asks.
    #[schemars(with = "String")]
    pub description: Option<String>,
    /// Points of focus.
    #[serde(default)]
    pub points_of_focus: Vec<String>,
}

/// `checks/<source>/<family>/checks.toml`: metadata of a family of checks.
#[derive(Debug, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(
    title = "Attest checks",
    description = "Metadata of automated checks; the Rego is beside it"
)]
pub struct RawCheckFile {
    /// The checks.
    #[serde(default)]
    pub check: Vec<RawCheck>,
}

/// One check.
#[derive(Debug, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawCheck {
    /// Identifier `<source>.<family>.<name>`, e.g. `host.ssh.root_login_disabled`; its Rego
    /// rule is `data.attest.<id>`.
    #[schemars(with = "String")]
    pub id: Option<Spanned<String>>,
    /// What passing means, in a sentence.
    #[schemars(with = "String")]
    pub title: Option<String>,
    /// Severity of a failure.
    #[schemars(with = "attest_model::Severity")]
    pub severity: Option<Spanned<String>>,
    /// Why it matters.
    #[schemars(with = "String")]
    pub rationale: Option<String>,
    /// How to fix a failure: exact commands or configuration lines.
    #[schemars(with = "String")]
    pub remediation: Option<String>,
    /// Benchmark references (CIS, SSG ids).
    #[serde(default)]
    pub references: Vec<String>,
    /// The configuration fix `attest remediate` can write as a new drop-in file, when the
    /// remediation is configuration lines, e.g.
    /// `fix = { kind = "sshd", settings = { PermitRootLogin = "no" } }`.
    #[schemars(with = "Option<RawFix>")]
    pub fix: Option<Spanned<RawFix>>,
}

/// A configuration fix: settings that `attest remediate` writes to a new drop-in file.
#[derive(Debug, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawFix {
    /// What the settings configure: `sshd`, `sysctl`, `journald`, `coredump` or `limits`.
    #[schemars(with = "attest_model::FixKind")]
    pub kind: Option<Spanned<String>>,
    /// Setting → value, as the configuration file spells them, e.g.
    /// `{ PermitRootLogin = "no" }` or `{ "kernel.randomize_va_space" = "2" }`.
    #[schemars(with = "std::collections::BTreeMap<String, String>")]
    pub settings: Option<Spanned<RawSettings>>,
}

/// Settings of a fix as written: each key and value with its span.
#[derive(Debug, Default)]
pub struct RawSettings(pub Vec<(Spanned<String>, Spanned<String>)>);
