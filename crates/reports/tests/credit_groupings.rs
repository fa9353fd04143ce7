//! `--model` on the ledger reports' touch groupings, over a simulated company: every account is
//! split over the channels (campaigns, …) its journey touched by the model's credit, so for
//! every per-journey model the groups' figures must add up to the ungrouped totals, and
//! `--model first_touch` must reproduce the default first-touch grouping exactly.

mod common;

use common::company;
use serde_json::Value;
use tenure_attribution::Model as Attribution;
use tenure_engine::Model;
use tenure_reports::{run, Report, ReportParams, ReportSettings};

fn report(model: &Model, name: &str, by: Option<&str>, attribution: Option<&str>) -> Report {
    let params = ReportParams {
        by: by.map(str::to_owned),
        model: attribution.map(str::to_owned),
        ..ReportParams::at(tenure_core::Timestamp::parse_end_of("2026-10-31").unwrap())
    };
    run(name, model, &ReportSettings::default(), &params)
        .unwrap_or_else(|e| panic!("{name} --by {by:?} --model {attribution:?}: {e}"))
}

fn number(row: &serde_json::Map<String, Value>, column: &str) -> f64 {
    row[column].as_f64().unwrap_or(0.0)
}

/// Σ over rows of `column`, keyed by the value of `key` (the month, or "" for one total).
fn sums(r: &Report, key: Option<&str>, column: &str) -> std::collections::BTreeMap<String, f64> {
    let mut out = std::collections::BTreeMap::new();
    for row in &r.rows {
        let k = key.map_or(String::new(), |k| row[k].to_string());
        *out.entry(k).or_insert(0.0) += number(row, column);
    }
    out
}

fn assert_close(
    got: &std::collections::BTreeMap<String, f64>,
    expected: &std::collections::BTreeMap<String, f64>,
    // Each group's figure is rounded (money to the cent, counts to 1e-6) before it is summed.
    rounding: f64,
    context: &str,
) {
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        expected.keys().collect::<Vec<_>>(),
        "{context}"
    );
    for (k, e) in expected {
        let g = got[k];
        assert!(
            (g - e).abs() <= rounding + 1e-9 * e.abs(),
            "{context} at {k}: grouped {g} vs total {e}"
        );
    }
}

#[test]
fn credit_weighted_groups_add_up_to_the_totals_under_every_model() {
    let (model, _) = company(400);
    let mrr_total = report(&model, "mrr", None, None);
    let ltv_total = report(&model, "ltv", None, None);
    let ltv_all = |r: &Report| {
        r.rows
            .iter()
            .find(|row| row["group"] == "all" || row.values().any(|v| v == "all"))
            .cloned()
            .expect("an all row")
    };
    let total = ltv_all(&ltv_total);
    let mut split_somewhere = false;
    // Every model but markov, which credits totals rather than single accounts.
    for name in Attribution::NAMES.iter().filter(|n| **n != "markov") {
        for by in ["channel", "campaign"] {
            let context = format!("--model {name} --by {by}");
            let mrr = report(&model, "mrr", Some(by), Some(name));
            let groups = mrr.rows.len() as f64 / sums(&mrr, Some("month"), "mrr").len() as f64;
            for column in ["mrr", "new", "expansion", "churn", "customers"] {
                assert_close(
                    &sums(&mrr, Some("month"), column),
                    &sums(&mrr_total, Some("month"), column),
                    0.005 * groups,
                    &format!("mrr {column} {context}"),
                );
            }
            split_somewhere |= mrr
                .rows
                .iter()
                .any(|row| number(row, "customers").fract() != 0.0);

            let cohorts = report(&model, "cohorts", Some(by), Some(name));
            let cohorts_total = report(&model, "cohorts", None, None);
            let first_month = |r: &Report, column: &str| {
                let mut out = std::collections::BTreeMap::new();
                for row in r.rows.iter().filter(|row| row["month"] == 0) {
                    *out.entry(row["cohort"].to_string()).or_insert(0.0) += number(row, column);
                }
                out
            };
            for column in ["accounts", "initial_mrr"] {
                assert_close(
                    &first_month(&cohorts, column),
                    &first_month(&cohorts_total, column),
                    0.005 * groups,
                    &format!("cohorts {column} {context}"),
                );
            }

            let ltv = report(&model, "ltv", Some(by), Some(name));
            let groups: Vec<_> = ltv.rows.iter().skip(1).collect();
            for column in [
                "customers",
                "active",
                "realized_revenue",
                "expansion_revenue",
            ] {
                let grouped: f64 = groups.iter().map(|row| number(row, column)).sum();
                let expected = number(&total, column);
                assert!(
                    (grouped - expected).abs()
                        <= 1e-9 * expected.abs() + 0.005 * groups.len() as f64,
                    "ltv {column} {context}: {grouped} vs {expected}"
                );
            }

            let retention = report(&model, "retention", Some(by), Some(name));
            let all = &retention.rows[0];
            for column in ["accounts", "mrr_start", "mrr_end"] {
                let grouped: f64 = retention.rows[1..]
                    .iter()
                    .map(|row| number(row, column))
                    .sum();
                let expected = number(all, column);
                assert!(
                    (grouped - expected).abs()
                        <= 1e-9 * expected.abs() + 0.005 * retention.rows.len() as f64,
                    "retention {column} {context}: {grouped} vs {expected}"
                );
            }

            let survival = report(&model, "survival", Some(by), Some(name));
            let summary = survival.summary.as_ref().expect("summary");
            let groups = summary["groups"].as_array().expect("groups");
            let customers: f64 = groups
                .iter()
                .map(|g| g["customers"].as_f64().unwrap())
                .sum();
            assert!(
                (customers - number(&total, "customers")).abs() <= 1e-6 * groups.len() as f64,
                "survival customers {context}: {customers}"
            );
            assert_eq!(
                summary["log_rank"],
                Value::Null,
                "{context}: no log-rank on split accounts"
            );
        }
    }
    assert!(split_somewhere, "some model splits some account");
}

#[test]
fn first_touch_credit_is_the_default_grouping() {
    let (model, _) = company(300);
    for name in ["mrr", "retention", "cohorts", "ltv", "unit-economics"] {
        for by in ["channel", "campaign"] {
            let default = report(&model, name, Some(by), None);
            let credited = report(&model, name, Some(by), Some("first_touch"));
            assert_eq!(default.rows, credited.rows, "{name} --by {by}");
        }
    }
    let default = report(&model, "survival", Some("channel"), None);
    let credited = report(&model, "survival", Some("channel"), Some("first_touch"));
    assert_eq!(default.rows, credited.rows);
}

#[test]
fn models_that_cannot_split_an_account_are_refused_with_the_reason() {
    let (model, _) = company(50);
    let settings = ReportSettings::default();
    let at = ReportParams::at(tenure_core::Timestamp::parse_end_of("2026-10-31").unwrap());
    let cases = [
        (
            Some("channel"),
            "markov",
            "markov credits totals over all journeys",
        ),
        (Some("tier"), "linear", "needs --by channel"),
        (None, "linear", "needs --by channel"),
        (Some("channel"), "nonsense", "nonsense"),
    ];
    for (by, name, expected) in cases {
        let params = ReportParams {
            by: by.map(str::to_owned),
            model: Some(name.to_owned()),
            ..at.clone()
        };
        let error = run("mrr", &model, &settings, &params).expect_err("refused");
        assert!(
            error.to_string().contains(expected),
            "--by {by:?} --model {name}: {error}"
        );
    }
}
