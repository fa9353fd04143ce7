//! What each report declares it reads (`catalog::ReportSpec::reads`) is all it reads: every
//! report, under the parameters that change what it reads, gives the same JSON from a model
//! decoded from a snapshot with only the sections it declares as from the whole model. A
//! declaration that leaves out something the report reads gives other figures here (the
//! left-out part is empty), which the last test shows is so for every part.

mod common;

use common::company;
use tenure_core::{Timestamp, WorkspaceId};
use tenure_engine::snapshot::{self, Position, Reads};
use tenure_engine::{EngineSettings, Model};
use tenure_reports::{run, spec, ReportParams, ReportSettings, REPORTS};

fn as_of() -> Timestamp {
    Timestamp::parse("2026-10-31T23:59:59.999Z").unwrap()
}

/// A snapshot of a simulated company: what a command would read.
fn saved() -> (Model, Vec<u8>) {
    let (model, _) = company(150);
    let bytes = snapshot::encode(
        &WorkspaceId::default_workspace(),
        &Position::default(),
        &model,
        &(),
    );
    (model, bytes)
}

/// The model decoded from `bytes` with only what `reads` needs.
fn decoded(bytes: &[u8], reads: Reads) -> Model {
    let read = |at: u64, len: usize| -> Result<std::borrow::Cow<'_, [u8]>, String> {
        Ok(std::borrow::Cow::Borrowed(
            &bytes[at as usize..at as usize + len],
        ))
    };
    let restored = snapshot::decode_reading::<()>(
        &read,
        bytes.len() as u64,
        &WorkspaceId::default_workspace(),
        &EngineSettings::default(),
        |_| reads,
    )
    .unwrap();
    assert_eq!(restored.reads, reads);
    restored.model
}

/// The report as JSON, or its error.
fn answer(name: &str, model: &Model, params: &ReportParams) -> String {
    match run(name, model, &ReportSettings::default(), params) {
        Ok(report) => serde_json::to_string(&report).unwrap(),
        Err(e) => format!("error: {e}"),
    }
}

/// Each report under each set of parameters that changes what it reads.
fn requests(model: &Model) -> Vec<(&'static str, ReportParams)> {
    let at = ReportParams::at(as_of());
    // A customer with a journey, for the reports about one account.
    let account = model
        .account_journeys()
        .iter()
        .filter(|(_, j)| !j.is_empty())
        .map(|(a, _)| a.as_str().to_owned())
        .find(|a| {
            let params = ReportParams {
                account: Some(a.clone()),
                ..at.clone()
            };
            !answer("account", model, &params).starts_with("error")
        })
        .expect("a customer with a journey");
    // A campaign some journey holds, for the report about one campaign.
    let campaign = model
        .account_journeys()
        .values()
        .flatten()
        .find_map(|t| t.campaign().map(|c| c.as_str().to_owned()))
        .expect("a touch with a campaign");
    let with = |f: &dyn Fn(&mut ReportParams)| {
        let mut p = at.clone();
        f(&mut p);
        p
    };
    let mut out = Vec::new();
    for &name in REPORTS {
        let spec = spec(name).unwrap();
        let takes = |param| spec.params.contains(&param);
        use tenure_reports::Param;
        let mut variants = vec![at.clone()];
        if takes(Param::Account) {
            variants = vec![with(&|p| p.account = Some(account.clone()))];
        }
        if takes(Param::Campaign) {
            variants = vec![with(&|p| p.campaign = Some(campaign.clone()))];
        }
        if spec.requires(Param::By) {
            // The variant of an experiment: a group trait, or the experiment's name.
            variants = vec![
                with(&|p| p.by = Some("onboarding_variant".to_owned())),
                with(&|p| p.by = Some("onboarding_v2".to_owned())),
            ];
        } else if takes(Param::By) {
            let by: &[&str] = match spec.by {
                tenure_reports::Groupings::Any => &["channel", "campaign", "tier", "plan", "stage"],
                tenure_reports::Groupings::Touch(accepted) => accepted,
                tenure_reports::Groupings::Variant => unreachable!("by is required"),
            };
            for &by in by {
                variants.push(with(&|p| p.by = Some(by.to_owned())));
            }
            if takes(Param::Model) {
                variants.push(with(&|p| {
                    p.by = Some("channel".to_owned());
                    p.model = Some("linear".to_owned());
                }));
            }
        }
        if takes(Param::Metric) {
            // Over the first variant, which holds what the report is about (a campaign).
            let base = variants[0].clone();
            for metric in ["activated", "initial_arr", "retained_90d", "predicted_ltv"] {
                let mut p = base.clone();
                p.metric = Some(metric.to_owned());
                variants.push(p);
            }
        }
        if takes(Param::Compare) {
            variants.push(with(&|p| p.compare = true));
        }
        out.extend(variants.into_iter().map(|p| (name, p)));
    }
    out
}

#[test]
fn every_report_reads_only_what_it_declares() {
    let (whole, bytes) = saved();
    let mut partial = 0;
    for (name, params) in requests(&whole) {
        let reads = spec(name).unwrap().reads(&params);
        if reads != Reads::ALL {
            partial += 1;
        }
        let expected = answer(name, &whole, &params);
        assert!(
            !expected.starts_with("error"),
            "{name} {params:?}: {expected}"
        );
        let got = answer(name, &decoded(&bytes, reads), &params);
        assert!(
            got == expected,
            "{name} with {params:?} reads more than {reads:?}:\n{got}\nwhole:\n{expected}"
        );
    }
    // The reports of the ledger and of journeys, at least, read a part of the model only.
    assert!(
        partial >= 10,
        "only {partial} requests read part of the model"
    );
}

#[test]
fn each_part_a_report_declares_changes_its_answer_when_left_out() {
    let (whole, bytes) = saved();
    let requests = requests(&whole);
    for part in [
        Reads::LEDGER,
        Reads::PROFILES,
        Reads::JOURNEYS,
        Reads::USAGE,
        Reads::SUCCESS,
    ] {
        let noticed = requests.iter().any(|(name, params)| {
            let reads = spec(name).unwrap().reads(params);
            if !reads.contains(part) {
                return false;
            }
            let without = all_but(reads, part);
            answer(name, &decoded(&bytes, without), params) != answer(name, &whole, params)
        });
        assert!(noticed, "no report's answer changes without {part:?}");
    }
}

/// `reads` without `part`.
fn all_but(reads: Reads, part: Reads) -> Reads {
    [
        Reads::LEDGER,
        Reads::PROFILES,
        Reads::JOURNEYS,
        Reads::USAGE,
        Reads::SUCCESS,
    ]
    .into_iter()
    .filter(|&r| r != part && reads.contains(r))
    .fold(Reads::NOTHING, Reads::with)
}
