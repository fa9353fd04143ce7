//! Replay equals live: the firings a replay of the log computes are the firings the live path
//! makes over the same log, fed one instant at a time with a clock that follows the entries'
//! receipt times. The log is made so that every deciding step matters: the per-account daily
//! cap holds back one playbook of two firing on the same change and delays state triggers by
//! days, a `once_per` window chains firings by their instants, an event trigger fires per
//! event, a calendar trigger fires at the first tick after its date, and `on_enable = "none"`
//! records an account already matching at the start as seen.

use std::sync::{Arc, Mutex};

use tenure_config::Config;
use tenure_core::{
    AccountId, Currency, Entry, EntryBody, Money, Source, StoredEntry, SubscriptionRow, Timestamp,
    WorkspaceId,
};
use tenure_playbooks::Change;
use tenure_reports::AccountStatus;
use tenure_runtime::actions::{awaited_events, event_changes};
use tenure_runtime::replay::{replay, Replayed, Window};
use tenure_runtime::{Actions, Clock, Live, ManualClock, StatusKeeping};
use tenure_store::{FiringFilter, SqliteStore, Store};

const DAY_MS: i64 = 86_400_000;

const CONFIG: &str = r#"
[playbook_settings]
max_firings_per_account_per_day = 1

[[playbooks]]
name = "churn_task"
trigger = { stage_entered = "churned" }
for_whom = { include_churned = true }
actions = [{ task = { title = "Churned: {{ account.id }}" } }]

[[playbooks]]
name = "churn_call"
trigger = { stage_entered = "churned" }
for_whom = { include_churned = true }
actions = [{ task = { title = "Call {{ account.id }}", due_in = "1d" } }]

[[playbooks]]
name = "still_churned"
trigger = { state = { stage = "churned" }, for_days = 1 }
for_whom = { include_churned = true }
limit = { once_per = "7d" }
on_enable = "none"
actions = [{ task = { title = "Win back {{ account.id }}" } }]

[[playbooks]]
name = "export_failed"
trigger = { event = "Export Failed" }
for_whom = { include_churned = true }
limit = { every_match = true }
actions = [{ task = { title = "Export failed for {{ account.id }}" } }]

[[playbooks]]
name = "two_weeks_in"
trigger = { calendar = "conversion + 14d" }
on_enable = "matching_now"
actions = [{ task = { title = "Two weeks with {{ account.id }}" } }]

[[playbooks]]
name = "churned_quietly"
trigger = { state = { stage = "churned" } }
for_whom = { include_churned = true }
on_enable = "none"
actions = [{ task = { title = "Churned: {{ account.id }}" } }]
"#;

fn at(text: &str) -> Timestamp {
    Timestamp::parse(text).unwrap()
}

fn mrr(account: &str, effective: &str, received: &str, cents: i64) -> Entry {
    Entry {
        workspace: WorkspaceId::default_workspace(),
        source: Source::Import,
        received_at: at(received),
        body: EntryBody::Subscription(SubscriptionRow {
            account_id: AccountId::parse(account).unwrap(),
            effective_at: at(effective),
            mrr: Money::new(cents, Currency::USD),
            plan: None,
            seats: None,
        }),
    }
}

fn track(account: &str, message_id: &str, sent: &str) -> Entry {
    let line = serde_json::json!({
        "type": "track", "event": "Export Failed", "userId": "user_1",
        "messageId": message_id, "timestamp": sent,
        "context": { "groupId": account },
    })
    .to_string();
    let received = at(sent).plus_millis(1_000);
    Entry {
        workspace: WorkspaceId::default_workspace(),
        source: Source::Http,
        received_at: received,
        body: EntryBody::Segment(
            tenure_ingest::segment::parse_message(line.as_bytes(), received, &Default::default())
                .unwrap(),
        ),
    }
}

