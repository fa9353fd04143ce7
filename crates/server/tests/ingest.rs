//! The ingest API in process: every kind of bad input gets its documented answer and leaves the
//! store unchanged; good input is stored once.

use std::io::Write;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use base64::Engine as _;
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tenure_config::Config;
use tenure_core::WorkspaceId;
use tenure_runtime::Live;
use tenure_server::{router, AppState};
use tenure_store::{Scope, SqliteStore, Store};
use tower::ServiceExt;

struct TestApp {
    _dir: tempfile::TempDir,
    store: Arc<SqliteStore>,
    state: AppState,
    write_key: String,
    read_key: String,
}

impl TestApp {
    fn new(config: Config) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(SqliteStore::open_dir(dir.path()).unwrap());
        let ws = WorkspaceId::default_workspace();
        let write_key = store.create_key(&ws, Scope::Write).unwrap();
        let read_key = store.create_key(&ws, Scope::Read).unwrap();
        let live = Arc::new(Live::empty(config.engine()));
        let dyn_store: Arc<dyn Store> = store.clone();
        let state = AppState::new(dyn_store, live, Arc::new(config));
        Self {
            _dir: dir,
            store,
            state,
            write_key,
            read_key,
        }
    }

    fn entries(&self) -> usize {
        self.store
            .read_log(&WorkspaceId::default_workspace(), 0, 1_000_000)
            .unwrap()
            .entries
            .len()
    }

    async fn send(&self, request: Request<Body>) -> (StatusCode, Option<String>, Value) {
        let (status, headers, body) = self.send_with_headers(request).await;
        let retry = headers
            .get("retry-after")
            .map(|v| v.to_str().unwrap().to_owned());
        (status, retry, body)
    }

    async fn send_with_headers(&self, request: Request<Body>) -> (StatusCode, HeaderMap, Value) {
        let response = router(self.state.clone()).oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        (status, headers, body)
    }
}

fn basic(key: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{key}:"))
    )
}

