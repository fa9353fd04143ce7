//! Replay equals live for the runtime: entries applied as they are stored, in any batches,
//! give the same model, ledger, health and statuses as replaying the stored log; a catch-up
//! applies what another process appended exactly once; the daily history catches up.

use std::sync::Arc;

use proptest::prelude::*;
use serde_json::json;
use tenure_config::Config;
use tenure_core::WorkspaceId;
use tenure_runtime::{Live, ManualClock};
use tenure_store::{SqliteStore, Store};

#[test]
fn catch_up_applies_what_another_process_appended_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open_dir(dir.path()).unwrap());
    let ws = WorkspaceId::default_workspace();
    let live = Live::empty(Config::default().engine());
    let identify = |id: &str, user: &str| {
        let line = json!({"type": "identify", "messageId": id, "userId": user}).to_string();
        let message = tenure_ingest::segment::parse_message(
            line.as_bytes(),
            tenure_core::Timestamp::from_millis(0),
            &Default::default(),
        )
        .unwrap();
        tenure_core::Entry {
            workspace: ws.clone(),
            source: tenure_core::Source::Import,
            received_at: tenure_core::Timestamp::from_millis(0),
            body: tenure_core::EntryBody::Segment(message),
        }
    };
    // This process stores and applies one entry; "another process" appends two more.
    let ours = store.append(vec![identify("m1", "u1")]).unwrap();
    live.apply(&ours.stored);
    store
        .append(vec![identify("m2", "u2"), identify("m3", "u3")])
        .unwrap();
    assert_eq!(live.read(&ws, |m| m.summary().persons), 1);
    assert_eq!(live.catch_up(store.as_ref()).unwrap(), 2);
    assert_eq!(live.read(&ws, |m| m.summary().persons), 3);
    assert_eq!(
        live.catch_up(store.as_ref()).unwrap(),
        0,
        "nothing is applied twice"
    );
}

/// A catch-up over several pages (10,000 entries each, the next read while one is applied)
/// applies every entry once, including one this process applied itself in the middle of them,
/// and sees nothing more on the next call.
#[test]
fn a_catch_up_over_several_pages_applies_every_entry_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open_dir(dir.path()).unwrap());
    let ws = WorkspaceId::default_workspace();
    let live = Live::empty(Config::default().engine());
    let identify = |i: usize| {
        let line =
            json!({"type": "identify", "messageId": format!("m{i}"), "userId": format!("u{i}")})
                .to_string();
        let message = tenure_ingest::segment::parse_message(
            line.as_bytes(),
            tenure_core::Timestamp::from_millis(0),
            &Default::default(),
        )
        .unwrap();
        tenure_core::Entry {
            workspace: ws.clone(),
            source: tenure_core::Source::Import,
            received_at: tenure_core::Timestamp::from_millis(0),
            body: tenure_core::EntryBody::Segment(message),
        }
    };
    store.append((0..12_000).map(identify).collect()).unwrap();
    let ours = store.append(vec![identify(12_000)]).unwrap();
    live.apply(&ours.stored);
    store
        .append((12_001..25_000).map(identify).collect())
        .unwrap();
    assert_eq!(live.catch_up(store.as_ref()).unwrap(), 24_999);
    assert_eq!(live.read(&ws, |m| m.summary().persons), 25_000);
    assert_eq!(live.catch_up(store.as_ref()).unwrap(), 0);
}

