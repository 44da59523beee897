//! Command-line arguments (clap derive).

#![allow(
    clippy::doc_markdown,
    reason = "doc comments here are the --help text people read, not rustdoc"
)]

use std::path::PathBuf;

use attest_model::Category;
use clap::{Args, Parser, Subcommand, ValueEnum};
use jiff::civil::Date;

/// SOC 2 compliance automation: controls as code, automated evidence, readiness and audit reports.
#[derive(Debug, Parser)]
#[command(
    name = "attest",
    version,
    about,
    propagate_version = true,
    max_term_width = 100
)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub(crate) global: GlobalArgs,
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// Options every subcommand takes.
#[derive(Debug, Args)]
pub(crate) struct GlobalArgs {
    /// Workspace folder (default: the nearest folder at or above the current one with an
    /// attest.toml; without one, the built-in library is used)
    #[arg(
        long,
        short = 'C',
        global = true,
        env = "ATTEST_WORKSPACE",
        value_name = "DIR"
    )]
    pub(crate) workspace: Option<PathBuf>,
    /// Store folder (default: <workspace>/.attest, or the user's data folder without a workspace)
    #[arg(long, global = true, env = "ATTEST_STORE", value_name = "DIR")]
    pub(crate) store: Option<PathBuf>,
    /// When to colour diagnostics
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub(crate) color: ColorChoice,
}

/// When to colour output.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum ColorChoice {
    /// When standard error is a terminal.
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Write a new workspace: attest.toml, controls/ and JSON Schemas
    Init(InitArgs),
    /// Check every workspace file and report problems with file:line:column
    Validate(ValidateArgs),
    /// The Trust Services Criteria catalog
    #[command(subcommand)]
    Catalog(CatalogCommand),
    /// The control library (built-ins merged with the workspace)
    #[command(subcommand)]
    Controls(ControlsCommand),
    /// Manual evidence: add files, list what is stored and how fresh it is
    #[command(subcommand)]
    Evidence(EvidenceCommand),
    /// Readiness at a glance: per category, and controls by status
    Status(StatusArgs),
    /// Collect facts from a source and print them (never verdicts)
    #[command(subcommand)]
    Collect(CollectCommand),
    /// Automated checks: list, show, and run their test cases
    #[command(subcommand)]
    Checks(ChecksCommand),
    /// Collect, evaluate every check, record the results and print them by control
    Scan(ScanArgs),
    /// Scan this host, then assess readiness and write the readiness report
    Assess(AssessArgs),
    /// Verify the store (ledger, evidence files, history replayed from the ledger) or an
    /// auditor package
    Verify(VerifyArgs),
    /// Reports: readiness, Type 1 (design on a date), Type 2 (operating effectiveness over a period)
    #[command(subcommand)]
    Report(ReportCommand),
    /// Run the configured sources on a schedule, as a service: record every run, open and
    /// resolve findings, detect drift, notify
    Monitor(MonitorArgs),
    /// Collect and evaluate this host's checks on a schedule and push the results to an
    /// Attest server, spooling them on disk until the server has them
    #[command(after_long_help = AGENT_EXIT_CODES)]
    Agent(AgentArgs),
    /// Findings: non-conformities and their corrective actions
    #[command(subcommand)]
    Findings(FindingsCommand),
    /// Export the auditor package: reports, control matrix, evidence, ledger, verifier
    #[command(subcommand)]
    Export(ExportCommand),
    /// Generate realistic history into a store, or load on a running server, for trying
    /// reports and measuring at scale
    #[command(subcommand)]
    Simulate(SimulateCommand),
    /// Show the fix of a host check as a new drop-in file (a diff), and with --apply write it
    Remediate(crate::commands::remediate::RemediateArgs),
    /// Notification channels: send a test notification to each
    #[command(subcommand)]
    Notify(crate::commands::notify::NotifyCommand),
    /// Run the server: web UI, JSON API and agent ingest, on SQLite or PostgreSQL
    Serve(crate::commands::serve::ServeArgs),
    /// Server users: add the first admin, list, change passwords, disable
    #[command(subcommand)]
    Users(crate::commands::serve::UsersCommand),
    /// Hosts whose agents push to the server: register (prints the agent token once),
    /// rotate, revoke, list
    #[command(subcommand)]
    Hosts(crate::commands::serve::HostsCommand),
    /// Print a shell completion script
    Completions(CompletionsArgs),
}

