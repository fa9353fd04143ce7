use tenure_core::WorkspaceId;
use tenure_store::conformance::track;
use tenure_store::{SqliteStore, Store, StoreError};

tenure_store::conformance_tests!(
    fresh: || {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = SqliteStore::open_dir(dir.path()).expect("open");
        (dir, store)
    },
    reopen: |dir: &tempfile::TempDir| SqliteStore::open_dir(dir.path()).expect("reopen"),
);

#[test]
fn concurrent_appends_are_all_acknowledged_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = std::sync::Arc::new(SqliteStore::open_dir(dir.path()).unwrap());
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let store = store.clone();
            std::thread::spawn(move || {
                let mut stored = 0;
                for b in 0..20 {
                    let batch: Vec<tenure_core::Entry> = (0..50)
                        .map(|i| track("default", &format!("t{t}-b{b}-m{i}"), i))
                        .collect();
                    loop {
                        match store.append(batch.clone()) {
                            Ok(a) => {
                                stored += a.stored.len();
                                break;
                            }
                            Err(StoreError::Busy) => std::thread::yield_now(),
                            Err(e) => panic!("{e}"),
                        }
                    }
                }
                stored
            })
        })
        .collect();
    let total: usize = threads.into_iter().map(|t| t.join().unwrap()).sum();
    assert_eq!(total, 8 * 20 * 50);
    let log = store
        .read_log(&WorkspaceId::default_workspace(), 0, 100_000)
        .unwrap()
        .entries;
    assert_eq!(log.len(), total);
    assert!(log.windows(2).all(|w| w[0].seq < w[1].seq));
}

#[test]
fn a_newer_schema_is_refused_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tenure.db");
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", 99).unwrap();
    }
    let err = SqliteStore::open(&path).unwrap_err();
    assert!(err.to_string().contains("newer tenure"), "{err}");
}

/// A log written before the entries were counted as they are appended (schema version 3) is
/// counted once when this build opens it, and counted on from there; its workspaces are listed
/// from those counts. The later migrations (the playbooks' tables) apply on top of it.
#[test]
fn a_log_from_before_the_counts_is_counted_when_opened() {
    let dir = tempfile::tempdir().unwrap();
    let ws = WorkspaceId::default_workspace();
    {
        let store = SqliteStore::open_dir(dir.path()).unwrap();
        store
            .append(
                (0..5)
                    .map(|i| track("default", &format!("m{i}"), i))
                    .collect(),
            )
            .unwrap();
    }
    {
        let conn = rusqlite::Connection::open(dir.path().join("tenure.db")).unwrap();
        conn.execute_batch(
            "DROP TABLE log_counts; DROP TABLE firings; DROP TABLE deliveries;
             DROP TABLE delivery_attempts; DROP TABLE tasks; DROP TABLE account_owners;
             DROP TABLE leases; PRAGMA user_version = 3;",
        )
        .unwrap();
    }
    let store = SqliteStore::open_dir(dir.path()).unwrap();
    let entries = |store: &SqliteStore| -> Vec<u64> {
        store
            .log_counts(&ws)
            .unwrap()
            .iter()
            .map(|c| c.entries)
            .collect()
    };
    assert_eq!(entries(&store), [5]);
    assert_eq!(store.workspaces().unwrap(), std::slice::from_ref(&ws));
    store.append(vec![track("default", "m5", 5)]).unwrap();
    assert_eq!(entries(&store), [6]);
}

/// Several processes (here connections on threads, which SQLite locks the same way) opening a
/// new data directory at once must all succeed: the first creates the schema, the others wait
/// for it rather than failing with "table log already exists" or "database is locked".
#[test]
fn opening_a_new_directory_at_once_from_several_places_succeeds() {
    for trial in 0..10 {
        let dir = tempfile::tempdir().unwrap();
        let start = std::sync::Arc::new(std::sync::Barrier::new(4));
        let openers: Vec<_> = (0..4)
            .map(|i| {
                let (path, start) = (dir.path().to_owned(), start.clone());
                std::thread::spawn(move || {
                    start.wait();
                    let store = SqliteStore::open_dir(&path)
                        .unwrap_or_else(|e| panic!("trial {trial}, opener {i}: {e}"));
                    store
                        .append(vec![track("default", &format!("m{i}"), 1)])
                        .unwrap_or_else(|e| panic!("trial {trial}, opener {i}: {e}"));
                })
            })
            .collect();
        for opener in openers {
            opener.join().unwrap();
        }
        let store = SqliteStore::open_dir(dir.path()).unwrap();
        let ws = WorkspaceId::default_workspace();
        assert_eq!(store.read_log(&ws, 0, 10).unwrap().entries.len(), 4);
    }
}

