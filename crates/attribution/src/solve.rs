//! Absorption values of an absorbing Markov chain, solved exactly.
//!
//! The transient states `0..n` have a substochastic transition matrix `Q` (the rest of each row's
//! mass goes to the absorbing states) and a reward `r_i` collected when state `i` is absorbed
//! into conversion (`P(i → conversion)`, or that times the mean conversion value). The expected
//! reward from each state is the solution of `x = r + Q x`, i.e. `(I − Q) x = r`, which is
//! non-singular because every state the chain was built from reaches an absorbing state.
//!
//! "Removing" a set of states sends every transition into them to null: their `x` is 0 and the
//! system is solved over the other states.
//!
//! Small systems are solved directly by Gaussian elimination with partial pivoting. Large ones
//! (order 2 or more over many channels) by Gauss–Seidel on the sparse rows, to a residual of
//! 1e-14 relative to the largest reward, falling back to elimination if that does not converge.

/// Up to this many kept states, systems are solved by dense elimination.
pub(crate) const DENSE_MAX: usize = 300;
/// Relative residual Gauss–Seidel iterates to.
const TOLERANCE: f64 = 1e-14;
/// Gauss–Seidel sweeps after which elimination is used instead.
const MAX_SWEEPS: usize = 20_000;

/// `Q` in compressed sparse rows.
#[derive(Debug, Clone, Default)]
pub(crate) struct SparseRows {
    pub(crate) row_start: Vec<usize>,
    pub(crate) cols: Vec<u32>,
    pub(crate) probs: Vec<f64>,
}

impl SparseRows {
    pub(crate) fn len(&self) -> usize {
        self.row_start.len().saturating_sub(1)
    }

    fn row(&self, i: usize) -> impl Iterator<Item = (usize, f64)> + '_ {
        let range = self.row_start[i]..self.row_start[i + 1];
        self.cols[range.clone()]
            .iter()
            .zip(&self.probs[range])
            .map(|(&j, &p)| (j as usize, p))
    }
}

/// How to solve: by the size rule above, or forced (for tests comparing the two).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Method {
    Auto,
    #[cfg_attr(not(test), allow(dead_code))]
    Dense,
    #[cfg_attr(not(test), allow(dead_code))]
    Iterative,
}

/// The solution `x` of `x_i = r_i + Σ_j Q_ij x_j` for the states not `removed`, 0 for the removed.
pub(crate) fn absorb(q: &SparseRows, reward: &[f64], removed: &[bool], method: Method) -> Vec<f64> {
    let kept = removed.iter().filter(|&&r| !r).count();
    let dense = match method {
        Method::Auto => kept <= DENSE_MAX,
        Method::Dense => true,
        Method::Iterative => false,
    };
    if dense {
        return absorb_dense(q, reward, removed);
    }
    absorb_iterative(q, reward, removed).unwrap_or_else(|| absorb_dense(q, reward, removed))
}

fn absorb_dense(q: &SparseRows, reward: &[f64], removed: &[bool]) -> Vec<f64> {
    let n = q.len();
    let mut index = vec![usize::MAX; n];
    let mut states = Vec::new();
    for i in 0..n {
        if !removed[i] {
            index[i] = states.len();
            states.push(i);
        }
    }
    let m = states.len();
    // Augmented matrix [I − Q | r], row-major, m × (m + 1).
    let width = m + 1;
    let mut a = vec![0.0; m * width];
    for (row, &i) in states.iter().enumerate() {
        a[row * width + row] = 1.0;
        for (j, p) in q.row(i) {
            if index[j] != usize::MAX {
                a[row * width + index[j]] -= p;
            }
        }
        a[row * width + m] = reward[i];
    }
    let solution = gaussian_elimination(&mut a, m);
    let mut x = vec![0.0; n];
    for (row, &i) in states.iter().enumerate() {
        x[i] = solution[row];
    }
    x
}

/// Solves the m × m system stored augmented in `a` (m rows of m + 1), with partial pivoting.
fn gaussian_elimination(a: &mut [f64], m: usize) -> Vec<f64> {
    let width = m + 1;
    for col in 0..m {
        let pivot = (col..m)
            .max_by(|&r, &s| {
                a[r * width + col]
                    .abs()
                    .total_cmp(&a[s * width + col].abs())
            })
            .unwrap_or(col);
        if pivot != col {
            for k in 0..width {
                a.swap(col * width + k, pivot * width + k);
            }
        }
        let p = a[col * width + col];
        if p == 0.0 {
            // Only possible for a state that cannot reach absorption, which a chain built from
            // finite journeys never has; leave the column (its x stays 0).
            continue;
        }
        let (upper, lower) = a.split_at_mut((col + 1) * width);
        let pivot_row = &upper[col * width..];
        for row in lower.chunks_exact_mut(width) {
            let factor = row[col] / p;
            if factor != 0.0 {
                for k in col..width {
                    row[k] -= factor * pivot_row[k];
                }
            }
        }
    }
    let mut x = vec![0.0; m];
    for row in (0..m).rev() {
        let p = a[row * width + row];
        if p == 0.0 {
            continue;
        }
        let mut s = a[row * width + m];
        for k in row + 1..m {
            s -= a[row * width + k] * x[k];
        }
        x[row] = s / p;
    }
    x
}

