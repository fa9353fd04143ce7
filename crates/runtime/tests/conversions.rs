//! Conversions at run time, end to end on a real store and a signed webhook on loopback: a
//! pass records each milestone within the lookback once, a churn inside the window makes
//! exactly one retraction, passes and servers deciding again record nothing new, and a server
//! that died holding deliveries leaves them to the next, which sends each once.

use std::collections::BTreeSet;
use std::sync::Arc;

use serde_json::{json, Value};
use tenure_config::Config;
use tenure_core::{
    AccountId, Currency, Entry, EntryBody, Money, Source, SubscriptionRow, Timestamp, WorkspaceId,
};
use tenure_destinations::matching::{hashed_email, sha256_hex, Platform};
use tenure_destinations::test_support::{HttpReceiver, Reply};
use tenure_runtime::{Actions, Clock, Conversions, Converted, Live, ManualClock};
use tenure_store::{ClaimFor, DeliveryFilter, DeliveryStatus, FiringFilter, SqliteStore, Store};

const SECRET: &str = "whsec_conversions_test";
const DAY: i64 = 86_400_000;

fn at(text: &str) -> Timestamp {
    Timestamp::parse(text).unwrap()
}

fn entry(body: EntryBody) -> Entry {
    Entry {
        workspace: WorkspaceId::default_workspace(),
        source: Source::Import,
        received_at: Timestamp::from_millis(0),
        body,
    }
}

fn mrr(account: &str, effective: &str, cents: i64) -> Entry {
    entry(EntryBody::Subscription(SubscriptionRow {
        account_id: AccountId::parse(account).unwrap(),
        effective_at: at(effective),
        mrr: Money::new(cents, Currency::USD),
        plan: None,
        seats: None,
    }))
}

fn segment(message: Value) -> Entry {
    let line = message.to_string();
    let parsed = tenure_ingest::segment::parse_message(
        line.as_bytes(),
        at("2026-03-01T00:00:00Z"),
        &Default::default(),
    )
    .unwrap();
    entry(EntryBody::Segment(parsed))
}

fn config(url: &str) -> Config {
    config_with(url, "first_payment", "initial_arr")
}

fn config_with(url: &str, milestone: &str, value: &str) -> Config {
    let text = format!(
        r#"
[[destinations]]
name = "crm"
kind = "webhook"
url = "{url}"
secret_env = "TEST_SECRET"

[[conversions]]
name = "paid"
milestone = "{milestone}"
value = "{value}"
send = [{{ destination = "crm", as = "Paid" }}]
lookback_days = 60
"#
    );
    Config::parse(&text, "t.toml").unwrap()
}

struct World {
    _dir: tempfile::TempDir,
    store: Arc<dyn Store>,
    clock: Arc<ManualClock>,
    live: Arc<Live>,
    config: Config,
}

impl World {
    fn new(url: &str, now: &str) -> World {
        World::with(config(url), now)
    }

    fn with(config: Config, now: &str) -> World {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open_dir(dir.path()).unwrap());
        let live = Arc::new(Live::empty(config.engine()));
        World {
            _dir: dir,
            store,
            clock: Arc::new(ManualClock::new(at(now))),
            live,
            config,
        }
    }

    fn apply(&self, entries: Vec<Entry>) {
        let appended = self.store.append(entries).unwrap();
        self.live.apply(&appended.stored);
    }

    /// A server's conversions, as a new process builds them.
    fn conversions(&self) -> Conversions {
        Conversions::new(
            self.config.conversions().unwrap(),
            self.config.report_settings(),
            Arc::clone(&self.store),
            self.clock.clone() as Arc<dyn Clock>,
        )
    }

    /// A server's delivery workers, as a new process builds them.
    fn actions(&self) -> Actions {
        Actions::new(
            self.config.playbooks().unwrap(),
            self.config.report_settings(),
            Arc::clone(&self.store),
            self.clock.clone() as Arc<dyn Clock>,
            &|name| (name == "TEST_SECRET").then(|| SECRET.to_owned()),
        )
        .unwrap()
    }

    fn firings(&self) -> Vec<tenure_store::FiringRecord> {
        let mut all = self
            .store
            .firings(&WorkspaceId::default_workspace(), &FiringFilter::default())
            .unwrap();
        all.sort_by(|a, b| a.key.cmp(&b.key));
        all
    }
}

