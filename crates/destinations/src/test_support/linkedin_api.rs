//! A fake of LinkedIn's `POST /rest/conversionEvents` (`BATCH_CREATE`) that refuses what
//! LinkedIn documents it refuses: a request without its headers or token as a whole, a
//! request missing `userIds` or writing the amount as a number with a 422, and a bad event on
//! its own, in its element's status.

use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

use super::{HttpReceiver, Reply, Request};

/// The id types LinkedIn matches on.
pub const ID_TYPES: [&str; 4] = [
    "SHA256_EMAIL",
    "LINKEDIN_FIRST_PARTY_ADS_TRACKING_UUID",
    "ACXIOM_ID",
    "ORACLE_MOAT_ID",
];

/// The first versioned release of LinkedIn's Marketing APIs (June 2022).
const FIRST_VERSION: u32 = 202206;
const DAY_MS: i64 = 86_400_000;

/// The fake. Each request is answered by the first reply queued with
/// [`LinkedinApi::answer_next`], else by the contract's checks.
#[derive(Debug)]
pub struct LinkedinApi {
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

impl LinkedinApi {
    /// A fake taking requests made with `expected_token`.
    pub fn start(expected_token: &str) -> LinkedinApi {
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
        LinkedinApi { receiver, state }
    }

    /// The base URL to give the destination as its `url` (in place of api.linkedin.com).
    pub fn url(&self) -> String {
        self.receiver.url.trim_end_matches("/hook").to_owned()
    }

    /// Every element accepted, once for each (conversion, eventId): LinkedIn takes a repeat
    /// without a word and counts it once.
    pub fn accepted(&self) -> Vec<Value> {
        self.state.lock().unwrap().accepted.clone()
    }

    /// Every request received, in order, refused ones included.
    pub fn requests(&self) -> Vec<Request> {
        self.receiver.requests()
    }

    /// Answers the next request with `reply`, whatever it holds (e.g. a 429 or a 503).
    pub fn answer_next(&self, reply: Reply) {
        self.state.lock().unwrap().next.push_back(reply);
    }

