//! What a report may cost and what it survives: instants far from the data are refused before
//! any work, a caller's stop ends the report, and an amount in a currency without a rate is
//! left out with a warning instead of failing the report (issue 12, defects 2 and 5).

mod common;
use common::t;

use std::sync::atomic::{AtomicUsize, Ordering};

use tenure_core::{AccountId, Currency, EntryBody, Money, SpendRow, SubscriptionRow, Timestamp};
use tenure_engine::Model;
use tenure_reports::{
    allowed_span, run, run_in_turns, Limits, ReportError, ReportParams, ReportSettings, Revenue,
    REPORTS,
};

fn sub(account: &str, at: &str, mrr: Money) -> EntryBody {
    EntryBody::Subscription(SubscriptionRow {
        account_id: AccountId::parse(account).unwrap(),
        effective_at: t(at),
        mrr,
        plan: None,
        seats: None,
    })
}

/// Two accounts, one of which has the group trait `onboarding_variant`.
fn small_model() -> Model {
    let group = tenure_ingest::segment::parse_message(
        br#"{"type":"group","messageId":"g1","userId":"u1","groupId":"b",
            "traits":{"onboarding_variant":"guided"},"timestamp":"2025-01-15T08:00:00Z"}"#,
        t("2025-01-15T08:00:00Z"),
        &tenure_ingest::segment::Limits::default(),
    )
    .unwrap();
    common::model_of([
        sub("a", "2024-03-01", Money::new(10_000, Currency::USD)),
        sub("b", "2025-01-15", Money::new(20_000, Currency::USD)),
        sub("a", "2025-06-01", Money::new(0, Currency::USD)),
        EntryBody::Segment(group),
    ])
}

fn never() -> bool {
    false
}

/// Runs `name` as the API does, with `now` as the caller's now.
fn limited(
    model: &Model,
    name: &str,
    params: &ReportParams,
    now: Timestamp,
) -> Result<tenure_reports::Report, ReportError> {
    let limits = Limits {
        now,
        should_stop: &never,
    };
    run_in_turns(
        name,
        &|f| f(model),
        &ReportSettings::default(),
        params,
        limits,
    )
}

#[test]
fn the_allowed_span_is_the_revenue_facts_and_now_with_margins() {
    let model = small_model();
    let now = t("2026-01-01T00:00:00Z");
    let (lo, hi) = allowed_span(&model, now);
    assert_eq!((lo, hi), (t("2014-03-01"), t("2027-01-01")));
    // A revenue fact after now moves the end; without revenue, now alone decides.
    let later = common::model_of([sub("a", "2027-05-31", Money::new(1, Currency::USD))]);
    assert_eq!(allowed_span(&later, now).1, t("2028-05-31"));
    let empty = common::model_of([]);
    assert_eq!(
        allowed_span(&empty, now),
        (t("2016-01-01"), t("2027-01-01"))
    );
    // The ends of the timestamp range saturate rather than wrap.
    let edge = common::model_of([sub("a", "9999-06-01", Money::new(1, Currency::USD))]);
    assert_eq!(allowed_span(&edge, now).1, Timestamp::MAX);
}

