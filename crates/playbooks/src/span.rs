//! Lengths of time as the configuration writes them: `"3d"`, `"12h"`, `"30m"`.

use serde::{Serialize, Serializer};

const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;
pub(crate) const DAY: i64 = 24 * HOUR;

/// A whole number of days, hours or minutes. Nothing finer: playbooks act on a scale of
/// hours, and a unit that must be named keeps `"30"` from meaning seconds to one reader and
/// days to another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Span {
    ms: i64,
}

impl Span {
    /// The longest span accepted, 100 years: anything longer is a typo, and the bound keeps
    /// every sum with an instant far from overflow.
    pub const MAX_DAYS: i64 = 36_525;

    pub const ZERO: Span = Span { ms: 0 };

    pub fn days(days: u32) -> Span {
        Span {
            ms: i64::from(days) * DAY,
        }
    }

    pub fn hours(hours: u32) -> Span {
        Span {
            ms: i64::from(hours) * HOUR,
        }
    }

    /// A span of `ms` milliseconds, which the caller knows to be within bounds.
    pub(crate) fn from_millis(ms: i64) -> Span {
        Span { ms }
    }

    pub fn millis(self) -> i64 {
        self.ms
    }

    /// Parses `"<whole number><d|h|m>"`; the error is the sentence to show after the key.
    pub fn parse(text: &str) -> Result<Span, String> {
        let bad = || {
            format!(
                "bad duration {text:?}: write a whole number and a unit d, h or m, such as \"3d\", \"12h\" or \"30m\""
            )
        };
        let t = text.trim();
        let unit = match t.chars().last() {
            Some('d') => DAY,
            Some('h') => HOUR,
            Some('m') => MINUTE,
            _ => return Err(bad()),
        };
        let digits = &t[..t.len() - 1];
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let n: i64 = digits.parse().map_err(|_| bad())?;
        match n.checked_mul(unit) {
            Some(ms) if ms <= Self::MAX_DAYS * DAY => Ok(Span { ms }),
            _ => Err(format!(
                "duration {text:?} is longer than {} days (100 years)",
                Self::MAX_DAYS
            )),
        }
    }
}

impl std::fmt::Display for Span {
    /// The canonical text: the largest unit that divides it, so `"72h"` and `"3d"` are one
    /// span and one playbook version.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.ms % DAY == 0 {
            write!(f, "{}d", self.ms / DAY)
        } else if self.ms % HOUR == 0 {
            write!(f, "{}h", self.ms / HOUR)
        } else {
            write!(f, "{}m", self.ms / MINUTE)
        }
    }
}

impl Serialize for Span {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_parse_in_three_units_and_print_canonically() {
        assert_eq!(Span::parse("3d").unwrap(), Span::days(3));
        assert_eq!(Span::parse("72h").unwrap(), Span::days(3));
        assert_eq!(Span::parse("72h").unwrap().to_string(), "3d");
        assert_eq!(Span::parse("90m").unwrap().to_string(), "90m");
        assert_eq!(Span::parse("0d").unwrap(), Span::ZERO);
        for bad in ["", "d", "3", "3 d", "-3d", "3.5d", "3w", "+3d"] {
            assert!(Span::parse(bad).is_err(), "{bad:?} accepted");
        }
        assert!(Span::parse("36526d").unwrap_err().contains("longer than"));
        assert!(Span::parse("99999999999999999999d").is_err());
    }
}
