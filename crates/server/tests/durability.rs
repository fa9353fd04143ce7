//! Issue 12's defects that one request or one entry could cause, through the in-process API:
//! a message that bricked every workspace, an entry that cannot be read, a batch larger than a
//! second's rate, and keys that could not be revoked.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tenure_config::Config;
use tenure_core::{EntryBody, WorkspaceId};
use tenure_runtime::{status, Live};
use tenure_server::{router, AppState};
use tenure_store::{Scope, SqliteStore, Store};
use tower::ServiceExt;

fn settings() -> tenure_reports::ReportSettings {
    Config::default().report_settings()
}

struct TestApp {
    dir: tempfile::TempDir,
    store: Arc<SqliteStore>,
    state: AppState,
    write_key: String,
}

impl TestApp {
    fn new(config: &str) -> Self {
        let config = Config::parse(config, "test").unwrap();
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(SqliteStore::open_dir(dir.path()).unwrap());
        let write_key = store
            .create_key(&WorkspaceId::default_workspace(), Scope::Write)
            .unwrap();
        let live = Arc::new(Live::empty(config.engine()));
        let dyn_store: Arc<dyn Store> = store.clone();
        let state = AppState::new(dyn_store, live, Arc::new(config));
        Self {
            dir,
            store,
            state,
            write_key,
        }
    }

    async fn send(&self, method: &str, path: &str, key: &str, body: Value) -> (StatusCode, Value) {
        let request = Request::builder()
            .method(method)
            .uri(path)
            .header("content-type", "application/json")
            .header("authorization", format!("Bearer {key}"))
            .body(Body::from(body.to_string()))
            .unwrap();
        let response = router(self.state.clone()).oneshot(request).await.unwrap();
        let status = response.status();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }
}

