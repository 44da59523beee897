//! `attest findings list|show|open|update|close|accept-risk`: non-conformities and their
//! corrective actions. Every change is a `finding.*` entry in the ledger.

use std::fmt::Write as _;

use anyhow::Context as _;
use attest_model::{Finding, FindingSource, FindingStatus, Severity};
use attest_store::{FindingChange, Store as _};
use attest_workspace::Workspace;
use jiff::{Timestamp, ToSpan as _};
use serde::Serialize;

use crate::args::{
    FindingCloseArgs, FindingOpenArgs, FindingRiskArgs, FindingUpdateArgs, FindingsCommand,
    GlobalArgs, ListFormat, WorkStatus,
};
use crate::context::{load_workspace, open_store, user};
use crate::exit::{ExitStatus, Failure};
use crate::printer::{self, Listing, print_listing};

/// A finding as listed: the stored finding and whether it is overdue.
#[derive(Serialize)]
struct FindingView<'a> {
    #[serde(flatten)]
    finding: &'a Finding,
    overdue: bool,
}

fn when(t: Timestamp) -> String {
    t.strftime("%Y-%m-%d %H:%M").to_string()
}

pub(crate) fn run(global: &GlobalArgs, command: &FindingsCommand) -> anyhow::Result<ExitStatus> {
    let workspace = load_workspace(global)?;
    // Listing and showing only read; every other subcommand writes (and signs).
    let store = match command {
        FindingsCommand::List { .. } | FindingsCommand::Show { .. } => {
            crate::commands::report::read_store(global, &workspace)?
        }
        _ => open_store(global, &workspace)?,
    };
    // Findings keep whole seconds, as the ledger does.
    let now = Timestamp::from_second(Timestamp::now().as_second()).unwrap_or_default();
    match command {
        FindingsCommand::List {
            all,
            control,
            format,
        } => {
            let findings: Vec<Finding> = store
                .findings()?
                .into_iter()
                .filter(|f| *all || f.status.is_active())
                .filter(|f| control.as_ref().is_none_or(|c| f.controls.contains(c)))
                .collect();
            let views: Vec<FindingView<'_>> = findings
                .iter()
                .map(|finding| FindingView {
                    finding,
                    overdue: finding.is_overdue(now),
                })
                .collect();
            let mut listing = Listing::new(vec![
                "id", "status", "severity", "controls", "title", "owner", "opened", "due", "fixed",
            ]);
            for view in &views {
                let f = view.finding;
                listing.push(vec![
                    f.id.to_string(),
                    f.status.to_string(),
                    f.severity.to_string(),
                    f.controls.join(" "),
                    f.title.clone(),
                    f.owner.clone(),
                    when(f.opened_at),
                    if view.overdue {
                        format!("{} OVERDUE", f.due_at.strftime("%Y-%m-%d"))
                    } else {
                        f.due_at.strftime("%Y-%m-%d").to_string()
                    },
                    f.fixed_at.map(when).unwrap_or_default(),
                ]);
            }
            print_listing(*format, &listing, &views)?;
            let overdue = views.iter().filter(|v| v.overdue).count();
            if overdue > 0 && *format == ListFormat::Table {
                printer::note(&format!(
                    "{overdue} finding(s) overdue: past their due date and not closed."
                ));
            }
            Ok(ExitStatus::Success)
        }
        FindingsCommand::Show { id, format } => {
            let finding = find(&store, *id)?;
            let trail = store.finding_history(*id)?;
            if *format == ListFormat::Json {
                printer::print_json(&serde_json::json!({
                    "finding": FindingView { finding: &finding, overdue: finding.is_overdue(now) },
                    "trail": trail,
                }))?;
            } else {
                printer::print_text(&show(&finding, &trail, now))?;
            }
            Ok(ExitStatus::Success)
        }
        FindingsCommand::Open(args) => {
            let finding = open(&store, &workspace, args, now)?;
            announce(&workspace, &store, &finding, "finding.opened", "opened");
            Ok(ExitStatus::Success)
        }
        FindingsCommand::Update(args) => update(&store, args, now),
        FindingsCommand::Close(args) => {
            let finding = close(&store, &workspace, args, now)?;
            announce(&workspace, &store, &finding, "finding.closed", "closed");
            Ok(ExitStatus::Success)
        }
        FindingsCommand::AcceptRisk(args) => accept_risk(&store, args, now),
    }
}

