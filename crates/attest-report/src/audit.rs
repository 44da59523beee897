//! Rendering the Type 1 and Type 2 reports: one self-contained HTML file, Markdown, JSON, and
//! CSV (the control matrix; the exceptions of a Type 2 report in a second table).

use minijinja::{Environment, context};
use serde::Serialize;

use crate::type1::Type1Report;
use crate::type2::{Type2Report, human_duration};
use crate::{RenderError, ReportFormat, STYLE};

const AUDIT_STYLE: &str = include_str!("../templates/audit.css");

fn environment() -> Result<Environment<'static>, minijinja::Error> {
    let mut env = Environment::new();
    env.add_template("type2.html", include_str!("../templates/type2.html"))?;
    env.add_template("type2.md", include_str!("../templates/type2.md"))?;
    env.add_template("type1.html", include_str!("../templates/type1.html"))?;
    env.add_template("type1.md", include_str!("../templates/type1.md"))?;
    env.add_filter("md", |value: String| {
        value.replace('|', "\\|").replace('\n', " ")
    });
    env.add_filter("duration", |seconds: i64| human_duration(seconds));
    Ok(env)
}

fn categories(list: &[attest_model::Category]) -> String {
    list.iter()
        .map(|c| c.title())
        .collect::<Vec<_>>()
        .join(", ")
}

fn json<T: Serialize>(report: &T) -> Result<String, RenderError> {
    let mut text = serde_json::to_string_pretty(report)?;
    text.push('\n');
    Ok(text)
}

/// One block of a control's timeline strip.
#[derive(Serialize)]
struct Block {
    x: f64,
    w: f64,
    c: &'static str,
}

/// The CSS class of a timeline character.
fn day_class(mark: char) -> &'static str {
    match mark {
        'o' => "ok",
        'g' => "gap-minor",
        'G' => "gap",
        'x' => "fail-minor",
        'X' => "fail",
        _ => "none",
    }
}

#[derive(Serialize)]
struct Strip<'a> {
    id: &'a str,
    title: &'a str,
    blocks: Vec<Block>,
}

#[derive(Serialize)]
struct MonthLabel {
    x: f64,
    label: String,
}

/// Width of the timeline strips in the SVG's units.
const STRIP_WIDTH: f64 = 900.0;

fn strips(report: &Type2Report) -> (Vec<Strip<'_>>, Vec<MonthLabel>) {
    let days = report
        .controls
        .iter()
        .map(|c| c.timeline.len())
        .max()
        .unwrap_or(0)
        .max(1);
    #[allow(clippy::cast_precision_loss, reason = "days of a period")]
    let day_width = STRIP_WIDTH / days as f64;
    let strips = report
        .controls
        .iter()
        .filter(|c| c.conclusion != crate::type2::Conclusion::NotTested)
        .map(|control| {
            let mut blocks: Vec<Block> = Vec::new();
            let mut start = 0_usize;
            let marks: Vec<char> = control.timeline.chars().collect();
            while start < marks.len() {
                let mark = marks.get(start).copied().unwrap_or('-');
                let mut end = start.saturating_add(1);
                while marks.get(end) == Some(&mark) {
                    end = end.saturating_add(1);
                }
                #[allow(clippy::cast_precision_loss, reason = "days of a period")]
                blocks.push(Block {
                    x: ((start as f64 * day_width) * 100.0).round() / 100.0,
                    w: (((end - start) as f64 * day_width) * 100.0).round() / 100.0,
                    c: day_class(mark),
                });
                start = end;
            }
            Strip {
                id: &control.design.id,
                title: &control.design.title,
                blocks,
            }
        })
        .collect();
    let mut months = Vec::new();
    let mut day = report.period.start;
    for i in 0..days {
        if day.day() == 1 || i == 0 {
            #[allow(clippy::cast_precision_loss, reason = "days of a period")]
            months.push(MonthLabel {
                x: ((i as f64 * day_width) * 100.0).round() / 100.0,
                label: day.strftime("%b %Y").to_string(),
            });
        }
        day = day.tomorrow().unwrap_or(day);
    }
    // Keep labels apart: at most one per 60 units.
    let mut kept: Vec<MonthLabel> = Vec::new();
    for month in months {
        if kept.last().is_none_or(|last| month.x - last.x >= 60.0) {
            kept.push(month);
        }
    }
    (strips, kept)
}

/// Renders a Type 2 report in `format`.
pub fn render_type2(report: &Type2Report, format: ReportFormat) -> Result<String, RenderError> {
    let template = match format {
        ReportFormat::Json => return json(report),
        ReportFormat::Csv => return Ok(type2_matrix_csv(report)),
        ReportFormat::Html => "type2.html",
        ReportFormat::Markdown => "type2.md",
    };
    let env = environment()?;
    let (strips, months) = strips(report);
    let not_tested: Vec<&str> = report
        .controls
        .iter()
        .filter(|c| c.conclusion == crate::type2::Conclusion::NotTested)
        .map(|c| c.design.id.as_str())
        .collect();
    let partial = report.assessed_until.as_second()
        < crate::type2::day_start(report.period.end).saturating_add(86_400);
    Ok(env.get_template(template)?.render(context! {
        r => report,
        css => STYLE,
        audit_css => AUDIT_STYLE,
        categories => categories(&report.categories),
        strips => strips,
        months => months,
        not_tested => not_tested,
        partial => partial,
        version => env!("CARGO_PKG_VERSION"),
    })?)
}

