//! Rule tables for the health components, the bands and every signal, at their boundaries.

use tenure_health::{Band, Facts, HealthSettings, Metric, SignalSettings, DAY_MS};

const NOW: i64 = 1_000 * DAY_MS;

/// A paying customer converted 400 days ago, active yesterday, with nothing else known.
fn customer() -> Facts {
    Facts {
        as_of: NOW,
        converted_at: Some(NOW - 400 * DAY_MS),
        activated_at: Some(NOW - 390 * DAY_MS),
        mrr: 10_000,
        last_activity: Some(NOW - DAY_MS),
        ..Facts::default()
    }
}

fn days(n: i64) -> i64 {
    n * DAY_MS
}

fn signals(f: &Facts, band: Option<Band>) -> Vec<&'static str> {
    SignalSettings::default()
        .evaluate(f, band)
        .into_iter()
        .map(|s| s.name)
        .collect()
}

/// (case, facts, band, signal, expected to be raised)
type Case = (&'static str, Facts, Option<Band>, &'static str, bool);

#[test]
fn every_signal_at_its_boundary() {
    let c = customer;
    let cases: Vec<Case> = vec![
        (
            "idle 13 days",
            Facts {
                last_activity: Some(NOW - days(13)),
                ..c()
            },
            None,
            "no_activity",
            false,
        ),
        (
            "idle 14 days",
            Facts {
                last_activity: Some(NOW - days(14)),
                ..c()
            },
            None,
            "no_activity",
            true,
        ),
        (
            "never active, converted 400 days ago",
            Facts {
                last_activity: None,
                ..c()
            },
            None,
            "no_activity",
            true,
        ),
        (
            "not a customer is never idle",
            Facts {
                last_activity: None,
                mrr: 0,
                ..c()
            },
            None,
            "no_activity",
            false,
        ),
        // Baseline 40 a week: 24 is a 40% drop, 25 is 37.5%.
        (
            "usage down 37.5%",
            Facts {
                events_7d: 25,
                events_prev_28d: 160,
                ..c()
            },
            None,
            "usage_drop",
            false,
        ),
        (
            "usage down 40%",
            Facts {
                events_7d: 24,
                events_prev_28d: 160,
                ..c()
            },
            None,
            "usage_drop",
            true,
        ),
        (
            "no baseline, no drop",
            Facts {
                events_7d: 0,
                events_prev_28d: 0,
                ..c()
            },
            None,
            "usage_drop",
            false,
        ),
        (
            "2 tickets in 14 days",
            Facts {
                tickets_14d: 2,
                ..c()
            },
            None,
            "ticket_spike",
            false,
        ),
        (
            "3 tickets in 14 days, none before",
            Facts {
                tickets_14d: 3,
                ..c()
            },
            None,
            "ticket_spike",
            true,
        ),
        // 12 in the 84 days before is 2 per 14 days: 3 is below twice that, 4 is twice.
        (
            "3 tickets against 2 usual",
            Facts {
                tickets_14d: 3,
                tickets_prev_84d: 12,
                ..c()
            },
            None,
            "ticket_spike",
            false,
        ),
        (
            "4 tickets against 2 usual",
            Facts {
                tickets_14d: 4,
                tickets_prev_84d: 12,
                ..c()
            },
            None,
            "ticket_spike",
            true,
        ),
        (
            "converted 29 days ago, not activated",
            Facts {
                converted_at: Some(NOW - days(29)),
                activated_at: None,
                ..c()
            },
            None,
            "not_activated",
            false,
        ),
        (
            "converted 30 days ago, not activated",
            Facts {
                converted_at: Some(NOW - days(30)),
                activated_at: None,
                ..c()
            },
            None,
            "not_activated",
            true,
        ),
        (
            "activated on day 30",
            Facts {
                converted_at: Some(NOW - days(40)),
                activated_at: Some(NOW - days(10)),
                ..c()
            },
            None,
            "not_activated",
            false,
        ),
        (
            "activated on day 31",
            Facts {
                converted_at: Some(NOW - days(40)),
                activated_at: Some(NOW - days(9)),
                ..c()
            },
            None,
            "not_activated",
            true,
        ),
        (
            "NPS 7 is passive",
            Facts {
                nps: vec![(NOW - days(5), 7)],
                ..c()
            },
            None,
            "nps_detractor",
            false,
        ),
        (
            "NPS 6 is a detractor",
            Facts {
                nps: vec![(NOW - days(5), 6)],
                ..c()
            },
            None,
            "nps_detractor",
            true,
        ),
        (
            "failed payment",
            Facts {
                failed_payment: Some(NOW - days(3)),
                ..c()
            },
            None,
            "failed_payment",
            true,
        ),
        ("no failed payment", c(), None, "failed_payment", false),
        (
            "champion idle 13 days",
            Facts {
                champion: Some(("ann".into(), NOW - days(13))),
                ..c()
            },
            None,
            "champion_inactive",
            false,
        ),
        (
            "champion idle 14 days",
            Facts {
                champion: Some(("ann".into(), NOW - days(14))),
                ..c()
            },
            None,
            "champion_inactive",
            true,
        ),
        (
            "9 of 10 seats used",
            Facts {
                seats: Some(10),
                active_users_30d: 9,
                ..c()
            },
            None,
            "seat_utilization",
            true,
        ),
        (
            "8 of 10 seats used",
            Facts {
                seats: Some(10),
                active_users_30d: 8,
                ..c()
            },
            None,
            "seat_utilization",
            false,
        ),
        (
            "usage limit near",
            Facts {
                usage_limit: Some(NOW - days(2)),
                ..c()
            },
            None,
            "usage_limit",
            true,
        ),
        (
            "active users +19%",
            Facts {
                active_users_30d: 119,
                active_users_prev_30d: 100,
                ..c()
            },
            None,
            "active_users_up",
            false,
        ),
        (
            "active users +20%",
            Facts {
                active_users_30d: 120,
                active_users_prev_30d: 100,
                ..c()
            },
            None,
            "active_users_up",
            true,
        ),
        (
            "from no active users",
            Facts {
                active_users_30d: 5,
                active_users_prev_30d: 0,
                ..c()
            },
            None,
            "active_users_up",
            false,
        ),
        (
            "promoter, green, 400 days",
            Facts {
                nps: vec![(NOW - days(5), 9)],
                ..c()
            },
            Some(Band::Green),
            "advocate_ready",
            true,
        ),
        (
            "NPS 8 is no promoter",
            Facts {
                nps: vec![(NOW - days(5), 8)],
                ..c()
            },
            Some(Band::Green),
            "advocate_ready",
            false,
        ),
        (
            "promoter, yellow",
            Facts {
                nps: vec![(NOW - days(5), 10)],
                ..c()
            },
            Some(Band::Yellow),
            "advocate_ready",
            false,
        ),
        (
            "promoter, green, 182 days",
            Facts {
                nps: vec![(NOW - days(5), 10)],
                converted_at: Some(NOW - days(182)),
                ..c()
            },
            Some(Band::Green),
            "advocate_ready",
            false,
        ),
        (
            "promoter, green, 183 days",
            Facts {
                nps: vec![(NOW - days(5), 10)],
                converted_at: Some(NOW - days(183)),
                ..c()
            },
            Some(Band::Green),
            "advocate_ready",
            true,
        ),
        (
            "contract ends in 91 days",
            Facts {
                contract_end: Some(NOW + days(91)),
                ..c()
            },
            None,
            "renewal_90",
            false,
        ),
        (
            "contract ends in 90 days",
            Facts {
                contract_end: Some(NOW + days(90)),
                ..c()
            },
            None,
            "renewal_90",
            true,
        ),
        (
            "contract ends in 89 days",
            Facts {
                contract_end: Some(NOW + days(89)),
                ..c()
            },
            None,
            "renewal_90",
            true,
        ),
        (
            "89 days is not 60",
            Facts {
                contract_end: Some(NOW + days(89)),
                ..c()
            },
            None,
            "renewal_60",
            false,
        ),
        (
            "60 days",
            Facts {
                contract_end: Some(NOW + days(60)),
                ..c()
            },
            None,
            "renewal_60",
            true,
        ),
        (
            "31 days is not 30",
            Facts {
                contract_end: Some(NOW + days(31)),
                ..c()
            },
            None,
            "renewal_30",
            false,
        ),
        (
            "30 days",
            Facts {
                contract_end: Some(NOW + days(30)),
                ..c()
            },
            None,
            "renewal_30",
            true,
        ),
        (
            "ended yesterday",
            Facts {
                contract_end: Some(NOW - days(1)),
                ..c()
            },
            None,
            "renewal_30",
            false,
        ),
    ];
    let mut failures = Vec::new();
    for (case, facts, band, signal, expected) in cases {
        let raised = signals(&facts, band).contains(&signal);
        if raised != expected {
            failures.push(format!(
                "{case}: {signal} raised = {raised}, expected {expected}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn signals_say_when_they_started_and_why() {
    let f = Facts {
        last_activity: Some(NOW - days(20)),
        contract_end: Some(NOW + days(45)),
        ..customer()
    };
    let raised = SignalSettings::default().evaluate(&f, None);
    let idle = raised.iter().find(|s| s.name == "no_activity").unwrap();
    assert_eq!(
        idle.started_at,
        NOW - days(6),
        "14 days after the last event"
    );
    assert!(idle.reason.contains("20 days"), "{}", idle.reason);
    let renewal: Vec<(&str, i64)> = raised
        .iter()
        .filter(|s| s.name.starts_with("renewal"))
        .map(|s| (s.name, s.started_at))
        .collect();
    assert_eq!(
        renewal,
        [
            ("renewal_90", NOW - days(45)),
            ("renewal_60", NOW - days(15))
        ]
    );
}

#[test]
fn feature_above_plan_follows_the_configured_plans() {
    let mut settings = SignalSettings::default();
    settings
        .premium_features
        .insert("SSO Configured".into(), vec!["enterprise".into()]);
    let f = |plan: &str| Facts {
        plan: Some(plan.into()),
        features_30d: vec!["Report Created".into(), "SSO Configured".into()],
        ..customer()
    };
    let names = |f: &Facts| -> Vec<&str> {
        settings
            .evaluate(f, None)
            .into_iter()
            .map(|s| s.name)
            .collect()
    };
    assert!(names(&f("starter")).contains(&"feature_above_plan"));
    assert!(!names(&f("enterprise")).contains(&"feature_above_plan"));
}

/// Each metric's input, read from the facts.
#[test]
fn component_inputs() {
    let f = Facts {
        seats: Some(8),
        active_users_14d: 6,
        active_days_14d: 7,
        active_days_prev_28d: 10,
        key_features: 4,
        key_features_30d: 3,
        open_tickets: 1,
        tickets_30d: 2,
        nps: vec![(NOW - days(3), 10), (NOW - days(30), 5)],
        last_csm_touch: Some(NOW - days(45)),
        failed_payment: Some(NOW - days(1)),
        ..customer()
    };
    let value = |m: Metric| m.value(&f, &[]);
    assert_eq!(value(Metric::ActiveUsersPerSeat), Some(0.75));
    assert_eq!(value(Metric::EngagementTrend), Some(1.4));
    assert_eq!(value(Metric::AdoptionDepth), Some(0.75));
    assert_eq!(value(Metric::SupportLoad), Some(3.0));
    assert_eq!(value(Metric::Nps), Some(7.5));
    assert_eq!(value(Metric::DaysSinceCsmTouch), Some(45.0));
    assert_eq!(value(Metric::FailedPayments), Some(1.0));
    let none = customer();
    assert_eq!(Metric::ActiveUsersPerSeat.value(&none, &[]), None);
    assert_eq!(Metric::EngagementTrend.value(&none, &[]), None);
    assert_eq!(Metric::Nps.value(&none, &[]), None);
    assert_eq!(Metric::DaysSinceCsmTouch.value(&none, &[]), None);
    let revived = Facts {
        active_days_14d: 2,
        ..customer()
    };
    assert_eq!(Metric::EngagementTrend.value(&revived, &[]), Some(2.0));
}

/// Each default scale at its steps: just below, at, and above.
#[test]
fn component_scales_at_their_steps() {
    let settings = HealthSettings::default();
    let scale = |name: &str, input: f64| {
        settings
            .components
            .iter()
            .find(|c| c.name == name)
            .unwrap()
            .score(input)
    };
    let table: &[(&str, f64, f64)] = &[
        ("usage", 0.0, 0.0),
        ("usage", 0.0999, 0.0),
        ("usage", 0.1, 25.0),
        ("usage", 0.4999, 50.0),
        ("usage", 0.5, 75.0),
        ("usage", 0.75, 100.0),
        ("usage", 3.0, 100.0),
        ("engagement_trend", 0.7999, 40.0),
        ("engagement_trend", 0.8, 70.0),
        ("engagement_trend", 1.0, 100.0),
        ("adoption", 0.5, 70.0),
        ("support_load", 0.0, 100.0),
        ("support_load", 1.0, 100.0),
        ("support_load", 2.0, 70.0),
        ("support_load", 6.0, 40.0),
        ("support_load", 7.0, 10.0),
        ("sentiment", 6.9, 30.0),
        ("sentiment", 7.0, 70.0),
        ("sentiment", 9.0, 100.0),
        ("relationship", 44.9, 100.0),
        ("relationship", 45.0, 70.0),
        ("relationship", 180.0, 10.0),
        ("billing", 0.0, 100.0),
        ("billing", 1.0, 20.0),
    ];
    for &(name, input, expected) in table {
        assert_eq!(scale(name, input), expected, "{name} at {input}");
    }
}

#[test]
fn bands_at_39_and_40_and_69_and_70_points() {
    let bands = HealthSettings::default().bands;
    assert_eq!(bands.of(39.0), Band::Red);
    assert_eq!(bands.of(39.999), Band::Red);
    assert_eq!(bands.of(40.0), Band::Yellow);
    assert_eq!(bands.of(69.0), Band::Yellow);
    assert_eq!(bands.of(70.0), Band::Green);
}

/// A score explains itself: every component's input, score and weight, and the score is their
/// weighted mean over the components with data; and two components that land exactly on 40.
#[test]
fn a_score_explains_itself_and_lands_on_its_band() {
    let f = Facts {
        seats: Some(10),
        active_users_14d: 1, // 0.1 → 25
        active_days_14d: 4,
        active_days_prev_28d: 10,            // 0.8 → 70
        open_tickets: 2,                     // → 70
        failed_payment: Some(NOW - days(2)), // → 20
        ..customer()
    };
    let (h, raised) = HealthSettings::default().assess(&SignalSettings::default(), &f);
    let h = h.unwrap();
    // One churn-risk signal, the failed payment → 60.
    assert_eq!(
        raised.iter().map(|s| s.name).collect::<Vec<_>>(),
        ["failed_payment"]
    );
    // Activated: the activation component scores 100.
    // (0.25·25 + 0.15·70 + 0.1·70 + 0.15·100 + 0.1·20 + 0.2·60)
    //   / (0.25 + 0.15 + 0.1 + 0.15 + 0.1 + 0.2) = 52.75 / 0.95
    let expected =
        (0.25 * 25.0 + 0.15 * 70.0 + 0.1 * 70.0 + 0.15 * 100.0 + 0.1 * 20.0 + 0.2 * 60.0) / 0.95;
    assert!((h.score - expected).abs() < 1e-6, "{}", h.score);
    assert_eq!(h.band, Band::Yellow);
    let parts: Vec<(&str, Option<f64>, Option<f64>)> = h
        .components
        .iter()
        .map(|p| (p.name.as_str(), p.input, p.score))
        .collect();
    assert_eq!(
        parts,
        [
            ("usage", Some(0.1), Some(25.0)),
            ("engagement_trend", Some(0.8), Some(70.0)),
            ("adoption", None, None),
            ("support_load", Some(2.0), Some(70.0)),
            ("sentiment", None, None),
            ("relationship", None, None),
            ("activation", Some(1.0), Some(100.0)),
            ("billing", Some(1.0), Some(20.0)),
            ("risk_signals", Some(1.0), Some(60.0)),
        ]
    );

    // Two components scoring 40 and 40 with weights that do not add up to a round number in
    // binary still give exactly 40, so the band is yellow, not red.
    let mut settings = HealthSettings::default();
    settings
        .components
        .retain(|c| c.name == "usage" || c.name == "billing");
    settings.components[0].weight = 0.1;
    settings.components[1].weight = 0.2;
    settings.components[0].thresholds[0].score = 40.0;
    settings.components[1].thresholds[1].score = 40.0;
    let f = Facts {
        seats: Some(10),
        active_users_14d: 0,
        failed_payment: Some(NOW),
        ..customer()
    };
    let h = settings.score(&f, &[]).unwrap();
    assert_eq!((h.score, h.band), (40.0, Band::Yellow));
}

#[test]
fn invalid_settings_say_what_is_wrong() {
    let mut s = HealthSettings::default();
    s.components[1].weight = 0.0;
    assert_eq!(
        s.validate().unwrap_err().to_string(),
        "health.components.engagement_trend: weight 0 must be a number > 0"
    );
    let mut s = HealthSettings::default();
    s.components[0].thresholds.swap(0, 1);
    assert!(s
        .validate()
        .unwrap_err()
        .to_string()
        .contains("increasing at_least"));
    let mut s = HealthSettings::default();
    s.bands.green = 30.0;
    assert!(s.validate().is_err());
    assert!(HealthSettings::default().validate().is_ok());
    let signals = SignalSettings {
        renewal_days: vec![45],
        ..SignalSettings::default()
    };
    assert_eq!(
        signals.validate().unwrap_err().to_string(),
        "signals.renewal_days: 45 is not one of 90, 60, 30"
    );
}

#[test]
fn the_version_changes_with_the_configuration() {
    let a = HealthSettings::default();
    let mut b = HealthSettings::default();
    b.components[0].weight = 0.3;
    assert_eq!(a.version(), HealthSettings::default().version());
    assert_ne!(a.version(), b.version());
}

#[test]
fn traced_signals_start_on_the_first_day_of_their_run() {
    let settings = SignalSettings::default();
    // Payments failed at 10:00 on day 980 and day 990, none paid since; failed_payment's fact
    // is the latest failure within 30 days. As of day 1000 + 12 h it has held since the first
    // failure (day 980, 10:00), not since the second.
    let failures = [980 * DAY_MS + 10 * 3_600_000, 990 * DAY_MS + 10 * 3_600_000];
    let facts_at = |t: i64| Facts {
        as_of: t,
        failed_payment: failures.iter().copied().filter(|f| *f <= t).max(),
        ..customer()
    };
    let now = NOW + 12 * 3_600_000;
    let mut raised = settings.evaluate(&facts_at(now), None);
    let start = |raised: &[tenure_health::Signal]| {
        raised
            .iter()
            .find(|s| s.name == "failed_payment")
            .map(|s| s.started_at)
    };
    assert_eq!(
        start(&raised),
        Some(failures[1]),
        "one instant sees the latest"
    );
    let since = NOW - days(400);
    settings.trace_starts(&mut raised, now, since, |t| {
        settings.evaluate(&facts_at(t), None)
    });
    assert_eq!(start(&raised), Some(failures[0]));

    // A window signal: 5 active users of 5 seats in 30 days from day 950 on (utilization
    // 100%), before it 1 of 5. It is first seen holding at the end of day 950, whatever the
    // report instant after it.
    let facts_at = |t: i64| Facts {
        as_of: t,
        seats: Some(5),
        active_users_30d: if t >= 950 * DAY_MS { 5 } else { 1 },
        ..customer()
    };
    for now in [NOW, NOW + days(3) + 5, NOW + days(20)] {
        let mut raised = settings.evaluate(&facts_at(now), None);
        settings.trace_starts(&mut raised, now, since, |t| {
            settings.evaluate(&facts_at(t), None)
        });
        let s = raised
            .iter()
            .find(|s| s.name == "seat_utilization")
            .unwrap();
        assert_eq!(s.started_at, 951 * DAY_MS - 1, "as of {now}");
    }
}

/// The demo's acct_000014 at 2026-12-01: no usage in 14 days on 52 seats, none of the 6 key
/// features, a 5 and a 9 from its people, a touch 18 days ago, and five churn-risk signals
/// (no_activity, usage_drop, not_activated, nps_detractor, champion_inactive). Without the
/// signals in the score it was yellow at 40.5 = (0.25·0 + 0.15·0 + 0.15·0 + 0.1·100 +
/// 0.15·70 + 0.1·100 + 0.1·100) / 1.0; with them it is (40.5 + 0.2·0) / 1.2 = 33.75, red; and
/// since it never activated, the activation component adds 0.15·0: 40.5 / 1.35 = 30.
#[test]
fn risk_signals_weigh_on_the_score() {
    let f = Facts {
        converted_at: Some(NOW - days(112)),
        activated_at: None,
        seats: Some(52),
        active_users_30d: 1,
        active_users_prev_30d: 1,
        active_days_prev_28d: 2,
        events_prev_28d: 2,
        last_activity: Some(NOW - days(17)),
        key_features: 6,
        nps: vec![(NOW - days(41), 5), (NOW - days(34), 9)],
        last_csm_touch: Some(NOW - days(18)),
        champion: Some(("u0".into(), NOW - days(17))),
        ..customer()
    };
    let (h, raised) = HealthSettings::default().assess(&SignalSettings::default(), &f);
    assert_eq!(
        raised.iter().map(|s| s.name).collect::<Vec<_>>(),
        [
            "no_activity",
            "usage_drop",
            "not_activated",
            "nps_detractor",
            "champion_inactive"
        ]
    );
    let h = h.unwrap();
    assert_eq!(h.score, 30.0);
    assert_eq!(h.band, Band::Red);
}

/// A customer that has not activated is not scored in its first 30 days (a new Stripe customer
/// with no usage yet was red at 33 = (0.25·0 + 0.15·0 + 0.1·100 + 0.1·100) / 0.6 on day one);
/// from day 30, or from activation, it is.
#[test]
fn a_new_customer_is_not_scored_while_onboarding() {
    let settings = HealthSettings::default();
    let new = |age: i64, activated: Option<i64>| Facts {
        converted_at: Some(NOW - age),
        activated_at: activated,
        last_activity: None,
        seats: Some(5),
        key_features: 6,
        ..customer()
    };
    let signals = SignalSettings::default();
    assert_eq!(settings.assess(&signals, &new(days(1), None)).0, None);
    assert_eq!(settings.assess(&signals, &new(days(30) - 1, None)).0, None);
    // Day 30: scored, with not_activated counting against it.
    let (h, raised) = settings.assess(&signals, &new(days(30), None));
    assert!(raised.iter().any(|s| s.name == "not_activated"));
    assert_eq!(h.unwrap().band, Band::Red);
    // Activated on day 2: scored from then on.
    assert!(settings
        .assess(&signals, &new(days(5), Some(NOW - days(3))))
        .0
        .is_some());
}

#[test]
fn a_churned_account_is_not_scored() {
    let settings = HealthSettings::default();
    let signals = SignalSettings::default();
    let active = customer();
    assert!(settings.assess(&signals, &active).0.is_some());
    // Churned ten days ago and not paying since: no score (it read green for want of risk).
    let churned = Facts {
        mrr: 0,
        churned_at: Some(NOW - days(10)),
        ..customer()
    };
    assert_eq!(settings.assess(&signals, &churned).0, None);
    // Reactivated after that churn: paying again, scored again.
    let back = Facts {
        churned_at: Some(NOW - days(10)),
        ..customer()
    };
    assert!(settings.assess(&signals, &back).0.is_some());
}
