"""The measurements behind each figure of ``python -m benchmarks``.

Every figure is the median of several runs timed with `time.perf_counter`; a
cost is measured beside its baseline in the same run, the two interleaved (the
order alternating from one repeat to the next) so that drift on a noisy machine
hits both alike. Nothing here asserts a timing: the table says whether a goal is
met, and only `--strict` turns a missed goal into an exit status.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import random
import statistics
import subprocess
import sys
import threading
import time
import unittest
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import leaktest

from .stress import run_once

ROOT = Path(__file__).resolve().parent.parent
US = 1e6
MS = 1e3


class BenchmarkError(Exception):
    """A measured test did not behave as the benchmark expects (so its timing means nothing)."""


@dataclass
class Row:
    """One line of the table. Values are in `unit`; a goal is an upper bound."""

    figure: str
    value: float | None
    unit: str = ""
    baseline: float | None = None
    baseline_label: str = ""
    goal: float | None = None
    note: str = ""
    samples: list[float] = field(default_factory=list)
    baseline_samples: list[float] = field(default_factory=list)

    @property
    def ratio(self) -> float | None:
        if self.value is None or not self.baseline:
            return None
        return self.value / self.baseline

    @property
    def met(self) -> bool | None:
        if self.goal is None or self.value is None:
            return None
        return self.value <= self.goal


@dataclass
class Options:
    repeats: int = 7
    tests: int = 2000  # trivial tests per measurement (figure a and c)
    async_tests: int = 200  # tests per measurement for the asyncio scale figure
    thread_counts: Sequence[int] = (10, 100, 1000)


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


# -- shared helpers -------------------------------------------------------------


def time_suite(case: type[unittest.TestCase], count: int, method: str = "test") -> float:
    """Run `count` instances of one test in a suite; microseconds per test."""
    suite = unittest.TestSuite([case(method) for _ in range(count)])
    result = unittest.TestResult()
    gc.collect()
    start = time.perf_counter()
    suite.run(result)
    elapsed = time.perf_counter() - start
    if not result.wasSuccessful() or result.testsRun != count:
        problems = "\n".join(text for _, text in (result.failures + result.errors)[:1])
        raise BenchmarkError(f"{case.__qualname__}: {result}\n{problems}")
    return elapsed / count * US


def interleaved(
    measure_a: Callable[[], float], measure_b: Callable[[], float], repeats: int
) -> tuple[list[float], list[float]]:
    """`repeats` samples of each, alternating which goes first; one warm-up each first."""
    measure_a(), measure_b()
    a: list[float] = []
    b: list[float] = []
    for i in range(repeats):
        if i % 2 == 0:
            a.append(measure_a())
            b.append(measure_b())
        else:
            b.append(measure_b())
            a.append(measure_a())
    return a, b


def cost_rows(
    label: str,
    checked: list[float],
    plain: list[float],
    plain_label: str,
    goal: float | None,
    unit: str = "us/test",
) -> list[Row]:
    """Two rows: the checked figure against its baseline, and their paired difference."""
    diffs = [c - p for c, p in zip(checked, plain)]
    return [
        Row(
            label,
            median(checked),
            unit,
            baseline=median(plain),
            baseline_label=plain_label,
            samples=checked,
            baseline_samples=plain,
        ),
        Row(
            f"{label}: overhead",
            median(diffs),
            unit.replace("/test", ""),
            goal=goal,
            note="median of paired differences",
            samples=diffs,
        ),
    ]


def trivial_cases() -> tuple[type[unittest.TestCase], type[unittest.TestCase]]:
    class Plain(unittest.TestCase):
        def test(self) -> None:
            pass

    class Checked(leaktest.LeakCheckedTestCase):
        def test(self) -> None:
            pass

    return Plain, Checked


@contextmanager
def idle_threads(count: int) -> Iterator[list[threading.Thread]]:
    """`count` threads blocked on an Event for the duration of the block, then joined."""
    release = threading.Event()
    previous = threading.stack_size(256 * 1024)  # 1000 threads need no 8 MiB stacks
    threads = []
    try:
        for i in range(count):
            thread = threading.Thread(target=release.wait, name=f"bench-idle-{i}", daemon=True)
            thread.start()
            threads.append(thread)
    finally:
        threading.stack_size(previous)
    try:
        yield threads
    finally:
        release.set()
        for thread in threads:
            thread.join()


# -- a. per-test overhead -------------------------------------------------------


def per_test_overhead(options: Options) -> list[Row]:
    plain, checked = trivial_cases()
    n = options.tests
    checked_us, plain_us = interleaved(lambda: time_suite(checked, n), lambda: time_suite(plain, n), options.repeats)
    return cost_rows(f"a. {n} trivial tests, LeakCheckedTestCase", checked_us, plain_us, "TestCase", goal=5.0)


def thread_start_cost(options: Options) -> list[Row]:
    """What the process-wide `Thread.start` wrapper adds to starting one thread."""
    import leaktest.check  # noqa: F401  (installs the hooks)

    hook = getattr(threading.Thread.start, "_leaktest_hook", None)
    original = hook["original"] if isinstance(hook, dict) else None
    if original is None:
        return [Row("a. Thread.start wrapper", None, note="skipped: no Thread.start wrapper found")]
    count = 200

    def measure(start: Callable[[threading.Thread], None]) -> float:
        threads = [threading.Thread(target=int) for _ in range(count)]
        begin = time.perf_counter()
        for thread in threads:
            start(thread)
            thread.join()
        return (time.perf_counter() - begin) / count * US

    wrapped, bare = interleaved(lambda: measure(threading.Thread.start), lambda: measure(original), options.repeats)
    return cost_rows("a. start+join one thread, Thread.start wrapped", wrapped, bare, "unwrapped", None, "us/thread")


# -- b. straggler overshoot -----------------------------------------------------

STRAGGLE = 0.020  # the thread exits about this long after the cleanup signals it
# The exact delay varies from round to round (the same for the three variants of a
# round), so that a 10 ms poll is not measured in phase with a delay of 2 x 10 ms.
STRAGGLE_SPREAD = 0.005


def _seed_wait(thread: threading.Thread, deadline: float) -> None:
    """The seed's pattern: a fixed 10 ms sleep after stop, again until gone."""
    while thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.010)


