//! Raw file shapes → validated model types, collecting every problem as a diagnostic.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::str::FromStr;

use attest_diagnostics::{Code, Diagnostic, SourceFile};
use attest_model::{
    AuditType, Category, CheckMeta, Control, ControlKind, Criterion, EvidenceRequirement, Family,
    Frequency, Monitoring, Period, SampleSizes, Scope, Severity, UnknownVariant,
};
use jiff::civil::Date;
use jiff::{SignedDuration, Span, SpanRelativeTo};
use toml::Spanned;

use crate::raw::{
    RawCheckFile, RawConfig, RawControl, RawControlFile, RawCriteriaFile, RawMonitoring,
    RawSampling,
};
use crate::{Exclusion, SOURCE_KINDS, SourceConfig};

/// The validated content of `attest.toml`.
pub(crate) struct ValidatedConfig {
    pub(crate) organisation: String,
    pub(crate) scope: Scope,
    pub(crate) sources: Vec<SourceConfig>,
    pub(crate) excluded: Vec<Exclusion>,
    pub(crate) monitoring: Monitoring,
    pub(crate) sampling: SampleSizes,
}

/// Without `attest.toml`: no organisation, the default scope, the live host as source.
impl Default for ValidatedConfig {
    fn default() -> Self {
        ValidatedConfig {
            organisation: String::new(),
            scope: Scope::default(),
            sources: vec![SourceConfig {
                kind: "host".to_owned(),
                path: None,
            }],
            excluded: Vec::new(),
            monitoring: Monitoring::default(),
            sampling: SampleSizes::default(),
        }
    }
}

/// Where the first definition of an id was, for duplicate diagnostics.
type Seen = BTreeMap<String, String>;

