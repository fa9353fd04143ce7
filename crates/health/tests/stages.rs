//! Rule tables for the lifecycle stages: each condition at its boundary, the default stages'
//! precedence, and the errors a bad rule set gives.

use tenure_health::{
    Band, Condition, Facts, Signal, SignalKind, StageRule, StageSettings, Stages, DAY_MS,
};

const NOW: i64 = 1_000 * DAY_MS;

/// (case, condition, facts, band, signals, holds)
type ConditionCase<'a> = (&'a str, &'a str, Facts, Option<Band>, &'a [Signal], bool);
/// (case, facts, band, signals, stage)
type StageCase<'a> = (&'a str, Facts, Option<Band>, &'a [Signal], Option<&'a str>);

fn days(n: i64) -> i64 {
    n * DAY_MS
}

/// A paying customer converted 100 days ago, nothing else known.
fn customer() -> Facts {
    Facts {
        as_of: NOW,
        converted_at: Some(NOW - days(100)),
        mrr: 10_000,
        key_features: 6,
        ..Facts::default()
    }
}

fn signal(name: &'static str, kind: SignalKind) -> Signal {
    Signal {
        kind,
        name,
        started_at: NOW,
        reason: String::new(),
    }
}

/// Stage rules of a single stage `x` with the one condition.
fn only(condition: &str) -> Stages {
    StageSettings {
        stages: vec![StageRule {
            name: "x".into(),
            when: vec![condition.into()],
            stay: Vec::new(),
        }],
    }
    .compile()
    .unwrap()
}

#[test]
fn every_condition_at_its_boundary() {
    let c = customer;
    let risk = [
        signal("no_activity", SignalKind::ChurnRisk),
        signal("usage_drop", SignalKind::ChurnRisk),
    ];
    let cases: Vec<ConditionCase> = vec![
        ("paying", "customer", c(), None, &[], true),
        (
            "won a deal, not paying yet: converted",
            "converted",
            Facts { mrr: 0, ..c() },
            None,
            &[],
            true,
        ),
        (
            "converts after as_of: not yet",
            "converted",
            Facts {
                converted_at: Some(NOW + 1),
                ..c()
            },
            None,
            &[],
            false,
        ),
        (
            "not paying",
            "customer",
            Facts { mrr: 0, ..c() },
            None,
            &[],
            false,
        ),
        (
            "converts after as_of",
            "customer",
            Facts {
                converted_at: Some(NOW + 1),
                ..c()
            },
            None,
            &[],
            false,
        ),
        (
            "churned and not paying",
            "churned",
            Facts {
                mrr: 0,
                churned_at: Some(NOW - days(3)),
                ..c()
            },
            None,
            &[],
            true,
        ),
        (
            "won a deal, not paying yet: not churned",
            "churned",
            Facts { mrr: 0, ..c() },
            None,
            &[],
            false,
        ),
        (
            "churned once, paying again",
            "churned",
            Facts {
                churned_at: Some(NOW - days(50)),
                ..c()
            },
            None,
            &[],
            false,
        ),
        (
            "activated",
            "activated",
            Facts {
                activated_at: Some(NOW),
                ..c()
            },
            None,
            &[],
            true,
        ),
        ("never activated", "activated", c(), None, &[], false),
        (
            "3 of 6 key features: depth 0.5",
            "adopting",
            Facts {
                key_features_30d: 3,
                ..c()
            },
            None,
            &[],
            true,
        ),
        (
            "2 of 6 key features",
            "adopting",
            Facts {
                key_features_30d: 2,
                ..c()
            },
            None,
            &[],
            false,
        ),
        (
            "no key feature configured",
            "adopting",
            Facts {
                key_features: 0,
                ..c()
            },
            None,
            &[],
            false,
        ),
        (
            "expanded 89 days ago",
            "expanded_within:90",
            Facts {
                last_expansion: Some(NOW - days(89)),
                ..c()
            },
            None,
            &[],
            true,
        ),
        (
            "expanded 90 days ago",
            "expanded_within:90",
            Facts {
                last_expansion: Some(NOW - days(90)),
                ..c()
            },
            None,
            &[],
            false,
        ),
        (
            "contract ends in 90 days",
            "contract_end_within:90",
            Facts {
                contract_end: Some(NOW + days(90)),
                ..c()
            },
            None,
            &[],
            true,
        ),
        (
            "contract ends in 90 days and 1 ms",
            "contract_end_within:90",
            Facts {
                contract_end: Some(NOW + days(90) + 1),
                ..c()
            },
            None,
            &[],
            false,
        ),
        (
            "contract ended now",
            "contract_end_within:90",
            Facts {
                contract_end: Some(NOW),
                ..c()
            },
            None,
            &[],
            false,
        ),
        ("red band", "band:red", c(), Some(Band::Red), &[], true),
        (
            "yellow band",
            "band:red",
            c(),
            Some(Band::Yellow),
            &[],
            false,
        ),
        ("no score", "band:red", c(), None, &[], false),
        ("signal holds", "signal:usage_drop", c(), None, &risk, true),
        (
            "signal absent",
            "signal:nps_detractor",
            c(),
            None,
            &risk,
            false,
        ),
        (
            "2 risk signals of 2",
            "risk_signals:2",
            c(),
            None,
            &risk,
            true,
        ),
        (
            "2 risk signals of 3",
            "risk_signals:3",
            c(),
            None,
            &risk,
            false,
        ),
        (
            "no band is not green",
            "not:band:green",
            c(),
            None,
            &[],
            true,
        ),
        (
            "green is",
            "not:band:green",
            c(),
            Some(Band::Green),
            &[],
            false,
        ),
        (
            // 2 of 6 key features: depth 1/3.
            "a third of the key features reaches a quarter",
            "adoption_depth:0.25",
            Facts {
                key_features: 6,
                key_features_30d: 2,
                ..c()
            },
            None,
            &[],
            true,
        ),
        (
            // 1 of 6 key features: depth 1/6.
            "a sixth does not",
            "adoption_depth:0.25",
            Facts {
                key_features: 6,
                key_features_30d: 1,
                ..c()
            },
            None,
            &[],
            false,
        ),
    ];
    for (case, condition, facts, band, signals, holds) in cases {
        let stages = only(condition);
        let stage = stages.stage_of(&facts, band, signals);
        assert_eq!(stage.is_some(), holds, "{case}: {condition}");
    }
}

