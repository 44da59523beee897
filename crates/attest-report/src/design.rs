//! What a control is and how it is evidenced, as the Type 1 and Type 2 reports state it.

use std::collections::BTreeSet;

use attest_model::{Control, ControlKind, Frequency, Severity};
use schemars::JsonSchema;
use serde::Serialize;

/// A control's design.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ControlDesignFields {
    /// Control id.
    pub id: String,
    /// Title.
    pub title: String,
    /// What the organisation does.
    pub description: String,
    /// Criteria in scope it maps to.
    pub criteria: Vec<String>,
    /// Owner role.
    pub owner: String,
    /// Frequency.
    pub frequency: Frequency,
    /// Kind.
    pub kind: ControlKind,
    /// Severity.
    pub severity: Severity,
    /// Automated checks that evidence it.
    pub checks: Vec<String>,
    /// Manual evidence expected, for manual and hybrid controls.
    pub evidence_expected: Option<String>,
    /// Days one piece of evidence stays current.
    pub freshness_days: Option<u32>,
}

impl ControlDesignFields {
    /// The design of `control`, keeping only the criteria in scope.
    pub fn of(control: &Control, in_scope: &BTreeSet<&str>) -> Self {
        ControlDesignFields {
            id: control.id.clone(),
            title: control.title.clone(),
            description: control.description.clone(),
            criteria: control.criteria_where(|c| in_scope.contains(c)),
            owner: control.owner.clone(),
            frequency: control.frequency,
            kind: control.kind,
            severity: control.severity,
            checks: control.checks.clone(),
            evidence_expected: control.evidence.as_ref().map(|e| e.expected.clone()),
            freshness_days: control.evidence.as_ref().map(|e| e.freshness_days),
        }
    }
}
