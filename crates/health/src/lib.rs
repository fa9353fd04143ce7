//! Customer health of tenure (SPEC §4): a score per account from configured components, each
//! explaining itself; the churn-risk, expansion, advocacy and renewal signals, each saying when
//! it started and why; and the statistics that say how well a score predicts churn.
//!
//! **Architecture invariant:** this crate is pure functions of an account's [`Facts`] at one
//! instant. It does no I/O, reads no clock and knows nothing about events or the ledger; the
//! caller gathers the facts (see `tenure-reports`), so a score of any past instant is
//! recomputed exactly from what was known then.
//!
//! ```
//! use tenure_health::{Band, Facts, HealthSettings, SignalSettings};
//!
//! let day = 86_400_000;
//! let facts = Facts {
//!     as_of: 400 * day,
//!     converted_at: Some(100 * day),
//!     mrr: 50_000,
//!     seats: Some(10),
//!     active_users_14d: 8,
//!     last_activity: Some(380 * day),
//!     ..Facts::default()
//! };
//! let health = HealthSettings::default().score(&facts, &[]).unwrap();
//! // Usage 0.8 of seats scores 100; billing and support have nothing against them.
//! assert_eq!(health.band, Band::Green);
//! let signals = SignalSettings::default().evaluate(&facts, Some(health.band));
//! assert_eq!(signals[0].name, "no_activity"); // 20 days without a product event
//! ```

mod evaluation;
mod facts;
mod features;
mod logistic;
mod score;
mod signals;
mod stages;

pub use evaluation::{brier, roc_auc};
pub use facts::{Facts, DAY_MS};
pub use features::{bound_by_contract, churn_features, CHURN_FEATURES, CHURN_HORIZON_MS};
pub use logistic::Logistic;
pub use score::{
    fingerprint, Band, Bands, Component, Health, HealthError, HealthSettings, Metric, Part, Step,
};
pub use signals::{Signal, SignalError, SignalKind, SignalSettings, SIGNALS, TRACED};
pub use stages::{
    Condition, Holding, StageError, StageRule, StageSettings, Stages, Standing, ADOPTING_DEPTH,
    MILESTONES,
};
