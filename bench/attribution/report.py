#!/usr/bin/env python3
"""Markdown table for bench/attribution/markov_vs_channelattribution.sh.

    python3 bench/attribution/report.py PACKAGE.jsonl TENURE.jsonl PATHS.csv

Each JSONL line is one run (a fresh process) of time_channelattribution.py or of the
markov_bench example. The ratio is channelattribution's model time / tenure's model time.
"""

import json
import statistics
import sys


def load(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def main():
    package = load(sys.argv[1])
    tenure = load(sys.argv[2])
    with open(sys.argv[3]) as f:
        lines = f.read().splitlines()[1:]
    conversions = sum(int(line.rsplit(",", 2)[1]) for line in lines)
    journeys = tenure[0]["journeys"]

    version = package[0]["package_version"]
    nsim = package[0]["nsim_start"]
    print(f"{journeys:,} journeys ({conversions:,} converting), {len(lines):,} distinct paths; "
          f"channelattribution {version} `markov_model(order=1, nsim_start={nsim:.0e})` "
          f"vs tenure exact `credit(Markov {{ order: 1 }})`.")
    print()
    print("| run | channelattribution (s) | tenure (s) | ratio | warm: channelattribution (s) "
          "| warm: tenure (s) | warm ratio |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for i, (p, t) in enumerate(zip(package, tenure), 1):
        pc, tc = p["model_s"][0], t["model_s"][0]
        pw, tw = p["model_s"][-1], t["model_s"][-1]
        print(f"| {i} | {pc:.3f} | {tc:.4f} | {pc / tc:.1f}x | {pw:.3f} | {tw:.4f} | "
              f"{pw / tw:.1f}x |")
    pm = statistics.median(p["model_s"][0] for p in package)
    tm = statistics.median(t["model_s"][0] for t in tenure)
    pwm = statistics.median(p["model_s"][-1] for p in package)
    twm = statistics.median(t["model_s"][-1] for t in tenure)
    print(f"| median | {pm:.3f} | {tm:.4f} | {pm / tm:.1f}x | {pwm:.3f} | {twm:.4f} | "
          f"{pwm / twm:.1f}x |")
    print()
    print("Cold: each process's first model call; warm: its second call on the same input. "
          "Ratio: channelattribution's time / tenure's.")
    print()
    read = statistics.median(p["read_s"] for p in package)
    parse = statistics.median(t["parse_s"] for t in tenure)
    expand = statistics.median(t["expand_s"] for t in tenure)
    print("Apart from the model (medians): channelattribution reads the CSV with pandas in "
          f"{read:.3f} s; tenure reads + parses it in {parse:.3f} s and expands the rows into "
          f"{journeys:,} `Journey`s in {expand:.3f} s. End to end (input + model): "
          f"channelattribution {read + pm:.3f} s, tenure {parse + expand + tm:.3f} s "
          f"({(read + pm) / (parse + expand + tm):.1f}x).")
    ps, ts = package[0]["shares"], tenure[0]["shares"]
    worst = max(abs(ps[c] - ts[c]) for c in ts)
    print()
    print(f"Max difference in a channel's share of the conversions: {worst * 100:.2f} points "
          f"(the package simulates {nsim:,} walks in {10} folds of {nsim // 10:,}, "
          "returning one fold).")


if __name__ == "__main__":
    main()
