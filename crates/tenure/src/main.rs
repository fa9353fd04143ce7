//! `tenure`: thin glue from the command line to the store, the engine and the server.
//!
//! Parse flags, run one command, turn any error into one line on stderr and an exit code
//! (0 success, 1 error, 2 usage error: clap's own, and a [`Usage`] or a report parameter the
//! report refuses).

mod backup;
mod conversions;
mod demo;
mod import;
mod keys;
mod log;
mod playbooks;
mod progress;
mod report;
mod serve;
mod server_file;
mod sim;
mod status;
mod stdout;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{bail, Context as _};
use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};
use tenure_config::Config;
use tenure_core::WorkspaceId;
use tenure_store::{Scope, SqliteStore, Store};

use crate::stdout::out;

/// mimalloc (v3, its defaults) rather than glibc's malloc: a replay allocates and frees millions
/// of small values, and on glibc `status` spent ~45% more CPU (`BENCHMARKS.md`, "The binary's
/// allocator"). `tests/allocator.rs` checks that it is in use. The `system-allocator` feature
/// leaves it out, for heap profilers that see only the system's malloc (`bench/heap.sh`).
#[cfg(not(feature = "system-allocator"))]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Parser)]
#[command(
    name = "tenure",
    version,
    about = "Follow every B2B SaaS customer from the first ad click to renewal and expansion",
    after_help = "Examples:\n  tenure demo                                  simulate a company, load it and serve it\n  tenure import exports/*.csv events.ndjson.gz load your own files into ./tenure-data\n  tenure report mrr --by channel               a report over what the store holds\n  tenure serve                                 the ingest and report API\n\n`tenure COMMAND --help` describes each command, with examples. Exit status: 0 on success, 1 on\nan error, 2 on a usage error (an unknown flag or value, a flag the command does not read)."
)]
struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Args)]
#[command(next_help_heading = "Global options")]
struct Global {
    /// Directory of the embedded store [default: ./tenure-data; `demo`: a new temporary directory].
    #[arg(long, global = true, env = "TENURE_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// PostgreSQL URL, instead of the embedded store.
    #[arg(long, global = true, env = "TENURE_DATABASE_URL")]
    database: Option<String>,
    /// Configuration file (TOML); defaults apply without one.
    #[arg(long, global = true, env = "TENURE_CONFIG")]
    config: Option<PathBuf>,
    /// Workspace to act on.
    #[arg(long, global = true, default_value = "default")]
    workspace: String,
    /// Log what the command does on stderr (e.g. whether it answered from a snapshot).
    #[arg(long, short, global = true)]
    verbose: bool,
    /// How log lines on stderr are written: `text` for people, `json` (one object a line) for a
    /// log collector.
    #[arg(long, global = true, env = "TENURE_LOG_FORMAT", default_value = "text")]
    log_format: LogFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the ingest and report API.
    #[command(
        after_help = "Examples:\n  tenure serve\n  tenure --data-dir /var/lib/tenure serve --listen 0.0.0.0:7070"
    )]
    Serve(serve::ServeArgs),
    /// Import events.ndjson or CSV files (accounts, subscriptions, deals, spend, touchpoints).
    #[command(
        after_help = "Examples:\n  tenure import events.ndjson accounts.csv subscriptions.csv deals.csv spend.csv\n  tenure import exports/events.ndjson.gz\n  tenure import --kind subscriptions billing-export.csv\n  tenure import --skip-invalid crm/*.csv\n\nColumns a CSV kind does not have are ignored (and named once on stderr)."
    )]
    Import(import::ImportArgs),
    /// Print a report (table, CSV or JSON) over what the store holds.
    #[command(after_help = report::EXAMPLES)]
    Report(Box<report::ReportArgs>),
    /// Print what the store holds.
    #[command(
        after_help = "Examples:\n  tenure status\n  tenure --data-dir ./tenure-data status --format json"
    )]
    Status {
        /// `table` for people; `json` for programs.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Copy the store while it is in use: every message acknowledged before the copy began.
    #[command(
        after_help = "Examples:\n  tenure backup /var/backups/tenure/2026-12-07\n  tenure --data-dir /var/lib/tenure backup \"/var/backups/tenure/$(date +%F)\"\n\nDEST becomes a data directory of its own: restore by starting tenure on it (--data-dir DEST)\nor by moving it into place while tenure is stopped."
    )]
    Backup(backup::BackupArgs),
    /// Inspect the log itself.
    #[command(subcommand)]
    Log(LogCommand),
    /// Manage API keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// What the playbooks did: the configured playbooks, the firings log, deliveries and retries.
    #[command(subcommand)]
    Playbooks(playbooks::PlaybooksCommand),
    /// The tasks playbooks made: list, assign, complete, snooze.
    #[command(subcommand)]
    Tasks(playbooks::TasksCommand),
    /// What tenure sent the ad platforms: status per rule and destination, the log of
    /// conversions and corrections, a dry run with the exact requests, a pass now, and
    /// Google's offline-conversion CSV.
    #[command(subcommand)]
    Conversions(conversions::ConversionsCommand),
    /// Validate the configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Simulate a company, load it through the real ingest path, summarise it and serve it.
    #[command(
        after_help = "Examples:\n  tenure demo\n  tenure demo --accounts 300 --months 18 --no-serve\n  tenure --data-dir ./demo-data demo --listen 127.0.0.1:8080"
    )]
    Demo(demo::DemoArgs),
    /// Write a synthetic company (CSV and NDJSON files) with its ground truth.
    #[command(
        after_help = "Examples:\n  tenure sim --out ./company\n  tenure sim --out ./company --accounts 300 --months 18 --seed 7 --end 2025-01-01"
    )]
    Sim(sim::SimArgs),
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Create a key and print it alone on stdout.
    #[command(after_help = "Example:\n  READ_KEY=$(tenure keys create --scope read)")]
    Create {
        /// What the key may do: `write` sends events and webhooks (ingest only), `read` reads
        /// reports and status, `admin` also manages keys over the API.
        #[arg(long, value_enum)]
        scope: KeyScope,
    },
    /// List the workspace's keys (prefixes and scopes, never secrets), revoked ones included.
    List {
        /// `table` for people; `json` for programs.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Revoke a key, by the prefix `keys list` shows or by the whole key. Running servers stop
    /// accepting it within seconds.
    Revoke { key: String },
}

