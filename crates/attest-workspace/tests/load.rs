//! The loader against workspaces with deliberate mistakes: every problem is reported, with its
//! code and exact position, and nothing panics on arbitrary input.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::missing_panics_doc,
    reason = "tests fail by panicking"
)]

use std::fmt::Write as _;

use attest_diagnostics::{Code, Diagnostic, SourceFile};
use attest_model::{
    AuditType, Category, ControlKind, Frequency, NotifyTarget, SecretSource, Severity, SmtpConfig,
    SmtpSecurity,
};
use attest_workspace::{LayerFiles, load};
use proptest::prelude::*;

const CRITERIA: &str = r#"
[[criterion]]
id = "CC6.1"
category = "security"
series = "CC6"
title = "Logical access"
description = "d"
points_of_focus = ["p"]

[[criterion]]
id = "CC6.2"
category = "security"
series = "CC6"
title = "User registration"
description = "d"

[[criterion]]
id = "A1.2"
category = "availability"
series = "A1"
title = "Recovery"
description = "d"
"#;

const CONTROLS: &str = r#"
[family]
id = "AC"
name = "Access control"

[[control]]
id = "AC-01"
title = "MFA is enforced"
description = "d"
criteria = ["CC6.1"]
owner = "Security lead"
frequency = "continuous"
kind = "automated"
severity = "high"

[[control]]
id = "AC-02"
title = "Access is reviewed"
description = "d"
criteria = ["CC6.1", "CC6.2"]
owner = "Security lead"
frequency = "quarterly"
kind = "manual"

[control.evidence]
expected = "Signed review"
freshness_days = 92
"#;

fn builtin() -> LayerFiles {
    LayerFiles::from_files([
        SourceFile::new("builtin/criteria/tsc.toml", CRITERIA),
        SourceFile::new("builtin/controls/access.toml", CONTROLS),
        SourceFile::new("builtin/checks/host/ssh/checks.toml", CHECKS),
    ])
}

fn user(files: &[(&str, &str)]) -> LayerFiles {
    LayerFiles::from_files(files.iter().map(|(p, t)| SourceFile::new(*p, *t)))
}

const CHECKS: &str = r#"
[[check]]
id = "host.ssh.root_login_disabled"
title = "Root cannot log in over SSH"
severity = "high"
rationale = "r"
remediation = "PermitRootLogin no"
references = ["CIS 5.1.20"]
"#;

fn positions(diagnostics: &[Diagnostic]) -> Vec<(Code, String)> {
    diagnostics.iter().map(|d| (d.code, d.position())).collect()
}

/// Code, position and message of each diagnostic.
fn found(diagnostics: &[Diagnostic]) -> Vec<(Code, String, &str)> {
    diagnostics
        .iter()
        .map(|d| (d.code, d.position(), d.message.as_str()))
        .collect()
}

#[test]
fn builtins_alone_load_cleanly() {
    let (ws, diagnostics) = load(&builtin(), None);
    assert!(diagnostics.is_empty(), "{diagnostics:?}");
    assert_eq!(
        ws.criteria
            .iter()
            .map(|c| c.id.as_str())
            .collect::<Vec<_>>(),
        ["CC6.1", "CC6.2", "A1.2"]
    );
    let ac02 = ws.control("AC-02").unwrap();
    assert_eq!(ac02.kind, ControlKind::Manual);
    assert_eq!(ac02.frequency, Frequency::Quarterly);
    assert_eq!(
        ac02.severity,
        Severity::Medium,
        "severity defaults to medium"
    );
    assert_eq!(ac02.evidence.as_ref().unwrap().freshness_days, 92);
    assert_eq!(ws.scope.audit_type, AuditType::Type2);
    assert_eq!(ws.scope.categories, [Category::Security]);
}

#[test]
fn user_controls_override_and_extend_builtins_and_exclusions_apply() {
    let config = r#"
[organisation]
name = "Acme"

[scope]
type = "type1"
categories = ["availability"]
period = { start = 2026-01-01, end = "2026-12-31" }

[controls]
exclude = [{ id = "AC-01", reason = "Carved out: the IdP is out of scope" }]
"#;
    let extra = r#"
[family]
id = "AC"
name = "Access control"

[[control]]
id = "AC-02"
title = "Access is reviewed monthly"
description = "d"
criteria = ["CC6.2"]
owner = "Engineering lead"
frequency = "monthly"
kind = "manual"
[control.evidence]
expected = "Review"
freshness_days = 31

[[control]]
id = "AC-03"
title = "Root login over SSH is disabled"
description = "d"
criteria = ["CC6.1"]
owner = "IT operations"
frequency = "continuous"
kind = "automated"
checks = ["host.ssh.root_login_disabled"]
"#;
    let files = user(&[
        ("ws/attest.toml", config),
        ("ws/controls/access.toml", extra),
    ]);
    let (ws, diagnostics) = load(&builtin(), Some((std::path::Path::new("ws"), &files)));
    assert!(diagnostics.is_empty(), "{diagnostics:?}");
    assert_eq!(ws.organisation, "Acme");
    assert_eq!(ws.scope.audit_type, AuditType::Type1);
    assert_eq!(
        ws.scope.categories,
        [Category::Security, Category::Availability]
    );
    let period = ws.scope.period.unwrap();
    assert_eq!(
        (period.start.to_string(), period.end.to_string()),
        ("2026-01-01".into(), "2026-12-31".into())
    );
    assert_eq!(
        ws.controls
            .iter()
            .map(|c| c.id.as_str())
            .collect::<Vec<_>>(),
        ["AC-02", "AC-03"]
    );
    assert_eq!(ws.control("AC-02").unwrap().frequency, Frequency::Monthly);
    assert_eq!(
        ws.control("AC-03").unwrap().checks,
        ["host.ssh.root_login_disabled"]
    );
    assert_eq!(ws.excluded.len(), 1);
}

