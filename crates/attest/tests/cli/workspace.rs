//! `init`, `validate`, workspace discovery and the errors a broken workspace gets.

use crate::{Sandbox, assert_contains_all, stderr};

#[test]
fn init_writes_a_valid_workspace_and_never_overwrites_one() {
    let sandbox = Sandbox::with_workspace();
    for file in [
        "attest.toml",
        "schemas/attest.schema.json",
        "schemas/controls.schema.json",
        "schemas/criteria.schema.json",
        "schemas/checks.schema.json",
    ] {
        assert!(sandbox.path().join(file).is_file(), "{file}");
    }
    let controls: Vec<_> = fs_err::read_dir(sandbox.path().join("controls"))
        .unwrap()
        .collect();
    assert!(controls.len() >= 10, "one file per family");
    let config = fs_err::read_to_string(sandbox.path().join("attest.toml")).unwrap();
    assert!(config.contains("name = \"Acme Ltd\""));
    assert!(config.contains("period = { start = 2026-01-01, end = 2026-12-31 }"));

    let output = sandbox.attest(&["validate"]).output().unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("valid — 61 criteria"),
        "{}",
        stderr(&output)
    );

    sandbox.write("attest.toml", "# edited\n");
    let again = sandbox.attest(&["init", "."]).output().unwrap();
    assert_eq!(again.status.code(), Some(2));
    assert!(
        stderr(&again).contains("already exists; nothing was written"),
        "{}",
        stderr(&again)
    );
    assert_eq!(
        fs_err::read_to_string(sandbox.path().join("attest.toml")).unwrap(),
        "# edited\n"
    );
}

#[test]
fn init_refuses_before_writing_anything_if_any_target_exists() {
    let sandbox = Sandbox::new();
    sandbox.write("ws/schemas/controls.schema.json", "{}");
    let output = sandbox.attest(&["init", "ws"]).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(!sandbox.path().join("ws/attest.toml").exists());
    assert!(!sandbox.path().join("ws/controls").exists());
}

