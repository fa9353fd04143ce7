//! A conversion as Meta's Conversions API takes it, and the checks that keep an event Meta would
//! refuse out of a request: one invalid event fails every event sent with it.

use serde_json::{json, Map, Value};
use tenure_core::Timestamp;

use crate::conversion::ConversionEvent;
use crate::{matching, Outcome};

/// How old an event Meta takes: an older `event_time` fails the whole request.
pub const MAX_AGE_MS: i64 = 7 * Timestamp::MS_PER_DAY;

/// Where a lifecycle milestone happened, for Meta: neither on a web page nor in an app, so it
/// needs no browser user agent or page URL (which `website` would require and a renewal has not).
pub const ACTION_SOURCE: &str = "system_generated";

/// The event for `payload`, or why it is not sent: expired (past Meta's deadline) or a permanent
/// failure of its own. `now_ms` is the attempt's time.
pub(crate) fn event(payload: &Value, now_ms: i64) -> Result<Value, Outcome> {
    let permanent = |reason: String| Outcome::Permanent { code: None, reason };
    let conversion = ConversionEvent::from_payload(payload).map_err(permanent)?;
    if conversion.kind.is_adjustment() {
        return Err(permanent(format!(
            "Meta takes no adjustments: this {} of conversion {} is not sent (only Google corrects a conversion's value)",
            conversion.kind.name(),
            conversion.event_id
        )));
    }
    let occurred = conversion.occurred_at;
    if now_ms.saturating_sub(occurred.millis()) > MAX_AGE_MS {
        return Err(Outcome::Expired {
            // No instant in the reason: reasons are counted alike in the status, and the
            // event's own time is in its payload.
            reason: "more than 7 days old when it was to be sent: Meta refuses older events".into(),
        });
    }
    let event_name = conversion.platform_name.trim();
    if event_name.is_empty() {
        return Err(permanent(
            "the conversion has no Meta event name: set the rule's event name".into(),
        ));
    }
    if conversion.event_id.trim().is_empty() {
        return Err(permanent(
            "the conversion has no event id, which Meta deduplicates on".into(),
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
    let mut user_data = Map::new();
    if !keys.hashed_emails.is_empty() {
        user_data.insert("em".into(), json!(keys.hashed_emails));
    }
    if let Some(id) = keys
        .external_id
        .as_deref()
        .filter(|id| !id.trim().is_empty())
    {
        user_data.insert("external_id".into(), json!([id]));
    }
    if let Some(fbc) = fbc(&conversion) {
        user_data.insert("fbc".into(), json!(fbc));
    }
    if user_data.is_empty() {
        return Err(permanent(
            "nothing to match the conversion to a person: no hashed e-mail, no external id and no Meta click (fbclid)".into(),
        ));
    }
    let mut custom_data = Map::new();
    if let Some(value) = conversion.value {
        let Some(currency) = conversion.currency_code() else {
            return Err(permanent(format!(
                "{:?} is not a currency code: a value needs its ISO 4217 currency, e.g. USD",
                conversion.currency
            )));
        };
        custom_data.insert("value".into(), json!(value));
        custom_data.insert("currency".into(), json!(currency));
    }
    custom_data.insert("order_id".into(), json!(conversion.event_id));
    Ok(json!({
        "event_name": event_name,
        "event_time": occurred.millis().div_euclid(1000),
        "event_id": conversion.event_id,
        "action_source": ACTION_SOURCE,
        "user_data": user_data,
        "custom_data": custom_data,
    }))
}

/// Meta's `fbc` for the latest well-formed fbclid among the match keys. A click id that cannot
/// be one (empty, or with spaces or characters outside printable ASCII, which a URL parameter
/// never carries) is left out rather than failing the event on a key the others may not need.
fn fbc(conversion: &ConversionEvent) -> Option<String> {
    conversion
        .match_keys
        .clicks
        .iter()
        .filter(|c| c.kind == "fbclid")
        .filter(|c| !c.id.is_empty() && c.id.bytes().all(|b| b.is_ascii_graphic()))
        .max_by_key(|c| c.at)
        .map(|c| matching::fbc(&c.id, c.at.millis()))
}
