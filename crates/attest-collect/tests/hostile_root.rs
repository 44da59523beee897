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
