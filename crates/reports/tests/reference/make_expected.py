"""Produce the scipy and statsmodels reference values that `tests/significance.rs` checks the
experiment report's statistics (`tenure_reports::significance`) against.

Run from the crate directory:

    tests/reference/install.sh
    tests/reference/.venv/bin/python tests/reference/make_expected.py > tests/reference/expected.json

Every figure comes straight from a package function:

- the difference of two proportions and its 95% interval:
  `statsmodels.stats.proportion.confint_proportions_2indep(c1, n1, c2, n2, method="newcomb",
  compare="diff", alpha=0.05)`, the difference being c1/n1 - c2/n2;
- its test: `statsmodels.stats.proportion.proportions_ztest([c1, c2], [n1, n2])` (pooled, two-sided);
- Mann-Whitney: `scipy.stats.mannwhitneyu(x, y, alternative="two-sided", method="asymptotic")`
  (tie and continuity corrections, scipy's defaults);
- the sample-ratio check: `scipy.stats.chisquare(counts)` (an equal split expected), or
  `scipy.stats.chisquare(counts, f_exp)` with f_exp = sum(counts) * weights / sum(weights).

The samples are seeded, so re-running reproduces the file.
"""

import json
import sys

import numpy as np
import scipy
import statsmodels
from scipy.stats import chisquare, mannwhitneyu
from statsmodels.stats.proportion import confint_proportions_2indep, proportions_ztest


def proportions(c1, n1, c2, n2):
    low, high = confint_proportions_2indep(
        c1, n1, c2, n2, method="newcomb", compare="diff", alpha=0.05
    )
    _, p = proportions_ztest([c1, c2], [n1, n2])
    return {
        "variant": c1, "variant_trials": n1, "control": c2, "control_trials": n2,
        "difference": c1 / n1 - c2 / n2, "low_95": float(low), "high_95": float(high),
        "p_value": float(p),
    }


def mann_whitney(name, x, y):
    result = mannwhitneyu(x, y, alternative="two-sided", method="asymptotic")
    return {"name": name, "x": [float(v) for v in x], "y": [float(v) for v in y],
            "u": float(result.statistic), "p_value": float(result.pvalue)}


def sample_ratio(counts, weights=None):
    if weights is None:
        result = chisquare(counts)
    else:
        f_exp = np.array(weights, dtype=float) * sum(counts) / sum(weights)
        result = chisquare(counts, f_exp)
    out = {"counts": counts, "statistic": float(result.statistic),
           "p_value": float(result.pvalue)}
    if weights is not None:
        out["weights"] = weights
    return out


def main():
    rng = np.random.default_rng(19)
    out = {
        "versions": {"scipy": scipy.__version__, "statsmodels": statsmodels.__version__,
                     "numpy": np.__version__},
        "proportions": [
            proportions(141, 200, 112, 190),
            proportions(5, 12, 9, 11),
            proportions(0, 25, 3, 30),
            proportions(40, 40, 35, 38),
            proportions(1520, 2480, 1390, 2510),
            proportions(7, 9, 7, 9),
        ],
        "mann_whitney": [
            mann_whitney("no ties", [12.5, 3.1, 8.8, 20.0, 1.2],
                         [4.4, 30.2, 15.5, 9.9, 2.0, 7.7]),
            # Whole days, as times to value often are: many ties.
            mann_whitney("whole days", [float(v) for v in rng.integers(0, 15, 40)],
                         [float(v) for v in rng.integers(2, 20, 55)]),
            mann_whitney("exponential", list(rng.exponential(9.8, 150)),
                         list(rng.exponential(14.0, 140))),
            mann_whitney("one each", [3.0], [5.0]),
        ],
        "sample_ratio": [
            sample_ratio([1012, 988]),
            sample_ratio([530, 470]),
            sample_ratio([310, 350, 290]),
            sample_ratio([5000, 5250]),
            sample_ratio([1100, 900]),
            sample_ratio([1480, 520], [3, 1]),
            sample_ratio([700, 240, 60], [70, 20, 10]),
            sample_ratio([2000, 0], [1, 1]),
        ],
    }
    json.dump(out, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
