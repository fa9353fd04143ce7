//! What Meta's answer to one request means for the events in it. Graph errors carry a numeric
//! `code` that says more than the HTTP status: throttling comes as a 400 or 403 with code 4, 17,
//! 32, 613 or 80000–80014, and a bad token as code 190 (Graph API, "Handling Errors" and "Rate
//! Limits").

use std::time::SystemTime;

use serde::Deserialize;

use crate::batch::Answer;
use crate::{classify, parse_retry_after, Outcome};

/// Graph's error codes for "too many calls": the app (4, 341), the user (17), the page (32), a
/// custom limit (613), and the business-use-case limits (80000–80014).
fn throttling(code: i64) -> bool {
    matches!(code, 4 | 17 | 32 | 341 | 613 | 80000..=80014)
}

/// Codes that say the token cannot do this, whatever the events: an invalid or expired token
/// (190, 102), a missing permission (10, 200–299).
fn refused_token(code: i64) -> bool {
    matches!(code, 10 | 102 | 190 | 200..=299)
}

#[derive(Debug, Default, Deserialize)]
struct GraphError {
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    code: Option<i64>,
    #[serde(default)]
    error_subcode: Option<i64>,
    #[serde(default)]
    error_user_title: Option<String>,
    #[serde(default)]
    error_user_msg: Option<String>,
    #[serde(default)]
    is_transient: Option<bool>,
}

#[derive(Debug, Deserialize)]
struct Envelope {
    error: GraphError,
}

/// How much of Meta's words a reason keeps.
const REASON_CHARS: usize = 300;

impl GraphError {
    /// Meta's words for the failure: the message, and what it tells the user, with the codes.
    fn reason(&self) -> String {
        let mut parts: Vec<&str> = Vec::new();
        for text in [&self.message, &self.error_user_title, &self.error_user_msg]
            .into_iter()
            .flatten()
        {
            let text = text.trim();
            if !text.is_empty() && !parts.contains(&text) {
                parts.push(text);
            }
        }
        let codes = match (self.code, self.error_subcode) {
            (Some(code), Some(sub)) => format!(" (code {code}, subcode {sub})"),
            (Some(code), None) => format!(" (code {code})"),
            _ => String::new(),
        };
        let text = format!("Meta: {}{codes}", parts.join(": "));
        text.chars().take(REASON_CHARS).collect()
    }
}

/// What came of a request carrying `items` events, from Meta's answer.
pub(crate) fn answer(
    status: u16,
    retry_after: Option<&str>,
    body: &str,
    items: usize,
    now: SystemTime,
) -> Answer {
    let code = Some(status);
    if (200..300).contains(&status) {
        return Answer::PerItem(vec![Outcome::Delivered { code }; items]);
    }
    let after = retry_after.and_then(|v| parse_retry_after(v, now));
    let error = serde_json::from_str::<Envelope>(body).ok().map(|e| e.error);
    let graph_code = error.as_ref().and_then(|e| e.code);
    if status == 429 || graph_code.is_some_and(throttling) {
        return Answer::All(Outcome::Throttled { code, after });
    }
    if matches!(status, 401 | 403) || graph_code.is_some_and(refused_token) {
        let reason = error
            .as_ref()
            .map_or_else(|| format!("HTTP {status}"), GraphError::reason);
        return Answer::All(Outcome::Permanent {
            code,
            reason: format!("{reason}; Meta refused the access token: give the destination a valid system-user token with access to the pixel"),
        });
    }
    let Some(error) = error else {
        // Not a Graph error (a proxy's page, an empty body): the status alone decides, and a
        // 400 without Meta's words is still a refusal of something in the request.
        return match classify(status, retry_after, body, now) {
            Outcome::Permanent { code, reason } if matches!(status, 400 | 413) => {
                Answer::Rejected { code, reason }
            }
            outcome => Answer::All(outcome),
        };
    };
    let reason = error.reason();
    // "Unsupported post request": no such pixel, or the token cannot see it. No event is at
    // fault, so splitting the request would only repeat the refusal.
    if graph_code == Some(100) && error.error_subcode == Some(33) {
        return Answer::All(Outcome::Permanent {
            code,
            reason: format!(
                "{reason}; check the destination's pixel_id and that the token can reach it"
            ),
        });
    }
    if status >= 500 || matches!(graph_code, Some(1 | 2)) || error.is_transient == Some(true) {
        return Answer::All(Outcome::RetryLater {
            code,
            reason,
            after,
        });
    }
    match status {
        400 | 413 => Answer::Rejected { code, reason },
        408 | 425 => Answer::All(Outcome::RetryLater {
            code,
            reason,
            after,
        }),
        _ => Answer::All(Outcome::Permanent { code, reason }),
    }
}
