//! What time it is, injected: the runtime never reads the wall clock itself, so tests (and a
//! replayed day) can say what "now" is.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use tenure_core::Timestamp;

/// The source of "now" for everything the runtime does over time: the instant statuses are
/// scored at, the last completed day of the history, when a periodic job is due.
pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now(&self) -> Timestamp;
}

/// The machine's wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_datetime(chrono::Utc::now())
    }
}

/// A clock that moves only when told: for tests, so that what depends on time is checked
/// without waiting for it.
#[derive(Debug)]
pub struct ManualClock {
    millis: AtomicI64,
}

impl ManualClock {
    pub fn new(at: Timestamp) -> Self {
        Self {
            millis: AtomicI64::new(at.millis()),
        }
    }

    pub fn set(&self, at: Timestamp) {
        self.millis.store(at.millis(), Ordering::SeqCst);
    }

    pub fn advance(&self, by: Duration) {
        let by = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        let _ = self
            .millis
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |ms| {
                Some(Timestamp::from_millis(ms).plus_millis(by).millis())
            });
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_millis(self.millis.load(Ordering::SeqCst))
    }
}
