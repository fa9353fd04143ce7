use serde::Serialize;

/// One subject: how long it was observed and whether the event (churn) happened.
///
/// `time` is in days and must be finite and `>= 0`; `event == false` means the subject was still
/// active when observation stopped (right-censored, e.g. at `as_of`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Observation {
    pub time: f64,
    pub event: bool,
}

impl Observation {
    /// A subject that churned after `time` days.
    pub fn churned(time: f64) -> Observation {
        Observation { time, event: true }
    }

    /// A subject still active after `time` days of observation.
    pub fn censored(time: f64) -> Observation {
        Observation { time, event: false }
    }
}

/// Input the statistics cannot be defined on.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SurvivalError {
    #[error("observation {index} has time {time}, expected a finite number of days >= 0")]
    InvalidTime { index: usize, time: f64 },
    #[error(
        "observation {index} of group {group} has time {time}, expected a finite number of days >= 0"
    )]
    InvalidGroupTime {
        group: usize,
        index: usize,
        time: f64,
    },
}

/// Why a separate check instead of a validating constructor: `Observation` is a plain pair the
/// caller builds in bulk, and a NaN or negative duration is a bug upstream that must be reported
/// with its position rather than silently sorted somewhere.
pub(crate) fn validate(observations: &[Observation]) -> Result<(), (usize, f64)> {
    match observations
        .iter()
        .position(|o| !(o.time.is_finite() && o.time >= 0.0))
    {
        Some(index) => Err((index, observations[index].time)),
        None => Ok(()),
    }
}
