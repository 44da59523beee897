//! The readiness assessment: where each control, criterion and category stands today.
//!
//! Rules, in the order they apply (documented in `docs/readiness.md`):
//! - a manual control operates while its newest evidence (by effective date) is within its
//!   freshness window; near the end of the window it is `expiring_soon` (still operating);
//! - an automated control operates when every current result of its checks passes (results
//!   that are not applicable are ignored); any failure makes it `failing`; errors or no results
//!   leave it `not_evaluated` — unknown is never a pass;
//! - a hybrid control needs both;
//! - a criterion's score is the share of its in-scope controls that operate: `met` when all
//!   do, `partial` when some do, `gap` when none do (or none exist);
//! - a category's readiness is the mean score of its criteria; the overall readiness is the
//!   mean over every criterion in scope.

use std::collections::{BTreeMap, BTreeSet};

use attest_model::{
    AuditType, Category, Control, ControlKind, EvidenceRecord, Freshness, Period, ResultInterval,
    Severity, Status,
};
use attest_workspace::{Exclusion, Workspace};
use jiff::Timestamp;
use jiff::civil::Date;
use schemars::JsonSchema;
use serde::Serialize;

use attest_model::named_enum;

/// Version of the readiness JSON schema; bumped on any incompatible change.
pub const READINESS_SCHEMA_VERSION: u32 = 1;

named_enum! {
    /// Where a control stands.
    pub enum ControlStatus("control status") {
        /// Operating: checks pass and evidence is current.
        Passing => "passing",
        /// Operating, but its evidence expires soon.
        ExpiringSoon => "expiring_soon",
        /// At least one of its checks fails.
        Failing => "failing",
        /// Its newest evidence has expired.
        Stale => "stale",
        /// It has no evidence at all.
        MissingEvidence => "missing_evidence",
        /// Its checks have not produced a usable result.
        NotEvaluated => "not_evaluated",
    }
}

impl ControlStatus {
    /// Whether a control in this status counts as operating.
    pub fn is_operating(self) -> bool {
        matches!(self, ControlStatus::Passing | ControlStatus::ExpiringSoon)
    }

    /// Order in the remediation list: what to fix first.
    fn urgency(self) -> u8 {
        match self {
            ControlStatus::Failing => 0,
            ControlStatus::Stale => 1,
            ControlStatus::MissingEvidence => 2,
            ControlStatus::NotEvaluated => 3,
            ControlStatus::ExpiringSoon => 4,
            ControlStatus::Passing => 5,
        }
    }
}

named_enum! {
    /// Whether a criterion is addressed by operating controls.
    pub enum CriterionStatus("criterion status") {
        /// Every in-scope control mapped to it operates.
        Met => "met",
        /// Some do.
        Partial => "partial",
        /// None do, or it has no control.
        Gap => "gap",
    }
}

/// Everything the assessment reads.
#[derive(Debug, Clone, Copy)]
pub struct ReadinessInput<'a> {
    /// The validated workspace.
    pub workspace: &'a Workspace,
    /// All evidence records.
    pub evidence: &'a [EvidenceRecord],
    /// Current check results.
    pub results: &'a [ResultInterval],
    /// The day to assess freshness on.
    pub today: Date,
    /// When the assessment is made.
    pub generated_at: Timestamp,
    /// Every finding.
    pub findings: &'a [attest_model::Finding],
}

/// A finding not yet closed, as the readiness report lists it.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ActiveFinding {
    /// The finding.
    #[serde(flatten)]
    pub finding: attest_model::Finding,
    /// Past its due date and not closed.
    pub overdue: bool,
}

/// Finding counts.
#[derive(Debug, Clone, Default, Serialize, JsonSchema, PartialEq, Eq)]
pub struct FindingCounts {
    /// Not closed.
    pub active: usize,
    /// Not closed and past their due date.
    pub overdue: usize,
    /// Fixed, waiting for root cause, corrective action and closure.
    pub resolved: usize,
    /// Risk accepted.
    pub risk_accepted: usize,
}

