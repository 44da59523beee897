//! `status` and `report readiness` in every format.

use crate::{Sandbox, stderr};

#[test]
fn readiness_json_is_consistent_and_documented() {
    let sandbox = Sandbox::with_workspace();
    let report = sandbox.json(&["report", "readiness", "--format", "json"]);
    assert_eq!(report["schema_version"], 1);
    assert_eq!(report["organisation"], "Acme Ltd");
    assert_eq!(report["audit_type"], "type2");
    assert_eq!(report["period"]["start"], "2026-01-01");
    let categories: Vec<&str> = report["categories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["category"].as_str().unwrap())
        .collect();
    assert_eq!(categories, ["security", "availability", "confidentiality"]);
    let summary = &report["summary"]["controls"];
    let sum: u64 = ["passing", "failing", "missing_evidence", "not_evaluated"]
        .iter()
        .map(|k| summary[k].as_u64().unwrap())
        .sum();
    assert_eq!(sum, summary["total"].as_u64().unwrap());
    let gaps: Vec<&str> = report["gaps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g.as_str().unwrap())
        .collect();
    let gap_criteria: Vec<&str> = report["criteria"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] == "gap")
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(gaps, gap_criteria);
    let ranks: Vec<u64> = report["remediation"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["rank"].as_u64().unwrap())
        .collect();
    assert_eq!(ranks, (1..=ranks.len() as u64).collect::<Vec<_>>());
    assert!(
        report["remediation"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| !i["steps"].as_array().unwrap().is_empty())
    );
}

#[test]
fn the_html_report_is_one_self_contained_file() {
    let sandbox = Sandbox::with_workspace();
    let output = sandbox
        .attest(&["report", "readiness", "--output", "out/readiness.html"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "the folder does not exist");
    assert!(
        stderr(&output).contains("cannot write in out"),
        "{}",
        stderr(&output)
    );
    fs_err::create_dir_all(sandbox.path().join("out")).unwrap();
    let output = sandbox
        .attest(&["report", "readiness", "--output", "out/readiness.html"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stderr(&output).contains("Wrote the readiness report to out/readiness.html"));
    let html = fs_err::read_to_string(sandbox.path().join("out/readiness.html")).unwrap();
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &fs_err::metadata(sandbox.path().join("out/readiness.html"))
            .unwrap()
            .permissions(),
    );
    assert_eq!(
        mode & 0o777,
        0o644,
        "a report is readable like any document"
    );
    assert!(html.contains("SOC 2 readiness — Acme Ltd"));
    assert!(html.contains("<div class=\"chart\" role=\"img\""));
    assert!(html.contains("<svg class=\"chart-bar\""));
    assert!(
        !html.contains("src=\"http") && !html.contains("href=\"http") && !html.contains("<link")
    );
    // Nothing but the report is left in the folder.
    assert_eq!(
        fs_err::read_dir(sandbox.path().join("out"))
            .unwrap()
            .count(),
        1
    );
}

#[test]
fn markdown_report_goes_to_standard_output() {
    let sandbox = Sandbox::with_workspace();
    let output = sandbox
        .attest(&["report", "readiness", "--format", "md"])
        .output()
        .unwrap();
    assert!(output.status.success());
    let md = String::from_utf8(output.stdout).unwrap();
    assert!(md.starts_with("# SOC 2 readiness — Acme Ltd\n"));
    assert!(md.contains("## What to do next"));
    assert!(md.contains("| CC6.1 | security |"));
}

#[test]
fn status_shows_bars_counts_and_next_steps() {
    let sandbox = Sandbox::with_workspace();
    let output = sandbox.attest(&["status"]).output().unwrap();
    assert!(output.status.success());
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(
        text.starts_with("Acme Ltd — SOC 2 Type 2 readiness as of "),
        "{text}"
    );
    for needle in [
        "Security",
        "Availability",
        "Confidentiality",
        "░",
        "Controls in scope",
        "missing evidence",
        "not evaluated",
        "Next steps",
        "1. ",
    ] {
        assert!(text.contains(needle), "missing {needle} in\n{text}");
    }
    let json = sandbox.json(&["status", "--format", "json"]);
    assert_eq!(json["categories"].as_array().unwrap().len(), 3);
}
