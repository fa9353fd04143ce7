//! The behaviour every [`Store`] backend must show, as one suite of checks.
//!
//! A backend's tests instantiate the suite with [`conformance_tests!`](crate::conformance_tests),
//! giving it a function that makes a fresh, empty store (and whatever must outlive it, such as
//! its temporary directory); that expands to one `#[test]` per check, so a failure names the
//! check. Each check panics with a message naming what broke.

use std::sync::atomic::{AtomicBool, Ordering};

use tenure_core::{
    AccountId, AccountRow, Entry, EntryBody, MessageType, SegmentMessage, Source, Timestamp,
    WorkspaceId,
};

use crate::{
    Attempted, ClaimFor, DeliveryFilter, DeliveryId, DeliveryStatus, FiringFilter, NewDelivery,
    NewFiring, NewTask, OwnerChange, Retried, Scope, Store, StoreError, TaskChange, TaskFilter,
    TaskStatus,
};

/// One `#[test]` per conformance check, in a module `conformance`, each on a fresh store.
///
/// `fresh` makes a new, empty store and returns `(keep, store)`: `keep` is what must outlive
/// the store (its temporary directory or test database; `()` if nothing). `reopen` opens the
/// store `keep` holds again, as a restarted process would; it is also called while the first
/// handle is open, as a second process (or server) on the same store would.
///
/// ```ignore
/// tenure_store::conformance_tests!(
///     fresh: || {
///         let dir = tempfile::tempdir().unwrap();
///         let store = SqliteStore::open_dir(dir.path()).unwrap();
///         (dir, store)
///     },
///     reopen: |dir: &tempfile::TempDir| SqliteStore::open_dir(dir.path()).unwrap(),
/// );
/// ```
#[macro_export]
macro_rules! conformance_tests {
    (fresh: $fresh:expr, reopen: $reopen:expr $(,)?) => {
        mod conformance {
            #[allow(unused_imports)]
            use super::*;

            $crate::conformance_tests!(@each $fresh;
                appends_in_sequence_and_reads_back,
                duplicates_are_skipped_across_and_within_calls,
                workspaces_are_isolated,
                read_log_pages,
                counts_by_kind_and_source,
                keys_are_scoped_and_hashed,
                keys_are_listed_and_revoked,
                health_history_is_replaced_by_day_and_version,
                stable_through_covers_acknowledged_appends,
                a_tail_through_stable_sees_every_entry_once,
                a_closed_store_refuses_appends_and_loses_none,
                a_firing_key_is_recorded_once_with_its_deliveries,
                firings_recorded_together_are_each_recorded_once,
                concurrent_claimers_never_share_a_delivery,
                a_claim_for_one_destination_takes_only_its_own,
                an_ended_lease_is_claimable_and_the_first_finish_refused,
                a_retry_waits_for_its_instant,
                dead_letters_are_retried_and_delivered_ones_refused,
                every_attempt_is_audited,
                results_are_kept_and_tallied_by_playbook_and_destination,
                an_open_task_is_updated_and_a_done_one_replaced,
                a_snoozed_task_is_open_again_after,
                owners_keep_their_history_and_sla,
                sla_breaches_are_the_unmet_ends,
                a_lease_has_one_holder_until_it_ends,
            );

            #[test]
            fn two_handles_never_claim_the_same_delivery() {
                let (keep, store) = ($fresh)();
                let other = ($reopen)(&keep);
                $crate::conformance::two_handles_never_claim_the_same_delivery(&store, &other);
            }

            #[test]
            fn playbook_state_survives_closing_and_reopening() {
                let (keep, store) = ($fresh)();
                $crate::conformance::playbook_state_survives_closing_and_reopening(store, || {
                    ($reopen)(&keep)
                });
            }

            #[test]
            fn entries_survive_closing_and_reopening() {
                let (keep, store) = ($fresh)();
                $crate::conformance::entries_survive_closing_and_reopening(store, || {
                    ($reopen)(&keep)
                });
            }
        }
    };
    (@each $fresh:expr; $($check:ident),+ $(,)?) => {
        $(
            #[test]
            fn $check() {
                let (_keep, store) = ($fresh)();
                $crate::conformance::$check(&store);
            }
        )+
    };
}

fn workspace(name: &str) -> WorkspaceId {
    WorkspaceId::parse(name).expect("test workspace names are valid")
}

/// A track message with the given id, for tests.
pub fn track(ws: &str, message_id: &str, at_ms: i64) -> Entry {
    Entry {
        workspace: workspace(ws),
        source: Source::Http,
        received_at: Timestamp::from_millis(at_ms),
        body: EntryBody::Segment(SegmentMessage {
            kind: MessageType::Track,
            message_id: message_id.to_owned(),
            timestamp: Timestamp::from_millis(at_ms),
            received_at: Timestamp::from_millis(at_ms),
            sent_at: None,
            original_timestamp: None,
            anonymous_id: None,
            user_id: Some(tenure_core::UserId::parse("u1").expect("valid")),
            event: Some("Logged In".to_owned()),
            name: None,
            group_id: None,
            previous_id: None,
            context: Default::default(),
            properties: Default::default(),
            traits: Default::default(),
        }),
    }
}

fn account_row(ws: &str, id: &str) -> Entry {
    Entry {
        workspace: workspace(ws),
        source: Source::Import,
        received_at: Timestamp::from_millis(1),
        body: EntryBody::Account(AccountRow {
            account_id: AccountId::parse(id).expect("valid"),
            name: Some("Acme".into()),
            domain: None,
            tier: None,
            industry: None,
            employees: None,
            csm_owner: None,
            created_at: None,
        }),
    }
}

/// Appends get increasing seqs, read back in append order, entries unchanged.
pub fn appends_in_sequence_and_reads_back(store: &dyn Store) {
    let first = store
        .append(vec![track("default", "m1", 10), track("default", "m2", 20)])
        .expect("append");
    assert_eq!(first.stored.len(), 2);
    assert_eq!(first.duplicates, 0);
    assert!(
        first.stored[0].seq < first.stored[1].seq,
        "seq must increase"
    );
    let second = store
        .append(vec![track("default", "m3", 5)])
        .expect("append");
    assert!(second.stored[0].seq > first.stored[1].seq);

    let log = store
        .read_log(&workspace("default"), 0, 100)
        .expect("read")
        .entries;
    let ids: Vec<_> = log
        .iter()
        .map(|e| match &e.entry.body {
            EntryBody::Segment(m) => m.message_id.clone(),
            other => panic!("unexpected body {other:?}"),
        })
        .collect();
    assert_eq!(ids, ["m1", "m2", "m3"], "log order is append order");
    assert_eq!(
        log[0].entry,
        track("default", "m1", 10),
        "entries round-trip"
    );
}

/// An entry whose natural key is already in its workspace, or earlier in the call, is a duplicate.
pub fn duplicates_are_skipped_across_and_within_calls(store: &dyn Store) {
    store
        .append(vec![track("default", "m1", 10)])
        .expect("append");
    let again = store
        .append(vec![
            track("default", "m1", 99),
            track("default", "m2", 10),
            track("default", "m2", 11),
        ])
        .expect("append");
    assert_eq!(again.stored.len(), 1, "only m2 is new");
    assert_eq!(again.duplicates, 2);
    let rows = store
        .append(vec![account_row("default", "a1")])
        .expect("append");
    assert_eq!(rows.stored.len(), 1);
    let rows = store
        .append(vec![account_row("default", "a1")])
        .expect("append");
    assert_eq!(
        (rows.stored.len(), rows.duplicates),
        (0, 1),
        "same row twice"
    );
    let log = store
        .read_log(&workspace("default"), 0, 100)
        .expect("read")
        .entries;
    assert_eq!(log.len(), 3);
}

