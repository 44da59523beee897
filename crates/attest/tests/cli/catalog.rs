//! `--help`, `--version`, completions, `catalog criteria` and `controls list|show`.

use std::collections::{BTreeMap, BTreeSet};

use crate::{Sandbox, stderr};

/// The subcommands listed under `Commands:` in a help text (without `help` itself).
fn listed_subcommands(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|l| l.trim() != "Commands:")
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        // An entry is indented by two spaces; wrapped descriptions by more.
        .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_owned)
        .collect()
}

/// Walks the command tree from `attest --help` down, so that a new subcommand is covered
/// without being listed here: each has help with its own usage line.
#[test]
fn every_subcommand_has_help_and_the_binary_a_version() {
    let sandbox = Sandbox::new();
    let mut pending: Vec<Vec<String>> = vec![vec![]];
    let mut visited: Vec<String> = Vec::new();
    while let Some(path) = pending.pop() {
        let mut args: Vec<&str> = path.iter().map(String::as_str).collect();
        args.push("--help");
        let output = sandbox.attest(&args).output().unwrap();
        assert!(output.status.success(), "{args:?}: {}", stderr(&output));
        let text = String::from_utf8_lossy(&output.stdout);
        let usage = format!(
            "Usage: {}",
            ["attest"]
                .into_iter()
                .chain(path.iter().map(String::as_str))
                .collect::<Vec<_>>()
                .join(" ")
        );
        assert!(text.contains(&usage), "{args:?}: no `{usage}` in\n{text}");
        // A description follows the usage of every command.
        assert!(
            text.lines()
                .next()
                .is_some_and(|l| !l.trim().is_empty() && !l.starts_with("Usage")),
            "{args:?}: no description in\n{text}"
        );
        for sub in listed_subcommands(&text) {
            let mut child = path.clone();
            child.push(sub);
            pending.push(child);
        }
        visited.push(path.join(" "));
    }
    visited.sort();
    // The walk found the tree (it cannot pass by finding nothing).
    for expected in [
        "init",
        "validate",
        "catalog criteria",
        "controls list",
        "controls show",
        "evidence add",
        "evidence list",
        "status",
        "collect host",
        "checks list",
        "checks show",
        "checks test",
        "scan",
        "assess",
        "verify",
        "report readiness",
        "completions",
    ] {
        assert!(
            visited.iter().any(|v| v == expected),
            "`attest {expected}` was not reached: {visited:?}"
        );
    }
    let output = sandbox.attest(&["--version"]).output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).trim(),
        format!("attest {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn help_texts_list_subcommands_but_not_wrapped_descriptions() {
    let help = "About\n\nUsage: attest <COMMAND>\n\nCommands:\n  verify       Verify the ledger and every evidence\n               file\n  report       Reports\n  help         Print this message\n\nOptions:\n  -h, --help\n";
    assert_eq!(listed_subcommands(help), ["verify", "report"]);
    assert!(listed_subcommands("Usage: attest init [DIR]\n\nOptions:\n  -h\n").is_empty());
}

#[test]
fn completions_are_generated_for_each_shell() {
    let sandbox = Sandbox::new();
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef attest"),
        ("fish", "complete -c attest"),
    ] {
        let output = sandbox.attest(&["completions", shell]).output().unwrap();
        assert!(output.status.success());
        let script = String::from_utf8_lossy(&output.stdout);
        assert!(script.contains(marker), "{shell}");
        assert!(
            script.contains("readiness"),
            "{shell} completes subcommands"
        );
    }
    let bad = sandbox
        .attest(&["completions", "cmd.exe"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn unknown_arguments_are_usage_errors() {
    let sandbox = Sandbox::new();
    let output = sandbox
        .attest(&["catalog", "criteria", "--format", "xml"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("invalid value 'xml'"));
    let output = sandbox
        .attest(&["catalog", "criteria", "--category", "secure"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("security, availability"),
        "{}",
        stderr(&output)
    );
}

fn reference_criteria() -> Vec<(String, String)> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/fixtures/tsc-2017-criteria.csv"
    );
    let mut reader = csv::Reader::from_path(path).unwrap();
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            (r[0].to_owned(), r[1].to_owned())
        })
        .collect()
}

#[test]
fn the_catalog_has_every_criterion_of_the_reference_list() {
    let sandbox = Sandbox::new();
    let criteria = sandbox.json(&["catalog", "criteria", "--format", "json"]);
    let criteria = criteria.as_array().unwrap();
    let by_id: BTreeMap<&str, &serde_json::Value> = criteria
        .iter()
        .map(|c| (c["id"].as_str().unwrap(), c))
        .collect();
    let reference = reference_criteria();
    assert_eq!(reference.len(), 61);
    assert_eq!(criteria.len(), 61);
    for (id, category) in &reference {
        let c = by_id
            .get(id.as_str())
            .unwrap_or_else(|| panic!("{id} missing"));
        assert_eq!(c["category"], category.as_str(), "{id}");
        assert!(!c["title"].as_str().unwrap().is_empty(), "{id}");
        assert!(!c["description"].as_str().unwrap().is_empty(), "{id}");
        assert!(c["points_of_focus"].as_array().unwrap().len() >= 3, "{id}");
    }
    // Listed in catalog order, as in the reference.
    let ids: Vec<&str> = criteria.iter().map(|c| c["id"].as_str().unwrap()).collect();
    let expected: Vec<&str> = reference.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(ids, expected);
}

