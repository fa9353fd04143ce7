//! A fake of the Google Ads API's conversion uploads, `POST
//! /v26/customers/{cid}:uploadClickConversions` and `:uploadConversionAdjustments`, enforcing
//! what Google documents (`crate::google::ads_api` and FORMATS.md "Google"):
//!
//! - a Bearer token and the `developer-token` header, else 401;
//! - `partialFailure: true`, else 400 `PARTIAL_FAILURE_MODE_REQUIRED`; at most 2,000 items;
//! - per item, in `partialFailureError` of a 200: an unknown click → `CLICK_NOT_FOUND`; an
//!   order id already recorded for the action → `CLICK_CONVERSION_ALREADY_EXISTS`; a
//!   conversion before its click → `CONVERSION_PRECEDES_EVENT`; a click outside the click
//!   window → `EXPIRED_EVENT`; malformed items (two click ids, more than 5 identifiers, an
//!   e-mail that is not a hex SHA-256, a date-time without its offset) with codes named after
//!   Google's enums where tenure's behaviour depends on them, and plainly elsewhere;
//! - adjustments by order id: an unknown order → `CONVERSION_NOT_FOUND` (a wbraid conversion
//!   counts as unknown, as Google adjusts none); an adjustment not after the conversion →
//!   `ADJUSTMENT_PRECEDES_CONVERSION`; and, **silently** (a success in the answer, counted in
//!   [`AdsApiFake::adjustments_ignored`]), a restatement whose `adjustmentDateTime` is not
//!   later than the order's last adjustment, and anything after a retraction (Google Ads Help,
//!   "Upload conversion adjustments": "Trying to adjust a retracted conversion won't work (no
//!   error message will appear)"; `RestatementValue`: a second restatement without a more
//!   recent adjustment time "will be treated as a duplicate … and ignored").

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};
use tenure_core::Timestamp;

use super::google_data_manager::google_error;
use super::{HttpReceiver, Reply, Request};

/// The API version the fake serves.
pub const VERSION: &str = "v26";

/// A conversion as the fake holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct AdsConversion {
    pub value: Option<f64>,
    pub currency: Option<String>,
    pub at: Timestamp,
    pub click_kind: Option<String>,
    pub retracted: bool,
    /// The adjustment time of the last adjustment applied.
    pub last_adjustment: Option<Timestamp>,
}

#[derive(Debug, Default)]
struct State {
    token: String,
    developer_token: String,
    now: Option<Timestamp>,
    window_days: u32,
    clicks: HashMap<String, Timestamp>,
    conversions: BTreeMap<(String, String), AdsConversion>,
    accepted: Vec<Value>,
    applied: Vec<Value>,
    ignored: Vec<Value>,
    next: VecDeque<Reply>,
}

/// The fake, listening on loopback.
#[derive(Debug)]
pub struct AdsApiFake {
    receiver: HttpReceiver,
    state: Arc<Mutex<State>>,
}

