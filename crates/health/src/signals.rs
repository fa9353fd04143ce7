use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::facts::{Facts, DAY_MS};
use crate::score::Band;

/// What a signal is about (SPEC §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignalKind {
    ChurnRisk,
    Expansion,
    Advocacy,
    Renewal,
}

impl SignalKind {
    pub fn name(self) -> &'static str {
        match self {
            SignalKind::ChurnRisk => "churn_risk",
            SignalKind::Expansion => "expansion",
            SignalKind::Advocacy => "advocacy",
            SignalKind::Renewal => "renewal",
        }
    }
}

/// A signal raised on an account: what, since when, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Signal {
    pub kind: SignalKind,
    pub name: &'static str,
    /// When its condition started to hold (ms since the Unix epoch). [`SignalSettings::evaluate`]
    /// knows it only for the signals whose condition starts at an instant of its own (the 14th
    /// day without an event, a contract's end less 90 days); for the [`TRACED`] ones it says
    /// the instant evaluated, until [`SignalSettings::trace_starts`] looks back.
    pub started_at: i64,
    pub reason: String,
}

/// Every signal name, with its kind, in the order they are evaluated.
pub const SIGNALS: &[(&str, SignalKind)] = &[
    ("no_activity", SignalKind::ChurnRisk),
    ("usage_drop", SignalKind::ChurnRisk),
    ("ticket_spike", SignalKind::ChurnRisk),
    ("not_activated", SignalKind::ChurnRisk),
    ("nps_detractor", SignalKind::ChurnRisk),
    ("failed_payment", SignalKind::ChurnRisk),
    ("champion_inactive", SignalKind::ChurnRisk),
    ("seat_utilization", SignalKind::Expansion),
    ("usage_limit", SignalKind::Expansion),
    ("feature_above_plan", SignalKind::Expansion),
    ("active_users_up", SignalKind::Expansion),
    ("advocate_ready", SignalKind::Advocacy),
    ("renewal_90", SignalKind::Renewal),
    ("renewal_60", SignalKind::Renewal),
    ("renewal_30", SignalKind::Renewal),
];

/// The signals whose start one instant's facts cannot tell, found by looking back day by day
/// ([`SignalSettings::trace_starts`]): those over a sliding window (the window's start is not
/// when the condition began, and moves with the report instant), the one that needs a green
/// band, and those dated by the latest of repeated events (a second failed payment or limit
/// warning does not restart a signal that already held).
pub const TRACED: &[&str] = &[
    "usage_drop",
    "ticket_spike",
    "failed_payment",
    "seat_utilization",
    "usage_limit",
    "feature_above_plan",
    "active_users_up",
    "advocate_ready",
];

/// `[signals]`: the thresholds of SPEC §4's signals.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SignalSettings {
    /// `no_activity`: no product event for this many days.
    pub inactive_days: u32,
    /// `usage_drop`: the last 7 days' events at least this fraction below the weekly mean of the
    /// 4 weeks before.
    pub usage_drop: f64,
    /// `ticket_spike`: at least this many tickets opened in the last 14 days…
    pub ticket_spike_min: u32,
    /// …and at least this multiple of the 14-day mean of the 84 days before.
    pub ticket_spike_ratio: f64,
    /// `not_activated`: not activated this many days after conversion.
    pub activation_days: u32,
    /// `nps_detractor`: a person's latest answer at or below this score.
    pub detractor_max: u8,
    /// `champion_inactive`: the champion has no product event for this many days.
    pub champion_inactive_days: u32,
    /// `seat_utilization`: active users in the last 30 days ÷ seats at least this.
    pub seat_utilization: f64,
    /// `usage_limit`: the event that says a plan limit is near, within the last 30 days.
    pub usage_limit_event: String,
    /// `feature_above_plan`: feature (product event name) → the plans that include it; using it
    /// on any other plan raises the signal. Empty: never raised.
    pub premium_features: BTreeMap<String, Vec<String>>,
    /// `active_users_up`: active users in the last 30 days at least this fraction above the 30
    /// days before.
    pub active_users_growth: f64,
    /// `advocate_ready`: a person's latest answer at or above this score…
    pub promoter_min: u8,
    /// …a customer for at least this many days, with a green health band.
    pub advocate_days: u32,
    /// `renewal_N`: the contract ends within N days; one signal per threshold.
    pub renewal_days: Vec<u32>,
}