#[test]
fn the_last_stage_whose_rule_holds_wins() {
    let stages = StageSettings::default().compile().unwrap();
    assert_eq!(
        stages.names().collect::<Vec<_>>(),
        [
            "onboarding",
            "activated",
            "adopting",
            "expanding",
            "advocate",
            "renewal_window",
            "at_risk",
            "churned"
        ]
    );
    let c = customer;
    let activated = || Facts {
        activated_at: Some(NOW - days(90)),
        ..c()
    };
    let adopting = || Facts {
        key_features_30d: 4,
        ..activated()
    };
    let ready = [signal("advocate_ready", SignalKind::Advocacy)];
    let cases: Vec<StageCase> = vec![
        (
            "prospect",
            Facts {
                converted_at: None,
                mrr: 0,
                ..c()
            },
            None,
            &[],
            None,
        ),
        (
            "new customer",
            c(),
            Some(Band::Yellow),
            &[],
            Some("onboarding"),
        ),
        (
            "adopting without activation stays onboarding",
            Facts {
                key_features_30d: 4,
                ..c()
            },
            Some(Band::Green),
            &[],
            Some("onboarding"),
        ),
        (
            "activated",
            activated(),
            Some(Band::Green),
            &[],
            Some("activated"),
        ),
        (
            "adopting",
            adopting(),
            Some(Band::Green),
            &[],
            Some("adopting"),
        ),
        (
            "expanded last month",
            Facts {
                last_expansion: Some(NOW - days(30)),
                ..adopting()
            },
            Some(Band::Green),
            &[],
            Some("expanding"),
        ),
        (
            "renewal window over expanding",
            Facts {
                last_expansion: Some(NOW - days(30)),
                contract_end: Some(NOW + days(60)),
                ..adopting()
            },
            Some(Band::Yellow),
            &[],
            Some("renewal_window"),
        ),
        (
            "red: at risk over the renewal window",
            Facts {
                contract_end: Some(NOW + days(60)),
                ..adopting()
            },
            Some(Band::Red),
            &[],
            Some("at_risk"),
        ),
        (
            "churned",
            Facts {
                mrr: 0,
                churned_at: Some(NOW - days(1)),
                ..adopting()
            },
            Some(Band::Red),
            &ready,
            Some("churned"),
        ),
        (
            "advocate over the growth stages",
            Facts {
                last_expansion: Some(NOW - days(30)),
                ..adopting()
            },
            Some(Band::Green),
            &ready,
            Some("advocate"),
        ),
        (
            "the renewal window over advocate: it has a deadline",
            Facts {
                contract_end: Some(NOW + days(60)),
                ..adopting()
            },
            Some(Band::Green),
            &ready,
            Some("renewal_window"),
        ),
    ];
    for (case, facts, band, signals, expected) in cases {
        assert_eq!(stages.stage_of(&facts, band, signals), expected, "{case}");
    }
}

