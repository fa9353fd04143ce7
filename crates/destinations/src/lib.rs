//! Where playbooks deliver (SPEC §5, issue 17): one [`Destination`] trait and one module per
//! kind of destination, as vector lays out its sinks.
//!
//! - [`webhook`]: JSON posted to an endpoint, signed with HMAC-SHA256 (Stripe's scheme), and
//!   [`webhook::verify`] for receivers;
//! - [`slack`]: a Slack-compatible incoming webhook, as Block Kit;
//! - [`smtp`]: e-mail over SMTP, with a `Message-ID` derived from the idempotency key;
//! - [`meta`] and [`linkedin`]: conversions sent to Meta's and LinkedIn's Conversions APIs, in
//!   batches, each event checked before it is sent;
//! - [`google`]: conversions to Google Ads (Data Manager API, Google Ads API, CSV export).
//!
//! A destination sends one delivery and says what came of it as an [`Outcome`]; it never
//! retries by itself. The durable outbox in the runtime owns retries: it reads the outcome,
//! asks [`retry_delay`] when to try again, and dead-letters a delivery after [`MAX_ATTEMPTS`].
//! HTTP answers are classified in one place, [`classify`], so every HTTP destination agrees on
//! what a 429 or a 503 means; the ad platforms read their own error codes and per-event
//! results on top of it.
//!
//! **Architecture invariant:** this is the only crate besides the server that talks to the
//! network, and every call it makes is bounded by a timeout ([`HTTP_TIMEOUT`],
//! [`smtp::SMTP_TIMEOUT`]), so an unreachable destination costs a worker thread seconds, never
//! forever. Calls are blocking: deliveries run on worker threads, not on an async runtime
//! (`reqwest`'s blocking client must not be built or dropped inside one).

use std::time::Duration;

mod backoff;
pub mod batch;
pub mod conversion;
mod error;
pub mod google;
mod http;
pub mod linkedin;
pub mod matching;
pub mod meta;
pub mod slack;
pub mod smtp;
mod token;
pub mod webhook;

/// Receivers on loopback, and fakes of the ad platforms that enforce their documented
/// contracts: for this crate's tests and, with the `test-support` feature, for the tests of
/// the crates that deliver through it.
#[cfg(any(test, feature = "test-support"))]
pub mod test_support;

pub use backoff::{backoff, backoff_ceiling, retry_delay, BACKOFF_BASE, BACKOFF_CAP, MAX_ATTEMPTS};
pub use error::DestinationError;
pub use http::{classify, parse_retry_after, HTTP_TIMEOUT, USER_AGENT};
pub(crate) use token::{token, Token};

/// One delivery, as the outbox hands it to a destination.
#[derive(Debug, Clone, Copy)]
pub struct Outgoing<'a> {
    /// The outbox's id of the delivery; receivers see it (`Tenure-Delivery`) and count by it.
    pub delivery_id: i64,
    /// The same for every attempt of the delivery, so a receiver can drop a repeat.
    pub idempotency_key: &'a str,
    /// What to send; its shape depends on the destination (see each module).
    pub payload: &'a serde_json::Value,
    /// 1 for the first attempt, 2 for the first retry, …
    pub attempt: u32,
}

/// What came of one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The receiver took it (a duplicate acknowledged as such counts here too).
    Delivered { code: Option<u16> },
    /// It failed in a way that may pass: try again, no sooner than `after` if the receiver said.
    RetryLater {
        code: Option<u16>,
        reason: String,
        after: Option<Duration>,
    },
    /// The receiver asked us to slow down.
    Throttled {
        code: Option<u16>,
        after: Option<Duration>,
    },
    /// It will never pass as it is: dead-letter it with the reason.
    Permanent { code: Option<u16>, reason: String },
    /// The receiver had it already (an ad platform's answer to a repeated event or order id):
    /// done, as delivered.
    Duplicate { code: Option<u16> },
    /// The receiver took it but could match it to no one (Google's `CLICK_NOT_FOUND`): done,
    /// not an error to retry.
    Unmatched { code: Option<u16>, reason: String },
    /// Past the receiver's deadline (Meta takes events up to 7 days old, LinkedIn 90 days,
    /// Google within the click window): never sent, never retried.
    Expired { reason: String },
}

impl Outcome {
    /// The status code of the answer (HTTP status or SMTP reply code), if there was an answer.
    pub fn code(&self) -> Option<u16> {
        match self {
            Outcome::Delivered { code }
            | Outcome::RetryLater { code, .. }
            | Outcome::Throttled { code, .. }
            | Outcome::Permanent { code, .. }
            | Outcome::Duplicate { code }
            | Outcome::Unmatched { code, .. } => *code,
            Outcome::Expired { .. } => None,
        }
    }

