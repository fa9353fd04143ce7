//! The playbooks' and tasks' routes: `/api/v1/playbooks`, `/api/v1/playbooks/firings`,
//! `/api/v1/playbooks/dry_run`, `/api/v1/playbooks/replay`,
//! `/api/v1/deliveries…` and `/api/v1/tasks…`, the API twins of `tenure playbooks …` and
//! `tenure tasks …` with the same JSON ([`crate::playbooks`]). Reads take a read key; retries
//! and task changes act, so they take the admin key.

use std::sync::Arc;

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use tenure_core::{Timestamp, WorkspaceId};
use tenure_store::{Scope, Store, TaskChange};
use utoipa::{IntoParams, ToSchema};

use crate::auth::header_key;
use crate::playbooks::{
    self as views, AccountPlaybooks, ActionsError, DeliveryDetail, DeliveryList, DryRun, FiringLog,
    PlaybookList, ReplayAnswer, RetryAnswer, TaskList, TaskView,
};
use crate::{ApiError, AppState};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/playbooks", get(list_playbooks))
        .route("/api/v1/playbooks/firings", get(list_firings))
        .route("/api/v1/playbooks/dry_run", get(dry_run))
        .route("/api/v1/playbooks/replay", get(replay))
        .route("/api/v1/deliveries", get(list_deliveries))
        .route("/api/v1/deliveries/retry_dead", post(retry_dead))
        .route("/api/v1/deliveries/{id}", get(read_delivery))
        .route("/api/v1/deliveries/{id}/retry", post(retry_delivery))
        .route(
            "/api/v1/accounts/{account}/playbooks",
            get(account_playbooks),
        )
        .route("/api/v1/tasks", get(list_tasks))
        .route("/api/v1/tasks/{id}/assign", post(assign_task))
        .route("/api/v1/tasks/{id}/complete", post(complete_task))
        .route("/api/v1/tasks/{id}/snooze", post(snooze_task))
}

impl From<ActionsError> for ApiError {
    fn from(e: ActionsError) -> Self {
        match e {
            ActionsError::Parameter(_) => ApiError::bad_request("invalid_parameter", e.to_string()),
            ActionsError::UnknownDelivery(_) => {
                ApiError::new(StatusCode::NOT_FOUND, "unknown_delivery", e.to_string())
            }
            ActionsError::UnknownTask(_) => {
                ApiError::new(StatusCode::NOT_FOUND, "unknown_task", e.to_string())
            }
            ActionsError::UnknownAccount(_) => {
                ApiError::new(StatusCode::NOT_FOUND, "unknown_account", e.to_string())
            }
            ActionsError::AlreadyDelivered { .. } => {
                ApiError::new(StatusCode::CONFLICT, "already_delivered", e.to_string())
            }
            ActionsError::Config(message) => {
                tracing::error!(error = %message, "the playbooks' configuration cannot be read");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "config_error",
                    "the configuration's playbooks cannot be read; the server log says why",
                )
            }
            ActionsError::Store(e) => e.into(),
        }
    }
}

pub(crate) fn workspace(
    state: &AppState,
    headers: &HeaderMap,
    scope: Scope,
) -> Result<WorkspaceId, ApiError> {
    let secret = header_key(headers)?;
    Ok(state
        .keys
        .authorize(&state.store, secret.as_deref(), scope)?
        .workspace)
}

pub(crate) type Pairs = Result<Query<Vec<(String, String)>>, QueryRejection>;

pub(crate) fn query(q: Pairs) -> Result<Vec<(String, String)>, ApiError> {
    q.map(|Query(pairs)| pairs)
        .map_err(|e| ApiError::bad_request("invalid_parameter", e.body_text()))
}

/// Runs a store call off the async threads.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce(&dyn Store) -> Result<T, ActionsError> + Send + 'static,
    store: Arc<dyn Store>,
) -> Result<Json<T>, ApiError> {
    tokio::task::spawn_blocking(move || f(store.as_ref()))
        .await
        .map_err(|_| ApiError::unavailable("the store call failed", 5))?
        .map(Json)
        .map_err(ApiError::from)
}

pub(crate) fn now() -> Timestamp {
    Timestamp::from_datetime(chrono::Utc::now())
}

/// Query of `GET /api/v1/playbooks/firings`.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // read as pairs, declared for the API document
pub(crate) struct FiringQuery {
    /// Only this playbook's firings.
    playbook: Option<String>,
    /// Only this account's firings.
    account: Option<String>,
    /// Only firings at or after this instant (RFC 3339, or a date meaning its midnight UTC).
    since: Option<String>,
    /// At most this many, 1 to 10000 (default 100).
    limit: Option<usize>,
}

