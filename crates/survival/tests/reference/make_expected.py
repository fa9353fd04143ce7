"""Produce the lifelines reference values that `tests/lifelines.rs` checks `tenure-survival` against.

Run from the crate directory:

    python3 -m pip install -r tests/reference/requirements.txt
    python3 tests/reference/make_expected.py > tests/reference/expected.json

Every number comes straight from lifelines (KaplanMeierFitter, restricted_mean_survival_time,
multivariate_logrank_test) or scipy (chi2.sf); nothing is recomputed here, so the Rust test
compares against the packages themselves. The output is deterministic (the synthetic set is
seeded), so re-running the script must reproduce the committed file byte for byte.
"""

import json
import math
import sys
import warnings

import lifelines
import numpy as np
import scipy
from lifelines import KaplanMeierFitter
from lifelines.datasets import load_rossi, load_waltons
from lifelines.statistics import multivariate_logrank_test
from lifelines.utils import restricted_mean_survival_time
from scipy.stats import chi2


def finite_or_none(x):
    # JSON has no infinity; lifelines reports "median never reached" as inf, the Rust API as None.
    x = float(x)
    return x if math.isfinite(x) else None


def count(x, weighted):
    # Whole subjects give whole counts (written as integers); weights give sums of weights.
    return float(x) if weighted else int(x)


def dataset(name, durations, events, groups, horizons, probe_times, weights=None):
    durations = np.asarray(durations, dtype=float)
    events = np.asarray(events, dtype=bool)
    groups = np.asarray(groups)
    weighted = weights is not None
    w = np.asarray(weights, dtype=float) if weighted else np.ones(len(durations))

    with warnings.catch_warnings():
        # lifelines warns that fractional weights make its variance "incorrect"; the band it
        # computes with them is still what tenure must reproduce.
        warnings.simplefilter("ignore")
        kmf = KaplanMeierFitter().fit(
            durations, event_observed=events, weights=w if weighted else None
        )
        lr = multivariate_logrank_test(
            durations, groups, events, weights=w if weighted else None
        )
    sf = kmf.survival_function_.iloc[:, 0]
    ci = kmf.confidence_interval_
    table = kmf.event_table
    if weighted:
        # lifelines' Greenwood variance truncates the weighted number at risk to an integer
        # (`_additive_var` casts it to uint64; it warns that weighted variances are "naive"), so
        # its band on fractional weights is an artifact of that cast. The expected band is
        # Greenwood's sum on the weighted counts of lifelines' own event table, untruncated,
        # passed through lifelines' own `_bounds` (the exponential Greenwood transform).
        n = table["at_risk"]
        d = table["observed"]
        var = (d / (n * (n - d))).replace([np.inf], 0).fillna(0).cumsum()
        ci = kmf._bounds(kmf.survival_function_, var, kmf.alpha, None)

    timeline = []
    for t in sf.index:
        row = table.loc[t]
        timeline.append(
            {
                "time": float(t),
                "at_risk": count(row["at_risk"], weighted),
                "events": count(row["observed"], weighted),
                # lifelines' own `censored` column is truncated to an integer with weights;
                # removed − observed is what it means.
                "censored": count(row["removed"] - row["observed"], weighted),
                "survival": float(sf.loc[t]),
                "lower": float(ci.iloc[:, 0].loc[t]),
                "upper": float(ci.iloc[:, 1].loc[t]),
            }
        )

    rmst = [
        {"horizon": float(h), "rmst": float(restricted_mean_survival_time(kmf, t=h))}
        for h in horizons
    ]
    # lifelines' own definition of "at risk at t" (event_table) only exists at observed times;
    # between them the number at risk is the count of subjects still observed at t.
    at_risk = [
        {"time": float(t), "at_risk": count(w[durations >= t].sum(), weighted)} for t in probe_times
    ]
    # lifelines answers NaN before time 0; the Rust API documents S = 1 there, tested by hand.
    survival_at = [
        {"time": float(t), "survival": float(kmf.predict(t))} for t in probe_times if t >= 0
    ]

    labels = sorted(set(groups.tolist()))

    observations = [{"time": float(t), "event": bool(e)} for t, e in zip(durations, events)]
    if weighted:
        for o, weight in zip(observations, w):
            o["weight"] = float(weight)
    return {
        "name": name,
        "observations": observations,
        "groups": [labels.index(g) for g in groups.tolist()],
        "group_labels": [str(g) for g in labels],
        "timeline": timeline,
        "median": finite_or_none(kmf.median_survival_time_),
        "rmst": rmst,
        "at_risk": at_risk,
        "survival_at": survival_at,
        "log_rank": {
            "statistic": float(lr.test_statistic),
            "degrees_of_freedom": int(lr.degrees_of_freedom),
            "p_value": float(lr.p_value),
        },
    }


def hand_made():
    # Small enough to check by eye: events and censorings tied at 0, 3 and 7.5, a censoring
    # tie at 5, and the last subject dies, so S reaches 0 and the band collapses to (0, 0).
    t = [0, 0, 1, 3, 3, 3, 5, 5, 6.25, 7.5, 7.5, 7.5, 9, 12, 12]
    e = [1, 0, 1, 1, 1, 0, 0, 0, 1, 1, 0, 1, 0, 1, 1]
    g = ["a", "b", "a", "b", "a", "b", "a", "b", "a", "b", "a", "b", "a", "b", "a"]
    return dataset("hand_made", t, e, g, [0.0, 2.5, 6.25, 8.0, 12.0, 20.0], [-1, 0, 0.5, 3, 4, 12, 13])


