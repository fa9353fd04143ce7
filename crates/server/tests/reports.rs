//! The report API's answers at its limits (issue 12): instants far from the data are the
//! caller's 400, a report past its time budget is stopped and answered 503 `report_timeout`, an
//! amount in a currency without a rate is a warning rather than an error, and a problem of the
//! data is not the caller's 400.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use base64::Engine as _;
use http_body_util::BodyExt;
use serde_json::Value;
use tenure_config::Config;
use tenure_core::{
    AccountId, Currency, Entry, EntryBody, Money, Source, SubscriptionRow, Timestamp, WorkspaceId,
};
use tenure_runtime::Live;
use tenure_server::{router, AppState};
use tenure_store::{Scope, SqliteStore, Store};
use tower::ServiceExt;

struct TestApp {
    _dir: tempfile::TempDir,
    state: AppState,
    read_key: String,
}

impl TestApp {
    /// A server over a store holding `bodies`, applied to its model.
    fn new(config: Config, bodies: Vec<EntryBody>) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(SqliteStore::open_dir(dir.path()).unwrap());
        let ws = WorkspaceId::default_workspace();
        let read_key = store.create_key(&ws, Scope::Read).unwrap();
        let live = Arc::new(Live::empty(config.engine()));
        let entries = bodies
            .into_iter()
            .map(|body| Entry {
                workspace: ws.clone(),
                source: Source::Import,
                received_at: Timestamp::parse("2026-01-01T00:00:00Z").unwrap(),
                body,
            })
            .collect();
        live.apply(&store.append(entries).unwrap().stored);
        let dyn_store: Arc<dyn Store> = store;
        Self {
            _dir: dir,
            state: AppState::new(dyn_store, live, Arc::new(config)),
            read_key,
        }
    }

    async fn get(&self, path: &str) -> (StatusCode, HeaderMap, Value) {
        let basic = base64::engine::general_purpose::STANDARD.encode(format!("{}:", self.read_key));
        let request = Request::get(path)
            .header("authorization", format!("Basic {basic}"))
            .body(Body::empty())
            .unwrap();
        let response = router(self.state.clone()).oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        (
            status,
            headers,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }
}

fn sub(account: &str, at: &str, mrr: Money) -> EntryBody {
    EntryBody::Subscription(SubscriptionRow {
        account_id: AccountId::parse(account).unwrap(),
        effective_at: Timestamp::parse(at).unwrap(),
        mrr,
        plan: None,
        seats: None,
    })
}

fn usd(cents: i64) -> Money {
    Money::new(cents, Currency::USD)
}

/// `n` customers paying since 2015: a funnel over them scores about 4,000 days each.
fn long_customers(n: usize) -> Vec<EntryBody> {
    (0..n)
        .map(|i| sub(&format!("acct-{i}"), "2015-01-01", usd(10_000)))
        .collect()
}

#[tokio::test]
async fn instants_far_from_the_data_are_a_400_naming_the_parameter_and_the_range() {
    let app = TestApp::new(Config::default(), long_customers(3));
    for (path, parameter) in [
        ("/api/v1/reports/funnel?as_of=9999-12-31", "as_of"),
        ("/api/v1/reports/cohorts?as_of=9999-12-31", "as_of"),
        ("/api/v1/reports/mrr?from=0001-01-01", "from"),
        ("/api/v1/reports/mrr?to=9999-12-31", "to"),
        ("/api/v1/reports/health-backtest?from=0001-01-01", "from"),
    ] {
        let (status, _, body) = app.get(path).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {body}");
        assert_eq!(body["code"], "invalid_parameter", "{path}");
        let message = body["message"].as_str().unwrap();
        assert!(
            message.starts_with(&format!("{parameter}: ")) && message.contains(" to "),
            "{path}: {message}"
        );
        // The range starts ten years before the first payment.
        assert!(
            message.contains("2005-01-01T00:00:00.000Z to "),
            "{path}: {message}"
        );
    }
    let (status, _, body) = app.get("/api/v1/reports/funnel?as_of=2025-06-30").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["summary"]["customers"], 3);
    assert_eq!(body["warnings"], serde_json::json!([]));
}

