//! The Type 1 report: the design of each control and whether it was in place on one date.
//!
//! A control is *implemented* on the date when, at the end of that day (UTC, or the report's
//! time if earlier), every result of its checks standing then passes or does not apply (a
//! result stands for `max_gap` after its last observation, as in the Type 2 report) and, for
//! manual and hybrid controls, its newest evidence effective by then is still current. A
//! failing result or missing or expired evidence makes it *not implemented*; no result, or an
//! undecided one, leaves it *not evaluated* — unknown is never a pass.

use std::collections::{BTreeSet, HashMap};

use attest_model::{Category, Control, ControlKind, EvidenceRecord, Freshness, Status, named_enum};
use attest_store::{Store, StoreError};
use attest_workspace::Workspace;
use jiff::civil::Date;
use jiff::{Timestamp, ToSpan as _};
use schemars::JsonSchema;
use serde::Serialize;

use crate::design::ControlDesignFields;
use crate::readiness::ResultCounts;
use crate::type2::day_start;

/// Version of the Type 1 JSON schema; bumped on any incompatible change.
pub const TYPE1_SCHEMA_VERSION: u32 = 1;

named_enum! {
    /// Whether a control was in place on the report's date.
    pub enum Implementation("implementation") {
        /// In place: its checks passed and its evidence was current.
        Implemented => "implemented",
        /// Not in place: a check failed, or evidence was missing or expired.
        NotImplemented => "not_implemented",
        /// Not known: no usable result of its checks.
        NotEvaluated => "not_evaluated",
    }
}

/// The Type 1 report; its JSON is documented in `docs/formats/type1.md`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Type1Report {
    /// Schema version of this document.
    pub schema_version: u32,
    /// When the report was made (RFC 3339).
    #[schemars(with = "String")]
    pub generated_at: Timestamp,
    /// Organisation name.
    pub organisation: String,
    /// The date the design is assessed on.
    #[schemars(with = "String")]
    pub as_of: Date,
    /// The instant results were read at (RFC 3339).
    #[schemars(with = "String")]
    pub assessed_at: Timestamp,
    /// Categories in scope.
    pub categories: Vec<Category>,
    /// Control counts.
    pub summary: Type1Summary,
    /// Every control in scope.
    pub controls: Vec<ControlDesign>,
    /// Every criterion in scope with its controls.
    pub criteria: Vec<CriterionDesign>,
}

/// Control counts.
#[derive(Debug, Clone, Default, Serialize, JsonSchema)]
pub struct Type1Summary {
    /// Controls in scope.
    pub controls: usize,
    /// Implemented.
    pub implemented: usize,
    /// Not implemented.
    pub not_implemented: usize,
    /// Not evaluated.
    pub not_evaluated: usize,
    /// Criteria in scope.
    pub criteria: usize,
    /// Criteria with at least one implemented control.
    pub criteria_addressed: usize,
}

/// One control's design and implementation.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ControlDesign {
    /// What the control is and how it is evidenced.
    #[serde(flatten)]
    pub design: ControlDesignFields,
    /// Whether it was in place.
    pub implementation: Implementation,
    /// Why, in a sentence.
    pub reason: String,
    /// Results of its checks standing at the time, by status.
    pub results: ResultCounts,
    /// Targets its checks reported on.
    pub targets: usize,
    /// The evidence current on the date, if any.
    pub evidence: Option<CurrentEvidence>,
}

/// The newest evidence effective by the date.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct CurrentEvidence {
    /// Evidence id.
    pub id: i64,
    /// File name.
    pub file_name: String,
    /// SHA-256 of the file.
    pub sha256: String,
    /// Effective date.
    #[schemars(with = "String")]
    pub effective_date: Date,
    /// Last day it is current.
    #[schemars(with = "String")]
    pub expires_on: Date,
    /// Freshness on the date.
    pub freshness: Freshness,
}

/// A criterion and the controls that address it.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct CriterionDesign {
    /// Criterion id.
    pub id: String,
    /// Category.
    pub category: Category,
    /// Title.
    pub title: String,
    /// Controls mapped to it.
    pub controls: Vec<String>,
    /// Of those, implemented on the date.
    pub implemented: Vec<String>,
}

