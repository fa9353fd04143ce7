//! Agreement with lifelines, the reference implementation the spec's "standard statistical
//! packages" means.
//!
//! The expected values in `tests/reference/expected.json` were produced by lifelines 0.30.3
//! (numpy 2.4.6, scipy 1.17.1, Python 3.11.7) with, from `crates/survival`:
//!
//! ```text
//! python3 -m pip install -r tests/reference/requirements.txt
//! python3 tests/reference/make_expected.py > tests/reference/expected.json
//! ```
//!
//! The script takes every number from lifelines itself: `KaplanMeierFitter` (`event_table`,
//! `survival_function_`, `confidence_interval_`, `median_survival_time_`, `predict`),
//! `lifelines.utils.restricted_mean_survival_time`, `lifelines.statistics.
//! multivariate_logrank_test`, and `scipy.stats.chi2.sf`. Data sets: a hand-made one with ties
//! at 0 and elsewhere ending at S = 0; an all-censored one; lifelines' `load_waltons()` by
//! `group` (2 groups); `load_rossi()` week/arrest by prior convictions 0 / 1–3 / 4+ (3 groups)
//! and by financial aid × race (4 groups, so a 3×3 variance matrix); a seeded synthetic set of
//! 240 fractional-day lifetimes in 3 plans with heavy censoring; and two weighted sets (the
//! hand-made one and another synthetic one, with fractional weights passed to lifelines as
//! `weights=`), as accounts split over channels by attribution credit are counted.
//!
//! Every quantity must agree within 1e-9 absolute; p-values also within 1e-9 relative, because
//! an absolute bound says nothing about a p-value of 1e-28. Run with `--nocapture` to see the
//! largest difference found for each quantity.

use std::collections::BTreeMap;

use serde_json::Value;
use tenure_survival::{chi_squared_sf, log_rank, KaplanMeier, Observation};

const EXPECTED: &str = include_str!("reference/expected.json");
const TOLERANCE: f64 = 1e-9;

/// Largest |difference| per quantity, across all data sets, so one failure message (or the
/// `--nocapture` output) shows how close the whole comparison is, not just the first miss.
#[derive(Default)]
struct Differences {
    max: BTreeMap<&'static str, f64>,
    failures: Vec<String>,
}

impl Differences {
    fn absolute(&mut self, quantity: &'static str, context: &str, got: f64, expected: f64) {
        let diff = (got - expected).abs();
        self.record(quantity, diff);
        if diff.is_nan() || diff > TOLERANCE {
            self.failures.push(format!(
                "{context}: {quantity} = {got}, lifelines {expected} (|diff| {diff:e})"
            ));
        }
    }

    fn relative(&mut self, quantity: &'static str, context: &str, got: f64, expected: f64) {
        let diff = if expected == 0.0 {
            got.abs()
        } else {
            ((got - expected) / expected).abs()
        };
        self.record(quantity, diff);
        if diff.is_nan() || diff > TOLERANCE {
            self.failures.push(format!(
                "{context}: {quantity} = {got:e}, expected {expected:e} (relative diff {diff:e})"
            ));
        }
    }

    fn exact<T: PartialEq + std::fmt::Debug>(&mut self, context: &str, got: T, expected: T) {
        if got != expected {
            self.failures
                .push(format!("{context}: got {got:?}, lifelines {expected:?}"));
        }
    }

    fn record(&mut self, quantity: &'static str, diff: f64) {
        let entry = self.max.entry(quantity).or_insert(0.0);
        *entry = entry.max(diff);
    }

    fn finish(self) {
        for (quantity, diff) in &self.max {
            println!("max difference {quantity:<24} {diff:e}");
        }
        assert!(
            self.failures.is_empty(),
            "{} disagreements with lifelines:\n{}",
            self.failures.len(),
            self.failures.join("\n")
        );
    }
}

fn f(v: &Value) -> f64 {
    v.as_f64()
        .unwrap_or_else(|| panic!("expected a number, got {v}"))
}

fn u(v: &Value) -> u64 {
    v.as_u64()
        .unwrap_or_else(|| panic!("expected a count, got {v}"))
}

fn observations(set: &Value) -> Vec<Observation> {
    set["observations"]
        .as_array()
        .expect("observations")
        .iter()
        .map(|o| Observation {
            time: f(&o["time"]),
            event: o["event"].as_bool().expect("event"),
            weight: o.get("weight").map_or(1.0, f),
        })
        .collect()
}

fn reference() -> Value {
    let reference: Value = serde_json::from_str(EXPECTED).expect("expected.json parses");
    assert_eq!(reference["lifelines"], "0.30.3");
    reference
}

