//! The playbooks' and tasks' routes in process, on a temp store whose firings, deliveries and
//! tasks are recorded directly: each route's JSON, the scopes (a read key reads, only the admin
//! key retries or changes a task), a retry from the dead-letter list, and the refusals.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tenure_config::Config;
use tenure_core::{Timestamp, WorkspaceId};
use tenure_runtime::Live;
use tenure_server::{router, AppState};
use tenure_store::{
    Attempted, ClaimFor, DeliveryFilter, DeliveryId, NewDelivery, NewFiring, NewTask, Scope,
    SqliteStore, Store,
};
use tower::ServiceExt;

const CONFIG: &str = r#"
[[destinations]]
name = "crm"
kind = "webhook"
url = "https://crm.example/hook"
secret_env = "CRM_WEBHOOK_SECRET"

[[playbooks]]
name = "usage_drop"
trigger = { signal_raised = "usage_drop" }
for_whom = { tier = ["enterprise"] }
limit = { once_per = "30d" }
actions = [
  { webhook = { destination = "crm" } },
  { delay = "2d", task = { title = "Call {{ account.name }}" } },
]

[[playbooks]]
name = "renewal_90"
enabled = false
trigger = { calendar = "contract_end - 90d" }
actions = [{ task = { title = "Prepare the renewal" } }]
"#;

struct TestApp {
    _dir: tempfile::TempDir,
    state: AppState,
    store: Arc<SqliteStore>,
    read_key: String,
    admin_key: String,
    /// The dead delivery (step 0) and the delivered one (step 1).
    dead: DeliveryId,
    delivered: DeliveryId,
    task: i64,
}

fn at(text: &str) -> Timestamp {
    Timestamp::parse(text).unwrap()
}

impl TestApp {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(SqliteStore::open_dir(dir.path()).unwrap());
        let ws = WorkspaceId::default_workspace();
        let read_key = store.create_key(&ws, Scope::Read).unwrap();
        let admin_key = store.create_key(&ws, Scope::Admin).unwrap();
        let (dead, delivered, task) = seed(store.as_ref());
        let config = Config::parse(CONFIG, "test.toml").unwrap();
        let live = Arc::new(Live::empty(config.engine()));
        let dyn_store: Arc<dyn Store> = store.clone();
        let state = AppState::new(dyn_store, live, Arc::new(config));
        Self {
            _dir: dir,
            state,
            store,
            read_key,
            admin_key,
            dead,
            delivered,
            task,
        }
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        key: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header("authorization", format!("Bearer {key}"));
        if body.is_some() {
            request = request.header("content-type", "application/json");
        }
        let body = body.map_or_else(Body::empty, |b| Body::from(b.to_string()));
        let response = router(self.state.clone())
            .oneshot(request.body(body).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let value = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| panic!("{path}: not JSON: {}", String::from_utf8_lossy(&bytes)));
        (status, value)
    }

    async fn get(&self, path: &str) -> Value {
        let (status, body) = self.send(Method::GET, path, &self.read_key, None).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        body
    }
}

