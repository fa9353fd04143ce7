//! The reports behind the dashboard's drill-downs: the accounts a campaign touched with each
//! one's credit (`campaign-accounts`), the accounts list's search, and an account's MRR month
//! by month (`account`'s `mrr_history`), on a small story worked out by hand.

mod common;

use common::{sub, t};
use serde_json::{json, Value};
use tenure_core::{AccountId, AccountRow, EntryBody, TouchpointRow};
use tenure_reports::{run, Report, ReportError, ReportParams, ReportSettings};

fn touch(account: &str, at: &str, channel: &str, campaign: &str) -> EntryBody {
    EntryBody::Touchpoint(TouchpointRow {
        occurred_at: t(at),
        account_id: Some(AccountId::parse(account).unwrap()),
        user_id: None,
        email: None,
        anonymous_id: None,
        channel: Some(channel.into()),
        source: None,
        medium: None,
        campaign: Some(campaign.into()),
        content: None,
        term: None,
        kind: None,
    })
}

fn profile(account: &str, name: Option<&str>, domain: Option<&str>) -> EntryBody {
    EntryBody::Account(AccountRow {
        account_id: AccountId::parse(account).unwrap(),
        name: name.map(str::to_owned),
        domain: domain.map(str::to_owned),
        tier: None,
        industry: None,
        employees: None,
        csm_owner: None,
        created_at: None,
    })
}

/// Three accounts: a touched by spring, digest, spring and paying $100 from 2025-03-11 ($150
/// from 2025-04-20); b touched by digest only, paying $200; c touched by spring only, paying
/// $300.
fn model() -> tenure_engine::Model {
    common::model_of([
        profile("a", Some("Acme Corp"), Some("corp.example")),
        profile("b", Some("Beta Ltd"), None),
        profile("c", None, Some("acmeish.com")),
        touch("a", "2025-03-01", "paid_search", "spring"),
        touch("a", "2025-03-05", "email", "digest"),
        touch("a", "2025-03-08", "paid_search", "spring"),
        touch("b", "2025-03-02", "email", "digest"),
        touch("c", "2025-03-03", "paid_search", "spring"),
        sub("a", "2025-03-11", 10_000),
        sub("b", "2025-03-12", 20_000),
        sub("c", "2025-03-15", 30_000),
        sub("a", "2025-04-20", 15_000),
    ])
}

fn report(name: &str, set: impl FnOnce(&mut ReportParams)) -> Result<Report, ReportError> {
    let mut params = ReportParams::at(t("2025-05-15T23:59:59.999Z"));
    set(&mut params);
    run(name, &model(), &ReportSettings::default(), &params)
}

fn column(report: &Report, key: &str) -> Vec<Value> {
    report.rows.iter().map(|r| r[key].clone()).collect()
}

#[test]
fn a_campaigns_accounts_carry_their_share_of_its_credit() {
    let spring = |model: &str, metric: &str| {
        report("campaign-accounts", |p| {
            p.campaign = Some("spring".into());
            p.model = Some(model.into());
            p.metric = Some(metric.into());
        })
        .unwrap()
    };
    // Linear: a's journey is spring, digest, spring, so spring holds 2/3 of it, of an initial
    // ARR of 12 × $100 = $1,200: $800. c's one touch is spring: all of 12 × $300 = $3,600. b
    // never met spring and is not listed. Most credited first.
    let linear = spring("linear", "initial_arr");
    assert_eq!(column(&linear, "account"), [json!("c"), json!("a")]);
    assert_eq!(column(&linear, "credit"), [json!(1.0), json!(0.666667)]);
    assert_eq!(column(&linear, "touches"), [json!(1), json!(2)]);
    assert_eq!(column(&linear, "journey_touches"), [json!(1), json!(3)]);
    assert_eq!(column(&linear, "outcome"), [json!(3600.0), json!(1200.0)]);
    assert_eq!(column(&linear, "credited"), [json!(3600.0), json!(800.0)]);
    assert_eq!(column(&linear, "name"), [Value::Null, json!("Acme Corp")]);
    let summary = linear.summary.as_ref().unwrap();
    assert_eq!(summary["credited"], json!(4400.0));
    assert_eq!(summary["accounts"], json!(2));
    assert_eq!(linear.units["credited"], tenure_reports::Unit::Money);
    // The sum is the campaign's row of attribution by campaign, same model and metric.
    let attribution = report("attribution", |p| {
        p.by = Some("campaign".into());
        p.model = Some("linear".into());
        p.metric = Some("initial_arr".into());
    })
    .unwrap();
    let row = attribution
        .rows
        .iter()
        .find(|r| r["campaign"] == "spring")
        .unwrap();
    assert_eq!(row["initial_arr"], json!(4400.0));
    // First touch: a's first touch is spring, so all of a's $1,200.
    let first = spring("first_touch", "initial_arr");
    assert_eq!(column(&first, "credited"), [json!(3600.0), json!(1200.0)]);
    // Conversions: the shares themselves.
    let conversions = spring("linear", "conversions");
    assert_eq!(
        column(&conversions, "credited"),
        [json!(1.0), json!(0.666667)]
    );
    assert_eq!(conversions.units["credited"], tenure_reports::Unit::Count);
}

#[test]
fn a_campaigns_accounts_need_a_campaign_and_a_per_journey_model() {
    let refused = |set: fn(&mut ReportParams)| match report("campaign-accounts", set) {
        Err(ReportError::Parameter { name, .. }) => name,
        other => panic!("{other:?}"),
    };
    assert_eq!(refused(|_| {}), "campaign");
    assert_eq!(
        refused(|p| {
            p.campaign = Some("spring".into());
            p.model = Some("markov".into());
        }),
        "model"
    );
    assert_eq!(
        refused(|p| {
            p.campaign = Some("spring".into());
            p.metric = Some("nrr".into());
        }),
        "metric"
    );
    // A campaign no journey holds lists nobody.
    let none = report("campaign-accounts", |p| p.campaign = Some("autumn".into())).unwrap();
    assert!(none.rows.is_empty());
}

#[test]
fn the_accounts_search_matches_name_or_domain_in_any_case() {
    let found = |text: &str| {
        let r = report("accounts", |p| p.filters.search = Some(text.into())).unwrap();
        let mut ids: Vec<String> = column(&r, "account")
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect();
        ids.sort();
        ids
    };
    // "ACME" is in a's name and c's domain; "ltd" in b's name; ".example" in a's domain.
    assert_eq!(found("ACME"), ["a", "c"]);
    assert_eq!(found("ltd"), ["b"]);
    assert_eq!(found(".example"), ["a"]);
    assert!(found("zeta").is_empty());
}

#[test]
fn an_accounts_mrr_history_is_its_mrr_at_each_month_end() {
    // a pays $100 from 2025-03-11 and $150 from 2025-04-20; as of 2025-05-15.
    let account = report("account", |p| p.account = Some("a".into())).unwrap();
    let summary = account.summary.as_ref().unwrap();
    assert_eq!(
        summary["mrr_history"],
        json!([
            {"month": "2025-03", "mrr": 100.0},
            {"month": "2025-04", "mrr": 150.0},
            {"month": "2025-05", "mrr": 150.0},
        ])
    );
    assert_eq!(
        account.summary_units["mrr_history.mrr"],
        tenure_reports::Unit::Money
    );
    assert_eq!(
        account.summary_units["mrr_history.month"],
        tenure_reports::Unit::Month
    );
}
