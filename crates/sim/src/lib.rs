//! A synthetic B2B SaaS company with known ground truth.
//!
//! [`simulate`] writes a seeded, deterministic company in exactly the formats tenure ingests
//! (`events.ndjson` of Segment messages and the CSV files of SPEC §2.3) plus
//! `ground_truth.json`: the planted parameters ([`World`]) and what actually happened to every
//! campaign's accounts, so every figure tenure computes can be judged against a known answer.
//!
//! Accounts are simulated in parallel chunks, each from its own random stream, and written in
//! account order: the output is the same whatever the thread count, and memory stays bounded
//! by the chunk size however many accounts are asked for.

mod company;
mod fate;
mod names;
mod shape;
mod truth;
mod world;

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use tenure_ingest::csv::CsvKind;

pub use company::AccountTruth;
pub use fate::LTV_HORIZON;
pub use shape::Shape;
use truth::Tally;
pub use truth::{CampaignTruth, ExperimentTruth, GroundTruth, Totals, TouchTruth};
pub use world::{Campaign, ChurnModel, Experiment, Plan, Reach, TouchEffect, Trouble, World};

use company::{simulate_account, stream_seed, Frame, DAY};

/// Accounts simulated per parallel chunk: bounds memory, keeps both cores busy.
const CHUNK: usize = 256;

/// What to simulate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimConfig {
    pub accounts: usize,
    pub months: u32,
    pub seed: u64,
    /// The first day after the simulated window (00:00 UTC); the window is the `months`
    /// calendar months before it.
    pub end: chrono::NaiveDate,
}

impl SimConfig {
    /// 2,000 accounts over 24 months, seed 42, ending at the start of `end`.
    pub fn default_ending(end: chrono::NaiveDate) -> Self {
        Self {
            accounts: 2_000,
            months: 24,
            seed: 42,
            end,
        }
    }

