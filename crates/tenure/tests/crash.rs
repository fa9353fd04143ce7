//! Crash and restart: the real `tenure serve` under sustained batch ingest is killed with
//! SIGKILL several times and restarted on the same data directory. Every `messageId` the server
//! acknowledged with 200 must be in the log exactly once, and nothing is stored twice, including
//! the batches that were in flight at a kill and sent again to the next server (as SDKs retry).
//!
//! The log is checked in the SQLite file itself (one row per natural key `segment:<messageId>`)
//! and through `tenure status`, which must still read the whole log after the crashes.

mod common;

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use common::{entries_of, Tenure};
use serde_json::{json, Value};

/// Server lifetimes: each but the last ends in a SIGKILL.
const LIFETIMES: usize = 5;
/// How long each server takes load before its kill; they vary so kills fall at different
/// points of a group commit.
const UPTIMES_MS: [u64; LIFETIMES] = [2_000, 1_500, 2_500, 1_800, 1_200];
/// Clients posting at once, so several requests are in flight at each kill.
const CLIENTS: usize = 3;
const BATCH: usize = 40;

/// What the clients saw: ids acknowledged with 200, every id ever sent, and how many requests
/// got no answer (in flight at a kill, or sent to a server already gone) and were sent again.
#[derive(Debug, Default)]
struct Seen {
    acked: BTreeSet<String>,
    sent: BTreeSet<String>,
    resent: usize,
}

/// A batch's message ids and its request body.
type Batch = (Vec<String>, Vec<u8>);

/// A batch of `BATCH` track messages with unique ids.
fn batch(client: usize, number: usize) -> Batch {
    let ids: Vec<String> = (0..BATCH)
        .map(|i| format!("crash-{client}-{number}-{i}"))
        .collect();
    let messages: Vec<Value> = ids
        .iter()
        .map(|id| {
            json!({
                "type": "track", "messageId": id, "userId": format!("u{}", number % 17),
                "event": "Report Created", "timestamp": "2025-03-01T12:00:00.000Z",
                "properties": {"client": client, "number": number}
            })
        })
        .collect();
    let body = serde_json::to_vec(&json!({ "batch": messages })).unwrap();
    (ids, body)
}

/// Posts batches to `url` until `stop`; a batch that got no 200 is sent again (to this server
/// or, after a kill, to the next one). Returns the batch left unacknowledged, if any.
fn post_until(
    url: &str,
    key: &str,
    client: usize,
    next: &mut usize,
    pending: Option<Batch>,
    stop: &AtomicBool,
    seen: &Mutex<Seen>,
) -> Option<Batch> {
    let http = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let mut pending = pending;
    while !stop.load(Ordering::Relaxed) {
        let (ids, body) = pending.take().unwrap_or_else(|| {
            *next += 1;
            batch(client, *next)
        });
        seen.lock().unwrap().sent.extend(ids.iter().cloned());
        let answer = http
            .post(format!("{url}/v1/batch"))
            .basic_auth(key, Some(""))
            .header("Content-Type", "application/json")
            .body(body.clone())
            .send();
        match answer {
            Ok(response) if response.status() == 200 => {
                seen.lock().unwrap().acked.extend(ids);
            }
            Ok(response) => {
                let status = response.status();
                panic!("the server answered {status}: {:?}", response.text());
            }
            Err(_) => {
                // Killed mid-request, or not listening any more: retry with the next server.
                seen.lock().unwrap().resent += 1;
                pending = Some((ids, body));
                thread::sleep(Duration::from_millis(20));
            }
        }
    }
    pending
}

