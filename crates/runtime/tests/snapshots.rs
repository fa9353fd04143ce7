//! Snapshot + tail equals full replay, through the runtime: a workspace saved as a snapshot
//! after any prefix of its log, started again from that snapshot with the rest of the log
//! appended, holds the model a full replay builds and answers every report the same.

use proptest::prelude::*;
use serde_json::json;
use tenure_config::Config;
use tenure_core::{
    AccountId, Currency, Entry, EntryBody, Money, Source, SubscriptionRow, Timestamp, WorkspaceId,
};
use tenure_runtime::{snapshots, Live, SnapshotFiles};
use tenure_store::{SqliteStore, Store};

const DAY: i64 = 86_400_000;
const START: i64 = 1_735_689_600_000;
const URLS: &[&str] = &[
    "https://www.acme.io/?utm_source=google&utm_medium=cpc",
    "https://www.acme.io/pricing",
    "https://www.acme.io/?utm_source=newsletter&utm_medium=email",
];
const EVENTS: &[&str] = &[
    "Report Created",
    "Logged In",
    "Ticket Created",
    "NPS Submitted",
];

fn message(value: serde_json::Value) -> EntryBody {
    EntryBody::Segment(
        tenure_ingest::segment::parse_message(
            value.to_string().as_bytes(),
            Timestamp::parse("2026-01-01").unwrap(),
            &Default::default(),
        )
        .unwrap(),
    )
}

/// Subscriptions, page views, sign-ups, group calls and product and success events of a few
/// people and accounts.
fn body() -> impl Strategy<Value = EntryBody> {
    let at = |day: i64, minute: i64| Timestamp::from_millis(START + day * DAY + minute * 60_000);
    prop_oneof![
        (0..3u8, 0..300i64, 0..60i64).prop_map(|(a, day, tens)| {
            EntryBody::Subscription(SubscriptionRow {
                account_id: AccountId::parse(&format!("acct-{a}")).unwrap(),
                effective_at: Timestamp::from_millis(START + day * DAY),
                mrr: Money::new(tens * 1_000, Currency::USD),
                plan: Some(format!("plan-{}", tens % 2)),
                seats: None,
            })
        }),
        (0..4u8, 0..300i64, 0..600i64, 0..URLS.len()).prop_map(move |(p, day, minute, url)| {
            message(json!({"type": "page", "anonymousId": format!("anon-{p}"),
                "timestamp": at(day, minute).to_string(), "context": {"page": {"url": URLS[url]}}}))
        }),
        (0..4u8, 0..300i64).prop_map(move |(p, day)| {
            message(json!({"type": "identify", "anonymousId": format!("anon-{p}"),
                "userId": format!("u{p}"), "timestamp": at(day, 0).to_string()}))
        }),
        (0..4u8, 0..3u8).prop_map(|(p, a)| {
            message(json!({"type": "group", "userId": format!("u{p}"), "groupId": format!("acct-{a}")}))
        }),
        (0..4u8, 0..3u8, 0..EVENTS.len(), 0..300i64, 0..11u8).prop_map(
            move |(p, a, e, day, score)| {
                message(json!({"type": "track", "userId": format!("u{p}"), "event": EVENTS[e],
                    "timestamp": at(day, 30).to_string(), "context": {"groupId": format!("acct-{a}")},
                    "properties": {"score": score, "ticket_id": format!("t{a}")}}))
            }
        ),
    ]
}

