#![allow(
    clippy::cast_possible_wrap,
    clippy::cast_sign_loss,
    clippy::cast_possible_truncation,
    reason = "test arithmetic on small known values"
)]

use attest_ledger::Broken;
use attest_model::{CheckResult, RunRecord, Severity, Status};
use attest_store::conformance::KEY_SEED;
use attest_store::verify::{HistoryCheck, verify_store};
use jiff::SignedDuration;
use proptest::prelude::*;

use super::*;

fn fresh() -> (Box<dyn Store>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join(".attest"))
        .unwrap()
        .with_signing_key(SigningKey::from_seed(KEY_SEED));
    (Box::new(store), dir)
}

attest_store::store_conformance_tests!(fresh());

fn fresh_sqlite() -> (Box<SqliteStore>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join(".attest"))
        .unwrap()
        .with_signing_key(SigningKey::from_seed(KEY_SEED));
    (Box::new(store), dir)
}

mod accounts {
    use super::*;
    attest_store::account_conformance_tests!(fresh_sqlite());
}

fn public() -> attest_ledger::PublicKey {
    SigningKey::from_seed(KEY_SEED).public()
}

fn run(target: &str, seconds: i64) -> RunRecord {
    RunRecord {
        source: "host".into(),
        target: target.into(),
        observed_at: Timestamp::from_second(1_767_225_600 + seconds).unwrap(),
        max_gap: SignedDuration::from_hours(2),
    }
}

fn result(check: &str, status: Status) -> CheckResult {
    CheckResult {
        check: check.into(),
        resource: format!("{check}/r"),
        status,
        severity: Severity::High,
        message: format!("{check} is {status}"),
    }
}

/// A keyed store with evidence and a day of hourly runs on two hosts: a failure, a fix, and
/// five silent hours.
fn populated() -> (SqliteStore, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path())
        .unwrap()
        .with_signing_key(SigningKey::from_seed(KEY_SEED));
    let address = store.put_object(b"signed review").unwrap();
    store
        .add_evidence(&NewEvidence {
            control: "AC-02".into(),
            file_name: "review.pdf".into(),
            sha256: address,
            size: 13,
            note: Some("Q1".into()),
            effective_date: jiff::civil::date(2026, 1, 2),
            added_at: Timestamp::from_second(1_767_225_600).unwrap(),
            added_by: "cto".into(),
        })
        .unwrap();
    for hour in 0..24 {
        if (10..15).contains(&hour) {
            continue; // web-1 silent for five hours
        }
        let ssh = if (5..8).contains(&hour) {
            Status::Fail
        } else {
            Status::Pass
        };
        store
            .record_run(
                &run("web-1", hour * 3600),
                &[result("ssh", ssh), result("aslr", Status::Pass)],
            )
            .unwrap();
        store
            .record_run(
                &run("db-1", hour * 3600 + 60),
                &[result("ssh", Status::Pass)],
            )
            .unwrap();
    }
    (store, dir)
}

fn sql(store: &SqliteStore, statement: &str) {
    store.conn().execute_batch(statement).unwrap();
}

fn report(store: &SqliteStore) -> attest_store::verify::StoreReport {
    verify_store(store, &public()).unwrap()
}

#[test]
fn an_untouched_store_verifies_and_replays() {
    let (store, _dir) = populated();
    let report = report(&store);
    assert!(report.is_intact(), "{report:?}");
    assert!(
        matches!(report.history, HistoryCheck::Matches { runs: 38, .. }),
        "{report:?}"
    );
    let ledger = report.ledger.unwrap();
    assert_eq!(ledger.unsigned_tail, 0);
    assert_eq!(ledger.checkpoints, 39, "one per write");
}

#[test]
fn an_edited_ledger_row_is_named_precisely() {
    let (store, _dir) = populated();
    sql(&store, "UPDATE ledger SET kind_id = 2 WHERE seq = 1");
    assert_eq!(report(&store).ledger, Err(Broken::Head { seq: 1 }));
    let (store, _dir) = populated();
    // Entry 3 is the first result of the first run; the run's checkpoint is at entry 4.
    sql(&store, "UPDATE ledger SET time = time + 1 WHERE seq = 3");
    assert_eq!(report(&store).ledger, Err(Broken::Altered { seq: 3 }));
}

