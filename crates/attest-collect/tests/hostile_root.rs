//! Collecting from a root whose files are empty, binary, huge, special or looping never panics:
//! every fact that cannot be read is unknown with a reason.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail by panicking"
)]
#![allow(
    clippy::disallowed_methods,
    reason = "the test builds a hostile root with plain std::fs"
)]

use std::path::Path;

use attest_collect::RootFs;
use attest_collect::host::collect;
use jiff::Timestamp;

fn write(root: &Path, inner: &str, content: &[u8]) {
    let path = root.join(inner.trim_start_matches('/'));
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, content).unwrap();
}

fn now() -> Timestamp {
    Timestamp::from_second(1_780_000_000).unwrap()
}

#[test]
fn an_empty_root_gives_unknowns_with_reasons() {
    let dir = tempfile::tempdir().unwrap();
    let facts = collect(&RootFs::new(dir.path(), false), now());
    for key in [
        "accounts",
        "packages",
        "ssh.effective",
        "auth.pam",
        "os.id",
        "network.listening",
        "encryption.mounts",
    ] {
        assert!(
            facts.unknown.contains_key(key),
            "{key} missing from {:?}",
            facts.unknown.keys().collect::<Vec<_>>()
        );
    }
    assert_eq!(facts.unknown["accounts"], "/etc/passwd: absent");
    assert!(!facts.ssh.installed);
    assert!(facts.accounts.users.is_empty());
}

#[test]
fn binary_huge_special_and_looping_files_never_panic() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    // Binary and invalid UTF-8 where text is expected.
    write(
        root,
        "/etc/passwd",
        b"root:x:0:0::/root:/bin/bash\n\0\x01\x02",
    );
    write(root, "/etc/os-release", b"ID=\xff\xfe\n");
    write(
        root,
        "/etc/ssh/sshd_config",
        b"Include /etc/ssh/loop.conf\n",
    );
    std::os::unix::fs::symlink("/etc/ssh/loop.conf", root.join("etc/ssh/loop.conf")).unwrap();
    // A huge sparse file.
    std::fs::create_dir_all(root.join("var/lib/dpkg")).unwrap();
    let huge = std::fs::File::create(root.join("var/lib/dpkg/status")).unwrap();
    huge.set_len(64 * 1024 * 1024).unwrap();
    // A folder where a file should be, an empty file, a FIFO.
    std::fs::create_dir_all(root.join("etc/login.defs")).unwrap();
    write(root, "/etc/group", b"");
    let fifo = std::process::Command::new("mkfifo")
        .arg(root.join("etc/shadow"))
        .status()
        .unwrap();
    assert!(fifo.success());
    // Dangling and looping links in sysctl.d.
    std::fs::create_dir_all(root.join("etc/sysctl.d")).unwrap();
    std::os::unix::fs::symlink("/nowhere", root.join("etc/sysctl.d/10-dangling.conf")).unwrap();
    std::os::unix::fs::symlink("/etc/sysctl.d/b.conf", root.join("etc/sysctl.d/a.conf")).unwrap();
    std::os::unix::fs::symlink("/etc/sysctl.d/a.conf", root.join("etc/sysctl.d/b.conf")).unwrap();
    write(
        root,
        "/etc/sysctl.d/20-garbage.conf",
        b"=\n===\nkernel.randomize_va_space\n\xff=\xff\n",
    );

    let facts = collect(&RootFs::new(root, false), now());
    assert!(
        facts.unknown["accounts"].contains("binary file"),
        "{}",
        facts.unknown["accounts"]
    );
    assert!(
        facts.unknown["os.id"].contains("not UTF-8"),
        "{}",
        facts.unknown["os.id"]
    );
    assert!(
        facts.unknown["packages"].contains("too large"),
        "{}",
        facts.unknown["packages"]
    );
    assert!(
        facts.unknown["auth.login_defs"].contains("not a regular file"),
        "{}",
        facts.unknown["auth.login_defs"]
    );
    assert!(
        facts
            .ssh
            .problems
            .iter()
            .any(|p| p.message.contains("link loop")),
        "{:?}",
        facts.ssh.problems
    );
    assert!(facts.kernel.sysctl.is_empty());
    // The whole document still serialises.
    let json = serde_json::to_string(&facts).unwrap();
    assert!(json.contains("attest.facts.host/v1"));
}