/// Tells the notification channels that want it.
fn announce(
    workspace: &Workspace,
    store: &dyn attest_store::Store,
    finding: &Finding,
    kind: &'static str,
    verb: &str,
) {
    crate::commands::notify_hook::send(
        workspace,
        store,
        &[crate::commands::monitor::Event {
            kind,
            title: format!("Finding {} {verb}: {}", finding.id, finding.title),
            summary: format!(
                "{} ({} severity, owner {}){}",
                finding.title,
                finding.severity,
                finding.owner,
                finding
                    .corrective_action
                    .as_deref()
                    .map(|a| format!("; corrective action: {a}"))
                    .unwrap_or_default()
            ),
            severity: finding.severity,
            details: serde_json::json!({ "finding": finding.id, "controls": finding.controls, "status": finding.status }),
        }],
    );
}

fn find(store: &dyn attest_store::Store, id: i64) -> anyhow::Result<Finding> {
    store
        .findings()?
        .into_iter()
        .find(|f| f.id == id)
        .ok_or_else(|| {
            Failure::input(format!(
                "there is no finding {id}; list them with `attest findings list --all`"
            ))
        })
}

fn show(f: &Finding, trail: &[attest_model::FindingEvent], now: Timestamp) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Finding {}: {}", f.id, f.title);
    let field = |out: &mut String, name: &str, value: &str| {
        if !value.is_empty() {
            let _ = writeln!(out, "  {name:<18} {value}");
        }
    };
    let status = if f.is_overdue(now) {
        format!("{} (OVERDUE)", f.status)
    } else {
        f.status.to_string()
    };
    field(&mut out, "status", &status);
    field(&mut out, "severity", f.severity.as_str());
    field(&mut out, "source", f.source.as_str());
    field(&mut out, "controls", &f.controls.join(", "));
    field(&mut out, "criteria", &f.criteria.join(", "));
    field(&mut out, "owner", &f.owner);
    field(&mut out, "failing since", &when(f.failing_since));
    field(&mut out, "opened", &when(f.opened_at));
    field(&mut out, "due", &when(f.due_at));
    field(&mut out, "fixed", &f.fixed_at.map(when).unwrap_or_default());
    field(
        &mut out,
        "closed",
        &f.closed_at.map(when).unwrap_or_default(),
    );
    field(
        &mut out,
        "root cause",
        f.root_cause.as_deref().unwrap_or_default(),
    );
    field(
        &mut out,
        "corrective action",
        f.corrective_action.as_deref().unwrap_or_default(),
    );
    field(
        &mut out,
        "closure evidence",
        f.closure_evidence.as_deref().unwrap_or_default(),
    );
    field(
        &mut out,
        "risk accepted",
        f.risk_reason.as_deref().unwrap_or_default(),
    );
    for resource in &f.resources {
        field(&mut out, "failing", resource);
    }
    if f.resources_omitted > 0 {
        field(
            &mut out,
            "failing",
            &format!("and {} more", f.resources_omitted),
        );
    }
    let _ = writeln!(out, "\nTrail (ledger entries):");
    for event in trail {
        let note = event
            .note
            .as_deref()
            .map(|n| format!(" — {n}"))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "  #{:<8} {}  {:<14} by {}{note}",
            event.seq,
            when(event.at),
            event.event,
            event.by
        );
    }
    out
}

fn save(
    store: &dyn attest_store::Store,
    finding: &Finding,
    event: &str,
    by: &str,
    note: Option<&str>,
    now: Timestamp,
) -> anyhow::Result<Finding> {
    let saved = store.save_finding(
        finding,
        &FindingChange {
            event,
            by,
            note,
            at: now,
        },
    )?;
    printer::note(&format!(
        "Finding {} {event}: {} ({}, due {}).",
        saved.id,
        saved.title,
        saved.status,
        saved.due_at.strftime("%Y-%m-%d")
    ));
    Ok(saved)
}

/// The end of `date` in UTC.
fn end_of(date: jiff::civil::Date) -> Timestamp {
    date.checked_add(1.day())
        .ok()
        .and_then(|d| d.to_zoned(jiff::tz::TimeZone::UTC).ok())
        .map_or(Timestamp::MAX, |z| z.timestamp())
        .checked_sub(jiff::SignedDuration::from_secs(1))
        .unwrap_or(Timestamp::MAX)
}

