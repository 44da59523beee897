//! `attest evidence add|list`.

use anyhow::Context as _;
use attest_model::{ControlKind, EvidenceRecord, Freshness, NewEvidence};
use attest_store::Store as _;
use attest_workspace::Workspace;
use jiff::Timestamp;
use jiff::civil::Date;
use serde::Serialize;

use crate::args::{EvidenceAddArgs, EvidenceCommand, GlobalArgs};
use crate::context::{load_workspace, open_store, today};
use crate::exit::{ExitStatus, Failure};
use crate::printer::{self, Listing, print_listing};

pub(crate) fn run(global: &GlobalArgs, command: &EvidenceCommand) -> anyhow::Result<ExitStatus> {
    let workspace = load_workspace(global)?;
    match command {
        EvidenceCommand::Add(args) => add(global, &workspace, args),
        EvidenceCommand::List {
            control,
            as_of,
            format,
        } => {
            let store = crate::commands::report::read_store(global, &workspace)?;
            let records = store.list_evidence(control.as_deref())?;
            let today = as_of.unwrap_or_else(today);
            let rows: Vec<EvidenceRow> = records
                .into_iter()
                .map(|r| EvidenceRow::new(r, &workspace, today))
                .collect();
            let mut listing = Listing::new(vec![
                "id",
                "control",
                "file",
                "effective",
                "expires",
                "status",
                "added by",
                "sha256",
                "note",
            ]);
            for row in &rows {
                listing.push(vec![
                    row.record.id.to_string(),
                    row.record.control.clone(),
                    row.record.file_name.clone(),
                    row.record.effective_date.to_string(),
                    row.expires_on.map(|d| d.to_string()).unwrap_or_default(),
                    row.status.clone(),
                    row.record.added_by.clone(),
                    row.record.sha256.get(..12).unwrap_or_default().to_owned(),
                    row.record.note.clone().unwrap_or_default(),
                ]);
            }
            print_listing(*format, &listing, &rows)?;
            Ok(ExitStatus::Success)
        }
    }
}

/// An evidence record with its expiry and freshness, as `evidence list` prints it.
#[derive(Serialize)]
struct EvidenceRow {
    #[serde(flatten)]
    record: EvidenceRecord,
    /// Last day it is current; absent when its control has no freshness window.
    expires_on: Option<Date>,
    /// Freshness (`current`, `expiring_soon`, `expired`), or `unknown_control`.
    status: String,
}

impl EvidenceRow {
    fn new(record: EvidenceRecord, workspace: &Workspace, today: Date) -> Self {
        let requirement = workspace
            .control(&record.control)
            .and_then(|c| c.evidence.as_ref());
        let (expires_on, status) = match requirement {
            Some(req) => (
                Some(Freshness::expires_on(record.effective_date, req)),
                Freshness::on(today, record.effective_date, req).to_string(),
            ),
            None => (None, "unknown_control".to_owned()),
        };
        EvidenceRow {
            record,
            expires_on,
            status,
        }
    }
}

fn add(
    global: &GlobalArgs,
    workspace: &Workspace,
    args: &EvidenceAddArgs,
) -> anyhow::Result<ExitStatus> {
    let Some(control) = workspace.control(&args.control) else {
        let hint = workspace
            .controls
            .iter()
            .find(|c| c.id.eq_ignore_ascii_case(&args.control))
            .map_or_else(
                || "list them with `attest controls list`".to_owned(),
                |c| format!("did you mean `{}`?", c.id),
            );
        return Err(Failure::input(format!(
            "unknown control `{}`; {hint}",
            args.control
        )));
    };
    let Some(requirement) = control.evidence.as_ref() else {
        return Err(Failure::input(format!(
            "control `{}` is {}: it is evidenced by automated checks, not by files; make it `kind = \"hybrid\"` with a [control.evidence] requirement to evidence it by hand",
            control.id,
            ControlKind::Automated
        )));
    };
    let today = today();
    let effective = args.date.unwrap_or(today);
    if effective > today {
        return Err(Failure::input(format!(
            "--date {effective} is in the future; evidence speaks for a day that has happened"
        )));
    }
    if args.file.is_dir() {
        return Err(Failure::input(format!(
            "{} is a folder; add files one at a time",
            args.file.display()
        )));
    }
    let content = fs_err::read(&args.file)
        .map_err(|e| Failure::input(format!("cannot read the evidence file: {e}")))?;
    let file_name = args
        .file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .context("the evidence path has no file name")?;
    let added_by = crate::context::user(args.by.as_ref());

    let store = open_store(global, workspace)?;
    let sha256 = store.put_object(&content)?;
    let record = store.add_evidence(&NewEvidence {
        control: control.id.clone(),
        file_name,
        sha256,
        size: content.len() as u64,
        note: args.note.clone(),
        effective_date: effective,
        added_at: Timestamp::now(),
        added_by,
    })?;
    let expires = Freshness::expires_on(effective, requirement);
    let freshness = Freshness::on(today, effective, requirement);
    printer::note(&format!(
        "Recorded evidence #{} for {}: {} (sha256 {}), effective {effective}, current until {expires} ({freshness}).",
        record.id,
        control.id,
        record.file_name,
        record.sha256.get(..12).unwrap_or_default(),
    ));
    Ok(ExitStatus::Success)
}
