//! A fake of Google's Data Manager API, `POST /v1/events:ingest`, enforcing what Google
//! documents (see `crate::google::data_manager` for the sources): a Bearer token; destinations
//! with a `GOOGLE_ADS` operating account and a `productDestinationId`; at most 2,000 events;
//! and **fast-fail**: one bad event (an e-mail that is not a hex SHA-256, more than one ad
//! identifier, more than 10 user identifiers, no identifier at all, a click past the click
//! window) fails the whole request with 400 `INVALID_ARGUMENT`, recording nothing.
//!
//! An event whose `transactionId` the fake has for the same conversion action is an
//! adjustment: its `conversionValue` and `currency` overwrite the recorded ones (Google's
//! guide "Conversion adjustments"). The fake knows the clicks a test registers with
//! [`DataManagerFake::click`]; an unknown click id is taken (Google matches asynchronously and
//! reports through diagnostics, not in the answer).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};
use tenure_core::Timestamp;

use super::{HttpReceiver, Reply, Request};

/// What the fake recorded for one conversion.
#[derive(Debug, Clone, PartialEq)]
pub struct Recorded {
    pub value: Option<f64>,
    pub currency: Option<String>,
    /// The event as first received.
    pub event: Value,
}

#[derive(Debug, Default)]
struct State {
    token: String,
    now: Option<Timestamp>,
    window_days: u32,
    clicks: HashMap<String, Timestamp>,
    conversions: BTreeMap<(String, String), Recorded>,
    accepted: Vec<Value>,
    adjustments: Vec<Value>,
    next: VecDeque<Reply>,
}

/// The fake, listening on loopback.
#[derive(Debug)]
pub struct DataManagerFake {
    receiver: HttpReceiver,
    state: Arc<Mutex<State>>,
}

/// A Google error answer (google.rpc.Status as JSON).
pub(crate) fn google_error(code: u16, status: &str, message: &str) -> Reply {
    Reply::new(
        code,
        &json!({"error": {"code": code, "message": message, "status": status}}).to_string(),
    )
}

impl DataManagerFake {
    /// Starts the fake, taking requests bearing `expected_token`.
    pub fn start(expected_token: &str) -> DataManagerFake {
        let state = Arc::new(Mutex::new(State {
            token: expected_token.to_owned(),
            window_days: 90,
            ..State::default()
        }));
        let shared = Arc::clone(&state);
        let receiver = HttpReceiver::start(move |request| {
            let mut state = shared.lock().unwrap();
            if let Some(reply) = state.next.pop_front() {
                return reply;
            }
            answer(&mut state, request)
        });
        DataManagerFake { receiver, state }
    }

    /// The base URL to give the destination as `url`.
    pub fn url(&self) -> String {
        self.receiver
            .url
            .strip_suffix("/hook")
            .unwrap_or(&self.receiver.url)
            .to_owned()
    }

    /// Makes `id` a click Google knows, landed at `at`.
    pub fn click(&self, id: &str, at: Timestamp) {
        self.state.lock().unwrap().clicks.insert(id.to_owned(), at);
    }

    /// The fake's "now" for its click-window check (the system clock until set).
    pub fn set_now(&self, now: Timestamp) {
        self.state.lock().unwrap().now = Some(now);
    }

    /// The conversion action's click window (90 days until set).
    pub fn set_window_days(&self, days: u32) {
        self.state.lock().unwrap().window_days = days;
    }

    /// Answers the next request with `reply` (a 429, a 503, …) whatever it holds.
    pub fn reply_next(&self, reply: Reply) {
        self.state.lock().unwrap().next.push_back(reply);
    }

    /// Google's answer when the project's quota is spent.
    pub fn quota_exhausted() -> Reply {
        google_error(
            429,
            "RESOURCE_EXHAUSTED",
            "Quota exceeded for quota metric 'Requests'",
        )
        .with_header("Retry-After", "30")
    }

