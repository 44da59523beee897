//! `evidence add|list` and how evidence moves readiness as it ages.

use jiff::ToSpan as _;
use jiff::Zoned;
use jiff::civil::Date;

use crate::{Sandbox, stderr};

/// A manual control of the library and its freshness window in days.
fn manual_control(sandbox: &Sandbox) -> (String, i64) {
    let controls = sandbox.json(&["controls", "list", "--format", "json"]);
    let control = controls
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["kind"] == "manual" && c["evidence"]["freshness_days"].as_i64().unwrap() >= 60)
        .expect("a manual control with a window of 60 days or more");
    (
        control["id"].as_str().unwrap().to_owned(),
        control["evidence"]["freshness_days"].as_i64().unwrap(),
    )
}

fn today() -> Date {
    Zoned::now().date()
}

fn status_of(sandbox: &Sandbox, control: &str) -> String {
    let report = sandbox.json(&["report", "readiness", "--format", "json"]);
    let entry = report["controls"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == control)
        .unwrap();
    entry["status"].as_str().unwrap().to_owned()
}

fn passing(sandbox: &Sandbox) -> u64 {
    sandbox.json(&["status", "--format", "json"])["summary"]["controls"]["passing"]
        .as_u64()
        .unwrap()
}

#[test]
fn evidence_makes_a_control_pass_and_it_lapses_as_the_evidence_ages() {
    let sandbox = Sandbox::with_workspace();
    let (control, window) = manual_control(&sandbox);
    let before = passing(&sandbox);
    assert_eq!(status_of(&sandbox, &control), "missing_evidence");

    let file = sandbox.write("review.txt", "Q1 access review, signed.\n");
    let fresh_day = (today() - 10.days()).to_string();
    let output = sandbox
        .attest(&[
            "evidence",
            "add",
            file.to_str().unwrap(),
            "--control",
            &control,
            "--date",
            &fresh_day,
            "--note",
            "signed by the CTO",
        ])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stderr(&output).contains(&format!("Recorded evidence #1 for {control}")),
        "{}",
        stderr(&output)
    );
    assert_eq!(status_of(&sandbox, &control), "passing");
    assert_eq!(passing(&sandbox), before + 1);

    // The content is stored under its SHA-256.
    let listed = sandbox.json(&["evidence", "list", "--format", "json"]);
    let record = &listed[0];
    let sha = record["sha256"].as_str().unwrap();
    let object = sandbox
        .path()
        .join(".attest/objects")
        .join(&sha[..2])
        .join(&sha[2..]);
    assert_eq!(
        fs_err::read_to_string(object).unwrap(),
        "Q1 access review, signed.\n"
    );
    assert_eq!(record["control"], control.as_str());
    assert_eq!(record["effective_date"], fresh_day.as_str());
    assert_eq!(record["added_by"], "auditor-test");
    assert_eq!(record["note"], "signed by the CTO");
    assert_eq!(record["status"], "current");
    let expires = (today() - 10.days() + window.days()).to_string();
    assert_eq!(record["expires_on"], expires.as_str());

    // Seen from a later day, the same evidence first expires soon, then lapses.
    let near_end = (today() - 10.days() + (window - 1).days()).to_string();
    let report = sandbox.json(&[
        "report",
        "readiness",
        "--format",
        "json",
        "--as-of",
        &near_end,
    ]);
    let entry = report["controls"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == control.as_str())
        .unwrap()
        .clone();
    assert_eq!(entry["status"], "expiring_soon");
    let after_end = (today() - 10.days() + (window + 1).days()).to_string();
    let report = sandbox.json(&[
        "report",
        "readiness",
        "--format",
        "json",
        "--as-of",
        &after_end,
    ]);
    let entry = report["controls"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == control.as_str())
        .unwrap()
        .clone();
    assert_eq!(entry["status"], "stale");
    let listed = sandbox.json(&[
        "evidence", "list", "--format", "json", "--as-of", &after_end,
    ]);
    assert_eq!(listed[0]["status"], "expired");
}

#[test]
fn backdated_evidence_is_stale_at_once_and_counts_as_missing() {
    let sandbox = Sandbox::with_workspace();
    let (control, window) = manual_control(&sandbox);
    let before = sandbox.json(&["status", "--format", "json"]);
    let file = sandbox.write("old.pdf", "%PDF old review");
    let old_day = (today() - (window + 5).days()).to_string();
    sandbox
        .attest(&[
            "evidence",
            "add",
            file.to_str().unwrap(),
            "--control",
            &control,
            "--date",
            &old_day,
        ])
        .assert()
        .success();
    assert_eq!(status_of(&sandbox, &control), "stale");
    let after = sandbox.json(&["status", "--format", "json"]);
    assert_eq!(
        after["summary"], before["summary"],
        "stale evidence changes nothing"
    );

    // Evidence near the end of its window shows as expiring soon, and still counts.
    let near_day = (today() - (window - 2).days()).to_string();
    sandbox
        .attest(&[
            "evidence",
            "add",
            file.to_str().unwrap(),
            "--control",
            &control,
            "--date",
            &near_day,
        ])
        .assert()
        .success();
    assert_eq!(status_of(&sandbox, &control), "expiring_soon");
    let now = sandbox.json(&["status", "--format", "json"]);
    assert_eq!(now["summary"]["controls"]["expiring_soon"], 1);
    assert_eq!(
        now["summary"]["controls"]["passing"].as_u64(),
        before["summary"]["controls"]["passing"]
            .as_u64()
            .map(|n| n + 1)
    );
}

