//! `tenure backup` while the server takes sustained ingest: the copy, started as a data
//! directory of its own (the restore the docs describe), holds every message the server
//! acknowledged before the backup began, its keys still work, and ingest went on meanwhile.

mod common;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use common::{entries_of, Tenure};
use serde_json::json;

const CLIENTS: usize = 2;
const BATCH: usize = 25;

/// Posts batches of uniquely identified track messages until `stop`, recording each id once
/// the server acknowledged it with 200.
fn post_until(
    url: String,
    key: String,
    client: usize,
    stop: Arc<AtomicBool>,
    acked: Arc<Mutex<BTreeSet<String>>>,
) {
    let http = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let mut number = 0;
    while !stop.load(Ordering::Relaxed) {
        number += 1;
        let ids: Vec<String> = (0..BATCH)
            .map(|i| format!("backup-{client}-{number}-{i}"))
            .collect();
        let batch: Vec<_> = ids
            .iter()
            .map(|id| {
                json!({
                    "type": "track", "messageId": id, "userId": format!("u{}", number % 13),
                    "event": "Report Created", "timestamp": "2025-03-01T12:00:00.000Z"
                })
            })
            .collect();
        let response = http
            .post(format!("{url}/v1/batch"))
            .basic_auth(&key, Some(""))
            .json(&json!({ "batch": batch }))
            .send()
            .expect("the server answers");
        assert_eq!(response.status(), 200, "{:?}", response.text());
        acked.lock().unwrap().extend(ids);
    }
}

fn natural_keys(db: &std::path::Path) -> BTreeSet<String> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut query = conn.prepare("SELECT natural_key FROM log").unwrap();
    let keys = query
        .query_map([], |row| row.get::<_, String>(0))
        .unwrap()
        .map(|k| k.unwrap().strip_prefix("segment:").unwrap().to_owned())
        .collect();
    keys
}

#[test]
fn a_backup_during_sustained_ingest_restores_every_acknowledged_message() {
    let source = Tenure::new();
    let key = source.key("write");
    let read = source.key("read");
    let server = source.serve(&[]);
    let stop = Arc::new(AtomicBool::new(false));
    let acked = Arc::new(Mutex::new(BTreeSet::new()));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|client| {
            let (url, key, stop, acked) =
                (server.url.clone(), key.clone(), stop.clone(), acked.clone());
            thread::spawn(move || post_until(url, key, client, stop, acked))
        })
        .collect();
    while acked.lock().unwrap().len() < 2_000 {
        thread::sleep(Duration::from_millis(20));
    }

    // Everything acknowledged so far, then the backup, while the clients go on posting.
    let before: BTreeSet<String> = acked.lock().unwrap().clone();
    let restored = Tenure::new();
    let dest = restored.data_dir();
    let said = source.ok(&["backup", dest.to_str().unwrap()]);
    thread::sleep(Duration::from_millis(300));
    stop.store(true, Ordering::Relaxed);
    for client in clients {
        client.join().unwrap();
    }
    drop(server);
    let after = acked.lock().unwrap().clone();
    assert!(
        after.len() > before.len(),
        "ingest went on after the backup ({} acknowledged before, {} after)",
        before.len(),
        after.len()
    );

    let copied = natural_keys(&dest.join("tenure.db"));
    let lost: Vec<&String> = before.difference(&copied).collect();
    assert!(
        lost.is_empty(),
        "{} messages acknowledged before the backup are not in it, e.g. {:?}",
        lost.len(),
        lost.first()
    );
    assert!(
        copied.is_subset(&after),
        "the copy holds only messages that were sent"
    );
    assert!(
        copied.len() < after.len(),
        "the copy is as of its start, not of the end of ingest"
    );
    assert!(
        said.contains(&format!("backed up {} entries", copied.len())),
        "{said}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dest.join("tenure.db"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "the copy is its owner's only");
    }
    assert!(!dest.join("tenure.db.partial").exists());

    // Restored: a server on the copy reads it all and takes the same keys.
    assert_eq!(
        entries_of(&restored.status_json(), "track") as usize,
        copied.len()
    );
    let server = restored.serve(&[]);
    let http = reqwest::blocking::Client::new();
    let sent = http
        .post(format!("{}/v1/track", server.url))
        .basic_auth(&key, Some(""))
        .json(
            &json!({"messageId": "after-restore", "userId": "u1", "event": "Report Created",
                      "timestamp": "2025-03-02T12:00:00.000Z"}),
        )
        .send()
        .unwrap();
    assert_eq!(sent.status(), 200);
    let status = http
        .get(format!("{}/api/v1/status", server.url))
        .bearer_auth(&read)
        .send()
        .unwrap();
    assert_eq!(status.status(), 200);
    drop(server);

    // A second backup into the same directory is refused, and leaves the first alone.
    let again = source.run(&["backup", dest.to_str().unwrap()]);
    assert_eq!(again.status.code(), Some(1));
    let error = String::from_utf8_lossy(&again.stderr);
    assert!(error.contains("already holds a store"), "{error}");
    assert!(natural_keys(&dest.join("tenure.db")).contains("after-restore"));
}