/// An entry whose stored form this build cannot parse is listed as unreadable, and the
/// entries around it are still read: one bad entry must never stop a replay.
#[test]
fn an_unreadable_entry_is_listed_and_the_rest_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open_dir(dir.path()).unwrap();
    store
        .append(vec![
            track("default", "m1", 1),
            track("default", "m2", 2),
            track("default", "m3", 3),
        ])
        .unwrap();
    store.close();
    damage_entry(dir.path(), "segment:m2");
    let store = SqliteStore::open_dir(dir.path()).unwrap();
    let page = store
        .read_log(&WorkspaceId::default_workspace(), 0, 10)
        .unwrap();
    let seqs: Vec<i64> = page.entries.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, vec![1, 3]);
    assert_eq!(page.unreadable.len(), 1);
    assert_eq!(page.unreadable[0].seq, 2);
    assert_eq!(page.unreadable[0].kind, "track");
    assert!(page.unreadable[0].stored.contains("+12026"), "{page:?}");
}

/// Batches of `default` tracks m1..m3001 for a log that holds m0: m3 twice in the first batch,
/// m5 in the first and the third, m0 again in the third (with `also` after it), an empty batch
/// between; the first batch large enough to be prepared in parallel.
fn batches_with_repeats(also: &[tenure_core::Entry]) -> Vec<Vec<tenure_core::Entry>> {
    let mut first: Vec<_> = (1..=3_000)
        .map(|i| track("default", &format!("m{i}"), i))
        .collect();
    first.insert(10, track("default", "m3", 99_003));
    let mut third = vec![track("default", "m0", 99_000)];
    third.extend_from_slice(also);
    third.push(track("default", "m5", 99_005));
    vec![first, vec![], third, vec![track("default", "m3001", 3_001)]]
}

/// A bulk load stores what appending its batches one by one would: in order, the first entry
/// of a natural key kept (within a batch, across batches, and against the log), every other
/// counted as a duplicate.
#[test]
fn append_batches_stores_what_appending_them_in_turn_would() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open_dir(dir.path()).unwrap();
    store.append(vec![track("default", "m0", 0)]).unwrap();
    let batches = batches_with_repeats(&[]);
    let loaded = store
        .append_batches(&mut batches.into_iter(), None)
        .unwrap();
    assert_eq!(loaded.stored, 3_001);
    assert_eq!(loaded.duplicates, 3);
    let page = store
        .read_log(&WorkspaceId::default_workspace(), 0, 10_000)
        .unwrap();
    assert!(page.entries.windows(2).all(|w| w[0].seq < w[1].seq));
    let stored: Vec<(String, i64)> = page
        .entries
        .iter()
        .map(|e| match &e.entry.body {
            tenure_core::EntryBody::Segment(m) => (m.message_id.clone(), m.timestamp.millis()),
            _ => unreachable!(),
        })
        .collect();
    let expected: Vec<(String, i64)> = (0..=3_001).map(|i| (format!("m{i}"), i)).collect();
    assert_eq!(stored.len(), expected.len());
    let first_difference = stored.iter().zip(&expected).find(|(s, e)| s != e);
    assert_eq!(first_difference, None);
}

