use serde::Serialize;

use crate::chi_squared::chi_squared_sf;
use crate::observation::{validate, Observation, SurvivalError};

/// Result of the k-sample log-rank test of "all groups share one survival curve".
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LogRank {
    /// Σ (O − E)ᵀ V⁻ (O − E) over the first k − 1 groups: χ²-distributed under the null.
    pub statistic: f64,
    /// k − 1, with k the number of non-empty groups.
    pub degrees_of_freedom: u32,
    /// P(χ²(k − 1) > statistic).
    pub p_value: f64,
}

/// The k-sample log-rank test, as lifelines' `multivariate_logrank_test`.
///
/// Empty groups are skipped (lifelines never sees them: it builds its groups from the rows);
/// `None` when fewer than two non-empty groups remain, since there is nothing to compare.
///
/// # Panics
///
/// If an observation's time is negative, NaN or infinite; use [`try_log_rank`] for data that
/// has not been checked.
pub fn log_rank(groups: &[&[Observation]]) -> Option<LogRank> {
    match try_log_rank(groups) {
        Ok(result) => result,
        Err(error) => panic!("{error}"),
    }
}

/// [`log_rank`], reporting the first observation whose time is not a finite `>= 0` number.
pub fn try_log_rank(groups: &[&[Observation]]) -> Result<Option<LogRank>, SurvivalError> {
    for (group, observations) in groups.iter().enumerate() {
        validate(observations)
            .map_err(|(index, invalid)| SurvivalError::of_group(group, index, invalid))?;
    }
    let groups: Vec<&[Observation]> = groups.iter().copied().filter(|g| !g.is_empty()).collect();
    let k = groups.len();
    if k < 2 {
        return Ok(None);
    }

    let mut pooled: Vec<(f64, bool, usize, f64)> = groups
        .iter()
        .enumerate()
        .flat_map(|(g, obs)| obs.iter().map(move |o| (o.time, o.event, g, o.weight)))
        .collect();
    pooled.sort_by(|a, b| a.0.total_cmp(&b.0));

    let mut at_risk: Vec<f64> = groups
        .iter()
        .map(|g| g.iter().map(|o| o.weight).sum())
        .collect();
    let mut observed_minus_expected = vec![0.0; k];
    let mut variance = vec![vec![0.0; k]; k];
    let mut deaths = vec![0.0; k];

    let mut rest = pooled.as_slice();
    while let Some(&(time, ..)) = rest.first() {
        let same_time = rest.iter().take_while(|o| o.0 == time).count();
        deaths.iter_mut().for_each(|d| *d = 0.0);
        for &(_, event, g, weight) in &rest[..same_time] {
            if event {
                deaths[g] += weight;
            }
        }
        let d: f64 = deaths.iter().sum();
        let n: f64 = at_risk.iter().sum();
        if d > 0.0 {
            for j in 0..k {
                observed_minus_expected[j] += deaths[j] - at_risk[j] * d / n;
            }
            // Hypergeometric covariance of the death counts given the margins, with lifelines'
            // conventions where (n − d) / (n − 1) breaks down: at n = 1 (0/0 or x/0) it counts
            // as 1; below 1, possible only with fractional weights, its square root is NaN in
            // lifelines' form and the term is dropped.
            let correction = match n {
                n if n > 1.0 => (n - d) / (n - 1.0),
                1.0 => 1.0,
                _ => 0.0,
            };
            if correction > 0.0 {
                let f = correction * d / (n * n);
                for j in 0..k {
                    for l in 0..k {
                        let cross = if j == l {
                            at_risk[j] * (n - at_risk[j])
                        } else {
                            -at_risk[j] * at_risk[l]
                        };
                        variance[j][l] += f * cross;
                    }
                }
            }
        }
        for &(_, _, g, weight) in &rest[..same_time] {
            at_risk[g] -= weight;
        }
        rest = &rest[same_time..];
    }

    // O − E sums to 0 over all k groups, so V is singular; dropping the last group leaves an
    // invertible (k−1)×(k−1) system in the usual case. The pseudo-inverse, as lifelines uses,
    // keeps the test defined when a group never overlaps an event (a zero row) or nothing
    // churned at all (V = 0, statistic 0, p = 1).
    let m = k - 1;
    let z = &observed_minus_expected[..m];
    let reduced: Vec<Vec<f64>> = variance[..m].iter().map(|row| row[..m].to_vec()).collect();
    let inverse = symmetric_pseudo_inverse(reduced);
    let mut statistic = 0.0;
    for j in 0..m {
        for l in 0..m {
            statistic += z[j] * inverse[j][l] * z[l];
        }
    }
    let degrees_of_freedom = m as u32;
    Ok(Some(LogRank {
        statistic,
        degrees_of_freedom,
        p_value: chi_squared_sf(statistic, degrees_of_freedom),
    }))
}

