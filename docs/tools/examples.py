#!/usr/bin/env python3
"""Regenerates the examples of docs/reports.md (its <!-- example:NAME --> blocks) from the
release binary, over the sample company the page names. Run from the repository root after
`cargo build --release`:

    python3 docs/tools/examples.py

It writes the company and its store under a temporary directory and rewrites the blocks in
place; review the diff like any other change.
"""
import os, re, subprocess, sys, tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.join(ROOT, "target", "release", "tenure")
DOC = os.path.join(ROOT, "docs", "reports.md")
account = sys.argv[1] if len(sys.argv) > 1 else "acct_000001"
work = tempfile.mkdtemp(prefix="tenure-doc-examples-")
SIM, DATA = os.path.join(work, "sim"), os.path.join(work, "data")
subprocess.run([BIN, "sim", "--out", SIM, "--accounts", "300", "--months", "18", "--seed", "7"],
               check=True, capture_output=True)
files = sorted(os.path.join(SIM, f) for f in os.listdir(SIM) if f.endswith((".csv", ".ndjson")))
subprocess.run([BIN, "--data-dir", DATA, "import", *files], check=True, capture_output=True)
EXAMPLES = {
    "mrr": (["mrr", "--from", "2026-01-01"], 8),
    "retention": (["retention", "--by", "tier"], 10),
    "cohorts": (["cohorts"], 14),
    "survival": (["survival", "--by", "tier"], 10),
    "ltv": (["ltv", "--by", "channel"], 12),
    "unit-economics": (["unit-economics"], 14),
    "attribution": (["attribution", "--model", "w_shaped", "--metric", "initial_arr"], 14),
    "journey": (["journey", account, "--model", "w_shaped"], 10),
    "touchpoints": (["touchpoints"], 14),
    "funnel": (["funnel"], 14),
    "experiment": (["experiment", "--by", "onboarding_variant"], 20),
    "accounts": (["accounts", "--sort", "risk"], 8),
    "account": (["account", account], 12),
    "signals": (["signals", "--signal", "usage_drop"], 8),
    "renewals": (["renewals"], 8),
    "adoption": (["adoption", "--band", "red"], 8),
    "health-backtest": (["health-backtest"], 12),
    "churn-model": (["churn-model"], 10),
    "predicted-ltv": (["predicted-ltv"], 10),
    "ltv-backtest": (["ltv-backtest"], 8),
    "forecast": (["forecast"], 10),
}
doc = open(DOC).read()
for name, (args, keep) in EXAMPLES.items():
    cmd = [BIN, "--data-dir", DATA, "report"] + args
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        print(name, "FAILED", out.returncode, out.stderr, file=sys.stderr)
        continue
    lines = out.stdout.rstrip("\n").split("\n")
    shown = lines[:keep]
    if len(lines) > keep:
        shown.append(f"… ({len(lines) - keep} more lines)")
    block = "```console\n$ tenure report " + " ".join(args) + "\n" + "\n".join(l.rstrip() for l in shown) + "\n```"
    stderr = "\n".join(l for l in out.stderr.strip().split("\n") if l and not l.startswith("as of "))
    if stderr:
        block += "\n\nOn stderr:\n\n```text\n" + out.stderr.strip() + "\n```"
    pattern = re.compile(r"<!-- example:%s -->.*?<!-- /example -->" % re.escape(name), re.S)
    doc, n = pattern.subn(lambda m: f"<!-- example:{name} -->\n{block}\n<!-- /example -->", doc)
    assert n == 1, name
open(DOC, "w").write(doc)