def all_censored():
    # No churn at all: S stays 1, lifelines fills the 0/0 band with (1, 1), the median is never
    # reached, and the log-rank statistic is 0 (pinv of a zero variance).
    t = [2, 4, 4, 8, 10]
    e = [0, 0, 0, 0, 0]
    g = ["x", "y", "x", "y", "x"]
    return dataset("all_censored", t, e, g, [1.0, 10.0, 50.0], [0, 4, 5, 11])


def waltons():
    df = load_waltons()
    return dataset(
        "waltons",
        df["T"],
        df["E"],
        df["group"],
        [10.0, 30.0, 45.0, 100.0],
        [0, 6, 20.5, 50, 75, 80],
    )


def rossi():
    # Three groups by number of prior convictions: none, 1-3, 4 or more.
    df = load_rossi()
    bucket = np.where(df["prio"] == 0, "0", np.where(df["prio"] <= 3, "1-3", "4+"))
    return dataset(
        "rossi_prio",
        df["week"],
        df["arrest"],
        bucket,
        [13.0, 26.0, 52.0],
        [1, 20, 26.5, 52, 53],
    )


def rossi_four_groups():
    # Four groups (financial aid × race) so the log-rank test inverts a 3×3 variance matrix.
    df = load_rossi()
    groups = df["fin"].astype(str) + "/" + df["race"].astype(str)
    return dataset(
        "rossi_fin_race",
        df["week"],
        df["arrest"],
        groups,
        [52.0],
        [10],
    )


def synthetic():
    # Shaped like tenure's own data: fractional days of lifetime, three plans with different
    # churn hazards, and heavy administrative censoring at `as_of` (random sign-up dates).
    rng = np.random.default_rng(20240611)
    n = 240
    plan = rng.integers(0, 3, size=n)
    scale = np.array([400.0, 700.0, 1500.0])[plan]
    lifetime = rng.exponential(scale)
    observed_for = rng.uniform(0, 900, size=n)
    # Whole milliseconds, as the spec's durations are (ms / 86,400,000).
    lifetime = np.round(lifetime * 86_400_000) / 86_400_000
    observed_for = np.round(observed_for * 86_400_000) / 86_400_000
    time = np.minimum(lifetime, observed_for)
    event = lifetime <= observed_for
    labels = np.array(["starter", "growth", "enterprise"])[plan]
    return dataset(
        "synthetic_3_plans",
        time,
        event,
        labels,
        [30.0, 182.625, 365.25, 1826.25],
        [0, 100, 365.25, 899],
    )


def weighted_hand_made():
    # The hand-made set with fractional weights, as an account split over channels by its
    # attribution credit counts: the weights make ties of unequal size and a last subject of
    # weight 0.125, so the curve still reaches exactly 0.
    t = [0, 0, 1, 3, 3, 3, 5, 5, 6.25, 7.5, 7.5, 7.5, 9, 12, 12]
    e = [1, 0, 1, 1, 1, 0, 0, 0, 1, 1, 0, 1, 0, 1, 1]
    g = ["a", "b", "a", "b", "a", "b", "a", "b", "a", "b", "a", "b", "a", "b", "a"]
    w = [0.5, 1, 0.25, 0.4, 1, 0.6, 0.3, 1, 0.75, 0.2, 0.5, 1, 0.9, 0.125, 0.125]
    return dataset(
        "weighted_hand_made", t, e, g, [0.0, 2.5, 6.25, 8.0, 12.0, 20.0], [0, 3, 4, 12, 13], w
    )


def weighted_synthetic():
    # The synthetic plans again, each subject weighted uniformly in (0.05, 1].
    rng = np.random.default_rng(20261123)
    n = 240
    plan = rng.integers(0, 3, size=n)
    scale = np.array([400.0, 700.0, 1500.0])[plan]
    lifetime = np.round(rng.exponential(scale) * 86_400_000) / 86_400_000
    observed_for = np.round(rng.uniform(0, 900, size=n) * 86_400_000) / 86_400_000
    weights = 1.0 - rng.uniform(0.0, 0.95, size=n)
    return dataset(
        "weighted_synthetic_3_plans",
        np.minimum(lifetime, observed_for),
        lifetime <= observed_for,
        np.array(["starter", "growth", "enterprise"])[plan],
        [30.0, 365.25, 1826.25],
        [0, 100, 365.25, 899],
        weights,
    )


def chi_squared():
    points = [
        (3.84145882069412, 1),
        (10.0, 4),
        (0.5, 3),
        (60.0, 2),
        (0.0, 1),
        (1e-6, 1),
        (1e-3, 5),
        (2.0, 1),
        (2.0, 2),
        (7.5, 3),
        (25.0, 10),
        (150.0, 1),
        (300.0, 7),
        (1.0, 30),
        (30.0, 30),
        (100.0, 60),
        (700.0, 2),
    ]
    return [{"x": x, "df": df, "sf": float(chi2.sf(x, df))} for x, df in points]


def main():
    out = {
        "produced_by": "python3 tests/reference/make_expected.py > tests/reference/expected.json",
        "lifelines": lifelines.__version__,
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "datasets": [
            hand_made(),
            all_censored(),
            waltons(),
            rossi(),
            rossi_four_groups(),
            synthetic(),
            weighted_hand_made(),
            weighted_synthetic(),
        ],
        "chi_squared_sf": chi_squared(),
    }
    json.dump(out, sys.stdout, indent=1, allow_nan=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