#[test]
fn every_mistake_in_a_control_file_is_reported_at_its_position() {
    let bad = r#"[family]
id = "AC"
name = "Access control"

[[control]]
id = "AC-10"
title = "One"
description = "d"
criteria = ["CC6.1", "CC9.9", "cc6.2"]
owner = "Security lead"
frequency = "fortnightly"
kind = "manual"
severity = "severe"
checks = ["host.ssh.root_login_disable"]

[[control]]
id = "AC-10"
title = "Two"
description = "d"
criteria = []
owner = "Security lead"
frequency = "daily"
kind = "automated"
[control.evidence]
expected = "x"
freshness_days = 0

[[control]]
id = "XY-01"
title = "Three"
description = "d"
criteria = ["A1.2"]
owner = "Security lead"
frequency = "daily"
kind = "hybrid"
"#;
    let files = user(&[
        ("ws/attest.toml", "[organisation]\nname = \"Acme\"\n"),
        ("ws/controls/bad.toml", bad),
    ]);
    let (ws, diagnostics) = load(&builtin(), Some((std::path::Path::new("ws"), &files)));
    assert_eq!(
        positions(&diagnostics),
        vec![
            (Code::UnknownCriterion, "ws/controls/bad.toml:9:22".into()),
            (Code::UnknownCriterion, "ws/controls/bad.toml:9:31".into()),
            (Code::InvalidValue, "ws/controls/bad.toml:11:13".into()),
            (Code::InvalidValue, "ws/controls/bad.toml:13:12".into()),
            (Code::UnknownCheck, "ws/controls/bad.toml:14:11".into()),
            (
                Code::EvidenceRequirement,
                "ws/controls/bad.toml:12:8".into()
            ),
            (Code::DuplicateControl, "ws/controls/bad.toml:17:6".into()),
            (Code::InvalidValue, "ws/controls/bad.toml:20:12".into()),
            (Code::InvalidValue, "ws/controls/bad.toml:26:18".into()),
            (
                Code::EvidenceRequirement,
                "ws/controls/bad.toml:24:1".into()
            ),
            (Code::FamilyMismatch, "ws/controls/bad.toml:29:6".into()),
            (
                Code::EvidenceRequirement,
                "ws/controls/bad.toml:35:8".into()
            ),
        ]
    );
    let by_code = |code| diagnostics.iter().find(|d| d.code == code).unwrap();
    assert_eq!(
        by_code(Code::UnknownCriterion).help.as_deref(),
        Some("list criteria with `attest catalog criteria`")
    );
    let typo = &diagnostics[1];
    assert_eq!(typo.help.as_deref(), Some("did you mean `CC6.2`?"));
    assert_eq!(
        by_code(Code::UnknownCheck).help.as_deref(),
        Some("did you mean `host.ssh.root_login_disabled`?")
    );
    assert!(diagnostics[2].message.contains("fortnightly"));
    assert!(
        diagnostics[2]
            .help
            .as_deref()
            .unwrap()
            .contains("quarterly, annual, per_event")
    );
    assert!(
        diagnostics[6]
            .help
            .as_deref()
            .unwrap()
            .contains("ws/controls/bad.toml:6:6")
    );
    // Invalid controls are left out; the built-ins stay.
    assert!(ws.control("AC-10").is_none());
    assert!(ws.control("AC-01").is_some());
}

#[test]
fn syntax_and_shape_errors_point_into_the_file() {
    let files = user(&[
        (
            "ws/attest.toml",
            "[organisation]\nname = \"Acme\"\ncolour = \"red\"\n",
        ),
        (
            "ws/controls/syntax.toml",
            "[family]\nid = \"AC\"\nname = \"x\n",
        ),
        (
            "ws/controls/shape.toml",
            "[family]\nid = \"AC\"\nname = \"x\"\n[[control]]\nid = 7\n",
        ),
    ]);
    let (_, diagnostics) = load(&builtin(), Some((std::path::Path::new("ws"), &files)));
    let found = positions(&diagnostics);
    assert_eq!(
        found,
        vec![
            (Code::Schema, "ws/controls/shape.toml:4:1".into()),
            (Code::Schema, "ws/controls/shape.toml:5:6".into()),
            (Code::Syntax, "ws/controls/syntax.toml:3:10".into()),
            (Code::Schema, "ws/attest.toml:3:1".into()),
        ]
    );
    let messages: Vec<&str> = diagnostics.iter().map(|d| d.message.as_str()).collect();
    assert_eq!(
        messages[0],
        "missing fields `title`, `description`, `criteria`, `owner`, `frequency`, `kind` in `[[control]]`"
    );
    assert_eq!(
        messages[1],
        "`id` in `[[control]]` must be a string, not an integer"
    );
    assert!(messages[2].starts_with("invalid TOML: "), "{}", messages[2]);
    assert_eq!(messages[3], "unknown field `colour` in `[organisation]`");
    assert_eq!(
        diagnostics[3].help.as_deref(),
        Some("the fields in `[organisation]` are: name")
    );
}

