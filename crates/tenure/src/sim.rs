//! `tenure sim`: writes a synthetic company with known ground truth.

use std::path::PathBuf;

use crate::stdout::outln;
use anyhow::Context as _;
use chrono::{Datelike, NaiveDate};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use tenure_sim::{simulate, GroundTruth, SimConfig};

#[derive(Debug, Args)]
pub struct SimArgs {
    /// Directory to write accounts.csv, events.ndjson, … and ground_truth.json into.
    #[arg(long)]
    pub out: PathBuf,
    #[command(flatten)]
    pub company: CompanyArgs,
}

/// The company's size and seed, shared by `sim` and `demo`.
#[derive(Debug, Args)]
pub struct CompanyArgs {
    /// Accounts (companies that engage with the business).
    #[arg(long, default_value_t = 2_000)]
    pub accounts: usize,
    /// Months of history.
    #[arg(long, default_value_t = 24)]
    pub months: u32,
    /// Random seed: the same seed and flags give byte-identical files.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// First day after the simulated window [default: the first day of the current month].
    #[arg(long)]
    pub end: Option<NaiveDate>,
}

impl CompanyArgs {
    pub fn config(&self) -> SimConfig {
        let today = chrono::Utc::now().date_naive();
        let end = self.end.unwrap_or_else(|| {
            NaiveDate::from_ymd_opt(today.year(), today.month(), 1)
                .expect("the first of a month exists")
        });
        SimConfig {
            accounts: self.accounts,
            months: self.months,
            seed: self.seed,
            end,
        }
    }
}

/// Simulates with a progress bar on stderr.
pub fn generate(config: &SimConfig, out: &std::path::Path) -> anyhow::Result<GroundTruth> {
    let bar = ProgressBar::new(config.accounts as u64).with_style(
        ProgressStyle::with_template(
            "simulating [{bar:30}] {pos}/{len} accounts ({per_sec}, {eta})",
        )
        .expect("valid template"),
    );
    let truth = simulate(config, out, |done| bar.set_position(done as u64))
        .with_context(|| format!("simulating into {}", out.display()))?;
    bar.finish_and_clear();
    Ok(truth)
}

pub fn run(args: SimArgs) -> anyhow::Result<()> {
    let config = args.company.config();
    let truth = generate(&config, &args.out)?;
    let t = &truth.totals;
    outln!(
        "{}: {} accounts from {} to {}: {} leads, {} opportunities, {} customers ({} activated, {} churned), {} events",
        args.out.display(),
        t.accounts,
        truth.start,
        truth.end,
        t.leads,
        t.opportunities,
        t.customers,
        t.activated,
        t.churned,
        t.events
    );
    Ok(())
}