/// One firing of `usage_drop` for `acme` with two deliveries: step 0 attempted twice (a 503,
/// then a 410 that kills it), step 1 delivered at once; and a task of it. Ids of the dead and
/// delivered deliveries, and of the task.
fn seed(store: &dyn Store) -> (DeliveryId, DeliveryId, i64) {
    let ws = WorkspaceId::default_workspace();
    let firing = NewFiring {
        key: "usage_drop/p1/acme/30d:0".into(),
        playbook: "usage_drop".into(),
        version: "p1".into(),
        account: "acme".into(),
        period: "30d:0".into(),
        fired_at: at("2026-03-01T10:00:00Z"),
        cause: json!({ "signal_raised": "usage_drop" }),
    };
    let delivery = |step: u32, destination: &str, kind: &str| NewDelivery {
        step,
        destination: destination.into(),
        kind: kind.into(),
        payload: json!({ "account": "acme", "step": step }),
        due_at: at("2026-03-01T10:00:00Z"),
    };
    assert!(store
        .record_firing(
            &ws,
            &firing,
            &[delivery(0, "crm", "webhook"), delivery(1, "tasks", "task")]
        )
        .unwrap());
    // Claimed at a later instant each time, so the lease of one round is over at the next.
    let claim = |now: &str| {
        store
            .claim_deliveries("worker-1", at(now), 60_000, 10, ClaimFor::Any)
            .unwrap()
    };
    let first = claim("2026-03-01T10:00:01Z");
    assert_eq!(first.len(), 2);
    let (hook, task) = if first[0].step == 0 {
        (&first[0], &first[1])
    } else {
        (&first[1], &first[0])
    };
    assert!(store
        .finish_delivery(
            hook.id,
            "worker-1",
            at("2026-03-01T10:00:02Z"),
            &Attempted::Retry {
                code: Some(503),
                error: "503 Service Unavailable".into(),
                at: at("2026-03-01T10:05:00Z"),
            },
            120,
        )
        .unwrap());
    assert!(store
        .finish_delivery(
            task.id,
            "worker-1",
            at("2026-03-01T10:00:02Z"),
            &Attempted::Delivered { code: None },
            3,
        )
        .unwrap());
    let second = claim("2026-03-01T10:06:00Z");
    assert_eq!(second.len(), 1);
    assert!(store
        .finish_delivery(
            hook.id,
            "worker-1",
            at("2026-03-01T10:06:01Z"),
            &Attempted::Dead {
                code: Some(410),
                reason: "410 Gone: the endpoint is gone".into(),
            },
            80,
        )
        .unwrap());
    let (task_id, created) = store
        .upsert_task(
            &ws,
            &NewTask {
                playbook: "usage_drop".into(),
                account: "acme".into(),
                title: "Call Acme".into(),
                owner: None,
                due_at: Some(at("2026-03-03T10:00:00Z")),
                firing_key: Some(firing.key.clone()),
                at: at("2026-03-01T10:00:02Z"),
            },
        )
        .unwrap();
    assert!(created);
    (hook.id, task.id, task_id.0)
}

#[tokio::test]
async fn the_playbooks_list_shows_each_configured_playbook_with_its_counts() {
    let app = TestApp::new();
    let body = app.get("/api/v1/playbooks").await;
    let playbooks = body["playbooks"].as_array().unwrap();
    assert_eq!(playbooks.len(), 2);
    let usage = &playbooks[0];
    let version = Config::parse(CONFIG, "t")
        .unwrap()
        .playbooks()
        .unwrap()
        .playbooks[0]
        .version()
        .to_owned();
    assert_eq!(usage["name"], "usage_drop");
    assert_eq!(usage["version"], version.as_str());
    assert_eq!(usage["enabled"], true);
    assert_eq!(usage["trigger"]["text"], "signal usage_drop raised");
    assert_eq!(
        usage["trigger"]["config"],
        json!({ "signal_raised": "usage_drop" })
    );
    assert_eq!(usage["for_whom"], json!({ "tier": ["enterprise"] }));
    assert_eq!(usage["limit"], "once per 30d");
    assert_eq!(usage["on_enable"], "none");
    assert_eq!(
        usage["actions"],
        json!([
            { "step": 0, "kind": "webhook", "destination": "crm", "delay": "0d" },
            { "step": 1, "kind": "task", "destination": null, "delay": "2d" },
        ])
    );
    assert_eq!(usage["firings"], 1);
    assert_eq!(
        usage["deliveries"],
        json!({ "pending": 0, "delivered": 1, "dead": 1 })
    );
    let renewal = &playbooks[1];
    assert_eq!(renewal["enabled"], false);
    assert_eq!(renewal["trigger"]["text"], "on contract_end - 90d");
    assert_eq!(renewal["limit"], "once ever");
    assert_eq!(renewal["firings"], 0);
    assert_eq!(
        renewal["deliveries"],
        json!({ "pending": 0, "delivered": 0, "dead": 0 })
    );
}

