//! How soon an acknowledged event shows in its account's live status, under sustained ingest;
//! and how long scoring every account of the company takes (what `tenure serve` does at start
//! and on each periodic refresh).
//!
//! A simulated company is stored and replayed; the server keeps statuses as `tenure serve`
//! does; clients send 100-event batches of product events for the company's customers at a
//! fixed rate over HTTP. For every event, the latency is from its batch's acknowledgement to
//! the first status of its account whose latest product event is at or after the event's
//! time (zero when the status was already there when the acknowledgement arrived).
//!
//! Meanwhile the stored daily health history catches up from nothing (every paying day of every
//! account, as a server's first pass over an existing log does), so the latencies include it.
//!
//! `cargo bench -p tenure-server --bench live` (or `bench/live.sh`).
//! Environment: `BENCH_ACCOUNTS` (default 10000), `BENCH_RATE` events/s (default 10000),
//! `BENCH_SECONDS` (default 20), `BENCH_CLIENTS` (default 8), `BENCH_HISTORY` (default 1; 0
//! leaves the history out), `BENCH_FUNNEL` (default none; `turns` runs the `funnel` report over
//! and over during the load, taking the model in turns as the HTTP API does, and `whole` the
//! same under one read lock for the whole report, to compare), `BENCH_PLAYBOOKS` (default 0;
//! N runs N playbooks as `tenure serve` does: one fires a task and a signed webhook to a
//! receiver on loopback on every "Export Failed" event, which one event in a hundred is, and
//! N − 1 watch signals and stages; the latency from an event's acknowledgement to its firing,
//! and the deliveries per second after the load, are measured).

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tenure_config::Config;
use tenure_core::{Timestamp, WorkspaceId};
use tenure_runtime::{Actions, Live, StatusKeeping, SystemClock};
use tenure_server::{AppState, Application};
use tenure_store::{Scope, Store};

const BATCH: usize = 100;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// One status as the observer saw it: the account's latest product event, and when.
struct Seen {
    last_activity: i64,
    at: Instant,
}

/// One batch as a client saw it: its events (account index, time), when it was sent and when
/// it was acknowledged.
struct Sent {
    events: Vec<(usize, i64)>,
    sent: Instant,
    acked: Instant,
    /// The acknowledgement on the wall clock, which firings are recorded by.
    acked_ms: i64,
    /// The message id of its "Export Failed" event.
    firing_event: String,
}

/// `n` playbooks: one on every "Export Failed" event (a task each), and `n − 1` on signals
/// raised and stages entered, each a task, so every status change is evaluated against them.
fn playbooks_config(n: usize, receiver: &str) -> String {
    let mut text = format!(
        "[playbook_settings]\nmax_firings_per_account_per_day = 1000000\n\n[[destinations]]\nname = \"receiver\"\nkind = \"webhook\"\nurl = \"{receiver}\"\nsecret_env = \"BENCH_WEBHOOK_SECRET\"\n\n[[playbooks]]\nname = \"export_failed\"\ntrigger = {{ event = \"Export Failed\" }}\nlimit = {{ every_match = true }}\nactions = [{{ task = {{ title = \"Export failed for {{{{ account.name }}}}\" }} }}, {{ webhook = {{ destination = \"receiver\" }} }}]\n",
    );
    let watched = [
        "signal_raised = \"usage_drop\"",
        "signal_raised = \"no_activity\"",
        "signal_cleared = \"no_activity\"",
        "signal_raised = \"seat_utilization\"",
        "signal_raised = \"advocate_ready\"",
        "stage_entered = \"at_risk\"",
        "stage_entered = \"expanding\"",
        "stage_left = \"onboarding\"",
        "milestone = \"activated\"",
    ];
    for i in 1..n {
        text.push_str(&format!(
            "\n[[playbooks]]\nname = \"watch_{i}\"\ntrigger = {{ {} }}\nlimit = {{ once_per = \"30d\" }}\nactions = [{{ task = {{ title = \"Look at {{{{ account.name }}}}\" }} }}]\n",
            watched[i % watched.len()]
        ));
    }
    text
}

/// An HTTP receiver on loopback: reads each request (headers, then the body its length
/// gives), answers 200 and counts it. Its URL, and the count.
fn receiver() -> (String, Arc<std::sync::atomic::AtomicUsize>) {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind the receiver");
    let url = format!("http://{}/hook", listener.local_addr().expect("address"));
    let count = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = Arc::clone(&count);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().expect("stream"));
            let (mut line, mut length) = (String::new(), 0usize);
            while reader.read_line(&mut line).is_ok_and(|n| n > 0) {
                let header = line.trim_end().to_ascii_lowercase();
                if header.is_empty() {
                    break;
                }
                if let Some(v) = header.strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
                line.clear();
            }
            let mut body = vec![0; length];
            if reader.read_exact(&mut body).is_ok() {
                counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let answer = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
                let _ = stream.write_all(answer.as_bytes());
            }
        }
    });
    (url, count)
}