/// A bulk load that asks for its new entries gets each one once, with the seq the log gave it,
/// batch after batch in seq order, and nothing it did not store (repeats within a batch, across
/// batches, or already in the log).
#[test]
fn append_batches_hands_over_what_it_stored_with_the_seqs_of_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open_dir(dir.path()).unwrap();
    store.append(vec![track("default", "m0", 0)]).unwrap();
    let batches = batches_with_repeats(&[track("other", "m0", 5)]);
    let mut handed: Vec<Vec<tenure_core::StoredEntry>> = Vec::new();
    let mut take = |stored: Vec<tenure_core::StoredEntry>| handed.push(stored);
    let loaded = store
        .append_batches(&mut batches.into_iter(), Some(&mut take))
        .unwrap();
    assert_eq!(loaded.stored, 3_002);
    assert_eq!(loaded.duplicates, 3);
    let sizes: Vec<usize> = handed.iter().map(Vec::len).collect();
    assert_eq!(sizes, [3_000, 1, 1]);
    let handed: Vec<tenure_core::StoredEntry> = handed.into_iter().flatten().collect();
    let mut logged = store
        .read_log(&WorkspaceId::default_workspace(), 1, 10_000)
        .unwrap()
        .entries;
    logged.extend(
        store
            .read_log(&WorkspaceId::parse("other").unwrap(), 0, 10)
            .unwrap()
            .entries,
    );
    logged.sort_by_key(|e| e.seq);
    assert_eq!(handed.len(), logged.len());
    let first_difference = handed.iter().zip(&logged).find(|(h, l)| h != l);
    assert_eq!(first_difference, None);
}

/// A page is decoded in parallel tasks: the entries still come back in seq order, and the bad
/// ones are listed wherever they fall, whichever task read them.
#[test]
fn a_page_decoded_in_parallel_keeps_seq_order_and_every_unreadable_entry() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open_dir(dir.path()).unwrap();
    let entries = (1..=3_000)
        .map(|i| track("default", &format!("m{i}"), i))
        .collect();
    store.append(entries).unwrap();
    store.close();
    let damaged = [1, 700, 1_999, 3_000];
    for i in damaged {
        damage_entry(dir.path(), &format!("segment:m{i}"));
    }
    let store = SqliteStore::open_dir(dir.path()).unwrap();
    let page = store
        .read_log(&WorkspaceId::default_workspace(), 0, 10_000)
        .unwrap();
    let expected: Vec<i64> = (1..=3_000).filter(|i| !damaged.contains(i)).collect();
    let seqs: Vec<i64> = page.entries.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, expected);
    let bad: Vec<i64> = page.unreadable.iter().map(|u| u.seq).collect();
    assert_eq!(bad, damaged);
    assert!(page.entries.iter().all(|e| match &e.entry.body {
        tenure_core::EntryBody::Segment(m) => m.message_id == format!("m{}", e.seq),
        _ => false,
    }));
}

/// Writes into the log the form an earlier build stored for an instant past year 9999 (issue
/// 12): a body that no longer parses.
pub fn damage_entry(dir: &std::path::Path, natural_key: &str) {
    let conn = rusqlite::Connection::open(dir.join("tenure.db")).unwrap();
    let body: String = conn
        .query_row(
            "SELECT body FROM log WHERE natural_key = ?1",
            [natural_key],
            |r| r.get(0),
        )
        .unwrap();
    let mut value: serde_json::Value = serde_json::from_str(&body).unwrap();
    value["data"]["timestamp"] = "+12026-01-01T00:00:00.000Z".into();
    conn.execute(
        "UPDATE log SET body = ?1 WHERE natural_key = ?2",
        rusqlite::params![value.to_string(), natural_key],
    )
    .unwrap();
}

/// `status` and `report` can read a store they cannot write; the store then refuses appends
/// with a message that says why, and a missing store is named.
#[test]
fn a_store_opened_read_only_reads_and_refuses_writes() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = SqliteStore::open_dir(dir.path()).unwrap();
        store.append(vec![track("default", "m1", 1)]).unwrap();
    }
    let store = SqliteStore::open_dir_read_only(dir.path()).unwrap();
    let ws = WorkspaceId::default_workspace();
    assert_eq!(store.read_log(&ws, 0, 10).unwrap().entries.len(), 1);
    let err = store.append(vec![track("default", "m2", 2)]).unwrap_err();
    assert!(err.to_string().contains("read-only"), "{err}");
    let missing = SqliteStore::open_dir_read_only(&dir.path().join("none")).unwrap_err();
    assert!(
        missing.to_string().contains("there is no store"),
        "{missing}"
    );
}
