//! The findings sweep: applies the findings lifecycle (`attest_findings::plan`) to the
//! current results on a schedule, so agent reports open, fix and reopen findings as
//! `attest monitor` does for its own runs.
//!
//! Run it on one app server only when several share a database (`attest serve
//! --findings-every 0` on the others): two sweeps at the same moment could both open a
//! finding for the same control.

use std::time::Duration;

use attest_store::FindingChange;
use jiff::Timestamp;

use crate::AppState;
use crate::error::ApiError;

/// Applies the lifecycle once; returns the number of findings changed.
pub fn sweep(state: &AppState) -> Result<usize, ApiError> {
    let backend = state.backend();
    let workspace = state.workspace();
    // Findings keep whole seconds, as the ledger does.
    let now = Timestamp::from_second(Timestamp::now().as_second()).map_err(ApiError::internal)?;
    let current = backend.current_results()?;
    let findings = backend.findings()?;
    let actions = attest_findings::plan(workspace, &workspace.findings, &current, &findings, now);
    for action in &actions {
        let saved = backend.save_finding(
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

/// Sweeps every `every` until the runtime stops.
pub async fn run(state: AppState, every: Duration) {
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        if let Err(err) = state.blocking(sweep).await {
            tracing::error!(error = %err.message, "the findings sweep failed");
        }
    }
}
