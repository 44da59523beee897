//! Unit tests: diffs, the precedence rules of each family, planning and applying.

#![allow(clippy::unwrap_used, reason = "tests fail by panicking")]

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;

use attest_model::{CheckMeta, Fix, FixKind, Severity};

use super::*;

fn check(id: &str, kind: FixKind, settings: &[(&str, &str)]) -> CheckMeta {
    CheckMeta {
        id: id.to_owned(),
        source: "host".to_owned(),
        title: "A title".to_owned(),
        severity: Severity::Medium,
        rationale: String::new(),
        remediation: "Do it by hand.".to_owned(),
        references: vec![],
        fix: Some(Fix {
            kind,
            settings: settings
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        }),
    }
}

fn root(files: &[(&str, &str)]) -> (tempfile::TempDir, RootFs) {
    let dir = tempfile::tempdir().unwrap();
    for (path, text) in files {
        let path = dir.path().join(path.trim_start_matches('/'));
        fs_err::create_dir_all(path.parent().unwrap()).unwrap();
        fs_err::write(&path, text).unwrap();
    }
    let fs = RootFs::new(dir.path(), false);
    (dir, fs)
}

fn root_login() -> CheckMeta {
    check(
        "host.ssh.root_login_disabled",
        FixKind::Sshd,
        &[("PermitRootLogin", "no")],
    )
}

const DROPIN: &str = "/etc/ssh/sshd_config.d/00-attest-host.ssh.root_login_disabled.conf";

#[test]
fn a_new_file_diff_adds_every_line_from_dev_null() {
    assert_eq!(
        new_file_diff("/etc/x.conf", "a\nb\n"),
        "--- /dev/null\n+++ /etc/x.conf\n@@ -0,0 +1,2 @@\n+a\n+b\n"
    );
}

#[test]
fn an_edit_diff_shows_the_changed_line_in_context_and_nothing_when_equal() {
    let before = "one\ntwo\nthree\n";
    let after = "one\n2\nthree\n";
    assert_eq!(
        edit_diff("/etc/f", before, after),
        "--- /etc/f\n+++ /etc/f\n@@ -1,3 +1,3 @@\n one\n-two\n+2\n three\n"
    );
    assert_eq!(edit_diff("/etc/f", before, before), "");
}

#[test]
fn replaced_lines_keep_their_indentation_and_line_ending() {
    let lines = [(2, "MaxAuthTries 4".to_owned())].into();
    assert_eq!(
        replace_lines("a\r\n    MaxAuthTries 10\r\nb", &lines),
        "a\r\n    MaxAuthTries 4\r\nb"
    );
    let last = [(3, "z".to_owned())].into();
    assert_eq!(replace_lines("a\nb\nc", &last), "a\nb\nz");
}

#[test]
fn globs_match_one_component_at_a_time_and_skip_dot_files() {
    use crate::sshd::glob_matches;
    assert!(glob_matches("/etc/ssh/sshd_config.d/*.conf", DROPIN));
    assert!(!glob_matches(
        "/etc/ssh/sshd_config.d/*.conf",
        "/etc/ssh/sshd_config.d/.x.conf"
    ));
    assert!(!glob_matches("/etc/ssh/*.conf", DROPIN));
    assert!(glob_matches("/etc/ssh/sshd_config.d/0?-*", DROPIN));
    assert!(!glob_matches("/etc/ssh/sshd_config.d/[1-9]*.conf", DROPIN));
}

#[test]
fn the_drop_in_is_named_after_the_check_and_says_how_to_undo_it() {
    let plan = plan(&root_login(), &root(&[]).1);
    assert_eq!(plan.path.as_deref(), Some(DROPIN));
    assert_eq!(
        plan.content(),
        Some(
            "# A title\n# Written by `attest remediate host.ssh.root_login_disabled`; delete this file to undo.\nPermitRootLogin no\n"
        )
    );
    let journald = check(
        "host.logging.journal_persistent",
        FixKind::Journald,
        &[("Storage", "persistent")],
    );
    let plan = super::plan(&journald, &root(&[]).1);
    assert_eq!(
        plan.path.as_deref(),
        Some("/etc/systemd/journald.conf.d/60-attest-host.logging.journal_persistent.conf")
    );
    assert!(
        plan.content()
            .unwrap()
            .ends_with("\n[Journal]\nStorage=persistent\n")
    );
    assert_eq!(plan.status, Status::Applicable);
}

