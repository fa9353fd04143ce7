use crate::facts::{Facts, DAY_MS};

/// The churn model's label looks this far ahead: churn within 90 days of the snapshot.
pub const CHURN_HORIZON_MS: i64 = 90 * DAY_MS;

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
    "tickets_per_month_12m",
    "nps_mean",
    "nps_missing",
    "detractor",
    "days_since_csm_touch",
    "failed_payment",
    "tenure_years",
    "log_mrr",
    "log_mrr_per_seat",
    "renewal_due_90d",
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
        // A renewal decision weighs the whole year: tickets per month over the last 12 (or
        // since conversion, if sooner).
        f.converted_at.map_or(0.0, |c| {
            f64::from(f.tickets_365d) / (days(c) / 30.4375).clamp(1.0, 12.0)
        }),
        nps_mean.unwrap_or(7.0),
        flag(nps_mean.is_none()),
        flag(f.nps.iter().any(|(_, s)| *s <= 6)),
        f.last_csm_touch.map_or(365.0, |t| days(t).min(365.0)),
        flag(f.failed_payment.is_some()),
        f.converted_at.map_or(0.0, |c| days(c) / 365.25),
        ((f.mrr.max(0) as f64) / 100.0 + 1.0).ln(),
        // What a seat costs tells plans apart (a higher tier costs more a seat) without a list
        // of the company's plans; 0 without seats.
        f.seats.filter(|s| *s > 0).map_or(0.0, |s| {
            ((f.mrr.max(0) as f64) / 100.0 / f64::from(s) + 1.0).ln()
        }),
        // A renewal decision in the window weighs a whole term, not 90 days of it.
        flag(
            f.contract_end
                .is_some_and(|e| e > f.as_of && e - f.as_of <= CHURN_HORIZON_MS),
        ),
    ]
}

/// Whether the account's contract runs past the churn model's horizon, so that it cannot leave
/// within it. This is when churn can happen, not why: the model learns its drivers from the
/// accounts that can leave and gives bound ones the churn rate seen among bound accounts.
pub fn bound_by_contract(f: &Facts) -> bool {
    f.contract_end
        .is_some_and(|e| e - f.as_of > CHURN_HORIZON_MS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contract(days_left: i64, extra_ms: i64) -> (f64, bool) {
        let as_of = 1_000 * DAY_MS;
        let f = Facts {
            as_of,
            converted_at: Some(as_of - 200 * DAY_MS),
            mrr: 10_000,
            contract_end: Some(as_of + days_left * DAY_MS + extra_ms),
            ..Facts::default()
        };
        let x = churn_features(&f, 30);
        assert_eq!(x.len(), CHURN_FEATURES.len());
        let at = |name: &str| x[CHURN_FEATURES.iter().position(|n| *n == name).unwrap()];
        (at("renewal_due_90d"), bound_by_contract(&f))
    }

    /// How the survey answers are coded: `detractor` is 1 only when someone's latest answer is
    /// 0–6, never for want of an answer; no answer is `nps_missing` with the neutral mean 7.
    #[test]
    fn nps_answers_coded_by_hand() {
        let nps = |answers: &[u8]| {
            let f = Facts {
                as_of: 1_000 * DAY_MS,
                nps: answers.iter().map(|s| (900 * DAY_MS, *s)).collect(),
                ..Facts::default()
            };
            let x = churn_features(&f, 30);
            let at = |name: &str| x[CHURN_FEATURES.iter().position(|n| *n == name).unwrap()];
            (at("nps_mean"), at("nps_missing"), at("detractor"))
        };
        assert_eq!(nps(&[]), (7.0, 1.0, 0.0), "no answer");
        assert_eq!(nps(&[9, 10]), (9.5, 0.0, 0.0), "promoters");
        assert_eq!(nps(&[7, 8]), (7.5, 0.0, 0.0), "passives");
        // (9 + 6) / 2 = 7.5: one detractor among two people flags the account.
        assert_eq!(nps(&[9, 6]), (7.5, 0.0, 1.0));
        assert_eq!(nps(&[0]), (0.0, 0.0, 1.0));
    }

    #[test]
    fn contract_timing_at_its_boundaries() {
        assert_eq!(
            contract(90, 0),
            (1.0, false),
            "ends in exactly 90 days: due"
        );
        assert_eq!(
            contract(90, 1),
            (0.0, true),
            "a millisecond later: still bound"
        );
        assert_eq!(contract(1, 0), (1.0, false));
        assert_eq!(contract(0, 0), (0.0, false), "ended now: neither");
        assert_eq!(contract(-30, 0), (0.0, false), "ended a month ago: neither");
    }
}