#[test]
fn config_mistakes_are_all_reported() {
    let config = r#"[organisation]
name = "Acme"

[scope]
type = "type3"
categories = ["security", "avail"]
period = { start = 2026-12-31, end = 2026-01-01 }

[[source]]
kind = "ldap"

[controls]
exclude = [{ id = "ZZ-99", reason = "x" }, { id = "AC-01", reason = " " }]
"#;
    let files = user(&[("ws/attest.toml", config)]);
    let (_, diagnostics) = load(&builtin(), Some((std::path::Path::new("ws"), &files)));
    assert_eq!(
        positions(&diagnostics),
        vec![
            (Code::InvalidValue, "ws/attest.toml:5:8".into()),
            (Code::InvalidValue, "ws/attest.toml:6:27".into()),
            (Code::InvalidPeriod, "ws/attest.toml:7:38".into()),
            (Code::InvalidValue, "ws/attest.toml:10:8".into()),
            (Code::UnknownControl, "ws/attest.toml:13:19".into()),
            (Code::InvalidValue, "ws/attest.toml:13:51".into()),
        ]
    );
}

#[test]
fn a_short_type2_period_is_a_warning_not_an_error() {
    let config = "[organisation]\nname = \"A\"\n[scope]\nperiod = { start = 2026-01-01, end = 2026-01-31 }\n";
    let files = user(&[("ws/attest.toml", config)]);
    let (ws, diagnostics) = load(&builtin(), Some((std::path::Path::new("ws"), &files)));
    assert_eq!(diagnostics.len(), 1);
    assert!(!diagnostics[0].is_error());
    assert!(
        diagnostics[0].message.contains("31 days"),
        "{}",
        diagnostics[0].message
    );
    assert!(ws.scope.period.is_some());
}

#[test]
fn files_on_disk_that_are_not_text_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    fs_err::write(
        dir.path().join("attest.toml"),
        "[organisation]\nname = \"A\"\n",
    )
    .unwrap();
    fs_err::create_dir_all(dir.path().join("controls")).unwrap();
    fs_err::write(
        dir.path().join("controls/binary.toml"),
        [0xff, 0xfe, 0x00, 0x41],
    )
    .unwrap();
    fs_err::write(dir.path().join("controls/empty.toml"), "").unwrap();
    fs_err::write(dir.path().join("controls/notes.txt"), "ignored").unwrap();
    let (files, read_diags) = LayerFiles::read_dir(dir.path());
    assert_eq!(read_diags.len(), 1, "{read_diags:?}");
    assert_eq!(read_diags[0].code, Code::Io);
    assert!(read_diags[0].message.contains("binary.toml is not UTF-8"));
    let (_, diagnostics) = load(&builtin(), Some((dir.path(), &files)));
    // An empty control file lacks its [family] table.
    assert_eq!(diagnostics.len(), 1);
    assert_eq!(diagnostics[0].code, Code::Schema);
    assert!(
        diagnostics[0].message.contains("family"),
        "{}",
        diagnostics[0].message
    );
}

fn valid_position(d: &Diagnostic) -> bool {
    d.location
        .as_ref()
        .is_none_or(|l| l.span.start <= l.file.text.len() && l.line >= 1 && l.column >= 1)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    /// Arbitrary text in any workspace file never panics, and every diagnostic points inside its file.
    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,400}", which in 0usize..3) {
        let path = ["ws/attest.toml", "ws/controls/x.toml", "ws/criteria/x.toml"][which];
        let files = user(&[(path, &text)]);
        let (_, diagnostics) = load(&builtin(), Some((std::path::Path::new("ws"), &files)));
        prop_assert!(diagnostics.iter().all(valid_position));
    }

    /// Damaging a valid control file (deleting or inserting characters) never panics, and the
    /// loader either accepts it or says why.
    #[test]
    fn damaged_control_files_never_panic(cut in 0usize..CONTROLS.len(), len in 0usize..40, insert in "[\\[\\]\"=a-z0-9 \n.,#{}-]{0,6}") {
        let mut text = CONTROLS.to_owned();
        let start = (0..=cut).rev().find(|i| text.is_char_boundary(*i)).unwrap();
        let end = (start + len).min(text.len());
        let end = (end..=text.len()).find(|i| text.is_char_boundary(*i)).unwrap();
        text.replace_range(start..end, &insert);
        let files = user(&[("ws/controls/access.toml", &text)]);
        let (ws, diagnostics) = load(&builtin(), Some((std::path::Path::new("ws"), &files)));
        prop_assert!(diagnostics.iter().all(valid_position));
        // Nothing is silently dropped: without errors, every control of the file is loaded.
        if diagnostics.iter().all(|d| !d.is_error()) {
            let table: toml::Table = text.parse().unwrap();
            let ids: Vec<String> = table
                .get("control")
                .and_then(|c| c.as_array())
                .map(|a| a.iter().filter_map(|c| c.get("id")?.as_str().map(|s| s.trim().to_owned())).collect())
                .unwrap_or_default();
            for id in ids {
                prop_assert!(ws.control(&id).is_some(), "control {id} was dropped without an error");
            }
        }
    }
}

