use serde::Serialize;

/// What is known about one account at one instant (`as_of`), the input of every health score and
/// signal. Times are milliseconds since the Unix epoch; every figure uses only what happened at
/// or before `as_of`, so a score of the past can be recomputed exactly (back-tests rely on it).
///
/// Windows are "the last N days": `(as_of − N days, as_of]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Facts {
    pub as_of: i64,
    /// When the account became a customer (SPEC §3, Conversion).
    pub converted_at: Option<i64>,
    /// When it met the activation rule, if it did by `as_of`.
    pub activated_at: Option<i64>,
    /// MRR at `as_of`, minor units; 0 for an account that is not paying.
    pub mrr: i64,
    /// Seats of the latest subscription change that names them.
    pub seats: Option<u32>,
    pub plan: Option<String>,
    /// Distinct users with product events in the last 14 and 30 days, and in the 30 days before
    /// those.
    pub active_users_14d: u32,
    pub active_users_30d: u32,
    pub active_users_prev_30d: u32,
    /// Distinct days (UTC) with product events in the last 14 days and in the 28 days before.
    pub active_days_14d: u32,
    pub active_days_prev_28d: u32,
    /// Product events in the last 7 days, and in the 4 weeks before them.
    pub events_7d: u32,
    pub events_prev_28d: u32,
    /// The latest product event.
    pub last_activity: Option<i64>,
    /// Distinct key features used in the last 30 days, and how many key features there are.
    pub key_features_30d: u32,
    pub key_features: u32,
    /// Every product event name used in the last 30 days.
    pub features_30d: Vec<String>,
    /// Tickets open at `as_of`; opened in the last 14 days; opened in the 84 days before those;
    /// opened in the last 30 days.
    pub open_tickets: u32,
    pub tickets_14d: u32,
    pub tickets_prev_84d: u32,
    pub tickets_30d: u32,
    /// Tickets opened in the last 365 days.
    pub tickets_365d: u32,
    /// Each person's latest NPS answer within the last 365 days: (time, score).
    pub nps: Vec<(i64, u8)>,
    /// The latest account-team touch.
    pub last_csm_touch: Option<i64>,
    /// The latest failed payment in the last 30 days that no paid invoice has followed.
    pub failed_payment: Option<i64>,
    /// The latest usage-limit event in the last 30 days.
    pub usage_limit: Option<i64>,
    /// The account's champion (its most active user over the 90 days before the last 14) and
    /// their latest product event.
    pub champion: Option<(String, i64)>,
    /// The first churn (MRR to 0 after MRR > 0), if it happened by `as_of`.
    pub churned_at: Option<i64>,
    /// The latest expansion movement (an MRR increase while paying).
    pub last_expansion: Option<i64>,
    /// The end of the current contract (the latest `contract_end` of the account's won deals).
    pub contract_end: Option<i64>,
}

pub const DAY_MS: i64 = 86_400_000;

impl Facts {
    /// Days from `t` to `as_of` (fractional).
    pub fn days_since(&self, t: i64) -> f64 {
        (self.as_of - t) as f64 / DAY_MS as f64
    }

    /// Distinct key features used in the last 30 days ÷ the number of key features (SPEC §3,
    /// Adoption); none when no key feature is configured.
    pub fn adoption_depth(&self) -> Option<f64> {
        (self.key_features > 0)
            .then(|| f64::from(self.key_features_30d) / f64::from(self.key_features))
    }
}