/// Query of `GET /api/v1/playbooks/dry_run`.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // read as pairs, declared for the API document
pub(crate) struct DryRunParams {
    /// Only this playbook.
    playbook: Option<String>,
    /// This account step by step (every condition, the key it would fire under, each action
    /// rendered) instead of who matches.
    account: Option<String>,
    /// Score the accounts at this instant (RFC 3339, or a date meaning its midnight UTC);
    /// default now.
    as_of: Option<String>,
}

/// Query of `GET /api/v1/playbooks/replay`.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // read as pairs, declared for the API document
pub(crate) struct ReplayParams {
    /// How many days back to replay, 1 to 366 (required).
    days: u32,
    /// Show only this playbook's firings (all are replayed: the daily cap is across them).
    playbook: Option<String>,
    /// The window's end (RFC 3339, or a date meaning its midnight UTC); default now.
    until: Option<String>,
    /// How often the state and calendar triggers are evaluated: `1m` to `1d` (default `1d`).
    tick: Option<String>,
}

/// Query of `GET /api/v1/deliveries`.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // read as pairs, declared for the API document
pub(crate) struct DeliveryQuery {
    /// `pending`, `delivered` or `dead`.
    status: Option<String>,
    playbook: Option<String>,
    account: Option<String>,
    /// The configured destination's name.
    destination: Option<String>,
    /// At most this many, 1 to 10000 (default 100).
    limit: Option<usize>,
}

/// Query of `GET /api/v1/tasks`.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // read as pairs, declared for the API document
pub(crate) struct TaskQuery {
    /// `open`, `snoozed` or `done`.
    status: Option<String>,
    owner: Option<String>,
    account: Option<String>,
    /// At most this many, 1 to 10000 (default 100).
    limit: Option<usize>,
}

/// `GET /api/v1/playbooks`: the configured playbooks with their firings and deliveries.
#[utoipa::path(get, path = "/api/v1/playbooks", tag = "playbooks",
    responses((status = 200, description = "Each configured playbook: name, version, enabled, trigger (in words and as JSON), for_whom, limit, actions, and its counts of firings and of deliveries by status", body = PlaybookList)))]
pub(crate) async fn list_playbooks(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<PlaybookList>, ApiError> {
    let ws = workspace(&state, &headers, Scope::Read)?;
    let playbooks = views::configured(&state.config)?;
    blocking(
        move |store| views::list(store, &ws, &playbooks),
        Arc::clone(&state.store),
    )
    .await
}

/// `GET /api/v1/playbooks/firings`: the audit log of firings, newest first.
#[utoipa::path(get, path = "/api/v1/playbooks/firings", tag = "playbooks", params(FiringQuery),
    responses((status = 200, description = "Firings, newest first, each with its deliveries' statuses", body = FiringLog)))]
pub(crate) async fn list_firings(
    State(state): State<AppState>,
    headers: HeaderMap,
    q: Pairs,
) -> Result<Json<FiringLog>, ApiError> {
    let pairs = query(q)?;
    let ws = workspace(&state, &headers, Scope::Read)?;
    let filter = views::firing_filter(&pairs)?;
    blocking(
        move |store| views::firing_log(store, &ws, &filter),
        Arc::clone(&state.store),
    )
    .await
}

/// `GET /api/v1/playbooks/dry_run`: what the playbooks would do at an instant, sending
/// nothing; the JSON of `tenure playbooks dry-run --format json`.
#[utoipa::path(get, path = "/api/v1/playbooks/dry_run", tag = "playbooks", params(DryRunParams),
    responses((status = 200, description = "Without `account`: `{as_of, playbooks}`, each playbook with the accounts it matches (the first 50 by id), how many, and the deliveries each action would make. With `account`: `{as_of, explained}`, each playbook's conditions with what the account had, the key it would fire under, and each action rendered. 404 `unknown_account` for an account without a status", body = Object)))]
pub(crate) async fn dry_run(
    State(state): State<AppState>,
    headers: HeaderMap,
    q: Pairs,
) -> Result<Json<DryRun>, ApiError> {
    let pairs = query(q)?;
    let ws = workspace(&state, &headers, Scope::Read)?;
    let q = views::dry_run_query(&pairs)?;
    let playbooks = views::chosen(&views::configured(&state.config)?, q.playbook.as_deref())?;
    let (live, settings) = (Arc::clone(&state.live), Arc::clone(&state.report_settings));
    blocking(
        move |store| {
            let as_of = q.as_of.unwrap_or_else(now);
            let statuses = views::statuses_at(&live, &ws, &settings, as_of)?;
            views::dry_run(
                store,
                &ws,
                &playbooks,
                q.account.as_deref(),
                &statuses,
                as_of,
            )
        },
        Arc::clone(&state.store),
    )
    .await
}

