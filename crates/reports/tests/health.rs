//! The post-purchase reports: facts gathered by hand, and on a simulated company whose churn
//! the simulator drove by low usage, non-activation, detractors and tickets, the health score's
//! back-test, the filters and the account view.

mod common;
use common::t;

use common::{company, company_of_seed};
use std::collections::HashSet;

use serde_json::{json, Value};
use tenure_core::{
    AccountId, Currency, DealKind, DealRow, DealStatus, EntryBody, Money, SubscriptionRow,
    Timestamp,
};
use tenure_engine::{Model, SurveyKind};
use tenure_health::{Facts, HealthSettings, DAY_MS};
use tenure_reports::{facts, run, AccountRevenue, Report, ReportParams, ReportSettings, Revenue};

fn track(id: &str, user: &str, event: &str, at: &str, properties: Value) -> EntryBody {
    let line = json!({"type": "track", "messageId": id, "userId": user, "event": event,
        "timestamp": at, "properties": properties, "context": {"groupId": "a"}});
    EntryBody::Segment(
        tenure_ingest::segment::parse_message(
            line.to_string().as_bytes(),
            // Imported after every event here: an import may not hold events after it.
            Timestamp::parse("2030-01-01T00:00:00Z").unwrap(),
            &Default::default(),
        )
        .unwrap(),
    )
}

/// Distinct users and distinct UTC days among an account's product events in `(from, to]`,
/// and how many events.
fn reference_activity(
    model: &Model,
    account: &AccountId,
    from: Timestamp,
    to: Timestamp,
) -> (u32, u32, u32) {
    let mut users = HashSet::new();
    let mut days = HashSet::new();
    let mut events = 0u32;
    for e in model.usage().between(account, from, to) {
        users.insert(e.user);
        days.insert(e.at.millis().div_euclid(DAY_MS));
        events += 1;
    }
    (users.len() as u32, days.len() as u32, events)
}

