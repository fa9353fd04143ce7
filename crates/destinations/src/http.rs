//! What the HTTP destinations share: one client setup (timeouts, no redirects, our
//! User-Agent), one bounded read of the answer, and one classification of answers, so the
//! webhook, Slack and the ad platforms to come agree on what each status means.

use std::io::Read;
use std::time::{Duration, SystemTime};

use crate::{DestinationError, Outcome};

/// Every HTTP call gives up after this long, answer or not.
pub const HTTP_TIMEOUT: Duration = Duration::from_secs(10);
/// Connecting alone may take this long, so a dead host fails fast and is retried.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Sent with every HTTP call, so a receiver's logs say who called.
pub const USER_AGENT: &str = concat!("tenure/", env!("CARGO_PKG_VERSION"), " (destinations)");
/// How much of an answer's body we read: enough for any error message, and a receiver that
/// streams megabytes back cannot hold a worker.
pub(crate) const BODY_LIMIT: u64 = 64 * 1024;
/// How much of the body a permanent failure keeps as its reason.
const REASON_CHARS: usize = 200;

/// The client for one destination.
pub(crate) fn client(destination: &str) -> Result<reqwest::blocking::Client, DestinationError> {
    client_with_timeout(destination, HTTP_TIMEOUT)
}

/// The client for a destination whose platform documents a deadline of its own (Meta: 1.5 s).
pub(crate) fn client_with_timeout(
    destination: &str,
    timeout: Duration,
) -> Result<reqwest::blocking::Client, DestinationError> {
    reqwest::blocking::Client::builder()
        .timeout(timeout)
        .connect_timeout(CONNECT_TIMEOUT.min(timeout))
        .user_agent(USER_AGENT)
        // A redirect is refused rather than followed: following would re-send a signed body
        // to an address nobody configured. classify() makes it a permanent failure instead.
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| DestinationError::Invalid {
            destination: destination.to_owned(),
            field: "url",
            message: format!("cannot set up an HTTP client: {}", chain(&e)),
        })
}

/// Sends a built request and classifies what came of it.
pub(crate) fn send(request: reqwest::blocking::RequestBuilder) -> Outcome {
    match exchange(request, HTTP_TIMEOUT, BODY_LIMIT) {
        Ok(answer) => classify(
            answer.status,
            answer.retry_after.as_deref(),
            &answer.body,
            SystemTime::now(),
        ),
        Err(outcome) => outcome,
    }
}

/// An answer as read, for a destination that reads more of it than its status (the ad
/// platforms' error codes and per-item results).
#[derive(Debug, Clone)]
pub(crate) struct Answered {
    pub status: u16,
    pub retry_after: Option<String>,
    pub body: String,
}

/// Sends a built request and reads the answer, at most `body_limit` bytes of its body. No
/// answer (`timeout` is the client's, for the reason) and a redirect are outcomes already.
pub(crate) fn exchange(
    request: reqwest::blocking::RequestBuilder,
    timeout: Duration,
    body_limit: u64,
) -> Result<Answered, Outcome> {
    match request.send() {
        Ok(response) => {
            let status = response.status().as_u16();
            let retry_after = header(&response, reqwest::header::RETRY_AFTER);
            let location = header(&response, reqwest::header::LOCATION);
            let mut body = String::new();
            // A body cut short or not UTF-8 still leaves what was read; the status decides.
            let _ = response.take(body_limit).read_to_string(&mut body);
            if (300..400).contains(&status) {
                return Err(Outcome::Permanent {
                    code: Some(status),
                    reason: format!(
                        "the receiver redirects to {}: set the destination's url to the final address",
                        location.as_deref().unwrap_or("another address")
                    ),
                });
            }
            Ok(Answered {
                status,
                retry_after,
                body,
            })
        }
        Err(e) => Err(failed(&e, timeout)),
    }
}

