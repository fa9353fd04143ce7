use std::collections::BTreeMap;

use crate::markov::markov_credit;
use crate::{weights, AttributionError, Journey, Model};

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
/// The map has an entry, possibly 0, for every state on any journey given.
///
/// Errors: `values.len() != journeys.len()`; a converting journey with no touches (apply
/// [`Journey::with_direct_fallback`] first) or with a non-finite value; and whatever
/// [`weights()`] refuses, each naming the journey's index.
pub fn credit(
    model: &Model,
    journeys: &[Journey],
    values: &[f64],
) -> Result<BTreeMap<String, f64>, AttributionError> {
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

    let mut by_state: BTreeMap<String, f64> = BTreeMap::new();
    for (index, (journey, &value)) in journeys.iter().zip(values).enumerate() {
        if !journey.is_converting() {
            for touch in &journey.touches {
                by_state.entry(touch.state.clone()).or_insert(0.0);
            }
            continue;
        }
        let weights = weights(model, journey).map_err(|e| e.at(index))?;
        for (touch, weight) in journey.touches.iter().zip(weights) {
            match by_state.get_mut(touch.state.as_str()) {
                Some(credit) => *credit += value * weight,
                None => {
                    by_state.insert(touch.state.clone(), value * weight);
                }
            }
        }
    }
    Ok(by_state)
}
