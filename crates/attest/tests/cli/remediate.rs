//! `remediate` over fixture roots: a dry run writes nothing, `--apply` writes one new drop-in
//! that makes the check pass on the next scan and is recorded in the ledger, and a drop-in that
//! would not take effect is refused with the manual edit (issue 5, item 4).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use sha2::Digest as _;

use crate::scan::{fixture_root, status, statuses};
use crate::{Sandbox, assert_contains_all, stderr};

/// Every file under `dir` (links as their target text), with its SHA-256 and mode.
fn tree(dir: &Path) -> BTreeMap<String, (String, u32)> {
    use std::os::unix::fs::PermissionsExt as _;
    let mut out = BTreeMap::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(path) = pending.pop() {
        let meta = fs_err::symlink_metadata(&path).unwrap();
        let rel = path.strip_prefix(dir).unwrap().display().to_string();
        if meta.is_dir() {
            for entry in fs_err::read_dir(&path).unwrap() {
                pending.push(entry.unwrap().path());
            }
            continue;
        }
        let bytes = if meta.file_type().is_symlink() {
            fs_err::read_link(&path)
                .unwrap()
                .display()
                .to_string()
                .into_bytes()
        } else {
            fs_err::read(&path).unwrap()
        };
        out.insert(
            rel,
            (
                hex::encode(sha2::Sha256::digest(&bytes)),
                meta.permissions().mode() & 0o7777,
            ),
        );
    }
    out
}

/// A sandbox with a copy of fixture root `name` and a store of its own.
struct Scene {
    sandbox: Sandbox,
    root: PathBuf,
    store: PathBuf,
}

impl Scene {
    fn new(name: &str) -> Self {
        let sandbox = Sandbox::new();
        let root = fixture_root(&sandbox, name, &[]);
        let store = sandbox.path().join("store");
        Scene {
            sandbox,
            root,
            store,
        }
    }

    fn root(&self) -> &str {
        self.root.to_str().unwrap()
    }

    fn store(&self) -> &str {
        self.store.to_str().unwrap()
    }

    /// The status of `check` in a scan of the root.
    fn scan(&self, check: &str) -> String {
        let report = self.sandbox.json(&[
            "scan",
            "--root",
            self.root(),
            "--format",
            "json",
            "--store",
            self.store(),
        ]);
        status(&statuses(&report), check)
    }

