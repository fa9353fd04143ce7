//! Does attribution recover what the simulator planted? The simulated company's truth is per
//! acquisition (first-touch) campaign: its realized revenue per dollar and its customers'
//! 90-day retention. Rankings are compared by Spearman's rank correlation.

mod common;

use std::collections::BTreeMap;

use common::company;
use tenure_core::Timestamp;
use tenure_reports::{run, ReportParams, ReportSettings};

fn spearman(a: &BTreeMap<String, f64>, b: &BTreeMap<String, f64>) -> f64 {
    let rank = |m: &BTreeMap<String, f64>| -> BTreeMap<String, usize> {
        let mut keys: Vec<&String> = m.keys().collect();
        keys.sort_by(|x, y| m[*y].total_cmp(&m[*x]).then(x.cmp(y)));
        keys.into_iter()
            .enumerate()
            .map(|(i, k)| (k.clone(), i))
            .collect()
    };
    let (ra, rb) = (rank(a), rank(b));
    let n = a.len() as f64;
    let d2: f64 = ra
        .iter()
        .map(|(k, r)| (*r as f64 - rb[k] as f64).powi(2))
        .sum();
    1.0 - 6.0 * d2 / (n * (n * n - 1.0))
}

#[test]
fn first_touch_attribution_recovers_the_planted_campaign_ranking() {
    let (model, truth) = company(2_000);
    let paid: BTreeMap<String, (f64, f64)> = truth["campaigns"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["spend_cents"].as_i64().unwrap() > 0)
        .map(|c| {
            (
                c["campaign"].as_str().unwrap().to_owned(),
                (
                    c["revenue_per_dollar"].as_f64().unwrap(),
                    // retained ÷ customers, as the report's retained ÷ conversions (the truth's
                    // retention_90d divides by the customers converted 90 days before the end)
                    c["retained_90d"].as_f64().unwrap() / c["customers"].as_f64().unwrap().max(1.0),
                ),
            )
        })
        .collect();
    let truth_rpd: BTreeMap<String, f64> = paid.iter().map(|(k, v)| (k.clone(), v.0)).collect();
    let truth_ret: BTreeMap<String, f64> = paid.iter().map(|(k, v)| (k.clone(), v.1)).collect();
    let as_of = Timestamp::parse("2026-10-31T23:59:59.999Z").unwrap();
    let attributed = |metric: &str, column: &str| -> BTreeMap<String, f64> {
        let params = ReportParams {
            by: Some("campaign".into()),
            model: Some("first_touch".into()),
            metric: Some(metric.into()),
            ..ReportParams::at(as_of)
        };
        let report = run("attribution", &model, &ReportSettings::default(), &params).unwrap();
        report
            .rows
            .iter()
            .filter_map(|r| {
                let name = r["campaign"].as_str()?.to_owned();
                paid.contains_key(&name)
                    .then(|| (name, r[column].as_f64().unwrap_or(0.0)))
            })
            .collect()
    };
    // realized revenue per dollar: credited realized revenue ÷ spend (the report's roas)
    let rpd = attributed("realized_revenue", "roas");
    assert_eq!(rpd.len(), paid.len());
    let rho = spearman(&rpd, &truth_rpd);
    eprintln!("realized revenue per dollar, first touch vs truth: Spearman {rho:.3}");
    assert!(
        rho >= 0.9,
        "realized revenue per dollar: Spearman {rho:.3}\ntenure {rpd:?}\ntruth {truth_rpd:?}"
    );
    // 90-day retention per customer: credited retained customers ÷ credited conversions
    let retained = attributed("retained_90d", "retained_90d");
    let converted = attributed("conversions", "conversions");
    let rate: BTreeMap<String, f64> = retained
        .iter()
        .map(|(k, v)| (k.clone(), v / converted[k].max(1.0)))
        .collect();
    // The planted gap: fb_smb_promo's customers churn early, li_abm_enterprise's stay.
    for name in ["fb_smb_promo", "li_abm_enterprise"] {
        assert!(
            (rate[name] - truth_ret[name]).abs() < 0.05,
            "{name}: tenure {:.3}, truth {:.3}",
            rate[name],
            truth_ret[name]
        );
    }
    assert!(
        rate["fb_smb_promo"] + 0.1 < rate["li_abm_enterprise"],
        "{rate:?}"
    );
    let rho = spearman(&rate, &truth_ret);
    eprintln!("90-day retention, first touch vs truth: Spearman {rho:.3}");
    assert!(
        rho >= 0.5,
        "90-day retention: Spearman {rho:.3}\ntenure {rate:?}\ntruth {truth_ret:?}"
    );
}
