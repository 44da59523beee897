//! Reading TOML into the raw shapes field by field, collecting every problem.
//!
//! A file is first parsed into a spanned document (`toml::de::DeTable`); every syntax error
//! becomes a diagnostic. The document is then read table by table: a missing field, an unknown
//! field or a value of the wrong type becomes a diagnostic at its position, and reading goes on
//! with the next field, so one pass reports everything that is wrong with the file's shape.

use std::ops::Range;

use attest_diagnostics::{Code, Diagnostic, SourceFile};
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::raw::{
    RawBySeverity, RawCheck, RawCheckFile, RawConfig, RawControl, RawControlFile,
    RawControlsConfig, RawCriteriaFile, RawCriterion, RawDate, RawEvidence, RawExclusion,
    RawFamily, RawFindings, RawFix, RawMonitoring, RawNotify, RawOrganisation, RawPeriod,
    RawSampling, RawScope, RawSettings, RawSource,
};
use crate::validate::suggest_field;

/// Parses `file` as TOML and reads it as `T`.
///
/// Returns `None` only when the file is not valid TOML; then each syntax error is a diagnostic.
/// Otherwise every shape problem is a diagnostic and the fields that could be read are returned.
pub(crate) fn parse<T: FromTable>(
    file: &SourceFile,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<T> {
    let (document, errors) = DeTable::parse_recoverable(&file.text);
    if !errors.is_empty() {
        let mut syntax: Vec<Diagnostic> = errors
            .iter()
            .map(|err| {
                let diag = Diagnostic::error(
                    Code::Syntax,
                    format!("invalid TOML: {}", err.message().trim()),
                );
                match err.span() {
                    Some(span) => diag.at(file, span),
                    None => diag.in_file(file),
                }
            })
            .collect();
        sort_by_position(&mut syntax);
        diagnostics.extend(syntax);
        return None;
    }
    let mut reader = Reader::new(file);
    let span = document.span();
    let mut table = Table::new(document.get_ref(), span, String::new(), String::new());
    let value = T::from_table(&mut table, &mut reader);
    table.finish(&mut reader);
    sort_by_position(&mut reader.diagnostics);
    diagnostics.extend(reader.diagnostics);
    Some(value)
}

fn sort_by_position(diagnostics: &mut [Diagnostic]) {
    diagnostics.sort_by_key(|d| d.location.as_ref().map_or(0, |l| l.span.start));
}

/// Where shape diagnostics go while a file is read.
pub(crate) struct Reader<'f> {
    file: &'f SourceFile,
    diagnostics: Vec<Diagnostic>,
    /// Every field a table reader asked for, as `(table path, key, required)`: lets a test
    /// hold the reader to the published JSON Schema.
    #[cfg(test)]
    asked: Vec<(String, &'static str, bool)>,
}

impl<'f> Reader<'f> {
    fn new(file: &'f SourceFile) -> Self {
        Reader {
            file,
            diagnostics: Vec::new(),
            #[cfg(test)]
            asked: Vec::new(),
        }
    }

    /// A wrong-type diagnostic: `what` must be `expected`, not what `value` is.
    fn wrong_type(&mut self, value: &Spanned<DeValue<'_>>, what: &str, expected: &str) {
        let found = value.get_ref().type_str();
        let article = if found.starts_with(['a', 'e', 'i', 'o', 'u']) {
            "an"
        } else {
            "a"
        };
        let mut diag = Diagnostic::error(
            Code::Schema,
            format!("{what} must be {expected}, not {article} {found}"),
        )
        .at(self.file, value.span())
        .with_label(format!("expected {expected}"));
        if expected == STRING && !matches!(value.get_ref(), DeValue::Array(_) | DeValue::Table(_)) {
            diag = diag.with_help("write text in double quotes, e.g. \"text\"");
        }
        self.diagnostics.push(diag);
    }
}

const STRING: &str = "a string";

/// The value being read, for messages.
pub(crate) struct Field<'a> {
    /// How messages name it, e.g. "`owner` in control `AC-01`".
    what: &'a str,
    /// Its dotted key path, e.g. `control.evidence`.
    path: &'a str,
    /// Whether it is an item of an array.
    item: bool,
}

/// A value that can be read from one TOML value.
pub(crate) trait FromToml: Sized {
    /// Whether the value is a table (for the help on a missing field).
    const TABLE: bool = false;

