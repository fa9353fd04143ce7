//! SPEC §3, Acquisition costs, in every report that divides spend: a group with no spend costs
//! 0 per customer (and per unit of any outcome) and has no ROAS; a group with spend and nothing
//! credited has no cost per customer (null, not infinity) and a ROAS of 0.

mod common;
use common::{sub, t};

use serde_json::Value;
use tenure_core::TouchpointRow;
use tenure_core::{AccountId, Currency, EntryBody, Money, SpendRow, Timestamp};
use tenure_engine::Model;
use tenure_reports::{run, Report, ReportParams, ReportSettings};

fn touch(account: &str, at: &str, channel: &str) -> EntryBody {
    EntryBody::Touchpoint(TouchpointRow {
        occurred_at: t(at),
        account_id: Some(AccountId::parse(account).unwrap()),
        user_id: None,
        email: None,
        anonymous_id: None,
        channel: Some(channel.into()),
        source: None,
        medium: None,
        campaign: None,
        content: None,
        term: None,
        kind: None,
    })
}

fn spend(channel: &str, cost_cents: i64) -> EntryBody {
    EntryBody::Spend(SpendRow {
        date: t("2025-01-05T00:00:00Z"),
        channel: channel.into(),
        source: None,
        campaign: None,
        cost: Money::new(cost_cents, Currency::USD),
        impressions: None,
        clicks: None,
    })
}

/// Two customers, each with one touch: `paid` (paid_search, $100 MRR) and `mailed` (email,
/// $50 MRR); $300 spent on paid_search, $120 on display (which brought no one), nothing on
/// email.
fn company() -> Model {
    common::model_of([
        touch("paid", "2025-01-01T10:00:00Z", "paid_search"),
        touch("mailed", "2025-01-02T10:00:00Z", "email"),
        sub("paid", "2025-01-10T00:00:00Z", 10_000),
        sub("mailed", "2025-01-11T00:00:00Z", 5_000),
        spend("paid_search", 30_000),
        spend("display", 12_000),
    ])
}

fn report(name: &str, metric: Option<&str>) -> Report {
    let mut params = ReportParams::at(Timestamp::parse_end_of("2025-06-30").unwrap());
    params.by = Some("channel".into());
    params.model = Some("first_touch".into());
    params.metric = metric.map(str::to_owned);
    run(name, &company(), &ReportSettings::default(), &params).unwrap()
}

fn row<'r>(r: &'r Report, channel: &str) -> &'r serde_json::Map<String, Value> {
    r.rows
        .iter()
        .find(|row| row["channel"] == channel)
        .unwrap_or_else(|| panic!("a {channel} row in {}", r.report))
}

fn figure(r: &Report, channel: &str, column: &str) -> Option<f64> {
    let v = &row(r, channel)[column];
    assert!(v.is_null() || v.is_number(), "{channel} {column}: {v}");
    v.as_f64()
}

#[test]
fn cost_per_conversion_is_zero_without_spend_and_none_without_customers() {
    let r = report("attribution", Some("conversions"));
    // paid_search: $300 ÷ 1 conversion.
    assert_eq!(figure(&r, "paid_search", "cost_per"), Some(300.0));
    // email: no spend, one conversion: it cost nothing (on 84cf2ab: null).
    assert_eq!(figure(&r, "email", "spend"), Some(0.0));
    assert_eq!(figure(&r, "email", "cost_per"), Some(0.0));
    // display: $120 and no conversion: no cost per conversion, not infinity.
    assert_eq!(figure(&r, "display", "conversions"), Some(0.0));
    assert_eq!(figure(&r, "display", "cost_per"), None);
    // A count has no return on spend.
    for channel in ["paid_search", "email", "display"] {
        assert_eq!(figure(&r, channel, "roas"), None, "{channel}");
    }
}

#[test]
fn cost_per_unit_of_value_and_roas_follow_the_same_rule() {
    let r = report("attribution", Some("initial_arr"));
    // paid_search: initial ARR 12 × $100 = $1,200; $300 ÷ $1,200 = 0.25 per dollar, and
    // ROAS $1,200 ÷ $300 = 4.
    assert_eq!(figure(&r, "paid_search", "cost_per"), Some(0.25));
    assert_eq!(figure(&r, "paid_search", "roas"), Some(4.0));
    // email: $600 of initial ARR for nothing: cost 0 per dollar, no ROAS.
    assert_eq!(figure(&r, "email", "cost_per"), Some(0.0));
    assert_eq!(figure(&r, "email", "roas"), None);
    // display: $120 for no ARR: no cost per dollar; it returned 0 per dollar spent.
    assert_eq!(figure(&r, "display", "cost_per"), None);
    assert_eq!(figure(&r, "display", "roas"), Some(0.0));
}