#[test]
fn checks_are_loaded_validated_and_overridable() {
    let (ws, _) = load(&builtin(), None);
    let check = ws.check("host.ssh.root_login_disabled").unwrap();
    assert_eq!(check.severity, Severity::High);
    assert_eq!(check.source, "host");
    assert_eq!(
        check.rule_path(),
        "data.attest.host.ssh.root_login_disabled"
    );
    let bad = r#"
[[check]]
id = "host.ssh.root_login_disabled"
title = "Overridden"
severity = "critical"
rationale = "r"
remediation = "x"

[[check]]
id = "Host.SSH"
title = "t"
severity = "high"
rationale = "r"
remediation = "x"

[[check]]
id = "cloud.s3.public"
title = "t"
severity = "hgh"
rationale = "r"
remediation = "x"

[[check]]
id = "host.ssh.root_login_disabled"
title = "again"
severity = "low"
rationale = "r"
remediation = "x"
"#;
    let files = user(&[("ws/checks/host/mine/checks.toml", bad)]);
    let (ws, diagnostics) = load(&builtin(), Some((std::path::Path::new("ws"), &files)));
    assert_eq!(
        positions(&diagnostics),
        vec![
            (
                Code::InvalidValue,
                "ws/checks/host/mine/checks.toml:10:6".into()
            ),
            (
                Code::InvalidValue,
                "ws/checks/host/mine/checks.toml:17:6".into()
            ),
            // The unknown source does not hide the bad severity of the same check.
            (
                Code::InvalidValue,
                "ws/checks/host/mine/checks.toml:19:12".into()
            ),
            (
                Code::DuplicateCheck,
                "ws/checks/host/mine/checks.toml:24:6".into()
            ),
        ]
    );
    assert_eq!(
        ws.check("host.ssh.root_login_disabled").unwrap().title,
        "Overridden"
    );
}

/// A fix is read and validated with the check: a good one reaches the model in order; a bad
/// kind, a shape problem, an empty or malformed setting each get a diagnostic at the offending
/// text, and the check is kept without its fix.
#[test]
fn check_fixes_are_read_and_every_bad_kind_key_or_value_is_reported() {
    let checks = r##"[[check]]
id = "host.mine.good"
title = "t"
severity = "low"
rationale = "r"
remediation = "x"
fix = { kind = "sysctl", settings = { "kernel.kptr_restrict" = "1", "fs.suid_dumpable" = "0" } }

[[check]]
id = "host.mine.kind"
title = "t"
severity = "low"
rationale = "r"
remediation = "x"
fix = { kind = "nginx", settings = { worker = "1" } }

[[check]]
id = "host.mine.values"
title = "t"
severity = "low"
rationale = "r"
remediation = "x"
fix = { kind = "sshd", settings = { Match = "all", "Permit Root" = "no", MaxAuthTries = 4, Banner = "#x" } }

[[check]]
id = "host.mine.shape"
title = "t"
severity = "low"
rationale = "r"
remediation = "x"
[check.fix]
kind = "limits"
settings = {}
setting = { "* hard core" = "0" }

[[check]]
id = "host.mine.limits"
title = "t"
severity = "low"
rationale = "r"
remediation = "x"
fix = { kind = "limits", settings = { "* hard" = "0", "* hard core" = "0 1", "j" = "a\nb" } }
"##;
    let files = user(&[("ws/checks/host/mine/checks.toml", checks)]);
    let (ws, diagnostics) = load(&builtin(), Some((std::path::Path::new("ws"), &files)));
    let at = |line: u32, column: u32| format!("ws/checks/host/mine/checks.toml:{line}:{column}");
    assert_eq!(
        found(&diagnostics),
        vec![
            (
                Code::Schema,
                at(23, 89),
                "`MaxAuthTries` in `settings` in `[check.fix]` must be a string, not an integer"
            ),
            (
                Code::Schema,
                at(34, 1),
                "unknown field `setting` in `[check.fix]`"
            ),
            (Code::InvalidValue, at(15, 16), "invalid fix kind: `nginx`"),
            (
                Code::InvalidValue,
                at(23, 37),
                "a fix cannot write `Match`: it would change how sshd reads its other files"
            ),
            (
                Code::InvalidValue,
                at(23, 52),
                "`Permit Root` is not an sshd keyword"
            ),
            (
                Code::InvalidValue,
                at(23, 101),
                "invalid value of `Banner`: sshd would read it as a comment"
            ),
            (Code::InvalidValue, at(33, 12), "a fix has no settings"),
            (
                Code::InvalidValue,
                at(42, 39),
                "`* hard` is not a limits key"
            ),
            (
                Code::InvalidValue,
                at(42, 71),
                "invalid value of `* hard core`: a limit is one word, e.g. `0` or `unlimited`"
            ),
            (Code::InvalidValue, at(42, 78), "`j` is not a limits key"),
            (
                Code::InvalidValue,
                at(42, 84),
                "invalid value of `j`: it has a line break or another control character"
            ),
        ]
    );
    let good = ws.check("host.mine.good").unwrap().fix.as_ref().unwrap();
    assert_eq!(good.kind, attest_model::FixKind::Sysctl);
    assert_eq!(
        good.settings
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>(),
        ["fs.suid_dumpable=0", "kernel.kptr_restrict=1"]
    );
    for id in [
        "host.mine.kind",
        "host.mine.values",
        "host.mine.shape",
        "host.mine.limits",
    ] {
        assert!(ws.check(id).unwrap().fix.is_none(), "{id} keeps no fix");
    }
}

