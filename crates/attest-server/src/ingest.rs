//! Writing agent reports: one writer thread, group commit, acknowledgement after commit.
//!
//! Requests hand their validated report to a bounded queue and wait. The writer takes every
//! report waiting (up to the batch size) — when that is fewer than [`GATHER_UNTIL`], also
//! what arrives within [`GATHER`] of the first, until there are that many — and records
//! them with one
//! [`Store::record_reports`](attest_store::Store::record_reports) call — one transaction, one
//! checkpoint — then answers each request. While it commits, new reports queue up, so the
//! batch grows with the load and the cost of a commit is shared. If a batch fails (one report
//! out of order, say), its reports are written one by one so each gets its own answer. A full
//! queue answers 503 at once rather than letting latency grow without bound.
//!
//! The short wait for company matters at moderate load: without it each commit would carry
//! one or two reports, and a commit's fixed cost (a log sync, the ledger checkpoint, pages
//! every write touches) would be paid per report, leaving the writer little headroom.

use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use attest_model::{CheckResult, RunRecord};
use attest_store::{ReportOutcome, ReportRun, RunResults, StoreError};
use jiff::Timestamp;
use tokio::sync::oneshot;

use crate::Backend;

/// How long the writer waits after a report arrives for others to commit with it.
const GATHER: Duration = Duration::from_millis(4);

/// A batch this large is committed without waiting for more.
const GATHER_UNTIL: usize = 16;

/// One report waiting to be written.
pub(crate) struct Job {
    pub(crate) report_id: String,
    pub(crate) run: RunRecord,
    pub(crate) results: Vec<CheckResult>,
    pub(crate) reply: oneshot::Sender<Result<ReportOutcome, StoreError>>,
    /// When it was queued.
    pub(crate) queued: Instant,
}

/// Why a report was not queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum QueueError {
    /// The queue is full.
    Full,
    /// The writer has stopped.
    Stopped,
}

/// The queue in front of the writer thread.
pub(crate) struct Ingest {
    sender: Option<SyncSender<Job>>,
    writer: Option<JoinHandle<()>>,
}

impl Ingest {
    /// Starts the writer thread.
    pub(crate) fn start(
        backend: Arc<dyn Backend>,
        queue: usize,
        batch: usize,
    ) -> std::io::Result<Self> {
        let (sender, receiver) = sync_channel(queue.max(1));
        let writer = std::thread::Builder::new()
            .name("attest-ingest".into())
            .spawn(move || write_loop(&*backend, &receiver, batch.max(1)))?;
        Ok(Ingest {
            sender: Some(sender),
            writer: Some(writer),
        })
    }

    /// Queues a report; the job's reply says what became of it.
    pub(crate) fn submit(&self, job: Job) -> Result<(), QueueError> {
        let Some(sender) = &self.sender else {
            return Err(QueueError::Stopped);
        };
        sender.try_send(job).map_err(|e| match e {
            TrySendError::Full(_) => QueueError::Full,
            TrySendError::Disconnected(_) => QueueError::Stopped,
        })
    }
}

impl Drop for Ingest {
    fn drop(&mut self) {
        // Closing the queue lets the writer finish what is queued, then stop.
        self.sender.take();
        if let Some(writer) = self.writer.take() {
            let _ = writer.join();
        }
    }
}

fn write_loop(backend: &dyn Backend, receiver: &Receiver<Job>, batch: usize) {
    let mut jobs = Vec::with_capacity(batch);
    while let Ok(first) = receiver.recv() {
        let until = Instant::now() + GATHER;
        jobs.push(first);
        while jobs.len() < batch {
            if let Ok(job) = receiver.try_recv() {
                jobs.push(job);
                continue;
            }
            let wait = until.saturating_duration_since(Instant::now());
            if jobs.len() >= GATHER_UNTIL || wait.is_zero() {
                break;
            }
            match receiver.recv_timeout(wait) {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        write_batch(backend, &mut jobs);
    }
}

fn write_batch(backend: &dyn Backend, jobs: &mut Vec<Job>) {
    let runs: Vec<ReportRun<'_>> = jobs
        .iter()
        .map(|job| ReportRun {
            report_id: &job.report_id,
            run: RunResults {
                run: &job.run,
                results: &job.results,
            },
        })
        .collect();
    let started = Instant::now();
    let outcome = backend.record_reports(Timestamp::now(), &runs);
    drop(runs);
    match outcome {
        Ok(outcomes) => {
            tracing::debug!(
                reports = jobs.len(),
                elapsed_ms = started.elapsed().as_secs_f64() * 1000.0,
                queued_ms = jobs
                    .iter()
                    .map(|job| started.duration_since(job.queued))
                    .max()
                    .unwrap_or_default()
                    .as_secs_f64()
                    * 1000.0,
                "reports committed"
            );
            for (job, outcome) in jobs.drain(..).zip(outcomes) {
                let _ = job.reply.send(Ok(outcome));
            }
        }
        Err(err) if jobs.len() > 1 => {
            tracing::debug!(error = %err, reports = jobs.len(), "batch refused; writing its reports one by one");
            for job in jobs.drain(..) {
                let one = [ReportRun {
                    report_id: &job.report_id,
                    run: RunResults {
                        run: &job.run,
                        results: &job.results,
                    },
                }];
                let result =
                    backend
                        .record_reports(Timestamp::now(), &one)
                        .and_then(|mut outcomes| {
                            outcomes.pop().ok_or_else(|| {
                                StoreError::Database(
                                    "recording a report returned no outcome".into(),
                                )
                            })
                        });
                let _ = job.reply.send(result);
            }
        }
        Err(err) => {
            for job in jobs.drain(..) {
                let _ = job.reply.send(Err(clone_error(&err)));
            }
        }
    }
}

/// A copy of `err` for one waiting request (store errors are not `Clone`).
fn clone_error(err: &StoreError) -> StoreError {
    match err {
        StoreError::OutOfOrder {
            target,
            observed_at,
            latest,
        } => StoreError::OutOfOrder {
            target: target.clone(),
            observed_at: *observed_at,
            latest: *latest,
        },
        StoreError::InvalidRun(message) => StoreError::InvalidRun(message.clone()),
        other => StoreError::Database(other.to_string()),
    }
}
