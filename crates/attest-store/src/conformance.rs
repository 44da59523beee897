//! The conformance suite every [`Store`] implementation must pass.
//!
//! A backend runs it with [`store_conformance_tests!`](crate::store_conformance_tests), giving
//! an expression that makes a fresh, empty store signing with [`KEY_SEED`] (and a guard that
//! keeps it alive):
//!
//! ```text
//! attest_store::store_conformance_tests!(fresh_sqlite_store());
//! ```

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::missing_panics_doc,
    clippy::cast_possible_wrap,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "a test suite: failing means panicking; arithmetic on small known values"
)]

use std::collections::HashMap;
use std::ops::ControlFlow;

use attest_ledger::{GENESIS, SigningKey};
use attest_model::{CheckResult, NewEvidence, RunRecord, Severity, Status};
use jiff::civil::date;
use jiff::{SignedDuration, Timestamp};

use crate::verify::{HistoryCheck, verify_store};
use crate::{
    FindingChange, RunDelta, RunResults, Store, StoreError, ledger_records, object_address,
};

/// The seed of the signing key conformance stores are made with.
pub const KEY_SEED: [u8; 32] = [7; 32];

/// Generates one `#[test]` per conformance case; `$make` yields `(store, guard)`, a fresh
/// store signing with [`KEY_SEED`], each time it is evaluated.
#[macro_export]
macro_rules! store_conformance_tests {
    ($make:expr) => {
        $crate::store_conformance_tests!(@one $make;
            objects_are_content_addressed,
            missing_and_malformed_addresses_are_errors,
            evidence_round_trips_in_order,
            evidence_filters_by_control,
            identical_results_extend_one_interval,
            a_status_change_opens_a_new_interval,
            current_results_come_from_the_latest_run_of_each_target,
            a_run_without_results_is_recorded,
            a_silence_longer_than_max_gap_is_a_gap,
            a_result_no_longer_observed_is_gone_until_it_returns,
            runs_out_of_order_and_duplicate_results_are_refused,
            writes_append_a_verifiable_ledger,
            a_batch_of_runs_is_one_write_with_one_checkpoint,
            events_are_appended_and_found,
            runs_are_counted_and_drawn_by_position,
            intervals_are_visited_by_time,
            the_ledger_replays_to_the_stored_history,
            findings_are_saved_with_their_trail_in_the_ledger,
            agent_reports_are_recorded_once,
        );
        #[test]
        fn imported_deltas_write_what_recorded_runs_write() {
            let (recorded, _a) = $make;
            let (imported, _b) = $make;
            $crate::conformance::imported_deltas_write_what_recorded_runs_write(
                &*recorded, &*imported,
            );
        }
    };
    (@one $make:expr; $($case:ident),+ $(,)?) => {
        $(
            #[test]
            fn $case() {
                let (store, _guard) = $make;
                $crate::conformance::$case(&*store);
            }
        )+
    };
}

fn at(seconds: i64) -> Timestamp {
    Timestamp::from_second(1_767_225_600 + seconds).expect("valid test timestamp")
}

fn result(check: &str, resource: &str, status: Status) -> CheckResult {
    CheckResult {
        check: check.to_owned(),
        resource: resource.to_owned(),
        status,
        severity: Severity::High,
        message: format!("{check} on {resource} is {status}"),
    }
}

fn run(target: &str, seconds: i64) -> RunRecord {
    RunRecord {
        source: "host".to_owned(),
        target: target.to_owned(),
        observed_at: at(seconds),
        max_gap: SignedDuration::from_hours(2),
    }
}

fn public() -> attest_ledger::PublicKey {
    SigningKey::from_seed(KEY_SEED).public()
}

/// Same content, same address, one copy; content reads back intact.
pub fn objects_are_content_addressed(store: &dyn Store) {
    let content = b"signed access review, Q1\n\x00\xff binary too";
    let address = store.put_object(content).unwrap();
    assert_eq!(address, object_address(content));
    assert_eq!(store.put_object(content).unwrap(), address);
    assert_eq!(store.read_object(&address).unwrap(), content);
    let empty = store.put_object(b"").unwrap();
    assert_eq!(store.read_object(&empty).unwrap(), b"");
}

/// Reading an unknown or malformed address is an error, never a path outside the store.
pub fn missing_and_malformed_addresses_are_errors(store: &dyn Store) {
    let unknown = object_address(b"never stored");
    assert!(
        matches!(store.read_object(&unknown), Err(StoreError::MissingObject(a)) if a == unknown)
    );
    assert!(matches!(
        store.read_object("../../etc/passwd"),
        Err(StoreError::MissingObject(_))
    ));
}

fn evidence(control: &str, note: Option<&str>, day: i8) -> NewEvidence {
    let content = format!("{control}-{day}");
    NewEvidence {
        control: control.to_owned(),
        file_name: format!("review-{day}.pdf"),
        sha256: object_address(content.as_bytes()),
        size: content.len() as u64,
        note: note.map(str::to_owned),
        effective_date: date(2026, 3, day),
        added_at: at(i64::from(day) * 60),
        added_by: "Zoë Ramírez".to_owned(),
    }
}

