//! Every report on a large simulated company, from the warm in-memory model, and the time to
//! rebuild that model (identity, touchpoints, ledger) by replaying the log from the store.
//!
//! `cargo bench -p tenure-server --bench reports` (or `bench/reports.sh`).
//! Environment: `BENCH_ACCOUNTS` (default 100000), `BENCH_RUNS` per report (default 20),
//! `BENCH_REPORTS` (comma-separated report names to run; default all). `funnel`,
//! `health-backtest` and `churn-model` run at most 3 times.

mod common;

use std::time::Instant;

use tenure_core::{Timestamp, WorkspaceId};
use tenure_reports::{ReportParams, ReportSettings};
use tenure_runtime::Live;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let accounts: usize = common::setting("BENCH_ACCOUNTS", 100_000);
    let runs: usize = common::setting("BENCH_RUNS", 20);
    let dir = tempfile::tempdir().expect("temp dir");
    let (store, entries) = common::simulated_store(dir.path(), accounts);

    let t = Instant::now();
    let live = Live::rebuild(
        store.as_ref(),
        tenure_config::Config::default().engine(),
        |_| {},
    )
    .expect("rebuild");
    let rebuild = t.elapsed().as_secs_f64();
    let ws = WorkspaceId::default_workspace();
    let settings = ReportSettings::default();
    let as_of = Timestamp::parse("2026-10-31T23:59:59.999Z").unwrap();
    let t = Instant::now();
    let (journeys, visitors) = live.read(&ws, |m| {
        (
            m.account_journeys().values().map(Vec::len).sum::<usize>(),
            m.visitor_journeys().len(),
        )
    });
    let warm = t.elapsed().as_secs_f64();
    let summary = live.read(&ws, |m| m.summary());

    println!("company: {accounts} accounts, {entries} log entries, {} touchpoints ({journeys} in account journeys, {visitors} unlinked visitors)", summary.touchpoints);
    println!("rebuild from the log (read, decode, apply): {rebuild:.1} s ({:.0} entries/s); first journey computation (account and visitor journeys, cached until the next change): {warm:.2} s", entries as f64 / rebuild);
    println!();
    println!("| report | --by | p50 ms | p95 ms | max ms | rows |");
    println!("|---|---|---:|---:|---:|---:|");
    // (report, --by, --model, --compare)
    let cases: &[(&str, Option<&str>, Option<&str>, bool)] = &[
        ("attribution", Some("channel"), None, true),
        ("attribution", Some("channel"), Some("markov"), false),
        ("attribution", Some("campaign"), Some("linear"), false),
        ("mrr", None, None, false),
        ("mrr", Some("channel"), None, false),
        ("retention", None, None, false),
        ("retention", Some("tier"), None, false),
        ("cohorts", None, None, false),
        ("survival", None, None, false),
        ("survival", Some("channel"), None, false),
        ("ltv", Some("campaign"), None, false),
        ("unit-economics", Some("campaign"), None, false),
        ("touchpoints", None, None, false),
        // Health, signals and stage of every customer at one instant.
        ("accounts", None, None, false),
        ("signals", None, None, false),
        ("adoption", None, None, false),
        // Every customer's daily lifecycle since conversion.
        ("funnel", None, None, false),
        // Every customer at twelve and twenty-four month ends.
        ("health-backtest", None, None, false),
        ("churn-model", None, None, false),
    ];
    // Reports that score every customer at many instants take long: fewer runs.
    let heavy = ["funnel", "health-backtest", "churn-model"];
    let only: Option<Vec<String>> = std::env::var("BENCH_REPORTS")
        .ok()
        .map(|s| s.split(',').map(str::to_owned).collect());
    for (name, by, model, compare) in cases {
        if only.as_ref().is_some_and(|o| !o.iter().any(|n| n == name)) {
            continue;
        }
        let params = ReportParams {
            by: by.map(str::to_owned),
            model: model.map(str::to_owned),
            metric: (*name == "attribution").then(|| "realized_revenue".to_owned()),
            compare: *compare,
            ..ReportParams::at(as_of)
        };
        let label = match (model, compare) {
            (_, true) => format!("{name} --compare (all 9 models)"),
            (Some(m), _) => format!("{name} --model {m}"),
            _ => name.to_string(),
        };
        let runs = if heavy.contains(name) {
            runs.min(3)
        } else {
            runs
        };
        let mut times = Vec::with_capacity(runs);
        let mut rows = 0;
        for _ in 0..runs {
            let t = Instant::now();
            let report = live
                .read(&ws, |m| tenure_reports::run(name, m, &settings, &params))
                .expect("report");
            times.push(t.elapsed().as_secs_f64() * 1000.0);
            rows = report.rows.len();
        }
        times.sort_by(f64::total_cmp);
        let pct = |p: f64| times[((times.len() - 1) as f64 * p).round() as usize];
        println!(
            "| {label} | {} | {:.1} | {:.1} | {:.1} | {rows} |",
            by.unwrap_or("-"),
            pct(0.5),
            pct(0.95),
            times[times.len() - 1]
        );
    }
}