#[test]
fn a_deleted_or_reordered_ledger_row_is_found() {
    let (store, _dir) = populated();
    sql(&store, "DELETE FROM ledger WHERE seq = 7");
    assert_eq!(
        report(&store).ledger,
        Err(Broken::Sequence {
            expected: 7,
            found: 8
        })
    );
    let (store, _dir) = populated();
    sql(
        &store,
        "UPDATE ledger SET seq = -1 WHERE seq = 5; UPDATE ledger SET seq = 5 WHERE seq = 6; UPDATE ledger SET seq = 6 WHERE seq = -1;",
    );
    let broken = report(&store).ledger.unwrap_err();
    assert!(matches!(broken.seq(), 5 | 6), "{broken}");
}

#[test]
fn an_edited_run_row_breaks_its_rendered_entry() {
    let (store, _dir) = populated();
    let seq: i64 = store
        .conn()
        .query_row(
            "SELECT id FROM runs ORDER BY id LIMIT 1 OFFSET 3",
            [],
            |r| r.get(0),
        )
        .unwrap();
    sql(
        &store,
        &format!("UPDATE runs SET results = 99 WHERE id = {seq}"),
    );
    let broken = report(&store).ledger.unwrap_err();
    assert_eq!(broken.seq(), seq as u64, "{broken}");
    let (store, _dir) = populated();
    sql(&store, &format!("DELETE FROM runs WHERE id = {seq}"));
    assert_eq!(report(&store).ledger.unwrap_err().seq(), seq as u64);
}

#[test]
fn a_truncated_ledger_or_another_key_is_found() {
    let (store, _dir) = populated();
    sql(
        &store,
        "DELETE FROM ledger WHERE seq > (SELECT MAX(seq) - 2 FROM ledger)",
    );
    assert!(matches!(report(&store).ledger, Err(Broken::Missing { .. })));
    let (store, _dir) = populated();
    let other = SigningKey::from_seed([1; 32]).public();
    assert!(matches!(
        verify_store(&store, &other).unwrap().ledger,
        Err(Broken::Signature { seq: 1 })
    ));
}

#[test]
fn edited_history_differs_from_the_ledger() {
    // A failure rewritten as a pass.
    let (store, _dir) = populated();
    sql(
        &store,
        "UPDATE intervals SET status = 'pass' WHERE status = 'fail'",
    );
    let report = report(&store);
    assert!(report.ledger.is_ok());
    let HistoryCheck::Differs { differences, count } = &report.history else {
        panic!("{report:?}");
    };
    assert_eq!(*count, 1);
    assert!(
        differences[0].contains("status `pass`, the ledger says `fail`"),
        "{differences:?}"
    );
    // A gap hidden by stretching the interval before it and deleting the one after.
    let (store, _dir) = populated();
    sql(
        &store,
        "DELETE FROM intervals WHERE first_seen = 1767225600 + 15 * 3600 AND series_id IN (SELECT id FROM series WHERE check_id = 'aslr');
         UPDATE intervals SET last_seen = NULL, observations = NULL, last_run = NULL
           WHERE series_id IN (SELECT id FROM series WHERE check_id = 'aslr');",
    );
    assert!(matches!(
        report_history(&store),
        HistoryCheck::Differs { .. }
    ));
    // An interval deleted outright.
    let (store, _dir) = populated();
    sql(
        &store,
        "DELETE FROM intervals WHERE id = (SELECT MIN(id) FROM intervals)",
    );
    assert!(matches!(
        report_history(&store),
        HistoryCheck::Differs { count: 1, .. }
    ));
}

fn report_history(store: &SqliteStore) -> HistoryCheck {
    report(store).history
}