#[derive(Debug, Subcommand)]
enum LogCommand {
    /// List the entries the log holds but this build cannot read back (left out of every figure).
    Unreadable {
        /// `table` for people; `json` for programs.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Check the configuration and print the effective one, defaults included.
    Check,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum KeyScope {
    /// Ingest only: Segment messages and webhooks.
    Write,
    /// Reports and status.
    Read,
    /// Everything, including managing keys over the API.
    Admin,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Aligned columns for people.
    Table,
    /// Pretty-printed JSON for programs.
    Json,
}

/// A mistake in how the command was called (an unknown value, a flag that does not apply):
/// exit 2, as clap's own usage errors.
#[derive(Debug)]
pub struct Usage(pub String);

impl std::fmt::Display for Usage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Usage {}

impl From<KeyScope> for Scope {
    fn from(s: KeyScope) -> Scope {
        match s {
            KeyScope::Write => Scope::Write,
            KeyScope::Read => Scope::Read,
            KeyScope::Admin => Scope::Admin,
        }
    }
}

/// Everything a command needs, validated.
#[derive(Debug, Clone)]
pub struct Context {
    pub config: Arc<Config>,
    pub workspace: WorkspaceId,
    /// `None` when neither --data-dir nor TENURE_DATA_DIR was given.
    pub data_dir: Option<PathBuf>,
    database: Option<String>,
}

impl Context {
    fn from_global(global: Global) -> anyhow::Result<Self> {
        let config = Config::load(global.config.as_deref())?;
        let workspace = WorkspaceId::parse(&global.workspace)
            .map_err(|e| Usage(format!("--workspace {:?}: {e}", global.workspace)))?;
        Ok(Self {
            config: Arc::new(config),
            workspace,
            data_dir: global.data_dir,
            database: global.database,
        })
    }

    /// Fails, naming the directory, where the flags select no existing store: a command that
    /// reads one must not create an empty store in a mistyped --data-dir and report zeros.
    pub fn require_store(&self) -> anyhow::Result<()> {
        let data_dir = self.data_dir_or_default();
        if self.database.is_none() && !SqliteStore::exists_in(&data_dir) {
            bail!(
                "no store in {}: give --data-dir (or TENURE_DATA_DIR) the directory `tenure import` or `tenure serve` wrote",
                data_dir.display()
            );
        }
        Ok(())
    }

    /// Opens the store for a command that only reads it: as [`Context::open_store`] does, or,
    /// where the store cannot be written (read-only files or disk), read-only. A directory
    /// without a store is an error ([`Context::require_store`]).
    pub fn open_store_to_read(&self) -> anyhow::Result<Arc<dyn Store>> {
        let store = self.open_existing_store()?;
        self.require_workspace(store.as_ref())?;
        Ok(store)
    }

    /// A usage error where the store holds workspaces but not --workspace's: a mistyped name
    /// would otherwise read as an empty workspace. An empty store is read as it is.
    pub fn require_workspace(&self, store: &dyn Store) -> anyhow::Result<()> {
        let known = store.workspaces()?;
        if known.is_empty() || known.contains(&self.workspace) {
            return Ok(());
        }
        let names: Vec<&str> = known.iter().map(WorkspaceId::as_str).collect();
        Err(Usage(format!(
            "--workspace {}: the store in {} has no such workspace (it has: {})",
            self.workspace,
            self.data_dir_or_default().display(),
            names.join(", ")
        ))
        .into())
    }

    fn open_existing_store(&self) -> anyhow::Result<Arc<dyn Store>> {
        self.require_store()?;
        // The read-only fallback is for the embedded store only: with --database, the data
        // directory is not the store asked for.
        let error = match self.open_store() {
            Err(error) if self.database.is_none() => error,
            result => return result,
        };
        let data_dir = self.data_dir_or_default();
        match SqliteStore::open_dir_read_only(&data_dir) {
            Ok(store) => {
                tracing::warn!(
                    data_dir = %data_dir.display(),
                    reason = %format!("{error:#}"),
                    "the store cannot be written here; reading it read-only"
                );
                Ok(Arc::new(store))
            }
            Err(read_only) => {
                tracing::debug!(error = %read_only, "the store cannot be read read-only either");
                Err(error)
            }
        }
    }

    /// The PostgreSQL URL --database gave, if any.
    pub fn database(&self) -> Option<&str> {
        self.database.as_deref()
    }

    /// The data directory: the embedded store's, and where snapshots are kept whatever the
    /// backend.
    pub fn data_dir_or_default(&self) -> PathBuf {
        self.data_dir
            .clone()
            .unwrap_or_else(|| PathBuf::from("./tenure-data"))
    }

    /// Opens the store the flags select: the embedded one in the data directory, or PostgreSQL
    /// if --database was given. Opening (here and in `open_existing_store`, `require_store`)
    /// is the only code that names a backend; commands hold a `dyn Store`.
    pub fn open_store(&self) -> anyhow::Result<Arc<dyn Store>> {
        if let Some(url) = &self.database {
            bail!(
                "--database {url:?}: the PostgreSQL backend is not built yet; leave --database unset to use the embedded store in --data-dir"
            );
        }
        let data_dir = self.data_dir_or_default();
        let store = SqliteStore::open_dir(&data_dir)
            .with_context(|| format!("opening the store in {}", data_dir.display()))?;
        Ok(Arc::new(store))
    }
}

/// The command line, with `report`'s help listing the reports of the catalog, and `sim`'s
/// leaving out the global options, which it does not read (it only writes files): the
/// subcommand gets hidden flags of the same names, which clap's propagation of the global ones
/// then leaves alone.
fn command() -> clap::Command {
    Cli::command()
        .mut_subcommand("report", report::describe_reports)
        .mut_subcommand("sim", |sim| {
            [
                ("data_dir", "data-dir"),
                ("database", "database"),
                ("config", "config"),
                ("workspace", "workspace"),
            ]
            .into_iter()
            .fold(sim, |sim, (id, long)| {
                sim.arg(clap::Arg::new(id).long(long).hide(true))
            })
        })
}

fn main() -> ExitCode {
    let cli = Cli::from_arg_matches(&command().get_matches()).unwrap_or_else(|e| e.exit());
    let verbose = cli.global.verbose || matches!(cli.command, Command::Serve(_) | Command::Demo(_));
    init_logging(verbose, cli.global.log_format);
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(exit_code(&e))
        }
    }
}