#[tokio::test]
async fn the_firings_log_lists_firings_with_their_deliveries_and_filters_them() {
    let app = TestApp::new();
    let body = app.get("/api/v1/playbooks/firings").await;
    assert_eq!(
        body,
        json!({ "firings": [{
            "key": "usage_drop/p1/acme/30d:0",
            "playbook": "usage_drop",
            "version": "p1",
            "account": "acme",
            "period": "30d:0",
            "fired_at": "2026-03-01T10:00:00.000Z",
            "cause": { "signal_raised": "usage_drop" },
            "deliveries": [
                { "id": app.dead.0, "step": 0, "kind": "webhook", "destination": "crm", "status": "dead", "attempts": 2,
                  "last_code": 410, "last_attempt_at": "2026-03-01T10:06:01.000Z", "last_error": "410 Gone: the endpoint is gone",
                  "delivered_at": null, "next_attempt_at": null, "result": "rejected" },
                { "id": app.delivered.0, "step": 1, "kind": "task", "destination": "tasks", "status": "delivered", "attempts": 1,
                  "last_code": null, "last_attempt_at": "2026-03-01T10:00:02.000Z", "last_error": null,
                  "delivered_at": "2026-03-01T10:00:02.000Z", "next_attempt_at": null, "result": "accepted" },
            ],
        }]})
    );
    for (query, n) in [
        ("?account=acme", 1),
        ("?account=other", 0),
        ("?playbook=renewal_90", 0),
        ("?since=2026-03-01", 1),
        ("?since=2026-03-02T00:00:00Z", 0),
    ] {
        let body = app.get(&format!("/api/v1/playbooks/firings{query}")).await;
        assert_eq!(body["firings"].as_array().unwrap().len(), n, "{query}");
    }
    let (status, body) = app
        .send(
            Method::GET,
            "/api/v1/playbooks/firings?since=last-week",
            &app.read_key,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["code"], "invalid_parameter");
    assert!(
        body["message"].as_str().unwrap().contains("is not a date"),
        "{body}"
    );
}