def _goleak_wait(thread: threading.Thread, deadline: float) -> None:
    """goleak's retry: sleep 1 us, doubling up to 100 ms, until gone."""
    delay = 1e-6
    while thread.is_alive() and time.monotonic() < deadline:
        time.sleep(delay)
        delay = min(delay * 2, 0.100)


def straggler_case(
    base: type[unittest.TestCase], wait: Callable[[threading.Thread, float], None] | None
) -> type[unittest.TestCase]:
    """A test whose cleanup signals a thread that exits STRAGGLE seconds later.

    The thread records `perf_counter()` just before returning; the end of the
    check is recorded when `doCleanups` (where leaktest checks) returns, after
    `wait` for the plain variants.
    """

    class Straggler(base):  # type: ignore[valid-type, misc]
        grace_period = 5.0  # an upper bound only: the check returns when the thread has
        times: dict[str, float]
        straggle = STRAGGLE

        def test(self) -> None:
            times: dict[str, float] = {}
            type(self).times = times
            straggle = self.straggle
            stop = threading.Event()

            def worker() -> None:
                stop.wait()
                time.sleep(straggle)
                times["exit"] = time.perf_counter()

            self.thread = threading.Thread(target=worker, name="straggler")
            self.thread.start()
            self.addCleanup(stop.set)

        def doCleanups(self) -> bool:
            ok: bool = super().doCleanups()
            times = type(self).times
            if "end" not in times:
                if wait is not None:
                    wait(self.thread, time.monotonic() + 5.0)
                    if self.thread.is_alive():
                        raise BenchmarkError("the straggler did not end")
                times["end"] = time.perf_counter()
            return ok

    return Straggler


