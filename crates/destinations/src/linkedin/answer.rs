//! What LinkedIn's answer to one `BATCH_CREATE` means for the events in it. A request LinkedIn
//! takes is answered element by element (`{"elements":[{"status":201},{"status":400,"error":
//! {…}}]}`), so one bad event never costs the others a retry; a request refused as a whole
//! (a bad token, an inactive `LinkedIn-Version`, throttling) fails every event alike.
//!
//! LinkedIn documents no answer for a repeated `eventId`: it deduplicates silently, so a repeat
//! is answered like a first send and counts as delivered.

use std::time::SystemTime;

use serde::Deserialize;

use crate::batch::Answer;
use crate::{classify, parse_retry_after, Outcome};

/// How much of LinkedIn's words a reason keeps.
const REASON_CHARS: usize = 300;

/// LinkedIn's error body, alone or inside an element.
#[derive(Debug, Default, Deserialize)]
struct ErrorBody {
    #[serde(default)]
    message: Option<String>,
    #[serde(default, rename = "serviceErrorCode")]
    service_error_code: Option<i64>,
    #[serde(default)]
    code: Option<String>,
}

impl ErrorBody {
    fn reason(&self, status: u16) -> String {
        let message = self
            .message
            .as_deref()
            .map(str::trim)
            .filter(|m| !m.is_empty())
            .map_or_else(|| format!("HTTP {status}"), str::to_owned);
        let code = match (&self.code, self.service_error_code) {
            (Some(code), _) => format!(" ({code})"),
            (None, Some(n)) => format!(" (service error {n})"),
            (None, None) => String::new(),
        };
        format!("LinkedIn: {message}{code}")
            .chars()
            .take(REASON_CHARS)
            .collect()
    }
}

#[derive(Debug, Deserialize)]
struct ElementStatus {
    status: u16,
    #[serde(default)]
    error: Option<ErrorBody>,
}

#[derive(Debug, Deserialize)]
struct Batch {
    elements: Vec<ElementStatus>,
}

/// What came of a request carrying `items` elements, from LinkedIn's answer.
pub(crate) fn answer(
    status: u16,
    retry_after: Option<&str>,
    body: &str,
    items: usize,
    now: SystemTime,
) -> Answer {
    let code = Some(status);
    let after = retry_after.and_then(|v| parse_retry_after(v, now));
    if (200..300).contains(&status) {
        return match serde_json::from_str::<Batch>(body) {
            Ok(batch) if batch.elements.len() == items => Answer::PerItem(
                batch
                    .elements
                    .iter()
                    .map(|e| element_outcome(e, after))
                    .collect(),
            ),
            // Taken, but unreadable: sending again is safe, LinkedIn deduplicates on eventId.
            Ok(batch) => Answer::All(Outcome::RetryLater {
                code,
                reason: format!(
                    "LinkedIn answered {} results for {items} events",
                    batch.elements.len()
                ),
                after,
            }),
            Err(e) => Answer::All(Outcome::RetryLater {
                code,
                reason: format!("LinkedIn's answer is not a batch result ({e})"),
                after,
            }),
        };
    }
    let error: Option<ErrorBody> = serde_json::from_str(body).ok();
    let reason = error.as_ref().map_or_else(
        || match classify(status, retry_after, body, now) {
            Outcome::Permanent { reason, .. } | Outcome::RetryLater { reason, .. } => reason,
            _ => format!("HTTP {status}"),
        },
        |e| e.reason(status),
    );
    Answer::All(match status {
        429 => Outcome::Throttled { code, after },
        401 | 403 => Outcome::Permanent {
            code,
            reason: format!("{reason}; LinkedIn refused the access token: give the destination a valid token with the rw_conversions and r_ads scopes"),
        },
        426 => Outcome::Permanent {
            code,
            reason: format!("{reason}; set the destination's api_version to a LinkedIn-Version that is active (YYYYMM; each is retired about a year after release)"),
        },
        // 501 and 505 will not change by waiting.
        501 | 505 => Outcome::Permanent { code, reason },
        408 | 425 | 500..=599 => Outcome::RetryLater {
            code,
            reason,
            after,
        },
        // A request refused as a whole is refused for what every element shares (we build them
        // all alike), so splitting it would only repeat the refusal.
        _ => Outcome::Permanent { code, reason },
    })
}

fn element_outcome(element: &ElementStatus, after: Option<std::time::Duration>) -> Outcome {
    let code = Some(element.status);
    let reason = || {
        element.error.as_ref().map_or_else(
            || format!("LinkedIn: HTTP {}", element.status),
            |e| e.reason(element.status),
        )
    };
    match element.status {
        200..=299 => Outcome::Delivered { code },
        429 => Outcome::Throttled { code, after },
        500..=599 => Outcome::RetryLater {
            code,
            reason: reason(),
            after,
        },
        _ => Outcome::Permanent {
            code,
            reason: reason(),
        },
    }
}
