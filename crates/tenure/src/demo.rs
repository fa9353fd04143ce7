//! `tenure demo`: simulates a company, loads it through the same import path a user's files
//! take, summarises it, and serves it.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;
use tenure_core::Timestamp;
use tenure_server::reports::{self, ReportParams};
use tenure_server::status;
use tenure_store::{Scope, Store};

use crate::import::{self, ImportArgs};
use crate::sim::{self, CompanyArgs};
use crate::{serve, Context};

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Stop after loading and summarising; do not serve.
    #[arg(long)]
    pub no_serve: bool,
    /// Address to serve on.
    #[arg(long, default_value = "127.0.0.1:7070")]
    pub listen: SocketAddr,
    #[command(flatten)]
    pub company: CompanyArgs,
}

pub fn run(ctx: &Context, args: DemoArgs) -> anyhow::Result<()> {
    // Without --data-dir the demo lives in a temporary directory removed on exit.
    let temp;
    let data_dir: PathBuf = match &ctx.data_dir {
        Some(dir) => dir.clone(),
        None => {
            temp = tempfile::Builder::new().prefix("tenure-demo-").tempdir()?;
            temp.path().to_owned()
        }
    };
    let input = data_dir.join("demo-input");
    let config = args.company.config();
    eprintln!(
        "simulating {} accounts over {} months (seed {}) into {}",
        config.accounts,
        config.months,
        config.seed,
        input.display()
    );
    let truth = sim::generate(&config, &input)?;
    let store = ctx.open_store_in(&data_dir)?;
    let files = tenure_sim::FILES
        .iter()
        .filter(|name| name.ends_with(".csv") || name.ends_with(".ndjson"))
        .map(|name| input.join(name))
        .collect();
    import::run_with_store(
        ctx,
        store.as_ref(),
        ImportArgs {
            files,
            kind: None,
            skip_invalid: false,
        },
    )?;
    let live = serve::rebuild(ctx, &store)?;
    let summary = status(store.as_ref(), &live, &ctx.workspace)?;
    println!();
    println!(
        "A simulated B2B SaaS company, {} to {}: {} accounts, {} of them customers.",
        truth.start, truth.end, truth.totals.accounts, truth.totals.customers
    );
    println!();
    print!("{}", crate::status::table(&summary));
    let by_campaign = live.read(&ctx.workspace, |model| {
        reports::run(
            "touchpoints",
            model,
            ReportParams {
                as_of: Timestamp::from_datetime(chrono::Utc::now()),
                from: None,
                to: None,
                by: Some("campaign".into()),
            },
        )
    })?;
    println!("\ntouchpoints by campaign\n");
    print!("{}", by_campaign.to_table());
    println!(
        "\nRevenue figures (MRR, NRR, revenue per dollar by campaign, accounts at risk) arrive with the ledger and attribution reports."
    );
    if args.no_serve {
        return Ok(());
    }
    let read_key = store.create_key(&ctx.workspace, Scope::Read)?;
    serve::serve(ctx, store, live, args.listen, |addr| {
        println!();
        println!("serving on http://{addr} (Ctrl-C to stop)");
        println!("read key: {read_key}");
        println!(
            "try:      curl -s -u {read_key}: http://{addr}/api/v1/reports/touchpoints?by=channel"
        );
    })
}
