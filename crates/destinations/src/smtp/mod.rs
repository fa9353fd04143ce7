//! E-mail over SMTP with `lettre`'s blocking transport. The payload is `{ "to": [addresses] or
//! "a@x, b@y", "subject": …, "text": … }`, already rendered from the playbook's templates.
//!
//! Encryption follows the port and the host, since the config has no setting for it: port 465
//! is implicit TLS; a loopback host (a local relay) uses STARTTLS when the server offers it and
//! plain text otherwise; any other host must offer STARTTLS or nothing is sent (credentials
//! never cross the network in clear). AUTH is PLAIN or LOGIN, as `username` and the password in
//! `secret_env`.
//!
//! The `Message-ID` is derived from the idempotency key, so every attempt of one delivery
//! carries the same id and a receiver (or a person) can tell a retried message from a new one.

#[cfg(test)]
mod tests;

use std::net::IpAddr;
use std::time::Duration;

use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{Message, SmtpTransport, Transport};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::{Destination, DestinationError, Outcome, Outgoing};

/// Every SMTP command (connecting included) gives up after this long without an answer.
/// Longer than HTTP's: a server may take its time accepting DATA while it scans the message.
pub const SMTP_TIMEOUT: Duration = Duration::from_secs(30);
/// The port when the config names none: submission with STARTTLS.
pub const DEFAULT_PORT: u16 = 587;
/// The header carrying the delivery id, as the webhook's `Tenure-Delivery`.
pub const DELIVERY_HEADER: &str = "X-Tenure-Delivery";

/// How the connection is encrypted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encryption {
    /// TLS from the first byte (port 465).
    Implicit,
    /// STARTTLS, refusing a server that does not offer it.
    StartTls,
    /// STARTTLS when offered, else plain: only for a relay on loopback.
    Opportunistic,
}

impl Encryption {
    /// The encryption for `host` and `port` (see the module's documentation).
    pub fn for_server(host: &str, port: u16) -> Encryption {
        let loopback = host.eq_ignore_ascii_case("localhost")
            || host
                .trim_matches(['[', ']'])
                .parse::<IpAddr>()
                .is_ok_and(|ip| ip.is_loopback());
        if port == 465 {
            Encryption::Implicit
        } else if loopback {
            Encryption::Opportunistic
        } else {
            Encryption::StartTls
        }
    }
}

/// An SMTP destination, built from its `[[destinations]]` entry.
pub struct Smtp {
    name: String,
    from: Mailbox,
    /// The domain of `Message-ID`s: the sender's.
    domain: String,
    encryption: Encryption,
    transport: SmtpTransport,
}

// By hand: the transport holds the password.
impl std::fmt::Debug for Smtp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Smtp")
            .field("name", &self.name)
            .field("from", &self.from.to_string())
            .field("encryption", &self.encryption)
            .finish_non_exhaustive()
    }
}

