//! Meta's Conversions API: conversions posted to a pixel (dataset) as server events,
//! `POST {base}/{version}/{pixel_id}/events?access_token=…` with `{"data":[…]}`.
//!
//! Meta refuses a whole request for one invalid event, so each event is checked here first
//! ([`event`]: too old, an adjustment, nothing to match on, an e-mail not hashed) and fails
//! alone; a request Meta still refuses is split until the event it refuses is alone
//! ([`crate::batch::send_split`]). Meta's answers are read in [`answer`]: a bad token fails
//! every event and is not split, throttling and outages are retried for all.

mod answer;
mod event;
#[cfg(test)]
mod tests;

use std::time::{Duration, SystemTime};

use serde_json::{json, Value};

use crate::batch::{self, Answer, RateLimit, REDACTED};
use crate::{http, Destination, DestinationError, Outcome, Outgoing, RequestPreview, USER_AGENT};

/// Where Graph lives, unless `url` says otherwise (a test's fake).
pub const DEFAULT_BASE_URL: &str = "https://graph.facebook.com";
/// The Graph API version events are posted to, unless `api_version` pins another.
pub const DEFAULT_API_VERSION: &str = "v25.0";
/// Meta takes at most this many events a request.
pub const MAX_EVENTS: usize = 1000;
/// Meta recommends giving up on a request after 1.5 s (most answer within 0.6 s); a timeout
/// is retried like an outage.
pub const TIMEOUT: Duration = Duration::from_millis(1500);
/// Requests a minute unless `rate_per_minute` says otherwise. Meta publishes no request limit
/// for the events edge, only throttling by business use case; a request a second carries up to
/// 60,000 events a minute, far more than lifecycle milestones ever make, and spaces out the
/// extra requests of a split so they do not trip Meta's throttling.
pub const DEFAULT_RATE_PER_MINUTE: u32 = 60;

/// A Meta Conversions API destination, built from its `[[destinations]]` entry.
pub struct Meta {
    name: String,
    /// `{base}/{version}/{pixel_id}/events`, without the token.
    endpoint: String,
    token: crate::Token,
    test_event_code: Option<String>,
    client: reqwest::blocking::Client,
    rate: RateLimit,
}

// By hand: the token must never reach a log line.
impl std::fmt::Debug for Meta {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Meta")
            .field("name", &self.name)
            .field("endpoint", &self.endpoint)
            .field("test_event_code", &self.test_event_code)
            .finish_non_exhaustive()
    }
}

/// The request for some events: everything but the token, which the caller writes into `url`.
struct Request {
    url: String,
    body: Value,
}

impl Meta {
    pub(crate) fn from_config(
        config: &tenure_playbooks::Destination,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Meta, DestinationError> {
        let invalid = |field, message: String| DestinationError::Invalid {
            destination: config.name.clone(),
            field,
            message,
        };
        let pixel_id = config
            .pixel_id
            .as_deref()
            .map(str::trim)
            .filter(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
            .ok_or_else(|| {
                invalid(
                    "pixel_id",
                    "a meta destination needs the pixel (dataset) id events go to, digits only"
                        .into(),
                )
            })?;
        let version = config
            .api_version
            .as_deref()
            .map_or(DEFAULT_API_VERSION, str::trim);
        if !is_graph_version(version) {
            return Err(invalid(
                "api_version",
                format!("{version:?} is not a Graph API version: write it as Meta does, e.g. \"{DEFAULT_API_VERSION}\""),
            ));
        }
        let base = config
            .url
            .as_deref()
            .unwrap_or(DEFAULT_BASE_URL)
            .trim_end_matches('/');
        let token = crate::token(config, env)?;
        Ok(Meta {
            name: config.name.clone(),
            endpoint: format!("{base}/{version}/{pixel_id}/events"),
            token,
            test_event_code: config.test_event_code.clone(),
            client: http::client_with_timeout(&config.name, TIMEOUT)?,
            rate: RateLimit::per_minute(config.rate_per_minute.unwrap_or(DEFAULT_RATE_PER_MINUTE)),
        })
    }

    /// The request carrying `events`, the token in the URL written as `token`.
    fn request(&self, events: &[&Value], token: &str) -> Request {
        let mut body = json!({ "data": events });
        if let Some(code) = &self.test_event_code {
            body["test_event_code"] = json!(code);
        }
        Request {
            url: format!("{}?access_token={token}", self.endpoint),
            body,
        }
    }

    /// The headers of every request, as sent and as previewed.
    fn headers() -> Vec<(String, String)> {
        vec![
            ("Content-Type".into(), "application/json".into()),
            ("User-Agent".into(), USER_AGENT.into()),
        ]
    }

    /// Posts `events` once and reads what Meta said of them.
    fn post(&self, events: &[&Value]) -> Answer {
        let request = self.request(events, &encode(&self.token.current()));
        let body = serde_json::to_vec(&request.body).expect("an event serialises");
        self.rate.wait();
        let sent = Meta::headers()
            .into_iter()
            .fold(self.client.post(&request.url), |r, (name, value)| {
                r.header(name, value)
            })
            .body(body);
        match http::exchange(sent, TIMEOUT, http::BODY_LIMIT) {
            Ok(got) => answer::answer(
                got.status,
                got.retry_after.as_deref(),
                &got.body,
                events.len(),
                SystemTime::now(),
            ),
            Err(outcome) => Answer::All(outcome),
        }
    }

    /// Each delivery's event, or why it is not sent.
    fn events(batch: &[Outgoing]) -> Vec<Result<Value, Outcome>> {
        let now = batch::now_ms();
        batch
            .iter()
            .map(|out| event::event(out.payload, now))
            .collect()
    }
}

impl Destination for Meta {
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
        event::event(out.payload, batch::now_ms()).err()
    }

    fn send_batch(&self, batch: &[Outgoing]) -> Vec<Outcome> {
        batch::send_items(
            &Meta::events(batch),
            MAX_EVENTS,
            &self.token.current(),
            &|part| self.post(part),
        )
    }

    fn preview(&self, batch: &[Outgoing]) -> Vec<RequestPreview> {
        let events = Meta::events(batch);
        batch::ready_chunks(&events, MAX_EVENTS)
            .into_iter()
            .map(|chunk| {
                let part: Vec<&Value> = chunk
                    .iter()
                    .filter_map(|&i| events[i].as_ref().ok())
                    .collect();
                let request = self.request(&part, REDACTED);
                RequestPreview {
                    method: "POST".into(),
                    url: request.url,
                    headers: Meta::headers(),
                    body: request.body,
                    deliveries: chunk.iter().map(|&i| batch[i].delivery_id).collect(),
                }
            })
            .collect()
    }
}

/// `v<major>.<minor>`, as Graph names its versions.
fn is_graph_version(version: &str) -> bool {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    version
        .strip_prefix('v')
        .and_then(|v| v.split_once('.'))
        .is_some_and(|(major, minor)| digits(major) && digits(minor))
}

/// The token as a query parameter: characters outside RFC 3986's unreserved set
/// percent-encoded (Meta's tokens are letters and digits, so usually none).
fn encode(token: &str) -> String {
    let mut out = String::with_capacity(token.len());
    for b in token.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
