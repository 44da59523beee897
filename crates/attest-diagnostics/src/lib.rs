//! Coded diagnostics with file spans, for every problem Attest finds in outside input.
//!
//! Loaders never stop at the first problem: they return their result together with a
//! `Vec<Diagnostic>`. Each diagnostic has a stable [`Code`], a [`Level`], a message, and where
//! possible a [`Location`] (file, byte span, 1-based line and column). Two renderers:
//! [`render_human`] (miette's graphical report with the source snippet) and [`to_json`].
//!
//! ```
//! use attest_diagnostics::{Code, Diagnostic, SourceFile};
//! let file = SourceFile::new("controls/ac.toml", "id = \"AC-1\"\n");
//! let diag = Diagnostic::error(Code::InvalidValue, "bad id").at(&file, 5..11);
//! assert_eq!(diag.location.as_ref().unwrap().line, 1);
//! assert_eq!(diag.location.as_ref().unwrap().column, 6);
//! ```

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;

/// A text file the diagnostics point into.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// Path as shown to the user (relative to the workspace, or `builtin/...`).
    pub path: PathBuf,
    /// The whole text.
    pub text: Arc<str>,
}

impl SourceFile {
    /// A source file from its display path and text.
    pub fn new(path: impl Into<PathBuf>, text: impl Into<Arc<str>>) -> Self {
        SourceFile {
            path: path.into(),
            text: text.into(),
        }
    }

    /// The 1-based line and column (in characters) of byte `offset`.
    pub fn line_column(&self, offset: usize) -> (usize, usize) {
        let offset = floor_char_boundary(&self.text, offset);
        let before = self.text.get(..offset).unwrap_or_default();
        let line = before.matches('\n').count().saturating_add(1);
        let line_start = before.rfind('\n').map_or(0, |i| i.saturating_add(1));
        let column = before
            .get(line_start..)
            .unwrap_or_default()
            .chars()
            .count()
            .saturating_add(1);
        (line, column)
    }
}

fn floor_char_boundary(text: &str, offset: usize) -> usize {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset = offset.saturating_sub(1);
    }
    offset
}

/// Where a diagnostic points.
#[derive(Debug, Clone)]
pub struct Location {
    /// The file.
    pub file: SourceFile,
    /// Byte range in the file.
    pub span: Range<usize>,
    /// 1-based line of the start of the span.
    pub line: usize,
    /// 1-based column (in characters) of the start of the span.
    pub column: usize,
}

impl Location {
    /// The location of `span` in `file`, with its line and column.
    pub fn new(file: &SourceFile, span: Range<usize>) -> Self {
        let (line, column) = file.line_column(span.start);
        Location {
            file: file.clone(),
            span,
            line,
            column,
        }
    }
}

/// How serious a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// Worth knowing; does not fail validation.
    Warning,
    /// The input is wrong; validation fails.
    Error,
}

/// Stable diagnostic codes; each has a section in `docs/diagnostics.md`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Code {
    /// A file could not be read.
    Io,
    /// A file is not valid TOML (or its front matter is not).
    Syntax,
    /// A file does not have the expected shape: unknown or missing field, wrong type.
    Schema,
    /// A value is not one of the allowed values, or is malformed.
    InvalidValue,
    /// A control maps to a criterion the catalog does not have.
    UnknownCriterion,
    /// A control names a check that does not exist.
    UnknownCheck,
    /// Two controls in the same layer share an id.
    DuplicateControl,
    /// Two criteria share an id.
    DuplicateCriterion,
    /// Two checks in the same layer share an id.
    DuplicateCheck,
    /// A check's Rego does not compile, or lacks the rule its id names.
    Rego,
    /// A check test case is malformed or fails.
    CheckTest,
    /// A manual or hybrid control lacks an evidence requirement, or an automated one has one.
    EvidenceRequirement,
    /// A control's id does not start with its family id.
    FamilyMismatch,
    /// The audit period is malformed (end before start).
    InvalidPeriod,
    /// An exclusion names a control that does not exist.
    UnknownControl,
}

impl Code {
    /// Every code.
    pub const ALL: &'static [Code] = &[
        Code::Io,
        Code::Syntax,
        Code::Schema,
        Code::InvalidValue,
        Code::UnknownCriterion,
        Code::UnknownCheck,
        Code::DuplicateControl,
        Code::DuplicateCriterion,
        Code::DuplicateCheck,
        Code::Rego,
        Code::CheckTest,
        Code::EvidenceRequirement,
        Code::FamilyMismatch,
        Code::InvalidPeriod,
        Code::UnknownControl,
    ];

    /// The code as written in output and docs, e.g. `unknown-criterion`.
    pub fn as_str(self) -> &'static str {
        match self {
            Code::Io => "io",
            Code::Syntax => "syntax",
            Code::Schema => "schema",
            Code::InvalidValue => "invalid-value",
            Code::UnknownCriterion => "unknown-criterion",
            Code::UnknownCheck => "unknown-check",
            Code::DuplicateControl => "duplicate-control",
            Code::DuplicateCriterion => "duplicate-criterion",
            Code::DuplicateCheck => "duplicate-check",
            Code::Rego => "rego",
            Code::CheckTest => "check-test",
            Code::EvidenceRequirement => "evidence-requirement",
            Code::FamilyMismatch => "family-mismatch",
            Code::InvalidPeriod => "invalid-period",
            Code::UnknownControl => "unknown-control",
        }
    }
}