#[test]
fn edited_inserted_or_deleted_evidence_is_found() {
    let (store, _dir) = populated();
    sql(&store, "UPDATE evidence SET effective_date = '2026-06-30'");
    let problems = report(&store).evidence_problems;
    assert!(
        problems[0].contains("the record was edited"),
        "{problems:?}"
    );
    let (store, _dir) = populated();
    sql(&store, "DELETE FROM evidence");
    assert!(report(&store).evidence_problems[0].contains("the record was deleted"));
    let (store, _dir) = populated();
    sql(
        &store,
        "INSERT INTO evidence (control_id, file_name, sha256, size, note, effective_date, added_at, added_by)
         SELECT control_id, 'forged.pdf', sha256, size, note, effective_date, added_at, added_by FROM evidence",
    );
    assert!(report(&store).evidence_problems[0].contains("the record was inserted"));
    let (store, _dir) = populated();
    let address = store.list_evidence(None).unwrap()[0].sha256.clone();
    fs_err::write(store.object_path(&address), b"edited").unwrap();
    assert!(report(&store).evidence_problems[0].contains("corrupt"));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Any single edit of a ledger, run, interval or evidence row is found.
    #[test]
    fn random_row_tampering_is_always_found(table in 0usize..4, pick in 0u32..1000, how in 0usize..3) {
        let (store, _dir) = populated();
        let (name, column) = [("ledger", "time"), ("runs", "observed_at"), ("intervals", "first_seen"), ("evidence", "size")][table];
        let key = if name == "ledger" { "seq" } else { "id" };
        let rows: i64 = store.conn().query_row(&format!("SELECT COUNT(*) FROM {name}"), [], |r| r.get(0)).unwrap();
        let offset = i64::from(pick) % rows;
        let id: i64 = store.conn().query_row(&format!("SELECT {key} FROM {name} ORDER BY {key} LIMIT 1 OFFSET {offset}"), [], |r| r.get(0)).unwrap();
        let edit = match how {
            0 => format!("UPDATE {name} SET {column} = {column} + 1 WHERE {key} = {id}"),
            1 => format!("UPDATE {name} SET {column} = {column} - 7 WHERE {key} = {id}"),
            _ => format!("DELETE FROM {name} WHERE {key} = {id}"),
        };
        sql(&store, &edit);
        let report = report(&store);
        prop_assert!(!report.is_intact(), "{edit} went unnoticed");
    }
}

#[test]
fn a_tampered_object_is_reported_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    let address = store.put_object(b"original").unwrap();
    fs_err::write(store.object_path(&address), b"edited").unwrap();
    let err = store.read_object(&address).unwrap_err();
    assert!(
        matches!(err, StoreError::Corrupt { ref actual, .. } if *actual == object_address(b"edited")),
        "{err}"
    );
}

#[test]
fn reopening_keeps_data_and_does_not_rerun_migrations() {
    let (store, dir) = populated();
    drop(store);
    let again = SqliteStore::open(dir.path()).unwrap();
    assert_eq!(again.list_evidence(None).unwrap().len(), 1);
    let version: i64 = again
        .conn()
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert_eq!(version, MIGRATIONS.len() as i64);
    let mode: String = again
        .conn()
        .pragma_query_value(None, "journal_mode", |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    assert!(report(&again).is_intact());
}

#[test]
fn a_database_from_a_newer_attest_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    drop(SqliteStore::open(dir.path()).unwrap());
    let conn = Connection::open(dir.path().join(DATABASE_FILE)).unwrap();
    conn.pragma_update(None, "user_version", 99).unwrap();
    drop(conn);
    let err = SqliteStore::open(dir.path()).unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::TooNew {
                found: 99,
                supported
            } if supported == MIGRATIONS.len() as i64
        ),
        "{err}"
    );
}