/// The readiness report; its JSON is documented in `docs/formats/readiness.md`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ReadinessReport {
    /// Schema version of this document.
    pub schema_version: u32,
    /// When the report was made (RFC 3339).
    #[schemars(with = "String")]
    pub generated_at: Timestamp,
    /// The day freshness was assessed on.
    #[schemars(with = "String")]
    pub as_of: Date,
    /// Organisation name.
    pub organisation: String,
    /// Audit type.
    pub audit_type: AuditType,
    /// Audit period, if set.
    pub period: Option<Period>,
    /// Overall figures.
    pub summary: Summary,
    /// Readiness per category in scope.
    pub categories: Vec<CategoryReadiness>,
    /// Every criterion in scope.
    pub criteria: Vec<CriterionReadiness>,
    /// Every control in scope.
    pub controls: Vec<ControlReadiness>,
    /// Ids of criteria with no operating control.
    pub gaps: Vec<String>,
    /// What to do, most impactful first.
    pub remediation: Vec<RemediationItem>,
    /// Controls excluded from scope, with reasons.
    pub excluded: Vec<Exclusion>,
    /// Findings not yet closed, overdue first, then by severity.
    pub findings: Vec<ActiveFinding>,
}

/// Overall figures.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Summary {
    /// Mean criterion score over all criteria in scope, 0–100.
    pub readiness_percent: f64,
    /// Control counts by bucket.
    pub controls: ControlCounts,
    /// Criterion counts by status.
    pub criteria: CriterionCounts,
    /// Finding counts.
    pub findings: FindingCounts,
}

/// Control counts, as `attest status` shows them.
#[derive(Debug, Clone, Default, Serialize, JsonSchema, PartialEq, Eq)]
pub struct ControlCounts {
    /// Controls in scope.
    pub total: usize,
    /// Operating (including expiring soon).
    pub passing: usize,
    /// Of the passing, those whose evidence expires soon.
    pub expiring_soon: usize,
    /// With a failing check.
    pub failing: usize,
    /// Without current evidence (none, or expired).
    pub missing_evidence: usize,
    /// Without a usable check result.
    pub not_evaluated: usize,
}

/// Criterion counts.
#[derive(Debug, Clone, Default, Serialize, JsonSchema, PartialEq, Eq)]
pub struct CriterionCounts {
    /// Criteria in scope.
    pub total: usize,
    /// Met.
    pub met: usize,
    /// Partially met.
    pub partial: usize,
    /// Gaps.
    pub gap: usize,
}

/// Readiness of one category.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct CategoryReadiness {
    /// Category.
    pub category: Category,
    /// Its name for people.
    pub title: String,
    /// Mean criterion score, 0–100.
    pub readiness_percent: f64,
    /// Criterion counts.
    pub criteria: CriterionCounts,
    /// Control counts (controls mapped to any of its criteria).
    pub controls: ControlCounts,
}

/// Readiness of one criterion.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct CriterionReadiness {
    /// Criterion id.
    pub id: String,
    /// Category.
    pub category: Category,
    /// Title.
    pub title: String,
    /// Met, partial or gap.
    pub status: CriterionStatus,
    /// Share of its controls operating, 0–100.
    pub readiness_percent: f64,
    /// Its in-scope controls and their status.
    pub controls: Vec<ControlRef>,
}

/// A control as listed under a criterion.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ControlRef {
    /// Control id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Status.
    pub status: ControlStatus,
}

/// Readiness of one control.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ControlReadiness {
    /// Control id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Family id.
    pub family: String,
    /// Owner role.
    pub owner: String,
    /// Frequency.
    pub frequency: attest_model::Frequency,
    /// Kind.
    pub kind: ControlKind,
    /// Severity.
    pub severity: Severity,
    /// Criteria in scope it maps to.
    pub criteria: Vec<String>,
    /// Status.
    pub status: ControlStatus,
    /// Why it has that status, in a sentence.
    pub reason: String,
    /// Its newest evidence, for manual and hybrid controls.
    pub evidence: Option<EvidenceState>,
    /// Counts of its current check results.
    pub results: ResultCounts,
}

/// The newest evidence of a control.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct EvidenceState {
    /// Evidence record id.
    pub id: i64,
    /// File name.
    pub file_name: String,
    /// Effective date.
    #[schemars(with = "String")]
    pub effective_date: Date,
    /// Last day it is current.
    #[schemars(with = "String")]
    pub expires_on: Date,
    /// Freshness on the report's date.
    pub freshness: Freshness,
}

/// Counts of current results by status.
#[derive(Debug, Clone, Default, Serialize, JsonSchema)]
pub struct ResultCounts {
    /// Passing results.
    pub pass: usize,
    /// Failing results.
    pub fail: usize,
    /// Results the checks could not decide.
    pub error: usize,
    /// Results that do not apply.
    pub not_applicable: usize,
}

/// One thing to do, with the impact it has.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct RemediationItem {
    /// Position in the list, from 1.
    pub rank: usize,
    /// Control id.
    pub control: String,
    /// Control title.
    pub title: String,
    /// Control status.
    pub status: ControlStatus,
    /// Control severity.
    pub severity: Severity,
    /// Owner role.
    pub owner: String,
    /// In-scope criteria the control maps to.
    pub criteria: Vec<String>,
    /// Criteria that are gaps now and this control alone would close.
    pub closes_gaps: Vec<String>,
    /// Concrete next steps.
    pub steps: Vec<String>,
}

