"""The engine shared by the base classes, `no_leaks`, `verify_none` and the runner.

baseline (every checked probe's mark) -> wait for what is new against one
deadline -> filter by the rules -> hand what is left to the report. One engine
(`_steps`, a generator asking for each wait) and two drivers: `find_leaks` waits
by blocking, `find_leaks_async` by awaiting inside a running loop.

Importing this module installs the process-wide hooks (probes/install.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Coroutine, Generator, Iterable
from typing import Any

from .probes import PROBES, Probe, clock, install
from .report import Leak, LeakError, format_report
from .rules import Rules
from .settings import Settings

__unittest = True  # hide these frames from unittest tracebacks
__tracebackhide__ = True  # and from pytest ones

install.install(hook for probe in PROBES for hook in probe.hooks())


class Baseline:
    """What was there before: one mark per checked probe, and the counts.

    Built on every test, hence a plain class with slots.
    """

    __slots__ = ("settings", "clock", "marks", "counts", "released", "waited")

    def __init__(self, settings: Settings, everything: bool = False) -> None:
        self.settings = settings
        # Read before the marks, so nothing slips in between; -1 never matches.
        self.clock = -1 if everything else clock.now
        self.marks = [(probe, probe.mark(everything)) for probe, _ in settings.checked]
        self.counts = {probe.kind: probe.count() for probe, _ in self.marks}
        self.released = False
        self.waited = 0.0  # seconds spent waiting in the grace period (runner diagnostics)

    def unchanged(self) -> bool:
        """Nothing was started or raised since the baseline: a check would find nothing."""
        return clock.now == self.clock

    def release(self) -> None:
        """Undo what the marks installed, last first; safe to call more than once."""
        if not self.released:
            self.released = True
            for probe, mark in reversed(self.marks):
                if probe.installs:
                    probe.release(mark)


def take_baseline(settings: Settings, everything: bool = False) -> Baseline:
    """Mark every checked probe. With `everything`, all that is alive counts as new."""
    return Baseline(settings, everything)


def counts_now(kinds: Iterable[str]) -> dict[str, int]:
    """How many live items of some kinds (those of a baseline) there are now."""
    wanted = set(kinds)
    return {probe.kind: probe.count() for probe in PROBES if probe.kind in wanted}


# -- the engine and its two drivers ---------------------------------------------

#: What the engine asks a driver to do: wait for these items of this probe until then.
Wait = tuple[Probe[Any, Any], list[object], float]


def _steps(
    baseline: Baseline, deadline: float, in_loop: bool | None
) -> Generator[Wait, list[object], list[Leak]]:
    """Per probe: what is new and not ignored, waited for; the survivors, filtered again.

    `in_loop` limits the check to the probes whose `checked_in_loop` is that value.
    """
    leaks: list[Leak] = []
    # By kind: the settings may have been merged since the marks, a probe wrapped (pytest).
    rules_of = {probe.kind: rules for probe, rules in baseline.settings.checked}
    for probe, mark in baseline.marks:
        if in_loop is not None and probe.checked_in_loop is not in_loop:
            continue
        items = probe.new_since(mark)
        rules = rules_of[probe.kind]
        if items:
            items = _unignored(probe, items, rules)
        if items:
            survivors = yield probe, items, deadline
            # Stacks change while waiting: the rules are applied again.
            items = _unignored(probe, survivors, rules) if survivors else survivors
            if items:
                leaks.extend(probe.describe(items))
                probe.claim(items)
        leaks.extend(probe.errors(mark))
    return leaks


def _unignored(probe: Probe[Any, Any], items: list[object], rules: Rules) -> list[object]:
    candidates = probe.candidates(items, rules.needs_frames())
    return [item for item, candidate in zip(items, candidates) if not rules.ignores(candidate)]


def _deadline(baseline: Baseline, deadline: float | None) -> float:
    return time.monotonic() + baseline.settings.grace_period if deadline is None else deadline


def find_leaks(
    baseline: Baseline, deadline: float | None = None, in_loop: bool | None = None
) -> list[Leak]:
    """What started since `baseline` and is still alive at `deadline`, less the ignored."""
    if baseline.unchanged():
        return []  # nothing was started, nothing raised: the clean path ends here
    steps = _steps(baseline, _deadline(baseline, deadline), in_loop)
    try:
        probe, items, until = next(steps)
        while True:
            started = time.perf_counter()
            survivors = probe.wait(items, until)
            baseline.waited += time.perf_counter() - started
            probe, items, until = steps.send(survivors)
    except StopIteration as done:
        leaks: list[Leak] = done.value
        return leaks


async def find_leaks_async(
    baseline: Baseline, deadline: float | None = None, in_loop: bool | None = None
) -> list[Leak]:
    """`find_leaks` from inside a running event loop: waits by awaiting, never blocks it."""
    if baseline.unchanged():
        return []
    steps = _steps(baseline, _deadline(baseline, deadline), in_loop)
    try:
        probe, items, until = next(steps)
        while True:
            started = time.perf_counter()
            survivors = await probe.wait_async(items, until)
            baseline.waited += time.perf_counter() - started
            probe, items, until = steps.send(survivors)
    except StopIteration as done:
        leaks: list[Leak] = done.value
        return leaks


# -- verdicts -------------------------------------------------------------------


def leak_error(
    baseline: Baseline, leaks: list[Leak], after: dict[str, int] | None = None
) -> LeakError:
    """The error for `leaks`; `after` overrides some of the counts taken now."""
    headings = {kind: text for probe in PROBES for kind, text in probe.headings.items()}
    counts = {**counts_now(set(baseline.counts) - set(after or {})), **(after or {})}
    return LeakError(format_report(leaks, headings, baseline.counts, counts), leaks)


def verify(baseline: Baseline) -> None:
    """Check, release the baseline, and raise `LeakError` if anything leaked."""
    try:
        leaks = find_leaks(baseline)
    finally:
        baseline.release()
    if leaks:
        raise leak_error(baseline, leaks)


async def verify_async(baseline: Baseline) -> None:
    """`verify` from inside a running event loop."""
    try:
        leaks = await find_leaks_async(baseline)
    finally:
        baseline.release()
    if leaks:
        raise leak_error(baseline, leaks)


def verify_around_loop(
    baseline: Baseline,
    run_in_loop: Callable[[Callable[[], Coroutine[Any, Any, None]]], None],
    close_loop: Callable[[], None],
) -> None:
    """The check of a test owning an event loop, in two phases against one deadline.

    1. `run_in_loop` runs the in-loop probes' check (tasks) on the test's loop, where
       what is new gets the grace by being awaited.
    2. `close_loop` tears the loop down (cancelling what is left, reported already,
       and joining the default executor's threads); then every probe is checked.
    One `LeakError` carries everything.
    """
    deadline = time.monotonic() + baseline.settings.grace_period
    leaks: list[Leak] = []
    after: dict[str, int] = {}
    in_loop = [probe for probe, _ in baseline.marks if probe.checked_in_loop]
    try:
        try:
            if in_loop:

                async def in_loop_phase() -> None:
                    leaks.extend(await find_leaks_async(baseline, deadline, in_loop=True))
                    after.update((probe.kind, probe.count()) for probe in in_loop)

                run_in_loop(in_loop_phase)
        finally:
            close_loop()
        leaks.extend(find_leaks(baseline, deadline))
    finally:
        baseline.release()
    if leaks:
        raise leak_error(baseline, leaks, after)
