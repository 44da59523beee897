//! Type 2 history end to end: simulated history, Type 1 and Type 2 reports, the auditor
//! package checked by `attest verify` and by the standalone `verify.py`, and tampering.

use std::io::{Read as _, Write as _};
use std::path::Path;

use crate::{Sandbox, assert_contains_all, stderr};

/// A workspace with 30 days of simulated hourly history on 3 hosts and one piece of evidence.
fn simulated() -> Sandbox {
    let sandbox = Sandbox::with_workspace();
    let output = sandbox
        .attest(&[
            "simulate",
            "history",
            "--hosts",
            "3",
            "--checks",
            "30",
            "--days",
            "30",
            "--seed",
            "3",
            "--start",
            "2026-01-01",
        ])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    assert_contains_all(
        &stderr(&output),
        &["Simulated 3 hosts x 30 results, hourly for 30 days from 2026-01-01"],
    );
    let control = manual_control(&sandbox);
    let file = sandbox.write("review.txt", "signed access review");
    sandbox
        .attest(&[
            "evidence",
            "add",
            file.to_str().unwrap(),
            "--control",
            &control,
            "--date",
            "2026-01-10",
        ])
        .assert()
        .success();
    sandbox
}

fn manual_control(sandbox: &Sandbox) -> String {
    let controls = sandbox.json(&["controls", "list", "--format", "json"]);
    controls
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["kind"] == "manual" && c["frequency"] == "quarterly")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

const PERIOD: &str = "2026-01-01..2026-01-30";

#[test]
fn simulated_history_verifies_and_replays() {
    let sandbox = simulated();
    let output = sandbox.attest(&["verify"]).output().unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    assert_contains_all(
        &stderr(&output),
        &[
            "checkpoints, signed through entry",
            "evidence: 1 records match the ledger",
            "intervals are exactly what the ledger's",
        ],
    );
    // The same seed generates the same history.
    let again = simulated();
    let runs = |s: &Sandbox| {
        let r = s.json(&[
            "report", "type2", "--period", PERIOD, "--seed", "1", "--format", "json",
        ]);
        (
            r["summary"]["runs"].clone(),
            r["summary"]["intervals"].clone(),
        )
    };
    assert_eq!(runs(&sandbox), runs(&again));
}