/// The log, in the order it was received.
fn log() -> Vec<Entry> {
    vec![
        // b: churned before the window (seen at its start by `still_churned`).
        mrr(
            "acct_b",
            "2025-01-01T00:00:00Z",
            "2025-01-01T08:00:00Z",
            10_000,
        ),
        mrr(
            "acct_a",
            "2025-02-01T00:00:00Z",
            "2025-02-01T08:00:00Z",
            10_000,
        ),
        mrr("acct_b", "2025-02-15T00:00:00Z", "2025-02-15T08:00:00Z", 0),
        // The window starts on 5 March. c converts: two weeks later is 17 March, 10:00.
        mrr(
            "acct_c",
            "2025-03-03T10:00:00Z",
            "2025-03-06T10:00:00Z",
            20_000,
        ),
        // a churns: churn_task fires, churn_call is held back by the cap, and the cap holds
        // `still_churned` back until a day after.
        mrr("acct_a", "2025-03-10T00:00:00Z", "2025-03-10T09:00:00Z", 0),
        track("acct_c", "m-1", "2025-03-12T10:00:00Z"),
        // Within a day of c's first export failure: capped.
        track("acct_c", "m-2", "2025-03-12T15:00:00Z"),
        // Two days later: fires.
        track("acct_c", "m-3", "2025-03-14T15:00:00Z"),
        // d comes and goes within the window: no baseline before, so its churn is seen by
        // the state trigger only.
        mrr(
            "acct_d",
            "2025-03-15T00:00:00Z",
            "2025-03-15T12:00:00Z",
            5_000,
        ),
        mrr("acct_d", "2025-03-20T00:00:00Z", "2025-03-20T12:00:00Z", 0),
    ]
}

fn window() -> Window {
    Window {
        from: at("2025-03-05T00:00:00Z"),
        until: at("2025-03-31T00:00:00Z"),
        tick_ms: DAY_MS,
    }
}

/// The live path over the log: a server running through the window, with the live models'
/// statuses and events handed to `Actions::on_status` / `on_event` at once and the tick run
/// at each boundary, the clock following the entries' receipt times. Returns the firings the
/// store recorded (markers of a playbook switched on and accounts recorded as seen left out).
fn live_firings(
    config: &Config,
    store: &Arc<dyn Store>,
    log: &[StoredEntry],
    w: Window,
) -> Vec<(String, Timestamp)> {
    let ws = WorkspaceId::default_workspace();
    let clock = Arc::new(ManualClock::new(w.from));
    let live = Arc::new(Live::empty(config.engine()));
    let (before, within): (Vec<StoredEntry>, Vec<StoredEntry>) = log
        .iter()
        .cloned()
        .partition(|s| s.entry.received_at < w.from);
    live.apply(&before);
    let playbooks = config.playbooks().unwrap();
    let events = awaited_events(&playbooks);
    let actions = Actions::new(
        playbooks,
        config.report_settings(),
        Arc::clone(store),
        clock.clone() as Arc<dyn Clock>,
        &|_| None,
    )
    .unwrap();
    enum Noticed {
        Status(AccountStatus),
        Event(AccountId, Change),
    }
    let noticed: Arc<Mutex<Vec<Noticed>>> = Arc::default();
    let mut keeping = StatusKeeping::new(config.report_settings(), clock.clone());
    let to = Arc::clone(&noticed);
    keeping.observer = Some(Box::new(move |_, s| {
        to.lock().unwrap().push(Noticed::Status(s.clone()));
    }));
    let to = Arc::clone(&noticed);
    keeping.entries = Some(Box::new(move |_, model, stored| {
        for (account, change) in event_changes(&events, model, stored) {
            to.lock().unwrap().push(Noticed::Event(account, change));
        }
    }));
    let drain = || {
        let taken = std::mem::take(&mut *noticed.lock().unwrap());
        for n in taken {
            match n {
                Noticed::Status(s) => actions.on_status(&live, &ws, &s).unwrap(),
                Noticed::Event(a, c) => actions.on_event(&ws, &a, &c).unwrap(),
            };
        }
    };
    live.keep_statuses(keeping).unwrap();
    drain();
    actions.tick(&live).unwrap();
    let mut next_tick = Timestamp::from_millis((w.from.millis() / w.tick_ms + 1) * w.tick_ms);
    let ticks_through = |next_tick: &mut Timestamp, t: Timestamp| {
        while *next_tick <= t {
            clock.set(*next_tick);
            live.refresh_statuses();
            drain();
            actions.tick(&live).unwrap();
            *next_tick = next_tick.plus_millis(w.tick_ms);
        }
    };
    let mut i = 0;
    while i < within.len() {
        let t = within[i].entry.received_at;
        let n = within[i..]
            .iter()
            .take_while(|s| s.entry.received_at == t)
            .count();
        ticks_through(&mut next_tick, t);
        clock.set(t);
        live.apply(&within[i..i + n]);
        drain();
        i += n;
    }
    ticks_through(&mut next_tick, w.until);
    let mut out: Vec<(String, Timestamp)> = store
        .firings(&ws, &FiringFilter::default())
        .unwrap()
        .into_iter()
        .filter(|f| f.account != "*" && f.cause["detail"]["on_enable"] != "none")
        .map(|f| (f.key, f.fired_at))
        .collect();
    out.sort();
    out
}