#[test]
fn the_workspace_is_found_from_a_subfolder_and_with_dash_c() {
    let sandbox = Sandbox::with_workspace();
    fs_err::create_dir_all(sandbox.path().join("docs/deeper")).unwrap();
    let mut cmd = sandbox.attest(&["validate"]);
    cmd.current_dir(sandbox.path().join("docs/deeper"));
    let output = cmd.output().unwrap();
    assert!(output.status.success());
    assert!(
        stderr(&output).contains("workspace ../.."),
        "{}",
        stderr(&output)
    );

    let outside = Sandbox::new();
    let path = sandbox.path().to_str().unwrap();
    let output = outside.attest(&["-C", path, "validate"]).output().unwrap();
    assert!(output.status.success(), "{}", stderr(&output));

    let output = outside
        .attest(&["-C", outside.path().to_str().unwrap(), "status"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("is not an Attest workspace"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn without_a_workspace_commands_run_on_the_builtins() {
    let sandbox = Sandbox::new();
    let output = sandbox.attest(&["validate"]).output().unwrap();
    assert!(output.status.success());
    assert!(stderr(&output).contains("built-in library (no workspace found)"));
    let status = sandbox.json(&["status", "--format", "json"]);
    assert_eq!(
        status["summary"]["criteria"]["total"], 33,
        "security only by default"
    );
    // The store lives in the user's data folder.
    assert!(
        sandbox
            .path()
            .join("home/.local/share/attest/attest.db")
            .is_file()
    );
}

const BROKEN_CONTROLS: &str = r#"[family]
id = "ZZ"
name = "Broken on purpose"

[[control]]
id = "ZZ-01"
title = "Maps to a criterion that does not exist"
description = "d"
criteria = ["CC6.1", "CC6.10"]
owner = "Security lead"
frequency = "hourly"
kind = "manual"

[control.evidence]
expected = "A record"
freshness_days = 30

[[control]]
id = "ZZ-01"
title = "Duplicates the id above and names a missing check"
description = "d"
criteria = ["CC7.2"]
owner = "Security lead"
frequency = "daily"
kind = "automated"
checks = ["host.ssh.no_such_check"]
"#;

const BROKEN_CONFIG: &str = r#"[organisation]
name = "Acme Ltd"

[scope]
type = "type2"
categories = ["security", "privacy", "integrity"]
period = { start = 2026-06-01, end = 2026-01-01 }
"#;

#[test]
fn a_broken_workspace_gets_every_error_with_file_line_column_and_exit_2() {
    let sandbox = Sandbox::with_workspace();
    sandbox.write("controls/zz-broken.toml", BROKEN_CONTROLS);
    sandbox.write("attest.toml", BROKEN_CONFIG);
    let output = sandbox.attest(&["validate"]).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let text = stderr(&output);
    assert_contains_all(
        &text,
        &[
            "controls/zz-broken.toml:9:22: error[unknown-criterion]: control `ZZ-01` maps to unknown criterion `CC6.10`",
            "controls/zz-broken.toml:11:13: error[invalid-value]: invalid frequency: `hourly`",
            "controls/zz-broken.toml:19:6: error[duplicate-control]: control `ZZ-01` is defined twice",
            "controls/zz-broken.toml:26:11: error[unknown-check]: control `ZZ-01` names unknown check `host.ssh.no_such_check`",
            "attest.toml:6:38: error[invalid-value]: invalid category: `integrity`",
            "attest.toml:7:38: error[invalid-period]: the audit period ends (2026-01-01) before it starts (2026-06-01)",
            "6 error(s), 0 warning(s)",
        ],
    );
    insta::assert_snapshot!(text);

    let json = sandbox
        .attest(&["validate", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(json.status.code(), Some(2));
    let diagnostics: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let first = &diagnostics[0];
    assert_eq!(first["code"], "unknown-criterion");
    assert_eq!(first["file"], "controls/zz-broken.toml");
    assert_eq!(
        (first["line"].as_u64(), first["column"].as_u64()),
        (Some(9), Some(22))
    );

    // Other commands refuse to run on a broken workspace, and say why.
    let status = sandbox.attest(&["status"]).output().unwrap();
    assert_eq!(status.status.code(), Some(2));
    assert!(
        stderr(&status).contains("the workspace has 6 error(s)"),
        "{}",
        stderr(&status)
    );
}

const INCOMPLETE_CONTROLS: &str = r#"[family]
id = "ZZ"
name = "Incomplete on purpose"

[[control]]
id = "ZZ-01"
title = "Has no owner"
description = "d"
criteria = ["CC6.1"]
frequency = "daily"
kind = "automated"

[[control]]
id = "ZZ-02"
title = "Has no owner either"
description = "d"
criteria = ["CC6.2"]
frequency = "weekly"
kind = "automated"

[[control]]
id = "ZZ-03"
title = "Has a frequency that does not exist"
description = "d"
criteria = ["CC6.3"]
owner = "Security lead"
frequency = "fortnightly"
kind = "automated"
"#;

/// Missing fields do not hide each other, nor the value problems of the same file.
#[test]
fn validate_reports_every_missing_field_and_bad_value_of_a_file() {
    let sandbox = Sandbox::with_workspace();
    sandbox.write("controls/zz-incomplete.toml", INCOMPLETE_CONTROLS);
    sandbox.write(
        "attest.toml",
        "[organisation]\nname = 7\n\n[scope]\ntype = \"type2\"\nperiods = 1\n",
    );
    let output = sandbox.attest(&["validate"]).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let text = stderr(&output);
    assert_contains_all(
        &text,
        &[
            "controls/zz-incomplete.toml:5:1: error[schema]: missing field `owner` in control `ZZ-01`",
            "controls/zz-incomplete.toml:13:1: error[schema]: missing field `owner` in control `ZZ-02`",
            "controls/zz-incomplete.toml:27:13: error[invalid-value]: invalid frequency: `fortnightly`",
            "attest.toml:2:8: error[schema]: `name` in `[organisation]` must be a string, not an integer",
            "attest.toml:6:1: error[schema]: unknown field `periods` in `[scope]`",
            "help: did you mean `period`?",
            "5 error(s), 0 warning(s)",
        ],
    );
    let json = sandbox
        .attest(&["validate", "--format", "json"])
        .output()
        .unwrap();
    let diagnostics: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let positions: Vec<(String, u64, u64)> = diagnostics
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["file"].as_str().unwrap().to_owned(),
                d["line"].as_u64().unwrap(),
                d["column"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        positions,
        [
            ("controls/zz-incomplete.toml".to_owned(), 5, 1),
            ("controls/zz-incomplete.toml".to_owned(), 13, 1),
            ("controls/zz-incomplete.toml".to_owned(), 27, 13),
            ("attest.toml".to_owned(), 2, 8),
            ("attest.toml".to_owned(), 6, 1),
        ]
    );
}

#[test]
fn unreadable_and_garbage_files_are_errors_not_panics() {
    let sandbox = Sandbox::with_workspace();
    fs_err::write(
        sandbox.path().join("controls/binary.toml"),
        [0x00_u8, 0x9f, 0x92, 0x96, 0xff],
    )
    .unwrap();
    sandbox.write("controls/garbage.toml", "[[[ this is not toml\n");
    sandbox.write("controls/empty.toml", "");
    let output = sandbox.attest(&["validate"]).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let text = stderr(&output);
    assert!(
        text.contains(
            "controls/binary.toml:1:1: error[io]: controls/binary.toml is not UTF-8 text"
        ),
        "{text}"
    );
    assert!(
        text.contains("controls/garbage.toml:1:3: error[syntax]"),
        "{text}"
    );
    assert!(
        text.contains("controls/empty.toml:1:1: error[schema]: missing field `family`"),
        "{text}"
    );
    assert!(!text.contains("panicked"));
}