/// Each workspace has its own log and natural keys; `workspaces` lists those with entries.
pub fn workspaces_are_isolated(store: &dyn Store) {
    store
        .append(vec![track("alpha", "m1", 1), track("beta", "m1", 1)])
        .expect("the same messageId in two workspaces is two entries");
    assert_eq!(
        store
            .read_log(&workspace("alpha"), 0, 10)
            .expect("read")
            .entries
            .len(),
        1
    );
    assert_eq!(
        store
            .read_log(&workspace("beta"), 0, 10)
            .expect("read")
            .entries
            .len(),
        1
    );
    assert!(store
        .read_log(&workspace("gamma"), 0, 10)
        .expect("read")
        .entries
        .is_empty());
    let names: Vec<_> = store.workspaces().expect("workspaces");
    assert_eq!(names, [workspace("alpha"), workspace("beta")]);
}

/// The log reads in pages after a seq, and `log_seqs` gives the same seqs.
pub fn read_log_pages(store: &dyn Store) {
    let entries = (0..25)
        .map(|i| track("default", &format!("m{i}"), i))
        .collect();
    store.append(entries).expect("append");
    let ws = workspace("default");
    let mut after = 0;
    let mut seen = 0;
    loop {
        let page = store.read_log(&ws, after, 10).expect("read").entries;
        if page.is_empty() {
            break;
        }
        assert!(page.len() <= 10);
        assert!(page.iter().all(|e| e.seq > after));
        let seqs = store.log_seqs(&ws, after, 10).expect("seqs");
        assert_eq!(seqs, page.iter().map(|e| e.seq).collect::<Vec<_>>());
        after = page.last().expect("non-empty").seq;
        seen += page.len();
    }
    assert_eq!(seen, 25);
}

/// Entries are counted by kind and source, sorted: those stored, not those whose key was
/// already, and only the workspace's.
pub fn counts_by_kind_and_source(store: &dyn Store) {
    store
        .append(vec![
            track("default", "m1", 1),
            track("default", "m2", 1),
            account_row("default", "a1"),
            track("other", "m1", 1),
        ])
        .expect("append");
    store
        .append_batches(
            &mut vec![vec![track("default", "m1", 1), track("other", "m3", 1)]].into_iter(),
            None,
        )
        .expect("append batches");
    let counts = store.log_counts(&workspace("default")).expect("counts");
    let flat: Vec<_> = counts
        .iter()
        .map(|c| (c.kind.as_str(), c.source.as_str(), c.entries))
        .collect();
    assert_eq!(flat, [("account", "import", 1), ("track", "http", 2)]);
    let other: Vec<u64> = store
        .log_counts(&workspace("other"))
        .expect("counts")
        .iter()
        .map(|c| c.entries)
        .collect();
    assert_eq!(other, [2]);
}

/// A key finds its workspace and scope; the store keeps no secret.
pub fn keys_are_scoped_and_hashed(store: &dyn Store) {
    let ws = workspace("default");
    let write = store.create_key(&ws, Scope::Write).expect("create");
    let read = store.create_key(&ws, Scope::Read).expect("create");
    assert_ne!(write, read);
    let found = store
        .find_key(&write)
        .expect("find")
        .expect("the key exists");
    assert_eq!((found.workspace, found.scope), (ws.clone(), Scope::Write));
    assert_eq!(
        store.find_key(&read).expect("find").expect("exists").scope,
        Scope::Read
    );
    assert!(store.find_key("tnr_w_not-a-key").expect("find").is_none());
    assert!(
        found.prefix.len() < write.len(),
        "the store keeps no secret"
    );
}

/// Keys are listed oldest first and revoked by prefix or secret, within their workspace only.
pub fn keys_are_listed_and_revoked(store: &dyn Store) {
    let ws = workspace("default");
    let other = workspace("other");
    let write = store.create_key(&ws, Scope::Write).expect("create");
    let read = store.create_key(&ws, Scope::Read).expect("create");
    let theirs = store.create_key(&other, Scope::Admin).expect("create");
    let listed = store.list_keys(&ws).expect("list");
    assert_eq!(
        listed.iter().map(|k| k.scope).collect::<Vec<_>>(),
        [Scope::Write, Scope::Read]
    );
    assert!(listed.iter().all(|k| k.revoked_at.is_none()));
    assert!(write.starts_with(&listed[0].prefix) && read.starts_with(&listed[1].prefix));
    // By listed prefix; only within the workspace.
    assert_eq!(
        store.revoke_key(&other, &listed[1].prefix).expect("revoke"),
        crate::Revoked::NotFound
    );
    assert_eq!(
        store.revoke_key(&ws, &listed[1].prefix).expect("revoke"),
        crate::Revoked::Now(listed[1].prefix.clone())
    );
    assert!(store.find_key(&read).expect("find").is_none(), "revoked");
    assert_eq!(
        store.revoke_key(&ws, &read).expect("revoke by secret"),
        crate::Revoked::Already(listed[1].prefix.clone())
    );
    // By the whole secret.
    assert!(matches!(
        store.revoke_key(&ws, &write).expect("revoke"),
        crate::Revoked::Now(_)
    ));
    assert!(store.find_key(&write).expect("find").is_none());
    let listed = store.list_keys(&ws).expect("list");
    assert!(
        listed.iter().all(|k| k.revoked_at.is_some()),
        "kept, marked"
    );
    assert!(store.find_key(&theirs).expect("find").is_some());
}

fn health_day(account: &str, day: i64, version: &str, score: f64) -> crate::HealthDay {
    crate::HealthDay {
        account: account.to_owned(),
        day: Timestamp::from_millis(day),
        version: version.to_owned(),
        score: Some(score),
        band: Some("green".to_owned()),
        stage: None,
    }
}

/// A stored day is replaced by a later write of the same account, day and version.
pub fn health_history_is_replaced_by_day_and_version(store: &dyn Store) {
    let ws = workspace("default");
    let other = workspace("other");
    let days: Vec<_> = (0..5_000)
        .map(|d| health_day("a", 1_000 + d, "v1", d as f64))
        .collect();
    store.put_health_days(&ws, &days).expect("put");
    store
        .put_health_days(
            &ws,
            &[
                health_day("a", 1_000, "v2", 77.0),
                health_day("a", 1_001, "v1", 55.5),
                health_day("b", 3_000, "v1", 10.0),
            ],
        )
        .expect("put again");
    store
        .put_health_days(&other, &[health_day("a", 9_999, "v1", 1.0)])
        .expect("put elsewhere");
    let a = store.health_days(&ws, "a").expect("read");
    assert_eq!(a.len(), 5_001, "5,000 days of v1 and one of v2");
    assert_eq!(a[0], health_day("a", 1_000, "v1", 0.0));
    assert_eq!(
        a[1],
        health_day("a", 1_000, "v2", 77.0),
        "by day, then version"
    );
    assert_eq!(
        a[2],
        health_day("a", 1_001, "v1", 55.5),
        "the later write replaced it"
    );
    assert_eq!(a[5_000], health_day("a", 5_999, "v1", 4_999.0));
    let through = store.health_days_through(&ws, "v1").expect("through");
    assert_eq!(
        through.into_iter().collect::<Vec<_>>(),
        [
            ("a".to_owned(), Timestamp::from_millis(5_999)),
            ("b".to_owned(), Timestamp::from_millis(3_000))
        ]
    );
    assert!(store
        .health_days_through(&ws, "v3")
        .expect("none")
        .is_empty());
    assert_eq!(store.health_days(&other, "b").expect("isolated"), []);
}

