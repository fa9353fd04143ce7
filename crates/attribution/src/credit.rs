use crate::markov::markov_credit;
use crate::{weights, AttributionError, Journey, Model};

/// One past the largest state id on any journey: the length of a per-state result.
pub(crate) fn states_on(journeys: &[Journey]) -> usize {
    journeys
        .iter()
        .flat_map(|j| &j.touches)
        .map(|t| t.state as usize + 1)
        .max()
        .unwrap_or(0)
}

/// Credits a metric over many journeys: `values[i]` is journey `i`'s value (1.0 for
/// conversions, or its revenue, …); it is ignored for non-converting journeys. Returns the credit
/// per state, summing to the total of the converting journeys' values (up to float rounding).
///
/// - Per-journey models: `Σ_i values[i] × weights(model, journey_i)`, summed by state.
/// - `markov`: the total is split over channels by their removal effects in the chain built from
///   all journeys, with each conversion valued at the mean value of the conversions ending in
///   the same chain state (see [`crate::markov()`]). Non-converting journeys with no touches are
///   skipped. Should values of mixed sign cancel out so that the value removal amounts sum to
///   0, the total is split by the conversion removal effects instead, so it still sums back.
///
/// The credit is indexed by [`crate::StateId`]: one entry per id up to the largest on any journey
/// given, 0 for a state no converting journey credits.
///
/// Errors: `values.len() != journeys.len()`; a converting journey with no touches (apply
/// [`Journey::with_direct_fallback`] first) or with a non-finite value; and whatever
/// [`weights()`] refuses, each naming the journey's index.
pub fn credit(
    model: &Model,
    journeys: &[Journey],
    values: &[f64],
) -> Result<Vec<f64>, AttributionError> {
    model.validate()?;
    if values.len() != journeys.len() {
        return Err(AttributionError::ValuesLength {
            journeys: journeys.len(),
            values: values.len(),
        });
    }
    let mut total = 0.0;
    for (index, (journey, &value)) in journeys.iter().zip(values).enumerate() {
        if !journey.is_converting() {
            continue;
        }
        if journey.touches.is_empty() {
            return Err(AttributionError::NoTouches.at(index));
        }
        if !value.is_finite() {
            return Err(AttributionError::NonFiniteValue { value }.at(index));
        }
        total += value;
    }

    if let Model::Markov { order } = *model {
        return Ok(markov_credit(journeys, values, order, total));
    }

    let mut by_state = vec![0.0; states_on(journeys)];
    for (index, (journey, &value)) in journeys.iter().zip(values).enumerate() {
        if !journey.is_converting() {
            continue;
        }
        let weights = weights(model, journey).map_err(|e| e.at(index))?;
        for (touch, weight) in journey.touches.iter().zip(weights) {
            by_state[touch.state as usize] += value * weight;
        }
    }
    Ok(by_state)
}
