//! What an audit covers.

use jiff::SignedDuration;
use jiff::civil::Date;
use schemars::JsonSchema;
use serde::Serialize;

use crate::{Category, Frequency, named_enum};

named_enum! {
    /// The kind of SOC 2 report.
    pub enum AuditType("audit type") {
        /// Design of controls at one point in time.
        Type1 => "type1",
        /// Operating effectiveness of controls over a period.
        Type2 => "type2",
    }
}

/// An audit period, both ends inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Period {
    /// First day of the period.
    #[schemars(with = "String")]
    pub start: Date,
    /// Last day of the period.
    #[schemars(with = "String")]
    pub end: Date,
}

/// The audit type, categories and period in scope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Scope {
    /// Type 1 or Type 2.
    pub audit_type: AuditType,
    /// Categories in scope; always contains `security`.
    pub categories: Vec<Category>,
    /// The audit period, if set.
    pub period: Option<Period>,
    /// Systems in scope, by name.
    pub systems: Vec<String>,
}

impl Scope {
    /// Whether criteria of `category` are in scope.
    pub fn includes(&self, category: Category) -> bool {
        category == Category::Security || self.categories.contains(&category)
    }
}

impl Default for Scope {
    /// Type 2 over the Security category, no period set.
    fn default() -> Self {
        Scope {
            audit_type: AuditType::Type2,
            categories: vec![Category::Security],
            period: None,
            systems: Vec::new(),
        }
    }
}

/// How continuously sources are monitored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Monitoring {
    /// How often sources are collected.
    pub interval: SignedDuration,
    /// A cron expression (five fields, UTC) for when `attest monitor` runs, instead of every
    /// `interval`.
    pub schedule: Option<String>,
    /// The longest silence between two runs of a target that still counts as continuous
    /// monitoring; a longer one is a gap.
    pub max_gap: SignedDuration,
}

impl Default for Monitoring {
    /// Hourly, with a gap after an hour and a half of silence (one missed run).
    fn default() -> Self {
        Monitoring {
            interval: SignedDuration::from_hours(1),
            schedule: None,
            max_gap: SignedDuration::from_mins(90),
        }
    }
}

/// Type 2 sample sizes by control frequency.
///
/// The defaults are the common minimums auditors use (`shared/reference/type2-sample-sizes.csv`):
/// annual 1, quarterly 2, monthly 2, weekly 5, daily 20; per-event controls 25 (as controls
/// operating many times a day); continuous automated controls one run per configuration (per
/// target) up to 25, beside the test of the monitoring itself (its coverage and gaps).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
pub struct SampleSizes {
    /// Annual controls.
    pub annual: u32,
    /// Quarterly controls.
    pub quarterly: u32,
    /// Monthly controls.
    pub monthly: u32,
    /// Weekly controls.
    pub weekly: u32,
    /// Daily controls.
    pub daily: u32,
    /// Per-event controls.
    pub per_event: u32,
    /// Continuous controls: at most this many configurations (targets), one run each.
    pub continuous: u32,
}

impl Default for SampleSizes {
    fn default() -> Self {
        SampleSizes {
            annual: 1,
            quarterly: 2,
            monthly: 2,
            weekly: 5,
            daily: 20,
            per_event: 25,
            continuous: 25,
        }
    }
}

impl SampleSizes {
    /// The sample size for controls of `frequency`.
    pub fn for_frequency(&self, frequency: Frequency) -> u32 {
        match frequency {
            Frequency::Annual => self.annual,
            Frequency::Quarterly => self.quarterly,
            Frequency::Monthly => self.monthly,
            Frequency::Weekly => self.weekly,
            Frequency::Daily => self.daily,
            Frequency::PerEvent => self.per_event,
            Frequency::Continuous => self.continuous,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn security_is_always_in_scope() {
        let scope = Scope {
            categories: vec![],
            ..Scope::default()
        };
        assert!(scope.includes(Category::Security));
        assert!(!scope.includes(Category::Privacy));
        let wider = Scope {
            categories: vec![Category::Privacy],
            ..Scope::default()
        };
        assert!(wider.includes(Category::Privacy));
    }
}