/// The tailing contract's promise to a quiet log (see [`Store::stable_through`]): once no
/// append is in flight, every acknowledged entry is at or below `stable_through`, which never
/// goes back, and a later append gets a seq above it.
pub fn stable_through_covers_acknowledged_appends(store: &dyn Store) {
    let empty = store.stable_through().expect("stable_through");
    let first = store
        .append(vec![track("default", "m1", 1), track("other", "m1", 1)])
        .expect("append");
    assert!(
        first.stored.iter().all(|e| e.seq > empty),
        "above what was stable before"
    );
    let stable = store.stable_through().expect("stable_through");
    assert!(
        first.stored.iter().all(|e| e.seq <= stable),
        "an acknowledged append is at or below stable_through once none is in flight: {stable} {:?}",
        first.stored
    );
    let second = store
        .append(vec![track("default", "m2", 2)])
        .expect("append");
    assert!(second.stored[0].seq > stable, "a later entry is above it");
    assert!(store.stable_through().expect("stable_through") >= second.stored[0].seq);
    assert_eq!(
        store.log_seqs(&workspace("default"), 0, 10).expect("seqs"),
        [first.stored[0].seq, second.stored[0].seq]
    );
}

/// The tailing contract under concurrent appends: a reader that reads each workspace only
/// through `stable_through` (read before the page), then takes that as its position, sees every
/// entry exactly once and in seq order. A backend where seq order is not commit order passes
/// only if `stable_through` stays below the seqs still in flight.
pub fn a_tail_through_stable_sees_every_entry_once(store: &dyn Store) {
    const WRITERS: usize = 4;
    const BATCHES: usize = 25;
    const PER_BATCH: usize = 8;
    const PAGE: usize = 16;
    let ws = workspace("default");
    let appending_done = AtomicBool::new(false);
    let (mut acknowledged, tailed) = std::thread::scope(|s| {
        let writers: Vec<_> = (0..WRITERS)
            .map(|w| {
                s.spawn(move || {
                    let mut seqs = Vec::new();
                    for b in 0..BATCHES {
                        let batch: Vec<Entry> = (0..PER_BATCH)
                            .map(|i| track("default", &format!("w{w}-b{b}-m{i}"), 1))
                            .collect();
                        loop {
                            match store.append(batch.clone()) {
                                Ok(a) => {
                                    seqs.extend(a.stored.iter().map(|e| e.seq));
                                    break;
                                }
                                Err(StoreError::Busy) => std::thread::yield_now(),
                                Err(e) => panic!("append: {e}"),
                            }
                        }
                    }
                    seqs
                })
            })
            .collect();
        let tailer = s.spawn(|| {
            let (mut position, mut seen) = (0, Vec::new());
            loop {
                // Read before `stable_through`: a pass begun after the last append covers it.
                let last_pass = appending_done.load(Ordering::SeqCst);
                let stable = store.stable_through().expect("stable_through");
                loop {
                    let page = store.read_log(&ws, position, PAGE).expect("read");
                    assert!(page.unreadable.is_empty(), "{:?}", page.unreadable);
                    let full = page.entries.len() == PAGE;
                    let below: Vec<i64> = page
                        .entries
                        .iter()
                        .map(|e| e.seq)
                        .filter(|&seq| seq <= stable)
                        .collect();
                    let more = full && below.len() == PAGE;
                    if let Some(&last) = below.last() {
                        position = last;
                    }
                    seen.extend(below);
                    if !more {
                        break;
                    }
                }
                position = position.max(stable);
                if last_pass {
                    return seen;
                }
                std::thread::yield_now();
            }
        });
        let acknowledged: Vec<i64> = writers
            .into_iter()
            .flat_map(|w| w.join().expect("writer"))
            .collect();
        appending_done.store(true, Ordering::SeqCst);
        (acknowledged, tailer.join().expect("tailer"))
    });
    assert!(
        tailed.windows(2).all(|w| w[0] < w[1]),
        "a tail sees entries in seq order, each once"
    );
    acknowledged.sort_unstable();
    assert_eq!(acknowledged.len(), WRITERS * BATCHES * PER_BATCH);
    assert_eq!(tailed, acknowledged, "a tail sees every acknowledged entry");
}

/// After [`Store::close`], an append fails as unavailable and what was acknowledged before is
/// still read.
pub fn a_closed_store_refuses_appends_and_loses_none(store: &dyn Store) {
    store
        .append(vec![track("default", "m1", 1)])
        .expect("append");
    store.close();
    let refused = store.append(vec![track("default", "m2", 1)]);
    assert!(
        matches!(refused, Err(StoreError::Unavailable(_))),
        "{refused:?}"
    );
    let log = store.read_log(&workspace("default"), 0, 10).expect("read");
    assert_eq!(log.entries.len(), 1);
}

/// What was acknowledged survives closing the store and opening it again: the entries read
/// back, a natural key is still a duplicate, and new seqs go on above the old.
pub fn entries_survive_closing_and_reopening<S: Store>(store: S, reopen: impl FnOnce() -> S) {
    store
        .append(vec![track("default", "m1", 1), track("default", "m2", 2)])
        .expect("append");
    store.close();
    drop(store);
    let store = reopen();
    let log = store
        .read_log(&workspace("default"), 0, 10)
        .expect("read")
        .entries;
    assert_eq!(log.len(), 2, "acknowledged entries survive a restart");
    let again = store
        .append(vec![track("default", "m1", 1)])
        .expect("append");
    assert_eq!(again.duplicates, 1, "idempotency holds across restarts");
    let next = store
        .append(vec![track("default", "m3", 3)])
        .expect("append");
    assert!(next.stored[0].seq > log[1].seq, "seqs go on above the old");
}

// Playbooks (issue 17): firings, the outbox, tasks, owners, leases.

fn at(ms: i64) -> Timestamp {
    Timestamp::from_millis(ms)
}

fn firing(key: &str, account: &str, fired_at: i64) -> NewFiring {
    NewFiring {
        key: format!("renewal/v1/{account}/{key}"),
        playbook: "renewal".into(),
        version: "v1".into(),
        account: account.into(),
        period: key.into(),
        fired_at: at(fired_at),
        cause: serde_json::json!({ "calendar": "contract_end - 90d" }),
    }
}

fn delivery(step: u32, destination: &str, due_at: i64) -> NewDelivery {
    NewDelivery {
        step,
        destination: destination.into(),
        kind: "webhook".into(),
        payload: serde_json::json!({ "step": step }),
        due_at: at(due_at),
    }
}

