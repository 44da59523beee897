//! `collect host`, `scan`, `assess` and `checks` over fixture roots: real files in, verdicts out.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;

use crate::{Sandbox, assert_contains_all, stderr};

/// Copies `tests/fixtures/host/<name>/root` into the sandbox (git keeps no modes or owners)
/// and gives its sensitive files the modes a real system has.
pub(crate) fn fixture_root(
    sandbox: &Sandbox,
    name: &str,
    modes: &[(&str, u32)],
) -> std::path::PathBuf {
    let source = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/host")
        .join(name)
        .join("root");
    let target = sandbox.path().join(name);
    let status = std::process::Command::new("cp")
        .arg("-a")
        .arg(&source)
        .arg(&target)
        .status()
        .unwrap();
    assert!(status.success());
    for (path, mode) in modes {
        let path = target.join(path.trim_start_matches('/'));
        fs_err::set_permissions(&path, std::fs::Permissions::from_mode(*mode)).unwrap();
    }
    target
}

fn is_root() -> bool {
    let out = std::process::Command::new("id").arg("-u").output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim() == "0"
}

const STRICT: &[(&str, u32)] = &[
    ("/etc/shadow", 0o640),
    ("/etc/gshadow", 0o640),
    ("/etc/shadow-", 0o600),
    ("/etc/gshadow-", 0o600),
    ("/etc/passwd", 0o644),
    ("/etc/group", 0o644),
    ("/etc/passwd-", 0o600),
    ("/etc/group-", 0o644),
    ("/etc/ssh/sshd_config", 0o600),
    ("/etc/ssh/ssh_host_ed25519_key", 0o600),
    ("/etc/sudoers", 0o440),
    ("/etc/crontab", 0o600),
    ("/etc/cron.d", 0o700),
    ("/etc/cron.hourly", 0o700),
    ("/etc/cron.daily", 0o700),
    ("/etc/cron.weekly", 0o700),
    ("/etc/cron.monthly", 0o700),
];

/// Check id → statuses of its results, from `scan --format json`.
pub(crate) fn statuses(report: &serde_json::Value) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for r in report["results"].as_array().unwrap() {
        out.entry(r["check"].as_str().unwrap().to_owned())
            .or_default()
            .push(r["status"].as_str().unwrap().to_owned());
    }
    out
}

pub(crate) fn status(statuses: &BTreeMap<String, Vec<String>>, check: &str) -> String {
    let all = &statuses[check];
    let mut unique = all.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 1, "{check}: mixed statuses {all:?}");
    unique.remove(0)
}

