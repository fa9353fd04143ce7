//! Hand-computed weight vectors for every per-journey model, through one helper.

use tenure_attribution::{credit, weights, AttributionError, Journey, Model, StateId, Touch};

const DAY: i64 = 86_400_000;

/// The states here are single letters (`a` is 0, `b` 1, …) and `direct` (26).
fn id(name: &str) -> StateId {
    match name {
        "direct" => 26,
        letter => u32::from(letter.as_bytes()[0] - b'a'),
    }
}

/// A journey of touches one day apart (touch `i` at day `i`), converting at `converted_day`.
/// A state ending in `*` is a direct touch (the `*` is dropped).
fn journey(states: &[&str], converted_day: Option<i64>) -> Journey {
    Journey {
        touches: states
            .iter()
            .enumerate()
            .map(|(i, s)| Touch {
                at: i as i64 * DAY,
                state: id(s.trim_end_matches('*')),
                direct: s.ends_with('*'),
            })
            .collect(),
        converted_at: converted_day.map(|d| d * DAY),
        lead_at: None,
        opportunity_at: None,
    }
}

fn converting(states: &[&str]) -> Journey {
    journey(states, Some(states.len() as i64))
}

/// With milestones, in days (fractions allowed).
fn milestones(states: &[&str], lead_day: Option<f64>, opportunity_day: Option<f64>) -> Journey {
    let at = |d: f64| (d * DAY as f64) as i64;
    Journey {
        lead_at: lead_day.map(at),
        opportunity_at: opportunity_day.map(at),
        ..converting(states)
    }
}

fn in_journey(index: usize, source: AttributionError) -> AttributionError {
    AttributionError::Journey {
        index,
        source: Box::new(source),
    }
}

#[track_caller]
fn check(model: Model, journey: &Journey, expected: &[f64]) {
    let got = weights(&model, journey).expect("weights");
    assert_eq!(got.len(), expected.len(), "{got:?} vs {expected:?}");
    for (g, e) in got.iter().zip(expected) {
        assert!(
            (g - e).abs() < 1e-12,
            "{model:?}: got {got:?}, expected {expected:?}"
        );
    }
}

#[test]
fn first_and_last_touch() {
    check(Model::FirstTouch, &converting(&["a"]), &[1.0]);
    check(Model::FirstTouch, &converting(&["a", "b"]), &[1.0, 0.0]);
    // Repeated channel: the weight is the first *touch's*, not the channel's.
    check(
        Model::FirstTouch,
        &converting(&["a", "a", "b"]),
        &[1.0, 0.0, 0.0],
    );
    check(Model::LastTouch, &converting(&["a"]), &[1.0]);
    check(Model::LastTouch, &converting(&["a", "b"]), &[0.0, 1.0]);
    check(
        Model::LastTouch,
        &converting(&["a", "b", "b"]),
        &[0.0, 0.0, 1.0],
    );
    // last_touch ignores `direct`.
    check(Model::LastTouch, &converting(&["a", "d*"]), &[0.0, 1.0]);
}

#[test]
fn last_non_direct() {
    check(Model::LastNonDirect, &converting(&["a"]), &[1.0]);
    check(Model::LastNonDirect, &converting(&["d*"]), &[1.0]);
    check(
        Model::LastNonDirect,
        &converting(&["a", "b", "d*"]),
        &[0.0, 1.0, 0.0],
    );
    check(
        Model::LastNonDirect,
        &converting(&["a", "d*", "b", "d*"]),
        &[0.0, 0.0, 1.0, 0.0],
    );
    check(
        Model::LastNonDirect,
        &converting(&["a", "d*", "d*"]),
        &[1.0, 0.0, 0.0],
    );
    // All direct: the last touch.
    check(
        Model::LastNonDirect,
        &converting(&["d*", "d*"]),
        &[0.0, 1.0],
    );
    check(
        Model::LastNonDirect,
        &converting(&["d*", "e*", "d*"]),
        &[0.0, 0.0, 1.0],
    );
}

#[test]
fn linear() {
    check(Model::Linear, &converting(&["a"]), &[1.0]);
    check(Model::Linear, &converting(&["a", "b"]), &[0.5, 0.5]);
    // Per touch: a repeated channel gets its touches' 1/4 each (so a gets 1/2 in all).
    check(
        Model::Linear,
        &converting(&["a", "b", "a", "c"]),
        &[0.25; 4],
    );
}

