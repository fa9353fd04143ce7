use std::fmt;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use serde::{Deserialize, Serialize};

/// A UTC instant at millisecond precision, as every timestamp in tenure is.
///
/// It always lies within years 0000–9999 ([`Timestamp::MIN`] to [`Timestamp::MAX`]): the range
/// RFC 3339 can write with four-digit years. Arithmetic saturates at those ends and parsing
/// rejects anything outside them, so every value prints as RFC 3339 and parses back to itself,
/// which is what lets the log store any instant it was given and always read it back.
///
/// Its serde form is RFC 3339 text in human-readable formats (the log's JSON) and the
/// millisecond count in binary ones (the engine's snapshots), where parsing millions of dates
/// back would cost more than the rest of the decoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a timestamp (expected RFC 3339 such as 2025-03-01T12:00:00Z, or a date 2025-03-01, within years 0000-9999)")]
pub struct TimestampError(pub String);

impl Timestamp {
    pub const MS_PER_DAY: i64 = 86_400_000;
    /// 0000-01-01T00:00:00.000Z, the earliest instant.
    pub const MIN: Timestamp = Timestamp(-62_167_219_200_000);
    /// 9999-12-31T23:59:59.999Z, the latest instant.
    pub const MAX: Timestamp = Timestamp(253_402_300_799_999);

    /// The instant `ms` milliseconds after 1970-01-01T00:00:00Z, saturated to
    /// [`Timestamp::MIN`]..=[`Timestamp::MAX`].
    pub fn from_millis(ms: i64) -> Self {
        Self(ms.clamp(Self::MIN.0, Self::MAX.0))
    }

    /// [`Timestamp::from_millis`] for constants: `ms` must be within the range.
    pub const fn from_millis_const(ms: i64) -> Self {
        assert!(
            ms >= Self::MIN.0 && ms <= Self::MAX.0,
            "outside years 0000-9999"
        );
        Self(ms)
    }

    /// Like [`Timestamp::from_millis`], but `None` outside the range instead of saturating.
    pub fn checked_from_millis(ms: i64) -> Option<Self> {
        (Self::MIN.0..=Self::MAX.0)
            .contains(&ms)
            .then_some(Self(ms))
    }

    pub fn millis(self) -> i64 {
        self.0
    }

    pub fn from_datetime(dt: DateTime<Utc>) -> Self {
        Self::from_millis(dt.timestamp_millis())
    }

    pub fn to_datetime(self) -> DateTime<Utc> {
        Utc.timestamp_millis_opt(self.0)
            .single()
            .expect("years 0000-9999 are within chrono's range")
    }

    /// RFC 3339 with any offset (converted to UTC), or a bare date meaning its midnight UTC.
    /// Precision below a millisecond is truncated.
    /// An offset that moves the instant out of years 0000–9999 (`0000-01-01T00:00:00+01:00`)
    /// is an error, not a saturated value.
    pub fn parse(raw: &str) -> Result<Self, TimestampError> {
        let text = raw.trim();
        let millis = if let Ok(dt) = DateTime::parse_from_rfc3339(text) {
            Some(dt.timestamp_millis())
        } else if let Ok(dt) = DateTime::parse_from_rfc3339(&text.replacen(' ', "T", 1)) {
            // Segment libraries and spreadsheets also write a space instead of the `T`.
            Some(dt.timestamp_millis())
        } else if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
            let midnight = date.and_hms_opt(0, 0, 0).expect("midnight exists");
            Some(Utc.from_utc_datetime(&midnight).timestamp_millis())
        } else {
            None
        };
        millis
            .and_then(Self::checked_from_millis)
            .ok_or_else(|| TimestampError(raw.to_owned()))
    }

    /// Like [`Timestamp::parse`], except that a bare date means the end of that day (its last
    /// millisecond), as `--as-of` and `--to` do in SPEC §3.
    pub fn parse_end_of(raw: &str) -> Result<Self, TimestampError> {
        let parsed = Self::parse(raw)?;
        if NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d").is_ok() {
            Ok(parsed.plus_millis(Self::MS_PER_DAY - 1))
        } else {
            Ok(parsed)
        }
    }

    /// Saturates at [`Timestamp::MIN`] and [`Timestamp::MAX`].
    pub fn plus_millis(self, ms: i64) -> Self {
        Self::from_millis(self.0.saturating_add(ms))
    }
}

impl TryFrom<String> for Timestamp {
    type Error = TimestampError;
    fn try_from(raw: String) -> Result<Self, TimestampError> {
        Self::parse(&raw)
    }
}

impl From<Timestamp> for String {
    fn from(t: Timestamp) -> String {
        t.to_string()
    }
}

impl Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if serializer.is_human_readable() {
            serializer.collect_str(self)
        } else {
            serializer.serialize_i64(self.0)
        }
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        if deserializer.is_human_readable() {
            let raw = String::deserialize(deserializer)?;
            Timestamp::parse(&raw).map_err(D::Error::custom)
        } else {
            let ms = i64::deserialize(deserializer)?;
            Timestamp::checked_from_millis(ms)
                .ok_or_else(|| D::Error::custom(format!("{ms} ms is outside years 0000-9999")))
        }
    }
}

