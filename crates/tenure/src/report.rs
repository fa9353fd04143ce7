//! `tenure report NAME`: the same report, and the same JSON, as `GET /api/v1/reports/NAME`.

use clap::{Args, ValueEnum};
use tenure_core::Timestamp;
use tenure_reports::{self as reports, AsOfSource, RawParams, Report, ReportParams};

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
    /// The report: attribution, journey, mrr, retention, cohorts, survival, ltv,
    /// unit-economics, touchpoints, funnel, adoption, accounts, account, signals, renewals,
    /// health-backtest, churn-model or forecast.
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
    /// Start of the window (inclusive; a date means its start).
    #[arg(long)]
    pub from: Option<String>,
    /// End of the window (inclusive; a date means its end).
    #[arg(long)]
    pub to: Option<String>,
    /// Grouping: an account attribute (tier, industry, plan, csm_owner, a group trait such as
    /// onboarding_variant), the acquisition channel, source, medium, campaign or content, or
    /// the account's lifecycle stage or health band at the report instant.
    #[arg(long)]
    pub by: Option<String>,
    /// Attribution model: first_touch, last_touch, last_non_direct, linear (default),
    /// time_decay, position_based, w_shaped, markov, shapley. With the ledger reports'
    /// --by channel|source|medium|campaign|content, splits each account over its journey's
    /// touches by that model's credit (any model but markov).
    #[arg(long)]
    pub model: Option<String>,
    /// Outcome credited by `attribution`: conversions (default), initial_arr, realized_revenue,
    /// expansion_revenue, predicted_ltv, activated, retained_90d, retained_365d, renewed, nrr.
    #[arg(long)]
    pub metric: Option<String>,
    /// Every model side by side, for `attribution`.
    #[arg(long)]
    pub compare: bool,
    /// Only accounts in this lifecycle stage (e.g. at_risk): accounts, signals, renewals,
    /// adoption.
    #[arg(long)]
    pub stage: Option<String>,
    /// Only accounts in this health band (green, yellow, red): accounts, signals, renewals,
    /// adoption.
    #[arg(long)]
    pub band: Option<String>,
    /// Only accounts with this signal (e.g. no_activity): accounts, signals, renewals,
    /// adoption.
    #[arg(long)]
    pub signal: Option<String>,
    /// Only accounts of this tier: accounts, signals, renewals, adoption.
    #[arg(long)]
    pub tier: Option<String>,
    /// Only accounts of this CSM owner: accounts, signals, renewals, adoption.
    #[arg(long)]
    pub owner: Option<String>,
    /// Only accounts whose first-touch channel is this: accounts, signals, renewals, adoption.
    #[arg(long)]
    pub channel: Option<String>,
    /// Sort of `accounts`: arr (default), health (lowest first) or risk (most churn-risk
    /// signals first).
    #[arg(long)]
    pub sort: Option<String>,
    /// A proposed configuration file whose [health] `health-backtest` compares with the
    /// current one.
    #[arg(long)]
    pub proposed: Option<std::path::PathBuf>,
}

pub fn run(ctx: &Context, args: ReportArgs) -> anyhow::Result<()> {
    let spec = reports::spec(&args.name)?;
    let raw = RawParams {
        as_of: args.as_of.clone(),
        from: args.from.clone(),
        to: args.to.clone(),
        by: args.by.clone(),
        model: args.model.clone(),
        metric: args.metric.clone(),
        compare: args.compare,
        account: args.account.clone(),
        stage: args.stage.clone(),
        band: args.band.clone(),
        signal: args.signal.clone(),
        tier: args.tier.clone(),
        owner: args.owner.clone(),
        channel: args.channel.clone(),
        sort: args.sort.clone(),
    };
    let now = Timestamp::from_datetime(chrono::Utc::now());
    // The default instant needs the data; it replaces this one once the store is read.
    let mut params = ReportParams::parse((now, AsOfSource::Now), &raw)?;
    if let Some(path) = &args.proposed {
        params.proposed = Some(tenure_config::Config::load(Some(path))?.health);
    }
    let settings = ctx.config.report_settings();
    // Every flag and value that can be judged without the data is, before the store is read.
    spec.check(&params, &settings)?;
    // A proposal would go in a request body: the command computes that report itself.
    if args.proposed.is_none() {
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
    // JSON carries them in `warnings`; beside a table or CSV they go to stderr, as logs do.
    if args.format != ReportFormat::Json {
        for warning in &report.warnings {
            eprintln!("warning: {}", warning.message);
        }
    }
    Ok(())
}

/// The report from the server running on the data directory, if one answers.
fn ask_server(ctx: &Context, args: &ReportArgs) -> Option<(Report, &'static str)> {
    let query = server_file::query(&[
        ("as_of", args.as_of.as_deref()),
        ("from", args.from.as_deref()),
        ("to", args.to.as_deref()),
        ("by", args.by.as_deref()),
        ("model", args.model.as_deref()),
        ("metric", args.metric.as_deref()),
        ("compare", args.compare.then_some("true")),
        ("account", args.account.as_deref()),
        ("stage", args.stage.as_deref()),
        ("band", args.band.as_deref()),
        ("signal", args.signal.as_deref()),
        ("tier", args.tier.as_deref()),
        ("owner", args.owner.as_deref()),
        ("channel", args.channel.as_deref()),
        ("sort", args.sort.as_deref()),
    ]);
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
