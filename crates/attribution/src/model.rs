use serde::{Deserialize, Serialize};

use crate::AttributionError;

/// An attribution model of SPEC §3, with its parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "model", rename_all = "snake_case")]
pub enum Model {
    /// All credit to the first touch.
    FirstTouch,
    /// All credit to the last touch.
    LastTouch,
    /// All credit to the last touch that is not direct; if all are direct, to the last touch.
    LastNonDirect,
    /// Equal credit to every touch.
    Linear,
    /// Weight ∝ 2^(−Δ/h), Δ = time from the touch to the conversion, h the half-life.
    TimeDecay { half_life_ms: i64 },
    /// 1 touch 100%; 2 touches 50/50; more: 40% first, 40% last, 20% shared by the middle.
    PositionBased,
    /// 30% each to the first touch, the last touch at or before lead creation and the last touch
    /// at or before opportunity creation; 10% shared by the others (see [`crate::weights()`]).
    WShaped,
    /// Removal effects of the absorbing Markov chain of order `order` (see [`crate::markov()`]).
    Markov { order: usize },
    /// Shapley values over state coalitions, by their closed form (see [`crate::weights()`]).
    Shapley,
}

impl Model {
    /// Every model name [`Model::parse`] accepts, in the order SPEC lists them.
    pub const NAMES: [&'static str; 9] = [
        "first_touch",
        "last_touch",
        "last_non_direct",
        "linear",
        "time_decay",
        "position_based",
        "w_shaped",
        "markov",
        "shapley",
    ];

    /// The model's name, as in SPEC and [`Model::NAMES`].
    pub fn name(&self) -> &'static str {
        match self {
            Model::FirstTouch => "first_touch",
            Model::LastTouch => "last_touch",
            Model::LastNonDirect => "last_non_direct",
            Model::Linear => "linear",
            Model::TimeDecay { .. } => "time_decay",
            Model::PositionBased => "position_based",
            Model::WShaped => "w_shaped",
            Model::Markov { .. } => "markov",
            Model::Shapley => "shapley",
        }
    }

    /// The model called `name`; `half_life_ms` is used by `time_decay` only and `order` by
    /// `markov` only, and each is validated only for the model that uses it.
    pub fn parse(name: &str, half_life_ms: i64, order: usize) -> Result<Model, AttributionError> {
        let model = match name {
            "first_touch" => Model::FirstTouch,
            "last_touch" => Model::LastTouch,
            "last_non_direct" => Model::LastNonDirect,
            "linear" => Model::Linear,
            "time_decay" => Model::TimeDecay { half_life_ms },
            "position_based" => Model::PositionBased,
            "w_shaped" => Model::WShaped,
            "markov" => Model::Markov { order },
            "shapley" => Model::Shapley,
            _ => {
                return Err(AttributionError::UnknownModel {
                    name: name.to_string(),
                })
            }
        };
        model.validate()?;
        Ok(model)
    }

    /// Checks the model's parameters: a positive half-life, an order of at least 1.
    pub fn validate(&self) -> Result<(), AttributionError> {
        match *self {
            Model::TimeDecay { half_life_ms } if half_life_ms <= 0 => {
                Err(AttributionError::InvalidHalfLife { half_life_ms })
            }
            Model::Markov { order } if order == 0 => Err(AttributionError::InvalidOrder { order }),
            _ => Ok(()),
        }
    }

    /// Whether the model credits each journey on its own (all but `markov`).
    pub fn is_per_journey(&self) -> bool {
        !matches!(self, Model::Markov { .. })
    }
}
