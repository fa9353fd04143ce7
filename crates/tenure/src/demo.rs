//! `tenure demo`: simulates a company, loads it through the same import path a user's files
//! take, summarises it, and serves it.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;
use tenure_core::Timestamp;
use tenure_reports::{self as reports, ReportParams};
use tenure_runtime::status;
use tenure_store::Scope;

use crate::import::{self, ImportArgs};
use crate::sim::{self, CompanyArgs};
use crate::stdout::{out, outln};
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
    // A busy port is found now, not after a minute of simulating and loading.
    let listener = (!args.no_serve)
        .then(|| serve::bind(args.listen))
        .transpose()?;
    // Without --data-dir the demo lives in a temporary directory removed on exit.
    let temp;
    let data_dir: PathBuf = match &ctx.data_dir {
        Some(dir) => dir.clone(),
        None => {
            temp = tempfile::Builder::new().prefix("tenure-demo-").tempdir()?;
            temp.path().to_owned()
        }
    };
    // Everything from here on (store, snapshots) lives in that directory.
    let ctx = &Context {
        data_dir: Some(data_dir.clone()),
        ..ctx.clone()
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
    let truth = sim::generate(&config, &args.company.shape(), &input)?;
    let store = ctx.open_store()?;
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
    let live = serve::rebuild(ctx, store.as_ref())?;
    let settings = ctx.config.report_settings();
    let summary = status(store.as_ref(), &live, &ctx.workspace, &settings)?;
    outln!();
    outln!(
        "A simulated B2B SaaS company, {} to {}: {} accounts, {} of them customers.",
        truth.start,
        truth.end,
        truth.totals.accounts,
        truth.totals.customers
    );
    outln!();
    out!("{}", crate::status::table(&summary));
    let now = Timestamp::from_datetime(chrono::Utc::now());
    let (mrr, retention, economics, accounts) = live.read(&ctx.workspace, |model| {
        // Every figure as of one instant, the end of the data, as `tenure report` defaults
        // to: after it, every account would look idle.
        let (as_of, as_of_source) = reports::default_as_of(model, now);
        let at = ReportParams {
            as_of_source,
            ..ReportParams::at(as_of)
        };
        let params = |by: Option<&str>| ReportParams {
            by: by.map(str::to_owned),
            ..at.clone()
        };
        let run = |name: &str, by: Option<&str>| reports::run(name, model, &settings, &params(by));
        let at_risk = ReportParams {
            sort: Some("risk".into()),
            ..at.clone()
        };
        Ok::<_, reports::ReportError>((
            run("mrr", None)?,
            run("retention", None)?,
            run("unit-economics", Some("campaign"))?,
            reports::run("accounts", model, &settings, &at_risk)?,
        ))
    })?;
    outln!();
    let stages: Vec<String> = settings
        .stages
        .stages
        .iter()
        .map(|s| s.name.clone())
        .collect();
    out!(
        "{}",
        headline(&mrr, &retention, &economics, &accounts, &stages)
    );
    let Some(listener) = listener else {
        return Ok(());
    };
    let read_key = store.create_key(&ctx.workspace, Scope::Read)?;
    serve::serve(ctx, store, live, listener, |addr, sessions| {
        let ticket = sessions.ticket(read_key.clone());
        outln!();
        outln!("serving on http://{addr} (Ctrl-C to stop)");
        outln!("dashboard: http://{addr}/signin/once/{ticket}");
        outln!("          (signs you in once, within 15 minutes; then sign in with the read key)");
        outln!("read key: {read_key}");
        outln!(
            "try:      curl -s -u {read_key}: http://{addr}/api/v1/reports/touchpoints?by=channel"
        );
    })
}

/// The lines a marketer and a CSM read first: MRR, retention, the campaigns that pay back best
/// and worst, the accounts most at risk, and the customers by lifecycle stage (`stages` in
/// lifecycle order).
fn headline(
    mrr: &reports::Report,
    retention: &reports::Report,
    economics: &reports::Report,
    accounts: &reports::Report,
    stages: &[String],
) -> String {
    let num = |row: &serde_json::Map<String, serde_json::Value>, key: &str| {
        row.get(key).and_then(|v| v.as_f64())
    };
    let mut out = String::new();
    if let Some(last) = mrr.rows.last() {
        let money = |v: Option<f64>| reports::money(v.unwrap_or(0.0), mrr.currency);
        out += &format!(
            "MRR {} (ARR {}) from {} customers at {}\n",
            money(num(last, "mrr")),
            money(num(last, "arr")),
            num(last, "customers").unwrap_or(0.0),
            // The day, as the health line gives it: both are as of the same instant.
            &mrr.as_of.to_string()[..10]
        );
    }
    if let Some(all) = retention.rows.first() {
        let pct = |v: Option<f64>| v.map_or("n/a".to_owned(), reports::percent);
        out += &format!(
            "over the last 12 months: NRR {}, GRR {}, logo retention {}\n",
            pct(num(all, "nrr")),
            pct(num(all, "grr")),
            pct(num(all, "logo_retention"))
        );
    }
    let mut paid: Vec<(String, f64)> = economics
        .rows
        .iter()
        .filter_map(|r| {
            Some((
                r.get("campaign")?.as_str()?.to_owned(),
                num(r, "roas_realized")?,
            ))
        })
        .collect();
    paid.sort_by(|a, b| b.1.total_cmp(&a.1));
    let list = |items: &[(String, f64)]| {
        items
            .iter()
            .map(|(c, v)| format!("{c} {v:.2}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if !paid.is_empty() {
        let worst: Vec<_> = paid.iter().rev().take(2).cloned().collect();
        out += &format!(
            "realized revenue per dollar of spend, by first-touch campaign: best {}; worst {}\n",
            list(&paid[..paid.len().min(3)]),
            list(&worst)
        );
    }
    if let Some(summary) = &accounts.summary {
        let band = |b: &str| summary["by_band"][b].as_u64().unwrap_or(0);
        out += &format!(
            "health at {}: {} green, {} yellow, {} red",
            &accounts.as_of.to_string()[..10],
            band("green"),
            band("yellow"),
            band("red")
        );
        if band("unscored") > 0 {
            out += &format!(", {} new customers not scored yet", band("unscored"));
        }
        let risky: Vec<String> = accounts
            .rows
            .iter()
            .take(3)
            .filter(|r| num(r, "risk").unwrap_or(0.0) > 0.0)
            .map(|r| {
                format!(
                    "{} ({})",
                    r.get("account").and_then(|v| v.as_str()).unwrap_or(""),
                    r.get("signals").and_then(|v| v.as_str()).unwrap_or("")
                )
            })
            .collect();
        if !risky.is_empty() {
            out += &format!("; most at risk: {}", risky.join("; "));
        }
        out += "\n";
        let counts: Vec<String> = stages
            .iter()
            .filter_map(|stage| {
                summary["by_stage"][stage]
                    .as_u64()
                    .filter(|n| *n > 0)
                    .map(|n| format!("{n} {stage}"))
            })
            .collect();
        if !counts.is_empty() {
            out += &format!("customers by stage: {}\n", counts.join(", "));
        }
    }
    out
}
