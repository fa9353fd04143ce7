//! The revenue reports over hand-built ledgers: movements case by case, and the invariants
//! (movements sum to the MRR change, GRR ≤ 1 ≤ … NRR ≥ GRR, month 0 is 100%, order does not
//! matter) as properties over random ledgers.

mod common;
use common::{sub, t};

use proptest::prelude::*;
use serde_json::Value;
use tenure_core::{
    AccountId, Currency, DealKind, DealRow, DealStatus, EntryBody, Money, SubscriptionRow,
    Timestamp,
};
use tenure_engine::Model;
use tenure_reports::{run, MovementKind, ReportParams, ReportSettings, Revenue};

fn model(bodies: &[EntryBody]) -> Model {
    common::model_of(bodies.iter().cloned())
}

fn params(as_of: &str) -> ReportParams {
    ReportParams::at(Timestamp::parse_end_of(as_of).unwrap())
}

/// (kind, amount in cents) of every movement of account `a`.
fn movements(bodies: &[EntryBody], as_of: &str) -> Vec<(MovementKind, i64)> {
    let revenue =
        Revenue::build(&model(bodies), &ReportSettings::default(), &params(as_of)).unwrap();
    revenue
        .accounts
        .iter()
        .flat_map(|a| a.movements.iter().map(|m| (m.kind, m.amount)))
        .collect()
}