/// `GET /api/v1/playbooks/replay`: what the playbooks would have fired over the last days of
/// the log, and when, recording and sending nothing; the JSON of `tenure playbooks replay
/// --format json`. It reads the whole log: seconds to minutes on a large workspace.
#[utoipa::path(get, path = "/api/v1/playbooks/replay", tag = "playbooks", params(ReplayParams),
    responses((status = 200, description = "`{from, until, tick, entries, playbooks, firings}`: per playbook its firings, the accounts recorded as seen at the start (`on_enable = \"none\"`) and the firings the daily cap held back; each firing with its key, instant, cause and what each action would have sent", body = Object)))]
pub(crate) async fn replay(
    State(state): State<AppState>,
    headers: HeaderMap,
    q: Pairs,
) -> Result<Json<ReplayAnswer>, ApiError> {
    let pairs = query(q)?;
    let ws = workspace(&state, &headers, Scope::Read)?;
    let q = views::replay_query(&pairs)?;
    let config = Arc::clone(&state.config);
    views::chosen(&views::configured(&config)?, q.playbook.as_deref())?;
    blocking(
        move |store| views::replay(store, &ws, &config, &q, now(), &mut |_| {}),
        Arc::clone(&state.store),
    )
    .await
}

/// `GET /api/v1/accounts/{account}/playbooks`: one account's owner, open tasks and firings.
#[utoipa::path(get, path = "/api/v1/accounts/{account}/playbooks", tag = "playbooks",
    params(("account" = String, Path, description = "The account's id")),
    responses((status = 200, description = "The account's current owner and team with its SLA, its open tasks, and its latest firings (newest first) each with its deliveries' status, attempts, last code and times", body = AccountPlaybooks)))]
pub(crate) async fn account_playbooks(
    State(state): State<AppState>,
    Path(account): Path<String>,
    headers: HeaderMap,
) -> Result<Json<AccountPlaybooks>, ApiError> {
    let ws = workspace(&state, &headers, Scope::Read)?;
    blocking(
        move |store| views::account_playbooks(store, &ws, &account, now()),
        Arc::clone(&state.store),
    )
    .await
}

/// `GET /api/v1/deliveries`: the outbox, newest first.
#[utoipa::path(get, path = "/api/v1/deliveries", tag = "playbooks", params(DeliveryQuery),
    responses((status = 200, description = "Deliveries, newest first", body = DeliveryList)))]
pub(crate) async fn list_deliveries(
    State(state): State<AppState>,
    headers: HeaderMap,
    q: Pairs,
) -> Result<Json<DeliveryList>, ApiError> {
    let pairs = query(q)?;
    let ws = workspace(&state, &headers, Scope::Read)?;
    let filter = views::delivery_filter(&pairs)?;
    blocking(
        move |store| views::deliveries(store, &ws, &filter),
        Arc::clone(&state.store),
    )
    .await
}

/// `GET /api/v1/deliveries/{id}`: one delivery, its payload and every attempt.
#[utoipa::path(get, path = "/api/v1/deliveries/{id}", tag = "playbooks",
    params(("id" = i64, Path, description = "The delivery's id")),
    responses((status = 200, description = "The delivery with its payload and attempts (code, outcome, error, duration)", body = DeliveryDetail)))]
pub(crate) async fn read_delivery(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<DeliveryDetail>, ApiError> {
    let ws = workspace(&state, &headers, Scope::Read)?;
    let id = views::delivery_id(&id)?;
    blocking(
        move |store| views::delivery(store, &ws, id),
        Arc::clone(&state.store),
    )
    .await
}

/// `POST /api/v1/deliveries/{id}/retry` (admin): a dead (or pending) delivery made pending
/// and due now; a delivered one is refused with 409 `already_delivered`.
#[utoipa::path(post, path = "/api/v1/deliveries/{id}/retry", tag = "playbooks",
    params(("id" = i64, Path, description = "The delivery's id")),
    responses((status = 200, description = "The delivery, pending and due now; 409 `already_delivered` if it was delivered (nothing is changed)", body = RetryAnswer)))]
pub(crate) async fn retry_delivery(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<RetryAnswer>, ApiError> {
    let ws = workspace(&state, &headers, Scope::Admin)?;
    let id = views::delivery_id(&id)?;
    blocking(
        move |store| views::retry(store, &ws, id, now()),
        Arc::clone(&state.store),
    )
    .await
}

/// `POST /api/v1/deliveries/retry_dead` (admin): every dead delivery of the workspace made
/// pending and due now.
#[utoipa::path(post, path = "/api/v1/deliveries/retry_dead", tag = "playbooks",
    responses((status = 200, description = "The deliveries retried, oldest first (none if the dead-letter list was empty)", body = RetryAnswer)))]