/// Computes the readiness of `input.workspace`.
pub fn assess(input: ReadinessInput<'_>) -> ReadinessReport {
    let ws = input.workspace;
    let in_scope: BTreeSet<&str> = ws.criteria_in_scope().map(|c| c.id.as_str()).collect();
    let controls: Vec<ControlReadiness> = ws
        .controls_in_scope()
        .map(|c| control_readiness(c, &input, &in_scope))
        .collect();
    let by_id: BTreeMap<&str, &ControlReadiness> =
        controls.iter().map(|c| (c.id.as_str(), c)).collect();

    let mut criteria = Vec::new();
    for criterion in ws.criteria_in_scope() {
        let refs: Vec<ControlRef> = controls
            .iter()
            .filter(|c| c.criteria.contains(&criterion.id))
            .map(|c| ControlRef {
                id: c.id.clone(),
                title: c.title.clone(),
                status: c.status,
            })
            .collect();
        let operating = refs.iter().filter(|r| r.status.is_operating()).count();
        let status = match operating {
            0 => CriterionStatus::Gap,
            n if n == refs.len() => CriterionStatus::Met,
            _ => CriterionStatus::Partial,
        };
        criteria.push(CriterionReadiness {
            id: criterion.id.clone(),
            category: criterion.category,
            title: criterion.title.clone(),
            status,
            readiness_percent: percent(operating, refs.len()),
            controls: refs,
        });
    }

    let categories = ws
        .categories_in_scope()
        .into_iter()
        .map(|category| {
            let of_category: Vec<&CriterionReadiness> =
                criteria.iter().filter(|c| c.category == category).collect();
            let control_ids: BTreeSet<&str> = of_category
                .iter()
                .flat_map(|c| c.controls.iter().map(|r| r.id.as_str()))
                .collect();
            CategoryReadiness {
                category,
                title: category.title().to_owned(),
                readiness_percent: mean(of_category.iter().map(|c| c.readiness_percent)),
                criteria: criterion_counts(of_category.iter().copied()),
                controls: control_counts(
                    control_ids.iter().filter_map(|id| by_id.get(id).copied()),
                ),
            }
        })
        .collect();

    let gaps: Vec<String> = criteria
        .iter()
        .filter(|c| c.status == CriterionStatus::Gap)
        .map(|c| c.id.clone())
        .collect();
    let remediation = remediation(&controls, &criteria, ws);
    let mut findings: Vec<ActiveFinding> = input
        .findings
        .iter()
        .filter(|f| f.status.is_active())
        .map(|f| ActiveFinding {
            finding: f.clone(),
            overdue: f.is_overdue(input.generated_at),
        })
        .collect();
    findings.sort_by(|a, b| {
        b.overdue
            .cmp(&a.overdue)
            .then(b.finding.severity.cmp(&a.finding.severity))
            .then(a.finding.due_at.cmp(&b.finding.due_at))
    });
    let count = |status| {
        findings
            .iter()
            .filter(|f| f.finding.status == status)
            .count()
    };
    let summary = Summary {
        readiness_percent: mean(criteria.iter().map(|c| c.readiness_percent)),
        controls: control_counts(controls.iter()),
        criteria: criterion_counts(criteria.iter()),
        findings: FindingCounts {
            active: findings.len(),
            overdue: findings.iter().filter(|f| f.overdue).count(),
            resolved: count(attest_model::FindingStatus::Resolved),
            risk_accepted: count(attest_model::FindingStatus::RiskAccepted),
        },
    };
    ReadinessReport {
        schema_version: READINESS_SCHEMA_VERSION,
        generated_at: input.generated_at,
        as_of: input.today,
        organisation: ws.organisation.clone(),
        audit_type: ws.scope.audit_type,
        period: ws.scope.period,
        summary,
        categories,
        criteria,
        controls,
        gaps,
        remediation,
        excluded: ws.excluded.clone(),
        findings,
    }
}

fn percent(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        return 0.0;
    }
    #[allow(
        clippy::cast_precision_loss,
        reason = "counts of controls are far below 2^52"
    )]
    let value = part as f64 * 100.0 / whole as f64;
    (value * 10.0).round() / 10.0
}

