//! Google's three ways in for conversions (FORMATS.md "Google"; `docs/destinations.md`
//! "Google"):
//!
//! - [`data_manager`]: kind `google`, the Data Manager API's `events:ingest`, Google's
//!   recommended path, which needs no developer token;
//! - [`ads_api`]: kind `google_ads`, the Google Ads API's `uploadClickConversions` and
//!   `uploadConversionAdjustments`, for those who hold a developer token;
//! - [`csv`]: kind `google_csv`, nothing sent: the offline-conversion and adjustment files to
//!   import by hand.
//!
//! What they share lives here: the choice of one click id, the deadline past which Google
//! takes a conversion no more, and the checks every item passes before any request, so that a
//! bad item fails alone and an expired one is never sent.

pub mod ads_api;
pub mod csv;
pub mod data_manager;

use std::sync::Arc;

use tenure_core::Timestamp;

use crate::conversion::{Click, ConversionEvent, EventKind};
use crate::{DestinationError, Outcome, Outgoing, RequestPreview};

pub use ads_api::AdsApi;
pub use csv::{adjustments_csv, conversions_csv, CsvExport, CsvFile, Skipped};
pub use data_manager::DataManager;

/// The conversion action's click window when the config gives none: Google's default for
/// click-through conversions, and the longest it allows.
pub const DEFAULT_CLICK_WINDOW_DAYS: u32 = 90;

/// Google adjusts no conversion older than this: the Google Ads API answers
/// `CONVERSION_EXPIRED`, "Adjustment can't be made to a conversion that occurred more than 54
/// days ago" (`ConversionAdjustmentUploadErrorEnum`, v22 reference). The Data Manager API's
/// guide on adjustments names no limit; tenure assumes the same one there.
pub const ADJUSTMENT_WINDOW_DAYS: u32 = 54;

/// The click ids Google matches on; a conversion carries at most one of them (FORMATS.md).
pub const CLICK_KINDS: [&str; 3] = ["gclid", "gbraid", "wbraid"];

/// Where time comes from: the system clock, or a fixed one in tests.
pub type Clock = Arc<dyn Fn() -> Timestamp + Send + Sync>;

/// The system clock.
pub fn system_clock() -> Clock {
    Arc::new(|| {
        let ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        Timestamp::from_millis(ms)
    })
}

const MS_PER_DAY: i64 = Timestamp::MS_PER_DAY;

/// The click Google is told about: the latest gclid, gbraid or wbraid at or before the
/// conversion and within the click window before it. Clicks after the conversion are left out:
/// Google refuses a conversion that precedes its click (`CONVERSION_PRECEDES_EVENT`).
pub fn choose_click(event: &ConversionEvent, window_days: u32) -> Option<&Click> {
    let window = i64::from(window_days) * MS_PER_DAY;
    event
        .match_keys
        .clicks
        .iter()
        .filter(|c| CLICK_KINDS.contains(&c.kind.as_str()))
        .filter(|c| {
            c.at <= event.occurred_at && event.occurred_at.millis() - c.at.millis() <= window
        })
        .max_by_key(|c| c.at)
}

/// The last moment Google takes `event`:
///
/// - a conversion matched by a click: the click's time plus the click window (Google answers
///   `EXPIRED_EVENT` to a click older than that);
/// - a conversion matched by e-mail alone: its own time plus the click window. The click
///   Google will match it to is not known here, but it came before the conversion, so past
///   this moment every click it could be credited to is out of the window: nothing could be
///   gained by sending it, and it is not sent;
/// - an adjustment: the conversion's time plus [`ADJUSTMENT_WINDOW_DAYS`].
pub fn deadline(event: &ConversionEvent, click: Option<&Click>, window_days: u32) -> Timestamp {
    let (from, days) = match (event.kind, click) {
        (EventKind::Conversion, Some(click)) => (click.at, window_days),
        (EventKind::Conversion, None) => (event.occurred_at, window_days),
        _ => (event.occurred_at, ADJUSTMENT_WINDOW_DAYS),
    };
    from.plus_millis(i64::from(days) * MS_PER_DAY)
}

/// A conversion that passed the local checks, with the click it will be sent with.
#[derive(Debug, Clone)]
pub(crate) struct Ready {
    /// Its place in the batch.
    pub index: usize,
    pub event: ConversionEvent,
    pub click: Option<Click>,
}