    /// Reads `value`; on a problem, pushes a diagnostic and returns `None`.
    fn from_toml(
        value: &Spanned<DeValue<'_>>,
        field: &Field<'_>,
        reader: &mut Reader<'_>,
    ) -> Option<Self>;
}

/// A value read from a TOML table, field by field.
pub(crate) trait FromTable: Sized {
    /// Reads the fields of `table`. Missing required fields are `None` in the result; the
    /// caller reports unknown fields when this returns.
    fn from_table(table: &mut Table<'_, '_>, reader: &mut Reader<'_>) -> Self;
}

impl<T: FromTable> FromToml for T {
    const TABLE: bool = true;

    fn from_toml(
        value: &Spanned<DeValue<'_>>,
        field: &Field<'_>,
        reader: &mut Reader<'_>,
    ) -> Option<Self> {
        let DeValue::Table(entries) = value.get_ref() else {
            reader.wrong_type(value, field.what, "a table");
            return None;
        };
        let name = if field.item {
            format!("`[[{}]]`", field.path)
        } else {
            format!("`[{}]`", field.path)
        };
        let mut table = Table::new(entries, value.span(), field.path.to_owned(), name);
        let read = T::from_table(&mut table, reader);
        table.finish(reader);
        Some(read)
    }
}

impl FromToml for String {
    fn from_toml(
        value: &Spanned<DeValue<'_>>,
        field: &Field<'_>,
        reader: &mut Reader<'_>,
    ) -> Option<Self> {
        if let DeValue::String(s) = value.get_ref() {
            Some(s.to_string())
        } else {
            reader.wrong_type(value, field.what, STRING);
            None
        }
    }
}

impl FromToml for bool {
    fn from_toml(
        value: &Spanned<DeValue<'_>>,
        field: &Field<'_>,
        reader: &mut Reader<'_>,
    ) -> Option<Self> {
        if let DeValue::Boolean(b) = value.get_ref() {
            Some(*b)
        } else {
            reader.wrong_type(value, field.what, "`true` or `false`");
            None
        }
    }
}

impl FromToml for i64 {
    fn from_toml(
        value: &Spanned<DeValue<'_>>,
        field: &Field<'_>,
        reader: &mut Reader<'_>,
    ) -> Option<Self> {
        let DeValue::Integer(int) = value.get_ref() else {
            reader.wrong_type(value, field.what, "a whole number");
            return None;
        };
        if let Ok(n) = i64::from_str_radix(int.as_str(), int.radix()) {
            Some(n)
        } else {
            reader.diagnostics.push(
                Diagnostic::error(Code::InvalidValue, format!("{} is too large", field.what))
                    .at(reader.file, value.span()),
            );
            None
        }
    }
}

impl FromToml for RawDate {
    fn from_toml(
        value: &Spanned<DeValue<'_>>,
        field: &Field<'_>,
        reader: &mut Reader<'_>,
    ) -> Option<Self> {
        match value.get_ref() {
            DeValue::String(s) => Some(RawDate(s.to_string())),
            DeValue::Datetime(d) => Some(RawDate(d.to_string())),
            _ => {
                reader.wrong_type(value, field.what, "a date (YYYY-MM-DD)");
                None
            }
        }
    }
}

impl<T: FromToml> FromToml for Spanned<T> {
    const TABLE: bool = T::TABLE;

    fn from_toml(
        value: &Spanned<DeValue<'_>>,
        field: &Field<'_>,
        reader: &mut Reader<'_>,
    ) -> Option<Self> {
        T::from_toml(value, field, reader).map(|v| Spanned::new(value.span(), v))
    }
}

/// Arrays keep the items that could be read; each item that could not is a diagnostic.
impl<T: FromToml> FromToml for Vec<T> {
    fn from_toml(
        value: &Spanned<DeValue<'_>>,
        field: &Field<'_>,
        reader: &mut Reader<'_>,
    ) -> Option<Self> {
        let DeValue::Array(items) = value.get_ref() else {
            reader.wrong_type(value, field.what, "an array");
            return None;
        };
        let what = format!("an item of {}", field.what);
        let item = Field {
            what: &what,
            path: field.path,
            item: true,
        };
        Some(
            items
                .iter()
                .filter_map(|v| T::from_toml(v, &item, reader))
                .collect(),
        )
    }
}

/// One table being read: the fields asked for so far, to report the others as unknown.
pub(crate) struct Table<'a, 'i> {
    entries: &'a DeTable<'i>,
    span: Range<usize>,
    path: String,
    name: String,
    known: Vec<&'static str>,
    /// Required fields that are missing, and whether each is a table.
    missing: Vec<(&'static str, bool)>,
}

impl<'a, 'i> Table<'a, 'i> {
    fn new(entries: &'a DeTable<'i>, span: Range<usize>, path: String, name: String) -> Self {
        Table {
            entries,
            span,
            path,
            name,
            known: Vec::new(),
            missing: Vec::new(),
        }
    }