fn log() -> impl Strategy<Value = (Vec<Entry>, usize)> {
    proptest::collection::vec(body(), 2..60).prop_flat_map(|bodies| {
        let entries: Vec<Entry> = bodies
            .into_iter()
            .map(|body| Entry {
                workspace: WorkspaceId::default_workspace(),
                source: Source::Import,
                received_at: Timestamp::from_millis(0),
                body,
            })
            .collect();
        let n = entries.len();
        (Just(entries), 1..n)
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn a_snapshot_and_the_tail_give_the_full_replay((entries, cut) in log()) {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open_dir(dir.path()).unwrap();
        let config = Config::default();
        let ws = WorkspaceId::default_workspace();
        let files = SnapshotFiles::in_data_dir(dir.path());

        store.append(entries[..cut].to_vec()).unwrap();
        let head = Live::rebuild(&store, config.engine(), |_| {}).unwrap();
        prop_assert!(snapshots::save(&head, &files, &ws, 1).unwrap().is_some());
        let tail = store.append(entries[cut..].to_vec()).unwrap().stored.len() as u64;

        let (restored, rebuilt) = Live::rebuild_from(&store, config.engine(), &files, |_| {}).unwrap();
        prop_assert!(rebuilt.from_snapshot.contains_key(&ws));
        prop_assert_eq!(rebuilt.replayed[&ws], tail);
        let full = Live::rebuild(&store, config.engine(), |_| {}).unwrap();
        prop_assert_eq!(restored.read(&ws, |m| m.snapshot()), full.read(&ws, |m| m.snapshot()));

        let settings = config.report_settings();
        let params = tenure_reports::ReportParams::at(Timestamp::from_millis(START + 320 * DAY));
        for name in ["mrr", "retention", "cohorts", "accounts", "attribution", "touchpoints", "funnel", "adoption", "signals"] {
            let a = restored.read(&ws, |m| tenure_reports::run(name, m, &settings, &params)).unwrap();
            let b = full.read(&ws, |m| tenure_reports::run(name, m, &settings, &params)).unwrap();
            prop_assert_eq!(serde_json::to_value(&a).unwrap(), serde_json::to_value(&b).unwrap(), "{}", name);
        }
    }
}

/// A reader of part of the model decodes only that part when the log holds nothing after the
/// snapshot, and the whole snapshot when there is a tail to apply to it.
#[test]
fn a_partial_reader_decodes_part_only_with_nothing_after_the_snapshot() {
    use tenure_engine::snapshot::Reads;
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open_dir(dir.path()).unwrap();
    let config = Config::default();
    let ws = WorkspaceId::default_workspace();
    let files = SnapshotFiles::in_data_dir(dir.path());
    let entry = |body| Entry {
        workspace: ws.clone(),
        source: Source::Import,
        received_at: Timestamp::from_millis(0),
        body,
    };
    let page = |anon: &str| {
        entry(message(json!({"type": "page", "anonymousId": anon,
            "timestamp": Timestamp::from_millis(START).to_string(),
            "context": {"page": {"url": URLS[0]}}})))
    };
    let subscription = entry(EntryBody::Subscription(SubscriptionRow {
        account_id: AccountId::parse("acct-0").unwrap(),
        effective_at: Timestamp::from_millis(START),
        mrr: Money::new(5_000, Currency::USD),
        plan: None,
        seats: None,
    }));
    store.append(vec![subscription, page("anon-0")]).unwrap();
    let head = Live::rebuild(&store, config.engine(), |_| {}).unwrap();
    assert!(snapshots::save(&head, &files, &ws, 1).unwrap().is_some());
    let counts = |live: &Live| {
        live.read(&ws, |m| {
            (m.ledger().accounts().count(), m.summary().touchpoints)
        })
    };

    let (ledger, rebuilt) =
        Live::rebuild_from_reading(&store, config.engine(), &files, Reads::LEDGER, |_| {}).unwrap();
    assert!(rebuilt.partial.contains(&ws));
    assert_eq!(counts(&ledger), (1, 0));

    store.append(vec![page("anon-1")]).unwrap();
    let (whole, rebuilt) =
        Live::rebuild_from_reading(&store, config.engine(), &files, Reads::LEDGER, |_| {}).unwrap();
    assert!(rebuilt.partial.is_empty());
    assert_eq!(rebuilt.replayed[&ws], 1);
    assert_eq!(counts(&whole), (1, 2));
}
