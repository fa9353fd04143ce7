//! A conversion as LinkedIn's Conversions API takes it (one element of a `BATCH_CREATE`), and
//! the checks that fail an event here rather than at LinkedIn.

use serde_json::{json, Value};
use tenure_core::Timestamp;

use crate::conversion::ConversionEvent;
use crate::{matching, Outcome};

/// How old a conversion LinkedIn takes (`conversionHappenedAt` at most 90 days ago).
pub const MAX_AGE_MS: i64 = 90 * Timestamp::MS_PER_DAY;

/// The URN of a conversion rule, by its id.
pub const CONVERSION_URN_PREFIX: &str = "urn:lla:llaPartnerConversion:";

/// The element for `payload`, or why it is not sent. `now_ms` is the attempt's time.
pub(crate) fn element(payload: &Value, now_ms: i64) -> Result<Value, Outcome> {
    let permanent = |reason: String| Outcome::Permanent { code: None, reason };
    let conversion = ConversionEvent::from_payload(payload).map_err(permanent)?;
    if conversion.kind.is_adjustment() {
        return Err(permanent(format!(
            "LinkedIn takes no adjustments: this {} of conversion {} is not sent (only Google corrects a conversion's value)",
            conversion.kind.name(),
            conversion.event_id
        )));
    }
    let occurred = conversion.occurred_at;
    if now_ms.saturating_sub(occurred.millis()) > MAX_AGE_MS {
        return Err(Outcome::Expired {
            // No instant in the reason: reasons are counted alike in the status, and the
            // event's own time is in its payload.
            reason:
                "more than 90 days old when it was to be sent: LinkedIn refuses older conversions"
                    .into(),
        });
    }
    let rule = conversion.platform_name.trim();
    if rule.is_empty() || !rule.bytes().all(|b| b.is_ascii_digit()) {
        return Err(permanent(format!(
            "{rule:?} is not a LinkedIn conversion rule id: set the rule's platform name to the rule's number in Campaign Manager"
        )));
    }
    if conversion.event_id.trim().is_empty() {
        return Err(permanent(
            "the conversion has no event id, which LinkedIn deduplicates on".into(),
        ));
    }
    let keys = &conversion.match_keys;
    if let Some(i) = keys
        .hashed_emails
        .iter()
        .position(|e| !matching::is_sha256_hex(e))
    {
        // The value is not quoted: it may be an address in the clear.
        return Err(permanent(format!(
            "e-mail match key {} is not a SHA-256 digest (64 lowercase hex characters); an e-mail is never sent unhashed",
            i + 1
        )));
    }
    // One id of each type, as LinkedIn's examples send: the first of the e-mails the runtime
    // chose, and the latest click.
    let mut user_ids = Vec::new();
    if let Some(email) = keys.hashed_emails.first() {
        user_ids.push(json!({"idType": "SHA256_EMAIL", "idValue": email}));
    }
    if let Some(click) = keys
        .clicks
        .iter()
        .filter(|c| c.kind == "li_fat_id" && !c.id.trim().is_empty())
        .max_by_key(|c| c.at)
    {
        user_ids.push(json!({
            "idType": "LINKEDIN_FIRST_PARTY_ADS_TRACKING_UUID",
            "idValue": click.id.trim(),
        }));
    }
    if user_ids.is_empty() {
        return Err(permanent(
            "nothing to match the conversion to a member: no hashed e-mail and no LinkedIn click (li_fat_id)".into(),
        ));
    }
    let mut element = json!({
        "conversion": format!("{CONVERSION_URN_PREFIX}{rule}"),
        "conversionHappenedAt": occurred.millis(),
        "eventId": conversion.event_id,
        "user": {"userIds": user_ids},
    });
    if let Some(value) = conversion.value {
        let Some(currency) = conversion.currency_code() else {
            return Err(permanent(format!(
                "{:?} is not a currency code: a value needs its ISO 4217 currency, e.g. USD",
                conversion.currency
            )));
        };
        if !(value.is_finite() && value >= 0.0) {
            return Err(permanent(format!(
                "{value} is not a conversion value LinkedIn takes: it must be 0 or more"
            )));
        }
        element["conversionValue"] = json!({"currencyCode": currency, "amount": amount(value)});
    }
    Ok(element)
}

/// The amount as LinkedIn writes it, a decimal string with at least one decimal (`"1500.0"`),
/// rounded to the cent so that a sum's float noise (`0.30000000000000004`) is not sent.
pub(crate) fn amount(value: f64) -> String {
    let cents = (value * 100.0).round() / 100.0;
    if cents.fract() == 0.0 {
        format!("{cents:.1}")
    } else {
        format!("{cents}")
    }
}
