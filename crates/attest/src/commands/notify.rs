//! `attest notify test`: sends a test notification to each configured channel and prints
//! how each delivery went, so an operator can check channels and their secrets.

use std::time::Duration;

use attest_notify::{Channel, Notification, Outcome, RetryPolicy, deliver};
use clap::{Args, Subcommand};

use crate::args::{GlobalArgs, ListFormat};
use crate::context::load_workspace;
use crate::exit::{ExitStatus, Failure};
use crate::printer::{self, Listing};

#[derive(Debug, Subcommand)]
pub(crate) enum NotifyCommand {
    /// Send a test notification to every channel in attest.toml (or one), whatever its
    /// filters, and print each delivery; exit 1 if any failed
    Test(NotifyTestArgs),
}

#[derive(Debug, Args)]
pub(crate) struct NotifyTestArgs {
    /// Only the channel with this name
    #[arg(long, value_name = "NAME")]
    pub(crate) channel: Option<String>,
    /// Output format (json: the ledger payload of each delivery)
    #[arg(long, value_enum, default_value_t = ListFormat::Table)]
    pub(crate) format: ListFormat,
}

pub(crate) fn run(global: &GlobalArgs, command: &NotifyCommand) -> anyhow::Result<ExitStatus> {
    let NotifyCommand::Test(args) = command;
    let workspace = load_workspace(global)?;
    if workspace.notify.is_empty() {
        return Err(Failure::input(
            "no notification channel is configured; add a [[notify]] table to attest.toml (`attest init` writes commented examples)",
        ));
    }
    let channels: Vec<Channel> = match &args.channel {
        None => workspace.notify.into_iter().map(Channel::new).collect(),
        Some(name) => {
            let names: Vec<&str> = workspace.notify.iter().map(|c| c.name.as_str()).collect();
            let Some(config) = workspace.notify.iter().find(|c| &c.name == name) else {
                return Err(Failure::input(format!(
                    "no notification channel `{name}`; the channels are: {}",
                    names.join(", ")
                )));
            };
            vec![Channel::new(config.clone())]
        }
    };
    // One retry: enough to ride out a blip, short enough for a person waiting.
    let policy = RetryPolicy {
        attempts: 2,
        base_delay: Duration::from_secs(1),
        ..RetryPolicy::default()
    };
    let notification = Notification::test(jiff::Timestamp::now());
    let mut listing = Listing::new(vec![
        "channel",
        "kind",
        "destination",
        "attempts",
        "status",
        "reason",
    ]);
    let mut json = Vec::new();
    let mut failed = 0_usize;
    for channel in &channels {
        let delivery = deliver(channel, &notification, &policy);
        let (status, reason) = match &delivery.outcome {
            Outcome::Delivered => ("delivered", String::new()),
            Outcome::Failed { reason } => {
                failed = failed.saturating_add(1);
                ("failed", reason.clone())
            }
        };
        listing.push(vec![
            delivery.channel.clone(),
            delivery.kind.to_string(),
            delivery.destination.clone().unwrap_or_default(),
            delivery.attempts.to_string(),
            status.to_owned(),
            reason,
        ]);
        json.push(delivery.ledger_payload());
    }
    printer::print_listing(args.format, &listing, &json)?;
    printer::note(&format!(
        "test notification: {} of {} channel(s) delivered",
        channels.len().saturating_sub(failed),
        channels.len()
    ));
    Ok(if failed == 0 {
        ExitStatus::Success
    } else {
        ExitStatus::Findings
    })
}