/// Issue 12, defect 1: this message was answered 200 and stored as `+12026-…`, after which
/// no process could read the log. Now its time is clamped to its receipt, the sender's times
/// are kept, and the store replays.
#[tokio::test]
async fn a_message_from_a_clock_at_year_zero_is_stored_readably() {
    let app = TestApp::new("");
    let before = tenure_core::Timestamp::from_datetime(chrono::Utc::now());
    let (code, body) = app
        .send(
            "POST",
            "/v1/track",
            &app.write_key,
            json!({"type":"track","event":"e","userId":"u","timestamp":"9999-12-31T23:59:59Z","sentAt":"0000-01-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(code, StatusCode::OK, "{body}");
    let after = tenure_core::Timestamp::from_datetime(chrono::Utc::now());
    let ws = WorkspaceId::default_workspace();
    let page = app.store.read_log(&ws, 0, 10).unwrap();
    assert!(page.unreadable.is_empty(), "{:?}", page.unreadable);
    let EntryBody::Segment(m) = &page.entries[0].entry.body else {
        panic!("a segment message")
    };
    let stored = m.timestamp;
    assert!(
        before <= stored && stored <= after,
        "clamped to receipt: {stored}"
    );
    assert_eq!(m.timestamp, m.received_at);
    assert_eq!(m.sent_at.unwrap().to_string(), "0000-01-01T00:00:00.000Z");
    // What `tenure serve` and `tenure status` do at start-up.
    let live = Live::rebuild(app.store.as_ref(), Config::default().engine(), |_| {}).unwrap();
    let report = status(app.store.as_ref(), &live, &ws, &settings()).unwrap();
    assert_eq!((report.entries, report.unreadable_entries), (1, 0));
}

/// Issue 12, defect 1(c): whatever a future bug stores, one unreadable entry is left out and
/// counted, and the rest of the store is served.
#[tokio::test]
async fn an_unreadable_entry_is_quarantined_and_the_store_starts() {
    let app = TestApp::new("");
    let batch: Vec<Value> = (0..3)
        .map(|i| json!({"type":"track","event":"e","userId":format!("u{i}"),"messageId":format!("m{i}")}))
        .collect();
    let (status_code, _) = app
        .send(
            "POST",
            "/v1/batch",
            &app.write_key,
            json!({ "batch": batch }),
        )
        .await;
    assert_eq!(status_code, StatusCode::OK);
    let (dir, store) = (app.dir, app.store);
    drop(app.state);
    store.close();
    drop(store);
    // The form an earlier build wrote for an instant past year 9999.
    let conn = rusqlite::Connection::open(dir.path().join("tenure.db")).unwrap();
    conn.execute(
        "UPDATE log SET body = replace(body, '\"timestamp\":\"', '\"timestamp\":\"+1') \
         WHERE natural_key = 'segment:m1'",
        [],
    )
    .unwrap();
    drop(conn);

    let store = SqliteStore::open_dir(dir.path()).unwrap();
    let live = Live::rebuild(&store, Config::default().engine(), |_| {}).unwrap();
    let ws = WorkspaceId::default_workspace();
    let report = status(&store, &live, &ws, &settings()).unwrap();
    assert_eq!(report.entries, 3, "the entry stays in the log");
    assert_eq!(report.unreadable_entries, 1);
    assert_eq!(
        report.model.persons, 2,
        "u0 and u2 are in the model, u1 is not"
    );
    let unreadable = live.unreadable(&ws);
    assert_eq!(unreadable.len(), 1);
    assert_eq!(unreadable[0].kind, "track");
    assert!(unreadable[0].reason.contains("timestamp"), "{unreadable:?}");
    // A later catch-up neither re-applies nor re-counts it.
    assert_eq!(live.catch_up(&store).unwrap(), 0);
    assert_eq!(live.unreadable(&ws).len(), 1);
    // And an operator's Prometheus sees it quarantined.
    let live = std::sync::Arc::new(live);
    let mut registry = prometheus_client::registry::Registry::default();
    live.register_metrics(&mut registry);
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
    assert!(
        text.lines().any(|l| l == "tenure_quarantined_entries 1"),
        "{text}"
    );
}

/// Issue 12, defect 4: at a limit of 50 a second, the official Segment library stored 0 of
/// 300 messages, because a batch larger than the bucket was refused forever.
#[tokio::test]
async fn a_batch_larger_than_the_rate_limit_is_admitted_then_paid_for() {
    let app = TestApp::new("[ingest]\nrate_limit_per_second = 50\n");
    let batch = |from: usize| -> Value {
        let items: Vec<Value> = (from..from + 300)
            .map(|i| json!({"type":"track","event":"e","userId":"u","messageId":format!("m{i}")}))
            .collect();
        json!({ "batch": items })
    };
    let (status_code, body) = app
        .send("POST", "/v1/batch", &app.write_key, batch(0))
        .await;
    assert_eq!(status_code, StatusCode::OK, "{body}");
    assert_eq!(body["stored"], 300);
    let (status_code, body) = app
        .send("POST", "/v1/batch", &app.write_key, batch(300))
        .await;
    assert_eq!(status_code, StatusCode::TOO_MANY_REQUESTS, "{body}");
}

/// Issue 12, defect 8: keys can be listed and revoked over the admin API, and a revoked key
/// stops working at once on this server and within the cache's lifetime when revoked
/// elsewhere (another process sharing the store).
#[tokio::test]
async fn revoked_keys_stop_working() {
    let app = TestApp::new("");
    let ws = WorkspaceId::default_workspace();
    let admin = app.store.create_key(&ws, Scope::Admin).unwrap();
    let read = app.store.create_key(&ws, Scope::Read).unwrap();
    let other_admin = app
        .store
        .create_key(&WorkspaceId::parse("other").unwrap(), Scope::Admin)
        .unwrap();

    let (code, body) = app.send("GET", "/api/v1/keys", &admin, Value::Null).await;
    assert_eq!(code, StatusCode::OK, "{body}");
    let keys = body["keys"].as_array().unwrap();
    assert_eq!(
        keys.len(),
        3,
        "write, admin and read of this workspace only: {body}"
    );
    assert!(
        !body.to_string().contains(&read),
        "a listing never shows a secret"
    );
    let (code, _) = app.send("GET", "/api/v1/keys", &read, Value::Null).await;
    assert_eq!(code, StatusCode::FORBIDDEN, "a read key cannot manage keys");

    // Revoked here: refused at once, though the read key was just cached.
    let (code, _) = app.send("GET", "/api/v1/status", &read, Value::Null).await;
    assert_eq!(code, StatusCode::OK);
    let prefix = keys[2]["prefix"].as_str().unwrap().to_owned();
    assert!(read.starts_with(&prefix));
    let (code, body) = app
        .send(
            "DELETE",
            &format!("/api/v1/keys/{prefix}"),
            &other_admin,
            Value::Null,
        )
        .await;
    assert_eq!(
        code,
        StatusCode::NOT_FOUND,
        "not another workspace's: {body}"
    );
    let (code, body) = app
        .send(
            "DELETE",
            &format!("/api/v1/keys/{prefix}"),
            &admin,
            Value::Null,
        )
        .await;
    assert_eq!(code, StatusCode::OK, "{body}");
    assert_eq!(body["revoked"], prefix.as_str());
    let (code, _) = app.send("GET", "/api/v1/status", &read, Value::Null).await;
    assert_eq!(code, StatusCode::UNAUTHORIZED);

    // Created over the API, revoked in the store by another process: refused within the TTL.
    let (code, body) = app
        .send("POST", "/api/v1/keys", &admin, json!({"scope": "read"}))
        .await;
    assert_eq!(code, StatusCode::CREATED, "{body}");
    let new_read = body["key"].as_str().unwrap().to_owned();
    let (code, _) = app
        .send("GET", "/api/v1/status", &new_read, Value::Null)
        .await;
    assert_eq!(code, StatusCode::OK);
    let elsewhere = SqliteStore::open_dir(app.dir.path()).unwrap();
    assert!(matches!(
        elsewhere.revoke_key(&ws, &new_read).unwrap(),
        tenure_store::Revoked::Now(_)
    ));
    tokio::time::sleep(tenure_server::KEY_CACHE_TTL + std::time::Duration::from_millis(200)).await;
    let (code, _) = app
        .send("GET", "/api/v1/status", &new_read, Value::Null)
        .await;
    assert_eq!(code, StatusCode::UNAUTHORIZED);
}

/// Issue 12, defect 9: a Stripe event tenure cannot interpret (here `interval_count: 0`) was
/// answered 200 and then vanished. It stays in the log and `status` lists it with the reason.
#[test]
fn uninterpreted_webhook_events_are_listed_in_status() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open_dir(dir.path()).unwrap();
    let ws = WorkspaceId::default_workspace();
    let event = |id: &str, interval_count: i64| tenure_core::Entry {
        workspace: ws.clone(),
        source: tenure_core::Source::Webhook,
        received_at: tenure_core::Timestamp::parse("2025-03-01").unwrap(),
        body: EntryBody::Webhook(tenure_core::WebhookEvent {
            provider: "stripe".into(),
            event_id: id.into(),
            event_type: "customer.subscription.created".into(),
            payload: json!({
                "id": id, "object": "event", "type": "customer.subscription.created",
                "created": 1_740_787_200, "api_version": "2024-06-20",
                "data": {"object": {
                    "id": "sub_1", "object": "subscription", "customer": "cus_1",
                    "currency": "usd", "status": "active", "metadata": {"account_id": "acct_1"},
                    "current_period_start": 1_740_787_200, "current_period_end": 1_743_465_600,
                    "items": {"object": "list", "data": [{
                        "id": "si_1", "object": "subscription_item", "quantity": 1,
                        "price": {"id": "price_1", "object": "price", "currency": "usd",
                                  "unit_amount": 9_900,
                                  "recurring": {"interval": "month", "interval_count": interval_count}}
                    }]}
                }}
            }),
        }),
    };
    store
        .append(vec![event("evt_good", 1), event("evt_zero", 0)])
        .unwrap();
    let live = Live::rebuild(&store, Config::default().engine(), |_| {}).unwrap();
    let report = status(&store, &live, &ws, &settings()).unwrap();
    assert_eq!(
        report.uninterpreted_events.len(),
        1,
        "{:?}",
        report.uninterpreted_events
    );
    assert_eq!(report.uninterpreted_events[0].event_id, "evt_zero");
    assert!(
        report.uninterpreted_events[0]
            .reason
            .contains("interval_count"),
        "{}",
        report.uninterpreted_events[0].reason
    );
    assert_eq!(report.model.accounts, 1, "the good event made its account");
}

/// `Stripe-Signature` for `body` signed now with `secret`, as Stripe computes it.
fn stripe_signature(body: &str, secret: &str) -> String {
    use hmac::Mac as _;
    let t = chrono::Utc::now().timestamp();
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.{body}").as_bytes());
    format!("t={t},v1={}", hex::encode(mac.finalize().into_bytes()))
}

/// Issue 12, defect 10: one Stripe secret admitted events into every workspace, and posting
/// to `/webhooks/stripe/<any-name>` created that workspace.
#[tokio::test]
async fn each_workspace_has_its_own_stripe_secret_and_unknown_ones_are_404() {
    let mut app = TestApp::new("");
    let acme = WorkspaceId::parse("acme-eu").unwrap();
    app.store.create_key(&acme, Scope::Read).unwrap();
    app.store
        .create_key(&WorkspaceId::parse("beta").unwrap(), Scope::Read)
        .unwrap();
    assert_eq!(
        tenure_server::StripeSecrets::env_name(&acme),
        "TENURE_STRIPE_WEBHOOK_SECRET_ACME_EU"
    );
    let env = [
        ("TENURE_STRIPE_WEBHOOK_SECRET", "whsec_default"),
        ("TENURE_STRIPE_WEBHOOK_SECRET_ACME_EU", "whsec_acme"),
        ("PATH", "/bin"),
    ]
    .map(|(k, v)| (k.to_owned(), v.to_owned()));
    app.state = app
        .state
        .clone()
        .with_stripe_secrets(tenure_server::StripeSecrets::from_env(env, None));
    let event = json!({"id": "evt_1", "object": "event", "type": "customer.created",
                       "created": 1_740_787_200, "data": {"object": {"id": "cus_1"}}})
    .to_string();
    let post = |path: &str, secret: &str| {
        Request::post(path)
            .header("content-type", "application/json")
            .header("stripe-signature", stripe_signature(&event, secret))
            .body(Body::from(event.clone()))
            .unwrap()
    };
    let send = |request: Request<Body>| async {
        let response = router(app.state.clone()).oneshot(request).await.unwrap();
        let status = response.status();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        (
            status,
            serde_json::from_slice::<Value>(&bytes).unwrap_or(Value::Null),
        )
    };

    let (code, body) = send(post("/webhooks/stripe/acme-eu", "whsec_default")).await;
    assert_eq!(
        code,
        StatusCode::BAD_REQUEST,
        "the default secret does not sign acme's: {body}"
    );
    let (code, body) = send(post("/webhooks/stripe/acme-eu", "whsec_acme")).await;
    assert_eq!(code, StatusCode::OK, "{body}");
    let (code, body) = send(post("/webhooks/stripe", "whsec_default")).await;
    assert_eq!(code, StatusCode::OK, "{body}");
    let (code, body) = send(post("/webhooks/stripe/beta", "whsec_default")).await;
    assert_eq!(code, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("TENURE_STRIPE_WEBHOOK_SECRET_BETA"),
        "{body}"
    );
    let (code, body) = send(post("/webhooks/stripe/nonesuch", "whsec_default")).await;
    assert_eq!(code, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(body["code"], "unknown_workspace");
    let workspaces = app.store.workspaces().unwrap();
    assert!(
        !workspaces.iter().any(|w| w.as_str() == "nonesuch"),
        "{workspaces:?}"
    );
}
