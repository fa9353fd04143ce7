//! Per-workspace rate limit: a token bucket refilled at the configured messages per second,
//! holding at most one second's worth, that a request larger than the bucket may overdraw.
//!
//! A batch may legally hold more messages than one second's budget (Segment allows 2,500 a
//! batch; a workspace may be limited to 50 a second). A plain bucket would refuse such a batch
//! forever, and the SDK would retry it until it gave up (issue 12: the official Segment library
//! stored 0 of 300 messages at a limit of 50). So a request larger than the bucket is admitted
//! when the bucket is full, leaving it in debt; until the debt is repaid at the configured
//! rate, every request waits. Any legal batch is therefore admitted eventually and the rate
//! over time stays the configured one. `governor` (GCRA) was considered: it refuses outright a
//! request larger than its burst, so it would need a burst as large as the largest batch,
//! letting a workspace send 2,500 messages at once whatever its limit.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use tenure_core::WorkspaceId;

#[derive(Debug)]
pub struct RateLimiter {
    per_second: f64,
    /// Tokens (negative when in debt) and when they were counted, per workspace.
    buckets: Mutex<HashMap<WorkspaceId, (f64, Instant)>>,
}

impl RateLimiter {
    /// `per_second == 0` means unlimited.
    pub fn new(per_second: u32) -> Self {
        Self {
            per_second: f64::from(per_second),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes `messages` tokens, or says how many whole seconds to wait before retrying.
    pub fn take(&self, workspace: &WorkspaceId, messages: usize) -> Result<(), u64> {
        self.take_at(workspace, messages, Instant::now())
    }

    fn take_at(&self, workspace: &WorkspaceId, messages: usize, now: Instant) -> Result<(), u64> {
        if self.per_second == 0.0 {
            return Ok(());
        }
        let capacity = self.per_second;
        let mut buckets = self.buckets.lock().expect("rate buckets");
        let (tokens, last) = buckets.entry(workspace.clone()).or_insert((capacity, now));
        let refill = now.saturating_duration_since(*last).as_secs_f64() * self.per_second;
        *tokens = (*tokens + refill).min(capacity);
        *last = now;
        let wanted = messages as f64;
        // A request larger than the bucket needs it full, then overdraws it.
        let needed = wanted.min(capacity);
        if needed <= *tokens {
            *tokens -= wanted;
            Ok(())
        } else {
            Err(((needed - *tokens) / self.per_second).ceil().max(1.0) as u64)
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn refuses_past_the_budget_and_names_a_wait() {
        let ws = WorkspaceId::default_workspace();
        let limiter = RateLimiter::new(10);
        assert_eq!(limiter.take(&ws, 6), Ok(()));
        assert_eq!(limiter.take(&ws, 4), Ok(()));
        assert_eq!(limiter.take(&ws, 5), Err(1));
        let other = WorkspaceId::parse("other").unwrap();
        assert_eq!(
            limiter.take(&other, 10),
            Ok(()),
            "buckets are per workspace"
        );
        assert_eq!(RateLimiter::new(0).take(&ws, 1_000_000), Ok(()));
    }

    /// Issue 12: at a limit of 50 a second, a batch of 300 was refused forever.
    #[test]
    fn a_batch_larger_than_a_seconds_budget_is_admitted_and_then_paid_for() {
        let ws = WorkspaceId::default_workspace();
        let limiter = RateLimiter::new(50);
        let t0 = Instant::now();
        assert_eq!(
            limiter.take_at(&ws, 300, t0),
            Ok(()),
            "a full bucket admits it"
        );
        // 250 in debt: five seconds to repay, then one more for a full bucket's worth.
        assert_eq!(limiter.take_at(&ws, 1, t0), Err(6));
        assert_eq!(
            limiter.take_at(&ws, 1, t0 + Duration::from_millis(4_900)),
            Err(1)
        );
        let repaid = t0 + Duration::from_secs(5);
        assert_eq!(
            limiter.take_at(&ws, 50, repaid),
            Err(1),
            "debt repaid, bucket empty"
        );
        assert_eq!(
            limiter.take_at(&ws, 300, repaid + Duration::from_secs(1)),
            Ok(())
        );
    }

    /// The rate over time stays the configured one: a client retrying a big batch whenever it
    /// is told to gets through at most `limit` messages a second on average.
    #[test]
    fn overdrawing_keeps_the_long_run_rate() {
        let ws = WorkspaceId::default_workspace();
        let limiter = RateLimiter::new(50);
        let t0 = Instant::now();
        let mut now = t0;
        let mut admitted = 0;
        while now < t0 + Duration::from_secs(60) {
            match limiter.take_at(&ws, 300, now) {
                Ok(()) => admitted += 300,
                Err(wait) => now += Duration::from_secs(wait),
            }
        }
        // 50 a second over 60 s, plus the first full bucket.
        assert!(admitted <= 50 * 60 + 300, "{admitted}");
        assert!(admitted >= 50 * 60 - 300, "{admitted}");
    }
}