fn count_of(replayed: &Replayed, playbook: &str) -> tenure_runtime::replay::ReplayCount {
    replayed
        .counts
        .iter()
        .find(|c| c.playbook == playbook)
        .unwrap()
        .clone()
}

fn replayed_firings(replayed: &Replayed) -> Vec<(String, Timestamp)> {
    let mut out: Vec<(String, Timestamp)> = replayed
        .firings
        .iter()
        .map(|f| (f.key.clone(), f.fired_at))
        .collect();
    out.sort();
    out
}

#[test]
fn a_replay_finds_the_firings_the_live_path_makes() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open_dir(dir.path()).unwrap());
    let config = Config::parse(CONFIG, "t.toml").unwrap();
    let stored = store.append(log()).unwrap().stored;
    let ws = WorkspaceId::default_workspace();

    let replayed = replay(
        store.as_ref(),
        &ws,
        config.engine(),
        &config.report_settings(),
        &config.playbooks().unwrap(),
        window(),
        &mut |_| {},
    )
    .unwrap();
    // The replay recorded nothing.
    assert!(store
        .firings(&ws, &FiringFilter::default())
        .unwrap()
        .is_empty());

    let live = live_firings(&config, &store, &stored, window());
    let replay = replayed_firings(&replayed);
    assert_eq!(replay, live, "the replay and the live path differ");

    // What was compared is what the log was made to show.
    let fired = |playbook: &str, account: &str| -> Vec<Timestamp> {
        replayed
            .firings
            .iter()
            .filter(|f| f.playbook == playbook && f.account == account)
            .map(|f| f.fired_at)
            .collect()
    };
    // a churns: of its changes (a signal cleared, its stage left, `churned` entered), the
    // first is seen by `churned_quietly`, whose state then holds: it fires, and the cap of
    // one a day holds back both playbooks of the stage entered.
    assert_eq!(
        fired("churned_quietly", "acct_a"),
        [at("2025-03-10T09:00:00Z")]
    );
    assert!(
        fired("churn_task", "acct_a").is_empty(),
        "held back by the cap"
    );
    assert!(
        fired("churn_call", "acct_a").is_empty(),
        "held back by the cap"
    );
    // The cap holds still_churned back at the tick of 11 March (a fired on 10 March at
    // 09:00); it fires on the 12th, then once per 7 days.
    assert_eq!(
        fired("still_churned", "acct_a"),
        [
            at("2025-03-12T00:00:00Z"),
            at("2025-03-19T00:00:00Z"),
            at("2025-03-26T00:00:00Z")
        ]
    );
    // b was churned at the start, but its baseline status (as a server's first after a
    // start) dates its stage from then: `for_days = 1` holds a day later.
    assert_eq!(
        fired("still_churned", "acct_b"),
        [
            at("2025-03-06T00:00:00Z"),
            at("2025-03-13T00:00:00Z"),
            at("2025-03-20T00:00:00Z"),
            at("2025-03-27T00:00:00Z")
        ]
    );
    // `churned_quietly` (on_enable = "none", once ever) records b as seen at the start and
    // never fires for it.
    assert!(fired("churned_quietly", "acct_b").is_empty());
    assert_eq!(count_of(&replayed, "churned_quietly").seen_at_start, 1);
    // d's first status (it starts paying within the window) is its baseline; its churn is a
    // change, and a day later a state.
    assert_eq!(
        fired("churned_quietly", "acct_d"),
        [at("2025-03-20T12:00:00Z")]
    );
    assert_eq!(
        fired("still_churned", "acct_d"),
        [at("2025-03-22T00:00:00Z"), at("2025-03-29T00:00:00Z")]
    );
    assert_eq!(
        fired("export_failed", "acct_c"),
        [at("2025-03-12T10:00:01Z"), at("2025-03-14T15:00:01Z")],
        "the second within a day is capped"
    );
    assert_eq!(
        fired("two_weeks_in", "acct_c"),
        [at("2025-03-18T00:00:00Z")]
    );
    assert_eq!(count_of(&replayed, "still_churned").seen_at_start, 0);
    assert_eq!(
        count_of(&replayed, "churn_task").capped,
        2,
        "a's and d's churns"
    );
    assert_eq!(
        count_of(&replayed, "churn_call").capped,
        2,
        "a's and d's churns"
    );
    assert_eq!(count_of(&replayed, "export_failed").capped, 1);
    assert_eq!(replayed.entries, 7);
    // Deliveries rendered as they would be sent.
    let a = replayed
        .firings
        .iter()
        .find(|f| f.playbook == "churned_quietly")
        .unwrap();
    assert_eq!(a.actions[0].kind, "task");
    assert_eq!(a.actions[0].payload["title"], "Churned: acct_a");
    assert_eq!(a.cause["detail"]["change"], "signal_cleared");
}