/// One control file with several shape problems: each is reported at its position, none hides
/// another, and the value problems of incomplete controls are reported too.
#[test]
fn every_shape_problem_in_a_control_file_is_reported() {
    let text = r#"[family]
id = "AC"
name = "Access control"

[[control]]
id = "AC-20"
title = "Missing its owner"
description = "d"
criteria = ["CC6.1"]
frequency = "daily"
kind = "automated"

[[control]]
id = "AC-21"
title = "Missing its owner and with a bad frequency"
description = "d"
criteria = ["CC6.1"]
frequency = "hourly"
kind = "automated"

[[control]]
id = "AC-22"
title = "A bad frequency"
description = "d"
criteria = ["CC6.1", 6.1]
owner = "Security lead"
frequency = "sometimes"
kind = "automated"
colour = "red"

[[control]]
id = "AC-23"
title = "Valid"
description = "d"
criteria = ["CC6.2"]
owner = 42
frequency = "daily"
kind = "manual"
[control.evidence]
expected = "Signed review"
fresh_days = 30
"#;
    let files = user(&[("ws/controls/access.toml", text)]);
    let (ws, diagnostics) = load(&builtin(), Some((std::path::Path::new("ws"), &files)));
    assert_eq!(
        found(&diagnostics),
        vec![
            (
                Code::Schema,
                "ws/controls/access.toml:5:1".into(),
                "missing field `owner` in control `AC-20`"
            ),
            (
                Code::Schema,
                "ws/controls/access.toml:13:1".into(),
                "missing field `owner` in control `AC-21`"
            ),
            (
                Code::Schema,
                "ws/controls/access.toml:25:22".into(),
                "an item of `criteria` in control `AC-22` must be a string, not a float"
            ),
            (
                Code::Schema,
                "ws/controls/access.toml:29:1".into(),
                "unknown field `colour` in control `AC-22`"
            ),
            (
                Code::Schema,
                "ws/controls/access.toml:36:9".into(),
                "`owner` in control `AC-23` must be a string, not an integer"
            ),
            (
                Code::Schema,
                "ws/controls/access.toml:39:1".into(),
                "missing field `freshness_days` in `[control.evidence]`"
            ),
            (
                Code::Schema,
                "ws/controls/access.toml:41:1".into(),
                "unknown field `fresh_days` in `[control.evidence]`"
            ),
            (
                Code::InvalidValue,
                "ws/controls/access.toml:18:13".into(),
                "invalid frequency: `hourly`"
            ),
            (
                Code::InvalidValue,
                "ws/controls/access.toml:27:13".into(),
                "invalid frequency: `sometimes`"
            ),
        ]
    );
    let help = |i: usize| diagnostics[i].help.as_deref().unwrap();
    assert_eq!(help(0), "add `owner = ...` to control `AC-20`");
    assert_eq!(help(4), "write text in double quotes, e.g. \"text\"");
    assert_eq!(help(6), "did you mean `freshness_days`?");
    assert_eq!(diagnostics[4].label.as_deref(), Some("expected a string"));
    // Every control here has a problem, so none is loaded; the built-ins stay.
    for id in ["AC-20", "AC-21", "AC-22", "AC-23"] {
        assert!(ws.control(id).is_none(), "{id}");
    }
    assert!(ws.control("AC-01").is_some());
}

#[test]
fn every_shape_problem_in_attest_toml_and_check_metadata_is_reported() {
    let config = r#"[organisation]
nme = "Acme"

[scope]
type = 2
categories = "availability"
period = { start = 2026-01-01 }
systems = ["web", 3]

[[source]]
kind = "host"
enabled = "yes"

[[source]]
path = "/mnt/image"

[controls]
exclude = [{ id = "AC-01" }]
"#;
    let checks = r#"[[check]]
id = "host.mine.one"
title = "One"
severity = "hgh"
rationale = "r"

[[check]]
id = "host.mine.two"
title = ["Two"]
severity = "low"
rationale = "r"
remediation = "x"
refs = ["CIS 1.1"]
"#;
    let files = user(&[
        ("ws/attest.toml", config),
        ("ws/checks/host/mine/checks.toml", checks),
    ]);
    let (ws, diagnostics) = load(&builtin(), Some((std::path::Path::new("ws"), &files)));
    assert_eq!(
        found(&diagnostics),
        vec![
            (
                Code::Schema,
                "ws/checks/host/mine/checks.toml:1:1".into(),
                "missing field `remediation` in check `host.mine.one`"
            ),
            (
                Code::Schema,
                "ws/checks/host/mine/checks.toml:9:9".into(),
                "`title` in check `host.mine.two` must be a string, not an array"
            ),
            (
                Code::Schema,
                "ws/checks/host/mine/checks.toml:13:1".into(),
                "unknown field `refs` in check `host.mine.two`"
            ),
            (
                Code::InvalidValue,
                "ws/checks/host/mine/checks.toml:4:12".into(),
                "invalid severity: `hgh`"
            ),
            (
                Code::Schema,
                "ws/attest.toml:1:1".into(),
                "missing field `name` in `[organisation]`"
            ),
            (
                Code::Schema,
                "ws/attest.toml:2:1".into(),
                "unknown field `nme` in `[organisation]`"
            ),
            (
                Code::Schema,
                "ws/attest.toml:5:8".into(),
                "`type` in `[scope]` must be a string, not an integer"
            ),
            (
                Code::Schema,
                "ws/attest.toml:6:14".into(),
                "`categories` in `[scope]` must be an array, not a string"
            ),
            (
                Code::Schema,
                "ws/attest.toml:7:10".into(),
                "missing field `end` in `[scope.period]`"
            ),
            (
                Code::Schema,
                "ws/attest.toml:8:19".into(),
                "an item of `systems` in `[scope]` must be a string, not an integer"
            ),
            (
                Code::Schema,
                "ws/attest.toml:12:11".into(),
                "`enabled` in `[[source]]` must be `true` or `false`, not a string"
            ),
            (
                Code::Schema,
                "ws/attest.toml:14:1".into(),
                "missing field `kind` in `[[source]]`"
            ),
            (
                Code::Schema,
                "ws/attest.toml:18:12".into(),
                "missing field `reason` in the exclusion of `AC-01`"
            ),
        ]
    );
    assert_eq!(diagnostics[5].help.as_deref(), Some("did you mean `name`?"));
    // Neither check is loaded; the rest of the built-ins are.
    assert!(ws.check("host.mine.one").is_none());
    assert!(ws.check("host.mine.two").is_none());
    assert!(ws.check("host.ssh.root_login_disabled").is_some());
}