/// Moore–Penrose pseudo-inverse of a symmetric matrix via its Jacobi eigendecomposition.
///
/// Why Jacobi: the matrix is small (one row per group), symmetric and positive semi-definite,
/// and cyclic Jacobi is simple, unconditionally convergent and accurate to the last few ulp
/// for every eigenvalue, which is what deciding "zero or not" needs. Eigenvalues at or below
/// `1e-15 × largest` count as zero, numpy's `pinv` cut-off.
fn symmetric_pseudo_inverse(mut a: Vec<Vec<f64>>) -> Vec<Vec<f64>> {
    let m = a.len();
    let mut vectors: Vec<Vec<f64>> = (0..m)
        .map(|i| (0..m).map(|j| if i == j { 1.0 } else { 0.0 }).collect())
        .collect();

    for _sweep in 0..100 {
        let off: f64 = (0..m)
            .flat_map(|i| (0..m).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| a[i][j] * a[i][j])
            .sum();
        let diagonal: f64 = (0..m).map(|i| a[i][i] * a[i][i]).sum();
        if off <= diagonal * f64::EPSILON * f64::EPSILON * 1e-4 || off == 0.0 {
            break;
        }
        for p in 0..m {
            for q in p + 1..m {
                if a[p][q] == 0.0 {
                    continue;
                }
                // The rotation angle that zeroes a[p][q]; t is the smaller root of
                // t² + 2θt − 1 = 0, which keeps the rotation below 45° and stable.
                let theta = (a[q][q] - a[p][p]) / (2.0 * a[p][q]);
                let t = if theta.abs() > 1e150 {
                    0.5 / theta
                } else {
                    theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt())
                };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for row in a.iter_mut() {
                    let (x, y) = (row[p], row[q]);
                    row[p] = c * x - s * y;
                    row[q] = s * x + c * y;
                }
                let (upper, lower) = a.split_at_mut(q);
                for (x, y) in upper[p].iter_mut().zip(lower[0].iter_mut()) {
                    let (old_x, old_y) = (*x, *y);
                    *x = c * old_x - s * old_y;
                    *y = s * old_x + c * old_y;
                }
                a[p][q] = 0.0;
                a[q][p] = 0.0;
                for row in vectors.iter_mut() {
                    let (x, y) = (row[p], row[q]);
                    row[p] = c * x - s * y;
                    row[q] = s * x + c * y;
                }
            }
        }
    }

    let eigenvalues: Vec<f64> = (0..m).map(|i| a[i][i]).collect();
    let largest = eigenvalues.iter().fold(0.0f64, |acc, l| acc.max(l.abs()));
    let cutoff = 1e-15 * largest;
    let mut inverse = vec![vec![0.0; m]; m];
    for (e, &lambda) in eigenvalues.iter().enumerate() {
        if lambda.abs() <= cutoff {
            continue;
        }
        for i in 0..m {
            for j in 0..m {
                inverse[i][j] += vectors[i][e] * vectors[j][e] / lambda;
            }
        }
    }
    inverse
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obs(pairs: &[(f64, bool)]) -> Vec<Observation> {
        pairs
            .iter()
            .map(|&(time, event)| Observation {
                time,
                event,
                weight: 1.0,
            })
            .collect()
    }

    /// Two groups, hand-computed:
    ///
    /// A = churn at 1, churn at 3; B = churn at 2, censored at 4.
    ///
    /// | t | n_A | n_B | d | d_A | E_A = n_A d/n | V = n_A n_B d (n−d) / (n² (n−1)) |
    /// |---|-----|-----|---|-----|---------------|----------------------------------|
    /// | 1 | 2   | 2   | 1 | 1   | 1/2           | 2·2·1·3 / (16·3) = 1/4           |
    /// | 2 | 1   | 2   | 1 | 0   | 1/3           | 1·2·1·2 / (9·2) = 2/9            |
    /// | 3 | 1   | 1   | 1 | 1   | 1/2           | 1·1·1·1 / (4·1) = 1/4            |
    ///
    /// O_A − E_A = 2 − 4/3 = 2/3, V = 13/18, statistic = (4/9) / (13/18) = 8/13.
    #[test]
    fn two_groups_by_hand() {
        let a = obs(&[(1.0, true), (3.0, true)]);
        let b = obs(&[(2.0, true), (4.0, false)]);
        let result = log_rank(&[&a, &b]).expect("two groups");
        assert!((result.statistic - 8.0 / 13.0).abs() < 1e-14);
        assert_eq!(result.degrees_of_freedom, 1);
        assert!((result.p_value - chi_squared_sf(8.0 / 13.0, 1)).abs() < 1e-15);
        // Swapping the groups only flips the sign of O − E.
        let swapped = log_rank(&[&b, &a]).expect("two groups");
        assert!((swapped.statistic - result.statistic).abs() < 1e-14);
    }

    #[test]
    fn fewer_than_two_non_empty_groups_is_no_test() {
        let a = obs(&[(1.0, true)]);
        assert_eq!(log_rank(&[]), None);
        assert_eq!(log_rank(&[&a]), None);
        assert_eq!(log_rank(&[&a, &[]]), None);
        // An empty group in between is ignored, not counted as a degree of freedom.
        let b = obs(&[(2.0, true)]);
        let with_empty = log_rank(&[&a, &[], &b]).expect("two non-empty");
        assert_eq!(with_empty, log_rank(&[&a, &b]).expect("two"));
        assert_eq!(with_empty.degrees_of_freedom, 1);
    }

    #[test]
    fn no_churn_at_all_is_statistic_zero() {
        let a = obs(&[(1.0, false), (2.0, false)]);
        let b = obs(&[(3.0, false)]);
        let c = obs(&[(3.0, false)]);
        let result = log_rank(&[&a, &b, &c]).expect("three groups");
        assert_eq!(
            (result.statistic, result.degrees_of_freedom, result.p_value),
            (0.0, 2, 1.0)
        );
    }

    #[test]
    fn invalid_time_names_its_group() {
        let a = obs(&[(1.0, true)]);
        let b = obs(&[(2.0, true), (f64::NAN, false)]);
        let err = try_log_rank(&[&a, &b]).unwrap_err();
        assert!(matches!(
            err,
            SurvivalError::InvalidGroupTime {
                group: 1,
                index: 1,
                ..
            }
        ));
    }

    #[test]
    fn pseudo_inverse_inverts_and_drops_null_directions() {
        let inv = symmetric_pseudo_inverse(vec![vec![4.0, 1.0], vec![1.0, 3.0]]);
        // [[4,1],[1,3]]⁻¹ = [[3,−1],[−1,4]] / 11
        let expected = [[3.0 / 11.0, -1.0 / 11.0], [-1.0 / 11.0, 4.0 / 11.0]];
        for i in 0..2 {
            for j in 0..2 {
                assert!((inv[i][j] - expected[i][j]).abs() < 1e-15);
            }
        }
        // A zero row and column (a group never at risk at a churn) stays zero.
        let inv = symmetric_pseudo_inverse(vec![vec![2.0, 0.0], vec![0.0, 0.0]]);
        assert_eq!(inv, vec![vec![0.5, 0.0], vec![0.0, 0.0]]);
        // A full 3×3: A · A⁺ = I.
        let a = vec![
            vec![5.0, -2.0, 1.0],
            vec![-2.0, 6.0, -3.0],
            vec![1.0, -3.0, 4.0],
        ];
        let inv = symmetric_pseudo_inverse(a.clone());
        for (i, row) in a.iter().enumerate() {
            for j in 0..3 {
                let product: f64 = row.iter().zip(&inv).map(|(x, col)| x * col[j]).sum();
                let identity = if i == j { 1.0 } else { 0.0 };
                assert!((product - identity).abs() < 1e-14, "({i},{j}) = {product}");
            }
        }
    }

    /// Weights of 2 everywhere are every subject twice.
    #[test]
    fn a_weight_of_two_is_two_subjects() {
        let a = obs(&[(1.0, true), (3.0, true), (4.0, false)]);
        let b = obs(&[(2.0, true), (2.5, false), (6.0, true)]);
        let twice =
            |g: &[Observation]| -> Vec<Observation> { g.iter().flat_map(|o| [*o, *o]).collect() };
        let weighted =
            |g: &[Observation]| -> Vec<Observation> { g.iter().map(|o| o.weighted(2.0)).collect() };
        let x = log_rank(&[&twice(&a), &twice(&b)]).expect("two groups");
        let y = log_rank(&[&weighted(&a), &weighted(&b)]).expect("two groups");
        assert!((x.statistic - y.statistic).abs() < 1e-12, "{x:?} vs {y:?}");
    }
}