/// Passes of the outbox until nothing is due; the deliveries attempted.
fn deliver_all(actions: &Actions) -> usize {
    let mut total = 0;
    loop {
        match actions.deliver().unwrap() {
            0 => return total,
            n => total += n,
        }
    }
}

fn converted(conversions: usize, restatements: usize, retractions: usize) -> Converted {
    Converted {
        conversions,
        restatements,
        retractions,
    }
}

#[test]
fn each_milestone_is_sent_once_and_a_churn_inside_the_window_retracts_it_once() {
    let receiver = HttpReceiver::start(|_| Reply::new(200, "ok"));
    let w = World::new(&receiver.url, "2026-03-01T12:00:00Z");
    w.apply(vec![
        // Converted within the 60-day lookback, with a person and two clicks, one too old.
        mrr("acct_1", "2026-01-15T00:00:00Z", 10_000),
        segment(
            json!({"type": "identify", "messageId": "i1", "userId": "u1",
            "traits": {"email": " John.Smith@Gmail.com "}}),
        ),
        segment(json!({"type": "group", "messageId": "g1", "userId": "u1", "groupId": "acct_1"})),
        segment(json!({"type": "page", "messageId": "p1", "userId": "u1",
            "timestamp": "2025-09-01T10:00:00Z",
            "context": {"groupId": "acct_1", "page": {"url": "https://acme.io/?gclid=OLD"}}})),
        segment(json!({"type": "page", "messageId": "p2", "userId": "u1",
            "timestamp": "2026-01-10T10:00:00Z",
            "context": {"groupId": "acct_1", "page": {"url": "https://acme.io/?gclid=Cj0KCQ"}}})),
        // Converted within the lookback, churned 20 days later: inside the 90-day window.
        mrr("acct_2", "2026-01-20T00:00:00Z", 20_000),
        mrr("acct_2", "2026-02-09T00:00:00Z", 0),
        // Converted long before the lookback: never sent.
        mrr("acct_3", "2025-06-01T00:00:00Z", 5_000),
    ]);
    let conversions = w.conversions();
    assert_eq!(conversions.pass(&w.live).unwrap(), converted(2, 0, 0));
    // acct_2's churn is known, but its conversion is still being delivered: a retraction now
    // could reach the platform before the conversion it retracts. It waits.
    assert_eq!(conversions.pass(&w.live).unwrap(), converted(0, 0, 0));
    assert_eq!(deliver_all(&w.actions()), 2);
    // Delivered: the next pass, reading what was sent from the store, retracts it.
    assert_eq!(conversions.pass(&w.live).unwrap(), converted(0, 0, 1));
    // Once: neither a later pass nor another server (a restart) decides anything more.
    w.clock
        .advance(std::time::Duration::from_millis(DAY as u64));
    assert_eq!(conversions.pass(&w.live).unwrap(), converted(0, 0, 0));
    assert_eq!(w.conversions().pass(&w.live).unwrap(), converted(0, 0, 0));

    let fired = w.firings();
    let keys: Vec<&str> = fired.iter().map(|f| f.key.as_str()).collect();
    assert_eq!(
        keys,
        vec![
            "conversion:paid/acct_1/first",
            "conversion:paid/acct_2/first",
            "conversion:paid/acct_2/first/retract",
        ]
    );

    // Delivered as signed webhooks, each once.
    assert_eq!(deliver_all(&w.actions()), 1);
    let requests = receiver.requests();
    assert_eq!(requests.len(), 3);
    let mut bodies: Vec<Value> = Vec::new();
    for r in &requests {
        let signature = r.header("tenure-signature").unwrap();
        // The signature is checked against the real clock's second; the receiver ran now.
        let real_now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        tenure_destinations::webhook::verify(SECRET.as_bytes(), signature, &r.body, real_now, 300)
            .expect("every delivery is signed");
        bodies.push(r.json());
    }
    bodies.sort_by_key(|b| {
        (
            b["account"].as_str().unwrap().to_owned(),
            b["kind"].as_str().unwrap().to_owned(),
        )
    });
    let (one, two, retraction) = (&bodies[0], &bodies[1], &bodies[2]);
    assert_eq!(one["kind"], "conversion");
    assert_eq!(one["platform_name"], "Paid");
    assert_eq!(one["occurred_at"], "2026-01-15T00:00:00.000Z");
    // 12 × 100.00 MRR.
    assert_eq!(one["value"], 1200.0);
    assert_eq!(one["currency"], "USD");
    // The person's e-mail, trimmed, lowercased and hashed (the webhook gets Meta's
    // normalisation, which keeps gmail's dots); only the click within 90 days before.
    assert_eq!(
        one["match_keys"]["hashed_emails"],
        json!([hashed_email(Platform::Meta, "john.smith@gmail.com").unwrap()])
    );
    assert_eq!(
        one["match_keys"]["hashed_emails"][0],
        sha256_hex("john.smith@gmail.com")
    );
    assert_eq!(
        one["match_keys"]["clicks"],
        json!([{"kind": "gclid", "id": "Cj0KCQ", "at": "2026-01-10T10:00:00.000Z"}])
    );
    assert_eq!(two["kind"], "conversion");
    assert_eq!(two["value"], 2400.0);
    assert_eq!(retraction["kind"], "retraction");
    assert_eq!(retraction["account"], "acct_2");
    // The same conversion on the platform: the retraction carries the conversion's id.
    assert_eq!(retraction["event_id"], two["event_id"]);
    assert_ne!(one["event_id"], two["event_id"]);
    assert_eq!(retraction["value"], Value::Null);
    assert_eq!(retraction["previous_value"], 2400.0);
    let adjusted = Timestamp::parse(retraction["adjusted_at"].as_str().unwrap()).unwrap();
    assert!(adjusted > at("2026-01-20T00:00:00Z"));
    assert_eq!(adjusted.millis() % 1000, 0, "whole seconds");
}

