//! LinkedIn's Conversions API: conversions streamed to conversion rules,
//! `POST {base}/rest/conversionEvents` as a Rest.li `BATCH_CREATE` of `{"elements":[…]}`.
//!
//! Each event is checked here first ([`element`]: too old, an adjustment, nothing to match on,
//! an e-mail not hashed) and fails alone; LinkedIn answers the rest element by element
//! ([`answer`]), so a request is never split.

mod answer;
mod element;
#[cfg(test)]
mod tests;

use std::time::SystemTime;

use serde_json::{json, Value};

use crate::batch::{self, Answer, RateLimit, REDACTED};
use crate::{
    http, Destination, DestinationError, Outcome, Outgoing, RequestPreview, HTTP_TIMEOUT,
    USER_AGENT,
};

/// Where LinkedIn's API lives, unless `url` says otherwise (a test's fake).
pub const DEFAULT_BASE_URL: &str = "https://api.linkedin.com";
/// The `LinkedIn-Version` sent unless `api_version` pins another: the latest version this
/// release was checked against in LinkedIn's documentation. LinkedIn retires each version about
/// a year after its release, so pin a newer one in the config when LinkedIn announces it.
pub const DEFAULT_API_VERSION: &str = "202603";
/// LinkedIn takes at most this many elements a request.
pub const MAX_EVENTS: usize = 5000;
/// Requests a minute unless `rate_per_minute` says otherwise: the lower of the two limits
/// LinkedIn has published (300 and 600 a minute). A request carries up to 5,000 events, so
/// this is never what holds conversions back; a 429 is honoured after its `Retry-After`.
pub const DEFAULT_RATE_PER_MINUTE: u32 = 300;
/// A per-element answer to 5,000 events runs to hundreds of kilobytes.
const BODY_LIMIT: u64 = 4 * 1024 * 1024;

/// A LinkedIn Conversions API destination, built from its `[[destinations]]` entry.
pub struct Linkedin {
    name: String,
    /// `{base}/rest/conversionEvents`.
    endpoint: String,
    version: String,
    token: crate::Token,
    client: reqwest::blocking::Client,
    rate: RateLimit,
}

// By hand: the token must never reach a log line.
impl std::fmt::Debug for Linkedin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Linkedin")
            .field("name", &self.name)
            .field("endpoint", &self.endpoint)
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

impl Linkedin {
    pub(crate) fn from_config(
        config: &tenure_playbooks::Destination,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Linkedin, DestinationError> {
        let invalid = |field, message: String| DestinationError::Invalid {
            destination: config.name.clone(),
            field,
            message,
        };
        let version = config
            .api_version
            .as_deref()
            .map_or(DEFAULT_API_VERSION, str::trim);
        if !is_version(version) {
            return Err(invalid(
                "api_version",
                format!("{version:?} is not a LinkedIn-Version: write the year and month of the release, YYYYMM, e.g. \"{DEFAULT_API_VERSION}\""),
            ));
        }
        let base = config
            .url
            .as_deref()
            .unwrap_or(DEFAULT_BASE_URL)
            .trim_end_matches('/');
        let token = crate::token(config, env)?;
        Ok(Linkedin {
            name: config.name.clone(),
            endpoint: format!("{base}/rest/conversionEvents"),
            version: version.to_owned(),
            token,
            client: http::client(&config.name)?,
            rate: RateLimit::per_minute(config.rate_per_minute.unwrap_or(DEFAULT_RATE_PER_MINUTE)),
        })
    }

    /// The headers of a request, the token written as `token`: as sent and as previewed.
    fn headers(&self, token: &str) -> Vec<(String, String)> {
        vec![
            ("Authorization".into(), format!("Bearer {token}")),
            ("LinkedIn-Version".into(), self.version.clone()),
            ("X-Restli-Protocol-Version".into(), "2.0.0".into()),
            ("X-RestLi-Method".into(), "BATCH_CREATE".into()),
            ("Content-Type".into(), "application/json".into()),
            ("User-Agent".into(), USER_AGENT.into()),
        ]
    }

    /// Posts `elements` once and reads what LinkedIn said of each.
    fn post(&self, elements: &[&Value]) -> Answer {
        let body =
            serde_json::to_vec(&json!({ "elements": elements })).expect("an element serialises");
        self.rate.wait();
        let request = self
            .headers(&self.token.current())
            .into_iter()
            .fold(self.client.post(&self.endpoint), |r, (name, value)| {
                r.header(name, value)
            })
            .body(body);
        match http::exchange(request, HTTP_TIMEOUT, BODY_LIMIT) {
            Ok(got) => answer::answer(
                got.status,
                got.retry_after.as_deref(),
                &got.body,
                elements.len(),
                SystemTime::now(),
            ),
            Err(outcome) => Answer::All(outcome),
        }
    }

    /// Each delivery's element, or why it is not sent.
    fn elements(batch: &[Outgoing]) -> Vec<Result<Value, Outcome>> {
        let now = batch::now_ms();
        batch
            .iter()
            .map(|out| element::element(out.payload, now))
            .collect()
    }
}

impl Destination for Linkedin {
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
        element::element(out.payload, batch::now_ms()).err()
    }

    fn send_batch(&self, batch: &[Outgoing]) -> Vec<Outcome> {
        batch::send_items(
            &Linkedin::elements(batch),
            MAX_EVENTS,
            &self.token.current(),
            &|part| self.post(part),
        )
    }

    fn preview(&self, batch: &[Outgoing]) -> Vec<RequestPreview> {
        let elements = Linkedin::elements(batch);
        batch::ready_chunks(&elements, MAX_EVENTS)
            .into_iter()
            .map(|chunk| {
                let part: Vec<&Value> = chunk
                    .iter()
                    .filter_map(|&i| elements[i].as_ref().ok())
                    .collect();
                RequestPreview {
                    method: "POST".into(),
                    url: self.endpoint.clone(),
                    headers: self.headers(REDACTED),
                    body: json!({ "elements": part }),
                    deliveries: chunk.iter().map(|&i| batch[i].delivery_id).collect(),
                }
            })
            .collect()
    }
}

/// `YYYYMM`: six digits, a month from 01 to 12.
fn is_version(version: &str) -> bool {
    version.len() == 6
        && version.bytes().all(|b| b.is_ascii_digit())
        && matches!(version[4..].parse::<u8>(), Ok(1..=12))
}