/// One problem found in outside input.
#[derive(Debug, Clone)]
pub struct Diagnostic {
    /// Stable code.
    pub code: Code,
    /// Error or warning.
    pub level: Level,
    /// Plain-language message.
    pub message: String,
    /// Where it is, if it is in a file.
    pub location: Option<Location>,
    /// Short text under the caret.
    pub label: Option<String>,
    /// What to do about it.
    pub help: Option<String>,
}

impl Diagnostic {
    /// An error with `code` and `message`.
    pub fn error(code: Code, message: impl Into<String>) -> Self {
        Diagnostic {
            code,
            level: Level::Error,
            message: message.into(),
            location: None,
            label: None,
            help: None,
        }
    }

    /// A warning with `code` and `message`.
    pub fn warning(code: Code, message: impl Into<String>) -> Self {
        Diagnostic {
            level: Level::Warning,
            ..Self::error(code, message)
        }
    }

    /// Points the diagnostic at `span` of `file`.
    #[must_use]
    pub fn at(mut self, file: &SourceFile, span: Range<usize>) -> Self {
        self.location = Some(Location::new(file, span));
        self
    }

    /// Points the diagnostic at a whole file (line 1, column 1).
    #[must_use]
    pub fn in_file(self, file: &SourceFile) -> Self {
        self.at(file, 0..0)
    }

    /// Adds a label shown under the caret.
    #[must_use]
    pub fn with_label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    /// Adds a hint on how to fix it.
    #[must_use]
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// `file:line:column`, or `<input>` when the diagnostic has no location.
    pub fn position(&self) -> String {
        match &self.location {
            Some(loc) => format!("{}:{}:{}", loc.file.path.display(), loc.line, loc.column),
            None => "<input>".to_owned(),
        }
    }

    /// Whether this diagnostic fails validation.
    pub fn is_error(&self) -> bool {
        self.level == Level::Error
    }
}

/// Whether any of `diagnostics` is an error.
pub fn has_errors(diagnostics: &[Diagnostic]) -> bool {
    diagnostics.iter().any(Diagnostic::is_error)
}

/// The JSON shape of a diagnostic, documented in `docs/diagnostics.md`.
#[derive(Debug, Serialize)]
pub struct DiagnosticJson<'a> {
    /// Stable code.
    pub code: &'static str,
    /// `error` or `warning`.
    pub level: Level,
    /// Plain-language message.
    pub message: &'a str,
    /// File path, if any.
    pub file: Option<&'a Path>,
    /// 1-based line, if any.
    pub line: Option<usize>,
    /// 1-based column, if any.
    pub column: Option<usize>,
    /// Label under the caret.
    pub label: Option<&'a str>,
    /// Hint.
    pub help: Option<&'a str>,
}

/// Diagnostics as a JSON array.
pub fn to_json(diagnostics: &[Diagnostic]) -> serde_json::Value {
    let items: Vec<DiagnosticJson<'_>> = diagnostics
        .iter()
        .map(|d| DiagnosticJson {
            code: d.code.as_str(),
            level: d.level,
            message: &d.message,
            file: d.location.as_ref().map(|l| l.file.path.as_path()),
            line: d.location.as_ref().map(|l| l.line),
            column: d.location.as_ref().map(|l| l.column),
            label: d.label.as_deref(),
            help: d.help.as_deref(),
        })
        .collect();
    serde_json::to_value(items).unwrap_or_default()
}

/// Renders diagnostics for a person: a `file:line:column: level[code]: message` line each,
/// followed by miette's source snippet.
pub fn render_human(diagnostics: &[Diagnostic], color: bool) -> String {
    use std::fmt::Write as _;
    let theme = if color {
        miette::GraphicalTheme::unicode()
    } else {
        miette::GraphicalTheme::unicode_nocolor()
    };
    let handler = miette::GraphicalReportHandler::new_themed(theme).with_context_lines(1);
    let mut out = String::new();
    for diag in diagnostics {
        let level = match diag.level {
            Level::Error => "error",
            Level::Warning => "warning",
        };
        let _ = writeln!(
            out,
            "{}: {level}[{}]: {}",
            diag.position(),
            diag.code.as_str(),
            diag.message
        );
        if diag.location.is_some() {
            let named = diag.location.as_ref().map(|l| {
                miette::NamedSource::new(l.file.path.display().to_string(), l.file.text.clone())
            });
            let _ = handler.render_report(&mut out, &MietteView(diag, named));
        } else if let Some(help) = &diag.help {
            let _ = writeln!(out, "  help: {help}");
        }
    }
    out
}