/// Records one firing of `account` with one delivery due at `due_at`; its id.
fn one_delivery(store: &dyn Store, account: &str, due_at: i64) -> DeliveryId {
    let ws = workspace("default");
    assert!(store
        .record_firing(
            &ws,
            &firing("ever", account, 1),
            &[delivery(0, "hook", due_at)]
        )
        .expect("record"));
    let filter = DeliveryFilter {
        account: Some(account.into()),
        ..Default::default()
    };
    store.deliveries(&ws, &filter).expect("deliveries")[0].id
}

/// Firings recorded together (one transaction) are each recorded once: a key already there,
/// or twice in the batch, is refused for that firing alone; a batch with a bad firing (two
/// deliveries with one step) records none of its firings.
pub fn firings_recorded_together_are_each_recorded_once(store: &dyn Store) {
    let ws = workspace("default");
    assert!(store
        .record_firing(&ws, &firing("ever", "a1", 5), &[delivery(0, "hook", 10)])
        .expect("record"));
    let batch = vec![
        (firing("ever", "a2", 6), vec![delivery(0, "hook", 10)]),
        (firing("ever", "a1", 7), vec![delivery(0, "hook", 10)]),
        (
            firing("ever", "a3", 8),
            vec![delivery(0, "hook", 10), delivery(1, "mail", 11)],
        ),
        (firing("ever", "a2", 9), vec![delivery(0, "hook", 10)]),
    ];
    assert_eq!(
        store.record_firings(&ws, &batch).expect("record together"),
        [true, false, true, false]
    );
    let deliveries = store
        .deliveries(&ws, &DeliveryFilter::default())
        .expect("deliveries");
    assert_eq!(deliveries.len(), 4, "a1's, a2's, a3's two");
    let bad = vec![
        (firing("ever", "a4", 10), vec![delivery(0, "hook", 10)]),
        (
            firing("ever", "a5", 11),
            vec![delivery(0, "hook", 10), delivery(0, "mail", 11)],
        ),
    ];
    assert!(store.record_firings(&ws, &bad).is_err());
    let accounts: Vec<String> = store
        .firings(&ws, &FiringFilter::default())
        .expect("firings")
        .into_iter()
        .map(|f| f.account)
        .collect();
    assert_eq!(accounts, ["a3", "a2", "a1"], "nothing of the bad batch");
}

/// A firing key recorded twice is stored once and its deliveries once, whatever the second
/// call brings; the same key in another workspace is another firing. Firings list newest
/// first, filtered.
pub fn a_firing_key_is_recorded_once_with_its_deliveries(store: &dyn Store) {
    let ws = workspace("default");
    let two = [delivery(0, "hook", 10), delivery(1, "slack", 20)];
    assert!(store
        .record_firing(&ws, &firing("ever", "a1", 5), &two)
        .expect("record"));
    assert!(
        !store
            .record_firing(&ws, &firing("ever", "a1", 6), &[delivery(2, "mail", 30)])
            .expect("record again"),
        "a key already recorded is refused"
    );
    assert!(store
        .record_firing(&workspace("other"), &firing("ever", "a1", 7), &two)
        .expect("another workspace"));
    assert!(store
        .record_firing(&ws, &firing("first", "a2", 8), &[])
        .expect("record"));
    let all = store
        .deliveries(&ws, &DeliveryFilter::default())
        .expect("deliveries");
    let steps: Vec<_> = all
        .iter()
        .map(|d| (d.step, d.destination.as_str()))
        .collect();
    assert_eq!(steps, [(1, "slack"), (0, "hook")], "once, newest first");
    let hook = &all[1];
    assert_eq!(
        (
            hook.status,
            hook.attempts,
            hook.next_attempt_at,
            hook.created_at
        ),
        (DeliveryStatus::Pending, 0, at(10), at(5)),
        "pending, first due at its due_at"
    );
    assert_eq!(hook.firing_key, "renewal/v1/a1/ever");
    assert_eq!(hook.payload, serde_json::json!({ "step": 0 }));
    let firings = store
        .firings(&ws, &FiringFilter::default())
        .expect("firings");
    let keys: Vec<_> = firings
        .iter()
        .map(|f| (f.account.as_str(), f.fired_at))
        .collect();
    assert_eq!(
        keys,
        [("a2", at(8)), ("a1", at(5))],
        "newest first; the first record stands"
    );
    assert_eq!(firings[1], {
        let f = firing("ever", "a1", 5);
        crate::FiringRecord {
            key: f.key,
            playbook: f.playbook,
            version: f.version,
            account: f.account,
            period: f.period,
            fired_at: f.fired_at,
            cause: f.cause,
        }
    });
    let narrowed = |filter: FiringFilter| store.firings(&ws, &filter).expect("firings").len();
    let account = |a: &str| Some(a.to_owned());
    assert_eq!(
        narrowed(FiringFilter {
            account: account("a1"),
            ..Default::default()
        }),
        1
    );
    assert_eq!(
        narrowed(FiringFilter {
            since: Some(at(6)),
            ..Default::default()
        }),
        1
    );
    assert_eq!(
        narrowed(FiringFilter {
            limit: Some(1),
            ..Default::default()
        }),
        1
    );
    assert_eq!(
        narrowed(FiringFilter {
            playbook: account("other"),
            ..Default::default()
        }),
        0
    );
    // A firing whose deliveries cannot all be stored is not stored either: all or nothing.
    let clash = [delivery(0, "hook", 1), delivery(0, "slack", 1)];
    assert!(store
        .record_firing(&ws, &firing("clash", "a3", 9), &clash)
        .is_err());
    assert_eq!(
        narrowed(FiringFilter {
            account: account("a3"),
            ..Default::default()
        }),
        0
    );
    assert!(store
        .record_firing(&ws, &firing("clash", "a3", 9), &clash[..1])
        .expect("the key is still free"));
}

/// Claims `limit` at a time until none is left, with a lease long enough not to end.
fn claim_all(store: &dyn Store, owner: &str) -> Vec<DeliveryId> {
    let mut ids = Vec::new();
    loop {
        let claimed = store
            .claim_deliveries(owner, at(1_000), 600_000, 3, ClaimFor::Any)
            .expect("claim");
        if claimed.is_empty() {
            return ids;
        }
        assert!(claimed
            .iter()
            .all(|d| d.lease.as_ref().map(|l| l.owner.as_str()) == Some(owner)));
        ids.extend(claimed.iter().map(|d| d.id));
    }
}

fn many_deliveries(store: &dyn Store, n: usize) {
    let ws = workspace("default");
    for i in 0..n {
        let steps = [
            delivery(0, "hook", i as i64),
            delivery(1, "slack", i as i64),
        ];
        assert!(store
            .record_firing(&ws, &firing("ever", &format!("a{i}"), 0), &steps)
            .expect("record"));
    }
}

fn claimed_once(mut ids: Vec<DeliveryId>, expected: usize) {
    ids.sort_unstable();
    let claimed = ids.len();
    ids.dedup();
    assert_eq!(ids.len(), claimed, "a delivery was claimed twice");
    assert_eq!(claimed, expected, "every due delivery was claimed");
}

/// Four threads claiming from one store never get the same delivery.
pub fn concurrent_claimers_never_share_a_delivery(store: &dyn Store) {
    many_deliveries(store, 60);
    let ids = std::thread::scope(|s| {
        let claimers: Vec<_> = (0..4)
            .map(|t| s.spawn(move || claim_all(store, &format!("claimer-{t}"))))
            .collect();
        claimers
            .into_iter()
            .flat_map(|c| c.join().expect("claimer"))
            .collect()
    });
    claimed_once(ids, 120);
}

