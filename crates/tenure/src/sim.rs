//! `tenure sim`: writes a synthetic company with known ground truth.

use std::path::PathBuf;

use crate::progress::{Progress, Unit};
use crate::stdout::outln;
use anyhow::Context as _;
use chrono::NaiveDate;
use clap::Args;
use tenure_sim::{simulate_shaped, GroundTruth, Shape, SimConfig};

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
    /// First day after the simulated window: a fixed default, not today, so the same flags
    /// give the same bytes on any day.
    //
    // Reports over the company default to the end of its data, so its age does not matter.
    #[arg(long, default_value = DEFAULT_END)]
    pub end: NaiveDate,
    /// Internal page views sent per simulated one (0.5: about half; 2: twice as many). Landing
    /// pages are always sent. The shape flags change how the company is sent, not the company.
    #[arg(long, default_value_t = 1.0, help_heading = "Shape")]
    pub pages: f64,
    /// Product events (logins, key-feature uses) sent per simulated one, as --pages.
    #[arg(long, default_value_t = 1.0, help_heading = "Shape")]
    pub tracks: f64,
    /// `alias` calls per identified person on average: the first at sign-up, each further one
    /// from a new device.
    #[arg(long, default_value_t = 0.0, help_heading = "Shape")]
    pub aliases: f64,
    /// spend.csv rows per paid campaign and day, as an export by ad set (same daily totals).
    #[arg(long, default_value_t = 1, help_heading = "Shape")]
    pub spend_rows_per_day: u32,
}

/// The default of `--end`.
pub const DEFAULT_END: &str = "2026-12-01";

impl CompanyArgs {
    pub fn config(&self) -> SimConfig {
        SimConfig {
            accounts: self.accounts,
            months: self.months,
            seed: self.seed,
            end: self.end,
        }
    }

    pub fn shape(&self) -> Shape {
        Shape {
            pages: self.pages,
            tracks: self.tracks,
            aliases: self.aliases,
            spend_rows_per_day: self.spend_rows_per_day,
        }
    }
}

/// Simulates with a progress bar on stderr.
pub fn generate(
    config: &SimConfig,
    shape: &Shape,
    out: &std::path::Path,
) -> anyhow::Result<GroundTruth> {
    let mut progress = Progress::new(
        "simulating".into(),
        Unit::Accounts,
        Some(config.accounts as u64),
        "{msg} [{bar:30}] {pos}/{len} accounts ({per_sec}, {eta})",
    );
    let truth = simulate_shaped(config, shape, out, |done| {
        progress.set_position(done as u64)
    })
    .with_context(|| format!("simulating into {}", out.display()))?;
    progress.finish();
    Ok(truth)
}

pub fn run(args: SimArgs) -> anyhow::Result<()> {
    let config = args.company.config();
    let truth = generate(&config, &args.company.shape(), &args.out)?;
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
