//! Times tenure's exact Markov model (order 1) on a path table, for
//! `bench/attribution/markov_vs_channelattribution.sh`.
//!
//! `cargo run -p tenure-attribution --release --example markov_bench -- PATHS.csv [RUNS]`
//!
//! The CSV is `path,conversions,nulls` (channels joined by `>`, no quoting), as written by
//! `bench/attribution/gen_paths.py`. Every row is expanded into `conversions` converting and
//! `nulls` non-converting journeys (tenure has no weighted journeys), then
//! `credit(&Model::Markov { order: 1 }, …)` with a value of 1 per journey is timed RUNS times
//! (default 1). Reading + parsing the file, and expanding the rows to journeys, are timed apart.
//! Prints one JSON line: `parse_s`, `expand_s`, `model_s` (one per run) and each channel's
//! share of the total conversions.

use std::time::Instant;

use tenure_attribution::{credit, Journey, Model, States, Touch};

fn main() {
    let mut args = std::env::args().skip(1);
    let path = args.next().expect("usage: markov_bench PATHS.csv [RUNS]");
    let runs: usize = args.next().map_or(1, |r| r.parse().expect("RUNS"));

    let started = Instant::now();
    let text = std::fs::read_to_string(&path).expect("read the path table");
    let mut rows: Vec<(Vec<&str>, u64, u64)> = Vec::new();
    for (number, line) in text.lines().enumerate().skip(1) {
        if line.is_empty() {
            continue;
        }
        assert!(
            !line.contains('"'),
            "line {}: quoted CSV is not supported",
            number + 1
        );
        let mut fields = line.rsplitn(3, ',');
        let nulls = fields.next().and_then(|f| f.trim().parse().ok());
        let conversions = fields.next().and_then(|f| f.trim().parse().ok());
        let (Some(nulls), Some(conversions), Some(path)) = (nulls, conversions, fields.next())
        else {
            panic!("line {}: expected path,conversions,nulls", number + 1);
        };
        let channels: Vec<&str> = path
            .split('>')
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .collect();
        rows.push((channels, conversions, nulls));
    }
    let parse_s = started.elapsed().as_secs_f64();

    let started = Instant::now();
    let total: u64 = rows.iter().map(|(_, c, n)| c + n).sum();
    let mut journeys: Vec<Journey> = Vec::with_capacity(total as usize);
    let mut states = States::new();
    for (channels, conversions, nulls) in &rows {
        let touches: Vec<Touch> = channels
            .iter()
            .enumerate()
            .map(|(i, c)| Touch {
                at: i as i64,
                state: states.intern(c),
                direct: false,
            })
            .collect();
        for k in 0..conversions + nulls {
            journeys.push(Journey {
                touches: touches.clone(),
                converted_at: (k < *conversions).then_some(channels.len() as i64),
                lead_at: None,
                opportunity_at: None,
            });
        }
    }
    let values = vec![1.0; journeys.len()];
    let expand_s = started.elapsed().as_secs_f64();

    let model = Model::Markov { order: 1 };
    let mut model_s = Vec::with_capacity(runs);
    let mut by_channel = None;
    for _ in 0..runs.max(1) {
        let started = Instant::now();
        let result = credit(&model, &journeys, &values).expect("markov credit");
        model_s.push(started.elapsed().as_secs_f64());
        by_channel = Some(result);
    }
    let by_channel = states.named(&by_channel.unwrap_or_default());
    let sum: f64 = by_channel.values().sum();
    let shares: Vec<String> = by_channel
        .iter()
        .map(|(c, v)| format!("\"{c}\": {}", v / sum))
        .collect();
    let model_s: Vec<String> = model_s.iter().map(f64::to_string).collect();
    println!(
        "{{\"journeys\": {}, \"paths\": {}, \"parse_s\": {parse_s}, \"expand_s\": {expand_s}, \
         \"model_s\": [{}], \"shares\": {{{}}}}}",
        journeys.len(),
        rows.len(),
        model_s.join(", "),
        shares.join(", ")
    );
}