/// Output formats of listing commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ListFormat {
    /// Aligned table for a terminal.
    Table,
    /// JSON array of objects.
    Json,
    /// Comma-separated values with a header row.
    Csv,
    /// Markdown table.
    Md,
}

#[derive(Debug, Args)]
pub(crate) struct InitArgs {
    /// Folder to create the workspace in
    #[arg(default_value = ".")]
    pub(crate) dir: PathBuf,
    /// Organisation name for reports
    #[arg(long, default_value = "Example Ltd")]
    pub(crate) organisation: String,
    /// First day of the twelve-month audit period (YYYY-MM-DD; default: the first of next month)
    #[arg(long, value_name = "DATE")]
    pub(crate) period_start: Option<Date>,
}

/// Output formats of `validate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum DiagnosticFormat {
    /// file:line:column lines with source snippets.
    Human,
    /// JSON array of diagnostics.
    Json,
}

#[derive(Debug, Args)]
pub(crate) struct ValidateArgs {
    /// Output format
    #[arg(long, value_enum, default_value_t = DiagnosticFormat::Human)]
    pub(crate) format: DiagnosticFormat,
}

#[derive(Debug, Subcommand)]
pub(crate) enum CatalogCommand {
    /// List criteria
    Criteria {
        /// Only criteria of this category
        #[arg(long, value_parser = parse_category)]
        category: Option<Category>,
        /// Output format
        #[arg(long, value_enum, default_value_t = ListFormat::Table)]
        format: ListFormat,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum ControlsCommand {
    /// List controls
    List {
        /// Only controls mapped to this criterion, e.g. CC6.1
        #[arg(long)]
        criterion: Option<String>,
        /// Only controls mapped to criteria of this category
        #[arg(long, value_parser = parse_category)]
        category: Option<Category>,
        /// Output format
        #[arg(long, value_enum, default_value_t = ListFormat::Table)]
        format: ListFormat,
    },
    /// Show one control in full
    Show {
        /// Control id, e.g. AC-01
        id: String,
        /// Output format
        #[arg(long, value_enum, default_value_t = ListFormat::Table)]
        format: ListFormat,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum EvidenceCommand {
    /// Store a file as evidence for a control (content-addressed by SHA-256)
    Add(EvidenceAddArgs),
    /// List stored evidence with its effective date, expiry and freshness
    List {
        /// Only evidence of this control
        #[arg(long)]
        control: Option<String>,
        /// Day to judge freshness on (default: today)
        #[arg(long, value_name = "DATE")]
        as_of: Option<Date>,
        /// Output format
        #[arg(long, value_enum, default_value_t = ListFormat::Table)]
        format: ListFormat,
    },
}

#[derive(Debug, Args)]
pub(crate) struct EvidenceAddArgs {
    /// The file to store
    pub(crate) file: PathBuf,
    /// The control it evidences, e.g. AC-02
    #[arg(long)]
    pub(crate) control: String,
    /// A note for the auditor
    #[arg(long)]
    pub(crate) note: Option<String>,
    /// The day the evidence speaks for (YYYY-MM-DD; default: today)
    #[arg(long, value_name = "DATE")]
    pub(crate) date: Option<Date>,
    /// Who adds it (default: $ATTEST_USER, else $USER)
    #[arg(long, value_name = "NAME")]
    pub(crate) by: Option<String>,
}

/// Output formats of `status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum StatusFormat {
    /// Bars and counts for a terminal.
    Table,
    /// The readiness summary as JSON.
    Json,
}

#[derive(Debug, Args)]
pub(crate) struct StatusArgs {
    /// Day to assess on (default: today)
    #[arg(long, value_name = "DATE")]
    pub(crate) as_of: Option<Date>,
    /// Output format
    #[arg(long, value_enum, default_value_t = StatusFormat::Table)]
    pub(crate) format: StatusFormat,
}

/// Output formats of reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ReportFormatArg {
    /// One self-contained HTML file.
    Html,
    /// Markdown.
    Md,
    /// JSON (schemas: schemas/readiness-report.schema.json, type1-report, type2-report).
    Json,
    /// CSV: the control matrix, one row per control.
    Csv,
}

#[derive(Debug, Subcommand)]
pub(crate) enum ReportCommand {
    /// Readiness per criterion, gaps, and a remediation list ordered by impact
    Readiness(ReadinessArgs),
    /// Type 1: the design of each control and whether it was in place on a date
    Type1(Type1Args),
    /// Type 2: whether each control operated effectively over the period, with exceptions,
    /// gaps in monitoring, populations and seeded samples
    Type2(Type2Args),
}

/// An audit period on the command line: `START..END`, both days included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PeriodArg(pub(crate) attest_model::Period);

fn parse_period(text: &str) -> Result<PeriodArg, String> {
    let (start, end) = text.split_once("..").ok_or_else(|| {
        format!("`{text}` is not a period; write START..END, e.g. 2026-01-01..2026-12-31")
    })?;
    let day = |s: &str| {
        s.trim()
            .parse::<Date>()
            .map_err(|e| format!("`{s}` is not a date (YYYY-MM-DD): {e}"))
    };
    let (start, end) = (day(start)?, day(end)?);
    if end < start {
        return Err(format!(
            "the period ends ({end}) before it starts ({start})"
        ));
    }
    Ok(PeriodArg(attest_model::Period { start, end }))
}

#[derive(Debug, Args)]
pub(crate) struct Type1Args {
    /// Output format
    #[arg(long, value_enum, default_value_t = ReportFormatArg::Html)]
    pub(crate) format: ReportFormatArg,
    /// Write to this file instead of standard output
    #[arg(long, short = 'o', value_name = "FILE")]
    pub(crate) output: Option<PathBuf>,
    /// The date the design is assessed on (default: today)
    #[arg(long, value_name = "DATE")]
    pub(crate) as_of: Option<Date>,
}

#[derive(Debug, Args)]
pub(crate) struct Type2Args {
    /// Output format
    #[arg(long, value_enum, default_value_t = ReportFormatArg::Html)]
    pub(crate) format: ReportFormatArg,
    /// Write to this file instead of standard output
    #[arg(long, short = 'o', value_name = "FILE")]
    pub(crate) output: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) sampling: PeriodAndSeed,
}

/// The period a Type 2 report covers and the seed of its sample draws.
#[derive(Debug, Args)]
pub(crate) struct PeriodAndSeed {
    /// The audit period, START..END, both days included, UTC (default: scope.period of
    /// attest.toml)
    #[arg(long, value_parser = parse_period, value_name = "START..END")]
    pub(crate) period: Option<PeriodArg>,
    /// Seed of the sample draws (default: a random one, printed so the draws can be redone)
    #[arg(long)]
    pub(crate) seed: Option<u64>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum ExportCommand {
    /// A zip for the auditor: reports, control matrix, evidence files, the ledger segment of
    /// the period with its checkpoints, the public key, a signed manifest and a standalone
    /// verifier
    Package(PackageArgs),
}

#[derive(Debug, Args)]
pub(crate) struct PackageArgs {
    /// The zip file to write
    #[arg(long, short = 'o', value_name = "FILE.zip")]
    pub(crate) output: PathBuf,
    #[command(flatten)]
    pub(crate) sampling: PeriodAndSeed,
}

#[derive(Debug, Subcommand)]
pub(crate) enum SimulateCommand {
    /// Hourly runs of the built-in host checks on a fleet, with occasional failures and
    /// fixes and gaps in monitoring, written into the store with their ledger
    History(SimulateHistoryArgs),
    /// A fleet of agents pushing reports to a running server (open or closed loop), with
    /// throughput, latency and every acknowledged report; or, with --verify-acks, a check
    /// that every acknowledged report is recorded
    Load(Box<crate::commands::simulate::load::SimulateLoadArgs>),
}

#[derive(Debug, Args)]
pub(crate) struct SimulateHistoryArgs {
    /// Hosts in the fleet
    #[arg(long, default_value_t = 10)]
    pub(crate) hosts: u32,
    /// Results per host and run (the built-in host checks, on more resources when there are
    /// more results than checks)
    #[arg(long, default_value_t = 100)]
    pub(crate) checks: u32,
    /// Days of hourly runs
    #[arg(long, default_value_t = 30)]
    pub(crate) days: u32,
    /// Seed: the same seed generates the same history
    #[arg(long, default_value_t = 1)]
    pub(crate) seed: u64,
    /// First day (default: `days` days before today)
    #[arg(long, value_name = "DATE")]
    pub(crate) start: Option<Date>,
}

#[derive(Debug, Args)]
pub(crate) struct ReadinessArgs {
    /// Output format
    #[arg(long, value_enum, default_value_t = ReportFormatArg::Html)]
    pub(crate) format: ReportFormatArg,
    /// Write to this file instead of standard output
    #[arg(long, short = 'o', value_name = "FILE")]
    pub(crate) output: Option<PathBuf>,
    /// Day to assess on (default: today)
    #[arg(long, value_name = "DATE")]
    pub(crate) as_of: Option<Date>,
}

/// The root a host source reads.
#[derive(Debug, Args)]
pub(crate) struct RootArg {
    /// Root to read: / for this host, or a mounted disk image or container root file system
    #[arg(long = "root", default_value = "/", value_name = "DIR")]
    pub(crate) path: PathBuf,
}

#[derive(Debug, Subcommand)]
pub(crate) enum CollectCommand {
    /// Facts about a Linux host, as JSON (schema: schemas/facts/host.v1.json)
    Host {
        #[command(flatten)]
        root: RootArg,
        /// Output format (facts are a JSON document)
        #[arg(long, value_enum, default_value_t = FactsFormat::Json)]
        format: FactsFormat,
    },
}

/// Output formats of `collect`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum FactsFormat {
    /// The facts document as JSON.
    Json,
}

#[derive(Debug, Subcommand)]
pub(crate) enum ChecksCommand {
    /// List the checks (built-in and the workspace's)
    List {
        /// Only checks of this source, e.g. host
        #[arg(long)]
        source: Option<String>,
        /// Output format
        #[arg(long, value_enum, default_value_t = ListFormat::Table)]
        format: ListFormat,
    },
    /// Show one check: rationale, remediation, references, controls
    Show {
        /// Check id, e.g. host.ssh.root_login_disabled
        id: String,
        /// Output format
        #[arg(long, value_enum, default_value_t = ListFormat::Table)]
        format: ListFormat,
    },
    /// Run the checks' test cases (checks/**/tests.yaml); exit 1 if any fails
    Test,
}

/// Severity threshold for `--fail-on`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum FailOn {
    /// Never exit 1 for findings.
    None,
    /// Any failing result.
    Info,
    /// Failures of low severity or above.
    Low,
    /// Failures of medium severity or above.
    Medium,
    /// Failures of high severity or above.
    High,
    /// Only critical failures.
    Critical,
}

