//! `tenure report NAME`: the same report, and the same JSON, as `GET /api/v1/reports/NAME`.

use clap::{Args, ValueEnum};
use tenure_core::Timestamp;
use tenure_reports::{self as reports, ReportParams};

use crate::{serve, Context};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    Table,
    Csv,
    Json,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The report: mrr, retention, cohorts, survival, ltv, unit-economics or touchpoints.
    pub name: String,
    #[arg(long, value_enum, default_value_t = ReportFormat::Table)]
    pub format: ReportFormat,
    /// The report instant (RFC 3339, or a date meaning the end of that day); default now.
    #[arg(long)]
    pub as_of: Option<String>,
    /// Start of the window (inclusive; a date means its start).
    #[arg(long)]
    pub from: Option<String>,
    /// End of the window (inclusive; a date means its end).
    #[arg(long)]
    pub to: Option<String>,
    /// Grouping: an account attribute (tier, industry, plan, csm_owner, a group trait such as
    /// onboarding_variant) or the acquisition channel, source, medium, campaign or content.
    #[arg(long)]
    pub by: Option<String>,
}

pub fn run(ctx: &Context, args: ReportArgs) -> anyhow::Result<()> {
    if !reports::REPORTS.contains(&args.name.as_str()) {
        anyhow::bail!(
            "no report named {:?} (reports: {})",
            args.name,
            reports::REPORTS.join(", ")
        );
    }
    let params = ReportParams::parse(
        Timestamp::from_datetime(chrono::Utc::now()),
        args.as_of.as_deref(),
        args.from.as_deref(),
        args.to.as_deref(),
        args.by.as_deref(),
    )?;
    let store = ctx.open_store()?;
    let live = serve::rebuild(ctx, &store)?;
    let settings = ctx.config.report_settings();
    let report = live.read(&ctx.workspace, |model| {
        reports::run(&args.name, model, &settings, &params)
    })?;
    match args.format {
        ReportFormat::Json => println!("{}", serde_json::to_string_pretty(&report)?),
        ReportFormat::Csv => print!("{}", report.to_csv()),
        ReportFormat::Table => print!("{}", report.to_table()),
    }
    Ok(())
}
