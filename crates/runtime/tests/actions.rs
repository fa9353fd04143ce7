//! Playbooks at run time, end to end on a real store and a receiver on loopback: a change of
//! an account's status fires a playbook once, its webhook is signed, retried after a 500 and
//! delivered, its task is stored, and a second process seeing the same change fires nothing.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tenure_config::Config;
use tenure_core::{
    AccountId, Currency, Entry, EntryBody, Money, Source, SubscriptionRow, Timestamp, WorkspaceId,
};
use tenure_runtime::{Actions, Clock, Live, ManualClock, StatusKeeping};
use tenure_store::{
    DeliveryFilter, DeliveryStatus, FiringFilter, SqliteStore, Store, TaskFilter, TaskStatus,
};

const SECRET: &str = "whsec_playbook_test";

/// One request the receiver took: its delivery id, whether its signature verified, its body.
#[derive(Debug, Clone)]
struct Received {
    delivery: String,
    signed: bool,
    body: serde_json::Value,
    /// The status the receiver answered.
    answered: u16,
}

/// An HTTP receiver on loopback that verifies each request's signature with [`SECRET`] and
/// answers the statuses of `script` in turn (then 200).
fn receiver(script: Vec<u16>) -> (String, Arc<Mutex<Vec<Received>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let seen: Arc<Mutex<Vec<Received>>> = Arc::default();
    let log = Arc::clone(&seen);
    std::thread::spawn(move || {
        let mut script = script.into_iter();
        for stream in listener.incoming() {
            let mut stream = stream.unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut headers = BTreeMap::new();
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            loop {
                line.clear();
                reader.read_line(&mut line).unwrap();
                let Some((name, value)) = line.trim_end().split_once(": ") else {
                    break;
                };
                headers.insert(name.to_ascii_lowercase(), value.to_owned());
            }
            let length: usize = headers["content-length"].parse().unwrap();
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs() as i64;
            let signed = tenure_destinations::webhook::verify(
                SECRET.as_bytes(),
                &headers["tenure-signature"],
                &body,
                now,
                300,
            )
            .is_ok();
            let status = script.next().unwrap_or(200);
            log.lock().unwrap().push(Received {
                delivery: headers["tenure-delivery"].clone(),
                signed,
                body: serde_json::from_slice(&body).unwrap(),
                answered: status,
            });
            let answer =
                format!("HTTP/1.1 {status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            stream.write_all(answer.as_bytes()).unwrap();
        }
    });
    (url, seen)
}

fn mrr(account: &str, effective: &str, cents: i64) -> Entry {
    Entry {
        workspace: WorkspaceId::default_workspace(),
        source: Source::Import,
        received_at: Timestamp::from_millis(0),
        body: EntryBody::Subscription(SubscriptionRow {
            account_id: AccountId::parse(account).unwrap(),
            effective_at: Timestamp::parse(effective).unwrap(),
            mrr: Money::new(cents, Currency::USD),
            plan: None,
            seats: None,
        }),
    }
}

fn config(url: &str) -> Config {
    let text = format!(
        r#"
[[destinations]]
name = "crm"
kind = "webhook"
url = "{url}"
secret_env = "TEST_SECRET"

[[playbooks]]
name = "churn_alert"
trigger = {{ stage_entered = "churned" }}
for_whom = {{ include_churned = true }}
actions = [
  {{ webhook = {{ destination = "crm" }} }},
  {{ task = {{ title = "Churned: {{{{ account.name }}}}", due_in = "2d" }} }},
]
"#
    );
    Config::parse(&text, "t.toml").unwrap()
}

fn actions(config: &Config, store: &Arc<dyn Store>, clock: &Arc<ManualClock>) -> Arc<Actions> {
    let clock: Arc<dyn Clock> = clock.clone();
    Arc::new(
        Actions::new(
            config.playbooks().unwrap(),
            config.report_settings(),
            Arc::clone(store),
            clock,
            &|name| (name == "TEST_SECRET").then(|| SECRET.to_owned()),
        )
        .unwrap(),
    )
}

/// The firings recorded for accounts (not the markers of a playbook switched on).
fn firings(store: &Arc<dyn Store>) -> Vec<tenure_store::FiringRecord> {
    let ws = WorkspaceId::default_workspace();
    let mut all = store.firings(&ws, &FiringFilter::default()).unwrap();
    all.retain(|f| f.account != "*");
    all
}

#[test]
fn a_change_fires_once_and_its_deliveries_arrive_signed_after_a_retry() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open_dir(dir.path()).unwrap());
    let clock = Arc::new(ManualClock::new(
        Timestamp::parse("2025-04-01T00:00:00Z").unwrap(),
    ));
    let (url, received) = receiver(vec![500]);
    let config = config(&url);
    let live = Arc::new(Live::empty(config.engine()));
    let actions = actions(&config, &store, &clock);
    actions.start(&live);
    let mut keeping = StatusKeeping::new(config.report_settings(), clock.clone());
    keeping.observer = Some(actions.observer());
    live.keep_statuses(keeping).unwrap();
    let ws = WorkspaceId::default_workspace();
    let account = AccountId::parse("acct_1").unwrap();

    // Paying from March: the account's first status, its baseline.
    let paying = store
        .append(vec![mrr("acct_1", "2025-03-01T00:00:00Z", 10_000)])
        .unwrap();
    live.apply(&paying.stored);
    let before = live.status(&ws, &account).unwrap();
    assert_ne!(before.stage.as_deref(), Some("churned"));
    // It churns: the stage `churned` is entered, and the playbook fires.
    let churn = store
        .append(vec![mrr("acct_1", "2025-03-20T00:00:00Z", 0)])
        .unwrap();
    live.apply(&churn.stored);
    let after = live.status(&ws, &account).unwrap();
    assert_eq!(after.stage.as_deref(), Some("churned"));
    let waited = std::time::Instant::now();
    while firings(&store).is_empty() {
        assert!(waited.elapsed() < Duration::from_secs(30), "no firing");
        std::thread::sleep(Duration::from_millis(20));
    }
    let fired = firings(&store);
    assert_eq!(fired.len(), 1, "{fired:?}");
    assert_eq!(fired[0].playbook, "churn_alert");
    assert_eq!(fired[0].account, "acct_1");

    // The webhook's first attempt meets a 500 and waits its backoff; the task is stored.
    assert_eq!(actions.deliver().unwrap(), 2);
    let deliveries = |status| {
        store
            .deliveries(
                &ws,
                &DeliveryFilter {
                    status: Some(status),
                    ..DeliveryFilter::default()
                },
            )
            .unwrap()
    };
    assert_eq!(deliveries(DeliveryStatus::Delivered).len(), 1);
    let pending = deliveries(DeliveryStatus::Pending);
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].kind, "webhook");
    assert_eq!(pending[0].last_code, Some(500));
    assert_eq!(actions.deliver().unwrap(), 0, "not due before its backoff");
    clock.advance(Duration::from_secs(3_600));
    assert_eq!(actions.deliver().unwrap(), 1);
    assert_eq!(deliveries(DeliveryStatus::Delivered).len(), 2);
    assert!(deliveries(DeliveryStatus::Pending).is_empty());

    // The receiver saw the same delivery twice, signed both times, about the churned account.
    let got = received.lock().unwrap().clone();
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].delivery, got[1].delivery);
    assert!(got.iter().all(|r| r.signed));
    assert_eq!(got[0].body["playbook"], "churn_alert");
    assert_eq!(got[0].body["account"]["account"], "acct_1");
    assert_eq!(got[0].body["change"]["stage"], "churned");
    let tasks = store
        .tasks(&ws, &TaskFilter::default(), clock.now())
        .unwrap();
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0].title, "Churned: acct_1");
    assert_eq!(tasks[0].status, TaskStatus::Open);

    // A second process (a restart, another server) seeing the same change fires nothing: the
    // firing's key is recorded.
    actions.stop();
    let again = self::actions(&config, &store, &clock);
    assert_eq!(
        again.on_status(&live, &ws, &before).unwrap(),
        0,
        "a baseline"
    );
    assert_eq!(again.on_status(&live, &ws, &after).unwrap(), 0);
    assert_eq!(firings(&store).len(), 1);
    assert_eq!(again.deliver().unwrap(), 0);
    assert_eq!(received.lock().unwrap().len(), 2);
}

