"""``python -m benchmarks.stragglers``: how long stdlib stragglers take to end under load.

A straggler is something a test's shutdown asked to stop without waiting for it:
it ends on its own a moment after the cleanups, and the check must wait for it.
Each scenario below is a real stdlib shutdown that returns before its threads (or
its children) are gone. Every round runs each scenario once, with busy-loop
processes keeping every core loaded, and measures how long the check waited
(with a grace long enough never to be reached). The longest wait is what the
default `grace_period` must cover.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import os
import statistics
import sys
import threading
import time
from collections.abc import Callable, Sequence

from leaktest import check
from leaktest.settings import Settings

from .stress import start_busy, stop_busy

MEASURING_GRACE = 30.0  # never reached by a straggler; a real leak here is a bug


def _sleep_job(seconds: float) -> None:
    time.sleep(seconds)


def process_pool_cancelled() -> None:
    """A process pool shut down without waiting, its queued work cancelled."""
    pool = concurrent.futures.ProcessPoolExecutor(max_workers=2)
    for _ in range(4):
        pool.submit(_sleep_job, 0.01)
    pool.shutdown(wait=False, cancel_futures=True)


def thread_pool_not_waited() -> None:
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=4)
    for _ in range(8):
        pool.submit(_sleep_job, 0.001)
    pool.shutdown(wait=False)


def timer_cancelled() -> None:
    timer = threading.Timer(3600, print)
    timer.start()
    timer.cancel()  # the timer thread ends once it sees the cancel


def loop_thread_stopped() -> None:
    """An asyncio loop in a thread, stopped thread-safely and not joined."""
    loop = asyncio.new_event_loop()
    started = threading.Event()

    def run() -> None:
        loop.call_soon(started.set)
        loop.run_forever()
        loop.close()

    threading.Thread(target=run, name="loop-thread").start()
    started.wait()
    loop.call_soon_threadsafe(loop.stop)


SCENARIOS: dict[str, Callable[[], None]] = {
    "ProcessPoolExecutor shutdown(wait=False, cancel_futures=True)": process_pool_cancelled,
    "ThreadPoolExecutor shutdown(wait=False)": thread_pool_not_waited,
    "threading.Timer cancel() without join": timer_cancelled,
    "asyncio loop thread stopped, not joined": loop_thread_stopped,
}


def measure(scenario: Callable[[], None]) -> float:
    """Seconds the check waited for what `scenario` left behind."""
    baseline = check.take_baseline(Settings({"grace_period": MEASURING_GRACE}))
    assert baseline is not None
    scenario()
    check.verify(baseline)  # raises LeakError if anything outlived the grace
    return baseline.waited


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.stragglers",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--rounds", type=int, default=50, help="runs of each scenario (50)")
    parser.add_argument("--busy", type=int, default=os.cpu_count() or 1, help="busy-loop processes (one per CPU)")
    args = parser.parse_args(argv)
    waits: dict[str, list[float]] = {name: [] for name in SCENARIOS}
    busy = start_busy(args.busy)
    try:
        for _ in range(args.rounds):
            for name, scenario in SCENARIOS.items():
                waits[name].append(measure(scenario))
    finally:
        stop_busy(busy)
    print(
        f"stragglers: {args.rounds} rounds, {args.busy} busy loops, {sys.version.split()[0]}, "
        f"{os.cpu_count()} CPUs, load average {', '.join(f'{v:.1f}' for v in os.getloadavg())}"
    )
    for name, values in waits.items():
        values.sort()
        p99 = values[min(len(values) - 1, int(len(values) * 0.99))]
        print(
            f"  {name}: median {statistics.median(values) * 1000:.1f} ms, "
            f"p99 {p99 * 1000:.1f} ms, max {values[-1] * 1000:.1f} ms"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
