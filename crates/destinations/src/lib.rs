//! Where playbooks deliver (SPEC §5, issue 17): one [`Destination`] trait and one module per
//! kind of destination, as vector lays out its sinks.
//!
//! - [`webhook`]: JSON posted to an endpoint, signed with HMAC-SHA256 (Stripe's scheme), and
//!   [`webhook::verify`] for receivers;
//! - [`slack`]: a Slack-compatible incoming webhook, as Block Kit;
//! - [`smtp`]: e-mail over SMTP, with a `Message-ID` derived from the idempotency key.
//!
//! A destination sends one delivery and says what came of it as an [`Outcome`]; it never
//! retries by itself. The durable outbox in the runtime owns retries: it reads the outcome,
//! asks [`retry_delay`] when to try again, and dead-letters a delivery after [`MAX_ATTEMPTS`].
//! HTTP answers are classified in one place, [`classify`], so every HTTP destination (and the
//! ad platforms to come) agree on what a 429 or a 503 means.
//!
//! **Architecture invariant:** this is the only crate besides the server that talks to the
//! network, and every call it makes is bounded by a timeout ([`HTTP_TIMEOUT`],
//! [`smtp::SMTP_TIMEOUT`]), so an unreachable destination costs a worker thread seconds, never
//! forever. Calls are blocking: deliveries run on worker threads, not on an async runtime
//! (`reqwest`'s blocking client must not be built or dropped inside one).

use std::time::Duration;

mod backoff;
mod error;
mod http;
pub mod matching;
pub mod slack;
pub mod smtp;
pub mod webhook;

#[cfg(test)]
mod test_support;

pub use backoff::{backoff, backoff_ceiling, retry_delay, BACKOFF_BASE, BACKOFF_CAP, MAX_ATTEMPTS};
pub use error::DestinationError;
pub use http::{classify, parse_retry_after, HTTP_TIMEOUT, USER_AGENT};

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
}

impl Outcome {
    /// The status code of the answer (HTTP status or SMTP reply code), if there was an answer.
    pub fn code(&self) -> Option<u16> {
        match self {
            Outcome::Delivered { code }
            | Outcome::RetryLater { code, .. }
            | Outcome::Throttled { code, .. }
            | Outcome::Permanent { code, .. } => *code,
        }
    }

    /// Short, stable name for logs and the deliveries table.
    pub fn label(&self) -> &'static str {
        match self {
            Outcome::Delivered { .. } => "delivered",
            Outcome::RetryLater { .. } => "retry_later",
            Outcome::Throttled { .. } => "throttled",
            Outcome::Permanent { .. } => "permanent",
        }
    }
}

/// A place deliveries go. Implementations hold their configuration and secret, are shared
/// between worker threads, and block for at most their timeout.
pub trait Destination: Send + Sync + std::fmt::Debug {
    /// The destination's name in the config file (`[[destinations]] name`).
    fn name(&self) -> &str;
    /// Sends one delivery, once; never retries by itself.
    fn send(&self, out: &Outgoing) -> Outcome;
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
    match env(variable) {
        Some(value) if !value.trim().is_empty() => Ok(Some(value)),
        _ => Err(DestinationError::MissingSecret {
            destination: config.name.clone(),
            variable: variable.clone(),
            what,
        }),
    }
}
