//! `churn-model` and `forecast` (SPEC §4, Prediction): a logistic model of churn in the next 90
//! days, trained on monthly snapshots of account features, evaluated on a later time holdout;
//! its probabilities give the expected renewal ARR of the contracts ending in the next 90 days,
//! back-tested one quarter earlier.

use serde_json::{json, Map, Value};
use tenure_core::Timestamp;
use tenure_health::{brier, churn_features, roc_auc, Logistic, CHURN_FEATURES, DAY_MS};

use crate::accounts::{facts, snapshots, ungrouped_in_turn};
use crate::revenue::{month_start, Revenue};
use crate::{major, ratio, Report, ReportError, ReportParams, ReportSettings, WithModel};

const HORIZON: i64 = 90 * DAY_MS;
/// The penalty of the fit on standardised features (scikit-learn's C = 1).
const L2: f64 = 1.0;

/// One month-end snapshot of a paying account.
struct Sample {
    at: Timestamp,
    features: Vec<f64>,
    churned: bool,
}

/// Month ends up to `last`, newest last, at most `count`.
fn month_ends(last: Timestamp, count: usize) -> Vec<Timestamp> {
    let mut end = month_start(last.plus_millis(1)).plus_millis(-1);
    if end > last {
        end = month_start(end).plus_millis(-1);
    }
    let mut out = Vec::new();
    while out.len() < count {
        out.push(end);
        end = month_start(end).plus_millis(-1);
    }
    out.reverse();
    out
}

/// Snapshots at `ends` of every account paying then, labelled by churn in the next 90 days.
fn samples(
    with_model: WithModel,
    settings: &ReportSettings,
    revenue: &Revenue,
    ends: &[Timestamp],
) -> Vec<Sample> {
    snapshots(with_model, settings, revenue, ends, HORIZON, |f| {
        churn_features(&f, settings.signals.activation_days)
    })
    .into_iter()
    .map(|s| Sample {
        at: s.at,
        features: s.value,
        churned: s.churned,
    })
    .collect()
}

/// A fitted model with the standardisation it was fitted on.
struct Fitted {
    means: Vec<f64>,
    scales: Vec<f64>,
    model: Logistic,
}

impl Fitted {
    fn train(samples: &[&Sample]) -> Option<Fitted> {
        let p = CHURN_FEATURES.len();
        let n = samples.len() as f64;
        if samples.is_empty() {
            return None;
        }
        let means: Vec<f64> = (0..p)
            .map(|j| samples.iter().map(|s| s.features[j]).sum::<f64>() / n)
            .collect();
        let scales: Vec<f64> = (0..p)
            .map(|j| {
                let var = samples
                    .iter()
                    .map(|s| (s.features[j] - means[j]).powi(2))
                    .sum::<f64>()
                    / n;
                if var > 0.0 {
                    var.sqrt()
                } else {
                    1.0
                }
            })
            .collect();
        let mut fitted = Fitted {
            means,
            scales,
            model: Logistic {
                intercept: 0.0,
                coefficients: Vec::new(),
                std_errors: Vec::new(),
                iterations: 0,
            },
        };
        let x: Vec<Vec<f64>> = samples
            .iter()
            .map(|s| fitted.standardise(&s.features))
            .collect();
        let y: Vec<bool> = samples.iter().map(|s| s.churned).collect();
        fitted.model = Logistic::fit(&x, &y, L2)?;
        Some(fitted)
    }

    fn standardise(&self, features: &[f64]) -> Vec<f64> {
        features
            .iter()
            .zip(self.means.iter().zip(&self.scales))
            .map(|(v, (m, s))| (v - m) / s)
            .collect()
    }

    fn predict(&self, features: &[f64]) -> f64 {
        self.model.predict(&self.standardise(features))
    }
}

fn too_little(reason: &str) -> ReportError {
    ReportError::Parameter {
        name: "as_of",
        reason: format!("{reason}; the churn model needs more history (or churn) before as_of"),
    }
}