fn enum_value<T: FromStr<Err = UnknownVariant>>(
    file: &SourceFile,
    value: &Spanned<String>,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<T> {
    match value.get_ref().parse::<T>() {
        Ok(v) => Some(v),
        Err(err) => {
            diagnostics.push(
                Diagnostic::error(
                    Code::InvalidValue,
                    format!("invalid {}: `{}`", err.what, err.value),
                )
                .at(file, value.span())
                .with_label(format!("not a {}", err.what))
                .with_help(format!("use one of: {}", err.expected.join(", "))),
            );
            None
        }
    }
}

fn position(file: &SourceFile, span: &Range<usize>) -> String {
    let (line, column) = file.line_column(span.start);
    format!("{}:{line}:{column}", file.path.display())
}

pub(crate) fn criteria(
    file: &SourceFile,
    raw: RawCriteriaFile,
    out: &mut BTreeMap<String, Criterion>,
    diagnostics: &mut Vec<Diagnostic>,
) {
    let mut seen = Seen::new();
    for c in raw.criterion {
        let id = c.id.get_ref().trim().to_owned();
        if id.is_empty() {
            diagnostics.push(
                Diagnostic::error(Code::InvalidValue, "criterion id is empty")
                    .at(file, c.id.span()),
            );
            continue;
        }
        if let Some(first) = seen.get(&id) {
            diagnostics.push(
                Diagnostic::error(
                    Code::DuplicateCriterion,
                    format!("criterion `{id}` is defined twice"),
                )
                .at(file, c.id.span())
                .with_label("second definition")
                .with_help(format!("first defined at {first}")),
            );
            continue;
        }
        seen.insert(id.clone(), position(file, &c.id.span()));
        let Some(category) = enum_value::<Category>(file, &c.category, diagnostics) else {
            continue;
        };
        out.insert(
            id.clone(),
            Criterion {
                id,
                category,
                series: c.series,
                title: c.title,
                description: c.description.trim().to_owned(),
                points_of_focus: c.points_of_focus,
            },
        );
    }
}

/// Validates one checks file; returns its valid checks.
pub(crate) fn checks(
    file: &SourceFile,
    raw: RawCheckFile,
    seen: &mut Seen,
    diagnostics: &mut Vec<Diagnostic>,
) -> Vec<CheckMeta> {
    let mut out = Vec::new();
    for check in raw.check {
        let id = check.id.get_ref().trim().to_owned();
        let parts: Vec<&str> = id.split('.').collect();
        let well_formed = parts.len() == 3
            && parts.iter().all(|p| {
                !p.is_empty()
                    && p.bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
            });
        let source = parts.first().copied().unwrap_or_default().to_owned();
        if !well_formed {
            diagnostics.push(
                Diagnostic::error(Code::InvalidValue, format!("invalid check id `{id}`"))
                    .at(file, check.id.span())
                    .with_help("a check id is `<source>.<family>.<name>` in lower case, e.g. `host.ssh.root_login_disabled`"),
            );
            continue;
        }
        if !SOURCE_KINDS.contains(&source.as_str()) {
            diagnostics.push(
                Diagnostic::error(
                    Code::InvalidValue,
                    format!("check `{id}` names unknown source `{source}`"),
                )
                .at(file, check.id.span())
                .with_help(format!(
                    "the first part of a check id is a source: {}",
                    SOURCE_KINDS.join(", ")
                )),
            );
            continue;
        }
        if let Some(first) = seen.get(&id) {
            diagnostics.push(
                Diagnostic::error(
                    Code::DuplicateCheck,
                    format!("check `{id}` is defined twice"),
                )
                .at(file, check.id.span())
                .with_help(format!("first defined at {first}")),
            );
            continue;
        }
        seen.insert(id.clone(), position(file, &check.id.span()));
        let Some(severity) = enum_value::<Severity>(file, &check.severity, diagnostics) else {
            continue;
        };
        out.push(CheckMeta {
            id,
            source,
            title: check.title.trim().to_owned(),
            severity,
            rationale: check.rationale.trim().to_owned(),
            remediation: check.remediation.trim().to_owned(),
            references: check.references,
        });
    }
    out
}

/// Validates one control file; returns its family and valid controls.
pub(crate) fn controls(
    file: &SourceFile,
    raw: RawControlFile,
    criteria: &BTreeMap<String, Criterion>,
    known_checks: &BTreeSet<String>,
    seen: &mut Seen,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<(Family, Vec<Control>)> {
    let family_id = raw.family.id.get_ref().trim().to_owned();
    if family_id.is_empty()
        || !family_id
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
    {
        diagnostics.push(
            Diagnostic::error(
                Code::InvalidValue,
                format!("invalid family id `{family_id}`"),
            )
            .at(file, raw.family.id.span())
            .with_help("a family id is short and upper case, e.g. `AC`"),
        );
        return None;
    }
    let family = Family {
        id: family_id,
        name: raw.family.name,
        description: raw.family.description,
    };
    let mut out = Vec::new();
    for control in raw.control {
        if let Some(control) = one_control(
            file,
            control,
            &family.id,
            criteria,
            known_checks,
            seen,
            diagnostics,
        ) {
            out.push(control);
        }
    }
    Some((family, out))
}

fn one_control(
    file: &SourceFile,
    raw: RawControl,
    family: &str,
    criteria: &BTreeMap<String, Criterion>,
    known_checks: &BTreeSet<String>,
    seen: &mut Seen,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<Control> {
    let errors_before = diagnostics.iter().filter(|d| d.is_error()).count();
    let id = raw.id.get_ref().trim().to_owned();
    let id_span = raw.id.span();
    if id.is_empty() || id.chars().any(char::is_whitespace) {
        diagnostics.push(
            Diagnostic::error(Code::InvalidValue, format!("invalid control id `{id}`"))
                .at(file, id_span.clone())
                .with_help("a control id has no spaces, e.g. `AC-01`"),
        );
    } else if let Some(first) = seen.get(&id) {
        diagnostics.push(
            Diagnostic::error(
                Code::DuplicateControl,
                format!("control `{id}` is defined twice"),
            )
            .at(file, id_span.clone())
            .with_label("second definition")
            .with_help(format!(
                "first defined at {first}; give one of them another id"
            )),
        );
    } else {
        seen.insert(id.clone(), position(file, &id_span));
        if !id.starts_with(&format!("{family}-")) {
            diagnostics.push(
                Diagnostic::warning(Code::FamilyMismatch, format!("control `{id}` is in family `{family}` but its id does not start with `{family}-`"))
                    .at(file, id_span.clone()),
            );
        }
    }
    if raw.title.get_ref().trim().is_empty() {
        diagnostics.push(
            Diagnostic::error(
                Code::InvalidValue,
                format!("control `{id}` has an empty title"),
            )
            .at(file, raw.title.span()),
        );
    }

    let criteria_span = raw.criteria.span();
    let mut mapped = Vec::new();
    for criterion in raw.criteria.into_inner() {
        let cid = criterion.get_ref().trim();
        if !criteria.contains_key(cid) {
            let help = suggest(cid, criteria.keys().map(String::as_str)).map_or_else(
                || "list criteria with `attest catalog criteria`".to_owned(),
                |s| format!("did you mean `{s}`?"),
            );
            diagnostics.push(
                Diagnostic::error(
                    Code::UnknownCriterion,
                    format!("control `{id}` maps to unknown criterion `{cid}`"),
                )
                .at(file, criterion.span())
                .with_label("not a criterion of the catalog")
                .with_help(help),
            );
        } else if mapped.iter().any(|m: &String| m == cid) {
            diagnostics.push(
                Diagnostic::warning(
                    Code::InvalidValue,
                    format!("control `{id}` lists criterion `{cid}` twice"),
                )
                .at(file, criterion.span()),
            );
        } else {
            mapped.push(cid.to_owned());
        }
    }
    if mapped.is_empty()
        && !diagnostics
            .iter()
            .skip(errors_before)
            .any(|d| d.code == Code::UnknownCriterion)
    {
        diagnostics.push(
            Diagnostic::error(
                Code::InvalidValue,
                format!("control `{id}` maps to no criterion"),
            )
            .at(file, criteria_span)
            .with_help(
                "every control addresses at least one criterion, e.g. criteria = [\"CC6.1\"]",
            ),
        );
    }

    let frequency = enum_value::<Frequency>(file, &raw.frequency, diagnostics);
    let kind = enum_value::<ControlKind>(file, &raw.kind, diagnostics);
    let severity = match &raw.severity {
        Some(s) => enum_value::<Severity>(file, s, diagnostics),
        None => Some(Severity::Medium),
    };

    let mut checks = Vec::new();
    for check in raw.checks {
        let name = check.get_ref().trim();
        if known_checks.contains(name) {
            checks.push(name.to_owned());
        } else {
            let help = suggest(name, known_checks.iter().map(String::as_str)).map_or_else(
                || "list checks with `attest checks list`".to_owned(),
                |s| format!("did you mean `{s}`?"),
            );
            diagnostics.push(
                Diagnostic::error(
                    Code::UnknownCheck,
                    format!("control `{id}` names unknown check `{name}`"),
                )
                .at(file, check.span())
                .with_label("no such check")
                .with_help(help),
            );
        }
    }

    let evidence = raw.evidence.as_ref().and_then(|ev| {
        let days = *ev.get_ref().freshness_days.get_ref();
        if let Ok(d @ 1..=3660) = u32::try_from(days) {
            Some(EvidenceRequirement {
                expected: ev.get_ref().expected.trim().to_owned(),
                freshness_days: d,
            })
        } else {
            diagnostics.push(
                Diagnostic::error(
                    Code::InvalidValue,
                    format!("freshness_days must be between 1 and 3660, not {days}"),
                )
                .at(file, ev.get_ref().freshness_days.span()),
            );
            None
        }
    });
    if let Some(kind) = kind {
        let evidence_span = raw.evidence.as_ref().map(Spanned::span);
        match (kind.needs_evidence(), evidence_span) {
            (true, None) => diagnostics.push(
                Diagnostic::error(Code::EvidenceRequirement, format!("{kind} control `{id}` does not say what evidence it needs"))
                    .at(file, raw.kind.span())
                    .with_help("add\n[control.evidence]\nexpected = \"...\"\nfreshness_days = 92\nafter the control's fields, or make it `kind = \"automated\"`"),
            ),
            (false, Some(span)) => diagnostics.push(
                Diagnostic::error(Code::EvidenceRequirement, format!("automated control `{id}` has a manual evidence requirement"))
                    .at(file, span)
                    .with_help("make it `kind = \"hybrid\"` or remove [control.evidence]"),
            ),
            _ => {}
        }
    }

    let errors_after = diagnostics.iter().filter(|d| d.is_error()).count();
    if errors_after > errors_before {
        return None;
    }
    Some(Control {
        id,
        family: family.to_owned(),
        title: raw.title.into_inner().trim().to_owned(),
        description: raw.description.trim().to_owned(),
        criteria: mapped,
        owner: raw.owner,
        frequency: frequency?,
        kind: kind?,
        severity: severity?,
        checks,
        evidence,
    })
}

/// The closest candidate to `value` by edit distance, if close enough to be a likely typo.
fn suggest<'a>(value: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .map(|c| {
            (
                edit_distance(&value.to_ascii_uppercase(), &c.to_ascii_uppercase()),
                c,
            )
        })
        .filter(|(d, c)| *d <= 1.max(c.len() / 5))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row.first().copied().unwrap_or(0);
        if let Some(first) = row.first_mut() {
            *first = i.saturating_add(1);
        }
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            let above = row.get(j.saturating_add(1)).copied().unwrap_or(usize::MAX);
            let left = row.get(j).copied().unwrap_or(usize::MAX);
            let value = (above.saturating_add(1))
                .min(left.saturating_add(1))
                .min(prev.saturating_add(cost));
            prev = above;
            if let Some(cell) = row.get_mut(j.saturating_add(1)) {
                *cell = value;
            }
        }
    }
    row.last().copied().unwrap_or(0)
}

