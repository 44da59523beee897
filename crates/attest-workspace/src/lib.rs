//! Loads and validates an Attest workspace.
//!
//! A workspace is a folder, usually a git repository, with `attest.toml`, `controls/` (one
//! TOML file per control family) and optionally `criteria/`. Loading goes in two phases, as in
//! cargo-deny: files are parsed into the raw shapes of [`raw`] (which keep spans), then
//! validated into model types. Problems never stop the load: every one becomes a
//! [`Diagnostic`](attest_diagnostics::Diagnostic) with a code and a `file:line:column`.
//!
//! The built-in library has the same shape and goes through the same [`load`], as the layer
//! under the user's.

mod init;
mod load;
pub mod raw;
mod read;
mod validate;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use attest_diagnostics::Location;

use attest_model::{Category, Control, Criterion, Family, Scope};

pub use init::{InitError, InitOptions, init, render_config_template};
pub use load::{LayerFiles, load};

/// Name of the workspace configuration file.
pub const CONFIG_FILE: &str = "attest.toml";

/// Source kinds a workspace may configure.
pub const SOURCE_KINDS: &[&str] = &[
    "host",
    "aws",
    "terraform",
    "kubernetes",
    "idp",
    "git",
    "manual",
];

/// A source configured in `attest.toml`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceConfig {
    /// Source kind, one of [`SOURCE_KINDS`].
    pub kind: String,
    /// Root or export path, if given.
    pub path: Option<String>,
}

/// A control taken out of scope, with the reason.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
pub struct Exclusion {
    /// Control id.
    pub id: String,
    /// Why it does not apply.
    pub reason: String,
}

/// A validated workspace: built-ins merged with the user's files.
#[derive(Debug, Clone)]
pub struct Workspace {
    /// The workspace folder, or `None` when running on the built-ins alone.
    pub root: Option<PathBuf>,
    /// Organisation name (empty without a workspace).
    pub organisation: String,
    /// Audit scope.
    pub scope: Scope,
    /// Configured sources.
    pub sources: Vec<SourceConfig>,
    /// All criteria, in catalog order.
    pub criteria: Vec<Criterion>,
    /// Control families, by id.
    pub families: Vec<Family>,
    /// Controls in the library, less the excluded ones, by id.
    pub controls: Vec<Control>,
    /// Automated checks (built-in and the workspace's), by id.
    pub checks: Vec<attest_model::CheckMeta>,
    /// Where each check's id is written in its metadata file, for diagnostics about the check.
    pub check_locations: BTreeMap<String, Location>,
    /// Controls excluded from scope.
    pub excluded: Vec<Exclusion>,
    /// How continuously sources are monitored.
    pub monitoring: attest_model::Monitoring,
    /// Type 2 sample sizes by control frequency.
    pub sampling: attest_model::SampleSizes,
    /// When failing controls open findings, and their SLAs.
    pub findings: attest_model::FindingPolicy,
    /// Notification channels (`[[notify]]`), in file order.
    pub notify: Vec<attest_model::NotifyConfig>,
}

impl Workspace {
    /// The criterion with `id`.
    pub fn criterion(&self, id: &str) -> Option<&Criterion> {
        self.criteria.iter().find(|c| c.id == id)
    }

    /// The control with `id`.
    pub fn control(&self, id: &str) -> Option<&Control> {
        self.controls.iter().find(|c| c.id == id)
    }

    /// Criteria whose category is in scope.
    pub fn criteria_in_scope(&self) -> impl Iterator<Item = &Criterion> {
        self.criteria
            .iter()
            .filter(|c| self.scope.includes(c.category))
    }

    /// The check with `id`.
    pub fn check(&self, id: &str) -> Option<&attest_model::CheckMeta> {
        self.checks.iter().find(|c| c.id == id)
    }

    /// The check id `id` was probably meant to be: a likely typo of one, or the one id that
    /// ends with it (`root_login_disabled` for `host.ssh.root_login_disabled`).
    pub fn closest_check(&self, id: &str) -> Option<&str> {
        validate::closest_check(id, self.checks.iter().map(|c| c.id.as_str()))
    }

    /// Controls that name check `id`.
    pub fn controls_of_check(&self, id: &str) -> impl Iterator<Item = &Control> {
        self.controls
            .iter()
            .filter(move |c| c.checks.iter().any(|k| k == id))
    }

    /// Controls that address at least one criterion in scope.
    pub fn controls_in_scope(&self) -> impl Iterator<Item = &Control> {
        self.controls.iter().filter(|control| {
            control.criteria.iter().any(|id| {
                self.criterion(id)
                    .is_some_and(|c| self.scope.includes(c.category))
            })
        })
    }

    /// Categories in scope, in catalog order.
    pub fn categories_in_scope(&self) -> Vec<Category> {
        Category::ALL
            .iter()
            .copied()
            .filter(|c| self.scope.includes(*c))
            .collect()
    }
}

/// The nearest folder at or above `start` that holds an `attest.toml`, like git finds `.git`.
pub fn find_root(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .find(|dir| dir.join(CONFIG_FILE).is_file())
        .map(Path::to_path_buf)
}

/// JSON Schemas of the files a user edits: `(file name, schema)`.
pub fn schemas() -> Vec<(&'static str, serde_json::Value)> {
    vec![
        (
            "attest.schema.json",
            schemars::schema_for!(raw::RawConfig).to_value(),
        ),
        (
            "controls.schema.json",
            schemars::schema_for!(raw::RawControlFile).to_value(),
        ),
        (
            "criteria.schema.json",
            schemars::schema_for!(raw::RawCriteriaFile).to_value(),
        ),
        (
            "checks.schema.json",
            schemars::schema_for!(raw::RawCheckFile).to_value(),
        ),
    ]
}
