//! Tests against a real PostgreSQL: `ATTEST_TEST_POSTGRES` (default
//! `postgres://postgres@127.0.0.1:5432/test`). Each test works in a schema of its own,
//! dropped at the end.

#![allow(
    clippy::cast_possible_wrap,
    clippy::cast_sign_loss,
    clippy::cast_possible_truncation,
    reason = "test arithmetic on small known values"
)]

use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use attest_ledger::Broken;
use attest_model::{CheckResult, RunRecord, Severity, Status};
use attest_store::conformance::KEY_SEED;
use attest_store::verify::{HistoryCheck, verify_store};
use jiff::SignedDuration;
use proptest::prelude::*;

use super::*;

use crate::testing::Schema;

fn fresh() -> (Box<dyn Store>, Schema) {
    let schema = Schema::new();
    (Box::new(schema.store()), schema)
}

attest_store::store_conformance_tests!(fresh());

fn fresh_postgres() -> (Box<PostgresStore>, Schema) {
    let schema = Schema::new();
    (Box::new(schema.store()), schema)
}

mod accounts {
    use super::*;
    attest_store::account_conformance_tests!(fresh_postgres());
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
fn populated() -> (PostgresStore, Schema) {
    let schema = Schema::new();
    let store = schema.store();
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
    (store, schema)
}

/// Runs `statement` on one of the store's connections, outside the store.
fn sql(store: &PostgresStore, statement: &str) {
    store
        .pool
        .get()
        .unwrap()
        .client()
        .batch_execute(statement)
        .unwrap();
}

fn scalar(store: &PostgresStore, query: &str) -> i64 {
    store
        .pool
        .get()
        .unwrap()
        .client()
        .query_one(query, &[])
        .unwrap()
        .get(0)
}

fn report(store: &PostgresStore) -> attest_store::verify::StoreReport {
    verify_store(store, &public()).unwrap()
}

#[test]
fn an_untouched_store_verifies_and_replays() {
    let (store, _schema) = populated();
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

/// The same calls give the same ledger, entry for entry, as the SQLite store's conformance
/// cases pin down; here against a hand-computed chain.
#[test]
fn the_ledger_chain_is_the_documented_one() {
    let (store, _schema) = populated();
    let records = attest_store::ledger_records(&store, 1, attest_ledger::GENESIS).unwrap();
    let mut ledger = attest_ledger::Ledger::new();
    for record in &records {
        let entry = ledger
            .append(
                record.entry.time,
                &record.entry.kind,
                record.payload.as_bytes(),
            )
            .unwrap();
        assert_eq!(*entry, record.entry);
    }
    assert_eq!(
        records[1].payload,
        r#"{"changed":2,"gone":0,"max_gap":7200,"observed_at":1767225600,"results":2,"run":2,"source":"host","target":"web-1","unchanged":0}"#
    );
    let head = scalar(&store, "SELECT seq FROM ledger_head");
    assert_eq!(head as usize, records.len());
}

#[test]
fn an_edited_ledger_row_is_named_precisely() {
    let (store, _schema) = populated();
    sql(&store, "UPDATE ledger SET kind_id = 2 WHERE seq = 1");
    assert_eq!(report(&store).ledger, Err(Broken::Head { seq: 1 }));
    let (store, _schema) = populated();
    // Entry 3 is the first result of the first run; the run's checkpoint is at entry 4.
    sql(&store, "UPDATE ledger SET time = time + 1 WHERE seq = 3");
    assert_eq!(report(&store).ledger, Err(Broken::Altered { seq: 3 }));
}

#[test]
fn a_deleted_or_reordered_ledger_row_is_found() {
    let (store, _schema) = populated();
    sql(&store, "DELETE FROM ledger WHERE seq = 7");
    assert_eq!(
        report(&store).ledger,
        Err(Broken::Sequence {
            expected: 7,
            found: 8
        })
    );
    let (store, _schema) = populated();
    sql(
        &store,
        "UPDATE ledger SET seq = -1 WHERE seq = 5; UPDATE ledger SET seq = 5 WHERE seq = 6; UPDATE ledger SET seq = 6 WHERE seq = -1;",
    );
    let broken = report(&store).ledger.unwrap_err();
    assert!(matches!(broken.seq(), 5 | 6), "{broken}");
}

#[test]
fn an_edited_run_row_breaks_its_rendered_entry() {
    let (store, _schema) = populated();
    let seq = scalar(&store, "SELECT id FROM runs ORDER BY id LIMIT 1 OFFSET 3");
    sql(
        &store,
        &format!("UPDATE runs SET results = 99 WHERE id = {seq}"),
    );
    let broken = report(&store).ledger.unwrap_err();
    assert_eq!(broken.seq(), seq as u64, "{broken}");
    let (store, _schema) = populated();
    sql(&store, &format!("DELETE FROM runs WHERE id = {seq}"));
    assert_eq!(report(&store).ledger.unwrap_err().seq(), seq as u64);
}

#[test]
fn a_truncated_ledger_or_another_key_is_found() {
    let (store, _schema) = populated();
    sql(
        &store,
        "DELETE FROM ledger WHERE seq > (SELECT MAX(seq) - 2 FROM ledger)",
    );
    assert!(matches!(report(&store).ledger, Err(Broken::Missing { .. })));
    let (store, _schema) = populated();
    let other = SigningKey::from_seed([1; 32]).public();
    assert!(matches!(
        verify_store(&store, &other).unwrap().ledger,
        Err(Broken::Signature { seq: 1 })
    ));
}

#[test]
fn edited_history_differs_from_the_ledger() {
    // A failure rewritten as a pass.
    let (store, _schema) = populated();
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
    let (store, _schema) = populated();
    sql(
        &store,
        "DELETE FROM intervals WHERE first_seen = 1767225600 + 15 * 3600 AND series_id IN (SELECT id FROM series WHERE check_id = 'aslr');
         UPDATE intervals SET last_seen = NULL, observations = NULL, last_run = NULL
           WHERE series_id IN (SELECT id FROM series WHERE check_id = 'aslr');",
    );
    assert!(matches!(
        super::tests::report(&store).history,
        HistoryCheck::Differs { .. }
    ));
    // An interval deleted outright.
    let (store, _schema) = populated();
    sql(
        &store,
        "DELETE FROM intervals WHERE id = (SELECT MIN(id) FROM intervals)",
    );
    assert!(matches!(
        super::tests::report(&store).history,
        HistoryCheck::Differs { count: 1, .. }
    ));
}

#[test]
fn edited_inserted_or_deleted_evidence_is_found() {
    let (store, _schema) = populated();
    sql(&store, "UPDATE evidence SET effective_date = '2026-06-30'");
    let problems = report(&store).evidence_problems;
    assert!(
        problems[0].contains("the record was edited"),
        "{problems:?}"
    );
    let (store, _schema) = populated();
    sql(&store, "DELETE FROM evidence");
    assert!(report(&store).evidence_problems[0].contains("the record was deleted"));
    let (store, _schema) = populated();
    sql(
        &store,
        "INSERT INTO evidence (id, control_id, file_name, sha256, size, note, effective_date, added_at, added_by)
         SELECT id + 1, control_id, 'forged.pdf', sha256, size, note, effective_date, added_at, added_by FROM evidence",
    );
    assert!(report(&store).evidence_problems[0].contains("the record was inserted"));
    let (store, _schema) = populated();
    sql(&store, "UPDATE objects SET content = 'edited'");
    assert!(report(&store).evidence_problems[0].contains("corrupt"));
}

#[test]
fn a_tampered_or_missing_object_is_reported() {
    let schema = Schema::new();
    let store = schema.store();
    let address = store.put_object(b"original").unwrap();
    sql(&store, "UPDATE objects SET content = 'edited'");
    let err = store.read_object(&address).unwrap_err();
    assert!(
        matches!(err, StoreError::Corrupt { ref actual, .. } if *actual == object_address(b"edited")),
        "{err}"
    );
    sql(&store, "DELETE FROM objects");
    assert!(matches!(
        store.read_object(&address),
        Err(StoreError::MissingObject(_))
    ));
    // Objects of every size, binary included, live in the database.
    let large: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    let address = store.put_object(&large).unwrap();
    assert_eq!(store.read_object(&address).unwrap(), large);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    /// Any single edit of a ledger, run, interval or evidence row is found.
    #[test]
    fn random_row_tampering_is_always_found(table in 0usize..4, pick in 0u32..1000, how in 0usize..3) {
        let (store, _schema) = populated();
        let (name, column) = [("ledger", "time"), ("runs", "observed_at"), ("intervals", "first_seen"), ("evidence", "size")][table];
        let key = if name == "ledger" { "seq" } else { "id" };
        let rows = scalar(&store, &format!("SELECT COUNT(*) FROM {name}"));
        let offset = i64::from(pick) % rows;
        let id = scalar(&store, &format!("SELECT {key} FROM {name} ORDER BY {key} LIMIT 1 OFFSET {offset}"));
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
fn reconnecting_keeps_data_and_does_not_rerun_migrations() {
    let (store, schema) = populated();
    drop(store);
    let again = PostgresStore::connect(&schema.url()).unwrap();
    assert_eq!(again.list_evidence(None).unwrap().len(), 1);
    assert_eq!(
        scalar(&again, "SELECT COUNT(*) FROM schema_migrations"),
        MIGRATIONS.len() as i64
    );
    assert_eq!(
        scalar(&again, "SELECT MAX(version) FROM schema_migrations"),
        MIGRATIONS.len() as i64
    );
    assert!(report(&again).is_intact());
}

#[test]
fn a_database_from_a_newer_attest_is_refused() {
    let schema = Schema::new();
    let store = schema.store();
    sql(
        &store,
        "INSERT INTO schema_migrations (version) VALUES (99)",
    );
    drop(store);
    let err = PostgresStore::connect(&schema.url()).unwrap_err();
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

#[test]
fn servers_starting_together_migrate_once() {
    let schema = Schema::new();
    let url = schema.url();
    let start = Arc::new(Barrier::new(4));
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let (url, start) = (url.clone(), Arc::clone(&start));
            std::thread::spawn(move || {
                start.wait();
                PostgresStore::connect(&url).map(|_| ())
            })
        })
        .collect();
    for handle in handles {
        handle.join().unwrap().unwrap();
    }
    let store = schema.store();
    assert_eq!(
        scalar(&store, "SELECT COUNT(*) FROM schema_migrations"),
        MIGRATIONS.len() as i64
    );
    assert_eq!(scalar(&store, "SELECT COUNT(*) FROM ledger_head"), 1);
}

#[test]
fn an_unreachable_server_is_a_clear_error() {
    let err = PostgresStore::connect("postgres://postgres@127.0.0.1:1/test?connect_timeout=5")
        .unwrap_err();
    assert!(
        err.to_string().contains("cannot connect to PostgreSQL")
            && err.to_string().contains("refused"),
        "{err}"
    );
    let err = PostgresStore::connect("postgres://[::1").unwrap_err();
    assert!(err.to_string().contains("invalid PostgreSQL URL"), "{err}");
}

/// Two app servers (two stores, each with its own pool and cache) write to one database from
/// several threads at once: every write lands, the ledger is one chain, and the history
/// replays. Both also record runs of the same target, so each one's cached state goes stale.
#[test]
fn two_servers_writing_at_once_keep_one_chain() {
    let schema = Schema::new();
    let servers = [Arc::new(schema.store()), Arc::new(schema.store())];
    let start = Arc::new(Barrier::new(4));
    let handles: Vec<_> = (0..4)
        .map(|t| {
            let store = Arc::clone(&servers[t % 2]);
            let start = Arc::clone(&start);
            std::thread::spawn(move || {
                start.wait();
                for i in 0..30 {
                    let status = if i % 3 == 0 {
                        Status::Fail
                    } else {
                        Status::Pass
                    };
                    store
                        .record_run(
                            &run(&format!("host-{t}"), i * 60),
                            &[result("c", status), result("d", Status::Pass)],
                        )
                        .unwrap();
                    if i % 10 == 0 {
                        store
                            .append_event(
                                Timestamp::from_second(1_767_225_600 + i).unwrap(),
                                "config.changed",
                                &serde_json::json!({"thread": t, "i": i}),
                            )
                            .unwrap();
                    }
                }
            })
        })
        .collect();
    for handle in handles {
        handle.join().unwrap();
    }
    // One target written by both servers in turn.
    for i in 0..6 {
        let status = if i % 2 == 0 {
            Status::Pass
        } else {
            Status::Fail
        };
        servers[i % 2]
            .record_run(&run("shared", i as i64 * 60), &[result("c", status)])
            .unwrap();
    }
    let store = &servers[0];
    for t in 0..4 {
        let history = store.history(&format!("host-{t}"), "c", "c/r").unwrap();
        assert_eq!(history.len(), 20, "host-{t}: {history:?}");
        let steady = store.history(&format!("host-{t}"), "d", "d/r").unwrap();
        assert_eq!(steady.len(), 1);
        assert_eq!(steady[0].observations, 30);
    }
    assert_eq!(store.history("shared", "c", "c/r").unwrap().len(), 6);
    assert_eq!(scalar(store, "SELECT COUNT(*) FROM runs"), 126);
    let entries = scalar(store, "SELECT COUNT(*) FROM ledger");
    assert_eq!(entries, scalar(store, "SELECT MAX(seq) FROM ledger"));
    let report = report(store);
    assert!(report.is_intact(), "{report:?}");
    assert!(
        matches!(report.history, HistoryCheck::Matches { runs: 126, .. }),
        "{report:?}"
    );
    assert_eq!(report.ledger.unwrap().entries, entries as u64);
}

/// A write that fails leaves the store's cache consistent: the next write reads the
/// target again and continues the committed history.
#[test]
fn a_refused_batch_does_not_leave_its_state_behind() {
    let schema = Schema::new();
    let store = schema.store();
    store
        .record_run(&run("web-1", 0), &[result("c", Status::Pass)])
        .unwrap();
    let later = run("web-1", 3600);
    let earlier = run("db-1", 0);
    let too_early = run("db-1", -60);
    let fail = [result("c", Status::Fail)];
    // web-1 changes in the batch, then the batch is refused.
    assert!(
        store
            .record_runs(
                Timestamp::from_second(1_767_300_000).unwrap(),
                &[
                    RunResults {
                        run: &later,
                        results: &fail
                    },
                    RunResults {
                        run: &earlier,
                        results: &fail
                    },
                    RunResults {
                        run: &too_early,
                        results: &fail
                    },
                ],
            )
            .is_err()
    );
    let outcome = store
        .record_run(&run("web-1", 3600), &[result("c", Status::Pass)])
        .unwrap();
    assert_eq!((outcome.opened, outcome.extended), (0, 1));
    assert_eq!(
        store.history("web-1", "c", "c/r").unwrap()[0].observations,
        2
    );
    assert!(store.history("db-1", "c", "c/r").unwrap().is_empty());
    assert!(report(&store).is_intact());
}

/// Readers are not held up by a writer: while a transaction holds the ledger head lock,
/// reads answer, and a write waits for the lock and then lands.
#[test]
fn reads_do_not_wait_for_a_writer() {
    let schema = Schema::new();
    let store = Arc::new(schema.store().with_pool_size(3));
    store
        .record_run(&run("web-1", 0), &[result("c", Status::Pass)])
        .unwrap();
    let mut holder = postgres::Client::connect(&schema.url(), postgres::NoTls).unwrap();
    let mut lock = holder.transaction().unwrap();
    lock.execute("SELECT 1 FROM ledger_head FOR UPDATE", &[])
        .unwrap();
    let writer = {
        let store = Arc::clone(&store);
        std::thread::spawn(move || {
            store
                .record_run(&run("web-1", 60), &[result("c", Status::Pass)])
                .unwrap()
        })
    };
    let started = Instant::now();
    assert_eq!(store.current_results().unwrap().len(), 1);
    assert_eq!(store.targets().unwrap()[0].runs, 1, "the write is waiting");
    assert!(report(&store).is_intact());
    assert!(started.elapsed() < Duration::from_secs(5));
    std::thread::sleep(Duration::from_millis(200));
    assert!(!writer.is_finished(), "the writer waits for the lock");
    lock.rollback().unwrap();
    let outcome = writer.join().unwrap();
    assert_eq!(outcome.extended, 1);
    assert_eq!(store.targets().unwrap()[0].runs, 2);
}

/// More threads than connections: callers wait for a connection instead of failing.
#[test]
fn a_small_pool_serves_many_threads() {
    let schema = Schema::new();
    let store = Arc::new(schema.store().with_pool_size(2));
    store
        .record_run(&run("web-1", 0), &[result("c", Status::Pass)])
        .unwrap();
    let handles: Vec<_> = (0..6)
        .map(|i| {
            let store = Arc::clone(&store);
            std::thread::spawn(move || {
                for j in 0..10 {
                    if i == 0 {
                        store
                            .record_run(&run("web-1", (j + 1) * 60), &[result("c", Status::Pass)])
                            .unwrap();
                    } else {
                        assert_eq!(store.current_results().unwrap().len(), 1);
                    }
                }
            })
        })
        .collect();
    for handle in handles {
        handle.join().unwrap();
    }
    assert_eq!(store.targets().unwrap()[0].runs, 11);
    let open = store.pool.open_connections();
    assert!(open <= 2, "{open} connections");
}

#[test]
fn an_edited_or_deleted_finding_differs_from_the_ledger() {
    let (store, _schema) = populated();
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

/// The same agent report delivered to two servers at once is recorded once; the same user
/// added on two servers at once exists once.
#[test]
fn two_servers_take_a_report_or_a_name_once() {
    use attest_store::accounts::{AccountStore, Actor, NewUser};
    use attest_store::{ReportOutcome, ReportRun};
    let schema = Schema::new();
    let servers = [Arc::new(schema.store()), Arc::new(schema.store())];
    let start = Arc::new(Barrier::new(2));
    let handles: Vec<_> = servers
        .iter()
        .map(|store| {
            let (store, start) = (Arc::clone(store), Arc::clone(&start));
            std::thread::spawn(move || {
                let record = run("web-1", 0);
                let results = [result("c", Status::Pass)];
                start.wait();
                let outcome = store
                    .record_reports(
                        Timestamp::from_second(1_767_225_700).unwrap(),
                        &[ReportRun {
                            report_id: "report-0001",
                            run: RunResults {
                                run: &record,
                                results: &results,
                            },
                        }],
                    )
                    .unwrap()[0];
                let added = store.add_user(
                    &NewUser {
                        name: "alice",
                        role: attest_model::Role::Admin,
                        password_hash: "$argon2id$x",
                    },
                    Actor {
                        by: "attest",
                        at: Timestamp::from_second(1_767_225_800).unwrap(),
                    },
                );
                (outcome, added.is_ok())
            })
        })
        .collect();
    let outcomes: Vec<(ReportOutcome, bool)> =
        handles.into_iter().map(|h| h.join().unwrap()).collect();
    let recorded = outcomes
        .iter()
        .filter(|(o, _)| matches!(o, ReportOutcome::Recorded(_)))
        .count();
    assert_eq!(recorded, 1, "{outcomes:?}");
    assert_eq!(outcomes[0].0.run_id(), outcomes[1].0.run_id());
    assert_eq!(outcomes.iter().filter(|(_, added)| *added).count(), 1);
    let store = &servers[0];
    assert_eq!(store.targets().unwrap()[0].runs, 1);
    assert_eq!(store.users().unwrap().len(), 1);
    assert!(report(store).is_intact());
}

/// A writer gives up when another holds the ledger head too long, and writes again once
/// it is free.
#[test]
fn a_writer_waits_for_the_ledger_head_only_so_long() {
    let schema = Schema::new();
    let store = schema.store().with_lock_timeout(Duration::from_millis(300));
    store
        .record_run(&run("web-1", 0), &[result("c", Status::Pass)])
        .unwrap();
    let mut holder = postgres::Client::connect(&schema.url(), postgres::NoTls).unwrap();
    let mut lock = holder.transaction().unwrap();
    lock.execute("SELECT 1 FROM ledger_head FOR UPDATE", &[])
        .unwrap();
    let started = Instant::now();
    let err = store
        .record_run(&run("web-1", 60), &[result("c", Status::Fail)])
        .unwrap_err();
    assert!(
        err.to_string().contains("lock timeout") && err.to_string().contains("55P03"),
        "{err}"
    );
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(
        store
            .append_event(
                Timestamp::from_second(1_767_225_700).unwrap(),
                "config.changed",
                &serde_json::json!({})
            )
            .is_err()
    );
    lock.rollback().unwrap();
    let outcome = store
        .record_run(&run("web-1", 60), &[result("c", Status::Fail)])
        .unwrap();
    assert_eq!(outcome.opened, 1);
    assert!(report(&store).is_intact());
}

/// The ledger is read from any entry and the reader may stop early; the connection serves
/// the next reads as before.
#[test]
fn the_ledger_is_read_from_any_entry_and_reading_stops_when_asked() {
    let schema = Schema::new();
    let store = schema.store().with_pool_size(1);
    for hour in 0..5 {
        store
            .record_run(&run("web-1", hour * 3600), &[result("c", Status::Pass)])
            .unwrap();
    }
    let mut seen = Vec::new();
    store
        .visit_ledger(3, &mut |entry| {
            seen.push((entry.seq, entry.kind.to_owned()));
            if seen.len() == 3 {
                std::ops::ControlFlow::Break(())
            } else {
                std::ops::ControlFlow::Continue(())
            }
        })
        .unwrap();
    assert_eq!(
        seen,
        [
            (3, "scan.run".to_owned()),
            (4, "scan.run".to_owned()),
            (5, "scan.run".to_owned())
        ]
    );
    let all = attest_store::ledger_records(&store, 1, attest_ledger::GENESIS).unwrap();
    assert_eq!(all.len(), 6);
    assert!(report(&store).is_intact());
}
