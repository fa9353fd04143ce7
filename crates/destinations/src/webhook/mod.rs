//! A signed webhook: the payload posted as JSON to the destination's `url`, signed with the
//! secret in the environment variable `secret_env` (see `docs/destinations.md` for receivers).
//!
//! Headers: `Tenure-Signature` ([`sign`]), `Tenure-Delivery` (the delivery id, the same on every
//! attempt), `Idempotency-Key`, `Content-Type: application/json` and our `User-Agent`.

mod signature;
#[cfg(test)]
mod tests;

use std::time::{SystemTime, UNIX_EPOCH};

pub use signature::{sign, verify, SignatureError, DEFAULT_TOLERANCE_SECS};

use crate::{http, Destination, DestinationError, Outcome, Outgoing};

/// The header carrying the signature.
pub const SIGNATURE_HEADER: &str = "Tenure-Signature";
/// The header carrying the delivery id.
pub const DELIVERY_HEADER: &str = "Tenure-Delivery";

/// A webhook destination, built from its `[[destinations]]` entry.
pub struct Webhook {
    name: String,
    url: String,
    secret: String,
    client: reqwest::blocking::Client,
}

// By hand, so the secret never reaches a log line.
impl std::fmt::Debug for Webhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Webhook")
            .field("name", &self.name)
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl Webhook {
    /// A webhook to `url` signing with `secret`.
    pub fn new(name: &str, url: &str, secret: &str) -> Result<Webhook, DestinationError> {
        Ok(Webhook {
            name: name.to_owned(),
            url: url.to_owned(),
            secret: secret.to_owned(),
            client: http::client(name)?,
        })
    }

    pub(crate) fn from_config(
        config: &tenure_playbooks::Destination,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Webhook, DestinationError> {
        let invalid = |field, message: &str| DestinationError::Invalid {
            destination: config.name.clone(),
            field,
            message: message.to_owned(),
        };
        let url = config
            .url
            .as_deref()
            .ok_or_else(|| invalid("url", "a webhook needs the url to post to"))?;
        let secret = crate::secret(config, env, "the webhook's signing secret")?
            .ok_or_else(|| invalid("secret_env", "a webhook signs every delivery: name the environment variable holding its secret"))?;
        Webhook::new(&config.name, url, &secret)
    }
}

impl Destination for Webhook {
    fn name(&self) -> &str {
        &self.name
    }

    fn send(&self, out: &Outgoing) -> Outcome {
        // The exact bytes signed are the bytes sent: serialise once.
        let body = match serde_json::to_vec(out.payload) {
            Ok(body) => body,
            Err(e) => {
                return Outcome::Permanent {
                    code: None,
                    reason: format!("the payload cannot be written as JSON: {e}"),
                }
            }
        };
        // Signed at each attempt, so a retry hours later is still within a receiver's tolerance.
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        let request = self
            .client
            .post(&self.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(SIGNATURE_HEADER, sign(self.secret.as_bytes(), now, &body))
            .header(DELIVERY_HEADER, out.delivery_id.to_string())
            .header("Idempotency-Key", out.idempotency_key)
            .body(body);
        http::send(request)
    }
}
