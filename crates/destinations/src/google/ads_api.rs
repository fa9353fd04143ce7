//! Kind `google_ads`: conversions through the Google Ads API (REST, version `v26` unless
//! `api_version` says otherwise), for those who hold a developer token.
//!
//! - new conversions: `POST {base}/{version}/customers/{cid}:uploadClickConversions`, body
//!   `{conversions, partialFailure: true, validateOnly}`;
//! - restatements and retractions: `POST …:uploadConversionAdjustments`, body
//!   `{conversionAdjustments, partialFailure: true, validateOnly}`; a batch holding both is
//!   sent as the two calls, new conversions first.
//!
//! Headers: `Authorization: Bearer`, `developer-token`, and `login-customer-id` when access
//! goes through a manager account. `partialFailure` must be true (Google answers
//! `PARTIAL_FAILURE_MODE_REQUIRED` otherwise), and with it each item fails alone: the answer
//! is a 200 whose `partialFailureError.details[].errors[]` name the failed items by
//! `location.fieldPathElements[0].index` and their `errorCode` (e.g.
//! `{"conversionUploadError": "CLICK_NOT_FOUND"}`). Field names and rules: Google Ads API
//! reference, `ClickConversion`, `ConversionAdjustment`, `RestatementValue`,
//! `UploadClickConversionsResponse`, and FORMATS.md "Google".

use serde_json::{json, Value};

use super::{ads_datetime, check_all, Account, Clock, Ready};
use crate::batch::RateLimit;
use crate::conversion::EventKind;
use crate::{http, Destination, DestinationError, Outcome, Outgoing, RequestPreview};

/// Where requests go unless `url` says otherwise.
pub const DEFAULT_BASE: &str = "https://googleads.googleapis.com";
/// The API version in the path.
pub const DEFAULT_VERSION: &str = "v26";
/// At most this many conversions (or adjustments) a request.
pub const MAX_ITEMS: usize = 2_000;
/// At most this many user identifiers a conversion.
pub const MAX_IDENTIFIERS: usize = 5;
/// Requests a minute when `rate_per_minute` is not given. Google publishes no per-minute
/// figure for these calls (its quotas count operations a day per developer token); one a
/// second is tenure's choice, far above what conversions need.
pub const DEFAULT_RATE_PER_MINUTE: u32 = 60;
/// How long Google asks to wait after `TOO_RECENT_*`: "try again in 6 hours".
pub const TOO_RECENT_WAIT: std::time::Duration = std::time::Duration::from_secs(6 * 3600);

/// The two calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Call {
    Conversions,
    Adjustments,
}

impl Call {
    fn method(self) -> &'static str {
        match self {
            Call::Conversions => "uploadClickConversions",
            Call::Adjustments => "uploadConversionAdjustments",
        }
    }

    fn field(self) -> &'static str {
        match self {
            Call::Conversions => "conversions",
            Call::Adjustments => "conversionAdjustments",
        }
    }
}

/// A Google Ads API destination, built from its `[[destinations]]` entry.
pub struct AdsApi {
    name: String,
    base: String,
    version: String,
    account: Account,
    developer_token: String,
    limit: RateLimit,
    client: reqwest::blocking::Client,
    clock: Clock,
}

// By hand, so neither token reaches a log line.
impl std::fmt::Debug for AdsApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdsApi")
            .field("name", &self.name)
            .field("base", &self.base)
            .field("version", &self.version)
            .field("customer_id", &self.account.customer_id)
            .field("validate_only", &self.account.validate_only)
            .finish_non_exhaustive()
    }
}