#[test]
fn every_syntax_error_in_a_file_is_reported_in_order() {
    let text = "[family]\nid = \"AC\nname = x\n[[control]]\nowner = = 3\n";
    let files = user(&[("ws/controls/broken.toml", text)]);
    let (_, diagnostics) = load(&builtin(), Some((std::path::Path::new("ws"), &files)));
    assert!(diagnostics.iter().all(|d| d.code == Code::Syntax));
    let lines: Vec<usize> = diagnostics
        .iter()
        .map(|d| d.location.as_ref().unwrap().line)
        .collect();
    assert!(lines.len() >= 3, "{diagnostics:?}");
    assert!(lines.is_sorted(), "{lines:?}");
    assert_eq!(lines.first(), Some(&2));
    assert_eq!(lines.last(), Some(&5));
    assert!(
        diagnostics
            .iter()
            .all(|d| d.message.starts_with("invalid TOML: "))
    );
}

/// The fields of a generated control, in file order; all controls are automated so that
/// removing a field causes no other problem.
const FIELDS: [(&str, &str); 7] = [
    ("id", "\"AC-3N\""),
    ("title", "\"T\""),
    ("description", "\"D\""),
    ("criteria", "[\"CC6.1\"]"),
    ("owner", "\"Security lead\""),
    ("frequency", "\"daily\""),
    ("kind", "\"automated\""),
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// In a file of three controls, every removed field and every value of the wrong type is
    /// reported, at the control's header or at the value, and the untouched controls load.
    #[test]
    fn every_missing_or_mistyped_field_is_reported(
        edits in proptest::collection::btree_map((0usize..3, 0usize..7), any::<bool>(), 0..8)
    ) {
        let mut text = String::from("[family]\nid = \"AC\"\nname = \"Access control\"\n");
        let mut headers = Vec::new();
        let mut expected = Vec::new();
        for control in 0..3 {
            text.push_str("\n[[control]]\n");
            let header_line = text.lines().count();
            headers.push(header_line);
            let mut missing = Vec::new();
            for (field, (key, value)) in FIELDS.iter().enumerate() {
                let value = value.replace('N', &control.to_string());
                match edits.get(&(control, field)) {
                    // Removed.
                    Some(true) => missing.push(format!("`{key}`")),
                    // The wrong type: a number where text or a list is expected.
                    Some(false) => {
                        writeln!(text, "{key} = 7").unwrap();
                        expected.push((text.lines().count(), format!("`{key}` in ")));
                    }
                    None => writeln!(text, "{key} = {value}").unwrap(),
                }
            }
            if !missing.is_empty() {
                expected.push((header_line, format!(" {} in ", missing.join(", "))));
            }
        }
        let files = user(&[("ws/controls/access.toml", &text)]);
        let (ws, diagnostics) = load(&builtin(), Some((std::path::Path::new("ws"), &files)));
        let schema: Vec<(usize, &str)> = diagnostics
            .iter()
            .filter(|d| d.code == Code::Schema)
            .map(|d| (d.location.as_ref().unwrap().line, d.message.as_str()))
            .collect();
        prop_assert_eq!(schema.len(), expected.len(), "{}\n{:?}", text, diagnostics);
        for (line, fragment) in &expected {
            prop_assert!(
                schema.iter().any(|(l, m)| l == line && m.contains(fragment.as_str())),
                "nothing at line {} containing {:?}:\n{}\n{:?}", line, fragment, text, schema
            );
        }
        prop_assert!(diagnostics.iter().all(|d| d.code == Code::Schema), "{:?}", diagnostics);
        for control in 0..3 {
            let id = format!("AC-3{control}");
            let touched = edits.keys().any(|(c, _)| *c == control);
            prop_assert_eq!(ws.control(&id).is_some(), !touched, "{}", id);
        }
    }
}

