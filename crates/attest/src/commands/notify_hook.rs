//! Sends a monitor's events to the configured notification channels and records every
//! delivery, delivered or failed, in the ledger.

use attest_notify::{Channel, Notification, RetryPolicy, deliver};
use jiff::Timestamp;

use attest_workspace::Workspace;

use crate::commands::monitor::Event;
use crate::printer;

/// The notification event of a monitor event (a recurrence is announced as an opening).
fn event_name(kind: &str) -> &str {
    match kind {
        "finding.recurred" => "finding.opened",
        other => other,
    }
}

/// Sends `events` to every channel that wants them, recording each delivery in the ledger.
/// A failed delivery is reported and recorded, never fatal to the monitor.
pub(crate) fn send(workspace: &Workspace, store: &dyn attest_store::Store, events: &[Event]) {
    if events.is_empty() || workspace.notify.is_empty() {
        return;
    }
    if let Err(err) = try_send(workspace, store, events) {
        printer::print_error(&err.context("cannot send notifications"));
    }
}

fn try_send(
    workspace: &Workspace,
    store: &dyn attest_store::Store,
    events: &[Event],
) -> anyhow::Result<()> {
    let channels: Vec<Channel> = workspace.notify.iter().cloned().map(Channel::new).collect();
    let policy = RetryPolicy::default();
    for event in events {
        let notification = Notification {
            event: event_name(event.kind).to_owned(),
            title: event.title.clone(),
            summary: event.summary.clone(),
            severity: event.severity,
            at: Timestamp::now(),
            details: event.details.clone(),
        };
        for channel in channels.iter().filter(|c| c.wants(&notification)) {
            let delivery = deliver(channel, &notification, &policy);
            let seq = store.append_event(
                delivery.at,
                delivery.ledger_kind(),
                &delivery.ledger_payload(),
            )?;
            let outcome = match &delivery.outcome {
                attest_notify::Outcome::Delivered => "delivered".to_owned(),
                attest_notify::Outcome::Failed { reason } => format!("FAILED: {reason}"),
            };
            printer::note(&format!(
                "  notified {} of {}: {outcome} (ledger entry {seq})",
                channel.name(),
                notification.event
            ));
        }
    }
    Ok(())
}
