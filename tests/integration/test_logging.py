# SPDX-License-Identifier: MIT
"""Logging: one stderr line per event, journald priority prefixes under JOURNAL_STREAM."""
import re

from helpers import poll

PREFIX = re.compile(r"^<[3467]>")


def lines_of(d):
    return [line for line in d.log().splitlines() if line.strip()]


def test_verbose_logs_each_execution(start_daemon):
    d = start_daemon(args=["--verbose"])
    d.ok("0")
    n0 = len(lines_of(d))
    for i in range(5):
        d.ok(str(i))
    poll(lambda: len(lines_of(d)) >= n0 + 5, 5, what="a log line per execution")


def test_journal_stream_prefixes(start_daemon):
    d = start_daemon(args=["--verbose"], journal=True)
    d.ok("1")
    d.execute("1/0")
    d.interrupt()
    assert d.shutdown() == ()
    assert d.wait(10) == 0
    lines = lines_of(d)
    assert len(lines) >= 2, lines
    bad = [line for line in lines if not PREFIX.match(line)]
    assert not bad, f"lines without a priority prefix: {bad}"


def test_no_prefix_without_journal_stream(start_daemon):
    d = start_daemon(args=["--verbose"])
    d.ok("1")
    d.execute("1/0")
    assert d.shutdown() == ()
    assert d.wait(10) == 0
    lines = lines_of(d)
    assert lines, "--verbose logged nothing"
    assert not [line for line in lines if re.match(r"^<\d>", line)], lines


def test_error_is_logged_with_error_priority(start_daemon, tmp_path):
    # A second daemon for a name that is taken fails; under journald its line is <3>.
    start_daemon(instance="logdup")
    d = start_daemon(instance="logdup", journal=True, wait=False)
    assert d.wait(15) == 75
    lines = lines_of(d)
    assert any(line.startswith("<3>") and "org.guiloop.GuiLoop1.logdup" in line
               for line in lines), lines
