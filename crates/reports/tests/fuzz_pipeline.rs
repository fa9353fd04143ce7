//! Fuzz target for what the parsers accept, carried all the way: inputs made from the sample
//! company's files (each CSV kind, `events.ndjson` lines) and Stripe events, with the same
//! structure-aware edits as the parser targets; what the parsers accept is applied to a model,
//! and every report is run over it with the caller's now and a stop after two seconds, as the
//! API does.
//!
//! The property: nothing accepted breaks tenure — applying never panics, and every report is a
//! report or an error, within its time, whatever extreme values (instants at 1970 and 9999,
//! amounts at the bound, seat counts at `u32::MAX`, unicode names…) the inputs carried.
//!
//! Each case applies up to seven inputs and runs all eighteen reports (about a millisecond in
//! release), so this target runs a tenth of `TENURE_FUZZ_CASES`, at least 20.

mod common;
#[path = "../../ingest/tests/fuzz_support/mod.rs"]
mod fuzz_support;

use fuzz_support::sample::{ACCOUNTS, DEALS, EVENTS, SPEND, SUBSCRIPTIONS, TOUCHPOINTS};

use std::time::{Duration, Instant};

use fuzz_support::{json_input, no_panic, text_input, Input, STRIPE_EVENTS};
use proptest::prelude::*;
use proptest::sample::select;
use tenure_core::{Currency, EntryBody, Timestamp};
use tenure_ingest::csv::{read_csv, CsvKind};
use tenure_ingest::segment::{parse_message, Limits as SegmentLimits};
use tenure_ingest::stripe::parse_event;
use tenure_reports::{run_in_turns, Limits, ReportParams, ReportSettings, REPORTS};

/// Cells at the edges of what the CSV kinds accept.
const CELLS: &[&str] = &[
    "",
    "0",
    "100000000000.00",
    "99999999999.99",
    "0.01",
    "4294967295",
    "1970-01-01",
    "1970-01-01T00:00:00Z",
    "9999-12-31",
    "9999-12-31T23:59:59.999Z",
    "2025-06-01",
    "2025-06-02",
    "2024-02-29",
    "acct_001",
    "acct_002",
    "acct_new",
    "new_business",
    "renewal",
    "expansion",
    "won",
    "lost",
    "open",
    "JPY",
    "EUR",
    "KWD",
    "paid_search",
    "é",
    "𝄞",
];

fn now() -> Timestamp {
    Timestamp::parse("2025-06-01T12:00:00Z").unwrap()
}

fn event_lines() -> &'static [&'static str] {
    static LINES: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
    LINES.get_or_init(|| EVENTS.lines().filter(|l| !l.trim().is_empty()).collect())
}

/// One input as a source would send it.
#[derive(Debug, Clone)]
enum Source {
    Csv(CsvKind, Input),
    Ndjson(Input),
    Stripe(Input),
}

fn source() -> impl Strategy<Value = Source> {
    let csv = select(CsvKind::ALL.to_vec()).prop_flat_map(|kind| {
        let seeds: &'static [&'static str] = match kind {
            CsvKind::Accounts => &[ACCOUNTS],
            CsvKind::Subscriptions => &[SUBSCRIPTIONS],
            CsvKind::Deals => &[DEALS],
            CsvKind::Spend => &[SPEND],
            CsvKind::Touchpoints => &[TOUCHPOINTS],
        };
        text_input(seeds, ',', CELLS).prop_map(move |file| Source::Csv(kind, file))
    });
    prop_oneof![
        2 => csv,
        2 => json_input(event_lines()).prop_map(Source::Ndjson),
        1 => json_input(STRIPE_EVENTS).prop_map(Source::Stripe),
    ]
}

/// What the parsers accept of `sources`, as log entries (a CSV file's accepted rows, as
/// `tenure import --skip-invalid` stores them).
fn accepted(sources: &[Source]) -> Vec<EntryBody> {
    let mut bodies = Vec::new();
    for source in sources {
        match source {
            Source::Csv(kind, file) => {
                if let Ok(rows) = read_csv(*kind, &file[..], Currency::USD) {
                    bodies.extend(rows.filter_map(Result::ok).map(|row| row.body));
                }
            }
            Source::Ndjson(line) => {
                if let Ok(message) = parse_message(line, now(), &SegmentLimits::default()) {
                    bodies.push(EntryBody::Segment(message));
                }
            }
            Source::Stripe(body) => {
                if let Ok(event) = parse_event(body) {
                    bodies.push(EntryBody::Webhook(event));
                }
            }
        }
    }
    bodies
}

/// How long one report may take before the fuzz calls it a hang: the stop comes after two
/// seconds, so this is that and the time to notice it.
const REPORT_BUDGET: Duration = Duration::from_secs(10);

/// Applies what was accepted and runs every report; whether any report gave a report.
fn pipeline(sources: &[Source]) -> bool {
    let model = common::model_of(accepted(sources));
    let settings = ReportSettings::default();
    let params = ReportParams::at(now());
    let mut any = false;
    for name in REPORTS {
        let started = Instant::now();
        let stop = move || started.elapsed() > Duration::from_secs(2);
        let limits = Limits {
            now: now(),
            should_stop: &stop,
        };
        let result = run_in_turns(name, &|f| f(&model), &settings, &params, limits);
        assert!(
            started.elapsed() < REPORT_BUDGET,
            "{name} took {:?}",
            started.elapsed()
        );
        if let Ok(report) = result {
            serde_json::to_string(&report).expect("a report serializes");
            any = true;
        }
    }
    any
}

#[test]
fn accepted_inputs_through_every_report() {
    let cases = (fuzz_support::cases() / 10).max(20);
    let inputs = prop::collection::vec(source(), 1..8);
    fuzz_support::fuzz_cases("accepted inputs through every report", cases, inputs, |s| {
        pipeline(&s)
    });
}

#[test]
fn the_sample_goes_through_every_report() {
    let sources = [
        Source::Csv(CsvKind::Accounts, Input(ACCOUNTS.into())),
        Source::Csv(CsvKind::Subscriptions, Input(SUBSCRIPTIONS.into())),
        Source::Csv(CsvKind::Deals, Input(DEALS.into())),
        Source::Csv(CsvKind::Spend, Input(SPEND.into())),
        Source::Csv(CsvKind::Touchpoints, Input(TOUCHPOINTS.into())),
        Source::Stripe(Input(STRIPE_EVENTS[0].into())),
    ];
    let mut sources = sources.to_vec();
    sources.extend(
        event_lines()
            .iter()
            .map(|line| Source::Ndjson(Input(line.as_bytes().to_vec()))),
    );
    assert_eq!(
        accepted(&sources).len(),
        accepted(&sources[..5]).len() + 1 + event_lines().len(),
        "every sample input is accepted"
    );
    no_panic("the sample", b"", |_| assert!(pipeline(&sources)));
}
