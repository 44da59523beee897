//! `attest controls list|show`.

use attest_model::Control;

use crate::args::{ControlsCommand, GlobalArgs};
use crate::context::load_workspace;
use crate::exit::{ExitStatus, Failure};
use crate::printer::{Listing, print_listing};

pub(crate) fn run(global: &GlobalArgs, command: &ControlsCommand) -> anyhow::Result<ExitStatus> {
    let workspace = load_workspace(global)?;
    match command {
        ControlsCommand::List {
            criterion,
            category,
            format,
        } => {
            if let Some(id) = criterion
                && workspace.criterion(id).is_none()
            {
                return Err(Failure::input(format!(
                    "unknown criterion `{id}`; list them with `attest catalog criteria`"
                )));
            }
            let controls: Vec<&Control> = workspace
                .controls
                .iter()
                .filter(|c| criterion.as_ref().is_none_or(|id| c.criteria.contains(id)))
                .filter(|c| {
                    category.is_none_or(|cat| {
                        c.criteria
                            .iter()
                            .any(|id| workspace.criterion(id).is_some_and(|k| k.category == cat))
                    })
                })
                .collect();
            let mut listing = Listing::new(vec![
                "id",
                "title",
                "criteria",
                "owner",
                "frequency",
                "kind",
                "severity",
                "checks",
            ]);
            for c in &controls {
                listing.push(vec![
                    c.id.clone(),
                    c.title.clone(),
                    c.criteria.join(" "),
                    c.owner.clone(),
                    c.frequency.to_string(),
                    c.kind.to_string(),
                    c.severity.to_string(),
                    c.checks.len().to_string(),
                ]);
            }
            print_listing(*format, &listing, &controls)?;
        }
        ControlsCommand::Show { id, format } => {
            let Some(control) = workspace.control(id) else {
                let known = workspace
                    .controls
                    .iter()
                    .find(|c| c.id.eq_ignore_ascii_case(id))
                    .map(|c| c.id.as_str());
                let hint = known.map_or_else(
                    || "list them with `attest controls list`".to_owned(),
                    |k| format!("did you mean `{k}`?"),
                );
                return Err(Failure::input(format!("unknown control `{id}`; {hint}")));
            };
            let mut listing = Listing::new(vec!["field", "value"]);
            let criteria: Vec<String> = control
                .criteria
                .iter()
                .map(|id| {
                    workspace
                        .criterion(id)
                        .map_or_else(|| id.clone(), |c| format!("{id} {}", c.title))
                })
                .collect();
            let mut rows = vec![
                ("id", control.id.clone()),
                ("title", control.title.clone()),
                ("family", control.family.clone()),
                ("description", control.description.clone()),
                ("criteria", criteria.join("\n")),
                ("owner", control.owner.clone()),
                ("frequency", control.frequency.to_string()),
                ("kind", control.kind.to_string()),
                ("severity", control.severity.to_string()),
                (
                    "checks",
                    if control.checks.is_empty() {
                        "none".to_owned()
                    } else {
                        control.checks.join("\n")
                    },
                ),
            ];
            if let Some(evidence) = &control.evidence {
                rows.push(("evidence expected", evidence.expected.clone()));
                rows.push((
                    "evidence freshness",
                    format!("{} days", evidence.freshness_days),
                ));
            }
            for (field, value) in rows {
                listing.push(vec![field.to_owned(), value]);
            }
            print_listing(*format, &listing, control)?;
        }
    }
    Ok(ExitStatus::Success)
}