/// Debian's layout with cloud-init's drop-in: the drop-in sorts first, so it wins.
#[test]
fn an_sshd_drop_in_sorting_first_beats_later_drop_ins_and_the_main_file() {
    let (_dir, fs) = root(&[
        (
            "/etc/ssh/sshd_config",
            "Include /etc/ssh/sshd_config.d/*.conf\nPermitRootLogin no\n",
        ),
        (
            "/etc/ssh/sshd_config.d/50-cloud-init.conf",
            "PermitRootLogin yes\n",
        ),
    ]);
    let plan = plan(&root_login(), &fs);
    assert_eq!(plan.status, Status::Applicable, "{plan:?}");
    assert!(
        plan.diff
            .starts_with(&format!("--- /dev/null\n+++ {DROPIN}\n"))
    );
    assert!(plan.diff.contains("\n+PermitRootLogin no\n"));
    assert!(
        plan.explanation.iter().any(|l| l.contains(
            "`PermitRootLogin no` takes effect, replacing `PermitRootLogin yes` set at /etc/ssh/sshd_config.d/50-cloud-init.conf:1"
        )),
        "{:?}",
        plan.explanation
    );
}

#[test]
fn without_an_include_the_sshd_drop_in_is_blocked_and_the_manual_edit_goes_on_top() {
    let (_dir, fs) = root(&[("/etc/ssh/sshd_config", "PermitRootLogin yes\nPort 22\n")]);
    let plan = plan(&root_login(), &fs);
    assert_eq!(plan.status, Status::Blocked);
    assert!(
        plan.reason.contains(
            "/etc/ssh/sshd_config has no `Include` that reads /etc/ssh/sshd_config.d/*.conf"
        ),
        "{}",
        plan.reason
    );
    assert_eq!(
        plan.diff,
        "--- /etc/ssh/sshd_config\n+++ /etc/ssh/sshd_config\n@@ -1,2 +1,4 @@\n+# A title (attest remediate host.ssh.root_login_disabled)\n+PermitRootLogin no\n PermitRootLogin yes\n Port 22\n"
    );
}

#[test]
fn an_sshd_setting_read_before_the_include_shadows_the_drop_in() {
    let (_dir, fs) = root(&[(
        "/etc/ssh/sshd_config",
        "PermitRootLogin yes\nInclude /etc/ssh/sshd_config.d/*.conf\n",
    )]);
    let plan = plan(&root_login(), &fs);
    assert_eq!(plan.status, Status::Blocked);
    assert!(
        plan.reason.contains(
            "`PermitRootLogin yes` at /etc/ssh/sshd_config:1 is read before the drop-in, and sshd keeps the first value"
        ),
        "{}",
        plan.reason
    );
    assert!(
        plan.diff
            .contains("-PermitRootLogin yes\n+PermitRootLogin no\n"),
        "{}",
        plan.diff
    );
}

#[test]
fn an_earlier_sshd_drop_in_with_the_same_value_is_no_obstacle_but_another_value_is() {
    let files = |value: &str| {
        root(&[
            (
                "/etc/ssh/sshd_config",
                "Include /etc/ssh/sshd_config.d/*.conf\n",
            ),
            (
                "/etc/ssh/sshd_config.d/0-site.conf",
                &format!("PermitRootLogin {value}\n"),
            ),
        ])
    };
    let (_dir, fs) = files("no");
    let plan = plan(&root_login(), &fs);
    assert_eq!(plan.status, Status::Applicable);
    assert!(
        plan.explanation
            .iter()
            .any(|l| l.contains("already by /etc/ssh/sshd_config.d/0-site.conf:1"))
    );
    let (_dir, fs) = files("prohibit-password");
    let plan = super::plan(&root_login(), &fs);
    assert_eq!(plan.status, Status::Blocked);
    assert!(plan.diff.contains("+++ /etc/ssh/sshd_config.d/0-site.conf"));
}

