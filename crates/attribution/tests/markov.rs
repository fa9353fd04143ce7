//! The Markov model against hand-solved chains and a Monte-Carlo walk of the same chain.

use std::cell::RefCell;
use std::collections::BTreeMap;

use tenure_attribution::{credit, markov, Journey, MarkovResult, Model, StateId, States, Touch};

thread_local! {
    static STATES: RefCell<States> = RefCell::new(States::new());
}

fn id(name: &str) -> StateId {
    STATES.with(|s| s.borrow_mut().intern(name))
}

fn name(id: StateId) -> String {
    STATES.with(|s| s.borrow().name(id).to_owned())
}

/// The credit of every state on `journeys`, by name.
fn credit_named(model: &Model, journeys: &[Journey], values: &[f64]) -> BTreeMap<String, f64> {
    let by_id = credit(model, journeys, values).unwrap();
    journeys
        .iter()
        .flat_map(|j| &j.touches)
        .map(|t| (name(t.state), by_id[t.state as usize]))
        .collect()
}

/// The removal effects by name.
fn effects(result: &MarkovResult) -> BTreeMap<String, f64> {
    result
        .removal_effects
        .iter()
        .map(|(&s, &e)| (name(s), e))
        .collect()
}

fn journey(states: &[&str], converted: bool) -> Journey {
    Journey {
        touches: states
            .iter()
            .enumerate()
            .map(|(i, s)| Touch {
                at: i as i64,
                state: id(s),
                direct: false,
            })
            .collect(),
        converted_at: converted.then_some(1_000),
        lead_at: None,
        opportunity_at: None,
    }
}

#[track_caller]
fn assert_close(got: &BTreeMap<String, f64>, expected: &[(&str, f64)], tolerance: f64) {
    assert_eq!(got.len(), expected.len(), "{got:?}");
    for &(state, value) in expected {
        assert!(
            (got[state] - value).abs() <= tolerance,
            "{state}: got {}, expected {value} ({got:?})",
            got[state]
        );
    }
}

/// c1 c1 → conv, c1 c2 → conv, c2 → null, c1 c3 → null, c2 c1 → null.
fn order_one_table() -> Vec<Journey> {
    vec![
        journey(&["c1", "c1"], true),
        journey(&["c1", "c2"], true),
        journey(&["c2"], false),
        journey(&["c1", "c3"], false),
        journey(&["c2", "c1"], false),
    ]
}

#[test]
fn order_one_by_hand() {
    // c1 c1 collapses to c1. Transitions:
    //   start → c1: 3 (journeys 1, 2, 4), → c2: 2 (3, 5)       ⇒ 3/5, 2/5
    //   c1 → conv (1), → c2 (2), → c3 (4), → null (5)          ⇒ 1/4 each
    //   c2 → conv (2), → null (3), → c1 (5)                    ⇒ 1/3 each
    //   c3 → null (4)                                          ⇒ P(c3) = 0
    // P1 = 1/4 + P2/4, P2 = 1/3 + P1/3 ⇒ P1 = 1/4 + 1/12 + P1/12 ⇒ P1 = 4/11, P2 = 5/11.
    // P = 3/5 · 4/11 + 2/5 · 5/11 = 22/55 = 2/5.
    // Without c1: P2 = 1/3, P = 2/5 · 1/3 = 2/15 ⇒ RE1 = 1 − (2/15)/(2/5) = 2/3.
    // Without c2: P1 = 1/4, P = 3/5 · 1/4 = 3/20 ⇒ RE2 = 1 − (3/20)/(2/5) = 5/8.
    // Without c3: nothing changes ⇒ RE3 = 0.
    let result = markov(&order_one_table(), 1);
    assert!((result.conversion_probability - 2.0 / 5.0).abs() < 1e-15);
    assert_close(
        &effects(&result),
        &[("c1", 2.0 / 3.0), ("c2", 5.0 / 8.0), ("c3", 0.0)],
        1e-15,
    );

    // Two conversions split by RE / ΣRE, ΣRE = 2/3 + 5/8 = 31/24:
    //   c1 = (16/31) · 2 = 32/31, c2 = (15/31) · 2 = 30/31.
    let by_state = credit_named(&Model::Markov { order: 1 }, &order_one_table(), &[1.0; 5]);
    assert_close(
        &by_state,
        &[("c1", 32.0 / 31.0), ("c2", 30.0 / 31.0), ("c3", 0.0)],
        1e-12,
    );
}

