//! Quiet hours: a daily window in which a playbook sends nothing; what falls in it waits for
//! the window's end.
//!
//! Time zones are UTC or a fixed offset only. A named zone needs the tz database, which would
//! make the same configuration act differently on machines with different copies of it; an
//! offset is exact everywhere, at the price of being moved by hand at daylight-saving changes.

use serde::{Deserialize, Serialize};
use tenure_core::Timestamp;

use crate::span::DAY;

const MINUTE: i64 = 60_000;

/// `quiet_hours` as written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuietHoursConfig {
    /// `"HH:MM"`, local time: the window starts here (inclusive)…
    pub from: String,
    /// …and ends here (exclusive); earlier than `from`, it crosses midnight.
    pub to: String,
    /// `"UTC"` (the default) or a fixed offset such as `"+02:00"`.
    #[serde(default = "utc")]
    pub time_zone: String,
}

fn utc() -> String {
    "UTC".into()
}

/// A daily quiet window, validated: minutes of the local day and the offset from UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuietHours {
    from: i64,
    to: i64,
    offset: i64,
}

impl Serialize for QuietHours {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let hm = |m: i64| format!("{:02}:{:02}", m / 60, m % 60);
        let sign = if self.offset < 0 { '-' } else { '+' };
        serializer.collect_str(&format_args!(
            "{}-{}{}{}",
            hm(self.from),
            hm(self.to),
            sign,
            hm(self.offset.abs())
        ))
    }
}

/// Minutes of the day of `"HH:MM"`.
fn clock(text: &str) -> Option<i64> {
    let (h, m) = text.split_once(':')?;
    let two = |s: &str| {
        (s.len() == 2 && s.bytes().all(|b| b.is_ascii_digit())).then(|| s.parse::<i64>().ok())?
    };
    let (h, m) = (two(h)?, two(m)?);
    (h < 24 && m < 60).then_some(h * 60 + m)
}

impl QuietHoursConfig {
    /// Validates; the error is `(field, message)`.
    pub fn validate(&self) -> Result<QuietHours, (&'static str, String)> {
        let time = |field: &'static str, text: &str| {
            clock(text).ok_or_else(|| {
                (
                    field,
                    format!("{text:?} is not a time of day: write \"HH:MM\", e.g. \"20:00\""),
                )
            })
        };
        let from = time("from", &self.from)?;
        let to = time("to", &self.to)?;
        if from == to {
            return Err((
                "to",
                "quiet hours from and to the same time would be empty or the whole day; give a window such as from = \"20:00\", to = \"08:00\"".into(),
            ));
        }
        let zone = self.time_zone.trim();
        let offset = if zone == "UTC" || zone == "Z" {
            0
        } else {
            let sign = match zone.chars().next() {
                Some('+') => 1,
                Some('-') => -1,
                _ => 0,
            };
            match clock(zone.get(1..).unwrap_or_default()) {
                Some(m) if sign != 0 && m <= 14 * 60 => sign * m,
                _ => {
                    return Err((
                        "time_zone",
                        format!("{zone:?} is not UTC or a fixed offset such as \"+02:00\" (named zones are not supported: there is no time zone database)"),
                    ))
                }
            }
        };
        Ok(QuietHours { from, to, offset })
    }
}

impl QuietHours {
    /// The window in minutes of the local day and the offset in minutes, for display.
    pub fn parts(&self) -> (i64, i64, i64) {
        (self.from, self.to, self.offset)
    }

    /// Whether `t` falls in the window: from its start inclusive to its end exclusive.
    pub fn contains(&self, t: Timestamp) -> bool {
        let m = self.ms_of_local_day(t);
        let (from, to) = (self.from * MINUTE, self.to * MINUTE);
        if from < to {
            from <= m && m < to
        } else {
            m >= from || m < to
        }
    }

    fn ms_of_local_day(&self, t: Timestamp) -> i64 {
        (t.millis() + self.offset * MINUTE).rem_euclid(DAY)
    }

    /// The earliest instant at or after `t` outside the window: `t` itself when it is outside,
    /// else the window's end.
    pub fn next_allowed(&self, t: Timestamp) -> Timestamp {
        if !self.contains(t) {
            return t;
        }
        let m = self.ms_of_local_day(t);
        let to = self.to * MINUTE;
        let wait = if m < to { to - m } else { DAY - m + to };
        t.plus_millis(wait)
    }
}
