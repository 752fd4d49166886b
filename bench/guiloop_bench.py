"""Issue 13's figures for bench/run: call_in_gui round trip, asyncio timer
lateness, asyncio's per-iteration cost against plain python3.

figures(execute, percentile, verdict) runs against the daemon bench/run has
started; execute(code) -> (success, result, stdout, stderr).
"""
import ast
import subprocess
import time

CALL_P50_TARGET_US = 50.0
CALL_P99_TARGET_US = 1000.0
LATER_P99_TARGET_MS = 2.0
SLEEP0_RATIO_TARGET = 3.0

# A worker thread: call_in_gui(f).result() one after the other, while the GUI
# thread idles in its loop (the execution that starts it has returned).
# gap: seconds the worker sleeps before each call (0: back to back).
CALL_IN_GUI = """
import guiloop, threading, time
bench_calls = []
def _bench_worker(n=%d, warmup=%d, gap=%r):
    f = lambda: None
    for i in range(n + warmup):
        if gap:
            time.sleep(gap)
        t0 = time.perf_counter_ns()
        guiloop.call_in_gui(f).result()
        if i >= warmup:
            bench_calls.append((time.perf_counter_ns() - t0) / 1e3)
threading.Thread(target=_bench_worker).start()
"""

# A chain of call_later(0.01) callbacks on the daemon's asyncio loop, between
# executions; each one's lateness against when it was due (loop.time()).
CALL_LATER = """
import asyncio
bench_late = []
_loop = asyncio.get_event_loop()
def _fire(due, left):
    bench_late.append((_loop.time() - due) * 1000)
    if left:
        _loop.call_later(0.01, _fire, _loop.time() + 0.01, left - 1)
_loop.call_later(0.01, _fire, _loop.time() + 0.01, %d)
"""

# The same chain in a plain python3, in the same run: what the machine allows.
CALL_LATER_PLAIN = """
import asyncio
late = []
async def main():
    loop = asyncio.get_running_loop()
    done = loop.create_future()
    def fire(due, left):
        late.append((loop.time() - due) * 1000)
        if left:
            loop.call_later(0.01, fire, loop.time() + 0.01, left - 1)
        else:
            done.set_result(None)
    loop.call_later(0.01, fire, loop.time() + 0.01, %d)
    await done
asyncio.run(main())
print(late)
"""

SLEEP0 = """
import asyncio, time
async def _spin(n):
    t0 = time.perf_counter()
    for _ in range(n):
        await asyncio.sleep(0)
    return (time.perf_counter() - t0) / n * 1e9
"""
SLEEP0_DAEMON = SLEEP0 + "await asyncio.get_running_loop().create_task(_spin(%d))"
SLEEP0_PLAIN = SLEEP0 + "print(asyncio.run(_spin(%d)))"


def _poll(execute, expr, until, timeout):
    deadline = time.monotonic() + timeout
    while True:
        ok, result, _, err = execute(expr)
        if not ok:
            raise RuntimeError(err)
        value = ast.literal_eval(result)
        if until(value) or time.monotonic() > deadline:
            return value
        time.sleep(0.1)


def figures(execute, percentile, verdict, calls=2000, timers=300, spins=10000, sparse=300):
    lines = []

    ok, _, _, err = execute(CALL_IN_GUI % (calls, 200, 0))
    if not ok:
        raise RuntimeError(err)
    rtt = _poll(execute, "bench_calls", lambda v: len(v) >= calls, 60)
    p50, p99 = percentile(rtt, 50), percentile(rtt, 99)
    # The same, one call every 5 ms: both threads fall asleep between calls.
    ok, _, _, err = execute(CALL_IN_GUI % (sparse, 20, 0.005))
    if not ok:
        raise RuntimeError(err)
    lone = _poll(execute, "bench_calls", lambda v: len(v) >= sparse, 60)
    good = p50 <= CALL_P50_TARGET_US and p99 <= CALL_P99_TARGET_US
    lines.append(f"call_in_gui_rtt_p50_us={p50:.1f} call_in_gui_rtt_p99_us={p99:.1f} "
                 f"(target p50 <= {CALL_P50_TARGET_US:.0f}, p99 <= "
                 f"{CALL_P99_TARGET_US:.0f}) {verdict(good)}  [{len(rtt)} calls from a "
                 f"worker thread, GUI idle; one call every 5 ms instead: p50 "
                 f"{percentile(lone, 50):.1f} us, p99 {percentile(lone, 99):.1f} us]")

    ok, _, _, err = execute(CALL_LATER % timers)
    if not ok:
        raise RuntimeError(err)
    late = _poll(execute, "bench_late", lambda v: len(v) > timers, timers * 0.02 + 10)
    p50, p99 = percentile(late, 50), percentile(late, 99)
    plain = ast.literal_eval(subprocess.run(
        ["/usr/bin/python3", "-c", CALL_LATER_PLAIN % timers], capture_output=True,
        text=True, check=True, timeout=120).stdout)
    lines.append(f"asyncio_call_later10_lateness_p50_ms={p50:.3f} "
                 f"asyncio_call_later10_lateness_p99_ms={p99:.3f} (target <= "
                 f"{LATER_P99_TARGET_MS}) {verdict(p99 <= LATER_P99_TARGET_MS)}  "
                 f"[{len(late)} timers; plain python3 in this run: p50 "
                 f"{percentile(plain, 50):.3f} ms, p99 {percentile(plain, 99):.3f} ms]")

    ok, result, _, err = execute(SLEEP0_DAEMON % spins)
    if not ok:
        raise RuntimeError(err)
    ours = float(result)
    plain = float(subprocess.run(["/usr/bin/python3", "-c", SLEEP0_PLAIN % spins],
                                 capture_output=True, text=True, check=True,
                                 timeout=120).stdout)
    ratio = ours / plain
    lines.append(f"asyncio_sleep0_ns={ours:.0f} plain_python3_sleep0_ns={plain:.0f} "
                 f"ratio={ratio:.2f} (target <= {SLEEP0_RATIO_TARGET}) "
                 f"{verdict(ratio <= SLEEP0_RATIO_TARGET)}  [{spins} await "
                 f"asyncio.sleep(0) in one task]")
    return lines