    /// Names the table in messages from now on, e.g. "control `AC-01`".
    pub(crate) fn rename(&mut self, name: String) {
        self.name = name;
    }

    /// `" in <name>"`, or nothing for the top level of a file.
    fn in_name(&self) -> String {
        if self.name.is_empty() {
            String::new()
        } else {
            format!(" in {}", self.name)
        }
    }

    fn read<T: FromToml>(&mut self, key: &'static str, reader: &mut Reader<'_>) -> Option<T> {
        self.known.push(key);
        let value = self.entries.get(key)?;
        let path = if self.path.is_empty() {
            key.to_owned()
        } else {
            format!("{}.{key}", self.path)
        };
        let what = format!("`{key}`{}", self.in_name());
        let field = Field {
            what: &what,
            path: &path,
            item: false,
        };
        T::from_toml(value, &field, reader)
    }

    /// A field that must be present: a diagnostic when it is missing.
    pub(crate) fn required<T: FromToml>(
        &mut self,
        key: &'static str,
        reader: &mut Reader<'_>,
    ) -> Option<T> {
        #[cfg(test)]
        reader.asked.push((self.path.clone(), key, true));
        if !self.entries.contains_key(key) {
            self.missing.push((key, T::TABLE));
        }
        self.read(key, reader)
    }

    /// A field that may be left out.
    pub(crate) fn optional<T: FromToml>(
        &mut self,
        key: &'static str,
        reader: &mut Reader<'_>,
    ) -> Option<T> {
        #[cfg(test)]
        reader.asked.push((self.path.clone(), key, false));
        self.read(key, reader)
    }