/// A claim for one destination takes only that destination's deliveries, so each
/// destination's worker goes at its own pace and an outage of one delays no other; a claim
/// for none of some destinations takes the others'.
pub fn a_claim_for_one_destination_takes_only_its_own(store: &dyn Store) {
    many_deliveries(store, 5);
    let claim = |whose: ClaimFor<'_>| {
        store
            .claim_deliveries("w", at(1_000), 600_000, 100, whose)
            .expect("claim")
    };
    let hook = claim(ClaimFor::Only("hook"));
    assert_eq!(hook.len(), 5);
    assert!(hook.iter().all(|d| d.destination == "hook"));
    assert!(
        claim(ClaimFor::Only("hook")).is_empty(),
        "the hook's are leased"
    );
    assert!(claim(ClaimFor::Only("mail")).is_empty(), "none is to mail");
    let configured = ["slack".to_owned()];
    assert!(claim(ClaimFor::NoneOf(&configured)).is_empty());
    let rest = claim(ClaimFor::NoneOf(&["mail".to_owned()]));
    assert_eq!(rest.len(), 5);
    assert!(rest.iter().all(|d| d.destination == "slack"));
}

/// Two handles on one store (two processes, two servers) never claim the same delivery.
pub fn two_handles_never_claim_the_same_delivery(one: &dyn Store, two: &dyn Store) {
    many_deliveries(one, 60);
    let ids = std::thread::scope(|s| {
        let claimers: Vec<_> = [one, two, one, two]
            .into_iter()
            .enumerate()
            .map(|(t, store)| s.spawn(move || claim_all(store, &format!("process-{t}"))))
            .collect();
        claimers
            .into_iter()
            .flat_map(|c| c.join().expect("claimer"))
            .collect()
    });
    claimed_once(ids, 120);
}

/// Only due deliveries are claimed, earliest first; a leased one is not claimed again until
/// its lease ends, then it is, and the first owner's finish is refused and changes nothing.
pub fn an_ended_lease_is_claimable_and_the_first_finish_refused(store: &dyn Store) {
    let ws = workspace("default");
    let late = one_delivery(store, "late", 500);
    let early = one_delivery(store, "early", 100);
    assert!(
        store
            .claim_deliveries("a", at(99), 1_000, 10, ClaimFor::Any)
            .expect("claim")
            .is_empty(),
        "none due"
    );
    let first = store
        .claim_deliveries("a", at(1_000), 1_000, 10, ClaimFor::Any)
        .expect("claim");
    assert_eq!(
        first.iter().map(|d| d.id).collect::<Vec<_>>(),
        [early, late],
        "earliest due first"
    );
    assert_eq!(
        first[0].lease,
        Some(crate::Lease {
            owner: "a".into(),
            until: at(2_000)
        })
    );
    assert!(
        store
            .claim_deliveries("b", at(1_999), 1_000, 10, ClaimFor::Any)
            .expect("claim")
            .is_empty(),
        "leased"
    );
    let second = store
        .claim_deliveries("b", at(2_000), 1_000, 1, ClaimFor::Any)
        .expect("claim");
    assert_eq!(
        second.iter().map(|d| d.id).collect::<Vec<_>>(),
        [early],
        "the lease ended"
    );
    let delivered = Attempted::Delivered { code: Some(200) };
    assert!(
        !store
            .finish_delivery(early, "a", at(2_100), &delivered, 5)
            .expect("finish"),
        "a's lease was taken over"
    );
    assert!(
        store
            .delivery_attempts(&ws, early)
            .expect("attempts")
            .is_empty(),
        "nothing recorded"
    );
    assert!(store
        .finish_delivery(early, "b", at(2_100), &delivered, 5)
        .expect("finish"));
    // `late`'s lease ended too, but no one took it over: a's attempt still counts.
    assert!(store
        .finish_delivery(late, "a", at(2_200), &delivered, 5)
        .expect("finish"));
    assert!(
        !store
            .finish_delivery(late, "a", at(2_300), &delivered, 5)
            .expect("finish"),
        "finished once"
    );
}

/// A retry is claimable again at its instant, not before; its attempt counts.
pub fn a_retry_waits_for_its_instant(store: &dyn Store) {
    let ws = workspace("default");
    let id = one_delivery(store, "a1", 0);
    assert_eq!(
        store
            .claim_deliveries("w", at(10), 1_000, 10, ClaimFor::Any)
            .expect("claim")
            .len(),
        1
    );
    let retry = Attempted::Retry {
        code: Some(429),
        error: "throttled".into(),
        at: at(5_000),
    };
    assert!(store
        .finish_delivery(id, "w", at(20), &retry, 7)
        .expect("finish"));
    let d = &store
        .deliveries(&ws, &DeliveryFilter::default())
        .expect("list")[0];
    assert_eq!(
        (
            d.status,
            d.attempts,
            d.next_attempt_at,
            d.last_code,
            d.last_error.as_deref(),
            &d.lease
        ),
        (
            DeliveryStatus::Pending,
            1,
            at(5_000),
            Some(429),
            Some("throttled"),
            &None
        )
    );
    assert!(store
        .claim_deliveries("w", at(4_999), 1_000, 10, ClaimFor::Any)
        .expect("claim")
        .is_empty());
    let again = store
        .claim_deliveries("w", at(5_000), 1_000, 10, ClaimFor::Any)
        .expect("claim");
    assert_eq!(again.iter().map(|d| d.id).collect::<Vec<_>>(), [id]);
}

/// A dead delivery is on the dead-letter list with its reason until retried, then pending and
/// due at once; retrying a delivered one is refused; another workspace's id is not found.
pub fn dead_letters_are_retried_and_delivered_ones_refused(store: &dyn Store) {
    let ws = workspace("default");
    let id = one_delivery(store, "a1", 0);
    store
        .claim_deliveries("w", at(10), 1_000, 10, ClaimFor::Any)
        .expect("claim");
    let dead = Attempted::Dead {
        code: Some(410),
        reason: "gone: the endpoint was removed".into(),
    };
    assert!(store
        .finish_delivery(id, "w", at(20), &dead, 3)
        .expect("finish"));
    let letters = store
        .deliveries(
            &ws,
            &DeliveryFilter {
                status: Some(DeliveryStatus::Dead),
                ..Default::default()
            },
        )
        .expect("list");
    assert_eq!(letters.len(), 1);
    assert_eq!(
        letters[0].last_error.as_deref(),
        Some("gone: the endpoint was removed")
    );
    assert!(
        store
            .claim_deliveries("w", at(10_000), 1_000, 10, ClaimFor::Any)
            .expect("claim")
            .is_empty(),
        "dead"
    );
    assert_eq!(
        store
            .retry_delivery(&workspace("other"), id, at(30))
            .expect("retry"),
        Retried::NotFound
    );
    let Retried::Pending { delivery } = store.retry_delivery(&ws, id, at(30)).expect("retry")
    else {
        panic!("a dead delivery is retried");
    };
    assert_eq!(
        (delivery.status, delivery.next_attempt_at),
        (DeliveryStatus::Pending, at(30))
    );
    let claimed = store
        .claim_deliveries("w", at(30), 1_000, 10, ClaimFor::Any)
        .expect("claim");
    assert_eq!(claimed.len(), 1);
    let ok = Attempted::Delivered { code: Some(204) };
    assert!(store
        .finish_delivery(id, "w", at(40), &ok, 3)
        .expect("finish"));
    assert_eq!(
        store.retry_delivery(&ws, id, at(50)).expect("retry"),
        Retried::AlreadyDelivered {
            delivered_at: Some(at(40))
        }
    );
}

