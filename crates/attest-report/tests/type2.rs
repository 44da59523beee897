//! Type 2 and Type 1 rules on a real SQLite store, with figures worked out by hand.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::missing_panics_doc,
    clippy::float_cmp,
    clippy::cast_possible_wrap,
    reason = "tests fail by panicking; percentages are rounded: exact values are the contract"
)]

use attest_ledger::SigningKey;
use attest_model::{
    Category, CheckResult, Control, ControlKind, Criterion, EvidenceRequirement, Frequency,
    Monitoring, NewEvidence, Period, RunRecord, SampleSizes, Scope, Severity, Status,
};
use attest_report::sample::draw;
use attest_report::type1::{Implementation, type1};
use attest_report::type2::{Conclusion, Type2Input, type2};
use attest_report::{ReportFormat, render_type2};
use attest_store::Store;
use attest_store_sqlite::SqliteStore;
use attest_workspace::Workspace;
use jiff::civil::date;
use jiff::{SignedDuration, Timestamp};

const DAY: i64 = 1_767_225_600; // 2026-01-01T00:00:00Z
const HOUR: i64 = 3600;

fn control(id: &str, kind: ControlKind, checks: &[&str]) -> Control {
    Control {
        id: id.into(),
        family: id.split('-').next().unwrap().into(),
        title: format!("{id} operates"),
        description: format!("{id} description"),
        criteria: vec!["CC6.1".into()],
        owner: "Security lead".into(),
        frequency: if kind == ControlKind::Manual {
            Frequency::Quarterly
        } else {
            Frequency::Continuous
        },
        kind,
        severity: Severity::High,
        checks: checks.iter().map(|s| (*s).into()).collect(),
        evidence: kind.needs_evidence().then(|| EvidenceRequirement {
            expected: "signed review".into(),
            freshness_days: 92,
        }),
    }
}

fn workspace() -> Workspace {
    Workspace {
        root: None,
        organisation: "Example Ltd".into(),
        scope: Scope::default(),
        sources: vec![],
        criteria: vec![Criterion {
            id: "CC6.1".into(),
            category: Category::Security,
            series: "CC6".into(),
            title: "Logical access".into(),
            description: String::new(),
            points_of_focus: vec![],
        }],
        families: vec![],
        controls: vec![
            control("AUTO-01", ControlKind::Automated, &["c.a", "c.b"]),
            control("MAN-01", ControlKind::Manual, &[]),
            control("IDLE-01", ControlKind::Automated, &["c.never"]),
        ],
        checks: vec![],
        check_locations: std::collections::BTreeMap::new(),
        excluded: vec![],
        monitoring: Monitoring::default(),
        sampling: SampleSizes::default(),
        findings: attest_model::FindingPolicy::default(),
        notify: Vec::new(),
    }
}

fn result(check: &str, status: Status) -> CheckResult {
    CheckResult {
        check: check.into(),
        resource: format!("web-1/{check}"),
        status,
        severity: Severity::High,
        message: format!("{check} is {status}"),
    }
}

/// One day of hourly runs on web-1: `c.b` fails at 05:00 and 06:00; nothing runs from 10:00
/// to 13:00 (a silence of five hours, longer than the 90 minutes allowed).
fn store() -> (SqliteStore, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path())
        .unwrap()
        .with_signing_key(SigningKey::from_seed([4; 32]));
    for hour in 0..24 {
        if (10..14).contains(&hour) {
            continue;
        }
        let b = if (5..7).contains(&hour) {
            Status::Fail
        } else {
            Status::Pass
        };
        store
            .record_run(
                &RunRecord {
                    source: "host".into(),
                    target: "web-1".into(),
                    observed_at: Timestamp::from_second(DAY + hour * HOUR).unwrap(),
                    max_gap: SignedDuration::from_mins(90),
                },
                &[result("c.a", Status::Pass), result("c.b", b)],
            )
            .unwrap();
    }
    (store, dir)
}

fn evidence(store: &SqliteStore, effective: jiff::civil::Date, name: &str) {
    let address = store.put_object(name.as_bytes()).unwrap();
    store
        .add_evidence(&NewEvidence {
            control: "MAN-01".into(),
            file_name: name.into(),
            sha256: address,
            size: name.len() as u64,
            note: None,
            effective_date: effective,
            added_at: Timestamp::from_second(DAY).unwrap(),
            added_by: "cto".into(),
        })
        .unwrap();
}

fn report(store: &SqliteStore, period: Period, seed: u64) -> attest_report::type2::Type2Report {
    type2(Type2Input {
        workspace: &workspace(),
        store,
        period,
        seed,
        generated_at: Timestamp::from_second(DAY + 400 * 86_400).unwrap(),
    })
    .unwrap()
}