    /// Reports the required fields that are missing (in one diagnostic) and the fields no one
    /// asked for (one each).
    fn finish(self, reader: &mut Reader<'_>) {
        if let [(key, table)] = self.missing.as_slice() {
            let help = match (table, self.name.is_empty()) {
                (true, true) => format!("add a `[{key}]` table to the file"),
                (true, false) => format!("add a `{key}` table to {}", self.name),
                (false, true) => format!("add `{key} = ...` to the file"),
                (false, false) => format!("add `{key} = ...` to {}", self.name),
            };
            reader.diagnostics.push(
                Diagnostic::error(
                    Code::Schema,
                    format!("missing field `{key}`{}", self.in_name()),
                )
                .at(reader.file, self.span.clone())
                .with_label(format!("`{key}` is missing"))
                .with_help(help),
            );
        } else if !self.missing.is_empty() {
            let keys: Vec<String> = self.missing.iter().map(|(k, _)| format!("`{k}`")).collect();
            let keys = keys.join(", ");
            let place = if self.name.is_empty() {
                "the file".to_owned()
            } else {
                self.name.clone()
            };
            reader.diagnostics.push(
                Diagnostic::error(
                    Code::Schema,
                    format!("missing fields {keys}{}", self.in_name()),
                )
                .at(reader.file, self.span.clone())
                .with_label("required fields are missing")
                .with_help(format!("add {keys} to {place}")),
            );
        }
        let mut unknown: Vec<_> = self
            .entries
            .keys()
            .filter(|k| !self.known.contains(&k.get_ref().as_ref()))
            .collect();
        unknown.sort_by_key(|k| k.span().start);
        for key in unknown {
            let name = key.get_ref();
            let help = suggest_field(name, self.known.iter().copied()).map_or_else(
                || {
                    format!(
                        "the fields{} are: {}",
                        self.in_name(),
                        self.known.join(", ")
                    )
                },
                |s| format!("did you mean `{s}`?"),
            );
            reader.diagnostics.push(
                Diagnostic::error(
                    Code::Schema,
                    format!("unknown field `{name}`{}", self.in_name()),
                )
                .at(reader.file, key.span())
                .with_label("unknown field")
                .with_help(help),
            );
        }
    }
}

/// The id of a table, when it is a string, to name the table in messages.
fn id_of(table: &Table<'_, '_>) -> Option<String> {
    text_of(table, "id")
}

/// The text of field `key` of a table, when it is a string.
fn text_of(table: &Table<'_, '_>, key: &str) -> Option<String> {
    table
        .entries
        .get(key)
        .and_then(|v| v.get_ref().as_str())
        .map(|s| s.trim().to_owned())
}

impl FromTable for RawConfig {
    fn from_table(t: &mut Table<'_, '_>, r: &mut Reader<'_>) -> Self {
        RawConfig {
            organisation: t.required("organisation", r),
            scope: t.optional("scope", r).unwrap_or_default(),
            source: t.optional("source", r).unwrap_or_default(),
            controls: t.optional("controls", r).unwrap_or_default(),
            monitoring: t.optional("monitoring", r).unwrap_or_default(),
            sampling: t.optional("sampling", r).unwrap_or_default(),
            findings: t.optional("findings", r).unwrap_or_default(),
            notify: t.optional("notify", r).unwrap_or_default(),
        }
    }
}

impl FromTable for RawFindings {
    fn from_table(t: &mut Table<'_, '_>, r: &mut Reader<'_>) -> Self {
        RawFindings {
            grace: t.optional("grace", r),
            sla: t.optional("sla", r),
        }
    }
}

impl FromTable for RawBySeverity {
    fn from_table(t: &mut Table<'_, '_>, r: &mut Reader<'_>) -> Self {
        RawBySeverity {
            critical: t.optional("critical", r),
            high: t.optional("high", r),
            medium: t.optional("medium", r),
            low: t.optional("low", r),
            info: t.optional("info", r),
        }
    }
}

impl FromTable for RawNotify {
    fn from_table(t: &mut Table<'_, '_>, r: &mut Reader<'_>) -> Self {
        if let Some(name) = text_of(t, "name") {
            t.rename(format!("channel `{name}`"));
        }
        RawNotify {
            name: t.required("name", r),
            kind: t.required("kind", r),
            events: t.optional("events", r),
            min_severity: t.optional("min_severity", r),
            url_env: t.optional("url_env", r),
            url_file: t.optional("url_file", r),
            smtp_host: t.optional("smtp_host", r),
            smtp_port: t.optional("smtp_port", r),
            security: t.optional("security", r),
            username: t.optional("username", r),
            password_env: t.optional("password_env", r),
            password_file: t.optional("password_file", r),
            from: t.optional("from", r),
            to: t.optional("to", r),
            ca_file: t.optional("ca_file", r),
        }
    }
}

impl FromTable for RawMonitoring {
    fn from_table(t: &mut Table<'_, '_>, r: &mut Reader<'_>) -> Self {
        RawMonitoring {
            interval: t.optional("interval", r),
            schedule: t.optional("schedule", r),
            max_gap: t.optional("max_gap", r),
        }
    }
}

impl FromTable for RawSampling {
    fn from_table(t: &mut Table<'_, '_>, r: &mut Reader<'_>) -> Self {
        RawSampling {
            annual: t.optional("annual", r),
            quarterly: t.optional("quarterly", r),
            monthly: t.optional("monthly", r),
            weekly: t.optional("weekly", r),
            daily: t.optional("daily", r),
            per_event: t.optional("per_event", r),
            continuous: t.optional("continuous", r),
        }
    }
}

impl FromTable for RawOrganisation {
    fn from_table(t: &mut Table<'_, '_>, r: &mut Reader<'_>) -> Self {
        RawOrganisation {
            name: t.required("name", r),
        }
    }
}

impl FromTable for RawScope {
    fn from_table(t: &mut Table<'_, '_>, r: &mut Reader<'_>) -> Self {
        RawScope {
            audit_type: t.optional("type", r),
            categories: t.optional("categories", r).unwrap_or_default(),
            period: t.optional("period", r),
            systems: t.optional("systems", r).unwrap_or_default(),
        }
    }
}

impl FromTable for RawPeriod {
    fn from_table(t: &mut Table<'_, '_>, r: &mut Reader<'_>) -> Self {
        RawPeriod {
            start: t.required("start", r),
            end: t.required("end", r),
        }
    }
}

impl FromTable for RawSource {
    fn from_table(t: &mut Table<'_, '_>, r: &mut Reader<'_>) -> Self {
        RawSource {
            kind: t.required("kind", r),
            path: t.optional("path", r),
            enabled: t.optional("enabled", r).unwrap_or(true),
        }
    }
}

impl FromTable for RawControlsConfig {
    fn from_table(t: &mut Table<'_, '_>, r: &mut Reader<'_>) -> Self {
        RawControlsConfig {
            exclude: t.optional("exclude", r).unwrap_or_default(),
        }
    }
}

impl FromTable for RawExclusion {
    fn from_table(t: &mut Table<'_, '_>, r: &mut Reader<'_>) -> Self {
        if let Some(id) = id_of(t) {
            t.rename(format!("the exclusion of `{id}`"));
        }
        RawExclusion {
            id: t.required("id", r),
            reason: t.required("reason", r),
        }
    }
}

impl FromTable for RawControlFile {
    fn from_table(t: &mut Table<'_, '_>, r: &mut Reader<'_>) -> Self {
        RawControlFile {
            family: t.required("family", r),
            control: t.optional("control", r).unwrap_or_default(),
        }
    }
}

impl FromTable for RawFamily {
    fn from_table(t: &mut Table<'_, '_>, r: &mut Reader<'_>) -> Self {
        RawFamily {
            id: t.required("id", r),
            name: t.required("name", r),
            description: t.optional("description", r).unwrap_or_default(),
        }
    }
}

impl FromTable for RawControl {
    fn from_table(t: &mut Table<'_, '_>, r: &mut Reader<'_>) -> Self {
        if let Some(id) = id_of(t) {
            t.rename(format!("control `{id}`"));
        }
        RawControl {
            id: t.required("id", r),
            title: t.required("title", r),
            description: t.required("description", r),
            criteria: t.required("criteria", r),
            owner: t.required("owner", r),
            frequency: t.required("frequency", r),
            kind: t.required("kind", r),
            severity: t.optional("severity", r),
            checks: t.optional("checks", r).unwrap_or_default(),
            evidence: t.optional("evidence", r),
        }
    }
}

impl FromTable for RawEvidence {
    fn from_table(t: &mut Table<'_, '_>, r: &mut Reader<'_>) -> Self {
        RawEvidence {
            expected: t.required("expected", r),
            freshness_days: t.required("freshness_days", r),
        }
    }
}

impl FromTable for RawCriteriaFile {
    fn from_table(t: &mut Table<'_, '_>, r: &mut Reader<'_>) -> Self {
        RawCriteriaFile {
            criterion: t.optional("criterion", r).unwrap_or_default(),
        }
    }
}

impl FromTable for RawCriterion {
    fn from_table(t: &mut Table<'_, '_>, r: &mut Reader<'_>) -> Self {
        if let Some(id) = id_of(t) {
            t.rename(format!("criterion `{id}`"));
        }
        RawCriterion {
            id: t.required("id", r),
            category: t.required("category", r),
            series: t.required("series", r),
            title: t.required("title", r),
            description: t.required("description", r),
            points_of_focus: t.optional("points_of_focus", r).unwrap_or_default(),
        }
    }
}

impl FromTable for RawCheckFile {
    fn from_table(t: &mut Table<'_, '_>, r: &mut Reader<'_>) -> Self {
        RawCheckFile {
            check: t.optional("check", r).unwrap_or_default(),
        }
    }
}

impl FromTable for RawCheck {
    fn from_table(t: &mut Table<'_, '_>, r: &mut Reader<'_>) -> Self {
        if let Some(id) = id_of(t) {
            t.rename(format!("check `{id}`"));
        }
        RawCheck {
            id: t.required("id", r),
            title: t.required("title", r),
            severity: t.required("severity", r),
            rationale: t.required("rationale", r),
            remediation: t.required("remediation", r),
            references: t.optional("references", r).unwrap_or_default(),
            fix: t.optional("fix", r),
        }
    }
}

impl FromTable for RawFix {
    fn from_table(t: &mut Table<'_, '_>, r: &mut Reader<'_>) -> Self {
        RawFix {
            kind: t.required("kind", r),
            settings: t.required("settings", r),
        }
    }
}

/// A table of setting → value; every key is allowed, and each value must be a string.
impl FromToml for RawSettings {
    fn from_toml(
        value: &Spanned<DeValue<'_>>,
        field: &Field<'_>,
        reader: &mut Reader<'_>,
    ) -> Option<Self> {
        let DeValue::Table(entries) = value.get_ref() else {
            reader.wrong_type(value, field.what, "a table of setting = \"value\"");
            return None;
        };
        let mut settings = Vec::new();
        for (key, item) in entries {
            let what = format!("`{}` in {}", key.get_ref(), field.what);
            if let Some(text) = String::from_toml(
                item,
                &Field {
                    what: &what,
                    path: field.path,
                    item: false,
                },
                reader,
            ) {
                settings.push((
                    Spanned::new(key.span(), key.get_ref().to_string()),
                    Spanned::new(item.span(), text),
                ));
            }
        }
        settings.sort_by_key(|(key, _)| key.span().start);
        Some(RawSettings(settings))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use schemars::JsonSchema;

    use super::*;

    type Fields = (BTreeSet<String>, BTreeSet<String>);

    /// The fields the reader of `T` asks for: (all, required).
    fn read_fields<T: FromTable>() -> Fields {
        let file = SourceFile::new("x.toml", "");
        let mut reader = Reader::new(&file);
        let entries = DeTable::new();
        let mut table = Table::new(&entries, 0..0, String::new(), String::new());
        T::from_table(&mut table, &mut reader);
        let all = reader.asked.iter().map(|(_, k, _)| (*k).to_owned());
        let required = reader.asked.iter().filter(|a| a.2).map(|a| a.1.to_owned());
        (all.collect(), required.collect())
    }

    /// The fields the published JSON Schema of `T` describes: (all, required).
    fn schema_fields<T: JsonSchema>() -> Fields {
        let schema = schemars::schema_for!(T).to_value();
        let all = schema["properties"]
            .as_object()
            .map(|p| p.keys().cloned().collect())
            .unwrap_or_default();
        let required = schema["required"]
            .as_array()
            .map(|r| {
                r.iter()
                    .filter_map(|k| k.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        (all, required)
    }

    fn assert_same<T: FromTable + JsonSchema>() {
        assert_eq!(
            read_fields::<T>(),
            schema_fields::<T>(),
            "{}: the reader and the JSON Schema disagree (left: reader, right: schema)",
            std::any::type_name::<T>()
        );
    }

    /// The reader accepts exactly the fields the published schemas describe, and requires the
    /// same ones, so an editor and `attest validate` agree on every file.
    #[test]
    fn the_reader_and_the_json_schemas_agree_on_every_table() {
        assert_same::<RawConfig>();
        assert_same::<RawOrganisation>();
        assert_same::<RawScope>();
        assert_same::<RawPeriod>();
        assert_same::<RawSource>();
        assert_same::<RawNotify>();
        assert_same::<RawControlsConfig>();
        assert_same::<RawExclusion>();
        assert_same::<RawControlFile>();
        assert_same::<RawFamily>();
        assert_same::<RawControl>();
        assert_same::<RawEvidence>();
        assert_same::<RawCriteriaFile>();
        assert_same::<RawCriterion>();
        assert_same::<RawCheckFile>();
        assert_same::<RawCheck>();
        assert_same::<RawFix>();
    }

    #[test]
    fn integers_in_any_radix_and_out_of_range() {
        let file = SourceFile::new("x.toml", "a = 0x10\nb = 1_000\nc = 99999999999999999999\n");
        let mut diagnostics = Vec::new();
        let Some(table) = DeTable::parse(&file.text).ok() else {
            panic!("the test text parses")
        };
        let mut reader = Reader::new(&file);
        let mut t = Table::new(table.get_ref(), 0..0, String::new(), String::new());
        assert_eq!(t.required::<i64>("a", &mut reader), Some(16));
        assert_eq!(t.required::<i64>("b", &mut reader), Some(1000));
        assert_eq!(t.required::<i64>("c", &mut reader), None);
        t.finish(&mut reader);
        diagnostics.extend(reader.diagnostics);
        assert_eq!(diagnostics.len(), 1);
        assert_eq!(diagnostics[0].code, Code::InvalidValue);
        assert_eq!(diagnostics[0].message, "`c` is too large");
        assert_eq!(diagnostics[0].position(), "x.toml:3:5");
    }
}