/// Output formats of `scan`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ScanFormat {
    /// Results grouped by control, for a terminal.
    Table,
    /// JSON (schema: schemas/scan.schema.json).
    Json,
    /// SARIF 2.1.0, for code scanning dashboards.
    Sarif,
    /// JUnit XML, for CI test reports.
    Junit,
}

#[derive(Debug, Args)]
pub(crate) struct ScanArgs {
    #[command(flatten)]
    pub(crate) root: RootArg,
    /// Output format
    #[arg(long, value_enum, default_value_t = ScanFormat::Table)]
    pub(crate) format: ScanFormat,
    /// Exit with 1 when a check of at least this severity fails
    #[arg(long, value_enum, default_value_t = FailOn::None)]
    pub(crate) fail_on: FailOn,
    /// Show passing and not-applicable results too (table format)
    #[arg(long)]
    pub(crate) all: bool,
}

#[derive(Debug, Args)]
pub(crate) struct AssessArgs {
    #[command(flatten)]
    pub(crate) root: RootArg,
    /// Where to write the HTML readiness report
    #[arg(
        long,
        short = 'o',
        default_value = "readiness.html",
        value_name = "FILE"
    )]
    pub(crate) output: PathBuf,
}

#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    /// An auditor package (zip) to verify instead of the store
    #[arg(value_name = "PACKAGE.zip")]
    pub(crate) package: Option<PathBuf>,
    /// The organisation's public key: 64 hex digits, or a file holding them (default: the
    /// store's keys/ledger.pub)
    #[arg(long, value_name = "KEY")]
    pub(crate) public_key: Option<String>,
    /// Verify the server's PostgreSQL store (`postgres://...`) instead of the local one
    #[arg(long, value_name = "URL", env = "ATTEST_DATABASE")]
    pub(crate) database: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct CompletionsArgs {
    /// The shell
    pub(crate) shell: clap_complete::Shell,
}

