//! How surely a variant of an experiment differs from its control: the difference of two
//! proportions with its 95% interval and test, the Mann–Whitney U test of two samples, and the
//! sample-ratio-mismatch check of how the accounts were split.
//!
//! Pure arithmetic on counts and samples; the normal tails are [`chi_squared_sf`] of z² with
//! one degree of freedom (the two-sided tail of a standard normal). Each function is checked
//! against scipy and statsmodels in `tests/significance.rs` (values in `tests/reference/`).

use serde::Serialize;
use tenure_survival::{chi_squared_sf, Z_95};

/// The two-sided p-value of a standard normal statistic `z`: P(|Z| ≥ |z|).
fn two_sided(z: f64) -> f64 {
    chi_squared_sf(z * z, 1)
}

/// Wilson's score interval of `successes` of `trials` (95%), as `(lower, upper)`.
fn wilson(successes: u64, trials: u64) -> (f64, f64) {
    let n = trials as f64;
    let p = successes as f64 / n;
    let z2 = Z_95 * Z_95;
    let scale = 1.0 + z2 / n;
    let centre = (p + z2 / (2.0 * n)) / scale;
    let half = Z_95 / scale * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    ((centre - half).max(0.0), (centre + half).min(1.0))
}

/// The difference of a variant's proportion from its control's, with its 95% interval and the
/// p-value of "they are equal".
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProportionDifference {
    /// The variant's proportion minus the control's.
    pub difference: f64,
    /// Newcombe's hybrid score interval (his method 10): the Wilson intervals of the two
    /// proportions combined. Unlike the Wald interval it keeps its coverage with few accounts
    /// or a rate near 0 or 1, where Wald's collapses to a point.
    pub low_95: f64,
    pub high_95: f64,
    /// The pooled two-proportion z-test, two-sided: `statsmodels`' `proportions_ztest`.
    pub p_value: f64,
}

/// `variant` successes of `variant_trials` against `control` of `control_trials`; none when
/// either has no trials.
pub fn proportion_difference(
    variant: u64,
    variant_trials: u64,
    control: u64,
    control_trials: u64,
) -> Option<ProportionDifference> {
    if variant_trials == 0 || control_trials == 0 {
        return None;
    }
    let (n1, n2) = (variant_trials as f64, control_trials as f64);
    let (p1, p2) = (variant as f64 / n1, control as f64 / n2);
    let (l1, u1) = wilson(variant, variant_trials);
    let (l2, u2) = wilson(control, control_trials);
    let difference = p1 - p2;
    let pooled = (variant + control) as f64 / (n1 + n2);
    let se = (pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2)).sqrt();
    // Both all successes or all failures: no difference to see, nothing against "equal".
    let p_value = if se > 0.0 {
        two_sided(difference / se)
    } else {
        1.0
    };
    Some(ProportionDifference {
        difference,
        low_95: difference - ((p1 - l1).powi(2) + (u2 - p2).powi(2)).sqrt(),
        high_95: difference + ((u1 - p1).powi(2) + (p2 - l2).powi(2)).sqrt(),
        p_value,
    })
}

/// The Mann–Whitney U test of "one sample tends to be larger than the other".
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MannWhitney {
    /// U of the first sample: how many of the pairs (first, second) the first wins, ties
    /// counting a half.
    pub u: f64,
    /// Two-sided, by the normal approximation with the tie correction and the continuity
    /// correction: `scipy.stats.mannwhitneyu(x, y, method="asymptotic")`.
    pub p_value: f64,
}

/// The test of `x` against `y`; none when either is empty.
pub fn mann_whitney(x: &[f64], y: &[f64]) -> Option<MannWhitney> {
    if x.is_empty() || y.is_empty() {
        return None;
    }
    let (n1, n2) = (x.len() as f64, y.len() as f64);
    let mut pooled: Vec<(f64, bool)> = x
        .iter()
        .map(|v| (*v, true))
        .chain(y.iter().map(|v| (*v, false)))
        .collect();
    pooled.sort_by(|a, b| a.0.total_cmp(&b.0));
    // Midranks of tied values, and Σ (t³ − t) over the ties for the variance.
    let mut rank_sum_x = 0.0;
    let mut ties = 0.0;
    let mut start = 0;
    while start < pooled.len() {
        let end = start
            + pooled[start..]
                .iter()
                .take_while(|(v, _)| *v == pooled[start].0)
                .count();
        let t = (end - start) as f64;
        let midrank = (start + end + 1) as f64 / 2.0;
        rank_sum_x += midrank * pooled[start..end].iter().filter(|(_, in_x)| *in_x).count() as f64;
        ties += t * t * t - t;
        start = end;
    }
    let n = n1 + n2;
    let u = rank_sum_x - n1 * (n1 + 1.0) / 2.0;
    let mean = n1 * n2 / 2.0;
    let sd = (n1 * n2 / 12.0 * ((n + 1.0) - ties / (n * (n - 1.0)))).sqrt();
    // scipy takes the larger of the two U's, so z ≥ −0.5/sd, and clips 2·P(Z > z) at 1.
    let z = ((u - mean).abs() - 0.5) / sd;
    let p_value = if sd > 0.0 && z > 0.0 {
        two_sided(z)
    } else {
        1.0
    };
    Some(MannWhitney { u, p_value })
}

