//! Readiness assessment and the rendering of reports.
//!
//! [`readiness::assess`] turns a workspace, its evidence and its current results into a
//! [`ReadinessReport`]; [`render`] writes it as JSON, Markdown or one self-contained HTML
//! file (inline CSS and SVG, no external assets).

mod audit;
pub mod design;
pub mod readiness;
pub mod results;
pub mod sample;
pub mod type1;
pub mod type2;

pub use audit::{
    render_type1, render_type2, type1_matrix_csv, type2_exceptions_csv, type2_matrix_csv,
};

pub use readiness::{ReadinessInput, ReadinessReport, assess};

use minijinja::{Environment, context};

/// Report output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportFormat {
    /// One self-contained HTML file.
    Html,
    /// GitHub-flavoured Markdown.
    Markdown,
    /// JSON with a published schema.
    Json,
    /// Comma-separated values: the control matrix.
    Csv,
}

/// Why a report could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// A template failed to render.
    #[error("cannot render the report: {0}")]
    Template(#[from] minijinja::Error),
    /// The report could not be serialized.
    #[error("cannot serialize the report: {0}")]
    Json(#[from] serde_json::Error),
}

pub(crate) const STYLE: &str = include_str!("../templates/style.css");

fn environment() -> Result<Environment<'static>, minijinja::Error> {
    let mut env = Environment::new();
    env.add_template(
        "readiness.html",
        include_str!("../templates/readiness.html"),
    )?;
    env.add_template("readiness.md", include_str!("../templates/readiness.md"))?;
    // Table cells in Markdown must not break the row.
    env.add_filter("md", |value: String| {
        value.replace('|', "\\|").replace('\n', " ")
    });
    env.add_filter("code_spans", |value: String| {
        minijinja::Value::from_safe_string(code_spans(&value))
    });
    Ok(env)
}

/// `text` as HTML, with its `backticked` spans (commands in remediation steps, written for
/// the terminal and Markdown) as `<code>`. Everything is escaped; an unmatched backtick stays.
fn code_spans(text: &str) -> String {
    use std::fmt::Write as _;
    let parts: Vec<&str> = text.split('`').collect();
    // An even number of parts means an odd number of backticks: the last one has no pair.
    let unmatched = parts.len().is_multiple_of(2);
    let mut out = String::with_capacity(text.len());
    for (i, part) in parts.iter().enumerate() {
        let escaped = minijinja::HtmlEscape(part);
        let last = i.saturating_add(1) == parts.len();
        if i % 2 == 1 && !(unmatched && last) {
            let _ = write!(out, "<code>{escaped}</code>");
        } else if i % 2 == 1 {
            let _ = write!(out, "`{escaped}");
        } else {
            let _ = write!(out, "{escaped}");
        }
    }
    out
}

/// Renders a readiness report in `format`.
pub fn render(report: &ReadinessReport, format: ReportFormat) -> Result<String, RenderError> {
    let template = match format {
        ReportFormat::Json => {
            let mut text = serde_json::to_string_pretty(report)?;
            text.push('\n');
            return Ok(text);
        }
        ReportFormat::Csv => return Ok(audit::readiness_csv(report)),
        ReportFormat::Html => "readiness.html",
        ReportFormat::Markdown => "readiness.md",
    };
    let env = environment()?;
    let audit_type = match report.audit_type {
        attest_model::AuditType::Type1 => "Type 1",
        attest_model::AuditType::Type2 => "Type 2",
    };
    let text = env.get_template(template)?.render(context! {
        r => report,
        css => STYLE,
        audit_type => audit_type,
        // To the minute, for people; the JSON keeps the exact time.
        generated => report.generated_at.strftime("%Y-%m-%d %H:%M UTC").to_string(),
        version => env!("CARGO_PKG_VERSION"),
    })?;
    Ok(text)
}

/// The JSON Schema of the readiness report.
pub fn readiness_schema() -> serde_json::Value {
    schemars::schema_for!(ReadinessReport).to_value()
}

#[cfg(test)]
mod tests {
    use super::code_spans;

    #[test]
    fn code_spans_are_code_and_everything_is_escaped() {
        assert_eq!(
            code_spans("Run `attest scan --root <dir>` & check"),
            "Run <code>attest scan --root &lt;dir&gt;</code> &amp; check"
        );
        assert_eq!(
            code_spans("`a` then `b`"),
            "<code>a</code> then <code>b</code>"
        );
        assert_eq!(code_spans("one ` alone"), "one ` alone");
        assert_eq!(
            code_spans("`a` and ` <b>"),
            "<code>a</code> and ` &lt;b&gt;"
        );
        assert_eq!(code_spans(""), "");
    }
}
