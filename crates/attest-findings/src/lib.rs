//! The findings lifecycle: what the latest results mean for findings.
//!
//! Rules (`docs/formats/findings.md`):
//! - a control in scope that has failing results (status `fail`) opens an *automated* finding
//!   once it has failed for its grace period (by the highest severity failing: at once for
//!   critical and high, after 24 hours for the rest, by default); the finding is due after the
//!   severity's SLA;
//! - a control never has two active automated findings: while one is active, new failures
//!   only update its list of failing results (the first [`Finding::LISTED_RESOURCES`] in
//!   order, the rest counted);
//! - when the control's results pass again, the finding records `fixed_at` and becomes
//!   `resolved` (a risk-accepted one keeps its status), but it stays until someone records the
//!   root cause and the corrective action and closes it;
//! - a resolved finding whose control fails again recurs: it is open again;
//! - a closed finding is history: a later failure opens a new one.
//!
//! Pure: no store, no clock. The caller saves each [`Action`] (each is a ledger entry).

use std::collections::{BTreeSet, HashMap};

use attest_model::{
    Finding, FindingPolicy, FindingSource, FindingStatus, ResultInterval, Severity, Status,
};
use attest_workspace::Workspace;
use jiff::Timestamp;

/// A change to make to the findings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Action {
    /// The finding after the change (id 0: a new finding).
    pub finding: Finding,
    /// The event: `opened`, `updated`, `fixed` or `recurred`.
    pub event: &'static str,
}

/// What the latest results mean for the findings, at `now`. Only the failing results in
/// `current` matter, so it may hold just those (a store's `failing_results`).
pub fn plan(
    workspace: &Workspace,
    policy: &FindingPolicy,
    current: &[ResultInterval],
    findings: &[Finding],
    now: Timestamp,
) -> Vec<Action> {
    let mut actions = Vec::new();
    let in_scope: BTreeSet<&str> = workspace
        .criteria_in_scope()
        .map(|c| c.id.as_str())
        .collect();
    // Failing results by check, gathered once rather than once per control.
    let mut failing_by_check: HashMap<&str, Vec<&ResultInterval>> = HashMap::new();
    for result in current.iter().filter(|r| r.status == Status::Fail) {
        failing_by_check
            .entry(result.check.as_str())
            .or_default()
            .push(result);
    }
    for control in workspace.controls_in_scope() {
        if !control.kind.uses_checks() || control.checks.is_empty() {
            continue;
        }
        let checks: BTreeSet<&str> = control.checks.iter().map(String::as_str).collect();
        let failing: Vec<&ResultInterval> = checks
            .iter()
            .filter_map(|check| failing_by_check.get(check))
            .flatten()
            .copied()
            .collect();
        let active = findings.iter().find(|f| {
            f.source == FindingSource::Automated
                && f.status.is_active()
                && f.controls.len() == 1
                && f.controls.first() == Some(&control.id)
        });
        if failing.is_empty() {
            if let Some(finding) = active
                && finding.fixed_at.is_none()
            {
                let mut fixed = finding.clone();
                fixed.fixed_at = Some(now);
                if fixed.status != FindingStatus::RiskAccepted {
                    fixed.status = FindingStatus::Resolved;
                }
                actions.push(Action {
                    finding: fixed,
                    event: "fixed",
                });
            }
            continue;
        }
        let mut resources: Vec<String> = failing
            .iter()
            .map(|r| format!("{} on {} of {}", r.check, r.resource, r.target))
            .collect();
        resources.sort_unstable();
        resources.dedup();
        let omitted = resources.len().saturating_sub(Finding::LISTED_RESOURCES) as u64;
        resources.truncate(Finding::LISTED_RESOURCES);
        let severity = failing
            .iter()
            .map(|r| r.severity)
            .max()
            .unwrap_or(Severity::Medium);
        let since = failing.iter().map(|r| r.first_seen).min().unwrap_or(now);
        match active {
            Some(finding) if finding.fixed_at.is_some() => {
                let mut recurred = finding.clone();
                recurred.fixed_at = None;
                if recurred.status == FindingStatus::Resolved {
                    recurred.status = FindingStatus::Open;
                }
                recurred.resources = resources;
                recurred.resources_omitted = omitted;
                recurred.severity = recurred.severity.max(severity);
                actions.push(Action {
                    finding: recurred,
                    event: "recurred",
                });
            }
            Some(finding)
                if finding.resources != resources
                    || finding.resources_omitted != omitted
                    || finding.severity < severity =>
            {
                let mut updated = finding.clone();
                updated.resources = resources;
                updated.resources_omitted = omitted;
                updated.severity = updated.severity.max(severity);
                actions.push(Action {
                    finding: updated,
                    event: "updated",
                });
            }
            Some(_) => {}
            None => {
                let grace = policy.grace(severity);
                if now.duration_since(since) < grace {
                    continue;
                }
                actions.push(Action {
                    finding: Finding {
                        id: 0,
                        title: format!("{} {} — failing", control.id, control.title),
                        controls: vec![control.id.clone()],
                        criteria: control.criteria_where(|c| in_scope.contains(c)),
                        severity,
                        source: FindingSource::Automated,
                        status: FindingStatus::Open,
                        failing_since: since,
                        opened_at: now,
                        due_at: now
                            .checked_add(policy.sla(severity))
                            .unwrap_or(Timestamp::MAX),
                        fixed_at: None,
                        closed_at: None,
                        owner: control.owner.clone(),
                        root_cause: None,
                        corrective_action: None,
                        closure_evidence: None,
                        risk_reason: None,
                        risk_until: None,
                        resources,
                        resources_omitted: omitted,
                    },
                    event: "opened",
                });
            }
        }
    }
    actions
}

#[cfg(test)]
mod tests;
