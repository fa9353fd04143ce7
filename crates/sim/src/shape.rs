//! How the company's tools send what happened, as knobs: other sites send fewer page views or
//! more product events, call `alias` for every new device, export spend by ad set. The knobs
//! change the messages and rows written, never the company: its accounts, revenue, churn and
//! campaigns come from the accounts' own random streams, and the knobs draw only from the
//! shaping stream, and only when they differ from the default.

use rand::RngExt;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

/// The knobs. The default is the simulator's own shape, whose output is unchanged by them.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Shape {
    /// Internal page views (the pages browsed after landing) per simulated one: 0.5 sends about
    /// half, 2 twice as many. Landing pages, which carry the touches, are always sent.
    pub pages: f64,
    /// Product events (weekly logins and key-feature uses) per simulated one, as `pages`. The
    /// activation events, tickets, surveys and sales events are always sent.
    pub tracks: f64,
    /// `alias` calls per identified person on average: the first links the person's anonymous
    /// id to their user id again (as analytics.js's `alias` at sign-up), each further one a new
    /// device's anonymous id.
    pub aliases: f64,
    /// Rows of `spend.csv` per paid campaign and day (an export by ad set), their costs, clicks
    /// and impressions summing to the day's.
    pub spend_rows_per_day: u32,
}

impl Default for Shape {
    fn default() -> Self {
        Self {
            pages: 1.0,
            tracks: 1.0,
            aliases: 0.0,
            spend_rows_per_day: 1,
        }
    }
}

/// The largest scale or alias rate accepted: beyond it a company of any size is mostly copies.
const MAX_SCALE: f64 = 100.0;
/// The most spend rows per campaign and day; each row must keep at least a cent of the day's cost
/// for the rows to stay distinct (tenure keys a CSV row by its content).
const MAX_SPEND_ROWS: u32 = 100;

impl Shape {
    /// Whether this is the simulator's own shape (`ground_truth.json` then does not record it).
    pub fn is_plain(&self) -> bool {
        *self == Self::default()
    }

    pub(crate) fn check(&self) -> Result<(), String> {
        for (flag, value) in [
            ("--pages", self.pages),
            ("--tracks", self.tracks),
            ("--aliases", self.aliases),
        ] {
            if !(0.0..=MAX_SCALE).contains(&value) {
                return Err(format!(
                    "{flag} must be a number from 0 to {MAX_SCALE}, not {value}"
                ));
            }
        }
        if !(1..=MAX_SPEND_ROWS).contains(&self.spend_rows_per_day) {
            return Err(format!(
                "--spend-rows-per-day must be from 1 to {MAX_SPEND_ROWS}, not {}",
                self.spend_rows_per_day
            ));
        }
        Ok(())
    }
}

/// How many times to send one message at `scale`: its whole part, and once more with the
/// probability of its fraction. A whole scale draws nothing, so the default leaves the shaping
/// stream as it was.
pub(crate) fn copies(rng: &mut ChaCha8Rng, scale: f64) -> u32 {
    let whole = scale.floor();
    let fraction = scale - whole;
    whole as u32 + u32::from(fraction > 0.0 && rng.random_bool(fraction))
}

/// `total` in `parts` unequal parts (weights 1, 2, …, `parts`) that sum to it exactly: unequal so
/// that the rows of one day differ in content.
pub(crate) fn split(total: i64, parts: u32) -> impl Iterator<Item = i64> {
    let weights = i64::from(parts) * (i64::from(parts) + 1) / 2;
    let mut given = 0;
    (1..=i64::from(parts)).map(move |k| {
        let part = if k == i64::from(parts) {
            total - given
        } else {
            total * k / weights
        };
        given += part;
        part
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn split_sums_to_the_total_in_distinct_parts() {
        assert_eq!(split(1234, 1).collect::<Vec<_>>(), vec![1234]);
        let parts: Vec<i64> = split(10_000, 4).collect();
        assert_eq!(parts, vec![1_000, 2_000, 3_000, 4_000]);
        let parts: Vec<i64> = split(9_999, 7).collect();
        assert_eq!(parts.iter().sum::<i64>(), 9_999);
        assert!(parts.windows(2).all(|w| w[0] < w[1]), "{parts:?}");
    }

    #[test]
    fn a_whole_scale_copies_exactly_and_draws_nothing() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let untouched = rng.clone();
        assert_eq!(copies(&mut rng, 1.0), 1);
        assert_eq!(copies(&mut rng, 3.0), 3);
        assert_eq!(copies(&mut rng, 0.0), 0);
        assert_eq!(rng, untouched);
        let kept: u32 = (0..10_000).map(|_| copies(&mut rng, 0.25)).sum();
        assert!((2_200..2_800).contains(&kept), "{kept} of 10,000 at 0.25");
    }

    #[test]
    fn knobs_out_of_range_are_refused_with_the_flag() {
        assert!(Shape::default().check().is_ok());
        let bad = Shape {
            tracks: -1.0,
            ..Shape::default()
        };
        assert!(bad.check().unwrap_err().contains("--tracks"));
        let bad = Shape {
            pages: f64::NAN,
            ..Shape::default()
        };
        assert!(bad.check().unwrap_err().contains("--pages"));
        let bad = Shape {
            spend_rows_per_day: 0,
            ..Shape::default()
        };
        assert!(bad.check().unwrap_err().contains("--spend-rows-per-day"));
    }
}
