//! Readiness rules on a small hand-built workspace, and snapshots of every report format.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::missing_panics_doc,
    reason = "tests fail by panicking"
)]
#![allow(
    clippy::float_cmp,
    reason = "percentages are rounded to one decimal: exact values are the contract"
)]

use attest_model::{
    AuditType, Category, Control, ControlKind, Criterion, EvidenceRecord, EvidenceRequirement,
    Frequency, ResultInterval, Scope, Severity, Status,
};
use attest_report::readiness::{ControlStatus, CriterionStatus};
use attest_report::{ReadinessInput, ReadinessReport, ReportFormat, assess, render};
use attest_workspace::{Exclusion, Workspace};
use jiff::Timestamp;
use jiff::civil::{Date, date};

fn criterion(id: &str, category: Category) -> Criterion {
    Criterion {
        id: id.into(),
        category,
        series: id.split('.').next().unwrap().into(),
        title: format!("Title of {id}"),
        description: String::new(),
        points_of_focus: vec![],
    }
}

fn control(
    id: &str,
    kind: ControlKind,
    criteria: &[&str],
    severity: Severity,
    checks: &[&str],
) -> Control {
    Control {
        id: id.into(),
        family: id.split('-').next().unwrap().into(),
        title: format!("{id} operates"),
        description: String::new(),
        criteria: criteria.iter().map(|s| (*s).into()).collect(),
        owner: "Security lead".into(),
        frequency: if kind == ControlKind::Automated {
            Frequency::Continuous
        } else {
            Frequency::Quarterly
        },
        kind,
        severity,
        checks: checks.iter().map(|s| (*s).into()).collect(),
        evidence: kind.needs_evidence().then(|| EvidenceRequirement {
            expected: format!("{id} record"),
            freshness_days: 92,
        }),
    }
}

fn workspace() -> Workspace {
    Workspace {
        root: None,
        monitoring: attest_model::Monitoring::default(),
        sampling: attest_model::SampleSizes::default(),
        findings: attest_model::FindingPolicy::default(),
        notify: Vec::new(),
        organisation: "Example | Ltd".into(),
        scope: Scope {
            audit_type: AuditType::Type2,
            categories: vec![Category::Security, Category::Availability],
            ..Scope::default()
        },
        sources: vec![],
        criteria: vec![
            criterion("CC6.1", Category::Security),
            criterion("CC6.2", Category::Security),
            criterion("CC7.2", Category::Security),
            criterion("A1.2", Category::Availability),
            criterion("P1.1", Category::Privacy),
        ],
        families: vec![],
        controls: vec![
            control(
                "AC-01",
                ControlKind::Automated,
                &["CC6.1"],
                Severity::High,
                &["host.ssh.root_login_disabled"],
            ),
            control(
                "AC-02",
                ControlKind::Manual,
                &["CC6.1", "CC6.2"],
                Severity::High,
                &[],
            ),
            control(
                "OPS-01",
                ControlKind::Hybrid,
                &["CC7.2"],
                Severity::Medium,
                &["host.log.auditd"],
            ),
            control(
                "BC-01",
                ControlKind::Manual,
                &["A1.2"],
                Severity::Critical,
                &[],
            ),
            control(
                "PRIV-01",
                ControlKind::Manual,
                &["P1.1"],
                Severity::Low,
                &[],
            ),
        ],
        checks: vec![],
        check_locations: std::collections::BTreeMap::new(),
        excluded: vec![Exclusion {
            id: "PHY-01".into(),
            reason: "carved out".into(),
        }],
    }
}

fn evidence(id: i64, control: &str, effective: Date) -> EvidenceRecord {
    EvidenceRecord {
        id,
        control: control.into(),
        file_name: format!("{control}.pdf"),
        sha256: "0".repeat(64),
        size: 1,
        note: None,
        effective_date: effective,
        added_at: Timestamp::from_second(1_767_225_600).unwrap(),
        added_by: "alice".into(),
    }
}

fn result(check: &str, resource: &str, status: Status) -> ResultInterval {
    ResultInterval {
        target: "web-1".into(),
        check: check.into(),
        resource: resource.into(),
        status,
        severity: Severity::High,
        message: String::new(),
        first_seen: Timestamp::from_second(1_767_225_600).unwrap(),
        last_seen: Timestamp::from_second(1_767_225_600).unwrap(),
        observations: 1,
    }
}

const TODAY: Date = date(2026, 6, 1);

fn run(ws: &Workspace, evidence: &[EvidenceRecord], results: &[ResultInterval]) -> ReadinessReport {
    assess(ReadinessInput {
        findings: &[],
        workspace: ws,
        evidence,
        results,
        today: TODAY,
        generated_at: Timestamp::from_second(1_780_272_000).unwrap(),
    })
}