impl Default for SignalSettings {
    fn default() -> Self {
        SignalSettings {
            inactive_days: 14,
            usage_drop: 0.4,
            ticket_spike_min: 3,
            ticket_spike_ratio: 2.0,
            activation_days: 30,
            detractor_max: 6,
            champion_inactive_days: 14,
            seat_utilization: 0.9,
            usage_limit_event: "Usage Limit Approached".into(),
            premium_features: BTreeMap::new(),
            active_users_growth: 0.2,
            promoter_min: 9,
            // Six months of average length.
            advocate_days: 183,
            renewal_days: vec![90, 60, 30],
        }
    }
}

/// The renewal signal names SIGNALS lists, by threshold.
fn renewal_name(days: u32) -> Option<&'static str> {
    match days {
        90 => Some("renewal_90"),
        60 => Some("renewal_60"),
        30 => Some("renewal_30"),
        _ => None,
    }
}

/// Why signal settings cannot be used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("signals.{field}: {reason}")]
pub struct SignalError {
    pub field: &'static str,
    pub reason: String,
}

impl SignalSettings {
    pub fn validate(&self) -> Result<(), SignalError> {
        let fraction = |field, v: f64| {
            if v.is_finite() && v > 0.0 {
                Ok(())
            } else {
                Err(SignalError {
                    field,
                    reason: format!("{v} must be a number > 0"),
                })
            }
        };
        fraction("usage_drop", self.usage_drop)?;
        fraction("ticket_spike_ratio", self.ticket_spike_ratio)?;
        fraction("seat_utilization", self.seat_utilization)?;
        fraction("active_users_growth", self.active_users_growth)?;
        if self.usage_drop >= 1.0 {
            return Err(SignalError {
                field: "usage_drop",
                reason: format!(
                    "{} must be below 1 (a drop of 100% or more never happens)",
                    self.usage_drop
                ),
            });
        }
        if let Some(d) = self
            .renewal_days
            .iter()
            .find(|d| renewal_name(**d).is_none())
        {
            return Err(SignalError {
                field: "renewal_days",
                reason: format!("{d} is not one of 90, 60, 30"),
            });
        }
        Ok(())
    }

