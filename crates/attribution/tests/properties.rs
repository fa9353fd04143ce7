//! Invariants of every model on random journeys, and Shapley's closed form against brute force.

use std::collections::BTreeMap;

use proptest::prelude::*;
use tenure_attribution::{credit, markov, weights, Journey, Model, StateId, Touch};

const DAY: i64 = 86_400_000;

fn per_journey_models() -> Vec<Model> {
    vec![
        Model::FirstTouch,
        Model::LastTouch,
        Model::LastNonDirect,
        Model::Linear,
        Model::TimeDecay {
            half_life_ms: 7 * DAY,
        },
        Model::TimeDecay {
            half_life_ms: 3_600_000,
        },
        Model::PositionBased,
        Model::WShaped,
        Model::Shapley,
    ]
}

fn all_models() -> Vec<Model> {
    let mut models = per_journey_models();
    models.extend([1, 2, 3].map(|order| Model::Markov { order }));
    models
}

/// A journey over states `0..states`: touches at increasing times, converting or not,
/// with milestones anywhere around the touches.
fn arb_journey(states: usize, max_touches: usize) -> impl Strategy<Value = Journey> {
    (
        prop::collection::vec((0..states, any::<bool>(), 0i64..20 * DAY), 1..=max_touches),
        any::<bool>(),
        0i64..5 * DAY,
        prop::option::of(-DAY..30 * DAY),
        prop::option::of(-DAY..30 * DAY),
    )
        .prop_map(|(raw, converted, after, lead_at, opportunity_at)| {
            let mut at = 0;
            let touches: Vec<Touch> = raw
                .into_iter()
                .map(|(s, direct, gap)| {
                    at += gap;
                    Touch {
                        at,
                        state: s as StateId,
                        direct,
                    }
                })
                .collect();
            Journey {
                converted_at: converted.then_some(at + after),
                touches,
                lead_at,
                opportunity_at,
            }
        })
}

fn arb_journeys(states: usize) -> impl Strategy<Value = (Vec<Journey>, Vec<f64>)> {
    prop::collection::vec((arb_journey(states, 6), 0.0f64..1_000.0), 1..25)
        .prop_map(|pairs| pairs.into_iter().unzip())
}

fn total_converting(journeys: &[Journey], values: &[f64]) -> f64 {
    journeys
        .iter()
        .zip(values)
        .filter(|(j, _)| j.converted_at.is_some())
        .map(|(_, v)| v)
        .sum()
}

/// The credit of each state on `journeys`.
fn on_journeys(journeys: &[Journey], by_id: &[f64]) -> BTreeMap<StateId, f64> {
    journeys
        .iter()
        .flat_map(|j| &j.touches)
        .map(|t| (t.state, by_id[t.state as usize]))
        .collect()
}

#[track_caller]
fn assert_same_credit(a: &BTreeMap<StateId, f64>, b: &BTreeMap<StateId, f64>, scale: f64) {
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    for (state, x) in a {
        assert!(
            (x - b[state]).abs() <= 1e-9 * scale.max(1.0),
            "{state}: {a:?} vs {b:?}"
        );
    }
}

/// Shapley value by enumerating every coalition, with v(S) = Σ value of converting journeys
/// whose set of states is a subset of S (Zhao et al., 2018).
fn brute_force_shapley(journeys: &[Journey], values: &[f64]) -> BTreeMap<StateId, f64> {
    let players: Vec<StateId> = {
        let mut p: Vec<StateId> = journeys
            .iter()
            .flat_map(|j| j.touches.iter().map(|t| t.state))
            .collect();
        p.sort_unstable();
        p.dedup();
        p
    };
    let n = players.len();
    let mask_of = |j: &Journey| {
        j.touches
            .iter()
            .map(|t| 1u32 << players.iter().position(|&p| p == t.state).unwrap())
            .fold(0, |m, bit| m | bit)
    };
    let masks: Vec<(u32, f64)> = journeys
        .iter()
        .zip(values)
        .filter(|(j, _)| j.converted_at.is_some())
        .map(|(j, &v)| (mask_of(j), v))
        .collect();
    let v = |coalition: u32| -> f64 {
        masks
            .iter()
            .filter(|&&(m, _)| m & !coalition == 0)
            .map(|&(_, value)| value)
            .sum()
    };
    let factorial = |k: usize| (1..=k).map(|x| x as f64).product::<f64>();
    players
        .iter()
        .enumerate()
        .map(|(i, &player)| {
            let mut phi = 0.0;
            for coalition in 0u32..(1 << n) {
                if coalition & (1 << i) != 0 {
                    continue;
                }
                let size = coalition.count_ones() as usize;
                let weight = factorial(size) * factorial(n - size - 1) / factorial(n);
                phi += weight * (v(coalition | (1 << i)) - v(coalition));
            }
            (player, phi)
        })
        .collect()
}