/// Set in the child process that collects as an unprivileged user: the root to read.
const CHILD_ROOT: &str = "ATTEST_TEST_UNPRIVILEGED_ROOT";
const FACTS_START: &str = "<<<facts>>>";
const FACTS_END: &str = "<<<end>>>";
/// Folders the unprivileged collector cannot list.
const CLOSED_FOLDERS: [&str; 4] = [
    "etc/sudoers.d",
    "etc/sysctl.d",
    "etc/ssh/sshd_config.d",
    "etc/audit/rules.d",
];

fn running_as_root() -> bool {
    let out = std::process::Command::new("id").arg("-u").output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim() == "0"
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// Unreadable folders and files are unknown with the reason, never empty: an unreadable
/// `/etc/sudoers.d` holding `deploy ALL=(ALL) NOPASSWD: ALL` must not make sudo look safe,
/// and an unreadable `/etc/sysctl.d` is "permission denied", not "not set".
///
/// Permissions do not stop root, so as root the test copies its own binary into the
/// fixture's folder and runs it again as `nobody` (`setpriv`) to collect; as another user
/// it collects in-process.
#[test]
fn unreadable_folders_are_unknown_not_empty() {
    if let Some(root) = std::env::var_os(CHILD_ROOT) {
        let facts = collect(&RootFs::new(root, false), now());
        let json = serde_json::to_string(&facts).unwrap();
        println!("{FACTS_START}{json}{FACTS_END}");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    set_mode(dir.path(), 0o755);
    let root = dir.path().join("root");
    write(&root, "/etc/passwd", b"root:x:0:0::/root:/bin/bash\n");
    write(
        &root,
        "/etc/sudoers",
        b"Defaults use_pty\nroot ALL=(ALL:ALL) ALL\n@includedir /etc/sudoers.d\n",
    );
    write(
        &root,
        "/etc/sudoers.d/ci",
        b"deploy ALL=(ALL) NOPASSWD: ALL\n",
    );
    write(
        &root,
        "/etc/sysctl.d/99-hardening.conf",
        b"kernel.randomize_va_space = 2\n",
    );
    write(
        &root,
        "/etc/ssh/sshd_config",
        b"Include /etc/ssh/sshd_config.d/*.conf\n",
    );
    write(
        &root,
        "/etc/ssh/sshd_config.d/00-hardening.conf",
        b"PermitRootLogin no\n",
    );
    write(
        &root,
        "/etc/audit/rules.d/identity.rules",
        b"-w /etc/passwd -p wa\n",
    );
    for folder in CLOSED_FOLDERS {
        // Owned by root and closed to others (to everyone when not run as root).
        set_mode(&root.join(folder), 0o000);
    }

    let facts: serde_json::Value = if running_as_root() {
        let exe = dir.path().join("collector-test");
        std::fs::copy(std::env::current_exe().unwrap(), &exe).unwrap();
        set_mode(&exe, 0o755);
        let output = std::process::Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(&exe)
            .args([
                "--exact",
                "unreadable_folders_are_unknown_not_empty",
                "--nocapture",
            ])
            .env(CHILD_ROOT, &root)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "{stdout}{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let start = stdout.find(FACTS_START).unwrap() + FACTS_START.len();
        let end = stdout.find(FACTS_END).unwrap();
        serde_json::from_str(&stdout[start..end]).unwrap()
    } else {
        serde_json::to_value(collect(&RootFs::new(&root, false), now())).unwrap()
    };
    for folder in CLOSED_FOLDERS {
        set_mode(&root.join(folder), 0o755);
    }

    let unknown = &facts["unknown"];
    let reason = |key: &str| unknown[key].as_str().unwrap_or_default().to_owned();
    assert!(
        reason("accounts.sudo_rules").contains("/etc/sudoers.d: permission denied"),
        "{unknown}"
    );
    assert_eq!(facts["accounts"]["sudo_rules"].as_array().unwrap().len(), 1);
    assert!(
        reason("kernel.sysctl.kernel.randomize_va_space")
            .contains("/etc/sysctl.d: permission denied"),
        "{unknown}"
    );
    assert!(facts["kernel"]["sysctl"].as_object().unwrap().is_empty());
    assert!(facts["ssh"]["effective"].is_null());
    assert!(
        reason("ssh.effective").contains("/etc/ssh/sshd_config.d: permission denied"),
        "{unknown}"
    );
    assert!(
        reason("logging.audit_rules").contains("/etc/audit/rules.d: permission denied"),
        "{unknown}"
    );
}