    fn frame(&self) -> Frame {
        let start = self
            .end
            .checked_sub_months(chrono::Months::new(self.months))
            .expect("a window within the calendar");
        let ms = |d: chrono::NaiveDate| {
            d.and_hms_opt(0, 0, 0)
                .expect("midnight exists")
                .and_utc()
                .timestamp_millis()
        };
        Frame {
            seed: self.seed,
            start: ms(start),
            end: ms(self.end),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("--accounts must be at least 1 and --months at least 1")]
    Empty,
    #[error("{0}")]
    Shape(String),
}

/// The configuration written beside the company (`tenure.toml`): the defaults, and the
/// example playbooks a customer-success team of this company would start with. Not imported.
pub const CONFIG: &str = include_str!("tenure.toml");

/// The output files, in the order they are written.
pub const FILES: &[&str] = &[
    "accounts.csv",
    "events.ndjson",
    "subscriptions.csv",
    "deals.csv",
    "spend.csv",
    "touchpoints.csv",
    "ground_truth.json",
];

struct Outputs {
    dir: PathBuf,
    events: BufWriter<File>,
    accounts: csv::Writer<BufWriter<File>>,
    subscriptions: csv::Writer<BufWriter<File>>,
    deals: csv::Writer<BufWriter<File>>,
    touchpoints: csv::Writer<BufWriter<File>>,
}

fn create(dir: &Path, name: &str) -> Result<BufWriter<File>, SimError> {
    let path = dir.join(name);
    File::create(&path)
        .map(|f| BufWriter::with_capacity(1 << 20, f))
        .map_err(|source| SimError::Io {
            path: path.display().to_string(),
            source,
        })
}

fn csv_with_header(
    dir: &Path,
    name: &str,
    header: &[&str],
) -> Result<csv::Writer<BufWriter<File>>, SimError> {
    let mut writer = csv::Writer::from_writer(create(dir, name)?);
    writer
        .write_record(header)
        .map_err(|e| csv_error(dir, name, e))?;
    Ok(writer)
}

fn csv_error(dir: &Path, name: &str, e: csv::Error) -> SimError {
    SimError::Io {
        path: dir.join(name).display().to_string(),
        source: std::io::Error::other(e),
    }
}

/// Simulates the company into `dir` (created if needed), its messages shaped as the simulator's
/// own tools send them. `progress` is told the accounts done.
pub fn simulate(
    config: &SimConfig,
    dir: &Path,
    progress: impl FnMut(usize),
) -> Result<GroundTruth, SimError> {
    simulate_shaped(config, &Shape::default(), dir, progress)
}

/// Simulates the company into `dir` with its messages shaped by `shape`: the same company (the
/// same accounts, revenue, churn and campaigns: `ground_truth.json` differs only in its event
/// count and the shape it records), sent as other tools would send it.
pub fn simulate_shaped(
    config: &SimConfig,
    shape: &Shape,
    dir: &Path,
    progress: impl FnMut(usize),
) -> Result<GroundTruth, SimError> {
    simulate_world(&World::default(), config, shape, dir, progress)
}

/// Simulates the company of another `world` into `dir`: the same accounts and random draws
/// where the worlds agree, so a world with one effect changed shows what that effect does.
pub fn simulate_world(
    world: &World,
    config: &SimConfig,
    shape: &Shape,
    dir: &Path,
    mut progress: impl FnMut(usize),
) -> Result<GroundTruth, SimError> {
    if config.accounts == 0 || config.months == 0 {
        return Err(SimError::Empty);
    }
    shape.check().map_err(SimError::Shape)?;
    std::fs::create_dir_all(dir).map_err(|source| SimError::Io {
        path: dir.display().to_string(),
        source,
    })?;
    let frame = config.frame();
    let mut out = Outputs {
        dir: dir.to_owned(),
        events: create(dir, "events.ndjson")?,
        accounts: csv_with_header(dir, "accounts.csv", CsvKind::Accounts.columns())?,
        subscriptions: csv_with_header(dir, "subscriptions.csv", CsvKind::Subscriptions.columns())?,
        deals: csv_with_header(dir, "deals.csv", CsvKind::Deals.columns())?,
        touchpoints: csv_with_header(dir, "touchpoints.csv", CsvKind::Touchpoints.columns())?,
    };
    // ground_truth.json is streamed: every account's truth as it is simulated, then the totals.
    let mut truth_file = create(dir, "ground_truth.json")?;
    let truth_error = |source: std::io::Error| SimError::Io {
        path: dir.join("ground_truth.json").display().to_string(),
        source,
    };
    truth_file
        .write_all(b"{\n\"account_truths\": [")
        .map_err(truth_error)?;
    let mut tally = Tally::new(world, frame.end);
    let mut events = 0u64;
    for chunk_start in (0..config.accounts).step_by(CHUNK) {
        let chunk_end = (chunk_start + CHUNK).min(config.accounts);
        let stories: Vec<_> = (chunk_start..chunk_end)
            .into_par_iter()
            .map(|i| simulate_account(world, frame, shape, i))
            .collect();
        for story in stories {
            out.write(&story).map_err(|e| SimError::Io {
                path: out.dir.display().to_string(),
                source: e,
            })?;
            events += story.events.len() as u64;
            if let Some(truth) = &story.truth {
                let separator: &[u8] = if tally.is_empty() { b"\n" } else { b",\n" };
                truth_file.write_all(separator).map_err(truth_error)?;
                serde_json::to_writer(&mut truth_file, truth).map_err(|e| truth_error(e.into()))?;
            }
            tally.add(&story);
        }
        progress(chunk_end);
    }
    let spend = write_spend(world, frame, config.accounts, shape.spend_rows_per_day, dir)?;
    out.finish()?;
    std::fs::write(dir.join("tenure.toml"), CONFIG).map_err(|source| SimError::Io {
        path: dir.join("tenure.toml").display().to_string(),
        source,
    })?;
    let truth = tally.finish(config, shape, world, frame.start, &spend, events);
    let rest = serde_json::to_string_pretty(&truth).map_err(|e| truth_error(e.into()))?;
    truth_file.write_all(b"\n],\n").map_err(truth_error)?;
    truth_file
        .write_all(rest.trim_start_matches('{').as_bytes())
        .map_err(truth_error)?;
    truth_file.write_all(b"\n").map_err(truth_error)?;
    truth_file.flush().map_err(truth_error)?;
    Ok(truth)
}

impl Outputs {
    fn write(&mut self, story: &company::AccountStory) -> std::io::Result<()> {
        for line in &story.events {
            self.events.write_all(line.as_bytes())?;
            self.events.write_all(b"\n")?;
        }
        let io = std::io::Error::other;
        self.accounts.write_record(&story.account).map_err(io)?;
        for row in &story.subscriptions {
            self.subscriptions.write_record(row).map_err(io)?;
        }
        for row in &story.deals {
            self.deals.write_record(row).map_err(io)?;
        }
        for row in &story.touchpoints {
            self.touchpoints.write_record(row).map_err(io)?;
        }
        Ok(())
    }