#[test]
fn failures_and_silences_are_exceptions_and_gaps_to_the_second() {
    let (store, _dir) = store();
    let one_day = Period {
        start: date(2026, 1, 1),
        end: date(2026, 1, 1),
    };
    let r = report(&store, one_day, 7);
    let auto = r
        .controls
        .iter()
        .find(|c| c.design.id == "AUTO-01")
        .unwrap();
    let a = auto.automated.as_ref().unwrap();
    // [00:00, 05:00) operating; [05:00, 07:00) c.b failing (its 06:00 result stands until
    // the 07:00 run); [07:00, 10:30) operating (the 09:00 results stand for 90 minutes);
    // [10:30, 14:00) a gap; [14:00, 24:00) operating.
    assert_eq!(a.seconds_total, 86_400);
    assert_eq!(a.seconds_operating, 18 * HOUR + HOUR / 2);
    assert_eq!(a.seconds_failing, 2 * HOUR);
    assert_eq!(a.seconds_gap, 3 * HOUR + HOUR / 2);
    assert_eq!(a.seconds_unknown, 0);
    assert_eq!(a.operating_percent, 77.08);
    assert_eq!(a.exceptions.len(), 1);
    let e = &a.exceptions[0];
    assert_eq!(
        (e.from.as_second(), e.to.as_second(), e.status),
        (DAY + 5 * HOUR, DAY + 7 * HOUR, Status::Fail)
    );
    assert_eq!(e.results, vec!["c.b on web-1/c.b".to_owned()]);
    assert_eq!(a.gaps.len(), 1);
    assert_eq!(
        (a.gaps[0].from.as_second(), a.gaps[0].to.as_second()),
        (DAY + 10 * HOUR + HOUR / 2, DAY + 14 * HOUR)
    );
    assert_eq!(auto.conclusion, Conclusion::ExceptionsNoted);
    assert_eq!(auto.timeline, "X");
    // A control whose checks never reported is not tested, never passing.
    let idle = r
        .controls
        .iter()
        .find(|c| c.design.id == "IDLE-01")
        .unwrap();
    assert_eq!(idle.conclusion, Conclusion::NotTested);
    assert_eq!(r.summary.runs, 20);
}

#[test]
fn a_target_silent_for_the_whole_period_is_all_gap() {
    let (store, _dir) = store();
    // web-1 reported on 2026-01-01 and never again: on 2026-01-03 it is a gap all day, not a
    // pass, and not left out.
    let later = Period {
        start: date(2026, 1, 3),
        end: date(2026, 1, 3),
    };
    let r = report(&store, later, 7);
    let auto = r
        .controls
        .iter()
        .find(|c| c.design.id == "AUTO-01")
        .unwrap();
    let a = auto.automated.as_ref().unwrap();
    assert_eq!(a.targets, 1);
    assert_eq!(
        a.seconds_gap, 86_400,
        "no monitoring at all is a gap, never a pass"
    );
    assert_eq!(a.seconds_operating, 0);
    assert_eq!(auto.timeline, "G");
    assert_eq!(auto.conclusion, Conclusion::ExceptionsNoted);
}

#[test]
fn manual_evidence_is_on_time_late_and_lapsed_by_the_day() {
    let (store, _dir) = store();
    // Quarterly evidence current for 92 days: 2025-12-01 covers through 2026-03-03; the next
    // one, effective 2026-03-10, is 6 days late (due 2026-03-04); the one after, 2026-06-01,
    // is on time (the previous covers through 2026-06-10).
    evidence(&store, date(2025, 12, 1), "q4.pdf");
    evidence(&store, date(2026, 3, 10), "q1.pdf");
    evidence(&store, date(2026, 6, 1), "q2.pdf");
    let half = Period {
        start: date(2026, 1, 1),
        end: date(2026, 6, 30),
    };
    let r = report(&store, half, 7);
    let man = r.controls.iter().find(|c| c.design.id == "MAN-01").unwrap();
    let m = man.manual.as_ref().unwrap();
    assert_eq!(m.days, 181);
    assert_eq!(m.evidence.len(), 2, "evidence effective in the period");
    assert_eq!((m.on_time, m.late), (1, 1));
    assert_eq!(m.evidence[0].late_days, 6);
    assert_eq!(m.lapses.len(), 1);
    assert_eq!(
        (m.lapses[0].from, m.lapses[0].to, m.lapses[0].days),
        (date(2026, 3, 4), date(2026, 3, 9), 6)
    );
    assert_eq!(m.days_covered, 175);
    assert_eq!(man.conclusion, Conclusion::ExceptionsNoted);
    assert_eq!(man.timeline.len(), 181);
    assert_eq!(man.timeline.matches('X').count(), 6);
    // The evidence sample is drawn from the two pieces in the period.
    let sample = man
        .samples
        .iter()
        .find(|s| s.population_kind == "evidence")
        .unwrap();
    assert_eq!((sample.population_size, sample.items.len()), (2, 2));
}