    fn remediate(&self, args: &[&str]) -> std::process::Output {
        let mut all = vec!["remediate"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--root", self.root(), "--store", self.store()]);
        self.sandbox.attest(&all).output().unwrap()
    }

    /// Payloads of the `remediation.applied` entries of the store's ledger.
    fn ledger(&self) -> Vec<serde_json::Value> {
        let db = rusqlite::Connection::open(self.store.join("attest.db")).unwrap();
        let mut query = db
            .prepare(
                "SELECT l.payload FROM ledger l JOIN ledger_kinds k ON k.id = l.kind_id WHERE k.name = 'remediation.applied' ORDER BY l.seq",
            )
            .unwrap();
        query
            .query_map([], |row| row.get::<_, String>(0))
            .unwrap()
            .map(|p| serde_json::from_str(&p.unwrap()).unwrap())
            .collect()
    }
}

fn stdout(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The tree after an apply is the tree before plus `added` (path inside the root), byte for
/// byte: no existing file changed.
fn assert_only_added(
    before: &BTreeMap<String, (String, u32)>,
    after: &BTreeMap<String, (String, u32)>,
    added: &str,
) {
    let mut expected = before.clone();
    let rel = added.trim_start_matches('/');
    let new = after
        .get(rel)
        .unwrap_or_else(|| panic!("{rel} was not written"));
    assert_eq!(new.1, 0o644, "the drop-in's mode");
    expected.insert(rel.to_owned(), new.clone());
    assert_eq!(
        *after, expected,
        "only {rel} is new; every other file is unchanged"
    );
}

/// The acceptance: a remediation applied to a fixture root makes the check pass on the
/// next scan. The `weak` root's cloud-init drop-in lets root log in; the fix's drop-in sorts
/// before it, and sshd keeps the first value.
#[test]
fn an_sshd_fix_applied_to_the_weak_root_makes_its_check_pass_and_is_in_the_ledger() {
    let scene = Scene::new("weak");
    let check = "host.ssh.root_login_disabled";
    let dropin = "/etc/ssh/sshd_config.d/00-attest-host.ssh.root_login_disabled.conf";
    assert_eq!(scene.scan(check), "fail");
    let before = tree(&scene.root);

    let dry = scene.remediate(&[check]);
    assert_eq!(dry.status.code(), Some(0), "{}", stderr(&dry));
    assert_contains_all(
        &stdout(&dry),
        &[
            "status: applicable",
            &format!("--- /dev/null\n+++ {dropin}\n@@ -0,0 +1,3 @@\n"),
            "+PermitRootLogin no\n",
            "replacing `PermitRootLogin yes` set at /etc/ssh/sshd_config.d/50-cloud-init.conf:2",
            "Dry run: nothing was written.",
            "sshd -t && systemctl reload ssh",
        ],
    );
    assert_eq!(tree(&scene.root), before, "a dry run writes nothing");

    let applied = scene.remediate(&[check, "--apply"]);
    assert_eq!(applied.status.code(), Some(0), "{}", stderr(&applied));
    assert_contains_all(
        &stdout(&applied),
        &[
            &format!("Wrote {dropin} under"),
            "recorded in the ledger as entry",
        ],
    );
    let after = tree(&scene.root);
    assert_only_added(&before, &after, dropin);

    let content = fs_err::read(scene.root.join(dropin.trim_start_matches('/'))).unwrap();
    let ledger = scene.ledger();
    assert_eq!(ledger.len(), 1);
    let canonical_root = fs_err::canonicalize(&scene.root).unwrap();
    assert_eq!(
        ledger[0],
        serde_json::json!({
            "check": check,
            "kind": "sshd",
            "path": dropin,
            "root": canonical_root.display().to_string(),
            "settings": {"PermitRootLogin": "no"},
            "sha256": hex::encode(sha2::Sha256::digest(&content)),
        })
    );
    // The entry is chained and signed like every other. (Verified before the second scan: a
    // second run of one target within the same second trips the history replay of `verify`,
    // whatever is between the runs.)
    let verify = scene
        .sandbox
        .attest(&["verify", "--store", scene.store()])
        .output()
        .unwrap();
    assert_eq!(verify.status.code(), Some(0), "{}", stderr(&verify));
    assert_eq!(scene.scan(check), "pass");

    // Idempotent: a second apply finds the drop-in in place and writes nothing.
    let again = scene.remediate(&[check, "--apply"]);
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
    assert!(
        stdout(&again).contains("is in place already"),
        "{}",
        stdout(&again)
    );
    assert_eq!(tree(&scene.root), after);
    assert_eq!(scene.ledger().len(), 1, "nothing new to record");
}

/// sysctl values on a root that is not live come from the sysctl.d files: the vendor's file
/// sorts before the drop-in, so the drop-in's value is the last and wins.
#[test]
fn a_sysctl_fix_overrides_a_vendor_file_and_its_json_says_what_was_done() {
    let scene = Scene::new("sysctl-vendor-defaults");
    let check = "host.kernel.dmesg_restricted";
    let dropin = "/etc/sysctl.d/60-attest-host.kernel.dmesg_restricted.conf";
    assert_eq!(scene.scan(check), "fail");
    let before = tree(&scene.root);

    let dry = scene.remediate(&[check, "--format", "json"]);
    assert_eq!(dry.status.code(), Some(0), "{}", stderr(&dry));
    let plan: serde_json::Value = serde_json::from_slice(&dry.stdout).unwrap();
    assert_eq!(plan["schema_version"], 1);
    assert_eq!(plan["check"], check);
    assert_eq!(plan["status"], "applicable");
    assert_eq!(plan["kind"], "sysctl");
    assert_eq!(plan["path"], dropin);
    assert_eq!(plan["applied"], false);
    assert_eq!(plan["ledger_entry"], serde_json::Value::Null);
    assert!(
        plan["diff"]
            .as_str()
            .unwrap()
            .contains("+kernel.dmesg_restrict = 1\n")
    );
    assert!(
        plan["reload"]
            .as_str()
            .unwrap()
            .starts_with("sysctl --system")
    );
    assert!(
        plan["explanation"].as_array().unwrap().iter().any(|l| l.as_str().unwrap().contains(
            "takes effect, replacing kernel.dmesg_restrict = 0 from /usr/lib/sysctl.d/50-vendor.conf:2"
        )),
        "{plan}"
    );
    assert_eq!(tree(&scene.root), before);

    let applied = scene.remediate(&[check, "--apply", "--format", "json"]);
    assert_eq!(applied.status.code(), Some(0), "{}", stderr(&applied));
    let done: serde_json::Value = serde_json::from_slice(&applied.stdout).unwrap();
    assert_eq!(done["applied"], true);
    assert_eq!(done["sha256"], plan["sha256"]);
    assert!(done["ledger_entry"].as_u64().is_some());
    assert_only_added(&before, &tree(&scene.root), dropin);
    assert_eq!(scene.scan(check), "pass");
    assert_eq!(
        scene.ledger()[0]["settings"],
        serde_json::json!({"kernel.dmesg_restrict": "1"})
    );

    // `checks show` names the fix and the command that applies it.
    let show = scene
        .sandbox
        .attest(&["checks", "show", check])
        .output()
        .unwrap();
    assert!(
        stdout(&show).contains(
            "sysctl: kernel.dmesg_restrict = 1 (attest remediate host.kernel.dmesg_restricted)"
        ),
        "{}",
        stdout(&show)
    );
}

/// Exit 2, the reason, the manual edit as a diff, and not one byte written — dry run or not.
fn assert_blocked(scene: &Scene, check: &str, expected: &[&str]) {
    let before = tree(&scene.root);
    for args in [vec![check], vec![check, "--apply"]] {
        let output = scene.remediate(&args);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{args:?}: {}",
            stdout(&output)
        );
        assert_contains_all(
            &stdout(&output),
            &["status: blocked", "Nothing was written."],
        );
        assert_contains_all(&stdout(&output), expected);
        assert!(stderr(&output).contains("the fix would not take effect on this root"));
        assert_eq!(tree(&scene.root), before, "{args:?} wrote nothing");
    }
    let json = scene.remediate(&[check, "--apply", "--format", "json"]);
    assert_eq!(json.status.code(), Some(2));
    let plan: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(plan["status"], "blocked");
    assert_eq!(plan["applied"], false);
    assert!(!scene.store.join("attest.db").exists() || scene.ledger().is_empty());
}

#[test]
fn an_sshd_config_without_include_blocks_the_drop_in_and_suggests_the_edit_on_top() {
    let scene = Scene::new("sshd-no-include");
    assert_blocked(
        &scene,
        "host.ssh.root_login_disabled",
        &[
            "/etc/ssh/sshd_config has no `Include` that reads /etc/ssh/sshd_config.d/*.conf",
            "--- /etc/ssh/sshd_config\n+++ /etc/ssh/sshd_config\n@@ -1,3 +1,5 @@\n+# Root cannot log in over SSH (attest remediate host.ssh.root_login_disabled)\n+PermitRootLogin no\n # No Include",
        ],
    );
}

#[test]
fn an_sshd_setting_above_the_include_shadows_the_drop_in() {
    let scene = Scene::new("sshd-setting-before-include");
    assert_eq!(scene.scan("host.ssh.root_login_disabled"), "fail");
    assert_blocked(
        &scene,
        "host.ssh.root_login_disabled",
        &[
            "`PermitRootLogin yes` at /etc/ssh/sshd_config:1 is read before the drop-in, and sshd keeps the first value",
            "-PermitRootLogin yes\n+PermitRootLogin no\n",
        ],
    );
}

/// On the weak root a later sysctl.d file sets the value: the admin's own file wins over any
/// drop-in named 60-..., so the edit of that line is suggested instead.
#[test]
fn a_later_sysctl_file_shadows_the_drop_in() {
    let scene = Scene::new("weak");
    assert_eq!(scene.scan("host.kernel.aslr"), "fail");
    assert_blocked(
        &scene,
        "host.kernel.aslr",
        &[
            "`kernel.randomize_va_space = 0` at /etc/sysctl.d/99-custom.conf:2 is read after the drop-in, and the last value wins",
            "--- /etc/sysctl.d/99-custom.conf\n+++ /etc/sysctl.d/99-custom.conf\n",
            "-kernel.randomize_va_space = 0\n+kernel.randomize_va_space = 2\n",
        ],
    );
}

#[test]
fn an_unknown_check_is_exit_2_with_a_suggestion() {
    let scene = Scene::new("weak");
    let output = scene.remediate(&["host.ssh.root_login_disable"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains(
            "unknown check `host.ssh.root_login_disable`; did you mean `host.ssh.root_login_disabled`?"
        ),
        "{}",
        stderr(&output)
    );
    let output = scene.remediate(&["nothing.like.this"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("list them with `attest checks list`"));
}

#[test]
fn a_manual_check_prints_its_remediation_and_cannot_be_applied() {
    let scene = Scene::new("weak");
    let before = tree(&scene.root);
    let output = scene.remediate(&["host.ssh.config_valid"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_contains_all(
        &stdout(&output),
        &[
            "status: manual",
            "has no fix Attest can write: the remediation is manual",
            "Fix or remove each reported line, then check with: sshd -t",
        ],
    );
    let json = scene.remediate(&["host.ssh.config_valid", "--format", "json"]);
    let plan: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(plan["status"], "manual");
    assert_eq!(plan["path"], serde_json::Value::Null);
    let applied = scene.remediate(&["host.ssh.config_valid", "--apply"]);
    assert_eq!(applied.status.code(), Some(2));
    assert!(stderr(&applied).contains("has no fix Attest can write; nothing was applied"));
    assert_eq!(tree(&scene.root), before);
}

/// Every built-in fix, applied to a root with nothing configured but an sshd that includes its
/// drop-in folder, makes its check pass: the fix data and the checks agree.
#[test]
fn every_built_in_fix_makes_its_check_pass() {
    let sandbox = Sandbox::new();
    let root = sandbox.write(
        "bare/etc/ssh/sshd_config",
        "Include /etc/ssh/sshd_config.d/*.conf\n",
    );
    let root = root
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .to_path_buf();
    let root_arg = root.to_str().unwrap();
    let store = sandbox.path().join("store");
    let store = store.to_str().unwrap();
    let checks = sandbox.json(&["checks", "list", "--source", "host", "--format", "json"]);
    let fixed: Vec<String> = checks
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c.get("fix").is_some())
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(fixed.len(), 30, "{fixed:?}");
    for id in &fixed {
        let output = sandbox
            .attest(&[
                "remediate",
                id,
                "--root",
                root_arg,
                "--apply",
                "--store",
                store,
            ])
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(0), "{id}: {}", stdout(&output));
    }
    let report = sandbox.json(&[
        "scan", "--root", root_arg, "--format", "json", "--store", store,
    ]);
    let statuses = statuses(&report);
    for id in &fixed {
        assert_eq!(status(&statuses, id), "pass", "{id}");
    }
}