fn post(path: &str, key: Option<&str>, body: impl Into<Body>) -> Request<Body> {
    let mut builder = Request::post(path).header("content-type", "application/json");
    if let Some(key) = key {
        builder = builder.header("authorization", basic(key));
    }
    builder.body(body.into()).unwrap()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

fn track(id: &str) -> Value {
    json!({"type": "track", "messageId": id, "userId": "u1", "event": "Logged In",
           "timestamp": "2025-03-01T12:00:00.000Z"})
}

enum Key {
    Write,
    Read,
    None,
    Wrong,
}

struct Case {
    name: &'static str,
    path: &'static str,
    key: Key,
    body: Vec<u8>,
    gzip: bool,
    status: u16,
    code: &'static str,
}

fn cases() -> Vec<Case> {
    let big_property = "x".repeat(33 * 1024);
    let many: Vec<Value> = (0..2_501).map(|i| track(&format!("m{i}"))).collect();
    let heavy: Vec<Value> = (0..40)
        .map(|i| {
            let mut t = track(&format!("h{i}"));
            t["properties"] = json!({"pad": "y".repeat(15 * 1024)});
            t
        })
        .collect();
    let good_gzip = gzip(&serde_json::to_vec(&track("g1")).unwrap());
    let truncated = good_gzip[..good_gzip.len() - 6].to_vec();
    let case = |name, path, key, body: Value, status, code| Case {
        name,
        path,
        key,
        body: serde_json::to_vec(&body).unwrap(),
        gzip: false,
        status,
        code,
    };
    vec![
        Case {
            name: "invalid JSON",
            path: "/v1/track",
            key: Key::Write,
            body: b"{\"userId\": \"u1\", \"event\": ".to_vec(),
            gzip: false,
            status: 400,
            code: "invalid_json",
        },
        case(
            "missing ids",
            "/v1/track",
            Key::Write,
            json!({"event": "Logged In", "messageId": "a"}),
            400,
            "invalid_message",
        ),
        case(
            "track without event",
            "/v1/track",
            Key::Write,
            json!({"userId": "u1", "messageId": "a"}),
            400,
            "invalid_message",
        ),
        case(
            "group without groupId",
            "/v1/group",
            Key::Write,
            json!({"userId": "u1", "messageId": "a"}),
            400,
            "invalid_message",
        ),
        case(
            "one bad message rejects its whole batch",
            "/v1/batch",
            Key::Write,
            json!({"batch": [track("ok1"), {"type": "track", "userId": "u1", "messageId": "bad"}]}),
            400,
            "invalid_message",
        ),
        case(
            "oversize message",
            "/v1/track",
            Key::Write,
            json!({"userId": "u1", "event": "E", "properties": {"p": big_property}}),
            413,
            "too_large",
        ),
        case(
            "oversize batch",
            "/v1/batch",
            Key::Write,
            json!({"batch": heavy}),
            413,
            "too_large",
        ),
        case(
            "too many messages in a batch",
            "/v1/batch",
            Key::Write,
            json!({"batch": many}),
            413,
            "too_large",
        ),
        case(
            "no key",
            "/v1/track",
            Key::None,
            track("a"),
            401,
            "missing_key",
        ),
        case(
            "wrong key",
            "/v1/track",
            Key::Wrong,
            track("a"),
            401,
            "invalid_key",
        ),
        case(
            "read key used to write",
            "/v1/track",
            Key::Read,
            track("a"),
            403,
            "wrong_scope",
        ),
        Case {
            name: "truncated gzip",
            path: "/v1/track",
            key: Key::Write,
            body: truncated,
            gzip: true,
            status: 400,
            code: "invalid_gzip",
        },
        Case {
            name: "gzip followed by bytes that are not a gzip member",
            path: "/v1/track",
            key: Key::Write,
            body: [good_gzip.as_slice(), b"{\"userId\": \"u2\"}"].concat(),
            gzip: true,
            status: 400,
            code: "invalid_gzip",
        },
        Case {
            name: "gzip of two members whose whole is not one message",
            path: "/v1/track",
            key: Key::Write,
            body: [good_gzip.as_slice(), good_gzip.as_slice()].concat(),
            gzip: true,
            status: 400,
            code: "invalid_json",
        },
    ]
}

#[tokio::test]
async fn bad_input_gets_its_documented_answer_and_stores_nothing() {
    let app = TestApp::new(Config::default());
    for case in cases() {
        let key = match case.key {
            Key::Write => Some(app.write_key.as_str()),
            Key::Read => Some(app.read_key.as_str()),
            Key::None => None,
            Key::Wrong => Some("tnr_w_0000"),
        };
        let mut request = post(case.path, key, case.body);
        if case.gzip {
            request
                .headers_mut()
                .insert("content-encoding", "gzip".parse().unwrap());
        }
        let (status, headers, body) = app.send_with_headers(request).await;
        assert_eq!(status.as_u16(), case.status, "{}: {body}", case.name);
        if status == StatusCode::UNAUTHORIZED {
            assert_eq!(
                headers.get("www-authenticate").map(|v| v.to_str().unwrap()),
                Some("Basic realm=\"tenure\""),
                "{}",
                case.name
            );
        }
        assert_eq!(body["code"], case.code, "{}: {body}", case.name);
        assert_eq!(body["success"], false, "{}", case.name);
        assert!(
            !body["message"].as_str().unwrap_or("").is_empty(),
            "{}",
            case.name
        );
        assert_eq!(app.entries(), 0, "{}: the store changed", case.name);
    }
}

#[tokio::test]
async fn every_endpoint_and_key_form_stores_once() {
    let app = TestApp::new(Config::default());
    let bodies = [
        (
            "/v1/track",
            json!({"userId": "u1", "event": "Logged In", "messageId": "e1"}),
        ),
        (
            "/v1/identify",
            json!({"userId": "u1", "anonymousId": "a1", "traits": {"email": "U1@x.io"}, "messageId": "e2"}),
        ),
        (
            "/v1/group",
            json!({"userId": "u1", "groupId": "acct_1", "messageId": "e3"}),
        ),
        (
            "/v1/page",
            json!({"anonymousId": "a1", "context": {"page": {"url": "https://x.io/?utm_source=google&utm_medium=cpc"}}, "messageId": "e4"}),
        ),
        (
            "/v1/screen",
            json!({"userId": "u1", "name": "Home", "messageId": "e5"}),
        ),
        (
            "/v1/alias",
            json!({"userId": "u1", "previousId": "a2", "messageId": "e6"}),
        ),
    ];
    for (path, body) in &bodies {
        let (status, _, answer) = app
            .send(post(
                path,
                Some(&app.write_key),
                serde_json::to_vec(body).unwrap(),
            ))
            .await;
        assert_eq!(status, 200, "{path}: {answer}");
        assert_eq!(answer["stored"], 1, "{path}");
    }
    // writeKey in the body, no header (segment-analytics-python >= 2.3 style)
    let body = json!({"writeKey": app.write_key, "batch": [track("b1"), track("b2")]});
    let (status, _, answer) = app
        .send(post("/v1/batch", None, serde_json::to_vec(&body).unwrap()))
        .await;
    assert_eq!((status.as_u16(), answer["stored"].clone()), (200, json!(2)));
    // Bearer token
    let request = Request::post("/v1/track")
        .header("authorization", format!("Bearer {}", app.write_key))
        .body(Body::from(serde_json::to_vec(&track("b3")).unwrap()))
        .unwrap();
    assert_eq!(app.send(request).await.0, 200);
    // a body of several gzip members (as `cat a.gz b.gz` makes) is decoded whole
    let batch = serde_json::to_vec(&json!({"batch": [track("b4"), track("b5")]})).unwrap();
    let (first, second) = batch.split_at(batch.len() / 2);
    let mut request = post(
        "/v1/batch",
        Some(&app.write_key),
        [gzip(first), gzip(second)].concat(),
    );
    request
        .headers_mut()
        .insert("content-encoding", "gzip".parse().unwrap());
    let (status, _, answer) = app.send(request).await;
    assert_eq!(
        (status.as_u16(), answer["stored"].clone()),
        (200, json!(2)),
        "{answer}"
    );
    // the same messages again: acknowledged, not stored twice
    let body = json!({"writeKey": app.write_key, "batch": [track("b1"), track("b2"), track("b3")]});
    let (status, _, answer) = app
        .send(post("/v1/batch", None, serde_json::to_vec(&body).unwrap()))
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        (answer["stored"].clone(), answer["duplicates"].clone()),
        (json!(0), json!(3))
    );
    assert_eq!(app.entries(), 11);
    let summary = app
        .state
        .live
        .read(&WorkspaceId::default_workspace(), |m| m.summary());
    assert_eq!(summary.persons, 1);
    assert_eq!(summary.accounts, 1);
}