/// The χ² goodness-of-fit test of the accounts per variant against the split meant: a small
/// p-value says the assignment, or what is recorded of it, is not what was meant (a
/// sample-ratio mismatch), and the variants' figures cannot be compared as they are.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, utoipa::ToSchema)]
pub struct SampleRatio {
    /// Σ (observed − expected)² ÷ expected.
    pub statistic: f64,
    /// The number of variants − 1.
    pub degrees_of_freedom: u32,
    /// P(χ² > statistic): `scipy.stats.chisquare(counts, f_exp)`.
    pub p_value: f64,
    /// Whether p < [`SAMPLE_RATIO_ALARM`].
    pub mismatch: bool,
}

/// The p-value under which a split is called a mismatch: strict, as the check runs on every
/// experiment and a false alarm discards a sound one.
pub const SAMPLE_RATIO_ALARM: f64 = 0.001;

/// The check of `counts` (accounts per variant) against the split `weights` means (one
/// positive weight per variant, of any scale: `[1, 1]` is an equal split); none with fewer
/// than two variants or no accounts.
pub fn sample_ratio(counts: &[u64], weights: &[f64]) -> Option<SampleRatio> {
    assert_eq!(counts.len(), weights.len(), "a weight per variant");
    let total: u64 = counts.iter().sum();
    let scale: f64 = weights.iter().sum();
    if counts.len() < 2 || total == 0 {
        return None;
    }
    let statistic: f64 = counts
        .iter()
        .zip(weights)
        .map(|(&c, w)| {
            let expected = total as f64 * w / scale;
            (c as f64 - expected).powi(2) / expected
        })
        .sum();
    let degrees_of_freedom = counts.len() as u32 - 1;
    let p_value = chi_squared_sf(statistic, degrees_of_freedom);
    Some(SampleRatio {
        statistic,
        degrees_of_freedom,
        p_value,
        mismatch: p_value < SAMPLE_RATIO_ALARM,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wilson_by_hand() {
        // 0 of 10: the lower end is 0 and the upper z²/(n + z²).
        let z2 = Z_95 * Z_95;
        let (l, u) = wilson(0, 10);
        assert_eq!(l, 0.0);
        assert!((u - z2 / (10.0 + z2)).abs() < 1e-15);
        // Symmetric about ½ at half the trials.
        let (l, u) = wilson(5, 10);
        assert!((l + u - 1.0).abs() < 1e-15);
    }

    #[test]
    fn equal_proportions_differ_by_nothing() {
        let d = proportion_difference(30, 60, 15, 30).unwrap();
        assert_eq!(d.difference, 0.0);
        assert!((d.p_value - 1.0).abs() < 1e-12);
        assert!(d.low_95 < 0.0 && d.high_95 > 0.0);
        assert!(proportion_difference(1, 0, 1, 2).is_none());
        // All successes on both sides: nothing against "equal".
        assert_eq!(proportion_difference(4, 4, 9, 9).unwrap().p_value, 1.0);
    }

    #[test]
    fn mann_whitney_by_hand() {
        // x wins every pair: U = n1·n2 = 6; no ties, σ² = 2·3·6/12 = 3, z = (6 − 3 − ½)/√3.
        let t = mann_whitney(&[10.0, 11.0], &[1.0, 2.0, 3.0]).unwrap();
        assert_eq!(t.u, 6.0);
        let z: f64 = 2.5 / 3f64.sqrt();
        assert!((t.p_value - chi_squared_sf(z * z, 1)).abs() < 1e-15);
        // Identical samples: U at its mean, p = 1.
        assert_eq!(mann_whitney(&[1.0, 2.0], &[1.0, 2.0]).unwrap().p_value, 1.0);
        // All tied: no variance, p = 1.
        assert_eq!(mann_whitney(&[3.0, 3.0], &[3.0]).unwrap().p_value, 1.0);
        assert!(mann_whitney(&[], &[1.0]).is_none());
    }

    #[test]
    fn an_even_split_is_no_mismatch() {
        let even = sample_ratio(&[500, 500], &[1.0, 1.0]).unwrap();
        assert_eq!(even.statistic, 0.0);
        assert_eq!(even.p_value, 1.0);
        assert!(!even.mismatch);
        // 600 against 400: (100² + 100²) ÷ 500 = 40, far past the alarm.
        let skewed = sample_ratio(&[600, 400], &[1.0, 1.0]).unwrap();
        assert_eq!(skewed.statistic, 40.0);
        assert!(skewed.mismatch);
        // Meant 60/40 (in any scale), it is no mismatch.
        let meant = sample_ratio(&[600, 400], &[3.0, 2.0]).unwrap();
        assert!(meant.statistic.abs() < 1e-12);
        assert!(!meant.mismatch);
        assert!(sample_ratio(&[7], &[1.0]).is_none());
    }
}