fn task_playbooks() -> Config {
    let text = r#"
[[playbooks]]
name = "quiet_start"
trigger = { state = { stage = "churned" } }
for_whom = { include_churned = true }
on_enable = "none"
actions = [{ task = { title = "Win back {{ account.id }}" } }]

[[playbooks]]
name = "loud_start"
trigger = { state = { stage = "churned" } }
for_whom = { include_churned = true }
on_enable = "matching_now"
actions = [{ task = { title = "Ask {{ account.id }} why" } }]
"#;
    Config::parse(text, "t.toml").unwrap()
}

/// The tick fires state triggers: a playbook switched on with `on_enable = "none"` records
/// the accounts matching then as seen and fires only for later ones, `matching_now` fires for
/// them all; one server at a time ticks, and a later tick fires nothing twice.
#[test]
fn the_tick_fires_state_triggers_honouring_on_enable_and_its_lease() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open_dir(dir.path()).unwrap());
    let clock = Arc::new(ManualClock::new(
        Timestamp::parse("2025-04-01T00:00:00Z").unwrap(),
    ));
    let config = task_playbooks();
    let live = Arc::new(Live::empty(config.engine()));
    live.keep_statuses(StatusKeeping::new(config.report_settings(), clock.clone()))
        .unwrap();
    let churned = |account: &str| {
        vec![
            mrr(account, "2025-03-01T00:00:00Z", 10_000),
            mrr(account, "2025-03-10T00:00:00Z", 0),
        ]
    };
    for account in ["acct_a", "acct_b"] {
        live.apply(&store.append(churned(account)).unwrap().stored);
    }
    let first = actions(&config, &store, &clock);
    let second = actions(&config, &store, &clock);
    assert_eq!(first.tick(&live).unwrap(), 2, "loud_start for a and b");
    let by_playbook = |name: &str| -> Vec<String> {
        let mut accounts: Vec<String> = firings(&store)
            .into_iter()
            .filter(|f| f.playbook == name)
            .map(|f| f.account)
            .collect();
        accounts.sort();
        accounts
    };
    assert_eq!(
        by_playbook("quiet_start"),
        ["acct_a", "acct_b"],
        "recorded as seen"
    );
    assert_eq!(by_playbook("loud_start"), ["acct_a", "acct_b"]);
    assert_eq!(first.deliver().unwrap(), 2, "only loud_start's tasks");

    // Later, c churns: both fire for it, and nothing fires twice.
    live.apply(&store.append(churned("acct_c")).unwrap().stored);
    clock.advance(Duration::from_secs(60));
    assert_eq!(
        second.tick(&live).unwrap(),
        0,
        "the first holds the tick's lease"
    );
    assert_eq!(first.tick(&live).unwrap(), 2);
    assert_eq!(by_playbook("quiet_start"), ["acct_a", "acct_b", "acct_c"]);
    assert_eq!(first.deliver().unwrap(), 2);
    // Once the first server's lease has run out, another ticks, and finds nothing new.
    clock.advance(Duration::from_secs(600));
    assert_eq!(second.tick(&live).unwrap(), 0);
    let ws = WorkspaceId::default_workspace();
    let mut titles: Vec<String> = store
        .tasks(&ws, &TaskFilter::default(), clock.now())
        .unwrap()
        .into_iter()
        .map(|t| t.title)
        .collect();
    titles.sort();
    assert_eq!(
        titles,
        [
            "Ask acct_a why",
            "Ask acct_b why",
            "Ask acct_c why",
            "Win back acct_c"
        ]
    );
}