    /// Google's answer when it is briefly down.
    pub fn unavailable() -> Reply {
        google_error(503, "UNAVAILABLE", "The service is currently unavailable.")
    }

    /// The new conversions recorded, in order, as received.
    pub fn accepted(&self) -> Vec<Value> {
        self.state.lock().unwrap().accepted.clone()
    }

    /// The adjustments applied (events repeating a recorded `transactionId`), in order.
    pub fn adjustments_applied(&self) -> Vec<Value> {
        self.state.lock().unwrap().adjustments.clone()
    }

    /// The conversion recorded for `transaction_id` under conversion action `action`.
    pub fn conversion(&self, action: &str, transaction_id: &str) -> Option<Recorded> {
        self.state
            .lock()
            .unwrap()
            .conversions
            .get(&(action.to_owned(), transaction_id.to_owned()))
            .cloned()
    }

    /// Every request received, answered or not.
    pub fn requests(&self) -> Vec<Request> {
        self.receiver.requests()
    }
}

fn answer(state: &mut State, request: &Request) -> Reply {
    if request.method != "POST" || request.path != "/v1/events:ingest" {
        return google_error(
            404,
            "NOT_FOUND",
            &format!("no method {} {}", request.method, request.path),
        );
    }
    if request.header("authorization") != Some(&format!("Bearer {}", state.token)) {
        return google_error(
            401,
            "UNAUTHENTICATED",
            "Request had invalid authentication credentials. Expected OAuth 2 access token.",
        );
    }
    let Ok(body) = serde_json::from_slice::<Value>(&request.body) else {
        return invalid("the body is not JSON");
    };
    let destinations = match validate(state, &body) {
        Ok(destinations) => destinations,
        Err(why) => return invalid(&why),
    };
    if body["validateOnly"] != json!(true) {
        let events = body["events"].as_array().cloned().unwrap_or_default();
        for action in destinations {
            for event in &events {
                record(state, &action, event);
            }
        }
    }
    Reply::new(
        200,
        &json!({"requestId": format!("fake-{}", state.accepted.len())}).to_string(),
    )
}

/// A 400 naming the field at fault, as Google's `google.rpc.BadRequest` detail does: `why`
/// starts with the field's path (`events[3]: …`, `destinations[0].productDestinationId: …`).
fn invalid(why: &str) -> Reply {
    let field = why.split_once(": ").map_or("", |(field, _)| field);
    Reply::new(
        400,
        &json!({"error": {
            "code": 400,
            "message": why,
            "status": "INVALID_ARGUMENT",
            "details": [{
                "@type": "type.googleapis.com/google.rpc.BadRequest",
                "fieldViolations": [{"field": field, "description": why}],
            }],
        }})
        .to_string(),
    )
}

/// The whole request's checks; the conversion actions it goes to.
fn validate(state: &State, body: &Value) -> Result<Vec<String>, String> {
    let destinations = body["destinations"]
        .as_array()
        .filter(|d| !d.is_empty())
        .ok_or("destinations: at least one is required")?;
    if destinations.len() > 10 {
        return Err("destinations: at most 10".into());
    }
    let mut actions = Vec::new();
    for (i, d) in destinations.iter().enumerate() {
        let account = &d["operatingAccount"];
        if account["accountType"] != "GOOGLE_ADS" {
            return Err(format!(
                "destinations[{i}].operatingAccount.accountType: must be GOOGLE_ADS"
            ));
        }
        let id = account["accountId"].as_str().unwrap_or_default();
        if id.len() != 10 || !id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!(
                "destinations[{i}].operatingAccount.accountId: {id:?} is not a 10-digit customer id without dashes"
            ));
        }
        if let Some(login) = d.get("loginAccount") {
            if login["accountType"] != "GOOGLE_ADS"
                || login["accountId"].as_str().is_none_or(str::is_empty)
            {
                return Err(format!(
                    "destinations[{i}].loginAccount: accountType and accountId required"
                ));
            }
        }
        match d["productDestinationId"].as_str() {
            Some(action) if !action.is_empty() => actions.push(action.to_owned()),
            _ => return Err(format!("destinations[{i}].productDestinationId: required")),
        }
    }
    let events = body["events"]
        .as_array()
        .filter(|e| !e.is_empty())
        .ok_or("events: at least one is required")?;
    if events.len() > 2_000 {
        return Err(format!("events: {} is more than 2000", events.len()));
    }
    let hashed = events.iter().any(|e| e.get("userData").is_some());
    if hashed && body["encoding"] != "HEX" && body["encoding"] != "BASE64" {
        return Err("encoding: required when events carry userData".into());
    }
    for (i, event) in events.iter().enumerate() {
        check_event(state, event).map_err(|why| format!("events[{i}]: {why}"))?;
    }
    Ok(actions)
}

