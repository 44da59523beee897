//! Secrets (webhook URLs, SMTP passwords), read from the environment or a file when needed.
//!
//! A [`Secret`] prints as `[redacted]` in both `Debug` and `Display`, and a [`SecretError`]
//! names the variable or file, never what it holds, so neither can leak a secret into a log.

use std::fmt;
use std::path::PathBuf;

use attest_model::SecretSource;

/// What `Debug` and `Display` print instead of a secret.
pub const REDACTED: &str = "[redacted]";

/// A secret value; its `Debug` and `Display` print [`REDACTED`].
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret itself, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

/// Why a secret could not be read; the message names where it was looked for, never a value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SecretError {
    /// The environment variable is not set.
    #[error("environment variable `{name}` is not set")]
    NotSet {
        /// The variable's name.
        name: String,
    },
    /// The environment variable is set but is not valid UTF-8.
    #[error("environment variable `{name}` is not valid UTF-8")]
    NotUnicode {
        /// The variable's name.
        name: String,
    },
    /// The file could not be read.
    #[error("cannot read file `{}`: {reason}", path.display())]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// The kind of I/O error, e.g. "entity not found".
        reason: String,
    },
    /// The file is not valid UTF-8.
    #[error("file `{}` is not UTF-8 text", path.display())]
    FileNotUnicode {
        /// The file.
        path: PathBuf,
    },
    /// The variable or file is empty (or only white space).
    #[error("{place} is empty")]
    Empty {
        /// Where the secret was looked for, e.g. "environment variable `X`".
        place: String,
    },
}

/// Reads the secret from its source: the variable's value, or the file's content less
/// surrounding white space (a trailing newline is usual in such files).
pub fn resolve(source: &SecretSource) -> Result<Secret, SecretError> {
    let value = match source {
        SecretSource::Env(name) => match std::env::var(name) {
            Ok(value) => value,
            Err(std::env::VarError::NotPresent) => {
                return Err(SecretError::NotSet { name: name.clone() });
            }
            Err(std::env::VarError::NotUnicode(_)) => {
                return Err(SecretError::NotUnicode { name: name.clone() });
            }
        },
        SecretSource::File(path) => {
            // Only the kind of the I/O error is kept: the message names the path itself.
            let bytes = fs_err::read(path).map_err(|e| SecretError::Unreadable {
                path: path.clone(),
                reason: e.kind().to_string(),
            })?;
            String::from_utf8(bytes)
                .map_err(|_| SecretError::FileNotUnicode { path: path.clone() })?
        }
    };
    let value = value.trim();
    if value.is_empty() {
        return Err(SecretError::Empty {
            place: source.to_string(),
        });
    }
    Ok(Secret::new(value))
}

/// `text` with every occurrence of each secret (and of each secret's parts longer than a few
/// characters that are separated by `/`, `?`, `&` or `=`, like the path of a webhook URL)
/// replaced by [`REDACTED`].
///
/// Messages from servers and libraries are passed through this before they are kept, so
/// that a server echoing a request cannot put a secret into a delivery record.
pub fn scrub(text: &str, secrets: &[&Secret]) -> String {
    let mut out = text.to_owned();
    let mut needles: Vec<&str> = Vec::new();
    for secret in secrets {
        let value = secret.expose();
        needles.push(value);
        // The parts that make a webhook URL secret: its path segments and query values.
        let after_host = value
            .split_once("://")
            .map_or(value, |(_, rest)| rest)
            .split_once('/')
            .map_or("", |(_, path)| path);
        needles.extend(
            after_host
                .split(['/', '?', '&', '='])
                .filter(|part| part.len() >= 8),
        );
    }
    // Longest first, so that a whole secret is replaced before any of its parts.
    needles.sort_by_key(|n| std::cmp::Reverse(n.len()));
    for needle in needles {
        if !needle.is_empty() {
            out = out.replace(needle, REDACTED);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_print_redacted() {
        let secret = Secret::new("hunter2-very-secret");
        assert_eq!(format!("{secret}"), REDACTED);
        assert_eq!(format!("{secret:?}"), REDACTED);
        assert_eq!(format!("{:?}", Some(&secret)), "Some([redacted])");
        assert_eq!(secret.expose(), "hunter2-very-secret");
    }

    #[test]
    fn file_secrets_are_trimmed_and_errors_name_the_place_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hook");
        fs_err::write(&path, "https://hooks.example.com/T000/B000/XXXXSECRET\n").unwrap();
        let secret = resolve(&SecretSource::File(path.clone())).unwrap();
        assert_eq!(
            secret.expose(),
            "https://hooks.example.com/T000/B000/XXXXSECRET"
        );

        let empty = dir.path().join("empty");
        fs_err::write(&empty, " \n").unwrap();
        let err = resolve(&SecretSource::File(empty.clone())).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("file `{}` is empty", empty.display())
        );

        let missing = dir.path().join("missing");
        let err = resolve(&SecretSource::File(missing.clone())).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("cannot read file `{}`: entity not found", missing.display())
        );

        let binary = dir.path().join("binary");
        fs_err::write(&binary, [0xff, 0xfe, b's', b'e', b'c']).unwrap();
        let err = resolve(&SecretSource::File(binary.clone())).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("file `{}` is not UTF-8 text", binary.display())
        );
    }

    #[test]
    fn an_unset_variable_is_named() {
        let name = "ATTEST_NOTIFY_TEST_VARIABLE_THAT_IS_NEVER_SET";
        let err = resolve(&SecretSource::Env(name.to_owned())).unwrap_err();
        assert_eq!(
            err.to_string(),
            "environment variable `ATTEST_NOTIFY_TEST_VARIABLE_THAT_IS_NEVER_SET` is not set"
        );
    }

    #[test]
    fn scrub_removes_secrets_and_the_secret_parts_of_urls() {
        let url = Secret::new(
            "https://hooks.slack.com/services/T0001/B0002/abcdefghijkl?token=zyxwvutsrq",
        );
        let password = Secret::new("correct horse");
        let text = "failed: https://hooks.slack.com/services/T0001/B0002/abcdefghijkl?token=zyxwvutsrq; \
                    path /services/T0001/B0002/abcdefghijkl; token zyxwvutsrq; 535 bad correct horse";
        let scrubbed = scrub(text, &[&url, &password]);
        // Parts shorter than 8 characters are too common to replace everywhere.
        assert_eq!(
            scrubbed,
            "failed: [redacted]; path /[redacted]/T0001/B0002/[redacted]; token [redacted]; 535 bad [redacted]"
        );
    }
}