fn parse_category(text: &str) -> Result<Category, String> {
    text.parse::<Category>().map_err(|e| e.to_string())
}

/// Statuses a person may set with `findings update`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum WorkStatus {
    /// Not worked on yet.
    Open,
    /// Being worked on.
    InProgress,
}

#[derive(Debug, Subcommand)]
pub(crate) enum FindingsCommand {
    /// List findings (active ones unless --all); overdue ones stand out
    List {
        /// Closed ones too
        #[arg(long)]
        all: bool,
        /// Only findings of this control
        #[arg(long)]
        control: Option<String>,
        /// Output format
        #[arg(long, value_enum, default_value_t = ListFormat::Table)]
        format: ListFormat,
    },
    /// Show one finding with its trail
    Show {
        /// Finding id
        id: i64,
        /// Output format (table or json)
        #[arg(long, value_enum, default_value_t = ListFormat::Table)]
        format: ListFormat,
    },
    /// Open a finding by hand: an auditor's exception, an incident
    Open(FindingOpenArgs),
    /// Change a finding's status, owner, due date or severity, or add a note
    Update(FindingUpdateArgs),
    /// Close a finding, recording its root cause and corrective action
    Close(FindingCloseArgs),
    /// Accept the risk of a finding, with the reason
    AcceptRisk(FindingRiskArgs),
}