/// The dry-run: who each playbook matches now with what its actions would make, and one
/// account step by step with its conditions and the rendered text it would be sent.
#[test]
fn the_dry_run_shows_who_matches_and_one_account_step_by_step() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open_dir(dir.path()).unwrap());
    let clock = Arc::new(ManualClock::new(
        Timestamp::parse("2025-04-01T00:00:00Z").unwrap(),
    ));
    let config = task_playbooks();
    let live = Arc::new(Live::empty(config.engine()));
    live.keep_statuses(StatusKeeping::new(config.report_settings(), clock.clone()))
        .unwrap();
    let entries = vec![
        mrr("acct_a", "2025-03-01T00:00:00Z", 10_000),
        mrr("acct_a", "2025-03-10T00:00:00Z", 0),
        mrr("acct_b", "2025-03-01T00:00:00Z", 10_000),
    ];
    live.apply(&store.append(entries).unwrap().stored);
    let ws = WorkspaceId::default_workspace();
    let settings = config.report_settings();
    let statuses: Vec<tenure_playbooks::Status> = live
        .with_statuses(&ws, |model, all| {
            all.map(|s| tenure_runtime::actions::status_of(model, &settings, s, None))
                .collect()
        })
        .unwrap();
    assert_eq!(statuses.len(), 2);
    let playbooks = config.playbooks().unwrap();
    let previews = tenure_runtime::actions::preview(&playbooks, &statuses);
    assert_eq!(previews.len(), 2);
    for p in &previews {
        assert_eq!(p.trigger, "state");
        assert_eq!(p.matching, 1, "{p:?}");
        assert_eq!(p.accounts, ["acct_a"]);
        assert_eq!(p.actions[0].kind, "task");
        assert_eq!(p.actions[0].deliveries, 1);
    }
    let of = |id: &str| statuses.iter().find(|s| s.account.as_str() == id).unwrap();
    let loud = &playbooks.playbooks[1];
    let now = clock.now();
    let a = tenure_runtime::actions::explain(loud, of("acct_a"), None, &[], now);
    assert!(a.checks.iter().all(|c| c.held), "{:?}", a.checks);
    assert!(a.firing_key.is_some());
    assert_eq!(a.actions[0].payload["title"], "Ask acct_a why");
    assert_eq!(a.actions[0].due_at, Some(now));
    let b = tenure_runtime::actions::explain(loud, of("acct_b"), None, &[], now);
    let failed: Vec<&tenure_playbooks::Check> = b.checks.iter().filter(|c| !c.held).collect();
    assert_eq!(failed.len(), 1, "{:?}", b.checks);
    assert!(failed[0].condition.contains("churned"), "{failed:?}");
    assert_eq!(b.firing_key, None);
    assert_eq!(
        b.actions[0].payload["title"], "Ask acct_b why",
        "rendered all the same"
    );
}