fn status_of(report: &ReadinessReport, id: &str) -> ControlStatus {
    report.controls.iter().find(|c| c.id == id).unwrap().status
}

#[test]
fn nothing_evidenced_means_every_criterion_is_a_gap() {
    let ws = workspace();
    let report = run(&ws, &[], &[]);
    assert_eq!(status_of(&report, "AC-01"), ControlStatus::NotEvaluated);
    assert_eq!(status_of(&report, "AC-02"), ControlStatus::MissingEvidence);
    assert_eq!(report.summary.readiness_percent, 0.0);
    assert_eq!(report.gaps, ["CC6.1", "CC6.2", "CC7.2", "A1.2"]);
    // Privacy is out of scope: neither its criterion nor its control is assessed.
    assert!(report.criteria.iter().all(|c| c.id != "P1.1"));
    assert!(report.controls.iter().all(|c| c.id != "PRIV-01"));
    assert_eq!(report.summary.controls.total, 4);
    assert_eq!(report.summary.controls.missing_evidence, 3);
    assert_eq!(report.summary.controls.not_evaluated, 1);
}

#[test]
fn manual_evidence_counts_while_fresh_and_warns_before_it_lapses() {
    let ws = workspace();
    let fresh = run(&ws, &[evidence(1, "AC-02", date(2026, 5, 1))], &[]);
    assert_eq!(status_of(&fresh, "AC-02"), ControlStatus::Passing);
    // 92-day window from 2026-03-10 ends 2026-06-10; the last 14 days warn.
    let expiring = run(&ws, &[evidence(1, "AC-02", date(2026, 3, 10))], &[]);
    assert_eq!(status_of(&expiring, "AC-02"), ControlStatus::ExpiringSoon);
    assert_eq!(expiring.summary.controls.passing, 1);
    assert_eq!(expiring.summary.controls.expiring_soon, 1);
    let stale = run(&ws, &[evidence(1, "AC-02", date(2026, 2, 1))], &[]);
    assert_eq!(status_of(&stale, "AC-02"), ControlStatus::Stale);
    assert_eq!(stale.summary.controls.missing_evidence, 3);
    // The newest evidence by effective date decides, whatever the order of upload.
    let both = run(
        &ws,
        &[
            evidence(1, "AC-02", date(2026, 5, 1)),
            evidence(2, "AC-02", date(2026, 1, 1)),
        ],
        &[],
    );
    assert_eq!(status_of(&both, "AC-02"), ControlStatus::Passing);
    // Evidence dated after the assessment day does not count yet.
    let future = run(&ws, &[evidence(1, "AC-02", date(2026, 7, 1))], &[]);
    assert_eq!(status_of(&future, "AC-02"), ControlStatus::MissingEvidence);
}

#[test]
fn criterion_scores_and_category_readiness_follow_operating_controls() {
    let ws = workspace();
    let report = run(&ws, &[evidence(1, "AC-02", date(2026, 5, 1))], &[]);
    let cc61 = report.criteria.iter().find(|c| c.id == "CC6.1").unwrap();
    assert_eq!(cc61.status, CriterionStatus::Partial);
    assert_eq!(cc61.readiness_percent, 50.0);
    let cc62 = report.criteria.iter().find(|c| c.id == "CC6.2").unwrap();
    assert_eq!(cc62.status, CriterionStatus::Met);
    let security = report
        .categories
        .iter()
        .find(|c| c.category == Category::Security)
        .unwrap();
    // (50 + 100 + 0) / 3
    assert_eq!(security.readiness_percent, 50.0);
    // (50 + 100 + 0 + 0) / 4
    assert_eq!(report.summary.readiness_percent, 37.5);
    assert_eq!(report.gaps, ["CC7.2", "A1.2"]);
}

#[test]
fn automated_controls_pass_only_on_passing_results() {
    let ws = workspace();
    let check = "host.ssh.root_login_disabled";
    let pass = run(&ws, &[], &[result(check, "web-1/sshd", Status::Pass)]);
    assert_eq!(status_of(&pass, "AC-01"), ControlStatus::Passing);
    let fail = run(
        &ws,
        &[],
        &[
            result(check, "web-1/sshd", Status::Pass),
            result(check, "db-1/sshd", Status::Fail),
        ],
    );
    assert_eq!(status_of(&fail, "AC-01"), ControlStatus::Failing);
    assert!(
        fail.controls
            .iter()
            .find(|c| c.id == "AC-01")
            .unwrap()
            .reason
            .contains(check)
    );
    let unknown = run(&ws, &[], &[result(check, "web-1/sshd", Status::Error)]);
    assert_eq!(status_of(&unknown, "AC-01"), ControlStatus::NotEvaluated);
    let na = run(
        &ws,
        &[],
        &[result(check, "web-1/sshd", Status::NotApplicable)],
    );
    assert_eq!(status_of(&na, "AC-01"), ControlStatus::NotEvaluated);
    let unrelated = run(&ws, &[], &[result("host.other", "web-1/x", Status::Fail)]);
    assert_eq!(status_of(&unrelated, "AC-01"), ControlStatus::NotEvaluated);
}