fn header(
    response: &reqwest::blocking::Response,
    name: reqwest::header::HeaderName,
) -> Option<String> {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// A call that got no answer. Connection failures and timeouts may pass; a request we could
/// not even build never will.
fn failed(e: &reqwest::Error, timeout: Duration) -> Outcome {
    if e.is_builder() {
        return Outcome::Permanent {
            code: None,
            reason: format!("the request cannot be built: {}", chain(e)),
        };
    }
    let reason = if e.is_timeout() {
        format!("no answer within {} s", timeout.as_secs_f64())
    } else if e.is_connect() {
        format!("cannot connect: {}", chain(e))
    } else {
        chain(e)
    };
    Outcome::RetryLater {
        code: None,
        reason,
        after: None,
    }
}

/// The error and its causes on one line, without the URL: a Slack URL is itself the secret,
/// and reasons are stored and shown.
fn chain(e: &reqwest::Error) -> String {
    use std::error::Error;
    let mut out = String::new();
    let mut source: Option<&dyn Error> = Some(e);
    while let Some(s) = source {
        let text = s.to_string();
        let text = text
            .split(" for url (")
            .next()
            .unwrap_or_default()
            .to_owned();
        if !out.contains(&text) {
            if !out.is_empty() {
                out.push_str(": ");
            }
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

/// What an HTTP answer means for the delivery (FORMATS.md, "One delivery policy"):
///
/// | status | outcome |
/// | --- | --- |
/// | 2xx | delivered |
/// | 408, 425, 500, 502, 503, 504, any other 5xx but 501/505 | retry later (honouring `Retry-After`) |
/// | 429 | throttled, after `Retry-After` (seconds or an HTTP date) |
/// | 3xx, other 4xx, 501, 505 | permanent, the body's first 200 characters as the reason |
///
/// `now` turns an HTTP-date `Retry-After` into a delay.
pub fn classify(status: u16, retry_after: Option<&str>, body: &str, now: SystemTime) -> Outcome {
    let code = Some(status);
    let after = retry_after.and_then(|v| parse_retry_after(v, now));
    match status {
        200..=299 => Outcome::Delivered { code },
        429 => Outcome::Throttled { code, after },
        408 | 425 => Outcome::RetryLater {
            code,
            reason: reason(status, body),
            after,
        },
        // 501 Not Implemented and 505 HTTP Version Not Supported will not change by waiting.
        501 | 505 => Outcome::Permanent {
            code,
            reason: reason(status, body),
        },
        500..=599 => Outcome::RetryLater {
            code,
            reason: reason(status, body),
            after,
        },
        _ => Outcome::Permanent {
            code,
            reason: reason(status, body),
        },
    }
}

/// The body's first 200 characters, trimmed; an empty body says so with the status.
fn reason(status: u16, body: &str) -> String {
    let text: String = body.trim().chars().take(REASON_CHARS).collect();
    if text.is_empty() {
        format!("HTTP {status} with an empty body")
    } else {
        text
    }
}

/// A `Retry-After` value: delay-seconds, or an HTTP date (a date already past means now).
/// Anything else is ignored (`None`): our own backoff applies.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(when.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> SystemTime {
        // Sun, 06 Nov 1994 08:49:37 GMT, RFC 9110's example date.
        SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_777)
    }

    /// One row of the classification table: status, Retry-After, body → outcome.
    fn check(status: u16, retry_after: Option<&str>, body: &str, expected: Outcome) {
        assert_eq!(
            classify(status, retry_after, body, now()),
            expected,
            "status {status}, Retry-After {retry_after:?}"
        );
    }

    #[test]
    fn the_classification_table() {
        let retry = |code: u16, reason: &str, after: Option<u64>| Outcome::RetryLater {
            code: Some(code),
            reason: reason.into(),
            after: after.map(Duration::from_secs),
        };
        let permanent = |code: u16, reason: &str| Outcome::Permanent {
            code: Some(code),
            reason: reason.into(),
        };
        check(200, None, "ok", Outcome::Delivered { code: Some(200) });
        check(202, None, "", Outcome::Delivered { code: Some(202) });
        check(204, Some("5"), "", Outcome::Delivered { code: Some(204) });
        for status in [408, 425, 500, 502, 503, 504, 507] {
            check(status, None, " busy \n", retry(status, "busy", None));
        }
        check(
            503,
            Some("120"),
            "",
            retry(503, "HTTP 503 with an empty body", Some(120)),
        );
        check(
            429,
            Some("7"),
            "slow down",
            Outcome::Throttled {
                code: Some(429),
                after: Some(Duration::from_secs(7)),
            },
        );
        check(
            429,
            Some("Sun, 06 Nov 1994 08:50:37 GMT"),
            "",
            Outcome::Throttled {
                code: Some(429),
                after: Some(Duration::from_secs(60)),
            },
        );
        check(
            429,
            None,
            "",
            Outcome::Throttled {
                code: Some(429),
                after: None,
            },
        );
        for status in [400, 401, 403, 404, 410, 413, 422, 501, 505] {
            check(
                status,
                None,
                "invalid_payload",
                permanent(status, "invalid_payload"),
            );
        }
        let long = "x".repeat(500);
        check(400, None, &long, permanent(400, &"x".repeat(200)));
        // Characters, not bytes: a multi-byte body is not cut inside a character.
        let accents = "é".repeat(300);
        check(400, None, &accents, permanent(400, &"é".repeat(200)));
    }

    #[test]
    fn retry_after_in_seconds_or_as_a_date() {
        assert_eq!(parse_retry_after("0", now()), Some(Duration::ZERO));
        assert_eq!(
            parse_retry_after(" 30 ", now()),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 09:49:37 GMT", now()),
            Some(Duration::from_secs(3600))
        );
        // A date already past: go now.
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:00:00 GMT", now()),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now()), None);
        assert_eq!(parse_retry_after("-5", now()), None);
    }
}