fn track(account: &str, message_id: &str, plan: &str) -> Entry {
    let line = serde_json::json!({
        "type": "track", "event": "Export Failed", "userId": "user_1",
        "messageId": message_id, "timestamp": "2025-03-20T10:00:00Z",
        "properties": { "plan": plan }, "context": { "groupId": account },
    })
    .to_string();
    let received = Timestamp::parse("2025-03-20T10:00:01Z").unwrap();
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

/// An event trigger fires on a track event of the account whose properties match, once per
/// event (`every_match`), and not on one whose properties do not.
#[test]
fn an_event_trigger_fires_on_matching_events_once_each() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open_dir(dir.path()).unwrap());
    let clock = Arc::new(ManualClock::new(
        Timestamp::parse("2025-04-01T00:00:00Z").unwrap(),
    ));
    let text = r#"
[[playbooks]]
name = "export_failed"
trigger = { event = "Export Failed", where = [{ property = "plan", equals = "pro" }] }
limit = { every_match = true }
actions = [{ task = { title = "Export failed for {{ account.id }}" } }]
"#;
    let config = Config::parse(text, "t.toml").unwrap();
    let live = Arc::new(Live::empty(config.engine()));
    let actions = actions(&config, &store, &clock);
    actions.start(&live);
    let mut keeping = StatusKeeping::new(config.report_settings(), clock.clone());
    keeping.observer = Some(actions.observer());
    keeping.entries = Some(actions.entry_observer());
    live.keep_statuses(keeping).unwrap();
    let apply = |entries: Vec<Entry>| live.apply(&store.append(entries).unwrap().stored);
    apply(vec![mrr("acct_1", "2025-03-01T00:00:00Z", 10_000)]);
    apply(vec![track("acct_1", "m-free", "free")]);
    apply(vec![track("acct_1", "m-pro-1", "pro")]);
    apply(vec![track("acct_1", "m-pro-2", "pro")]);
    let waited = std::time::Instant::now();
    while firings(&store).len() < 2 {
        assert!(
            waited.elapsed() < Duration::from_secs(30),
            "{:?}",
            firings(&store)
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // The same message again (a retried send) is the same event: nothing more fires.
    apply(vec![track("acct_1", "m-pro-1", "pro")]);
    actions.stop();
    std::thread::sleep(Duration::from_millis(200));
    let fired = firings(&store);
    assert_eq!(fired.len(), 2, "{fired:?}");
    assert!(fired.iter().all(|f| f.playbook == "export_failed"));
    let mut keys: Vec<&str> = fired.iter().map(|f| f.key.as_str()).collect();
    keys.sort();
    assert!(
        keys[0].contains("m-pro-1") && keys[1].contains("m-pro-2"),
        "{keys:?}"
    );
}

/// A milestone trigger fires when the account first reaches it: an expansion is the first
/// expansion once, the second is not.
#[test]
fn a_milestone_trigger_fires_on_the_first_expansion_only() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open_dir(dir.path()).unwrap());
    let clock = Arc::new(ManualClock::new(
        Timestamp::parse("2025-04-01T00:00:00Z").unwrap(),
    ));
    let text = r#"
