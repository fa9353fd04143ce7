"""Parses an OpenMetrics text exposition (stdin) with Prometheus's Python client and prints it
as JSON: {family: {"type": T, "samples": [[name, labels, value], ...]}}. Any syntax error in
the exposition makes the parser raise, and this script exit non-zero."""
import json
import sys

from prometheus_client.openmetrics.parser import text_string_to_metric_families

families = {}
for family in text_string_to_metric_families(sys.stdin.read()):
    families[family.name] = {
        "type": family.type,
        "samples": [[s.name, s.labels, s.value] for s in family.samples],
    }
json.dump(families, sys.stdout)
