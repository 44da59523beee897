//! The auditor package (`docs/formats/package.md`, format `attest-package-v1`).
//!
//! A package holds a period's reports, the control matrix, the evidence files, the ledger
//! segment of the period with its checkpoints (anchored at the last checkpoint before the
//! period, so the segment verifies on its own), the public key, the standalone verifier, and a
//! manifest of every file's SHA-256 signed with the organisation's key.
//!
//! [`export`] writes one into any seekable writer (a file, a temporary file to stream, a
//! [`std::io::Cursor`]); [`verify`] (or [`Package::open`] then [`Package::verify`]) checks
//! one the way `verify.py` inside it does.
//!
//! ```no_run
//! # fn demo(
//! #     workspace: &attest_workspace::Workspace,
//! #     store: &dyn attest_store::Store,
//! #     key: &attest_ledger::SigningKey,
//! #     period: attest_model::Period,
//! # ) -> Result<(), attest_package::PackageError> {
//! use std::io::Cursor;
//!
//! use attest_package::{ExportInput, VerifyOutcome};
//!
//! let mut zip = Cursor::new(Vec::new());
//! attest_package::export(
//!     ExportInput {
//!         workspace,
//!         store,
//!         key,
//!         period,
//!         seed: 7,
//!         generated_at: jiff::Timestamp::now(),
//!     },
//!     &mut zip,
//! )?;
//! zip.set_position(0);
//! let outcome = attest_package::verify(zip, "package.zip", Some(&key.public()))?;
//! assert!(matches!(outcome, VerifyOutcome::Intact(_)));
//! # Ok(())
//! # }
//! ```

mod export;
mod format;
mod verify;

#[cfg(test)]
mod tests;

pub use export::{ExportInput, ExportSummary, export};
pub use verify::{Intact, Package, VerifyNote, VerifyOutcome, verify};

/// Why a package could not be written or read. A package that reads but does not verify is
/// not an error: it is [`VerifyOutcome::Tampered`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PackageError {
    /// The store could not be read.
    #[error(transparent)]
    Store(#[from] attest_store::StoreError),
    /// The history behind the Type 2 report could not be read.
    #[error("cannot read the history for the Type 2 report")]
    History(#[source] attest_store::StoreError),
    /// A report could not be rendered.
    #[error(transparent)]
    Render(#[from] attest_report::RenderError),
    /// An evidence file could not be read from the store.
    #[error("evidence #{id} ({file_name}) cannot be read; run `attest verify`")]
    Evidence {
        /// The evidence record's id.
        id: i64,
        /// The evidence's file name.
        file_name: String,
        /// What the store reported.
        #[source]
        source: attest_store::StoreError,
    },
    /// The store's ledger does not hash to one of its own checkpoints.
    #[error(
        "the store's ledger does not match its checkpoint at entry {seq}; run `attest verify` before exporting"
    )]
    CheckpointMismatch {
        /// The checkpointed entry.
        seq: u64,
    },
    /// Reading or writing failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// The zip archive could not be written or read.
    #[error(transparent)]
    Zip(#[from] zip::result::ZipError),
    /// A file of the package could not be serialized.
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    /// The input is not a zip archive.
    #[error("{package} is not a zip file: {error}")]
    NotZip {
        /// The package's name (its path).
        package: String,
        /// Why the archive could not be read.
        error: zip::result::ZipError,
    },
    /// The archive's file list could not be read.
    #[error("{package}: {error}")]
    Archive {
        /// The package's name (its path).
        package: String,
        /// Why the file list could not be read.
        error: zip::result::ZipError,
    },
    /// A file every package has is missing.
    #[error("{package}: {member} is missing")]
    MissingMember {
        /// The package's name (its path).
        package: String,
        /// The missing file.
        member: String,
    },
    /// `ledger/entries.jsonl` is missing.
    #[error("ledger/entries.jsonl is missing")]
    MissingEntries,
    /// `manifest.json` is not a manifest.
    #[error("{package}: manifest.json: {error}")]
    Manifest {
        /// The package's name (its path).
        package: String,
        /// Why it does not parse.
        error: serde_json::Error,
    },
    /// The manifest names another format.
    #[error("{package}: not an {expected} package (format `{format}`)", expected = format::FORMAT)]
    Format {
        /// The package's name (its path).
        package: String,
        /// The format the manifest names.
        format: String,
    },
    /// `public-key.txt` is not a public key.
    #[error("{0}")]
    PublicKey(attest_ledger::LedgerError),
    /// A file of the package does not parse.
    #[error("{member}: {problem}")]
    Malformed {
        /// The file.
        member: &'static str,
        /// What is wrong with it.
        problem: String,
    },
}