[[playbooks]]
name = "expanded"
trigger = { milestone = "first_expansion" }
limit = { every_match = true }
actions = [{ task = { title = "Thank {{ account.id }}" } }]
"#;
    let config = Config::parse(text, "t.toml").unwrap();
    let live = Arc::new(Live::empty(config.engine()));
    let actions = actions(&config, &store, &clock);
    actions.start(&live);
    let mut keeping = StatusKeeping::new(config.report_settings(), clock.clone());
    keeping.observer = Some(actions.observer());
    live.keep_statuses(keeping).unwrap();
    let apply = |entries: Vec<Entry>| live.apply(&store.append(entries).unwrap().stored);
    apply(vec![mrr("acct_1", "2025-02-01T00:00:00Z", 10_000)]);
    apply(vec![mrr("acct_1", "2025-03-01T00:00:00Z", 20_000)]);
    apply(vec![mrr("acct_1", "2025-03-15T00:00:00Z", 30_000)]);
    let waited = std::time::Instant::now();
    while firings(&store).is_empty() {
        assert!(waited.elapsed() < Duration::from_secs(30), "no firing");
        std::thread::sleep(Duration::from_millis(20));
    }
    actions.stop();
    std::thread::sleep(Duration::from_millis(200));
    let fired = firings(&store);
    assert_eq!(fired.len(), 1, "{fired:?}");
    assert!(fired[0].key.contains("2025-03-01"), "{}", fired[0].key);
}

fn handoff_playbooks() -> Config {
    Config::parse(handoff_config_text(), "t.toml").unwrap()
}

fn handoff_config_text() -> &'static str {
    r#"
[[routing]]
name = "cs_pool"
team = "cs"
when = { stage = "onboarding" }
round_robin = ["ana@example.com", "bo@example.com", "cy@example.com"]

[[playbooks]]
name = "welcome_handoff"
trigger = { state = { stage = "onboarding" } }
on_enable = "matching_now"
actions = [
  { handoff = { team = "cs", sla = "1h" } },
  { task = { title = "Welcome {{ account.id }}" } },
]

[[playbooks]]
name = "sla_missed"
trigger = { sla_breached = "cs" }
limit = { every_match = true }
actions = [{ task = { title = "SLA missed on {{ account.id }} ({{ change.team }})" } }]
"#
}