#[test]
fn order_one_values_use_the_mean_value_of_conversions_ending_in_the_same_state() {
    // Values 100 (ends in c1) and 300 (ends in c2); non-converting values are ignored.
    // Reward for converting from c1 is P(c1 → conv) · 100 = 25, from c2 1/3 · 300 = 100:
    //   V1 = 25 + V2/4, V2 = 100 + V1/3 ⇒ V1 = 50 + V1/12 ⇒ V1 = 600/11, V2 = 1300/11.
    //   V = 3/5 · 600/11 + 2/5 · 1300/11 = 880/11 = 80.
    // Without c1: V2 = 100, V = 2/5 · 100 = 40 ⇒ V − V₋₁ = 40.
    // Without c2: V1 = 25, V = 3/5 · 25 = 15 ⇒ V − V₋₂ = 65.
    // Total 400 split 40 : 65 : 0 ⇒ c1 = 3200/21, c2 = 5200/21.
    let values = [100.0, 300.0, 7.0, 7.0, 7.0];
    let by_state = credit_named(&Model::Markov { order: 1 }, &order_one_table(), &values);
    assert_close(
        &by_state,
        &[("c1", 3200.0 / 21.0), ("c2", 5200.0 / 21.0), ("c3", 0.0)],
        1e-9,
    );

    // The mean, not the sum: a second conversion ending in c1, valued 300, makes c1's mean 200.
    // Adding c1 → conv (value 300):
    //   start → c1: 4/6, → c2: 2/6; c1 → conv 2/5, c2 1/5, c3 1/5, null 1/5; c2 as before.
    //   Reward c1 = (2/5) · 200 = 80, c2 = (1/3) · 300 = 100.
    //   V1 = 80 + V2/5, V2 = 100 + V1/3 ⇒ V1 = 100 + V1/15 ⇒ V1 = 750/7, V2 = 950/7.
    //   V = 4/6 · 750/7 + 2/6 · 950/7 = (3000 + 1900)/42 = 350/3.
    //   Without c1: V = 2/6 · 100 = 100/3 ⇒ amount 250/3.
    //   Without c2: V1 = 80 ⇒ V = 4/6 · 80 = 160/3 ⇒ amount 190/3.
    //   Total 700 split 250 : 190 ⇒ c1 = 700 · 250/440, c2 = 700 · 190/440.
    let mut journeys = order_one_table();
    journeys.push(journey(&["c1"], true));
    let values = [100.0, 300.0, 0.0, 0.0, 0.0, 300.0];
    let by_state = credit_named(&Model::Markov { order: 1 }, &journeys, &values);
    assert_close(
        &by_state,
        &[
            ("c1", 700.0 * 250.0 / 440.0),
            ("c2", 700.0 * 190.0 / 440.0),
            ("c3", 0.0),
        ],
        1e-9,
    );
}

#[test]
fn order_two_by_hand() {
    // Sliding windows of 2 (a journey shorter than 2 is one short window):
    //   a b → conv          : start → (a,b) → conv
    //   a → conv            : start → (a) → conv
    //   b a b → null        : start → (b,a) → (a,b) → null
    //   a b a → conv        : start → (a,b) → (b,a) → conv
    //   c a → conv          : start → (c,a) → conv
    // start → (a,b) 2/5, (a) 1/5, (b,a) 1/5, (c,a) 1/5.
    // (a,b) → conv, null, (b,a): 1/3 each. (b,a) → (a,b), conv: 1/2 each. (a), (c,a) → conv.
    // x = P(a,b) = 1/3 + y/3, y = P(b,a) = 1/2 + x/2 ⇒ 5x/6 = 1/2 ⇒ x = 3/5, y = 4/5.
    // P = 2/5 · 3/5 + 1/5 · 1 + 1/5 · 4/5 + 1/5 · 1 = (6 + 5 + 4 + 5)/25 = 4/5.
    // Removing channel a removes every state containing it — all of them ⇒ P = 0, RE_a = 1.
    // Removing b removes (a,b), (b,a) ⇒ P = 1/5 + 1/5 = 2/5, RE_b = 1/2.
    // Removing c removes (c,a) ⇒ P = 3/5, RE_c = 1/4.
    let journeys = [
        journey(&["a", "b"], true),
        journey(&["a"], true),
        journey(&["b", "a", "b"], false),
        journey(&["a", "b", "a"], true),
        journey(&["c", "a"], true),
    ];
    let result = markov(&journeys, 2);
    assert!((result.conversion_probability - 4.0 / 5.0).abs() < 1e-15);
    assert_close(
        &effects(&result),
        &[("a", 1.0), ("b", 0.5), ("c", 0.25)],
        1e-15,
    );
    // Four conversions split 1 : 1/2 : 1/4 = 4 : 2 : 1 ⇒ 16/7, 8/7, 4/7.
    let by_state = credit_named(&Model::Markov { order: 2 }, &journeys, &[1.0; 5]);
    assert_close(
        &by_state,
        &[("a", 16.0 / 7.0), ("b", 8.0 / 7.0), ("c", 4.0 / 7.0)],
        1e-12,
    );

    // Order 1 on the same table is a different chain: the orders really differ.
    let first_order = markov(&journeys, 1);
    assert!((effects(&first_order)["a"] - 1.0).abs() > 1e-3);
}