/// Facts by their definitions, window by window and event by event: the slow, obviously
/// right way, which the one-pass `facts` must equal.
fn reference_facts(
    model: &Model,
    settings: &ReportSettings,
    revenue: &AccountRevenue,
    at: Timestamp,
) -> Facts {
    let a = &revenue.account;
    let back = |d: i64| at.plus_millis(-d * DAY_MS);
    let (users_14, days_14, _) = reference_activity(model, a, back(14), at);
    let (_, days_prev_28, _) = reference_activity(model, a, back(42), back(14));
    let (users_30, _, _) = reference_activity(model, a, back(30), at);
    let (users_prev_30, _, _) = reference_activity(model, a, back(60), back(30));
    let (_, _, events_7) = reference_activity(model, a, back(7), at);
    let (_, _, events_prev_28) = reference_activity(model, a, back(35), back(7));
    let mut features: Vec<String> = model
        .usage()
        .between(a, back(30), at)
        .map(|e| e.event.to_owned())
        .collect();
    features.sort_unstable();
    features.dedup();
    let key = &settings.adoption.key_features;
    let usage_limit = model
        .usage()
        .between(a, back(30), at)
        .filter(|e| e.event == settings.signals.usage_limit_event)
        .map(|e| e.at.millis())
        .max();
    // The champion: the most active user of the 90 days before the last 14 (ties: the first
    // by name), and their latest event.
    let mut counts: std::collections::BTreeMap<&str, u32> = Default::default();
    for e in model.usage().between(a, back(104), back(14)) {
        *counts.entry(e.user).or_default() += 1;
    }
    let champion = counts
        .iter()
        .max_by(|x, y| x.1.cmp(y.1).then(y.0.cmp(x.0)))
        .map(|(user, _)| {
            let last = model
                .usage()
                .between(a, back(104), at)
                .filter(|e| e.user == *user)
                .map(|e| e.at.millis())
                .max()
                .unwrap_or(at.millis());
            ((*user).to_owned(), last)
        });

    let success = model.success().account(a);
    let tickets: Vec<&tenure_engine::Ticket> =
        success.map(|s| s.tickets().collect()).unwrap_or_default();
    let opened_in = |from: Timestamp, to: Timestamp| {
        tickets
            .iter()
            .filter(|t| t.opened_at.is_some_and(|o| o > from && o <= to))
            .count() as u32
    };
    let nps = success
        .map(|s| {
            s.latest_answers(SurveyKind::Nps, at)
                .values()
                .filter(|ans| ans.at > back(365))
                .map(|ans| (ans.at.millis(), ans.score))
                .collect()
        })
        .unwrap_or_default();
    let last_csm_touch = success.and_then(|s| {
        s.csm_touches()
            .filter(|m| m.at <= at)
            .map(|m| m.at.millis())
            .max()
    });

    let ledger = model.ledger().account(a);
    let failed_payment = ledger.and_then(|l| {
        let invoices: Vec<_> = l.invoices().filter(|i| i.at <= at).collect();
        let last_paid = invoices.iter().filter(|i| i.paid).map(|i| i.at).max();
        invoices
            .iter()
            .filter(|i| !i.paid && i.at > back(30) && last_paid.is_none_or(|p| p < i.at))
            .map(|i| i.at.millis())
            .max()
    });
    let contract_end = ledger.and_then(|l| {
        l.deals()
            .filter(|d| d.status == DealStatus::Won && d.closed_at.is_some_and(|c| c <= at))
            .filter_map(|d| d.contract_end)
            .max()
            .map(Timestamp::millis)
    });

    Facts {
        as_of: at.millis(),
        converted_at: revenue
            .converted_at
            .filter(|c| *c <= at)
            .map(Timestamp::millis),
        activated_at: model
            .usage()
            .activated_at(a, &settings.activation, at)
            .map(Timestamp::millis),
        mrr: revenue.mrr_at(at),
        seats: ledger.and_then(|l| l.seats_at(at)),
        plan: ledger.and_then(|l| l.plan_at(at)).map(str::to_owned),
        active_users_14d: users_14,
        active_users_30d: users_30,
        active_users_prev_30d: users_prev_30,
        active_days_14d: days_14,
        active_days_prev_28d: days_prev_28,
        events_7d: events_7,
        events_prev_28d: events_prev_28,
        last_activity: model.usage().last_before(a, at).map(Timestamp::millis),
        key_features_30d: key.iter().filter(|k| features.contains(k)).count() as u32,
        key_features: key.len() as u32,
        features_30d: features,
        open_tickets: tickets.iter().filter(|t| t.open_at(at)).count() as u32,
        tickets_14d: opened_in(back(14), at),
        tickets_prev_84d: opened_in(back(98), back(14)),
        tickets_30d: opened_in(back(30), at),
        tickets_365d: opened_in(back(365), at),
        nps,
        last_csm_touch,
        failed_payment,
        usage_limit,
        champion,
        churned_at: revenue
            .churned_at
            .filter(|c| *c <= at)
            .map(Timestamp::millis),
        last_expansion: revenue
            .movements
            .iter()
            .filter(|m| m.kind == tenure_reports::MovementKind::Expansion && m.at <= at)
            .map(|m| m.at.millis())
            .max(),
        contract_end,
    }
}

#[test]
fn one_pass_facts_equal_facts_by_definition() {
    let (model, _) = company(300);
    let settings = ReportSettings::default();
    let end = Timestamp::parse_end_of("2026-10-31").unwrap();
    let revenue = Revenue::build(&model, &settings, &ReportParams::at(end)).unwrap();
    let mut compared = 0;
    // Every other account at instants spread over its life, day ends and mid-day alike.
    for a in revenue.accounts.iter().step_by(2) {
        let Some(converted) = a.converted_at else {
            continue;
        };
        let mut at = converted.plus_millis(-5 * DAY_MS);
        while at <= end {
            let expected = reference_facts(&model, &settings, a, at);
            assert_eq!(
                facts(&model, &settings, a, at),
                expected,
                "{} at {at}",
                a.account
            );
            compared += 1;
            at = at.plus_millis(9 * DAY_MS + 3_600_000 * 7 + 1);
        }
    }
    assert!(compared > 500, "{compared}");
}

