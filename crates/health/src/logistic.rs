//! L2-regularised logistic regression, fitted by Newton's method.
//!
//! Written here rather than taken from a crate: the fit is forty lines, and the known crates
//! have traps for this use (`linfa-logistic` takes the more frequent label as the positive
//! class; `smartcore`'s defaults to no regularisation), while this one is checked against
//! scikit-learn's `LogisticRegression` directly.

use serde::Serialize;

/// A fitted model: P(y) = σ(intercept + Σ coefficients · x).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Logistic {
    pub intercept: f64,
    pub coefficients: Vec<f64>,
    /// Newton iterations the fit took.
    pub iterations: usize,
}

fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

impl Logistic {
    /// Minimises Σ log-loss + `l2` / 2 · ‖coefficients‖² (the intercept is not penalised), which
    /// is scikit-learn's `LogisticRegression(C = 1 / l2)`. `None` for no rows, rows of
    /// different lengths, non-finite inputs, or a system Newton cannot solve.
    pub fn fit(x: &[Vec<f64>], y: &[bool], l2: f64) -> Option<Logistic> {
        let n = x.len();
        if n == 0 || y.len() != n || !(l2.is_finite() && l2 >= 0.0) {
            return None;
        }
        let p = x[0].len();
        if x.iter()
            .any(|r| r.len() != p || r.iter().any(|v| !v.is_finite()))
        {
            return None;
        }
        // Parameters: [intercept, coefficients…].
        let k = p + 1;
        let mut beta = vec![0.0; k];
        let row = |i: usize, j: usize| if j == 0 { 1.0 } else { x[i][j - 1] };
        for iteration in 1..=100 {
            let mut gradient = vec![0.0; k];
            let mut hessian = vec![vec![0.0; k]; k];
            for i in 0..n {
                let z: f64 = (0..k).map(|j| beta[j] * row(i, j)).sum();
                let mu = sigmoid(z);
                let r = mu - f64::from(u8::from(y[i]));
                let w = mu * (1.0 - mu);
                for a in 0..k {
                    gradient[a] += r * row(i, a);
                    for b in 0..=a {
                        hessian[a][b] += w * row(i, a) * row(i, b);
                    }
                }
            }
            for a in 1..k {
                gradient[a] += l2 * beta[a];
                hessian[a][a] += l2;
            }
            for a in 0..k {
                for b in 0..a {
                    hessian[b][a] = hessian[a][b];
                }
            }
            let step = solve(hessian, gradient)?;
            let mut largest: f64 = 0.0;
            for (b, s) in beta.iter_mut().zip(&step) {
                *b -= s;
                largest = largest.max(s.abs());
            }
            if largest < 1e-12 {
                return Some(Logistic {
                    intercept: beta[0],
                    coefficients: beta[1..].to_vec(),
                    iterations: iteration,
                });
            }
        }
        // Separable data without a penalty never converges: no model rather than a huge one.
        (l2 > 0.0).then(|| Logistic {
            intercept: beta[0],
            coefficients: beta[1..].to_vec(),
            iterations: 100,
        })
    }

    /// P(y = true) for one row.
    pub fn predict(&self, x: &[f64]) -> f64 {
        let z = self.intercept
            + self
                .coefficients
                .iter()
                .zip(x)
                .map(|(c, v)| c * v)
                .sum::<f64>();
        sigmoid(z)
    }
}

/// Solves `a · s = b` by Gaussian elimination with partial pivoting.
fn solve(mut a: Vec<Vec<f64>>, mut b: Vec<f64>) -> Option<Vec<f64>> {
    let n = b.len();
    for col in 0..n {
        let pivot = (col..n).max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))?;
        if a[pivot][col].abs() < 1e-300 {
            return None;
        }
        a.swap(col, pivot);
        b.swap(col, pivot);
        for r in col + 1..n {
            let f = a[r][col] / a[col][col];
            if f != 0.0 {
                for c in col..n {
                    a[r][c] -= f * a[col][c];
                }
                b[r] -= f * b[col];
            }
        }
    }
    let mut s = vec![0.0; n];
    for r in (0..n).rev() {
        let tail: f64 = (r + 1..n).map(|c| a[r][c] * s[c]).sum();
        s[r] = (b[r] - tail) / a[r][r];
    }
    s.iter().all(|v| v.is_finite()).then_some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// With no feature, the intercept is the log-odds of the base rate.
    #[test]
    fn intercept_only_is_the_log_odds() {
        let x = vec![vec![]; 10];
        let y: Vec<bool> = (0..10).map(|i| i < 3).collect();
        let m = Logistic::fit(&x, &y, 1.0).unwrap();
        assert!((m.intercept - (3.0f64 / 7.0).ln()).abs() < 1e-12);
        assert!((m.predict(&[]) - 0.3).abs() < 1e-12);
    }
}
