//! The built-in catalog and control library of Attest, embedded in the binary.
//!
//! `builtin/` at the repository root is shaped exactly like a user's workspace
//! (`criteria/`, `controls/`), and is loaded through the same
//! [`attest_workspace::load`]. [`load`] puts a user's workspace, if any, over it.
//!
//! ```
//! let (workspace, diagnostics) = attest_catalog::load(None);
//! assert!(diagnostics.is_empty());
//! assert_eq!(workspace.criteria.len(), 61);
//! ```

use std::path::Path;

use attest_diagnostics::{Diagnostic, SourceFile};
use attest_workspace::{LayerFiles, Workspace};

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/builtin_files.rs"));
}

/// Every built-in file, with display paths `builtin/<relative path>`.
pub fn builtin_files() -> Vec<SourceFile> {
    embedded::FILES
        .iter()
        .map(|(path, text)| SourceFile::new(Path::new("builtin").join(path), *text))
        .collect()
}

/// The built-in layer, sorted into its roles.
pub fn builtin_layer() -> LayerFiles {
    LayerFiles::from_files(builtin_files())
}

/// Loads the built-ins, with the workspace at `root` (if any) over them.
pub fn load(root: Option<&Path>) -> (Workspace, Vec<Diagnostic>) {
    let (workspace, _, diagnostics) = load_with_checks(root);
    (workspace, diagnostics)
}

/// The Rego and test files of the checks, built-in first, then the workspace's.
#[derive(Debug, Clone, Default)]
pub struct CheckSources {
    /// `checks/**/*.rego`.
    pub rego: Vec<SourceFile>,
    /// `checks/**/tests.yaml`.
    pub tests: Vec<SourceFile>,
}

/// Like [`load`], and also returns the check sources for the engine.
pub fn load_with_checks(root: Option<&Path>) -> (Workspace, CheckSources, Vec<Diagnostic>) {
    let builtin = builtin_layer();
    let mut sources = CheckSources {
        rego: builtin.rego.clone(),
        tests: builtin.check_tests.clone(),
    };
    if let Some(root) = root {
        let (user, mut diagnostics) = LayerFiles::read_dir(root);
        let (workspace, more) = attest_workspace::load(&builtin, Some((root, &user)));
        diagnostics.extend(more);
        sources.rego.extend(user.rego.iter().cloned());
        sources.tests.extend(user.check_tests.iter().cloned());
        (workspace, sources, diagnostics)
    } else {
        let (workspace, diagnostics) = attest_workspace::load(&builtin, None);
        (workspace, sources, diagnostics)
    }
}