#[test]
fn criteria_list_in_every_format_and_by_category() {
    let sandbox = Sandbox::new();
    let privacy = sandbox.json(&[
        "catalog",
        "criteria",
        "--category",
        "privacy",
        "--format",
        "json",
    ]);
    let privacy = privacy.as_array().unwrap();
    assert_eq!(
        privacy.len(),
        reference_criteria()
            .iter()
            .filter(|(_, c)| c == "privacy")
            .count()
    );
    assert!(privacy.iter().all(|c| c["category"] == "privacy"));

    let csv_out = sandbox
        .attest(&["catalog", "criteria", "--format", "csv"])
        .output()
        .unwrap();
    let mut reader = csv::Reader::from_reader(csv_out.stdout.as_slice());
    assert_eq!(
        reader.headers().unwrap().iter().collect::<Vec<_>>(),
        ["id", "category", "title", "controls"]
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 61);
    assert!(
        rows.iter().all(|r| r[3].parse::<usize>().unwrap() >= 1),
        "every criterion has a control"
    );

    let md = sandbox
        .attest(&["catalog", "criteria", "--format", "md"])
        .output()
        .unwrap();
    let md = String::from_utf8(md.stdout).unwrap();
    assert!(md.starts_with("| id | category | title | controls |\n|---|---|---|---|\n"));
    assert_eq!(md.lines().count(), 63);

    let table = sandbox.attest(&["catalog", "criteria"]).output().unwrap();
    let table = String::from_utf8(table.stdout).unwrap();
    assert!(table.contains("CC6.1") && table.contains("P8.1"));
}

#[test]
fn every_criterion_is_covered_and_busy_ones_several_times() {
    let sandbox = Sandbox::new();
    let controls = sandbox.json(&["controls", "list", "--format", "json"]);
    let controls = controls.as_array().unwrap();
    assert!(controls.len() >= 80, "{} controls", controls.len());
    let mut coverage: BTreeMap<String, usize> = BTreeMap::new();
    let mut ids = BTreeSet::new();
    for control in controls {
        for field in [
            "id",
            "title",
            "criteria",
            "frequency",
            "kind",
            "checks",
            "owner",
        ] {
            assert!(!control[field].is_null(), "{field} in {control}");
        }
        assert!(
            ids.insert(control["id"].as_str().unwrap().to_owned()),
            "duplicate {}",
            control["id"]
        );
        let kind = control["kind"].as_str().unwrap();
        assert_eq!(
            control["evidence"].is_null(),
            kind == "automated",
            "{}",
            control["id"]
        );
        for criterion in control["criteria"].as_array().unwrap() {
            *coverage
                .entry(criterion.as_str().unwrap().to_owned())
                .or_default() += 1;
        }
    }
    for (id, _) in reference_criteria() {
        assert!(
            coverage.get(&id).copied().unwrap_or(0) >= 1,
            "{id} is covered by no control"
        );
    }
    for busy in ["CC6.1", "CC6.2", "CC6.3", "CC6.6", "CC7.2", "CC8.1"] {
        assert!(
            coverage[busy] >= 3,
            "{busy} is covered by only {}",
            coverage[busy]
        );
    }
}

#[test]
fn controls_filter_by_criterion_and_category() {
    let sandbox = Sandbox::new();
    let cc61 = sandbox.json(&[
        "controls",
        "list",
        "--criterion",
        "CC6.1",
        "--format",
        "json",
    ]);
    let cc61 = cc61.as_array().unwrap();
    assert!(!cc61.is_empty());
    assert!(cc61.iter().all(|c| {
        c["criteria"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k == "CC6.1")
    }));
    let availability = sandbox.json(&[
        "controls",
        "list",
        "--category",
        "availability",
        "--format",
        "json",
    ]);
    assert!(availability.as_array().unwrap().iter().all(|c| {
        c["criteria"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k.as_str().unwrap().starts_with("A1"))
    }));
    let output = sandbox
        .attest(&["controls", "list", "--criterion", "CC99.1"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("unknown criterion `CC99.1`"));
}

#[test]
fn controls_show_prints_one_control_or_a_clear_error() {
    let sandbox = Sandbox::new();
    let list = sandbox.json(&["controls", "list", "--format", "json"]);
    let first = list[0]["id"].as_str().unwrap().to_owned();
    let shown = sandbox.json(&["controls", "show", &first, "--format", "json"]);
    assert_eq!(shown, list[0]);
    let table = sandbox
        .attest(&["controls", "show", &first])
        .output()
        .unwrap();
    let table = String::from_utf8(table.stdout).unwrap();
    assert!(table.contains("description") && table.contains(list[0]["title"].as_str().unwrap()));

    let lower = first.to_lowercase();
    let output = sandbox
        .attest(&["controls", "show", &lower])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains(&format!("did you mean `{first}`?")),
        "{}",
        stderr(&output)
    );
}