impl AdsApi {
    pub fn from_config(
        config: &tenure_playbooks::Destination,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<AdsApi, DestinationError> {
        let account = Account::from_config(config, env)?;
        let variable = config
            .developer_token_env
            .as_deref()
            .ok_or_else(|| DestinationError::Invalid {
                destination: config.name.clone(),
                field: "developer_token_env",
                message: "the Google Ads API needs a developer token: name the environment variable holding it (or use kind = \"google\", the Data Manager API, which needs none)".into(),
            })?;
        let developer_token =
            crate::secret_in(config, variable, env, "the Google Ads developer token")?;
        Ok(AdsApi {
            name: config.name.clone(),
            base: config
                .url
                .as_deref()
                .unwrap_or(DEFAULT_BASE)
                .trim_end_matches('/')
                .to_owned(),
            version: config
                .api_version
                .clone()
                .unwrap_or_else(|| DEFAULT_VERSION.to_owned()),
            account,
            developer_token: developer_token.trim().to_owned(),
            limit: RateLimit::per_minute(config.rate_per_minute.unwrap_or(DEFAULT_RATE_PER_MINUTE)),
            client: http::client(&config.name)?,
            clock: super::system_clock(),
        })
    }

    /// The same destination reading the time from `clock` (tests fix it).
    pub fn with_clock(mut self, clock: Clock) -> AdsApi {
        self.clock = clock;
        self
    }

    fn url(&self, call: Call) -> String {
        format!(
            "{}/{}/customers/{}:{}",
            self.base,
            self.version,
            self.account.customer_id,
            call.method()
        )
    }

    fn conversion_action(&self, id: &str) -> String {
        format!(
            "customers/{}/conversionActions/{id}",
            self.account.customer_id
        )
    }

    /// The requests for the checked items: new conversions first, then adjustments, at most
    /// [`MAX_ITEMS`] each.
    fn requests<'a>(&self, ready: &'a [Ready]) -> Vec<(Call, Vec<&'a Ready>)> {
        let mut requests = Vec::new();
        for call in [Call::Conversions, Call::Adjustments] {
            let items: Vec<&Ready> = ready
                .iter()
                .filter(|r| (call == Call::Adjustments) == r.event.kind.is_adjustment())
                .collect();
            for chunk in items.chunks(MAX_ITEMS) {
                requests.push((call, chunk.to_vec()));
            }
        }
        requests
    }

    fn body(&self, call: Call, items: &[&Ready]) -> Value {
        let list: Vec<Value> = items
            .iter()
            .map(|r| match call {
                Call::Conversions => self.conversion(r),
                Call::Adjustments => self.adjustment(r),
            })
            .collect();
        json!({
            call.field(): list,
            "partialFailure": true,
            "validateOnly": self.account.validate_only,
        })
    }

    /// A `ClickConversion`: one click id and up to five hashed e-mails (Google recommends
    /// both, "enhanced conversions for leads"), the event id as the order id so a retry is
    /// the same conversion and adjustments can find it.
    fn conversion(&self, ready: &Ready) -> Value {
        let e = &ready.event;
        let mut c = json!({
            "conversionAction": self.conversion_action(&e.platform_name),
            "conversionDateTime": ads_datetime(e.occurred_at),
            "orderId": e.event_id,
        });
        if let Some(click) = &ready.click {
            c[click.kind.as_str()] = json!(click.id);
        }
        let identifiers: Vec<Value> = e
            .match_keys
            .hashed_emails
            .iter()
            .take(MAX_IDENTIFIERS)
            .map(|h| json!({"hashedEmail": h}))
            .collect();
        if !identifiers.is_empty() {
            c["userIdentifiers"] = json!(identifiers);
        }
        if let Some(value) = e.value {
            c["conversionValue"] = json!(value);
            c["currencyCode"] = json!(e.currency);
        }
        c
    }

    /// A `ConversionAdjustment` found by its order id; a retraction carries no value (Google
    /// refuses one that does).
    fn adjustment(&self, ready: &Ready) -> Value {
        let e = &ready.event;
        let mut a = json!({
            "conversionAction": self.conversion_action(&e.platform_name),
            "orderId": e.event_id,
            "adjustmentDateTime": ads_datetime(e.adjusted_at.expect("checked: adjustments have a time")),
        });
        match e.kind {
            EventKind::Restatement => {
                a["adjustmentType"] = json!("RESTATEMENT");
                a["restatementValue"] = json!({
                    "adjustedValue": e.value.expect("checked: restatements have a value"),
                    "currencyCode": e.currency,
                });
            }
            _ => a["adjustmentType"] = json!("RETRACTION"),
        }
        a
    }

    fn post(&self, call: Call, items: &[&Ready]) -> Vec<Outcome> {
        self.limit.wait();
        let mut request = self
            .client
            .post(self.url(call))
            .bearer_auth(self.account.token.current())
            .header("developer-token", &self.developer_token)
            .json(&self.body(call, items));
        if let Some(login) = &self.account.login_customer_id {
            request = request.header("login-customer-id", login);
        }
        let reply = match http::exchange(request, http::HTTP_TIMEOUT, http::BODY_LIMIT) {
            Ok(reply) => reply,
            Err(outcome) => return vec![outcome; items.len()],
        };
        if !(200..300).contains(&reply.status) {
            return vec![super::whole_request(&reply); items.len()];
        }
        per_item(reply.status, &reply.body, items.len())
    }
}