#[test]
fn bad_evidence_input_is_refused_and_nothing_is_stored() {
    let sandbox = Sandbox::with_workspace();
    let (manual, _) = manual_control(&sandbox);
    let controls = sandbox.json(&["controls", "list", "--format", "json"]);
    let automated = controls
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["kind"] == "automated")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let file = sandbox.write("evidence.txt", "x");
    let file = file.to_str().unwrap();
    let tomorrow = (today() + 1.day()).to_string();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["evidence", "add", file, "--control", "NOPE-01"],
            "unknown control `NOPE-01`",
        ),
        (
            vec!["evidence", "add", file, "--control", &automated],
            "is evidenced by automated checks",
        ),
        (
            vec![
                "evidence",
                "add",
                file,
                "--control",
                &manual,
                "--date",
                &tomorrow,
            ],
            "is in the future",
        ),
        (
            vec!["evidence", "add", "missing.pdf", "--control", &manual],
            "cannot read the evidence file",
        ),
        (
            vec!["evidence", "add", ".", "--control", &manual],
            "is a folder",
        ),
        (
            vec![
                "evidence",
                "add",
                file,
                "--control",
                &manual,
                "--date",
                "2026-02-30",
            ],
            "invalid value '2026-02-30'",
        ),
    ];
    for (args, message) in cases {
        let output = sandbox.attest(&args).output().unwrap();
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        assert!(
            stderr(&output).contains(message),
            "{args:?}: {}",
            stderr(&output)
        );
    }
    let listed = sandbox.json(&["evidence", "list", "--format", "json"]);
    assert_eq!(listed.as_array().unwrap().len(), 0);
}