def straggler_overshoot(options: Options) -> list[Row]:
    variants = {
        "leaktest": straggler_case(leaktest.LeakCheckedTestCase, None),
        "seed": straggler_case(unittest.TestCase, _seed_wait),
        "goleak": straggler_case(unittest.TestCase, _goleak_wait),
    }
    samples: dict[str, list[float]] = {name: [] for name in variants}
    names = list(variants)
    runs = max(5, 3 * options.repeats)
    spread = random.Random(20)  # the same delays on every invocation
    for i in range(runs + 1):
        order = names[i % len(names) :] + names[: i % len(names)]
        straggle = STRAGGLE + spread.uniform(-STRAGGLE_SPREAD, STRAGGLE_SPREAD)
        for name in order:
            case = variants[name]
            case.straggle = straggle  # type: ignore[attr-defined]
            result = unittest.TestResult()
            case("test").run(result)
            if not result.wasSuccessful():
                raise BenchmarkError(f"straggler ({name}): {(result.failures + result.errors)[0][1]}")
            times = case.times  # type: ignore[attr-defined]
            if i:  # the first round warms up
                samples[name].append((times["end"] - times["exit"]) * MS)
    ours = samples["leaktest"]
    return [
        Row(
            "b. straggler (exits 15-25 ms after its signal) overshoot, leaktest vs seed (10 ms sleeps)",
            median(ours),
            "ms",
            baseline=median(samples["seed"]),
            baseline_label="seed",
            goal=1.0,
            samples=ours,
            baseline_samples=samples["seed"],
        ),
        Row(
            "b. straggler overshoot, leaktest vs goleak (1 us doubling to 100 ms)",
            median(ours),
            "ms",
            baseline=median(samples["goleak"]),
            baseline_label="goleak",
            goal=1.0,
            samples=ours,
            baseline_samples=samples["goleak"],
        ),
    ]


# -- c. scale -------------------------------------------------------------------


def scale_threads(options: Options) -> list[Row]:
    plain, checked = trivial_cases()
    n = options.tests
    rows = []
    for count in options.thread_counts:
        with idle_threads(count):
            checked_us, plain_us = interleaved(
                lambda: time_suite(checked, n), lambda: time_suite(plain, n), options.repeats
            )
        rows += cost_rows(f"c. {count} idle threads, {n} trivial tests", checked_us, plain_us, "TestCase", goal=50.0)
    return rows


def starting_cases() -> tuple[type[unittest.TestCase], type[unittest.TestCase]]:
    """Tests that start and join one thread: the check then has to look at the threads."""

    def test(self: unittest.TestCase) -> None:
        thread = threading.Thread(target=int)
        thread.start()
        thread.join()

    plain = type("PlainStarting", (unittest.TestCase,), {"test": test})
    checked = type("CheckedStarting", (leaktest.LeakCheckedTestCase,), {"test": test})
    return plain, checked


