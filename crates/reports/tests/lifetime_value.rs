//! Each account's predicted lifetime value on a simulated company: one source for every report
//! that reads it, and predictions that foretell the revenue that followed.

mod common;

use common::company;
use tenure_core::Timestamp;
use tenure_reports::{run, ReportParams, ReportSettings};

fn at_end() -> ReportParams {
    ReportParams::at(Timestamp::parse("2026-10-31T23:59:59.999Z").unwrap())
}

/// `attribution --metric predicted_ltv` credits exactly the values `predicted-ltv` lists, under a
/// model that splits accounts (linear) as under one that does not (first touch), and
/// `unit-economics`' predicted LTV of all customers is their mean.
#[test]
fn every_report_reads_the_same_account_values() {
    let (model, _) = company(1_000);
    let settings = ReportSettings::default();
    let listed = run("predicted-ltv", &model, &settings, &at_end()).unwrap();
    let summary = listed.summary.as_ref().unwrap();
    let total = summary["total_predicted_ltv"].as_f64().unwrap();
    let customers = summary["customers"].as_f64().unwrap();
    assert_eq!(summary["method"], "churn_model");
    let rows_total: f64 = listed
        .rows
        .iter()
        .map(|r| r["predicted_ltv"].as_f64().unwrap())
        .sum();
    assert!(
        (rows_total - total).abs() < 0.01 * customers,
        "{rows_total} {total}"
    );
    for row in &listed.rows {
        let v = |k: &str| row[k].as_f64().unwrap();
        assert!(
            v("predicted_ltv_low_90") <= v("predicted_ltv") + 0.01,
            "{row:?}"
        );
        assert!(
            v("predicted_ltv") <= v("predicted_ltv_high_90") + 0.01,
            "{row:?}"
        );
        assert!(
            v("realized_revenue") <= v("predicted_ltv") + 0.01,
            "{row:?}"
        );
    }
    for attribution_model in ["first_touch", "linear"] {
        let params = ReportParams {
            by: Some("campaign".into()),
            model: Some(attribution_model.into()),
            metric: Some("predicted_ltv".into()),
            ..at_end()
        };
        let credited = run("attribution", &model, &settings, &params).unwrap();
        let sum: f64 = credited
            .rows
            .iter()
            .map(|r| r["predicted_ltv"].as_f64().unwrap())
            .sum();
        assert!(
            (sum - total).abs() < 0.01 * credited.rows.len() as f64,
            "{attribution_model}: {sum} credited, {total} listed"
        );
        let n: f64 = credited
            .rows
            .iter()
            .map(|r| r["customers"].as_f64().unwrap())
            .sum();
        assert!((n - customers).abs() < 1e-6, "{attribution_model}: {n}");
    }
}

/// The model made 3–12 months back foretells the revenue each account then brought: on the
/// simulated company (seed 42, 2,000 accounts) the slope of actual on predicted is within 15% of
/// 1, the total within 10%, and the 90% intervals hold between 80% and 98% of the accounts.
/// (Seen when written: slope 0.99–1.00, error within 1%, coverage about 93% on seed 90210.)
#[test]
fn the_backtest_is_calibrated() {
    let (model, _) = company(2_000);
    let r = run(
        "ltv-backtest",
        &model,
        &ReportSettings::default(),
        &at_end(),
    )
    .unwrap();
    let s = r.summary.as_ref().unwrap();
    let slope = s["calibration_slope"].as_f64().unwrap();
    let error = s["error"].as_f64().unwrap();
    let coverage = s["interval_coverage"].as_f64().unwrap();
    assert!((0.85..=1.15).contains(&slope), "slope {slope}");
    assert!(error.abs() <= 0.1, "error {error}");
    assert!((0.8..=0.98).contains(&coverage), "coverage {coverage}");
    assert_eq!(r.rows.len(), 4);
    assert!(s["predictions"].as_u64().unwrap() > 500);
}

/// An account that has lapsed is worth what it realized plus its chance of coming back and
/// staying: once back it churns at the company's rate, not at what its lapsed facts (no usage,
/// nobody active) would say. Against the simulator's planted lifetime values of the accounts
/// not paying at the end (seed 42, 2,000 accounts), their predicted total is within 15% under
/// to 25% over. (Seen when written: 1.154; pricing the return by the lapsed facts gave 0.669.)
#[test]
fn lapsed_accounts_are_priced_on_coming_back() {
    let (model, truth) = company(2_000);
    let listed = run(
        "predicted-ltv",
        &model,
        &ReportSettings::default(),
        &at_end(),
    )
    .unwrap();
    let planted: std::collections::HashMap<&str, f64> = truth["account_truths"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            let cents = a["planted_ltv_cents"].as_f64().unwrap_or(0.0);
            (a["account_id"].as_str().unwrap(), cents / 100.0)
        })
        .collect();
    let (mut predicted, mut truth_total, mut lapsed) = (0.0, 0.0, 0);
    for row in listed.rows.iter().filter(|r| r["active"] == false) {
        predicted += row["predicted_ltv"].as_f64().unwrap();
        truth_total += planted[row["account"].as_str().unwrap()];
        lapsed += 1;
    }
    let ratio = predicted / truth_total;
    println!("{lapsed} lapsed accounts: predicted ÷ planted = {ratio:.3}");
    assert!(lapsed > 100, "{lapsed}");
    assert!((0.85..=1.25).contains(&ratio), "{ratio}");
}
