//! Reading workspace files and merging the built-in layer with the user's.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use attest_diagnostics::{Code, Diagnostic, SourceFile};
use attest_model::{CheckMeta, Control, Criterion, Family};

use crate::raw::{RawCheckFile, RawConfig, RawControlFile, RawCriteriaFile};
use crate::read::parse;
use crate::validate::{self, ValidatedConfig};
use crate::{CONFIG_FILE, Workspace};

/// The files of one layer (built-in or a user's workspace), already read.
#[derive(Debug, Clone, Default)]
pub struct LayerFiles {
    /// `attest.toml`, if the layer has one.
    pub config: Option<SourceFile>,
    /// `criteria/*.toml`.
    pub criteria: Vec<SourceFile>,
    /// `controls/*.toml`.
    pub controls: Vec<SourceFile>,
    /// `checks/**/checks.toml`: check metadata.
    pub checks: Vec<SourceFile>,
    /// `checks/**/*.rego`: check logic.
    pub rego: Vec<SourceFile>,
    /// `checks/**/tests.yaml`: check test cases.
    pub check_tests: Vec<SourceFile>,
}

impl LayerFiles {
    /// Sorts files into their roles by path (`attest.toml`, `criteria/`, `controls/`,
    /// `checks/`); other paths are ignored.
    pub fn from_files(files: impl IntoIterator<Item = SourceFile>) -> Self {
        let mut layer = LayerFiles::default();
        for file in files {
            let path = file.path.clone();
            let parent = path
                .parent()
                .and_then(Path::file_name)
                .and_then(|p| p.to_str());
            let is_toml = path.extension().is_some_and(|e| e == "toml");
            let in_checks = path.components().any(|c| c.as_os_str() == "checks");
            if in_checks {
                match path.extension().and_then(|e| e.to_str()) {
                    Some("toml") => layer.checks.push(file),
                    Some("rego") => layer.rego.push(file),
                    Some("yaml" | "yml") => layer.check_tests.push(file),
                    _ => {}
                }
            } else if path.file_name().is_some_and(|n| n == CONFIG_FILE)
                && parent != Some("controls")
            {
                layer.config = Some(file);
            } else if is_toml && parent == Some("criteria") {
                layer.criteria.push(file);
            } else if is_toml && parent == Some("controls") {
                layer.controls.push(file);
            }
        }
        for files in [
            &mut layer.criteria,
            &mut layer.controls,
            &mut layer.checks,
            &mut layer.rego,
            &mut layer.check_tests,
        ] {
            files.sort_by(|a, b| a.path.cmp(&b.path));
        }
        layer
    }

    /// Reads a workspace folder: `attest.toml`, `criteria/*.toml`, `controls/*.toml` and
    /// everything under `checks/`.
    ///
    /// Paths in diagnostics are `root` joined with the file's relative path.
    pub fn read_dir(root: &Path) -> (Self, Vec<Diagnostic>) {
        let mut diagnostics = Vec::new();
        let mut files = Vec::new();
        let config = root.join(CONFIG_FILE);
        if config.is_file() {
            files.extend(read_text(&config, &mut diagnostics));
        }
        for folder in ["criteria", "controls"] {
            let dir = root.join(folder);
            if !dir.is_dir() {
                continue;
            }
            match fs_err::read_dir(&dir) {
                Ok(entries) => {
                    let mut paths: Vec<PathBuf> = entries
                        .filter_map(Result::ok)
                        .map(|e| e.path())
                        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
                        .collect();
                    paths.sort();
                    for path in paths {
                        files.extend(read_text(&path, &mut diagnostics));
                    }
                }
                Err(err) => diagnostics.push(Diagnostic::error(Code::Io, err.to_string())),
            }
        }
        let mut check_paths = Vec::new();
        walk(&root.join("checks"), 0, &mut check_paths, &mut diagnostics);
        check_paths.sort();
        for path in check_paths {
            files.extend(read_text(&path, &mut diagnostics));
        }
        (Self::from_files(files), diagnostics)
    }
}

/// Every file under `dir` (not following symbolic links), at most 8 levels deep.
fn walk(dir: &Path, depth: usize, out: &mut Vec<PathBuf>, diagnostics: &mut Vec<Diagnostic>) {
    if depth > 8 || !dir.is_dir() {
        return;
    }
    match fs_err::read_dir(dir) {
        Ok(entries) => {
            for entry in entries.filter_map(Result::ok) {
                let path = entry.path();
                match entry.file_type() {
                    Ok(t) if t.is_dir() => walk(&path, depth.saturating_add(1), out, diagnostics),
                    Ok(t) if t.is_file() => out.push(path),
                    _ => {}
                }
            }
        }
        Err(err) => diagnostics.push(Diagnostic::error(Code::Io, err.to_string())),
    }
}

