//! `tenure report NAME`: the same report, and the same JSON, as `GET /api/v1/reports/NAME`.

use clap::{Args, ValueEnum};
use tenure_core::Timestamp;
use tenure_reports::{
    self as reports, AsOfSource, Param, ParamKind, RawParams, Report, ReportParams,
};

use crate::stdout::{out, outln};
use crate::{serve, server_file, Context};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// Aligned columns for people.
    Table,
    /// RFC 4180 CSV with a header row, for spreadsheets.
    Csv,
    /// The API's JSON, for programs.
    Json,
}

/// Shown after `tenure report --help`.
pub const EXAMPLES: &str = "\
Examples:
  tenure report mrr
  tenure report mrr --by channel --from 2025-01-01 --format csv > mrr.csv
  tenure report attribution --model markov --metric initial_arr
  tenure report accounts --band red --sort risk
  tenure report account acme-corp --as-of 2025-06-30
  tenure report funnel --by onboarding_variant

Without --as-of a report is as of the end of the data (the last day any stored fact speaks
of, never after now), and says so on stderr. A flag the report does not read, or a value it
does not know, is a usage error (exit 2).";

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The report (`tenure report --help` lists them, each with what it answers).
    pub name: String,
    /// The account, for `journey` and `account`.
    pub account: Option<String>,
    /// Output: `table` for people, `csv` for spreadsheets, `json` for programs.
    #[arg(long, value_enum, default_value_t = ReportFormat::Table)]
    pub format: ReportFormat,
    /// The report instant (RFC 3339, or a date meaning the end of that day); default: the end
    /// of the data.
    #[arg(long)]
    pub as_of: Option<String>,
    #[command(flatten)]
    pub flags: ReportFlags,
}

/// `tenure report --help` lists the reports of the catalog, each with what it answers, before
/// the examples. Not as clap's possible values: an unknown name is the catalog's one-line
/// error, as every error is.
pub fn describe_reports(report: clap::Command) -> clap::Command {
    let width = reports::REPORTS.iter().map(|n| n.len()).max().unwrap_or(0);
    let list: Vec<String> = reports::CATALOG
        .iter()
        .map(|spec| format!("  {:width$}  {}", spec.name, spec.about))
        .collect();
    report.after_long_help(format!("Reports:\n{}\n\n{EXAMPLES}", list.join("\n")))
}

/// The flags of [`reports::Param`], made from its declarations (name, help, accepted values,
/// which reports read it), so the CLI cannot drift from the API and the catalog. The account
/// is the command's first argument rather than a flag.
#[derive(Debug, Default)]
pub struct ReportFlags {
    given: Vec<(Param, String)>,
}

fn flag_params() -> impl Iterator<Item = Param> {
    Param::ALL.into_iter().filter(|p| *p != Param::Account)
}

fn flag_arg(param: Param) -> clap::Arg {
    let readers: Vec<&str> = reports::CATALOG
        .iter()
        .filter(|s| s.params.contains(&param))
        .map(|s| s.name)
        .collect();
    let mut help = format!("{}. Reports: {}", param.help(), readers.join(", "));
    if let Some(values) = param.values() {
        help = format!("{help}. Values: {}", values.join(", "));
    }
    let arg = clap::Arg::new(param.name())
        .long(param.flag().trim_start_matches("--"))
        .help(help);
    match param.kind() {
        ParamKind::Flag => arg.action(clap::ArgAction::SetTrue),
        ParamKind::File => arg.value_name("FILE"),
        ParamKind::Instant => arg.value_name("INSTANT"),
        ParamKind::Integer => arg.value_name("N"),
        // Built once per process, for `--stage STAGE` in the help.
        ParamKind::Text => arg.value_name(&*param.name().to_uppercase().leak()),
    }
}

impl clap::FromArgMatches for ReportFlags {
    fn from_arg_matches(matches: &clap::ArgMatches) -> Result<Self, clap::Error> {
        let mut given = Vec::new();
        for param in flag_params() {
            match param.kind() {
                ParamKind::Flag => {
                    if matches.get_flag(param.name()) {
                        given.push((param, "true".to_owned()));
                    }
                }
                _ => {
                    if let Some(value) = matches.get_one::<String>(param.name()) {
                        given.push((param, value.clone()));
                    }
                }
            }
        }
        Ok(Self { given })
    }

    fn update_from_arg_matches(&mut self, matches: &clap::ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(matches)?;
        Ok(())
    }
}

impl Args for ReportFlags {
    fn augment_args(cmd: clap::Command) -> clap::Command {
        flag_params().fold(cmd, |cmd, param| cmd.arg(flag_arg(param)))
    }

    fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
        Self::augment_args(cmd)
    }
}

impl ReportArgs {
    /// What the command line gave, by parameter name, as the API's query takes it.
    fn pairs(&self) -> Vec<(&'static str, &str)> {
        let as_of = self.as_of.as_deref().map(|v| ("as_of", v));
        let account = self.account.as_deref().map(|v| (Param::Account.name(), v));
        let flags = self
            .flags
            .given
            .iter()
            .filter(|(p, _)| *p != Param::Proposed)
            .map(|(p, v)| (p.name(), v.as_str()));
        as_of.into_iter().chain(account).chain(flags).collect()
    }