#[test]
fn notification_channels_are_validated_with_their_defaults() {
    let config = r#"[organisation]
name = "Acme"

[[notify]]
name = "security-slack"
kind = "slack"
url_env = "ATTEST_SLACK_WEBHOOK"
events = ["finding.opened", "drift", "finding.opened"]
min_severity = "high"

[[notify]]
name = "siem"
kind = "webhook"
url_file = "secrets/siem-url"

[[notify]]
name = "soc-mail"
kind = "email"
smtp_host = "smtp.example.com"
username = "attest"
password_file = "/etc/attest/smtp-password"
from = "Attest <attest@example.com>"
to = ["security@example.com"]

[[notify]]
name = "relay"
kind = "email"
smtp_host = "localhost"
security = "tls"
from = "attest@example.com"
to = ["Ops <ops@example.com>"]
ca_file = "ca.pem"
"#;
    let files = user(&[("ws/attest.toml", config)]);
    let (ws, diagnostics) = load(&builtin(), Some((std::path::Path::new("ws"), &files)));
    assert!(diagnostics.is_empty(), "{diagnostics:?}");
    let names: Vec<&str> = ws.notify.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["security-slack", "siem", "soc-mail", "relay"]);
    let slack = &ws.notify[0];
    assert_eq!(slack.events, ["finding.opened", "drift"]);
    assert_eq!(slack.min_severity, Severity::High);
    assert_eq!(
        slack.target,
        NotifyTarget::Slack(SecretSource::Env("ATTEST_SLACK_WEBHOOK".into()))
    );
    let siem = &ws.notify[1];
    assert!(siem.events.is_empty(), "no list: every event");
    assert_eq!(siem.min_severity, Severity::Info);
    assert_eq!(
        siem.target,
        NotifyTarget::Webhook(SecretSource::File("ws/secrets/siem-url".into()))
    );
    assert_eq!(
        ws.notify[2].target,
        NotifyTarget::Email(SmtpConfig {
            host: "smtp.example.com".into(),
            port: 587,
            security: SmtpSecurity::Starttls,
            username: Some("attest".into()),
            password: Some(SecretSource::File("/etc/attest/smtp-password".into())),
            from: "Attest <attest@example.com>".into(),
            to: vec!["security@example.com".into()],
            ca_file: None,
        })
    );
    let NotifyTarget::Email(relay) = &ws.notify[3].target else {
        panic!("an e-mail channel")
    };
    assert_eq!((relay.port, relay.security), (465, SmtpSecurity::Tls));
    assert_eq!(
        relay.ca_file.as_deref(),
        Some(std::path::Path::new("ws/ca.pem"))
    );
}

#[test]
fn every_mistake_in_a_notification_channel_is_reported() {
    let config = r#"[organisation]
name = "Acme"

[[notify]]
name = "chat"
kind = "slak"

[[notify]]
name = "slack"
kind = "slack"
events = ["finding.openned", "drift"]
min_severity = "urgent"
smtp_host = "smtp.example.com"

[[notify]]
name = "teams"
kind = "teams"
url_env = "TEAMS_URL"
url_file = "teams-url"

[[notify]]
name = "slack"
kind = "webhook"
url_env = "https://hooks.example.com/T0/B0/secret"

[[notify]]
name = "mail one"
kind = "email"
username = "attest"
to = []
url_env = "X"

[[notify]]
name = "mail"
kind = "email"
smtp_host = "smtp.example.com"
smtp_port = 70000
security = "none"
password_env = "SMTP_PASSWORD"
from = "attest"
to = ["security@example.com", "nobody"]
events = []
"#;
    let files = user(&[("ws/attest.toml", config)]);
    let (ws, diagnostics) = load(&builtin(), Some((std::path::Path::new("ws"), &files)));
    assert_eq!(
        found(&diagnostics),
        vec![
            (
                Code::InvalidValue,
                "ws/attest.toml:6:8".into(),
                "invalid channel kind: `slak`"
            ),
            (
                Code::InvalidValue,
                "ws/attest.toml:11:11".into(),
                "channel `slack` names unknown event `finding.openned`"
            ),
            (
                Code::InvalidValue,
                "ws/attest.toml:12:16".into(),
                "invalid severity: `urgent`"
            ),
            (
                Code::Schema,
                "ws/attest.toml:13:13".into(),
                "`smtp_host` does not apply to channel `slack` (kind `slack`)"
            ),
            (
                Code::Schema,
                "ws/attest.toml:10:8".into(),
                "channel `slack` needs `url_env` or `url_file`"
            ),
            (
                Code::Schema,
                "ws/attest.toml:19:12".into(),
                "channel `teams` gives both `url_env` and `url_file`"
            ),
            (
                Code::InvalidValue,
                "ws/attest.toml:22:8".into(),
                "notification channel `slack` is defined twice"
            ),
            (
                Code::InvalidValue,
                "ws/attest.toml:24:11".into(),
                "`url_env` of channel `slack` is not an environment variable name"
            ),
            (
                Code::InvalidValue,
                "ws/attest.toml:27:8".into(),
                "invalid channel name `mail one`"
            ),
            (
                Code::Schema,
                "ws/attest.toml:31:11".into(),
                "`url_env` does not apply to channel `mail one` (kind `email`)"
            ),
            (
                Code::Schema,
                "ws/attest.toml:26:1".into(),
                "missing fields `smtp_host`, `from` in channel `mail one`"
            ),
            (
                Code::Schema,
                "ws/attest.toml:29:12".into(),
                "channel `mail one` gives `username` but no password"
            ),
            (
                Code::InvalidValue,
                "ws/attest.toml:30:6".into(),
                "channel `mail one` has no recipient"
            ),
            (
                Code::InvalidValue,
                "ws/attest.toml:42:10".into(),
                "channel `mail` lists no event, so it receives nothing"
            ),
            (
                Code::InvalidValue,
                "ws/attest.toml:37:13".into(),
                "invalid `smtp_port` in channel `mail`: 70000"
            ),
            (
                Code::Schema,
                "ws/attest.toml:39:16".into(),
                "channel `mail` gives a password but no `username`"
            ),
            (
                Code::InvalidValue,
                "ws/attest.toml:38:12".into(),
                "channel `mail` would send its SMTP password without encryption"
            ),
            (
                Code::InvalidValue,
                "ws/attest.toml:40:8".into(),
                "invalid e-mail address in `from` of channel `mail`: `attest`"
            ),
            (
                Code::InvalidValue,
                "ws/attest.toml:41:31".into(),
                "invalid e-mail address in `to` of channel `mail`: `nobody`"
            ),
        ]
    );
    let help = |i: usize| diagnostics[i].help.as_deref().unwrap();
    assert_eq!(help(0), "use one of: webhook, slack, teams, email");
    assert_eq!(
        help(1),
        "did you mean `finding.opened`? the events are: finding.opened, finding.fixed, finding.overdue, finding.closed, drift, monitor.failed"
    );
    assert_eq!(
        help(3),
        "kind `slack` takes: name, kind, events, min_severity, url_env, url_file"
    );
    assert!(!diagnostics[13].is_error() && !diagnostics[16].is_error());
    // The secret-looking value is not repeated in the message.
    assert!(
        diagnostics
            .iter()
            .all(|d| !d.message.contains("hooks.example.com"))
    );
    assert!(
        ws.notify.is_empty(),
        "every channel has an error: {:?}",
        ws.notify
    );
}