/// Every field of an evidence record survives the store; ids grow in order of addition.
pub fn evidence_round_trips_in_order(store: &dyn Store) {
    let first = evidence("AC-02", Some("Q1 review, signed by the CTO — «ok»"), 3);
    let second = evidence("AC-02", None, 1);
    let a = store.add_evidence(&first).unwrap();
    let b = store.add_evidence(&second).unwrap();
    assert!(b.id > a.id);
    let listed = store.list_evidence(None).unwrap();
    assert_eq!(listed, vec![a.clone(), b]);
    assert_eq!(a.control, first.control);
    assert_eq!(a.file_name, first.file_name);
    assert_eq!(a.sha256, first.sha256);
    assert_eq!(a.size, first.size);
    assert_eq!(a.note, first.note);
    assert_eq!(a.effective_date, first.effective_date);
    assert_eq!(a.added_at, first.added_at);
    assert_eq!(a.added_by, first.added_by);
}

/// Listing by control returns only that control's evidence.
pub fn evidence_filters_by_control(store: &dyn Store) {
    store.add_evidence(&evidence("AC-02", None, 1)).unwrap();
    store.add_evidence(&evidence("HR-01", None, 2)).unwrap();
    store.add_evidence(&evidence("AC-02", None, 4)).unwrap();
    let ac = store.list_evidence(Some("AC-02")).unwrap();
    assert_eq!(ac.len(), 2);
    assert!(ac.iter().all(|e| e.control == "AC-02"));
    assert!(store.list_evidence(Some("NOPE-01")).unwrap().is_empty());
}

/// Repeating the same results extends the open intervals and opens none.
pub fn identical_results_extend_one_interval(store: &dyn Store) {
    let results = [
        result("host.ssh.root_login_disabled", "web-1/sshd", Status::Pass),
        result(
            "host.fs.shadow_permissions",
            "web-1/etc/shadow",
            Status::Fail,
        ),
    ];
    let first = store.record_run(&run("web-1", 0), &results).unwrap();
    assert_eq!((first.opened, first.extended), (2, 0));
    for hour in 1..=5 {
        let outcome = store
            .record_run(&run("web-1", hour * 3600), &results)
            .unwrap();
        assert_eq!((outcome.opened, outcome.extended), (0, 2));
        assert!(outcome.run_id > first.run_id);
    }
    let history = store
        .history("web-1", "host.ssh.root_login_disabled", "web-1/sshd")
        .unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].first_seen, at(0));
    assert_eq!(history[0].last_seen, at(5 * 3600));
    assert_eq!(history[0].observations, 6);
    assert_eq!(history[0].status, Status::Pass);
}

/// A changed status closes the open interval and opens a new one.
pub fn a_status_change_opens_a_new_interval(store: &dyn Store) {
    let check = "host.ssh.root_login_disabled";
    for (seconds, status) in [
        (0, Status::Pass),
        (3600, Status::Pass),
        (7200, Status::Fail),
        (10_800, Status::Pass),
    ] {
        store
            .record_run(
                &run("web-1", seconds),
                &[result(check, "web-1/sshd", status)],
            )
            .unwrap();
    }
    let history = store.history("web-1", check, "web-1/sshd").unwrap();
    let summary: Vec<_> = history
        .iter()
        .map(|i| (i.status, i.first_seen, i.last_seen, i.observations))
        .collect();
    assert_eq!(
        summary,
        vec![
            (Status::Pass, at(0), at(3600), 2),
            (Status::Fail, at(7200), at(7200), 1),
            (Status::Pass, at(10_800), at(10_800), 1),
        ]
    );
}

/// Current results are those the latest run of each target saw; targets are independent.
pub fn current_results_come_from_the_latest_run_of_each_target(store: &dyn Store) {
    let check = "host.kernel.aslr";
    store
        .record_run(
            &run("web-1", 0),
            &[
                result(check, "web-1/a", Status::Pass),
                result(check, "web-1/b", Status::Fail),
            ],
        )
        .unwrap();
    store
        .record_run(&run("db-1", 10), &[result(check, "db-1/a", Status::Error)])
        .unwrap();
    // web-1's second run no longer sees resource b.
    store
        .record_run(
            &run("web-1", 3600),
            &[result(check, "web-1/a", Status::Fail)],
        )
        .unwrap();
    let mut current: Vec<_> = store
        .current_results()
        .unwrap()
        .into_iter()
        .map(|i| (i.target, i.resource, i.status))
        .collect();
    current.sort();
    assert_eq!(
        current,
        vec![
            ("db-1".to_owned(), "db-1/a".to_owned(), Status::Error),
            ("web-1".to_owned(), "web-1/a".to_owned(), Status::Fail),
        ]
    );
    let failing: Vec<_> = store
        .current_results()
        .unwrap()
        .into_iter()
        .filter(|i| i.status == Status::Fail)
        .collect();
    assert_eq!(store.failing_results().unwrap(), failing);
    // web-1/b failed before and web-1/a passed before: neither earlier interval is current.
    assert_eq!(failing.len(), 1);
    // A failing result that passes again is no longer failing.
    store
        .record_run(
            &run("web-1", 7200),
            &[result(check, "web-1/a", Status::Pass)],
        )
        .unwrap();
    assert!(store.failing_results().unwrap().is_empty());
}