pub(crate) async fn retry_dead(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<RetryAnswer>, ApiError> {
    let ws = workspace(&state, &headers, Scope::Admin)?;
    blocking(
        move |store| views::retry_dead(store, &ws, now()),
        Arc::clone(&state.store),
    )
    .await
}

/// `GET /api/v1/tasks`: the tasks, by id, each with its status now.
#[utoipa::path(get, path = "/api/v1/tasks", tag = "tasks", params(TaskQuery),
    responses((status = 200, description = "Tasks, by id", body = TaskList)))]
pub(crate) async fn list_tasks(
    State(state): State<AppState>,
    headers: HeaderMap,
    q: Pairs,
) -> Result<Json<TaskList>, ApiError> {
    let pairs = query(q)?;
    let ws = workspace(&state, &headers, Scope::Read)?;
    let filter = views::task_filter(&pairs)?;
    blocking(
        move |store| views::tasks(store, &ws, &filter, now()),
        Arc::clone(&state.store),
    )
    .await
}

/// Body of `POST /api/v1/tasks/{id}/assign`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Assign {
    /// The new owner; null unassigns.
    owner: Option<String>,
}

/// Body of `POST /api/v1/tasks/{id}/snooze`: exactly one of `until` and `for`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Snooze {
    /// Until this instant (RFC 3339, or a date meaning its midnight UTC).
    until: Option<String>,
    /// For this long from now: `3d`, `12h`, `30m`.
    #[serde(rename = "for")]
    span: Option<String>,
}

fn body<T>(b: Result<Json<T>, JsonRejection>) -> Result<T, ApiError> {
    b.map(|Json(t)| t)
        .map_err(|e| ApiError::bad_request("invalid_body", e.body_text()))
}

async fn change(
    state: AppState,
    headers: &HeaderMap,
    id: &str,
    change: impl FnOnce(Timestamp) -> Result<TaskChange, ActionsError> + Send + 'static,
) -> Result<Json<TaskView>, ApiError> {
    let ws = workspace(&state, headers, Scope::Admin)?;
    let id = views::task_id(id)?;
    blocking(
        move |store| {
            let at = now();
            views::change_task(store, &ws, id, &change(at)?, at)
        },
        Arc::clone(&state.store),
    )
    .await
}

/// `POST /api/v1/tasks/{id}/assign` (admin) with `{"owner": "ana"}`.
#[utoipa::path(post, path = "/api/v1/tasks/{id}/assign", tag = "tasks",
    params(("id" = i64, Path, description = "The task's id")),
    request_body(content = Assign),
    responses((status = 200, description = "The task as it now is", body = TaskView)))]
pub(crate) async fn assign_task(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    b: Result<Json<Assign>, JsonRejection>,
) -> Result<Json<TaskView>, ApiError> {
    workspace(&state, &headers, Scope::Admin)?;
    let owner = body(b)?.owner;
    change(state, &headers, &id, move |_| Ok(TaskChange::Assign(owner))).await
}

/// `POST /api/v1/tasks/{id}/complete` (admin), no body.
#[utoipa::path(post, path = "/api/v1/tasks/{id}/complete", tag = "tasks",
    params(("id" = i64, Path, description = "The task's id")),
    responses((status = 200, description = "The task, done (a second completion keeps the first instant)", body = TaskView)))]
pub(crate) async fn complete_task(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<TaskView>, ApiError> {
    change(state, &headers, &id, |_| Ok(TaskChange::Complete)).await
}

/// `POST /api/v1/tasks/{id}/snooze` (admin) with `{"until": "2026-04-01"}` or `{"for": "3d"}`.
#[utoipa::path(post, path = "/api/v1/tasks/{id}/snooze", tag = "tasks",
    params(("id" = i64, Path, description = "The task's id")),
    request_body(content = Snooze),
    responses((status = 200, description = "The task, snoozed (a past instant ends a snooze; a done task is unchanged)", body = TaskView)))]
pub(crate) async fn snooze_task(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    b: Result<Json<Snooze>, JsonRejection>,
) -> Result<Json<TaskView>, ApiError> {
    workspace(&state, &headers, Scope::Admin)?;
    let snooze = body(b)?;
    change(state, &headers, &id, move |at| {
        let until = views::snooze_until(snooze.until.as_deref(), snooze.span.as_deref(), at)?;
        Ok(TaskChange::Snooze { until })
    })
    .await
}