/// Gauss–Seidel, sweeping from the last state to the first (states are numbered as first met
/// along journeys, so later ones tend to be nearer absorption). `None` if it did not converge.
fn absorb_iterative(q: &SparseRows, reward: &[f64], removed: &[bool]) -> Option<Vec<f64>> {
    let n = q.len();
    let scale = (0..n)
        .filter(|&i| !removed[i])
        .map(|i| reward[i].abs())
        .fold(0.0, f64::max);
    let mut x = vec![0.0; n];
    if scale == 0.0 {
        return Some(x);
    }
    let tolerance = TOLERANCE * scale;
    let update = |x: &[f64], i: usize| {
        let mut s = reward[i];
        let mut diagonal = 0.0;
        for (j, p) in q.row(i) {
            if j == i {
                diagonal += p;
            } else if !removed[j] {
                s += p * x[j];
            }
        }
        s / (1.0 - diagonal)
    };
    for _ in 0..MAX_SWEEPS {
        let mut change: f64 = 0.0;
        for i in (0..n).rev() {
            if removed[i] {
                continue;
            }
            let next = update(&x, i);
            change = change.max((next - x[i]).abs());
            x[i] = next;
        }
        if change <= tolerance {
            let residual = (0..n)
                .filter(|&i| !removed[i])
                .map(|i| (update(&x, i) - x[i]).abs())
                .fold(0.0, f64::max);
            if residual <= tolerance {
                return Some(x);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A random dense-ish substochastic chain from a seeded LCG.
    fn random_chain(n: usize, seed: u64) -> (SparseRows, Vec<f64>) {
        let mut state = seed;
        let mut next = || {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        let mut q = SparseRows {
            row_start: vec![0],
            ..SparseRows::default()
        };
        let mut reward = Vec::new();
        for i in 0..n {
            let mut row: Vec<(u32, f64)> = Vec::new();
            for j in 0..n {
                if j != i && next() < 0.05 {
                    row.push((j as u32, next()));
                }
            }
            let conv = next();
            let null = next();
            let total: f64 = row.iter().map(|&(_, w)| w).sum::<f64>() + conv + null;
            for (j, w) in row {
                q.cols.push(j);
                q.probs.push(w / total);
            }
            q.row_start.push(q.cols.len());
            reward.push(conv / total * 100.0);
        }
        (q, reward)
    }

    #[test]
    fn iterative_matches_dense_elimination() {
        let (q, reward) = random_chain(400, 7);
        let mut removed = vec![false; 400];
        for i in (0..400).step_by(13) {
            removed[i] = true;
        }
        for removed in [vec![false; 400], removed] {
            let dense = absorb(&q, &reward, &removed, Method::Dense);
            let iterative = absorb(&q, &reward, &removed, Method::Iterative);
            for (d, it) in dense.iter().zip(&iterative) {
                assert!((d - it).abs() < 1e-11, "{d} vs {it}");
            }
            // And the dense solution satisfies the system.
            for i in 0..400 {
                if removed[i] {
                    assert_eq!(dense[i], 0.0);
                    continue;
                }
                let rhs: f64 = reward[i]
                    + q.row(i)
                        .filter(|&(j, _)| !removed[j])
                        .map(|(j, p)| p * dense[j])
                        .sum::<f64>();
                assert!((dense[i] - rhs).abs() < 1e-10);
            }
        }
    }

    #[test]
    fn two_state_cycle_by_hand() {
        // x0 = 0.25 + 0.25 x1, x1 = 1/3 + 1/3 x0  →  x0 = 4/11, x1 = 5/11.
        let q = SparseRows {
            row_start: vec![0, 1, 2],
            cols: vec![1, 0],
            probs: vec![0.25, 1.0 / 3.0],
        };
        for method in [Method::Dense, Method::Iterative] {
            let x = absorb(&q, &[0.25, 1.0 / 3.0], &[false, false], method);
            assert!((x[0] - 4.0 / 11.0).abs() < 1e-15);
            assert!((x[1] - 5.0 / 11.0).abs() < 1e-15);
        }
    }
}