#[test]
fn an_sshd_value_sshd_rejects_and_an_include_inside_match_are_blocked() {
    let (_dir, fs) = root(&[(
        "/etc/ssh/sshd_config",
        "Include /etc/ssh/sshd_config.d/*.conf\n",
    )]);
    let bad = check(
        "host.custom.tries",
        FixKind::Sshd,
        &[("MaxAuthTries", "four")],
    );
    let plan = plan(&bad, &fs);
    assert_eq!(plan.status, Status::Blocked);
    assert!(
        plan.reason
            .contains("sshd would reject line 3 of the drop-in"),
        "{}",
        plan.reason
    );
    assert!(plan.diff.is_empty());

    let (_dir, fs) = root(&[(
        "/etc/ssh/sshd_config",
        "Match User bob\n  Include /etc/ssh/sshd_config.d/*.conf\n",
    )]);
    let plan = super::plan(&root_login(), &fs);
    assert_eq!(plan.status, Status::Blocked);
    assert!(
        plan.reason.contains("inside a `Match` block"),
        "{}",
        plan.reason
    );
}

fn aslr() -> CheckMeta {
    check(
        "host.kernel.aslr",
        FixKind::Sysctl,
        &[("kernel.randomize_va_space", "2")],
    )
}

#[test]
fn a_sysctl_drop_in_overrides_earlier_names_and_vendor_files_but_not_later_names() {
    let (_dir, fs) = root(&[
        (
            "/usr/lib/sysctl.d/50-default.conf",
            "kernel.randomize_va_space = 0\n",
        ),
        (
            "/etc/sysctl.d/10-local.conf",
            "kernel/randomize_va_space=1\n",
        ),
    ]);
    let plan = plan(&aslr(), &fs);
    assert_eq!(plan.status, Status::Applicable, "{plan:?}");
    assert!(
        plan.explanation.iter().any(|l| l.contains(
            "takes effect, replacing kernel.randomize_va_space = 0 from /usr/lib/sysctl.d/50-default.conf:1"
        )),
        "{:?}",
        plan.explanation
    );

    let (_dir, fs) = root(&[(
        "/etc/sysctl.d/99-custom.conf",
        "# tuning\nkernel.randomize_va_space = 0\n",
    )]);
    let plan = super::plan(&aslr(), &fs);
    assert_eq!(plan.status, Status::Blocked);
    assert!(plan.reason.contains(
        "`kernel.randomize_va_space = 0` at /etc/sysctl.d/99-custom.conf:2 is read after the drop-in"
    ));
    assert_eq!(
        plan.diff,
        "--- /etc/sysctl.d/99-custom.conf\n+++ /etc/sysctl.d/99-custom.conf\n@@ -1,2 +1,2 @@\n # tuning\n-kernel.randomize_va_space = 0\n+kernel.randomize_va_space = 2\n"
    );
}

#[test]
fn etc_sysctl_conf_is_read_last_and_a_drop_in_name_hides_a_vendor_file_of_that_name() {
    let (_dir, fs) = root(&[("/etc/sysctl.conf", "kernel.randomize_va_space=1\n")]);
    assert_eq!(plan(&aslr(), &fs).status, Status::Blocked);
    let (_dir, fs) = root(&[
        ("/etc/sysctl.conf", "kernel.randomize_va_space = 2\n"),
        (
            "/usr/lib/sysctl.d/60-attest-host.kernel.aslr.conf",
            "kernel.randomize_va_space = 0\n",
        ),
    ]);
    let plan = plan(&aslr(), &fs);
    assert_eq!(plan.status, Status::Applicable);
    // The vendor file of the drop-in's name is hidden: it is neither read nor replaced.
    assert!(
        !plan
            .explanation
            .iter()
            .any(|l| l.contains("/usr/lib/sysctl.d/60-attest")),
        "{:?}",
        plan.explanation
    );
}