/// A handoff routes the account to an owner of the team's round robin (recorded in its
/// payload with the rule), the task after it goes to that owner, and an SLA that ends unmet
/// fires the `sla_breached` playbook at the first tick after its end, once; a met SLA never.
#[test]
fn a_routed_handoff_whose_sla_ends_unmet_fires_its_breach_once() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open_dir(dir.path()).unwrap());
    let t0 = Timestamp::parse("2025-04-01T00:00:00Z").unwrap();
    let clock = Arc::new(ManualClock::new(t0));
    let config = handoff_playbooks();
    let live = Arc::new(Live::empty(config.engine()));
    live.keep_statuses(StatusKeeping::new(config.report_settings(), clock.clone()))
        .unwrap();
    for account in ["acct_late", "acct_prompt"] {
        let entries = vec![mrr(account, "2025-03-30T00:00:00Z", 10_000)];
        live.apply(&store.append(entries).unwrap().stored);
    }
    let actions = actions(&config, &store, &clock);
    let ws = WorkspaceId::default_workspace();

    assert_eq!(
        actions.tick(&live).unwrap(),
        2,
        "a handoff for each account"
    );
    assert_eq!(actions.deliver().unwrap(), 4, "two handoffs, two tasks");
    let pool = ["ana@example.com", "bo@example.com", "cy@example.com"];
    let routed = |account: &str| pool[(tenure_playbooks::stable_hash(account) % 3) as usize];
    for account in ["acct_late", "acct_prompt"] {
        let handoff = store
            .deliveries(
                &ws,
                &DeliveryFilter {
                    account: Some(account.into()),
                    playbook: Some("welcome_handoff".into()),
                    ..DeliveryFilter::default()
                },
            )
            .unwrap()
            .into_iter()
            .find(|d| d.kind == "handoff")
            .unwrap();
        assert_eq!(handoff.status, DeliveryStatus::Delivered);
        assert_eq!(handoff.payload["team"], "cs");
        assert_eq!(handoff.payload["owner"], routed(account));
        assert_eq!(handoff.payload["rule"], "cs_pool");
        assert_eq!(handoff.payload["chosen_by"], "round_robin");
        let owner = &store.owners(&ws, Some(account)).unwrap()[0];
        assert_eq!(owner.owner.as_deref(), Some(routed(account)));
        assert_eq!(owner.sla_due, Some(t0.plus_millis(3_600_000)));
        let tasks = store
            .tasks(
                &ws,
                &TaskFilter {
                    account: Some(account.into()),
                    ..TaskFilter::default()
                },
                clock.now(),
            )
            .unwrap();
        assert_eq!(tasks.len(), 1);
        assert_eq!(
            tasks[0].owner.as_deref(),
            Some(routed(account)),
            "the routed owner"
        );
    }

    // acct_prompt's owner acts within the hour; acct_late's does not.
    clock.advance(Duration::from_secs(30 * 60));
    assert!(store.meet_sla(&ws, "acct_prompt", clock.now()).unwrap());
    let breaches = |store: &Arc<dyn Store>| -> Vec<tenure_store::FiringRecord> {
        firings(store)
            .into_iter()
            .filter(|f| f.playbook == "sla_missed")
            .collect()
    };
    clock.set(t0.plus_millis(59 * 60_000));
    assert_eq!(actions.tick(&live).unwrap(), 0, "the SLA has a minute left");
    assert!(breaches(&store).is_empty());

    clock.set(t0.plus_millis(61 * 60_000));
    assert_eq!(
        actions.tick(&live).unwrap(),
        1,
        "acct_late's SLA is breached"
    );
    let fired = breaches(&store);
    assert_eq!(fired.len(), 1);
    assert_eq!(fired[0].account, "acct_late");
    assert_eq!(fired[0].period, format!("match:sla_breached:cs@{t0}"));
    assert_eq!(fired[0].cause["detail"]["change"], "sla_breached");
    assert_eq!(fired[0].cause["detail"]["owner"], routed("acct_late"));

    clock.set(t0.plus_millis(62 * 60_000));
    assert_eq!(actions.tick(&live).unwrap(), 0, "once per breach");
    // A second server, seeing the same breach after the first's lease ended: nothing new.
    clock.set(t0.plus_millis(70 * 60_000));
    let other = self::actions(&config, &store, &clock);
    assert_eq!(other.tick(&live).unwrap(), 0);
    assert_eq!(breaches(&store).len(), 1);

    assert_eq!(actions.deliver().unwrap(), 1);
    let titles: Vec<String> = store
        .tasks(&ws, &TaskFilter::default(), clock.now())
        .unwrap()
        .into_iter()
        .filter(|t| t.playbook == "sla_missed")
        .map(|t| t.title)
        .collect();
    assert_eq!(titles, ["SLA missed on acct_late (cs)"]);

    // A playbook on any team's breaches switched on now, with `on_enable = "none"`: the breach
    // already there is recorded as seen, with nothing to deliver.
    let text = format!(
        "{}\n[[playbooks]]\nname = \"sla_any\"\ntrigger = {{ sla_breached = \"any\" }}\nlimit = {{ every_match = true }}\nactions = [{{ task = {{ title = \"t\" }} }}]\n",
        handoff_config_text()
    );
    let later = Config::parse(&text, "t.toml").unwrap();
    clock.set(t0.plus_millis(75 * 60_000));
    let switched = self::actions(&later, &store, &clock);
    assert_eq!(
        switched.tick(&live).unwrap(),
        0,
        "switching it on fires nothing"
    );
    let seen: Vec<_> = firings(&store)
        .into_iter()
        .filter(|f| f.playbook == "sla_any")
        .collect();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].account, "acct_late");
    assert_eq!(seen[0].cause["detail"]["on_enable"], "none");
    assert_eq!(switched.deliver().unwrap(), 0);
}