#[test]
fn evidence_lists_in_every_format_and_by_control() {
    let sandbox = Sandbox::with_workspace();
    let (control, _) = manual_control(&sandbox);
    let file = sandbox.write("a, \"quoted\" name.txt", "content");
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
    let csv_out = sandbox
        .attest(&["evidence", "list", "--format", "csv"])
        .output()
        .unwrap();
    let mut reader = csv::Reader::from_reader(csv_out.stdout.as_slice());
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 1);
    assert_eq!(&rows[0][2], "a, \"quoted\" name.txt");
    let md = String::from_utf8(
        sandbox
            .attest(&["evidence", "list", "--format", "md"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    assert!(md.contains(&format!("| 1 | {control} |")), "{md}");
    let other = sandbox.json(&["evidence", "list", "--control", "ZZ-99", "--format", "json"]);
    assert!(other.as_array().unwrap().is_empty());
}

#[test]
fn two_processes_adding_evidence_at_once_both_land() {
    let sandbox = Sandbox::with_workspace();
    let (control, _) = manual_control(&sandbox);
    let children: Vec<_> = (0..6)
        .map(|i| {
            let file = sandbox.write(&format!("e{i}.txt"), &format!("evidence {i}"));
            let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("attest"));
            cmd.current_dir(sandbox.path())
                .env("HOME", sandbox.path().join("home"))
                .env_remove("ATTEST_STORE")
                .args([
                    "evidence",
                    "add",
                    file.to_str().unwrap(),
                    "--control",
                    &control,
                ])
                .stderr(std::process::Stdio::null());
            cmd.spawn().unwrap()
        })
        .collect();
    for mut child in children {
        assert!(child.wait().unwrap().success());
    }
    let listed = sandbox.json(&["evidence", "list", "--format", "json"]);
    assert_eq!(listed.as_array().unwrap().len(), 6);
}

#[test]
fn killing_writers_mid_write_loses_no_acknowledged_evidence() {
    let sandbox = Sandbox::with_workspace();
    let (control, _) = manual_control(&sandbox);
    sandbox.write("e.txt", "evidence");
    let attest = assert_cmd::cargo::cargo_bin("attest");
    let mut acknowledged = Vec::new();
    let mut killed = 0;
    // How long one write takes here and now (the machine may be busy).
    let started = std::time::Instant::now();
    sandbox
        .attest(&[
            "evidence",
            "add",
            "e.txt",
            "--control",
            &control,
            "--note",
            "timing",
        ])
        .assert()
        .success();
    acknowledged.push("timing".to_owned());
    let span = started.elapsed().as_micros() * 3 / 2;
    // SIGKILL each writer after a different delay across that time, so that some die before,
    // some during and some after their write. Those that exited successfully were
    // acknowledged.
    for i in 0..40_u64 {
        let note = format!("n{i}");
        let mut child = std::process::Command::new(&attest)
            .args([
                "evidence",
                "add",
                "e.txt",
                "--control",
                &control,
                "--note",
                &note,
            ])
            .current_dir(sandbox.path())
            .env("HOME", sandbox.path().join("home"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let delay = span * u128::from(i) / 40;
        std::thread::sleep(std::time::Duration::from_micros(
            u64::try_from(delay).unwrap_or(u64::MAX),
        ));
        let _ = child.kill();
        let status = child.wait().unwrap();
        if status.success() {
            acknowledged.push(note);
        } else {
            killed += 1;
        }
    }
    assert!(
        killed > 0 && acknowledged.len() > 1,
        "killed {killed}, acknowledged {}",
        acknowledged.len()
    );
    let listed = sandbox.json(&["evidence", "list", "--format", "json"]);
    let notes: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["note"].as_str().unwrap())
        .collect();
    for note in &acknowledged {
        assert!(
            notes.contains(&note.as_str()),
            "acknowledged {note} was lost"
        );
    }
    // Every record's object is whole.
    for record in listed.as_array().unwrap() {
        let sha = record["sha256"].as_str().unwrap();
        let object = sandbox
            .path()
            .join(".attest/objects")
            .join(&sha[..2])
            .join(&sha[2..]);
        assert_eq!(fs_err::read_to_string(object).unwrap(), "evidence");
    }
    // And the store still takes writes.
    sandbox
        .attest(&["evidence", "add", "e.txt", "--control", &control])
        .assert()
        .success();
}

#[test]
fn verify_detects_tampered_ledger_rows_evidence_files_and_keys() {
    let sandbox = Sandbox::with_workspace();
    let key = sandbox.path().join(".attest/keys/ledger.key");
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&fs_err::metadata(&key).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600, "init creates the key private");
    let (control, _) = manual_control(&sandbox);
    let file = sandbox.write("review.txt", "signed review");
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
    sandbox
        .attest(&[
            "evidence",
            "add",
            file.to_str().unwrap(),
            "--control",
            &control,
            "--note",
            "again",
        ])
        .assert()
        .success();
    let ok = sandbox.attest(&["verify"]).output().unwrap();
    assert!(ok.status.success(), "{}", stderr(&ok));
    // Entry 1 records the workspace's configuration, entries 2 and 3 the evidence.
    assert!(
        stderr(&ok).contains("ledger: 3 entries, 3 checkpoints, signed through entry 3"),
        "{}",
        stderr(&ok)
    );
    assert!(
        stderr(&ok).contains("evidence: 2 records match the ledger and their files their SHA-256"),
        "{}",
        stderr(&ok)
    );

    // A payload edited in the database.
    let db = rusqlite::Connection::open(sandbox.path().join(".attest/attest.db")).unwrap();
    db.execute(
        "UPDATE ledger SET payload = replace(payload, 'again', 'other') WHERE seq = 3",
        [],
    )
    .unwrap();
    let tampered = sandbox.attest(&["verify"]).output().unwrap();
    assert_eq!(tampered.status.code(), Some(1));
    assert!(
        stderr(&tampered).contains("entry 3: its hash differs from the one signed at a checkpoint"),
        "{}",
        stderr(&tampered)
    );

    db.execute(
        "UPDATE ledger SET payload = replace(payload, 'other', 'again') WHERE seq = 3",
        [],
    )
    .unwrap();

    // Another key: the signatures no longer verify.
    let fresh = Sandbox::with_workspace();
    let other = fs_err::read_to_string(fresh.path().join(".attest/keys/ledger.pub")).unwrap();
    let swapped = sandbox
        .attest(&["verify", "--public-key", other.trim()])
        .output()
        .unwrap();
    assert_eq!(swapped.status.code(), Some(1));
    assert!(
        stderr(&swapped)
            .contains("checkpoint at entry 1: the signature does not verify with this public key"),
        "{}",
        stderr(&swapped)
    );

    // An entry removed.
    db.execute("DELETE FROM ledger WHERE seq = 1", []).unwrap();
    let deleted = sandbox.attest(&["verify"]).output().unwrap();
    assert_eq!(deleted.status.code(), Some(1));
    assert!(
        stderr(&deleted).contains("entry 2: expected entry 1"),
        "{}",
        stderr(&deleted)
    );
}

#[test]
fn verify_detects_an_edited_evidence_file() {
    let sandbox = Sandbox::with_workspace();
    let (control, _) = manual_control(&sandbox);
    let file = sandbox.write("review.txt", "signed review");
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
    let listed = sandbox.json(&["evidence", "list", "--format", "json"]);
    let sha = listed[0]["sha256"].as_str().unwrap().to_owned();
    let object = sandbox
        .path()
        .join(".attest/objects")
        .join(&sha[..2])
        .join(&sha[2..]);
    fs_err::write(&object, "forged review").unwrap();
    let output = sandbox.attest(&["verify"]).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains(&format!(
            "evidence: TAMPERED — evidence #1 ({control}, review.txt): object {sha} is corrupt"
        )),
        "{}",
        stderr(&output)
    );
}
