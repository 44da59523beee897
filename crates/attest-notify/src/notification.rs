//! What is notified, and to which channels.

use attest_model::{ChannelKind, NotifyConfig, Severity};
use jiff::Timestamp;

/// The event of the notification `attest notify test` sends; not a configurable event, and
/// sent to every channel whatever its filters.
pub const TEST_EVENT: &str = "notify.test";

/// Something that happened and that people should hear about.
#[derive(Debug, Clone, PartialEq)]
pub struct Notification {
    /// What happened, one of [`attest_model::NOTIFY_EVENTS`] (or [`TEST_EVENT`]), e.g.
    /// `finding.opened`.
    pub event: String,
    /// One line, e.g. "Root can log in over SSH on web-1".
    pub title: String,
    /// A few sentences: what it means and what to do.
    pub summary: String,
    /// How much it matters; channels filter on it.
    pub severity: Severity,
    /// When it happened.
    pub at: Timestamp,
    /// Structured details, usually an object: control ids, target, checks, finding id and
    /// `links` (an array of URLs, or of `{ "title", "url" }` objects).
    pub details: serde_json::Value,
}

impl Notification {
    /// The notification `attest notify test` sends.
    pub fn test(at: Timestamp) -> Self {
        Notification {
            event: TEST_EVENT.to_owned(),
            title: "Test notification from Attest".to_owned(),
            summary: "This channel is configured correctly: Attest will send findings, drift \
                      and monitoring failures here, as its filters select."
                .to_owned(),
            severity: Severity::Info,
            at,
            details: serde_json::json!({ "sent_by": "attest notify test" }),
        }
    }
}

/// A configured notification channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Channel {
    config: NotifyConfig,
}

impl Channel {
    /// A channel from its configuration in `attest.toml`.
    pub fn new(config: NotifyConfig) -> Self {
        Channel { config }
    }

    /// Its unique name.
    pub fn name(&self) -> &str {
        &self.config.name
    }

    /// Its kind.
    pub fn kind(&self) -> ChannelKind {
        self.config.kind()
    }

    /// Its configuration.
    pub fn config(&self) -> &NotifyConfig {
        &self.config
    }

    /// Whether the channel receives `notification`: its event is one of the channel's
    /// `events` (or the channel lists none) and it is at least `min_severity`.
    pub fn wants(&self, notification: &Notification) -> bool {
        let event_ok =
            self.config.events.is_empty() || self.config.events.contains(&notification.event);
        event_ok && notification.severity >= self.config.min_severity
    }
}

impl From<NotifyConfig> for Channel {
    fn from(config: NotifyConfig) -> Self {
        Channel::new(config)
    }
}

#[cfg(test)]
mod tests {
    use attest_model::{NotifyTarget, SecretSource};

    use super::*;

    fn channel(events: &[&str], min_severity: Severity) -> Channel {
        Channel::new(NotifyConfig {
            name: "c".into(),
            events: events.iter().map(|e| (*e).to_owned()).collect(),
            min_severity,
            target: NotifyTarget::Slack(SecretSource::Env("X".into())),
        })
    }

    fn notification(event: &str, severity: Severity) -> Notification {
        Notification {
            event: event.into(),
            severity,
            ..Notification::test(Timestamp::UNIX_EPOCH)
        }
    }

    #[test]
    fn channels_filter_on_event_and_severity() {
        let all = channel(&[], Severity::Info);
        assert!(all.wants(&notification("drift", Severity::Info)));
        assert!(all.wants(&notification("finding.opened", Severity::Critical)));

        let high = channel(&["finding.opened", "drift"], Severity::High);
        assert!(high.wants(&notification("finding.opened", Severity::High)));
        assert!(high.wants(&notification("drift", Severity::Critical)));
        assert!(!high.wants(&notification("drift", Severity::Medium)));
        assert!(!high.wants(&notification("finding.fixed", Severity::Critical)));
        assert_eq!(high.name(), "c");
        assert_eq!(high.kind(), ChannelKind::Slack);
    }
}
