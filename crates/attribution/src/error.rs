/// Input an attribution model cannot be computed on.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AttributionError {
    #[error("unknown attribution model `{name}`, expected one of first_touch, last_touch, last_non_direct, linear, time_decay, position_based, w_shaped, markov, shapley")]
    UnknownModel { name: String },
    #[error(
        "time_decay half-life is {half_life_ms} ms, expected a positive number of milliseconds"
    )]
    InvalidHalfLife { half_life_ms: i64 },
    #[error("markov order is {order}, expected 1 or more")]
    InvalidOrder { order: usize },
    #[error("model `{model}` credits totals over all journeys, not single journeys")]
    NotPerJourney { model: &'static str },
    #[error("journey has no touches; a converting journey needs its direct fallback touch first")]
    NoTouches,
    #[error("journey has no conversion time, which time_decay needs")]
    NoConversionTime,
    #[error("got {values} values for {journeys} journeys, expected one value per journey")]
    ValuesLength { journeys: usize, values: usize },
    #[error("value {value} is not a finite number")]
    NonFiniteValue { value: f64 },
    #[error("journey {index}: {source}")]
    Journey {
        index: usize,
        #[source]
        source: Box<AttributionError>,
    },
}

impl AttributionError {
    /// Wraps an error about one journey with its index in the input.
    pub(crate) fn at(self, index: usize) -> AttributionError {
        AttributionError::Journey {
            index,
            source: Box::new(self),
        }
    }
}
