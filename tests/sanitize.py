#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Run a part of the integration suite against the ASan+UBSan build; TAP out.

usage: tests/sanitize.py            (meson test 'sanitize', run by tests/run)

$GUILOOP_ASAN_BUILD_DIR is the sanitizer build (tests/run makes it with the
gtk and tk plugins); without it the test is skipped.  What runs: the whole
integration suite for gtk (the Tk guest tests too), the hardening tests and
the fuzzers included, but the tests that measure RSS (under ASan RSS is its
quarantine).  About 2 minutes.  Each pytest case is a TAP line; one more
line says how many sanitizer reports the daemons wrote (log_path files):
any report fails it.

The sanitizer options, and why:
- detect_leaks=0: the embedded interpreter keeps its objects until the
  process ends, and PyGObject's type data is never freed; LeakSanitizer
  reported thousands of "leaks" per daemon, none of them ours to fix.
- detect_odr_violation=0 is not needed: measured 0 reports without it.
- abort_on_error=0, halt_on_error=1: a report ends the daemon (the test
  fails there too) and leaves the report file.
- UBSan: print_stacktrace=1, halt_on_error=1 (-fno-sanitize-recover is not
  in meson's b_sanitize, so the runtime option does it).
"""
import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

SOURCE = Path(__file__).resolve().parents[1]
PYTHON = "/usr/bin/python3"


def main():
    build = os.environ.get("GUILOOP_ASAN_BUILD_DIR")
    daemon = Path(build or "/nonexistent") / "daemon" / "guiloopd"
    if not build or not daemon.exists():
        print("1..0 # SKIP no ASan build (tests/run makes one in $BUILD_ASAN)")
        return 0
    reports = Path(tempfile.mkdtemp(prefix="guiloop-sanitizer-"))
    junit = Path(build) / "meson-logs" / "sanitize.xml"
    env = dict(os.environ)
    env.update({
        "GUILOOPD": str(daemon),
        "GUILOOPCTL": str(Path(build) / "client" / "guiloopctl"),
        "GUILOOP_BUILD_DIR": build,
        "GUILOOP_SOURCE_DIR": str(SOURCE),
        "GUILOOP_TEST_TOOLKITS": "gtk",
        "GUILOOP_ASAN": "1",
        "ASAN_OPTIONS": f"detect_leaks=0:abort_on_error=0:halt_on_error=1:"
                        f"log_path={reports}/asan",
        "UBSAN_OPTIONS": f"print_stacktrace=1:halt_on_error=1:log_path={reports}/ubsan",
    })
    integration = SOURCE / "tests" / "integration"
    args = [PYTHON, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rfE",
            f"--junitxml={junit}",
            # RSS under ASan is its quarantine (256 MB by default), not ours.
            "-k", "not memory_bounded and not grow_memory",
            str(integration)]
    p = subprocess.run(args, env=env, cwd=str(SOURCE), stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, errors="backslashreplace")
    cases = []
    if junit.exists():
        for case in ET.parse(junit).getroot().iter("testcase"):
            tags = {c.tag for c in case}
            name = f"{case.get('classname')}::{case.get('name')}"
            cases.append((name, "failure" in tags or "error" in tags, "skipped" in tags))
    found = sorted(reports.iterdir())
    print(f"1..{len(cases) + 1}")
    for i, (name, failed, skipped) in enumerate(cases, 1):
        print(f"{'not ok' if failed else 'ok'} {i} - asan {name}{' # SKIP' if skipped else ''}")
    print(f"{'not ok' if found else 'ok'} {len(cases) + 1} - {len(found)} sanitizer reports "
          f"in {len(cases)} tests")
    for f in found[:5]:
        print(f"# {f.name}:")
        for line in f.read_text(errors="replace").splitlines()[:40]:
            print(f"#   {line}")
    if p.returncode not in (0, 1) or not cases:
        print("# pytest output:")
        for line in p.stdout.splitlines()[-60:]:
            print(f"#   {line}")
    return 1 if found or any(f for _, f, _ in cases) or not cases else 0


if __name__ == "__main__":
    sys.exit(main())
