//! The calendar the reports count in: UTC days and months.

use chrono::{Datelike, NaiveDate, TimeZone, Utc};
use tenure_core::Timestamp;

pub const DAY_MS: i64 = 86_400_000;

/// The first instant of the calendar month (UTC) containing `t`.
pub fn month_start(t: Timestamp) -> Timestamp {
    let d = t.to_datetime().date_naive();
    month_of(d.year(), d.month())
}

/// The first instant of month `month` (1–12) of `year`; months past 12 roll into later years.
pub fn month_of(year: i32, month: u32) -> Timestamp {
    let (y, m) = (year + ((month - 1) / 12) as i32, (month - 1) % 12 + 1);
    let date = NaiveDate::from_ymd_opt(y, m, 1).expect("the first of a month exists");
    Timestamp::from_datetime(Utc.from_utc_datetime(&date.and_hms_opt(0, 0, 0).expect("midnight")))
}

/// The month after the one starting at `start`.
pub fn next_month(start: Timestamp) -> Timestamp {
    let d = start.to_datetime().date_naive();
    month_of(d.year(), d.month() + 1)
}

/// `YYYY-MM` of the month containing `t`.
pub fn month_label(t: Timestamp) -> String {
    t.to_string()[..7].to_owned()
}

/// The month before the one starting at `start`.
pub fn prev_month(start: Timestamp) -> Timestamp {
    let d = start.to_datetime().date_naive();
    if d.month() == 1 {
        month_of(d.year() - 1, 12)
    } else {
        month_of(d.year(), d.month() - 1)
    }
}

/// The last millisecond of the UTC day holding `t`.
pub(crate) fn day_end(t: Timestamp) -> Timestamp {
    Timestamp::from_millis((t.millis().div_euclid(DAY_MS) + 1) * DAY_MS - 1)
}
