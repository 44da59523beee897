//! Findings end to end: a failing control opens a finding, the fix resolves it, closing
//! records the root cause and corrective action, and the Type 2 report shows the trail.

use crate::scan::fixture_root;
use crate::{Sandbox, assert_contains_all, stderr};

const TEST_CONTROL: &str = r#"[family]
id = "TST"
name = "Test"
description = "Controls of this test"

[[control]]
id = "TST-01"
title = "Address space layout randomisation is on"
description = "Every server randomises its memory layout."
criteria = ["CC7.1"]
owner = "Platform team"
frequency = "continuous"
kind = "automated"
severity = "high"
checks = ["host.kernel.aslr"]
"#;

fn finding_of(sandbox: &Sandbox, control: &str) -> serde_json::Value {
    let list = sandbox.json(&["findings", "list", "--all", "--format", "json"]);
    list.as_array()
        .unwrap()
        .iter()
        .find(|f| f["controls"][0] == control)
        .cloned()
        .unwrap_or(serde_json::Value::Null)
}

#[test]
fn a_failure_opens_a_finding_the_fix_resolves_it_and_closing_records_the_trail() {
    let sandbox = Sandbox::with_workspace();
    sandbox.write("controls/test.toml", TEST_CONTROL);
    let root = fixture_root(&sandbox, "weak", &[]);
    let root_arg = root.to_str().unwrap();
    // Fail: a high-severity control opens its finding at once (the monitor's run, as a cron
    // job would start it).
    let scan = sandbox
        .attest(&["monitor", "--once", "--root", root_arg])
        .output()
        .unwrap();
    assert!(scan.status.success(), "{}", stderr(&scan));
    assert!(
        stderr(&scan).contains("opened: TST-01"),
        "{}",
        stderr(&scan)
    );
    let opened = finding_of(&sandbox, "TST-01");
    assert_eq!(opened["status"], "open");
    assert_eq!(opened["severity"], "high");
    assert_eq!(opened["source"], "automated");
    assert!(opened["fixed_at"].is_null());
    assert_eq!(opened["owner"], "Platform team");
    let id = opened["id"].as_i64().unwrap().to_string();
    for field in ["opened_at", "due_at", "controls"] {
        assert!(!opened[field].is_null(), "{field}");
    }
    // The same failure again opens nothing new.
    sandbox
        .attest(&["monitor", "--once", "--root", root_arg])
        .assert()
        .success();
    let list = sandbox.json(&["findings", "list", "--format", "json"]);
    assert_eq!(
        list.as_array()
            .unwrap()
            .iter()
            .filter(|f| f["controls"][0] == "TST-01")
            .count(),
        1
    );
    // Closing while the control still fails is refused.
    let early = sandbox
        .attest(&[
            "findings",
            "close",
            &id,
            "--root-cause",
            "x",
            "--corrective-action",
            "y",
        ])
        .output()
        .unwrap();
    assert_eq!(early.status.code(), Some(2));
    assert!(stderr(&early).contains("its control still fails"));
    // Fix the root: the finding is resolved with its fix time, but stays until closed. (Times
    // are whole seconds: wait for the next one so the failure lasts.)
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let sysctl = root.join("etc/sysctl.d/99-custom.conf");
    let text = fs_err::read_to_string(&sysctl).unwrap();
    fs_err::write(
        &sysctl,
        text.replace("randomize_va_space = 0", "randomize_va_space = 2"),
    )
    .unwrap();
    let fixed_scan = sandbox
        .attest(&["monitor", "--once", "--root", root_arg])
        .output()
        .unwrap();
    assert!(
        stderr(&fixed_scan).contains(&format!("Finding {id} fixed")),
        "{}",
        stderr(&fixed_scan)
    );
    let fixed = finding_of(&sandbox, "TST-01");
    assert_eq!(fixed["status"], "resolved");
    assert!(fixed["fixed_at"].is_string());
    assert!(fixed["closed_at"].is_null());
    // Closing needs a root cause and a corrective action.
    let missing = sandbox
        .attest(&[
            "findings",
            "close",
            &id,
            "--root-cause",
            "a reverted sysctl file",
        ])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2));
    let proof = sandbox.write("proof.txt", "sysctl -a | grep randomize: 2");
    sandbox
        .attest(&[
            "findings",
            "close",
            &id,
            "--root-cause",
            "a custom sysctl file turned ASLR off",
            "--corrective-action",
            "the file is managed by configuration management now",
            "--evidence",
            proof.to_str().unwrap(),
            "--by",
            "zoë",
        ])
        .assert()
        .success();
    let closed = finding_of(&sandbox, "TST-01");
    assert_eq!(closed["status"], "closed");
    assert_eq!(closed["root_cause"], "a custom sysctl file turned ASLR off");
    assert_eq!(closed["closure_evidence"].as_str().unwrap().len(), 64);
    // The trail is in the ledger, and the store still verifies.
    let show = sandbox.attest(&["findings", "show", &id]).output().unwrap();
    let text = String::from_utf8(show.stdout).unwrap();
    assert_contains_all(&text, &["opened", "fixed", "closed", "by attest", "by zoë"]);
    sandbox.assert_verifies();
    // The Type 2 report shows the exception with its finding and the remediation trail.
    let today = jiff::Zoned::now()
        .with_time_zone(jiff::tz::TimeZone::UTC)
        .date()
        .to_string();
    let report = sandbox.json(&[
        "report",
        "type2",
        "--period",
        &format!("{today}..{today}"),
        "--seed",
        "1",
        "--format",
        "json",
    ]);
    let control = report["controls"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "TST-01")
        .unwrap();
    let exception = &control["automated"]["exceptions"][0];
    assert_eq!(exception["status"], "fail");
    assert_eq!(exception["findings"][0].to_string(), id);
    let trail: Vec<&str> = control["findings"][0]["trail"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["event"].as_str().unwrap())
        .collect();
    assert_eq!(trail, ["opened", "fixed", "closed"]);
    assert_eq!(
        control["findings"][0]["finding"]["corrective_action"],
        "the file is managed by configuration management now"
    );
}