/// Computes the Type 1 report as of the end of `as_of`.
pub fn type1(
    workspace: &Workspace,
    store: &dyn Store,
    as_of: Date,
    generated_at: Timestamp,
) -> Result<Type1Report, StoreError> {
    let end_of_day = as_of
        .checked_add(1.day())
        .map_or(i64::MAX, day_start)
        .saturating_sub(1);
    let at = end_of_day.min(generated_at.as_second());
    let max_gap = workspace.monitoring.max_gap.as_secs();
    let series: HashMap<i64, attest_store::SeriesRecord> =
        store.series()?.into_iter().map(|s| (s.id, s)).collect();
    // The result standing at `at` for each series: the latest interval started by then whose
    // last observation is at most max_gap before it.
    let mut standing: HashMap<i64, Status> = HashMap::new();
    store.visit_intervals(
        Timestamp::from_second(at.saturating_sub(max_gap)).unwrap_or_default(),
        Timestamp::from_second(at).unwrap_or_default(),
        &mut |interval| {
            if interval.first_seen.as_second() <= at
                && interval.last_seen.as_second().saturating_add(max_gap) > at
            {
                standing.insert(interval.series, interval.status);
            } else if interval.first_seen.as_second() <= at {
                standing.remove(&interval.series);
            }
        },
    )?;
    let mut by_check: HashMap<&str, Vec<(i64, Status)>> = HashMap::new();
    for (id, status) in &standing {
        if let Some(record) = series.get(id) {
            by_check
                .entry(record.check.as_str())
                .or_default()
                .push((record.target, *status));
        }
    }
    let evidence = store.list_evidence(None)?;
    let in_scope: BTreeSet<&str> = workspace
        .criteria_in_scope()
        .map(|c| c.id.as_str())
        .collect();
    let controls: Vec<ControlDesign> = workspace
        .controls_in_scope()
        .map(|control| design(control, &by_check, &evidence, as_of, &in_scope))
        .collect();
    let criteria: Vec<CriterionDesign> = workspace
        .criteria_in_scope()
        .map(|criterion| {
            let mapped: Vec<&ControlDesign> = controls
                .iter()
                .filter(|c| c.design.criteria.contains(&criterion.id))
                .collect();
            CriterionDesign {
                id: criterion.id.clone(),
                category: criterion.category,
                title: criterion.title.clone(),
                controls: mapped.iter().map(|c| c.design.id.clone()).collect(),
                implemented: mapped
                    .iter()
                    .filter(|c| c.implementation == Implementation::Implemented)
                    .map(|c| c.design.id.clone())
                    .collect(),
            }
        })
        .collect();
    let count = |i: Implementation| controls.iter().filter(|c| c.implementation == i).count();
    let summary = Type1Summary {
        controls: controls.len(),
        implemented: count(Implementation::Implemented),
        not_implemented: count(Implementation::NotImplemented),
        not_evaluated: count(Implementation::NotEvaluated),
        criteria: criteria.len(),
        criteria_addressed: criteria
            .iter()
            .filter(|c| !c.implemented.is_empty())
            .count(),
    };
    Ok(Type1Report {
        schema_version: TYPE1_SCHEMA_VERSION,
        generated_at,
        organisation: workspace.organisation.clone(),
        as_of,
        assessed_at: Timestamp::from_second(at).unwrap_or_default(),
        categories: workspace.categories_in_scope(),
        summary,
        controls,
        criteria,
    })
}

fn design(
    control: &Control,
    by_check: &HashMap<&str, Vec<(i64, Status)>>,
    evidence: &[EvidenceRecord],
    as_of: Date,
    in_scope: &BTreeSet<&str>,
) -> ControlDesign {
    let mut results = ResultCounts::default();
    let mut targets = BTreeSet::new();
    if control.kind.uses_checks() {
        for check in &control.checks {
            for (target, status) in by_check.get(check.as_str()).into_iter().flatten() {
                targets.insert(*target);
                match status {
                    Status::Pass => results.pass += 1,
                    Status::Fail => results.fail += 1,
                    Status::Error => results.error += 1,
                    Status::NotApplicable => results.not_applicable += 1,
                }
            }
        }
    }
    let current = control.evidence.as_ref().and_then(|requirement| {
        evidence
            .iter()
            .filter(|e| e.control == control.id && e.effective_date <= as_of)
            .max_by_key(|e| (e.effective_date, e.id))
            .map(|e| CurrentEvidence {
                id: e.id,
                file_name: e.file_name.clone(),
                sha256: e.sha256.clone(),
                effective_date: e.effective_date,
                expires_on: Freshness::expires_on(e.effective_date, requirement),
                freshness: Freshness::on(as_of, e.effective_date, requirement),
            })
    });
    let (automated, automated_reason) = if control.kind.uses_checks() {
        if results.fail > 0 {
            (
                Implementation::NotImplemented,
                format!("{} result(s) of its checks failed", results.fail),
            )
        } else if results.pass + results.not_applicable == 0 || results.error > 0 {
            (
                Implementation::NotEvaluated,
                if results.error > 0 {
                    format!(
                        "{} result(s) of its checks could not be decided",
                        results.error
                    )
                } else {
                    "no result of its checks stood at the time".to_owned()
                },
            )
        } else {
            (
                Implementation::Implemented,
                format!(
                    "{} result(s) of its checks on {} target(s) passed or did not apply",
                    results.pass + results.not_applicable,
                    targets.len()
                ),
            )
        }
    } else {
        (Implementation::Implemented, String::new())
    };
    let (manual, manual_reason) = if control.kind.needs_evidence() {
        match &current {
            Some(e) if e.freshness != Freshness::Expired => (
                Implementation::Implemented,
                format!(
                    "evidence {} effective {} is current",
                    e.file_name, e.effective_date
                ),
            ),
            Some(e) => (
                Implementation::NotImplemented,
                format!("its newest evidence expired on {}", e.expires_on),
            ),
            None => (
                Implementation::NotImplemented,
                "no evidence effective by this date".to_owned(),
            ),
        }
    } else {
        (Implementation::Implemented, String::new())
    };
    let (implementation, reason) = match (control.kind, automated, manual) {
        (ControlKind::Manual, _, m) => (m, manual_reason),
        (ControlKind::Automated, a, _) => (a, automated_reason),
        (ControlKind::Hybrid, Implementation::NotImplemented, _) => {
            (Implementation::NotImplemented, automated_reason)
        }
        (ControlKind::Hybrid, _, Implementation::NotImplemented) => {
            (Implementation::NotImplemented, manual_reason)
        }
        (ControlKind::Hybrid, a, _) => (a, format!("{automated_reason}; {manual_reason}")),
    };
    ControlDesign {
        design: ControlDesignFields::of(control, in_scope),
        implementation,
        reason,
        results,
        targets: targets.len(),
        evidence: current,
    }
}
