//! Findings: non-conformities, from a failing control or opened by hand, and their trail.

use jiff::{SignedDuration, Timestamp};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{Severity, named_enum};

named_enum! {
    /// Where a finding stands.
    pub enum FindingStatus("finding status") {
        /// Found, not yet worked on.
        Open => "open",
        /// Someone is working on it.
        InProgress => "in_progress",
        /// The organisation accepted the risk, with a reason.
        RiskAccepted => "risk_accepted",
        /// The control operates again (or the issue was fixed); waiting for root cause,
        /// corrective action and closure.
        Resolved => "resolved",
        /// Closed with root cause and corrective action recorded.
        Closed => "closed",
    }
}

named_enum! {
    /// How a finding was opened.
    pub enum FindingSource("finding source") {
        /// By Attest, when a control kept failing past its grace period.
        Automated => "automated",
        /// By a person: an auditor's exception, an incident.
        Manual => "manual",
    }
}

impl FindingStatus {
    /// Whether the finding still needs work (anything but closed).
    pub fn is_active(self) -> bool {
        self != FindingStatus::Closed
    }
}

/// A finding, as stored and as every `finding.*` ledger entry records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Finding {
    /// Store-assigned id, from 1.
    pub id: i64,
    /// What is wrong, in a line.
    pub title: String,
    /// Controls not operating.
    pub controls: Vec<String>,
    /// Criteria those controls map to.
    pub criteria: Vec<String>,
    /// Severity.
    pub severity: Severity,
    /// Automated or manual.
    pub source: FindingSource,
    /// Status.
    pub status: FindingStatus,
    /// When the failure began (the first failing result), RFC 3339.
    #[schemars(with = "String")]
    pub failing_since: Timestamp,
    /// When the finding was opened (RFC 3339).
    #[schemars(with = "String")]
    pub opened_at: Timestamp,
    /// When it must be closed by, from the severity's SLA (RFC 3339).
    #[schemars(with = "String")]
    pub due_at: Timestamp,
    /// When the checks passed again (RFC 3339), if they did.
    #[schemars(with = "Option<String>")]
    pub fixed_at: Option<Timestamp>,
    /// When it was closed (RFC 3339).
    #[schemars(with = "Option<String>")]
    pub closed_at: Option<Timestamp>,
    /// The role or person accountable.
    pub owner: String,
    /// Why it happened.
    pub root_cause: Option<String>,
    /// What was done so it does not happen again.
    pub corrective_action: Option<String>,
    /// SHA-256 of the evidence file attached at closure.
    pub closure_evidence: Option<String>,
    /// Why the risk was accepted.
    pub risk_reason: Option<String>,
    /// Until when the risk is accepted (RFC 3339).
    #[schemars(with = "Option<String>")]
    pub risk_until: Option<Timestamp>,
    /// The failing results, as `check on resource of target`, sorted; at most
    /// [`Finding::LISTED_RESOURCES`], the rest counted in `resources_omitted`.
    pub resources: Vec<String>,
    /// Failing results past the listed ones (absent when none).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub resources_omitted: u64,
}

#[expect(
    clippy::trivially_copy_pass_by_ref,
    reason = "serde's skip_serializing_if passes a reference"
)]
fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl Finding {
    /// Most failing results a finding lists: a finding on a control failing across a fleet
    /// names the first ones and counts the rest, so each ledger entry stays small.
    pub const LISTED_RESOURCES: usize = 100;

    /// Whether it is past its due date at `now` and still not closed.
    pub fn is_overdue(&self, now: Timestamp) -> bool {
        self.status.is_active() && self.status != FindingStatus::RiskAccepted && now > self.due_at
    }
}

/// One change in a finding's trail: a `finding.*` ledger entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct FindingEvent {
    /// Ledger sequence number of the entry.
    pub seq: u64,
    /// When (RFC 3339).
    #[schemars(with = "String")]
    pub at: Timestamp,
    /// The event: `opened`, `updated`, `fixed`, `recurred`, `closed`, `risk_accepted`, ...
    pub event: String,
    /// Who: a user, or `attest` for automated events.
    pub by: String,
    /// Free text given with the change.
    pub note: Option<String>,
    /// The finding after the change.
    pub state: Finding,
}

/// Grace periods and SLAs by severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FindingPolicy {
    /// How long a control may fail before a finding opens, by severity (info to critical).
    pub grace: [SignedDuration; 5],
    /// How long a finding may stay unclosed, by severity (info to critical).
    pub sla: [SignedDuration; 5],
}

impl Default for FindingPolicy {
    /// Findings open at once for critical and high severity and after 24 hours for the rest;
    /// SLAs: critical 7 days, high 30, medium 90, low and info 180.
    fn default() -> Self {
        let hours = SignedDuration::from_hours;
        FindingPolicy {
            grace: [hours(24), hours(24), hours(24), hours(0), hours(0)],
            sla: [
                hours(180 * 24),
                hours(180 * 24),
                hours(90 * 24),
                hours(30 * 24),
                hours(7 * 24),
            ],
        }
    }
}

impl FindingPolicy {
    fn index(severity: Severity) -> usize {
        match severity {
            Severity::Info => 0,
            Severity::Low => 1,
            Severity::Medium => 2,
            Severity::High => 3,
            Severity::Critical => 4,
        }
    }

    /// The grace period of `severity`.
    pub fn grace(&self, severity: Severity) -> SignedDuration {
        self.grace
            .get(Self::index(severity))
            .copied()
            .unwrap_or_default()
    }

    /// The SLA of `severity`.
    pub fn sla(&self, severity: Severity) -> SignedDuration {
        self.sla
            .get(Self::index(severity))
            .copied()
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_open_high_findings_at_once_and_others_after_a_day() {
        let policy = FindingPolicy::default();
        assert_eq!(policy.grace(Severity::Critical), SignedDuration::ZERO);
        assert_eq!(policy.grace(Severity::High), SignedDuration::ZERO);
        assert_eq!(
            policy.grace(Severity::Medium),
            SignedDuration::from_hours(24)
        );
        assert_eq!(
            policy.sla(Severity::Critical),
            SignedDuration::from_hours(7 * 24)
        );
        assert_eq!(
            policy.sla(Severity::Low),
            SignedDuration::from_hours(180 * 24)
        );
    }
}
