//! The `attest` binary: parses arguments and runs a subcommand.
//!
//! Commands are library calls; this crate is glue. Only `printer` prints.

mod args;
mod commands;
mod context;
mod exit;
mod printer;

use std::process::ExitCode;

use clap::Parser as _;

use crate::exit::ExitStatus;

fn main() -> ExitCode {
    let cli = args::Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_env("ATTEST_LOG"))
        .with_writer(std::io::stderr)
        .init();
    match commands::run(cli) {
        Ok(status) => status.into(),
        Err(err) => {
            printer::print_error(&err);
            ExitStatus::Error.into()
        }
    }
}
