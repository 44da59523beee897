//! One module per subcommand; each returns an exit status.

mod agent;
mod assess;
mod catalog;
mod checks;
mod collect;
mod controls;
mod evidence;
mod findings;
mod init;
mod monitor;
pub(crate) mod notify;
mod notify_hook;
mod package;
pub(crate) mod remediate;
mod report;
mod scan;
pub(crate) mod serve;
mod simulate;
mod status;
mod validate;
mod verify;

use clap::CommandFactory as _;

use crate::args::{Cli, Command, CompletionsArgs};
use crate::exit::ExitStatus;

/// Runs the parsed command line.
pub(crate) fn run(cli: Cli) -> anyhow::Result<ExitStatus> {
    let global = &cli.global;
    match cli.command {
        Command::Init(args) => init::run(&args),
        Command::Validate(args) => validate::run(global, &args),
        Command::Catalog(command) => catalog::run(global, &command),
        Command::Controls(command) => controls::run(global, &command),
        Command::Evidence(command) => evidence::run(global, &command),
        Command::Status(args) => status::run(global, &args),
        Command::Collect(command) => collect::run(&command),
        Command::Checks(command) => checks::run(global, &command),
        Command::Scan(args) => scan::run(global, &args),
        Command::Assess(args) => assess::run(global, &args),
        Command::Verify(args) => verify::run(global, &args),
        Command::Report(command) => report::run(global, &command),
        Command::Monitor(args) => monitor::run(global, &args),
        Command::Agent(args) => agent::run(global, &args),
        Command::Findings(command) => findings::run(global, &command),
        Command::Export(command) => package::export(global, &command),
        Command::Simulate(command) => simulate::run(global, &command),
        Command::Remediate(args) => remediate::run(global, &args),
        Command::Notify(command) => notify::run(global, &command),
        Command::Serve(args) => serve::serve(global, &args),
        Command::Users(command) => serve::users(global, &command),
        Command::Hosts(command) => serve::hosts(global, &command),
        Command::Completions(args) => completions(&args),
    }
}

fn completions(args: &CompletionsArgs) -> anyhow::Result<ExitStatus> {
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut Cli::command(), "attest", &mut script);
    crate::printer::print_text(&String::from_utf8_lossy(&script))?;
    Ok(ExitStatus::Success)
}