/// A receiver on loopback that tells `arrived` of each request it reads and answers 200 only
/// once `release` says so: a destination that hangs until the test lets it go.
fn held_receiver(
    arrived: std::sync::mpsc::Sender<()>,
    release: std::sync::mpsc::Receiver<()>,
) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let mut stream = stream.unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut length = 0;
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            loop {
                line.clear();
                reader.read_line(&mut line).unwrap();
                match line.trim_end().split_once(": ") {
                    Some((name, value)) if name.eq_ignore_ascii_case("content-length") => {
                        length = value.parse().unwrap();
                    }
                    Some(_) => {}
                    None => break,
                }
            }
            reader.read_exact(&mut vec![0; length]).unwrap();
            arrived.send(()).unwrap();
            release.recv().unwrap();
            let answer = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
            stream.write_all(answer.as_bytes()).unwrap();
        }
    });
    url
}

#[test]
fn a_hanging_destination_delays_only_its_own_deliveries() {
    let (arrived_tx, arrived) = std::sync::mpsc::channel();
    let (release, release_rx) = std::sync::mpsc::channel();
    let slow = held_receiver(arrived_tx, release_rx);
    let (fast, fast_seen) = receiver(vec![]);
    let text = format!(
        r#"
[[destinations]]
name = "slow"
kind = "webhook"
url = "{slow}"
secret_env = "TEST_SECRET"

[[destinations]]
name = "fast"
kind = "webhook"
url = "{fast}"
secret_env = "TEST_SECRET"
"#
    );
    let config = Config::parse(&text, "t.toml").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&dir.path().join("t.db")).unwrap());
    let clock = Arc::new(ManualClock::new(Timestamp::from_datetime(
        chrono::Utc::now(),
    )));
    let actions = actions(&config, &store, &clock);
    let ws = WorkspaceId::default_workspace();
    let now = clock.now();
    // One firing with a delivery to each destination, and one to a destination since removed.
    let step = |step: u32, destination: &str| tenure_store::NewDelivery {
        step,
        destination: destination.into(),
        kind: "webhook".into(),
        payload: serde_json::json!({ "step": step }),
        due_at: now,
    };
    let firing = tenure_store::NewFiring {
        key: "p/v1/a1/first".into(),
        playbook: "p".into(),
        version: "v1".into(),
        account: "a1".into(),
        period: "first".into(),
        fired_at: now,
        cause: serde_json::json!({}),
    };
    let steps = [step(0, "slow"), step(1, "fast"), step(2, "gone")];
    assert!(store.record_firing(&ws, &firing, &steps).unwrap());
    let status_of = |destination: &str| {
        let all = store.deliveries(&ws, &DeliveryFilter::default()).unwrap();
        let d = all.iter().find(|d| d.destination == destination).unwrap();
        (d.status, d.last_error.clone())
    };

    std::thread::scope(|scope| {
        let slow_worker = scope.spawn(|| actions.deliver_to(Some("slow")).unwrap());
        arrived
            .recv_timeout(Duration::from_secs(10))
            .expect("the slow destination got its request");
        // The slow destination holds its request; the fast one's worker is not held up by it.
        assert_eq!(actions.deliver_to(Some("fast")).unwrap(), 1);
        assert_eq!(fast_seen.lock().unwrap().len(), 1);
        assert_eq!(status_of("fast").0, DeliveryStatus::Delivered);
        assert_eq!(status_of("slow").0, DeliveryStatus::Pending);
        // The worker of destinations no longer configured dead-letters what is left for them.
        assert_eq!(actions.deliver_to(None).unwrap(), 1);
        let (gone, reason) = status_of("gone");
        assert_eq!(gone, DeliveryStatus::Dead);
        assert!(reason.unwrap().contains("not configured"));
        release.send(()).unwrap();
        assert_eq!(slow_worker.join().unwrap(), 1);
    });
    assert_eq!(status_of("slow").0, DeliveryStatus::Delivered);
}