#[test]
fn nothing_converting_gives_zero_effects_and_zero_credit() {
    let journeys = [journey(&["a", "b"], false), journey(&["b"], false)];
    let result = markov(&journeys, 1);
    assert_eq!(result.conversion_probability, 0.0);
    assert_close(&effects(&result), &[("a", 0.0), ("b", 0.0)], 0.0);
    let by_state = credit_named(&Model::Markov { order: 1 }, &journeys, &[1.0, 1.0]);
    assert_close(&by_state, &[("a", 0.0), ("b", 0.0)], 0.0);
    let empty = markov(&[], 1);
    assert_eq!(empty.conversion_probability, 0.0);
    assert!(empty.removal_effects.is_empty());
}

#[test]
fn values_whose_removal_amounts_cancel_fall_back_to_conversion_effects() {
    // a → conv (3), b → conv (−1), a b → conv (−1): total 1.
    // start → a 2/3, → b 1/3; a → conv 1/2, → b 1/2; b → conv 1. Mean values: m_a = 3,
    // m_b = (−1 − 1)/2 = −1. V_a = 3/2 + V_b/2, V_b = −1 ⇒ V = 2/3 · 1 + 1/3 · (−1) = 1/3.
    // Without a: V = −1/3 ⇒ amount 2/3. Without b: V_a = 3/2 ⇒ V = 1 ⇒ amount −2/3. Sum 0.
    // Conversion removal effects instead: P = 1; without a P = 1/3, without b P = 1/3 ⇒
    // RE = 2/3 each ⇒ the total 1 splits 1/2, 1/2.
    let journeys = [
        journey(&["a"], true),
        journey(&["b"], true),
        journey(&["a", "b"], true),
    ];
    let by_state = credit_named(&Model::Markov { order: 1 }, &journeys, &[3.0, -1.0, -1.0]);
    assert_close(&by_state, &[("a", 0.5), ("b", 0.5)], 1e-12);
}

/// A seeded LCG: uniform in [0, 1).
struct Lcg(u64);

impl Lcg {
    fn uniform(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }

    fn below(&mut self, n: usize) -> usize {
        (self.uniform() * n as f64) as usize
    }
}

