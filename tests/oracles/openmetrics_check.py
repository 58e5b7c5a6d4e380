"""Reads an OpenMetrics exposition on stdin and checks it with the Prometheus project's
own parser (prometheus_client.openmetrics.parser, strict: # EOF, types, suffixes,
escaping, histogram buckets) and the naming conventions of
https://prometheus.io/docs/practices/naming/ : snake_case names, a unit as the last
word of the name when the family declares one, counters exposed as *_total, no
duplicate series. Prints one JSON object: {"families": {name: {"type", "unit",
"samples": [[sample_name, labels, value], ...]}}}; exits 1 with the reasons otherwise.
"""
import json
import re
import sys

from prometheus_client.openmetrics.parser import text_string_to_metric_families

NAME = re.compile(r"^[a-z_][a-z0-9_]*$")


def main() -> int:
    text = sys.stdin.read()
    problems = []
    families = {}
    try:
        parsed = list(text_string_to_metric_families(text))
    except Exception as e:  # the parser's verdict is the point
        print(f"not valid OpenMetrics: {e}", file=sys.stderr)
        return 1
    seen = set()
    for f in parsed:
        if not NAME.match(f.name):
            problems.append(f"{f.name}: not a snake_case metric name")
        if f.unit and not f.name.endswith("_" + f.unit):
            problems.append(f"{f.name}: unit {f.unit} is not the name's last word")
        if not f.documentation:
            problems.append(f"{f.name}: no HELP")
        samples = []
        for s in f.samples:
            key = (s.name, tuple(sorted(s.labels.items())))
            if key in seen:
                problems.append(f"{s.name}{s.labels}: duplicate series")
            seen.add(key)
            if f.type == "counter" and not (s.name.endswith("_total") or s.name.endswith("_created")):
                problems.append(f"{s.name}: a counter sample not named *_total")
            samples.append([s.name, s.labels, s.value])
        families[f.name] = {"type": f.type, "unit": f.unit, "samples": samples}
    if problems:
        print("\n".join(problems), file=sys.stderr)
        return 1
    json.dump({"families": families}, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