/// Every attempt is recorded in order with its outcome, code, error and duration, within its
/// workspace only.
pub fn every_attempt_is_audited(store: &dyn Store) {
    let ws = workspace("default");
    let id = one_delivery(store, "a1", 0);
    let outcomes = [
        Attempted::Retry {
            code: Some(500),
            error: "server error".into(),
            at: at(100),
        },
        Attempted::Retry {
            code: None,
            error: "timed out after 10 s".into(),
            at: at(200),
        },
        Attempted::Delivered { code: Some(200) },
    ];
    for (i, outcome) in outcomes.iter().enumerate() {
        let now = at(i as i64 * 100);
        assert_eq!(
            store
                .claim_deliveries("w", now, 50, 10, ClaimFor::Any)
                .expect("claim")
                .len(),
            1
        );
        assert!(store
            .finish_delivery(id, "w", now.plus_millis(10), outcome, 40 + i as u64)
            .expect("finish"));
    }
    let audit = store.delivery_attempts(&ws, id).expect("attempts");
    let flat: Vec<_> = audit
        .iter()
        .map(|a| {
            (
                a.attempt,
                a.at,
                a.outcome.as_str(),
                a.code,
                a.error.as_deref(),
                a.duration_ms,
            )
        })
        .collect();
    assert_eq!(
        flat,
        [
            (1, at(10), "retry", Some(500), Some("server error"), 40),
            (2, at(110), "retry", None, Some("timed out after 10 s"), 41),
            (3, at(210), "delivered", Some(200), None, 42),
        ]
    );
    let d = &store
        .deliveries(&ws, &DeliveryFilter::default())
        .expect("list")[0];
    assert_eq!(
        (
            d.status,
            d.attempts,
            d.delivered_at,
            d.last_code,
            d.last_error.as_deref()
        ),
        (DeliveryStatus::Delivered, 3, Some(at(210)), Some(200), None)
    );
    assert!(store
        .delivery_attempts(&workspace("other"), id)
        .expect("attempts")
        .is_empty());
}

fn task(account: &str, title: &str, at_ms: i64) -> NewTask {
    NewTask {
        playbook: "usage-drop".into(),
        account: account.into(),
        title: title.into(),
        owner: Some("csm@example.com".into()),
        due_at: Some(at(at_ms + 86_400_000)),
        firing_key: Some(format!("usage-drop/v1/{account}/match:{at_ms}")),
        at: at(at_ms),
    }
}

/// An open task of the same playbook and account is updated, not duplicated (an assignment by
/// hand stands); once done, the next firing creates a new one.
pub fn an_open_task_is_updated_and_a_done_one_replaced(store: &dyn Store) {
    let ws = workspace("default");
    let (id, created) = store
        .upsert_task(&ws, &task("a1", "usage dropped 40%", 10))
        .expect("upsert");
    assert!(created);
    let reassigned = store
        .update_task(
            &ws,
            id,
            &TaskChange::Assign(Some("lead@example.com".into())),
            at(15),
        )
        .expect("assign")
        .expect("the task exists");
    assert_eq!(reassigned.owner.as_deref(), Some("lead@example.com"));
    let (again, created) = store
        .upsert_task(&ws, &task("a1", "usage dropped 60%", 20))
        .expect("upsert");
    assert_eq!((again, created), (id, false), "updated, not duplicated");
    let (other, created) = store
        .upsert_task(&ws, &task("a2", "usage dropped", 20))
        .expect("upsert");
    assert!(created && other != id, "another account, another task");
    let listed = store
        .tasks(
            &ws,
            &TaskFilter {
                account: Some("a1".into()),
                ..Default::default()
            },
            at(30),
        )
        .expect("tasks");
    assert_eq!(listed.len(), 1);
    let t = &listed[0];
    assert_eq!(
        (
            t.title.as_str(),
            t.owner.as_deref(),
            t.status,
            t.created_at,
            t.updated_at
        ),
        (
            "usage dropped 60%",
            Some("lead@example.com"),
            TaskStatus::Open,
            at(10),
            at(20)
        )
    );
    assert_eq!(t.firing_key.as_deref(), Some("usage-drop/v1/a1/match:20"));
    let done = store
        .update_task(&ws, id, &TaskChange::Complete, at(40))
        .expect("complete")
        .expect("exists");
    assert_eq!(
        (done.status, done.completed_at),
        (TaskStatus::Done, Some(at(40)))
    );
    let (next, created) = store
        .upsert_task(&ws, &task("a1", "usage dropped again", 50))
        .expect("upsert");
    assert!(
        created && next != id,
        "a done task is not reopened: a new one is created"
    );
    let by_status = |status| {
        store
            .tasks(
                &ws,
                &TaskFilter {
                    status: Some(status),
                    ..Default::default()
                },
                at(60),
            )
            .expect("tasks")
            .iter()
            .map(|t| t.id)
            .collect::<Vec<_>>()
    };
    assert_eq!(by_status(TaskStatus::Done), [id]);
    assert_eq!(by_status(TaskStatus::Open), [other, next]);
    let by_owner = store
        .tasks(
            &ws,
            &TaskFilter {
                owner: Some("lead@example.com".into()),
                ..Default::default()
            },
            at(60),
        )
        .expect("tasks");
    assert_eq!(by_owner.len(), 1);
    assert_eq!(
        store
            .update_task(&ws, crate::TaskId(999_999), &TaskChange::Complete, at(70))
            .expect("update"),
        None
    );
    assert_eq!(
        store
            .update_task(&workspace("other"), id, &TaskChange::Complete, at(70))
            .expect("update"),
        None
    );
}

/// A snoozed task is listed as snoozed until its snooze ends, then as open.
pub fn a_snoozed_task_is_open_again_after(store: &dyn Store) {
    let ws = workspace("default");
    let (id, _) = store
        .upsert_task(&ws, &task("a1", "call them", 10))
        .expect("upsert");
    let snoozed = store
        .update_task(&ws, id, &TaskChange::Snooze { until: at(1_000) }, at(20))
        .expect("snooze")
        .expect("exists");
    assert_eq!(
        (snoozed.status, snoozed.snoozed_until),
        (TaskStatus::Snoozed, Some(at(1_000)))
    );
    let status_at = |now| {
        let all = store
            .tasks(&ws, &TaskFilter::default(), at(now))
            .expect("tasks");
        let open = store
            .tasks(
                &ws,
                &TaskFilter {
                    status: Some(TaskStatus::Open),
                    ..Default::default()
                },
                at(now),
            )
            .expect("tasks");
        (all[0].status, open.len())
    };
    assert_eq!(status_at(999), (TaskStatus::Snoozed, 0));
    assert_eq!(status_at(1_000), (TaskStatus::Open, 1));
    let (same, created) = store
        .upsert_task(&ws, &task("a1", "call them now", 30))
        .expect("upsert");
    assert_eq!(
        (same, created),
        (id, false),
        "a snoozed task is still the open one"
    );
}

