//! The `attest` binary end to end: every command, every output format and the error paths,
//! on real temporary workspaces and real SQLite stores.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::missing_panics_doc,
    reason = "tests fail by panicking"
)]

mod agent;
mod catalog;
mod evidence;
mod findings;
mod history;
mod monitor;
mod notify;
mod remediate;
mod report;
mod scan;
mod server;
mod server_kill;
mod workspace;

use std::path::{Path, PathBuf};

use assert_cmd::Command;

/// A temporary folder to run `attest` in, with its own store and no inherited workspace.
pub(crate) struct Sandbox {
    pub(crate) dir: tempfile::TempDir,
}

impl Sandbox {
    pub(crate) fn new() -> Self {
        Sandbox {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    /// A sandbox holding a fresh workspace made by `attest init`.
    pub(crate) fn with_workspace() -> Self {
        let sandbox = Self::new();
        sandbox
            .attest(&[
                "init",
                ".",
                "--organisation",
                "Acme Ltd",
                "--period-start",
                "2026-01-01",
            ])
            .assert()
            .success();
        sandbox
    }

    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `attest ARGS` run in the sandbox, with HOME inside it so nothing leaks outside.
    pub(crate) fn attest(&self, args: &[&str]) -> Command {
        let mut cmd = Command::cargo_bin("attest").unwrap();
        cmd.current_dir(self.path())
            .env("HOME", self.path().join("home"))
            .env("XDG_DATA_HOME", self.path().join("home/.local/share"))
            .env("ATTEST_USER", "auditor-test")
            .env_remove("ATTEST_WORKSPACE")
            .env_remove("ATTEST_STORE")
            .env_remove("ATTEST_LOG")
            .env("NO_COLOR", "1")
            .args(args);
        cmd
    }

    /// Runs `attest ARGS`, expects success, and parses standard output as JSON.
    pub(crate) fn json(&self, args: &[&str]) -> serde_json::Value {
        let output = self.attest(args).output().unwrap();
        assert!(
            output.status.success(),
            "attest {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice(&output.stdout).unwrap()
    }

    /// Runs `attest verify` on the sandbox's store and expects it intact.
    pub(crate) fn assert_verifies(&self) {
        let output = self.attest(&["verify"]).output().unwrap();
        assert!(output.status.success(), "{}", stderr(&output));
    }

    pub(crate) fn write(&self, rel: &str, content: &str) -> PathBuf {
        let path = self.path().join(rel);
        fs_err::create_dir_all(path.parent().unwrap()).unwrap();
        fs_err::write(&path, content).unwrap();
        path
    }
}

/// Asserts that `text` contains each of `expected`.
pub(crate) fn assert_contains_all(text: &str, expected: &[&str]) {
    for expected in expected {
        assert!(text.contains(expected), "missing `{expected}` in:\n{text}");
    }
}

/// Standard error of a finished command, as text.
pub(crate) fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}