/// A run with no results is still a run: it has an id and leaves history alone.
pub fn a_run_without_results_is_recorded(store: &dyn Store) {
    let first = store.record_run(&run("web-1", 0), &[]).unwrap();
    let second = store.record_run(&run("web-1", 60), &[]).unwrap();
    assert!(second.run_id > first.run_id);
    assert_eq!((second.opened, second.extended), (0, 0));
    assert!(store.current_results().unwrap().is_empty());
    let targets = store.targets().unwrap();
    assert_eq!(targets.len(), 1);
    assert_eq!(
        (targets[0].runs, targets[0].first_seen, targets[0].last_seen),
        (2, Some(at(0)), Some(at(60)))
    );
}

/// A silence longer than the run's `max_gap` ends every interval of the target; the next run
/// starts new ones with the same status, so the silence is a visible gap.
pub fn a_silence_longer_than_max_gap_is_a_gap(store: &dyn Store) {
    let results = [result("c", "web-1/r", Status::Pass)];
    store.record_run(&run("web-1", 0), &results).unwrap();
    store.record_run(&run("web-1", 3600), &results).unwrap();
    // Exactly max_gap later: still continuous.
    store.record_run(&run("web-1", 3 * 3600), &results).unwrap();
    // Five hours of silence.
    let after = store.record_run(&run("web-1", 8 * 3600), &results).unwrap();
    assert_eq!(
        (after.opened, after.extended, after.resumed),
        (0, 0, 1),
        "an unchanged result after a gap is resumed, not changed"
    );
    store.record_run(&run("web-1", 9 * 3600), &results).unwrap();
    let history = store.history("web-1", "c", "web-1/r").unwrap();
    let summary: Vec<_> = history
        .iter()
        .map(|i| (i.status, i.first_seen, i.last_seen, i.observations))
        .collect();
    assert_eq!(
        summary,
        vec![
            (Status::Pass, at(0), at(3 * 3600), 3),
            (Status::Pass, at(8 * 3600), at(9 * 3600), 2),
        ]
    );
}

/// A series a run does not observe is gone (its interval ends at the run before); when it is
/// observed again it starts a new interval, even with the same status.
pub fn a_result_no_longer_observed_is_gone_until_it_returns(store: &dyn Store) {
    let a = result("c", "web-1/a", Status::Pass);
    let b = result("c", "web-1/b", Status::Pass);
    store
        .record_run(&run("web-1", 0), &[a.clone(), b.clone()])
        .unwrap();
    let without = store
        .record_run(&run("web-1", 3600), std::slice::from_ref(&a))
        .unwrap();
    assert_eq!((without.gone, without.extended), (1, 1));
    let back = store.record_run(&run("web-1", 7200), &[a, b]).unwrap();
    assert_eq!((back.opened, back.extended, back.gone), (1, 1, 0));
    let history = store.history("web-1", "c", "web-1/b").unwrap();
    let summary: Vec<_> = history
        .iter()
        .map(|i| (i.first_seen, i.last_seen, i.observations))
        .collect();
    assert_eq!(summary, vec![(at(0), at(0), 1), (at(7200), at(7200), 1)]);
}

/// Runs of a target must arrive in time order, and a run must not report a series twice;
/// a refused run writes nothing.
pub fn runs_out_of_order_and_duplicate_results_are_refused(store: &dyn Store) {
    let ok = [result("c", "r", Status::Pass)];
    store.record_run(&run("web-1", 3600), &ok).unwrap();
    let (before, _) = ledger_len(store);
    assert!(matches!(
        store.record_run(&run("web-1", 0), &ok),
        Err(StoreError::OutOfOrder { .. })
    ));
    let twice = [
        result("c", "r", Status::Pass),
        result("c", "r", Status::Fail),
    ];
    assert!(matches!(
        store.record_run(&run("web-1", 7200), &twice),
        Err(StoreError::InvalidRun(_))
    ));
    assert_eq!(ledger_len(store).0, before, "a refused run appends nothing");
    assert_eq!(store.targets().unwrap()[0].runs, 1);
    // Other targets are independent in time.
    store.record_run(&run("db-1", 0), &ok).unwrap();
}

fn ledger_len(store: &dyn Store) -> (u64, Vec<String>) {
    let mut n = 0;
    let mut kinds = Vec::new();
    store
        .visit_ledger(1, &mut |e| {
            n += 1;
            kinds.push(e.kind.to_owned());
            ControlFlow::Continue(())
        })
        .unwrap();
    (n, kinds)
}