#[test]
fn deliveries_through_500s_and_429s_arrive_exactly_once_each() {
    // The receiver fails the first twelve requests, 500s and 429s in turn, then recovers.
    let script = [500, 429].repeat(6);
    let (url, seen) = receiver(script);
    let config = config(&url);
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&dir.path().join("t.db")).unwrap());
    let clock = Arc::new(ManualClock::new(Timestamp::from_datetime(
        chrono::Utc::now(),
    )));
    let actions = actions(&config, &store, &clock);
    let ws = WorkspaceId::default_workspace();
    let now = clock.now();
    let firings = 8;
    for i in 0..firings {
        let firing = tenure_store::NewFiring {
            key: format!("p/v1/a{i}/first"),
            playbook: "p".into(),
            version: "v1".into(),
            account: format!("a{i}"),
            period: "first".into(),
            fired_at: now,
            cause: serde_json::json!({}),
        };
        let delivery = tenure_store::NewDelivery {
            step: 0,
            destination: "crm".into(),
            kind: "webhook".into(),
            payload: serde_json::json!({ "account": i }),
            due_at: now,
        };
        assert!(store.record_firing(&ws, &firing, &[delivery]).unwrap());
    }
    // Workers pass over the outbox as time goes on, past each retry's backoff.
    for _ in 0..40 {
        while actions.deliver_to(Some("crm")).unwrap() > 0 {}
        clock.advance(Duration::from_secs(600));
    }
    let all = store.deliveries(&ws, &DeliveryFilter::default()).unwrap();
    assert_eq!(all.len(), firings);
    assert!(all.iter().all(|d| d.status == DeliveryStatus::Delivered));
    let got = seen.lock().unwrap();
    assert_eq!(
        got.len(),
        firings + 12,
        "each failure was tried again, nothing more"
    );
    assert!(got.iter().all(|r| r.signed));
    // Counted at the receiver by delivery id: each accepted exactly once, none lost.
    let mut accepted: Vec<&str> = got
        .iter()
        .filter(|r| r.answered == 200)
        .map(|r| r.delivery.as_str())
        .collect();
    accepted.sort_unstable();
    accepted.dedup();
    assert_eq!(accepted.len(), firings);
    assert_eq!(got.iter().filter(|r| r.answered == 200).count(), firings);
    // The audit shows every attempt: the failures with their codes, then the success.
    let attempts: usize = all
        .iter()
        .map(|d| store.delivery_attempts(&ws, d.id).unwrap().len())
        .sum();
    assert_eq!(attempts, firings + 12);
}