fn handoff(account: &str, team: &str, owner: &str, at_ms: i64, sla_ms: Option<i64>) -> OwnerChange {
    OwnerChange {
        account: account.into(),
        team: team.into(),
        owner: Some(owner.into()),
        at: at(at_ms),
        sla_due: sla_ms.map(|ms| at(at_ms + ms)),
        playbook: Some("route".into()),
    }
}

/// Every change of owner is kept; the current one is the latest by instant; only the current
/// owner's SLA is met, once.
pub fn owners_keep_their_history_and_sla(store: &dyn Store) {
    let ws = workspace("default");
    store
        .set_owner(
            &ws,
            &handoff("a1", "sales", "ae@example.com", 10, Some(3_600_000)),
        )
        .expect("set");
    store
        .set_owner(&ws, &handoff("a2", "sales", "ae@example.com", 10, None))
        .expect("set");
    store
        .set_owner(
            &ws,
            &handoff("a1", "cs", "csm@example.com", 30, Some(86_400_000)),
        )
        .expect("set");
    // Recorded late, but earlier: history, not the current owner.
    store
        .set_owner(
            &ws,
            &handoff("a1", "marketing", "mops@example.com", 5, None),
        )
        .expect("set");
    let history: Vec<_> = store
        .owner_history(&ws, "a1")
        .expect("history")
        .into_iter()
        .map(|o| (o.team, o.since))
        .collect();
    assert_eq!(
        history,
        [
            ("marketing".into(), at(5)),
            ("sales".into(), at(10)),
            ("cs".into(), at(30))
        ]
    );
    let current = store.owners(&ws, None).expect("owners");
    let flat: Vec<_> = current
        .iter()
        .map(|o| (o.account.as_str(), o.team.as_str()))
        .collect();
    assert_eq!(flat, [("a1", "cs"), ("a2", "sales")]);
    assert_eq!(current[0].sla_due, Some(at(30 + 86_400_000)));
    assert!(store.meet_sla(&ws, "a1", at(40)).expect("meet"));
    assert!(
        !store.meet_sla(&ws, "a1", at(50)).expect("meet"),
        "met once"
    );
    assert!(
        !store.meet_sla(&ws, "a2", at(50)).expect("meet"),
        "no SLA to meet"
    );
    let a1 = store.owners(&ws, Some("a1")).expect("owners");
    assert_eq!(a1.len(), 1);
    assert_eq!(a1[0].sla_met_at, Some(at(40)));
    let sales = &store.owner_history(&ws, "a1").expect("history")[1];
    assert_eq!(
        sales.sla_met_at, None,
        "an earlier owner's SLA is not the current one's"
    );
    assert!(store
        .owners(&workspace("other"), None)
        .expect("owners")
        .is_empty());
}

/// The breaches are the SLAs that ended unmet in the window asked, of handoffs not superseded
/// before their end: one met in time, one not yet ended, one of another workspace, and one
/// moved on before its end are not breaches; one met late is.
pub fn sla_breaches_are_the_unmet_ends(store: &dyn Store) {
    let ws = workspace("default");
    let hour = 3_600_000;
    let set = |account: &str, team: &str, at_ms: i64, sla: Option<i64>| {
        store
            .set_owner(&ws, &handoff(account, team, "o@example.com", at_ms, sla))
            .expect("set");
    };
    set("late", "sales", 0, Some(hour)); // ends at 1h, unmet
    set("met", "sales", 0, Some(hour)); // met in time below
    set("met_late", "cs", 10, Some(hour)); // met after its end below
    set("future", "sales", 0, Some(3 * hour)); // ends after now
    set("moved", "sales", 0, Some(hour)); // superseded before its end…
    set("moved", "cs", hour / 2, None); // …by a handoff without an SLA
    set("after", "sales", 0, Some(hour)); // ends unmet, then handed on after the end
    set("after", "cs", 2 * hour, None);
    set("old", "sales", -10 * hour, Some(hour)); // ended before the window
    store
        .set_owner(
            &workspace("other"),
            &handoff("late", "sales", "o@example.com", 0, Some(hour)),
        )
        .expect("set");
    assert!(store.meet_sla(&ws, "met", at(hour - 1)).expect("meet"));
    assert!(store.meet_sla(&ws, "met_late", at(2 * hour)).expect("meet"));
    let breaches = store
        .sla_breaches(&ws, at(-hour), at(2 * hour + 30))
        .expect("breaches");
    let found: Vec<(&str, &str, Timestamp, Option<Timestamp>)> = breaches
        .iter()
        .map(|b| (b.account.as_str(), b.team.as_str(), b.since, b.sla_due))
        .collect();
    assert_eq!(
        found,
        [
            ("after", "sales", at(0), Some(at(hour))),
            ("late", "sales", at(0), Some(at(hour))),
            ("met_late", "cs", at(10), Some(at(hour + 10))),
        ]
    );
    assert_eq!(breaches[2].sla_met_at, Some(at(2 * hour)));
    assert!(
        store
            .sla_breaches(&ws, at(hour + 10), at(2 * hour))
            .expect("breaches")
            .is_empty(),
        "the window is (since, now]"
    );
}

/// A lease has one holder: another is refused until it ends; the holder renews it; a released
/// lease is free at once. Of many takers at one instant, exactly one wins.
pub fn a_lease_has_one_holder_until_it_ends(store: &dyn Store) {
    assert!(store
        .take_lease("scheduler", "a", at(0), 1_000)
        .expect("take"));
    assert!(
        !store
            .take_lease("scheduler", "b", at(999), 1_000)
            .expect("take"),
        "held by a"
    );
    assert!(
        store
            .take_lease("scheduler", "a", at(900), 1_000)
            .expect("renew"),
        "renewed to 1,900"
    );
    assert!(
        !store
            .take_lease("scheduler", "b", at(1_500), 1_000)
            .expect("take"),
        "renewed"
    );
    assert!(
        store
            .take_lease("other", "b", at(1_500), 1_000)
            .expect("take"),
        "leases are by name"
    );
    assert!(
        store
            .take_lease("scheduler", "b", at(1_900), 1_000)
            .expect("take"),
        "it ended"
    );
    assert!(
        !store
            .take_lease("scheduler", "a", at(2_000), 1_000)
            .expect("take"),
        "b's now"
    );
    assert!(
        !store.release_lease("scheduler", "a").expect("release"),
        "a holds nothing"
    );
    assert!(store.release_lease("scheduler", "b").expect("release"));
    let winners: usize = std::thread::scope(|s| {
        let takers: Vec<_> = (0..8)
            .map(|t| {
                s.spawn(move || store.take_lease("scheduler", &format!("t{t}"), at(2_000), 1_000))
            })
            .collect();
        takers
            .into_iter()
            .map(|t| usize::from(t.join().expect("taker").expect("take")))
            .sum()
    });
    assert_eq!(winners, 1, "exactly one of eight takers holds it");
}

