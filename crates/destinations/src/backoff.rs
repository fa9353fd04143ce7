//! When to try a failed delivery again: exponential backoff with full jitter (FORMATS.md, "One
//! delivery policy"). Full jitter spreads the retries of many deliveries that failed together
//! (one destination's outage) over the whole window instead of sending them back in a wave.

use std::time::Duration;

use crate::Outcome;

/// The ceiling of the first retry's delay.
pub const BACKOFF_BASE: Duration = Duration::from_secs(30);
/// No retry waits longer than this on our own account (a receiver's `Retry-After` may ask more).
pub const BACKOFF_CAP: Duration = Duration::from_secs(3600);
/// After this many attempts a delivery is dead: it goes to the dead-letter list with its last
/// reason, to be replayed by hand. With the base and cap above, the retries span at most about
/// thirteen hours (half that on average): long enough to ride out an evening's outage.
pub const MAX_ATTEMPTS: u32 = 20;
/// A receiver's `Retry-After` beyond this is not believed: a day is the longest we wait.
const LONGEST_RETRY_AFTER: Duration = Duration::from_secs(86_400);
/// Never retry sooner than this, even when the jitter draws 0: a retry in the same second
/// as the failure finds the same trouble.
const SHORTEST: Duration = Duration::from_secs(1);

/// The largest delay [`backoff`] can draw after the failed attempt `attempt` (1-based):
/// `min(cap, base · 2^(attempt − 1))`.
pub fn backoff_ceiling(attempt: u32) -> Duration {
    let doublings = attempt.saturating_sub(1).min(20);
    BACKOFF_BASE
        .checked_mul(1u32 << doublings)
        .map_or(BACKOFF_CAP, |d| d.min(BACKOFF_CAP))
}

/// The delay before the next attempt, after the failed attempt `attempt` (1-based), drawn
/// uniformly below [`backoff_ceiling`] by `random` in `[0, 1)` (injected: the caller owns the
/// random source, so tests and replays are deterministic), and at least one second.
pub fn backoff(attempt: u32, random: f64) -> Duration {
    let random = if random.is_finite() {
        random.clamp(0.0, 1.0)
    } else {
        0.0
    };
    backoff_ceiling(attempt).mul_f64(random).max(SHORTEST)
}

/// When to try again after `outcome` of attempt `attempt`, or `None` when the delivery is
/// finished: delivered, permanent, or out of attempts (dead). A receiver's own `Retry-After`
/// is honoured when it asks for longer than our backoff (up to a day).
pub fn retry_delay(outcome: &Outcome, attempt: u32, random: f64) -> Option<Duration> {
    let after = match outcome {
        Outcome::Delivered { .. }
        | Outcome::Permanent { .. }
        | Outcome::Duplicate { .. }
        | Outcome::Unmatched { .. }
        | Outcome::Expired { .. } => return None,
        Outcome::RetryLater { after, .. } | Outcome::Throttled { after, .. } => *after,
    };
    if attempt >= MAX_ATTEMPTS {
        return None;
    }
    let ours = backoff(attempt, random);
    Some(after.map_or(ours, |theirs| ours.max(theirs.min(LONGEST_RETRY_AFTER))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn ceilings_double_from_the_base_up_to_the_cap() {
        let secs: Vec<u64> = (1..=10).map(|a| backoff_ceiling(a).as_secs()).collect();
        assert_eq!(secs, [30, 60, 120, 240, 480, 960, 1920, 3600, 3600, 3600]);
        assert_eq!(backoff_ceiling(0), BACKOFF_BASE);
        assert_eq!(backoff_ceiling(u32::MAX), BACKOFF_CAP);
    }

    #[test]
    fn retry_delay_stops_when_finished_or_dead_and_honours_retry_after() {
        let retry = |after| Outcome::RetryLater {
            code: Some(503),
            reason: "busy".into(),
            after,
        };
        assert_eq!(
            retry_delay(&Outcome::Delivered { code: Some(200) }, 1, 0.5),
            None
        );
        let permanent = Outcome::Permanent {
            code: Some(400),
            reason: "bad".into(),
        };
        assert_eq!(retry_delay(&permanent, 1, 0.5), None);
        assert_eq!(retry_delay(&retry(None), MAX_ATTEMPTS, 0.5), None);
        assert_eq!(
            retry_delay(&retry(None), 1, 0.5),
            Some(Duration::from_secs(15))
        );
        let long = Some(Duration::from_secs(600));
        assert_eq!(retry_delay(&retry(long), 1, 0.5), long);
        let absurd = Outcome::Throttled {
            code: Some(429),
            after: Some(Duration::from_secs(10_000_000)),
        };
        assert_eq!(retry_delay(&absurd, 1, 0.5), Some(LONGEST_RETRY_AFTER));
    }

    proptest! {
        #[test]
        fn backoff_stays_within_its_bounds(attempt in 0u32..1000, random in 0.0f64..1.0) {
            let d = backoff(attempt, random);
            prop_assert!(d >= SHORTEST);
            prop_assert!(d <= backoff_ceiling(attempt).max(SHORTEST));
            prop_assert!(d <= BACKOFF_CAP);
        }

        #[test]
        fn backoff_grows_with_the_attempt(attempt in 1u32..100, random in 0.0f64..1.0) {
            // For the same draw, a later attempt never waits less, and the ceiling itself
            // never falls.
            prop_assert!(backoff(attempt + 1, random) >= backoff(attempt, random));
            prop_assert!(backoff_ceiling(attempt + 1) >= backoff_ceiling(attempt));
        }

        #[test]
        fn backoff_takes_any_draw(random in proptest::num::f64::ANY) {
            let d = backoff(3, random);
            prop_assert!(d >= SHORTEST && d <= backoff_ceiling(3));
        }
    }
}
