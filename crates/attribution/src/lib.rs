//! Attribution models of tenure: which states (channels, or campaigns etc. when grouped so) a
//! metric is credited to, given the journeys that led, or did not lead, to conversions.
//!
//! **Architecture invariant:** this crate is pure arithmetic over [`Journey`]s. It does no I/O,
//! reads no clock and knows nothing about accounts, people or events; the caller builds each
//! journey (its touches strictly before conversion, within the lookback) and decides what a
//! touch's `state` is — a channel, a source, a campaign… numbered by a [`States`] table — and
//! passes journeys and per-journey values in. Every credit sums back to the total it splits, up
//! to float rounding.
//!
//! The models are SPEC §3 "Attribution":
//!
//! - per-journey models, whose [`weights()`] give each touch of one journey a share of 1:
//!   `first_touch`, `last_touch`, `last_non_direct`, `linear`, `time_decay`, `position_based`,
//!   `w_shaped` and `shapley` (its closed form, see [`weights()`]);
//! - `markov`, which credits totals, not single journeys: the removal effects of the absorbing
//!   Markov chain built from all journeys, converting or not, computed exactly by solving the
//!   chain's linear system (see [`markov()`] and [`credit()`]).
//!
//! ```
//! use tenure_attribution::{credit, weights, Journey, Model, States, Touch};
//!
//! let day = 86_400_000;
//! let mut states = States::new();
//! let mut touch = |at: i64, state: &str| Touch { at, state: states.intern(state), direct: false };
//! let journey = Journey {
//!     touches: vec![touch(0, "ads"), touch(7 * day, "seo"), touch(14 * day, "email")],
//!     converted_at: Some(14 * day),
//!     lead_at: None,
//!     opportunity_at: None,
//! };
//! // time_decay, 7-day half-life: touches 14, 7 and 0 days before conversion weigh 1:2:4.
//! let w = weights(&Model::TimeDecay { half_life_ms: 7 * day }, &journey).unwrap();
//! assert!((w[0] - 1.0 / 7.0).abs() < 1e-12 && (w[2] - 4.0 / 7.0).abs() < 1e-12);
//!
//! // Revenue of 700 credited by position_based: 40% / 20% / 40%.
//! let by_state = credit(&Model::PositionBased, &[journey], &[700.0]).unwrap();
//! assert!((states.named(&by_state)["seo"] - 140.0).abs() < 1e-9);
//! ```

mod credit;
mod error;
mod markov;
mod model;
mod solve;
mod states;
mod weights;

pub use credit::credit;
pub use error::AttributionError;
pub use markov::{markov, MarkovResult};
pub use model::Model;
pub use states::States;
pub use weights::weights;

use serde::{Deserialize, Serialize};

/// A state's number: its index in the caller's [`States`] table.
pub type StateId = u32;

/// One touch of a journey: when it happened (ms since the Unix epoch), the state it counts as (a
/// channel, or a campaign etc. when grouped so), and whether it is a `direct` touch (the one
/// `last_non_direct` skips).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Touch {
    pub at: i64,
    pub state: StateId,
    pub direct: bool,
}

/// A journey: its touches in time order (all before the conversion), whether and when it
/// converted, and the milestone times `w_shaped` uses (lead and opportunity creation).
///
/// A journey with `converted_at == None` is a non-converting journey; only `markov` uses those.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Journey {
    pub touches: Vec<Touch>,
    pub converted_at: Option<i64>,
    pub lead_at: Option<i64>,
    pub opportunity_at: Option<i64>,
}

impl Journey {
    /// SPEC: "No touchpoint means one `direct` touch at conversion". A converting journey with no
    /// touches gets one touch of `direct_state`, marked direct, at its conversion time; any
    /// other journey is returned unchanged.
    ///
    /// The models themselves refuse a converting journey with no touches (there is nobody to
    /// credit), so callers apply this before crediting.
    #[must_use]
    pub fn with_direct_fallback(mut self, direct_state: StateId) -> Journey {
        if let (true, Some(at)) = (self.touches.is_empty(), self.converted_at) {
            self.touches.push(Touch {
                at,
                state: direct_state,
                direct: true,
            });
        }
        self
    }

    /// Whether the journey converted.
    pub fn is_converting(&self) -> bool {
        self.converted_at.is_some()
    }
}
