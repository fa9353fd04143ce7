//! Times the exact Markov model on 1,000,000 synthetic journeys over 15 channels.
//!
//! `cargo run -p tenure-attribution --release --example markov_timing`

use std::time::Instant;

use tenure_attribution::{credit, markov, Journey, Model, StateId, Touch};

fn main() {
    let mut seed = 42u64;
    let mut next = |m: u64| {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (seed >> 33) % m
    };
    let journeys: Vec<Journey> = (0..1_000_000)
        .map(|_| {
            let len = 1 + next(6) as usize;
            let touches: Vec<Touch> = (0..len)
                .map(|i| {
                    let c = next(15) as usize;
                    Touch {
                        at: i as i64,
                        state: c as StateId,
                        direct: c == 0,
                    }
                })
                .collect();
            let last = touches[len - 1].state as usize;
            let converted = next(100) < 5 + last as u64;
            Journey {
                touches,
                converted_at: converted.then_some(len as i64),
                lead_at: None,
                opportunity_at: None,
            }
        })
        .collect();
    let touches: usize = journeys.iter().map(|j| j.touches.len()).sum();
    let conversions = journeys.iter().filter(|j| j.converted_at.is_some()).count();
    println!(
        "{} journeys, {touches} touches, {conversions} conversions",
        journeys.len()
    );

    for order in [1, 2] {
        let started = Instant::now();
        let result = markov(&journeys, order);
        let elapsed = started.elapsed();
        println!(
            "markov order {order}: {elapsed:.3?}, P(conv) = {:.6}",
            result.conversion_probability
        );
    }

    let values: Vec<f64> = (0..journeys.len())
        .map(|i| 100.0 + (i % 7) as f64 * 50.0)
        .collect();
    let started = Instant::now();
    let by_state = credit(&Model::Markov { order: 1 }, &journeys, &values).unwrap();
    let elapsed = started.elapsed();
    let sum: f64 = by_state.iter().sum();
    println!("credit markov order 1 (revenue): {elapsed:.3?}, sums to {sum:.3}");
}
