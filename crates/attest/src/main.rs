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
    // The agent is a service whose log is its output: it logs from `info` up unless
    // ATTEST_LOG says otherwise; other commands log only what ATTEST_LOG asks for.
    let filter = if matches!(cli.command, args::Command::Agent(_)) {
        tracing_subscriber::EnvFilter::builder()
            .with_default_directive(tracing_subscriber::filter::LevelFilter::INFO.into())
            .with_env_var("ATTEST_LOG")
            .from_env_lossy()
    } else {
        tracing_subscriber::EnvFilter::from_env("ATTEST_LOG")
    };
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(printer::use_color(cli.global.color))
        .init();
    match commands::run(cli) {
        Ok(status) => status.into(),
        Err(err) => {
            printer::print_error(&err);
            ExitStatus::Error.into()
        }
    }
}