/// Every write appends ledger entries, signs a checkpoint, and the whole verifies.
pub fn writes_append_a_verifiable_ledger(store: &dyn Store) {
    store.put_object(b"AC-02-1").unwrap();
    store.add_evidence(&evidence("AC-02", None, 1)).unwrap();
    let results = [
        result("host.kernel.aslr", "web-1/kernel", Status::Pass),
        result("host.ssh.x", "web-1/sshd", Status::Fail),
    ];
    store.record_run(&run("web-1", 0), &results).unwrap();
    store
        .record_run(&run("web-1", 3600), &results[..1])
        .unwrap();
    let records = ledger_records(store, 1, GENESIS).unwrap();
    let kinds: Vec<&str> = records.iter().map(|r| r.entry.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "evidence.added",
            "scan.run",
            "result.changed",
            "result.changed",
            "scan.run",
            "result.gone",
        ]
    );
    let run: crate::payload::ScanRun = serde_json::from_str(&records[4].payload).unwrap();
    assert_eq!(
        (run.run, run.results, run.changed, run.unchanged, run.gone),
        (5, 1, 0, 1, 1)
    );
    assert_eq!(run.max_gap, 7200);
    assert!(records[0].payload.contains("\"control\":\"AC-02\""));
    let checkpoints = store.checkpoints().unwrap();
    assert_eq!(
        checkpoints.iter().map(|c| c.seq).collect::<Vec<_>>(),
        [1, 4, 6],
        "one checkpoint at the end of each write"
    );
    let entries: Vec<_> = records.iter().map(|r| r.entry.clone()).collect();
    let verified = attest_ledger::verify(&entries, &checkpoints, &public()).unwrap();
    assert_eq!((verified.entries, verified.signed_through), (6, 6));
    let report = verify_store(store, &public()).unwrap();
    assert!(report.is_intact(), "{report:?}");
    assert_eq!(report.evidence_checked, 1);
    // Another key does not verify it.
    let other = SigningKey::from_seed([8; 32]).public();
    assert!(verify_store(store, &other).unwrap().ledger.is_err());
}

/// Runs recorded together are one transaction, timed when recorded, with one checkpoint.
pub fn a_batch_of_runs_is_one_write_with_one_checkpoint(store: &dyn Store) {
    let results = [result("c", "r", Status::Pass)];
    let runs: Vec<RunRecord> = (0..5).map(|i| run(&format!("web-{i}"), i)).collect();
    let batch: Vec<RunResults<'_>> = runs
        .iter()
        .map(|run| RunResults {
            run,
            results: &results,
        })
        .collect();
    let outcomes = store.record_runs(at(100), &batch).unwrap();
    assert_eq!(outcomes.len(), 5);
    assert!(outcomes.windows(2).all(|w| w[0].run_id < w[1].run_id));
    assert_eq!(store.checkpoints().unwrap().len(), 1);
    let records = ledger_records(store, 1, GENESIS).unwrap();
    assert_eq!(records.len(), 10);
    assert!(records.iter().all(|r| r.entry.time == at(100).as_second()));
    // The batch is whole or absent: a bad run in it refuses all.
    let late = run("web-9", 1);
    let bad = run("web-0", -10);
    let refused = store.record_runs(
        at(200),
        &[
            RunResults {
                run: &late,
                results: &results,
            },
            RunResults {
                run: &bad,
                results: &results,
            },
        ],
    );
    assert!(refused.is_err());
    assert_eq!(store.targets().unwrap().len(), 5);
    assert_eq!(ledger_records(store, 1, GENESIS).unwrap().len(), 10);
}