/// The outcome of each item of a 200 answer: delivered unless `partialFailureError` names it.
pub(crate) fn per_item(status: u16, body: &str, items: usize) -> Vec<Outcome> {
    let mut outcomes = vec![Outcome::Delivered { code: Some(status) }; items];
    let Ok(answer) = serde_json::from_str::<Value>(body) else {
        return outcomes;
    };
    let failures = answer["partialFailureError"]["details"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|detail| detail["errors"].as_array().into_iter().flatten());
    for error in failures {
        let Some(index) = error["location"]["fieldPathElements"][0]["index"]
            .as_u64()
            .map(|i| i as usize)
            .filter(|&i| i < items)
        else {
            continue;
        };
        let code = error["errorCode"]
            .as_object()
            .and_then(|o| o.values().next())
            .and_then(Value::as_str)
            .unwrap_or("UNKNOWN");
        let message = error["message"].as_str().unwrap_or_default();
        outcomes[index] = item_outcome(status, code, message);
    }
    outcomes
}

/// What one item's error means (FORMATS.md "Google", errors that decide retries).
pub fn item_outcome(status: u16, code: &str, message: &str) -> Outcome {
    let code_ = Some(status);
    let reason = if message.is_empty() {
        code.to_owned()
    } else {
        format!("{code}: {message}")
    };
    match code {
        // Google's idempotency answer: the order id (or click and time) is recorded already.
        "CLICK_CONVERSION_ALREADY_EXISTS" => Outcome::Duplicate { code: code_ },
        // Taken, matched to no click. For an adjustment, the conversion it names is not one
        // Google recorded (it matched no one when it was sent): nothing to adjust.
        "CLICK_NOT_FOUND" | "CONVERSION_NOT_FOUND" => Outcome::Unmatched {
            code: code_,
            reason,
        },
        "TOO_RECENT_EVENT" | "TOO_RECENT_CONVERSION_ACTION" | "TOO_RECENT_CONVERSION" => {
            Outcome::RetryLater {
                code: code_,
                reason,
                after: Some(TOO_RECENT_WAIT),
            }
        }
        "CONCURRENT_MODIFICATION" => Outcome::RetryLater {
            code: code_,
            reason,
            after: None,
        },
        "RESOURCE_EXHAUSTED" | "RESOURCE_TEMPORARILY_EXHAUSTED" => Outcome::Throttled {
            code: code_,
            after: None,
        },
        // EXPIRED_EVENT, CONVERSION_PRECEDES_EVENT, CONVERSION_EXPIRED and everything else
        // will not pass by waiting.
        _ => Outcome::Permanent {
            code: code_,
            reason,
        },
    }
}

impl Destination for AdsApi {
    fn name(&self) -> &str {
        &self.name
    }

    fn send(&self, out: &Outgoing) -> Outcome {
        self.send_batch(std::slice::from_ref(out))
            .pop()
            .expect("one outcome for one delivery")
    }

    fn batch_limit(&self) -> usize {
        MAX_ITEMS
    }

    fn check(&self, out: &Outgoing) -> Option<Outcome> {
        super::check(0, out, (self.clock)(), self.account.window_days).err()
    }

    fn send_batch(&self, batch: &[Outgoing]) -> Vec<Outcome> {
        let (mut outcomes, ready) = check_all(batch, (self.clock)(), self.account.window_days);
        for (call, items) in self.requests(&ready) {
            for (r, outcome) in items.iter().zip(self.post(call, &items)) {
                outcomes[r.index] = Some(outcome);
            }
        }
        outcomes
            .into_iter()
            .map(|o| o.expect("every delivery has an outcome"))
            .collect()
    }

    fn preview(&self, batch: &[Outgoing]) -> Vec<RequestPreview> {
        let (_, ready) = check_all(batch, (self.clock)(), self.account.window_days);
        self.requests(&ready)
            .iter()
            .map(|(call, items)| {
                super::preview(
                    &self.url(*call),
                    super::redacted_headers(true, self.account.login_customer_id.as_deref()),
                    self.body(*call, items),
                    batch,
                    items,
                )
            })
            .collect()
    }
}
