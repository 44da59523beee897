//! Append throughput into PostgreSQL: `cargo bench -p attest-store-postgres --bench append`.
//!
//! The database is `ATTEST_TEST_POSTGRES` (default `postgres://postgres@127.0.0.1:5432/test`);
//! the benchmark works in a schema of its own and drops it at the end.
//!
//! 100 hosts, 100 results each, hourly runs in which about 1% of results change status
//! (the SQLite benchmark's workload). Runs are recorded through `Store::record_run` (one
//! transaction each, a signed checkpoint at the end), through `Store::record_runs` in batches
//! of 100 runs, through `Store::record_reports` in batches of 100 (how a server takes agents'
//! reports: each also checked against the runs already recorded), and in batches of 100
//! alternating between two stores on the same database (two app servers: each batch finds the
//! other server's writes and reads its targets' state again). Prints runs and result
//! observations per second, median of 3. Not a test: timings never decide pass or fail.

#![allow(
    clippy::print_stdout,
    clippy::unwrap_used,
    clippy::panic,
    clippy::cast_precision_loss,
    clippy::cast_possible_wrap,
    reason = "a benchmark prints its figures and stops at the first failure"
)]

use std::time::Instant;

use attest_ledger::SigningKey;
use attest_model::{CheckResult, RunRecord, Severity, Status};
use attest_store::{ReportRun, RunResults, Store};
use attest_store_postgres::PostgresStore;
use jiff::{SignedDuration, Timestamp};

const HOSTS: u64 = 100;
const RESULTS: u64 = 100;
const HOURS: u64 = 20;

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

/// A schema of its own, dropped at the end.
struct Schema {
    server: String,
    name: String,
}

impl Schema {
    fn new(server: &str, n: usize) -> Self {
        let name = format!("bench_{}_{n}", std::process::id());
        let mut admin = postgres::Client::connect(server, postgres::NoTls)
            .unwrap_or_else(|e| panic!("the benchmark needs PostgreSQL at {server}: {e}"));
        admin
            .batch_execute(&format!(
                "DROP SCHEMA IF EXISTS {name} CASCADE; CREATE SCHEMA {name}"
            ))
            .unwrap();
        Schema {
            server: server.to_owned(),
            name,
        }
    }

    fn store(&self) -> PostgresStore {
        let separator = if self.server.contains('?') { '&' } else { '?' };
        PostgresStore::connect(&format!(
            "{}{separator}options=-csearch_path%3D{}",
            self.server, self.name
        ))
        .unwrap()
        .with_signing_key(SigningKey::from_seed([3; 32]))
    }
}

impl Drop for Schema {
    fn drop(&mut self) {
        if let Ok(mut admin) = postgres::Client::connect(&self.server, postgres::NoTls) {
            let _ = admin.batch_execute(&format!("DROP SCHEMA {} CASCADE", self.name));
        }
    }
}

fn median(mut rates: Vec<f64>) -> f64 {
    rates.sort_by(f64::total_cmp);
    rates[rates.len() / 2]
}

fn batches(prepared: &[Vec<(RunRecord, Vec<CheckResult>)>], stores: &[PostgresStore]) -> f64 {
    let started = Instant::now();
    for (i, hour) in prepared.iter().enumerate() {
        let batch: Vec<RunResults<'_>> = hour
            .iter()
            .map(|(run, results)| RunResults { run, results })
            .collect();
        stores[i % stores.len()]
            .record_runs(batch[0].run.observed_at, &batch)
            .unwrap();
    }
    (HOURS * HOSTS) as f64 / started.elapsed().as_secs_f64()
}

fn reports(prepared: &[Vec<(RunRecord, Vec<CheckResult>)>], store: &PostgresStore) -> f64 {
    let ids: Vec<Vec<String>> = prepared
        .iter()
        .enumerate()
        .map(|(hour, runs)| (0..runs.len()).map(|h| format!("{hour}-{h}")).collect())
        .collect();
    let started = Instant::now();
    for (hour, ids) in prepared.iter().zip(&ids) {
        let batch: Vec<ReportRun<'_>> = hour
            .iter()
            .zip(ids)
            .map(|((run, results), id)| ReportRun {
                report_id: id,
                run: RunResults { run, results },
            })
            .collect();
        store
            .record_reports(batch[0].run.run.observed_at, &batch)
            .unwrap();
    }
    (HOURS * HOSTS) as f64 / started.elapsed().as_secs_f64()
}

fn main() {
    let server = std::env::var("ATTEST_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
    let prepared: Vec<Vec<(RunRecord, Vec<CheckResult>)>> = (0..HOURS)
        .map(|hour| {
            (0..HOSTS)
                .map(|h| (run(h, hour), results(h, hour)))
                .collect()
        })
        .collect();
    let runs = (HOURS * HOSTS) as f64;

    let (mut single, mut batched, mut reported, mut two) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for round in 0..3 {
        let schema = Schema::new(&server, round * 4);
        let store = schema.store();
        let started = Instant::now();
        for hour in &prepared {
            for (record, results) in hour {
                store.record_run(record, results).unwrap();
            }
        }
        single.push(runs / started.elapsed().as_secs_f64());
        drop((store, schema));

        let schema = Schema::new(&server, round * 4 + 1);
        batched.push(batches(&prepared, &[schema.store()]));
        drop(schema);

        let schema = Schema::new(&server, round * 4 + 2);
        reported.push(reports(&prepared, &schema.store()));
        drop(schema);

        let schema = Schema::new(&server, round * 4 + 3);
        two.push(batches(&prepared, &[schema.store(), schema.store()]));
    }
    let line = |label: &str, rates: Vec<f64>| {
        let runs = median(rates);
        println!(
            "  {label}: median {runs:.0} runs/s, {:.0} results/s",
            runs * RESULTS as f64
        );
    };
    println!(
        "append: {} runs x {RESULTS} results, {HOSTS} hosts, hourly, ~1% of results change per run",
        HOURS * HOSTS
    );
    line("one run per transaction", single);
    line("100 runs per transaction", batched);
    line("100 agent reports per transaction", reported);
    line("100 runs per transaction, two servers in turn", two);
}