#[test]
fn a_server_that_died_mid_delivery_leaves_its_deliveries_to_the_next_which_sends_each_once() {
    let receiver = HttpReceiver::start(|_| Reply::new(200, "ok"));
    let w = World::new(&receiver.url, "2026-03-01T12:00:00Z");
    let accounts: Vec<String> = (0..6).map(|i| format!("acct_{i}")).collect();
    w.apply(
        accounts
            .iter()
            .map(|a| mrr(a, "2026-02-01T00:00:00Z", 10_000))
            .collect(),
    );
    assert_eq!(w.conversions().pass(&w.live).unwrap(), converted(6, 0, 0));
    let ws = WorkspaceId::default_workspace();
    // A process claims every delivery and dies before attempting any.
    let held = w
        .store
        .claim_deliveries("dead-process", w.clock.now(), 120_000, 100, ClaimFor::Any)
        .unwrap();
    assert_eq!(held.len(), 6);
    // The next server finds them held, then, once the lease has ended, sends each once.
    let next = w.actions();
    assert_eq!(next.deliver().unwrap(), 0);
    assert!(receiver.requests().is_empty());
    w.clock.advance(std::time::Duration::from_secs(121));
    assert_eq!(deliver_all(&next), 6);
    // And a third server, deciding anew, records no conversion twice.
    assert_eq!(w.conversions().pass(&w.live).unwrap(), converted(0, 0, 0));
    assert_eq!(w.actions().deliver().unwrap(), 0);
    let mut ids: Vec<String> = receiver
        .requests()
        .iter()
        .map(|r| r.json()["event_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 6);
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 6, "six conversions, each sent once");
    let delivered = w
        .store
        .deliveries(
            &ws,
            &DeliveryFilter {
                status: Some(DeliveryStatus::Delivered),
                ..DeliveryFilter::default()
            },
        )
        .unwrap();
    assert_eq!(delivered.len(), 6);
    assert!(delivered
        .iter()
        .all(|d| d.result.as_deref() == Some("accepted")));
}

#[test]
fn a_value_that_moves_is_restated_each_time_later_and_nothing_follows_a_retraction() {
    let receiver = HttpReceiver::start(|_| Reply::new(200, "ok"));
    let w = World::with(
        config_with(&receiver.url, "first_payment", "predicted_ltv"),
        "2026-03-01T12:00:00Z",
    );
    // acct_a converts within the 60-day lookback; the others long before it, so they are
    // never sent, but their churn moves every account's expected lifetime.
    let mut entries = vec![mrr("acct_a", "2026-02-01T00:00:00Z", 10_000)];
    for other in ["acct_b", "acct_c", "acct_d", "acct_e"] {
        entries.push(mrr(other, "2025-06-01T00:00:00Z", 10_000));
    }
    w.apply(entries);
    let conversions = w.conversions();
    assert_eq!(conversions.pass(&w.live).unwrap(), converted(1, 0, 0));
    assert_eq!(deliver_all(&w.actions()), 1);
    let second = std::time::Duration::from_secs(1);
    w.clock.advance(second);

    // Two of the others churn: the company's survival falls, and with it acct_a's predicted
    // lifetime value, by more than 5 %: restated once.
    w.apply(vec![
        mrr("acct_b", "2025-08-01T00:00:00Z", 0),
        mrr("acct_c", "2025-09-01T00:00:00Z", 0),
    ]);
    assert_eq!(conversions.pass(&w.live).unwrap(), converted(0, 1, 0));
    assert_eq!(conversions.pass(&w.live).unwrap(), converted(0, 0, 0));
    // A third churns in the same second of the clock: the second restatement is still dated
    // a second after the first, or Google would drop it as a duplicate.
    w.apply(vec![mrr("acct_d", "2025-10-01T00:00:00Z", 0)]);
    assert_eq!(conversions.pass(&w.live).unwrap(), converted(0, 1, 0));
    // acct_a churns inside the window: retracted, and then nothing more, however its value
    // would move.
    w.clock.advance(second);
    w.apply(vec![mrr("acct_a", "2026-03-01T00:00:00Z", 0)]);
    assert_eq!(conversions.pass(&w.live).unwrap(), converted(0, 0, 1));
    w.apply(vec![mrr("acct_e", "2025-11-01T00:00:00Z", 0)]);
    w.clock.advance(second);
    assert_eq!(conversions.pass(&w.live).unwrap(), converted(0, 0, 0));

    assert_eq!(deliver_all(&w.actions()), 3);
    let mut events: Vec<Value> = receiver.requests().iter().map(|r| r.json()).collect();
    events.sort_by_key(|e| {
        (
            e["adjusted_at"].as_str().unwrap_or("").to_owned(),
            e["kind"].as_str().unwrap().to_owned(),
        )
    });
    let kinds: Vec<&str> = events.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        ["conversion", "restatement", "restatement", "retraction"]
    );
    let value = |e: &Value| e["value"].as_f64().unwrap();
    // Each restatement lower than the value before it, and naming it.
    assert!(value(&events[1]) < 0.95 * value(&events[0]), "{events:?}");
    assert_eq!(events[1]["previous_value"], events[0]["value"]);
    assert!(value(&events[2]) < 0.95 * value(&events[1]), "{events:?}");
    assert_eq!(events[2]["previous_value"], events[1]["value"]);
    assert_eq!(events[3]["previous_value"], events[2]["value"]);
    // One conversion on the platform, each correction dated later than the one before.
    let ids: BTreeSet<&str> = events
        .iter()
        .map(|e| e["event_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 1);
    let adjusted: Vec<Timestamp> = events[1..]
        .iter()
        .map(|e| Timestamp::parse(e["adjusted_at"].as_str().unwrap()).unwrap())
        .collect();
    assert!(adjusted.windows(2).all(|w| w[0] < w[1]), "{adjusted:?}");
    assert_eq!(adjusted[1].millis() - adjusted[0].millis(), 1000);
}

#[test]
fn a_conversion_is_no_message_the_daily_cap_counts() {
    let receiver = HttpReceiver::start(|_| Reply::new(200, "ok"));
    let text = format!(
        r#"
[playbook_settings]
max_firings_per_account_per_day = 1

[[destinations]]
name = "crm"
kind = "webhook"
url = "{url}"
secret_env = "TEST_SECRET"

[[playbooks]]
name = "welcome"
trigger = {{ state = {{ stage = "onboarding" }} }}
on_enable = "matching_now"
actions = [{{ webhook = {{ destination = "crm" }} }}]

[[conversions]]
name = "paid"
milestone = "first_payment"
value = "initial_arr"
send = [{{ destination = "crm" }}]
"#,
        url = receiver.url
    );
    let w = World::with(
        Config::parse(&text, "t.toml").unwrap(),
        "2026-03-01T12:00:00Z",
    );
    w.live
        .keep_statuses(tenure_runtime::StatusKeeping::new(
            w.config.report_settings(),
            w.clock.clone(),
        ))
        .unwrap();
    w.apply(vec![mrr("acct_1", "2026-02-20T00:00:00Z", 10_000)]);
    // The conversion first, then the playbook, the same day, under a cap of one a day: the
    // playbook still fires, as the conversion is no message to the account's people.
    assert_eq!(w.conversions().pass(&w.live).unwrap(), converted(1, 0, 0));
    assert_eq!(w.actions().tick(&w.live).unwrap(), 1);
    let playbooks: Vec<String> = w
        .firings()
        .into_iter()
        .filter(|f| f.account == "acct_1")
        .map(|f| f.playbook)
        .collect();
    assert_eq!(playbooks, ["conversion:paid", "welcome"]);
}

#[test]
fn a_stage_entered_today_is_sent_once_dated_at_the_days_end() {
    let receiver = HttpReceiver::start(|_| Reply::new(200, "ok"));
    let w = World::with(
        config_with_stage(&receiver.url, "churned"),
        "2026-03-01T12:00:00Z",
    );
    w.apply(vec![
        mrr("acct_1", "2026-01-10T00:00:00Z", 10_000),
        mrr("acct_1", "2026-03-01T10:00:00Z", 0),
    ]);
    let conversions = w.conversions();
    // Churned this morning: only the day's end dates the entry, so no pass today sends it
    // (each would have named it by its own instant).
    assert_eq!(conversions.pass(&w.live).unwrap(), converted(0, 0, 0));
    w.clock.advance(std::time::Duration::from_secs(300));
    assert_eq!(conversions.pass(&w.live).unwrap(), converted(0, 0, 0));
    // Past midnight: sent once, dated at the end of the day it happened.
    w.clock.set(at("2026-03-02T00:30:00Z"));
    assert_eq!(conversions.pass(&w.live).unwrap(), converted(1, 0, 0));
    w.clock.advance(std::time::Duration::from_secs(300));
    assert_eq!(conversions.pass(&w.live).unwrap(), converted(0, 0, 0));
    let fired = w.firings();
    assert_eq!(fired.len(), 1);
    assert_eq!(
        fired[0].cause["occurred_at"], "2026-03-01T23:59:59.999Z",
        "{:?}",
        fired[0]
    );
}

fn config_with_stage(url: &str, stage: &str) -> Config {
    let text = format!(
        r#"
[[destinations]]
name = "crm"
kind = "webhook"
url = "{url}"
secret_env = "TEST_SECRET"

[[conversions]]
name = "lost"
milestone = "stage_entered"
stage = "{stage}"
send = [{{ destination = "crm" }}]
"#
    );
    Config::parse(&text, "t.toml").unwrap()
}

#[test]
fn a_correction_goes_only_where_its_conversion_was_taken() {
    let taking = HttpReceiver::start(|_| Reply::new(200, "ok"));
    let refusing = HttpReceiver::start(|_| Reply::new(400, "no such conversion action"));
    let text = format!(
        r#"
[[destinations]]
name = "crm"
kind = "webhook"
url = "{taking}"
secret_env = "TEST_SECRET"

[[destinations]]
name = "warehouse"
kind = "webhook"
url = "{refusing}"
secret_env = "TEST_SECRET"

[[conversions]]
name = "paid"
milestone = "first_payment"
value = "initial_arr"
send = [{{ destination = "crm" }}, {{ destination = "warehouse" }}]
"#,
        taking = taking.url,
        refusing = refusing.url,
    );
    let w = World::with(
        Config::parse(&text, "t.toml").unwrap(),
        "2026-03-01T12:00:00Z",
    );
    w.apply(vec![
        mrr("acct_1", "2026-01-20T00:00:00Z", 20_000),
        mrr("acct_1", "2026-02-09T00:00:00Z", 0),
    ]);
    let conversions = w.conversions();
    assert_eq!(conversions.pass(&w.live).unwrap(), converted(1, 0, 0));
    // The warehouse refuses the conversion for good; the crm takes it.
    assert_eq!(deliver_all(&w.actions()), 2);
    assert_eq!(conversions.pass(&w.live).unwrap(), converted(0, 0, 1));
    assert_eq!(deliver_all(&w.actions()), 1);
    let kinds = |r: &HttpReceiver| -> Vec<String> {
        r.requests()
            .iter()
            .map(|q| q.json()["kind"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(kinds(&taking), ["conversion", "retraction"]);
    assert_eq!(
        kinds(&refusing),
        ["conversion"],
        "no retraction of what it never took"
    );
}