#[test]
fn findings_are_opened_by_hand_updated_risk_accepted_and_overdue_ones_stand_out() {
    let sandbox = Sandbox::with_workspace();
    let controls = sandbox.json(&["controls", "list", "--format", "json"]);
    let control = controls[0]["id"].as_str().unwrap().to_owned();
    sandbox
        .attest(&[
            "findings",
            "open",
            "--title",
            "Auditor exception: one review unsigned",
            "--control",
            &control,
            "--severity",
            "medium",
            "--due",
            "2026-01-31",
            "--note",
            "sample 3 of 25",
        ])
        .assert()
        .success();
    let list = sandbox.json(&["findings", "list", "--format", "json"]);
    let finding = &list[0];
    assert_eq!(finding["source"], "manual");
    assert_eq!(finding["overdue"], true, "due in the past and not closed");
    let table = sandbox.attest(&["findings", "list"]).output().unwrap();
    assert!(String::from_utf8(table.stdout).unwrap().contains("OVERDUE"));
    let status = sandbox.attest(&["status"]).output().unwrap();
    assert!(
        String::from_utf8(status.stdout)
            .unwrap()
            .contains("1 OVERDUE")
    );
    let id = finding["id"].as_i64().unwrap().to_string();
    sandbox
        .attest(&[
            "findings",
            "update",
            &id,
            "--status",
            "in-progress",
            "--owner",
            "QA lead",
        ])
        .assert()
        .success();
    assert_eq!(finding_of(&sandbox, &control)["status"], "in_progress");
    let nothing = sandbox
        .attest(&["findings", "update", &id])
        .output()
        .unwrap();
    assert_eq!(nothing.status.code(), Some(2));
    sandbox
        .attest(&[
            "findings",
            "accept-risk",
            &id,
            "--reason",
            "compensating control CM-02",
            "--until",
            "2026-12-31",
        ])
        .assert()
        .success();
    let accepted = finding_of(&sandbox, &control);
    assert_eq!(accepted["status"], "risk_accepted");
    assert_eq!(
        accepted["overdue"], false,
        "an accepted risk is not overdue"
    );
    let json = sandbox.json(&["findings", "show", &id, "--format", "json"]);
    let events: Vec<&str> = json["trail"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(events, ["opened", "updated", "risk_accepted"]);
    assert_eq!(json["trail"][0]["note"], "sample 3 of 25");
    // The readiness report lists it.
    let readiness = sandbox.json(&["report", "readiness", "--format", "json"]);
    assert_eq!(readiness["summary"]["findings"]["risk_accepted"], 1);
    // Errors: unknown finding, unknown control.
    let unknown = sandbox
        .attest(&["findings", "show", "99"])
        .output()
        .unwrap();
    assert_eq!(unknown.status.code(), Some(2));
    assert!(stderr(&unknown).contains("there is no finding 99"));
    let bad = sandbox
        .attest(&["findings", "open", "--title", "x", "--control", "NOPE-1"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
}