fn mean(values: impl Iterator<Item = f64>) -> f64 {
    let (sum, count) = values.fold((0.0, 0_u32), |(s, n), v| (s + v, n.saturating_add(1)));
    if count == 0 {
        return 0.0;
    }
    ((sum / f64::from(count)) * 10.0).round() / 10.0
}

fn control_counts<'a>(controls: impl Iterator<Item = &'a ControlReadiness>) -> ControlCounts {
    let mut counts = ControlCounts::default();
    for control in controls {
        counts.total += 1;
        // The buckets `attest status` shows: expiring soon counts as passing, stale as missing.
        match control.status {
            ControlStatus::Passing | ControlStatus::ExpiringSoon => counts.passing += 1,
            ControlStatus::Failing => counts.failing += 1,
            ControlStatus::Stale | ControlStatus::MissingEvidence => counts.missing_evidence += 1,
            ControlStatus::NotEvaluated => counts.not_evaluated += 1,
        }
        if control.status == ControlStatus::ExpiringSoon {
            counts.expiring_soon += 1;
        }
    }
    counts
}

fn criterion_counts<'a>(criteria: impl Iterator<Item = &'a CriterionReadiness>) -> CriterionCounts {
    let mut counts = CriterionCounts::default();
    for criterion in criteria {
        counts.total += 1;
        match criterion.status {
            CriterionStatus::Met => counts.met += 1,
            CriterionStatus::Partial => counts.partial += 1,
            CriterionStatus::Gap => counts.gap += 1,
        }
    }
    counts
}

/// The automated half of a control's status.
fn automated_status(
    control: &Control,
    results: &ResultCounts,
    failing_checks: &[String],
) -> (ControlStatus, String) {
    if control.checks.is_empty() {
        return (
            ControlStatus::NotEvaluated,
            "no automated check is mapped to it yet".to_owned(),
        );
    }
    if results.fail > 0 {
        return (
            ControlStatus::Failing,
            format!(
                "{} result(s) fail: {}",
                results.fail,
                failing_checks.join(", ")
            ),
        );
    }
    if results.error > 0 {
        return (
            ControlStatus::NotEvaluated,
            format!(
                "{} result(s) could not be decided (facts unknown)",
                results.error
            ),
        );
    }
    if results.pass == 0 {
        let why = if results.not_applicable > 0 {
            "its checks apply to no resource observed"
        } else {
            "its checks have no results yet"
        };
        return (ControlStatus::NotEvaluated, why.to_owned());
    }
    (
        ControlStatus::Passing,
        format!("all {} result(s) pass", results.pass),
    )
}

fn evidence_status(state: Option<&EvidenceState>) -> (ControlStatus, String) {
    match state {
        None => (
            ControlStatus::MissingEvidence,
            "no evidence has been recorded".to_owned(),
        ),
        Some(e) => match e.freshness {
            Freshness::Expired => (
                ControlStatus::Stale,
                format!(
                    "the newest evidence (effective {}) expired on {}",
                    e.effective_date, e.expires_on
                ),
            ),
            Freshness::ExpiringSoon => (
                ControlStatus::ExpiringSoon,
                format!(
                    "evidence effective {} expires on {}",
                    e.effective_date, e.expires_on
                ),
            ),
            Freshness::Current => (
                ControlStatus::Passing,
                format!(
                    "evidence effective {} is current until {}",
                    e.effective_date, e.expires_on
                ),
            ),
        },
    }
}

fn control_readiness(
    control: &Control,
    input: &ReadinessInput<'_>,
    in_scope: &BTreeSet<&str>,
) -> ControlReadiness {
    let mut results = ResultCounts::default();
    let mut failing_checks = BTreeSet::new();
    for result in input
        .results
        .iter()
        .filter(|r| control.checks.contains(&r.check))
    {
        match result.status {
            Status::Pass => results.pass += 1,
            Status::Fail => {
                results.fail += 1;
                failing_checks.insert(result.check.clone());
            }
            Status::Error => results.error += 1,
            Status::NotApplicable => results.not_applicable += 1,
        }
    }
    let failing_checks: Vec<String> = failing_checks.into_iter().collect();

    let evidence = control.evidence.as_ref().and_then(|requirement| {
        input
            .evidence
            .iter()
            .filter(|e| e.control == control.id && e.effective_date <= input.today)
            .max_by_key(|e| (e.effective_date, e.id))
            .map(|e| EvidenceState {
                id: e.id,
                file_name: e.file_name.clone(),
                effective_date: e.effective_date,
                expires_on: Freshness::expires_on(e.effective_date, requirement),
                freshness: Freshness::on(input.today, e.effective_date, requirement),
            })
    });

    let (status, reason) = match control.kind {
        ControlKind::Manual => evidence_status(evidence.as_ref()),
        ControlKind::Automated => automated_status(control, &results, &failing_checks),
        ControlKind::Hybrid => {
            let auto = automated_status(control, &results, &failing_checks);
            let manual = evidence_status(evidence.as_ref());
            // The worse half decides; failing checks come before missing evidence.
            let worse = if auto.0.urgency() <= manual.0.urgency() {
                auto.clone()
            } else {
                manual.clone()
            };
            if worse.0.is_operating() {
                (worse.0, format!("{}; {}", auto.1, manual.1))
            } else {
                worse
            }
        }
    };

    ControlReadiness {
        id: control.id.clone(),
        title: control.title.clone(),
        family: control.family.clone(),
        owner: control.owner.clone(),
        frequency: control.frequency,
        kind: control.kind,
        severity: control.severity,
        criteria: control.criteria_where(|c| in_scope.contains(c)),
        status,
        reason,
        evidence,
        results,
    }
}