#[test]
fn instants_far_from_the_data_are_refused_with_the_range() {
    let model = small_model();
    let now = t("2026-01-01T00:00:00Z");
    let far = Timestamp::parse_end_of("9999-12-31").unwrap();
    // Every report, not only the ones that loop over days.
    for name in REPORTS {
        let params = ReportParams {
            account: about_one_account(name).then(|| "a".into()),
            campaign: about_one_campaign(name).then(|| "spring".into()),
            by: by_variant(name),
            ..ReportParams::at(far)
        };
        match limited(&model, name, &params, now) {
            Err(ReportError::Parameter {
                name: "as_of",
                reason,
            }) => {
                assert!(reason.contains("9999-12-31"), "{name}: {reason}");
                assert!(
                    reason.contains("2014-03-01T00:00:00.000Z to 2027-01-01T00:00:00.000Z"),
                    "{name}: names the range: {reason}"
                );
            }
            other => panic!("{name}: {other:?}"),
        }
    }
    let early = ReportParams {
        from: Some(t("0001-01-01")),
        ..ReportParams::at(now)
    };
    for name in [
        "mrr",
        "retention",
        "unit-economics",
        "touchpoints",
        "health-backtest",
    ] {
        let error = limited(&model, name, &early, now).unwrap_err();
        assert!(
            matches!(error, ReportError::Parameter { name: "from", .. }),
            "{name}: {error}"
        );
    }
    let late_to = ReportParams {
        to: Some(far),
        ..ReportParams::at(now)
    };
    let error = limited(&model, "mrr", &late_to, now).unwrap_err();
    assert!(
        matches!(error, ReportError::Parameter { name: "to", .. }),
        "{error}"
    );
    // Within the span, a report a year ahead runs.
    let ahead = ReportParams::at(t("2026-12-01T00:00:00Z"));
    let report = limited(&model, "funnel", &ahead, now).unwrap();
    assert_eq!(report.summary.unwrap()["customers"], 2);
}

#[test]
fn a_stop_ends_every_report_with_cancelled() {
    let model = small_model();
    let params = ReportParams::at(t("2025-12-31T00:00:00Z"));
    for name in REPORTS {
        let params = ReportParams {
            account: about_one_account(name).then(|| "b".into()),
            campaign: about_one_campaign(name).then(|| "spring".into()),
            by: by_variant(name),
            ..params.clone()
        };
        let limits = Limits {
            now: params.as_of,
            should_stop: &|| true,
        };
        let turns = AtomicUsize::new(0);
        let with_model: tenure_reports::WithModel = &|f| {
            turns.fetch_add(1, Ordering::Relaxed);
            f(&model)
        };
        let result = run_in_turns(
            name,
            with_model,
            &ReportSettings::default(),
            &params,
            limits,
        );
        assert_eq!(result, Err(ReportError::Cancelled), "{name}");
        assert_eq!(
            turns.load(Ordering::Relaxed),
            0,
            "{name}: no turn after the stop"
        );
    }
}

/// A stop at any turn of the long reports ends them with `Cancelled`, takes no further turn,
/// and panics nowhere over the partial work.
#[test]
fn a_stop_between_turns_takes_no_further_turn() {
    let (model, _) = common::company(150);
    let params = ReportParams::at(Timestamp::parse_end_of("2026-10-31").unwrap());
    let settings = ReportSettings::default();
    for name in ["funnel", "health-backtest", "churn-model", "forecast"] {
        let all = AtomicUsize::new(0);
        let counting: tenure_reports::WithModel = &|f| {
            all.fetch_add(1, Ordering::Relaxed);
            f(&model)
        };
        let limits = Limits {
            now: params.as_of,
            should_stop: &never,
        };
        run_in_turns(name, counting, &settings, &params, limits).unwrap();
        let all = all.load(Ordering::Relaxed);
        assert!(all >= 3, "{name} takes {all} turns");
        for stop_after in 1..all {
            let turns = AtomicUsize::new(0);
            let should_stop = || turns.load(Ordering::Relaxed) >= stop_after;
            let with_model: tenure_reports::WithModel = &|f| {
                turns.fetch_add(1, Ordering::Relaxed);
                f(&model)
            };
            let limits = Limits {
                now: params.as_of,
                should_stop: &should_stop,
            };
            let result = run_in_turns(name, with_model, &settings, &params, limits);
            assert_eq!(
                result,
                Err(ReportError::Cancelled),
                "{name} after {stop_after}"
            );
            assert_eq!(turns.load(Ordering::Relaxed), stop_after, "{name}");
        }
    }
}

