# SPDX-License-Identifier: MIT
"""The plugin ABI's growth rule, as the daemon applies it (--list-plugins on
the unit tests' plugins): a plugin built against ABI 1's first, smaller
tables loads; one too small for its ABI, of another ABI or without the entry
says why, naming its file."""
import pytest

from helpers import BUILD_DIR, run_guiloopd

pytestmark = pytest.mark.core

TEST_PLUGINS = BUILD_DIR / "tests"


def _listing(cli_env):
    if not (TEST_PLUGINS / "test-old-table.so").exists():
        pytest.skip(f"the unit tests' plugins are not built in {TEST_PLUGINS}")
    p = run_guiloopd(["--list-plugins", "--plugin-dir", str(TEST_PLUGINS)], cli_env)
    assert p.returncode == 0, p.stderr
    return [line for line in p.stdout.splitlines() if not line.startswith("#")]


def _line(listing, name):
    for line in listing:
        if f"{TEST_PLUGINS}/{name}.so" in line:
            return line
    raise AssertionError(f"{name}.so not listed: {listing}")


def test_an_older_smaller_table_loads(cli_env):
    line = _line(_listing(cli_env), "test-old-table")
    assert line.startswith("test-old-table "), line
    assert "ABI 1's first tables" in line, line


@pytest.mark.parametrize("name,why", [
    ("test-small-table", "table of 8 bytes, ABI 1 needs at least"),
    ("test-abi-mismatch", "ABI 2, expected 1"),
    ("test-no-entry", "no entry symbol guiloop_plugin_entry"),
])
def test_a_plugin_that_cannot_load_says_why(cli_env, name, why):
    line = _line(_listing(cli_env), name)
    assert line.startswith("error ") and why in line, line
