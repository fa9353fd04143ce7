//! Kind `google`: conversions and their restatements through the Data Manager API,
//! `POST {base}/v1/events:ingest` with an OAuth access token (scope
//! `https://www.googleapis.com/auth/datamanager`), no developer token.
//!
//! Where each fact comes from (all Google's, developers.google.com/data-manager):
//!
//! - the request (`destinations[]`, `events[]`, `consent`, `validateOnly`, `encoding`), the
//!   2,000-event limit and the answer `{"requestId"}`: reference, "Method: events.ingest";
//! - `Destination{operatingAccount{accountType, accountId}, loginAccount,
//!   productDestinationId}` with `accountType` `GOOGLE_ADS`, the 10-digit customer id without
//!   dashes, and the conversion action id as `productDestinationId`: guide "Send events"
//!   (Google Ads offline conversions);
//! - the event's JSON names (`transactionId`, `eventTimestamp`, `lastUpdatedTimestamp`,
//!   `eventSource`, `adIdentifiers{gclid|gbraid|wbraid}`, `userData{userIdentifiers[
//!   {emailAddress}]}`, `conversionValue`, `currency`): the `Event` and `AdIdentifiers`
//!   types of the reference and of Google's client libraries (googleads/data-manager-python,
//!   `samples/events/ingest_events.py`), with `encoding: "HEX"` for hex-encoded hashes;
//! - `eventSource` is required for offline conversions (release notes, v1.2); tenure's
//!   milestones happen in billing and product, not on a web page, so it sends `OTHER`;
//! - adjustments: an event with the `transactionId` of a recorded conversion of the same
//!   conversion action is an adjustment, no adjustment type is sent, and its `conversionValue`
//!   and `currency` overwrite the recorded ones without adding a conversion (guide
//!   "Conversion adjustments"). A restatement is such an event with the new value;
//! - retractions: Google's upgrade guide ("Upgrade from the Google Ads API") says the Data
//!   Manager API does not retract (set value *and count* to 0), while its offline-conversions
//!   overview speaks of adjusting "or retracting". Not confirmed either way: tenure sends a
//!   retraction as a restatement to value 0 (`docs/destinations.md` says so), so bidding on
//!   value stops counting it; the conversion's count stays. Use `google_ads` where a full
//!   retraction matters;
//! - fast-fail: one invalid event fails the whole request with 400 `INVALID_ARGUMENT` (guide
//!   "Upgrade", error model), so items are checked here first and a refused request is split
//!   by [`crate::batch::send_split`] until the bad event is alone;
//! - 300 requests a minute per Cloud project, `429 RESOURCE_EXHAUSTED` beyond ("Limits and
//!   quotas"): the default `rate_per_minute`.
//!
//! No consent is sent: tenure does not know a person's consent choices, and the field is
//! optional; an operator whose users are in the EEA must make sure consent covers the upload.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::{check_all, Account, Clock, Ready};
use crate::batch::{send_split, Answer, RateLimit};
use crate::conversion::EventKind;
use crate::{http, Destination, DestinationError, Outcome, Outgoing, RequestPreview};

/// Where requests go unless `url` says otherwise.
pub const DEFAULT_BASE: &str = "https://datamanager.googleapis.com";
/// The API version in the path.
pub const DEFAULT_VERSION: &str = "v1";
/// At most this many events a request.
pub const MAX_EVENTS: usize = 2_000;
/// At most this many user identifiers an event.
pub const MAX_IDENTIFIERS: usize = 10;
/// Requests a minute when `rate_per_minute` is not given: Google's quota per Cloud project.
pub const DEFAULT_RATE_PER_MINUTE: u32 = 300;

/// A Data Manager API destination, built from its `[[destinations]]` entry.
pub struct DataManager {
    name: String,
    endpoint: String,
    account: Account,
    limit: RateLimit,
    client: reqwest::blocking::Client,
    clock: Clock,
}

// By hand, so the access token never reaches a log line.
impl std::fmt::Debug for DataManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataManager")
            .field("name", &self.name)
            .field("endpoint", &self.endpoint)
            .field("customer_id", &self.account.customer_id)
            .field("validate_only", &self.account.validate_only)
            .finish_non_exhaustive()
    }
}