#[test]
fn samples_follow_the_documented_draw_and_the_seed() {
    let (store, _dir) = store();
    let day = Period {
        start: date(2026, 1, 1),
        end: date(2026, 1, 1),
    };
    let a = report(&store, day, 42);
    let b = report(&store, day, 42);
    let runs = |r: &attest_report::type2::Type2Report| {
        let c = r
            .controls
            .iter()
            .find(|c| c.design.id == "AUTO-01")
            .unwrap();
        c.samples[0].clone()
    };
    let (sa, sb) = (runs(&a), runs(&b));
    assert_eq!(
        serde_json::to_value(&sa).unwrap(),
        serde_json::to_value(&sb).unwrap(),
        "the same seed draws the same sample"
    );
    assert_eq!((sa.population_size, sa.items.len()), (20, 1));
    // One target: its one run is the documented draw over its 20 runs, in time order.
    let index = draw(42, "AUTO-01/web-1", 20, 1)[0];
    let hours: Vec<i64> = (0..24).filter(|h| !(10..14).contains(h)).collect();
    assert_eq!(sa.items[0].index, index);
    assert_eq!(
        sa.items[0].at.as_second(),
        DAY + hours[usize::try_from(index).unwrap()] * HOUR
    );
    // The item says whether the control operated at that run.
    let hour = hours[usize::try_from(index).unwrap()];
    assert_eq!(sa.items[0].operating, !(5..7).contains(&hour));
    // Seeds matter: over many seeds, more than one run gets drawn.
    let drawn: std::collections::BTreeSet<u64> = (0..20)
        .map(|seed| runs(&report(&store, day, seed)).items[0].index)
        .collect();
    assert!(drawn.len() > 3, "{drawn:?}");
}

#[test]
fn every_format_renders_and_html_is_self_contained() {
    let (store, _dir) = store();
    evidence(&store, date(2025, 12, 1), "q4.pdf");
    let r = report(
        &store,
        Period {
            start: date(2026, 1, 1),
            end: date(2026, 1, 31),
        },
        7,
    );
    let html = render_type2(&r, ReportFormat::Html).unwrap();
    assert!(html.starts_with("<!doctype html>"));
    assert!(!html.contains("http://") && !html.contains("https://"));
    assert!(html.contains("<svg class=\"timeline\""));
    assert!(html.contains("AUTO-01"));
    let json: serde_json::Value =
        serde_json::from_str(&render_type2(&r, ReportFormat::Json).unwrap()).unwrap();
    assert_eq!(
        json["controls"][0]["id"], "AUTO-01",
        "design fields are flattened"
    );
    assert_eq!(json["sampling"]["seed"], 7);
    let csv = render_type2(&r, ReportFormat::Csv).unwrap();
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    assert_eq!(reader.records().count(), 3);
    let md = render_type2(&r, ReportFormat::Markdown).unwrap();
    assert!(md.contains("| `AUTO-01` |"));
}

#[test]
fn type1_says_what_was_in_place_on_the_date() {
    let (store, _dir) = store();
    evidence(&store, date(2025, 12, 1), "q4.pdf");
    let ws = workspace();
    let at = |d| {
        type1(
            &ws,
            &store,
            d,
            Timestamp::from_second(DAY + 400 * 86_400).unwrap(),
        )
        .unwrap()
    };
    let on_first = at(date(2026, 1, 1));
    let status = |r: &attest_report::type1::Type1Report, id: &str| {
        r.controls
            .iter()
            .find(|c| c.design.id == id)
            .map(|c| c.implementation)
            .unwrap()
    };
    // At the end of 2026-01-01 the 23:00 results stand and pass; the evidence is current.
    assert_eq!(status(&on_first, "AUTO-01"), Implementation::Implemented);
    assert_eq!(status(&on_first, "MAN-01"), Implementation::Implemented);
    assert_eq!(status(&on_first, "IDLE-01"), Implementation::NotEvaluated);
    // Two days later no result stands any more, and in April the evidence has expired.
    assert_eq!(
        status(&at(date(2026, 1, 3)), "AUTO-01"),
        Implementation::NotEvaluated
    );
    assert_eq!(
        status(&at(date(2026, 4, 1)), "MAN-01"),
        Implementation::NotImplemented
    );
    // Before the evidence's effective date there is none.
    assert_eq!(
        status(&at(date(2025, 11, 1)), "MAN-01"),
        Implementation::NotImplemented
    );
}
