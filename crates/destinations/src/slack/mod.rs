//! A Slack-compatible incoming webhook: the payload becomes a Block Kit message ([`message`])
//! posted to the webhook URL. The URL is the secret (anyone holding it can post), so it is read
//! from `secret_env` when given, and `url` is for receivers that are not secret (a test, a
//! self-hosted Mattermost behind a firewall).
//!
//! Slack answers `200 ok`, or a status with a one-word reason in the body (`400
//! invalid_payload`, `403 action_prohibited`, `404 channel_not_found`, `410 no_service`, `429`
//! with `Retry-After`, `500 rollup_error`): [`crate::classify`] reads them like any HTTP
//! answer, and the word becomes the dead letter's reason.

mod blocks;
#[cfg(test)]
mod tests;

pub use blocks::message;

use crate::{http, Destination, DestinationError, Outcome, Outgoing};

/// A Slack destination, built from its `[[destinations]]` entry.
pub struct Slack {
    name: String,
    url: String,
    client: reqwest::blocking::Client,
}

// By hand: the URL is the secret.
impl std::fmt::Debug for Slack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Slack")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl Slack {
    /// A Slack destination posting to the incoming-webhook `url`.
    pub fn new(name: &str, url: &str) -> Result<Slack, DestinationError> {
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            return Err(DestinationError::Invalid {
                destination: name.to_owned(),
                field: "secret_env",
                // Not the value: it may be a mistyped secret.
                message: "the incoming-webhook URL does not start with https://: set the variable to the URL Slack gave (https://hooks.slack.com/services/…)".into(),
            });
        }
        Ok(Slack {
            name: name.to_owned(),
            url: url.to_owned(),
            client: http::client(name)?,
        })
    }

    pub(crate) fn from_config(
        config: &tenure_playbooks::Destination,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Slack, DestinationError> {
        let url = match crate::secret(config, env, "the Slack incoming-webhook URL")? {
            Some(url) => url,
            None => config
                .url
                .clone()
                .ok_or_else(|| DestinationError::Invalid {
                    destination: config.name.clone(),
                    field: "secret_env",
                    message: "name the environment variable holding the incoming-webhook URL"
                        .into(),
                })?,
        };
        Slack::new(&config.name, url.trim())
    }
}

impl Destination for Slack {
    fn name(&self) -> &str {
        &self.name
    }

    fn send(&self, out: &Outgoing) -> Outcome {
        let message = match message(out.payload) {
            Ok(message) => message,
            Err(reason) => return Outcome::Permanent { code: None, reason },
        };
        // Slack's incoming webhooks take no idempotency key; the header is harmless there
        // and lets a compatible receiver drop repeats.
        let request = self
            .client
            .post(&self.url)
            .header("Idempotency-Key", out.idempotency_key)
            .json(&message);
        http::send(request)
    }
}
