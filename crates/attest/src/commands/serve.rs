//! `attest serve`, `attest users` and `attest hosts`: the server, and its accounts from the
//! command line (to bootstrap the first admin and register agents without a browser).

use std::io::Read as _;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use attest_model::Role;
use attest_server::{AppState, Backend, ServerOptions};
use attest_store::accounts::{Actor, NewUser};
use clap::{Args, Subcommand};
use jiff::Timestamp;

use crate::args::{GlobalArgs, ListFormat};
use crate::context::{load_workspace, signing_key, store_dir, user};
use crate::exit::{ExitStatus, Failure};
use crate::printer::{self, Listing};

/// Where the server keeps its data.
#[derive(Debug, Clone, Args)]
pub(crate) struct DatabaseArgs {
    /// The store: `postgres://USER@HOST:PORT/DB` for PostgreSQL, else a store folder for
    /// SQLite (default: the workspace's `.attest/`, or `--store`)
    #[arg(long, value_name = "URL", env = "ATTEST_DATABASE")]
    pub(crate) database: Option<String>,
    /// The ledger signing key (default: `keys/ledger.key` in the store folder, created on
    /// first use); every app server on one database must use the same key
    #[arg(long, value_name = "FILE", env = "ATTEST_LEDGER_KEY")]
    pub(crate) key_file: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// Address to listen on
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    pub(crate) listen: String,
    #[command(flatten)]
    pub(crate) database: DatabaseArgs,
    /// Send the session cookie over plain HTTP too (only behind a proxy that terminates TLS
    /// on the same machine, or for a trial on a private network); by default the cookie is
    /// `Secure`, which browsers accept over HTTPS and on localhost
    #[arg(long)]
    pub(crate) insecure_cookies: bool,
    /// Worker threads (default: one per core)
    #[arg(long, value_name = "N")]
    pub(crate) workers: Option<usize>,
    /// Apply the findings lifecycle to the latest results every this many seconds (0: never;
    /// when several servers share a database, let one of them do it)
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    pub(crate) findings_every: u64,
}

/// Opens the store named by `args` with the ledger signing key (read once; the store signs
/// with a copy, the server keeps one for exporting packages).
pub(crate) fn open_backend(
    global: &GlobalArgs,
    workspace: &attest_workspace::Workspace,
    args: &DatabaseArgs,
) -> anyhow::Result<(Arc<dyn Backend>, attest_ledger::SigningKey, String)> {
    let postgres = args
        .database
        .as_deref()
        .filter(|url| url.starts_with("postgres://") || url.starts_with("postgresql://"));
    let dir = match args.database.as_deref() {
        Some(dir) if postgres.is_none() => {
            PathBuf::from(dir.strip_prefix("sqlite:").unwrap_or(dir))
        }
        _ => store_dir(global, workspace)?,
    };
    let key = match &args.key_file {
        Some(path) => crate::context::signing_key_file(path)?,
        None => signing_key(&dir)?,
    };
    let store_key = attest_ledger::SigningKey::from_seed(key.to_seed());
    if let Some(url) = postgres {
        let store = attest_store_postgres::PostgresStore::connect(url)
            .map_err(|e| Failure::input(format!("cannot open the PostgreSQL store: {e}")))?
            .with_signing_key(store_key);
        // Show where, without a password that may be in the URL.
        let shown = url.split_once('@').map_or(url, |(_, host)| host);
        return Ok((Arc::new(store), key, format!("PostgreSQL at {shown}")));
    }
    let store = attest_store_sqlite::SqliteStore::open(&dir)
        .with_context(|| format!("cannot open the store in {}", dir.display()))?
        .with_signing_key(store_key);
    Ok((Arc::new(store), key, format!("SQLite in {}", dir.display())))
}

pub(crate) fn serve(global: &GlobalArgs, args: &ServeArgs) -> anyhow::Result<ExitStatus> {
    let workspace = load_workspace(global)?;
    let (backend, key, described) = open_backend(global, &workspace, &args.database)?;
    let options = ServerOptions {
        secure_cookies: !args.insecure_cookies,
        ..ServerOptions::default()
    };
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    runtime.enable_all();
    if let Some(workers) = args.workers {
        runtime.worker_threads(workers.max(1));
    }
    let runtime = runtime.build().context("cannot start the server runtime")?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(&args.listen)
            .await
            .map_err(|e| Failure::input(format!("cannot listen on {}: {e}", args.listen)))?;
        let address = listener.local_addr()?;
        let state = AppState::new(backend, workspace, options, Some(key))?;
        if args.findings_every > 0 {
            tokio::spawn(attest_server::findings::run(
                state.clone(),
                std::time::Duration::from_secs(args.findings_every),
            ));
        }
        printer::note(&format!(
            "Attest is serving http://{address}/ from {described}. Stop it with Ctrl-C."
        ));
        tracing::info!(%address, store = %described, "serving");
        attest_server::serve(listener, state, shutdown_signal()).await?;
        tracing::info!("stopped");
        anyhow::Ok(())
    })?;
    Ok(ExitStatus::Success)
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    let Ok(mut terminate) =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
    else {
        let _ = interrupt.await;
        return;
    };
    tokio::select! {
        _ = interrupt => {}
        _ = terminate.recv() => {}
    }
}

