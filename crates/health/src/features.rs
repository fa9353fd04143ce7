use crate::facts::{Facts, DAY_MS};

/// The churn model's features, by name, in the order [`churn_features`] gives them.
pub const CHURN_FEATURES: &[&str] = &[
    "usage_per_seat",
    "engagement_trend",
    "usage_trend",
    "adoption_depth",
    "days_since_activity",
    "not_activated",
    "support_load",
    "tickets_14d",
    "nps_mean",
    "nps_missing",
    "detractor",
    "days_since_csm_touch",
    "failed_payment",
    "tenure_years",
    "log_mrr",
];

/// An account's features at `facts.as_of` for the churn model. Missing inputs get a neutral
/// value, with an indicator where missingness itself may carry information (no NPS answer).
/// `activation_days` is the signal setting: not activated that many days after conversion.
pub fn churn_features(f: &Facts, activation_days: u32) -> Vec<f64> {
    let days = |t: i64| f.days_since(t).max(0.0);
    let per_seat = f
        .seats
        .filter(|s| *s > 0)
        .map_or(0.0, |s| f64::from(f.active_users_14d) / f64::from(s));
    let engagement = match (f.active_days_14d, f.active_days_prev_28d) {
        (0, 0) => 0.0,
        (_, 0) => 2.0,
        (now, before) => (f64::from(now) / (f64::from(before) / 2.0)).min(3.0),
    };
    let baseline = f64::from(f.events_prev_28d) / 4.0;
    let usage_trend = if baseline > 0.0 {
        (f64::from(f.events_7d) / baseline).min(3.0)
    } else if f.events_7d > 0 {
        2.0
    } else {
        0.0
    };
    let not_activated = f.converted_at.is_some_and(|c| {
        let due = c + i64::from(activation_days) * DAY_MS;
        f.as_of >= due && f.activated_at.is_none_or(|a| a > due)
    });
    let nps_mean = (!f.nps.is_empty())
        .then(|| f.nps.iter().map(|(_, s)| f64::from(*s)).sum::<f64>() / f.nps.len() as f64);
    let flag = |b: bool| f64::from(u8::from(b));
    vec![
        per_seat.min(2.0),
        engagement,
        usage_trend,
        if f.key_features > 0 {
            f64::from(f.key_features_30d) / f64::from(f.key_features)
        } else {
            0.0
        },
        f.last_activity
            .or(f.converted_at)
            .map_or(90.0, |t| days(t).min(90.0)),
        flag(not_activated),
        f64::from(f.open_tickets + f.tickets_30d),
        f64::from(f.tickets_14d),
        nps_mean.unwrap_or(7.0),
        flag(nps_mean.is_none()),
        flag(f.nps.iter().any(|(_, s)| *s <= 6)),
        f.last_csm_touch.map_or(365.0, |t| days(t).min(365.0)),
        flag(f.failed_payment.is_some()),
        f.converted_at.map_or(0.0, |c| days(c) / 365.25),
        ((f.mrr.max(0) as f64) / 100.0 + 1.0).ln(),
    ]
}
