#!/usr/bin/env python3
"""Checks tenure's predictions against what the simulator planted, seed by seed (issue 19).

For each seed: simulate a company (`tenure sim`), import it into a fresh data directory, run the
reports, and compare them with ground_truth.json. Prints one Markdown table row per seed (the
tables of VALIDATION.md). Run from the repository root after `cargo build --release`:

    python3 bench/validation/validate.py ltv --accounts 10000 955837 978932 912063
    python3 bench/validation/validate.py experiment --accounts 2000 SEED...

`ltv`: Spearman's rank correlation, over the paid campaigns, between the planted and the
reported predicted LTV per dollar (first touch: the planted lifetime value of each campaign's
customers; shapley, markov, w_shaped: each campaign's planted contributed value, its own
customers' lifetime value plus what its touches add to the customers other campaigns brought), the share of campaigns whose planted LTV lies within the reported 90% interval, the
back-test's calibration slope, and the churn and health AUCs.
`experiment`: whether the experiment report's 95% interval of the activation lift holds the
planted lift.

Spearman's coefficient is computed here (Pearson's r of average ranks), as scipy.stats.spearmanr
does; the script needs only Python's standard library.
"""
import json, os, shutil, subprocess, sys, tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("TENURE_BIN", os.path.join(ROOT, "target", "release", "tenure"))


def ranks(xs):
    order = sorted(range(len(xs)), key=lambda i: xs[i])
    r = [0.0] * len(xs)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and xs[order[j + 1]] == xs[order[i]]:
            j += 1
        for k in range(i, j + 1):
            r[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return r


def spearman(a, b):
    if len(a) < 3:
        return None
    ra, rb = ranks(a), ranks(b)
    n = len(a)
    ma, mb = sum(ra) / n, sum(rb) / n
    cov = sum((x - ma) * (y - mb) for x, y in zip(ra, rb))
    va = sum((x - ma) ** 2 for x in ra) ** 0.5
    vb = sum((y - mb) ** 2 for y in rb) ** 0.5
    return cov / (va * vb) if va and vb else None


def company(seed, accounts, months, work):
    sim, data = os.path.join(work, "sim"), os.path.join(work, "data")
    subprocess.run([BIN, "sim", "--out", sim, "--accounts", str(accounts), "--months",
                    str(months), "--seed", str(seed)], check=True, capture_output=True)
    files = sorted(os.path.join(sim, f) for f in os.listdir(sim) if f.endswith((".csv", ".ndjson")))
    subprocess.run([BIN, "--data-dir", data, "import", *files], check=True, capture_output=True)
    with open(os.path.join(sim, "ground_truth.json")) as f:
        truth = json.load(f)
    return data, truth


def report(data, *args):
    out = subprocess.run([BIN, "--data-dir", data, "report", *args, "--format", "json"],
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def fmt(v, digits=3):
    return "n/a" if v is None else f"{v:.{digits}f}"


def ltv(seed, accounts, months, work):
    data, truth = company(seed, accounts, months, work)
    paid = [c for c in truth["campaigns"] if c["spend_cents"] > 0 and c["customers"] > 0]
    cells = [str(seed), str(accounts)]
    # First touch: planted lifetime value of each campaign's customers per dollar.
    rows = {r["campaign"]: r for r in report(data, "attribution", "--by", "campaign", "--model",
                                              "first_touch", "--metric", "predicted_ltv")["rows"]}
    planted, reported, inside = [], [], 0
    for c in paid:
        r = rows.get(c["campaign"])
        if r is None or c.get("planted_ltv_cents") is None:
            continue
        planted.append(c["planted_ltv_cents"] / c["spend_cents"])
        reported.append(r["predicted_ltv"] / (c["spend_cents"] / 100))
        low, high = r.get("low_90"), r.get("high_90")
        if low is not None and high is not None and low <= c["planted_ltv_cents"] / 100 <= high:
            inside += 1
    cells.append(fmt(spearman(planted, reported)))
    # The other models against the planted incremental value of each campaign's touches.
    for model in ["shapley", "markov", "w_shaped"]:
        rows = {r["campaign"]: r for r in report(data, "attribution", "--by", "campaign",
                                                  "--model", model, "--metric",
                                                  "predicted_ltv")["rows"]}
        p, q = [], []
        for c in paid:
            r = rows.get(c["campaign"])
            if r is None or c.get("contributed_value_per_dollar") is None:
                continue
            p.append(c["contributed_value_per_dollar"])
            q.append((r["predicted_ltv"] or 0) / (c["spend_cents"] / 100))
        cells.append(fmt(spearman(p, q)))
    cells.append(f"{inside}/{len(planted)}")
    back = report(data, "ltv-backtest")["summary"]
    cells.append(fmt(back["calibration_slope"]))
    cells.append(fmt(back["interval_coverage"]))
    churn = report(data, "churn-model")["summary"]
    cells.append(fmt(churn["holdout_roc_auc"]))
    cells.append(fmt(churn["holdout_roc_auc_can_leave"]))
    health = report(data, "health-backtest")["summary"]["configs"][0]
    cells.append(fmt(health["roc_auc"]))
    cells.append(fmt(health["roc_auc_can_leave"]))
    print("| " + " | ".join(cells) + " |", flush=True)


def experiment(seed, accounts, months, work):
    data, truth = company(seed, accounts, months, work)
    lift = truth["world"]["experiment"]["activation_lift"]
    r = report(data, "experiment", "--by", "onboarding_variant")
    row = next(row for row in r["rows"] if not row["control"])
    # The planted lift is on whether a customer activates at all: activation to date.
    low = row["activation_to_date_difference_low_95"]
    high = row["activation_to_date_difference_high_95"]
    held = low is not None and high is not None and low <= lift <= high
    cells = [str(seed), str(accounts), fmt(lift), fmt(row["activation_to_date_difference"]),
             f"{fmt(low)} – {fmt(high)}", "yes" if held else "no"]
    print("| " + " | ".join(cells) + " |", flush=True)


def main():
    args = sys.argv[1:]
    if not args or args[0] not in ("ltv", "experiment"):
        sys.exit(__doc__)
    kind, rest = args[0], args[1:]
    accounts, months = 10000, 24
    if rest[:1] == ["--accounts"]:
        accounts, rest = int(rest[1]), rest[2:]
    if rest[:1] == ["--months"]:
        months, rest = int(rest[1]), rest[2:]
    if kind == "ltv":
        print("| seed | accounts | ρ first touch | ρ shapley | ρ markov | ρ w_shaped "
              "| planted LTV in 90% interval | back-test slope | back-test coverage "
              "| churn AUC | churn AUC can leave | health AUC | health AUC can leave |")
        print("|" + "---|" * 13)
    else:
        print("| seed | accounts | planted lift | reported lift | 95% interval | held |")
        print("|" + "---|" * 6)
    for seed in rest:
        work = tempfile.mkdtemp(prefix=f"tenure-validate-{seed}-")
        try:
            (ltv if kind == "ltv" else experiment)(int(seed), accounts, months, work)
        finally:
            shutil.rmtree(work)


if __name__ == "__main__":
    main()
