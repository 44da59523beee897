#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "tests fail by panicking"
)]

use attest_model::{
    Category, Control, ControlKind, Criterion, Frequency, Monitoring, SampleSizes, Scope,
};
use jiff::SignedDuration;

use super::*;

const T0: i64 = 1_767_225_600;

fn at(hours: i64) -> Timestamp {
    Timestamp::from_second(T0 + hours * 3600).unwrap()
}

fn workspace() -> Workspace {
    let control = |id: &str, check: &str| Control {
        id: id.into(),
        family: "AC".into(),
        title: format!("{id} operates"),
        description: String::new(),
        criteria: vec!["CC6.1".into()],
        owner: "Security lead".into(),
        frequency: Frequency::Continuous,
        kind: ControlKind::Automated,
        severity: Severity::High,
        checks: vec![check.into()],
        evidence: None,
    };
    Workspace {
        root: None,
        organisation: String::new(),
        scope: Scope::default(),
        sources: vec![],
        criteria: vec![Criterion {
            id: "CC6.1".into(),
            category: Category::Security,
            series: "CC6".into(),
            title: String::new(),
            description: String::new(),
            points_of_focus: vec![],
        }],
        families: vec![],
        controls: vec![control("AC-05", "c.high"), control("AC-06", "c.medium")],
        checks: vec![],
        check_locations: std::collections::BTreeMap::new(),
        excluded: vec![],
        monitoring: Monitoring::default(),
        sampling: SampleSizes::default(),
        findings: attest_model::FindingPolicy::default(),
        notify: Vec::new(),
    }
}

fn result(
    check: &str,
    resource: &str,
    status: Status,
    severity: Severity,
    since: i64,
) -> ResultInterval {
    ResultInterval {
        target: "web-1".into(),
        check: check.into(),
        resource: resource.into(),
        status,
        severity,
        message: String::new(),
        first_seen: at(since),
        last_seen: at(since),
        observations: 1,
    }
}

fn policy() -> FindingPolicy {
    FindingPolicy::default()
}

#[test]
fn a_high_failure_opens_a_finding_at_once_and_a_medium_one_after_a_day() {
    let ws = workspace();
    let current = [
        result("c.high", "r1", Status::Fail, Severity::High, 0),
        result("c.medium", "r2", Status::Fail, Severity::Medium, 0),
    ];
    let actions = plan(&ws, &policy(), &current, &[], at(1));
    assert_eq!(actions.len(), 1);
    let opened = &actions[0];
    assert_eq!(opened.event, "opened");
    assert_eq!(opened.finding.controls, vec!["AC-05"]);
    assert_eq!(opened.finding.failing_since, at(0));
    assert_eq!(opened.finding.opened_at, at(1));
    assert_eq!(
        opened.finding.due_at,
        at(1)
            .checked_add(SignedDuration::from_hours(30 * 24))
            .unwrap()
    );
    assert_eq!(opened.finding.resources, vec!["c.high on r1 of web-1"]);
    assert_eq!(opened.finding.owner, "Security lead");
    // The medium failure opens its finding once it has failed for 24 hours.
    let later = plan(
        &ws,
        &policy(),
        &current,
        std::slice::from_ref(&opened.finding),
        at(24),
    );
    assert_eq!(later.len(), 1);
    assert_eq!(later[0].finding.controls, vec!["AC-06"]);
    assert_eq!(later[0].finding.severity, Severity::Medium);
}

fn open(control: &str, resources: &[&str]) -> Finding {
    let ws = workspace();
    let current: Vec<ResultInterval> = resources
        .iter()
        .map(|r| {
            result(
                if control == "AC-05" {
                    "c.high"
                } else {
                    "c.medium"
                },
                r,
                Status::Fail,
                Severity::High,
                0,
            )
        })
        .collect();
    let mut finding = plan(&ws, &policy(), &current, &[], at(30))
        .remove(0)
        .finding;
    finding.id = 1;
    finding
}

#[test]
fn the_same_failure_never_opens_a_second_finding() {
    let ws = workspace();
    let existing = open("AC-05", &["r1"]);
    let current = [result("c.high", "r1", Status::Fail, Severity::High, 0)];
    assert!(
        plan(
            &ws,
            &policy(),
            &current,
            std::slice::from_ref(&existing),
            at(40)
        )
        .is_empty()
    );
    // Another resource failing updates the same finding.
    let more = [
        result("c.high", "r1", Status::Fail, Severity::High, 0),
        result("c.high", "r9", Status::Fail, Severity::High, 35),
    ];
    let actions = plan(
        &ws,
        &policy(),
        &more,
        std::slice::from_ref(&existing),
        at(40),
    );
    assert_eq!(actions.len(), 1);
    assert_eq!(actions[0].event, "updated");
    assert_eq!(actions[0].finding.id, 1);
    assert_eq!(actions[0].finding.resources.len(), 2);
}