#[derive(Debug, Subcommand)]
pub(crate) enum UsersCommand {
    /// Add a user (the first admin, say); the password comes from --password-file or the
    /// first line of standard input
    Add(UserAddArgs),
    /// List users
    List(UsersListArgs),
    /// Set a user's password (from --password-file or standard input)
    Password(UserPasswordArgs),
    /// Stop a user from logging in, ending their sessions
    Disable(UserNameArgs),
    /// Let a disabled user log in again
    Enable(UserNameArgs),
}

#[derive(Debug, Args)]
pub(crate) struct UserAddArgs {
    /// User name
    pub(crate) name: String,
    /// Role: admin, editor or auditor
    #[arg(long, value_parser = parse_person_role)]
    pub(crate) role: Role,
    /// File holding the password (at least 12 characters); else read from standard input
    #[arg(long, value_name = "FILE")]
    pub(crate) password_file: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) database: DatabaseArgs,
}

#[derive(Debug, Args)]
pub(crate) struct UserPasswordArgs {
    /// User name
    pub(crate) name: String,
    /// File holding the password; else read from standard input
    #[arg(long, value_name = "FILE")]
    pub(crate) password_file: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) database: DatabaseArgs,
}

#[derive(Debug, Args)]
pub(crate) struct UserNameArgs {
    /// User name
    pub(crate) name: String,
    #[command(flatten)]
    pub(crate) database: DatabaseArgs,
}

#[derive(Debug, Args)]
pub(crate) struct UsersListArgs {
    /// Output format
    #[arg(long, value_enum, default_value_t = ListFormat::Table)]
    pub(crate) format: ListFormat,
    #[command(flatten)]
    pub(crate) database: DatabaseArgs,
}

fn parse_person_role(text: &str) -> Result<Role, String> {
    match text.parse::<Role>() {
        Ok(Role::Agent) => Err(
            "a user cannot have the agent role; register the host with `attest hosts add`".into(),
        ),
        Ok(role) => Ok(role),
        Err(_) => Err(format!(
            "`{text}` is not a role; expected admin, editor or auditor"
        )),
    }
}

fn read_password(file: Option<&PathBuf>) -> anyhow::Result<String> {
    let text = if let Some(path) = file {
        fs_err::read_to_string(path)
            .map_err(|e| Failure::input(format!("cannot read the password file: {e}")))?
    } else {
        let mut text = String::new();
        std::io::stdin()
            .take(4096)
            .read_to_string(&mut text)
            .context("cannot read the password from standard input")?;
        text
    };
    let password = text.lines().next().unwrap_or("").to_owned();
    if let Some(problem) = attest_server::auth::password_problem(&password) {
        return Err(Failure::input(problem));
    }
    Ok(password)
}

fn actor_name() -> String {
    user(None)
}

pub(crate) fn users(global: &GlobalArgs, command: &UsersCommand) -> anyhow::Result<ExitStatus> {
    let database = match command {
        UsersCommand::Add(a) => &a.database,
        UsersCommand::List(a) => &a.database,
        UsersCommand::Password(a) => &a.database,
        UsersCommand::Disable(a) | UsersCommand::Enable(a) => &a.database,
    };
    let workspace = load_workspace(global)?;
    let (backend, _, _) = open_backend(global, &workspace, database)?;
    let by = actor_name();
    let actor = Actor {
        by: &by,
        at: Timestamp::now(),
    };
    match command {
        UsersCommand::Add(args) => {
            if let Some(problem) = attest_server::auth::name_problem(&args.name) {
                return Err(Failure::input(problem));
            }
            let password = read_password(args.password_file.as_ref())?;
            let hash = attest_server::auth::hash_password(&password)?;
            backend
                .add_user(
                    &NewUser {
                        name: &args.name,
                        role: args.role,
                        password_hash: &hash,
                    },
                    actor,
                )
                .map_err(store_failure)?;
            printer::note(&format!("Added {} `{}`.", args.role, args.name));
        }
        UsersCommand::Password(args) => {
            let password = read_password(args.password_file.as_ref())?;
            let hash = attest_server::auth::hash_password(&password)?;
            backend
                .set_password(&args.name, &hash, actor)
                .map_err(store_failure)?;
            printer::note(&format!("Changed the password of `{}`.", args.name));
        }
        UsersCommand::Disable(args) | UsersCommand::Enable(args) => {
            let disable = matches!(command, UsersCommand::Disable(_));
            backend
                .set_disabled(&args.name, disable, actor)
                .map_err(store_failure)?;
            printer::note(&format!(
                "{} `{}`.",
                if disable { "Disabled" } else { "Enabled" },
                args.name
            ));
        }
        UsersCommand::List(args) => {
            let users = backend.users()?;
            let mut listing = Listing::new(vec!["name", "role", "disabled", "created_at"]);
            let mut json = Vec::new();
            for u in &users {
                listing.push(vec![
                    u.name.clone(),
                    u.role.to_string(),
                    u.disabled.to_string(),
                    u.created_at.to_string(),
                ]);
                json.push(serde_json::json!({
                    "name": u.name, "role": u.role, "disabled": u.disabled,
                    "created_at": u.created_at.to_string(),
                }));
            }
            printer::print_listing(args.format, &listing, &json)?;
        }
    }
    Ok(ExitStatus::Success)
}

