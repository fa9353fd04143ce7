use crate::{AttributionError, Journey, Model, StateId, Touch};

/// Per-journey weights: one per touch of `journey`, each `>= 0`, summing to 1.
///
/// - `first_touch`, `last_touch`: all weight on the first, the last touch.
/// - `last_non_direct`: all weight on the last touch whose `direct` is false; if every touch is
///   direct, on the last touch.
/// - `linear`: `1/n` each.
/// - `time_decay`: weight ∝ 2^(−Δ/h) with Δ = `converted_at − touch.at` (so it needs
///   `converted_at`).
/// - `position_based`: 1 touch 100%; 2 touches 50/50; more: 40% first, 40% last, the middle
///   touches share 20% equally.
/// - `w_shaped`: three roles — the first touch, the last touch at or before `lead_at`, the last
///   touch at or before `opportunity_at` — get 30% each and the touches holding no role share
///   10% equally. A role whose milestone is missing, or has no touch at or before it, gives its
///   30% equally to the roles present (the first-touch role is always present); a touch holding
///   several roles gets the sum of their shares; when no touch is left without a role, the 10%
///   goes equally to the roles present. So with `r` roles present each role gets `0.9 / r`, or
///   `1 / r` when no other touch is left.
/// - `shapley`: the closed form of the Shapley value with v(S) = the value of the journeys whose
///   set of states is a subset of S (Zhao et al., 2018): each converting journey's credit is
///   split equally among the *distinct* states on it, and each state's share is then spread
///   equally over that state's touches (so summing weights by state gives `1/d` per state, `d`
///   the number of distinct states).
///
/// Errors: `markov` is not a per-journey model; a journey with no touches has nobody to credit
/// (see [`Journey::with_direct_fallback`]); `time_decay` needs `converted_at` and a positive
/// half-life.
pub fn weights(model: &Model, journey: &Journey) -> Result<Vec<f64>, AttributionError> {
    model.validate()?;
    let touches = &journey.touches;
    let n = touches.len();
    if n == 0 {
        return Err(AttributionError::NoTouches);
    }
    let weights = match *model {
        Model::FirstTouch => one_hot(n, 0),
        Model::LastTouch => one_hot(n, n - 1),
        Model::LastNonDirect => {
            let at = touches.iter().rposition(|t| !t.direct).unwrap_or(n - 1);
            one_hot(n, at)
        }
        Model::Linear => vec![1.0 / n as f64; n],
        Model::TimeDecay { half_life_ms } => {
            let converted_at = journey
                .converted_at
                .ok_or(AttributionError::NoConversionTime)?;
            time_decay(touches, converted_at, half_life_ms)
        }
        Model::PositionBased => position_based(n),
        Model::WShaped => w_shaped(journey),
        Model::Shapley => shapley(touches),
        Model::Markov { .. } => {
            return Err(AttributionError::NotPerJourney {
                model: model.name(),
            })
        }
    };
    Ok(weights)
}

fn one_hot(n: usize, at: usize) -> Vec<f64> {
    let mut weights = vec![0.0; n];
    weights[at] = 1.0;
    weights
}

/// 2^(−Δ/h) normalised. Exponents are shifted by the largest one before exponentiating, so a
/// journey whose touches are all many half-lives old does not underflow to 0/0.
fn time_decay(touches: &[Touch], converted_at: i64, half_life_ms: i64) -> Vec<f64> {
    let h = half_life_ms as f64;
    let exponents: Vec<f64> = touches
        .iter()
        .map(|t| -((i128::from(converted_at) - i128::from(t.at)) as f64) / h)
        .collect();
    let top = exponents.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let raw: Vec<f64> = exponents.iter().map(|e| (e - top).exp2()).collect();
    normalise(raw)
}

fn position_based(n: usize) -> Vec<f64> {
    match n {
        1 => vec![1.0],
        2 => vec![0.5, 0.5],
        _ => {
            let mut weights = vec![0.2 / (n - 2) as f64; n];
            weights[0] = 0.4;
            weights[n - 1] = 0.4;
            weights
        }
    }
}

fn w_shaped(journey: &Journey) -> Vec<f64> {
    let touches = &journey.touches;
    let n = touches.len();
    let last_at_or_before =
        |milestone: Option<i64>| milestone.and_then(|m| touches.iter().rposition(|t| t.at <= m));
    let roles: Vec<usize> = [
        Some(0),
        last_at_or_before(journey.lead_at),
        last_at_or_before(journey.opportunity_at),
    ]
    .into_iter()
    .flatten()
    .collect();
    let mut holds_role = vec![false; n];
    for &touch in &roles {
        holds_role[touch] = true;
    }
    let others = holds_role.iter().filter(|&&held| !held).count();
    let present = roles.len() as f64;
    // Each role's 30%, plus its equal part of the missing roles' 30%s: 0.9 / r in all. When no
    // other touch is left, the others' 10% joins the roles too.
    let per_role = if others == 0 { 1.0 } else { 0.9 } / present;
    let per_other = if others == 0 {
        0.0
    } else {
        0.1 / others as f64
    };
    let mut weights: Vec<f64> = holds_role
        .iter()
        .map(|&held| if held { 0.0 } else { per_other })
        .collect();
    for &touch in &roles {
        weights[touch] += per_role;
    }
    weights
}

fn shapley(touches: &[Touch]) -> Vec<f64> {
    // (state, its touches): journeys are short, so a list beats a map.
    let mut touches_of: Vec<(StateId, usize)> = Vec::new();
    for touch in touches {
        match touches_of.iter_mut().find(|(s, _)| *s == touch.state) {
            Some((_, n)) => *n += 1,
            None => touches_of.push((touch.state, 1)),
        }
    }
    let distinct = touches_of.len() as f64;
    touches
        .iter()
        .map(|t| {
            let n = touches_of
                .iter()
                .find(|(s, _)| *s == t.state)
                .map_or(1, |(_, n)| *n);
            1.0 / distinct / n as f64
        })
        .collect()
}

fn normalise(mut raw: Vec<f64>) -> Vec<f64> {
    let total: f64 = raw.iter().sum();
    for w in &mut raw {
        *w /= total;
    }
    raw
}
