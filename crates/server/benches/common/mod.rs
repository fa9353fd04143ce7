//! What the benches share: a simulated company stored in a fresh embedded store.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::sync::Arc;
use std::time::Instant;

use tenure_core::{Currency, Entry, EntryBody, Source, Timestamp, WorkspaceId};
use tenure_ingest::csv::{read_csv, CsvKind};
use tenure_ingest::segment::{parse_message, Limits};
use tenure_store::{SqliteStore, Store};

/// The bench setting `name` from the environment (`BENCH_RUNS=5`), or `default`.
pub fn setting<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// Simulates `accounts` accounts over 24 months to 2026-11-01 (seed 42) and appends every
/// file to a new store under `dir`; returns the store and how many entries it holds.
pub fn simulated_store(dir: &std::path::Path, accounts: usize) -> (Arc<SqliteStore>, u64) {
    let end = chrono::NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
    let config = tenure_sim::SimConfig {
        accounts,
        months: 24,
        seed: 42,
        end,
    };
    let t = Instant::now();
    tenure_sim::simulate(&config, &dir.join("sim"), |_| {}).expect("simulate");
    eprintln!(
        "simulated {accounts} accounts in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let store = Arc::new(SqliteStore::open_dir(&dir.join("store")).expect("store"));
    let t = Instant::now();
    let entries = load(&store, &dir.join("sim"));
    eprintln!(
        "stored {entries} entries in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    (store, entries)
}

fn load(store: &SqliteStore, dir: &std::path::Path) -> u64 {
    let ws = WorkspaceId::default_workspace();
    // A day after the simulation ends (2026-11-01): an event is never imported before it happened.
    let received_at = Timestamp::from_millis(1_793_577_600_000);
    let mut batch = Vec::with_capacity(10_000);
    let mut total = 0u64;
    let mut flush = |batch: &mut Vec<Entry>| {
        total += batch.len() as u64;
        store.append(std::mem::take(batch)).expect("append");
    };
    let entry = |body| Entry {
        workspace: ws.clone(),
        source: Source::Import,
        received_at,
        body,
    };
    for (name, kind) in [
        ("accounts.csv", CsvKind::Accounts),
        ("subscriptions.csv", CsvKind::Subscriptions),
        ("deals.csv", CsvKind::Deals),
        ("spend.csv", CsvKind::Spend),
        ("touchpoints.csv", CsvKind::Touchpoints),
    ] {
        for row in read_csv(
            kind,
            File::open(dir.join(name)).expect("sim file"),
            Currency::USD,
        )
        .expect("header")
        {
            batch.push(entry(row.expect("valid row").body));
            if batch.len() == 10_000 {
                flush(&mut batch);
            }
        }
    }
    for line in BufReader::new(File::open(dir.join("events.ndjson")).expect("events")).lines() {
        let m = parse_message(
            line.expect("line").as_bytes(),
            received_at,
            &Limits::default(),
        )
        .expect("valid event");
        batch.push(entry(EntryBody::Segment(m)));
        if batch.len() == 10_000 {
            flush(&mut batch);
        }
    }
    flush(&mut batch);
    total
}
