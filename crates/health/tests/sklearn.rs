//! ROC AUC and the Brier score against scikit-learn on the same inputs.
//!
//! `tests/reference/expected.json` was produced by scikit-learn 1.7.2 and statsmodels 0.15.0
//! (numpy 2.4.6, Python 3.11.7) with `python3 tests/reference/make_expected.py > tests/reference/expected.json`
//! (from `crates/health`): `sklearn.metrics.roc_auc_score` and `brier_score_loss` on five seeded
//! cases: a hand-made one, 300 scores on a 5-step scale (ties everywhere, as health scores
//! have), 2,000 informative probabilities, an inverted score (AUC below 0.5) and 7 positives in
//! 1,000; and a logistic regression on 400 seeded rows, penalised (scikit-learn) and not
//! (statsmodels' `Logit`, with its standard errors).

use serde_json::Value;
use tenure_health::{brier, roc_auc};

const EXPECTED: &str = include_str!("reference/expected.json");

#[test]
fn auc_and_brier_equal_scikit_learn() {
    let reference: Value = serde_json::from_str(EXPECTED).unwrap();
    assert_eq!(reference["scikit_learn"], "1.7.2");
    let cases = reference["cases"].as_array().unwrap();
    assert!(cases.len() >= 5);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let scores: Vec<f64> = case["scores"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        let labels: Vec<bool> = case["labels"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_bool().unwrap())
            .collect();
        let auc = roc_auc(&scores, &labels).expect("both classes present");
        let expected = case["roc_auc"].as_f64().unwrap();
        assert!(
            (auc - expected).abs() < 1e-12,
            "{name}: AUC {auc} vs scikit-learn {expected}"
        );
        if let Some(expected) = case.get("brier").and_then(Value::as_f64) {
            let b = brier(&scores, &labels).unwrap();
            assert!(
                (b - expected).abs() < 1e-12,
                "{name}: Brier {b} vs scikit-learn {expected}"
            );
        }
    }
}

/// Asserts that `fit` has the intercept, coefficients and standard errors of `expected`, to 1e-6.
fn assert_fit(label: &str, ours: &tenure_health::Logistic, expected: &Value) {
    let close = |what: String, ours: f64, theirs: &Value| {
        let theirs = theirs.as_f64().unwrap();
        assert!(
            (ours - theirs).abs() < 1e-6,
            "{label}: {what} {ours} vs {theirs}"
        );
    };
    close("intercept".into(), ours.intercept, &expected["intercept"]);
    for (field, values) in [
        ("coefficients", &ours.coefficients),
        ("std_errors", &ours.std_errors),
    ] {
        let theirs = expected[field].as_array().unwrap();
        assert_eq!(theirs.len(), values.len(), "{label}: {field}");
        for (j, (v, e)) in values.iter().zip(theirs).enumerate() {
            close(format!("{field}[{j}]"), *v, e);
        }
    }
}

/// `Logistic::fit(x, y, 1 / C)` equals scikit-learn's `LogisticRegression(C)` (newton-cg,
/// tol 1e-12) on 400 seeded rows of 3 features, for C = 1 and C = 0.1, standard errors
/// included; without a penalty it equals statsmodels' `Logit`, whose `bse` are the textbook
/// Wald standard errors.
#[test]
fn logistic_regression_equals_scikit_learn_and_statsmodels() {
    let reference: Value = serde_json::from_str(EXPECTED).unwrap();
    assert_eq!(reference["statsmodels"], "0.15.0");
    let data = &reference["logistic"];
    let x: Vec<Vec<f64>> = data["x"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r.as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap())
                .collect()
        })
        .collect();
    let y: Vec<bool> = data["y"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_bool().unwrap())
        .collect();
    for fit in data["fits"].as_array().unwrap() {
        let c = fit["c"].as_f64().unwrap();
        let ours = tenure_health::Logistic::fit(&x, &y, 1.0 / c).unwrap();
        assert_fit(&format!("C={c}"), &ours, fit);
    }
    let ours = tenure_health::Logistic::fit(&x, &y, 0.0).unwrap();
    assert_fit("unpenalised", &ours, &data["unpenalised"]);
}
