"""The engine shared by the base classes, `no_leaks`, `verify_none` and the runner.

baseline (every probe's mark) -> wait for what is new against one deadline ->
filter by the rules -> hand what is left to the report.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass

from .probes import Probe, all_probes
from .report import Leak, LeakError, format_report
from .rules import Rules
from .settings import Settings

__unittest = True  # hide these frames from unittest tracebacks
__tracebackhide__ = True  # and from pytest ones

_PROBES = all_probes()


@dataclass
class Baseline:
    """What was there before: one mark per checked probe, and the counts."""

    settings: Settings
    marks: list[tuple[Probe[object, object], object]]
    counts: dict[str, int]
    released: bool = False
    waited: float = 0.0  # seconds spent waiting in the grace period (runner diagnostics)

    def release(self) -> None:
        """Undo what the marks installed; safe to call more than once."""
        if not self.released:
            self.released = True
            for probe, mark in self.marks:
                probe.release(mark)


def take_baseline(settings: Settings, everything: bool = False) -> Baseline:
    """Mark every checked probe. With `everything`, all that is alive counts as new."""
    marks = [(probe, probe.mark(everything)) for probe in _PROBES if settings.checks(probe.kind)]
    counts = {probe.kind: probe.count() for probe in _PROBES}
    return Baseline(settings, marks, counts)


def counts_now() -> dict[str, int]:
    return {probe.kind: probe.count() for probe in _PROBES}


def count_of(kind: str) -> int:
    """How many live items of one kind there are now (0 for an unknown kind)."""
    return sum(probe.count() for probe in _PROBES if probe.kind == kind)


def find_leaks(
    baseline: Baseline, deadline: float | None = None, kinds: Iterable[str] | None = None
) -> list[Leak]:
    """What started since `baseline` and is still alive at `deadline`, less the ignored.

    `kinds` limits the check to some probes (the async case checks tasks first).
    """
    if deadline is None:
        deadline = time.monotonic() + baseline.settings.grace_period
    wanted = None if kinds is None else set(kinds)
    leaks: list[Leak] = []
    for probe, mark in baseline.marks:
        if wanted is not None and probe.kind not in wanted:
            continue
        items = probe.new_since(mark)
        if items:
            rules = baseline.settings.rules(probe.kind)
            items = _unignored(probe, items, rules)
            if items:
                # Stacks change while waiting: apply the rules again to what is left.
                started = time.perf_counter()
                survivors = probe.wait(items, deadline)
                baseline.waited += time.perf_counter() - started
                items = _unignored(probe, survivors, rules)
            if items:
                leaks.extend(probe.describe(items))
                probe.claim(items)
        leaks.extend(probe.errors(mark))
    return leaks


async def find_leaks_async(
    baseline: Baseline, deadline: float | None = None, kinds: Iterable[str] | None = None
) -> list[Leak]:
    """`find_leaks` from inside a running event loop: waits by awaiting, never blocks it."""
    if deadline is None:
        deadline = time.monotonic() + baseline.settings.grace_period
    wanted = None if kinds is None else set(kinds)
    leaks: list[Leak] = []
    for probe, mark in baseline.marks:
        if wanted is not None and probe.kind not in wanted:
            continue
        items = probe.new_since(mark)
        if items:
            rules = baseline.settings.rules(probe.kind)
            items = _unignored(probe, items, rules)
            if items:
                started = time.perf_counter()
                survivors = await probe.wait_async(items, deadline)
                baseline.waited += time.perf_counter() - started
                items = _unignored(probe, survivors, rules)
            if items:
                leaks.extend(probe.describe(items))
                probe.claim(items)
        leaks.extend(probe.errors(mark))
    return leaks


async def verify_async(baseline: Baseline) -> None:
    """`verify` from inside a running event loop."""
    try:
        leaks = await find_leaks_async(baseline)
    finally:
        baseline.release()
    if leaks:
        raise leak_error(baseline, leaks)


def _unignored(probe: Probe[object, object], items: list[object], rules: Rules) -> list[object]:
    candidates = probe.candidates(items, rules.needs_frames())
    return [item for item, candidate in zip(items, candidates) if not rules.ignores(candidate)]


def leak_error(
    baseline: Baseline, leaks: list[Leak], after: dict[str, int] | None = None
) -> LeakError:
    """The error for `leaks`; `after` overrides some of the counts taken now."""
    return LeakError(format_report(leaks, baseline.counts, {**counts_now(), **(after or {})}), leaks)


def verify(baseline: Baseline) -> None:
    """Check, release the baseline, and raise `LeakError` if anything leaked."""
    try:
        leaks = find_leaks(baseline)
    finally:
        baseline.release()
    if leaks:
        raise leak_error(baseline, leaks)
