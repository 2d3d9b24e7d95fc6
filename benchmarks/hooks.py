"""``python -m benchmarks.hooks``: what leaktest's hooks add to a socket and a task.

Each side runs in a fresh interpreter: "plain" never imports leaktest, "leaktest"
imports it (which installs the hooks) and runs inside a `LeakCheckedTestCase` test,
as a user's code does. Each child times `--ops` operations a batch, several batches,
and prints the median cost of one operation; the sides alternate, child after child,
and a figure is the median of the paired differences (leaktest minus plain of the
same round), so that a shared machine's drift hits both alike; a batch is timed in
CPU time (`time.process_time`), which what other processes take does not count
into. Two callers: shallow
(the operation right in the test) and deep (`--depth` frames of the caller's own
below it). Nothing here asserts a timing.

- socket: ``socket.socket()`` then ``close()``.
- task: ``await loop.create_task(coro())``, from a coroutine `--depth` awaits deep.
- debugtask: the same on a loop in asyncio's debug mode, as every
  `IsolatedAsyncioTestCase` runs its tests. Each task extracts the whole stack as it
  is made, so both sides run at the same depth, outside a test: the leaktest side with
  its hooks in place, as asynchooks.
- testcase, asynccase: one trivial test, `LeakCheckedTestCase` against
  `unittest.TestCase`, `LeakCheckedAsyncTestCase` against `IsolatedAsyncioTestCase`
  (`--ops` tests a batch; the percentage is the median of paired ratios).
- asynchooks: the same trivial `IsolatedAsyncioTestCase` test on both sides, the
  leaktest side with leaktest's hooks in place and no check: asynccase's figure is
  this one (the hooks) plus the baseline and the check.
- asyncmade: as asynccase, a test that makes a socket (closed) and awaits a task:
  the clock moves, so the check takes its whole path, around the loop's closing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: The kinds measured at a shallow and a deep caller; the others once a test.
DEPTH_KINDS = ("socket", "task", "debugtask")

_CHILD = r'''
import asyncio, socket, statistics, sys, time
side, kind, depth, ops, batches = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])

def socket_batch():
    started = time.process_time()
    for _ in range(ops):
        socket.socket().close()
    return time.process_time() - started

def nested(levels, work):
    if levels <= 1:
        return work()
    return nested(levels - 1, work)

async def leaf():
    return None

async def task_batch():
    loop = asyncio.get_running_loop()
    started = time.process_time()
    for _ in range(ops):
        await loop.create_task(leaf())
    return time.process_time() - started

async def nested_async(levels):
    if levels <= 1:
        return await task_batch()
    return await nested_async(levels - 1)

def trivial_tests(base):
    """`ops` trivial tests of `base` run by unittest, a batch."""
    import unittest

    async def async_trivial(self):
        pass

    async def async_making(self):
        socket.socket().close()
        await asyncio.get_running_loop().create_task(leaf())

    def trivial(self):
        pass

    test = trivial if "Async" not in base.__name__ else async_making if kind == "asyncmade" else async_trivial
    case = type("Trivial", (base,), {"test": test})
    suite = unittest.TestSuite(case("test") for _ in range(ops))
    result = unittest.TestResult()
    started = time.process_time()
    suite.run(result)
    elapsed = time.process_time() - started
    if not result.wasSuccessful():
        raise SystemExit(str(result.errors + result.failures))
    return elapsed

def measure():
    times = []
    if kind in ("testcase", "asynccase", "asynchooks", "asyncmade"):
        import unittest
        if side == "plain" or kind == "asynchooks":
            base = unittest.TestCase if kind == "testcase" else unittest.IsolatedAsyncioTestCase
        else:
            import leaktest
            base = leaktest.LeakCheckedTestCase if kind == "testcase" else leaktest.LeakCheckedAsyncTestCase
        for _ in range(batches):
            times.append(trivial_tests(base))
    elif kind == "socket":
        for _ in range(batches):
            times.append(nested(depth, socket_batch))
    else:
        loop = asyncio.new_event_loop()
        loop.set_debug(kind == "debugtask")
        loop.slow_callback_duration = float("inf")  # (under callgrind every step is "slow", and logged)
        try:
            for _ in range(batches):
                times.append(loop.run_until_complete(nested_async(depth)))
        finally:
            loop.close()
    print(statistics.median(times) / ops * 1e6)

if side == "leaktest" and kind in ("asynchooks", "debugtask"):
    import leaktest.check  # which puts the hooks in place
if side == "plain" or kind in ("testcase", "asynccase", "asynchooks", "asyncmade", "debugtask"):
    measure()
else:
    import unittest, leaktest

    class Bench(leaktest.LeakCheckedTestCase):
        def test(self):
            measure()

    result = unittest.TestResult()
    unittest.defaultTestLoader.loadTestsFromTestCase(Bench).run(result)
    if result.errors or result.failures:
        raise SystemExit(str(result.errors + result.failures))
'''


def child(python: str, side: str, kind: str, depth: int, ops: int, batches: int) -> float:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("PYTHONASYNCIODEBUG", None)
    out = subprocess.run(
        [python, "-c", _CHILD, side, kind, str(depth), str(ops), str(batches)],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return float(out.split()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--rounds", type=int, default=9, help="paired rounds (one child per side each)")
    parser.add_argument("--ops", type=int, default=2000, help="operations per batch")
    parser.add_argument("--batches", type=int, default=7, help="batches per child (its median is its figure)")
    parser.add_argument("--depth", type=int, default=15, help="frames of the caller's own for the deep caller")
    parser.add_argument("--kinds", default="socket,task,debugtask,testcase,asynccase")
    args = parser.parse_args(argv)
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    print(f"{args.python}: {args.rounds} rounds, {args.batches}x{args.ops} operations a child; load {load}")
    print(f"{'what':<22}{'plain us':>10}{'leaktest us':>13}{'+us (median of pairs)':>24}{'pairs min..max':>18}")
    for kind in args.kinds.split(","):
        for depth in (1, args.depth) if kind in DEPTH_KINDS else (1,):
            plain: list[float] = []
            checked: list[float] = []
            for index in range(args.rounds):
                order = ("plain", "leaktest") if index % 2 == 0 else ("leaktest", "plain")
                got = {side: child(args.python, side, kind, depth, args.ops, args.batches) for side in order}
                plain.append(got["plain"])
                checked.append(got["leaktest"])
            diffs = [c - p for c, p in zip(checked, plain)]
            label = f"{kind}, depth {depth}" if kind in DEPTH_KINDS else f"{kind}, per test"
            percent = statistics.median([d / p * 100 for d, p in zip(diffs, plain)])
            print(
                f"{label:<22}{statistics.median(plain):>10.2f}{statistics.median(checked):>13.2f}"
                f"{statistics.median(diffs):>+24.2f}{min(diffs):>+9.2f}..{max(diffs):+.2f}  ({percent:+.1f}%)"
            )
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    print(f"load at the end {load}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