fn date_value(
    file: &SourceFile,
    value: &Spanned<toml::Value>,
    field: &str,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<Date> {
    let text = match value.get_ref() {
        toml::Value::String(s) => s.clone(),
        toml::Value::Datetime(dt) => dt.to_string(),
        other => other.to_string(),
    };
    match text.parse::<Date>() {
        Ok(date) if text.len() == 10 => Some(date),
        _ => {
            diagnostics.push(
                Diagnostic::error(
                    Code::InvalidValue,
                    format!("invalid date for `{field}`: {text}"),
                )
                .at(file, value.span())
                .with_help("write a calendar date as YYYY-MM-DD, e.g. 2026-01-01"),
            );
            None
        }
    }
}

/// A positive duration such as `1h`, `90m`, `1d 12h` (days are 24 hours).
fn duration_value(
    file: &SourceFile,
    value: &Spanned<String>,
    field: &str,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<SignedDuration> {
    let parsed = value
        .get_ref()
        .trim()
        .parse::<Span>()
        .ok()
        .and_then(|span| span.to_duration(SpanRelativeTo::days_are_24_hours()).ok());
    match parsed {
        Some(duration) if duration.is_positive() => Some(duration),
        _ => {
            diagnostics.push(
                Diagnostic::error(
                    Code::InvalidValue,
                    format!("invalid duration for `{field}`: `{}`", value.get_ref()),
                )
                .at(file, value.span())
                .with_label("not a positive duration")
                .with_help("write a duration such as \"1h\", \"90m\" or \"1d 12h\""),
            );
            None
        }
    }
}

fn monitoring(
    file: &SourceFile,
    raw: &RawMonitoring,
    diagnostics: &mut Vec<Diagnostic>,
) -> Monitoring {
    let defaults = Monitoring::default();
    let interval = raw
        .interval
        .as_ref()
        .and_then(|v| duration_value(file, v, "monitoring.interval", diagnostics))
        .unwrap_or(defaults.interval);
    let max_gap = match &raw.max_gap {
        Some(value) => {
            let max_gap = duration_value(file, value, "monitoring.max_gap", diagnostics);
            if let Some(max_gap) = max_gap
                && max_gap < interval
            {
                diagnostics.push(
                    Diagnostic::error(
                        Code::InvalidValue,
                        format!(
                            "`monitoring.max_gap` ({max_gap:#}) is shorter than the interval ({interval:#}): every run would start a gap"
                        ),
                    )
                    .at(file, value.span())
                    .with_help("allow at least one interval between runs, e.g. one and a half"),
                );
            }
            max_gap.unwrap_or(interval)
        }
        None => interval.saturating_add(interval / 2),
    };
    Monitoring { interval, max_gap }
}

fn sampling(
    file: &SourceFile,
    raw: &RawSampling,
    diagnostics: &mut Vec<Diagnostic>,
) -> SampleSizes {
    let defaults = SampleSizes::default();
    let mut size = |value: &Option<Spanned<i64>>, field: &str, default: u32| -> u32 {
        let Some(value) = value else { return default };
        match u32::try_from(*value.get_ref()) {
            Ok(n) if (1..=1000).contains(&n) => n,
            _ => {
                diagnostics.push(
                    Diagnostic::error(
                        Code::InvalidValue,
                        format!(
                            "invalid sample size for `sampling.{field}`: {}",
                            value.get_ref()
                        ),
                    )
                    .at(file, value.span())
                    .with_help("a sample size is a whole number from 1 to 1000"),
                );
                default
            }
        }
    };
    SampleSizes {
        annual: size(&raw.annual, "annual", defaults.annual),
        quarterly: size(&raw.quarterly, "quarterly", defaults.quarterly),
        monthly: size(&raw.monthly, "monthly", defaults.monthly),
        weekly: size(&raw.weekly, "weekly", defaults.weekly),
        daily: size(&raw.daily, "daily", defaults.daily),
        per_event: size(&raw.per_event, "per_event", defaults.per_event),
        continuous: size(&raw.continuous, "continuous", defaults.continuous),
    }
}

pub(crate) fn config(
    file: &SourceFile,
    raw: RawConfig,
    controls: &BTreeMap<String, Control>,
    diagnostics: &mut Vec<Diagnostic>,
) -> ValidatedConfig {
    let audit_type = raw
        .scope
        .audit_type
        .as_ref()
        .and_then(|t| enum_value::<AuditType>(file, t, diagnostics))
        .unwrap_or(AuditType::Type2);
    let mut categories = vec![Category::Security];
    for c in &raw.scope.categories {
        if let Some(category) = enum_value::<Category>(file, c, diagnostics)
            && !categories.contains(&category)
        {
            categories.push(category);
        }
    }
    categories.sort();
    let period = raw.scope.period.as_ref().and_then(|p| {
        let start = date_value(file, &p.start, "scope.period.start", diagnostics);
        let end = date_value(file, &p.end, "scope.period.end", diagnostics);
        let (start, end) = (start?, end?);
        if end < start {
            diagnostics.push(
                Diagnostic::error(
                    Code::InvalidPeriod,
                    format!("the audit period ends ({end}) before it starts ({start})"),
                )
                .at(file, p.end.span()),
            );
            return None;
        }
        let days = start.until(end).map_or(0, |s| s.get_days());
        if audit_type == AuditType::Type2 && !(89..=366).contains(&days) {
            diagnostics.push(
                Diagnostic::warning(
                    Code::InvalidPeriod,
                    format!(
                        "a Type 2 period usually lasts 3 to 12 months; this one lasts {} days",
                        days.saturating_add(1)
                    ),
                )
                .at(file, p.start.span()),
            );
        }
        Some(Period { start, end })
    });

    let mut sources = Vec::new();
    for source in raw.source {
        let kind = source.kind.get_ref().trim();
        if SOURCE_KINDS.contains(&kind) {
            if source.enabled {
                sources.push(SourceConfig {
                    kind: kind.to_owned(),
                    path: source.path,
                });
            }
        } else {
            diagnostics.push(
                Diagnostic::error(Code::InvalidValue, format!("invalid source kind: `{kind}`"))
                    .at(file, source.kind.span())
                    .with_label("not a source")
                    .with_help(format!("use one of: {}", SOURCE_KINDS.join(", "))),
            );
        }
    }

    let mut excluded = Vec::new();
    for exclusion in raw.controls.exclude {
        let id = exclusion.id.get_ref().trim();
        if !controls.contains_key(id) {
            diagnostics.push(
                Diagnostic::error(
                    Code::UnknownControl,
                    format!("cannot exclude unknown control `{id}`"),
                )
                .at(file, exclusion.id.span())
                .with_help("list controls with `attest controls list`"),
            );
        } else if exclusion.reason.trim().is_empty() {
            diagnostics.push(
                Diagnostic::error(Code::InvalidValue, format!("excluding `{id}` needs a reason"))
                    .at(file, exclusion.id.span())
                    .with_help("auditors read the reason in the report; e.g. reason = \"carved out: hosted by our cloud provider\""),
            );
        } else {
            excluded.push(Exclusion {
                id: id.to_owned(),
                reason: exclusion.reason.trim().to_owned(),
            });
        }
    }

    let monitoring = monitoring(file, &raw.monitoring, diagnostics);
    let sampling = sampling(file, &raw.sampling, diagnostics);
    ValidatedConfig {
        monitoring,
        sampling,
        organisation: raw.organisation.name.trim().to_owned(),
        scope: Scope {
            audit_type,
            categories,
            period,
            systems: raw.scope.systems,
        },
        sources,
        excluded,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions_catch_typos_only() {
        let ids = ["CC6.1", "CC6.2", "CC7.1", "A1.1"];
        assert_eq!(suggest("CC6.l", ids.iter().copied()), Some("CC6.1"));
        assert_eq!(suggest("cc7.1", ids.iter().copied()), Some("CC7.1"));
        assert_eq!(suggest("PI9.9", ids.iter().copied()), None);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
    }
}
