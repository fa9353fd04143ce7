"""The heap at its peak by holder, from heaptrack's stacks.

    python3 bench/heap_holders.py STACKS CRATES_DIR

STACKS is `heaptrack_print --flamegraph-cost-type peak -F STACKS`: one line per allocation
stack, frames outermost first, then the bytes it held at the peak. Each stack is filed under the
first holder below whose test it passes, read from the frames of tenure's own source files
(named by CRATES_DIR's .rs files); the rules go from the most to the least specific.
"""

import collections
import pathlib
import re
import sys

HOLDERS = [
    ("touchpoint lists (each owner's sessions, tracks, offline rows)",
     lambda s: "touchpoints (model.rs)" in s),
    ("touchpoint tallies (the touchpoints report)", lambda s: "(tally.rs)" in s),
    ("account journeys and the touchpoints' bookkeeping",
     lambda s: "(touches.rs)" in s or "offline_keyed" in s),
    ("success facts", lambda s: "(success.rs)" in s),
    ("page views (each identity's sorted list)", lambda s: "(sorted.rs)" in s),
    ("page facts (URLs, UTM values, click ids, referrers)",
     lambda s: "(marketing.rs)" in s or "reindex (sessions.rs)" in s
     or ("(sessions.rs)" in s and "decode (parts.rs)" in s)),
    ("the identity components' table", lambda s: "from_parts (parts.rs)" in s),
    ("merged usage (events held by identities, joined)", lambda s: "merge_held" in s),
    ("product usage", lambda s: "(usage.rs)" in s),
    ("identity graph", lambda s: "(identity.rs)" in s or "(email.rs)" in s),
    ("ledger", lambda s: "(ledger.rs)" in s),
    ("profiles", lambda s: "(profiles.rs)" in s),
    ("health history being recorded (the store's page cache)", lambda s: "record_history" in s),
    ("a report's working memory (lifecycles, scores, back-test)",
     lambda s: "(accounts.rs)" in s or "(score.rs)" in s),
    ("other model sections (e-mails, account links, first events, offline rows)",
     lambda s: "decode (parts.rs)" in s),
]


def main(stacks, crates):
    ours = {p.name for p in pathlib.Path(crates).rglob("*.rs")}
    held = collections.Counter()
    total = 0
    for line in open(stacks):
        stack, _, cost = line.rstrip().rpartition(" ")
        total += int(cost)
        # Keep only frames of our own files, so a std file of the same name does not match.
        frames = [f for f in stack.split(";")
                  if (m := re.search(r"\(([\w.]+)\)$", f)) and m.group(1) in ours]
        text = ";".join(frames)
        name = next((n for n, test in HOLDERS if test(text)), "everything else")
        held[name] += int(cost)
    print(f"| holder at the heap's peak | MB |\n|---|---:|")
    for name, cost in held.most_common():
        print(f"| {name} | {cost / 1e6:.0f} |")
    print(f"| **all** | **{total / 1e6:.0f}** |")


if __name__ == "__main__":
    main(*sys.argv[1:3])