#[test]
fn the_commented_notification_examples_of_init_are_valid() {
    let template = attest_workspace::render_config_template("Acme", jiff::civil::date(2026, 1, 1));
    let start = template
        .find("# [[notify]]")
        .expect("the template shows channels");
    let uncommented: String = template[start..]
        .lines()
        .map(|line| line.strip_prefix("# ").unwrap_or(line))
        .filter(|line| *line != "#")
        .collect::<Vec<_>>()
        .join("\n");
    let config = format!("{}{uncommented}\n", &template[..start]);
    let files = user(&[("ws/attest.toml", &config)]);
    let (ws, diagnostics) = load(&builtin(), Some((std::path::Path::new("ws"), &files)));
    assert!(diagnostics.is_empty(), "{diagnostics:?}\n{config}");
    let names: Vec<&str> = ws.notify.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["security-slack", "soc-mail"]);
    // As written, a fresh workspace has no channel.
    let files = user(&[("ws/attest.toml", &template)]);
    let (ws, _) = load(&builtin(), Some((std::path::Path::new("ws"), &files)));
    assert!(ws.notify.is_empty());
}

#[test]
fn monitoring_sampling_and_finding_settings_are_read_and_every_mistake_reported() {
    let good = r#"[organisation]
name = "Acme"

[monitoring]
interval = "15m"
schedule = "*/15 * * * *"

[sampling]
daily = 25

[findings]
grace = { medium = "4h" }
sla = { critical = "3d" }
"#;
    let files = user(&[("ws/attest.toml", good)]);
    let (ws, diagnostics) = load(&builtin(), Some((std::path::Path::new("ws"), &files)));
    assert!(diagnostics.is_empty(), "{:?}", found(&diagnostics));
    let minutes = jiff::SignedDuration::from_mins;
    assert_eq!(ws.monitoring.interval, minutes(15));
    assert_eq!(
        ws.monitoring.max_gap,
        minutes(22) + jiff::SignedDuration::from_secs(30)
    );
    assert_eq!(ws.monitoring.schedule.as_deref(), Some("*/15 * * * *"));
    assert_eq!(ws.sampling.daily, 25);
    assert_eq!(ws.sampling.quarterly, 2, "unset sizes keep their defaults");
    assert_eq!(ws.findings.grace(Severity::Medium), minutes(240));
    assert_eq!(ws.findings.grace(Severity::High), minutes(0));
    assert_eq!(ws.findings.sla(Severity::Critical), minutes(3 * 24 * 60));

    let bad = r#"[organisation]
name = "Acme"

[monitoring]
interval = "1h"
max_gap = "30m"
schedule = "61 * * * *"

[sampling]
daily = 0

[findings]
grace = { high = "soon" }
sla = { critical = "0h" }
"#;
    let files = user(&[("ws/attest.toml", bad)]);
    let (_, diagnostics) = load(&builtin(), Some((std::path::Path::new("ws"), &files)));
    let got = found(&diagnostics);
    let at = |position: &str, text: &str| {
        assert!(
            got.iter().any(|(code, p, m)| *code == Code::InvalidValue
                && p == position
                && m.contains(text)),
            "no diagnostic at {position} saying `{text}` in {got:?}"
        );
    };
    at("ws/attest.toml:6:11", "shorter than the interval");
    at("ws/attest.toml:7:12", "invalid cron expression");
    at("ws/attest.toml:10:9", "sampling.daily");
    at("ws/attest.toml:13:18", "findings.grace.high");
    at("ws/attest.toml:14:20", "findings.sla.critical");
    assert_eq!(got.len(), 5, "{got:?}");
}