/// A store error as the command line reports it: name clashes and unknown names are input
/// errors (exit 2).
fn store_failure(err: attest_store::StoreError) -> anyhow::Error {
    match err {
        attest_store::StoreError::Exists { .. }
        | attest_store::StoreError::Unknown { .. }
        | attest_store::StoreError::Invalid(_) => Failure::input(err.to_string()),
        other => anyhow::Error::new(other),
    }
}

#[derive(Debug, Subcommand)]
pub(crate) enum HostsCommand {
    /// Register a host and print its agent token, once (the server keeps only its hash)
    Add(HostNameArgs),
    /// Give a host a new agent token (the old one stops working) and print it once
    Rotate(HostNameArgs),
    /// Revoke a host's agent token
    Revoke(HostNameArgs),
    /// List registered hosts
    List(HostsListArgs),
}

#[derive(Debug, Args)]
pub(crate) struct HostNameArgs {
    /// Host name, as its agent reports it (`hostname`)
    pub(crate) name: String,
    #[command(flatten)]
    pub(crate) database: DatabaseArgs,
}

#[derive(Debug, Args)]
pub(crate) struct HostsListArgs {
    /// Output format
    #[arg(long, value_enum, default_value_t = ListFormat::Table)]
    pub(crate) format: ListFormat,
    #[command(flatten)]
    pub(crate) database: DatabaseArgs,
}

pub(crate) fn hosts(global: &GlobalArgs, command: &HostsCommand) -> anyhow::Result<ExitStatus> {
    let database = match command {
        HostsCommand::Add(a) | HostsCommand::Rotate(a) | HostsCommand::Revoke(a) => &a.database,
        HostsCommand::List(a) => &a.database,
    };
    let workspace = load_workspace(global)?;
    let (backend, _, _) = open_backend(global, &workspace, database)?;
    let by = actor_name();
    let actor = Actor {
        by: &by,
        at: Timestamp::now(),
    };
    match command {
        HostsCommand::Add(args) | HostsCommand::Rotate(args) => {
            if let Some(problem) = attest_server::auth::name_problem(&args.name) {
                return Err(Failure::input(problem));
            }
            let token = attest_server::auth::new_agent_token()
                .map_err(|e| anyhow::anyhow!("cannot read random bytes: {e}"))?;
            let hash = attest_server::auth::secret_sha256(&token);
            if matches!(command, HostsCommand::Add(_)) {
                backend
                    .add_host(&args.name, &hash, actor)
                    .map_err(store_failure)?;
            } else {
                backend
                    .rotate_host_token(&args.name, &hash, actor)
                    .map_err(store_failure)?;
            }
            printer::print_text(&format!("{token}\n"))?;
            printer::note(&format!(
                "This is the agent token of `{}`; it is shown only now. Save it on the host \
                 (mode 600) and run `attest agent --server URL --token-file FILE`.",
                args.name
            ));
        }
        HostsCommand::Revoke(args) => {
            backend
                .revoke_host(&args.name, actor)
                .map_err(store_failure)?;
            printer::note(&format!("Revoked the agent token of `{}`.", args.name));
        }
        HostsCommand::List(args) => {
            let hosts = backend.hosts()?;
            let mut listing = Listing::new(vec!["name", "created_at", "revoked_at"]);
            let mut json = Vec::new();
            for h in &hosts {
                let revoked = h.revoked_at.map(|t| t.to_string()).unwrap_or_default();
                listing.push(vec![
                    h.name.clone(),
                    h.created_at.to_string(),
                    revoked.clone(),
                ]);
                json.push(serde_json::json!({
                    "name": h.name, "created_at": h.created_at.to_string(),
                    "revoked_at": h.revoked_at.map(|t| t.to_string()),
                }));
            }
            printer::print_listing(args.format, &listing, &json)?;
        }
    }
    Ok(ExitStatus::Success)
}