impl DataManager {
    pub fn from_config(
        config: &tenure_playbooks::Destination,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<DataManager, DestinationError> {
        let account = Account::from_config(config, env)?;
        let base = config.url.as_deref().unwrap_or(DEFAULT_BASE);
        let version = config.api_version.as_deref().unwrap_or(DEFAULT_VERSION);
        Ok(DataManager {
            name: config.name.clone(),
            endpoint: format!("{}/{version}/events:ingest", base.trim_end_matches('/')),
            account,
            limit: RateLimit::per_minute(config.rate_per_minute.unwrap_or(DEFAULT_RATE_PER_MINUTE)),
            client: http::client(&config.name)?,
            clock: super::system_clock(),
        })
    }

    /// The same destination reading the time from `clock` (tests fix it).
    pub fn with_clock(mut self, clock: Clock) -> DataManager {
        self.clock = clock;
        self
    }

    /// The requests for the checked items: one per conversion action (a request's destinations
    /// then need no references) and at most [`MAX_EVENTS`] events each.
    fn requests<'a>(&self, ready: &'a [Ready]) -> Vec<Vec<&'a Ready>> {
        let mut by_action: BTreeMap<&str, Vec<&Ready>> = BTreeMap::new();
        for r in ready {
            by_action
                .entry(r.event.platform_name.as_str())
                .or_default()
                .push(r);
        }
        by_action
            .into_values()
            .flat_map(|items| {
                items
                    .chunks(MAX_EVENTS)
                    .map(<[&Ready]>::to_vec)
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    /// The body of one request; every item has the same conversion action.
    pub(crate) fn body(&self, items: &[&Ready]) -> Value {
        let action = items.first().map_or("", |r| r.event.platform_name.as_str());
        let mut destination = json!({
            "operatingAccount": {"accountType": "GOOGLE_ADS", "accountId": self.account.customer_id},
            "productDestinationId": action,
        });
        if let Some(login) = &self.account.login_customer_id {
            destination["loginAccount"] = json!({"accountType": "GOOGLE_ADS", "accountId": login});
        }
        json!({
            "destinations": [destination],
            "events": items.iter().map(|r| event(r)).collect::<Vec<_>>(),
            "encoding": "HEX",
            "validateOnly": self.account.validate_only,
        })
    }

    fn post(&self, body: &Value) -> Answer {
        self.limit.wait();
        let request = self
            .client
            .post(&self.endpoint)
            .bearer_auth(self.account.token.current())
            .json(body);
        let reply = match http::exchange(request, http::HTTP_TIMEOUT, http::BODY_LIMIT) {
            Ok(reply) => reply,
            Err(outcome) => return Answer::All(outcome),
        };
        let items = body["events"].as_array().map_or(0, Vec::len);
        match reply.status {
            200..=299 => Answer::PerItem(vec![
                Outcome::Delivered {
                    code: Some(reply.status)
                };
                items
            ]),
            400 => {
                let (status, message) = super::google_error(&reply.body);
                if status.as_deref() == Some("RESOURCE_EXHAUSTED") {
                    return Answer::All(super::whole_request(&reply));
                }
                // A refusal that names fields, none of them an event's (a wrong customer id),
                // is the same for every part of the request: splitting would only repeat it.
                let fields = field_violations(&reply.body);
                if !fields.is_empty() && !fields.iter().any(|f| f.starts_with("events")) {
                    return Answer::All(Outcome::Permanent {
                        code: Some(400),
                        reason: format!("Google refused the request: {message}"),
                    });
                }
                Answer::Rejected {
                    code: Some(400),
                    reason: format!("Google refused the event: {message}"),
                }
            }
            _ => Answer::All(super::whole_request(&reply)),
        }
    }
}

/// The fields a 400 names: `error.details[]` of type `google.rpc.BadRequest`, each
/// `fieldViolations[].field` (the error model of Google APIs, google.rpc error details).
fn field_violations(body: &str) -> Vec<String> {
    let Ok(answer) = serde_json::from_str::<Value>(body) else {
        return Vec::new();
    };
    answer["error"]["details"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|d| {
            d["@type"]
                .as_str()
                .is_some_and(|t| t.ends_with("google.rpc.BadRequest"))
        })
        .flat_map(|d| d["fieldViolations"].as_array().into_iter().flatten())
        .filter_map(|v| v["field"].as_str().map(str::to_owned))
        .collect()
}

/// One event of the request.
fn event(ready: &Ready) -> Value {
    let e = &ready.event;
    let mut event = json!({
        "transactionId": e.event_id,
        "eventTimestamp": e.occurred_at.to_string(),
        "eventSource": "OTHER",
    });
    if let Some(click) = &ready.click {
        event["adIdentifiers"] = json!({ click.kind.as_str(): click.id });
    }
    let emails: Vec<Value> = e
        .match_keys
        .hashed_emails
        .iter()
        .take(MAX_IDENTIFIERS)
        .map(|h| json!({"emailAddress": h}))
        .collect();
    if !emails.is_empty() {
        event["userData"] = json!({"userIdentifiers": emails});
    }
    // A retraction is a restatement to 0 here (see the module's notes).
    let value = match e.kind {
        EventKind::Retraction => Some(0.0),
        _ => e.value,
    };
    if let Some(value) = value {
        event["conversionValue"] = json!(value);
        event["currency"] = json!(e.currency);
    }
    if let Some(at) = e.adjusted_at.filter(|_| e.kind.is_adjustment()) {
        event["lastUpdatedTimestamp"] = json!(at.to_string());
    }
    event
}

impl Destination for DataManager {
    fn name(&self) -> &str {
        &self.name
    }

    fn send(&self, out: &Outgoing) -> Outcome {
        self.send_batch(std::slice::from_ref(out))
            .pop()
            .expect("one outcome for one delivery")
    }

    fn batch_limit(&self) -> usize {
        MAX_EVENTS
    }

    fn check(&self, out: &Outgoing) -> Option<Outcome> {
        self.checked(std::slice::from_ref(out)).0.pop().flatten()
    }

    fn send_batch(&self, batch: &[Outgoing]) -> Vec<Outcome> {
        let (mut outcomes, ready) = self.checked(batch);
        for items in self.requests(&ready) {
            let results = send_split(items.len(), &mut |part: &[usize]| {
                let part: Vec<&Ready> = part.iter().map(|&i| items[i]).collect();
                self.post(&self.body(&part))
            });
            for (r, outcome) in items.iter().zip(results) {
                outcomes[r.index] = Some(outcome);
            }
        }
        outcomes
            .into_iter()
            .map(|o| o.expect("every delivery has an outcome"))
            .collect()
    }

    fn preview(&self, batch: &[Outgoing]) -> Vec<RequestPreview> {
        let (_, ready) = self.checked(batch);
        self.requests(&ready)
            .iter()
            .map(|items| {
                super::preview(
                    &self.endpoint,
                    super::redacted_headers(false, None),
                    self.body(items),
                    batch,
                    items,
                )
            })
            .collect()
    }
}

impl DataManager {
    /// The shared checks, and the Data Manager's own: an adjustment is an event like any
    /// other, so it too needs an identifier ("All fields required for an event, including at
    /// least one identifier", guide "Conversion adjustments").
    fn checked(&self, batch: &[Outgoing]) -> (Vec<Option<Outcome>>, Vec<Ready>) {
        let (mut outcomes, ready) = check_all(batch, (self.clock)(), self.account.window_days);
        let ready = ready
            .into_iter()
            .filter(|r| {
                let bare = r.click.is_none() && r.event.match_keys.hashed_emails.is_empty();
                if bare {
                    outcomes[r.index] = Some(Outcome::Permanent {
                        code: None,
                        reason: format!(
                            "the Data Manager API needs a click id or a hashed e-mail on a {} too, and this one has neither",
                            r.event.kind.name()
                        ),
                    });
                }
                !bare
            })
            .collect();
        (outcomes, ready)
    }
}
