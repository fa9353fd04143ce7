//! Does `experiment` recover the onboarding experiment the simulator planted? The simulated
//! company assigns each new customer `control` or `guided` at random, sends the variant both as
//! the group trait `onboarding_variant` and in an `Experiment Viewed` track of experiment
//! `onboarding_v2`, and adds `world.experiment.activation_lift` to the guided customers'
//! probability of activating (and shortens their time to value).

mod common;

use serde_json::Value;
use tenure_core::Timestamp;
use tenure_engine::Model;
use tenure_reports::{run, Report, ReportError, ReportParams, ReportSettings};

fn experiment(model: &Model, by: &str, control: Option<&str>) -> Result<Report, ReportError> {
    let params = ReportParams {
        by: Some(by.into()),
        control: control.map(str::to_owned),
        ..ReportParams::at(Timestamp::parse("2026-11-01T23:59:59.999Z").unwrap())
    };
    run("experiment", model, &ReportSettings::default(), &params)
}

fn row<'a>(report: &'a Report, variant: &str) -> &'a serde_json::Map<String, Value> {
    report
        .rows
        .iter()
        .find(|r| r["variant"] == variant)
        .unwrap_or_else(|| panic!("no row {variant}: {:?}", report.rows))
}

fn number(row: &serde_json::Map<String, Value>, key: &str) -> f64 {
    row[key]
        .as_f64()
        .unwrap_or_else(|| panic!("{key} in {row:?}"))
}

#[test]
fn the_experiment_recovers_the_planted_activation_lift_both_ways_of_reading_the_variant() {
    let (model, truth) = common::company_of_seed(2_000, 7);
    let by_trait = experiment(&model, "onboarding_variant", None).unwrap();
    let by_event = experiment(&model, "onboarding_v2", None).unwrap();
    let summary = |r: &Report, key: &str| r.summary.as_ref().unwrap()[key].clone();
    assert_eq!(summary(&by_trait, "variant_source"), "group_trait");
    assert_eq!(summary(&by_event, "variant_source"), "experiment_viewed");
    // The two ways of reading the variant give the same figures.
    assert_eq!(by_trait.rows, by_event.rows);
    assert_eq!(summary(&by_trait, "control"), "control");
    assert_eq!(summary(&by_trait, "control_source"), "named");
    assert_eq!(by_trait.rows[0]["variant"], "control");
    assert_eq!(by_trait.rows[0]["activation_difference"], Value::Null);

    // Customers per variant are the simulator's.
    for planted in truth["experiment"].as_array().unwrap() {
        let variant = planted["variant"].as_str().unwrap();
        let row = row(&by_trait, variant);
        assert_eq!(
            row["accounts"].as_u64(),
            planted["customers"].as_u64(),
            "{variant}"
        );
    }
    assert_eq!(summary(&by_trait, "without_variant"), 0);
    // A fair coin split them: no sample-ratio mismatch.
    assert_eq!(summary(&by_trait, "sample_ratio")["mismatch"], false);

    // The planted lift is on whether a customer activates at all: inside the 95% interval of
    // guided's difference from control in activation to date. (Activation within the window
    // differs by more, as guided customers also activate sooner.)
    let lift = truth["world"]["experiment"]["activation_lift"]
        .as_f64()
        .unwrap();
    let guided = row(&by_trait, "guided");
    let (low, high) = (
        number(guided, "activation_to_date_difference_low_95"),
        number(guided, "activation_to_date_difference_high_95"),
    );
    eprintln!(
        "activation to date: difference {} [{low}, {high}], planted {lift}; p {}",
        number(guided, "activation_to_date_difference"),
        number(guided, "activation_to_date_p_value")
    );
    assert!(
        low <= lift && lift <= high,
        "{lift} outside [{low}, {high}]"
    );
    // Each variant's rate is the simulator's (over all its customers, the report's over those
    // converted at least the window ago).
    for planted in truth["experiment"].as_array().unwrap() {
        let variant = planted["variant"].as_str().unwrap();
        let rate = number(row(&by_trait, variant), "activation_to_date_rate");
        let truth = planted["activation_rate"].as_f64().unwrap();
        assert!(
            (rate - truth).abs() < 0.04,
            "{variant}: {rate} against {truth}"
        );
    }
    assert!(
        number(guided, "activation_difference") > 0.0
            && number(guided, "activation_p_value") < 0.05
    );
    // Guided onboarding is faster too (the simulator shortens its mean time to value by 30%).
    assert!(
        number(guided, "median_time_to_value_days")
            < number(row(&by_trait, "control"), "median_time_to_value_days")
    );
}

#[test]
fn the_control_can_be_named_and_an_unknown_name_is_refused_naming_both_places_looked() {
    let (model, _) = common::company_of_seed(300, 11);
    let flipped = experiment(&model, "onboarding_variant", Some("guided")).unwrap();
    assert_eq!(flipped.rows[0]["variant"], "guided");
    assert_eq!(flipped.summary.as_ref().unwrap()["control_source"], "given");
    let normal = experiment(&model, "onboarding_variant", None).unwrap();
    // Against the other control, the difference changes sign.
    let d = |r: &Report| number(&r.rows[1], "activation_difference");
    assert!((d(&flipped) + d(&normal)).abs() < 1e-6);

    match experiment(&model, "onboarding_varient", None) {
        Err(e @ ReportError::Grouping { .. }) => {
            let text = e.to_string();
            assert!(text.contains("group trait"), "{text}");
            assert!(text.contains("Experiment Viewed"), "{text}");
        }
        other => panic!("{other:?}"),
    }
    // A fair coin's split is no mismatch against an equal split; against a split meant to be
    // 1 to 9 it is.
    let srm = |r: &Report| r.summary.as_ref().unwrap()["sample_ratio"]["mismatch"].clone();
    assert_eq!(srm(&normal), false);
    let params = ReportParams {
        by: Some("onboarding_variant".into()),
        expected_split: Some("control=1,guided=9".into()),
        ..ReportParams::at(Timestamp::parse("2026-11-01T23:59:59.999Z").unwrap())
    };
    let meant = run("experiment", &model, &ReportSettings::default(), &params).unwrap();
    assert_eq!(srm(&meant), true, "{:?}", meant.summary);
    assert_eq!(
        meant.summary.as_ref().unwrap()["expected_shares"],
        serde_json::json!({"control": 0.1, "guided": 0.9})
    );
    match experiment(&model, "onboarding_variant", Some("guidd")) {
        Err(ReportError::Parameter {
            name: "control", ..
        }) => {}
        other => panic!("{other:?}"),
    }
    // Without --by, the error names the flag.
    let params = ReportParams::at(Timestamp::parse("2026-11-01T23:59:59.999Z").unwrap());
    match run("experiment", &model, &ReportSettings::default(), &params) {
        Err(e @ ReportError::Parameter { name: "by", .. }) => {
            assert!(e.to_string().contains("--by"), "{e}");
        }
        other => panic!("{other:?}"),
    }
}
