//! Developer tasks: `cargo xtask codegen` writes the generated files (JSON Schemas) that are
//! committed; `cargo xtask codegen --check` (and `cargo test`) fails if they are out of date.

#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a developer tool talks on the terminal"
)]

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};

/// Every generated file: (path relative to the repository root, content).
fn generated() -> Vec<(PathBuf, String)> {
    let mut schemas: Vec<(&str, serde_json::Value)> = attest_workspace::schemas();
    schemas.push((
        "readiness-report.schema.json",
        attest_report::readiness_schema(),
    ));
    schemas.push((
        "criterion.schema.json",
        schemars::schema_for!(attest_model::Criterion).to_value(),
    ));
    schemas.push((
        "control.schema.json",
        schemars::schema_for!(attest_model::Control).to_value(),
    ));
    schemas.push((
        "evidence.schema.json",
        schemars::schema_for!(attest_model::EvidenceRecord).to_value(),
    ));
    schemas.push(("scan.schema.json", attest_report::results::scan_schema()));
    schemas.push((
        "type1-report.schema.json",
        schemars::schema_for!(attest_report::type1::Type1Report).to_value(),
    ));
    schemas.push((
        "type2-report.schema.json",
        schemars::schema_for!(attest_report::type2::Type2Report).to_value(),
    ));
    schemas.push((
        "check.schema.json",
        schemars::schema_for!(attest_model::CheckMeta).to_value(),
    ));
    schemas.push((
        "remediation.schema.json",
        schemars::schema_for!(attest_remediate::Remediation).to_value(),
    ));
    schemas.push((
        "notification.schema.json",
        schemars::schema_for!(attest_notify::payload::WebhookPayload).to_value(),
    ));
    schemas.push((
        "notification-delivery.schema.json",
        attest_notify::ledger_payload_schema(),
    ));
    schemas.push((
        "facts/host.v1.json",
        schemars::schema_for!(attest_collect::host::HostFacts).to_value(),
    ));
    schemas.push((
        "agent-report.schema.json",
        schemars::schema_for!(attest_model::AgentReport).to_value(),
    ));
    schemas.push(("openapi.json", attest_server::openapi::document()));
    let mut files: Vec<(PathBuf, String)> = schemas
        .into_iter()
        .map(|(name, schema)| {
            let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
            text.push('\n');
            (Path::new("schemas").join(name), text)
        })
        .collect();
    files.push((PathBuf::from("docs/server-roles.md"), role_matrix()));
    files
}

/// The role matrix of the server as a Markdown table.
fn role_matrix() -> String {
    use attest_model::Role;
    use attest_server::routes::{Face, ROUTES};
    use std::fmt::Write as _;
    let mut text = String::from(
        "# Server routes and roles\n\n\
         Generated from `crates/attest-server/src/routes.rs` by `cargo xtask codegen`; the server \
         refuses any request this table does not allow (401 or a redirect to the login page \
         when nobody is logged in, 403 otherwise), and a test walks every row with every role.\n\n\
         | method | path | face | admin | editor | auditor | agent | anyone | what |\n\
         |---|---|---|---|---|---|---|---|---|\n",
    );
    for route in ROUTES {
        let mark = |role: Role| if route.allows(role) { "yes" } else { "" };
        let face = match route.face {
            Face::Api => "API",
            Face::Page => "page",
        };
        let _ = writeln!(
            text,
            "| {} | `{}` | {face} | {} | {} | {} | {} | {} | {} |",
            route.method,
            route.path,
            mark(Role::Admin),
            mark(Role::Editor),
            mark(Role::Auditor),
            mark(Role::Agent),
            if route.is_public() { "yes" } else { "" },
            route.summary
        );
    }
    text
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// Files whose committed content differs from what codegen makes.
fn stale_files(root: &Path) -> Vec<PathBuf> {
    generated()
        .into_iter()
        .filter(|(rel, text)| {
            fs_err::read_to_string(root.join(rel)).ok().as_deref() != Some(text.as_str())
        })
        .map(|(rel, _)| rel)
        .collect()
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = repo_root();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["codegen"] => {
            for (rel, text) in generated() {
                let path = root.join(&rel);
                if let Some(parent) = path.parent() {
                    fs_err::create_dir_all(parent)?;
                }
                fs_err::write(&path, text).with_context(|| format!("writing {}", rel.display()))?;
                println!("wrote {}", rel.display());
            }
            Ok(())
        }
        ["codegen", "--check"] => {
            let stale = stale_files(&root);
            if stale.is_empty() {
                println!("generated files are up to date");
                return Ok(());
            }
            bail!("out of date (run `cargo xtask codegen`): {stale:?}")
        }
        _ => bail!("usage: cargo xtask codegen [--check]"),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn generated_files_are_up_to_date() {
        let stale = super::stale_files(&super::repo_root());
        assert!(
            stale.is_empty(),
            "out of date, run `cargo xtask codegen`: {stale:?}"
        );
    }
}