#[tokio::test]
async fn a_workspace_over_its_rate_gets_429_with_retry_after() {
    let config = Config::parse("[ingest]\nrate_limit_per_second = 3\n", "test").unwrap();
    let app = TestApp::new(config);
    let batch = |ids: &[&str]| {
        let body = json!({"batch": ids.iter().map(|i| track(i)).collect::<Vec<_>>()});
        post(
            "/v1/batch",
            Some(&app.write_key),
            serde_json::to_vec(&body).unwrap(),
        )
    };
    assert_eq!(app.send(batch(&["r1", "r2"])).await.0, 200);
    let (status, retry, body) = app.send(batch(&["r3", "r4"])).await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(retry.as_deref(), Some("1"));
    assert_eq!(app.entries(), 2, "a refused batch stores nothing");
}

#[tokio::test]
async fn a_store_that_cannot_write_answers_503_with_retry_after() {
    let app = TestApp::new(Config::default());
    app.store.close();
    let (status, retry, body) = app
        .send(post(
            "/v1/track",
            Some(&app.write_key),
            serde_json::to_vec(&track("c1")).unwrap(),
        ))
        .await;
    assert_eq!(status, 503, "{body}");
    assert!(retry.is_some());
    assert_eq!(body["code"], "unavailable");
}

#[tokio::test]
async fn clock_skew_is_corrected_from_sent_at() {
    let app = TestApp::new(Config::default());
    // The sender's clock is far behind: sentAt 2000-01-01T00:00:10Z, event 10 s before sending.
    let body = json!({"batch": [{"type": "track", "userId": "u1", "event": "E", "messageId": "s1",
                                  "timestamp": "2000-01-01T00:00:00.000Z"}],
                      "sentAt": "2000-01-01T00:00:10.000Z"});
    let before = chrono::Utc::now().timestamp_millis();
    let (status, _, _) = app
        .send(post(
            "/v1/batch",
            Some(&app.write_key),
            serde_json::to_vec(&body).unwrap(),
        ))
        .await;
    let after = chrono::Utc::now().timestamp_millis();
    assert_eq!(status, 200);
    let log = app
        .store
        .read_log(&WorkspaceId::default_workspace(), 0, 10)
        .unwrap()
        .entries;
    let tenure_core::EntryBody::Segment(m) = &log[0].entry.body else {
        panic!("a segment entry")
    };
    let stored = m.timestamp.millis();
    assert!(
        stored >= before - 10_000 && stored <= after - 10_000,
        "stored {stored}, window {before}..{after}"
    );
}