impl Smtp {
    pub(crate) fn from_config(
        config: &tenure_playbooks::Destination,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Smtp, DestinationError> {
        let invalid = |field, message: String| DestinationError::Invalid {
            destination: config.name.clone(),
            field,
            message,
        };
        let host = config
            .host
            .as_deref()
            .map(str::trim)
            .filter(|h| !h.is_empty())
            .ok_or_else(|| invalid("host", "an smtp destination needs the server's host".into()))?;
        let port = config.port.unwrap_or(DEFAULT_PORT);
        let from_text = config.from.as_deref().unwrap_or_default();
        let from: Mailbox = from_text.parse().map_err(|e| {
            invalid(
                "from",
                format!("{from_text:?} is not an e-mail address ({e}): write e.g. \"cs@acme.io\" or \"Acme CS <cs@acme.io>\""),
            )
        })?;
        let password = crate::secret(config, env, "the SMTP password")?;
        let credentials = match (&config.username, password) {
            (Some(user), Some(password)) => Some(Credentials::new(user.clone(), password)),
            (None, None) => None,
            (Some(_), None) => {
                return Err(invalid(
                    "secret_env",
                    "a username needs a password: name the environment variable holding it".into(),
                ))
            }
            (None, Some(_)) => {
                return Err(invalid(
                    "username",
                    "secret_env gives a password but no username says whose: add username".into(),
                ))
            }
        };
        let encryption = Encryption::for_server(host, port);
        let tls = TlsParameters::new(host.to_owned())
            .map_err(|e| invalid("host", format!("cannot set up TLS for {host:?}: {e}")))?;
        let mut builder = SmtpTransport::builder_dangerous(host)
            .port(port)
            .timeout(Some(SMTP_TIMEOUT))
            .tls(match encryption {
                Encryption::Implicit => Tls::Wrapper(tls),
                Encryption::StartTls => Tls::Required(tls),
                Encryption::Opportunistic => Tls::Opportunistic(tls),
            });
        if let Some(credentials) = credentials {
            builder = builder
                .credentials(credentials)
                .authentication(vec![Mechanism::Plain, Mechanism::Login]);
        }
        Ok(Smtp {
            name: config.name.clone(),
            domain: from.email.domain().to_owned(),
            from,
            encryption,
            transport: builder.build(),
        })
    }

    /// How this destination encrypts its connection.
    pub fn encryption(&self) -> Encryption {
        self.encryption
    }

    /// The e-mail for one delivery, or why the payload cannot make one.
    fn message(&self, out: &Outgoing) -> Result<Message, String> {
        let payload = out.payload;
        let field = |name: &str| {
            payload
                .get(name)
                .and_then(Value::as_str)
                .ok_or_else(|| format!("the payload has no \"{name}\" text: an e-mail needs one"))
        };
        let recipients: Vec<String> = match payload.get("to") {
            Some(Value::String(list)) => list.split(',').map(|s| s.trim().to_owned()).collect(),
            Some(Value::Array(list)) => list
                .iter()
                .map(|v| v.as_str().map(|s| s.trim().to_owned()))
                .collect::<Option<_>>()
                .ok_or("\"to\" holds something other than addresses")?,
            _ => return Err("the payload has no \"to\": an e-mail needs a recipient".into()),
        };
        let recipients: Vec<String> = recipients.into_iter().filter(|s| !s.is_empty()).collect();
        if recipients.is_empty() {
            return Err("\"to\" is empty: the account may have no owner e-mail".into());
        }
        let mut builder = Message::builder()
            .from(self.from.clone())
            .subject(field("subject")?)
            .message_id(Some(message_id(out.idempotency_key, &self.domain)))
            .user_agent(crate::USER_AGENT.to_owned())
            // Said outright: without it a reader may guess another charset for the text.
            .header(ContentType::TEXT_PLAIN);
        for to in &recipients {
            let mailbox: Mailbox = to
                .parse()
                .map_err(|e| format!("{to:?} in \"to\" is not an e-mail address ({e})"))?;
            builder = builder.to(mailbox);
        }
        let mut message = builder
            .body(field("text")?.to_owned())
            .map_err(|e| format!("the e-mail cannot be built: {e}"))?;
        message.headers_mut().insert_raw(HeaderValue::new(
            HeaderName::new_from_ascii_str(DELIVERY_HEADER),
            out.delivery_id.to_string(),
        ));
        Ok(message)
    }
}

/// `<tenure.<first 32 hex of SHA-256(key)>@<domain>>`: the same for every attempt of a
/// delivery, different across deliveries, and free of the key's own characters (which a
/// Message-ID may not allow).
pub fn message_id(idempotency_key: &str, domain: &str) -> String {
    let digest = hex::encode(Sha256::digest(idempotency_key.as_bytes()));
    format!("<tenure.{}@{domain}>", &digest[..32])
}

impl Destination for Smtp {
    fn name(&self) -> &str {
        &self.name
    }

    fn send(&self, out: &Outgoing) -> Outcome {
        let message = match self.message(out) {
            Ok(message) => message,
            Err(reason) => return Outcome::Permanent { code: None, reason },
        };
        match self.transport.send(&message) {
            Ok(response) => Outcome::Delivered {
                code: Some(response.code().into()),
            },
            Err(e) => classify(&e),
        }
    }
}

/// An SMTP failure: a 4xx reply may pass later, a 5xx never will; no answer at all
/// (connection refused, timeout, TLS failing) is retried.
fn classify(e: &lettre::transport::smtp::Error) -> Outcome {
    let code: Option<u16> = e.status().map(Into::into);
    let reason = e.to_string();
    if e.is_permanent() || code.is_some_and(|c| (500..600).contains(&c)) {
        return Outcome::Permanent { code, reason };
    }
    if e.is_client() {
        // Our side refused to go on (no common AUTH mechanism, an address the server's
        // extensions cannot carry): waiting changes nothing.
        return Outcome::Permanent {
            code,
            reason: format!("{reason}: check the destination's settings"),
        };
    }
    let reason = if e.is_timeout() {
        format!("no answer within {} s", SMTP_TIMEOUT.as_secs())
    } else if e.is_tls() {
        format!("{reason}: the server's TLS failed (its certificate must be valid for the host)")
    } else {
        reason
    };
    Outcome::RetryLater {
        code,
        reason,
        after: None,
    }
}
