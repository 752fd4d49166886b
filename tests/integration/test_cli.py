# SPDX-License-Identifier: MIT
"""Command line: --help, --version, bad usage (exit 64).

These run with no display and no session bus at all."""
import re

import pytest

from helpers import EX_USAGE, run_guiloopd

OPTIONS = ["--config", "--toolkit", "--tk-guest", "--instance", "--plugin-dir",
           "--check-config", "--list-plugins", "--verbose", "--version", "--help"]


def test_help_lists_every_option(guiloopd, cli_env):
    p = run_guiloopd(["--help"], cli_env)
    assert p.returncode == 0, p.stderr
    for opt in OPTIONS:
        assert re.search(rf"(?<![\w-]){re.escape(opt)}(?![\w-])", p.stdout), \
            f"{opt} missing from --help:\n{p.stdout}"


def test_version(guiloopd, cli_env):
    p = run_guiloopd(["--version"], cli_env)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "guiloopd 0.1.0"


@pytest.mark.parametrize("args", [
    ["--bogus"],
    ["-Z"],
    ["stray-argument"],
    ["--instance", "9bad"],
    ["--instance", "has-dash"],
    ["--instance"],
    ["--config"],
    ["--toolkit"],
], ids=lambda a: " ".join(a) or "empty")
def test_bad_usage_exits_64(guiloopd, cli_env, args):
    p = run_guiloopd(args, cli_env)
    assert p.returncode == EX_USAGE, (p.returncode, p.stdout, p.stderr)
    lines = p.stderr.splitlines()
    assert any(line.startswith("guiloopd: ") for line in lines), p.stderr


def test_bad_usage_message_names_the_option(guiloopd, cli_env):
    p = run_guiloopd(["--bogus-option"], cli_env)
    assert p.returncode == EX_USAGE
    assert "--bogus-option" in p.stderr or "bogus-option" in p.stderr, p.stderr


def test_bad_instance_message_names_the_value(guiloopd, cli_env):
    p = run_guiloopd(["--instance", "9bad"], cli_env)
    assert p.returncode == EX_USAGE
    assert "9bad" in p.stderr, p.stderr


def test_unknown_toolkit_on_command_line(guiloopd, cli_env):
    # A bad value given on the command line is a usage error (64), like --instance 9bad.
    p = run_guiloopd(["--toolkit", "Foo"], cli_env)
    assert p.returncode == EX_USAGE, (p.returncode, p.stderr)
    assert "Foo" in p.stderr, p.stderr