fn read_text(path: &Path, diagnostics: &mut Vec<Diagnostic>) -> Option<SourceFile> {
    // Shown as `controls/a.toml`, not `./controls/a.toml`, when the workspace is the current folder.
    let path = path.strip_prefix(".").unwrap_or(path);
    match fs_err::read(path) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(text) => Some(SourceFile::new(path, text)),
            Err(err) => {
                diagnostics.push(
                    Diagnostic::error(
                        Code::Io,
                        format!(
                            "{} is not UTF-8 text (invalid byte at offset {})",
                            path.display(),
                            err.utf8_error().valid_up_to()
                        ),
                    )
                    .in_file(&SourceFile::new(path, "")),
                );
                None
            }
        },
        Err(err) => {
            diagnostics.push(
                Diagnostic::error(
                    Code::Io,
                    format!("cannot read {}: {}", path.display(), err.kind()),
                )
                .in_file(&SourceFile::new(path, "")),
            );
            None
        }
    }
}

/// Loads the built-in layer, then the user's layer over it, and validates the result.
///
/// A user control with the id of a built-in control replaces it; new ids extend the library;
/// `[controls] exclude` in `attest.toml` removes controls from scope. Checks of both layers
/// are loaded first (a user check with a built-in id replaces it), so that controls may name
/// them. Every problem found is returned; the workspace holds everything that was valid.
pub fn load(
    builtin: &LayerFiles,
    user: Option<(&Path, &LayerFiles)>,
) -> (Workspace, Vec<Diagnostic>) {
    let mut diagnostics = Vec::new();

    let mut checks: BTreeMap<String, CheckMeta> = BTreeMap::new();
    let mut check_locations = BTreeMap::new();
    for layer in std::iter::once(builtin).chain(user.map(|(_, files)| files)) {
        let mut seen = BTreeMap::new();
        for file in &layer.checks {
            if let Some(raw) = parse::<RawCheckFile>(file, &mut diagnostics) {
                for (check, location) in validate::checks(file, raw, &mut seen, &mut diagnostics) {
                    check_locations.insert(check.id.clone(), location);
                    checks.insert(check.id.clone(), check);
                }
            }
        }
    }
    let known_checks: BTreeSet<String> = checks.keys().cloned().collect();
    let known_checks = &known_checks;

    let mut criteria: BTreeMap<String, Criterion> = BTreeMap::new();
    let mut families: BTreeMap<String, Family> = BTreeMap::new();
    let mut controls: BTreeMap<String, Control> = BTreeMap::new();
    let layers = std::iter::once(builtin).chain(user.map(|(_, files)| files));
    let mut raw_layers = Vec::new();
    for layer in layers {
        let mut layer_criteria = BTreeMap::new();
        for file in &layer.criteria {
            if let Some(raw) = parse::<RawCriteriaFile>(file, &mut diagnostics) {
                validate::criteria(file, raw, &mut layer_criteria, &mut diagnostics);
            }
        }
        criteria.extend(layer_criteria);
        let mut parsed = Vec::new();
        for file in &layer.controls {
            if let Some(raw) = parse::<RawControlFile>(file, &mut diagnostics) {
                parsed.push((file.clone(), raw));
            }
        }
        raw_layers.push(parsed);
    }
    // Controls are validated once every layer's criteria are known.
    for parsed in raw_layers {
        let mut seen = BTreeMap::new();
        for (file, raw) in parsed {
            if let Some((family, layer_controls)) = validate::controls(
                &file,
                raw,
                &criteria,
                known_checks,
                &mut seen,
                &mut diagnostics,
            ) {
                families.insert(family.id.clone(), family);
                controls.extend(layer_controls.into_iter().map(|c| (c.id.clone(), c)));
            }
        }
    }

    let mut config = ValidatedConfig::default();
    if let Some(file) = user.and_then(|(_, files)| files.config.as_ref())
        && let Some(raw) = parse::<RawConfig>(file, &mut diagnostics)
    {
        config = validate::config(file, raw, &controls, &mut diagnostics);
    }
    let excluded: BTreeSet<&str> = config.excluded.iter().map(|e| e.id.as_str()).collect();
    let mut controls: Vec<Control> = controls
        .into_values()
        .filter(|c| !excluded.contains(c.id.as_str()))
        .collect();
    controls.sort_by(|a, b| a.id.cmp(&b.id));
    let mut criteria: Vec<Criterion> = criteria.into_values().collect();
    criteria.sort_by_key(|c| Criterion::sort_key(&c.id));

    let workspace = Workspace {
        root: user.map(|(root, _)| root.to_path_buf()),
        organisation: config.organisation,
        scope: config.scope,
        sources: config.sources,
        criteria,
        families: families.into_values().collect(),
        controls,
        checks: checks.into_values().collect(),
        check_locations,
        excluded: config.excluded,
        monitoring: config.monitoring,
        sampling: config.sampling,
        findings: config.findings,
        notify: config.notify,
    };
    (workspace, diagnostics)
}