fn subscription_rows() -> impl Strategy<Value = Vec<tenure_core::Entry>> {
    let row = (0..6u8, 0..500i64, prop_oneof![Just(0i64), 1..80i64]).prop_map(|(a, day, tens)| {
        tenure_core::Entry {
            workspace: WorkspaceId::default_workspace(),
            source: tenure_core::Source::Import,
            received_at: tenure_core::Timestamp::from_millis(0),
            body: tenure_core::EntryBody::Subscription(tenure_core::SubscriptionRow {
                account_id: tenure_core::AccountId::parse(&format!("acct-{a}")).unwrap(),
                effective_at: tenure_core::Timestamp::from_millis(
                    1_735_689_600_000 + day * 86_400_000 + i64::from(a) * 1_000,
                ),
                mrr: tenure_core::Money::new(tens * 1_000, tenure_core::Currency::USD),
                plan: Some(format!("plan-{}", tens % 3)),
                seats: None,
            }),
        }
    });
    proptest::collection::vec(row, 1..50)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    /// The ledger behind the revenue reports is rebuilt exactly by replay too.
    #[test]
    fn replaying_the_log_rebuilds_the_ledger_live_ingestion_built(rows in subscription_rows(), batch in 1..10usize) {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open_dir(dir.path()).unwrap();
        let config = Config::default();
        let live = Live::empty(config.engine());
        for chunk in rows.chunks(batch) {
            let appended = store.append(chunk.to_vec()).unwrap();
            live.apply(&appended.stored);
        }
        let replayed = Live::rebuild(&store, config.engine(), |_| {}).unwrap();
        let ws = WorkspaceId::default_workspace();
        let settings = config.report_settings();
        let params = tenure_reports::ReportParams {
            by: Some("plan".into()),
            ..tenure_reports::ReportParams::at(tenure_core::Timestamp::parse("2026-06-30T00:00:00Z").unwrap())
        };
        for name in ["mrr", "retention", "cohorts", "survival", "ltv"] {
            let a = live.read(&ws, |m| tenure_reports::run(name, m, &settings, &params)).unwrap();
            let b = replayed.read(&ws, |m| tenure_reports::run(name, m, &settings, &params)).unwrap();
            prop_assert_eq!(serde_json::to_value(&a).unwrap(), serde_json::to_value(&b).unwrap(), "{}", name);
        }
    }
}