    /// The proposed configuration file, if given.
    fn proposed(&self) -> Option<std::path::PathBuf> {
        self.flags
            .given
            .iter()
            .find(|(p, _)| *p == Param::Proposed)
            .map(|(_, path)| path.into())
    }
}

pub fn run(ctx: &Context, args: ReportArgs) -> anyhow::Result<()> {
    let spec = reports::spec(&args.name)?;
    let raw = RawParams::from_pairs(args.pairs())?;
    let proposed = args.proposed();
    let now = Timestamp::from_datetime(chrono::Utc::now());
    // The default instant needs the data; it replaces this one once the store is read.
    let mut params = ReportParams::parse((now, AsOfSource::Now), &raw)?;
    if let Some(path) = &proposed {
        params.proposed = Some(tenure_config::Config::load(Some(path))?.health);
    }
    let settings = ctx.config.report_settings();
    // Every flag and value that can be judged without the data is, before the store is read.
    spec.check(&params, &settings)?;
    // A proposal would go in a request body: the command computes that report itself.
    if proposed.is_none() {
        if let Some((report, body)) = ask_server(ctx, &args) {
            return print(&args, &report, Some(body));
        }
    }
    let store = ctx.open_store_to_read()?;
    // Only the parts of the model the report reads are decoded from the snapshot.
    let live = serve::rebuild_reading(ctx, store.as_ref(), spec.reads(&params))?;
    if params.as_of_source != AsOfSource::Given {
        (params.as_of, params.as_of_source) =
            live.read(&ctx.workspace, |model| reports::default_as_of(model, now));
    }
    // The API's bounds on as_of, from and to, so both give the same answer; nothing stops a
    // report the user is waiting for at the terminal (Ctrl-C ends the process).
    let limits = reports::Limits {
        now,
        should_stop: &|| false,
    };
    let report = reports::run_in_turns(
        &args.name,
        &|f| live.read(&ctx.workspace, |model| f(model)),
        &settings,
        &params,
        limits,
    )?;
    print(&args, &report, None)?;
    serve::save_snapshot(ctx, &live);
    // The process exits now: freeing the model would only add time (a tenth of a report at
    // 100,000 accounts) before the operating system takes the memory back anyway.
    std::mem::forget(live);
    Ok(())
}

/// Prints the report in the chosen format; JSON from the server (`body`) as it came, laid out
/// as the command lays out its own.
fn print(args: &ReportArgs, report: &Report, body: Option<&str>) -> anyhow::Result<()> {
    // Said once the report stands, so a refused parameter is still one line.
    let why = match report.as_of_source {
        AsOfSource::Given => None,
        AsOfSource::EndOfData => Some("the end of the data"),
        AsOfSource::Now => Some("now: the workspace holds no data"),
    };
    if let Some(why) = why {
        eprintln!("as of {} ({why}; --as-of to choose)", report.as_of);
    }
    match (args.format, body) {
        (ReportFormat::Json, Some(body)) => outln!("{}", server_file::pretty(body)),
        (ReportFormat::Json, None) => outln!("{}", serde_json::to_string_pretty(report)?),
        (ReportFormat::Csv, _) => out!("{}", report.to_csv()),
        (ReportFormat::Table, _) => out!("{}", report.to_table()),
    }
    // JSON carries them in `warnings` and `page`; beside a table or CSV they go to stderr, as
    // logs do.
    if args.format != ReportFormat::Json {
        for warning in &report.warnings {
            eprintln!("warning: {}", warning.message);
        }
        if let Some(page) = &report.page {
            let shown = report.rows.len();
            eprintln!(
                "rows {} to {} of {}{}",
                page.offset + usize::from(shown > 0),
                page.offset + shown,
                page.total_rows,
                page.next_cursor
                    .as_ref()
                    .map_or(String::new(), |c| format!("; next page: --cursor {c}"))
            );
        }
    }
    Ok(())
}

/// The report from the server running on the data directory, if one answers.
fn ask_server(ctx: &Context, args: &ReportArgs) -> Option<(Report, &'static str)> {
    let pairs: Vec<(&str, Option<&str>)> = args
        .pairs()
        .into_iter()
        .map(|(k, v)| (k, Some(v)))
        .collect();
    let query = server_file::query(&pairs);
    let path = format!("/api/v1/reports/{}?{query}", args.name);
    let body = server_file::ask_ctx(ctx, &path)?;
    // Leaked for the report's `&'static` names: the process exits once it is printed.
    let body: &'static str = Box::leak(body.into_boxed_str());
    match serde_json::from_str(body) {
        Ok(report) => Some((report, body)),
        Err(e) => {
            tracing::info!(
                "cannot read the running server's report ({e}); answering from the snapshot"
            );
            None
        }
    }
}