/// A named case: the rows, and the movements they must make.
type Case = (&'static str, Vec<EntryBody>, Vec<(MovementKind, i64)>);

#[test]
fn movement_cases() {
    use MovementKind::*;
    let cases: Vec<Case> = vec![
        (
            "first subscription is new",
            vec![sub("a", "2025-01-10", 10_000)],
            vec![(New, 10_000)],
        ),
        (
            "same-day double change is two movements",
            vec![
                sub("a", "2025-01-10T09:00:00Z", 10_000),
                sub("a", "2025-01-10T15:00:00Z", 15_000),
            ],
            vec![(New, 10_000), (Expansion, 5_000)],
        ),
        (
            "cancel and resubscribe in one month: churn then reactivation",
            vec![
                sub("a", "2025-01-01", 10_000),
                sub("a", "2025-03-05", 0),
                sub("a", "2025-03-20", 8_000),
            ],
            vec![(New, 10_000), (Churn, -10_000), (Reactivation, 8_000)],
        ),
        (
            "a row at the same price (seat or plan change) is no movement",
            vec![
                sub("a", "2025-01-01", 10_000),
                sub("a", "2025-02-01", 10_000),
                sub("a", "2025-03-01", 7_000),
            ],
            vec![(New, 10_000), (Contraction, -3_000)],
        ),
        (
            "rows arriving out of order are filed by their effective time",
            vec![
                sub("a", "2025-03-01", 12_000),
                sub("a", "2025-01-01", 10_000),
            ],
            vec![(New, 10_000), (Expansion, 2_000)],
        ),
        (
            "a change after as_of is not seen",
            vec![sub("a", "2025-01-01", 10_000), sub("a", "2025-12-01", 0)],
            vec![(New, 10_000)],
        ),
        (
            "zero before any payment is no movement",
            vec![sub("a", "2025-01-01", 0)],
            vec![],
        ),
    ];
    for (name, bodies, expected) in cases {
        assert_eq!(movements(&bodies, "2025-06-30"), expected, "{name}");
    }
}

#[test]
fn a_won_deal_before_the_first_invoice_converts_the_account() {
    let deal = EntryBody::Deal(DealRow {
        deal_id: "d1".into(),
        account_id: AccountId::parse("a").unwrap(),
        kind: DealKind::NewBusiness,
        status: DealStatus::Won,
        amount: Money::new(120_000, Currency::USD),
        created_at: t("2025-01-02"),
        closed_at: Some(t("2025-01-20")),
        contract_start: None,
        contract_end: None,
    });
    let bodies = [deal, sub("a", "2025-02-01", 10_000)];
    let revenue = Revenue::build(
        &model(&bodies),
        &ReportSettings::default(),
        &params("2025-06-30"),
    )
    .unwrap();
    assert_eq!(revenue.accounts[0].converted_at, Some(t("2025-01-20")));
}

#[test]
fn amounts_in_other_currencies_need_a_rate() {
    let eur = EntryBody::Subscription(SubscriptionRow {
        account_id: AccountId::parse("a").unwrap(),
        effective_at: t("2025-01-01"),
        mrr: Money::new(10_000, Currency::parse("EUR").unwrap()),
        plan: None,
        seats: None,
    });
    let m = model(&[eur]);
    // Without a rate the amount is left out, and the report says so rather than failing.
    let report = run("mrr", &m, &ReportSettings::default(), &params("2025-03-31")).unwrap();
    assert!(report.rows.is_empty(), "{:?}", report.rows);
    let warning = &report.warnings[0].message;
    assert!(
        warning.contains("EUR") && warning.contains("[currency.rates]"),
        "{warning}"
    );
    let mut settings = ReportSettings::default();
    settings.rates.insert(Currency::parse("EUR").unwrap(), 1.1);
    let report = run("mrr", &m, &settings, &params("2025-03-31")).unwrap();
    assert_eq!(report.rows.last().unwrap()["mrr"], 110.0);
    assert!(report.warnings.is_empty());
}

#[test]
fn mrr_report_by_hand() {
    // a: 100 from Jan 10, 150 from Feb 1 00:00 (belongs to February), churns Mar 15.
    // b: 50 from Feb 20.
    let bodies = [
        sub("a", "2025-01-10", 10_000),
        sub("a", "2025-02-01T00:00:00Z", 15_000),
        sub("a", "2025-03-15", 0),
        sub("b", "2025-02-20", 5_000),
    ];
    let report = run(
        "mrr",
        &model(&bodies),
        &ReportSettings::default(),
        &params("2025-03-31"),
    )
    .unwrap();
    type Row = (String, f64, f64, f64, f64, f64, Value, Value);
    let rows: Vec<Row> = report
        .rows
        .iter()
        .map(|r| {
            (
                r["month"].as_str().unwrap().to_owned(),
                r["new"].as_f64().unwrap(),
                r["expansion"].as_f64().unwrap(),
                r["churn"].as_f64().unwrap(),
                r["mrr"].as_f64().unwrap(),
                r["customers"].as_f64().unwrap(),
                r["gross_mrr_churn_rate"].clone(),
                r["quick_ratio"].clone(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        vec![
            (
                "2025-01".into(),
                100.0,
                0.0,
                0.0,
                100.0,
                1.0,
                Value::Null,
                Value::Null
            ),
            (
                "2025-02".into(),
                50.0,
                50.0,
                0.0,
                200.0,
                2.0,
                Value::from(0.0),
                Value::Null
            ),
            // March: 150 churned of 200 at the start: gross churn 0.75, quick ratio 0/150 = 0
            (
                "2025-03".into(),
                0.0,
                0.0,
                -150.0,
                50.0,
                1.0,
                Value::from(0.75),
                Value::from(0.0)
            ),
        ]
    );
}

#[test]
fn retention_and_cohorts_by_hand() {
    // Cohort 2025-01: a (100) and b (100). By 2025-03-31: a expanded to 160, b churned.
    let bodies = [
        sub("a", "2025-01-05", 10_000),
        sub("b", "2025-01-06", 10_000),
        sub("a", "2025-02-10", 16_000),
        sub("b", "2025-03-01", 0),
    ];
    let m = model(&bodies);
    let mut p = params("2025-03-31");
    p.from = Some(t("2025-01-31"));
    let r = run("retention", &m, &ReportSettings::default(), &p).unwrap();
    let all = &r.rows[0];
    assert_eq!(
        (
            all["nrr"].as_f64(),
            all["grr"].as_f64(),
            all["logo_retention"].as_f64()
        ),
        (Some(0.8), Some(0.5), Some(0.5))
    );
    let c = run(
        "cohorts",
        &m,
        &ReportSettings::default(),
        &params("2025-03-31"),
    )
    .unwrap();
    let cells: Vec<(u64, f64, f64)> = c
        .rows
        .iter()
        .map(|r| {
            (
                r["month"].as_u64().unwrap(),
                r["logo_retention"].as_f64().unwrap(),
                r["revenue_retention"].as_f64().unwrap(),
            )
        })
        .collect();
    // end of Feb: both alive, 160 + 100 = 260 of 200; end of Mar: a only, 160 of 200. April is after as_of: absent.
    assert_eq!(cells, vec![(0, 1.0, 1.0), (1, 1.0, 1.3), (2, 0.5, 0.8)]);
}

fn ledger_strategy() -> impl Strategy<Value = Vec<EntryBody>> {
    let change =
        (0..5usize, 0..400i64, prop_oneof![Just(0i64), 1..50i64]).prop_map(|(a, day, hundreds)| {
            let at = Timestamp::from_millis(
                1_735_689_600_000 + day * 86_400_000 + (day % 7) * 3_600_000,
            );
            EntryBody::Subscription(SubscriptionRow {
                account_id: AccountId::parse(&format!("acct{a}")).unwrap(),
                effective_at: at,
                mrr: Money::new(hundreds * 1_000, Currency::USD),
                plan: None,
                seats: None,
            })
        });
    proptest::collection::vec(change, 1..40)
}

proptest! {
    #[test]
    fn monthly_movements_add_up_to_the_change_in_mrr(bodies in ledger_strategy()) {
        let report = run("mrr", &model(&bodies), &ReportSettings::default(), &params("2026-03-31")).unwrap();
        let mut previous = 0.0;
        for row in &report.rows {
            let sum: f64 = ["new", "expansion", "contraction", "churn", "reactivation"].iter().map(|k| row[*k].as_f64().unwrap()).sum();
            let mrr = row["mrr"].as_f64().unwrap();
            prop_assert!((row["net_new_mrr"].as_f64().unwrap() - sum).abs() < 1e-6);
            prop_assert!((mrr - previous - sum).abs() < 1e-6, "{row:?}: {previous} + {sum} != {mrr}");
            previous = mrr;
        }
    }

    #[test]
    fn grr_is_at_most_one_and_nrr_at_least_grr(bodies in ledger_strategy(), start in 0..300i64) {
        let mut p = params("2026-03-31");
        p.from = Some(Timestamp::from_millis(1_735_689_600_000 + start * 86_400_000));
        let report = run("retention", &model(&bodies), &ReportSettings::default(), &p).unwrap();
        let all = &report.rows[0];
        if let (Some(nrr), Some(grr)) = (all["nrr"].as_f64(), all["grr"].as_f64()) {
            prop_assert!((0.0..=1.0 + 1e-12).contains(&grr));
            prop_assert!(nrr + 1e-12 >= grr);
        }
    }

    #[test]
    fn month_zero_of_every_cohort_is_one_hundred_percent(bodies in ledger_strategy()) {
        let report = run("cohorts", &model(&bodies), &ReportSettings::default(), &params("2026-03-31")).unwrap();
        for row in report.rows.iter().filter(|r| r["month"] == 0) {
            prop_assert_eq!(row["logo_retention"].as_f64(), Some(1.0));
            prop_assert_eq!(row["revenue_retention"].as_f64(), Some(1.0));
        }
    }

    #[test]
    fn every_report_is_the_same_whatever_order_the_rows_arrived_in(bodies in ledger_strategy(), seed in any::<u64>()) {
        let mut shuffled = bodies.clone();
        // a deterministic shuffle from the seed
        let mut state = seed | 1;
        for i in (1..shuffled.len()).rev() {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17;
            shuffled.swap(i, (state % (i as u64 + 1)) as usize);
        }
        // Ties at the same instant are ordered by log position, so keep instants unique here.
        let mut seen = std::collections::BTreeSet::new();
        let unique: Vec<EntryBody> = bodies.iter().filter(|b| match b { EntryBody::Subscription(s) => seen.insert((s.account_id.clone(), s.effective_at)), _ => true }).cloned().collect();
        let unique_shuffled: Vec<EntryBody> = shuffled.iter().filter(|b| unique.contains(b)).cloned().collect();
        for name in ["mrr", "retention", "cohorts", "survival", "ltv"] {
            let a = run(name, &model(&unique), &ReportSettings::default(), &params("2026-03-31")).unwrap();
            let b = run(name, &model(&unique_shuffled), &ReportSettings::default(), &params("2026-03-31")).unwrap();
            prop_assert_eq!(serde_json::to_value(&a).unwrap(), serde_json::to_value(&b).unwrap(), "{}", name);
        }
    }
}

/// A Stripe subscription event (pre-2025-03-31 shape) as the webhook stores it.
fn stripe(
    id: &str,
    kind: &str,
    created: i64,
    sub: &str,
    price: serde_json::Value,
    qty: i64,
    coupon: Option<serde_json::Value>,
) -> EntryBody {
    let mut object = serde_json::json!({
        "id": sub, "object": "subscription", "customer": "cus_1", "currency": "usd", "status": "active",
        "metadata": {"account_id": "a"},
        "items": {"object": "list", "data": [{"id": "si", "object": "subscription_item", "quantity": qty, "price": price}]}
    });
    if let Some(coupon) = coupon {
        object["discount"] =
            serde_json::json!({"id": "di", "object": "discount", "coupon": coupon});
    }
    let payload = serde_json::json!({"id": id, "object": "event", "type": kind, "created": created, "data": {"object": object}});
    EntryBody::Webhook(tenure_core::WebhookEvent {
        provider: "stripe".into(),
        event_id: id.into(),
        event_type: kind.into(),
        payload,
    })
}

fn price(unit: i64, interval: &str) -> serde_json::Value {
    serde_json::json!({"id": "p", "object": "price", "currency": "usd", "unit_amount": unit,
                       "recurring": {"interval": interval, "interval_count": 1, "usage_type": "licensed"}})
}

#[test]
fn stripe_movement_cases() {
    use MovementKind::*;
    const JAN: i64 = 1_736_000_000; // 2025-01-04
    const FEB: i64 = 1_739_000_000; // 2025-02-08
    let created = "customer.subscription.created";
    let updated = "customer.subscription.updated";
    let cases: Vec<Case> = vec![
        (
            "annual plan: a yearly price is a twelfth a month",
            vec![stripe(
                "e1",
                created,
                JAN,
                "s",
                price(120_000, "year"),
                1,
                None,
            )],
            vec![(New, 10_000)],
        ),
        (
            "discount: 25% off",
            vec![stripe(
                "e1",
                created,
                JAN,
                "s",
                price(10_000, "month"),
                1,
                Some(serde_json::json!({"id": "Q", "percent_off": 25.0})),
            )],
            vec![(New, 7_500)],
        ),
        (
            "quantity change: 1 seat, then 3",
            vec![
                stripe("e1", created, JAN, "s", price(5_000, "month"), 1, None),
                stripe("e2", updated, FEB, "s", price(5_000, "month"), 3, None),
            ],
            vec![(New, 5_000), (Expansion, 10_000)],
        ),
        (
            "the same event twice is one movement",
            vec![
                stripe("e1", created, JAN, "s", price(5_000, "month"), 1, None),
                stripe("e1", created, JAN, "s", price(5_000, "month"), 1, None),
            ],
            vec![(New, 5_000)],
        ),
        (
            "out of order: the older event is history, the newer the state",
            vec![
                stripe("e2", updated, FEB, "s", price(5_000, "month"), 3, None),
                stripe("e1", created, JAN, "s", price(5_000, "month"), 1, None),
            ],
            vec![(New, 5_000), (Expansion, 10_000)],
        ),
        (
            "deleted: MRR to 0 is churn",
            vec![
                stripe("e1", created, JAN, "s", price(5_000, "month"), 2, None),
                stripe(
                    "e2",
                    "customer.subscription.deleted",
                    FEB,
                    "s",
                    price(5_000, "month"),
                    2,
                    None,
                ),
            ],
            vec![(New, 10_000), (Churn, -10_000)],
        ),
        (
            "two subscriptions of one account add up",
            vec![
                stripe("e1", created, JAN, "s1", price(5_000, "month"), 1, None),
                stripe("e2", created, FEB, "s2", price(2_000, "month"), 1, None),
            ],
            vec![(New, 5_000), (Expansion, 2_000)],
        ),
    ];
    for (name, bodies, expected) in cases {
        assert_eq!(movements(&bodies, "2025-06-30"), expected, "{name}");
    }
}

fn segment(line: serde_json::Value) -> EntryBody {
    let m = tenure_ingest::segment::parse_message(
        line.to_string().as_bytes(),
        // Imported after every event here: an import may not hold events after it.
        Timestamp::parse("2030-01-01T00:00:00Z").unwrap(),
        &Default::default(),
    )
    .unwrap();
    EntryBody::Segment(m)
}

fn page(id: &str, anon: &str, at: &str, url: &str) -> EntryBody {
    segment(
        serde_json::json!({"type": "page", "messageId": id, "anonymousId": anon, "timestamp": at, "context": {"page": {"url": url}}}),
    )
}

/// Account a: a paid-search visit, then an email visit, then it pays 100 a month. Account b
/// has no touchpoint (one direct touch at conversion) and pays 50. A visitor who never buys came
/// from email.
fn attributed_company() -> Model {
    model(&[
        page(
            "p1",
            "anon-a",
            "2025-01-01T10:00:00Z",
            "https://x.io/?gclid=abc",
        ),
        page(
            "p2",
            "anon-a",
            "2025-01-05T10:00:00Z",
            "https://x.io/?utm_source=news&utm_medium=email",
        ),
        segment(
            serde_json::json!({"type": "identify", "messageId": "i1", "anonymousId": "anon-a", "userId": "ua", "timestamp": "2025-01-05T10:01:00Z"}),
        ),
        segment(
            serde_json::json!({"type": "group", "messageId": "g1", "userId": "ua", "groupId": "a", "timestamp": "2025-01-05T10:02:00Z"}),
        ),
        sub("a", "2025-01-10", 10_000),
        sub("b", "2025-01-12", 5_000),
        page(
            "p3",
            "anon-v",
            "2025-02-01T10:00:00Z",
            "https://x.io/?utm_source=news&utm_medium=email",
        ),
    ])
}

fn attribution(m: &Model, model: &str, metric: &str) -> std::collections::BTreeMap<String, f64> {
    let mut p = params("2025-03-31");
    p.model = Some(model.into());
    p.metric = Some(metric.into());
    let r = run("attribution", m, &ReportSettings::default(), &p).unwrap();
    r.rows
        .iter()
        .map(|row| {
            (
                row["channel"].as_str().unwrap().to_owned(),
                row[metric].as_f64().unwrap_or(0.0),
            )
        })
        .filter(|(_, v)| *v != 0.0)
        .collect()
}

#[test]
fn attribution_by_hand() {
    let m = attributed_company();
    let map = |pairs: &[(&str, f64)]| {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), *v))
            .collect::<std::collections::BTreeMap<_, _>>()
    };
    assert_eq!(
        attribution(&m, "first_touch", "conversions"),
        map(&[("direct", 1.0), ("paid_search", 1.0)])
    );
    assert_eq!(
        attribution(&m, "last_touch", "conversions"),
        map(&[("direct", 1.0), ("email", 1.0)])
    );
    assert_eq!(
        attribution(&m, "linear", "conversions"),
        map(&[("direct", 1.0), ("email", 0.5), ("paid_search", 0.5)])
    );
    // initial ARR: a = 1,200 split 600/600; b = 600 to direct
    assert_eq!(
        attribution(&m, "linear", "initial_arr"),
        map(&[("direct", 600.0), ("email", 600.0), ("paid_search", 600.0)])
    );
    // Markov: paths start→paid_search→email→conv, start→direct→conv, start→email→null (the
    // visitor). start goes to each first state with 1/3; email converts with 1/2.
    // P(conv) = 1/3·P(ps) + 1/3·P(direct) + 1/3·P(email) = 1/3·1/2 + 1/3·1 + 1/3·1/2 = 2/3.
    // Without paid_search: 0 + 1/3 + 1/6 = 1/2 → RE = 1 − (1/2)/(2/3) = 1/4.
    // Without email: 0 + 1/3 + 0 = 1/3 → RE = 1/2. Without direct: 1/6 + 0 + 1/6 = 1/3 → RE = 1/2.
    // Shares of 2 conversions: 2 × (1/4, 1/2, 1/2) / (5/4) = 0.4, 0.8, 0.8.
    let markov = attribution(&m, "markov", "conversions");
    for (channel, expected) in [("paid_search", 0.4), ("email", 0.8), ("direct", 0.8)] {
        assert!(
            (markov[channel] - expected).abs() < 1e-6,
            "{channel}: {} vs {expected}",
            markov[channel]
        );
    }
}

#[test]
fn every_model_metric_and_dimension_sums_back_to_the_total() {
    let m = attributed_company();
    for model in tenure_attribution::Model::NAMES {
        for metric in [
            "conversions",
            "initial_arr",
            "realized_revenue",
            "retained_90d",
        ] {
            for by in ["channel", "source", "medium", "campaign", "content"] {
                let mut p = params("2025-03-31");
                p.model = Some(model.into());
                p.metric = Some(metric.into());
                p.by = Some(by.into());
                let r = run("attribution", &m, &ReportSettings::default(), &p).unwrap();
                let total: f64 = r
                    .rows
                    .iter()
                    .map(|row| row[metric].as_f64().unwrap_or(0.0))
                    .sum();
                let expected = match metric {
                    "conversions" => 2.0,
                    "initial_arr" => 1_800.0,
                    // a: 100 a month from Jan 10, b: 50 from Jan 12, to Mar 31 23:59:59.999
                    "realized_revenue" => {
                        let days_a = (Timestamp::parse_end_of("2025-03-31").unwrap().millis()
                            - t("2025-01-10").millis()) as f64
                            / 86_400_000.0;
                        let days_b = (Timestamp::parse_end_of("2025-03-31").unwrap().millis()
                            - t("2025-01-12").millis()) as f64
                            / 86_400_000.0;
                        (100.0 * days_a + 50.0 * days_b) * 12.0 / 365.25
                    }
                    _ => 0.0,
                };
                if metric != "retained_90d" {
                    assert!(
                        (total - expected).abs() < 0.02,
                        "{model} {metric} by {by}: {total} vs {expected}"
                    );
                } else {
                    // both converted in January and pay at +90 days (April 10/12 is after as_of): 0
                    assert!(total.abs() < 1e-9, "{model} {metric} by {by}: {total}");
                }
            }
        }
    }
}

/// `--model linear --by channel` on the ledger reports, by hand: account a (100 a month) is
/// half paid_search, half email; b (50 a month) is all direct.
#[test]
fn ledger_reports_split_accounts_by_credit_by_hand() {
    let m = attributed_company();
    let run_with = |name: &str| {
        let mut p = params("2025-03-31");
        p.model = Some("linear".into());
        p.by = Some("channel".into());
        run(name, &m, &ReportSettings::default(), &p).unwrap()
    };
    let row_of = |r: &tenure_reports::Report, channel: &str, month: Option<&str>| {
        r.rows
            .iter()
            .find(|row| row["channel"] == channel && month.is_none_or(|mo| row["month"] == mo))
            .cloned()
            .unwrap_or_else(|| panic!("a {channel} row"))
    };
    let mrr = run_with("mrr");
    for (channel, mrr_value, customers) in [
        ("paid_search", 50.0, 0.5),
        ("email", 50.0, 0.5),
        ("direct", 50.0, 1.0),
    ] {
        let row = row_of(&mrr, channel, Some("2025-03"));
        assert_eq!(row["mrr"].as_f64(), Some(mrr_value), "{channel}");
        assert_eq!(row["customers"].as_f64(), Some(customers), "{channel}");
        let january = row_of(&mrr, channel, Some("2025-01"));
        assert_eq!(january["new"].as_f64(), Some(mrr_value), "{channel}");
    }
    // Whole counts stay integers in JSON; split ones are fractions.
    assert!(row_of(&mrr, "direct", Some("2025-03"))["customers"].is_u64());

    let unit = run_with("unit-economics");
    assert_eq!(
        row_of(&unit, "email", None)["new_customers"].as_f64(),
        Some(0.5)
    );
    assert_eq!(
        row_of(&unit, "direct", None)["new_customers"].as_f64(),
        Some(1.0)
    );

    let cohorts = run_with("cohorts");
    let email = cohorts
        .rows
        .iter()
        .find(|row| row["channel"] == "email" && row["month"] == 0)
        .unwrap();
    assert_eq!(email["accounts"].as_f64(), Some(0.5));
    assert_eq!(email["initial_mrr"].as_f64(), Some(50.0));

    let survival = run_with("survival");
    let groups = survival.summary.as_ref().unwrap()["groups"]
        .as_array()
        .unwrap()
        .clone();
    let customers: Vec<(String, f64)> = groups
        .iter()
        .map(|g| {
            (
                g["channel"].as_str().unwrap().to_owned(),
                g["customers"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        customers,
        vec![
            ("direct".to_owned(), 1.0),
            ("email".to_owned(), 0.5),
            ("paid_search".to_owned(), 0.5)
        ]
    );
}