#[test]
fn bad_rules_are_refused_with_the_stage_and_the_reason() {
    let rules = |stages: &[(&str, &[&str])]| StageSettings {
        stages: stages
            .iter()
            .map(|(n, w)| StageRule {
                name: (*n).into(),
                when: w.iter().map(|c| (*c).into()).collect(),
                stay: Vec::new(),
            })
            .collect(),
    };
    let cases: Vec<(StageSettings, &str)> = vec![
        (
            rules(&[("a", &["customer"]), ("a", &["churned"])]),
            "stages[1] (a): this name is already used",
        ),
        (rules(&[("", &["customer"])]), "a stage needs a name"),
        (rules(&[("a", &[])]), "`when` lists no condition"),
        (
            rules(&[("a", &["paying"])]),
            "\"paying\" is not a stage condition",
        ),
        (rules(&[("a", &["band:blue"])]), "\"blue\" is not a band"),
        (
            rules(&[("a", &["signal:bored"])]),
            "\"bored\" is not a signal",
        ),
        (
            rules(&[("a", &["expanded_within:0"])]),
            "needs a whole number > 0",
        ),
        (
            rules(&[("a", &["contract_end_within"])]),
            "needs a whole number > 0",
        ),
    ];
    for (settings, expected) in cases {
        let error = settings.validate().unwrap_err().to_string();
        assert!(
            error.contains(expected),
            "{error:?} should say {expected:?}"
        );
    }
    assert_eq!(
        Condition::parse("band:green"),
        Ok(Condition::Band(Band::Green))
    );
    assert_eq!(
        Condition::parse("adoption_depth:0.25"),
        Ok(Condition::AdoptionDepth(0.25))
    );
    for wrong in [
        "adoption_depth",
        "adoption_depth:0",
        "adoption_depth:1.5",
        "adoption_depth:x",
    ] {
        let error = Condition::parse(wrong).unwrap_err();
        assert!(
            error.contains("a fraction above 0 and at most 1"),
            "{error}"
        );
    }
    StageSettings::default().validate().unwrap();
}

/// The stage of each day in turn, each day's rules holding by the day before's, as the daily
/// lifecycle evaluates them.
fn day_by_day(stages: &Stages, days: &[(Facts, Option<Band>, &[Signal])]) -> Vec<String> {
    let mut held = None;
    days.iter()
        .map(|(facts, band, signals)| {
            let holding = stages
                .standing(facts, *band, signals)
                .holding(held.as_ref());
            let stage = stages.stage(&holding).unwrap_or("(none)").to_owned();
            held = Some(holding);
            stage
        })
        .collect()
}

/// The number of stays in `stage`: runs of consecutive days in it.
fn stays(days: &[String], stage: &str) -> usize {
    days.iter()
        .enumerate()
        .filter(|(i, s)| *s == stage && (*i == 0 || days[i - 1] != stage))
        .count()
}

#[test]
fn a_band_wavering_between_red_and_yellow_is_one_at_risk_stay() {
    let stages = StageSettings::default().compile().unwrap();
    let adopting = Facts {
        activated_at: Some(NOW - days(90)),
        key_features_30d: 4,
        ..customer()
    };
    let risk = [signal("usage_drop", SignalKind::ChurnRisk)];
    let (red, yellow, green) = (Some(Band::Red), Some(Band::Yellow), Some(Band::Green));
    let day = |band, signals| (adopting.clone(), band, signals);
    // Red on day 1 enters at_risk; on the yellow days the churn-risk signal still holds and
    // the band is not green, so at_risk stays (before: adopting on each yellow day, three
    // at_risk stays in six days). Green on day 7 leaves it for adopting (4 of 6 key features);
    // yellow again on day 8 does not enter it (entering takes red), red on day 9 does.
    let wavering = [
        day(red, &risk[..]),
        day(yellow, &risk),
        day(red, &risk),
        day(yellow, &risk),
        day(red, &risk),
        day(yellow, &risk),
        day(green, &risk),
        day(yellow, &risk),
        day(red, &risk),
    ];
    let stages_by_day = day_by_day(&stages, &wavering);
    assert_eq!(
        stages_by_day,
        [
            "at_risk", "at_risk", "at_risk", "at_risk", "at_risk", "at_risk", "adopting",
            "adopting", "at_risk"
        ]
    );
    assert_eq!(stays(&stages_by_day[..6], "at_risk"), 1);
    // The same days one at a time, with nothing remembered, are the flapping there was.
    let memoryless: Vec<String> = wavering
        .iter()
        .map(|(f, b, s)| stages.stage_of(f, *b, s).unwrap().to_owned())
        .collect();
    assert_eq!(stays(&memoryless, "at_risk"), 4);

    // Yellow with no churn-risk signal left: the risk has cleared, at_risk is left.
    let cleared = [day(red, &risk), day(yellow, &risk), day(yellow, &[])];
    assert_eq!(
        day_by_day(&stages, &cleared),
        ["at_risk", "at_risk", "adopting"]
    );
}