fn check_event(state: &State, event: &Value) -> Result<(), String> {
    if event["transactionId"].as_str().is_none_or(str::is_empty) {
        return Err("transactionId: required".into());
    }
    let at = event["eventTimestamp"]
        .as_str()
        .and_then(|t| Timestamp::parse(t).ok())
        .ok_or("eventTimestamp: required, RFC 3339")?;
    let source = event["eventSource"].as_str().unwrap_or_default();
    if !["WEB", "APP", "IN_STORE", "PHONE", "OTHER"].contains(&source) {
        return Err(format!(
            "eventSource: {source:?} is not an event source (required for offline conversions)"
        ));
    }
    let clicks: Vec<&str> = ["gclid", "gbraid", "wbraid"]
        .into_iter()
        .filter(|k| event["adIdentifiers"].get(k).is_some())
        .collect();
    if clicks.len() > 1 {
        return Err(format!(
            "adIdentifiers: at most one of gclid, gbraid and wbraid, not {}",
            clicks.join(" and ")
        ));
    }
    let identifiers = event["userData"]["userIdentifiers"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if identifiers.len() > 10 {
        return Err(format!(
            "userData.userIdentifiers: {} is more than 10",
            identifiers.len()
        ));
    }
    for (j, identifier) in identifiers.iter().enumerate() {
        let hash = identifier["emailAddress"].as_str().unwrap_or_default();
        if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(format!(
                "userData.userIdentifiers[{j}].emailAddress: not a hex-encoded SHA-256 hash (INVALID_HEX_ENCODING)"
            ));
        }
    }
    if clicks.is_empty() && identifiers.is_empty() {
        return Err("an ad identifier or user data is required".into());
    }
    if let Some(value) = event.get("conversionValue") {
        if value.as_f64().is_none_or(|v| v < 0.0) {
            return Err("conversionValue: must be a number, 0 or more".into());
        }
    }
    if let Some(kind) = clicks.first() {
        let id = event["adIdentifiers"][kind].as_str().unwrap_or_default();
        if let Some(&clicked) = state.clicks.get(id) {
            let window = i64::from(state.window_days) * Timestamp::MS_PER_DAY;
            let now = state
                .now
                .unwrap_or_else(|| Timestamp::from_millis(now_ms()));
            if now.millis() - clicked.millis() > window || at.millis() - clicked.millis() > window {
                return Err(format!("adIdentifiers.{kind}: the click is outside the conversion action's click window"));
            }
        }
    }
    Ok(())
}

fn record(state: &mut State, action: &str, event: &Value) {
    let key = (
        action.to_owned(),
        event["transactionId"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    );
    let value = event["conversionValue"].as_f64();
    let currency = event["currency"].as_str().map(str::to_owned);
    match state.conversions.get_mut(&key) {
        Some(recorded) => {
            // Value and currency are overwritten; the rest keeps what was recorded.
            if value.is_some() {
                recorded.value = value;
                recorded.currency = currency;
            }
            state.adjustments.push(event.clone());
        }
        None => {
            state.conversions.insert(
                key,
                Recorded {
                    value,
                    currency,
                    event: event.clone(),
                },
            );
            state.accepted.push(event.clone());
        }
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}
