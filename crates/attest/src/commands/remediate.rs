//! `attest remediate CHECK [--root DIR] [--apply] [--format text|json]`: the fix of a check
//! as a new drop-in file, shown as a diff (dry run) or written and recorded in the ledger.

use std::fmt::Write as _;

use anyhow::Context as _;
use attest_collect::RootFs;
use attest_remediate::{Remediation, Status};
use attest_store::Store as _;
use clap::{Args, ValueEnum};

use crate::args::{GlobalArgs, RootArg};
use crate::commands::collect::host_root;
use crate::context::{load_workspace, open_store};
use crate::exit::{ExitStatus, Failure};
use crate::printer;

/// Output formats of `remediate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum RemediateFormat {
    /// The diff and what it does, for a person.
    Text,
    /// One JSON object (schema: schemas/remediation.schema.json).
    Json,
}

#[allow(
    clippy::doc_markdown,
    reason = "doc comments here are the --help text people read, not rustdoc"
)]
#[derive(Debug, Args)]
#[command(after_long_help = "\
Dry run by default: prints the drop-in file as a unified diff and explains how it takes effect.
With --apply, writes it under the root (a new file, mode 0644; no existing file is changed) and
records it in the ledger as `remediation.applied`.

Exit codes: 0 the fix is shown, written or in place already, or the check's remediation is
manual (shown); 2 the fix would not take effect on this root (the manual edit is shown as a diff
instead; nothing is written), --apply on a check whose remediation is manual, an unknown check,
or bad input.")]
pub(crate) struct RemediateArgs {
    /// Check id, e.g. host.ssh.root_login_disabled
    pub(crate) check: String,
    #[command(flatten)]
    pub(crate) root: RootArg,
    /// Write the drop-in file (default: only show it)
    #[arg(long)]
    pub(crate) apply: bool,
    /// Output format
    #[arg(long, value_enum, default_value_t = RemediateFormat::Text)]
    pub(crate) format: RemediateFormat,
}

/// The ledger payload of an applied remediation: what was written where, never more.
fn payload(plan: &Remediation) -> serde_json::Value {
    serde_json::json!({
        "check": plan.check,
        "root": plan.root,
        "kind": plan.kind.map(attest_model::FixKind::as_str),
        "path": plan.path,
        "sha256": plan.sha256,
        "settings": plan.settings,
    })
}

pub(crate) fn run(global: &GlobalArgs, args: &RemediateArgs) -> anyhow::Result<ExitStatus> {
    let workspace = load_workspace(global)?;
    let Some(check) = workspace.check(&args.check) else {
        let hint = workspace.closest_check(&args.check).map_or_else(
            || "list them with `attest checks list`".to_owned(),
            |id| format!("did you mean `{id}`?"),
        );
        return Err(Failure::input(format!(
            "unknown check `{}`; {hint}",
            args.check
        )));
    };
    let fs = host_root(&args.root.path)?;
    let root = fs_err::canonicalize(fs.root())?;
    let fs = RootFs::new(root, fs.is_live());
    let mut plan = attest_remediate::plan(check, &fs);
    if args.apply && plan.status == Status::Applicable && !plan.in_place {
        // The store opens first, so that a drop-in is never written without its record.
        let store = open_store(global, &workspace)?;
        attest_remediate::apply(&mut plan, &fs)?;
        let seq = store
            .append_event(
                jiff::Timestamp::now(),
                attest_store::payload::REMEDIATION_APPLIED,
                &payload(&plan),
            )
            .with_context(|| {
                format!(
                    "{} was written, but cannot be recorded in the ledger",
                    plan.path.as_deref().unwrap_or_default()
                )
            })?;
        plan.ledger_entry = Some(seq);
    }
    match args.format {
        RemediateFormat::Json => printer::print_json(&plan)?,
        RemediateFormat::Text => printer::print_text(&text(&plan, args))?,
    }
    Ok(match plan.status {
        Status::Blocked => {
            printer::note("error: the fix would not take effect on this root; nothing was written");
            ExitStatus::Error
        }
        Status::Manual if args.apply => {
            printer::note(&format!(
                "error: `{}` has no fix Attest can write; nothing was applied",
                plan.check
            ));
            ExitStatus::Error
        }
        Status::Applicable | Status::Manual => ExitStatus::Success,
    })
}

fn text(plan: &Remediation, args: &RemediateArgs) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{} — {}", plan.check, plan.title);
    let _ = writeln!(out, "status: {}", plan.status.as_str());
    let _ = writeln!(out, "{}.", plan.reason);
    if plan.status == Status::Manual {
        let _ = writeln!(out, "\nRemediation:\n{}", plan.remediation);
        return out;
    }
    if !plan.diff.is_empty() {
        let _ = write!(out, "\n{}", plan.diff);
        if !plan.diff.ends_with('\n') {
            out.push('\n');
        }
    }
    if !plan.explanation.is_empty() {
        out.push_str(if plan.status == Status::Blocked {
            "\nWhy:\n"
        } else {
            "\nHow it takes effect:\n"
        });
        for line in &plan.explanation {
            let _ = writeln!(out, "  - {line}");
        }
    }
    match plan.status {
        Status::Blocked => {
            let _ = writeln!(
                out,
                "\nNothing was written. The check's remediation text:\n{}",
                plan.remediation
            );
        }
        Status::Applicable if plan.applied => {
            let _ = writeln!(
                out,
                "\nWrote {} under {} (SHA-256 {}){}.",
                plan.path.as_deref().unwrap_or_default(),
                plan.root,
                plan.sha256.as_deref().unwrap_or_default(),
                plan.ledger_entry.map_or_else(String::new, |seq| format!(
                    "; recorded in the ledger as entry {seq}"
                ))
            );
            if let Some(reload) = &plan.reload {
                let _ = writeln!(out, "Then: {reload}");
            }
        }
        Status::Applicable if plan.in_place => {
            if let Some(reload) = &plan.reload {
                let _ = writeln!(out, "\nIf the running system has not read it yet: {reload}");
            }
        }
        Status::Applicable | Status::Manual => {
            let _ = writeln!(
                out,
                "\nDry run: nothing was written. Apply it with: attest remediate {} --root {} --apply",
                plan.check,
                args.root.path.display()
            );
            if let Some(reload) = &plan.reload {
                let _ = writeln!(out, "Then: {reload}");
            }
        }
    }
    out
}
