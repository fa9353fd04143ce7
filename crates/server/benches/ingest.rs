//! Sustained HTTP ingest of 100-message batches with unique messageIds and durable acks, then
//! the same rows appended straight to the same kind of store, reported as a ratio.
//!
//! `cargo bench -p tenure-server --bench ingest` (or `bench/ingest.sh`). Client and server
//! share the machine, as they would on a one-box install; compare the ratios, not the absolutes.
//! Environment: `BENCH_SECONDS` (default 15) per phase, `BENCH_CLIENTS` (default 16).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tenure_config::Config;
use tenure_core::{Entry, EntryBody, Source, Timestamp, WorkspaceId};
use tenure_ingest::segment::{Endpoint, Envelope};
use tenure_runtime::Live;
use tenure_server::{AppState, Application};
use tenure_store::{Scope, SqliteStore, Store};

const BATCH: usize = 100;

// The same allocator as the `tenure` binary, so the figures are the binary's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// One realistic message: a mix of pages with UTMs, product tracks, identifies and groups.
fn message(n: u64) -> String {
    let user = n % 50_000;
    let account = user / 8;
    match n % 10 {
        0..=3 => format!(
            r#"{{"type":"page","messageId":"bench-{n}","anonymousId":"anon-{user}","timestamp":"2025-03-01T12:00:00.000Z","context":{{"page":{{"url":"https://www.acme.io/pricing?utm_source=google&utm_medium=cpc&utm_campaign=brand_{c}&gclid=Cj0KCQ{n}","referrer":"https://www.google.com/","title":"Pricing","path":"/pricing"}},"userAgent":"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36","ip":"203.0.113.7","library":{{"name":"analytics.js","version":"5.2.0"}}}},"properties":{{"title":"Pricing","url":"https://www.acme.io/pricing"}}}}"#,
            c = n % 12
        ),
        4..=7 => format!(
            r#"{{"type":"track","messageId":"bench-{n}","userId":"user-{user}","event":"Report Created","timestamp":"2025-03-01T12:00:00.000Z","context":{{"groupId":"acct-{account}","library":{{"name":"analytics-node","version":"2.1.0"}}}},"properties":{{"report":"mrr","rows":{r},"duration_ms":{d}}}}}"#,
            r = n % 997,
            d = n % 4000
        ),
        8 => format!(
            r#"{{"type":"identify","messageId":"bench-{n}","userId":"user-{user}","anonymousId":"anon-{user}","timestamp":"2025-03-01T12:00:00.000Z","traits":{{"email":"user{user}@acct{account}.example.com","name":"User {user}","title":"Head of Growth"}}}}"#
        ),
        _ => format!(
            r#"{{"type":"group","messageId":"bench-{n}","userId":"user-{user}","groupId":"acct-{account}","timestamp":"2025-03-01T12:00:00.000Z","traits":{{"name":"Account {account}","plan":"growth","seats":25,"industry":"software"}}}}"#
        ),
    }
}

fn batch_body(first: u64) -> String {
    let mut body = String::with_capacity(BATCH * 600);
    body.push_str(r#"{"sentAt":"2025-03-01T12:00:00.000Z","batch":["#);
    for i in 0..BATCH as u64 {
        if i > 0 {
            body.push(',');
        }
        body.push_str(&message(first + i));
    }
    body.push_str("]}");
    body
}

struct Phase {
    messages: u64,
    elapsed: Duration,
    latencies_ms: Vec<f64>,
}

impl Phase {
    fn rate(&self) -> f64 {
        self.messages as f64 / self.elapsed.as_secs_f64()
    }

    fn percentile(&self, p: f64) -> f64 {
        let mut sorted = self.latencies_ms.clone();
        sorted.sort_by(f64::total_cmp);
        if sorted.is_empty() {
            return f64::NAN;
        }
        sorted[((sorted.len() - 1) as f64 * p).round() as usize]
    }
}

/// Sends batches from `clients` tasks for `seconds`; with `rate`, each task is paced.
async fn load(
    url: &str,
    key: &str,
    clients: usize,
    seconds: u64,
    rate: Option<f64>,
    counter: Arc<AtomicU64>,
) -> Phase {
    let client = reqwest::Client::new();
    let start = Instant::now();
    let deadline = start + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let client = client.clone();
        let url = format!("{url}/v1/batch");
        let key = key.to_owned();
        let counter = counter.clone();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut sent = 0u64;
            let interval = rate.map(|r| Duration::from_secs_f64(BATCH as f64 * clients as f64 / r));
            let mut next = Instant::now();
            while Instant::now() < deadline {
                if let Some(interval) = interval {
                    tokio::time::sleep_until(next.into()).await;
                    next += interval;
                }
                let first = counter.fetch_add(BATCH as u64, Ordering::Relaxed);
                let body = batch_body(first);
                let t0 = Instant::now();
                let response = client
                    .post(&url)
                    .basic_auth(&key, Some(""))
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await
                    .expect("request");
                assert_eq!(response.status(), 200, "{:?}", response.text().await);
                latencies.push(t0.elapsed().as_secs_f64() * 1000.0);
                sent += BATCH as u64;
            }
            (sent, latencies)
        }));
    }
    let mut phase = Phase {
        messages: 0,
        elapsed: Duration::ZERO,
        latencies_ms: Vec::new(),
    };
    for task in tasks {
        let (sent, latencies) = task.await.expect("client task");
        phase.messages += sent;
        phase.latencies_ms.extend(latencies);
    }
    phase.elapsed = start.elapsed();
    phase
}

