//! Per-workspace rate limit: a token bucket refilled at the configured messages per second,
//! holding at most one second's worth.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use tenure_core::WorkspaceId;

#[derive(Debug)]
pub struct RateLimiter {
    per_second: f64,
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
        if self.per_second == 0.0 {
            return Ok(());
        }
        let now = Instant::now();
        let mut buckets = self.buckets.lock().expect("rate buckets");
        let (tokens, last) = buckets
            .entry(workspace.clone())
            .or_insert((self.per_second, now));
        let refill = now.duration_since(*last).as_secs_f64() * self.per_second;
        *tokens = (*tokens + refill).min(self.per_second);
        *last = now;
        let wanted = messages as f64;
        if wanted <= *tokens {
            *tokens -= wanted;
            Ok(())
        } else {
            let missing = (wanted - *tokens).min(self.per_second);
            Err((missing / self.per_second).ceil().max(1.0) as u64)
        }
    }
}

#[cfg(test)]
mod tests {
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
}