fn get(path: &str, key: &str) -> Request<Body> {
    Request::get(path)
        .header("authorization", basic(key))
        .body(Body::empty())
        .unwrap()
}

/// With statuses kept (as `tenure serve` keeps them), an acknowledged event has changed its
/// account's status by the time anyone reads it, and the observer heard of it.
#[tokio::test]
async fn an_event_updates_its_accounts_status_at_once() {
    let app = TestApp::new(Config::default());
    let live = Arc::clone(&app.state.live);
    let heard = Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = Arc::clone(&heard);
    live.keep_statuses(tenure_runtime::StatusKeeping {
        settings: Config::default().report_settings(),
        clock: Arc::new(tenure_runtime::ManualClock::new(
            tenure_core::Timestamp::parse("2025-04-15T00:00:00Z").unwrap(),
        )),
        observer: Some(Box::new(move |_, status| {
            log.lock()
                .unwrap()
                .push((status.account.as_str().to_owned(), status.last_activity));
        })),
        entries: None,
    })
    .unwrap();
    live.start_applier();
    let paying = tenure_core::Entry {
        workspace: WorkspaceId::default_workspace(),
        source: tenure_core::Source::Import,
        received_at: tenure_core::Timestamp::from_millis(0),
        body: tenure_core::EntryBody::Subscription(tenure_core::SubscriptionRow {
            account_id: tenure_core::AccountId::parse("acme").unwrap(),
            effective_at: tenure_core::Timestamp::parse("2025-03-01T00:00:00Z").unwrap(),
            mrr: tenure_core::Money::new(50_000, tenure_core::Currency::USD),
            plan: Some("pro".into()),
            seats: Some(5),
        }),
    };
    live.submit(app.store.append(vec![paying]).unwrap().stored);

    let (status, _, before) = app.send(get("/api/v1/accounts/acme", &app.read_key)).await;
    assert_eq!(status, StatusCode::OK, "{before}");
    // 45 days paying without a product event (past the 30 days a new customer is left
    // unscored to get started): red, at risk.
    assert_eq!(
        (&before["stage"], &before["band"]),
        (&json!("at_risk"), &json!("red"))
    );
    assert_eq!(before["last_activity"], Value::Null);
    assert_eq!(before["mrr"], 500.0);
    let signals = |s: &Value| -> Vec<String> {
        s["signals"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["signal"].as_str().unwrap().to_owned())
            .collect()
    };
    assert!(
        signals(&before).contains(&"no_activity".to_owned()),
        "{before}"
    );

    let event = json!({"type": "track", "messageId": "e1", "userId": "u1",
        "event": "Report Created", "timestamp": "2025-04-14T12:00:00.000Z",
        "context": {"groupId": "acme"}});
    let (status, _, _) = app
        .send(post("/v1/track", Some(&app.write_key), event.to_string()))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, _, after) = app.send(get("/api/v1/accounts/acme", &app.read_key)).await;
    assert_eq!(after["last_activity"], "2025-04-14T12:00:00.000Z");
    assert!(
        !signals(&after).contains(&"no_activity".to_owned()),
        "{after}"
    );
    assert_eq!(after["as_of"], "2025-04-15T00:00:00.000Z");
    let heard = heard.lock().unwrap().clone();
    assert_eq!(
        heard.last().unwrap(),
        &(
            "acme".to_owned(),
            Some(tenure_core::Timestamp::parse("2025-04-14T12:00:00Z").unwrap())
        )
    );

    let (status, _, body) = app
        .send(get("/api/v1/accounts/nobody", &app.read_key))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["code"], "unknown_account");
}