/// Civil date of a day count since 1970-01-01 (H. Hinnant's `civil_from_days`): formatting
/// timestamps is on the ingest hot path, and this is several times cheaper than chrono's
/// general formatter.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let days = self.0.div_euclid(Self::MS_PER_DAY);
        let ms_of_day = self.0.rem_euclid(Self::MS_PER_DAY);
        // Within years 0000-9999 by construction, so four digits always suffice.
        let (year, month, day) = civil_from_days(days);
        let secs = ms_of_day / 1000;
        write!(
            f,
            "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
            secs / 3600,
            secs / 60 % 60,
            secs % 60,
            ms_of_day % 1000
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::SecondsFormat;

    #[test]
    fn parses_offsets_dates_and_truncates_to_millis() {
        let t = Timestamp::parse("2025-03-01T12:00:05.123456Z").unwrap();
        assert_eq!(t.to_string(), "2025-03-01T12:00:05.123Z");
        let o = Timestamp::parse("2025-03-01T13:00:05.123+01:00").unwrap();
        assert_eq!(o, t);
        assert_eq!(
            Timestamp::parse("2025-03-01").unwrap().to_string(),
            "2025-03-01T00:00:00.000Z"
        );
        assert_eq!(
            Timestamp::parse("2025-03-01 12:00:05.123Z").unwrap(),
            Timestamp::parse("2025-03-01T12:00:05.123Z").unwrap()
        );
    }

    #[test]
    fn a_date_as_an_end_is_its_last_millisecond() {
        assert_eq!(
            Timestamp::parse_end_of("2025-03-01").unwrap().to_string(),
            "2025-03-01T23:59:59.999Z"
        );
        assert_eq!(
            Timestamp::parse_end_of("2025-03-01T10:00:00Z")
                .unwrap()
                .to_string(),
            "2025-03-01T10:00:00.000Z"
        );
    }

    #[test]
    fn fast_display_agrees_with_chrono() {
        let mut ms: i64 = -62_135_596_800_000; // 0001-01-01
        while ms < 253_402_300_799_999 {
            let t = Timestamp::from_millis(ms);
            let expected = t.to_datetime().to_rfc3339_opts(SecondsFormat::Millis, true);
            assert_eq!(t.to_string(), expected, "{ms}");
            ms += 7_919_993_117; // a prime stride: every month, hour and millisecond digit
        }
        for ms in [
            -1,
            0,
            951_782_400_000,
            1_709_164_800_000,
            253_402_300_799_999,
        ] {
            let t = Timestamp::from_millis(ms);
            assert_eq!(
                t.to_string(),
                t.to_datetime().to_rfc3339_opts(SecondsFormat::Millis, true)
            );
        }
    }

    #[test]
    fn the_range_ends_print_and_parse_back() {
        assert_eq!(Timestamp::MIN.to_string(), "0000-01-01T00:00:00.000Z");
        assert_eq!(Timestamp::MAX.to_string(), "9999-12-31T23:59:59.999Z");
        for t in [Timestamp::MIN, Timestamp::MAX] {
            assert_eq!(Timestamp::parse(&t.to_string()), Ok(t));
            assert_eq!(
                t.to_string(),
                t.to_datetime().to_rfc3339_opts(SecondsFormat::Millis, true)
            );
        }
    }

    #[test]
    fn arithmetic_saturates_within_years_0000_to_9999() {
        assert_eq!(Timestamp::from_millis(i64::MAX), Timestamp::MAX);
        assert_eq!(Timestamp::from_millis(i64::MIN), Timestamp::MIN);
        assert_eq!(Timestamp::MAX.plus_millis(1), Timestamp::MAX);
        assert_eq!(Timestamp::MIN.plus_millis(-1), Timestamp::MIN);
        // The clock-skew correction of issue 12: 9999-12-31 sent with a clock at year 0.
        let sent = Timestamp::parse("0000-01-01T00:00:00Z").unwrap();
        let now = Timestamp::parse("2026-12-06T00:00:00Z").unwrap();
        let t = Timestamp::parse("9999-12-31T23:59:59Z").unwrap();
        assert_eq!(t.plus_millis(now.millis() - sent.millis()), Timestamp::MAX);
        assert_eq!(
            Timestamp::checked_from_millis(Timestamp::MAX.millis() + 1),
            None
        );
    }

    #[test]
    fn offsets_that_leave_the_range_are_rejected() {
        for bad in ["0000-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"] {
            assert!(Timestamp::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn rejects_garbage() {
        for bad in [
            "",
            "yesterday",
            "2025-13-01",
            "2025-02-30T00:00:00Z",
            "1700000000",
        ] {
            assert!(Timestamp::parse(bad).is_err(), "{bad:?} accepted");
        }
    }
}