/// The checks every item passes before it is sent, each failing the item alone: an unreadable
/// payload, a hashed e-mail that is not one, an adjustment with no later adjustment time (or a
/// restatement with no value), nothing to match a conversion on, an adjustment of a wbraid
/// conversion (Google adjusts gclid and gbraid conversions only: "Adjustments work with gclids
/// and gbraids but not wbraids", Google Ads API guide "Upload conversion adjustments"), and a
/// conversion past its [`deadline`], which is `Expired` and never sent.
pub(crate) fn check(
    index: usize,
    out: &Outgoing,
    now: Timestamp,
    window_days: u32,
) -> Result<Ready, Outcome> {
    let permanent = |reason: String| Outcome::Permanent { code: None, reason };
    let event = ConversionEvent::from_payload(out.payload).map_err(permanent)?;
    if let Some(bad) = event
        .match_keys
        .hashed_emails
        .iter()
        .position(|h| !crate::matching::is_sha256_hex(h))
    {
        return Err(permanent(format!(
            "hashed e-mail #{} is not a SHA-256 digest in lowercase hex (64 characters 0-9a-f): \
             Google matches on hashes only, so tenure never sends an address; the conversion's \
             payload was not built by tenure's runtime",
            bad + 1
        )));
    }
    if event.kind.is_adjustment() {
        match event.adjusted_at {
            Some(at) if at > event.occurred_at => {}
            _ => {
                return Err(permanent(format!(
                    "a {} needs an adjustment time later than the conversion's ({}): Google \
                     ignores or refuses any other",
                    event.kind.name(),
                    event.occurred_at
                )))
            }
        }
        if event.kind == EventKind::Restatement && event.value.is_none() {
            return Err(permanent(
                "a restatement needs the conversion's new value; send a retraction to take the \
                 conversion back instead"
                    .into(),
            ));
        }
    }
    let click = choose_click(&event, window_days).cloned();
    if event.kind == EventKind::Conversion
        && click.is_none()
        && event.match_keys.hashed_emails.is_empty()
    {
        return Err(permanent(format!(
            "nothing to match the conversion on: no gclid, gbraid or wbraid within the {window_days}-day \
             click window before it, and no hashed e-mail"
        )));
    }
    if event.kind.is_adjustment() && click.as_ref().is_some_and(|c| c.kind == "wbraid") {
        return Err(permanent(
            "Google cannot adjust a conversion it matched by a wbraid (only gclid and gbraid \
             conversions can be restated or retracted)"
                .into(),
        ));
    }
    let deadline = deadline(&event, click.as_ref(), window_days);
    if now > deadline {
        // No instant in the reason: reasons are counted alike in the status, and the event's
        // own times are in its payload.
        let why = match (event.kind, &click) {
            (EventKind::Conversion, Some(c)) => format!(
                "its {} click is more than {window_days} days old (the click window)",
                c.kind
            ),
            (EventKind::Conversion, None) => format!(
                "it is more than {window_days} days old (the click window), so no click it \
                 could be credited to is still in the window"
            ),
            _ => format!(
                "the conversion it adjusts is more than {ADJUSTMENT_WINDOW_DAYS} days old, and \
                 Google adjusts none older"
            ),
        };
        return Err(Outcome::Expired {
            reason: format!("past Google's deadline: {why}"),
        });
    }
    Ok(Ready {
        index,
        event,
        click,
    })
}

/// Every item of `batch` checked: the outcome of each that failed, and the ones to send.
pub(crate) fn check_all(
    batch: &[Outgoing],
    now: Timestamp,
    window_days: u32,
) -> (Vec<Option<Outcome>>, Vec<Ready>) {
    let mut outcomes = vec![None; batch.len()];
    let mut ready = Vec::new();
    for (i, out) in batch.iter().enumerate() {
        match check(i, out, now, window_days) {
            Ok(r) => ready.push(r),
            Err(outcome) => outcomes[i] = Some(outcome),
        }
    }
    (outcomes, ready)
}

/// The Google Ads API's date-time: `yyyy-mm-dd hh:mm:ss+00:00`, in UTC.
pub fn ads_datetime(at: Timestamp) -> String {
    format!("{}+00:00", csv_datetime(at))
}

