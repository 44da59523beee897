//! The conformance suite every [`Store`] implementation must pass.
//!
//! A backend runs it with [`store_conformance_tests!`](crate::store_conformance_tests), giving
//! an expression that makes a fresh, empty store (and a guard that keeps it alive):
//!
//! ```text
//! attest_store::store_conformance_tests!(fresh_sqlite_store());
//! ```

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::missing_panics_doc,
    reason = "a test suite: failing means panicking"
)]

use attest_model::{CheckResult, NewEvidence, RunRecord, Severity, Status};
use jiff::Timestamp;
use jiff::civil::date;

use crate::{Store, StoreError, object_address};

/// Generates one `#[test]` per conformance case; `$make` yields `(store, guard)`.
#[macro_export]
macro_rules! store_conformance_tests {
    ($make:expr) => {
        $crate::store_conformance_tests!(@cases $make;
            objects_are_content_addressed,
            missing_and_malformed_addresses_are_errors,
            evidence_round_trips_in_order,
            evidence_filters_by_control,
            identical_results_extend_one_interval,
            a_status_change_opens_a_new_interval,
            current_results_come_from_the_latest_run_of_each_target,
            a_run_without_results_is_recorded,
            writes_append_a_verifiable_ledger,
        );
    };
    (@cases $make:expr; $($case:ident),+ $(,)?) => {
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
    }
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
    store
        .record_run(
            &run("web-1", 0),
            &[result(check, "web-1/sshd", Status::Pass)],
        )
        .unwrap();
    store
        .record_run(
            &run("web-1", 3600),
            &[result(check, "web-1/sshd", Status::Pass)],
        )
        .unwrap();
    let changed = store
        .record_run(
            &run("web-1", 7200),
            &[result(check, "web-1/sshd", Status::Fail)],
        )
        .unwrap();
    assert_eq!((changed.opened, changed.extended), (1, 0));
    store
        .record_run(
            &run("web-1", 10_800),
            &[result(check, "web-1/sshd", Status::Pass)],
        )
        .unwrap();
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
}

/// A run with no results is still a run: it ids and leaves history alone.
pub fn a_run_without_results_is_recorded(store: &dyn Store) {
    let first = store.record_run(&run("web-1", 0), &[]).unwrap();
    let second = store.record_run(&run("web-1", 60), &[]).unwrap();
    assert!(second.run_id > first.run_id);
    assert_eq!((second.opened, second.extended), (0, 0));
    assert!(store.current_results().unwrap().is_empty());
}

/// Every write appends ledger entries whose chain verifies and whose payloads match.
pub fn writes_append_a_verifiable_ledger(store: &dyn Store) {
    store.add_evidence(&evidence("AC-02", None, 1)).unwrap();
    let results = [
        result("host.kernel.aslr", "web-1/kernel", Status::Pass),
        result("host.ssh.x", "web-1/sshd", Status::Fail),
    ];
    store.record_run(&run("web-1", 0), &results).unwrap();
    store.record_run(&run("web-1", 3600), &results).unwrap();
    let (records, _) = store.ledger().unwrap();
    let kinds: Vec<&str> = records.iter().map(|r| r.entry.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "evidence.added",
            "result.changed",
            "result.changed",
            "scan.run",
            "scan.run"
        ]
    );
    let entries: Vec<attest_ledger::Entry> = records.iter().map(|r| r.entry.clone()).collect();
    let any_key = attest_ledger::SigningKey::from_seed([1; 32]).public();
    let verified = attest_ledger::verify(&entries, &[], &any_key).unwrap();
    assert_eq!(verified.entries, 5);
    for record in &records {
        attest_ledger::check_payload(&record.entry, record.payload.as_bytes()).unwrap();
    }
    let last: serde_json::Value = serde_json::from_str(&records[4].payload).unwrap();
    assert_eq!(
        (last["changed"].as_u64(), last["unchanged"].as_u64()),
        (Some(0), Some(2))
    );
    assert!(
        records[0].payload.contains("\"control\":\"AC-02\""),
        "{}",
        records[0].payload
    );
}