/// Product usage, tickets, surveys and touches of a few paying accounts, in any order.
fn success_entries() -> impl Strategy<Value = Vec<tenure_core::Entry>> {
    let events = [
        "Report Created",
        "Dashboard Shared",
        "Logged In",
        "Ticket Created",
        "Ticket Solved",
        "NPS Submitted",
        "CSM Touch",
        "Usage Limit Approached",
    ];
    let track = (0..3u8, 0..4u8, 0..events.len(), 0..200i64, 0..11u8, 0..4u8).prop_map(
        move |(a, u, e, day, score, ticket)| {
            let at = tenure_core::Timestamp::from_millis(
                1_735_689_600_000 + day * 86_400_000 + i64::from(u) * 60_000,
            );
            let line = json!({"type": "track", "userId": format!("u{a}{u}"), "event": events[e],
                "timestamp": at.to_string(), "context": {"groupId": format!("acct-{a}")},
                "properties": {"score": score, "ticket_id": format!("t{a}{ticket}"), "kind": "qbr"}});
            tenure_core::EntryBody::Segment(
                tenure_ingest::segment::parse_message(
                    line.to_string().as_bytes(),
                    // Imported after the events: a line dated after its import is refused.
                    tenure_core::Timestamp::parse("2026-01-01").unwrap(),
                    &Default::default(),
                )
                .unwrap(),
            )
        },
    );
    proptest::collection::vec(track, 1..80).prop_map(|bodies| {
        let subscriptions = (0..3u8).map(|a| {
            tenure_core::EntryBody::Subscription(tenure_core::SubscriptionRow {
                account_id: tenure_core::AccountId::parse(&format!("acct-{a}")).unwrap(),
                effective_at: tenure_core::Timestamp::from_millis(1_735_689_600_000),
                mrr: tenure_core::Money::new(10_000, tenure_core::Currency::USD),
                plan: Some("pro".into()),
                seats: Some(3),
            })
        });
        subscriptions
            .chain(bodies)
            .map(|body| tenure_core::Entry {
                workspace: WorkspaceId::default_workspace(),
                source: tenure_core::Source::Import,
                received_at: tenure_core::Timestamp::from_millis(0),
                body,
            })
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    /// Health, signals, stages, milestones and every account's view (its health and stage
    /// history included) are rebuilt exactly by replaying the log.
    #[test]
    fn replaying_the_log_rebuilds_health_and_signals(entries in success_entries(), batch in 1..10usize) {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open_dir(dir.path()).unwrap();
        let config = Config::default();
        let live = Live::empty(config.engine());
        let keeping = || tenure_runtime::StatusKeeping {
            settings: config.report_settings(),
            clock: Arc::new(ManualClock::new(tenure_core::Timestamp::parse("2025-06-30T00:00:00Z").unwrap())),
            observer: None,
            entries: None,
        };
        live.keep_statuses(keeping()).unwrap();
        for chunk in entries.chunks(batch) {
            let appended = store.append(chunk.to_vec()).unwrap();
            live.apply(&appended.stored);
        }
        let replayed = Live::rebuild(&store, config.engine(), |_| {}).unwrap();
        replayed.keep_statuses(keeping()).unwrap();
        let ws = WorkspaceId::default_workspace();
        let settings = config.report_settings();
        // Statuses kept event by event equal those computed once over the replayed log.
        for a in 0..3 {
            let id = tenure_core::AccountId::parse(&format!("acct-{a}")).unwrap();
            let kept = live.status(&ws, &id);
            prop_assert!(kept.is_some());
            prop_assert_eq!(kept, replayed.status(&ws, &id));
        }
        let at = tenure_reports::ReportParams::at(tenure_core::Timestamp::parse("2025-06-30T00:00:00Z").unwrap());
        let mut cases = vec![("accounts", at.clone()), ("signals", at.clone()), ("renewals", at.clone()), ("funnel", at.clone()), ("adoption", at.clone())];
        for a in 0..3 {
            cases.push(("account", tenure_reports::ReportParams { account: Some(format!("acct-{a}")), ..at.clone() }));
        }
        for (name, params) in cases {
            let a = live.read(&ws, |m| tenure_reports::run(name, m, &settings, &params)).unwrap();
            let b = replayed.read(&ws, |m| tenure_reports::run(name, m, &settings, &params)).unwrap();
            prop_assert_eq!(serde_json::to_value(&a).unwrap(), serde_json::to_value(&b).unwrap(), "{}", name);
        }
    }

    /// The funnel a workspace answers with the lifecycles it keeps between reports
    /// (`Live::report`) is the funnel from nothing, asked after every batch of entries at
    /// instants going forwards and back; and the answers `Live::report` keeps between two
    /// changes of the model (any report's, and pages cut from a kept list) are never given
    /// once the model has changed.
    #[test]
    fn the_funnel_with_kept_lifecycles_is_the_funnel_from_nothing(
        entries in success_entries(),
        batch in 1..20usize,
        days in proptest::collection::vec(0..240i64, 1..4),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open_dir(dir.path()).unwrap();
        let config = Config::default();
        let live = Live::empty(config.engine());
        let ws = WorkspaceId::default_workspace();
        let settings = config.report_settings();
        for chunk in entries.chunks(batch) {
            let appended = store.append(chunk.to_vec()).unwrap();
            live.apply(&appended.stored);
            for day in &days {
                // The end of a day after 2025-01-01.
                let at = tenure_core::Timestamp::from_millis(1_735_689_600_000 + (day + 1) * 86_400_000 - 1);
                let params = tenure_reports::ReportParams::at(at);
                let limits = tenure_reports::Limits { now: at, should_stop: &|| false };
                // A page of a list is cut from the whole list `Live::report` keeps.
                let first_two = tenure_reports::ReportParams { limit: Some(2), ..params.clone() };
                for (name, params) in [
                    ("funnel", &params),
                    ("mrr", &params),
                    ("accounts", &params),
                    ("accounts", &first_two),
                    ("signals", &first_two),
                ] {
                    let kept = live.report(&ws, name, &settings, params, limits).unwrap();
                    let fresh = live.read(&ws, |m| tenure_reports::run(name, m, &settings, params)).unwrap();
                    prop_assert_eq!(serde_json::to_value(&kept).unwrap(), serde_json::to_value(&fresh).unwrap(), "{}", name);
                }
            }
        }
    }
}

/// The stored daily history: what `record_history` writes equals the days computed from the
/// model, each tagged with the configuration version; a second pass writes nothing new, and a
/// day later only that day is added.
#[test]
fn the_daily_health_history_is_stored_and_catches_up() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open_dir(dir.path()).unwrap();
    let config = Config::default();
    let settings = config.report_settings();
    let live = Live::empty(config.engine());
    let clock = Arc::new(ManualClock::new(
        tenure_core::Timestamp::parse("2025-03-10T15:00:00Z").unwrap(),
    ));
    live.keep_statuses(tenure_runtime::StatusKeeping {
        settings: settings.clone(),
        clock: clock.clone(),
        observer: None,
        entries: None,
    })
    .unwrap();
    let entry = |body| tenure_core::Entry {
        workspace: WorkspaceId::default_workspace(),
        source: tenure_core::Source::Import,
        received_at: tenure_core::Timestamp::from_millis(0),
        body,
    };
    let paying = |account: &str, at: &str, mrr: i64| {
        entry(tenure_core::EntryBody::Subscription(
            tenure_core::SubscriptionRow {
                account_id: tenure_core::AccountId::parse(account).unwrap(),
                effective_at: tenure_core::Timestamp::parse(at).unwrap(),
                mrr: tenure_core::Money::new(mrr, tenure_core::Currency::USD),
                plan: None,
                seats: Some(3),
            },
        ))
    };
    // a pays from March 1st; b from March 5th to 8th.
    let appended = store
        .append(vec![
            paying("a", "2025-03-01T09:00:00Z", 10_000),
            paying("b", "2025-03-05T00:00:00Z", 10_000),
            paying("b", "2025-03-08T12:00:00Z", 0),
        ])
        .unwrap();
    live.apply(&appended.stored);

    // Through the end of March 9th: a 9 days (1st–9th), b 3 (5th–7th; not paying at the 8th's end).
    assert_eq!(live.record_history(&store).unwrap(), 12);
    let ws = WorkspaceId::default_workspace();
    let version = settings.history_version();
    let stages = tenure_reports::stage_rules(&settings).unwrap();
    let until = tenure_core::Timestamp::parse_end_of("2025-03-09").unwrap();
    let a = tenure_core::AccountId::parse("a").unwrap();
    let expected = live.read(&ws, |m| {
        tenure_reports::daily_health(
            m,
            &settings,
            &stages,
            &a,
            tenure_core::Timestamp::from_millis(0),
            until,
        )
        .unwrap()
    });
    let stored = store.health_days(&ws, "a").unwrap();
    assert_eq!((stored.len(), expected.len()), (9, 9));
    for (s, e) in stored.iter().zip(&expected) {
        assert_eq!(s.day, e.at);
        assert_eq!(s.score, e.score);
        assert_eq!(s.band.as_deref(), e.band.map(|b| b.name()));
        assert_eq!(s.stage, e.stage);
        assert_eq!(s.version, version);
    }
    assert_eq!(stored[0].day.to_string(), "2025-03-01T23:59:59.999Z");
    assert_eq!(store.health_days(&ws, "b").unwrap().len(), 3);

    // Nothing new the same day; the next day adds a's 10th only.
    assert_eq!(live.record_history(&store).unwrap(), 0);
    clock.advance(std::time::Duration::from_secs(86_400));
    assert_eq!(live.record_history(&store).unwrap(), 1);
    assert_eq!(
        store
            .health_days(&ws, "a")
            .unwrap()
            .last()
            .unwrap()
            .day
            .to_string(),
        "2025-03-10T23:59:59.999Z"
    );
}

/// After a replay, keeping statuses scores every account once; the next entry rescores only
/// the account it names, not everything the replay touched.
#[test]
fn after_a_replay_an_entry_rescores_only_its_account() {
    let config = Config::default();
    let live = Live::empty(config.engine());
    let subscription = |seq: i64, account: &str| tenure_core::StoredEntry {
        seq,
        entry: tenure_core::Entry {
            workspace: WorkspaceId::default_workspace(),
            source: tenure_core::Source::Import,
            received_at: tenure_core::Timestamp::from_millis(0),
            body: tenure_core::EntryBody::Subscription(tenure_core::SubscriptionRow {
                account_id: tenure_core::AccountId::parse(account).unwrap(),
                effective_at: tenure_core::Timestamp::parse("2025-01-01T00:00:00Z").unwrap(),
                mrr: tenure_core::Money::new(10_000 + seq, tenure_core::Currency::USD),
                plan: None,
                seats: None,
            }),
        },
    };
    live.apply(&[
        subscription(1, "a"),
        subscription(2, "b"),
        subscription(3, "c"),
    ]);
    let heard = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = std::sync::Arc::clone(&heard);
    live.keep_statuses(tenure_runtime::StatusKeeping {
        settings: config.report_settings(),
        clock: Arc::new(ManualClock::new(
            tenure_core::Timestamp::parse("2025-02-01T00:00:00Z").unwrap(),
        )),
        observer: Some(Box::new(move |_, s| {
            log.lock().unwrap().push(s.account.as_str().to_owned())
        })),
        entries: None,
    })
    .unwrap();
    assert_eq!(*heard.lock().unwrap(), ["a", "b", "c"]);
    live.apply(&[subscription(4, "b")]);
    assert_eq!(*heard.lock().unwrap(), ["a", "b", "c", "b"]);
}