#[test]
fn type2_reports_effectiveness_in_every_format_with_reproducible_samples() {
    let sandbox = simulated();
    let json = |seed: &str| {
        sandbox.json(&[
            "report", "type2", "--period", PERIOD, "--seed", seed, "--format", "json",
        ])
    };
    let report = json("11");
    assert_eq!(report["schema_version"], 1);
    assert_eq!(report["sampling"]["seed"], 11);
    assert_eq!(report["summary"]["targets"], 3);
    let controls = report["controls"].as_array().unwrap();
    let automated: Vec<_> = controls
        .iter()
        .filter(|c| c["automated"].is_object() && c["automated"]["targets"] == 3)
        .collect();
    assert!(!automated.is_empty());
    for control in &automated {
        assert_eq!(control["timeline"].as_str().unwrap().len(), 30);
        let a = &control["automated"];
        let total = a["seconds_total"].as_i64().unwrap();
        let parts: i64 = [
            "seconds_operating",
            "seconds_failing",
            "seconds_unknown",
            "seconds_gap",
        ]
        .iter()
        .map(|k| a[k].as_i64().unwrap())
        .sum();
        assert_eq!(parts, total, "{}", control["id"]);
        let sample = &control["samples"][0];
        assert_eq!(sample["population_kind"], "runs");
        // Continuous: one run of each target, three targets.
        assert_eq!(sample["items"].as_array().unwrap().len(), 3);
    }
    // The manual control with evidence has its evidence sampled.
    assert!(controls.iter().any(|c| {
        c["manual"]["evidence"]
            .as_array()
            .is_some_and(|e| e.len() == 1)
    }));
    // The same seed draws the same samples; another seed draws others.
    let samples = |r: &serde_json::Value| {
        r["controls"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["samples"].clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(samples(&report), samples(&json("11")));
    assert_ne!(samples(&report), samples(&json("12")));
    // Every format.
    let html = sandbox
        .attest(&[
            "report", "type2", "--period", PERIOD, "--seed", "11", "-o", "t2.html",
        ])
        .output()
        .unwrap();
    assert!(html.status.success());
    assert_contains_all(
        &stderr(&html),
        &["samples drawn with seed 11", "pass --seed 11"],
    );
    let html = fs_err::read_to_string(sandbox.path().join("t2.html")).unwrap();
    assert_contains_all(
        &html,
        &[
            "<svg class=\"timeline\"",
            "Sample of runs",
            "When each control operated",
        ],
    );
    assert!(!html.contains("https://") && !html.contains("http://"));
    let csv = sandbox
        .attest(&[
            "report", "type2", "--period", PERIOD, "--seed", "1", "--format", "csv",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8(csv.stdout).unwrap();
    assert!(text.starts_with("control,title,criteria,owner,"));
    assert_eq!(text.lines().count(), controls.len() + 1);
    let md = sandbox
        .attest(&[
            "report", "type2", "--period", PERIOD, "--seed", "1", "--format", "md",
        ])
        .output()
        .unwrap();
    assert!(
        String::from_utf8(md.stdout)
            .unwrap()
            .starts_with("# SOC 2 Type 2")
    );
}

#[test]
fn type1_reports_design_and_implementation_on_a_date() {
    let sandbox = simulated();
    let control = manual_control(&sandbox);
    let state = |date: &str| -> String {
        let r = sandbox.json(&["report", "type1", "--as-of", date, "--format", "json"]);
        r["controls"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == control.as_str())
            .unwrap()["implementation"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(state("2026-01-20"), "implemented");
    assert_eq!(
        state("2026-01-05"),
        "not_implemented",
        "before its evidence"
    );
    let r = sandbox.json(&[
        "report",
        "type1",
        "--as-of",
        "2026-01-20",
        "--format",
        "json",
    ]);
    assert!(r["summary"]["implemented"].as_u64().unwrap() > 1);
    let html = sandbox
        .attest(&["report", "type1", "--as-of", "2026-01-20"])
        .output()
        .unwrap();
    assert!(
        String::from_utf8(html.stdout)
            .unwrap()
            .contains("SOC 2 Type 1")
    );
}

#[test]
fn reports_and_simulation_refuse_bad_input_with_exit_2() {
    let sandbox = Sandbox::new();
    // No workspace, so no scope.period.
    let no_period = sandbox.attest(&["report", "type2"]).output().unwrap();
    assert_eq!(no_period.status.code(), Some(2));
    assert!(stderr(&no_period).contains("no audit period: pass --period START..END"));
    for bad in [
        "2026-01-01",
        "2026-13-01..2026-12-31",
        "2026-12-31..2026-01-01",
    ] {
        let output = sandbox
            .attest(&["report", "type2", "--period", bad])
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{bad}");
    }
    let zero = sandbox
        .attest(&["simulate", "history", "--hosts", "0"])
        .output()
        .unwrap();
    assert_eq!(zero.status.code(), Some(2));
    sandbox.write("not.zip", "hello");
    let output = sandbox.attest(&["verify", "not.zip"]).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("is not a zip file"),
        "{}",
        stderr(&output)
    );
}

fn export(sandbox: &Sandbox, name: &str) -> std::path::PathBuf {
    let output = sandbox
        .attest(&[
            "export", "package", "--period", PERIOD, "--seed", "5", "--output", name,
        ])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    sandbox.path().join(name)
}

fn python_verify(package: &Path, key: Option<&str>) -> (i32, String) {
    let script = package.with_file_name("verify.py");
    fs_err::write(&script, read_member(package, "verify.py")).unwrap();
    let mut cmd = std::process::Command::new("python3");
    cmd.arg(&script).arg(package);
    if let Some(key) = key {
        cmd.args(["--public-key", key]);
    }
    let output = cmd.output().unwrap();
    (
        output.status.code().unwrap(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}

fn read_member(package: &Path, name: &str) -> Vec<u8> {
    let mut zip = zip::ZipArchive::new(fs_err::File::open(package).unwrap()).unwrap();
    let mut content = Vec::new();
    zip.by_name(name)
        .unwrap()
        .read_to_end(&mut content)
        .unwrap();
    content
}

/// A copy of `package` with each member passed through `edit` (None drops it) and `extra`
/// members added.
fn rewrite(
    package: &Path,
    out: &Path,
    edit: impl Fn(&str, Vec<u8>) -> Option<Vec<u8>>,
    extra: &[(&str, &[u8])],
) {
    let mut zip = zip::ZipArchive::new(fs_err::File::open(package).unwrap()).unwrap();
    let mut writer = zip::ZipWriter::new(fs_err::File::create(out).unwrap());
    for i in 0..zip.len() {
        let mut member = zip.by_index(i).unwrap();
        let name = member.name().unwrap().into_owned();
        let mut content = Vec::new();
        member.read_to_end(&mut content).unwrap();
        if let Some(content) = edit(&name, content) {
            writer
                .start_file(&name, zip::write::SimpleFileOptions::default())
                .unwrap();
            writer.write_all(&content).unwrap();
        }
    }
    for (name, content) in extra {
        writer
            .start_file(*name, zip::write::SimpleFileOptions::default())
            .unwrap();
        writer.write_all(content).unwrap();
    }
    writer.finish().unwrap();
}

#[test]
fn the_package_verifies_with_both_verifiers_and_every_tampering_is_caught() {
    let sandbox = simulated();
    let package = export(&sandbox, "package.zip");
    let key = fs_err::read_to_string(sandbox.path().join(".attest/keys/ledger.pub")).unwrap();
    let key = key.trim();
    // Intact: both verifiers agree, with the organisation's key.
    let ours = sandbox
        .attest(&["verify", "package.zip", "--public-key", key])
        .output()
        .unwrap();
    assert!(ours.status.success(), "{}", stderr(&ours));
    assert!(stderr(&ours).contains("package: intact"));
    let (code, out) = python_verify(&package, Some(key));
    assert_eq!(code, 0, "{out}");
    assert!(out.starts_with("OK: entries "), "{out}");
    // The package holds what the issue asks for.
    let mut zip = zip::ZipArchive::new(fs_err::File::open(&package).unwrap()).unwrap();
    let names: Vec<String> = zip.file_names().map(|n| n.unwrap().into_owned()).collect();
    for expected in [
        "reports/type2.html",
        "reports/type2.json",
        "reports/type1.html",
        "control-matrix.csv",
        "exceptions.csv",
        "evidence/evidence.json",
        "ledger/entries.jsonl",
        "ledger/checkpoints.jsonl",
        "public-key.txt",
        "manifest.json",
        "manifest.sig",
        "verify.py",
    ] {
        assert!(names.iter().any(|n| n == expected), "{expected} missing");
    }
    assert!(
        names
            .iter()
            .any(|n| n.starts_with("evidence/") && n.ends_with("review.txt"))
    );
    let mut manifest = String::new();
    zip.by_name("manifest.json")
        .unwrap()
        .read_to_string(&mut manifest)
        .unwrap();
    assert!(manifest.contains("\"sample_seed\": 5"));

    let tampered = sandbox.path().join("tampered.zip");
    let check = |what: &str, expect_ours: &str, expect_python: &str| {
        let ours = sandbox
            .attest(&["verify", "tampered.zip", "--public-key", key])
            .output()
            .unwrap();
        assert_eq!(ours.status.code(), Some(1), "{what}: {}", stderr(&ours));
        assert!(
            stderr(&ours).contains(expect_ours),
            "{what}: {}",
            stderr(&ours)
        );
        let (code, out) = python_verify(&tampered, Some(key));
        assert_eq!(code, 1, "{what}: {out}");
        assert!(out.contains(expect_python), "{what}: {out}");
    };
    // An entry of the ledger changed.
    rewrite(
        &package,
        &tampered,
        |name, content| {
            if name == "ledger/entries.jsonl" {
                let text = String::from_utf8(content).unwrap();
                Some(
                    text.replacen("\"kind\":\"scan.run\"", "\"kind\":\"scan.ran\"", 1)
                        .into_bytes(),
                )
            } else {
                Some(content)
            }
        },
        &[],
    );
    check(
        "edited entry",
        "ledger/entries.jsonl does not match its SHA-256",
        "ledger/entries.jsonl does not match its SHA-256",
    );
    // An evidence file replaced.
    rewrite(
        &package,
        &tampered,
        |name, content| {
            if name.ends_with("review.txt") {
                Some(b"a forged review".to_vec())
            } else {
                Some(content)
            }
        },
        &[],
    );
    check(
        "edited evidence",
        "does not match its SHA-256",
        "does not match its SHA-256",
    );
    // A file removed, a file added.
    rewrite(
        &package,
        &tampered,
        |name, content| (name != "exceptions.csv").then_some(content),
        &[],
    );
    check("removed file", "a file was removed", "a file was removed");
    rewrite(
        &package,
        &tampered,
        |_, c| Some(c),
        &[("notes.txt", b"trust me")],
    );
    check("added file", "a file was added", "a file was added");
    // The manifest edited to match an edited file: its signature no longer verifies.
    rewrite(
        &package,
        &tampered,
        |name, content| {
            if name == "manifest.json" {
                let text = String::from_utf8(content).unwrap();
                Some(
                    text.replacen("\"sample_seed\": 5", "\"sample_seed\": 6", 1)
                        .into_bytes(),
                )
            } else {
                Some(content)
            }
        },
        &[],
    );
    check(
        "edited manifest",
        "the manifest's signature does not verify",
        "the manifest's signature does not verify",
    );
    // A whole package made with another key: consistent in itself, refused with the
    // organisation's key.
    let other = simulated();
    let forged = export(&other, "forged.zip");
    fs_err::copy(&forged, &tampered).unwrap();
    check(
        "another key",
        "the manifest names public key",
        "the manifest names public key",
    );
    // Without the organisation's key, a self-consistent package verifies but says which key.
    let (code, out) = python_verify(&tampered, None);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("compare it with the key the organisation published"));
}

#[test]
fn the_package_ledger_segment_starts_at_a_signed_checkpoint() {
    let sandbox = simulated();
    // A period starting after the first week: the segment is anchored at the last checkpoint
    // before it, and verifies on its own.
    let output = sandbox
        .attest(&[
            "export",
            "package",
            "--period",
            "2026-01-08..2026-01-20",
            "--seed",
            "1",
            "-o",
            "week.zip",
        ])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let package = sandbox.path().join("week.zip");
    let manifest: serde_json::Value =
        serde_json::from_slice(&read_member(&package, "manifest.json")).unwrap();
    let first = manifest["ledger"]["first_seq"].as_u64().unwrap();
    assert!(first > 1);
    let checkpoints = String::from_utf8(read_member(&package, "ledger/checkpoints.jsonl")).unwrap();
    let anchor: serde_json::Value =
        serde_json::from_str(checkpoints.lines().next().unwrap()).unwrap();
    assert_eq!(anchor["seq"].as_u64().unwrap(), first - 1);
    let entries = String::from_utf8(read_member(&package, "ledger/entries.jsonl")).unwrap();
    let first_entry: serde_json::Value =
        serde_json::from_str(entries.lines().next().unwrap()).unwrap();
    assert_eq!(first_entry["prev"], anchor["head"]);
    assert!(
        sandbox
            .attest(&["verify", "week.zip"])
            .output()
            .unwrap()
            .status
            .success()
    );
    let (code, out) = python_verify(&package, None);
    assert_eq!(code, 0, "{out}");
}

#[test]
fn configuration_changes_are_recorded_in_the_ledger() {
    let sandbox = Sandbox::with_workspace();
    let control = manual_control(&sandbox);
    let file = sandbox.write("review.txt", "signed review");
    let add = || {
        sandbox
            .attest(&[
                "evidence",
                "add",
                file.to_str().unwrap(),
                "--control",
                &control,
            ])
            .assert()
            .success();
    };
    let changes = || -> i64 {
        let db = rusqlite::Connection::open(sandbox.path().join(".attest/attest.db")).unwrap();
        db.query_row(
            "SELECT COUNT(*) FROM ledger l JOIN ledger_kinds k ON k.id = l.kind_id WHERE k.name = 'config.changed'",
            [],
            |r| r.get(0),
        )
        .unwrap()
    };
    add();
    assert_eq!(changes(), 1, "the first write records the configuration");
    add();
    assert_eq!(
        changes(),
        1,
        "an unchanged configuration is not recorded again"
    );
    let config = sandbox.path().join("attest.toml");
    let text = fs_err::read_to_string(&config).unwrap();
    fs_err::write(&config, text.replace("Acme Ltd", "Acme Group")).unwrap();
    add();
    assert_eq!(changes(), 2, "an edited attest.toml is recorded");
    sandbox.assert_verifies();
}
