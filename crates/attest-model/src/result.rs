//! Check results and their history as state intervals.

use jiff::{SignedDuration, Timestamp};
use schemars::JsonSchema;
use serde::Serialize;

use crate::{Severity, named_enum};

named_enum! {
    /// The outcome of one check on one resource.
    pub enum Status("status") {
        /// The resource meets the check.
        Pass => "pass",
        /// The resource does not meet the check.
        Fail => "fail",
        /// The check could not decide, e.g. because facts were unknown.
        Error => "error",
        /// The check does not apply to the resource.
        NotApplicable => "not_applicable",
    }
}

/// One check on one resource at one time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct CheckResult {
    /// Check id, e.g. `host.ssh.root_login_disabled`.
    pub check: String,
    /// The resource the result is about, e.g. `host:web-1/sshd`.
    pub resource: String,
    /// Outcome.
    pub status: Status,
    /// Severity of the check.
    pub severity: Severity,
    /// What was found, in a sentence.
    pub message: String,
}

/// A span of time during which one check on one resource kept the same outcome.
///
/// A new interval opens when the outcome changes; identical observations only move
/// `last_seen` forward. A time between two intervals is a gap in monitoring, not a pass.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct ResultInterval {
    /// The system the observation came from, e.g. a host name.
    pub target: String,
    /// Check id.
    pub check: String,
    /// Resource id.
    pub resource: String,
    /// Outcome throughout the interval.
    pub status: Status,
    /// Severity of the check.
    pub severity: Severity,
    /// Message of the first observation of the interval (later identical outcomes keep it).
    pub message: String,
    /// First observation (RFC 3339).
    #[schemars(with = "String")]
    pub first_seen: Timestamp,
    /// Latest observation (RFC 3339).
    #[schemars(with = "String")]
    pub last_seen: Timestamp,
    /// Number of observations folded into the interval.
    pub observations: u64,
}

/// One run of a source's checks on one target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunRecord {
    /// The source that produced the facts, e.g. `host`.
    pub source: String,
    /// The system observed, e.g. a host name.
    pub target: String,
    /// When the run observed the results.
    pub observed_at: Timestamp,
    /// The longest silence since the target's previous run that still counts as continuous
    /// monitoring; after a longer one every interval of the target starts afresh, so the
    /// silence shows as a gap.
    pub max_gap: SignedDuration,
}
