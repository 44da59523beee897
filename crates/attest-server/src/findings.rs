//! The findings sweep: applies the findings lifecycle (`attest_findings::plan`) to the
//! current failing results on a schedule, so agent reports open, fix and reopen findings as
//! `attest monitor` does for its own runs.
//!
//! Reading the failing results and planning is background work: `run` does it on a thread
//! of its own below normal priority, so on a busy server it takes the CPU left over by
//! requests and the ingest writer instead of holding them up; the changes it plans are saved
//! at normal priority.
//!
//! Run it on one app server only when several share a database (`attest serve
//! --findings-every 0` on the others): two sweeps at the same moment could both open a
//! finding for the same control.

use std::time::Duration;

use attest_findings::Action;
use attest_store::FindingChange;
use jiff::Timestamp;
use tokio::sync::oneshot;

use crate::AppState;
use crate::error::ApiError;

/// Nice value of the planning thread (normal is 0, lowest 19).
#[cfg(target_os = "linux")]
const PLANNER_NICE: i32 = 10;

/// Applies the lifecycle once; returns the number of findings changed.
pub fn sweep(state: &AppState) -> Result<usize, ApiError> {
    let (actions, now) = plan(state)?;
    save(state, &actions, now)
}

/// What the failing results mean for the findings now.
fn plan(state: &AppState) -> Result<(Vec<Action>, Timestamp), ApiError> {
    let backend = state.backend();
    let workspace = state.workspace();
    // Findings keep whole seconds, as the ledger does.
    let now = Timestamp::from_second(Timestamp::now().as_second()).map_err(ApiError::internal)?;
    let started = std::time::Instant::now();
    let failing = backend.failing_results()?;
    let read = started.elapsed();
    let findings = backend.findings()?;
    let actions = attest_findings::plan(workspace, &workspace.findings, &failing, &findings, now);
    tracing::debug!(
        failing = failing.len(),
        changes = actions.len(),
        read_ms = read.as_millis(),
        plan_ms = started.elapsed().saturating_sub(read).as_millis(),
        "findings sweep planned"
    );
    Ok((actions, now))
}

/// Saves each planned change as a ledger entry by `attest`.
fn save(state: &AppState, actions: &[Action], now: Timestamp) -> Result<usize, ApiError> {
    for action in actions {
        let saved = state.backend().save_finding(
            &action.finding,
            &FindingChange {
                event: action.event,
                by: "attest",
                note: None,
                at: now,
            },
        )?;
        tracing::info!(finding = saved.id, event = action.event, title = %saved.title, "finding");
    }
    Ok(actions.len())
}

/// One sweep: planned on a thread below normal priority, saved on the blocking pool.
pub(crate) async fn sweep_in_background(state: &AppState) -> Result<usize, ApiError> {
    let (send_plan, planned) = oneshot::channel();
    let planner_state = state.clone();
    std::thread::Builder::new()
        .name("attest-findings".into())
        .spawn(move || {
            lower_priority();
            let _ = send_plan.send(plan(&planner_state));
        })
        .map_err(ApiError::internal)?;
    let (actions, now) = planned
        .await
        .map_err(|_| ApiError::internal("the findings planner stopped"))??;
    state
        .blocking(move |state| save(state, &actions, now))
        .await
}

/// Lowers the calling thread's priority (Linux: each thread has its own nice value).
fn lower_priority() {
    #[cfg(target_os = "linux")]
    if let Err(err) =
        rustix::process::setpriority_process(Some(rustix::thread::gettid()), PLANNER_NICE)
    {
        tracing::debug!(error = %err, "the findings planner runs at normal priority");
    }
}

/// Sweeps every `every` until the runtime stops.
pub async fn run(state: AppState, every: Duration) {
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        if let Err(err) = sweep_in_background(&state).await {
            tracing::error!(error = %err.message, "the findings sweep failed");
        }
    }
}