/// Account `a` pays from January with 4 seats; on 2025-06-30 its facts are known by hand.
#[test]
fn facts_by_hand() {
    let mut bodies = vec![EntryBody::Subscription(SubscriptionRow {
        account_id: AccountId::parse("a").unwrap(),
        effective_at: t("2025-01-01T00:00:00Z"),
        mrr: Money::new(40_000, Currency::USD),
        plan: Some("pro".into()),
        seats: Some(4),
    })];
    bodies.push(EntryBody::Deal(DealRow {
        deal_id: "d1".into(),
        account_id: AccountId::parse("a").unwrap(),
        kind: DealKind::NewBusiness,
        status: DealStatus::Won,
        amount: Money::new(480_000, Currency::USD),
        created_at: t("2024-12-01T00:00:00Z"),
        closed_at: Some(t("2024-12-20T00:00:00Z")),
        contract_start: Some(t("2025-01-01T00:00:00Z")),
        contract_end: Some(t("2025-08-15T00:00:00Z")),
    }));
    let mut n = 0;
    let mut ev = |user: &str, event: &str, at: &str, p: Value| {
        n += 1;
        track(&format!("m{n}"), user, event, at, p)
    };
    // Usage: u1 in the last 14 days on two days, u2 in the last 30 only; u3 long ago (the
    // champion of the 90 days before the last 14 is u3, idle since May).
    bodies.push(ev(
        "u1",
        "Report Created",
        "2025-06-29T10:00:00Z",
        json!({}),
    ));
    bodies.push(ev(
        "u1",
        "Dashboard Shared",
        "2025-06-20T10:00:00Z",
        json!({}),
    ));
    bodies.push(ev(
        "u2",
        "Report Created",
        "2025-06-10T10:00:00Z",
        json!({}),
    ));
    for day in 1..=5 {
        bodies.push(ev(
            "u3",
            "Logged In",
            &format!("2025-05-0{day}T10:00:00Z"),
            json!({}),
        ));
    }
    bodies.push(ev(
        "u1",
        "Usage Limit Approached",
        "2025-06-25T10:00:00Z",
        json!({}),
    ));
    // Tickets: one open, one solved; NPS: u1 6 then 9, u2 4.
    bodies.push(ev(
        "u1",
        "Ticket Created",
        "2025-06-25T10:00:00Z",
        json!({"ticket_id": "t1"}),
    ));
    bodies.push(ev(
        "u1",
        "Ticket Created",
        "2025-06-01T10:00:00Z",
        json!({"ticket_id": "t2"}),
    ));
    bodies.push(ev(
        "u1",
        "Ticket Solved",
        "2025-06-03T10:00:00Z",
        json!({"ticket_id": "t2"}),
    ));
    bodies.push(ev(
        "u1",
        "NPS Submitted",
        "2025-03-01T10:00:00Z",
        json!({"score": 6}),
    ));
    bodies.push(ev(
        "u1",
        "NPS Submitted",
        "2025-06-01T10:00:00Z",
        json!({"score": 9}),
    ));
    bodies.push(ev(
        "u2",
        "NPS Submitted",
        "2025-05-01T10:00:00Z",
        json!({"score": 4}),
    ));
    bodies.push(ev(
        "csm",
        "CSM Touch",
        "2025-05-31T10:00:00Z",
        json!({"kind": "qbr"}),
    ));
    let model = common::model_of(bodies);
    let settings = ReportSettings::default();
    let at = Timestamp::parse_end_of("2025-06-30").unwrap();
    let revenue = Revenue::build(&model, &settings, &ReportParams::at(at)).unwrap();
    let f = facts(&model, &settings, &revenue.accounts[0], at);
    assert_eq!(f.mrr, 40_000);
    assert_eq!(f.seats, Some(4));
    assert_eq!(f.plan.as_deref(), Some("pro"));
    assert_eq!((f.active_users_14d, f.active_users_30d), (1, 2));
    assert_eq!(
        f.active_days_14d, 3,
        "June 20, 25 (the limit event is usage) and 29"
    );
    assert_eq!(
        f.key_features_30d, 2,
        "Report Created and Dashboard Shared of 6"
    );
    assert_eq!(f.key_features, 6);
    assert_eq!(f.last_activity, Some(t("2025-06-29T10:00:00Z").millis()));
    assert_eq!((f.open_tickets, f.tickets_14d, f.tickets_30d), (1, 1, 2));
    assert_eq!(f.tickets_365d, 2);
    let mut nps: Vec<u8> = f.nps.iter().map(|(_, s)| *s).collect();
    nps.sort_unstable();
    assert_eq!(nps, [4, 9], "each person's latest answer");
    assert_eq!(f.last_csm_touch, Some(t("2025-05-31T10:00:00Z").millis()));
    assert_eq!(f.usage_limit, Some(t("2025-06-25T10:00:00Z").millis()));
    assert_eq!(
        f.champion,
        Some(("u3".to_owned(), t("2025-05-05T10:00:00Z").millis()))
    );
    assert_eq!(f.contract_end, Some(t("2025-08-15T00:00:00Z").millis()));

    // Through the account report: the score explains itself and the signals follow the facts.
    let params = ReportParams {
        account: Some("a".into()),
        ..ReportParams::at(at)
    };
    let r = run("account", &model, &settings, &params).unwrap();
    let summary = r.summary.unwrap();
    let signals: Vec<&str> = summary["signals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["signal"].as_str().unwrap())
        .collect();
    // Converted at the deal's close (2024-12-20), activated only on 2025-06-20 (u2's report on
    // the 10th and u1 on the 20th: two users within 14 days): not activated by day 30. Active
    // users 2 in June against u3 alone in May: up. u2's latest answer is a 4. The contract ends
    // on 2025-08-15, 46 days on.
    assert_eq!(
        signals,
        [
            "not_activated",
            "nps_detractor",
            "champion_inactive",
            "usage_limit",
            "active_users_up",
            "renewal_90",
            "renewal_60"
        ]
    );
    let usage = &summary["health"]["components"][0];
    assert_eq!(
        (usage["name"].as_str(), usage["input"].as_f64()),
        (Some("usage"), Some(0.25))
    );
    let kinds: Vec<&str> = r
        .rows
        .iter()
        .map(|row| row["kind"].as_str().unwrap())
        .collect();
    for kind in ["revenue", "ticket", "nps", "csm_touch", "signal"] {
        assert!(kinds.contains(&kind), "{kind} in the timeline: {kinds:?}");
    }
    // A prospect and an unknown id are refused with the reason.
    let unknown = ReportParams {
        account: Some("nobody".into()),
        ..ReportParams::at(at)
    };
    let error = run("account", &model, &settings, &unknown).unwrap_err();
    assert!(error.to_string().contains("no account nobody"), "{error}");
}

fn report(model: &Model, name: &str, edit: impl FnOnce(&mut ReportParams)) -> Report {
    let mut params = ReportParams::at(Timestamp::parse_end_of("2026-10-31").unwrap());
    edit(&mut params);
    run(name, model, &ReportSettings::default(), &params).unwrap()
}

#[test]
fn the_health_score_predicts_the_simulators_churn() {
    let (model, _) = company(2_000);
    let r = report(&model, "health-backtest", |_| {});
    let summary = r.summary.as_ref().unwrap();
    let current = &summary["configs"][0];
    let auc = current["roc_auc"].as_f64().unwrap();
    println!("health-backtest: {summary}");
    assert_eq!(summary["month_ends"], 12);
    assert!(current["snapshots"].as_u64().unwrap() > 1_000);
    // The simulator's churn follows usage, activation, NPS and tickets, which the default
    // components read: the score must rank churners well above chance…
    assert!(auc > 0.6, "AUC {auc}");
    // …and the bands must order the churn rates.
    let rate = |band: &str| {
        r.rows
            .iter()
            .find(|row| row["band"] == band)
            .and_then(|row| row["churn_rate"].as_f64())
            .unwrap()
    };
    assert!(rate("red") > rate("yellow") && rate("yellow") > rate("green"));

    // A proposed configuration reading billing alone (which the simulator never fails) carries
    // no information: its AUC is 0.5 exactly, as every score ties.
    let mut proposed = HealthSettings::default();
    proposed.components.retain(|c| c.name == "billing");
    let r = report(&model, "health-backtest", |p| p.proposed = Some(proposed));
    let configs = r.summary.as_ref().unwrap()["configs"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(configs.len(), 2);
    assert_eq!(configs[1]["config"], "proposed");
    assert_eq!(configs[1]["roc_auc"].as_f64(), Some(0.5));
    assert_ne!(configs[0]["version"], configs[1]["version"]);
}

#[test]
fn filters_sorts_and_the_signal_list_agree() {
    let (model, _) = company(400);
    let all = report(&model, "accounts", |_| {});
    assert!(all.rows.len() > 20);
    let red = report(&model, "accounts", |p| p.filters.band = Some("red".into()));
    assert!(red.rows.iter().all(|row| row["band"] == "red"));
    let expected_red = all.rows.iter().filter(|row| row["band"] == "red").count();
    assert_eq!(red.rows.len(), expected_red);
    let by_risk = report(&model, "accounts", |p| p.sort = Some("risk".into()));
    let risks: Vec<u64> = by_risk
        .rows
        .iter()
        .map(|r| r["risk"].as_u64().unwrap())
        .collect();
    assert!(risks.windows(2).all(|w| w[0] >= w[1]));
    let by_health = report(&model, "accounts", |p| p.sort = Some("health".into()));
    let scores: Vec<f64> = by_health
        .rows
        .iter()
        .filter_map(|r| r["health"].as_f64())
        .collect();
    assert!(scores.windows(2).all(|w| w[0] <= w[1]));

    // The signals report lists exactly the accounts report's signals.
    let signals = report(&model, "signals", |_| {});
    let listed: usize = all
        .rows
        .iter()
        .map(|row| {
            let s = row["signals"].as_str().unwrap();
            if s.is_empty() {
                0
            } else {
                s.split(',').count()
            }
        })
        .sum();
    assert_eq!(signals.rows.len(), listed);
    let idle = report(&model, "accounts", |p| {
        p.filters.signal = Some("no_activity".into())
    });
    assert!(idle.rows.iter().all(|row| row["signals"]
        .as_str()
        .unwrap()
        .split(',')
        .any(|s| s == "no_activity")));

    // Renewals: contracts ending within 90 days, soonest first, each in its window.
    let renewals = report(&model, "renewals", |_| {});
    let left: Vec<i64> = renewals
        .rows
        .iter()
        .map(|r| r["days_left"].as_i64().unwrap())
        .collect();
    assert!(!left.is_empty());
    assert!(left.windows(2).all(|w| w[0] <= w[1]));
    for row in &renewals.rows {
        let (d, w) = (
            row["days_left"].as_i64().unwrap(),
            row["window"].as_i64().unwrap(),
        );
        assert!(d <= w && (w == 30 || d > w - 30), "{d} days in window {w}");
    }

    for (name, bad) in [("band", "blue"), ("signal", "bored"), ("sort", "name")] {
        let mut params = ReportParams::at(Timestamp::parse_end_of("2026-10-31").unwrap());
        match name {
            "band" => params.filters.band = Some(bad.into()),
            "signal" => params.filters.signal = Some(bad.into()),
            _ => params.sort = Some(bad.into()),
        }
        let error = run("accounts", &model, &ReportSettings::default(), &params).unwrap_err();
        assert!(error.to_string().starts_with(name), "{error}");
    }
}

#[test]
fn the_churn_model_beats_the_base_rate_on_a_later_holdout() {
    let (model, _) = company(2_000);
    let r = report(&model, "churn-model", |_| {});
    let s = r.summary.as_ref().unwrap();
    println!("churn-model: {s}");
    let auc = s["holdout_roc_auc"].as_f64().unwrap();
    let brier = s["holdout_brier"].as_f64().unwrap();
    let base = s["holdout_base_rate"].as_f64().unwrap();
    // Ranks churners well on snapshots it never saw (the bar the product promises)…
    assert!(auc >= 0.80, "holdout AUC {auc}");
    // …and its probabilities beat always predicting the base rate (whose Brier is b(1 − b)).
    assert!(
        brier < base * (1.0 - base),
        "Brier {brier} vs {}",
        base * (1.0 - base)
    );
    assert_eq!(s["calibration"].as_array().unwrap().len(), 10);
    assert_eq!(r.rows.len(), tenure_health::CHURN_FEATURES.len());
    // The simulator's annual customers leave only at their contract's end: a snapshot bound
    // past the horizon never churns within it, and the model says exactly that for them…
    assert!(s["training_bound_snapshots"].as_u64().unwrap() > 0);
    assert!(s["holdout_bound_snapshots"].as_u64().unwrap() > 0);
    assert_eq!(s["bound_churn_rate"].as_f64(), Some(0.0));
    // …so ranking the accounts that can leave is the harder part, and shown on its own.
    let can_leave = s["holdout_roc_auc_can_leave"].as_f64().unwrap();
    assert!(0.5 < can_leave && can_leave < auc, "{can_leave} vs {auc}");
    // The holdout starts after every training label was known.
    let holdout = Timestamp::parse(s["holdout_from"].as_str().unwrap()).unwrap();
    assert!(r.from.unwrap() < holdout && holdout <= r.to.unwrap());

    let f = report(&model, "forecast", |_| {});
    let s = f.summary.as_ref().unwrap();
    println!("forecast: {s}");
    let expected = s["expected_renewal_arr"].as_f64().unwrap();
    let up = s["arr_up_for_renewal"].as_f64().unwrap();
    assert!(expected > 0.0 && expected <= up);
    let b = &s["backtest"];
    let contracts = b["contracts"].as_f64().unwrap();
    let renewals = b["expected_renewals"].as_f64().unwrap();
    assert!(contracts > 0.0 && renewals > 0.0 && renewals < contracts);
    assert!(b["actual_renewals"].as_f64().unwrap() <= contracts);
}

/// The features that measure each cause the simulator plants in its churn hazard, with the way
/// each should point: the ground truth's `churn_drivers`, the plan's base hazard, and annual
/// contracts, which meet a whole year's hazard at one renewal.
const PLANTED: &[(&str, &[(&str, &str)])] = &[
    (
        "low_usage",
        &[
            ("usage_per_seat", "less churn"),
            ("adoption_depth", "less churn"),
            ("usage_trend", "less churn"),
            ("engagement_trend", "less churn"),
            ("days_since_activity", "more churn"),
        ],
    ),
    (
        "support_tickets",
        &[
            ("tickets_per_month_12m", "more churn"),
            ("support_load", "more churn"),
            ("tickets_14d", "more churn"),
        ],
    ),
    (
        "nps_detractor",
        &[("nps_mean", "less churn"), ("detractor", "more churn")],
    ),
    ("not_activated", &[("not_activated", "more churn")]),
    (
        "plan",
        &[
            ("log_mrr", "less churn"),
            ("log_mrr_per_seat", "less churn"),
        ],
    ),
    ("renewal", &[("renewal_due_90d", "more churn")]),
];

/// The bar for the drivers: on a simulated company large enough for its drivers to be
/// told apart (20,000 accounts: 3,563 churns in 27,628 snapshots; at the demo's 2,000 the
/// intervals are wide, which the report shows), the planted causes are the top drivers. Tickets
/// come sixth at seed 42 (`tickets_per_month_12m`; seventh or eighth when the simulator raised a
/// month's hazard by that month's own tickets): now a latent trouble raises them a month before
/// it raises the hazard, so a snapshot's recent support load sees churn coming.
///
/// `TENURE_CHURN_SEEDS=3,7,11,42,2026` (default 42) checks the same bar on other seeds of the
/// simulator; all five pass it, while at 8,000 accounts two of them let tenure in among the
/// first six.
#[test]
fn the_churn_models_top_drivers_are_the_planted_ones() {
    let seeds = std::env::var("TENURE_CHURN_SEEDS").unwrap_or_else(|_| "42".into());
    for seed in seeds.split(',') {
        let seed = seed
            .trim()
            .parse()
            .expect("TENURE_CHURN_SEEDS: comma-separated integers");
        println!("seed {seed}");
        the_top_drivers_are_planted(seed);
    }
}

fn the_top_drivers_are_planted(seed: u64) {
    let (model, truth) = company_of_seed(20_000, seed);
    let planted: Vec<&str> = PLANTED.iter().map(|(cause, _)| *cause).collect();
    for driver in truth["churn_drivers"].as_array().unwrap() {
        let name = driver[0].as_str().unwrap();
        assert!(planted.contains(&name), "{name} is planted but not mapped");
    }
    let r = report(&model, "churn-model", |_| {});
    let ranking: Vec<(&str, &str, bool)> = r
        .rows
        .iter()
        .map(|row| {
            (
                row["feature"].as_str().unwrap(),
                row["direction"].as_str().unwrap(),
                row["significant"].as_bool().unwrap(),
            )
        })
        .collect();
    println!("drivers: {ranking:?}\n{}", r.summary.as_ref().unwrap());
    let cause_of = |feature: &str| {
        PLANTED
            .iter()
            .find(|(_, features)| features.iter().any(|(f, _)| *f == feature))
            .map(|(cause, _)| *cause)
    };
    // The first six drivers all measure planted causes (nothing like tenure, CSM touches or
    // missing NPS answers among them)…
    for (rank, (feature, _, _)) in ranking.iter().take(6).enumerate() {
        assert!(
            cause_of(feature).is_some(),
            "rank {}: {feature} measures nothing planted",
            rank + 1
        );
    }
    // …and every one of the six causes shows within the first eight, its strongest feature
    // pointing the planted way with a 95% interval that excludes no effect.
    for (cause, features) in PLANTED {
        let (rank, (feature, direction, significant)) = ranking
            .iter()
            .enumerate()
            .find(|(_, (f, _, _))| cause_of(f) == Some(cause))
            .unwrap();
        assert!(rank < 8, "{cause}: first at rank {} ({feature})", rank + 1);
        let expected = features.iter().find(|(f, _)| f == feature).unwrap().1;
        assert_eq!(*direction, expected, "{cause}: {feature}");
        assert!(significant, "{cause}: {feature} is not significant");
    }
}