/// Events are ledger entries; the latest of a kind is found.
pub fn events_are_appended_and_found(store: &dyn Store) {
    assert_eq!(store.latest_event("config.changed").unwrap(), None);
    let first = store
        .append_event(
            at(0),
            "config.changed",
            &serde_json::json!({"b": 1, "a": "x"}),
        )
        .unwrap();
    let second = store
        .append_event(at(1), "config.changed", &serde_json::json!({"a": "y"}))
        .unwrap();
    assert_eq!((first, second), (1, 2));
    assert_eq!(
        store.latest_event("config.changed").unwrap(),
        Some((2, r#"{"a":"y"}"#.to_owned()))
    );
    assert!(matches!(
        store.append_event(at(2), "bad\nkind", &serde_json::json!({})),
        Err(StoreError::Ledger(_))
    ));
    assert_eq!(store.checkpoints().unwrap().len(), 2);
}

/// The runs of each target in a window are counted, and any one can be drawn by position.
pub fn runs_are_counted_and_drawn_by_position(store: &dyn Store) {
    for hour in 0..10 {
        store.record_run(&run("web-1", hour * 3600), &[]).unwrap();
        if hour % 2 == 0 {
            store
                .record_run(&run("db-1", hour * 3600 + 1), &[])
                .unwrap();
        }
    }
    let ids: HashMap<String, i64> = store
        .targets()
        .unwrap()
        .into_iter()
        .map(|t| (t.name, t.id))
        .collect();
    let mut counts = store.run_counts(at(3600), at(6 * 3600)).unwrap();
    counts.sort_unstable();
    let mut want = vec![(ids["web-1"], 6), (ids["db-1"], 2)];
    want.sort_unstable();
    assert_eq!(counts, want);
    let third = store
        .nth_run(ids["web-1"], at(3600), at(6 * 3600), 2)
        .unwrap()
        .unwrap();
    assert_eq!(third.observed_at, at(3 * 3600));
    assert_eq!(third.target, ids["web-1"]);
    assert_eq!(
        store
            .nth_run(ids["web-1"], at(3600), at(6 * 3600), 6)
            .unwrap(),
        None
    );
}

/// Intervals are visited when they overlap the window, by series then time, with their
/// open state.
pub fn intervals_are_visited_by_time(store: &dyn Store) {
    for (hour, status) in [(0, Status::Pass), (1, Status::Fail), (2, Status::Pass)] {
        store
            .record_run(&run("web-1", hour * 3600), &[result("c", "r", status)])
            .unwrap();
    }
    let mut seen = Vec::new();
    store
        .visit_intervals(at(3600), at(3600 + 10), &mut |i| {
            seen.push((i.status, i.first_seen, i.open));
        })
        .unwrap();
    assert_eq!(seen, vec![(Status::Fail, at(3600), false)]);
    let mut all = Vec::new();
    store
        .visit_intervals(Timestamp::MIN, Timestamp::MAX, &mut |i| {
            all.push((i.status, i.open, i.last_seen));
        })
        .unwrap();
    assert_eq!(
        all,
        vec![
            (Status::Pass, false, at(0)),
            (Status::Fail, false, at(3600)),
            (Status::Pass, true, at(7200)),
        ]
    );
    assert_eq!(store.series().unwrap().len(), 1);
}

/// Replaying the ledger gives exactly the stored history.
pub fn the_ledger_replays_to_the_stored_history(store: &dyn Store) {
    let runs = random_runs(7, 3, 40);
    for (record, results) in &runs {
        store.record_run(record, results).unwrap();
    }
    let report = verify_store(store, &public()).unwrap();
    assert!(
        matches!(report.history, HistoryCheck::Matches { runs: 40, intervals } if intervals > 40),
        "{report:?}"
    );
    assert!(report.is_intact());
}

/// A deterministic pseudo-random history: `hosts` targets, runs hourly with gaps, statuses
/// that flip, resources that come and go.
fn random_runs(seed: u64, hosts: u64, runs: u64) -> Vec<(RunRecord, Vec<CheckResult>)> {
    let mut state = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
    let mut next = move |n: u64| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state % n
    };
    let mut clock: HashMap<u64, i64> = HashMap::new();
    let mut statuses: HashMap<(u64, u64), Status> = HashMap::new();
    let mut out = Vec::new();
    for _ in 0..runs {
        let host = next(hosts);
        let time = clock.entry(host).or_insert(0);
        // Mostly hourly; sometimes a long silence.
        *time += if next(8) == 0 { 6 * 3600 } else { 3600 };
        let mut results = Vec::new();
        for check in 0..4 {
            // Resource 3 is sometimes not observed.
            if check == 3 && next(3) == 0 {
                continue;
            }
            let status = statuses.entry((host, check)).or_insert(Status::Pass);
            if next(5) == 0 {
                *status = match next(3) {
                    0 => Status::Fail,
                    1 => Status::Error,
                    _ => Status::Pass,
                };
            }
            results.push(result(
                &format!("check.{check}"),
                &format!("host-{host}/r{check}"),
                *status,
            ));
        }
        out.push((run(&format!("host-{host}"), *time), results));
    }
    out
}

/// Importing runs as deltas writes the same history and the same ledger entries as recording
/// them whole.
pub fn imported_deltas_write_what_recorded_runs_write(recorded: &dyn Store, imported: &dyn Store) {
    let runs = random_runs(11, 4, 120);
    let mut previous: HashMap<String, Vec<CheckResult>> = HashMap::new();
    let mut deltas = Vec::new();
    for (i, (record, results)) in runs.iter().enumerate() {
        recorded.record_run(record, results).unwrap();
        let before = previous.remove(&record.target).unwrap_or_default();
        let changes: Vec<CheckResult> = results
            .iter()
            .filter(|r| {
                !before
                    .iter()
                    .any(|b| b.check == r.check && b.resource == r.resource && b.status == r.status)
            })
            .cloned()
            .collect();
        let mut gone: Vec<(String, String)> = before
            .iter()
            .filter(|b| {
                !results
                    .iter()
                    .any(|r| r.check == b.check && r.resource == b.resource)
            })
            .map(|b| (b.check.clone(), b.resource.clone()))
            .collect();
        gone.sort();
        deltas.push(RunDelta {
            run: record.clone(),
            changes,
            gone,
            observed: results.len() as u64,
            checkpoint: i % 10 == 9,
        });
        previous.insert(record.target.clone(), results.clone());
    }
    let outcome = imported.import_runs(&mut deltas.into_iter()).unwrap();
    assert_eq!(outcome.runs, 120);
    assert!(outcome.checkpoints >= 12);
    let a = ledger_records(recorded, 1, GENESIS).unwrap();
    let b = ledger_records(imported, 1, GENESIS).unwrap();
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x, y, "ledger entries differ");
    }
    assert_eq!(outcome.entries, b.len() as u64);
    for (record, results) in &runs {
        for r in results {
            assert_eq!(
                recorded
                    .history(&record.target, &r.check, &r.resource)
                    .unwrap(),
                imported
                    .history(&record.target, &r.check, &r.resource)
                    .unwrap(),
                "history of {} {}",
                r.check,
                r.resource
            );
        }
    }
    let mut current_a = recorded.current_results().unwrap();
    let mut current_b = imported.current_results().unwrap();
    current_a.sort_by(|x, y| (&x.target, &x.resource).cmp(&(&y.target, &y.resource)));
    current_b.sort_by(|x, y| (&x.target, &x.resource).cmp(&(&y.target, &y.resource)));
    assert_eq!(current_a, current_b);
    let report = verify_store(imported, &public()).unwrap();
    assert!(report.is_intact(), "{report:?}");
    // Recording after an import continues the same history.
    let (last, results) = runs.last().unwrap();
    let mut next = last.clone();
    next.observed_at = at(1_000_000);
    recorded.record_run(&next, results).unwrap();
    imported.record_run(&next, results).unwrap();
    assert_eq!(
        ledger_records(recorded, 1, GENESIS).unwrap(),
        ledger_records(imported, 1, GENESIS).unwrap()
    );
}