#[tokio::test]
async fn a_report_past_its_budget_is_stopped_and_answered_503() {
    let config = Config::parse("[server]\nreport_timeout_seconds = 0.001\n", "test").unwrap();
    let app = TestApp::new(config, long_customers(200));
    let started = std::time::Instant::now();
    let (status, headers, body) = app.get("/api/v1/reports/funnel?as_of=2025-06-30").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["code"], "report_timeout");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("report_timeout_seconds"),
        "{body}"
    );
    assert_eq!(headers["retry-after"], "1");
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
}

#[tokio::test]
async fn an_amount_without_a_rate_is_a_warning_and_counted_in_the_status() {
    let jpy = Currency::parse("JPY").unwrap();
    let mut bodies = long_customers(2);
    bodies.push(sub("acct-yen", "2024-01-01", Money::new(1_000_000, jpy)));
    let app = TestApp::new(Config::default(), bodies);
    for name in ["mrr", "cohorts", "retention", "ltv", "accounts", "funnel"] {
        let (status, _, body) = app
            .get(&format!("/api/v1/reports/{name}?as_of=2025-06-30"))
            .await;
        assert_eq!(status, StatusCode::OK, "{name}: {body}");
        let warnings = body["warnings"].as_array().unwrap();
        assert_eq!(warnings.len(), 1, "{name}: {body}");
        assert_eq!(warnings[0]["code"], "no_rate");
        let message = warnings[0]["message"].as_str().unwrap();
        assert!(
            message.contains("JPY") && message.contains("[currency.rates]"),
            "{message}"
        );
    }
    let (status, _, body) = app.get("/api/v1/reports/mrr?as_of=2025-06-30").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body["rows"].as_array().unwrap().last().unwrap()["mrr"],
        200.0
    );
    let (status, _, body) = app.get("/api/v1/status").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["amounts_without_rate"], serde_json::json!({"JPY": 1}));
}

/// Only the caller's mistakes are 400s: too little data for a figure is 422, an unknown report
/// 404.
#[tokio::test]
async fn a_problem_of_the_data_is_not_the_callers_400() {
    let app = TestApp::new(Config::default(), long_customers(2));
    let (status, _, body) = app
        .get("/api/v1/reports/churn-model?as_of=2025-06-30")
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["code"], "insufficient_data");
    let (status, _, body) = app.get("/api/v1/reports/no-such-report").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(body["code"], "unknown_report");
    for path in [
        "/api/v1/reports/mrr?as_of=yesterday",
        "/api/v1/reports/mrr?from=2025-02-01&to=2025-01-01",
        "/api/v1/reports/attribution?model=no_such_model",
    ] {
        let (status, _, body) = app.get(path).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {body}");
        assert_eq!(body["code"], "invalid_parameter", "{path}");
    }
}

/// Pages over HTTP are cut from the whole list the server keeps: the first and the next page
/// make the whole list once, and a cursor of another list is still refused.
#[tokio::test]
async fn pages_of_a_list_are_the_whole_list_in_order() {
    let app = TestApp::new(Config::default(), long_customers(3));
    let at = "as_of=2025-06-30";
    let (status, _, whole) = app.get(&format!("/api/v1/reports/accounts?{at}")).await;
    assert_eq!(status, StatusCode::OK, "{whole}");
    let mut rows = Vec::new();
    let mut next = format!("/api/v1/reports/accounts?{at}&limit=2");
    loop {
        let (status, _, page) = app.get(&next).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        assert_eq!(page["page"]["total_rows"], 3);
        rows.extend(page["rows"].as_array().unwrap().iter().cloned());
        match page["page"]["next_cursor"].as_str() {
            Some(cursor) => next = format!("/api/v1/reports/accounts?limit=2&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(serde_json::Value::Array(rows), whole["rows"]);
    let (_, _, first) = app
        .get(&format!("/api/v1/reports/accounts?{at}&limit=1"))
        .await;
    let cursor = first["page"]["next_cursor"].as_str().unwrap();
    let (status, _, body) = app
        .get(&format!(
            "/api/v1/reports/accounts?limit=1&band=red&cursor={cursor}"
        ))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body["message"].as_str().unwrap().starts_with("cursor: "),
        "{body}"
    );
}
