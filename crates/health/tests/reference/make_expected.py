"""Produce the scikit-learn and statsmodels reference values that `tests/sklearn.rs` checks
tenure-health's ROC AUC, Brier score and logistic regression (coefficients and their standard
errors) against.

Run from the crate directory:

    python3 -m pip install -r tests/reference/requirements.txt
    python3 tests/reference/make_expected.py > tests/reference/expected.json

Every figure comes straight from `sklearn.metrics.roc_auc_score` and `brier_score_loss`,
`sklearn.linear_model.LogisticRegression`, and `statsmodels`' `Logit` (the unpenalised fit and
its standard errors, `bse`). The standard errors of a penalised fit have no package function:
they are the square roots of the diagonal of the inverse of the penalised Hessian
X'WX + diag(0, 1/C, …, 1/C) at scikit-learn's solution, written out below with numpy. The inputs
are seeded, so re-running reproduces the file (up to the last digit of a few floats, as BLAS
builds differ).
"""

import json
import sys

import numpy as np
import sklearn
import statsmodels
import statsmodels.api as sm
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, roc_auc_score


def case(name, scores, labels):
    scores = [float(s) for s in scores]
    labels = [bool(l) for l in labels]
    out = {"name": name, "scores": scores, "labels": labels,
           "roc_auc": float(roc_auc_score(labels, scores))}
    if all(0.0 <= s <= 1.0 for s in scores):
        out["brier"] = float(brier_score_loss(labels, scores))
    return out


def penalised_std_errors(x, model, l2):
    """Square roots of the diagonal of (X'WX + l2 · I without the intercept)⁻¹ at the fit."""
    design = np.column_stack([np.ones(len(x)), x])
    p = model.predict_proba(x)[:, 1]
    hessian = design.T @ (design * (p * (1 - p))[:, None])
    hessian[1:, 1:] += l2 * np.eye(x.shape[1])
    return [float(v) for v in np.sqrt(np.diag(np.linalg.inv(hessian)))[1:]]


def main():
    rng = np.random.default_rng(20261123)
    cases = [
        case("hand", [0.8, 0.6, 0.4, 0.4, 0.1], [1, 0, 1, 0, 0]),
        # Health scores are coarse (steps of a scale), so ties are the rule, not the exception.
        case("many_ties", rng.integers(0, 5, 300) * 25.0, rng.random(300) < 0.3),
    ]
    # Probabilities that carry signal: churners score higher on average.
    labels = rng.random(2000) < 0.15
    p = np.clip(0.15 + 0.25 * labels + rng.normal(0, 0.15, 2000), 0, 1)
    cases.append(case("informative_probabilities", p, labels))
    # Inverted: a score that predicts the opposite gives AUC below 0.5.
    labels = rng.random(500) < 0.4
    cases.append(case("inverted", -(labels * 1.0) + rng.normal(0, 0.8, 500), labels))
    # Rare positives.
    labels = np.zeros(1000, dtype=bool)
    labels[rng.choice(1000, 7, replace=False)] = True
    cases.append(case("rare_positives", rng.random(1000) + labels * 0.3, labels))
    # Logistic regression: 400 rows, 3 features with different scales, C = 1 and C = 0.1.
    x = np.column_stack([rng.normal(0, 1, 400), rng.normal(5, 2, 400), rng.integers(0, 2, 400)])
    z = -1.0 + 1.2 * x[:, 0] - 0.4 * (x[:, 1] - 5) + 0.8 * x[:, 2]
    y = rng.random(400) < 1 / (1 + np.exp(-z))
    fits = []
    for c in (1.0, 0.1):
        m = LogisticRegression(C=c, solver="newton-cg", tol=1e-12, max_iter=10000).fit(x, y)
        fits.append({"c": c, "intercept": float(m.intercept_[0]),
                     "coefficients": [float(v) for v in m.coef_[0]],
                     "std_errors": penalised_std_errors(x, m, 1.0 / c)})
    unpenalised = sm.Logit(y.astype(float), sm.add_constant(x)).fit(method="newton", tol=1e-12,
                                                                     disp=0)
    logistic = {"x": x.tolist(), "y": [bool(v) for v in y], "fits": fits,
                "unpenalised": {"intercept": float(unpenalised.params[0]),
                                "coefficients": [float(v) for v in unpenalised.params[1:]],
                                "std_errors": [float(v) for v in unpenalised.bse[1:]]}}
    json.dump({"produced_by": "python3 tests/reference/make_expected.py > tests/reference/expected.json",
               "scikit_learn": sklearn.__version__, "statsmodels": statsmodels.__version__, "numpy": np.__version__, "cases": cases,
               "logistic": logistic},
              sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
