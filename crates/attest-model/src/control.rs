//! Controls, their families, and how each is evidenced.

use schemars::JsonSchema;
use serde::Serialize;

use crate::named_enum;

named_enum! {
    /// How often a control operates.
    pub enum Frequency("frequency") {
        /// Always on, monitored automatically.
        Continuous => "continuous",
        /// Once a day.
        Daily => "daily",
        /// Once a week.
        Weekly => "weekly",
        /// Once a month.
        Monthly => "monthly",
        /// Once a quarter.
        Quarterly => "quarterly",
        /// Once a year.
        Annual => "annual",
        /// Whenever its trigger happens (a hire, a change, an incident).
        PerEvent => "per_event",
    }
}

named_enum! {
    /// How a control is evidenced.
    pub enum ControlKind("kind") {
        /// By automated checks over collected facts.
        Automated => "automated",
        /// By evidence a person uploads (documents, attestations).
        Manual => "manual",
        /// By both automated checks and manual evidence.
        Hybrid => "hybrid",
    }
}

named_enum! {
    /// How much it matters when a control or check does not operate; ordered low to high.
    pub enum Severity("severity") {
        /// Informational only.
        Info => "info",
        /// Low impact.
        Low => "low",
        /// Medium impact.
        Medium => "medium",
        /// High impact.
        High => "high",
        /// Critical impact.
        Critical => "critical",
    }
}

impl Control {
    /// The control's criteria that `keep` accepts (e.g. those in scope), in order.
    pub fn criteria_where(&self, keep: impl Fn(&str) -> bool) -> Vec<String> {
        self.criteria.iter().filter(|c| keep(c)).cloned().collect()
    }
}

impl ControlKind {
    /// Whether controls of this kind need manual evidence.
    pub fn needs_evidence(self) -> bool {
        matches!(self, ControlKind::Manual | ControlKind::Hybrid)
    }

    /// Whether controls of this kind are evidenced by automated checks.
    pub fn uses_checks(self) -> bool {
        matches!(self, ControlKind::Automated | ControlKind::Hybrid)
    }
}

/// What manual evidence a control expects and how long one piece stays current.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct EvidenceRequirement {
    /// The document or record that proves the control operated.
    pub expected: String,
    /// Days one piece of evidence stays current after its effective date.
    pub freshness_days: u32,
}

/// A family of controls, one per file under `controls/`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Family {
    /// Family id, the prefix of its control ids, e.g. `AC`.
    pub id: String,
    /// Family name, e.g. "Access control".
    pub name: String,
    /// One sentence on what the family covers.
    pub description: String,
}

/// Something the organisation does, mapped to criteria and evidenced by checks or documents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Control {
    /// Identifier, e.g. `AC-01`.
    pub id: String,
    /// Id of the family the control belongs to.
    pub family: String,
    /// The control stated as operating.
    pub title: String,
    /// What the organisation does, concretely.
    pub description: String,
    /// Criteria the control addresses.
    pub criteria: Vec<String>,
    /// The role accountable for the control.
    pub owner: String,
    /// How often it operates.
    pub frequency: Frequency,
    /// How it is evidenced.
    pub kind: ControlKind,
    /// Impact when it does not operate.
    pub severity: Severity,
    /// Automated checks that evidence it.
    pub checks: Vec<String>,
    /// Manual evidence it needs, for manual and hybrid controls.
    pub evidence: Option<EvidenceRequirement>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severities_order_from_info_to_critical() {
        assert!(Severity::Critical > Severity::High);
        assert!(Severity::Low > Severity::Info);
        let mut all = Severity::ALL.to_vec();
        all.reverse();
        all.sort();
        assert_eq!(all, Severity::ALL);
    }

    #[test]
    fn kinds_say_what_evidences_them() {
        assert!(ControlKind::Hybrid.needs_evidence() && ControlKind::Hybrid.uses_checks());
        assert!(!ControlKind::Automated.needs_evidence());
        assert!(!ControlKind::Manual.uses_checks());
    }
}