/// A finding of the conformance cases.
fn finding() -> attest_model::Finding {
    attest_model::Finding {
        id: 0,
        title: "AC-05 is failing".into(),
        controls: vec!["AC-05".into()],
        criteria: vec!["CC6.1".into()],
        severity: Severity::High,
        source: attest_model::FindingSource::Automated,
        status: attest_model::FindingStatus::Open,
        failing_since: at(0),
        opened_at: at(60),
        due_at: at(60 + 30 * 86_400),
        fixed_at: None,
        closed_at: None,
        owner: "Security lead".into(),
        root_cause: None,
        corrective_action: None,
        closure_evidence: None,
        risk_reason: None,
        risk_until: None,
        resources: vec!["c on r of web-1".into()],
        resources_omitted: 0,
    }
}

/// Findings get ids, every change is a `finding.*` entry with the whole state, and the trail
/// reads back in order.
pub fn findings_are_saved_with_their_trail_in_the_ledger(store: &dyn Store) {
    let change = |event, by, at_s| FindingChange {
        event,
        by,
        note: None,
        at: at(at_s),
    };
    let opened = store
        .save_finding(&finding(), &change("opened", "attest", 60))
        .unwrap();
    assert_eq!(opened.id, 1);
    let mut fixed = opened.clone();
    fixed.status = attest_model::FindingStatus::Resolved;
    fixed.fixed_at = Some(at(7200));
    store
        .save_finding(&fixed, &change("fixed", "attest", 7200))
        .unwrap();
    let mut closed = fixed.clone();
    closed.status = attest_model::FindingStatus::Closed;
    closed.root_cause = Some("a package reset sshd_config".into());
    closed.corrective_action = Some("sshd settings moved to a drop-in".into());
    closed.closed_at = Some(at(9000));
    store
        .save_finding(
            &closed,
            &FindingChange {
                event: "closed",
                by: "zoë",
                note: Some("reviewed with the CTO"),
                at: at(9000),
            },
        )
        .unwrap();
    let second = store
        .save_finding(&finding(), &change("opened", "attest", 9100))
        .unwrap();
    assert_eq!(second.id, 2);
    assert_eq!(store.findings().unwrap(), vec![closed.clone(), second]);
    let trail = store.finding_history(1).unwrap();
    let events: Vec<(&str, &str)> = trail
        .iter()
        .map(|e| (e.event.as_str(), e.by.as_str()))
        .collect();
    assert_eq!(
        events,
        [("opened", "attest"), ("fixed", "attest"), ("closed", "zoë")]
    );
    assert_eq!(trail[2].state, closed);
    assert_eq!(trail[2].note.as_deref(), Some("reviewed with the CTO"));
    assert_eq!(trail[1].at, at(7200));
    // Unknown ids and malformed events are refused.
    let mut ghost = finding();
    ghost.id = 99;
    assert!(matches!(
        store.save_finding(&ghost, &change("updated", "attest", 1)),
        Err(StoreError::UnknownFinding(99))
    ));
    assert!(
        store
            .save_finding(&finding(), &change("Opened!", "attest", 1))
            .is_err()
    );
    let report = verify_store(store, &public()).unwrap();
    assert!(report.is_intact(), "{report:?}");
    assert_eq!(report.findings_checked, 2);
}

fn report<'a>(id: &'a str, run: &'a RunRecord, results: &'a [CheckResult]) -> crate::ReportRun<'a> {
    crate::ReportRun {
        report_id: id,
        run: RunResults { run, results },
    }
}