    /// Refuses the element with `event_id` wherever it comes, with a 400 in its status and
    /// `message`: for what LinkedIn refuses that no local check can know of (a rule deleted in
    /// Campaign Manager).
    pub fn refuse_event(&self, event_id: &str, message: &str) {
        self.state
            .lock()
            .unwrap()
            .refused
            .push((event_id.to_owned(), message.to_owned()));
    }
}

/// An error answered for a whole request, as LinkedIn writes one.
pub fn linkedin_error(status: u16, code: &str, message: &str) -> Reply {
    let error = json!({"status": status, "code": code, "message": message});
    Reply::new(status, &error.to_string())
}

fn handle(state: &mut State, request: &Request) -> Reply {
    if request.method != "POST" || request.path != "/rest/conversionEvents" {
        return linkedin_error(404, "NOT_FOUND", "No resource found");
    }
    let bearer = request
        .header("authorization")
        .and_then(|a| a.strip_prefix("Bearer "));
    if bearer != Some(state.token.as_str()) {
        return linkedin_error(401, "INVALID_ACCESS_TOKEN", "Invalid access token");
    }
    if request.header("x-restli-protocol-version") != Some("2.0.0") {
        return linkedin_error(
            400,
            "ILLEGAL_ARGUMENT",
            "X-Restli-Protocol-Version must be 2.0.0",
        );
    }
    let Some(version) = request.header("linkedin-version") else {
        return linkedin_error(400, "VERSION_MISSING", "A version must be present. Please specify a version by adding the LinkedIn-Version header.");
    };
    if !active(version) {
        return linkedin_error(
            426,
            "NONEXISTENT_VERSION",
            &format!("Requested version {version} is not active"),
        );
    }
    if request.header("x-restli-method") != Some("BATCH_CREATE") {
        return linkedin_error(
            400,
            "ILLEGAL_ARGUMENT",
            "a list of elements is created with X-RestLi-Method: BATCH_CREATE",
        );
    }
    if !request
        .header("content-type")
        .is_some_and(|c| c.starts_with("application/json"))
    {
        return linkedin_error(415, "UNSUPPORTED_MEDIA_TYPE", "the body must be JSON");
    }
    let Ok(body) = serde_json::from_slice::<Value>(&request.body) else {
        return linkedin_error(400, "ILLEGAL_ARGUMENT", "the body is not valid JSON");
    };
    let Some(elements) = body.get("elements").and_then(Value::as_array) else {
        return linkedin_error(400, "ILLEGAL_ARGUMENT", "elements is required");
    };
    if elements.is_empty() || elements.len() > 5000 {
        return linkedin_error(
            400,
            "ILLEGAL_ARGUMENT",
            &format!(
                "elements must hold 1 to 5000 events; it holds {}",
                elements.len()
            ),
        );
    }
    // The schema first: a type or a required field wrong anywhere refuses the whole request.
    for (i, element) in elements.iter().enumerate() {
        if let Err(why) = schema(element) {
            return linkedin_error(
                422,
                "UNPROCESSABLE_ENTITY",
                &format!("ERROR :: /elements/{i}{why}"),
            );
        }
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let statuses: Vec<Value> = elements
        .iter()
        .map(|element| {
            let id = element.get("eventId").and_then(Value::as_str);
            let refused = state
                .refused
                .iter()
                .find(|(r, _)| Some(r.as_str()) == id)
                .map(|(_, m)| m.clone());
            match refused.map_or_else(|| rules(element, now), Err) {
                Err(message) => json!({
                    "status": 400,
                    "error": {"status": 400, "code": "INVALID_CONVERSION_EVENT", "message": message},
                }),
                Ok(()) => {
                    let key = (
                        element["conversion"].as_str().unwrap_or_default().to_owned(),
                        id.unwrap_or_default().to_owned(),
                    );
                    if id.is_none() || state.seen.insert(key) {
                        state.accepted.push(element.clone());
                    }
                    json!({"status": 201})
                }
            }
        })
        .collect();
    Reply::new(200, &json!({ "elements": statuses }).to_string())
}

/// A `LinkedIn-Version` LinkedIn has released: `YYYYMM` from the first versioned release to this
/// month. (Retirement, a year or so after release, is not modelled: it would make a test pass or
/// fail by the date it runs.)
fn active(version: &str) -> bool {
    let Ok(n) = version.parse::<u32>() else {
        return false;
    };
    let month = n % 100;
    let now = this_month();
    version.len() == 6 && (1..=12).contains(&month) && (FIRST_VERSION..=now).contains(&n)
}

/// This month as YYYYMM, from the system clock.
fn this_month() -> u32 {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    // RFC 3339 starts with the year and the month: "2026-12-07T…".
    let text = tenure_core::Timestamp::from_millis(now).to_string();
    format!("{}{}", &text[0..4], &text[5..7]).parse().unwrap()
}

/// The types and required fields of an element (Rest.li validates them before anything else).
fn schema(element: &Value) -> Result<(), String> {
    if !element.is_object() {
        return Err(" :: an element must be a record".into());
    }
    if !element.get("conversion").is_some_and(Value::is_string) {
        return Err(
            "/conversion :: field is required but not found and has no default value".into(),
        );
    }
    if !element
        .get("conversionHappenedAt")
        .is_some_and(Value::is_i64)
    {
        return Err(
            "/conversionHappenedAt :: field is required but not found and has no default value"
                .into(),
        );
    }
    let Some(user) = element.get("user").and_then(Value::as_object) else {
        return Err("/user :: field is required but not found and has no default value".into());
    };
    let Some(ids) = user.get("userIds") else {
        return Err(
            "/user/userIds :: field is required but not found and has no default value".into(),
        );
    };
    let Some(ids) = ids.as_array() else {
        return Err("/user/userIds :: not an array".into());
    };
    for (j, id) in ids.iter().enumerate() {
        if !id.get("idType").is_some_and(Value::is_string)
            || !id.get("idValue").is_some_and(Value::is_string)
        {
            return Err(format!(
                "/user/userIds/{j} :: idType and idValue are required strings"
            ));
        }
    }
    if let Some(value) = element.get("conversionValue") {
        if !value.get("currencyCode").is_some_and(Value::is_string) {
            return Err("/conversionValue/currencyCode :: field is required".into());
        }
        match value.get("amount") {
            Some(Value::String(_)) => {}
            Some(other) => {
                return Err(format!(
                    "/conversionValue/amount :: {other} is not a string"
                ))
            }
            None => return Err("/conversionValue/amount :: field is required".into()),
        }
    }
    if element.get("eventId").is_some_and(|v| !v.is_string()) {
        return Err("/eventId :: not a string".into());
    }
    Ok(())
}

/// LinkedIn's rules for one element, past the schema: answered in its own status.
fn rules(element: &Value, now_ms: i64) -> Result<(), String> {
    let conversion = element["conversion"].as_str().unwrap_or_default();
    let rule = conversion
        .strip_prefix("urn:lla:llaPartnerConversion:")
        .filter(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()));
    if rule.is_none() {
        return Err(format!("{conversion:?} is not a conversion rule URN"));
    }
    let at = element["conversionHappenedAt"].as_i64().unwrap_or_default();
    if now_ms - at > 90 * DAY_MS {
        return Err(format!(
            "conversionHappenedAt {at} is more than 90 days in the past"
        ));
    }
    if at > now_ms + DAY_MS {
        return Err(format!("conversionHappenedAt {at} is in the future"));
    }
    let ids = element["user"]["userIds"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if ids.is_empty() && element["user"].get("userInfo").is_none() {
        return Err("a conversion needs at least one user id, or userInfo".into());
    }
    for id in &ids {
        let kind = id["idType"].as_str().unwrap_or_default();
        let value = id["idValue"].as_str().unwrap_or_default();
        if !ID_TYPES.contains(&kind) {
            return Err(format!("idType {kind:?} is not supported"));
        }
        if value.trim().is_empty() {
            return Err(format!("the {kind} idValue is empty"));
        }
        let hashed = value.len() == 64
            && value
                .bytes()
                .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        if kind == "SHA256_EMAIL" && !hashed {
            return Err(
                "a SHA256_EMAIL idValue must be the SHA-256 of the e-mail, in lowercase hex".into(),
            );
        }
    }
    if let Some(value) = element.get("conversionValue") {
        let currency = value["currencyCode"].as_str().unwrap_or_default();
        if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(format!("currencyCode {currency:?} is not an ISO 4217 code"));
        }
        let amount = value["amount"].as_str().unwrap_or_default();
        let decimal = !amount.is_empty()
            && amount.bytes().all(|b| b.is_ascii_digit() || b == b'.')
            && amount.bytes().filter(|&b| b == b'.').count() <= 1
            && !amount.starts_with('.')
            && !amount.ends_with('.');
        if !decimal {
            return Err(format!("amount {amount:?} is not a decimal number"));
        }
    }
    Ok(())
}
