//! A fake of Meta's Graph API events edge, `POST /{version}/{pixel_id}/events`, that refuses
//! what the Conversions API documents it refuses, the way Meta refuses it: the whole request,
//! with a Graph error, for one bad event.

use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

use super::{HttpReceiver, Reply, Request};

/// The `action_source` values Meta allows.
pub const ACTION_SOURCES: [&str; 9] = [
    "email",
    "website",
    "app",
    "phone_call",
    "chat",
    "physical_store",
    "system_generated",
    "business_messaging",
    "other",
];

const DAY_S: i64 = 86_400;

/// The fake. Each request is answered by the first reply queued with
/// [`MetaGraph::answer_next`], else by the contract's checks.
#[derive(Debug)]
pub struct MetaGraph {
    receiver: HttpReceiver,
    state: Arc<Mutex<State>>,
}

#[derive(Debug, Default)]
struct State {
    token: String,
    accepted: Vec<Value>,
    seen: HashSet<(String, String)>,
    next: VecDeque<Reply>,
    refused: Vec<(String, String)>,
}

impl MetaGraph {
    /// A fake taking requests made with `expected_token`.
    pub fn start(expected_token: &str) -> MetaGraph {
        let state = Arc::new(Mutex::new(State {
            token: expected_token.to_owned(),
            ..State::default()
        }));
        let shared = Arc::clone(&state);
        let receiver = HttpReceiver::start(move |request| {
            let mut state = shared.lock().unwrap();
            if let Some(reply) = state.next.pop_front() {
                return reply;
            }
            handle(&mut state, request)
        });
        MetaGraph { receiver, state }
    }

    /// The base URL to give the destination as its `url` (in place of graph.facebook.com).
    pub fn url(&self) -> String {
        base(&self.receiver.url)
    }

    /// Every event accepted, once for each (event_name, event_id): a repeat is taken, as Meta
    /// takes it, but not counted again.
    pub fn accepted(&self) -> Vec<Value> {
        self.state.lock().unwrap().accepted.clone()
    }

    /// Every request received, in order, refused ones included; paths carry their query.
    pub fn requests(&self) -> Vec<Request> {
        self.receiver.requests()
    }

    /// Answers the next request with `reply`, whatever it holds (e.g. a 429 or a 503).
    pub fn answer_next(&self, reply: Reply) {
        self.state.lock().unwrap().next.push_back(reply);
    }

    /// Refuses any request holding the event with `event_id`, with `message`: for what Meta
    /// refuses that no local check can know of (a policy block, an event the pixel takes no
    /// more).
    pub fn refuse_event(&self, event_id: &str, message: &str) {
        self.state
            .lock()
            .unwrap()
            .refused
            .push((event_id.to_owned(), message.to_owned()));
    }
}

/// A Graph error, as Meta writes one.
pub fn graph_error(status: u16, code: i64, message: &str, user_message: &str) -> Reply {
    let error = json!({
        "error": {
            "message": message,
            "type": "OAuthException",
            "code": code,
            "error_user_msg": user_message,
            "fbtrace_id": "AfakeTrace01",
        }
    });
    Reply::new(status, &error.to_string())
}

fn base(url: &str) -> String {
    url.trim_end_matches("/hook").to_owned()
}

fn invalid(user_message: String) -> Reply {
    graph_error(400, 100, "Invalid parameter", &user_message)
}

