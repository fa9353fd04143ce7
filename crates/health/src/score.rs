use serde::{Deserialize, Serialize};

use crate::facts::{Facts, DAY_MS};
use crate::signals::{Signal, SignalKind, SignalSettings};

/// What a health component measures: one number read from an account's [`Facts`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// Active users in the last 14 days ÷ seats (none without seats).
    ActiveUsersPerSeat,
    /// Active days in the last 14 days ÷ half the active days of the 28 days before (2.0 when
    /// the account was idle before and is active now; none when idle in both).
    EngagementTrend,
    /// Distinct key features used in the last 30 days ÷ key features (none without any).
    AdoptionDepth,
    /// Tickets open now plus tickets opened in the last 30 days.
    SupportLoad,
    /// The mean of each person's latest NPS answer within a year (none without answers).
    Nps,
    /// Days since the latest account-team touch (none if there never was one).
    DaysSinceCsmTouch,
    /// Failed payments in the last 30 days that no payment has followed (0 or 1).
    FailedPayments,
    /// Whether the account has met the activation rule (1) or not yet (0); none before it
    /// converted.
    Activation,
    /// Churn-risk signals holding (SPEC §4): what the signals already say counts in the score,
    /// so an account with several of them is not left green or yellow by the components that
    /// have nothing against it.
    RiskSignals,
}

impl Metric {
    /// The metric's value for the account, or `None` when there is no data to judge by;
    /// `signals` are the account's at the same instant.
    pub fn value(self, f: &Facts, signals: &[Signal]) -> Option<f64> {
        match self {
            Metric::ActiveUsersPerSeat => f
                .seats
                .filter(|s| *s > 0)
                .map(|s| f64::from(f.active_users_14d) / f64::from(s)),
            Metric::EngagementTrend => match (f.active_days_14d, f.active_days_prev_28d) {
                (0, 0) => None,
                (_, 0) => Some(2.0),
                (now, before) => Some(f64::from(now) / (f64::from(before) / 2.0)),
            },
            Metric::AdoptionDepth => f.adoption_depth(),
            Metric::SupportLoad => Some(f64::from(f.open_tickets + f.tickets_30d)),
            Metric::Nps => (!f.nps.is_empty()).then(|| {
                f.nps.iter().map(|(_, s)| f64::from(*s)).sum::<f64>() / f.nps.len() as f64
            }),
            Metric::DaysSinceCsmTouch => f.last_csm_touch.map(|t| f.days_since(t)),
            Metric::FailedPayments => Some(f64::from(u8::from(f.failed_payment.is_some()))),
            Metric::Activation => f
                .converted_at
                .map(|_| f64::from(u8::from(f.activated_at.is_some_and(|a| a <= f.as_of)))),
            Metric::RiskSignals => Some(
                signals
                    .iter()
                    .filter(|s| s.kind == SignalKind::ChurnRisk)
                    .count() as f64,
            ),
        }
    }
}

/// A step of a component's scale: an input of at least `at_least` scores `score` (0–100).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Step {
    pub at_least: f64,
    pub score: f64,
}

/// One component of the health score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Component {
    pub name: String,
    pub metric: Metric,
    pub weight: f64,
    /// In increasing `at_least`; an input scores the step with the largest `at_least` at or
    /// below it (below the first step it scores the first step's score). Falling scores express
    /// "lower is better" (tickets, days since a touch).
    pub thresholds: Vec<Step>,
}

impl Component {
    /// The component's score for `input`.
    pub fn score(&self, input: f64) -> f64 {
        let at = self
            .thresholds
            .partition_point(|s| s.at_least <= input)
            .saturating_sub(1);
        self.thresholds.get(at).map_or(0.0, |s| s.score)
    }
}

/// The band boundaries: green at or above `green`, yellow at or above `yellow`, red below.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Bands {
    pub green: f64,
    pub yellow: f64,
}

impl Default for Bands {
    fn default() -> Self {
        Bands {
            green: 70.0,
            yellow: 40.0,
        }
    }
}

/// A health band.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Band {
    Red,
    Yellow,
    Green,
}

impl Band {
    pub const ALL: [Band; 3] = [Band::Green, Band::Yellow, Band::Red];

    pub fn name(self) -> &'static str {
        match self {
            Band::Green => "green",
            Band::Yellow => "yellow",
            Band::Red => "red",
        }
    }
}

