//! Every dashboard page rendered by the server on a simulated company, from the warm model:
//! the time from the request to the last byte of HTML (its reports run, the page drawn), as a
//! signed-in browser would ask it, through the whole router: the first time, again (its
//! answers kept until the model changes), and after one new event.
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
    // One new event, as the next ingest call would bring: the model changes, and every kept
    // answer with it.
    let mut arrivals = 0;
    let mut one_event = move || {
        arrivals += 1;
        let line = serde_json::json!({
            "type": "track", "event": "Report Created", "userId": format!("bench_user_{arrivals}"),
            "messageId": format!("bench-{arrivals}"), "timestamp": "2026-10-31T12:00:00Z",
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
    println!("| page | first ms | p50 ms | p95 ms | max ms | after an event ms | HTML KB | figures | not shown |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---|");
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
            println!("| `{path}` | answered {status} | | | | | | | |");
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
        times.sort_by(f64::total_cmp);
        let pct = |p: f64| times[((times.len() - 1) as f64 * p).round() as usize];
        one_event();
        let t = Instant::now();
        get(&path);
        let after_event = t.elapsed().as_secs_f64() * 1000.0;
        println!(
            "| `{path}` | {first:.0} | {:.1} | {:.1} | {:.1} | {after_event:.0} | {:.0} | {figures} | {} |",
            pct(0.5),
            pct(0.95),
            times[times.len() - 1],
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