#[tokio::test]
async fn deliveries_are_listed_by_status_and_one_shows_every_attempt() {
    let app = TestApp::new();
    let dead = app.get("/api/v1/deliveries?status=dead").await;
    let rows = dead["deliveries"].as_array().unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["id"], app.dead.0);
    assert_eq!(rows[0]["status"], "dead");
    assert_eq!(rows[0]["attempts"], 2);
    assert_eq!(rows[0]["last_code"], 410);
    assert_eq!(rows[0]["last_error"], "410 Gone: the endpoint is gone");
    let all = app.get("/api/v1/deliveries").await;
    assert_eq!(all["deliveries"].as_array().unwrap().len(), 2);
    let by_destination = app.get("/api/v1/deliveries?destination=tasks").await;
    assert_eq!(by_destination["deliveries"][0]["id"], app.delivered.0);
    let (status, body) = app
        .send(
            Method::GET,
            "/api/v1/deliveries?status=lost",
            &app.read_key,
            None,
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_parameter"))
    );
    assert!(body["message"]
        .as_str()
        .unwrap()
        .contains("pending, delivered or dead"));

    let one = app.get(&format!("/api/v1/deliveries/{}", app.dead.0)).await;
    assert_eq!(one["delivery"]["id"], app.dead.0);
    assert_eq!(one["payload"], json!({ "account": "acme", "step": 0 }));
    assert_eq!(
        one["attempts"],
        json!([
            { "attempt": 1, "at": "2026-03-01T10:00:02.000Z", "outcome": "retry", "code": 503, "error": "503 Service Unavailable", "duration_ms": 120 },
            { "attempt": 2, "at": "2026-03-01T10:06:01.000Z", "outcome": "dead", "code": 410, "error": "410 Gone: the endpoint is gone", "duration_ms": 80 },
        ])
    );
    let (status, body) = app
        .send(Method::GET, "/api/v1/deliveries/999", &app.read_key, None)
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("unknown_delivery"))
    );
    let (status, _) = app
        .send(Method::GET, "/api/v1/deliveries/abc", &app.read_key, None)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_dead_delivery_is_retried_with_the_admin_key_only_and_a_delivered_one_is_refused() {
    let app = TestApp::new();
    let retry = format!("/api/v1/deliveries/{}/retry", app.dead.0);
    let (status, body) = app.send(Method::POST, &retry, &app.read_key, None).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("wrong_scope"))
    );
    let ws = WorkspaceId::default_workspace();
    let dead_filter = DeliveryFilter {
        status: Some(tenure_store::DeliveryStatus::Dead),
        ..DeliveryFilter::default()
    };
    assert_eq!(
        app.store.deliveries(&ws, &dead_filter).unwrap().len(),
        1,
        "a refused retry changes nothing"
    );

    let (status, body) = app.send(Method::POST, &retry, &app.admin_key, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["retried"][0]["id"], app.dead.0);
    assert_eq!(body["retried"][0]["status"], "pending");
    assert!(app.store.deliveries(&ws, &dead_filter).unwrap().is_empty());
    // Pending and due now: the next claim takes it.
    let claimed = app
        .store
        .claim_deliveries(
            "worker-2",
            Timestamp::from_datetime(chrono::Utc::now()),
            60_000,
            10,
            ClaimFor::Any,
        )
        .unwrap();
    assert_eq!(
        claimed.iter().map(|d| d.id).collect::<Vec<_>>(),
        vec![app.dead]
    );

    let delivered = format!("/api/v1/deliveries/{}/retry", app.delivered.0);
    let (status, body) = app
        .send(Method::POST, &delivered, &app.admin_key, None)
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::CONFLICT, Some("already_delivered"))
    );
    let message = body["message"].as_str().unwrap();
    assert!(
        message.contains("was delivered at 2026-03-01T10:00:02.000Z"),
        "{message}"
    );
    assert!(message.contains("nothing was changed"), "{message}");
    let (status, body) = app
        .send(
            Method::POST,
            "/api/v1/deliveries/999/retry",
            &app.admin_key,
            None,
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("unknown_delivery"))
    );
}