/// A redelivered agent report is recognised and written once, in a later write or the same.
pub fn agent_reports_are_recorded_once(store: &dyn Store) {
    use crate::ReportOutcome;
    let ok = [result("c", "r", Status::Pass)];
    let (first, second, third) = (run("web-1", 0), run("web-1", 3600), run("web-1", 1800));
    let outcomes = store
        .record_reports(
            at(10),
            &[
                report("report-0001", &first, &ok),
                report("report-0001", &first, &ok),
            ],
        )
        .unwrap();
    let ReportOutcome::Recorded(recorded) = outcomes[0] else {
        panic!("the first delivery is recorded: {outcomes:?}")
    };
    assert_eq!(
        outcomes[1],
        ReportOutcome::Duplicate {
            run_id: recorded.run_id
        }
    );
    let (entries, _) = ledger_len(store);
    // Delivered again later, with a newer report in the same batch.
    let outcomes = store
        .record_reports(
            at(3700),
            &[
                report("report-0001", &first, &ok),
                report("report-0002", &second, &ok),
            ],
        )
        .unwrap();
    assert_eq!(
        outcomes[0],
        ReportOutcome::Duplicate {
            run_id: recorded.run_id
        }
    );
    assert!(matches!(outcomes[1], ReportOutcome::Recorded(_)));
    assert_eq!(store.targets().unwrap()[0].runs, 2);
    // Only all-duplicate batches append nothing.
    let (after, _) = ledger_len(store);
    assert!(after > entries);
    store
        .record_reports(at(3800), &[report("report-0002", &second, &ok)])
        .unwrap();
    assert_eq!(ledger_len(store).0, after, "a duplicate appends nothing");
    // A report older than the target's latest run, and never recorded, is out of order.
    assert!(matches!(
        store.record_reports(at(3900), &[report("report-0003", &third, &ok)]),
        Err(StoreError::OutOfOrder { .. })
    ));
    assert_eq!(
        ledger_len(store).0,
        after,
        "a refused batch appends nothing"
    );
    let report = verify_store(store, &public()).unwrap();
    assert!(report.is_intact(), "{report:?}");
}

/// Generates one `#[test]` per account conformance case; `$make` yields `(store, guard)`
/// where the store implements both [`Store`] and [`AccountStore`](crate::accounts::AccountStore).
#[macro_export]
macro_rules! account_conformance_tests {
    ($make:expr) => {
        $crate::account_conformance_tests!(@one $make;
            users_are_added_once_with_their_role,
            hosts_are_found_by_token_until_revoked,
            sessions_expire_and_end_with_their_user,
            login_failures_are_counted_by_key,
        );
    };
    (@one $make:expr; $($case:ident),+ $(,)?) => {
        $(
            #[test]
            fn $case() {
                let (store, _guard) = $make;
                $crate::conformance::$case(&*store, &*store);
            }
        )+
    };
}

fn actor(by: &str, seconds: i64) -> crate::accounts::Actor<'_> {
    crate::accounts::Actor {
        by,
        at: at(seconds),
    }
}

/// Users are unique by name, never agents, and every change is in the ledger without secrets.
pub fn users_are_added_once_with_their_role(
    accounts: &dyn crate::accounts::AccountStore,
    store: &dyn Store,
) {
    use crate::accounts::NewUser;
    use attest_model::Role;
    let hash = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo";
    let alice = accounts
        .add_user(
            &NewUser {
                name: "alice",
                role: Role::Admin,
                password_hash: hash,
            },
            actor("attest", 0),
        )
        .unwrap();
    assert_eq!(alice.name, "alice");
    assert_eq!(alice.created_at, at(0));
    assert!(matches!(
        accounts.add_user(
            &NewUser {
                name: "alice",
                role: Role::Editor,
                password_hash: hash,
            },
            actor("attest", 1),
        ),
        Err(StoreError::Exists { what: "user", .. })
    ));
    assert!(matches!(
        accounts.add_user(
            &NewUser {
                name: "bot",
                role: Role::Agent,
                password_hash: hash,
            },
            actor("attest", 1),
        ),
        Err(StoreError::Invalid(_))
    ));
    accounts
        .add_user(
            &NewUser {
                name: "carol",
                role: Role::Auditor,
                password_hash: hash,
            },
            actor("alice", 2),
        )
        .unwrap();
    accounts
        .set_password("carol", "$argon2id$new", actor("carol", 3))
        .unwrap();
    accounts
        .set_disabled("carol", true, actor("alice", 4))
        .unwrap();
    assert!(matches!(
        accounts.set_password("nobody", hash, actor("alice", 5)),
        Err(StoreError::Unknown { what: "user", .. })
    ));
    let users = accounts.users().unwrap();
    assert_eq!(
        users
            .iter()
            .map(|u| (u.name.as_str(), u.role, u.disabled))
            .collect::<Vec<_>>(),
        [
            ("alice", Role::Admin, false),
            ("carol", Role::Auditor, true)
        ]
    );
    assert_eq!(
        accounts.user("carol").unwrap().unwrap().password_hash,
        "$argon2id$new"
    );
    assert_eq!(accounts.user("dave").unwrap(), None);
    let mut entries = Vec::new();
    store
        .visit_ledger(1, &mut |e| {
            entries.push((e.kind.to_owned(), e.payload.to_owned()));
            ControlFlow::Continue(())
        })
        .unwrap();
    let kinds: Vec<&str> = entries.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "user.added",
            "user.added",
            "user.password_changed",
            "user.disabled"
        ]
    );
    assert_eq!(
        entries[1].1,
        r#"{"by":"alice","name":"carol","role":"auditor"}"#
    );
    assert!(
        entries.iter().all(|(_, p)| !p.contains("argon2")),
        "no hash in the ledger"
    );
    let report = verify_store(store, &public()).unwrap();
    assert!(report.is_intact(), "{report:?}");
}