#[test]
fn a_sysctl_folder_that_cannot_be_listed_blocks_the_plan() {
    let (dir, fs) = root(&[("/etc/sysctl.conf", "")]);
    // A link loop cannot be listed, even by root.
    std::os::unix::fs::symlink("/run/sysctl.d", dir.path().join("etc/loop")).unwrap();
    fs_err::create_dir_all(dir.path().join("run")).unwrap();
    std::os::unix::fs::symlink("/etc/loop", dir.path().join("run/sysctl.d")).unwrap();
    let plan = plan(&aslr(), &fs);
    assert_eq!(plan.status, Status::Blocked);
    assert!(plan.reason.starts_with("cannot tell"), "{}", plan.reason);
    assert!(
        plan.reason.contains("/run/sysctl.d: symbolic link loop"),
        "{}",
        plan.reason
    );
}

#[test]
fn journald_settings_count_only_in_their_section_and_the_last_value_wins() {
    let journald = check(
        "host.logging.journal_persistent",
        FixKind::Journald,
        &[("Storage", "persistent")],
    );
    let (_dir, fs) = root(&[
        (
            "/etc/systemd/journald.conf",
            "[Journal]\nStorage=volatile\n",
        ),
        (
            "/etc/systemd/journald.conf.d/90-other.conf",
            "[Other]\nStorage=none\n",
        ),
    ]);
    let plan = plan(&journald, &fs);
    assert_eq!(plan.status, Status::Applicable, "{plan:?}");
    assert!(
        plan.explanation
            .iter()
            .any(|l| l.contains("replacing Storage = volatile from /etc/systemd/journald.conf:2"))
    );
    let (_dir, fs) = root(&[(
        "/usr/lib/systemd/journald.conf.d/90-vendor.conf",
        "[Journal]\n Storage = volatile\n",
    )]);
    let plan = super::plan(&journald, &fs);
    assert_eq!(plan.status, Status::Blocked);
    assert!(
        plan.diff
            .contains("- Storage = volatile\n+ Storage=persistent\n"),
        "{}",
        plan.diff
    );
}

#[test]
fn a_limits_drop_in_loses_to_a_later_star_line_and_to_a_user_line_anywhere() {
    let core = check(
        "host.system.core_dumps_restricted",
        FixKind::Limits,
        &[("* hard core", "0")],
    );
    let (_dir, fs) = root(&[(
        "/etc/security/limits.conf",
        "* soft core unlimited\n* hard core unlimited\n",
    )]);
    let plan = plan(&core, &fs);
    assert_eq!(plan.status, Status::Applicable, "{plan:?}");
    assert!(plan.content().unwrap().ends_with("\n* hard core 0\n"));

    let (_dir, fs) = root(&[
        ("/etc/security/limits.conf", "alice hard core unlimited\n"),
        ("/etc/security/limits.d/90-dev.conf", "*   -   core   100\n"),
    ]);
    let plan = super::plan(&core, &fs);
    assert_eq!(plan.status, Status::Blocked);
    assert!(
        plan.reason
            .contains("/etc/security/limits.conf:1 names a user or group"),
        "{}",
        plan.reason
    );
    assert!(
        plan.reason
            .contains("/etc/security/limits.d/90-dev.conf:1 is read after the drop-in")
    );
    assert!(plan.diff.contains("+alice hard core 0\n"));
    assert!(plan.diff.contains("+* - core 0\n"));
}

#[test]
fn a_check_without_a_fix_is_manual_with_its_remediation_text() {
    let mut manual = root_login();
    manual.fix = None;
    let plan = plan(&manual, &root(&[]).1);
    assert_eq!(plan.status, Status::Manual);
    assert_eq!(plan.remediation, "Do it by hand.");
    assert!(plan.path.is_none() && plan.diff.is_empty());
    assert!(plan.reason.contains("the remediation is manual"));
}