#[tokio::test]
async fn every_dead_delivery_is_retried_at_once() {
    let app = TestApp::new();
    let (status, _) = app
        .send(
            Method::POST,
            "/api/v1/deliveries/retry_dead",
            &app.read_key,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = app
        .send(
            Method::POST,
            "/api/v1/deliveries/retry_dead",
            &app.admin_key,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let ids: Vec<i64> = body["retried"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, vec![app.dead.0]);
    let (_, again) = app
        .send(
            Method::POST,
            "/api/v1/deliveries/retry_dead",
            &app.admin_key,
            None,
        )
        .await;
    assert_eq!(again, json!({ "retried": [] }));
}

#[tokio::test]
async fn tasks_are_listed_and_changed_with_the_admin_key_only() {
    let app = TestApp::new();
    let body = app.get("/api/v1/tasks").await;
    let task = &body["tasks"][0];
    assert_eq!(task["id"], app.task);
    assert_eq!(task["title"], "Call Acme");
    assert_eq!(task["status"], "open");
    assert_eq!(task["owner"], Value::Null);
    assert_eq!(task["due_at"], "2026-03-03T10:00:00.000Z");
    assert_eq!(task["firing_key"], "usage_drop/p1/acme/30d:0");

    let path = |action: &str| format!("/api/v1/tasks/{}/{action}", app.task);
    for (action, body) in [
        ("assign", Some(json!({ "owner": "ana" }))),
        ("complete", None),
        ("snooze", Some(json!({ "for": "3d" }))),
    ] {
        let (status, answer) = app
            .send(Method::POST, &path(action), &app.read_key, body)
            .await;
        assert_eq!(
            (status, answer["code"].as_str()),
            (StatusCode::FORBIDDEN, Some("wrong_scope")),
            "{action}"
        );
    }
    assert_eq!(
        app.get("/api/v1/tasks").await["tasks"][0]["owner"],
        Value::Null,
        "a refused change changes nothing"
    );

    let (status, assigned) = app
        .send(
            Method::POST,
            &path("assign"),
            &app.admin_key,
            Some(json!({ "owner": "ana" })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{assigned}");
    assert_eq!(assigned["owner"], "ana");
    assert_eq!(
        app.get("/api/v1/tasks?owner=ana").await["tasks"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        app.get("/api/v1/tasks?owner=bo").await["tasks"]
            .as_array()
            .unwrap()
            .len(),
        0
    );

    let (status, snoozed) = app
        .send(
            Method::POST,
            &path("snooze"),
            &app.admin_key,
            Some(json!({ "until": "2999-01-01" })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{snoozed}");
    assert_eq!(snoozed["status"], "snoozed");
    assert_eq!(snoozed["snoozed_until"], "2999-01-01T00:00:00.000Z");
    assert_eq!(
        app.get("/api/v1/tasks?status=snoozed").await["tasks"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        app.get("/api/v1/tasks?status=open").await["tasks"]
            .as_array()
            .unwrap()
            .len(),
        0
    );

    let (status, bad) = app
        .send(
            Method::POST,
            &path("snooze"),
            &app.admin_key,
            Some(json!({ "until": "someday" })),
        )
        .await;
    assert_eq!(
        (status, bad["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_parameter"))
    );
    assert!(
        bad["message"]
            .as_str()
            .unwrap()
            .contains("until \"someday\" is not a date"),
        "{bad}"
    );
    let (status, bad) = app
        .send(
            Method::POST,
            &path("snooze"),
            &app.admin_key,
            Some(json!({})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");

    let (status, done) = app
        .send(Method::POST, &path("complete"), &app.admin_key, None)
        .await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert_eq!(done["status"], "done");
    assert!(done["completed_at"].is_string());
    assert_eq!(
        app.get("/api/v1/tasks?status=done").await["tasks"][0]["id"],
        app.task
    );

    let (status, missing) = app
        .send(
            Method::POST,
            "/api/v1/tasks/999/complete",
            &app.admin_key,
            None,
        )
        .await;
    assert_eq!(
        (status, missing["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("unknown_task"))
    );
}

/// The dry-run and the replay take a read key (a write key is refused), answer every
/// configured playbook, and refuse a bad question with what to do.
#[tokio::test]
async fn the_dry_run_and_the_replay_are_read_with_a_read_key() {
    let app = TestApp::new();
    let ws = WorkspaceId::default_workspace();
    let write_key = app.store.create_key(&ws, Scope::Write).unwrap();
    for path in [
        "/api/v1/playbooks/dry_run",
        "/api/v1/playbooks/replay?days=7",
    ] {
        let (status, body) = app.send(Method::GET, path, &write_key, None).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}: {body}");
    }
    let preview = app.get("/api/v1/playbooks/dry_run?as_of=2026-03-01").await;
    assert_eq!(preview["as_of"], "2026-03-01T00:00:00.000Z");
    let names: Vec<&str> = preview["playbooks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["playbook"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["usage_drop", "renewal_90"]);
    assert_eq!(preview["playbooks"][1]["enabled"], false);
    assert_eq!(preview["playbooks"][1]["trigger"], "calendar");
    // The store holds no entries: the replay goes through an empty window.
    let replay = app
        .get("/api/v1/playbooks/replay?days=2&until=2026-03-03&playbook=usage_drop")
        .await;
    assert_eq!(replay["from"], "2026-03-01T00:00:00.000Z");
    assert_eq!(replay["tick"], "1d");
    assert_eq!(replay["firings"], json!([]));
    assert_eq!(replay["playbooks"].as_array().unwrap().len(), 1);
    assert_eq!(replay["playbooks"][0]["playbook"], "usage_drop");
    for (path, code, wanted) in [
        (
            "/api/v1/playbooks/dry_run?account=acme",
            "unknown_account",
            "has no status",
        ),
        (
            "/api/v1/playbooks/dry_run?playbook=nope",
            "invalid_parameter",
            "usage_drop, renewal_90",
        ),
        (
            "/api/v1/playbooks/replay?days=many",
            "invalid_parameter",
            "from 1 to 366",
        ),
    ] {
        let (status, body) = app.send(Method::GET, path, &app.read_key, None).await;
        assert!(status.is_client_error(), "{path}: {status}");
        assert_eq!(body["code"], code, "{path}: {body}");
        assert!(body.to_string().contains(wanted), "{path}: {body}");
    }
}

#[tokio::test]
async fn every_new_route_is_in_the_api_document() {
    let app = TestApp::new();
    let doc = app.get("/api/v1/openapi.json").await;
    for (path, method) in [
        ("/api/v1/playbooks", "get"),
        ("/api/v1/playbooks/firings", "get"),
        ("/api/v1/playbooks/dry_run", "get"),
        ("/api/v1/playbooks/replay", "get"),
        ("/api/v1/accounts/{account}/playbooks", "get"),
        ("/api/v1/deliveries", "get"),
        ("/api/v1/deliveries/{id}", "get"),
        ("/api/v1/deliveries/{id}/retry", "post"),
        ("/api/v1/deliveries/retry_dead", "post"),
        ("/api/v1/tasks", "get"),
        ("/api/v1/tasks/{id}/assign", "post"),
        ("/api/v1/tasks/{id}/complete", "post"),
        ("/api/v1/tasks/{id}/snooze", "post"),
    ] {
        assert!(
            doc["paths"][path][method].is_object(),
            "{method} {path} is not in the document"
        );
    }
    for schema in [
        "PlaybookList",
        "PlaybookView",
        "TriggerView",
        "ActionView",
        "DeliveryCounts",
        "FiringLog",
        "FiringView",
        "FiringDelivery",
        "AccountPlaybooks",
        "OwnerView",
        "ActivityRow",
        "DeliveryList",
        "DeliveryView",
        "DeliveryDetail",
        "AttemptView",
        "RetryAnswer",
        "TaskList",
        "TaskView",
    ] {
        assert!(
            doc["components"]["schemas"][schema].is_object(),
            "schema {schema} is missing"
        );
    }
}

/// The session cookie of a browser signed in with `key` through the dashboard's form.
async fn signed_in(app: &TestApp, key: &str) -> String {
    let request = Request::builder()
        .method(Method::POST)
        .uri("/signin")
        .header("content-type", "application/x-www-form-urlencoded")
        .header("host", "127.0.0.1:7070")
        .header("origin", "http://127.0.0.1:7070")
        .body(Body::from(format!("key={key}&next=%2Fstatus")))
        .unwrap();
    let response = router(app.state.clone()).oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let set = response.headers()["set-cookie"].to_str().unwrap();
    set.split(';').next().unwrap().to_owned()
}

async fn page(app: &TestApp, path: &str, cookie: &str) -> String {
    let request = Request::get(path)
        .header("cookie", cookie)
        .body(Body::empty())
        .unwrap();
    let response = router(app.state.clone()).oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    String::from_utf8(bytes.to_vec()).unwrap()
}

/// A CSV cell holds the JSON value as the browser check reads it: empty for null, the text
/// of a number, a string or a flag.
fn same(cell: &str, value: &Value) -> bool {
    match value {
        Value::Null => cell.is_empty(),
        Value::Number(n) => cell.parse::<f64>().ok() == n.as_f64(),
        Value::String(s) => cell == s,
        Value::Bool(b) => cell == if *b { "true" } else { "false" },
        // No list or object is a column of these tables.
        _ => false,
    }
}

/// An account's playbooks: its owner and SLA from the latest handoff, its open tasks, and its
/// firings with each delivery's status, attempts, last code and times; completing its task
/// meets the SLA; and the dashboard's account page shows the same figures as the API.
#[tokio::test]
async fn an_accounts_playbooks_are_in_the_api_and_on_its_dashboard_page() {
    let app = TestApp::new();
    let ws = WorkspaceId::default_workspace();
    app.store
        .set_owner(
            &ws,
            &tenure_store::OwnerChange {
                account: "acme".into(),
                team: "cs".into(),
                owner: Some("maria@example.com".into()),
                at: at("2026-03-01T10:00:02Z"),
                sla_due: Some(at("2026-03-01T11:00:02Z")),
                playbook: Some("usage_drop".into()),
            },
        )
        .unwrap();
    let view = app.get("/api/v1/accounts/acme/playbooks").await;
    assert_eq!(view["account"], "acme");
    assert_eq!(view["owner"]["team"], "cs");
    assert_eq!(view["owner"]["owner"], "maria@example.com");
    assert_eq!(view["owner"]["sla_due"], "2026-03-01T11:00:02.000Z");
    assert_eq!(view["owner"]["sla"], "breached", "long past, unmet");
    assert_eq!(view["open_tasks"][0]["title"], "Call Acme");
    assert_eq!(view["firings"][0]["key"], "usage_drop/p1/acme/30d:0");
    let activity = view["activity"].as_array().unwrap();
    assert_eq!(activity.len(), 2, "one row per delivery");
    assert_eq!(
        (
            activity[0]["kind"].as_str(),
            activity[0]["status"].as_str(),
            activity[0]["attempts"].as_u64(),
            activity[0]["last_code"].as_u64()
        ),
        (Some("webhook"), Some("dead"), Some(2), Some(410))
    );
    assert_eq!(activity[0]["last_attempt_at"], "2026-03-01T10:06:01.000Z");
    assert_eq!(activity[1]["delivered_at"], "2026-03-01T10:00:02.000Z");
    let other = app.get("/api/v1/accounts/someone_else/playbooks").await;
    assert_eq!(other["owner"], Value::Null);
    assert!(other["activity"].as_array().unwrap().is_empty());

    // The page and its CSVs: every figure's rows are the API's, field by field.
    let cookie = signed_in(&app, &app.read_key).await;
    let html = page(&app, "/accounts/acme", &cookie).await;
    for expected in [
        r#"data-source="/api/v1/accounts/acme/playbooks""#,
        r#"data-rows="activity""#,
        r#"data-rows="open_tasks""#,
        "maria@example.com",
        "Owner and SLA",
        "breached",
    ] {
        assert!(html.contains(expected), "{expected} not on the page");
    }
    for (figure, rows) in [("playbooks", "activity"), ("tasks", "open_tasks")] {
        let csv = page(
            &app,
            &format!("/csv/account?account=acme&figure={figure}"),
            &cookie,
        )
        .await;
        let mut lines = csv.lines();
        let header: Vec<&str> = lines.next().unwrap().split(',').collect();
        let body: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
        let listed = view[rows].as_array().unwrap();
        assert_eq!(body.len(), listed.len(), "{figure}");
        for (line, record) in body.iter().zip(listed) {
            for (key, cell) in header.iter().zip(line) {
                let cell = cell.trim_matches('"');
                assert!(
                    same(cell, &record[*key]),
                    "{figure} {key}: CSV {cell:?}, API {}",
                    record[*key]
                );
            }
        }
    }

    // The owner completes the task: the SLA is met (late, as it had ended).
    let (status, _) = app
        .send(
            Method::POST,
            &format!("/api/v1/tasks/{}/complete", app.task),
            &app.admin_key,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let view = app.get("/api/v1/accounts/acme/playbooks").await;
    assert_eq!(view["owner"]["sla"], "met_late");
    assert!(view["owner"]["sla_met_at"].is_string());
    assert!(view["open_tasks"].as_array().unwrap().is_empty());
}