#[test]
fn time_decay_seven_day_half_life() {
    let model = Model::TimeDecay {
        half_life_ms: 7 * DAY,
    };
    // Touches at days 0, 7, 14, conversion at 14: Δ = 14, 7, 0 days → 2^-2 : 2^-1 : 2^0 = 1:2:4.
    let mut j = journey(&["a", "b", "c"], Some(14));
    j.touches[1].at = 7 * DAY;
    j.touches[2].at = 14 * DAY;
    check(model, &j, &[1.0 / 7.0, 2.0 / 7.0, 4.0 / 7.0]);
    // One touch: all of it.
    check(model, &journey(&["a"], Some(3)), &[1.0]);
    // Days 0 and 1, conversion at day 8: Δ = 8, 7 days → 2^(-8/7) : 2^-1 = 2^(-1/7) : 1.
    let r = 2f64.powf(-1.0 / 7.0);
    check(
        model,
        &journey(&["a", "b"], Some(8)),
        &[r / (1.0 + r), 1.0 / (1.0 + r)],
    );
    // Ten half-lives apart: 2^-10 : 1 = 1 : 1024.
    let mut j = journey(&["a", "b"], Some(70));
    j.touches[1].at = 70 * DAY;
    check(model, &j, &[1.0 / 1025.0, 1024.0 / 1025.0]);
    // Equally old, 100,000 half-lives before conversion: 2^-100000 underflows, the split is not
    // lost: 1/2 each.
    let mut j = journey(&["a", "b"], Some(700_000));
    j.touches[1].at = 0;
    check(model, &j, &[0.5, 0.5]);
}

#[test]
fn position_based() {
    check(Model::PositionBased, &converting(&["a"]), &[1.0]);
    check(Model::PositionBased, &converting(&["a", "b"]), &[0.5, 0.5]);
    check(
        Model::PositionBased,
        &converting(&["a", "b", "c"]),
        &[0.4, 0.2, 0.4],
    );
    // 5 touches: 40% / 20% ÷ 3 each / 40%.
    let m = 0.2 / 3.0;
    check(
        Model::PositionBased,
        &converting(&["a", "b", "a", "c", "a"]),
        &[0.4, m, m, m, 0.4],
    );
}

#[test]
fn w_shaped() {
    let five = ["a", "b", "c", "d", "e"];
    // Roles on touches 0 (first), 1 (lead at day 1), 3 (opportunity at day 3.5: last touch at or
    // before it is day 3): 30% each; touches 2 and 4 share 10%.
    check(
        Model::WShaped,
        &milestones(&five, Some(1.0), Some(3.5)),
        &[0.3, 0.3, 0.05, 0.3, 0.05],
    );
    // Lead and opportunity on the same touch (day 2): it holds two roles, 60%.
    check(
        Model::WShaped,
        &milestones(&five[..4], Some(2.0), Some(2.5)),
        &[0.3, 0.05, 0.6, 0.05],
    );
    // First touch holding the lead role too (lead at day 0.5).
    check(
        Model::WShaped,
        &milestones(&five[..4], Some(0.5), Some(2.0)),
        &[0.6, 0.05, 0.3, 0.05],
    );
    // Missing lead: its 30% goes equally to the two roles present, 45% each; others share 10%.
    check(
        Model::WShaped,
        &milestones(&five[..4], None, Some(2.0)),
        &[0.45, 0.05, 0.45, 0.05],
    );
    // Missing opportunity: likewise; the only other touch gets the whole 10%.
    check(
        Model::WShaped,
        &milestones(&five[..3], Some(1.0), None),
        &[0.45, 0.45, 0.1],
    );
    // A milestone before the first touch has no touch at or before it: the role is missing.
    check(
        Model::WShaped,
        &milestones(&five[..2], Some(-1.0), None),
        &[0.9, 0.1],
    );
    // Both missing: the first touch takes 90%, the other two 5% each.
    check(
        Model::WShaped,
        &milestones(&five[..3], None, None),
        &[0.9, 0.05, 0.05],
    );
    // No other touch left: the 10% goes equally to the three roles (each 0.3 + 0.1/3 = 1/3);
    // touch 0 holds first and lead → 2/3, touch 1 holds opportunity → 1/3.
    check(
        Model::WShaped,
        &milestones(&five[..2], Some(0.0), Some(1.0)),
        &[2.0 / 3.0, 1.0 / 3.0],
    );
    // Three roles on three touches, nothing else: 1/3 each.
    let third = 1.0 / 3.0;
    check(
        Model::WShaped,
        &milestones(&five[..3], Some(1.0), Some(2.0)),
        &[third; 3],
    );
    // No other touch and a role missing: two roles, (0.3 + 0.15 + 0.05) = 1/2 each.
    check(
        Model::WShaped,
        &milestones(&five[..2], Some(1.0), None),
        &[0.5, 0.5],
    );
    // One touch holds everything.
    check(
        Model::WShaped,
        &milestones(&five[..1], Some(0.0), Some(0.0)),
        &[1.0],
    );
    check(Model::WShaped, &milestones(&five[..1], None, None), &[1.0]);
    // Repeated channel: roles are per touch, not per channel.
    check(
        Model::WShaped,
        &milestones(&["a", "a", "a"], Some(1.0), None),
        &[0.45, 0.45, 0.1],
    );
}

#[test]
fn shapley_closed_form() {
    check(Model::Shapley, &converting(&["a"]), &[1.0]);
    check(Model::Shapley, &converting(&["a", "b"]), &[0.5, 0.5]);
    // Distinct {a, b}: 1/2 each; a's half spread over its two touches.
    check(
        Model::Shapley,
        &converting(&["a", "b", "a"]),
        &[0.25, 0.5, 0.25],
    );
    check(
        Model::Shapley,
        &converting(&["a", "a", "a"]),
        &[1.0 / 3.0; 3],
    );
    let (third, sixth) = (1.0 / 3.0, 1.0 / 6.0);
    check(
        Model::Shapley,
        &converting(&["a", "b", "c", "c"]),
        &[third, third, sixth, sixth],
    );
}