fn tree(dir: &Path) -> Vec<(String, Vec<u8>, u32)> {
    let mut out = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(path) = pending.pop() {
        let meta = fs_err::symlink_metadata(&path).unwrap();
        if meta.is_dir() {
            for entry in fs_err::read_dir(&path).unwrap() {
                pending.push(entry.unwrap().path());
            }
        } else {
            out.push((
                path.display().to_string(),
                fs_err::read(&path).unwrap(),
                meta.permissions().mode() & 0o7777,
            ));
        }
    }
    out.sort();
    out
}

#[test]
fn applying_writes_one_new_file_mode_0644_and_applying_again_writes_nothing() {
    let (dir, fs) = root(&[(
        "/etc/ssh/sshd_config",
        "Include /etc/ssh/sshd_config.d/*.conf\nPermitRootLogin yes\n",
    )]);
    let before = tree(dir.path());
    let mut first = plan(&root_login(), &fs);
    assert_eq!(tree(dir.path()), before, "planning writes nothing");
    assert!(apply(&mut first, &fs).unwrap());
    assert!(first.applied);
    let written = dir.path().join(DROPIN.trim_start_matches('/'));
    let meta = fs_err::metadata(&written).unwrap();
    assert_eq!(meta.permissions().mode() & 0o7777, DROPIN_MODE);
    let content = fs_err::read_to_string(&written).unwrap();
    assert_eq!(Some(content.as_str()), first.content());
    assert_eq!(
        first.sha256.as_deref(),
        Some(hex::encode(sha2::Sha256::digest(content.as_bytes())).as_str())
    );
    let after = tree(dir.path());
    let mut expected = before.clone();
    expected.push((
        written.display().to_string(),
        content.into_bytes(),
        DROPIN_MODE,
    ));
    expected.sort();
    assert_eq!(after, expected, "one new file, nothing else changed");

    let mut second = plan(&root_login(), &fs);
    assert_eq!(second.status, Status::Applicable);
    assert!(second.in_place && second.diff.is_empty());
    assert!(!apply(&mut second, &fs).unwrap());
    assert!(!second.applied);
    assert_eq!(tree(dir.path()), after);
}

#[test]
fn a_drop_in_path_holding_other_content_is_never_overwritten() {
    let (dir, fs) = root(&[
        (
            "/etc/ssh/sshd_config",
            "Include /etc/ssh/sshd_config.d/*.conf\n",
        ),
        (DROPIN, "PermitRootLogin yes\n"),
    ]);
    let before = tree(dir.path());
    let mut plan = plan(&root_login(), &fs);
    assert_eq!(plan.status, Status::Blocked);
    assert!(plan.reason.contains("exists with other content"));
    assert!(plan.diff.contains("-PermitRootLogin yes\n"));
    let err = apply(&mut plan, &fs).unwrap_err();
    assert!(matches!(err, ApplyError::NotApplicable { .. }), "{err}");
    assert_eq!(tree(dir.path()), before);
}

#[test]
fn the_drop_in_folder_is_created_inside_the_root_through_links() {
    let (dir, fs) = root(&[("/real/sysctl.d/.keep", "")]);
    fs_err::create_dir_all(dir.path().join("etc")).unwrap();
    std::os::unix::fs::symlink("/real/sysctl.d", dir.path().join("etc/sysctl.d")).unwrap();
    let mut plan = plan(&aslr(), &fs);
    assert!(apply(&mut plan, &fs).unwrap());
    assert!(
        dir.path()
            .join("real/sysctl.d/60-attest-host.kernel.aslr.conf")
            .is_file()
    );
    let fresh = tempfile::tempdir().unwrap();
    let fs = RootFs::new(fresh.path(), false);
    let mut plan = super::plan(&aslr(), &fs);
    assert!(apply(&mut plan, &fs).unwrap());
    assert!(
        fresh
            .path()
            .join("etc/sysctl.d/60-attest-host.kernel.aslr.conf")
            .is_file()
    );
}