/// With an hourly tick, the state and calendar triggers fire at other instants, and still as
/// the live path ticking hourly fires them.
#[test]
fn a_replay_with_an_hourly_tick_finds_the_firings_the_live_path_makes() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open_dir(dir.path()).unwrap());
    let config = Config::parse(CONFIG, "t.toml").unwrap();
    let stored = store.append(log()).unwrap().stored;
    let ws = WorkspaceId::default_workspace();
    let hourly = Window {
        tick_ms: 3_600_000,
        ..window()
    };
    let replayed = replay(
        store.as_ref(),
        &ws,
        config.engine(),
        &config.report_settings(),
        &config.playbooks().unwrap(),
        hourly,
        &mut |_| {},
    )
    .unwrap();
    let replay = replayed_firings(&replayed);
    assert_eq!(
        replay,
        live_firings(&config, &store, &stored, hourly),
        "the replay and the live path differ"
    );
    // c's two weeks fell due on 17 March at 10:00: the hourly tick then fires it.
    let due: Vec<Timestamp> = replayed
        .firings
        .iter()
        .filter(|f| f.playbook == "two_weeks_in")
        .map(|f| f.fired_at)
        .collect();
    assert_eq!(due, [at("2025-03-17T10:00:00Z")]);
}

/// A replay supposes every playbook switched on at the window's start, with an empty
/// history: what fired before is not counted, `on_enable` applies at the start.
#[test]
fn a_replay_supposes_the_playbooks_switched_on_at_the_windows_start() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open_dir(dir.path()).unwrap());
    let config = Config::parse(CONFIG, "t.toml").unwrap();
    store.append(log()).unwrap();
    let ws = WorkspaceId::default_workspace();
    let w = Window {
        from: at("2025-03-13T00:00:00Z"),
        ..window()
    };
    let replayed = replay(
        store.as_ref(),
        &ws,
        config.engine(),
        &config.report_settings(),
        &config.playbooks().unwrap(),
        w,
        &mut |_| {},
    )
    .unwrap();
    let fired = |playbook: &str, account: &str| -> Vec<Timestamp> {
        replayed
            .firings
            .iter()
            .filter(|f| f.playbook == playbook && f.account == account)
            .map(|f| f.fired_at)
            .collect()
    };
    // a and b were churned at the start: seen then by `churned_quietly`; `still_churned`
    // counts its day from the start.
    assert_eq!(
        fired("still_churned", "acct_a"),
        [
            at("2025-03-14T00:00:00Z"),
            at("2025-03-21T00:00:00Z"),
            at("2025-03-28T00:00:00Z")
        ]
    );
    assert_eq!(count_of(&replayed, "churned_quietly").seen_at_start, 2);
    assert!(fired("churned_quietly", "acct_a").is_empty());
    // a's churn was before the window: only d's is a change within it.
    assert_eq!(
        fired("churned_quietly", "acct_d"),
        [at("2025-03-20T12:00:00Z")]
    );
    assert!(replayed
        .firings
        .iter()
        .all(|f| f.account != "acct_a" || f.playbook == "still_churned"));
    assert!(replayed.firings.iter().all(|f| f.fired_at >= w.from));
}
