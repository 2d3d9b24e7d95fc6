"""The engine shared by the base classes, `no_leaks`, `verify_none` and the runner.

baseline (every checked probe's mark) -> wait for what is new against one
deadline -> filter by the rules -> hand what is left to the report. One engine
(`_steps`, a generator asking for each wait) and two drivers: `find_leaks` waits
by blocking, `find_leaks_async` by awaiting inside a running loop.

Importing this module installs the process-wide hooks (probes/install.py).
"""

from __future__ import annotations

import sys
import time
import warnings
from collections.abc import Callable, Coroutine, Generator, Iterable
from typing import Any

from . import load, mode
from .probes import PROBES, Probe, clock, install
from .report import Leak, LeakError, LeakWarning, format_report
from .rules import Rules
from .settings import Settings

__unittest = True  # hide these frames from unittest tracebacks
__tracebackhide__ = True  # and from pytest ones

install.install(hook for probe in PROBES for hook in probe.hooks())


class Baseline:
    """What was there before: one mark per checked probe, and the counts.

    Built on every test, hence a plain class with slots.
    """

    __slots__ = (
        "settings", "clock", "marks", "counts", "released", "waited",
        "owner", "excused", "leaked", "warned", "cleaned",
    )

    def __init__(self, settings: Settings, everything: bool = False, excuse_from: Settings | None = None) -> None:
        """`excuse_from`: the class's settings, when `settings` are a test's own. What the
        class checks and the test does not, and what the test's rules ignore, is then
        claimed at the check, so that no class or module check reports it later."""
        self.settings = settings
        # Read before the marks, so nothing slips in between; -1 never matches.
        self.clock = -1 if everything else clock.now
        probes = [probe for probe, _ in settings.checked]
        self.excused: frozenset[str] | None = None
        if excuse_from is not None:
            off = [probe for probe, _ in excuse_from.checked if probe not in probes]
            probes += off
            self.excused = frozenset(probe.kind for probe in off)
        self.marks = [(probe, probe.mark(everything)) for probe in probes]
        self.counts = {probe.kind: probe.count() for probe, _ in self.marks}
        self.released = False
        self.waited = 0.0  # seconds spent waiting in the grace period (runner diagnostics)
        self.owner: object = "a no_leaks block"  # who leaked (a test, a class), for warn mode
        self.leaked = False  # the check found leaks (failed, warned or expected)
        self.warned = 0  # leaks reported as warnings (warn mode)
        self.cleaned: list[str] = []  # what cleanup_leaks did, one line per probe

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


def take_baseline(settings: Settings, everything: bool = False, owner: object = None) -> Baseline | None:
    """Mark every checked probe. With `everything`, all that is alive counts as new.

    None when the mode in force (mode.py) is `off`: there is nothing to check.
    """
    settings = mode.applied(settings)
    if settings.leak_mode == "off":
        return None
    baseline = Baseline(settings, everything)
    if owner is not None:
        baseline.owner = owner
    return baseline


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
    What is still alive at the deadline gets more time while the machine is
    overloaded (load.py). With `cleanup_leaks`, each probe then cleans up what it
    reported.
    """
    leaks: list[Leak] = []
    excused = baseline.excused
    # By kind: the settings may have been merged since the marks, a probe wrapped (pytest).
    rules_of = {probe.kind: rules for probe, rules in baseline.settings.checked}
    for probe, mark in baseline.marks:
        if in_loop is not None and probe.checked_in_loop is not in_loop:
            continue
        items = probe.new_since(mark)
        if excused is not None and probe.kind in excused:
            if items:
                probe.claim(items)  # the test's own settings do not check this kind
            continue
        rules = rules_of[probe.kind]
        if items:
            items = _unignored(probe, items, rules, claim_ignored=excused is not None)
        if items:
            survivors = yield probe, items, deadline
            if survivors:
                survivors = yield probe, survivors, deadline + load.extension(baseline.settings.grace_period)
            # Stacks change while waiting: the rules are applied again.
            items = _unignored(probe, survivors, rules) if survivors else survivors
            if items:
                leaks.extend(probe.describe(items))
                probe.claim(items)
                if baseline.settings.cleanup_leaks:
                    done = probe.cleanup(items)
                    if done:
                        baseline.cleaned.append(done)
        leaks.extend(probe.errors(mark))
    return leaks


def _unignored(
    probe: Probe[Any, Any], items: list[object], rules: Rules, claim_ignored: bool = False
) -> list[object]:
    """`items` less those the rules ignore; with `claim_ignored`, those are claimed."""
    candidates = probe.candidates(items, rules.needs_frames())
    ignored = [rules.ignores(candidate) for candidate in candidates]
    if claim_ignored and any(ignored):
        probe.claim([item for item, skip in zip(items, ignored) if skip])
    return [item for item, skip in zip(items, ignored) if not skip]


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
    report = format_report(leaks, headings, baseline.counts, counts)
    if baseline.cleaned:
        report += "".join(f"\ncleanup_leaks: {done}" for done in baseline.cleaned)
    return LeakError(report, leaks)


def conclude(baseline: Baseline, leaks: list[Leak], after: dict[str, int] | None = None) -> None:
    """Raise `LeakError` for `leaks` or, in warn mode, report them to stderr and warn.

    A `LeakWarning` turned into an error (``-W error::leaktest.LeakWarning``)
    raises the `LeakError` of fail mode instead.
    """
    error = leak_error(baseline, leaks, after)
    baseline.leaked = True
    if baseline.settings.leak_mode != "warn":
        raise error
    owner = _name_of(baseline.owner)
    try:
        warnings.warn(LeakWarning(f"{owner} leaked: {', '.join(leak.name for leak in leaks)}"), stacklevel=2)
    except LeakWarning:
        raise error from None
    baseline.warned = len(leaks)
    sys.stderr.write(f"leaktest: {owner} leaked (warn mode: not a failure):\n{error}\n")
    sys.stderr.flush()


def _name_of(owner: object) -> str:
    """A test's id, a class's qualified name, or the text given."""
    if isinstance(owner, type):
        return f"{owner.__module__}.{owner.__qualname__} (class fixtures)"
    test_id = getattr(owner, "id", None)
    return str(test_id()) if callable(test_id) else str(owner)


def verify(baseline: Baseline) -> None:
    """Check, release the baseline, and raise `LeakError` (or warn) if anything leaked."""
    try:
        leaks = find_leaks(baseline)
    finally:
        baseline.release()
    if leaks:
        conclude(baseline, leaks)


async def verify_async(baseline: Baseline) -> None:
    """`verify` from inside a running event loop."""
    try:
        leaks = await find_leaks_async(baseline)
    finally:
        baseline.release()
    if leaks:
        conclude(baseline, leaks)


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
        conclude(baseline, leaks, after)