/// The CSV's date-time under `Parameters:TimeZone=+0000`: `yyyy-mm-dd hh:mm:ss`, no `T`, no
/// offset.
pub fn csv_datetime(at: Timestamp) -> String {
    // Timestamp prints as RFC 3339 with milliseconds and a Z, four-digit years always.
    let text = at.to_string();
    format!("{} {}", &text[..10], &text[11..19])
}

/// What a Google account setting is read into: the customer id's digits.
pub(crate) fn customer_digits(id: &str) -> String {
    id.chars().filter(char::is_ascii_digit).collect()
}

/// The settings both APIs read the same way.
pub(crate) struct Account {
    pub customer_id: String,
    pub login_customer_id: Option<String>,
    pub window_days: u32,
    pub validate_only: bool,
    pub token: crate::Token,
}

impl Account {
    pub(crate) fn from_config(
        config: &tenure_playbooks::Destination,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Account, DestinationError> {
        let customer_id = config
            .customer_id
            .as_deref()
            .map(customer_digits)
            .filter(|id| !id.is_empty())
            .ok_or_else(|| DestinationError::Invalid {
                destination: config.name.clone(),
                field: "customer_id",
                message: "a google destination needs the Google Ads customer id conversions belong to, e.g. \"123-456-7890\"".into(),
            })?;
        Ok(Account {
            customer_id,
            login_customer_id: config.login_customer_id.as_deref().map(customer_digits),
            window_days: config
                .click_window_days
                .unwrap_or(DEFAULT_CLICK_WINDOW_DAYS),
            validate_only: config.validate_only,
            token: crate::token(config, env)?,
        })
    }
}

/// What Google said in an error answer (`{"error": {"code", "message", "status"}}`, the
/// google.rpc.Status every Google API answers with): its status name and message, or the
/// body's start when it is not that shape.
pub(crate) fn google_error(body: &str) -> (Option<String>, String) {
    let parsed: Option<serde_json::Value> = serde_json::from_str(body).ok();
    let error = parsed.as_ref().and_then(|v| v.get("error"));
    let status = error
        .and_then(|e| e.get("status"))
        .and_then(|s| s.as_str())
        .map(str::to_owned);
    let message = error
        .and_then(|e| e.get("message"))
        .and_then(|m| m.as_str())
        .map(str::to_owned)
        .unwrap_or_else(|| body.trim().chars().take(200).collect());
    (status, message)
}

/// The outcome every item of a request shares when the request as a whole failed: quota
/// (`RESOURCE_EXHAUSTED`, whatever the HTTP status) is throttling; the rest as
/// [`crate::classify`] says, with Google's message as the reason.
pub(crate) fn whole_request(reply: &crate::http::Answered) -> Outcome {
    let (status, message) = google_error(&reply.body);
    let now = std::time::SystemTime::now();
    if reply.status == 429 || status.as_deref() == Some("RESOURCE_EXHAUSTED") {
        return Outcome::Throttled {
            code: Some(reply.status),
            after: reply
                .retry_after
                .as_deref()
                .and_then(|v| crate::parse_retry_after(v, now)),
        };
    }
    let reason = match status {
        Some(status) => format!("{status}: {message}"),
        None => message,
    };
    crate::classify(reply.status, reply.retry_after.as_deref(), &reason, now)
}

/// A request preview's headers: the access token and the developer token never shown.
pub(crate) fn redacted_headers(
    developer_token: bool,
    login: Option<&str>,
) -> Vec<(String, String)> {
    let mut headers = vec![
        ("Authorization".to_owned(), "Bearer <redacted>".to_owned()),
        ("Content-Type".to_owned(), "application/json".to_owned()),
    ];
    if developer_token {
        headers.push(("developer-token".to_owned(), "<redacted>".to_owned()));
    }
    if let Some(login) = login {
        headers.push(("login-customer-id".to_owned(), login.to_owned()));
    }
    headers
}

/// A preview of one POST.
pub(crate) fn preview(
    url: &str,
    headers: Vec<(String, String)>,
    body: serde_json::Value,
    batch: &[Outgoing],
    items: &[&Ready],
) -> RequestPreview {
    RequestPreview {
        method: "POST".into(),
        url: url.to_owned(),
        headers,
        body,
        deliveries: items.iter().map(|r| batch[r.index].delivery_id).collect(),
    }
}

#[cfg(test)]
mod tests;