/// 2 for a usage error, 1 for any other.
fn exit_code(e: &anyhow::Error) -> u8 {
    let refused_parameter = e
        .downcast_ref::<tenure_reports::ReportError>()
        .is_some_and(tenure_reports::ReportError::is_caller_error);
    if refused_parameter || e.downcast_ref::<Usage>().is_some() {
        2
    } else {
        1
    }
}

fn init_logging(verbose: bool, format: LogFormat) {
    let default = if verbose { "info" } else { "warn" };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        // Colour codes only for a person at a terminal, not in a log file or a pipe.
        LogFormat::Text => logs.with_ansi(std::io::stderr().is_terminal()).init(),
        // Each event's fields at the top level, beside `timestamp`, `level` and `target`.
        LogFormat::Json => logs.json().flatten_event(true).init(),
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let ctx = Context::from_global(cli.global)?;
    match cli.command {
        Command::Serve(args) => serve::run(&ctx, args),
        Command::Import(args) => import::run(&ctx, args),
        Command::Report(args) => report::run(&ctx, *args),
        Command::Status { format } => status::run(&ctx, format),
        Command::Backup(args) => backup::run(&ctx, args),
        Command::Log(LogCommand::Unreadable { format }) => log::unreadable(&ctx, format),
        Command::Keys(command) => keys::run(&ctx, command),
        Command::Playbooks(command) => playbooks::run(&ctx, command),
        Command::Tasks(command) => playbooks::run_tasks(&ctx, command),
        Command::Conversions(command) => conversions::run(&ctx, command),
        Command::Config(ConfigCommand::Check) => {
            let default_workspace = tenure_core::WorkspaceId::default_workspace();
            // `vars_os`, not `vars`: a value that is not UTF-8 is still a secret set, and
            // must not panic here.
            let vars = std::env::vars_os().filter_map(|(name, value)| {
                Some((
                    name.into_string().ok()?,
                    value.to_string_lossy().into_owned(),
                ))
            });
            let secret_in_env =
                tenure_server::StripeSecrets::from_env(vars, None).has(&default_workspace);
            out!("{}", ctx.config.to_toml_annotated(secret_in_env));
            eprintln!("configuration is valid");
            Ok(())
        }
        Command::Demo(args) => demo::run(&ctx, args),
        Command::Sim(args) => sim::run(args),
    }
}