    /// Why it failed or was held back, if it says.
    pub fn reason(&self) -> Option<&str> {
        match self {
            Outcome::RetryLater { reason, .. }
            | Outcome::Permanent { reason, .. }
            | Outcome::Unmatched { reason, .. }
            | Outcome::Expired { reason } => Some(reason),
            Outcome::Delivered { .. } | Outcome::Duplicate { .. } | Outcome::Throttled { .. } => {
                None
            }
        }
    }

    /// Short, stable name for logs and the deliveries table.
    pub fn label(&self) -> &'static str {
        match self {
            Outcome::Delivered { .. } => "delivered",
            Outcome::RetryLater { .. } => "retry_later",
            Outcome::Throttled { .. } => "throttled",
            Outcome::Permanent { .. } => "permanent",
            Outcome::Duplicate { .. } => "duplicate",
            Outcome::Unmatched { .. } => "unmatched",
            Outcome::Expired { .. } => "expired",
        }
    }
}

/// A request as it would be sent, for a dry run: the exact URL, headers and body, with the
/// access token and any other secret replaced by `<redacted>`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RequestPreview {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: serde_json::Value,
    /// The deliveries it carries, by outbox id.
    pub deliveries: Vec<i64>,
}

/// A place deliveries go. Implementations hold their configuration and secret, are shared
/// between worker threads, and block for at most their timeout.
pub trait Destination: Send + Sync + std::fmt::Debug {
    /// The destination's name in the config file (`[[destinations]] name`).
    fn name(&self) -> &str;
    /// Sends one delivery, once; never retries by itself.
    fn send(&self, out: &Outgoing) -> Outcome;

    /// How many deliveries one request may carry: the outbox hands [`Destination::send_batch`]
    /// up to this many at once. 1 (the default) for a destination that sends one at a time.
    fn batch_limit(&self) -> usize {
        1
    }

    /// Sends several deliveries, as few requests as the destination can, and says what came of
    /// each, in order. A receiver that rejects a whole request for one bad item (Meta, Google's
    /// Data Manager) must still get every good item through: the destination checks items
    /// before sending and splits a rejected request to find the bad one.
    fn send_batch(&self, batch: &[Outgoing]) -> Vec<Outcome> {
        batch.iter().map(|out| self.send(out)).collect()
    }

    /// What the destination would make of `out` without sending it, if its own checks decide
    /// (a conversion past the platform's deadline is expired, one the platform would refuse is
    /// permanent); none when only sending can tell. The dry run shows it.
    fn check(&self, out: &Outgoing) -> Option<Outcome> {
        let _ = out;
        None
    }

    /// The requests [`Destination::send_batch`] would make for `batch`, without sending them
    /// (a dry run); each item it would not send is left out of every request. Empty for a
    /// destination with nothing to show.
    fn preview(&self, batch: &[Outgoing]) -> Vec<RequestPreview> {
        let _ = batch;
        Vec::new()
    }
}

/// Builds the destination a `[[destinations]]` entry describes, reading its secret from the
/// environment through `env` (injected, so tests and the dry-run need no real environment).
pub fn build(
    config: &tenure_playbooks::Destination,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Box<dyn Destination>, DestinationError> {
    use tenure_playbooks::DestinationKind;
    Ok(match config.kind {
        DestinationKind::Webhook => Box::new(webhook::Webhook::from_config(config, env)?),
        DestinationKind::Slack => Box::new(slack::Slack::from_config(config, env)?),
        DestinationKind::Smtp => Box::new(smtp::Smtp::from_config(config, env)?),
        DestinationKind::Meta => Box::new(meta::Meta::from_config(config, env)?),
        DestinationKind::Linkedin => Box::new(linkedin::Linkedin::from_config(config, env)?),
        DestinationKind::Google => Box::new(google::DataManager::from_config(config, env)?),
        DestinationKind::GoogleAds => Box::new(google::AdsApi::from_config(config, env)?),
        DestinationKind::GoogleCsv => Box::new(google::CsvExport::from_config(config)?),
    })
}

/// Reads the secret `config.secret_env` names; absent or empty is an error naming the variable.
pub(crate) fn secret(
    config: &tenure_playbooks::Destination,
    env: &dyn Fn(&str) -> Option<String>,
    what: &'static str,
) -> Result<Option<String>, DestinationError> {
    let Some(variable) = &config.secret_env else {
        return Ok(None);
    };
    secret_in(config, variable, env, what).map(Some)
}

/// Reads the secret the environment variable `variable` holds for `config`'s destination;
/// absent or empty is an error naming the variable.
pub(crate) fn secret_in(
    config: &tenure_playbooks::Destination,
    variable: &str,
    env: &dyn Fn(&str) -> Option<String>,
    what: &'static str,
) -> Result<String, DestinationError> {
    match env(variable) {
        Some(value) if !value.trim().is_empty() => Ok(value),
        _ => Err(DestinationError::MissingSecret {
            destination: config.name.clone(),
            variable: variable.to_owned(),
            what,
        }),
    }
}