/// Renders a Type 1 report in `format`.
pub fn render_type1(report: &Type1Report, format: ReportFormat) -> Result<String, RenderError> {
    let template = match format {
        ReportFormat::Json => return json(report),
        ReportFormat::Csv => return Ok(type1_matrix_csv(report)),
        ReportFormat::Html => "type1.html",
        ReportFormat::Markdown => "type1.md",
    };
    let env = environment()?;
    Ok(env.get_template(template)?.render(context! {
        r => report,
        css => STYLE,
        audit_css => AUDIT_STYLE,
        categories => categories(&report.categories),
        version => env!("CARGO_PKG_VERSION"),
    })?)
}

/// The first columns of a control matrix: the control's design.
const DESIGN_COLUMNS: [&str; 9] = [
    "control",
    "title",
    "criteria",
    "owner",
    "frequency",
    "kind",
    "severity",
    "checks",
    "evidence_expected",
];

fn design_cells(d: &crate::design::ControlDesignFields) -> Vec<String> {
    vec![
        d.id.clone(),
        d.title.clone(),
        d.criteria.join(" "),
        d.owner.clone(),
        d.frequency.to_string(),
        d.kind.to_string(),
        d.severity.to_string(),
        d.checks.join(" "),
        d.evidence_expected.clone().unwrap_or_default(),
    ]
}

fn csv_text(rows: &[Vec<String>]) -> String {
    let mut writer = csv::Writer::from_writer(Vec::new());
    for row in rows {
        // Writing to memory cannot fail.
        let _ = writer.write_record(row);
    }
    String::from_utf8(writer.into_inner().unwrap_or_default()).unwrap_or_default()
}

/// The Type 2 control matrix: one row per control.
pub fn type2_matrix_csv(report: &Type2Report) -> String {
    let mut rows = vec![
        DESIGN_COLUMNS
            .iter()
            .chain(&[
                "conclusion",
                "operating_percent",
                "targets",
                "seconds_failing",
                "seconds_unknown",
                "seconds_gap",
                "exceptions",
                "gaps",
                "evidence_in_period",
                "evidence_on_time",
                "evidence_late",
                "lapse_days",
                "population",
                "sample",
            ])
            .map(|c| (*c).to_owned())
            .collect::<Vec<_>>(),
    ];
    for c in &report.controls {
        let automated = c.automated.as_ref();
        let manual = c.manual.as_ref();
        let number = |v: Option<String>| v.unwrap_or_default();
        let mut row = design_cells(&c.design);
        row.extend([
            serde_json::to_value(c.conclusion)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
            c.operating_percent.to_string(),
            number(automated.map(|a| a.targets.to_string())),
            number(automated.map(|a| a.seconds_failing.to_string())),
            number(automated.map(|a| a.seconds_unknown.to_string())),
            number(automated.map(|a| a.seconds_gap.to_string())),
            number(automated.map(|a| a.exceptions.len().to_string())),
            number(automated.map(|a| a.gaps.len().to_string())),
            number(manual.map(|m| m.evidence.len().to_string())),
            number(manual.map(|m| m.on_time.to_string())),
            number(manual.map(|m| m.late.to_string())),
            number(manual.map(|m| m.lapses.iter().map(|l| l.days).sum::<i64>().to_string())),
            c.samples
                .iter()
                .map(|s| format!("{} {}", s.population_size, s.population_kind))
                .collect::<Vec<_>>()
                .join("; "),
            c.samples
                .iter()
                .map(|s| s.items.len().to_string())
                .collect::<Vec<_>>()
                .join("; "),
        ]);
        rows.push(row);
    }
    csv_text(&rows)
}

/// Every exception and gap of a Type 2 report, one row each.
pub fn type2_exceptions_csv(report: &Type2Report) -> String {
    let mut rows = vec![
        [
            "control", "kind", "target", "from", "to", "seconds", "status", "severity", "results",
        ]
        .map(str::to_owned)
        .to_vec(),
    ];
    for c in &report.controls {
        let Some(automated) = &c.automated else {
            continue;
        };
        for e in &automated.exceptions {
            rows.push(vec![
                c.design.id.clone(),
                "exception".to_owned(),
                e.target.clone(),
                e.from.to_string(),
                e.to.to_string(),
                e.seconds.to_string(),
                e.status.to_string(),
                e.severity.to_string(),
                e.results.join("; "),
            ]);
        }
        for g in &automated.gaps {
            rows.push(vec![
                c.design.id.clone(),
                "gap".to_owned(),
                g.target.clone(),
                g.from.to_string(),
                g.to.to_string(),
                g.seconds.to_string(),
                String::new(),
                String::new(),
                String::new(),
            ]);
        }
    }
    csv_text(&rows)
}

/// The Type 1 control matrix: one row per control.
pub fn type1_matrix_csv(report: &Type1Report) -> String {
    let mut rows = vec![
        DESIGN_COLUMNS
            .iter()
            .chain(&["implementation", "reason"])
            .map(|c| (*c).to_owned())
            .collect::<Vec<_>>(),
    ];
    for c in &report.controls {
        let mut row = design_cells(&c.design);
        row.extend([c.implementation.to_string(), c.reason.clone()]);
        rows.push(row);
    }
    csv_text(&rows)
}

/// The controls of a readiness report, one row each.
pub(crate) fn readiness_csv(report: &crate::ReadinessReport) -> String {
    let mut rows = vec![
        [
            "control",
            "title",
            "status",
            "reason",
            "kind",
            "frequency",
            "owner",
            "severity",
            "criteria",
        ]
        .map(str::to_owned)
        .to_vec(),
    ];
    for c in &report.controls {
        rows.push(vec![
            c.id.clone(),
            c.title.clone(),
            c.status.to_string(),
            c.reason.clone(),
            c.kind.to_string(),
            c.frequency.to_string(),
            c.owner.clone(),
            c.severity.to_string(),
            c.criteria.join(" "),
        ]);
    }
    csv_text(&rows)
}