#[test]
fn a_customer_never_activated_does_not_go_back_to_onboarding_while_at_risk() {
    let stages = StageSettings::default().compile().unwrap();
    // 45 days after conversion and not activated: `not_activated` (a churn-risk signal) holds
    // from day 30 until activation, so a red day makes it at_risk and the yellow days after
    // keep it there (before: back to onboarding, its only other rule, on every yellow day).
    let late = Facts {
        converted_at: Some(NOW - days(45)),
        ..customer()
    };
    let not_activated = [signal("not_activated", SignalKind::ChurnRisk)];
    let day = |band| (late.clone(), band, &not_activated[..]);
    let days = [
        day(Some(Band::Yellow)),
        day(Some(Band::Red)),
        day(Some(Band::Yellow)),
        day(Some(Band::Red)),
        day(Some(Band::Yellow)),
    ];
    assert_eq!(
        day_by_day(&stages, &days),
        ["onboarding", "at_risk", "at_risk", "at_risk", "at_risk"]
    );
}

#[test]
fn an_advocate_stays_one_until_red() {
    let stages = StageSettings::default().compile().unwrap();
    let adopting = Facts {
        activated_at: Some(NOW - days(90)),
        key_features_30d: 4,
        ..customer()
    };
    let ready = [signal("advocate_ready", SignalKind::Advocacy)];
    let detractor = [signal("nps_detractor", SignalKind::ChurnRisk)];
    let day = |band, signals| (adopting.clone(), Some(band), signals);
    // `advocate_ready` needs the green band: a yellow day drops it, but not the stage (before:
    // adopting on each yellow day). A detractor beside the promoter (an account of several
    // people) does not end it either, as it did not stop it from entering; red does (at_risk,
    // which a yellow day with no risk signal then leaves for adopting, not advocate).
    let days = [
        day(Band::Green, &ready[..]),
        day(Band::Yellow, &[]),
        day(Band::Green, &ready),
        day(Band::Yellow, &detractor),
        day(Band::Red, &detractor),
        day(Band::Yellow, &[]),
    ];
    assert_eq!(
        day_by_day(&stages, &days),
        ["advocate", "advocate", "advocate", "advocate", "at_risk", "adopting"]
    );
}

#[test]
fn adoption_wavering_about_half_is_one_adopting_stay() {
    let stages = StageSettings::default().compile().unwrap();
    // Activated, green, no signal; key features used in the last 30 days, of 6, day by day.
    let day = |used: u32| {
        (
            Facts {
                activated_at: Some(NOW - days(90)),
                key_features: 6,
                key_features_30d: used,
                ..customer()
            },
            Some(Band::Green),
            &[][..],
        )
    };
    // 3 of 6 (depth 0.5) enters adopting; 2 of 6 (1/3) keeps it, being at least a quarter;
    // 1 of 6 (1/6) leaves it for activated; 2 again does not re-enter (entering takes half),
    // 3 does. Without the stay, every 2 would have been a day in activated: three adopting
    // stays in the first five days.
    let wavering = [
        day(3),
        day(2),
        day(3),
        day(2),
        day(3),
        day(1),
        day(2),
        day(3),
    ];
    let by_day = day_by_day(&stages, &wavering);
    assert_eq!(
        by_day,
        [
            "adopting",
            "adopting",
            "adopting",
            "adopting",
            "adopting",
            "activated",
            "activated",
            "adopting"
        ]
    );
    let memoryless: Vec<String> = wavering
        .iter()
        .map(|(f, b, s)| stages.stage_of(f, *b, s).unwrap().to_owned())
        .collect();
    assert_eq!(stays(&memoryless[..5], "adopting"), 3);
}