#[derive(Debug, Args)]
pub(crate) struct FindingOpenArgs {
    /// What is wrong, in a line
    #[arg(long)]
    pub(crate) title: String,
    /// Control(s) not operating, e.g. AC-02 (repeat for several)
    #[arg(long = "control", required = true)]
    pub(crate) controls: Vec<String>,
    /// Severity (default: the highest of the controls')
    #[arg(long, value_parser = parse_severity)]
    pub(crate) severity: Option<attest_model::Severity>,
    /// Who is accountable (default: the first control's owner)
    #[arg(long)]
    pub(crate) owner: Option<String>,
    /// Due date (default: from the severity's SLA)
    #[arg(long, value_name = "DATE")]
    pub(crate) due: Option<Date>,
    /// Free text: where it came from, what was seen
    #[arg(long)]
    pub(crate) note: Option<String>,
    /// Who opens it (default: $ATTEST_USER, else $USER)
    #[arg(long)]
    pub(crate) by: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct FindingUpdateArgs {
    /// Finding id
    pub(crate) id: i64,
    /// New status
    #[arg(long, value_enum)]
    pub(crate) status: Option<WorkStatus>,
    /// New owner
    #[arg(long)]
    pub(crate) owner: Option<String>,
    /// New due date
    #[arg(long, value_name = "DATE")]
    pub(crate) due: Option<Date>,
    /// New severity
    #[arg(long, value_parser = parse_severity)]
    pub(crate) severity: Option<attest_model::Severity>,
    /// A note for the trail
    #[arg(long)]
    pub(crate) note: Option<String>,
    /// Who changes it (default: $ATTEST_USER, else $USER)
    #[arg(long)]
    pub(crate) by: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct FindingCloseArgs {
    /// Finding id
    pub(crate) id: i64,
    /// Why it happened
    #[arg(long)]
    pub(crate) root_cause: String,
    /// What was done so that it does not happen again
    #[arg(long)]
    pub(crate) corrective_action: String,
    /// A file that shows the corrective action (stored by its SHA-256)
    #[arg(long, value_name = "FILE")]
    pub(crate) evidence: Option<PathBuf>,
    /// A note for the trail
    #[arg(long)]
    pub(crate) note: Option<String>,
    /// Who closes it (default: $ATTEST_USER, else $USER)
    #[arg(long)]
    pub(crate) by: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct FindingRiskArgs {
    /// Finding id
    pub(crate) id: i64,
    /// Why the risk is accepted
    #[arg(long)]
    pub(crate) reason: String,
    /// Last day the acceptance holds
    #[arg(long, value_name = "DATE")]
    pub(crate) until: Option<Date>,
    /// Who accepts it (default: $ATTEST_USER, else $USER)
    #[arg(long)]
    pub(crate) by: Option<String>,
}

fn parse_severity(text: &str) -> Result<attest_model::Severity, String> {
    text.parse()
        .map_err(|e: attest_model::UnknownVariant| e.to_string())
}

#[derive(Debug, Args)]
pub(crate) struct MonitorArgs {
    /// Run every DURATION, e.g. 1h or 15m (default: [monitoring] schedule or interval in
    /// attest.toml)
    #[arg(long, value_parser = parse_interval, value_name = "DURATION")]
    pub(crate) interval: Option<jiff::SignedDuration>,
    /// Run once and exit (for cron)
    #[arg(long)]
    pub(crate) once: bool,
    /// Root to scan instead of the host sources of attest.toml
    #[arg(long, value_name = "DIR")]
    pub(crate) root: Option<PathBuf>,
}

/// Exit codes of `attest agent --once`, for `--help`.
const AGENT_EXIT_CODES: &str = "Exit codes with --once: 0 every report was delivered; 1 reports remain \
spooled (the server was unreachable, busy or refused the token) or the server rejected one; \
2 usage or configuration error.";

#[derive(Debug, Args)]
pub(crate) struct AgentArgs {
    /// The Attest server, e.g. https://attest.example.com
    #[arg(long, env = "ATTEST_SERVER", value_name = "URL")]
    pub(crate) server: String,
    /// File holding this host's agent token (from `attest hosts add`); it must not be
    /// readable by group or others (chmod 600)
    #[arg(long, value_name = "FILE")]
    pub(crate) token_file: PathBuf,
    /// Collect and push every DURATION, e.g. 1h or 15m (default: [monitoring] interval in
    /// attest.toml, else 1h)
    #[arg(long, value_parser = parse_interval, value_name = "DURATION")]
    pub(crate) interval: Option<jiff::SignedDuration>,
    /// Folder of reports waiting for the server (default: /var/lib/attest/spool as root, else
    /// spool/ in the user's data folder)
    #[arg(long, value_name = "DIR")]
    pub(crate) spool: Option<PathBuf>,
    /// Most reports the spool holds; when it is full and the server cannot take any, the new
    /// run's report is not kept (an error is logged) and the waiting ones are never dropped
    #[arg(long, default_value_t = 10_000, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) spool_max: u32,
    /// Collect, push what is spooled and exit (for cron or a systemd timer)
    #[arg(long)]
    pub(crate) once: bool,
    #[command(flatten)]
    pub(crate) root: RootArg,
    /// Host name to report as (default: the host name of the root); the server accepts a
    /// report only for the host its token was issued to
    #[arg(long, value_name = "NAME")]
    pub(crate) host: Option<String>,
    /// PEM file of the certificate authorities to trust for the server, instead of the
    /// built-in web roots (for a server with a private CA)
    #[arg(long, value_name = "FILE")]
    pub(crate) ca_file: Option<PathBuf>,
    /// Longest one push may take, connecting included
    #[arg(long, value_parser = parse_interval, default_value = "30s", value_name = "DURATION")]
    pub(crate) timeout: jiff::SignedDuration,
    /// Allow a plain http:// server other than this machine (the token then crosses the
    /// network unencrypted)
    #[arg(long)]
    pub(crate) allow_insecure_http: bool,
}

fn parse_interval(text: &str) -> Result<jiff::SignedDuration, String> {
    let duration = text
        .trim()
        .parse::<jiff::Span>()
        .ok()
        .and_then(|span| {
            span.to_duration(jiff::SpanRelativeTo::days_are_24_hours())
                .ok()
        })
        .ok_or_else(|| format!("`{text}` is not a duration; write e.g. 1h, 15m or 30s"))?;
    if duration < jiff::SignedDuration::from_secs(1) {
        return Err(format!(
            "`{text}` is too short: the interval is at least 1s"
        ));
    }
    Ok(duration)
}