/// The same rows, parsed once outside the timing, appended straight to a fresh store.
fn raw_inserts(clients: usize, batches: u64) -> Phase {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Arc::new(SqliteStore::open_dir(dir.path()).expect("store"));
    let received_at = Timestamp::from_millis(1_740_830_400_000);
    let ws = WorkspaceId::default_workspace();
    let prepared: Vec<Vec<Entry>> = (0..batches)
        .map(|b| {
            let body = batch_body(b * BATCH as u64);
            Envelope::parse(Endpoint::Batch, body.as_bytes(), &Default::default())
                .and_then(|e| e.into_messages(received_at))
                .expect("valid batch")
                .into_iter()
                .map(|m| Entry {
                    workspace: ws.clone(),
                    source: Source::Http,
                    received_at,
                    body: EntryBody::Segment(m),
                })
                .collect()
        })
        .collect();
    let queue = Arc::new(std::sync::Mutex::new(prepared));
    let start = Instant::now();
    let threads: Vec<_> = (0..clients)
        .map(|_| {
            let queue = queue.clone();
            let store = store.clone();
            std::thread::spawn(move || {
                let mut latencies = Vec::new();
                loop {
                    let Some(batch) = queue.lock().expect("queue").pop() else {
                        break;
                    };
                    let t0 = Instant::now();
                    loop {
                        match store.append(batch.clone()) {
                            Ok(_) => break,
                            Err(tenure_store::StoreError::Busy) => std::thread::yield_now(),
                            Err(e) => panic!("{e}"),
                        }
                    }
                    latencies.push(t0.elapsed().as_secs_f64() * 1000.0);
                }
                latencies
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for t in threads {
        latencies.extend(t.join().expect("thread"));
    }
    Phase {
        messages: batches * BATCH as u64,
        elapsed: start.elapsed(),
        latencies_ms: latencies,
    }
}

fn main() {
    let seconds: u64 = std::env::var("BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(15);
    let clients: usize = std::env::var("BENCH_CLIENTS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(16);
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let (max, paced, dir_size) = runtime.block_on(async {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Arc::new(SqliteStore::open_dir(dir.path()).expect("store"));
        let key = store
            .create_key(&WorkspaceId::default_workspace(), Scope::Write)
            .expect("key");
        let config = Arc::new(Config::default());
        let live = Arc::new(Live::empty(config.engine()));
        live.start_applier();
        let dyn_store: Arc<dyn Store> = store.clone();
        let app = Application::build(
            "127.0.0.1:0".parse().unwrap(),
            AppState::new(dyn_store, live, config),
        )
        .await
        .expect("bind");
        let url = format!("http://{}", app.local_addr().unwrap());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(app.run(async {
            let _ = stopped.await;
        }));
        let counter = Arc::new(AtomicU64::new(0));
        let max = load(&url, &key, clients, seconds, None, counter.clone()).await;
        let paced = load(
            &url,
            &key,
            clients,
            seconds,
            Some(max.rate() / 2.0),
            counter,
        )
        .await;
        let _ = stop.send(());
        let _ = server.await;
        let size = std::fs::metadata(dir.path().join("tenure.db"))
            .map(|m| m.len())
            .unwrap_or(0)
            + std::fs::metadata(dir.path().join("tenure.db-wal"))
                .map(|m| m.len())
                .unwrap_or(0);
        (max, paced, size)
    });
    let raw = raw_inserts(clients, max.messages / BATCH as u64);

    println!("| phase | messages | seconds | messages/s | p50 batch ms | p99 batch ms |");
    println!("|---|---:|---:|---:|---:|---:|");
    for (name, p) in [
        ("HTTP, as fast as possible", &max),
        ("HTTP, paced at half that rate", &paced),
        ("raw Store::append, same rows", &raw),
    ] {
        println!(
            "| {name} | {} | {:.1} | {:.0} | {:.1} | {:.1} |",
            p.messages,
            p.elapsed.as_secs_f64(),
            p.rate(),
            p.percentile(0.5),
            p.percentile(0.99)
        );
    }
    println!();
    println!(
        "HTTP ingest / raw append throughput: {:.2}",
        max.rate() / raw.rate()
    );
    println!(
        "store size after HTTP phases: {:.1} MB for {} messages",
        dir_size as f64 / 1e6,
        max.messages + paced.messages
    );
    println!("clients: {clients}, batch: {BATCH} messages, phase length: {seconds} s");
}
