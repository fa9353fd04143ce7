use tenure_core::WorkspaceId;
use tenure_store::conformance::{self, track};
use tenure_store::{SqliteStore, Store, StoreError};

#[test]
fn sqlite_passes_the_conformance_suite() {
    let dirs = std::cell::RefCell::new(Vec::new());
    conformance::run_all(|| {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = SqliteStore::open_dir(dir.path()).expect("open");
        dirs.borrow_mut().push(dir);
        store
    });
}

#[test]
fn entries_survive_closing_and_reopening() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = SqliteStore::open_dir(dir.path()).unwrap();
        store.append(vec![track("default", "m1", 1)]).unwrap();
    }
    let store = SqliteStore::open_dir(dir.path()).unwrap();
    let ws = WorkspaceId::default_workspace();
    assert_eq!(store.read_log(&ws, 0, 10).unwrap().len(), 1);
    let again = store.append(vec![track("default", "m1", 1)]).unwrap();
    assert_eq!(again.duplicates, 1, "idempotency holds across restarts");
}

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
        .unwrap();
    assert_eq!(log.len(), total);
    assert!(log.windows(2).all(|w| w[0].seq < w[1].seq));
}

#[test]
fn a_closed_store_refuses_writes_without_losing_any() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open_dir(dir.path()).unwrap();
    store.append(vec![track("default", "m1", 1)]).unwrap();
    store.close();
    let err = store.append(vec![track("default", "m2", 1)]).unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err}");
    let ws = WorkspaceId::default_workspace();
    assert_eq!(store.read_log(&ws, 0, 10).unwrap().len(), 1);
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