fn now_ms() -> i64 {
    Timestamp::from_datetime(chrono::Utc::now()).millis()
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn main() {
    let accounts = common::setting::<u64>("BENCH_ACCOUNTS", 10_000) as usize;
    let rate = common::setting::<u64>("BENCH_RATE", 10_000) as f64;
    let seconds = common::setting::<u64>("BENCH_SECONDS", 20);
    let clients = common::setting::<u64>("BENCH_CLIENTS", 8) as usize;
    let with_history = common::setting::<u64>("BENCH_HISTORY", 1) == 1;
    let playbooks = common::setting::<u64>("BENCH_PLAYBOOKS", 0) as usize;
    let funnel_mode = std::env::var("BENCH_FUNNEL").unwrap_or_default();

    let dir = tempfile::tempdir().expect("temp dir");
    let (store, entries) = common::simulated_store(dir.path(), accounts);
    // The receiver the event playbook's webhooks go to: it reads each request and answers 200.
    let (receiver, received) = receiver();
    let config = Arc::new(if playbooks > 0 {
        Config::parse(&playbooks_config(playbooks, &receiver), "bench.toml").expect("playbooks")
    } else {
        Config::default()
    });
    let t = Instant::now();
    let live = Arc::new(Live::rebuild(store.as_ref(), config.engine(), |_| {}).expect("rebuild"));
    let rebuild = t.elapsed().as_secs_f64();

    // Every status the server computes, by account, with the instant it was computed.
    let seen: Arc<Mutex<HashMap<String, Vec<Seen>>>> = Arc::default();
    let log = Arc::clone(&seen);
    let actions = (playbooks > 0).then(|| {
        let dyn_store: Arc<dyn Store> = store.clone();
        Arc::new(
            Actions::new(
                config.playbooks().expect("playbooks"),
                config.report_settings(),
                dyn_store,
                Arc::new(SystemClock),
                &|name| (name == "BENCH_WEBHOOK_SECRET").then(|| "whsec_bench".to_owned()),
            )
            .expect("the receiver's secret is given"),
        )
    });
    if let Some(actions) = &actions {
        actions.start(&live);
    }
    let to_actions = actions.as_ref().map(|a| a.observer());
    let t = Instant::now();
    live.keep_statuses(StatusKeeping {
        settings: config.report_settings(),
        clock: Arc::new(SystemClock),
        entries: actions.as_ref().map(|a| a.entry_observer()),
        observer: Some(Box::new(move |ws, status| {
            if let Some(to_actions) = &to_actions {
                to_actions(ws, status);
            }
            let at = Instant::now();
            if let Some(last) = status.last_activity {
                log.lock()
                    .expect("seen")
                    .entry(status.account.as_str().to_owned())
                    .or_default()
                    .push(Seen {
                        last_activity: last.millis(),
                        at,
                    });
            }
        })),
    })
    .expect("valid stage rules");
    let score_all = t.elapsed().as_secs_f64();
    // The periodic refresh, for what time alone changes: the clock has moved on, the customers'
    // day ends kept by the first scoring are not evaluated again.
    let t = Instant::now();
    live.refresh_statuses();
    let refresh = t.elapsed().as_secs_f64();
    let ws = WorkspaceId::default_workspace();
    // The customers: accounts paying now.
    let customers: Vec<String> = live
        .read(&ws, |m| {
            m.account_ids()
                .map(|a| a.as_str().to_owned())
                .collect::<Vec<_>>()
        })
        .into_iter()
        .filter(|a| {
            let id = tenure_core::AccountId::parse(a).unwrap();
            live.status(&ws, &id)
                .is_some_and(|s| s.mrr.as_f64().unwrap_or(0.0) > 0.0)
        })
        .collect();
    let scored = live.read(&ws, |m| m.account_ids().count());
    seen.lock().expect("seen").clear();
    live.start_applier();

    let key = store.create_key(&ws, Scope::Write).expect("key");
    // The history's first catch-up, on a thread of its own while the load runs.
    let history = with_history.then(|| {
        let (live, store) = (live.clone(), store.clone());
        std::thread::spawn(move || {
            let t = Instant::now();
            let days = live.record_history(store.as_ref()).expect("history");
            (days, t.elapsed().as_secs_f64())
        })
    });
    // The funnel, again and again until the load ends, as a reader of the API would run it.
    let stop_funnel = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let funnel = ["turns", "whole"].contains(&funnel_mode.as_str()).then(|| {
        let in_turns = funnel_mode == "turns";
        let (live, settings, stop) = (live.clone(), config.report_settings(), stop_funnel.clone());
        let ws = ws.clone();
        std::thread::spawn(move || {
            let params =
                tenure_reports::ReportParams::at(Timestamp::from_datetime(chrono::Utc::now()));
            let mut runs = Vec::new();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let t = Instant::now();
                if in_turns {
                    let with_model: tenure_reports::WithModel = &|f| live.read(&ws, |m| f(m));
                    let limits = tenure_reports::Limits {
                        now: params.as_of,
                        should_stop: &|| false,
                    };
                    tenure_reports::run_in_turns("funnel", with_model, &settings, &params, limits)
                } else {
                    live.read(&ws, |m| {
                        tenure_reports::run("funnel", m, &settings, &params)
                    })
                }
                .expect("funnel");
                runs.push(t.elapsed().as_secs_f64());
            }
            runs
        })
    });
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let sent: Vec<Sent> = runtime.block_on(async {
        let dyn_store: Arc<dyn Store> = store.clone();
        let app = Application::build(
            "127.0.0.1:0".parse().unwrap(),
            AppState::new(dyn_store, live.clone(), config.clone()),
        )
        .await
        .expect("bind");
        let url = format!("http://{}/v1/batch", app.local_addr().unwrap());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(app.run(async {
            let _ = stopped.await;
        }));
        let client = reqwest::Client::new();
        let customers = Arc::new(customers.clone());
        let interval = Duration::from_secs_f64(BATCH as f64 * clients as f64 / rate);
        let deadline = Instant::now() + Duration::from_secs(seconds);
        let mut tasks = Vec::new();
        for c in 0..clients {
            let (client, url, key, customers) =
                (client.clone(), url.clone(), key.clone(), customers.clone());
            tasks.push(tokio::spawn(async move {
                let mut out = Vec::new();
                // Clients start spread over one interval, so batches arrive evenly.
                let mut next = Instant::now() + interval.mul_f64(c as f64 / clients as f64);
                let mut n = c;
                while next < deadline {
                    tokio::time::sleep_until(next.into()).await;
                    next += interval;
                    let at = now_ms();
                    let mut events = Vec::with_capacity(BATCH);
                    let mut body = String::from(r#"{"batch":["#);
                    for i in 0..BATCH {
                        n = n.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                        let a = (n >> 33) % customers.len();
                        if i > 0 {
                            body.push(',');
                        }
                        // One event in a hundred is the one a playbook fires on.
                        let event = if i == 0 { "Export Failed" } else { "Report Created" };
                        body.push_str(&format!(
                            r#"{{"type":"track","messageId":"live-{c}-{at}-{i}","userId":"live-user-{a}","event":"{event}","timestamp":"{}","context":{{"groupId":"{}"}}}}"#,
                            Timestamp::from_millis(at),
                            customers[a]
                        ));
                        events.push((a, at));
                    }
                    body.push_str("]}");
                    let started = Instant::now();
                    let response = client
                        .post(&url)
                        .basic_auth(&key, Some(""))
                        .header("content-type", "application/json")
                        .body(body)
                        .send()
                        .await
                        .expect("request");
                    let acked = Instant::now();
                    let acked_ms = now_ms();
                    assert_eq!(response.status(), 200);
                    out.push(Sent {
                        events,
                        sent: started,
                        acked,
                        acked_ms,
                        firing_event: format!("live-{c}-{at}-0"),
                    });
                }
                out
            }));
        }
        let mut sent = Vec::new();
        for t in tasks {
            sent.extend(t.await.expect("client"));
        }
        // Let the applier finish what is queued.
        tokio::time::sleep(Duration::from_secs(2)).await;
        let _ = stop.send(());
        let _ = server.await;
        sent
    });

    stop_funnel.store(true, std::sync::atomic::Ordering::Relaxed);
    let funnel = funnel.map(|f| f.join().expect("funnel thread"));
    let seen = seen.lock().expect("seen");
    let mut latencies = Vec::new();
    let mut missing = 0usize;
    for batch in &sent {
        for &(a, at) in &batch.events {
            let shown = seen
                .get(&customers[a])
                .and_then(|v| v.iter().find(|s| s.last_activity >= at));
            match shown {
                Some(s) => latencies
                    .push(s.at.saturating_duration_since(batch.acked).as_secs_f64() * 1000.0),
                None => missing += 1,
            }
        }
    }
    latencies.sort_by(f64::total_cmp);
    let mut acks: Vec<f64> = sent
        .iter()
        .map(|s| s.acked.duration_since(s.sent).as_secs_f64() * 1000.0)
        .collect();
    acks.sort_by(f64::total_cmp);
    let history = history.map(|h| h.join().expect("history thread"));
    let events = sent.len() * BATCH;
    let first = sent.iter().map(|s| s.acked).min().expect("sent");
    let last = sent.iter().map(|s| s.acked).max().expect("sent");
    let span = last.duration_since(first).as_secs_f64();
    println!(
        "company: {accounts} accounts ({} customers), {entries} log entries; rebuild {rebuild:.1} s",
        customers.len()
    );
    println!(
        "scoring every account ({scored} accounts; those that ever paid get a status; {} workers): {score_all:.2} s",
        rayon::current_num_threads()
    );
    println!("refreshing every status again, a moment later: {refresh:.2} s");
    println!(
        "ingest: {events} events in {} batches of {BATCH} from {clients} clients, target {rate:.0} events/s, acknowledged at {:.0} events/s over {span:.1} s",
        sent.len(),
        events as f64 / span
    );
    match history {
        Some((days, secs)) => println!(
            "stored daily health history during the load: {days} account-days in {secs:.1} s"
        ),
        None => println!("no health history written during the load"),
    }
    if let Some(runs) = &funnel {
        println!(
            "funnel reports run during the load (model taken {}): {} ({})",
            if funnel_mode == "turns" {
                "in turns"
            } else {
                "whole, under one read lock"
            },
            runs.len(),
            runs.iter()
                .map(|s| format!("{s:.1} s"))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let mut firing_row = None;
    if let Some(actions) = &actions {
        // What the playbooks thread has not yet taken from its queue, it takes now.
        std::thread::sleep(Duration::from_secs(2));
        let all = store
            .firings(&ws, &tenure_store::FiringFilter::default())
            .expect("firings");
        // The event playbook's firings by the message id their key ends with.
        let fired_at: HashMap<&str, i64> = all
            .iter()
            .filter(|f| f.playbook == "export_failed")
            .filter_map(|f| Some((f.key.rsplit_once("match:event:")?.1, f.fired_at.millis())))
            .collect();
        let mut firing: Vec<f64> = Vec::new();
        let mut never = 0;
        for batch in &sent {
            match fired_at.get(batch.firing_event.as_str()) {
                Some(at) => firing.push((at - batch.acked_ms).max(0) as f64),
                None => never += 1,
            }
        }
        firing.sort_by(f64::total_cmp);
        let t = Instant::now();
        let mut delivered = 0;
        loop {
            let n = actions.deliver().expect("deliver");
            if n == 0 {
                break;
            }
            delivered += n;
        }
        let secs = t.elapsed().as_secs_f64();
        let webhooks = received.load(std::sync::atomic::Ordering::SeqCst);
        println!(
            "playbooks: {playbooks}; firings recorded: {} ({} of the event playbook); delivered after the load: {delivered} in {secs:.1} s ({:.0}/s), of which {webhooks} signed webhooks answered by the receiver on loopback",
            all.iter().filter(|f| f.account != "*").count(),
            fired_at.len(),
            delivered as f64 / secs.max(1e-9)
        );
        firing_row = (!firing.is_empty()).then(|| {
            format!(
                "| acknowledgement → firing recorded (event playbook) | {:.1} | {:.1} | {:.1} | {:.1} | {never} |",
                percentile(&firing, 0.5),
                percentile(&firing, 0.9),
                percentile(&firing, 0.99),
                firing[firing.len() - 1]
            )
        });
    }
    println!("| latency | p50 ms | p90 ms | p99 ms | max ms | events never shown |");
    println!("|---|---:|---:|---:|---:|---:|");
    println!(
        "| acknowledgement → status | {:.1} | {:.1} | {:.1} | {:.1} | {missing} |",
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.9),
        percentile(&latencies, 0.99),
        latencies[latencies.len() - 1]
    );
    println!(
        "| request → acknowledgement (batch of {BATCH}) | {:.1} | {:.1} | {:.1} | {:.1} | |",
        percentile(&acks, 0.5),
        percentile(&acks, 0.9),
        percentile(&acks, 0.99),
        acks[acks.len() - 1]
    );
    if let Some(row) = firing_row {
        println!("{row}");
    }
}
