#!/usr/bin/env python3
"""Seeded synthetic journeys for bench/attribution/markov_vs_channelattribution.sh.

    python3 bench/attribution/gen_paths.py OUT.csv [JOURNEYS=1000000] [SEED=42]

Generates JOURNEYS journeys over 12 channels (1-12 touches, repeated touches, ~97.6% not
converting at the defaults) and writes them aggregated by path, as channelattribution takes
them: a CSV with header `path,conversions,nulls`, channels joined by ">". tenure's side
(examples/markov_bench.rs) reads the same file and expands every row back into its journeys,
so both see the same data.
"""

import csv
import random
import sys
from collections import Counter

CHANNELS = [
    "paid_search", "seo", "social", "display", "email", "referral",
    "direct", "webinar", "affiliate", "video", "podcast", "partner",
]
REACH = [0.18, 0.16, 0.13, 0.11, 0.09, 0.07, 0.07, 0.05, 0.05, 0.04, 0.02, 0.03]
PULL = [0.012, 0.010, 0.004, 0.002, 0.015, 0.020, 0.025, 0.030, 0.008, 0.003, 0.006, 0.028]


def main():
    out = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000
    seed = int(sys.argv[3]) if len(sys.argv) > 3 else 42
    rng = random.Random(seed)
    cum = []
    acc = 0.0
    for r in REACH:
        acc += r
        cum.append(acc)
    conv, null = Counter(), Counter()
    for _ in range(n):
        length = 1
        while length < 12 and rng.random() < 0.5:
            length += 1
        path = []
        for _ in range(length):
            if path and rng.random() < 0.3:
                path.append(path[-1])
            else:
                path.append(CHANNELS[rng.choices(range(len(CHANNELS)), cum_weights=cum)[0]])
        p = 0.005 + sum(PULL[CHANNELS.index(c)] for c in set(path))
        key = ">".join(path)
        if rng.random() < p:
            conv[key] += 1
        else:
            null[key] += 1
    paths = sorted(set(conv) | set(null))
    with open(out, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["path", "conversions", "nulls"])
        for key in paths:
            w.writerow([key, conv[key], null[key]])
    print(
        f"{n} journeys, {sum(conv.values())} converting, {len(paths)} distinct paths -> {out}",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
