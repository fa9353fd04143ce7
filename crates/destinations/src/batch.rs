//! What the ad platforms' batching shares: a client-side rate limit, and the split of a request
//! a platform rejected as a whole (Meta, Google's Data Manager: one bad event fails them all)
//! until the bad events are alone and every good one got through.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::Outcome;

/// What a platform answered to one request carrying several items.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// One outcome per item, in order (the request was taken; some items may have failed on
    /// their own, as LinkedIn and the Google Ads API answer per item).
    PerItem(Vec<Outcome>),
    /// The whole request was refused for something in it (a validation error): split it.
    Rejected { code: Option<u16>, reason: String },
    /// The whole request failed for a reason of its own (a timeout, a 5xx, a 429, a bad
    /// token): every item shares the outcome.
    All(Outcome),
}

/// Sends `items` through `send` (which makes one request of the items whose indexes it is
/// given) and returns one outcome per item. A request rejected as a whole is split in halves,
/// and halves again, until each rejected item is alone, where the rejection is its permanent
/// failure: one bad event costs about 2·log₂(n) extra requests and never blocks the rest.
pub fn send_split(items: usize, send: &mut dyn FnMut(&[usize]) -> Answer) -> Vec<Outcome> {
    let mut out: Vec<Option<Outcome>> = vec![None; items];
    let all: Vec<usize> = (0..items).collect();
    let mut todo: Vec<Vec<usize>> = vec![all];
    while let Some(part) = todo.pop() {
        if part.is_empty() {
            continue;
        }
        match send(&part) {
            Answer::PerItem(outcomes) => {
                debug_assert_eq!(outcomes.len(), part.len());
                for (i, outcome) in part.iter().zip(outcomes) {
                    out[*i] = Some(outcome);
                }
            }
            Answer::All(outcome) => {
                for i in &part {
                    out[*i] = Some(outcome.clone());
                }
            }
            Answer::Rejected { code, reason } if part.len() == 1 => {
                out[part[0]] = Some(Outcome::Permanent { code, reason });
            }
            Answer::Rejected { .. } => {
                let (a, b) = part.split_at(part.len() / 2);
                todo.push(b.to_vec());
                todo.push(a.to_vec());
            }
        }
    }
    out.into_iter()
        .map(|o| o.expect("every item has an outcome"))
        .collect()
}

/// What a preview shows in place of an access token.
pub(crate) const REDACTED: &str = "<redacted>";

/// Now, in unix milliseconds: a platform's deadline counts to the attempt, not to the day the
/// delivery was queued.
pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// `outcome` with `secret` cut out of its reason: a platform that echoes part of a request in
/// its error must not put the token into the dead letters.
pub(crate) fn redacted(outcome: Outcome, secret: &str) -> Outcome {
    let clean = |reason: String| {
        if secret.is_empty() {
            reason
        } else {
            reason.replace(secret, REDACTED)
        }
    };
    match outcome {
        Outcome::RetryLater {
            code,
            reason,
            after,
        } => Outcome::RetryLater {
            code,
            reason: clean(reason),
            after,
        },
        Outcome::Permanent { code, reason } => Outcome::Permanent {
            code,
            reason: clean(reason),
        },
        Outcome::Unmatched { code, reason } => Outcome::Unmatched {
            code,
            reason: clean(reason),
        },
        Outcome::Expired { reason } => Outcome::Expired {
            reason: clean(reason),
        },
        other => other,
    }
}

/// Built items (each an item to send, or why it is not sent) sent in requests of at most
/// `limit`, each request through `post` and split by [`send_split`] when refused whole; one
/// outcome per item, `token` cut out of every reason. What Meta and LinkedIn share.
pub(crate) fn send_items(
    items: &[Result<serde_json::Value, Outcome>],
    limit: usize,
    token: &str,
    post: &dyn Fn(&[&serde_json::Value]) -> Answer,
) -> Vec<Outcome> {
    let mut outcomes: Vec<Option<Outcome>> =
        items.iter().map(|e| e.as_ref().err().cloned()).collect();
    for chunk in ready_chunks(items, limit) {
        let sent = send_split(chunk.len(), &mut |part: &[usize]| {
            let part: Vec<&serde_json::Value> = part
                .iter()
                .filter_map(|&j| items[chunk[j]].as_ref().ok())
                .collect();
            post(&part)
        });
        for (&i, outcome) in chunk.iter().zip(sent) {
            outcomes[i] = Some(redacted(outcome, token));
        }
    }
    outcomes
        .into_iter()
        .map(|o| o.expect("every delivery has an outcome"))
        .collect()
}