fn open(
    store: &dyn attest_store::Store,
    workspace: &Workspace,
    args: &FindingOpenArgs,
    now: Timestamp,
) -> anyhow::Result<Finding> {
    let mut controls = Vec::new();
    for id in &args.controls {
        controls.push(workspace.control(id).ok_or_else(|| {
            Failure::input(format!(
                "unknown control `{id}`; list them with `attest controls list`"
            ))
        })?);
    }
    if args.title.trim().is_empty() {
        return Err(Failure::input("a finding needs a title"));
    }
    let severity = args.severity.unwrap_or_else(|| {
        controls
            .iter()
            .map(|c| c.severity)
            .max()
            .unwrap_or(Severity::Medium)
    });
    let mut criteria: Vec<String> = controls.iter().flat_map(|c| c.criteria.clone()).collect();
    criteria.sort();
    criteria.dedup();
    let due_at = match args.due {
        Some(date) => end_of(date),
        None => now
            .checked_add(workspace.findings.sla(severity))
            .unwrap_or(Timestamp::MAX),
    };
    let finding = Finding {
        id: 0,
        title: args.title.trim().to_owned(),
        controls: controls.iter().map(|c| c.id.clone()).collect(),
        criteria,
        severity,
        source: FindingSource::Manual,
        status: FindingStatus::Open,
        failing_since: now,
        opened_at: now,
        due_at,
        fixed_at: None,
        closed_at: None,
        owner: args
            .owner
            .clone()
            .or_else(|| controls.first().map(|c| c.owner.clone()))
            .unwrap_or_default(),
        root_cause: None,
        corrective_action: None,
        closure_evidence: None,
        risk_reason: None,
        risk_until: None,
        resources: Vec::new(),
        resources_omitted: 0,
    };
    save(
        store,
        &finding,
        "opened",
        &user(args.by.as_ref()),
        args.note.as_deref(),
        now,
    )
}

fn active(finding: &Finding) -> anyhow::Result<()> {
    if finding.status == FindingStatus::Closed {
        return Err(Failure::input(format!(
            "finding {} is closed; a new occurrence is a new finding",
            finding.id
        )));
    }
    Ok(())
}

fn update(
    store: &dyn attest_store::Store,
    args: &FindingUpdateArgs,
    now: Timestamp,
) -> anyhow::Result<ExitStatus> {
    let mut finding = find(store, args.id)?;
    active(&finding)?;
    let before = finding.clone();
    if let Some(status) = args.status {
        finding.status = match status {
            WorkStatus::Open => FindingStatus::Open,
            WorkStatus::InProgress => FindingStatus::InProgress,
        };
    }
    if let Some(owner) = &args.owner {
        finding.owner.clone_from(owner);
    }
    if let Some(due) = args.due {
        finding.due_at = end_of(due);
    }
    if let Some(severity) = args.severity {
        finding.severity = severity;
    }
    if finding == before && args.note.is_none() {
        return Err(Failure::input(
            "nothing to change: give --status, --owner, --due, --severity or --note",
        ));
    }
    save(
        store,
        &finding,
        "updated",
        &user(args.by.as_ref()),
        args.note.as_deref(),
        now,
    )?;
    Ok(ExitStatus::Success)
}

fn close(
    store: &dyn attest_store::Store,
    workspace: &Workspace,
    args: &FindingCloseArgs,
    now: Timestamp,
) -> anyhow::Result<Finding> {
    let mut finding = find(store, args.id)?;
    active(&finding)?;
    if args.root_cause.trim().is_empty() || args.corrective_action.trim().is_empty() {
        return Err(Failure::input(
            "closing a finding needs a --root-cause and a --corrective-action",
        ));
    }
    if finding.source == FindingSource::Automated && finding.fixed_at.is_none() {
        let still = crate::context::failing_results(store, workspace, &finding.controls)?;
        if !still.is_empty() {
            return Err(Failure::input(format!(
                "finding {} cannot be closed: its control still fails ({}); fix it and scan again, or accept the risk",
                finding.id,
                still.join(", ")
            )));
        }
    }
    if let Some(path) = &args.evidence {
        let content = fs_err::read(path)
            .map_err(|e| Failure::input(format!("cannot read the closure evidence: {e}")))?;
        finding.closure_evidence = Some(
            store
                .put_object(&content)
                .context("cannot store the closure evidence")?,
        );
    }
    finding.root_cause = Some(args.root_cause.trim().to_owned());
    finding.corrective_action = Some(args.corrective_action.trim().to_owned());
    finding.status = FindingStatus::Closed;
    finding.closed_at = Some(now);
    save(
        store,
        &finding,
        "closed",
        &user(args.by.as_ref()),
        args.note.as_deref(),
        now,
    )
}

fn accept_risk(
    store: &dyn attest_store::Store,
    args: &FindingRiskArgs,
    now: Timestamp,
) -> anyhow::Result<ExitStatus> {
    let mut finding = find(store, args.id)?;
    active(&finding)?;
    if args.reason.trim().is_empty() {
        return Err(Failure::input("accepting a risk needs a --reason"));
    }
    finding.status = FindingStatus::RiskAccepted;
    finding.risk_reason = Some(args.reason.trim().to_owned());
    finding.risk_until = args.until.map(end_of);
    save(
        store,
        &finding,
        "risk_accepted",
        &user(args.by.as_ref()),
        None,
        now,
    )?;
    Ok(ExitStatus::Success)
}
