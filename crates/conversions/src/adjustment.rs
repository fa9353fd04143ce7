//! When a conversion sent must be corrected, where the platform takes corrections (Google's
//! conversion adjustments, and the webhook that passes them on).
//!
//! Google's rules, which tenure keeps because Google reports none of them as an error:
//! nothing can be adjusted after a retraction; a restatement whose adjustment time is not
//! later than the previous adjustment's is silently dropped as a duplicate; an adjustment must
//! be later than the conversion; and corrections are taken only within the conversion
//! action's window.

use serde::Serialize;
use tenure_core::Timestamp;

use crate::occurrence::Occurrence;

const SECOND_MS: i64 = 1000;
const DAY_MS: i64 = Timestamp::MS_PER_DAY;

/// What has been sent of one conversion so far, read from its firings.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Sent {
    /// The value last sent (by the conversion, or the latest restatement).
    pub value: Option<f64>,
    pub retracted: bool,
    /// When the latest adjustment was dated.
    pub last_adjusted_at: Option<Timestamp>,
}

/// A correction to send.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Adjustment {
    Restate {
        value: f64,
        previous: Option<f64>,
        at: Timestamp,
    },
    Retract {
        previous: Option<f64>,
        at: Timestamp,
    },
}

impl Adjustment {
    pub fn at(&self) -> Timestamp {
        match self {
            Adjustment::Restate { at, .. } | Adjustment::Retract { at, .. } => *at,
        }
    }
}

/// The correction `occurrence` needs now, given what was sent of it: a retraction when the
/// account stopped paying inside the window (`churned_at`), else a restatement when its value
/// moved by more than `threshold` of the value sent; nothing after a retraction or past the
/// window (`window_days` from the conversion).
pub fn adjustment(
    occurrence: &Occurrence,
    sent: &Sent,
    churned_at: Option<Timestamp>,
    window_days: u32,
    threshold: f64,
    now: Timestamp,
) -> Option<Adjustment> {
    if sent.retracted {
        return None;
    }
    let window_end = occurrence.at.plus_millis(i64::from(window_days) * DAY_MS);
    if now > window_end {
        return None;
    }
    let at = adjustment_time(occurrence.at, sent.last_adjusted_at, now);
    let churned_inside = churned_at.is_some_and(|c| c > occurrence.at && c <= window_end);
    if churned_inside {
        return Some(Adjustment::Retract {
            previous: sent.value,
            at,
        });
    }
    let (Some(new), Some(old)) = (occurrence.value, sent.value) else {
        return None;
    };
    let moved = (new - old).abs();
    let significant = if old > 0.0 {
        moved > threshold * old && moved >= 0.01
    } else {
        new > 0.0
    };
    significant.then_some(Adjustment::Restate {
        value: new,
        previous: Some(old),
        at,
    })
}

/// An adjustment's time: now, in whole seconds (the precision Google compares), and at least
/// a second after the conversion and after the previous adjustment, so that Google never
/// drops it as a duplicate.
fn adjustment_time(conversion: Timestamp, last: Option<Timestamp>, now: Timestamp) -> Timestamp {
    let seconds = |t: Timestamp| t.millis().div_euclid(SECOND_MS);
    let mut s = seconds(now).max(seconds(conversion) + 1);
    if let Some(last) = last {
        s = s.max(seconds(last) + 1);
    }
    Timestamp::from_millis(s * SECOND_MS)
}