#[test]
fn a_fix_resolves_but_does_not_close_and_a_recurrence_reopens() {
    let ws = workspace();
    let existing = open("AC-05", &["r1"]);
    let passing = [result("c.high", "r1", Status::Pass, Severity::High, 50)];
    let actions = plan(
        &ws,
        &policy(),
        &passing,
        std::slice::from_ref(&existing),
        at(50),
    );
    assert_eq!(actions.len(), 1);
    let fixed = &actions[0].finding;
    assert_eq!(actions[0].event, "fixed");
    assert_eq!(
        (fixed.status, fixed.fixed_at),
        (FindingStatus::Resolved, Some(at(50)))
    );
    assert_eq!(fixed.closed_at, None);
    // Nothing more happens while it passes.
    assert!(
        plan(
            &ws,
            &policy(),
            &passing,
            std::slice::from_ref(fixed),
            at(60)
        )
        .is_empty()
    );
    // It fails again: the same finding recurs.
    let failing = [result("c.high", "r1", Status::Fail, Severity::High, 70)];
    let actions = plan(
        &ws,
        &policy(),
        &failing,
        std::slice::from_ref(fixed),
        at(70),
    );
    assert_eq!(actions[0].event, "recurred");
    assert_eq!(actions[0].finding.id, 1);
    assert_eq!(
        (actions[0].finding.status, actions[0].finding.fixed_at),
        (FindingStatus::Open, None)
    );
    // Once closed, a new failure is a new finding.
    let mut closed = fixed.clone();
    closed.status = FindingStatus::Closed;
    let actions = plan(&ws, &policy(), &failing, &[closed], at(70));
    assert_eq!((actions[0].event, actions[0].finding.id), ("opened", 0));
}

#[test]
fn an_accepted_risk_records_the_fix_but_keeps_its_status() {
    let ws = workspace();
    let mut accepted = open("AC-05", &["r1"]);
    accepted.status = FindingStatus::RiskAccepted;
    let passing = [result("c.high", "r1", Status::Pass, Severity::High, 50)];
    let actions = plan(&ws, &policy(), &passing, &[accepted], at(50));
    assert_eq!(actions[0].finding.status, FindingStatus::RiskAccepted);
    assert_eq!(actions[0].finding.fixed_at, Some(at(50)));
}

#[test]
fn errors_and_unmapped_checks_open_nothing() {
    let ws = workspace();
    let current = [
        result("c.high", "r1", Status::Error, Severity::High, 0),
        result("c.other", "r1", Status::Fail, Severity::Critical, 0),
    ];
    assert!(plan(&ws, &policy(), &current, &[], at(100)).is_empty());
}

#[test]
fn a_fleet_wide_failure_lists_the_first_resources_and_counts_the_rest() {
    let ws = workspace();
    let extra = 7;
    let total = Finding::LISTED_RESOURCES + extra;
    // Given out of order, with one result twice and a passing and a medium one mixed in.
    let mut current: Vec<ResultInterval> = (0..total)
        .rev()
        .map(|i| {
            result(
                "c.high",
                &format!("r{i:04}"),
                Status::Fail,
                Severity::High,
                0,
            )
        })
        .collect();
    current.push(result("c.high", "r0000", Status::Fail, Severity::High, 0));
    current.push(result("c.high", "r9999", Status::Pass, Severity::High, 0));
    current.push(result("c.medium", "m1", Status::Fail, Severity::Medium, 0));
    let actions = plan(&ws, &policy(), &current, &[], at(30));
    let high = actions
        .iter()
        .find(|a| a.finding.controls == ["AC-05"])
        .unwrap();
    assert_eq!(high.finding.resources.len(), Finding::LISTED_RESOURCES);
    assert_eq!(high.finding.resources_omitted, extra as u64);
    assert_eq!(
        high.finding.resources.len() as u64 + high.finding.resources_omitted,
        total as u64
    );
    assert_eq!(high.finding.resources[0], "c.high on r0000 of web-1");
    assert_eq!(
        high.finding.resources.last().unwrap(),
        &format!("c.high on r{:04} of web-1", Finding::LISTED_RESOURCES - 1)
    );
    // One more failure past the listed ones changes only the count, and that is an update.
    let mut existing = high.finding.clone();
    existing.id = 1;
    current.push(result("c.high", "r5000", Status::Fail, Severity::High, 31));
    let actions = plan(&ws, &policy(), &current, &[existing], at(31));
    let updated = actions
        .iter()
        .find(|a| a.finding.controls == ["AC-05"])
        .unwrap();
    assert_eq!(updated.event, "updated");
    assert_eq!(updated.finding.resources_omitted, extra as u64 + 1);
}