#[test]
fn credit_sums_weights_times_values_by_state() {
    let journeys = [
        converting(&["a", "b", "a"]),  // linear: a 2/3, b 1/3 of 300
        converting(&["b"]),            // b all of 60
        journey(&["c", "a"], None),    // not converting: c appears with 0
        converting(&["d*", "a", "b"]), // a, b, d 1/3 each of 30
    ];
    let by_state = credit(&Model::Linear, &journeys, &[300.0, 60.0, 1e9, 30.0]).unwrap();
    let expected = [
        ("a", 200.0 + 10.0),
        ("b", 100.0 + 60.0 + 10.0),
        ("c", 0.0),
        ("d", 10.0),
    ];
    assert_eq!(by_state.len(), 4, "one entry per id up to d's");
    for (state, value) in expected {
        assert!(
            (by_state[id(state) as usize] - value).abs() < 1e-9,
            "{state}: {by_state:?}"
        );
    }
}

#[test]
fn refusals_name_what_and_where() {
    let markov = Model::Markov { order: 1 };
    assert_eq!(
        weights(&markov, &converting(&["a"])),
        Err(AttributionError::NotPerJourney { model: "markov" })
    );
    assert_eq!(
        weights(&Model::Linear, &converting(&[])),
        Err(AttributionError::NoTouches)
    );
    let time_decay = Model::TimeDecay { half_life_ms: DAY };
    assert_eq!(
        weights(&time_decay, &journey(&["a"], None)),
        Err(AttributionError::NoConversionTime)
    );
    assert_eq!(
        weights(&Model::TimeDecay { half_life_ms: 0 }, &converting(&["a"])),
        Err(AttributionError::InvalidHalfLife { half_life_ms: 0 })
    );

    let journeys = [converting(&["a"]), converting(&[])];
    let err = credit(&Model::Linear, &journeys, &[1.0, 1.0]).unwrap_err();
    assert_eq!(err, in_journey(1, AttributionError::NoTouches));
    assert_eq!(
        err.to_string(),
        "journey 1: journey has no touches; a converting journey needs its direct fallback touch first"
    );
    let err = credit(&markov, &journeys, &[1.0, 1.0]).unwrap_err();
    assert_eq!(err, in_journey(1, AttributionError::NoTouches));
    assert_eq!(
        credit(&Model::Linear, &journeys, &[1.0]),
        Err(AttributionError::ValuesLength {
            journeys: 2,
            values: 1
        })
    );
    let err = credit(&Model::Linear, &journeys[..1], &[f64::NAN]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "journey 0: value NaN is not a finite number"
    );
    // A non-converting journey with no touches, or any value, is no error.
    let fine = [converting(&["a"]), journey(&[], None)];
    assert!(credit(&Model::Linear, &fine, &[1.0, f64::NAN]).is_ok());
    assert!(credit(&markov, &fine, &[1.0, f64::NAN]).is_ok());
}

#[test]
fn direct_fallback_adds_one_direct_touch_at_conversion() {
    let j = journey(&[], Some(5)).with_direct_fallback(id("direct"));
    assert_eq!(
        j.touches,
        [Touch {
            at: 5 * DAY,
            state: id("direct"),
            direct: true
        }]
    );
    // Journeys with touches, and non-converting ones, are left alone.
    assert_eq!(
        converting(&["a"]).with_direct_fallback(id("direct")),
        converting(&["a"])
    );
    assert!(journey(&[], None)
        .with_direct_fallback(id("direct"))
        .touches
        .is_empty());
    let by_state = credit(&Model::LastNonDirect, &[j], &[1.0]).unwrap();
    assert_eq!(by_state[id("direct") as usize], 1.0);
}

#[test]
fn model_names_parse_back() {
    for name in Model::NAMES {
        let model = Model::parse(name, DAY, 2).unwrap();
        assert_eq!(model.name(), name);
    }
    assert_eq!(
        Model::parse("time_decay", 7, 0),
        Ok(Model::TimeDecay { half_life_ms: 7 })
    );
    assert_eq!(Model::parse("markov", 0, 3), Ok(Model::Markov { order: 3 }));
    // Parameters are checked only for the model that uses them.
    assert_eq!(Model::parse("linear", -1, 0), Ok(Model::Linear));
    assert_eq!(
        Model::parse("time_decay", -5, 1),
        Err(AttributionError::InvalidHalfLife { half_life_ms: -5 })
    );
    assert_eq!(
        Model::parse("markov", DAY, 0),
        Err(AttributionError::InvalidOrder { order: 0 })
    );
    let err = Model::parse("u_shaped", DAY, 1).unwrap_err();
    assert!(err
        .to_string()
        .starts_with("unknown attribution model `u_shaped`"));
}