/// `churn-model`: 24 month ends with a known 90-day outcome; the last 4 are the holdout, and
/// the model is trained on the month ends whose outcome was known by the first of them.
pub(crate) fn model_report(
    with_model: WithModel,
    settings: &ReportSettings,
    params: &ReportParams,
) -> Result<Report, ReportError> {
    let revenue = ungrouped_in_turn(with_model, settings, params)?;
    let ends = month_ends(params.as_of.plus_millis(-HORIZON), 24);
    let all = samples(with_model, settings, &revenue, &ends);
    let split = ends[ends.len() - 4];
    let train: Vec<&Sample> = all
        .iter()
        .filter(|s| s.at.plus_millis(HORIZON) <= split)
        .collect();
    let holdout: Vec<&Sample> = all.iter().filter(|s| s.at >= split).collect();
    if !train.iter().any(|s| s.churned) || !holdout.iter().any(|s| s.churned) {
        return Err(too_little(
            "no churn in the training or the holdout snapshots",
        ));
    }
    let fitted = Fitted::train(&train).ok_or_else(|| too_little("the fit did not converge"))?;
    let p: Vec<f64> = holdout
        .iter()
        .map(|s| fitted.predict(&s.features))
        .collect();
    let y: Vec<bool> = holdout.iter().map(|s| s.churned).collect();
    let p_train: Vec<f64> = train.iter().map(|s| fitted.predict(&s.features)).collect();
    let y_train: Vec<bool> = train.iter().map(|s| s.churned).collect();
    // Calibration by decile of predicted probability.
    let mut order: Vec<usize> = (0..p.len()).collect();
    order.sort_by(|&a, &b| p[a].total_cmp(&p[b]));
    let calibration: Vec<Value> = (0..10)
        .filter_map(|d| {
            let bin = &order[d * order.len() / 10..(d + 1) * order.len() / 10];
            (!bin.is_empty()).then(|| {
                let n = bin.len() as f64;
                json!({
                    "decile": d + 1,
                    "snapshots": bin.len(),
                    "predicted": ratio(Some(bin.iter().map(|&i| p[i]).sum::<f64>() / n)),
                    "observed": ratio(Some(bin.iter().filter(|&&i| y[i]).count() as f64 / n)),
                })
            })
        })
        .collect();
    let mut drivers: Vec<(usize, f64)> = fitted
        .model
        .coefficients
        .iter()
        .copied()
        .enumerate()
        .collect();
    drivers.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()));
    let columns: Vec<String> = [
        "rank",
        "feature",
        "coefficient",
        "odds_ratio_per_sd",
        "direction",
    ]
    .map(str::to_owned)
    .to_vec();
    let rows = drivers
        .iter()
        .enumerate()
        .map(|(rank, &(j, c))| {
            let mut row = Map::new();
            row.insert("rank".into(), (rank + 1).into());
            row.insert("feature".into(), CHURN_FEATURES[j].into());
            row.insert("coefficient".into(), ratio(Some(c)));
            row.insert("odds_ratio_per_sd".into(), ratio(Some(c.exp())));
            row.insert(
                "direction".into(),
                if c > 0.0 { "more churn" } else { "less churn" }.into(),
            );
            row
        })
        .collect();
    let mut report = Report::new("churn-model", params, None, columns, rows);
    report.from = ends.first().copied();
    report.to = ends.last().copied();
    report.summary = Some(json!({
        "label": "churn in the 90 days after the snapshot",
        "holdout_from": split.to_string(),
        "training_snapshots": train.len(),
        "training_churned": y_train.iter().filter(|v| **v).count(),
        "holdout_snapshots": holdout.len(),
        "holdout_churned": y.iter().filter(|v| **v).count(),
        "training_roc_auc": ratio(roc_auc(&p_train, &y_train)),
        "holdout_roc_auc": ratio(roc_auc(&p, &y)),
        "holdout_brier": ratio(brier(&p, &y)),
        "holdout_base_rate": ratio(Some(y.iter().filter(|v| **v).count() as f64 / y.len() as f64)),
        "calibration": calibration,
        "l2": L2,
        "newton_iterations": fitted.model.iterations,
    }));
    Ok(report)
}

