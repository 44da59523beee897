//! `attest init [DIR]`.

use anyhow::Context as _;
use attest_workspace::{InitError, InitOptions};
use jiff::ToSpan as _;

use crate::args::InitArgs;
use crate::context::today;
use crate::exit::{ExitStatus, Failure};
use crate::printer;

pub(crate) fn run(args: &InitArgs) -> anyhow::Result<ExitStatus> {
    let period_start = if let Some(date) = args.period_start {
        date
    } else {
        today()
            .first_of_month()
            .checked_add(1.month())
            .context("date out of range")?
    };
    let controls = attest_catalog::builtin_layer().controls;
    let options = InitOptions {
        organisation: args.organisation.clone(),
        period_start,
        controls: &controls,
    };
    match attest_workspace::init(&args.dir, &options) {
        Ok(written) => {
            // The organisation's ledger key: checkpoints are signed with it from the first write.
            let key = crate::context::signing_key(&args.dir.join(".attest"))?;
            printer::note(&format!(
                "Created the ledger signing key in {} (public key {}).",
                crate::context::key_path(&args.dir.join(".attest")).display(),
                key.public().to_hex()
            ));
            printer::note(&format!(
                "Created an Attest workspace in {} ({} files): attest.toml, controls/ ({} families), schemas/.",
                args.dir.display(),
                written.len(),
                controls.len()
            ));
            printer::note(
                "Next: edit attest.toml (organisation, scope, period), then run `attest validate` and `attest status`.",
            );
            Ok(ExitStatus::Success)
        }
        Err(InitError::Exists(path)) => Err(Failure::input(format!(
            "{} already exists; nothing was written (init never overwrites a workspace)",
            path.display()
        ))),
        Err(err) => Err(err)
            .with_context(|| format!("cannot write the workspace in {}", args.dir.display())),
    }
}
