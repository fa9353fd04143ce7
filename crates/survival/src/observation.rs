use serde::Serialize;

/// One subject: how long it was observed, whether the event (churn) happened, and how much of a
/// subject it counts as.
///
/// `time` is in days and must be finite and `>= 0`; `event == false` means the subject was still
/// active when observation stopped (right-censored, e.g. at `as_of`). `weight` is 1 for a whole
/// subject; a fraction when a subject's credit is split over groups (an account counted 0.4 in
/// one channel and 0.6 in another), as lifelines' `weights=`. It must be finite and `> 0`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Observation {
    pub time: f64,
    pub event: bool,
    pub weight: f64,
}

impl Observation {
    /// A subject that churned after `time` days.
    pub fn churned(time: f64) -> Observation {
        Observation {
            time,
            event: true,
            weight: 1.0,
        }
    }

    /// A subject still active after `time` days of observation.
    pub fn censored(time: f64) -> Observation {
        Observation {
            time,
            event: false,
            weight: 1.0,
        }
    }

    /// The same subject counted as `weight` of one.
    #[must_use]
    pub fn weighted(self, weight: f64) -> Observation {
        Observation { weight, ..self }
    }
}

/// Input the statistics cannot be defined on.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SurvivalError {
    #[error("observation {index} has time {time}, expected a finite number of days >= 0")]
    InvalidTime { index: usize, time: f64 },
    #[error("observation {index} has weight {weight}, expected a finite number > 0")]
    InvalidWeight { index: usize, weight: f64 },
    #[error(
        "observation {index} of group {group} has time {time}, expected a finite number of days >= 0"
    )]
    InvalidGroupTime {
        group: usize,
        index: usize,
        time: f64,
    },
    #[error(
        "observation {index} of group {group} has weight {weight}, expected a finite number > 0"
    )]
    InvalidGroupWeight {
        group: usize,
        index: usize,
        weight: f64,
    },
}

/// What is wrong with an observation.
pub(crate) enum Invalid {
    Time(f64),
    Weight(f64),
}

/// Why a separate check instead of a validating constructor: `Observation` is a plain pair the
/// caller builds in bulk, and a NaN or negative duration is a bug upstream that must be reported
/// with its position rather than silently sorted somewhere.
pub(crate) fn validate(observations: &[Observation]) -> Result<(), (usize, Invalid)> {
    for (index, o) in observations.iter().enumerate() {
        if !(o.time.is_finite() && o.time >= 0.0) {
            return Err((index, Invalid::Time(o.time)));
        }
        if !(o.weight.is_finite() && o.weight > 0.0) {
            return Err((index, Invalid::Weight(o.weight)));
        }
    }
    Ok(())
}

impl SurvivalError {
    pub(crate) fn of(index: usize, invalid: Invalid) -> SurvivalError {
        match invalid {
            Invalid::Time(time) => SurvivalError::InvalidTime { index, time },
            Invalid::Weight(weight) => SurvivalError::InvalidWeight { index, weight },
        }
    }

    pub(crate) fn of_group(group: usize, index: usize, invalid: Invalid) -> SurvivalError {
        match invalid {
            Invalid::Time(time) => SurvivalError::InvalidGroupTime { group, index, time },
            Invalid::Weight(weight) => SurvivalError::InvalidGroupWeight {
                group,
                index,
                weight,
            },
        }
    }
}
