//! Ledger verification throughput: `cargo bench -p attest-ledger`.
//!
//! Builds a ledger of 1,000,000 entries with a checkpoint every 1,000 and reports entries
//! verified per second (median of 5 runs). Not a test: timings never decide pass or fail.

#![allow(
    clippy::print_stdout,
    clippy::unwrap_used,
    reason = "a benchmark prints its figures"
)]

use std::time::Instant;

use attest_ledger::{Ledger, SigningKey, verify};

fn main() {
    let n = 1_000_000_i64;
    let key = SigningKey::from_seed([5; 32]);
    let mut ledger = Ledger::new();
    let mut checkpoints = Vec::new();
    let started = Instant::now();
    for i in 1..=n {
        let payload = format!(
            "{{\"check\":\"host.ssh.root_login_disabled\",\"resource\":\"web-{}\",\"status\":\"pass\"}}",
            i % 1000
        );
        ledger
            .append(1_767_225_600 + i, "result.changed", payload.as_bytes())
            .unwrap();
        if i % 1000 == 0 {
            checkpoints.push(ledger.checkpoint(&key, 1_767_225_600 + i).unwrap());
        }
    }
    let build = started.elapsed();
    let mut rates = Vec::new();
    for _ in 0..5 {
        let started = Instant::now();
        let verified = verify(ledger.entries(), &checkpoints, &key.public()).unwrap();
        let secs = started.elapsed().as_secs_f64();
        assert_eq!(verified.entries, 1_000_000);
        rates.push(1_000_000.0 / secs);
    }
    rates.sort_by(f64::total_cmp);
    println!(
        "ledger: appended 1,000,000 entries with 1,000 checkpoints in {:.2} s; verify median {:.0} entries/s (min {:.0}, max {:.0})",
        build.as_secs_f64(),
        rates[2],
        rates[0],
        rates[4]
    );
}
