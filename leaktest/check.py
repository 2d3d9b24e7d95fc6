"""The engine shared by the base classes, `no_leaks`, `verify_none` and the runner.

baseline (every probe's mark) -> wait for what is new against one deadline ->
filter by the rules -> hand what is left to the report.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterable, Iterator
from typing import Any

from .probes import Probe, all_probes, clock
from .report import Leak, LeakError, format_report
from .rules import Rules
from .settings import Settings

__unittest = True  # hide these frames from unittest tracebacks
__tracebackhide__ = True  # and from pytest ones

_PROBES = all_probes()


class Baseline:
    """What was there before: one mark per checked probe, and the counts.

    Built on every test, hence a plain class with slots.
    """

    __slots__ = ("settings", "clock", "marks", "counts", "released", "waited")

    def __init__(self, settings: Settings, everything: bool = False) -> None:
        self.settings = settings
        # Read before the marks, so nothing slips in between; -1 never matches.
        self.clock = -1 if everything else clock.now
        checked = (
            settings.check_threads,
            settings.check_tasks,
            settings.check_processes,
            settings.check_sockets,
            settings.check_handles,
            settings.check_loops,
            settings.check_fds,
        )
        self.marks = [(probe, probe.mark(everything)) for probe in _PROBES_FOR[checked]]
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


_KINDS = ("threads", "tasks", "processes", "sockets", "handles", "loops", "fds")

#: The probes to mark, by the settings' switches, in the order of `_KINDS`.
_PROBES_FOR = {
    flags: [probe for probe in _PROBES if dict(zip(_KINDS, flags))[probe.kind]]
    for flags in itertools.product((False, True), repeat=len(_KINDS))
}


def take_baseline(settings: Settings, everything: bool = False) -> Baseline:
    """Mark every checked probe. With `everything`, all that is alive counts as new."""
    return Baseline(settings, everything)


def counts_now(kinds: Iterable[str]) -> dict[str, int]:
    """The counts of some kinds now (those of a baseline)."""
    wanted = set(kinds)
    return {probe.kind: probe.count() for probe in _PROBES if probe.kind in wanted}


def find_leaks(
    baseline: Baseline, deadline: float | None = None, kinds: Iterable[str] | None = None
) -> list[Leak]:
    """What started since `baseline` and is still alive at `deadline`, less the ignored.

    `kinds` limits the check to some probes (the async case checks tasks first).
    """
    if baseline.unchanged():
        return []  # nothing was started, nothing raised: the clean path ends here
    if deadline is None:
        deadline = time.monotonic() + baseline.settings.grace_period
    leaks: list[Leak] = []
    for probe, mark, items, rules in _new_items(baseline, kinds, leaks):
        started = time.perf_counter()
        survivors = probe.wait(items, deadline)
        baseline.waited += time.perf_counter() - started
        _report(probe, survivors, rules, leaks)
    return leaks


async def find_leaks_async(
    baseline: Baseline, deadline: float | None = None, kinds: Iterable[str] | None = None
) -> list[Leak]:
    """`find_leaks` from inside a running event loop: waits by awaiting, never blocks it."""
    if baseline.unchanged():
        return []
    if deadline is None:
        deadline = time.monotonic() + baseline.settings.grace_period
    leaks: list[Leak] = []
    for probe, mark, items, rules in _new_items(baseline, kinds, leaks):
        started = time.perf_counter()
        survivors = await probe.wait_async(items, deadline)
        baseline.waited += time.perf_counter() - started
        _report(probe, survivors, rules, leaks)
    return leaks


def _new_items(
    baseline: Baseline, kinds: Iterable[str] | None, leaks: list[Leak]
) -> Iterator[tuple[Probe[Any, Any], object, list[object], Rules]]:
    """Per probe, what is new and not ignored (to be waited for); errors go to `leaks`."""
    wanted = None if kinds is None else set(kinds)
    for probe, mark in baseline.marks:
        if wanted is not None and probe.kind not in wanted:
            continue
        items = probe.new_since(mark)
        if items:
            rules = baseline.settings.rules(probe.kind)
            items = _unignored(probe, items, rules)
            if items:
                yield probe, mark, items, rules
        leaks.extend(probe.errors(mark))


def _report(probe: Probe[Any, Any], survivors: list[object], rules: Rules, leaks: list[Leak]) -> None:
    """Stacks change while waiting: apply the rules again to the survivors, report the rest."""
    items = _unignored(probe, survivors, rules) if survivors else survivors
    if items:
        leaks.extend(probe.describe(items))
        probe.claim(items)


async def verify_async(baseline: Baseline) -> None:
    """`verify` from inside a running event loop."""
    try:
        leaks = await find_leaks_async(baseline)
    finally:
        baseline.release()
    if leaks:
        raise leak_error(baseline, leaks)


def _unignored(probe: Probe[Any, Any], items: list[object], rules: Rules) -> list[object]:
    candidates = probe.candidates(items, rules.needs_frames())
    return [item for item, candidate in zip(items, candidates) if not rules.ignores(candidate)]


def leak_error(
    baseline: Baseline, leaks: list[Leak], after: dict[str, int] | None = None
) -> LeakError:
    """The error for `leaks`; `after` overrides some of the counts taken now."""
    now = counts_now(set(baseline.counts) - set(after or {}))
    return LeakError(format_report(leaks, baseline.counts, {**now, **(after or {})}), leaks)


def verify(baseline: Baseline) -> None:
    """Check, release the baseline, and raise `LeakError` if anything leaked."""
    try:
        leaks = find_leaks(baseline)
    finally:
        baseline.release()
    if leaks:
        raise leak_error(baseline, leaks)
