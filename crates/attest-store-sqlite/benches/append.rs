//! Append throughput into SQLite: `cargo bench -p attest-store-sqlite --bench append`.
//!
//! 100 hosts, 100 results each, hourly runs in which about 1% of results change status. Each
//! run is recorded through `Store::record_run` (one durable transaction, `synchronous = FULL`,
//! a signed checkpoint at the end) and, separately, through `Store::record_runs` in batches of
//! 100 runs (how a server takes agents' reports). Prints result observations per second,
//! median of 3. Not a test: timings never decide pass or fail.

#![allow(
    clippy::print_stdout,
    clippy::unwrap_used,
    clippy::cast_precision_loss,
    clippy::cast_possible_wrap,
    reason = "a benchmark prints its figures"
)]

use std::time::Instant;

use attest_ledger::SigningKey;
use attest_model::{CheckResult, RunRecord, Severity, Status};
use attest_store::{RunResults, Store};
use attest_store_sqlite::SqliteStore;
use jiff::{SignedDuration, Timestamp};

const HOSTS: u64 = 100;
const RESULTS: u64 = 100;

fn results(host: u64, hour: u64) -> Vec<CheckResult> {
    (0..RESULTS)
        .map(|i| {
            // About one result in a hundred flips each hour.
            let flips = (host * 31 + i * 17 + hour * 7).is_multiple_of(100);
            let fail = (hour / 3 + i).is_multiple_of(2) && flips;
            CheckResult {
                check: format!("host.check.{i:03}"),
                resource: format!("host-{host:03}/r{i}"),
                status: if fail { Status::Fail } else { Status::Pass },
                severity: Severity::Medium,
                message: String::new(),
            }
        })
        .collect()
}

fn run(host: u64, hour: u64) -> RunRecord {
    RunRecord {
        source: "host".into(),
        target: format!("host-{host:03}"),
        observed_at: Timestamp::from_second(1_767_225_600 + (hour * 3600 + host) as i64).unwrap(),
        max_gap: SignedDuration::from_mins(90),
    }
}

fn fresh_store() -> (SqliteStore, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path())
        .unwrap()
        .with_signing_key(SigningKey::from_seed([3; 32]));
    (store, dir)
}

fn median(mut rates: Vec<f64>) -> f64 {
    rates.sort_by(f64::total_cmp);
    rates[rates.len() / 2]
}

fn main() {
    let hours = 20;
    let prepared: Vec<Vec<(RunRecord, Vec<CheckResult>)>> = (0..hours)
        .map(|hour| {
            (0..HOSTS)
                .map(|h| (run(h, hour), results(h, hour)))
                .collect()
        })
        .collect();
    let observations = (hours * HOSTS * RESULTS) as f64;

    let mut single = Vec::new();
    let mut batched = Vec::new();
    for _ in 0..3 {
        let (store, _dir) = fresh_store();
        let started = Instant::now();
        for hour in &prepared {
            for (record, results) in hour {
                store.record_run(record, results).unwrap();
            }
        }
        single.push(observations / started.elapsed().as_secs_f64());

        let (store, _dir) = fresh_store();
        let started = Instant::now();
        for hour in &prepared {
            let batch: Vec<RunResults<'_>> = hour
                .iter()
                .map(|(run, results)| RunResults { run, results })
                .collect();
            store.record_runs(batch[0].run.observed_at, &batch).unwrap();
        }
        batched.push(observations / started.elapsed().as_secs_f64());
    }
    println!(
        "append: {} runs x {RESULTS} results; one run per transaction: median {:.0} observations/s ({:.0} runs/s); 100 runs per transaction: median {:.0} observations/s",
        hours * HOSTS,
        median(single.clone()),
        median(single) / RESULTS as f64,
        median(batched)
    );
}