impl Bands {
    pub fn of(&self, score: f64) -> Band {
        if score >= self.green {
            Band::Green
        } else if score >= self.yellow {
            Band::Yellow
        } else {
            Band::Red
        }
    }
}

/// `[health]`: the components, their weights and scales, and the bands (SPEC §4).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HealthSettings {
    pub bands: Bands,
    pub components: Vec<Component>,
    /// A customer that has not activated is not scored for this many days after conversion:
    /// low usage in its first weeks is onboarding, not risk, and a red band on day one would
    /// put every new customer at risk. After it, `not_activated` is raised and the usage
    /// components judge it like any other. 0 scores from the first day.
    pub onboarding_days: u32,
}

fn steps(pairs: &[(f64, f64)]) -> Vec<Step> {
    pairs
        .iter()
        .map(|&(at_least, score)| Step { at_least, score })
        .collect()
}

impl Default for HealthSettings {
    /// SPEC §4's seven components, with activation and the risk signals. The scales are tenure's starting point, meant to be tuned with
    /// `health-backtest`.
    fn default() -> Self {
        let component = |name: &str, metric, weight, scale: &[(f64, f64)]| Component {
            name: name.to_owned(),
            metric,
            weight,
            thresholds: steps(scale),
        };
        HealthSettings {
            bands: Bands::default(),
            // As long as `signals.activation_days`: scoring starts when `not_activated` can fire.
            onboarding_days: 30,
            components: vec![
                component(
                    "usage",
                    Metric::ActiveUsersPerSeat,
                    0.25,
                    &[
                        (0.0, 0.0),
                        (0.1, 25.0),
                        (0.25, 50.0),
                        (0.5, 75.0),
                        (0.75, 100.0),
                    ],
                ),
                component(
                    "engagement_trend",
                    Metric::EngagementTrend,
                    0.15,
                    &[(0.0, 0.0), (0.5, 40.0), (0.8, 70.0), (1.0, 100.0)],
                ),
                component(
                    "adoption",
                    Metric::AdoptionDepth,
                    0.15,
                    &[(0.0, 0.0), (0.25, 40.0), (0.5, 70.0), (0.75, 100.0)],
                ),
                component(
                    "support_load",
                    Metric::SupportLoad,
                    0.1,
                    &[(0.0, 100.0), (2.0, 70.0), (4.0, 40.0), (7.0, 10.0)],
                ),
                component(
                    "sentiment",
                    Metric::Nps,
                    0.15,
                    &[(0.0, 0.0), (5.0, 30.0), (7.0, 70.0), (9.0, 100.0)],
                ),
                component(
                    "relationship",
                    Metric::DaysSinceCsmTouch,
                    0.1,
                    &[(0.0, 100.0), (45.0, 70.0), (90.0, 40.0), (180.0, 10.0)],
                ),
                component(
                    "activation",
                    Metric::Activation,
                    0.15,
                    &[(0.0, 0.0), (1.0, 100.0)],
                ),
                component(
                    "billing",
                    Metric::FailedPayments,
                    0.1,
                    &[(0.0, 100.0), (1.0, 20.0)],
                ),
                component(
                    "risk_signals",
                    Metric::RiskSignals,
                    0.2,
                    &[(0.0, 100.0), (1.0, 60.0), (2.0, 30.0), (3.0, 0.0)],
                ),
            ],
        }
    }
}

/// Why a health configuration cannot be used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum HealthError {
    #[error("health.components: none configured; a score needs at least one")]
    NoComponents,
    #[error("health.components.{name}: {reason}")]
    Component { name: String, reason: String },
    #[error(
        "health.bands: green ({green}) must be at or above yellow ({yellow}), both within 0–100"
    )]
    Bands { green: f64, yellow: f64 },
}

