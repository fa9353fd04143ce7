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
    /// Standard error of each coefficient: the square root of the diagonal of the inverse of the
    /// penalised Hessian at the fit (the Laplace approximation of the posterior under the
    /// Gaussian prior the penalty stands for; without a penalty, the usual Wald standard errors).
    pub std_errors: Vec<f64>,
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
        // Each row with a leading 1 for the intercept.
        let rows: Vec<Vec<f64>> = x
            .iter()
            .map(|r| std::iter::once(1.0).chain(r.iter().copied()).collect())
            .collect();
        for iteration in 1..=100 {
            let (gradient, hessian) = derivatives(&rows, y, &beta, l2);
            let step = solve(hessian, gradient)?;
            let mut largest: f64 = 0.0;
            for (b, s) in beta.iter_mut().zip(&step) {
                *b -= s;
                largest = largest.max(s.abs());
            }
            if largest < 1e-12 {
                return Logistic::at(&rows, y, beta, l2, iteration);
            }
        }
        // Separable data without a penalty never converges: no model rather than a huge one.
        if l2 > 0.0 {
            Logistic::at(&rows, y, beta, l2, 100)
        } else {
            None
        }
    }

    /// The model at parameters `beta`, with the standard errors of its coefficients there.
    fn at(
        rows: &[Vec<f64>],
        y: &[bool],
        beta: Vec<f64>,
        l2: f64,
        iterations: usize,
    ) -> Option<Logistic> {
        let (_, hessian) = derivatives(rows, y, &beta, l2);
        let k = beta.len();
        let std_errors = (1..k)
            .map(|j| {
                let mut unit = vec![0.0; k];
                unit[j] = 1.0;
                let column = solve(hessian.clone(), unit)?;
                Some(column[j].max(0.0).sqrt())
            })
            .collect::<Option<Vec<f64>>>()?;
        Some(Logistic {
            intercept: beta[0],
            coefficients: beta[1..].to_vec(),
            std_errors,
            iterations,
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

/// The gradient and the Hessian of the penalised log-loss at `beta` (rows lead with the
/// intercept's 1, which the penalty leaves out).
fn derivatives(rows: &[Vec<f64>], y: &[bool], beta: &[f64], l2: f64) -> (Vec<f64>, Vec<Vec<f64>>) {
    let k = beta.len();
    let mut gradient = vec![0.0; k];
    let mut hessian = vec![vec![0.0; k]; k];
    for (row, &label) in rows.iter().zip(y) {
        let z: f64 = row.iter().zip(beta).map(|(v, b)| v * b).sum();
        let mu = sigmoid(z);
        let r = mu - f64::from(u8::from(label));
        let w = mu * (1.0 - mu);
        for (a, &va) in row.iter().enumerate() {
            gradient[a] += r * va;
            for (h, &vb) in hessian[a].iter_mut().zip(row) {
                *h += w * va * vb;
            }
        }
    }
    for a in 1..k {
        gradient[a] += l2 * beta[a];
        hessian[a][a] += l2;
    }
    (gradient, hessian)
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
                let (above, below) = a.split_at_mut(r);
                for (x, p) in below[0][col..].iter_mut().zip(&above[col][col..]) {
                    *x -= f * p;
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

    /// One binary feature without a penalty: the coefficient is the log odds ratio of the 2×2
    /// table and its standard error is Woolf's √(1/a + 1/b + 1/c + 1/d).
    #[test]
    fn one_binary_feature_gives_the_log_odds_ratio_and_woolfs_error() {
        // Exposed: 30 churned, 20 stayed; unexposed: 10 churned, 40 stayed.
        let mut x = Vec::new();
        let mut y = Vec::new();
        for (exposed, churned, n) in [
            (1.0, true, 30),
            (1.0, false, 20),
            (0.0, true, 10),
            (0.0, false, 40),
        ] {
            x.extend(std::iter::repeat_n(vec![exposed], n));
            y.extend(std::iter::repeat_n(churned, n));
        }
        let m = Logistic::fit(&x, &y, 0.0).unwrap();
        let odds_ratio: f64 = (30.0 / 20.0) / (10.0 / 40.0);
        assert!((m.coefficients[0] - odds_ratio.ln()).abs() < 1e-9);
        let woolf = (1.0 / 30.0 + 1.0 / 20.0 + 1.0 / 10.0 + 1.0 / 40.0f64).sqrt();
        assert!((m.std_errors[0] - woolf).abs() < 1e-9, "{:?}", m.std_errors);
        // A penalty shrinks the coefficient and narrows its error.
        let shrunk = Logistic::fit(&x, &y, 5.0).unwrap();
        assert!(shrunk.coefficients[0] < m.coefficients[0]);
        assert!(shrunk.std_errors[0] < m.std_errors[0]);
    }
}
