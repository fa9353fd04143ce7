//! `--by` works on every report that takes it: on a small simulated company, each report of
//! the catalog that accepts `--by` gives more than one group for each kind of grouping it
//! accepts (a touch field, an account attribute, a group trait, the state at the instant; a
//! variant for `experiment`), rather than everyone under one. `content` is the exception: the
//! simulated company's touches carry none.

mod common;

use std::collections::BTreeSet;

use tenure_core::Timestamp;
use tenure_reports::{run, Groupings, Param, ReportParams, ReportSettings, CATALOG};

#[test]
fn every_report_taking_by_splits_the_company_into_groups() {
    let (model, _) = common::company_of_seed(300, 5);
    let as_of = Timestamp::parse("2026-11-01T23:59:59.999Z").unwrap();
    let settings = ReportSettings::default();
    let mut checked = Vec::new();
    for spec in CATALOG.iter().filter(|s| s.params.contains(&Param::By)) {
        let groupings: Vec<&str> = match spec.by {
            // Not `content`: the simulated company sends no `utm_content`, so every touch is
            // under "(none)" (a property of the data, which the grouping reports as it is).
            Groupings::Touch(accepted) => accepted
                .iter()
                .copied()
                .filter(|by| *by != "content")
                .collect(),
            Groupings::Any => vec!["channel", "tier", "onboarding_variant", "stage"],
            Groupings::Variant => vec!["onboarding_variant", "onboarding_v2"],
        };
        for by in groupings {
            let params = ReportParams {
                by: Some(by.into()),
                ..ReportParams::at(as_of)
            };
            let report = run(spec.name, &model, &settings, &params)
                .unwrap_or_else(|e| panic!("{} --by {by}: {e}", spec.name));
            assert_eq!(report.by.as_deref(), Some(by), "{}", spec.name);
            // Each row holds its group under the grouping's name; `experiment`'s rows are the
            // variants.
            let groups: BTreeSet<String> = report
                .rows
                .iter()
                .filter_map(|r| r.get(by).or_else(|| r.get("variant")))
                .map(|v| v.to_string())
                .collect();
            assert!(
                groups.len() > 1,
                "{} --by {by}: groups {groups:?} of {} rows",
                spec.name,
                report.rows.len()
            );
            checked.push(format!("{} --by {by}", spec.name));
        }
    }
    // The reports that take --by today, so a new one is not missed by a wrong filter above.
    let reports: BTreeSet<&str> = checked
        .iter()
        .map(|c| c.split(' ').next().unwrap())
        .collect();
    assert_eq!(
        reports,
        [
            "attribution",
            "cohorts",
            "experiment",
            "funnel",
            "ltv",
            "mrr",
            "retention",
            "survival",
            "touchpoints",
            "unit-economics"
        ]
        .into()
    );
}