impl HealthSettings {
    pub fn validate(&self) -> Result<(), HealthError> {
        if self.components.is_empty() {
            return Err(HealthError::NoComponents);
        }
        let Bands { green, yellow } = self.bands;
        if !(0.0..=100.0).contains(&yellow) || !(yellow..=100.0).contains(&green) {
            return Err(HealthError::Bands { green, yellow });
        }
        for (i, c) in self.components.iter().enumerate() {
            let fail = |reason: String| HealthError::Component {
                name: if c.name.is_empty() {
                    i.to_string()
                } else {
                    c.name.clone()
                },
                reason,
            };
            if c.name.trim().is_empty() {
                return Err(fail("has no name".into()));
            }
            if self.components[..i].iter().any(|o| o.name == c.name) {
                return Err(fail("is named twice".into()));
            }
            if !(c.weight.is_finite() && c.weight > 0.0) {
                return Err(fail(format!("weight {} must be a number > 0", c.weight)));
            }
            if c.thresholds.is_empty() {
                return Err(fail("has no thresholds".into()));
            }
            if c.thresholds
                .windows(2)
                .any(|w| w[0].at_least >= w[1].at_least)
            {
                return Err(fail("thresholds must be in increasing at_least".into()));
            }
            if let Some(s) = c
                .thresholds
                .iter()
                .find(|s| !(0.0..=100.0).contains(&s.score) || !s.at_least.is_finite())
            {
                return Err(fail(format!(
                    "threshold at_least {} score {} must have a finite at_least and a score within 0–100",
                    s.at_least, s.score
                )));
            }
        }
        Ok(())
    }

    /// A short fingerprint of the configuration, recorded with every score it produces so that
    /// a history mixing configurations can be told apart (FNV-1a over its canonical JSON).
    pub fn version(&self) -> String {
        format!("h{}", fingerprint(self))
    }

    /// The account's health and signals at `f.as_of`, each as the other needs it: the
    /// churn-risk signals do not depend on the band and count in the score; only
    /// `advocate_ready` needs the band, so the signals are evaluated again for a green account.
    pub fn assess(&self, signals: &SignalSettings, f: &Facts) -> (Option<Health>, Vec<Signal>) {
        let raised = signals.evaluate(f, None);
        let health = self.score(f, &raised);
        match health.as_ref().map(|h| h.band) {
            Some(Band::Green) => {
                let raised = signals.evaluate(f, Some(Band::Green));
                (health, raised)
            }
            _ => (health, raised),
        }
    }

    /// Whether the account is still in its first [`onboarding_days`](Self::onboarding_days),
    /// not activated: not yet scored.
    pub fn onboarding(&self, f: &Facts) -> bool {
        f.activated_at.is_none_or(|a| a > f.as_of)
            && f.converted_at
                .is_some_and(|c| f.as_of - c < i64::from(self.onboarding_days) * DAY_MS)
    }

    /// The account's health at `facts.as_of`, `signals` being its signals then; `None` while
    /// [`onboarding`](Self::onboarding), once churned (no longer paying: a score would rate
    /// a relationship that has ended, and read green for want of any risk), and when no
    /// component has data.
    pub fn score(&self, facts: &Facts, signals: &[Signal]) -> Option<Health> {
        let churned = facts.mrr == 0 && facts.churned_at.is_some_and(|c| c <= facts.as_of);
        if churned || self.onboarding(facts) {
            return None;
        }
        let mut parts = Vec::with_capacity(self.components.len());
        let (mut total, mut weights) = (0.0, 0.0);
        for c in &self.components {
            let input = c.metric.value(facts, signals);
            let score = input.map(|v| c.score(v));
            if let Some(s) = score {
                total += c.weight * s;
                weights += c.weight;
            }
            parts.push(Part {
                name: c.name.clone(),
                metric: c.metric,
                input,
                score,
                weight: c.weight,
            });
        }
        if weights <= 0.0 {
            return None;
        }
        // Rounded to 1e-6 so that a mean that is 40 on paper is not banded by a rounding
        // accident at 39.999999999.
        let score = (total / weights * 1e6).round() / 1e6;
        Some(Health {
            score,
            band: self.bands.of(score),
            components: parts,
        })
    }
}

/// One component's part in a score: its input, the score that input earned and its weight.
/// A component without data (`input` none) is left out and the others' weights renormalised.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Part {
    pub name: String,
    pub metric: Metric,
    pub input: Option<f64>,
    pub score: Option<f64>,
    pub weight: f64,
}

/// A health score that explains itself.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Health {
    /// 0–100: the weighted mean of the components' scores.
    pub score: f64,
    pub band: Band,
    pub components: Vec<Part>,
}

/// A short, stable fingerprint of some settings (FNV-1a of their JSON): equal settings, equal
/// fingerprints, across runs and machines.
pub fn fingerprint(settings: &impl Serialize) -> String {
    let json = serde_json::to_string(settings).expect("settings serialize");
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in json.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{:012x}", h >> 16)
}