impl AdsApiFake {
    /// Starts the fake, taking requests bearing `expected_token` and `developer_token`.
    pub fn start(expected_token: &str, developer_token: &str) -> AdsApiFake {
        let state = Arc::new(Mutex::new(State {
            token: expected_token.to_owned(),
            developer_token: developer_token.to_owned(),
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
        AdsApiFake { receiver, state }
    }

    /// The base URL to give the destination as `url`.
    pub fn url(&self) -> String {
        self.receiver
            .url
            .strip_suffix("/hook")
            .unwrap_or(&self.receiver.url)
            .to_owned()
    }

    /// Makes `id` (a gclid, gbraid or wbraid) a click Google knows, landed at `at`.
    pub fn click(&self, id: &str, at: Timestamp) {
        self.state.lock().unwrap().clicks.insert(id.to_owned(), at);
    }

    /// The fake's "now" for the click window (the system clock until set).
    pub fn set_now(&self, now: Timestamp) {
        self.state.lock().unwrap().now = Some(now);
    }

    /// The conversion actions' click window (90 days until set).
    pub fn set_window_days(&self, days: u32) {
        self.state.lock().unwrap().window_days = days;
    }

    /// Answers the next request with `reply` whatever it holds.
    pub fn reply_next(&self, reply: Reply) {
        self.state.lock().unwrap().next.push_back(reply);
    }

    /// Google's answer when the developer token's quota is spent.
    pub fn quota_exhausted() -> Reply {
        google_error(
            429,
            "RESOURCE_EXHAUSTED",
            "Too many requests. Retry in 60 seconds.",
        )
        .with_header("Retry-After", "60")
    }

    /// Google's answer when it is briefly down.
    pub fn unavailable() -> Reply {
        google_error(503, "UNAVAILABLE", "The service is currently unavailable.")
    }

    /// The new conversions recorded, in order, as received.
    pub fn accepted(&self) -> Vec<Value> {
        self.state.lock().unwrap().accepted.clone()
    }

    /// The adjustments applied, in order, as received.
    pub fn adjustments_applied(&self) -> Vec<Value> {
        self.state.lock().unwrap().applied.clone()
    }

    /// The adjustments answered with success but ignored, as Google does.
    pub fn adjustments_ignored(&self) -> Vec<Value> {
        self.state.lock().unwrap().ignored.clone()
    }

    /// The conversion recorded under `order_id` for conversion action id `action`.
    pub fn conversion(&self, action: &str, order_id: &str) -> Option<AdsConversion> {
        self.state
            .lock()
            .unwrap()
            .conversions
            .get(&(action.to_owned(), order_id.to_owned()))
            .cloned()
    }

    /// Every request received, answered or not.
    pub fn requests(&self) -> Vec<Request> {
        self.receiver.requests()
    }
}

/// A GoogleAdsFailure error: `(category, code)` such as `("conversionUploadError",
/// "CLICK_NOT_FOUND")`, at item `index` of `field`.
fn failure(field: &str, index: Option<usize>, category: &str, code: &str, message: &str) -> Value {
    let mut error = json!({"errorCode": {category: code}, "message": message});
    if let Some(index) = index {
        error["location"] = json!({"fieldPathElements": [{"fieldName": field, "index": index}]});
    }
    error
}

fn failures(errors: Vec<Value>) -> Value {
    json!({
        "code": 3,
        "message": format!("{} error(s) in the request", errors.len()),
        "details": [{
            "@type": format!("type.googleapis.com/google.ads.googleads.{VERSION}.errors.GoogleAdsFailure"),
            "errors": errors,
        }],
    })
}

fn request_error(status: u16, name: &str, category: &str, code: &str, message: &str) -> Reply {
    Reply::new(
        status,
        &json!({"error": {
            "code": status,
            "message": message,
            "status": name,
            "details": failures(vec![failure("", None, category, code, message)])["details"],
        }})
        .to_string(),
    )
}

fn answer(state: &mut State, request: &Request) -> Reply {
    let Some((customer, method)) = route(&request.path) else {
        return google_error(
            404,
            "NOT_FOUND",
            &format!("no method {} {}", request.method, request.path),
        );
    };
    if request.method != "POST" {
        return google_error(404, "NOT_FOUND", "only POST");
    }
    if request.header("authorization") != Some(&format!("Bearer {}", state.token)) {
        return request_error(
            401,
            "UNAUTHENTICATED",
            "authenticationError",
            "OAUTH_TOKEN_INVALID",
            "Request had invalid authentication credentials.",
        );
    }
    match request.header("developer-token") {
        None => {
            return request_error(
                401,
                "UNAUTHENTICATED",
                "authenticationError",
                "DEVELOPER_TOKEN_PARAMETER_MISSING",
                "Developer token is missing.",
            )
        }
        Some(t) if t != state.developer_token => {
            return request_error(
                401,
                "UNAUTHENTICATED",
                "authenticationError",
                "DEVELOPER_TOKEN_INVALID",
                "The developer token is not valid.",
            )
        }
        Some(_) => {}
    }
    if let Some(login) = request.header("login-customer-id") {
        if login.is_empty() || !login.bytes().all(|b| b.is_ascii_digit()) {
            return request_error(
                400,
                "INVALID_ARGUMENT",
                "authenticationError",
                "LOGIN_CUSTOMER_ID_PARAMETER_INVALID",
                "login-customer-id must be digits only.",
            );
        }
    }
    let Ok(body) = serde_json::from_slice::<Value>(&request.body) else {
        return request_error(
            400,
            "INVALID_ARGUMENT",
            "requestError",
            "INVALID_INPUT",
            "The body is not JSON.",
        );
    };
    if body["partialFailure"] != json!(true) {
        return request_error(400, "INVALID_ARGUMENT", "partialFailureError", "PARTIAL_FAILURE_MODE_REQUIRED", "The partial failure field was false in the request. This method requires this field be set to true.");
    }
    let field = if method == "uploadClickConversions" {
        "conversions"
    } else {
        "conversionAdjustments"
    };
    let items = body[field].as_array().cloned().unwrap_or_default();
    if items.is_empty() {
        return request_error(
            400,
            "INVALID_ARGUMENT",
            "fieldError",
            "REQUIRED",
            &format!("{field} is required."),
        );
    }
    if items.len() > 2_000 {
        return request_error(
            400,
            "INVALID_ARGUMENT",
            "conversionUploadError",
            "TOO_MANY_CONVERSIONS_IN_REQUEST",
            "At most 2000 items a request.",
        );
    }
    let validate_only = body["validateOnly"] == json!(true);
    let mut errors = Vec::new();
    let mut results = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let outcome = if field == "conversions" {
            conversion(state, &customer, item, validate_only)
        } else {
            adjustment(state, &customer, item, validate_only)
        };
        match outcome {
            Ok(result) => results.push(result),
            Err((category, code, message)) => {
                errors.push(failure(field, Some(i), category, code, &message));
                results.push(json!({}));
            }
        }
    }
    let mut answer = json!({});
    if !validate_only {
        answer["results"] = json!(results);
    }
    if !errors.is_empty() {
        answer["partialFailureError"] = failures(errors);
    }
    Reply::new(200, &answer.to_string())
}

/// `/v26/customers/{digits}:{method}` → (customer id, method).
fn route(path: &str) -> Option<(String, String)> {
    let rest = path.strip_prefix(&format!("/{VERSION}/customers/"))?;
    let (customer, method) = rest.split_once(':')?;
    let known = ["uploadClickConversions", "uploadConversionAdjustments"].contains(&method);
    (known && !customer.is_empty() && customer.bytes().all(|b| b.is_ascii_digit()))
        .then(|| (customer.to_owned(), method.to_owned()))
}

type ItemError = (&'static str, &'static str, String);

fn action_id(customer: &str, item: &Value) -> Result<String, ItemError> {
    let name = item["conversionAction"].as_str().unwrap_or_default();
    name.strip_prefix(&format!("customers/{customer}/conversionActions/"))
        .filter(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()))
        .map(str::to_owned)
        .ok_or((
            "conversionUploadError",
            "NO_CONVERSION_ACTION_FOUND",
            format!("{name:?} is not a conversion action of customer {customer}"),
        ))
}

/// `yyyy-mm-dd hh:mm:ss+hh:mm`, the zone required.
fn date_time(item: &Value, field: &str) -> Result<Timestamp, ItemError> {
    let text = item[field].as_str().unwrap_or_default();
    let shaped = text.len() == 25
        && text.as_bytes()[10] == b' '
        && matches!(text.as_bytes()[19], b'+' | b'-');
    shaped
        .then(|| Timestamp::parse(text).ok())
        .flatten()
        .ok_or((
            "dateError",
            "INVALID_FIELD_FORMAT",
            format!("{field} {text:?} is not yyyy-mm-dd hh:mm:ss+hh:mm"),
        ))
}

fn conversion(
    state: &mut State,
    customer: &str,
    item: &Value,
    validate_only: bool,
) -> Result<Value, ItemError> {
    let action = action_id(customer, item)?;
    let at = date_time(item, "conversionDateTime")?;
    let clicks: Vec<&str> = ["gclid", "gbraid", "wbraid"]
        .into_iter()
        .filter(|k| item.get(k).is_some())
        .collect();
    if clicks.len() > 1 {
        // Google's code for a gclid with a braid is not known to the fake; this one names both braids.
        return Err((
            "conversionUploadError",
            "GBRAID_WBRAID_BOTH_SET",
            format!("at most one click id, not {}", clicks.join(" and ")),
        ));
    }
    let identifiers = item["userIdentifiers"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if identifiers.len() > 5 {
        return Err((
            "collectionSizeError",
            "TOO_MANY",
            format!("{} user identifiers, at most 5", identifiers.len()),
        ));
    }
    for identifier in &identifiers {
        let hash = identifier["hashedEmail"].as_str().unwrap_or_default();
        if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err((
                "conversionUploadError",
                "INVALID_USER_IDENTIFIER",
                "hashedEmail is not a hex SHA-256 hash".into(),
            ));
        }
    }
    if clicks.is_empty() && identifiers.is_empty() {
        return Err((
            "conversionUploadError",
            "CLICK_NOT_FOUND",
            "no click id and no user identifier to match".into(),
        ));
    }
    if let Some(kind) = clicks.first() {
        let id = item[kind].as_str().unwrap_or_default();
        let Some(&clicked) = state.clicks.get(id) else {
            return Err((
                "conversionUploadError",
                "CLICK_NOT_FOUND",
                format!("no click with {kind} {id}"),
            ));
        };
        if at < clicked {
            return Err((
                "conversionUploadError",
                "CONVERSION_PRECEDES_EVENT",
                "the conversion precedes the click".into(),
            ));
        }
        let window = i64::from(state.window_days) * Timestamp::MS_PER_DAY;
        let now = state.now.unwrap_or_else(system_now);
        if at.millis() - clicked.millis() > window || now.millis() - clicked.millis() > window {
            return Err((
                "conversionUploadError",
                "EXPIRED_EVENT",
                "the click is too old to be imported".into(),
            ));
        }
    }
    let order = item["orderId"].as_str().unwrap_or_default().to_owned();
    let key = (action, order);
    if !key.1.is_empty() && state.conversions.contains_key(&key) {
        return Err((
            "conversionUploadError",
            "CLICK_CONVERSION_ALREADY_EXISTS",
            format!("order {} is recorded already", key.1),
        ));
    }
    if !validate_only {
        state.conversions.insert(
            key,
            AdsConversion {
                value: item["conversionValue"].as_f64(),
                currency: item["currencyCode"].as_str().map(str::to_owned),
                at,
                click_kind: clicks.first().map(|k| (*k).to_owned()),
                retracted: false,
                last_adjustment: None,
            },
        );
        state.accepted.push(item.clone());
    }
    Ok(
        json!({"conversionAction": item["conversionAction"], "conversionDateTime": item["conversionDateTime"]}),
    )
}

fn adjustment(
    state: &mut State,
    customer: &str,
    item: &Value,
    validate_only: bool,
) -> Result<Value, ItemError> {
    let action = action_id(customer, item)?;
    let at = date_time(item, "adjustmentDateTime")?;
    let kind = item["adjustmentType"].as_str().unwrap_or_default();
    let restated = item["restatementValue"]["adjustedValue"].as_f64();
    match kind {
        "RESTATEMENT" if restated.is_none() => {
            return Err((
                "fieldError",
                "REQUIRED",
                "restatementValue.adjustedValue is required for a restatement".into(),
            ))
        }
        "RETRACTION" if item.get("restatementValue").is_some() => {
            return Err((
                "fieldError",
                "VALUE_MUST_BE_UNSET",
                "a retraction carries no restatementValue".into(),
            ))
        }
        "RESTATEMENT" | "RETRACTION" => {}
        _ => {
            return Err((
                "conversionAdjustmentUploadError",
                "INVALID_ADJUSTMENT_TYPE",
                format!("{kind:?} is not RESTATEMENT or RETRACTION"),
            ))
        }
    }
    let order = item["orderId"].as_str().unwrap_or_default().to_owned();
    let Some(conversion) = state.conversions.get_mut(&(action, order.clone())) else {
        return Err((
            "conversionAdjustmentUploadError",
            "CONVERSION_NOT_FOUND",
            format!("no conversion with order id {order:?}"),
        ));
    };
    if conversion.click_kind.as_deref() == Some("wbraid") {
        return Err((
            "conversionAdjustmentUploadError",
            "CONVERSION_NOT_FOUND",
            "conversions matched by a wbraid cannot be adjusted".into(),
        ));
    }
    if at <= conversion.at {
        return Err((
            "conversionAdjustmentUploadError",
            "ADJUSTMENT_PRECEDES_CONVERSION",
            "the adjustment is not after the conversion".into(),
        ));
    }
    let result = json!({"orderId": order, "adjustmentType": kind, "adjustmentDateTime": item["adjustmentDateTime"]});
    if validate_only {
        return Ok(result);
    }
    let stale = kind == "RESTATEMENT" && conversion.last_adjustment.is_some_and(|last| at <= last);
    if conversion.retracted || stale {
        state.ignored.push(item.clone());
        return Ok(result);
    }
    if kind == "RETRACTION" {
        conversion.retracted = true;
        conversion.value = Some(0.0);
    } else {
        conversion.value = restated;
        conversion.currency = item["restatementValue"]["currencyCode"]
            .as_str()
            .map(str::to_owned);
    }
    conversion.last_adjustment = Some(at);
    state.applied.push(item.clone());
    Ok(result)
}

fn system_now() -> Timestamp {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    Timestamp::from_millis(ms)
}
