//! Raw file shapes → validated model types, collecting every problem as a diagnostic.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use attest_diagnostics::{Code, Diagnostic, Location, SourceFile};
use attest_model::{
    AuditType, Category, ChannelKind, CheckMeta, Control, ControlKind, Criterion,
    EvidenceRequirement, Family, FindingPolicy, Fix, FixKind, Frequency, Monitoring, NOTIFY_EVENTS,
    NotifyConfig, NotifyTarget, Period, SampleSizes, Scope, SecretSource, Severity, SmtpConfig,
    SmtpSecurity, UnknownVariant,
};
use jiff::civil::Date;
use jiff::{SignedDuration, Span, SpanRelativeTo};
use toml::Spanned;

use crate::raw::{
    RawCheckFile, RawConfig, RawControl, RawControlFile, RawCriteriaFile, RawDate, RawFamily,
    RawFindings, RawFix, RawMonitoring, RawNotify, RawSampling,
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
    pub(crate) findings: FindingPolicy,
    pub(crate) notify: Vec<NotifyConfig>,
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
            findings: FindingPolicy::default(),
            notify: Vec::new(),
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
        // A missing field was reported when the file was read.
        let id =
            c.id.as_ref()
                .and_then(|id| criterion_id(file, id, &mut seen, diagnostics));
        let category = c
            .category
            .as_ref()
            .and_then(|v| enum_value::<Category>(file, v, diagnostics));
        let (Some(id), Some(category), Some(series), Some(title), Some(description)) =
            (id, category, c.series, c.title, c.description)
        else {
            continue;
        };
        out.insert(
            id.clone(),
            Criterion {
                id,
                category,
                series,
                title,
                description: description.trim().to_owned(),
                points_of_focus: c.points_of_focus,
            },
        );
    }
}

