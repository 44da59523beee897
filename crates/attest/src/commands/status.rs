//! `attest status`: readiness at a glance.

use std::fmt::Write as _;

use crate::args::{GlobalArgs, StatusArgs, StatusFormat};
use crate::commands::report::assess;
use crate::context::load_workspace;
use crate::exit::ExitStatus;
use crate::printer::{self, bar};

pub(crate) fn run(global: &GlobalArgs, args: &StatusArgs) -> anyhow::Result<ExitStatus> {
    let workspace = load_workspace(global)?;
    let report = assess(global, &workspace, args.as_of)?;
    if args.format == StatusFormat::Json {
        printer::print_json(&serde_json::json!({
            "schema_version": report.schema_version,
            "as_of": report.as_of,
            "summary": report.summary,
            "categories": report.categories,
            "gaps": report.gaps,
        }))?;
        return Ok(ExitStatus::Success);
    }
    print_status(&report)?;
    Ok(ExitStatus::Success)
}

/// Prints the terminal summary of a readiness report.
pub(crate) fn print_status(report: &attest_report::ReadinessReport) -> anyhow::Result<()> {
    let mut out = String::new();
    let who = if report.organisation.is_empty() {
        "Built-in library".to_owned()
    } else {
        report.organisation.clone()
    };
    let audit = match report.audit_type {
        attest_model::AuditType::Type1 => "Type 1",
        attest_model::AuditType::Type2 => "Type 2",
    };
    let _ = writeln!(
        out,
        "{who} — SOC 2 {audit} readiness as of {}",
        report.as_of
    );
    if let Some(period) = report.period {
        let _ = writeln!(out, "Audit period {} to {}", period.start, period.end);
    }
    let _ = writeln!(out);
    for category in &report.categories {
        let _ = writeln!(
            out,
            "  {:<22} {} {:>5.1}%   {:>2}/{:<2} criteria met, {} partial, {} gap(s)",
            category.title,
            bar(category.readiness_percent, 24),
            category.readiness_percent,
            category.criteria.met,
            category.criteria.total,
            category.criteria.partial,
            category.criteria.gap,
        );
    }
    let c = &report.summary.controls;
    let _ = writeln!(
        out,
        "\n  Overall readiness {:.1}%\n",
        report.summary.readiness_percent
    );
    let _ = writeln!(out, "  Controls in scope  {:>4}", c.total);
    let _ = writeln!(
        out,
        "    passing          {:>4}{}",
        c.passing,
        if c.expiring_soon > 0 {
            format!("  ({} expiring soon)", c.expiring_soon)
        } else {
            String::new()
        }
    );
    let _ = writeln!(out, "    failing          {:>4}", c.failing);
    let _ = writeln!(out, "    missing evidence {:>4}", c.missing_evidence);
    let _ = writeln!(out, "    not evaluated    {:>4}", c.not_evaluated);
    let f = &report.summary.findings;
    if f.active > 0 {
        let _ = writeln!(
            out,
            "\n  Findings not closed {:>3}{}{}{}",
            f.active,
            if f.overdue > 0 {
                format!("  ({} OVERDUE)", f.overdue)
            } else {
                String::new()
            },
            if f.resolved > 0 {
                format!("  ({} fixed, awaiting closure)", f.resolved)
            } else {
                String::new()
            },
            if f.risk_accepted > 0 {
                format!("  ({} risk accepted)", f.risk_accepted)
            } else {
                String::new()
            },
        );
        for active in report.findings.iter().take(5) {
            let finding = &active.finding;
            let _ = writeln!(
                out,
                "    #{} {} [{}, {}, due {}{}]",
                finding.id,
                finding.title,
                finding.status,
                finding.severity,
                finding.due_at.strftime("%Y-%m-%d"),
                if active.overdue { ", OVERDUE" } else { "" }
            );
        }
        let _ = writeln!(out, "    All of them: attest findings list");
    }
    if !report.remediation.is_empty() {
        let _ = writeln!(out, "\n  Next steps (most impact first):");
        for item in report.remediation.iter().take(5) {
            let gaps = if item.closes_gaps.is_empty() {
                String::new()
            } else {
                format!(" — closes {}", item.closes_gaps.join(", "))
            };
            let _ = writeln!(
                out,
                "    {}. {} {} [{}, {}]{gaps}",
                item.rank, item.control, item.title, item.status, item.severity
            );
        }
        let _ = writeln!(
            out,
            "\n  Full list: attest report readiness --output readiness.html"
        );
    }
    printer::print_text(&out)
}