/// A store written by the previous schema (version 2) keeps its evidence, history and ledger.
#[test]
fn a_version_2_store_is_migrated_with_its_ledger_intact() {
    let dir = tempfile::tempdir().unwrap();
    let key = SigningKey::from_seed(KEY_SEED);
    {
        let conn = Connection::open(dir.path().join(DATABASE_FILE)).unwrap();
        conn.execute_batch(MIGRATIONS[0]).unwrap();
        conn.execute_batch(MIGRATIONS[1]).unwrap();
        conn.pragma_update(None, "user_version", 2).unwrap();
        // Two runs of web-1: a pass, then the same pass (one interval, two observations).
        conn.execute_batch(
            "INSERT INTO runs (id, source, target, observed_at) VALUES (1, 'host', 'web-1', 100), (2, 'host', 'web-1', 200);
             INSERT INTO intervals (target, check_id, resource, status, severity, message, first_seen, last_seen, observations, last_run, open)
               VALUES ('web-1', 'ssh', 'ssh/r', 'pass', 'high', 'ok', 100, 200, 2, 2, 1);",
        )
        .unwrap();
        let mut ledger = attest_ledger::Ledger::new();
        for (time, kind, payload) in [
            (100, "result.changed", r#"{"check":"ssh","run":1}"#),
            (100, "scan.run", r#"{"run":1}"#),
            (200, "scan.run", r#"{"run":2}"#),
        ] {
            let entry = ledger
                .append(time, kind, payload.as_bytes())
                .unwrap()
                .clone();
            conn.execute(
                "INSERT INTO ledger (seq, time, kind, payload, payload_sha256, prev, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![entry.seq as i64, time, kind, payload, entry.payload_sha256.as_slice(), entry.prev.as_slice(), entry.hash().as_slice()],
            )
            .unwrap();
        }
        let checkpoint = ledger.checkpoint(&key, 200).unwrap();
        conn.execute(
            "INSERT INTO checkpoints (seq, head, time, signature) VALUES (?1, ?2, ?3, ?4)",
            params![
                3,
                checkpoint.head.as_slice(),
                200,
                checkpoint.signature.as_slice()
            ],
        )
        .unwrap();
    }
    let store = SqliteStore::open(dir.path()).unwrap().with_signing_key(key);
    let history = store.history("web-1", "ssh", "ssh/r").unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(
        (history[0].observations, history[0].last_seen.as_second()),
        (2, 200)
    );
    assert_eq!(store.current_results().unwrap().len(), 1);
    // New runs continue the history and the ledger.
    let mut next = run("web-1", 0);
    next.observed_at = Timestamp::from_second(300).unwrap();
    let outcome = store
        .record_run(
            &next,
            &[CheckResult {
                check: "ssh".into(),
                resource: "ssh/r".into(),
                status: Status::Pass,
                severity: Severity::High,
                message: "ok".into(),
            }],
        )
        .unwrap();
    assert_eq!((outcome.run_id, outcome.extended), (4, 1));
    assert_eq!(
        store.history("web-1", "ssh", "ssh/r").unwrap()[0].observations,
        3
    );
    let report = report(&store);
    assert_eq!(report.ledger.as_ref().map(|v| v.entries), Ok(4));
    assert!(
        matches!(&report.history, HistoryCheck::NotReplayed(reason) if reason.contains("older Attest")),
        "{report:?}"
    );
}

#[test]
fn concurrent_writers_from_many_threads_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    let handles: Vec<_> = (0..4)
        .map(|t| {
            let path = path.clone();
            std::thread::spawn(move || {
                // Each thread has its own connection, like separate processes.
                let store = SqliteStore::open(&path)
                    .unwrap()
                    .with_signing_key(SigningKey::from_seed(KEY_SEED));
                for i in 0..25 {
                    let status = if i % 2 == 0 {
                        Status::Pass
                    } else {
                        Status::Fail
                    };
                    store
                        .record_run(&run(&format!("host-{t}"), i), &[result("c", status)])
                        .unwrap();
                }
            })
        })
        .collect();
    for handle in handles {
        handle.join().unwrap();
    }
    let store = SqliteStore::open(&path).unwrap();
    for t in 0..4 {
        let history = store.history(&format!("host-{t}"), "c", "c/r").unwrap();
        assert_eq!(history.len(), 25, "host-{t}");
    }
    let runs: i64 = store
        .conn()
        .query_row("SELECT COUNT(*) FROM runs", [], |r| r.get(0))
        .unwrap();
    assert_eq!(runs, 100);
    assert!(report(&store).is_intact());
}

#[test]
fn an_edited_or_deleted_finding_differs_from_the_ledger() {
    let (store, _dir) = populated();
    let finding = attest_model::Finding {
        id: 0,
        title: "ssh failing".into(),
        controls: vec!["AC-05".into()],
        criteria: vec![],
        severity: Severity::High,
        source: attest_model::FindingSource::Automated,
        status: attest_model::FindingStatus::Open,
        failing_since: Timestamp::from_second(1_767_225_600).unwrap(),
        opened_at: Timestamp::from_second(1_767_225_600).unwrap(),
        due_at: Timestamp::from_second(1_767_225_600 + 86_400).unwrap(),
        fixed_at: None,
        closed_at: None,
        owner: "lead".into(),
        root_cause: None,
        corrective_action: None,
        closure_evidence: None,
        risk_reason: None,
        risk_until: None,
        resources: vec![],
        resources_omitted: 0,
    };
    let change = attest_store::FindingChange {
        event: "opened",
        by: "attest",
        note: None,
        at: Timestamp::from_second(1_767_300_000).unwrap(),
    };
    store.save_finding(&finding, &change).unwrap();
    assert!(report(&store).is_intact());
    sql(
        &store,
        "UPDATE findings SET state = replace(state, '\"status\":\"open\"', '\"status\":\"closed\"')",
    );
    let problems = report(&store).finding_problems;
    assert!(problems[0].contains("the row was edited"), "{problems:?}");
    sql(&store, "DELETE FROM finding_events; DELETE FROM findings");
    let problems = report(&store).finding_problems;
    assert!(problems[0].contains("the row was deleted"), "{problems:?}");
}

/// Agent reports keep their hosts' fold state between writes; a run recorded meanwhile by
/// another writer (another process on the same store) makes that state stale, and the next
/// report must fold over what the store holds, not over the cache.
#[test]
fn reports_fold_over_runs_another_writer_recorded_since() {
    let dir = tempfile::tempdir().unwrap();
    let open = || {
        SqliteStore::open(dir.path())
            .unwrap()
            .with_signing_key(SigningKey::from_seed(KEY_SEED))
    };
    let (server, other) = (open(), open());
    let report = |store: &SqliteStore, id: &str, seconds: i64, status: Status| {
        let run = run("web-1", seconds);
        let results = [result("ssh", status)];
        let outcome = store
            .record_reports(
                run.observed_at,
                &[ReportRun {
                    report_id: id,
                    run: RunResults {
                        run: &run,
                        results: &results,
                    },
                }],
            )
            .unwrap();
        assert!(matches!(outcome[..], [ReportOutcome::Recorded(_)]));
    };
    report(&server, "report-1", 0, Status::Pass);
    report(&other, "report-2", 60, Status::Fail);
    report(&server, "report-3", 120, Status::Fail);
    report(&server, "report-4", 180, Status::Pass);
    let history = server.history("web-1", "ssh", "ssh/r").unwrap();
    let statuses: Vec<Status> = history.iter().map(|i| i.status).collect();
    assert_eq!(statuses, [Status::Pass, Status::Fail, Status::Pass]);
    let report = verify_store(&server, &public()).unwrap();
    assert!(report.is_intact(), "{report:?}");
}

/// Commits reach the database file while the store is open, well before the writer's own
/// checkpoint would copy them: the background checkpoint does.
#[test]
fn the_write_ahead_log_is_copied_into_the_database_in_the_background() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    let file = dir.path().join(DATABASE_FILE);
    let wal = dir.path().join(format!("{DATABASE_FILE}-wal"));
    let before = std::fs::metadata(&file).unwrap().len();
    let results: Vec<CheckResult> = (0..200)
        .map(|i| result(&format!("check.{i:03}"), Status::Pass))
        .collect();
    for host in 0..20 {
        store
            .record_run(&run(&format!("host-{host:02}"), 0), &results)
            .unwrap();
    }
    let logged = std::fs::metadata(&wal).unwrap().len();
    let logged_pages = i64::try_from(logged / 4096).unwrap();
    assert!(
        logged_pages < checkpoint::WRITER_CHECKPOINT_PAGES,
        "the writer's own checkpoint would have run ({logged_pages} pages logged)"
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::fs::metadata(&file).unwrap().len() <= before {
        assert!(
            std::time::Instant::now() < deadline,
            "nothing reached the database file within 10 s ({logged} bytes logged)"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    // Reads see everything, from any reader.
    assert_eq!(store.targets().unwrap().len(), 20);
}