/// Firings, deliveries with their leases and attempts, tasks, owners and leases survive
/// closing the store and opening it again; a recorded key is still refused.
pub fn playbook_state_survives_closing_and_reopening<S: Store>(
    store: S,
    reopen: impl FnOnce() -> S,
) {
    let ws = workspace("default");
    let first = one_delivery(&store, "a1", 0);
    let second = one_delivery(&store, "a2", 0);
    store
        .claim_deliveries("w", at(10), 1_000, 1, ClaimFor::Any)
        .expect("claim");
    let retry = Attempted::Retry {
        code: Some(503),
        error: "unavailable".into(),
        at: at(1_030),
    };
    assert!(store
        .finish_delivery(first, "w", at(20), &retry, 9)
        .expect("finish"));
    store
        .claim_deliveries("w", at(30), 1_000, 1, ClaimFor::Any)
        .expect("claim second");
    let (task_id, _) = store
        .upsert_task(&ws, &task("a1", "call", 10))
        .expect("task");
    store
        .set_owner(&ws, &handoff("a1", "cs", "csm@example.com", 10, Some(100)))
        .expect("owner");
    assert!(store
        .take_lease("scheduler", "a", at(0), 10_000)
        .expect("lease"));
    let deliveries = store
        .deliveries(&ws, &DeliveryFilter::default())
        .expect("list");
    let firings = store
        .firings(&ws, &FiringFilter::default())
        .expect("firings");
    store.close();
    drop(store);

    let store = reopen();
    assert_eq!(
        store
            .firings(&ws, &FiringFilter::default())
            .expect("firings"),
        firings
    );
    assert_eq!(
        store
            .deliveries(&ws, &DeliveryFilter::default())
            .expect("list"),
        deliveries
    );
    assert_eq!(
        store.delivery_attempts(&ws, first).expect("attempts").len(),
        1
    );
    assert!(
        !store
            .record_firing(&ws, &firing("ever", "a1", 1), &[delivery(0, "hook", 0)])
            .expect("record"),
        "a recorded key is refused after a restart"
    );
    assert!(
        store
            .claim_deliveries("x", at(1_029), 1_000, 10, ClaimFor::Any)
            .expect("claim")
            .is_empty(),
        "the second's lease and the first's retry instant survive"
    );
    let claimed: Vec<_> = store
        .claim_deliveries("x", at(1_030), 1_000, 10, ClaimFor::Any)
        .expect("claim")
        .iter()
        .map(|d| d.id)
        .collect();
    assert_eq!(claimed, [second, first], "earliest due first");
    let tasks = store
        .tasks(&ws, &TaskFilter::default(), at(20))
        .expect("tasks");
    assert_eq!(tasks.iter().map(|t| t.id).collect::<Vec<_>>(), [task_id]);
    assert_eq!(
        store.owners(&ws, Some("a1")).expect("owners")[0].sla_due,
        Some(at(110))
    );
    assert!(
        !store
            .take_lease("scheduler", "b", at(5_000), 1_000)
            .expect("lease"),
        "still a's"
    );
}

/// What a destination made of each delivery is kept as its result (a duplicate or unmatched
/// answer is delivered, an expired conversion is dead, a retry has none yet), and the tally
/// counts a prefix's deliveries by playbook, destination, status, result and reason.
pub fn results_are_kept_and_tallied_by_playbook_and_destination(store: &dyn Store) {
    let ws = workspace("default");
    let conversion = |rule: &str, account: &str| NewFiring {
        key: format!("conversion:{rule}/{account}/first"),
        playbook: format!("conversion:{rule}"),
        version: "1".into(),
        account: account.into(),
        period: "first".into(),
        fired_at: at(5),
        cause: serde_json::json!({ "kind": "conversion" }),
    };
    let accounts = ["a1", "a2", "a3", "a4", "a5", "a6"];
    for account in accounts {
        assert!(store
            .record_firing(&ws, &conversion("paid", account), &[delivery(0, "meta", 0)])
            .expect("record"));
    }
    // Another rule, a playbook and another workspace stay out of the tally.
    store
        .record_firing(&ws, &conversion("renewed", "a1"), &[delivery(0, "meta", 0)])
        .expect("record");
    store
        .record_firing(&ws, &firing("ever", "a1", 5), &[delivery(0, "meta", 0)])
        .expect("record");
    store
        .record_firing(
            &workspace("other"),
            &conversion("paid", "a1"),
            &[delivery(0, "meta", 0)],
        )
        .expect("record");
    let outcomes = [
        Attempted::Delivered { code: Some(200) },
        Attempted::Duplicate { code: Some(200) },
        Attempted::Unmatched {
            code: Some(200),
            reason: "CLICK_NOT_FOUND".into(),
        },
        Attempted::Dead {
            code: Some(400),
            reason: "bad em".into(),
        },
        Attempted::Expired {
            reason: "older than 7 days".into(),
        },
        Attempted::Retry {
            code: Some(503),
            error: "busy".into(),
            at: at(1_000),
        },
    ];
    let claimed = store
        .claim_deliveries("w", at(10), 50, 100, ClaimFor::Only("meta"))
        .expect("claim");
    for (account, outcome) in accounts.iter().zip(&outcomes) {
        let filter = DeliveryFilter {
            account: Some((*account).into()),
            playbook: Some("conversion:paid".into()),
            ..Default::default()
        };
        let id = store.deliveries(&ws, &filter).expect("deliveries")[0].id;
        assert!(claimed.iter().any(|d| d.id == id));
        assert!(store
            .finish_delivery(id, "w", at(11), outcome, 5)
            .expect("finish"));
        let d = store
            .deliveries(&ws, &filter)
            .expect("deliveries")
            .remove(0);
        assert_eq!(d.status, outcome.status(), "{outcome:?}");
        assert_eq!(d.result.as_deref(), outcome.result(), "{outcome:?}");
    }
    let tally = store.delivery_tally(&ws, "conversion:paid").expect("tally");
    type Row<'a> = (
        &'a str,
        &'a str,
        DeliveryStatus,
        Option<&'a str>,
        Option<&'a str>,
        u64,
    );
    let flat: Vec<Row> = tally
        .iter()
        .map(|t| {
            (
                t.playbook.as_str(),
                t.destination.as_str(),
                t.status,
                t.result.as_deref(),
                t.reason.as_deref(),
                t.count,
            )
        })
        .collect();
    let paid = "conversion:paid";
    assert_eq!(
        flat,
        vec![
            (
                paid,
                "meta",
                DeliveryStatus::Dead,
                Some("expired"),
                Some("older than 7 days"),
                1
            ),
            (
                paid,
                "meta",
                DeliveryStatus::Dead,
                Some("rejected"),
                Some("bad em"),
                1
            ),
            (
                paid,
                "meta",
                DeliveryStatus::Delivered,
                Some("accepted"),
                None,
                1
            ),
            (
                paid,
                "meta",
                DeliveryStatus::Delivered,
                Some("duplicate"),
                None,
                1
            ),
            (
                paid,
                "meta",
                DeliveryStatus::Delivered,
                Some("unmatched"),
                None,
                1
            ),
            (paid, "meta", DeliveryStatus::Pending, None, None, 1),
        ]
    );
    assert!(tally.iter().all(|t| t.latest == at(5)));
    // Every rule at once.
    let all: u64 = store
        .delivery_tally(&ws, "conversion:")
        .expect("tally")
        .iter()
        .map(|t| t.count)
        .sum();
    assert_eq!(all, 7);
}
