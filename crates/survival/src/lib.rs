//! Survival statistics of tenure: how long customers stay before they churn.
//!
//! **Architecture invariant:** this crate is pure arithmetic on `(time, event, weight)`
//! observations (weight 1 for a whole subject, a fraction for an account split over groups by
//! attribution credit). It does no
//! I/O, reads no clock and knows nothing about accounts or MRR; the caller decides what "time"
//! (days from conversion) and "event" (churn, or censored at `as_of`) mean and passes them in.
//!
//! Every figure is defined to agree with lifelines 0.30.3 (the reference the spec's "standard
//! statistical packages" points at), and `tests/lifelines.rs` checks it against values produced
//! by lifelines itself to 1e-9:
//!
//! - [`KaplanMeier`]: the product-limit curve, its 95% band by the log(-log) transform of
//!   Greenwood's variance, the median lifetime and the restricted mean lifetime (the area under
//!   the curve, which the LTV figure multiplies by ARPA).
//! - [`log_rank`]: the k-sample log-rank test across any grouping.
//! - [`chi_squared_sf`]: the χ² tail the log-rank p-value needs, written out here so the crate
//!   does not pull a statistics library in for one function.
//!
//! ```
//! use tenure_survival::{log_rank, KaplanMeier, Observation};
//!
//! let monthly = [Observation::churned(30.0), Observation::churned(90.0), Observation::censored(200.0)];
//! let annual = [Observation::censored(365.0), Observation::churned(400.0), Observation::censored(500.0)];
//!
//! let km = KaplanMeier::fit(&monthly);
//! assert_eq!(km.median(), Some(90.0));
//! assert!((km.rmst(120.0) - (30.0 + 60.0 * 2.0 / 3.0 + 30.0 / 3.0)).abs() < 1e-12);
//!
//! let test = log_rank(&[&monthly, &annual]).expect("two non-empty groups");
//! assert_eq!(test.degrees_of_freedom, 1);
//! ```

mod chi_squared;
mod kaplan_meier;
mod log_rank;
mod observation;

pub use chi_squared::chi_squared_sf;
pub use kaplan_meier::{KaplanMeier, KmPoint, Z_95};
pub use log_rank::{log_rank, try_log_rank, LogRank};
pub use observation::{Observation, SurvivalError};
