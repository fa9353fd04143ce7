//! Every dashboard page rendered by the server on a simulated company, from the warm model:
//! the time from the request to the last byte of HTML (its reports run, the page drawn), as a
//! signed-in browser would ask it, through the whole router: the first time, again (its
//! answers kept until the model changes), and *live*: as a workspace whose data reaches the
//! present is seen, each request after a new event on a customer's account and at a new
//! instant (its default `as_of` is now), so that no kept answer serves it.
//!
//! `cargo bench -p tenure-server --bench dashboard` (or `bench/dashboard.sh`).
//! Environment: `BENCH_ACCOUNTS` (default 20000), `BENCH_RUNS` per page (default 20),
//! `BENCH_PAGES` (comma-separated parts of paths to keep; default all).

mod common;

use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::http::{header, Request};
use http_body_util::BodyExt;
use tenure_config::Config;
use tenure_core::WorkspaceId;
use tenure_runtime::Live;
use tenure_server::{router, AppState};
use tenure_store::{Scope, Store};
use tower::ServiceExt;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let accounts: usize = common::setting("BENCH_ACCOUNTS", 20_000);
    let runs: usize = common::setting("BENCH_RUNS", 20);
    let dir = tempfile::tempdir().expect("temp dir");
    let (store, entries) = common::simulated_store(dir.path(), accounts);
    let config = Config::default();
    let live = Arc::new(Live::rebuild(store.as_ref(), config.engine(), |_| {}).expect("rebuild"));
    let (writer, applier) = (Arc::clone(&store), Arc::clone(&live));
    // One new event on `account`, as the next ingest call would bring: the model and the
    // account's facts change, and every kept answer goes.
    let mut arrivals = 0;
    let mut one_event = move |account: &str| {
        arrivals += 1;
        let line = serde_json::json!({
            "type": "track", "event": "Report Created", "userId": format!("bench_user_{arrivals}"),
            "messageId": format!("bench-{arrivals}"), "timestamp": "2026-10-31T12:00:00Z",
            "context": {"groupId": account},
        })
        .to_string();
        let message = tenure_ingest::segment::parse_message(
            line.as_bytes(),
            tenure_core::Timestamp::parse("2026-10-31T12:00:01Z").unwrap(),
            &Default::default(),
        )
        .expect("a track call");
        let entry = tenure_core::Entry {
            workspace: WorkspaceId::default_workspace(),
            source: tenure_core::Source::Http,
            received_at: tenure_core::Timestamp::parse("2026-10-31T12:00:01Z").unwrap(),
            body: tenure_core::EntryBody::Segment(message),
        };
        applier.apply(&writer.append(vec![entry]).expect("append").stored);
    };
    let ws = WorkspaceId::default_workspace();
    let key = store.create_key(&ws, Scope::Read).expect("key");
    let store: Arc<dyn Store> = store;
    let state = AppState::new(store, live, Arc::new(config));
    let cookie = format!(
        "tenure_session={}",
        state.sessions.open(key.clone(), ws.clone())
    );
    let app = router(state);
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let read_key = key.clone();
    let get = |path: &str| {
        // A page with the session's cookie; the API with the key it was opened with.
        let request = if path.starts_with("/api/") {
            Request::get(path).header(header::AUTHORIZATION, format!("Bearer {read_key}"))
        } else {
            Request::get(path).header(header::COOKIE, &cookie)
        }
        .body(Body::empty())
        .unwrap();
        let app = app.clone();
        runtime.block_on(async move {
            let response = app.oneshot(request).await.unwrap();
            let status = response.status();
            let body = response.into_body().collect().await.unwrap().to_bytes();
            (status, body)
        })
    };
    // A campaign and an account of this company, for the drill-downs.
    let (_, accounts_page) = get("/accounts");
    let text = String::from_utf8_lossy(&accounts_page);
    let account = text
        .split("href=\"/accounts/")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap_or("acct_000001")
        .to_owned();

    println!("company: {accounts} accounts, {entries} log entries; {runs} runs per page");
    println!();
    println!("| page | first ms | again p50 ms | again p95 ms | live p50 ms | live p95 ms | live max ms | HTML KB | figures | not shown |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|");
    // Live instants: a second apart, as "now" moves, on the day after the one the data
    // reaches (the default instant is its end): as a workspace whose data reaches the present
    // sees them, never going back.
    let mut second = 0;
    let mut next_instant = move || {
        second += 1;
        tenure_core::Timestamp::parse("2026-11-01T12:00:00Z")
            .unwrap()
            .plus_millis(second * 1000)
            .to_string()
    };
    let mut pages: Vec<String> = tenure_dashboard::PAGES
        .iter()
        .filter(|p| p.in_menu)
        .map(|p| p.path.to_owned())
        .collect();
    pages.extend([
        "/attribution?by=campaign&compare=on".to_owned(),
        "/survival?by=channel".to_owned(),
        format!("/accounts/{account}"),
        "/attribution/campaign?campaign=spring_launch".to_owned(),
    ]);
    // The reports of the slowest pages alone, through the API: what the page adds is the rest.
    let only: Option<Vec<String>> = std::env::var("BENCH_PAGES")
        .ok()
        .map(|s| s.split(',').map(str::to_owned).collect());
    pages.extend(
        ["signals", "renewals", "forecast", "accounts", "churn-model"]
            .map(|r| format!("/api/v1/reports/{r}")),
    );
    if let Some(only) = only {
        pages.retain(|p| only.iter().any(|o| p.contains(o.as_str())));
    }
    for path in pages {
        // The first request runs the page's reports on the warm model; the next ones find
        // their answers kept (`Live::report`) until the model changes.
        let t = Instant::now();
        let (status, first_body) = get(&path);
        let first = t.elapsed().as_secs_f64() * 1000.0;
        if !status.is_success() {
            println!("| `{path}` | answered {status} | | | | | | | | |");
            continue;
        }
        let html = String::from_utf8_lossy(&first_body);
        let figures = html.matches("data-keys=").count();
        // What a page says instead of a figure (a report that could not answer).
        let missing: Vec<String> = html
            .split("class=\"missing\"")
            .skip(1)
            .map(|s| {
                let text = s.split_once('>').map_or("", |(_, t)| t);
                let text = text.split("</div>").next().unwrap_or("");
                text.replace("<strong>", "")
                    .replace("</strong>", "")
                    .chars()
                    .take(80)
                    .collect()
            })
            .collect();
        let mut times = Vec::with_capacity(runs);
        let mut size = 0;
        for _ in 0..runs {
            let t = Instant::now();
            let (_, body) = get(&path);
            times.push(t.elapsed().as_secs_f64() * 1000.0);
            size = body.len();
        }
        let again = Percentiles::of(times);
        let mut live = Vec::with_capacity(runs);
        for _ in 0..runs {
            one_event(&account);
            let separator = if path.contains('?') { '&' } else { '?' };
            let at = format!("{path}{separator}as_of={}", next_instant());
            let t = Instant::now();
            let (status, _) = get(&at);
            live.push(t.elapsed().as_secs_f64() * 1000.0);
            assert!(status.is_success(), "{at}: {status}");
        }
        let live = Percentiles::of(live);
        println!(
            "| `{path}` | {first:.0} | {:.1} | {:.1} | {:.0} | {:.0} | {:.0} | {:.0} | {figures} | {} |",
            again.p50,
            again.p95,
            live.p50,
            live.p95,
            live.max,
            size as f64 / 1024.0,
            missing.join("; ")
        );
    }
    let assets: usize = tenure_dashboard::assets::ASSETS
        .iter()
        .map(|a| a.bytes.len())
        .sum();
    println!();
    println!(
        "assets every page loads: {:.0} KB ({} files)",
        assets as f64 / 1024.0,
        tenure_dashboard::assets::ASSETS.len()
    );
}

struct Percentiles {
    p50: f64,
    p95: f64,
    max: f64,
}

impl Percentiles {
    fn of(mut times: Vec<f64>) -> Self {
        times.sort_by(f64::total_cmp);
        let at = |p: f64| times[((times.len() - 1) as f64 * p).round() as usize];
        Self {
            p50: at(0.5),
            p95: at(0.95),
            max: times[times.len() - 1],
        }
    }
}