/// One subscription and one spend row in JPY with reporting in USD and no JPY rate: every
/// report runs, its figures are those of the company without the two entries, and its
/// warnings name JPY and what to configure.
#[test]
fn an_amount_without_a_rate_is_left_out_with_a_warning() {
    let (bodies, _) = common::company_entries(150, 42);
    let without = common::model_of(bodies.clone());
    let settings = ReportSettings::default();
    let as_of = Timestamp::parse_end_of("2026-10-31").unwrap();
    let revenue = Revenue::ungrouped(&without, &settings, &ReportParams::at(as_of)).unwrap();
    let customer = revenue.accounts[0].account.clone();
    let jpy = Currency::parse("JPY").unwrap();
    let mut with = bodies;
    with.push(sub(
        customer.as_str(),
        "2025-06-01",
        Money::new(1_500_000, jpy),
    ));
    with.push(sub("acct-yen-only", "2025-02-01", Money::new(900_000, jpy)));
    with.push(EntryBody::Spend(SpendRow {
        date: t("2025-05-01"),
        channel: "paid_search".into(),
        source: Some("google".into()),
        campaign: Some("yen".into()),
        cost: Money::new(50_000, jpy),
        impressions: None,
        clicks: None,
    }));
    let with = common::model_of(with);
    for name in REPORTS {
        let mut params = ReportParams {
            account: about_one_account(name).then(|| customer.as_str().to_owned()),
            campaign: about_one_campaign(name).then(|| "spring".into()),
            by: by_variant(name),
            ..ReportParams::at(as_of)
        };
        if *name == "unit-economics" {
            params.by = Some("campaign".into());
        }
        let expected = run(name, &without, &settings, &params).unwrap();
        let got = run(name, &with, &settings, &params)
            .unwrap_or_else(|e| panic!("{name} fails over one amount without a rate: {e}"));
        assert!(expected.warnings.is_empty(), "{name}");
        let messages: Vec<&str> = got.warnings.iter().map(|w| w.message.as_str()).collect();
        assert_eq!(messages.len(), 1, "{name}: {messages:?}");
        assert_eq!(got.warnings[0].code, "no_rate");
        assert!(
            messages[0].contains("JPY")
                && messages[0].contains("2 MRR amounts of 2 accounts")
                && messages[0].contains("1 spend row")
                && messages[0].contains("[currency.rates]"),
            "{name}: {}",
            messages[0]
        );
        let mut got = serde_json::to_value(&got).unwrap();
        got.as_object_mut().unwrap()["warnings"] = serde_json::json!([]);
        assert_eq!(got, serde_json::to_value(&expected).unwrap(), "{name}");
    }
    // With a rate, the amounts count and the warning goes.
    let mut rated = settings.clone();
    rated.rates.insert(jpy, 0.0067);
    let report = run("mrr", &with, &rated, &ReportParams::at(as_of)).unwrap();
    assert!(report.warnings.is_empty());
    let counted = tenure_reports::amounts_without_rate(&with, &settings);
    assert_eq!(counted.get(&jpy), Some(&3));
    assert_eq!(counted.len(), 1);
    assert!(tenure_reports::amounts_without_rate(&with, &rated).is_empty());
}

/// Whether report `name` is about one campaign (and so takes one).
fn about_one_campaign(name: &str) -> bool {
    tenure_reports::spec(name)
        .unwrap()
        .params
        .contains(&tenure_reports::Param::Campaign)
}

/// The group trait of the variants, for the report that compares them (and so needs one).
fn by_variant(name: &str) -> Option<String> {
    tenure_reports::spec(name)
        .unwrap()
        .requires(tenure_reports::Param::By)
        .then(|| "onboarding_variant".into())
}

/// Whether report `name` is about one account (and so takes one).
fn about_one_account(name: &str) -> bool {
    tenure_reports::spec(name)
        .unwrap()
        .params
        .contains(&tenure_reports::Param::Account)
}
