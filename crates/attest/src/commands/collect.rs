//! `attest collect host`.

use std::path::Path;

use attest_collect::RootFs;
use jiff::Timestamp;

use crate::args::CollectCommand;
use crate::exit::{ExitStatus, Failure};
use crate::printer;

/// Checks that `root` is a folder and says whether it is the live system.
pub(crate) fn host_root(root: &Path) -> anyhow::Result<RootFs> {
    if !root.is_dir() {
        return Err(Failure::input(format!(
            "--root {}: not a folder",
            root.display()
        )));
    }
    let live = std::fs::canonicalize(root).is_ok_and(|p| p == Path::new("/"));
    Ok(RootFs::new(if live { Path::new("/") } else { root }, live))
}

pub(crate) fn run(command: &CollectCommand) -> anyhow::Result<ExitStatus> {
    let CollectCommand::Host { root, format: _ } = command;
    let fs = host_root(&root.path)?;
    let facts = attest_collect::host::collect(&fs, Timestamp::now());
    printer::print_json(&facts)?;
    Ok(ExitStatus::Success)
}
