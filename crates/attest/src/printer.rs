//! The only module that prints: tables, CSV, Markdown, JSON and diagnostics.

#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "the printer is the one place that prints"
)]

use std::io::{IsTerminal as _, Write as _};

use attest_diagnostics::Diagnostic;
use comfy_table::{ContentArrangement, Table, presets};
use serde::Serialize;

use crate::args::{ColorChoice, ListFormat};

/// Rows of a listing: a header and string cells, printable in every list format.
pub(crate) struct Listing {
    pub(crate) headers: Vec<&'static str>,
    pub(crate) rows: Vec<Vec<String>>,
}

impl Listing {
    pub(crate) fn new(headers: Vec<&'static str>) -> Self {
        Listing {
            headers,
            rows: Vec::new(),
        }
    }

    pub(crate) fn push(&mut self, row: Vec<String>) {
        self.rows.push(row);
    }

    fn to_table(&self) -> String {
        let mut table = Table::new();
        table.load_preset(presets::UTF8_HORIZONTAL_ONLY);
        table.set_content_arrangement(if std::io::stdout().is_terminal() {
            ContentArrangement::Dynamic
        } else {
            ContentArrangement::Disabled
        });
        table.set_header(self.headers.clone());
        for row in &self.rows {
            table.add_row(row.clone());
        }
        table.to_string()
    }

    fn to_csv(&self) -> anyhow::Result<String> {
        let mut writer = csv::Writer::from_writer(Vec::new());
        writer.write_record(&self.headers)?;
        for row in &self.rows {
            writer.write_record(row)?;
        }
        Ok(String::from_utf8(writer.into_inner()?)?)
    }

    fn to_markdown(&self) -> String {
        let cell = |text: &str| text.replace('|', "\\|").replace('\n', "<br>");
        let mut out = format!("| {} |\n", self.headers.join(" | "));
        out.push('|');
        out.push_str(&"---|".repeat(self.headers.len()));
        out.push('\n');
        for row in &self.rows {
            let cells: Vec<String> = row.iter().map(|c| cell(c)).collect();
            out.push_str("| ");
            out.push_str(&cells.join(" | "));
            out.push_str(" |\n");
        }
        out
    }
}

/// Prints a listing in `format`; JSON prints `json` (the documented objects) instead of rows.
pub(crate) fn print_listing<T: Serialize + ?Sized>(
    format: ListFormat,
    listing: &Listing,
    json: &T,
) -> anyhow::Result<()> {
    let text = match format {
        ListFormat::Table => format!("{}\n", listing.to_table()),
        ListFormat::Csv => listing.to_csv()?,
        ListFormat::Md => listing.to_markdown(),
        ListFormat::Json => format!("{}\n", serde_json::to_string_pretty(json)?),
    };
    print_text(&text)
}

/// Prints a value as pretty JSON.
pub(crate) fn print_json<T: Serialize + ?Sized>(value: &T) -> anyhow::Result<()> {
    print_text(&format!("{}\n", serde_json::to_string_pretty(value)?))
}

/// Prints text to standard output as is; a closed pipe (`| head`) is not an error.
pub(crate) fn print_text(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}

/// Prints a line for the person at the terminal (standard error), keeping stdout for data.
pub(crate) fn note(text: &str) {
    eprintln!("{text}");
}

/// Whether to colour standard error.
pub(crate) fn use_color(choice: ColorChoice) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none()
        }
    }
}

/// Prints diagnostics for a person to standard error.
pub(crate) fn print_diagnostics(diagnostics: &[Diagnostic], color: ColorChoice) {
    if diagnostics.is_empty() {
        return;
    }
    eprint!(
        "{}",
        attest_diagnostics::render_human(diagnostics, use_color(color))
    );
}

/// Prints an error that ended the command.
pub(crate) fn print_error(err: &anyhow::Error) {
    eprintln!("error: {err}");
    for cause in err.chain().skip(1) {
        eprintln!("  caused by: {cause}");
    }
}

/// A text bar of `width` cells for `percent` (0–100).
pub(crate) fn bar(percent: f64, width: usize) -> String {
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss,
        reason = "percent is clamped to 0..=100 and width is small"
    )]
    let filled = ((percent.clamp(0.0, 100.0) / 100.0) * width as f64).round() as usize;
    format!(
        "{}{}",
        "█".repeat(filled),
        "░".repeat(width.saturating_sub(filled))
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_and_csv_escape_cells() {
        let mut listing = Listing::new(vec!["id", "title"]);
        listing.push(vec!["A|1".into(), "x, \"y\"\nz".into()]);
        assert_eq!(
            listing.to_markdown(),
            "| id | title |\n|---|---|\n| A\\|1 | x, \"y\"<br>z |\n"
        );
        assert_eq!(
            listing.to_csv().unwrap(),
            "id,title\nA|1,\"x, \"\"y\"\"\nz\"\n"
        );
    }

    #[test]
    fn bars_fill_in_proportion() {
        assert_eq!(bar(0.0, 4), "░░░░");
        assert_eq!(bar(50.0, 4), "██░░");
        assert_eq!(bar(250.0, 4), "████");
    }
}
