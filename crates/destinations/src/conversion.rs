//! A conversion as the outbox holds it for an ad platform (SPEC §5, issue 18): what the runtime
//! decided (the rule, the account's milestone, its value), with the match keys already
//! normalised and hashed the way this platform requires, so that no e-mail address is stored
//! in the outbox in the clear and each platform's module only formats and sends.
//!
//! One shape for every platform and for the generic webhook, which receives it as it is.

use serde::{Deserialize, Serialize};
use tenure_core::Timestamp;

/// What a delivery to an ad platform carries: a new conversion, or a correction of one sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// A conversion to record.
    Conversion,
    /// The conversion's value turned out different: `value` is the new one (Google only).
    Restatement,
    /// The conversion did not last (the account churned inside the window): its value and count
    /// go to 0 (Google only). Nothing follows a retraction.
    Retraction,
}

impl EventKind {
    pub fn name(self) -> &'static str {
        match self {
            EventKind::Conversion => "conversion",
            EventKind::Restatement => "restatement",
            EventKind::Retraction => "retraction",
        }
    }

    /// Whether it corrects a conversion sent before.
    pub fn is_adjustment(self) -> bool {
        self != EventKind::Conversion
    }
}

/// An ad click id of one of the account's touchpoints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Click {
    /// `gclid`, `gbraid`, `wbraid`, `fbclid` or `li_fat_id`.
    pub kind: String,
    pub id: String,
    /// When the click landed.
    pub at: Timestamp,
}

/// Who converted, as this platform can match them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MatchKeys {
    /// The account's people's e-mails, normalised for this platform and SHA-256 hashed
    /// (lowercase hex), at most as many as the platform takes.
    #[serde(default)]
    pub hashed_emails: Vec<String>,
    /// The account's click ids this platform reads, within its click window before the
    /// conversion, latest first.
    #[serde(default)]
    pub clicks: Vec<Click>,
    /// The account's id, SHA-256 hashed: Meta's `external_id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
}

/// One conversion event for one destination: the payload of a conversion's delivery.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConversionEvent {
    pub kind: EventKind,
    /// Derived from (workspace, rule, account, occurrence): the same on every retry and replay,
    /// and shared by a conversion and its adjustments. Meta's `event_id`, Google's
    /// `transaction_id` / `order_id`, LinkedIn's `eventId`.
    pub event_id: String,
    /// The `[[conversions]]` rule.
    pub rule: String,
    pub account: String,
    /// The platform's name for the conversion: Meta's `event_name`, Google's conversion action
    /// id, LinkedIn's conversion rule id; the webhook's and the CSV's conversion name.
    pub platform_name: String,
    /// When the milestone was reached: the conversion's time.
    pub occurred_at: Timestamp,
    /// In major units of `currency`; none for a rule that sends no value, and for a retraction.
    pub value: Option<f64>,
    /// ISO 4217, e.g. `USD`.
    pub currency: String,
    /// For an adjustment, when it was decided: after the conversion, and after any earlier
    /// adjustment of it (Google ignores a restatement that is not later than the last).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adjusted_at: Option<Timestamp>,
    /// For an adjustment, the value it corrects (the last one sent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_value: Option<f64>,
    #[serde(default)]
    pub match_keys: MatchKeys,
}

impl ConversionEvent {
    /// Reads a delivery's payload; a payload of another shape is a permanent failure.
    pub fn from_payload(payload: &serde_json::Value) -> Result<ConversionEvent, String> {
        ConversionEvent::deserialize(payload)
            .map_err(|e| format!("the delivery is not a conversion event ({e}); it was recorded by another kind of rule and cannot go to an ad platform"))
    }

    /// The currency as the platforms take it, ISO 4217's three letters in capitals; None for
    /// anything else.
    pub fn currency_code(&self) -> Option<String> {
        let code = self.currency.trim().to_ascii_uppercase();
        (code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase())).then_some(code)
    }

    /// Its payload, as the outbox stores it.
    pub fn to_payload(&self) -> serde_json::Value {
        serde_json::to_value(self).expect("a conversion event serialises")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_goes_through_its_payload_unchanged() {
        let event = ConversionEvent {
            kind: EventKind::Restatement,
            event_id: "tn-0123456789abcdef01234567".into(),
            rule: "renewed".into(),
            account: "acct_9".into(),
            platform_name: "987654321".into(),
            occurred_at: Timestamp::parse("2026-03-01T12:00:00Z").unwrap(),
            value: Some(800.0),
            currency: "USD".into(),
            adjusted_at: Some(Timestamp::parse("2026-04-02T09:00:00Z").unwrap()),
            previous_value: Some(1200.0),
            match_keys: MatchKeys {
                hashed_emails: vec!["62a14e44".into()],
                clicks: vec![Click {
                    kind: "gclid".into(),
                    id: "Cj0KCQ".into(),
                    at: Timestamp::parse("2026-02-20T08:00:00Z").unwrap(),
                }],
                external_id: None,
            },
        };
        let payload = event.to_payload();
        assert_eq!(event.currency_code().as_deref(), Some("USD"));
        for (raw, code) in [
            (" eur ", Some("EUR")),
            ("US", None),
            ("US1", None),
            ("", None),
        ] {
            let other = ConversionEvent {
                currency: raw.into(),
                ..event.clone()
            };
            assert_eq!(other.currency_code().as_deref(), code, "{raw:?}");
        }
        assert_eq!(payload["kind"], "restatement");
        assert_eq!(payload["occurred_at"], "2026-03-01T12:00:00.000Z");
        assert_eq!(ConversionEvent::from_payload(&payload).unwrap(), event);
        let err =
            ConversionEvent::from_payload(&serde_json::json!({"title": "a task"})).unwrap_err();
        assert!(err.contains("not a conversion event"), "{err}");
    }
}
