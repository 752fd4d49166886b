# SPDX-License-Identifier: MIT
"""Every toolkit: windows reach the X server, the loop runs between requests,
real input reaches the handlers (gui_snippets.py has the code per toolkit)."""
import time

from gui_snippets import snippet
from helpers import click_window, find_window, poll, xdotool


def test_window_is_shown(daemon, toolkit, xvfb):
    title = f"guiloop-test-{toolkit}-{daemon.pid}"
    daemon.ok(snippet(toolkit, "window", title=title))
    assert len(find_window(xvfb, title)) == 1
    daemon.ok(snippet(toolkit, "close"))
    poll(lambda: xdotool(xvfb, "search", "--onlyvisible", "--name", f"^{title}$",
                         check=False).returncode != 0,
         5, interval=0.1, what="the window to go away")


def test_timer_runs_between_requests(daemon, toolkit):
    daemon.ok(snippet(toolkit, "ticker"))
    time.sleep(0.5)
    t1 = daemon.value("ticks")
    time.sleep(0.5)
    t2 = daemon.value("ticks")
    assert t1 >= 5, f"only {t1} ticks of a 20 ms timer in 0.5 s"
    assert t2 - t1 >= 5, (t1, t2)


def test_queue_does_not_starve_the_loop(daemon, toolkit):
    daemon.ok(snippet(toolkit, "ticker"))
    time.sleep(0.1)
    blocker = daemon.execute_bg("import time\ntime.sleep(0.3)")
    daemon.wait_busy()
    calls = [daemon.execute_bg("import time\ntime.sleep(0.1)\nticks") for _ in range(10)]
    daemon.wait_queue(10)
    blocker.result(10)
    seen = [int(c.result(20)[1]) for c in calls]
    # Each queued execution sleeps 0.1 s; the 20 ms timer is due before each
    # of them, and the loop must get control between two executions.
    assert seen[-1] - seen[0] >= 5, seen


def test_button_click(daemon, toolkit, xvfb):
    title = f"guiloop-click-{toolkit}-{daemon.pid}"
    daemon.ok(snippet(toolkit, "button", title=title))
    wid = find_window(xvfb, title)[0]
    click_window(xvfb, wid)
    poll(lambda: daemon.value("clicks") == 1, 5, interval=0.05, what="the click handler")
    xdotool(xvfb, "click", "1")
    poll(lambda: daemon.value("clicks") == 2, 5, interval=0.05, what="a second click")
