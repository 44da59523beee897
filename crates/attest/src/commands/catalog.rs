//! `attest catalog criteria`.

use crate::args::{CatalogCommand, GlobalArgs};
use crate::context::load_workspace;
use crate::exit::ExitStatus;
use crate::printer::{Listing, print_listing};

pub(crate) fn run(global: &GlobalArgs, command: &CatalogCommand) -> anyhow::Result<ExitStatus> {
    let CatalogCommand::Criteria { category, format } = command;
    let workspace = load_workspace(global)?;
    let criteria: Vec<_> = workspace
        .criteria
        .iter()
        .filter(|c| category.is_none_or(|cat| c.category == cat))
        .collect();
    let mut listing = Listing::new(vec!["id", "category", "title", "controls"]);
    for criterion in &criteria {
        let controls = workspace
            .controls
            .iter()
            .filter(|c| c.criteria.contains(&criterion.id))
            .count();
        listing.push(vec![
            criterion.id.clone(),
            criterion.category.to_string(),
            criterion.title.clone(),
            controls.to_string(),
        ]);
    }
    print_listing(*format, &listing, &criteria)?;
    Ok(ExitStatus::Success)
}