#[test]
fn a_hardened_root_passes_and_only_live_facts_stay_unknown() {
    let sandbox = Sandbox::with_workspace();
    let root = fixture_root(&sandbox, "hardened", STRICT);
    if is_root() {
        // The fixture's own /etc/group names gid 42 `shadow`.
        for f in ["etc/shadow", "etc/gshadow"] {
            std::os::unix::fs::chown(root.join(f), Some(0), Some(42)).unwrap();
        }
    }
    let report = sandbox.json(&["scan", "--root", root.to_str().unwrap(), "--format", "json"]);
    assert_eq!(report["target"], "web-1");
    let s = statuses(&report);
    let failing: Vec<(&String, &Vec<String>)> = s
        .iter()
        .filter(|(_, v)| v.iter().any(|x| x == "fail"))
        .collect();
    let expected_failing: Vec<&str> = if is_root() {
        vec![]
    } else {
        vec!["host.files"]
    };
    assert!(
        failing
            .iter()
            .all(|(check, _)| expected_failing.iter().any(|p| check.starts_with(p))),
        "unexpected failures: {failing:?}"
    );
    // What only a running system can tell is unknown on a mounted root, never a pass.
    for check in [
        "host.logging.auditd_running",
        "host.system.time_sync_running",
        "host.network.no_insecure_services_listening",
    ] {
        assert_eq!(status(&s, check), "error", "{check}");
    }
    for check in [
        "host.ssh.root_login_disabled",
        "host.ssh.password_authentication_disabled",
        "host.kernel.aslr",
        "host.auth.failed_logins_lock_account",
        "host.network.firewall_default_deny",
        "host.network.root_filesystem_encrypted",
        "host.system.endpoint_protection",
        "host.logging.audit_rules_watch_identity",
    ] {
        assert_eq!(status(&s, check), "pass", "{check}");
    }
    let ssh = report["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["check"] == "host.ssh.root_login_disabled")
        .unwrap();
    assert_eq!(
        ssh["message"], "PermitRootLogin is no",
        "the drop-in read first wins over the main file"
    );
}

#[test]
fn a_weak_root_fails_where_it_is_weak() {
    let sandbox = Sandbox::with_workspace();
    let root = fixture_root(
        &sandbox,
        "weak",
        &[("/etc/shadow", 0o644), ("/etc/passwd", 0o666)],
    );
    let output = sandbox
        .attest(&[
            "scan",
            "--root",
            root.to_str().unwrap(),
            "--format",
            "json",
            "--fail-on",
            "high",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(stderr(&output).contains("at or above high severity"));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let s = statuses(&report);
    for check in [
        "host.ssh.root_login_disabled",
        "host.ssh.password_authentication_disabled",
        "host.ssh.empty_passwords_refused",
        "host.ssh.strong_ciphers",
        "host.ssh.strong_macs",
        "host.ssh.config_valid",
        "host.ssh.match_blocks_safe",
        "host.accounts.only_root_has_uid0",
        "host.accounts.no_empty_passwords",
        "host.accounts.strong_password_hashing",
        "host.accounts.system_accounts_cannot_log_in",
        "host.accounts.sudo_requires_password",
        "host.accounts.default_umask",
        "host.auth.no_nullok",
        "host.auth.password_quality_enforced",
        "host.kernel.aslr",
        "host.kernel.ip_forwarding_disabled",
        "host.files.shadow_protected",
        "host.files.account_files_protected",
        "host.network.firewall_installed",
        "host.network.root_filesystem_encrypted",
        "host.system.os_supported",
        "host.system.no_legacy_services",
        "host.system.automatic_updates",
        "host.system.login_banner",
    ] {
        assert!(
            s[check].iter().any(|x| x == "fail"),
            "{check}: {:?}",
            s[check]
        );
    }
    // A key set nowhere is unknown off a live root: never guessed.
    assert_eq!(status(&s, "host.kernel.dmesg_restricted"), "error");
    let cipher = report["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["check"] == "host.ssh.strong_ciphers")
        .unwrap();
    assert_eq!(
        cipher["message"],
        "weak ciphers are offered: 3des-cbc, aes128-cbc"
    );
}

/// `Ciphers -*-cbc`, `ClientAliveInterval 5m`, a Match block weakening a global setting
/// through an `Include`, two `Subsystem` lines and `PermitRootLogin no#x`, read as sshd
/// reads them.
#[test]
fn sshd_settings_follow_openssh_semantics_end_to_end() {
    let sandbox = Sandbox::with_workspace();
    let root = fixture_root(&sandbox, "sshd-openssh-semantics", &[]);
    let facts = sandbox.json(&[
        "collect",
        "host",
        "--root",
        root.to_str().unwrap(),
        "--format",
        "json",
    ]);
    let effective = &facts["ssh"]["effective"];
    assert_eq!(effective["clientaliveinterval"], "300");
    assert_eq!(effective["logingracetime"], "60");
    assert_eq!(
        effective["subsystem"],
        "sftp /usr/lib/openssh/sftp-server; backup /usr/local/bin/backup-sftp"
    );
    assert!(effective["permitrootlogin"].is_null());
    assert!(
        facts["unknown"]["ssh.effective.permitrootlogin"]
            .as_str()
            .unwrap()
            .contains("unsupported value `no#x`")
    );
    assert_eq!(
        facts["ssh"]["match_blocks"][0]["settings"]["passwordauthentication"],
        "yes"
    );

    let report = sandbox.json(&["scan", "--root", root.to_str().unwrap(), "--format", "json"]);
    let s = statuses(&report);
    for (check, expected) in [
        ("host.ssh.strong_ciphers", "pass"),
        ("host.ssh.strong_macs", "pass"),
        ("host.ssh.idle_timeout", "pass"),
        ("host.ssh.login_grace_time", "pass"),
        ("host.ssh.password_authentication_disabled", "pass"),
        ("host.ssh.match_blocks_safe", "fail"),
        ("host.ssh.root_login_disabled", "error"),
        ("host.ssh.config_valid", "fail"),
    ] {
        assert_eq!(status(&s, check), expected, "{check}");
    }
}

#[test]
fn facts_never_carry_password_hashes_or_key_material() {
    let sandbox = Sandbox::new();
    for name in ["hardened", "weak"] {
        let root = fixture_root(&sandbox, name, &[]);
        let output = sandbox
            .attest(&[
                "collect",
                "host",
                "--root",
                root.to_str().unwrap(),
                "--format",
                "json",
            ])
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", stderr(&output));
        let text = String::from_utf8(output.stdout).unwrap();
        let facts: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(facts["schema"], "attest.facts.host/v1");
        for secret in [
            "FIXTUREhash",
            "FIXTUREsalt",
            "FIXTUREweak",
            "$6$",
            "$y$",
            "$1$",
            "not a key, a fixture",
        ] {
            assert!(!text.contains(secret), "{name}: facts contain {secret}");
        }
        // Facts about the secrets are there instead.
        let root_user = facts["accounts"]["users"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["name"] == "root")
            .unwrap();
        assert_eq!(root_user["password"], "set");
        assert!(root_user["algorithm"].is_string());
    }
}

#[test]
fn scans_are_recorded_as_state_intervals_and_feed_readiness() {
    let sandbox = Sandbox::with_workspace();
    let root = fixture_root(&sandbox, "weak", &[]);
    let root = root.to_str().unwrap();
    let first = sandbox.attest(&["scan", "--root", root]).output().unwrap();
    assert!(first.status.success());
    let first_text = String::from_utf8(first.stdout).unwrap();
    // Entry 1 of the ledger records the workspace's configuration; the run is entry 2.
    assert!(first_text.contains("Recorded as run 2:"), "{first_text}");
    let second = sandbox.attest(&["scan", "--root", root]).output().unwrap();
    let results: usize = first_text
        .split(" results")
        .next()
        .and_then(|head| head.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap();
    let text = String::from_utf8(second.stdout).unwrap();
    // A run's id is the ledger entry of its `scan.run`: after the first run's own entry come
    // one `result.changed` per result and the findings it opened.
    let run_id = |text: &str| -> u64 {
        text.split("Recorded as run ")
            .nth(1)
            .and_then(|rest| rest.split(':').next())
            .and_then(|n| n.parse().ok())
            .unwrap()
    };
    assert!(
        run_id(&text) > run_id(&first_text) + results as u64,
        "{text}"
    );
    assert!(
        text.contains(&format!(
            ": 0 result(s) changed since the last run, {results} unchanged."
        )),
        "{text}"
    );
    // Readiness now sees failing controls.
    let report = sandbox.json(&["report", "readiness", "--format", "json"]);
    assert!(
        report["summary"]["controls"]["failing"].as_u64().unwrap() > 0,
        "{}",
        report["summary"]
    );
}

#[test]
fn scan_formats_sarif_and_junit() {
    let sandbox = Sandbox::new();
    let root = fixture_root(&sandbox, "weak", &[]);
    let sarif = sandbox.json(&[
        "scan",
        "--root",
        root.to_str().unwrap(),
        "--format",
        "sarif",
    ]);
    assert_eq!(sarif["version"], "2.1.0");
    let rules = sarif["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .unwrap();
    assert!(rules.len() >= 60);
    assert!(
        sarif["runs"][0]["results"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["kind"] == "fail" && r["level"] == "error")
    );
    let junit = sandbox
        .attest(&[
            "scan",
            "--root",
            root.to_str().unwrap(),
            "--format",
            "junit",
        ])
        .output()
        .unwrap();
    let xml = String::from_utf8(junit.stdout).unwrap();
    assert!(xml.starts_with("<?xml"));
    assert!(xml.contains("<testsuite name=\"host.ssh\""));
    assert!(xml.contains("<failure message="));
}

#[test]
fn a_bad_root_is_an_input_error() {
    let sandbox = Sandbox::new();
    let output = sandbox
        .attest(&["scan", "--root", "no/such/dir"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("--root no/such/dir: not a folder"));
}

#[test]
fn checks_list_show_and_test() {
    let sandbox = Sandbox::new();
    let list = sandbox.json(&["checks", "list", "--source", "host", "--format", "json"]);
    assert!(list.as_array().unwrap().len() >= 60);
    let show = sandbox.json(&[
        "checks",
        "show",
        "host.ssh.root_login_disabled",
        "--format",
        "json",
    ]);
    assert_eq!(show["severity"], "high");
    assert!(
        show["remediation"]
            .as_str()
            .unwrap()
            .contains("PermitRootLogin no")
    );
    let output = sandbox.attest(&["checks", "test"]).output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains(", 0 failed"));
    let unknown = sandbox
        .attest(&["checks", "show", "host.nope"])
        .output()
        .unwrap();
    assert_eq!(unknown.status.code(), Some(2));
}

#[test]
fn a_workspace_check_with_a_failing_test_makes_checks_test_fail() {
    let sandbox = Sandbox::with_workspace();
    sandbox.write(
        "checks/host/custom/checks.toml",
        "[[check]]\nid = \"host.custom.motd_present\"\ntitle = \"A message of the day is set\"\nseverity = \"low\"\nrationale = \"r\"\nremediation = \"write /etc/motd\"\n",
    );
    sandbox.write(
        "checks/host/custom/checks.rego",
        "package attest.host.custom\nimport rego.v1\nimport data.attest.lib\nmotd_present contains lib.verdict(input.hardening.banners[\"/etc/motd\"].has_text, \"/etc/motd\", \"set\", \"empty\")\n",
    );
    sandbox.write(
        "checks/host/custom/tests.yaml",
        "- name: wrong on purpose\n  facts: {hardening: {banners: {/etc/motd: {has_text: true}}}}\n  expect:\n    host.custom.motd_present: fail\n",
    );
    let output = sandbox.attest(&["checks", "test"]).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        text.contains("FAIL checks/host/custom/tests.yaml — wrong on purpose"),
        "{text}"
    );
    assert!(
        text.contains("host.custom.motd_present: expected fail, got pass"),
        "{text}"
    );
    let list = sandbox.json(&["checks", "list", "--format", "json"]);
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .any(|c| c["id"] == "host.custom.motd_present")
    );
}

/// Rego problems point into the check's Rego file, in plain words, never at `<input>` and
/// never as the engine's raw output.
#[test]
fn validate_points_rego_problems_at_the_rego_file() {
    let sandbox = Sandbox::with_workspace();
    sandbox.write(
        "checks/host/custom/checks.toml",
        "[[check]]\nid = \"host.custom.motd_present\"\ntitle = \"A message of the day is set\"\nseverity = \"low\"\nrationale = \"r\"\nremediation = \"write /etc/motd\"\n\n[[check]]\nid = \"host.custom.issue_present\"\ntitle = \"A login banner is set\"\nseverity = \"low\"\nrationale = \"r\"\nremediation = \"write /etc/issue\"\n",
    );
    sandbox.write(
        "checks/host/custom/checks.rego",
        "# Banners.\n\npackage attest.host.custom\nimport rego.v1\nimport data.attest.lib\nmotd_present contains lib.verdict(input.hardening.banners[\"/etc/motd\"].has_text, \"/etc/motd\", \"set\", \"empty\")\n",
    );
    sandbox.write(
        "checks/host/broken/checks.toml",
        "[[check]]\nid = \"host.broken.anything\"\ntitle = \"t\"\nseverity = \"low\"\nrationale = \"r\"\nremediation = \"x\"\n",
    );
    sandbox.write(
        "checks/host/broken/checks.rego",
        "package attest.host.broken\nimport rego.v1\nanything contains x if {\n  x := 1 +\n}\n",
    );
    let output = sandbox.attest(&["validate"]).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let text = stderr(&output);
    assert_contains_all(
        &text,
        &[
            "checks/host/broken/checks.rego:4:5: error[rego]: invalid Rego: expecting `}` while parsing set",
            "checks/host/custom/checks.rego:3:1: error[rego]: check `host.custom.issue_present` has no rule `issue_present` in package `attest.host.custom`",
            "help: define the rule here, e.g. `issue_present contains result if { ... }`, or correct the check's id at checks/host/custom/checks.toml:9:6",
            "2 error(s), 0 warning(s)",
        ],
    );
    assert!(!text.contains("<input>"), "{text}");
    assert!(!text.contains("-->"), "{text}");
    let json = sandbox
        .attest(&["validate", "--format", "json"])
        .output()
        .unwrap();
    let diagnostics: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let positions: Vec<(&str, u64, u64)> = diagnostics
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            assert!(d["help"].is_string(), "{d}");
            (
                d["file"].as_str().unwrap(),
                d["line"].as_u64().unwrap(),
                d["column"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        positions,
        [
            ("checks/host/broken/checks.rego", 4, 5),
            ("checks/host/custom/checks.rego", 3, 1)
        ]
    );
}

/// `assess` scans a root into the given store and writes one self-contained HTML report.
#[test]
fn assess_scans_a_root_and_writes_a_self_contained_readiness_report() {
    let sandbox = Sandbox::with_workspace();
    let root = fixture_root(&sandbox, "weak", &[]);
    let store = sandbox.path().join("elsewhere/store");
    fs_err::create_dir_all(sandbox.path().join("out")).unwrap();
    let output = sandbox
        .attest(&[
            "assess",
            "--root",
            root.to_str().unwrap(),
            "--store",
            store.to_str().unwrap(),
            "--output",
            "out/readiness.html",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_contains_all(
        &stderr(&output),
        &["Wrote the readiness report to out/readiness.html"],
    );
    // The results went to the store named, not to the workspace's.
    assert!(store.join("attest.db").is_file());
    assert!(!sandbox.path().join(".attest/attest.db").exists());

    let path = sandbox.path().join("out/readiness.html");
    let html = fs_err::read_to_string(&path).unwrap();
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&fs_err::metadata(&path).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o644);
    assert!(html.starts_with("<!doctype html>"));
    assert!(html.trim_end().ends_with("</html>"));
    assert_contains_all(
        &html,
        &[
            "SOC 2 readiness — Acme Ltd",
            "<style>",
            "<svg class=\"chart-bar\"",
            // The weak root makes automated controls fail.
            "<span class=\"badge failing\">failing</span>",
        ],
    );
    // Self-contained: nothing is fetched when the file is opened.
    for external in [
        "<link", "<script", "src=", "url(", "@import", "http://", "https://",
    ] {
        assert!(
            !html.contains(external),
            "the report refers to `{external}`"
        );
    }
    // The same store then gives the same readiness to `report`.
    let report = sandbox.json(&[
        "report",
        "readiness",
        "--format",
        "json",
        "--store",
        store.to_str().unwrap(),
    ]);
    assert!(report["summary"]["controls"]["failing"].as_u64().unwrap() > 0);
}

#[test]
fn assess_with_a_bad_root_is_an_input_error_and_writes_nothing() {
    let sandbox = Sandbox::with_workspace();
    let output = sandbox
        .attest(&[
            "assess",
            "--root",
            "no/such/dir",
            "--output",
            "readiness.html",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert_contains_all(&stderr(&output), &["--root no/such/dir: not a folder"]);
    assert!(!sandbox.path().join("readiness.html").exists());
}
