#!/usr/bin/env python3
"""Times channelattribution.markov_model on a path table (bench/attribution/gen_paths.py).

    python3 bench/attribution/time_channelattribution.py PATHS.csv [NSIM=1000000] [CALLS=1]

Reads the CSV (timed apart), then times CALLS calls (the first cold, the others warm) of
`markov_model(Data, "path", "conversions", var_null="nulls", order=1, nsim_start=NSIM,
flg_pro=False, verbose=False)`, every other argument at its default (seed 0, nfold 10, ncore 1,
max_step = the longest path). Prints one JSON line: read and model seconds (one per call), and each channel's
share of the total conversions.
"""

import contextlib
import io
import json
import sys
import time

with contextlib.redirect_stdout(io.StringIO()):  # the package prints a banner on import
    import ChannelAttribution as ca
import pandas as pd
from importlib.metadata import version


def main():
    path = sys.argv[1]
    nsim = int(float(sys.argv[2])) if len(sys.argv) > 2 else 1_000_000
    t0 = time.perf_counter()
    data = pd.read_csv(path)
    calls = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    t1 = time.perf_counter()
    model_s = []
    for _ in range(max(calls, 1)):
        started = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):
            result = ca.markov_model(
                data, "path", "conversions", var_null="nulls", order=1, nsim_start=nsim,
                flg_pro=False, verbose=False,
            )
        model_s.append(time.perf_counter() - started)
    total = float(result["total_conversions"].sum())
    shares = {
        str(name): float(v) / total
        for name, v in zip(result["channel_name"], result["total_conversions"])
    }
    print(json.dumps({
        "package_version": version("channelattribution"),
        "nsim_start": nsim,
        "read_s": t1 - t0,
        "model_s": model_s,
        "shares": shares,
    }))


if __name__ == "__main__":
    main()
