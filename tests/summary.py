#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Count the test results of a `meson test` run.

usage: tests/summary.py BUILDDIR

Reads BUILDDIR/meson-logs/testlog.json (one JSON object per meson test) and
BUILDDIR/meson-logs/integration.xml (pytest's JUnit XML).  Unit tests speak
TAP: each `ok N` / `not ok N` line of their output is one test (`# SKIP`
counts as skipped); a unit test with no TAP lines counts once, by its meson
result; a TAP test that meson failed although every line said ok (a crash
after the last line, a missing plan) adds one failure.  The integration
suite is counted from the JUnit XML, one per pytest case, not as its single
meson entry.

Prints a line per meson test, then last `N passed, N failed[, N skipped]`.
Exit status: 0 if nothing failed and at least one test ran, else 1.
"""
import json
import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

TAP_LINE = re.compile(r"^(not )?ok\b(?:\s+\d+)?(.*)$")
SKIP = re.compile(r"#\s*skip", re.I)
TODO = re.compile(r"#\s*todo", re.I)
OK_RESULTS = {"OK", "EXPECTEDFAIL"}


def is_integration(entry):
    cmd = entry.get("command") or []
    return entry["name"].split(" / ")[-1] == "integration" or \
        ("-m" in cmd and "pytest" in cmd)


def count_tap(entry):
    passed = failed = skipped = 0
    for line in (entry.get("stdout") or "").splitlines():
        m = TAP_LINE.match(line.strip())
        if not m:
            continue
        rest = m.group(2)
        if SKIP.search(rest):
            skipped += 1
        elif m.group(1) and not TODO.search(rest):
            failed += 1
        else:
            passed += 1
    if passed + failed + skipped == 0:
        if entry["result"] == "SKIP":
            return 0, 0, 1
        return (1, 0, 0) if entry["result"] in OK_RESULTS else (0, 1, 0)
    if failed == 0 and entry["result"] not in OK_RESULTS | {"SKIP"}:
        failed += 1
    return passed, failed, skipped


def count_junit(path):
    passed = failed = skipped = 0
    failures = []
    root = ET.parse(path).getroot()
    for case in root.iter("testcase"):
        tags = {child.tag for child in case}
        name = f"{case.get('classname')}::{case.get('name')}"
        if "failure" in tags or "error" in tags:
            failed += 1
            failures.append(name)
        elif "skipped" in tags:
            skipped += 1
        else:
            passed += 1
    return passed, failed, skipped, failures


def main():
    if len(sys.argv) != 2:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    logs = Path(sys.argv[1]) / "meson-logs"
    testlog = logs / "testlog.json"
    total = [0, 0, 0]
    if not testlog.exists():
        print(f"summary: {testlog} is missing: no test ran")
    else:
        for line in testlog.read_text().splitlines():
            if not line.strip():
                continue
            entry = json.loads(line)
            if is_integration(entry):
                xml = logs / "integration.xml"
                if xml.exists() and xml.stat().st_mtime >= entry.get("starttime", 0) - 1:
                    p, f, s, failures = count_junit(xml)
                    if f == 0 and entry["result"] not in OK_RESULTS:
                        f += 1  # pytest failed outside any test case
                        failures.append(f"pytest exited with {entry.get('returncode')}")
                else:
                    p, f, s, failures = 0, 1, 0, [f"no {xml} from this run"]
                for name in failures:
                    print(f"  FAIL {name}")
            else:
                p, f, s = count_tap(entry)
            print(f"{entry['name']}: {entry['result']}: {p} passed, {f} failed, {s} skipped")
            total = [total[0] + p, total[1] + f, total[2] + s]
    passed, failed, skipped = total
    line = f"{passed} passed, {failed} failed"
    if skipped:
        line += f", {skipped} skipped"
    print(line)
    return 0 if failed == 0 and passed + failed > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
