//! The experiment report's statistics against scipy 1.14.1 and statsmodels 0.14.4: the values
//! in `tests/reference/expected.json` come from `tests/reference/make_expected.py`, which says
//! which call gave each (`confint_proportions_2indep(..., method="newcomb")`,
//! `proportions_ztest`, `mannwhitneyu(..., method="asymptotic")`, `chisquare`).

use serde_json::Value;
use tenure_reports::significance::{mann_whitney, proportion_difference, sample_ratio};

fn expected() -> Value {
    serde_json::from_str(include_str!("reference/expected.json")).unwrap()
}

fn close(got: f64, want: f64, what: &str) {
    let scale = want.abs().max(1e-300);
    assert!(
        (got - want).abs() <= 1e-12 || (got - want).abs() / scale <= 1e-9,
        "{what}: {got} against {want}"
    );
}

fn number(v: &Value, key: &str) -> f64 {
    v[key].as_f64().unwrap_or_else(|| panic!("{key} in {v}"))
}

fn count(v: &Value, key: &str) -> u64 {
    v[key].as_u64().unwrap()
}

#[test]
fn the_difference_of_two_proportions_is_statsmodels_newcombe_interval_and_z_test() {
    for case in expected()["proportions"].as_array().unwrap() {
        let d = proportion_difference(
            count(case, "variant"),
            count(case, "variant_trials"),
            count(case, "control"),
            count(case, "control_trials"),
        )
        .unwrap();
        let what = case.to_string();
        close(d.difference, number(case, "difference"), &what);
        close(d.low_95, number(case, "low_95"), &what);
        close(d.high_95, number(case, "high_95"), &what);
        close(d.p_value, number(case, "p_value"), &what);
    }
}

#[test]
fn mann_whitney_is_scipys_asymptotic_test() {
    let floats = |v: &Value| -> Vec<f64> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect()
    };
    for case in expected()["mann_whitney"].as_array().unwrap() {
        let t = mann_whitney(&floats(&case["x"]), &floats(&case["y"])).unwrap();
        let what = case["name"].as_str().unwrap();
        close(t.u, number(case, "u"), what);
        close(t.p_value, number(case, "p_value"), what);
    }
}

#[test]
fn the_sample_ratio_check_is_scipys_chisquare_against_the_split_meant() {
    for case in expected()["sample_ratio"].as_array().unwrap() {
        let counts: Vec<u64> = case["counts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_u64().unwrap())
            .collect();
        // Without weights, scipy's default: an equal split.
        let weights: Vec<f64> = match case["weights"].as_array() {
            Some(w) => w.iter().map(|w| w.as_f64().unwrap()).collect(),
            None => vec![1.0; counts.len()],
        };
        let s = sample_ratio(&counts, &weights).unwrap();
        let what = case.to_string();
        close(s.statistic, number(case, "statistic"), &what);
        close(s.p_value, number(case, "p_value"), &what);
        assert_eq!(s.degrees_of_freedom as usize, counts.len() - 1);
        assert_eq!(s.mismatch, number(case, "p_value") < 0.001, "{what}");
    }
}