/// Adapts a [`Diagnostic`] to miette for rendering, with its file named in the snippet frame.
struct MietteView<'a>(
    &'a Diagnostic,
    Option<miette::NamedSource<std::sync::Arc<str>>>,
);

impl std::fmt::Debug for MietteView<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::fmt::Display for MietteView<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.message)
    }
}

impl std::error::Error for MietteView<'_> {}

impl miette::Diagnostic for MietteView<'_> {
    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.0.level {
            Level::Error => miette::Severity::Error,
            Level::Warning => miette::Severity::Warning,
        })
    }

    fn help<'b>(&'b self) -> Option<Box<dyn std::fmt::Display + 'b>> {
        self.0
            .help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn std::fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.1
            .as_ref()
            .map(|named| named as &dyn miette::SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = miette::LabeledSpan> + '_>> {
        let loc = self.0.location.as_ref()?;
        let len = loc.span.end.saturating_sub(loc.span.start);
        let span = miette::LabeledSpan::new(self.0.label.clone(), loc.span.start, len);
        Some(Box::new(std::iter::once(span)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_count_characters_not_bytes() {
        let file = SourceFile::new("a.toml", "a = 1\ntitle = \"é\" x\n");
        // Byte offset of `x` on line 2: "title = \"é\" " is 13 bytes (é is 2 bytes), 12 chars.
        let x = file.text.find('x').unwrap();
        assert_eq!(file.line_column(x), (2, 13));
        assert_eq!(file.line_column(0), (1, 1));
        assert_eq!(file.line_column(10_000), (3, 1));
    }

    #[test]
    fn offsets_inside_a_character_do_not_panic() {
        let file = SourceFile::new("a.toml", "é");
        assert_eq!(file.line_column(1), (1, 1));
    }

    #[test]
    fn human_rendering_names_file_line_column_code_and_snippet() {
        let file = SourceFile::new("controls/ac.toml", "[[control]]\ncriteria = [\"CC9.9\"]\n");
        let start = file.text.find("\"CC9.9\"").unwrap();
        let diag = Diagnostic::error(Code::UnknownCriterion, "unknown criterion `CC9.9`")
            .at(&file, start..start + 7)
            .with_label("not in the catalog")
            .with_help("run `attest catalog criteria`");
        let text = render_human(&[diag], false);
        assert!(
            text.starts_with(
                "controls/ac.toml:2:13: error[unknown-criterion]: unknown criterion `CC9.9`\n"
            ),
            "{text}"
        );
        assert!(text.contains("criteria = [\"CC9.9\"]"), "{text}");
        assert!(text.contains("not in the catalog"), "{text}");
        assert!(text.contains("attest catalog criteria"), "{text}");
    }

    /// Every code has its section in `docs/diagnostics.md`, and every section is a code.
    #[test]
    fn every_code_is_documented() {
        let docs = include_str!("../../../docs/diagnostics.md");
        let sections: Vec<&str> = docs
            .lines()
            .filter_map(|l| l.strip_prefix("## `"))
            .filter_map(|l| l.split('`').next())
            .collect();
        let codes: Vec<&str> = Code::ALL.iter().map(|c| c.as_str()).collect();
        for code in &codes {
            assert!(sections.contains(code), "no section for `{code}`");
        }
        for section in &sections {
            assert!(codes.contains(section), "`{section}` is not a code");
        }
        // A new variant does not compile here (the match has no wildcard): add it to `ALL`
        // and give it a section in the docs.
        for code in Code::ALL {
            match code {
                Code::Io
                | Code::Syntax
                | Code::Schema
                | Code::InvalidValue
                | Code::UnknownCriterion
                | Code::UnknownCheck
                | Code::DuplicateControl
                | Code::DuplicateCriterion
                | Code::DuplicateCheck
                | Code::Rego
                | Code::CheckTest
                | Code::EvidenceRequirement
                | Code::FamilyMismatch
                | Code::InvalidPeriod
                | Code::UnknownControl => {}
            }
        }
        let unique: std::collections::HashSet<&Code> = Code::ALL.iter().collect();
        assert_eq!(unique.len(), Code::ALL.len());
    }

    #[test]
    fn json_rendering_carries_position() {
        let file = SourceFile::new("attest.toml", "x\ny\n");
        let diag = Diagnostic::warning(Code::Schema, "m").at(&file, 2..3);
        let json = to_json(&[diag]);
        assert_eq!(json[0]["code"], "schema");
        assert_eq!(json[0]["level"], "warning");
        assert_eq!(json[0]["line"], 2);
        assert_eq!(json[0]["column"], 1);
        assert_eq!(json[0]["file"], "attest.toml");
    }
}