#[test]
fn every_acknowledged_message_survives_sigkill_exactly_once() {
    let t = Tenure::new();
    let key = t.key("write");
    let seen = Arc::new(Mutex::new(Seen::default()));
    // Per client: the last batch number used and the batch left unacknowledged.
    let mut clients: Vec<(usize, Option<Batch>)> = vec![(0, None); CLIENTS];
    let started = Instant::now();
    let mut acked_before = 0;

    for (lifetime, uptime) in UPTIMES_MS.iter().enumerate() {
        let server = t.serve(&[]);
        let stop = Arc::new(AtomicBool::new(false));
        let handles: Vec<_> = clients
            .drain(..)
            .enumerate()
            .map(|(client, (mut next, pending))| {
                let (url, key, stop, seen) =
                    (server.url.clone(), key.clone(), stop.clone(), seen.clone());
                thread::spawn(move || {
                    let pending = post_until(&url, &key, client, &mut next, pending, &stop, &seen);
                    (next, pending)
                })
            })
            .collect();
        thread::sleep(Duration::from_millis(*uptime));
        let last = lifetime + 1 == LIFETIMES;
        if last {
            stop.store(true, Ordering::Relaxed);
        }
        // Dropping the server kills it with SIGKILL (`Child::kill`) and reaps it, while the
        // clients are still posting (except in the last lifetime, which drains first).
        if !last {
            drop(server);
            stop.store(true, Ordering::Relaxed);
            clients = handles.into_iter().map(|h| h.join().unwrap()).collect();
        } else {
            clients = handles.into_iter().map(|h| h.join().unwrap()).collect();
            drop(server);
        }
        let acked = seen.lock().unwrap().acked.len();
        assert!(
            acked > acked_before,
            "lifetime {lifetime}: no batch was acknowledged"
        );
        acked_before = acked;
    }
    let seen = seen.lock().unwrap();
    assert!(
        clients.iter().all(|(_, pending)| pending.is_none()),
        "the last server took every batch left over"
    );
    assert!(seen.resent > 0, "no request was cut off by a kill");

    // The log, row by row: each acknowledged id exactly once, no key twice, nothing unsent.
    let conn = rusqlite::Connection::open(t.data_dir().join("tenure.db")).unwrap();
    let integrity: String = conn
        .query_row("PRAGMA integrity_check", [], |row| row.get(0))
        .unwrap();
    assert_eq!(integrity, "ok");
    let mut rows: HashMap<String, u64> = HashMap::new();
    let mut query = conn
        .prepare("SELECT natural_key, COUNT(*) FROM log GROUP BY workspace, natural_key")
        .unwrap();
    for row in query
        .query_map([], |row| {
            Ok((row.get::<_, String>(0)?, row.get::<_, u64>(1)?))
        })
        .unwrap()
    {
        let (natural_key, count) = row.unwrap();
        let id = natural_key
            .strip_prefix("segment:")
            .unwrap_or_else(|| panic!("an entry nobody sent: {natural_key}"));
        assert!(seen.sent.contains(id), "an id nobody sent: {id}");
        assert_eq!(count, 1, "{id} is stored {count} times");
        rows.insert(id.to_owned(), count);
    }
    let lost: Vec<&String> = seen
        .acked
        .iter()
        .filter(|id| !rows.contains_key(*id))
        .collect();
    assert!(
        lost.is_empty(),
        "{} acknowledged messages were lost, such as {:?}",
        lost.len(),
        lost.first()
    );
    let total: u64 = conn
        .query_row("SELECT COUNT(*) FROM log", [], |row| row.get(0))
        .unwrap();
    drop(query);
    drop(conn);
    // Every batch was retried until acknowledged, so what is stored is what was acknowledged.
    assert_eq!(total, seen.acked.len() as u64);

    // And tenure itself reads the whole log back after the crashes.
    let status = t.status_json();
    assert_eq!(status["entries"].as_u64(), Some(total), "{status}");
    assert_eq!(entries_of(&status, "track"), total, "{status}");
    eprintln!(
        "crash test: {} messages acknowledged over {LIFETIMES} lifetimes ({} SIGKILLs), {} requests sent again, {} stored, {:.1} s",
        seen.acked.len(),
        LIFETIMES - 1,
        seen.resent,
        total,
        started.elapsed().as_secs_f64()
    );
}