fn remediation(
    controls: &[ControlReadiness],
    criteria: &[CriterionReadiness],
    ws: &Workspace,
) -> Vec<RemediationItem> {
    let gap_ids: BTreeSet<&str> = criteria
        .iter()
        .filter(|c| c.status == CriterionStatus::Gap)
        .map(|c| c.id.as_str())
        .collect();
    let mut items: Vec<RemediationItem> = controls
        .iter()
        .filter(|c| c.status != ControlStatus::Passing)
        .map(|c| {
            let closes_gaps: Vec<String> = c
                .criteria
                .iter()
                .filter(|id| gap_ids.contains(id.as_str()))
                .cloned()
                .collect();
            RemediationItem {
                rank: 0,
                control: c.id.clone(),
                title: c.title.clone(),
                status: c.status,
                severity: c.severity,
                owner: c.owner.clone(),
                criteria: c.criteria.clone(),
                closes_gaps,
                steps: steps(c, ws),
            }
        })
        .collect();
    items.sort_by(|a, b| {
        let renewal = |i: &RemediationItem| i.status == ControlStatus::ExpiringSoon;
        renewal(a)
            .cmp(&renewal(b))
            .then(b.closes_gaps.len().cmp(&a.closes_gaps.len()))
            .then(b.severity.cmp(&a.severity))
            .then(b.criteria.len().cmp(&a.criteria.len()))
            .then(a.status.urgency().cmp(&b.status.urgency()))
            .then(a.control.cmp(&b.control))
    });
    for (index, item) in items.iter_mut().enumerate() {
        item.rank = index + 1;
    }
    items
}

fn steps(c: &ControlReadiness, ws: &Workspace) -> Vec<String> {
    let control = ws.control(&c.id);
    let expected = control
        .and_then(|c| c.evidence.as_ref())
        .map(|e| e.expected.as_str())
        .unwrap_or_default();
    let add = format!(
        "Record it: `attest evidence add FILE --control {} --date YYYY-MM-DD` (the day it speaks for).",
        c.id
    );
    let checks = control.map(|c| c.checks.join(", ")).unwrap_or_default();
    let mut steps = Vec::new();
    match c.status {
        ControlStatus::Failing => {
            steps.push(format!("Fix what fails: {}.", c.reason));
            steps.push("See each failing check's remediation with `attest checks show CHECK`, then re-run `attest scan`.".to_owned());
        }
        ControlStatus::Stale => {
            steps.push(format!("Renew the evidence ({}): {expected}", c.reason));
            steps.push(add);
        }
        ControlStatus::MissingEvidence => {
            steps.push(format!("Collect: {expected}"));
            steps.push(add);
        }
        ControlStatus::ExpiringSoon => {
            steps.push(format!(
                "Plan the next occurrence before it lapses ({}): {expected}",
                c.reason
            ));
            steps.push(add);
        }
        ControlStatus::NotEvaluated if checks.is_empty() => {
            steps.push(format!(
                "No automated check evidences this control yet. Map checks to it (`checks = [...]` for {} in controls/), or make it `kind = \"manual\"` with a `[control.evidence]` requirement and record evidence by hand.",
                c.id
            ));
        }
        ControlStatus::NotEvaluated => {
            steps.push(format!(
                "Evaluate its checks ({checks}): run `attest scan` on the systems in scope; {}.",
                c.reason
            ));
        }
        ControlStatus::Passing => {}
    }
    if c.kind == ControlKind::Hybrid
        && c.evidence.is_none()
        && c.status != ControlStatus::MissingEvidence
    {
        steps.push(format!("Also record its manual evidence: {expected}"));
    }
    steps
}