    /// Every signal holding at `facts.as_of`, in [`SIGNALS`] order. `band` is the account's
    /// health band at the same instant (for `advocate_ready`).
    pub fn evaluate(&self, f: &Facts, band: Option<Band>) -> Vec<Signal> {
        let mut out = Vec::new();
        let mut raise = |name: &'static str, started_at: i64, reason: String| {
            let kind = SIGNALS
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, k)| *k)
                .expect("a listed signal");
            out.push(Signal {
                kind,
                name,
                started_at,
                reason,
            });
        };
        let days = |n: u32| i64::from(n) * DAY_MS;
        let customer = f.converted_at.is_some_and(|c| c <= f.as_of) && f.mrr > 0;

        // Churn risk.
        if customer {
            let idle_since = f.last_activity.or(f.converted_at).unwrap_or(f.as_of);
            if f.as_of - idle_since >= days(self.inactive_days) {
                raise(
                    "no_activity",
                    idle_since + days(self.inactive_days),
                    match f.last_activity {
                        Some(_) => format!(
                            "no product event for {:.0} days (last {})",
                            f.days_since(idle_since).floor(),
                            date(idle_since)
                        ),
                        None => format!(
                            "no product event since conversion {:.0} days ago",
                            f.days_since(idle_since).floor()
                        ),
                    },
                );
            }
            let baseline = f64::from(f.events_prev_28d) / 4.0;
            if baseline > 0.0 && f64::from(f.events_7d) <= baseline * (1.0 - self.usage_drop) {
                raise(
                    "usage_drop",
                    f.as_of,
                    format!(
                        "{} product events in the last 7 days against a weekly baseline of {:.1} (−{:.0}%)",
                        f.events_7d,
                        baseline,
                        (1.0 - f64::from(f.events_7d) / baseline) * 100.0
                    ),
                );
            }
            let usual = f64::from(f.tickets_prev_84d) / 6.0;
            if f.tickets_14d >= self.ticket_spike_min
                && f64::from(f.tickets_14d) >= self.ticket_spike_ratio * usual
            {
                raise(
                    "ticket_spike",
                    f.as_of,
                    format!(
                        "{} tickets in the last 14 days against {:.1} per 14 days before",
                        f.tickets_14d, usual
                    ),
                );
            }
            if let Some(converted) = f.converted_at {
                let due = converted + days(self.activation_days);
                if f.as_of >= due && f.activated_at.is_none_or(|a| a > due) {
                    raise(
                        "not_activated",
                        due,
                        format!(
                            "not activated {} days after conversion on {}",
                            self.activation_days,
                            date(converted)
                        ),
                    );
                }
            }
            // The earliest of the current detractor answers: the signal has held since then.
            if let Some(&(at, score)) = f
                .nps
                .iter()
                .filter(|(_, s)| *s <= self.detractor_max)
                .min_by_key(|(at, _)| *at)
            {
                raise(
                    "nps_detractor",
                    at,
                    format!("NPS answer {score} on {}", date(at)),
                );
            }
            if let Some(at) = f.failed_payment {
                raise(
                    "failed_payment",
                    at,
                    format!("payment failed on {} and none succeeded since", date(at)),
                );
            }
            if let Some((user, last)) = &f.champion {
                if f.as_of - last >= days(self.champion_inactive_days) {
                    raise(
                        "champion_inactive",
                        last + days(self.champion_inactive_days),
                        format!(
                            "champion {user} (the most active user) has no product event since {}",
                            date(*last)
                        ),
                    );
                }
            }
        }

        // Expansion readiness.
        if customer {
            if let Some(seats) = f.seats.filter(|s| *s > 0) {
                let used = f64::from(f.active_users_30d) / f64::from(seats);
                if used >= self.seat_utilization {
                    raise(
                        "seat_utilization",
                        f.as_of,
                        format!(
                            "{} active users in 30 days on {seats} seats ({:.0}%)",
                            f.active_users_30d,
                            used * 100.0
                        ),
                    );
                }
            }
            if let Some(at) = f.usage_limit {
                raise(
                    "usage_limit",
                    at,
                    format!("\"{}\" on {}", self.usage_limit_event, date(at)),
                );
            }
            let above: Vec<&str> = f
                .features_30d
                .iter()
                .filter(|feature| {
                    self.premium_features
                        .get(*feature)
                        .is_some_and(|plans| f.plan.as_ref().is_none_or(|p| !plans.contains(p)))
                })
                .map(String::as_str)
                .collect();
            if !above.is_empty() {
                raise(
                    "feature_above_plan",
                    f.as_of,
                    format!(
                        "uses {} beyond plan {}",
                        above.join(", "),
                        f.plan.as_deref().unwrap_or("(none)")
                    ),
                );
            }
            let before = f64::from(f.active_users_prev_30d);
            if before > 0.0
                && f64::from(f.active_users_30d) >= before * (1.0 + self.active_users_growth)
            {
                raise(
                    "active_users_up",
                    f.as_of,
                    format!(
                        "{} active users in the last 30 days against {} in the 30 before (+{:.0}%)",
                        f.active_users_30d,
                        f.active_users_prev_30d,
                        (f64::from(f.active_users_30d) / before - 1.0) * 100.0
                    ),
                );
            }
        }

        // Advocacy readiness.
        if let (true, Some(converted), Some(Band::Green)) = (customer, f.converted_at, band) {
            let promoter = f
                .nps
                .iter()
                .filter(|(_, s)| *s >= self.promoter_min)
                .max_by_key(|(at, _)| *at);
            let tenure_from = converted + days(self.advocate_days);
            if let (Some(&(at, score)), true) = (promoter, f.as_of >= tenure_from) {
                raise(
                    "advocate_ready",
                    at.max(tenure_from),
                    format!(
                        "promoter (NPS {score} on {}), healthy, customer since {}",
                        date(at),
                        date(converted)
                    ),
                );
            }
        }

        // Renewal.
        if let (true, Some(end)) = (customer, f.contract_end) {
            let mut thresholds = self.renewal_days.clone();
            thresholds.sort_unstable_by(|a, b| b.cmp(a));
            for d in thresholds {
                if end > f.as_of && end - f.as_of <= days(d) {
                    let name = renewal_name(d).expect("validated");
                    raise(
                        name,
                        end - days(d),
                        format!(
                            "contract ends {} ({:.0} days)",
                            date(end),
                            ((end - f.as_of) as f64 / DAY_MS as f64).ceil()
                        ),
                    );
                }
            }
        }
        out
    }

    /// Dates the [`TRACED`] signals among `signals` (those [`evaluate`](Self::evaluate) gave at
    /// `as_of`): each started on the first day of the unbroken run of days, up to `as_of`, at
    /// whose end it held, looking back no further than `since` (conversion). `at(t)` gives the
    /// signals at instant `t`, evaluated from the facts and band of then.
    ///
    /// The start is the signal's own start as seen on that first day when that lies within the
    /// day (a failed payment's time), else the end of the day: so it is the same whatever the
    /// report instant, for as long as the signal holds.
    pub fn trace_starts(
        &self,
        signals: &mut [Signal],
        as_of: i64,
        since: i64,
        mut at: impl FnMut(i64) -> Vec<Signal>,
    ) {
        // For each traced signal: the earliest instant seen holding, and its start seen then.
        let mut earliest: Vec<(usize, i64, i64)> = signals
            .iter()
            .enumerate()
            .filter(|(_, s)| TRACED.contains(&s.name))
            .map(|(i, s)| (i, as_of, s.started_at))
            .collect();
        let mut open: Vec<usize> = (0..earliest.len()).collect();
        let mut day = previous_day_end(as_of);
        while !open.is_empty() && day >= since {
            let then = at(day);
            open.retain(|&e| {
                let name = signals[earliest[e].0].name;
                match then.iter().find(|s| s.name == name) {
                    Some(s) => {
                        earliest[e].1 = day;
                        earliest[e].2 = s.started_at;
                        true
                    }
                    None => false,
                }
            });
            day -= DAY_MS;
        }
        for (i, first_seen, start_then) in earliest {
            signals[i].started_at = if start_then > previous_day_end(first_seen) {
                start_then
            } else {
                first_seen
            };
        }
    }
}

/// The end (last millisecond) of the UTC day before the one holding `t`.
fn previous_day_end(t: i64) -> i64 {
    t.div_euclid(DAY_MS) * DAY_MS - 1
}

/// `YYYY-MM-DD` of an instant.
fn date(ms: i64) -> String {
    // Days since the epoch to a civil date (Howard Hinnant's algorithm): this crate has no
    // calendar dependency and needs nothing more than a date in a sentence.
    let z = ms.div_euclid(DAY_MS) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!("{y:04}-{m:02}-{d:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_civil() {
        assert_eq!(date(0), "1970-01-01");
        assert_eq!(date(951_782_400_000), "2000-02-29");
        assert_eq!(date(1_798_761_599_999), "2026-12-31");
        assert_eq!(date(-DAY_MS), "1969-12-31");
    }
}