proptest! {
    #[test]
    fn per_journey_weights_are_nonnegative_and_sum_to_one(journey in arb_journey(6, 8)) {
        let journey = Journey { converted_at: journey.converted_at.or(Some(40 * DAY)), ..journey };
        for model in per_journey_models() {
            let w = weights(&model, &journey).unwrap();
            prop_assert_eq!(w.len(), journey.touches.len());
            prop_assert!(w.iter().all(|&x| x >= 0.0 && x.is_finite()), "{:?}: {:?}", model, w);
            let sum: f64 = w.iter().sum();
            prop_assert!((sum - 1.0).abs() < 1e-12, "{:?}: {:?} sums to {}", model, w, sum);
        }
    }

    #[test]
    fn credit_sums_to_the_converting_total((journeys, values) in arb_journeys(6)) {
        let total = total_converting(&journeys, &values);
        for model in all_models() {
            let by_state = credit(&model, &journeys, &values).unwrap();
            let sum: f64 = by_state.iter().sum();
            prop_assert!(
                (sum - total).abs() <= 1e-9 * total.max(1.0),
                "{:?}: credit {:?} sums to {}, total {}", model, by_state, sum, total
            );
            prop_assert!(by_state.iter().all(|&c| c >= -1e-9 && c.is_finite()));
            // Every state on any journey has an entry.
            for j in &journeys {
                for t in &j.touches {
                    prop_assert!((t.state as usize) < by_state.len());
                }
            }
        }
    }

    #[test]
    fn credit_does_not_depend_on_journey_order(
        (journeys, values) in arb_journeys(6),
        rotate in 0usize..25,
    ) {
        let k = rotate % journeys.len();
        let mut shuffled: Vec<(Journey, f64)> =
            journeys.iter().cloned().zip(values.iter().copied()).collect();
        shuffled.reverse();
        shuffled.rotate_left(k);
        let (other_journeys, other_values): (Vec<Journey>, Vec<f64>) = shuffled.into_iter().unzip();
        let total = total_converting(&journeys, &values);
        for model in all_models() {
            let a = on_journeys(&journeys, &credit(&model, &journeys, &values).unwrap());
            let b = on_journeys(
                &other_journeys,
                &credit(&model, &other_journeys, &other_values).unwrap(),
            );
            assert_same_credit(&a, &b, total);
        }
        for order in 1..=3 {
            let a = markov(&journeys, order);
            let b = markov(&other_journeys, order);
            prop_assert!((a.conversion_probability - b.conversion_probability).abs() < 1e-12);
            assert_same_credit(&a.removal_effects, &b.removal_effects, 1.0);
        }
    }

    #[test]
    fn shapley_closed_form_equals_brute_force_enumeration((journeys, values) in arb_journeys(6)) {
        let closed = on_journeys(&journeys, &credit(&Model::Shapley, &journeys, &values).unwrap());
        let brute = brute_force_shapley(&journeys, &values);
        assert_same_credit(&closed, &brute, total_converting(&journeys, &values));
    }

    #[test]
    fn markov_credit_of_conversions_is_the_removal_effect_split(
        (journeys, _values) in arb_journeys(6),
        order in 1usize..=3,
    ) {
        let ones = vec![1.0; journeys.len()];
        let by_state = credit(&Model::Markov { order }, &journeys, &ones).unwrap();
        let result = markov(&journeys, order);
        let conversions = total_converting(&journeys, &ones);
        let sum: f64 = result.removal_effects.values().sum();
        for (state, &re) in &result.removal_effects {
            let expected = if sum > 0.0 { re / sum * conversions } else { 0.0 };
            prop_assert!((by_state[*state as usize] - expected).abs() < 1e-9, "{}: {:?} vs {:?}", state, by_state, result);
        }
        for &re in result.removal_effects.values() {
            prop_assert!((0.0..=1.0).contains(&re));
        }
    }
}