/// Expected renewal ARR of the contracts ending in `(at, at + 90 days]`, by a model trained on
/// what was known at `at`: each contract's account (index in `revenue`), ARR and churn
/// probability.
fn forecast_at(
    with_model: WithModel,
    settings: &ReportSettings,
    revenue: &Revenue,
    at: Timestamp,
) -> Result<Vec<(usize, i64, f64)>, ReportError> {
    let ends = month_ends(at.plus_millis(-HORIZON), 24);
    let known = samples(with_model, settings, revenue, &ends);
    let train: Vec<&Sample> = known.iter().collect();
    if !train.iter().any(|s| s.churned) {
        return Err(too_little("no churn in the training snapshots"));
    }
    let fitted = Fitted::train(&train).ok_or_else(|| too_little("the fit did not converge"))?;
    let mut due = Vec::new();
    with_model(&mut |model| {
        for (i, a) in revenue.accounts.iter().enumerate() {
            let mrr = a.mrr_at(at);
            if mrr <= 0 {
                continue;
            }
            let f = facts(model, settings, a, at);
            if f.contract_end
                .is_some_and(|end| end > at.millis() && end <= at.plus_millis(HORIZON).millis())
            {
                let p = fitted.predict(&churn_features(&f, settings.signals.activation_days));
                due.push((i, 12 * mrr, p));
            }
        }
    });
    Ok(due)
}

/// `forecast`: expected renewal ARR for the next 90 days, and the same forecast made 90 days
/// ago against what those contracts' accounts pay now.
pub(crate) fn forecast_report(
    with_model: WithModel,
    settings: &ReportSettings,
    params: &ReportParams,
) -> Result<Report, ReportError> {
    let revenue = ungrouped_in_turn(with_model, settings, params)?;
    let c = revenue.currency;
    let due = forecast_at(with_model, settings, &revenue, params.as_of)?;
    let columns: Vec<String> = ["account", "arr", "churn_probability", "expected_arr"]
        .map(str::to_owned)
        .to_vec();
    let rows = due
        .iter()
        .map(|&(i, arr, p)| {
            let mut row = Map::new();
            row.insert(
                "account".into(),
                revenue.accounts[i].account.as_str().into(),
            );
            row.insert("arr".into(), major(arr, c));
            row.insert("churn_probability".into(), ratio(Some(p)));
            row.insert(
                "expected_arr".into(),
                major((arr as f64 * (1.0 - p)).round() as i64, c),
            );
            row
        })
        .collect();
    let up: i64 = due.iter().map(|(_, arr, _)| arr).sum();
    let expected: f64 = due.iter().map(|(_, arr, p)| *arr as f64 * (1.0 - p)).sum();
    let back = params.as_of.plus_millis(-HORIZON);
    let backtest = match forecast_at(with_model, settings, &revenue, back) {
        Ok(due) => {
            let up: i64 = due.iter().map(|(_, arr, _)| arr).sum();
            let expected: f64 = due.iter().map(|(_, arr, p)| *arr as f64 * (1.0 - p)).sum();
            let actual: i64 = due
                .iter()
                .map(|&(i, _, _)| 12 * revenue.accounts[i].mrr_at(params.as_of))
                .sum();
            let renewed = due
                .iter()
                .filter(|&&(i, _, _)| revenue.accounts[i].mrr_at(params.as_of) > 0)
                .count();
            json!({
                "forecast_at": back.to_string(),
                "contracts": due.len(),
                "arr_up_for_renewal": major(up, c),
                "expected_arr": major(expected.round() as i64, c),
                "expected_renewals": ratio(Some(due.iter().map(|(_, _, p)| 1.0 - p).sum())),
                "actual_arr": major(actual, c),
                "actual_renewals": renewed,
                "error": ratio((actual > 0).then(|| expected / actual as f64 - 1.0)),
            })
        }
        Err(e) => json!({"forecast_at": back.to_string(), "unavailable": e.to_string()}),
    };
    let mut report = Report::new("forecast", params, None, columns, rows);
    report.summary = Some(json!({
        "horizon_days": 90,
        "contracts": due.len(),
        "arr_up_for_renewal": major(up, c),
        "expected_renewal_arr": major(expected.round() as i64, c),
        "backtest": backtest,
    }));
    Ok(report)
}