/// A criterion id that is not empty and new.
fn criterion_id(
    file: &SourceFile,
    value: &Spanned<String>,
    seen: &mut Seen,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<String> {
    let id = value.get_ref().trim().to_owned();
    if id.is_empty() {
        diagnostics.push(
            Diagnostic::error(Code::InvalidValue, "criterion id is empty").at(file, value.span()),
        );
        return None;
    }
    first_definition(
        file,
        value,
        &id,
        ("criterion", Code::DuplicateCriterion),
        seen,
        diagnostics,
    )
    .then_some(id)
}

/// Validates one checks file; returns its valid checks, each with where its id is written.
pub(crate) fn checks(
    file: &SourceFile,
    raw: RawCheckFile,
    seen: &mut Seen,
    diagnostics: &mut Vec<Diagnostic>,
) -> Vec<(CheckMeta, Location)> {
    let mut out = Vec::new();
    for check in raw.check {
        // A missing field was reported when the file was read.
        let id = check
            .id
            .as_ref()
            .and_then(|id| check_id(file, id, seen, diagnostics));
        let severity = check
            .severity
            .as_ref()
            .and_then(|v| enum_value::<Severity>(file, v, diagnostics));
        // A fix that is wrong is reported, and the check is kept without it.
        let fix = check.fix.as_ref().and_then(|raw| {
            let source = id.as_ref().map(|(_, source)| source.as_str());
            fix(file, raw, source, diagnostics)
        });
        let (
            Some(id_value),
            Some((id, source)),
            Some(severity),
            Some(title),
            Some(rationale),
            Some(remediation),
        ) = (
            check.id,
            id,
            severity,
            check.title,
            check.rationale,
            check.remediation,
        )
        else {
            continue;
        };
        let meta = CheckMeta {
            id,
            source,
            title: title.trim().to_owned(),
            severity,
            rationale: rationale.trim().to_owned(),
            remediation: remediation.trim().to_owned(),
            references: check.references,
            fix,
        };
        out.push((meta, Location::new(file, id_value.span())));
    }
    out
}

/// A check's fix, when its kind is known and every setting is one line the kind's files can
/// hold. Whether the configuration's program accepts a setting is judged when the fix is
/// planned (`attest remediate` reads it as that program does); here only what would make the
/// drop-in file malformed is refused.
fn fix(
    file: &SourceFile,
    raw: &Spanned<RawFix>,
    source: Option<&str>,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<Fix> {
    let before = diagnostics.len();
    let kind = raw
        .get_ref()
        .kind
        .as_ref()
        .and_then(|v| enum_value::<FixKind>(file, v, diagnostics));
    if let Some(source) = source.filter(|s| *s != "host") {
        diagnostics.push(
            Diagnostic::error(
                Code::InvalidValue,
                format!("a fix applies to host checks only, not to a `{source}` check"),
            )
            .at(file, raw.span())
            .with_label("not a host check")
            .with_help("remove the fix and describe the change in `remediation`"),
        );
    }
    let settings = raw.get_ref().settings.as_ref()?;
    if settings.get_ref().0.is_empty() {
        diagnostics.push(
            Diagnostic::error(Code::InvalidValue, "a fix has no settings")
                .at(file, settings.span())
                .with_label("empty")
                .with_help(
                    "add the settings the drop-in file sets, e.g. `{ PermitRootLogin = \"no\" }`",
                ),
        );
    }
    let mut out = BTreeMap::new();
    for (key, value) in &settings.get_ref().0 {
        if let Some(kind) = kind {
            if let Some((problem, help)) = bad_setting_key(kind, key.get_ref()) {
                diagnostics.push(
                    Diagnostic::error(Code::InvalidValue, problem)
                        .at(file, key.span())
                        .with_label(format!("not a {kind} setting"))
                        .with_help(help),
                );
            }
            if let Some(problem) = bad_setting_value(kind, value.get_ref()) {
                diagnostics.push(
                    Diagnostic::error(
                        Code::InvalidValue,
                        format!("invalid value of `{}`: {problem}", key.get_ref()),
                    )
                    .at(file, value.span())
                    .with_label("cannot be written as one setting line"),
                );
            }
        }
        out.insert(key.get_ref().clone(), value.get_ref().trim().to_owned());
    }
    (diagnostics.len() == before).then_some(Fix {
        kind: kind?,
        settings: out,
    })
}

/// Why `key` cannot be a setting of a `kind` drop-in file, with a help text; `None` if it can.
fn bad_setting_key(kind: FixKind, key: &str) -> Option<(String, String)> {
    let word = |k: &str| !k.is_empty() && k.bytes().all(|b| b.is_ascii_alphanumeric());
    match kind {
        FixKind::Sshd => {
            if !word(key) {
                return Some((
                    format!("`{key}` is not an sshd keyword"),
                    "an sshd keyword is one word of letters, e.g. `PermitRootLogin`".to_owned(),
                ));
            }
            if key.eq_ignore_ascii_case("match") || key.eq_ignore_ascii_case("include") {
                return Some((
                    format!(
                        "a fix cannot write `{key}`: it would change how sshd reads its other files"
                    ),
                    "set plain keywords only".to_owned(),
                ));
            }
            None
        }
        FixKind::Sysctl => {
            let ok = !key.is_empty()
                && !key.starts_with(['-', '.', '/'])
                && key
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._-/*".contains(&b));
            (!ok).then(|| {
                (
                    format!("`{key}` is not a sysctl key"),
                    "a sysctl key is a dotted name, e.g. `kernel.randomize_va_space`".to_owned(),
                )
            })
        }
        FixKind::Journald | FixKind::Coredump => (!word(key)).then(|| {
            (
                format!("`{key}` is not a systemd setting name"),
                "a systemd setting is one word of letters, e.g. `Storage`".to_owned(),
            )
        }),
        FixKind::Limits => {
            let words: Vec<&str> = key.split_whitespace().collect();
            let ok = matches!(words.as_slice(), [domain, ltype, item]
                if !domain.starts_with('#')
                    && ["hard", "soft", "-"].contains(ltype)
                    && item.bytes().all(|b| b.is_ascii_lowercase()));
            (!ok).then(|| {
                (
                    format!("`{key}` is not a limits key"),
                    "a limits key is `<domain> <type> <item>`, e.g. `* hard core`, with type `hard`, `soft` or `-`".to_owned(),
                )
            })
        }
    }
}

/// Why `value` cannot be the value of one `kind` setting line; `None` if it can.
fn bad_setting_value(kind: FixKind, value: &str) -> Option<&'static str> {
    let value = value.trim();
    if value.is_empty() {
        return Some("it is empty");
    }
    if value.chars().any(char::is_control) {
        return Some("it has a line break or another control character");
    }
    match kind {
        FixKind::Sshd if value.starts_with('#') => Some("sshd would read it as a comment"),
        FixKind::Limits if value.split_whitespace().count() != 1 => {
            Some("a limit is one word, e.g. `0` or `unlimited`")
        }
        _ => None,
    }
}

/// A check id that is well formed, names a source and is new: `(id, source)`.
fn check_id(
    file: &SourceFile,
    value: &Spanned<String>,
    seen: &mut Seen,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<(String, String)> {
    let id = value.get_ref().trim().to_owned();
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
                .at(file, value.span())
                .with_help("a check id is `<source>.<family>.<name>` in lower case, e.g. `host.ssh.root_login_disabled`"),
        );
        return None;
    }
    if !SOURCE_KINDS.contains(&source.as_str()) {
        diagnostics.push(
            Diagnostic::error(
                Code::InvalidValue,
                format!("check `{id}` names unknown source `{source}`"),
            )
            .at(file, value.span())
            .with_help(format!(
                "the first part of a check id is a source: {}",
                SOURCE_KINDS.join(", ")
            )),
        );
        return None;
    }
    first_definition(
        file,
        value,
        &id,
        ("check", Code::DuplicateCheck),
        seen,
        diagnostics,
    )
    .then_some((id, source))
}

/// Whether `id` (written at `value`) is defined here for the first time; a duplicate
/// diagnostic with `code` otherwise, naming it as a `what`.
fn first_definition(
    file: &SourceFile,
    value: &Spanned<String>,
    id: &str,
    (what, code): (&str, Code),
    seen: &mut Seen,
    diagnostics: &mut Vec<Diagnostic>,
) -> bool {
    if let Some(first) = seen.get(id) {
        diagnostics.push(
            Diagnostic::error(code, format!("{what} `{id}` is defined twice"))
                .at(file, value.span())
                .with_label("second definition")
                .with_help(format!("first defined at {first}")),
        );
        return false;
    }
    seen.insert(id.to_owned(), position(file, &value.span()));
    true
}

/// Validates one control file; returns its family and valid controls.
///
/// The controls are validated even when the family is not, so that every problem is reported.
pub(crate) fn controls(
    file: &SourceFile,
    raw: RawControlFile,
    criteria: &BTreeMap<String, Criterion>,
    known_checks: &BTreeSet<String>,
    seen: &mut Seen,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<(Family, Vec<Control>)> {
    let family = raw
        .family
        .and_then(|family| one_family(file, family, diagnostics));
    let family_id = family.as_ref().map(|f| f.id.clone());
    let context = ControlContext {
        file,
        family: family_id.as_deref(),
        criteria,
        known_checks,
    };
    let mut out = Vec::new();
    for control in raw.control {
        if let Some(control) = one_control(&context, control, seen, diagnostics) {
            out.push(control);
        }
    }
    Some((family?, out))
}

fn one_family(
    file: &SourceFile,
    raw: RawFamily,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<Family> {
    // A missing field was reported when the file was read.
    let id_value = raw.id?;
    let id = id_value.get_ref().trim().to_owned();
    if id.is_empty()
        || !id
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
    {
        diagnostics.push(
            Diagnostic::error(Code::InvalidValue, format!("invalid family id `{id}`"))
                .at(file, id_value.span())
                .with_help("a family id is short and upper case, e.g. `AC`"),
        );
        return None;
    }
    Some(Family {
        id,
        name: raw.name?,
        description: raw.description,
    })
}

/// What one control is validated against.
struct ControlContext<'a> {
    file: &'a SourceFile,
    /// The file's family id, when it is valid.
    family: Option<&'a str>,
    criteria: &'a BTreeMap<String, Criterion>,
    known_checks: &'a BTreeSet<String>,
}

fn one_control(
    cx: &ControlContext<'_>,
    raw: RawControl,
    seen: &mut Seen,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<Control> {
    let file = cx.file;
    let errors_before = diagnostics.iter().filter(|d| d.is_error()).count();
    let id = raw
        .id
        .as_ref()
        .map(|v| v.get_ref().trim().to_owned())
        .unwrap_or_default();
    // How messages name the control; a missing id was reported when the file was read.
    let who = if raw.id.is_some() {
        format!("control `{id}`")
    } else {
        "a control without an id".to_owned()
    };
    if let Some(id_value) = &raw.id {
        let id_span = id_value.span();
        if id.is_empty() || id.chars().any(char::is_whitespace) {
            diagnostics.push(
                Diagnostic::error(Code::InvalidValue, format!("invalid control id `{id}`"))
                    .at(file, id_span)
                    .with_help("a control id has no spaces, e.g. `AC-01`"),
            );
        } else if let Some(first) = seen.get(&id) {
            diagnostics.push(
                Diagnostic::error(Code::DuplicateControl, format!("{who} is defined twice"))
                    .at(file, id_span)
                    .with_label("second definition")
                    .with_help(format!(
                        "first defined at {first}; give one of them another id"
                    )),
            );
        } else {
            seen.insert(id.clone(), position(file, &id_span));
            if let Some(family) = cx.family
                && !id.starts_with(&format!("{family}-"))
            {
                diagnostics.push(
                    Diagnostic::warning(
                        Code::FamilyMismatch,
                        format!("{who} is in family `{family}` but its id does not start with `{family}-`"),
                    )
                    .at(file, id_span),
                );
            }
        }
    }
    if let Some(title) = &raw.title
        && title.get_ref().trim().is_empty()
    {
        diagnostics.push(
            Diagnostic::error(Code::InvalidValue, format!("{who} has an empty title"))
                .at(file, title.span()),
        );
    }

    let mapped = raw
        .criteria
        .map(|criteria| mapped_criteria(cx, &who, criteria, diagnostics));

    let frequency = raw
        .frequency
        .as_ref()
        .and_then(|v| enum_value::<Frequency>(file, v, diagnostics));
    let kind = raw
        .kind
        .as_ref()
        .and_then(|v| enum_value::<ControlKind>(file, v, diagnostics));
    let severity = match &raw.severity {
        Some(s) => enum_value::<Severity>(file, s, diagnostics),
        None => Some(Severity::Medium),
    };

    let mut checks = Vec::new();
    for check in raw.checks {
        let name = check.get_ref().trim();
        if cx.known_checks.contains(name) {
            checks.push(name.to_owned());
        } else {
            let help = did_you_mean(
                name,
                cx.known_checks.iter().map(String::as_str),
                "list checks with `attest checks list`",
            );
            diagnostics.push(
                Diagnostic::error(
                    Code::UnknownCheck,
                    format!("{who} names unknown check `{name}`"),
                )
                .at(file, check.span())
                .with_label("no such check")
                .with_help(help),
            );
        }
    }

    let evidence = raw.evidence.as_ref().map(|ev| {
        let ev = ev.get_ref();
        let days = ev.freshness_days.as_ref().and_then(|days| {
            if let Ok(d @ 1..=3660) = u32::try_from(*days.get_ref()) {
                Some(d)
            } else {
                diagnostics.push(
                    Diagnostic::error(
                        Code::InvalidValue,
                        format!(
                            "freshness_days must be between 1 and 3660, not {}",
                            days.get_ref()
                        ),
                    )
                    .at(file, days.span()),
                );
                None
            }
        });
        // A missing field was reported when the file was read.
        Some(EvidenceRequirement {
            expected: ev.expected.as_deref()?.trim().to_owned(),
            freshness_days: days?,
        })
    });
    if let (Some(kind), Some(kind_value)) = (kind, &raw.kind) {
        let evidence_span = raw.evidence.as_ref().map(Spanned::span);
        match (kind.needs_evidence(), evidence_span) {
            (true, None) => diagnostics.push(
                Diagnostic::error(Code::EvidenceRequirement, format!("{kind} {who} does not say what evidence it needs"))
                    .at(file, kind_value.span())
                    .with_help("add\n[control.evidence]\nexpected = \"...\"\nfreshness_days = 92\nafter the control's fields, or make it `kind = \"automated\"`"),
            ),
            (false, Some(span)) => diagnostics.push(
                Diagnostic::error(Code::EvidenceRequirement, format!("automated {who} has a manual evidence requirement"))
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
    // Any field still missing was reported when the file was read.
    raw.id?;
    Some(Control {
        id,
        family: cx.family?.to_owned(),
        title: raw.title?.into_inner().trim().to_owned(),
        description: raw.description?.trim().to_owned(),
        criteria: mapped?,
        owner: raw.owner?,
        frequency: frequency?,
        kind: kind?,
        severity: severity?,
        checks,
        evidence: match evidence {
            Some(requirement) => Some(requirement?),
            None => None,
        },
    })
}

/// The known criteria of a control's `criteria` list; a diagnostic for each unknown or repeated
/// one, and for an empty list.
fn mapped_criteria(
    cx: &ControlContext<'_>,
    who: &str,
    criteria: Spanned<Vec<Spanned<String>>>,
    diagnostics: &mut Vec<Diagnostic>,
) -> Vec<String> {
    let file = cx.file;
    let criteria_span = criteria.span();
    let mut mapped = Vec::new();
    let mut unknown = false;
    for criterion in criteria.into_inner() {
        let cid = criterion.get_ref().trim();
        if !cx.criteria.contains_key(cid) {
            unknown = true;
            let help = did_you_mean(
                cid,
                cx.criteria.keys().map(String::as_str),
                "list criteria with `attest catalog criteria`",
            );
            diagnostics.push(
                Diagnostic::error(
                    Code::UnknownCriterion,
                    format!("{who} maps to unknown criterion `{cid}`"),
                )
                .at(file, criterion.span())
                .with_label("not a criterion of the catalog")
                .with_help(help),
            );
        } else if mapped.iter().any(|m: &String| m == cid) {
            diagnostics.push(
                Diagnostic::warning(
                    Code::InvalidValue,
                    format!("{who} lists criterion `{cid}` twice"),
                )
                .at(file, criterion.span()),
            );
        } else {
            mapped.push(cid.to_owned());
        }
    }
    if mapped.is_empty() && !unknown {
        diagnostics.push(
            Diagnostic::error(Code::InvalidValue, format!("{who} maps to no criterion"))
                .at(file, criteria_span)
                .with_help(
                    "every control addresses at least one criterion, e.g. criteria = [\"CC6.1\"]",
                ),
        );
    }
    mapped
}

/// The closest candidate to `value` by edit distance, if close enough to be a likely typo of
/// an id (`CC6.l` for `CC6.1`).
fn suggest<'a>(value: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    closest(value, candidates, |c| 1.max(c.len() / 5))
}

/// The check id `value` was probably meant to be: the closest by edit distance, else the only
/// one that ends with `.<value>`.
pub(crate) fn closest_check<'a>(
    value: &str,
    ids: impl Iterator<Item = &'a str> + Clone,
) -> Option<&'a str> {
    suggest(value, ids.clone()).or_else(|| {
        let suffix = format!(".{}", value.trim_start_matches('.'));
        let mut ending = ids.filter(|id| id.ends_with(&suffix));
        match (ending.next(), ending.next()) {
            (Some(id), None) => Some(id),
            _ => None,
        }
    })
}

/// "did you mean `X`?" for the closest id to `value`, else `otherwise`.
fn did_you_mean<'a>(
    value: &str,
    candidates: impl Iterator<Item = &'a str>,
    otherwise: &str,
) -> String {
    suggest(value, candidates)
        .map_or_else(|| otherwise.to_owned(), |s| format!("did you mean `{s}`?"))
}

/// The closest field name to `value`: names are words, so a dropped syllable (`fresh_days` for
/// `freshness_days`) is still a likely typo.
pub(crate) fn suggest_field<'a>(
    value: &str,
    candidates: impl Iterator<Item = &'a str>,
) -> Option<&'a str> {
    closest(value, candidates, |c| 2.max(c.len() / 3))
}

fn closest<'a>(
    value: &str,
    candidates: impl Iterator<Item = &'a str>,
    max_distance: impl Fn(&str) -> usize,
) -> Option<&'a str> {
    candidates
        .map(|c| {
            (
                edit_distance(&value.to_ascii_uppercase(), &c.to_ascii_uppercase()),
                c,
            )
        })
        .filter(|(d, c)| *d <= max_distance(c))
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
    value: &Spanned<RawDate>,
    field: &str,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<Date> {
    let text = &value.get_ref().0;
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
    duration_at_least(file, value, field, false, diagnostics)
}

/// A duration such as `1h`, `90m`, `1d 12h` (days are 24 hours), positive, or zero too when
/// `zero` is allowed.
fn duration_at_least(
    file: &SourceFile,
    value: &Spanned<String>,
    field: &str,
    zero: bool,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<SignedDuration> {
    let parsed = value
        .get_ref()
        .trim()
        .parse::<Span>()
        .ok()
        .and_then(|span| span.to_duration(SpanRelativeTo::days_are_24_hours()).ok());
    match parsed {
        Some(duration) if duration.is_positive() || (zero && duration.is_zero()) => Some(duration),
        _ => {
            diagnostics.push(
                Diagnostic::error(
                    Code::InvalidValue,
                    format!("invalid duration for `{field}`: `{}`", value.get_ref()),
                )
                .at(file, value.span())
                .with_label(if zero {
                    "not a duration"
                } else {
                    "not a positive duration"
                })
                .with_help("write a duration such as \"1h\", \"90m\" or \"1d 12h\""),
            );
            None
        }
    }
}

fn finding_policy(
    file: &SourceFile,
    raw: &RawFindings,
    diagnostics: &mut Vec<Diagnostic>,
) -> FindingPolicy {
    let mut policy = FindingPolicy::default();
    for (table, values, zero) in [("grace", &raw.grace, true), ("sla", &raw.sla, false)] {
        let Some(values) = values else { continue };
        let target = if table == "grace" {
            &mut policy.grace
        } else {
            &mut policy.sla
        };
        // Info, low, medium, high, critical: the order of FindingPolicy's arrays.
        for (index, (name, value)) in [
            ("info", &values.info),
            ("low", &values.low),
            ("medium", &values.medium),
            ("high", &values.high),
            ("critical", &values.critical),
        ]
        .into_iter()
        .enumerate()
        {
            let Some(value) = value else { continue };
            let field = format!("findings.{table}.{name}");
            if let (Some(duration), Some(slot)) = (
                duration_at_least(file, value, &field, zero, diagnostics),
                target.get_mut(index),
            ) {
                *slot = duration;
            }
        }
    }
    policy
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
    let schedule = raw.schedule.as_ref().and_then(|value| {
        let text = value.get_ref().trim();
        match croner::Cron::from_str(text) {
            Ok(_) => Some(text.to_owned()),
            Err(err) => {
                diagnostics.push(
                    Diagnostic::error(
                        Code::InvalidValue,
                        format!("invalid cron expression for `monitoring.schedule`: {err}"),
                    )
                    .at(file, value.span())
                    .with_label("not a cron expression")
                    .with_help("five fields in UTC: minute hour day-of-month month day-of-week, e.g. \"0 * * * *\" for every hour"),
                );
                None
            }
        }
    });
    Monitoring {
        interval,
        schedule,
        max_gap,
    }
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

/// The fields of a `[[notify]]` table that only webhook kinds take.
const WEBHOOK_FIELDS: &[&str] = &["url_env", "url_file"];
/// The fields of a `[[notify]]` table that only `email` takes.
const EMAIL_FIELDS: &[&str] = &[
    "smtp_host",
    "smtp_port",
    "security",
    "username",
    "password_env",
    "password_file",
    "from",
    "to",
    "ca_file",
];

/// Validates the `[[notify]]` channels; a channel with any error is left out.
fn notify(
    file: &SourceFile,
    raw: Vec<Spanned<RawNotify>>,
    diagnostics: &mut Vec<Diagnostic>,
) -> Vec<NotifyConfig> {
    // Relative secret and certificate files are relative to the workspace folder.
    let base = file.path.parent().unwrap_or(Path::new(""));
    let mut seen = Seen::new();
    let mut out = Vec::new();
    for table in raw {
        let span = table.span();
        let raw = table.into_inner();
        let errors_before = error_count(diagnostics);
        // A missing name or kind was reported when the file was read.
        let name = raw
            .name
            .as_ref()
            .and_then(|v| channel_name(file, v, &mut seen, diagnostics));
        // Named as written even when the name itself is wrong.
        let who = raw.name.as_ref().map_or_else(
            || "a channel without a name".to_owned(),
            |n| format!("channel `{}`", n.get_ref().trim()),
        );
        let kind = raw
            .kind
            .as_ref()
            .and_then(|v| enum_value::<ChannelKind>(file, v, diagnostics));
        let events = raw
            .events
            .as_ref()
            .map(|e| notify_events(file, &who, e, diagnostics))
            .unwrap_or_default();
        let min_severity = match &raw.min_severity {
            Some(v) => enum_value::<Severity>(file, v, diagnostics),
            None => Some(Severity::Info),
        };
        let channel = ChannelTable {
            file,
            base,
            who: &who,
            span,
            raw: &raw,
        };
        let target = match (kind, &raw.kind) {
            (Some(ChannelKind::Email), _) => channel.email(diagnostics).map(NotifyTarget::Email),
            (Some(kind), Some(kind_value)) => channel
                .webhook_url(kind, kind_value, diagnostics)
                .map(|url| match kind {
                    ChannelKind::Slack => NotifyTarget::Slack(url),
                    ChannelKind::Teams => NotifyTarget::Teams(url),
                    _ => NotifyTarget::Webhook(url),
                }),
            _ => None,
        };
        if error_count(diagnostics) > errors_before {
            continue;
        }
        let (Some(name), Some(min_severity), Some(target)) = (name, min_severity, target) else {
            continue;
        };
        out.push(NotifyConfig {
            name,
            events,
            min_severity,
            target,
        });
    }
    out
}

fn error_count(diagnostics: &[Diagnostic]) -> usize {
    diagnostics.iter().filter(|d| d.is_error()).count()
}

/// A channel name that is well formed and new.
fn channel_name(
    file: &SourceFile,
    value: &Spanned<String>,
    seen: &mut Seen,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<String> {
    let name = value.get_ref().trim().to_owned();
    let well_formed = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if !well_formed {
        diagnostics.push(
            Diagnostic::error(Code::InvalidValue, format!("invalid channel name `{name}`"))
                .at(file, value.span())
                .with_help(
                    "a channel name is letters, digits, `-`, `_` and `.`, e.g. `security-slack`",
                ),
        );
        return None;
    }
    first_definition(
        file,
        value,
        &name,
        ("notification channel", Code::InvalidValue),
        seen,
        diagnostics,
    )
    .then_some(name)
}

/// The known events of a channel's `events` list; a diagnostic for each unknown one.
fn notify_events(
    file: &SourceFile,
    who: &str,
    events: &Spanned<Vec<Spanned<String>>>,
    diagnostics: &mut Vec<Diagnostic>,
) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for event in events.get_ref() {
        let name = event.get_ref().trim();
        if !NOTIFY_EVENTS.contains(&name) {
            let help = suggest(name, NOTIFY_EVENTS.iter().copied()).map_or_else(
                || format!("the events are: {}", NOTIFY_EVENTS.join(", ")),
                |s| {
                    format!(
                        "did you mean `{s}`? the events are: {}",
                        NOTIFY_EVENTS.join(", ")
                    )
                },
            );
            diagnostics.push(
                Diagnostic::error(
                    Code::InvalidValue,
                    format!("{who} names unknown event `{name}`"),
                )
                .at(file, event.span())
                .with_label("not an event")
                .with_help(help),
            );
        } else if !out.iter().any(|e| e == name) {
            out.push(name.to_owned());
        }
    }
    if events.get_ref().is_empty() {
        diagnostics.push(
            Diagnostic::warning(
                Code::InvalidValue,
                format!("{who} lists no event, so it receives nothing"),
            )
            .at(file, events.span())
            .with_help("leave `events` out to receive every event"),
        );
    }
    out
}

/// One `[[notify]]` table being validated.
struct ChannelTable<'a> {
    file: &'a SourceFile,
    /// The folder relative paths are relative to.
    base: &'a Path,
    /// How messages name the channel.
    who: &'a str,
    /// The table, for diagnostics about missing fields.
    span: Range<usize>,
    raw: &'a RawNotify,
}

impl ChannelTable<'_> {
    /// The fields that are set, with where their values are.
    fn present(&self) -> Vec<(&'static str, Range<usize>)> {
        fn at<T>(v: Option<&Spanned<T>>) -> Option<Range<usize>> {
            v.map(Spanned::span)
        }
        let r = self.raw;
        [
            ("url_env", at(r.url_env.as_ref())),
            ("url_file", at(r.url_file.as_ref())),
            ("smtp_host", at(r.smtp_host.as_ref())),
            ("smtp_port", at(r.smtp_port.as_ref())),
            ("security", at(r.security.as_ref())),
            ("username", at(r.username.as_ref())),
            ("password_env", at(r.password_env.as_ref())),
            ("password_file", at(r.password_file.as_ref())),
            ("from", at(r.from.as_ref())),
            ("to", at(r.to.as_ref())),
            ("ca_file", at(r.ca_file.as_ref())),
        ]
        .into_iter()
        .filter_map(|(key, span)| Some((key, span?)))
        .collect()
    }

    /// An error for each set field in `foreign`, which a `kind` channel does not take.
    fn reject_fields(
        &self,
        kind: ChannelKind,
        foreign: &[&str],
        own: &[&str],
        diagnostics: &mut Vec<Diagnostic>,
    ) {
        for (key, span) in self.present() {
            if foreign.contains(&key) {
                diagnostics.push(
                    Diagnostic::error(
                        Code::Schema,
                        format!("`{key}` does not apply to {} (kind `{kind}`)", self.who),
                    )
                    .at(self.file, span)
                    .with_label("not a field of this kind")
                    .with_help(format!(
                        "kind `{kind}` takes: name, kind, events, min_severity, {}",
                        own.join(", ")
                    )),
                );
            }
        }
    }

    /// A secret given as `<what>_env` or `<what>_file`: `None` when neither is given (the
    /// caller decides whether that is an error) or when it is malformed (a diagnostic).
    fn secret(
        &self,
        (env_key, env): (&str, Option<&Spanned<String>>),
        (file_key, path): (&str, Option<&Spanned<String>>),
        diagnostics: &mut Vec<Diagnostic>,
    ) -> Option<SecretSource> {
        match (env, path) {
            (Some(_), Some(path)) => {
                diagnostics.push(
                    Diagnostic::error(
                        Code::Schema,
                        format!("{} gives both `{env_key}` and `{file_key}`", self.who),
                    )
                    .at(self.file, path.span())
                    .with_help(format!("keep one of `{env_key}` and `{file_key}`")),
                );
                None
            }
            (Some(var), None) => {
                let name = var.get_ref().trim();
                let mut chars = name.chars();
                let valid = chars
                    .next()
                    .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                    && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
                if valid {
                    Some(SecretSource::Env(name.to_owned()))
                } else {
                    diagnostics.push(
                        Diagnostic::error(
                            Code::InvalidValue,
                            format!("`{env_key}` of {} is not an environment variable name", self.who),
                        )
                        .at(self.file, var.span())
                        .with_help("name the variable that holds the secret, e.g. ATTEST_SLACK_WEBHOOK; never the secret itself"),
                    );
                    None
                }
            }
            (None, Some(path)) => self
                .path(file_key, path, diagnostics)
                .map(SecretSource::File),
            (None, None) => None,
        }
    }

    /// A file path, relative to the workspace folder unless absolute.
    fn path(
        &self,
        key: &str,
        value: &Spanned<String>,
        diagnostics: &mut Vec<Diagnostic>,
    ) -> Option<PathBuf> {
        let text = value.get_ref().trim();
        if text.is_empty() {
            diagnostics.push(
                Diagnostic::error(
                    Code::InvalidValue,
                    format!("`{key}` of {} is empty", self.who),
                )
                .at(self.file, value.span()),
            );
            return None;
        }
        Some(self.base.join(text))
    }

    fn webhook_url(
        &self,
        kind: ChannelKind,
        kind_value: &Spanned<String>,
        diagnostics: &mut Vec<Diagnostic>,
    ) -> Option<SecretSource> {
        self.reject_fields(kind, EMAIL_FIELDS, WEBHOOK_FIELDS, diagnostics);
        let r = self.raw;
        let url = self.secret(
            ("url_env", r.url_env.as_ref()),
            ("url_file", r.url_file.as_ref()),
            diagnostics,
        );
        if r.url_env.is_none() && r.url_file.is_none() {
            diagnostics.push(
                Diagnostic::error(
                    Code::Schema,
                    format!("{} needs `url_env` or `url_file`", self.who),
                )
                .at(self.file, kind_value.span())
                .with_label("a webhook needs its URL")
                .with_help("name the environment variable or file that holds the webhook URL, e.g. url_env = \"ATTEST_SLACK_WEBHOOK\""),
            );
        }
        url
    }

    fn email(&self, diagnostics: &mut Vec<Diagnostic>) -> Option<SmtpConfig> {
        self.reject_fields(
            ChannelKind::Email,
            WEBHOOK_FIELDS,
            EMAIL_FIELDS,
            diagnostics,
        );
        let (file, who, r) = (self.file, self.who, self.raw);
        let missing: Vec<&str> = [
            ("smtp_host", r.smtp_host.is_none()),
            ("from", r.from.is_none()),
            ("to", r.to.is_none()),
        ]
        .into_iter()
        .filter_map(|(key, missing)| missing.then_some(key))
        .collect();
        if !missing.is_empty() {
            let keys: Vec<String> = missing.iter().map(|k| format!("`{k}`")).collect();
            let keys = keys.join(", ");
            let noun = if missing.len() == 1 {
                "field"
            } else {
                "fields"
            };
            diagnostics.push(
                Diagnostic::error(Code::Schema, format!("missing {noun} {keys} in {who}"))
                    .at(file, self.span.clone())
                    .with_label("an `email` channel needs these")
                    .with_help(format!("add {keys} to {who}")),
            );
        }
        let host = r.smtp_host.as_ref().and_then(|host| {
            let text = host.get_ref().trim();
            if text.is_empty() || text.contains(|c: char| c.is_whitespace() || c == '/') {
                diagnostics.push(
                    Diagnostic::error(
                        Code::InvalidValue,
                        format!("invalid `smtp_host` in {who}: `{text}`"),
                    )
                    .at(file, host.span())
                    .with_help("write the server's host name, e.g. \"smtp.example.com\""),
                );
                None
            } else {
                Some(text.to_owned())
            }
        });
        let security = match &r.security {
            Some(v) => enum_value::<SmtpSecurity>(file, v, diagnostics),
            None => Some(SmtpSecurity::Starttls),
        };
        let port = match &r.smtp_port {
            Some(value) => {
                if let Ok(port @ 1..) = u16::try_from(*value.get_ref()) {
                    Some(port)
                } else {
                    diagnostics.push(
                        Diagnostic::error(
                            Code::InvalidValue,
                            format!("invalid `smtp_port` in {who}: {}", value.get_ref()),
                        )
                        .at(file, value.span())
                        .with_help("a port is a whole number from 1 to 65535, e.g. 587"),
                    );
                    None
                }
            }
            None => security.map(SmtpSecurity::default_port),
        };
        let password = self.secret(
            ("password_env", r.password_env.as_ref()),
            ("password_file", r.password_file.as_ref()),
            diagnostics,
        );
        let has_password = r.password_env.is_some() || r.password_file.is_some();
        match (&r.username, has_password) {
            (Some(user), false) => diagnostics.push(
                Diagnostic::error(
                    Code::Schema,
                    format!("{who} gives `username` but no password"),
                )
                .at(file, user.span())
                .with_help("add `password_env` or `password_file`, or remove `username` to send without authentication"),
            ),
            (None, true) => {
                let span = r
                    .password_env
                    .as_ref()
                    .or(r.password_file.as_ref())
                    .map_or_else(|| self.span.clone(), Spanned::span);
                diagnostics.push(
                    Diagnostic::error(
                        Code::Schema,
                        format!("{who} gives a password but no `username`"),
                    )
                    .at(file, span)
                    .with_help("add the user name to authenticate with, e.g. username = \"attest\""),
                );
            }
            _ => {}
        }
        if security == Some(SmtpSecurity::None)
            && has_password
            && let Some(value) = &r.security
        {
            diagnostics.push(
                Diagnostic::warning(
                    Code::InvalidValue,
                    format!("{who} would send its SMTP password without encryption"),
                )
                .at(file, value.span())
                .with_help(
                    "use security = \"starttls\" or \"tls\" unless the server is on this host",
                ),
            );
        }
        let username = r.username.as_ref().and_then(|user| {
            let text = user.get_ref().trim();
            if text.is_empty() {
                diagnostics.push(
                    Diagnostic::error(Code::InvalidValue, format!("`username` of {who} is empty"))
                        .at(file, user.span()),
                );
                None
            } else {
                Some(text.to_owned())
            }
        });
        let from = r
            .from
            .as_ref()
            .and_then(|from| self.mailbox("from", from, diagnostics));
        let to = r.to.as_ref().map(|to| {
            if to.get_ref().is_empty() {
                diagnostics.push(
                    Diagnostic::error(Code::InvalidValue, format!("{who} has no recipient"))
                        .at(file, to.span())
                        .with_help(
                            "list at least one address, e.g. to = [\"security@example.com\"]",
                        ),
                );
            }
            to.get_ref()
                .iter()
                .filter_map(|address| self.mailbox("to", address, diagnostics))
                .collect::<Vec<_>>()
        });
        let ca_file = r
            .ca_file
            .as_ref()
            .map(|path| self.path("ca_file", path, diagnostics));
        Some(SmtpConfig {
            host: host?,
            port: port?,
            security: security?,
            username,
            password,
            from: from?,
            to: to?,
            ca_file: match ca_file {
                Some(path) => Some(path?),
                None => None,
            },
        })
    }

    /// A mailbox such as `security@example.com` or `Attest <attest@example.com>`; the full
    /// syntax is checked when a message is built.
    fn mailbox(
        &self,
        key: &str,
        value: &Spanned<String>,
        diagnostics: &mut Vec<Diagnostic>,
    ) -> Option<String> {
        let text = value.get_ref().trim();
        let address = match (text.rfind('<'), text.strip_suffix('>')) {
            (Some(open), Some(inner)) => inner.get(open.saturating_add(1)..).unwrap_or_default(),
            _ => text,
        };
        let valid = address.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && !domain.is_empty() && !domain.contains('@')
        }) && !address.contains(char::is_whitespace);
        if valid {
            Some(text.to_owned())
        } else {
            diagnostics.push(
                Diagnostic::error(
                    Code::InvalidValue,
                    format!("invalid e-mail address in `{key}` of {}: `{text}`", self.who),
                )
                .at(self.file, value.span())
                .with_help("write an address, e.g. \"security@example.com\" or \"Attest <attest@example.com>\""),
            );
            None
        }
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
        // A missing end was reported when the file was read.
        let (start_value, end_value) = (p.start.as_ref(), p.end.as_ref());
        let start =
            start_value.and_then(|v| date_value(file, v, "scope.period.start", diagnostics));
        let end = end_value.and_then(|v| date_value(file, v, "scope.period.end", diagnostics));
        let (start, end, start_value, end_value) = (start?, end?, start_value?, end_value?);
        if end < start {
            diagnostics.push(
                Diagnostic::error(
                    Code::InvalidPeriod,
                    format!("the audit period ends ({end}) before it starts ({start})"),
                )
                .at(file, end_value.span()),
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
                .at(file, start_value.span()),
            );
        }
        Some(Period { start, end })
    });

    let mut sources = Vec::new();
    for source in raw.source {
        // A missing kind was reported when the file was read.
        let Some(kind_value) = &source.kind else {
            continue;
        };
        let kind = kind_value.get_ref().trim();
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
                    .at(file, kind_value.span())
                    .with_label("not a source")
                    .with_help(format!("use one of: {}", SOURCE_KINDS.join(", "))),
            );
        }
    }

    let mut excluded = Vec::new();
    for exclusion in raw.controls.exclude {
        // A missing field was reported when the file was read.
        let (Some(id_value), Some(reason)) = (&exclusion.id, &exclusion.reason) else {
            continue;
        };
        let id = id_value.get_ref().trim();
        if !controls.contains_key(id) {
            diagnostics.push(
                Diagnostic::error(
                    Code::UnknownControl,
                    format!("cannot exclude unknown control `{id}`"),
                )
                .at(file, id_value.span())
                .with_help("list controls with `attest controls list`"),
            );
        } else if reason.trim().is_empty() {
            diagnostics.push(
                Diagnostic::error(Code::InvalidValue, format!("excluding `{id}` needs a reason"))
                    .at(file, id_value.span())
                    .with_help("auditors read the reason in the report; e.g. reason = \"carved out: hosted by our cloud provider\""),
            );
        } else {
            excluded.push(Exclusion {
                id: id.to_owned(),
                reason: reason.trim().to_owned(),
            });
        }
    }

    let monitoring = monitoring(file, &raw.monitoring, diagnostics);
    let sampling = sampling(file, &raw.sampling, diagnostics);
    let findings = finding_policy(file, &raw.findings, diagnostics);
    let notify = notify(file, raw.notify, diagnostics);
    ValidatedConfig {
        monitoring,
        sampling,
        findings,
        notify,
        organisation: raw
            .organisation
            .and_then(|o| o.name)
            .map(|name| name.trim().to_owned())
            .unwrap_or_default(),
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
        let fields = ["expected", "freshness_days"];
        assert_eq!(
            suggest_field("fresh_days", fields.iter().copied()),
            Some("freshness_days")
        );
        assert_eq!(suggest_field("colour", ["name"].into_iter()), None);
        assert_eq!(suggest_field("refs", ["references"].into_iter()), None);
        assert_eq!(edit_distance("", "abc"), 3);
    }

    #[test]
    fn a_check_id_is_suggested_for_a_typo_or_a_unique_ending() {
        let ids = [
            "host.ssh.root_login_disabled",
            "host.kernel.aslr",
            "host.custom.aslr",
        ];
        let ids = || ids.iter().copied();
        assert_eq!(
            closest_check("host.ssh.root_login_disable", ids()),
            Some("host.ssh.root_login_disabled")
        );
        assert_eq!(
            closest_check("root_login_disabled", ids()),
            Some("host.ssh.root_login_disabled")
        );
        assert_eq!(closest_check("aslr", ids()), None);
        assert_eq!(
            closest_check("kernel.aslr", ids()),
            Some("host.kernel.aslr")
        );
    }
}