#[test]
fn kaplan_meier_and_log_rank_agree_with_lifelines() {
    let reference = reference();
    let sets = reference["datasets"].as_array().expect("datasets");
    assert!(sets.len() >= 3, "the bar is at least three data sets");
    let mut diffs = Differences::default();

    for set in sets {
        let name = set["name"].as_str().expect("name");
        let data = observations(set);
        let km = KaplanMeier::fit(&data);

        // Every row of lifelines' timeline is one of ours, except its synthetic row at 0 when
        // nobody has time 0; there S = 1 with band (1, 1), which is what our curve implies.
        let timeline = set["timeline"].as_array().expect("timeline");
        let mut ours = km.points.iter().peekable();
        for row in timeline {
            let time = f(&row["time"]);
            let context = format!("{name} t={time}");
            let point = match ours.peek() {
                Some(p) if p.time == time => ours.next().expect("peeked"),
                _ => {
                    diffs.exact(
                        &context,
                        (time, f(&row["events"]), f(&row["censored"])),
                        (0.0, 0.0, 0.0),
                    );
                    diffs.absolute(
                        "at risk",
                        &context,
                        km.at_risk_table(&[time])[0].1,
                        f(&row["at_risk"]),
                    );
                    diffs.absolute(
                        "survival",
                        &context,
                        km.survival_at(time),
                        f(&row["survival"]),
                    );
                    diffs.absolute("ci lower", &context, 1.0, f(&row["lower"]));
                    diffs.absolute("ci upper", &context, 1.0, f(&row["upper"]));
                    continue;
                }
            };
            diffs.absolute("at risk", &context, point.at_risk, f(&row["at_risk"]));
            diffs.absolute("events", &context, point.events, f(&row["events"]));
            diffs.absolute("censored", &context, point.censored, f(&row["censored"]));
            diffs.absolute("survival", &context, point.survival, f(&row["survival"]));
            diffs.absolute("ci lower", &context, point.lower, f(&row["lower"]));
            diffs.absolute("ci upper", &context, point.upper, f(&row["upper"]));
        }
        diffs.exact(&format!("{name}: points left over"), ours.next(), None);

        let median = set["median"].as_f64();
        match (km.median(), median) {
            (Some(got), Some(expected)) => diffs.absolute("median", name, got, expected),
            (got, expected) => diffs.exact(&format!("{name} median"), got, expected),
        }

        for r in set["rmst"].as_array().expect("rmst") {
            let horizon = f(&r["horizon"]);
            let context = format!("{name} horizon={horizon}");
            diffs.absolute("rmst", &context, km.rmst(horizon), f(&r["rmst"]));
        }

        let probes = set["at_risk"].as_array().expect("at_risk");
        let times: Vec<f64> = probes.iter().map(|p| f(&p["time"])).collect();
        let table = km.at_risk_table(&times);
        for (probe, (time, at_risk)) in probes.iter().zip(table) {
            diffs.absolute(
                "at risk",
                &format!("{name} at risk at {time}"),
                at_risk,
                f(&probe["at_risk"]),
            );
        }

        for probe in set["survival_at"].as_array().expect("survival_at") {
            let time = f(&probe["time"]);
            let context = format!("{name} predict({time})");
            diffs.absolute(
                "survival_at",
                &context,
                km.survival_at(time),
                f(&probe["survival"]),
            );
        }

        let labels = set["group_labels"].as_array().expect("group_labels").len();
        let mut groups: Vec<Vec<Observation>> = vec![Vec::new(); labels];
        for (o, g) in data.iter().zip(set["groups"].as_array().expect("groups")) {
            groups[u(g) as usize].push(*o);
        }
        let slices: Vec<&[Observation]> = groups.iter().map(Vec::as_slice).collect();
        let test = log_rank(&slices).expect("at least two groups");
        let expected = &set["log_rank"];
        diffs.absolute(
            "log-rank statistic",
            name,
            test.statistic,
            f(&expected["statistic"]),
        );
        diffs.exact(
            &format!("{name} degrees of freedom"),
            u64::from(test.degrees_of_freedom),
            u(&expected["degrees_of_freedom"]),
        );
        diffs.absolute(
            "log-rank p (absolute)",
            name,
            test.p_value,
            f(&expected["p_value"]),
        );
        diffs.relative(
            "log-rank p (relative)",
            name,
            test.p_value,
            f(&expected["p_value"]),
        );
    }

    diffs.finish();
}

#[test]
fn chi_squared_sf_agrees_with_scipy() {
    let reference = reference();
    let mut diffs = Differences::default();
    for case in reference["chi_squared_sf"]
        .as_array()
        .expect("chi_squared_sf")
    {
        let (x, df) = (f(&case["x"]), u(&case["df"]) as u32);
        let context = format!("chi2.sf({x}, {df})");
        let got = chi_squared_sf(x, df);
        diffs.absolute("chi2 sf (absolute)", &context, got, f(&case["sf"]));
        diffs.relative("chi2 sf (relative)", &context, got, f(&case["sf"]));
    }
    diffs.finish();
}
