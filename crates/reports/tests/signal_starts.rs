//! A signal's start is the first day it held, continuously up to the report instant (SPEC §4):
//! the same account reported at several instants while a signal holds shows one start.

mod common;

use serde_json::{json, Value};
use tenure_core::{AccountId, Currency, EntryBody, Money, SubscriptionRow, Timestamp};
use tenure_engine::Model;
use tenure_reports::{run, ReportParams, ReportSettings};

fn track(n: usize, event: &str, at: &str) -> EntryBody {
    let line = json!({"type": "track", "messageId": format!("m{n}"), "userId": "u1",
        "event": event, "timestamp": at, "context": {"groupId": "a"}});
    EntryBody::Segment(
        tenure_ingest::segment::parse_message(
            line.to_string().as_bytes(),
            Timestamp::parse("2030-01-01T00:00:00Z").unwrap(),
            &Default::default(),
        )
        .unwrap(),
    )
}

/// Account `a`: paying from 2025-01-01 on one seat, its one user active every day at noon from
/// 1 January to 28 February 2025, then never again.
fn company() -> Model {
    let mut bodies = vec![EntryBody::Subscription(SubscriptionRow {
        account_id: AccountId::parse("a").unwrap(),
        effective_at: Timestamp::parse("2025-01-01T00:00:00Z").unwrap(),
        mrr: Money::new(10_000, Currency::USD),
        plan: Some("pro".into()),
        seats: Some(1),
    })];
    let mut day = chrono::NaiveDate::from_ymd_opt(2025, 1, 1).unwrap();
    let last = chrono::NaiveDate::from_ymd_opt(2025, 2, 28).unwrap();
    let mut n = 0;
    while day <= last {
        n += 1;
        bodies.push(track(n, "Report Created", &format!("{day}T12:00:00Z")));
        day = day.succ_opt().unwrap();
    }
    common::model_of(bodies)
}

/// `signal → started_at` of account `a` in the `signals` report at the end of `as_of`.
fn starts(model: &Model, as_of: &str) -> Vec<(String, String)> {
    let params = ReportParams::at(Timestamp::parse_end_of(as_of).unwrap());
    let report = run("signals", model, &ReportSettings::default(), &params).unwrap();
    report
        .rows
        .iter()
        .filter(|r| r["account"] == "a")
        .map(|r| {
            let name = r["signal"].as_str().unwrap().to_owned();
            let start = match &r["started_at"] {
                Value::String(s) => s.clone(),
                other => panic!("{name}: started_at {other}"),
            };
            (name, start)
        })
        .collect()
}

fn start_of(starts: &[(String, String)], signal: &str) -> Option<String> {
    starts
        .iter()
        .find(|(n, _)| n == signal)
        .map(|(_, s)| s.clone())
}

#[test]
fn a_signal_keeps_its_start_as_the_report_instant_moves() {
    let model = company();
    // usage_drop: events in the last 7 days at most 60% of the weekly mean of the 4 weeks
    // before. At the end of 2 March the last 7 days hold 24–28 February (5 events) against
    // 28 in 26 January – 23 February (7 a week: 5 > 4.2); at the end of 3 March, 25–28
    // February (4 ≤ 4.2) against 28. From then on the 7 days hold fewer and the 4 weeks keep an
    // event until 4 April at noon. So it starts at the end of 3 March.
    //
    // seat_utilization: 1 active user in 30 days on 1 seat (100% ≥ 90%) from the first day,
    // 1 January, until 30 March at noon (30 days after the last event).
    for as_of in ["2025-03-15", "2025-03-20", "2025-03-28"] {
        let s = starts(&model, as_of);
        assert_eq!(
            start_of(&s, "usage_drop").as_deref(),
            Some("2025-03-03T23:59:59.999Z"),
            "usage_drop at {as_of}: {s:?}"
        );
        assert_eq!(
            start_of(&s, "seat_utilization").as_deref(),
            Some("2025-01-01T23:59:59.999Z"),
            "seat_utilization at {as_of}: {s:?}"
        );
        // no_activity: 14 days after the last event, whatever the instant.
        assert_eq!(
            start_of(&s, "no_activity").as_deref(),
            Some("2025-03-14T12:00:00.000Z"),
            "no_activity at {as_of}: {s:?}"
        );
    }
    // After 4 April at noon the 4 weeks before the last 7 days hold no event: no drop to speak of.
    assert_eq!(start_of(&starts(&model, "2025-04-05"), "usage_drop"), None);
}
