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

use crate::{Scope, Store, StoreError};

/// One `#[test]` per conformance check, in a module `conformance`, each on a fresh store.
///
/// `fresh` makes a new, empty store and returns `(keep, store)`: `keep` is what must outlive
/// the store (its temporary directory or test database; `()` if nothing). `reopen` opens the
/// store `keep` holds again, as a restarted process would.
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
            );

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