    fn finish(mut self) -> Result<(), SimError> {
        let dir = self.dir.clone();
        let err = |name: &str, source: std::io::Error| SimError::Io {
            path: dir.join(name).display().to_string(),
            source,
        };
        self.events.flush().map_err(|e| err("events.ndjson", e))?;
        for (name, w) in [
            ("accounts.csv", &mut self.accounts),
            ("subscriptions.csv", &mut self.subscriptions),
            ("deals.csv", &mut self.deals),
            ("touchpoints.csv", &mut self.touchpoints),
        ] {
            w.flush().map_err(|e| err(name, e))?;
        }
        Ok(())
    }
}

/// Daily spend of every paid campaign, each day in `rows_per_day` rows (as an export by ad set);
/// returns the total per campaign in cents.
fn write_spend(
    world: &World,
    frame: Frame,
    accounts: usize,
    rows_per_day: u32,
    dir: &Path,
) -> Result<Vec<(&'static str, i64)>, SimError> {
    let mut writer = csv_with_header(dir, "spend.csv", CsvKind::Spend.columns())?;
    let mut totals = Vec::new();
    let days = (frame.end - frame.start) / DAY;
    // Campaign budgets are set for the default 2,000 accounts; a larger company buys more.
    let scale = accounts as f64 / 2_000.0;
    for (c, campaign) in world.campaigns.iter().enumerate() {
        let Reach::Paid { source, .. } = campaign.reach else {
            continue;
        };
        if campaign.daily_spend_cents == 0 {
            continue;
        }
        // Spend streams count down from the top, far from the accounts' streams 0, 1, 2, ...
        let mut rng = ChaCha8Rng::seed_from_u64(stream_seed(frame.seed, u64::MAX - c as u64));
        let mut total = 0;
        for d in 0..days {
            // Spend grows with the company, as the accounts it acquires do.
            let growth = 0.6 + 0.8 * d as f64 / days as f64;
            let noise = 0.75 + 0.5 * rng.random::<f64>();
            let cost = (campaign.daily_spend_cents as f64 * scale * growth * noise).round() as i64;
            total += cost;
            let clicks = cost / campaign.cpc_cents.max(1);
            let impressions = clicks * rng.random_range(20..60);
            let date = company_date(frame.start + d * DAY);
            let parts = shape::split(cost, rows_per_day)
                .zip(shape::split(impressions, rows_per_day))
                .zip(shape::split(clicks, rows_per_day));
            for ((cost, impressions), clicks) in parts {
                writer
                    .write_record([
                        date.as_str(),
                        campaign.channel,
                        source,
                        campaign.name,
                        &format!("{}.{:02}", cost / 100, cost % 100),
                        "USD",
                        &impressions.to_string(),
                        &clicks.to_string(),
                    ])
                    .map_err(|e| csv_error(dir, "spend.csv", e))?;
            }
        }
        totals.push((campaign.name, total));
    }
    writer.flush().map_err(|e| SimError::Io {
        path: dir.join("spend.csv").display().to_string(),
        source: e,
    })?;
    Ok(totals)
}

fn company_date(ms: i64) -> String {
    tenure_core::Timestamp::from_millis(ms).to_string()[..10].to_owned()
}