#[test]
fn hybrid_controls_need_both_halves() {
    let ws = workspace();
    let check = "host.log.auditd";
    let pass = [result(check, "web-1/auditd", Status::Pass)];
    let fail = [result(check, "web-1/auditd", Status::Fail)];
    let fresh = [evidence(1, "OPS-01", date(2026, 5, 1))];
    assert_eq!(
        status_of(&run(&ws, &fresh, &pass), "OPS-01"),
        ControlStatus::Passing
    );
    assert_eq!(
        status_of(&run(&ws, &[], &pass), "OPS-01"),
        ControlStatus::MissingEvidence
    );
    assert_eq!(
        status_of(&run(&ws, &fresh, &fail), "OPS-01"),
        ControlStatus::Failing
    );
    assert_eq!(
        status_of(&run(&ws, &fresh, &[]), "OPS-01"),
        ControlStatus::NotEvaluated
    );
    let expiring = [evidence(1, "OPS-01", date(2026, 3, 10))];
    assert_eq!(
        status_of(&run(&ws, &expiring, &pass), "OPS-01"),
        ControlStatus::ExpiringSoon
    );
}

#[test]
fn remediation_puts_gap_closers_and_severe_controls_first() {
    let ws = workspace();
    let report = run(&ws, &[evidence(1, "AC-02", date(2026, 3, 10))], &[]);
    let order: Vec<(&str, Vec<&str>)> = report
        .remediation
        .iter()
        .map(|i| {
            (
                i.control.as_str(),
                i.closes_gaps.iter().map(String::as_str).collect(),
            )
        })
        .collect();
    assert_eq!(
        order,
        vec![
            ("BC-01", vec!["A1.2"]),   // closes a gap, critical
            ("OPS-01", vec!["CC7.2"]), // closes a gap, medium
            ("AC-01", vec![]),         // CC6.1 is partly met already
            ("AC-02", vec![]),         // expiring soon: renewals come last
        ]
    );
    assert_eq!(
        report
            .remediation
            .iter()
            .map(|i| i.rank)
            .collect::<Vec<_>>(),
        [1, 2, 3, 4]
    );
    let bc = &report.remediation[0];
    assert!(
        bc.steps
            .iter()
            .any(|s| s.contains("attest evidence add FILE --control BC-01")),
        "{:?}",
        bc.steps
    );
    assert!(
        bc.steps.iter().any(|s| s.contains("BC-01 record")),
        "{:?}",
        bc.steps
    );
}

fn snapshot_report() -> ReadinessReport {
    let ws = workspace();
    run(
        &ws,
        &[
            evidence(1, "AC-02", date(2026, 3, 10)),
            evidence(2, "BC-01", date(2026, 5, 20)),
        ],
        &[result(
            "host.ssh.root_login_disabled",
            "web-1/sshd",
            Status::Fail,
        )],
    )
}

#[test]
fn markdown_report_snapshot() {
    let text = render(&snapshot_report(), ReportFormat::Markdown).unwrap();
    insta::assert_snapshot!(text);
}

#[test]
fn json_report_snapshot() {
    let text = render(&snapshot_report(), ReportFormat::Json).unwrap();
    insta::assert_snapshot!(text);
}

#[test]
fn html_report_is_self_contained_and_escaped() {
    let text = render(&snapshot_report(), ReportFormat::Html).unwrap();
    assert!(text.starts_with("<!doctype html>"));
    // The chart: a bar per category in scope, as wide as its readiness, coloured by level.
    assert!(text.contains("aria-label=\"Readiness per category: Security "));
    assert_eq!(text.matches("<svg class=\"chart-bar\"").count(), 2);
    assert!(text.contains("<rect class=\"bar mid\" width=\"50.0\""));
    assert!(text.contains("<rect class=\"bar high\" width=\"100.0\""));
    assert!(text.contains("Example | Ltd"));
    // Commands in remediation steps are code; the time is given to the minute.
    assert!(
        text.contains("<code>attest evidence add FILE --control OPS-01 --date YYYY-MM-DD</code>")
    );
    assert!(!text.contains("`attest"));
    assert!(text.contains("on 2026-06-01 00:00 UTC."));
    for external in ["src=\"http", "href=\"http", "@import", "url("] {
        assert!(!text.contains(external), "external asset: {external}");
    }
    // Styles are inlined verbatim, not HTML-escaped.
    assert!(text.contains("font:15px/1.5 system-ui"));
    assert!(!text.contains("&quot;Segoe UI&quot;"));
    insta::assert_snapshot!(text);
}
