//! The catalog of reports and their parameters (`tenure_reports::CATALOG`), through `run`: what
//! a report does not read is refused rather than ignored, `--by` names something the accounts
//! can have, and the default instant is the end of the data.

mod common;
use common::t;

use tenure_core::{AccountId, AccountRow, Currency, EntryBody, Money, SubscriptionRow};
use tenure_ingest::segment::{parse_message, Limits};
use tenure_reports::{
    default_as_of, run, AsOfSource, Param, ReportError, ReportParams, ReportSettings, CATALOG,
};

/// Two paying accounts, one with the group trait `onboarding_variant`, one with a tier.
fn model() -> tenure_engine::Model {
    let group = parse_message(
        br#"{"type":"group","messageId":"g1","userId":"u1","groupId":"a",
            "traits":{"onboarding_variant":"guided"},"timestamp":"2025-03-10T08:00:00Z"}"#,
        t("2025-03-10T08:00:00Z"),
        &Limits::default(),
    )
    .unwrap();
    common::model_of([
        EntryBody::Subscription(SubscriptionRow {
            account_id: AccountId::parse("a").unwrap(),
            effective_at: t("2025-01-01"),
            mrr: Money::new(10_000, Currency::USD),
            plan: None,
            seats: None,
        }),
        EntryBody::Subscription(SubscriptionRow {
            account_id: AccountId::parse("b").unwrap(),
            effective_at: t("2025-02-01"),
            mrr: Money::new(20_000, Currency::USD),
            plan: None,
            seats: None,
        }),
        EntryBody::Account(AccountRow {
            account_id: AccountId::parse("b").unwrap(),
            name: None,
            domain: None,
            tier: Some("smb".into()),
            industry: None,
            employees: None,
            csm_owner: None,
            // No instant: a profile without `created_at` does not move the end of the data.
            created_at: None,
        }),
        EntryBody::Segment(group),
    ])
}

#[test]
fn by_names_an_attribute_accounts_may_have_or_a_trait_some_account_has() {
    let model = model();
    let settings = ReportSettings::default();
    let by = |name: &str, by: &str| {
        let params = ReportParams {
            by: Some(by.into()),
            ..ReportParams::at(t("2025-06-30T23:59:59.999Z"))
        };
        run(name, &model, &settings, &params)
    };
    // A trait one account has, an attribute one has, an attribute none has (accounts.csv's
    // column), the account's state, a touch grouping: each a grouping.
    for name in ["mrr", "cohorts", "survival", "ltv", "retention", "funnel"] {
        for ok in ["onboarding_variant", "tier", "industry", "band", "channel"] {
            let report = by(name, ok);
            assert!(report.is_ok(), "{name} --by {ok}: {report:?}");
        }
    }
    // The trait's groups are the data's: one account guided, the other without it.
    let mrr = by("mrr", "onboarding_variant").unwrap();
    let groups: std::collections::BTreeSet<&str> = mrr
        .rows
        .iter()
        .map(|r| r["onboarding_variant"].as_str().unwrap())
        .collect();
    assert_eq!(groups, ["(none)", "guided"].into());
    // A name no account has is refused, naming what is accepted.
    match by("mrr", "onboarding_varient") {
        Err(ReportError::Grouping {
            report: "mrr",
            by,
            expected,
        }) => {
            assert_eq!(by, "onboarding_varient");
            assert!(
                expected.ends_with("or a group trait some account has"),
                "{expected}"
            );
        }
        other => panic!("{other:?}"),
    }
    // Touch reports take only touch groupings, whatever the accounts have.
    assert!(matches!(
        by("touchpoints", "onboarding_variant"),
        Err(ReportError::Grouping {
            report: "touchpoints",
            ..
        })
    ));
}

#[test]
fn every_parameter_a_report_does_not_read_is_refused_naming_the_reports_that_do() {
    let model = model();
    let settings = ReportSettings::default();
    let at = ReportParams::at(t("2025-06-30T23:59:59.999Z"));
    // A value for each parameter that the reports reading it accept.
    let given = |param: Param| {
        let mut p = at.clone();
        match param {
            Param::From => p.from = Some(t("2025-01-01")),
            Param::To => p.to = Some(t("2025-06-01")),
            Param::By => p.by = Some("channel".into()),
            Param::Model => p.model = Some("linear".into()),
            Param::Metric => p.metric = Some("conversions".into()),
            Param::Compare => p.compare = true,
            Param::Account => p.account = Some("a".into()),
            Param::Stage => p.filters.stage = Some("adopting".into()),
            Param::Band => p.filters.band = Some("green".into()),
            Param::Signal => p.filters.signal = Some("no_activity".into()),
            Param::Tier => p.filters.tier = Some("smb".into()),
            Param::Owner => p.filters.owner = Some("maria".into()),
            Param::Channel => p.filters.channel = Some("direct".into()),
            Param::Sort => p.sort = Some("risk".into()),
            Param::Proposed => p.proposed = Some(settings.health.clone()),
            Param::Limit => p.limit = Some(10),
            Param::Campaign => p.campaign = Some("spring".into()),
            Param::Search => p.filters.search = Some("acme".into()),
            Param::Control => p.control = Some("control".into()),
            Param::ExpectedSplit => p.expected_split = Some("control=1,guided=1".into()),
            Param::Cursor => {
                p.cursor = Some(
                    tenure_reports::RawParams::from_pairs([("cursor", "p1.10.0.10.0")])
                        .and_then(|raw| ReportParams::parse((p.as_of, AsOfSource::Given), &raw))
                        .unwrap()
                        .cursor
                        .unwrap(),
                );
            }
        }
        p
    };
    for spec in CATALOG {
        for param in Param::ALL {
            if spec.params.contains(&param) {
                continue;
            }
            let readers: Vec<&str> = CATALOG
                .iter()
                .filter(|s| s.params.contains(&param))
                .map(|s| s.name)
                .collect();
            match run(spec.name, &model, &settings, &given(param)) {
                Err(ReportError::NotApplicable {
                    report,
                    param: flag,
                    readers: named,
                }) => {
                    assert_eq!(report, spec.name);
                    assert_eq!(flag, param.flag());
                    assert_eq!(named, readers.join(", "), "{} {flag}", spec.name);
                }
                other => panic!("{} with {param:?}: {other:?}", spec.name),
            }
        }
    }
}

#[test]
fn the_default_instant_is_the_end_of_the_day_of_the_latest_fact_never_after_now() {
    let model = model();
    // The latest instant stated is the group call, 2025-03-10T08:00Z (the subscriptions start
    // earlier; the account row states none): the default is the end of that day.
    let now = t("2026-01-01T00:00:00Z");
    assert_eq!(
        default_as_of(&model, now),
        (t("2025-03-10T23:59:59.999Z"), AsOfSource::EndOfData)
    );
    // Never after now (a caller whose clock is in that day).
    let early = t("2025-03-10T12:00:00Z");
    assert_eq!(default_as_of(&model, early).0, early);
    // A workspace without data is as of now, and says so.
    assert_eq!(
        default_as_of(&common::model_of([]), now),
        (now, AsOfSource::Now)
    );
}
