//! Exit codes: 0 ok, 1 findings at or above `--fail-on`, 2 usage or input error.

use std::process::ExitCode;

/// How `attest` exits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ExitStatus {
    /// The command did its job.
    Success,
    /// The command did its job and found what `--fail-on` asks to fail on (or tampering).
    Findings,
    /// Bad usage or bad input, or Attest could not do its job.
    Error,
}

impl From<ExitStatus> for ExitCode {
    fn from(status: ExitStatus) -> Self {
        match status {
            ExitStatus::Success => ExitCode::SUCCESS,
            ExitStatus::Findings => ExitCode::from(1),
            ExitStatus::Error => ExitCode::from(2),
        }
    }
}

/// An error caused by the user's input, with a message that says what to do.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct Failure(String);

impl Failure {
    /// An input error as an `anyhow::Error`.
    pub(crate) fn input(message: impl Into<String>) -> anyhow::Error {
        anyhow::Error::new(Failure(message.into()))
    }
}