#[test]
fn unit_economics_cac_follows_the_same_rule() {
    let r = report("unit-economics", None);
    assert_eq!(figure(&r, "paid_search", "cac"), Some(300.0));
    assert_eq!(figure(&r, "email", "cac"), Some(0.0));
    assert_eq!(figure(&r, "email", "roas_realized"), None);
    assert_eq!(figure(&r, "display", "new_customers"), Some(0.0));
    assert_eq!(figure(&r, "display", "cac"), None);
    assert_eq!(figure(&r, "display", "roas_realized"), Some(0.0));
}

fn spend_on(channel: &str, date: &str, cost_cents: i64) -> EntryBody {
    EntryBody::Spend(SpendRow {
        date: t(date),
        ..match spend(channel, cost_cents) {
            EntryBody::Spend(row) => row,
            _ => unreachable!("spend() makes a spend row"),
        }
    })
}

/// Two paid_search customers at $100 MRR: `early` converts on 10 January, `late` on 10 March;
/// $500 spent in January and $300 in March.
fn two_quarters() -> Model {
    common::model_of([
        touch("early", "2025-01-01T10:00:00Z", "paid_search"),
        sub("early", "2025-01-10T00:00:00Z", 10_000),
        touch("late", "2025-03-01T10:00:00Z", "paid_search"),
        sub("late", "2025-03-10T00:00:00Z", 10_000),
        spend_on("paid_search", "2025-01-05T00:00:00Z", 50_000),
        spend_on("paid_search", "2025-03-05T00:00:00Z", 30_000),
    ])
}

/// `name` on [`two_quarters`] for March (or all time when `march` is false), as of 30 June.
fn windowed(name: &str, metric: Option<&str>, model: Option<&str>, march: bool) -> Report {
    let mut params = ReportParams::at(Timestamp::parse_end_of("2025-06-30").unwrap());
    if march {
        params.from = Some(t("2025-03-01T00:00:00Z"));
        params.to = Some(Timestamp::parse_end_of("2025-03-31").unwrap());
    }
    params.by = Some("channel".into());
    params.model = model.map(str::to_owned);
    params.metric = metric.map(str::to_owned);
    run(name, &two_quarters(), &ReportSettings::default(), &params).unwrap()
}

#[test]
fn attribution_credits_the_conversions_of_the_window_its_spend_is_counted_in() {
    // March: $300 spent and one customer won (late): $300 per conversion. On 84cf2ab early's
    // January conversion was credited too: 2 conversions, $150 each.
    let r = windowed("attribution", None, Some("first_touch"), true);
    assert_eq!(figure(&r, "paid_search", "spend"), Some(300.0));
    assert_eq!(figure(&r, "paid_search", "conversions"), Some(1.0));
    assert_eq!(figure(&r, "paid_search", "cost_per"), Some(300.0));
    // Money metrics alike: late's initial ARR 12 × $100 = $1,200; $300 ÷ $1,200 = 0.25 per
    // dollar, ROAS 4 (on 84cf2ab $2,400, 0.125 and 8).
    let r = windowed(
        "attribution",
        Some("initial_arr"),
        Some("first_touch"),
        true,
    );
    assert_eq!(figure(&r, "paid_search", "initial_arr"), Some(1200.0));
    assert_eq!(figure(&r, "paid_search", "cost_per"), Some(0.25));
    assert_eq!(figure(&r, "paid_search", "roas"), Some(4.0));
    // unit-economics agrees: one new customer, CAC $300.
    let r = windowed("unit-economics", None, None, true);
    assert_eq!(figure(&r, "paid_search", "new_customers"), Some(1.0));
    assert_eq!(figure(&r, "paid_search", "cac"), Some(300.0));
    // All time: $800 for two conversions, $400 each.
    let r = windowed("attribution", None, Some("first_touch"), false);
    assert_eq!(figure(&r, "paid_search", "conversions"), Some(2.0));
    assert_eq!(figure(&r, "paid_search", "cost_per"), Some(400.0));
}

#[test]
fn an_account_converted_outside_the_window_is_no_path_of_markovs() {
    // early converted, only not in March: it is neither a converting nor a non-converting
    // path, so March's one path (paid_search → conversion) takes the whole credit.
    let r = windowed("attribution", None, Some("markov"), true);
    let summary = r.summary.as_ref().unwrap();
    assert_eq!(summary["converting_journeys"], 1);
    assert_eq!(summary["non_converting_journeys"], 0);
    assert_eq!(figure(&r, "paid_search", "conversions"), Some(1.0));
}

#[test]
fn nrr_credits_the_accounts_paying_at_the_windows_start() {
    // NRR's window is the one it measures MRR over: early pays $100 on 1 March and on 31
    // March (late, converted in March, paid nothing at the start), so paid_search's NRR is 1.
    let r = windowed("attribution", Some("nrr"), Some("first_touch"), true);
    assert_eq!(figure(&r, "paid_search", "nrr"), Some(1.0));
}