#[test]
fn exact_removal_effects_match_a_monte_carlo_walk_of_the_chain() {
    // Random journeys over 5 channels; later channels convert more often and for more.
    let channels = ["ads", "email", "seo", "social", "partner"];
    let mut rng = Lcg(2024);
    let mut journeys = Vec::new();
    let mut values = Vec::new();
    for _ in 0..3_000 {
        let len = 1 + rng.below(4);
        let states: Vec<usize> = (0..len).map(|_| rng.below(channels.len())).collect();
        let last = states[len - 1];
        let convert = rng.uniform() < 0.1 + 0.1 * last as f64;
        let names: Vec<&str> = states.iter().map(|&s| channels[s]).collect();
        journeys.push(journey(&names, convert));
        values.push(100.0 * (1 + last * last) as f64 + 50.0 * rng.uniform());
    }
    let exact = markov(&journeys, 1);
    let exact_value = credit_named(&Model::Markov { order: 1 }, &journeys, &values);
    let total_value: f64 = exact_value.values().sum();

    // The same chain, built here independently: state 0 = start, 1..=5 channels, 6 = conv,
    // 7 = null; and, as channelattribution does, the values of the conversions ending in each
    // state, from which a converting walk draws its value.
    let mut counts = [[0u32; 8]; 6];
    let mut ending_values: [Vec<f64>; 6] = Default::default();
    for (j, &value) in journeys.iter().zip(&values) {
        let mut path: Vec<usize> = Vec::new();
        for t in &j.touches {
            let s = 1 + channels.iter().position(|&c| id(c) == t.state).unwrap();
            if path.last() != Some(&s) {
                path.push(s);
            }
        }
        let mut from = 0;
        for &s in &path {
            counts[from][s] += 1;
            from = s;
        }
        if j.converted_at.is_some() {
            counts[from][6] += 1;
            ending_values[from].push(value);
        } else {
            counts[from][7] += 1;
        }
    }
    // 10 batches of walks: the spread between batches gives the value shares' sampling error.
    let (batches, walks_per_batch) = (10, 40_000);
    let walks = f64::from(batches * walks_per_batch);
    let (mut conversions, mut visits) = (0u32, [0u32; 6]);
    let mut value_shares = vec![[0.0f64; 6]; batches as usize];
    for batch in &mut value_shares {
        let mut value_visits = [0.0f64; 6];
        for _ in 0..walks_per_batch {
            let (mut state, mut last) = (0, 0);
            let mut visited = [false; 6];
            while state < 6 {
                let total: u32 = counts[state].iter().sum();
                let mut pick = (rng.uniform() * f64::from(total)) as u32;
                let mut next = 0;
                while pick >= counts[state][next] {
                    pick -= counts[state][next];
                    next += 1;
                }
                last = state;
                state = next;
                if state < 6 {
                    visited[state] = true;
                }
            }
            if state == 6 {
                conversions += 1;
                let drawn = &ending_values[last];
                let value = drawn[rng.below(drawn.len())];
                for c in 1..6 {
                    visits[c] += u32::from(visited[c]);
                    value_visits[c] += if visited[c] { value } else { 0.0 };
                }
            }
        }
        let sum: f64 = value_visits.iter().sum();
        for c in 1..6 {
            batch[c] = value_visits[c] / sum;
        }
    }
    // P(conv): binomial over the walks; RE_c: share of converting walks that visited c.
    let p = f64::from(conversions) / walks;
    let sigma = (p * (1.0 - p) / walks).sqrt();
    assert!(
        (exact.conversion_probability - p).abs() < 5.0 * sigma,
        "P(conv) exact {} vs simulated {p} ± {sigma}",
        exact.conversion_probability
    );
    let mut largest_value_shift: f64 = 0.0;
    let re_sum: f64 = effects(&exact).values().sum();
    for (c, name) in channels.iter().enumerate() {
        let re = f64::from(visits[c + 1]) / f64::from(conversions);
        let sigma = (re * (1.0 - re) / f64::from(conversions)).sqrt().max(1e-4);
        let exact_re = effects(&exact)[*name];
        assert!(
            (exact_re - re).abs() < 5.0 * sigma,
            "{name}: RE exact {exact_re} vs simulated {re} ± {sigma}"
        );
        // Value shares: mean over batches, standard error from their spread.
        let shares: Vec<f64> = value_shares.iter().map(|b| b[c + 1]).collect();
        let mean = shares.iter().sum::<f64>() / shares.len() as f64;
        let var =
            shares.iter().map(|s| (s - mean).powi(2)).sum::<f64>() / (shares.len() - 1) as f64;
        let sigma = (var / shares.len() as f64).sqrt().max(1e-4);
        let exact_share = exact_value[*name] / total_value;
        assert!(
            (exact_share - mean).abs() < 5.0 * sigma,
            "{name}: value share exact {exact_share} vs simulated {mean} ± {sigma}"
        );
        largest_value_shift = largest_value_shift.max((exact_share - exact_re / re_sum).abs());
    }
    // The comparisons mean something: removal effects differ between channels, and valuing
    // conversions moves the shares away from the conversion split.
    let spread = exact
        .removal_effects
        .values()
        .fold(0.0f64, |m, &r| m.max(r))
        - exact
            .removal_effects
            .values()
            .fold(1.0f64, |m, &r| m.min(r));
    assert!(spread > 0.05, "{:?}", effects(&exact));
    assert!(largest_value_shift > 0.02, "{largest_value_shift}");
}