/// A host is found by the SHA-256 of its token until it is revoked; a new token revives it.
pub fn hosts_are_found_by_token_until_revoked(
    accounts: &dyn crate::accounts::AccountStore,
    store: &dyn Store,
) {
    let (one, two) = ([1_u8; 32], [2_u8; 32]);
    let web = accounts.add_host("web-1", &one, actor("alice", 0)).unwrap();
    assert_eq!((web.name.as_str(), web.revoked_at), ("web-1", None));
    assert!(matches!(
        accounts.add_host("web-1", &two, actor("alice", 1)),
        Err(StoreError::Exists { what: "host", .. })
    ));
    assert_eq!(accounts.host_by_token(&one).unwrap(), Some(web.clone()));
    assert_eq!(accounts.host_by_token(&two).unwrap(), None);
    let revoked = accounts.revoke_host("web-1", actor("alice", 5)).unwrap();
    assert_eq!(revoked.revoked_at, Some(at(5)));
    assert_eq!(accounts.host_by_token(&one).unwrap(), None);
    let rotated = accounts
        .rotate_host_token("web-1", &two, actor("alice", 6))
        .unwrap();
    assert_eq!(rotated.revoked_at, None);
    assert_eq!(
        accounts.host_by_token(&one).unwrap(),
        None,
        "the old token stays dead"
    );
    assert_eq!(accounts.host_by_token(&two).unwrap().unwrap().name, "web-1");
    assert!(matches!(
        accounts.revoke_host("db-9", actor("alice", 7)),
        Err(StoreError::Unknown { what: "host", .. })
    ));
    assert_eq!(accounts.hosts().unwrap().len(), 1);
    let (_, kinds) = ledger_len(store);
    assert_eq!(kinds, ["host.added", "host.revoked", "host.token_rotated"]);
    let report = verify_store(store, &public()).unwrap();
    assert!(report.is_intact(), "{report:?}");
}

/// Sessions are found until they expire, end on logout, and end when their user is disabled.
pub fn sessions_expire_and_end_with_their_user(
    accounts: &dyn crate::accounts::AccountStore,
    _store: &dyn Store,
) {
    use crate::accounts::NewUser;
    let user = accounts
        .add_user(
            &NewUser {
                name: "erin",
                role: attest_model::Role::Editor,
                password_hash: "$argon2id$x",
            },
            actor("attest", 0),
        )
        .unwrap();
    let (a, b) = ([10_u8; 32], [11_u8; 32]);
    accounts
        .create_session(&a, user.id, "csrf-a", at(100))
        .unwrap();
    accounts
        .create_session(&b, user.id, "csrf-b", at(100))
        .unwrap();
    let session = accounts.session(&a, at(50)).unwrap().unwrap();
    assert_eq!(
        (session.user.name.as_str(), session.csrf_token.as_str()),
        ("erin", "csrf-a")
    );
    assert_eq!(session.expires_at, at(100));
    assert_eq!(accounts.session(&a, at(100)).unwrap(), None, "expired");
    accounts.delete_session(&a).unwrap();
    assert_eq!(accounts.session(&a, at(50)).unwrap(), None, "logged out");
    assert!(accounts.session(&b, at(50)).unwrap().is_some());
    accounts
        .set_disabled("erin", true, actor("alice", 60))
        .unwrap();
    assert_eq!(accounts.session(&b, at(61)).unwrap(), None, "disabled");
}

/// Failed logins are counted per key and time, and cleared.
pub fn login_failures_are_counted_by_key(
    accounts: &dyn crate::accounts::AccountStore,
    _store: &dyn Store,
) {
    let now = Timestamp::now();
    for i in 0..3 {
        accounts
            .record_login_failure("alice", now - SignedDuration::from_secs(i * 60))
            .unwrap();
    }
    accounts.record_login_failure("10.0.0.1", now).unwrap();
    assert_eq!(
        accounts
            .login_failures("alice", now - SignedDuration::from_secs(90))
            .unwrap(),
        2
    );
    assert_eq!(
        accounts
            .login_failures("alice", now - SignedDuration::from_secs(600))
            .unwrap(),
        3
    );
    accounts.clear_login_failures("alice").unwrap();
    assert_eq!(
        accounts
            .login_failures("alice", now - SignedDuration::from_secs(600))
            .unwrap(),
        0
    );
    assert_eq!(
        accounts
            .login_failures("10.0.0.1", now - SignedDuration::from_secs(600))
            .unwrap(),
        1
    );
}