fn handle(state: &mut State, request: &Request) -> Reply {
    let (path, query) = request.path.split_once('?').unwrap_or((&request.path, ""));
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let routed = request.method == "POST"
        && matches!(segments.as_slice(), [version, pixel, "events"]
            if version.starts_with('v') && !pixel.is_empty() && pixel.bytes().all(|b| b.is_ascii_digit()));
    if !routed {
        let error = json!({"error": {"message": format!("Unsupported {} request", request.method), "type": "GraphMethodException", "code": 100, "error_subcode": 33, "fbtrace_id": "AfakeTrace01"}});
        return Reply::new(400, &error.to_string());
    }
    match query_param(query, "access_token") {
        None => {
            return graph_error(
                401,
                190,
                "An access token is required to request this resource.",
                "",
            )
        }
        Some(token) if token != state.token => {
            return graph_error(
                401,
                190,
                "Invalid OAuth access token - Cannot parse access token",
                "",
            )
        }
        Some(_) => {}
    }
    if !request
        .header("content-type")
        .is_some_and(|c| c.starts_with("application/json"))
    {
        return invalid("the body must be JSON (Content-Type: application/json)".into());
    }
    let Ok(body) = serde_json::from_slice::<Value>(&request.body) else {
        return invalid("the body is not valid JSON".into());
    };
    let Some(events) = body.get("data").and_then(Value::as_array) else {
        return invalid("The parameter data is required".into());
    };
    if events.is_empty() || events.len() > 1000 {
        return invalid(format!(
            "data must hold 1 to 1000 events; it holds {}",
            events.len()
        ));
    }
    if body.get("test_event_code").is_some_and(|c| !c.is_string()) {
        return invalid("test_event_code must be a string".into());
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    for (i, event) in events.iter().enumerate() {
        if let Err(why) = check_event(event, now) {
            return invalid(format!("data[{i}]: {why}"));
        }
        let id = event.get("event_id").and_then(Value::as_str);
        if let Some((_, message)) = state.refused.iter().find(|(r, _)| Some(r.as_str()) == id) {
            return invalid(format!("data[{i}]: {message}"));
        }
    }
    for event in events {
        let name = event["event_name"].as_str().unwrap_or_default().to_owned();
        match event.get("event_id").and_then(Value::as_str) {
            Some(id) => {
                if state.seen.insert((name, id.to_owned())) {
                    state.accepted.push(event.clone());
                }
            }
            None => state.accepted.push(event.clone()),
        }
    }
    let answer =
        json!({"events_received": events.len(), "messages": [], "fbtrace_id": "AfakeTrace01"});
    Reply::new(200, &answer.to_string())
}

/// The server-event parameters Meta documents as required, and the forms it requires of them.
fn check_event(event: &Value, now: i64) -> Result<(), String> {
    if !event.is_object() {
        return Err("an event must be an object".into());
    }
    match event.get("event_name").and_then(Value::as_str) {
        Some(name) if !name.trim().is_empty() => {}
        _ => return Err("The parameter event_name is required".into()),
    }
    let Some(time) = event.get("event_time").and_then(Value::as_i64) else {
        return Err("The parameter event_time is required (unix seconds)".into());
    };
    let Some(source) = event.get("action_source").and_then(Value::as_str) else {
        return Err("The parameter action_source is required".into());
    };
    if !ACTION_SOURCES.contains(&source) {
        return Err(format!("action_source {source:?} is not allowed"));
    }
    let max_age = if source == "physical_store" { 62 } else { 7 } * DAY_S;
    if now - time > max_age {
        return Err(format!(
            "event_time {time} is too far in the past: events must be sent within {} days",
            max_age / DAY_S
        ));
    }
    let Some(user) = event.get("user_data").and_then(Value::as_object) else {
        return Err("The parameter user_data is required".into());
    };
    if source == "website" {
        if !user.get("client_user_agent").is_some_and(Value::is_string) {
            return Err("client_user_agent is required for website events".into());
        }
        if !event.get("event_source_url").is_some_and(Value::is_string) {
            return Err("event_source_url is required for website events".into());
        }
    }
    if let Some(em) = user.get("em") {
        let values: Vec<&Value> = match em {
            Value::Array(values) => values.iter().collect(),
            other => vec![other],
        };
        for value in values {
            let hashed = value.as_str().is_some_and(|v| {
                v.len() == 64 && v.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
            });
            if !hashed {
                return Err(
                    "em must be hashed: SHA-256 of the normalised e-mail, lowercase hex".into(),
                );
            }
        }
    }
    if let Some(fbc) = user.get("fbc") {
        if !fbc.as_str().is_some_and(well_formed_fbc) {
            return Err(format!(
                "fbc {fbc} is malformed: expected fb.<subdomain index>.<creation time ms>.<fbclid>"
            ));
        }
    }
    if let Some(custom) = event.get("custom_data") {
        let Some(custom) = custom.as_object() else {
            return Err("custom_data must be an object".into());
        };
        if custom.get("value").is_some_and(|v| !v.is_number()) {
            return Err("custom_data.value must be a number".into());
        }
        if let Some(currency) = custom.get("currency") {
            let ok = currency
                .as_str()
                .is_some_and(|c| c.len() == 3 && c.bytes().all(|b| b.is_ascii_alphabetic()));
            if !ok {
                return Err(format!(
                    "custom_data.currency {currency} is not an ISO 4217 code"
                ));
            }
        }
    }
    Ok(())
}

/// `fb.<0|1|2>.<creation time, unix ms>.<fbclid>`.
fn well_formed_fbc(fbc: &str) -> bool {
    let mut parts = fbc.splitn(4, '.');
    let (Some("fb"), Some(index), Some(time), Some(fbclid)) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    matches!(index, "0" | "1" | "2")
        && time.len() >= 12
        && time.bytes().all(|b| b.is_ascii_digit())
        && !fbclid.is_empty()
        && fbclid.bytes().all(|b| b.is_ascii_graphic())
}

/// The decoded value of `name` in a query string.
fn query_param(query: &str, name: &str) -> Option<String> {
    query.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        (key == name).then(|| percent_decode(value))
    })
}

fn percent_decode(text: &str) -> String {
    let hex = |b: u8| char::from(b).to_digit(16);
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%' && i + 2 < bytes.len())
            .then(|| Some(hex(bytes[i + 1])? * 16 + hex(bytes[i + 2])?))
            .flatten();
        match (escaped, bytes[i]) {
            (Some(b), _) => {
                out.push(b as u8);
                i += 3;
                continue;
            }
            (None, b'+') => out.push(b' '),
            (None, b) => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