def scale_threads_starting(options: Options) -> list[Row]:
    plain, checked = starting_cases()
    n = max(100, options.tests // 4)
    rows = []
    for count in options.thread_counts:
        with idle_threads(count):
            checked_us, plain_us = interleaved(
                lambda: time_suite(checked, n), lambda: time_suite(plain, n), options.repeats
            )
        rows += cost_rows(
            f"c. {count} idle threads, {n} tests starting+joining a thread",
            checked_us,
            plain_us,
            "TestCase",
            goal=50.0,
        )
    return rows


def scale_tasks(options: Options) -> list[Row]:
    checked_base = getattr(leaktest, "LeakCheckedAsyncTestCase", None)
    label = f"c. 100 tasks per test, {options.async_tests} asyncio tests"
    if checked_base is None:
        return [Row(label, None, note="skipped: leaktest.LeakCheckedAsyncTestCase does not exist yet")]

    async def hundred_tasks(self: unittest.IsolatedAsyncioTestCase) -> None:
        go = asyncio.Event()
        tasks = [asyncio.create_task(go.wait()) for _ in range(100)]
        await asyncio.sleep(0)  # all 100 are live and waiting on the loop
        go.set()
        await asyncio.gather(*tasks)

    plain = type("PlainTasks", (unittest.IsolatedAsyncioTestCase,), {"test": hundred_tasks})
    checked = type("CheckedTasks", (checked_base,), {"test": hundred_tasks})
    n = options.async_tests
    # IsolatedAsyncioTestCase runs its loop in debug mode, which logs every step
    # slower than 100 ms: on a loaded machine that is noise, not a finding.
    asyncio_logger = logging.getLogger("asyncio")
    level = asyncio_logger.level
    asyncio_logger.setLevel(logging.ERROR)
    try:
        checked_us, plain_us = interleaved(
            lambda: time_suite(checked, n), lambda: time_suite(plain, n), options.repeats
        )
    finally:
        asyncio_logger.setLevel(level)
    return cost_rows(label, checked_us, plain_us, "IsolatedAsyncioTestCase", goal=50.0)


# -- d. the failure path --------------------------------------------------------


def failure_report(options: Options) -> list[Row]:
    count = 100
    samples = []
    for i in range(options.repeats + 1):
        release = threading.Event()
        threads = []
        try:
            try:
                with leaktest.no_leaks(grace_period=0):
                    for j in range(count):
                        thread = threading.Thread(target=release.wait, name=f"bench-leak-{j}")
                        thread.start()
                        threads.append(thread)
                    begin = time.perf_counter()
            except leaktest.LeakError as error:
                elapsed = time.perf_counter() - begin
                if len(error.leaks) != count or "bench-leak-99" not in str(error):
                    raise BenchmarkError(f"expected {count} leaked threads, got {len(error.leaks)}") from error
            else:
                raise BenchmarkError("no_leaks did not raise LeakError for 100 leaked threads")
        finally:
            release.set()
            for thread in threads:
                thread.join()
        if i:
            samples.append(elapsed * MS)
    return [Row(f"d. report for {count} leaked threads", median(samples), "ms", samples=samples)]


# -- e. the runner against unittest ---------------------------------------------


def runner_wall_time(options: Options) -> list[Row]:
    rows = []
    for suite in ("tests", "examples"):
        label = f"e. python -m leaktest discover -s {suite}"
        if not (ROOT / "leaktest" / "__main__.py").exists():
            rows.append(Row(label, None, note="skipped: leaktest/__main__.py does not exist yet"))
            continue
        if not (ROOT / suite).is_dir():
            rows.append(Row(label, None, note=f"skipped: no {suite}/ directory"))
            continue
        ours = [sys.executable, "-m", "leaktest", "discover", "-s", suite]
        theirs = [sys.executable, "-m", "unittest", "discover", "-s", suite]
        statuses: dict[str, set[int | None]] = {"leaktest": set(), "unittest": set()}

        def measure(command: list[str], key: str) -> float:
            status, _, seconds = run_once(command, timeout=300)
            statuses[key].add(status)
            return seconds * MS

        checked, plain = interleaved(
            lambda: measure(ours, "leaktest"), lambda: measure(theirs, "unittest"), options.repeats
        )
        note = ", ".join(
            f"{key} exit {' '.join('timeout' if code is None else str(code) for code in codes)}"
            for key, codes in statuses.items()
            if codes != {0}
        )
        rows.append(
            Row(
                label,
                median(checked),
                "ms",
                baseline=median(plain),
                baseline_label="unittest",
                note=note,
                samples=checked,
                baseline_samples=plain,
            )
        )
    return rows


# -- f. the clean path in a busy suite ------------------------------------------


@contextmanager
def busy_process() -> Iterator[None]:
    """What a suite keeps alive beside its tests, all started before them: one asyncio
    loop running in a background thread with 3 pending tasks, one long-lived child
    process and 100 idle threads."""
    loop = asyncio.new_event_loop()
    hub = threading.Thread(target=loop.run_forever, name="bench-hub", daemon=True)
    hub.start()
    stop = asyncio.run_coroutine_threadsafe(_make_stop(), loop).result()

    async def pending() -> None:
        await stop.wait()

    tasks = [asyncio.run_coroutine_threadsafe(_spawn(pending), loop).result() for _ in range(3)]
    child = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    try:
        with idle_threads(100):
            yield
    finally:
        assert child.stdin is not None
        child.stdin.close()
        child.wait()
        loop.call_soon_threadsafe(stop.set)
        for task in tasks:
            asyncio.run_coroutine_threadsafe(_finished(task), loop).result()
        loop.call_soon_threadsafe(loop.stop)
        hub.join()
        loop.close()


async def _make_stop() -> asyncio.Event:
    return asyncio.Event()


async def _spawn(coro: Callable[[], Awaitable[None]]) -> asyncio.Task[None]:
    return asyncio.get_running_loop().create_task(coro())


async def _finished(task: asyncio.Task[None]) -> None:
    await task


def clean_path(options: Options) -> list[Row]:
    """Trivial tests, side by side with plain unittest: idle, in a busy process, asyncio."""
    plain, checked = trivial_cases()
    n = options.tests
    rows = []
    idle = interleaved(lambda: time_suite(checked, n), lambda: time_suite(plain, n), options.repeats)
    rows += cost_rows(f"f. idle process, {n} trivial tests", *idle, "TestCase", goal=3.0)
    with busy_process():
        busy = interleaved(lambda: time_suite(checked, n), lambda: time_suite(plain, n), options.repeats)
    rows += cost_rows(
        f"f. busy process (hub loop + 3 tasks, 1 child, 100 threads), {n} trivial tests",
        *busy,
        "TestCase",
        goal=5.0,
    )
    rows += _async_clean_path(options)
    return rows


def _async_clean_path(options: Options) -> list[Row]:
    """Trivial asyncio tests against IsolatedAsyncioTestCase twice: in the same process
    (the issue's measure), and in the process as plain unittest runs it, without
    leaktest's hooks, which fire on the loop's creation, its self-pipe sockets and its
    runner's tasks (the hooks are taken out for those samples and put back after)."""
    from leaktest.probes import PROBES, install

    async def trivial(self: unittest.IsolatedAsyncioTestCase) -> None:
        pass

    plain = type("PlainAsync", (unittest.IsolatedAsyncioTestCase,), {"test": trivial})
    checked = type("CheckedAsync", (leaktest.LeakCheckedAsyncTestCase,), {"test": trivial})
    n = max(50, options.tests // 4)
    hooks = [hook for probe in PROBES for hook in probe.hooks()]

    def unhooked() -> float:
        install.uninstall()
        try:
            return time_suite(plain, n)
        finally:
            install.install(hooks)

    asyncio_logger = logging.getLogger("asyncio")
    level = asyncio_logger.level
    asyncio_logger.setLevel(logging.ERROR)  # debug mode logs slow steps: noise here
    try:
        same = interleaved(lambda: time_suite(checked, n), lambda: time_suite(plain, n), options.repeats)
        alone = interleaved(lambda: time_suite(checked, n), unhooked, options.repeats)
    finally:
        asyncio_logger.setLevel(level)
    rows = []
    for label, plain_label, (checked_us, plain_us), goal in (
        (f"f. {n} trivial asyncio tests", "IsolatedAsyncioTestCase", same, 2.0),
        (f"f. {n} trivial asyncio tests, plain without hooks", "same, no leaktest hooks", alone, None),
    ):
        percents = [(c - p) / p * 100 for c, p in zip(checked_us, plain_us)]
        rows += cost_rows(label, checked_us, plain_us, plain_label, goal=None)
        rows.append(
            Row(
                f"{label}: overhead in %",
                median(percents),
                "%",
                goal=goal,
                note="median of paired ratios",
                samples=percents,
            )
        )
    return rows


FIGURES: dict[str, list[Callable[[Options], list[Row]]]] = {
    "a": [per_test_overhead, thread_start_cost],
    "b": [straggler_overshoot],
    "c": [scale_threads, scale_threads_starting, scale_tasks],
    "d": [failure_report],
    "e": [runner_wall_time],
    "f": [clean_path],
}
