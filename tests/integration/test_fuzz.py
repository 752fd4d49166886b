# SPDX-License-Identifier: MIT
"""The fuzzers of tests/fuzz, a fixed seed and a fixed number of runs each (issue 8).

D-Bus: every call gets exactly one reply (none when flagged no-reply), the
daemon survives and still answers.  Config: every mutant of the shipped
configuration exits 0 or 78, and a 78 says FILE:LINE: (or FILE: for a file
that cannot be read).
"""
import json
import os
import sys

import pytest

from helpers import SOURCE_DIR

sys.path.insert(0, str(SOURCE_DIR / "tests" / "fuzz"))
import config_mutate  # noqa: E402
import dbus_fuzz  # noqa: E402

pytestmark = pytest.mark.hardening

# Fixed sizes, for a run within ~1 minute on a shared 2-core machine; the
# environment may ask for more (a longer local soak).
DBUS_CALLS = int(os.environ.get("GUILOOP_FUZZ_CALLS", "3000"))
CONFIG_MUTANTS = int(os.environ.get("GUILOOP_FUZZ_MUTANTS", "2000"))
SEED = int(os.environ.get("GUILOOP_FUZZ_SEED", "8"))


@pytest.mark.core
def test_dbus_fuzz_one_reply_per_call(daemon):
    f = dbus_fuzz.Fuzzer(daemon.address, daemon.name, seed=SEED, calls=DBUS_CALLS,
                         ascii_echo=bool(os.environ.get("GUILOOP_FUZZ_ASCII_ECHO")))
    try:
        r = f.run()
    finally:
        f.close()
    print("dbus fuzz:", json.dumps(r))
    assert daemon.alive(), daemon.log()[-3000:]
    assert r["settled"], f"calls left unanswered: {r}"
    assert (r["missing"], r["double"], r["unwanted"]) == (0, 0, 0), r
    assert r["replies"] == r["expected"] > 0.8 * DBUS_CALLS * 0.9 * 0.95 * 0.9
    assert r["largest_message"] > 1 << 20, r["largest_message"]
    # Still itself afterwards.
    assert daemon.ok("6 * 7", timeout=30) == "42"


@pytest.mark.core
def test_config_mutants_exit_0_or_78(guiloopd, cli_env, tmp_path):
    r = config_mutate.run(guiloopd, cli_env, tmp_path, seed=SEED, mutants=CONFIG_MUTANTS)
    print("config mutants:", json.dumps({k: v for k, v in r.items() if k != "bad"}))
    assert not r["bad"], r["bad"][:5]
    assert r["exit_0"] > 0 and r["exit_78"] > 0, r