/// The indexes of the items that would be sent, in requests of at most `limit`: what a
/// preview shows as [`send_items`] would send it.
pub(crate) fn ready_chunks<T, E>(items: &[Result<T, E>], limit: usize) -> Vec<Vec<usize>> {
    let ready: Vec<usize> = (0..items.len()).filter(|&i| items[i].is_ok()).collect();
    ready.chunks(limit.max(1)).map(<[usize]>::to_vec).collect()
}

/// At most `per_minute` requests in any minute, spaced evenly: the caller waits for its turn
/// (each destination has a worker thread of its own, so only that destination waits).
#[derive(Debug)]
pub struct RateLimit {
    interval: Duration,
    next: Mutex<Option<Instant>>,
}

impl RateLimit {
    pub fn per_minute(per_minute: u32) -> RateLimit {
        RateLimit {
            interval: Duration::from_secs(60) / per_minute.max(1),
            next: Mutex::new(None),
        }
    }

    /// How long the caller must wait, at `now`, before its request, taking the turn.
    pub fn take(&self, now: Instant) -> Duration {
        let mut next = self.next.lock().expect("rate limit");
        let at = next.map_or(now, |n| n.max(now));
        *next = Some(at + self.interval);
        at - now
    }

    /// Waits for the caller's turn.
    pub fn wait(&self) {
        let wait = self.take(Instant::now());
        if !wait.is_zero() {
            std::thread::sleep(wait);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn permanent(reason: &str) -> Outcome {
        Outcome::Permanent {
            code: Some(400),
            reason: reason.into(),
        }
    }

    #[test]
    fn a_rejected_request_is_split_until_the_bad_items_are_alone() {
        // Items 3 and 6 of 8 are bad: any request holding one is rejected whole.
        let bad = [3, 6];
        let mut requests = Vec::new();
        let outcomes = send_split(8, &mut |part: &[usize]| {
            requests.push(part.to_vec());
            if part.iter().any(|i| bad.contains(i)) {
                Answer::Rejected {
                    code: Some(400),
                    reason: "invalid event".into(),
                }
            } else {
                Answer::PerItem(vec![Outcome::Delivered { code: Some(200) }; part.len()])
            }
        });
        for (i, o) in outcomes.iter().enumerate() {
            if bad.contains(&i) {
                assert_eq!(o, &permanent("invalid event"), "item {i}");
            } else {
                assert_eq!(o, &Outcome::Delivered { code: Some(200) }, "item {i}");
            }
        }
        // Every good item was sent exactly once in an accepted request.
        let accepted: Vec<usize> = requests
            .iter()
            .filter(|r| !r.iter().any(|i| bad.contains(i)))
            .flatten()
            .copied()
            .collect();
        let mut sorted = accepted.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, vec![0, 1, 2, 4, 5, 7]);
        // 8 → 4+4 → 2+2+2+2 → the two bad pairs split: 1 + 2 + 4 + 4 requests.
        assert_eq!(requests.len(), 11);
    }

    #[test]
    fn a_request_failing_as_a_whole_fails_every_item_alike() {
        let busy = Outcome::RetryLater {
            code: Some(503),
            reason: "busy".into(),
            after: None,
        };
        let mut calls = 0;
        let outcomes = send_split(5, &mut |_| {
            calls += 1;
            Answer::All(busy.clone())
        });
        assert_eq!(calls, 1, "a 5xx is not split: it is retried later");
        assert_eq!(outcomes, vec![busy; 5]);
        assert!(send_split(0, &mut |_| panic!("nothing to send")).is_empty());
    }

    #[test]
    fn a_secret_echoed_in_a_reason_is_cut_out() {
        let echoed = Outcome::Permanent {
            code: Some(400),
            reason: "bad request ?access_token=EAAB123 (EAAB123)".into(),
        };
        assert_eq!(
            redacted(echoed, "EAAB123"),
            permanent("bad request ?access_token=<redacted> (<redacted>)")
        );
        let delivered = Outcome::Delivered { code: Some(200) };
        assert_eq!(redacted(delivered.clone(), "EAAB123"), delivered);
    }

    #[test]
    fn turns_are_spaced_evenly() {
        let limit = RateLimit::per_minute(120);
        let start = Instant::now();
        assert_eq!(limit.take(start), Duration::ZERO);
        assert_eq!(limit.take(start), Duration::from_millis(500));
        assert_eq!(limit.take(start), Duration::from_millis(1000));
        // Later than every turn taken: no wait.
        assert_eq!(limit.take(start + Duration::from_secs(5)), Duration::ZERO);
    }
}
