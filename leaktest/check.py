"""The engine shared by the base classes, `no_leaks`, `verify_none` and the runner.

baseline (every checked probe's mark) -> wait for what is new against one
deadline (`grace_deadline`) -> filter by the rules -> hand what is left to the
report. The engine (`_leaks_after_waits`, a generator asking for each wait) is
driven by one coroutine (`leaks_with`, and `verify_with` around it) that makes
each wait with a strategy: `blocking` (`find_leaks`, `verify`: run without a loop,
it never suspends) or `awaiting` inside a running loop (`find_leaks_async`,
`verify_async`).

Importing this module installs the process-wide hooks (probes/install.py), unless
the mode forced on every check is `off` (`mode.follow_mode`).
"""

from __future__ import annotations

import functools
import sys
import time
import warnings
from collections.abc import Awaitable, Callable, Coroutine, Generator, Iterable, Iterator, Mapping

from . import leak_log, load, mode, ownership
from .probes import PROBES, Probe, clock, event_loops
from .report import Leak, LeakError, LeakWarning, format_report
from .rules import Rules
from .settings import Settings

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, TypeAlias, TypeVar

    T = TypeVar("T")

__unittest = True  # hide these frames from unittest tracebacks
__tracebackhide__ = True  # and from pytest ones

mode.follow_mode()  # importing the engine puts the hooks in place, unless the mode is `off`


class Baseline:
    """What was there before: one mark per checked probe, and the counts.

    Built on every test: what most baselines never change is a class default,
    so that a test's baseline stores four attributes.
    """

    own_loop: Any = None  # the event loop the test framework made for the test (`adopt_loop`)
    found_on_loop: FoundOnLoop | None = None  # the first phase of its check (`check_on_loop`)
    excused: frozenset[str] | None = None  # the kinds a test's own settings do not check
    _marks: list[tuple[Probe[Any, Any], Any]] | None = None
    _every_probe_marked = False  # every probe was marked at once (a test with its own settings)
    _counts: dict[str, int] | None = None
    released = False
    waited = 0.0  # seconds spent waiting in the grace period (runner diagnostics)
    leaked = False  # the check found leaks (failed, warned or expected)
    warned = 0  # leaks reported as warnings (warn mode)
    cleaned: tuple[str, ...] = ()  # what cleanup_leaks did, one line per probe
    #: A fixture's baseline: the fixture, and what it owns (ownership.py).
    fixture: ownership.Owner | None = None
    _running: object = None  # the function running under this baseline (`clock.running`)
    _outer: object = None  # `clock.running` before it, put back on release

    def __init__(
        self,
        settings: Settings,
        class_settings: Settings | None = None,
        counts: bool = False,
        owner: object = None,
        running: object = None,
        everything: bool = False,
    ) -> None:
        """`class_settings`: the class's settings, when `settings` are a test's own. What the
        class checks and the test does not, and what the test's rules ignore, is then
        claimed at the check, so that no class or module check reports it later.
        `counts`: take the counts now (for a diagnostics line). `owner`: who leaked
        (a test, a class; None: a no_leaks block), for warn mode. `running`: the test
        (or fixture) function that runs under this baseline, until its release."""
        self.settings = settings
        self.owner = owner
        if running is not None:
            self._running, self._outer = running, clock.running
            clock.running = running
        # Read before the marks, so nothing slips in between; -1 never matches.
        self.clock = self.expected = -1 if everything else clock.now
        if class_settings is None:
            # Only the probes whose mark is more than the clock's number are asked now.
            self._own_marks = [mark(everything) for mark in settings.own_markers]
        else:
            probes = list(settings.checked)
            off = [probe for probe in class_settings.checked if probe not in probes]
            self.excused = frozenset(probe.kind for probe in off)
            self._every_probe_marked = True
            self._own_marks = []
            self._marks = [(probe, probe.mark(everything)) for probe in probes + off]
        if counts:  # they cost a look at everything alive: else taken at first use
            self._counts = counts_now(self.kinds())

    @property
    def marks(self) -> list[tuple[Probe[Any, Any], Any]]:
        """Each checked probe with its mark (built when a check needs them)."""
        if self._marks is None:
            own = iter(self._own_marks)
            self._marks = [(probe, self.clock if probe.marks_clock else next(own)) for probe in self.settings.checked]
        return self._marks

    @marks.setter
    def marks(self, marks: list[tuple[Probe[Any, Any], Any]]) -> None:
        self._marks = marks

    def kinds(self) -> list[str]:
        if self._every_probe_marked and self._marks:
            return [probe.kind for probe, _ in self._marks]
        return [probe.kind for probe in self.settings.checked]

    @property
    def counts(self) -> dict[str, int]:
        """The counts of the checked kinds: taken with the marks if asked for, else at first use."""
        if self._counts is None:
            self._counts = counts_now(self.kinds())
        return self._counts

    def counts_before(self, after: dict[str, int], leaks: list[Leak]) -> dict[str, int]:
        """The counts at the baseline; when they were not taken then, the counts `after`
        less what leaked (exact unless the test also ended older items or left ignored ones)."""
        if self._counts is not None:
            return self._counts
        leaked = {kind: sum(leak.kind == kind for leak in leaks) for kind in self.kinds()}
        return {kind: max(0, after.get(kind, 0) - leaked[kind]) for kind in self.kinds()}

    def unchanged(self) -> bool:
        """Nothing was started or raised since the baseline: a check would find nothing."""
        if clock.now != self.expected:
            return False
        if self._every_probe_marked:
            if any(probe.changed(mark) for probe, mark in self.marks if probe.looks_without_clock):
                return False
        else:
            marked = self.settings.own_mark_probes
            for index in self.settings.own_marks_to_watch:
                if marked[index].changed(self._own_marks[index]):
                    return False
        return self.own_loop is None or not self._own_loop_busy()

    def _own_loop_busy(self) -> bool:
        loop = self.own_loop
        if loop.is_closed():
            return False
        for probe in self.settings.in_loop:
            if probe.pending_on(loop):
                return True
        return False

    def returned(self) -> None:
        """The function it runs under returned (a fixture's setup is over, its check is
        at its finalization): what is made next is the caller's, no longer its."""
        if self._running is not None and clock.running is self._running:
            clock.running = self._outer

    def release(self) -> None:
        """Undo what the marks installed, last first; safe to call more than once."""
        if not self.released:
            self.released = True
            self.returned()
            if self.fixture is not None:
                ownership.close(self.fixture)
            if self._every_probe_marked:
                for probe, mark in reversed(self.marks):
                    if probe.installs:
                        probe.release(mark)
                return
            marked = self.settings.own_mark_probes
            for index in reversed(self.settings.own_marks_to_release):
                marked[index].release(self._own_marks[index])


def take_baseline(
    settings: Settings,
    *,
    everything: bool = False,
    owner: object = None,
    fixture: bool = False,
    counts: bool = False,
    running: object = None,
) -> Baseline | None:
    """Mark every checked probe. With `everything`, all that is alive counts as new;
    with `counts`, the counts are taken now (for a diagnostics line); `running`: the
    test or fixture function that runs until the release (`clock.running`).

    None when the mode in force (mode.py) is `off`: there is nothing to check.
    A `fixture` baseline (a class's, a module's, a pytest fixture's of wider scope)
    is taken before the fixture's setup; its check reports only what the fixture
    owns (ownership.py), which no other check reports.
    """
    settings = mode.applied(settings)
    if settings.off:
        return None
    baseline = Baseline(settings, None, counts, owner, running, everything)  # positional: see case.begin_test
    if fixture:
        baseline.fixture = ownership.open_fixture(baseline)
    return baseline


def adopt_loop(baseline: Baseline, create: Callable[[], Any]) -> None:
    """Let the test framework `create` the test's event loop now (or hand over the one
    it made), right after the baseline.

    When nothing else happened since the baseline, the loop's creation does not
    count as a change: a test that leaves nothing pending on it (`Probe.pending_on`)
    and starts nothing else takes the clean path.
    """
    with event_loops.made_for_a_test:
        loop = create()
    if loop is not None and clock.now == baseline.expected + 1 and event_loops.seq_of(loop) == clock.now:
        baseline.expected = clock.now
        baseline.own_loop = loop


class Counts(Mapping[str, int]):
    """A baseline's counts as a mapping, taken at first use (`test.leaktest_baseline_counts`)."""

    __slots__ = ("_baseline",)

    def __init__(self, baseline: Baseline) -> None:
        self._baseline = baseline

    def __getitem__(self, kind: str) -> int:
        return self._baseline.counts[kind]

    def __iter__(self) -> Iterator[str]:
        return iter(self._baseline.counts)

    def __len__(self) -> int:
        return len(self._baseline.counts)


def counts_now(kinds: Iterable[str]) -> dict[str, int]:
    """How many live items of some kinds (those of a baseline) there are now."""
    wanted = set(kinds)
    return {probe.kind: probe.count() for probe in PROBES if probe.kind in wanted}


# -- the engine and its two drivers ---------------------------------------------

#: What the engine asks a driver to do: wait for these items of this probe until then.
Wait: TypeAlias = "tuple[Probe[Any, Any], list[object], float]"


def _leaks_after_waits(
    baseline: Baseline, deadline: float, in_loop: bool | None
) -> Generator[Wait, list[object], list[Leak]]:
    """Per probe: what is new and not ignored, waited for; the survivors, filtered again.

    What starts while we wait (a re-armed timer, a successor task) is looked for
    after each wait and waited for too, against the same deadline.
    `in_loop` limits the check to the probes whose `checked_in_loop` is that value.
    What is still alive at the deadline gets more time while the machine is
    overloaded (load.py). With `cleanup_leaks`, each probe then cleans up what it
    reported.
    """
    leaks: list[Leak] = []
    excused = baseline.excused
    ownership.teardown_ended(baseline)  # a fixture's, if nothing said so before
    for probe, mark in baseline.marks:
        if in_loop is not None and probe.checked_in_loop is not in_loop:
            continue
        items = _new_items(baseline, probe, mark)
        if excused is not None and probe.kind in excused:
            if items:
                probe.claim(items)  # the test's own settings do not check this kind
            continue
        if items:
            # By kind: the settings may have been merged since the marks, a probe wrapped (pytest).
            rules = baseline.settings.rules_of(probe.kind)
            items = _unignored(probe, items, rules, claim_ignored=excused is not None)
        if items:
            waited_for = _WaitedFor(probe, items)
            until, extended = deadline, False
            while True:
                survivors = yield probe, items, until
                again = waited_for.look_again(baseline, probe, mark, rules, survivors, until)
                if again is None:
                    if survivors and not extended:  # one extension, while overloaded
                        extended = True
                        extra = load.extension(baseline.settings.grace_period)
                        if extra > 0:
                            until, items = deadline + extra, survivors
                            continue
                    break
                items = again
            starters = _starters(probe, survivors)
            if starters:
                # A link that started its successor just before the deadline may still
                # be inside that start: a moment more, so that a chain is reported by
                # its newest link alone (a parent that lives on is reported as well).
                still = yield probe, starters, time.monotonic() + _STARTER_SETTLE
                ended = {probe.identity(item) for item in starters} - {probe.identity(item) for item in still}
                survivors = [item for item in survivors if probe.identity(item) not in ended]
            # Stacks change while waiting: the rules are applied again.
            items = _unignored(probe, survivors, rules) if survivors else survivors
            if items:
                leaks.extend(_described(probe, items, waited_for))
                probe.claim(items)
                if baseline.settings.cleanup_leaks:
                    done = probe.cleanup(items)
                    if done:
                        baseline.cleaned += (done,)
        if probe.errors_switch is None or baseline.settings.get(probe.errors_switch):
            leaks.extend(probe.errors(mark, functools.partial(ownership.keeps_error, baseline)))
    return leaks


def _new_items(baseline: Baseline, probe: Probe[Any, Any], mark: object) -> list[object]:
    """What `probe` finds new since `mark` that is `baseline`'s to check: fixtures of
    wider scope own what they started (ownership.py)."""
    items = probe.new_since(mark)
    if items:
        keep = ownership.keeper(baseline, probe)
        if keep is not None:
            return [item for item in items if keep(item)]
    return items


#: How long, at most, a survivor that started another survivor gets to finish that start.
_STARTER_SETTLE = 0.05


def _starters(probe: Probe[Any, Any], survivors: list[object]) -> list[object]:
    """The survivors that are the parent of another survivor."""
    parents = {probe.identity(parent) for item in survivors if (parent := probe.parent(item)) is not None}
    return [item for item in survivors if probe.identity(item) in parents]


class _WaitedFor:
    """Everything of one kind a check has waited for, held until it is over.

    Held, so that the parents of what is still alive can be told apart from
    objects that merely got the same id.
    """

    __slots__ = ("items",)

    def __init__(self, probe: Probe[Any, Any], items: list[object]) -> None:
        self.items = {probe.identity(item): item for item in items}

    def look_again(
        self,
        baseline: Baseline,
        probe: Probe[Any, Any],
        mark: object,
        rules: Rules,
        survivors: list[object],
        deadline: float,
    ) -> list[object] | None:
        """What to wait for next: the survivors plus what started meanwhile; None when done.

        Done when nothing new started, or at the deadline (the survivors are what is left).
        """
        fresh = [item for item in _new_items(baseline, probe, mark) if probe.identity(item) not in self.items]
        if fresh:
            fresh = _unignored(probe, fresh, rules)
        if not fresh:
            return None
        for item in fresh:
            self.items[probe.identity(item)] = item
        survivors.extend(fresh)
        return None if time.monotonic() >= deadline else survivors

    def links(self, probe: Probe[Any, Any], item: object, alive: set[int]) -> int:
        """How many links this check saw in `item`'s chain: itself, and the parents
        that ended while it waited (a parent still `alive` is reported in its own right),
        each started by the same function as `item` (an ancestry of different starters
        is no chain re-arming itself: its start site tells it)."""
        count = 1
        function = probe.start_function(item)
        parent = probe.parent(item)
        while (
            function is not None
            and parent is not None
            and self.items.get(probe.identity(parent)) is parent
            and probe.identity(parent) not in alive
            and probe.start_function(parent) == function
            and count < 1_000_000
        ):
            count += 1
            parent = probe.parent(parent)
        return count


def _described(probe: Probe[Any, Any], items: list[object], waited_for: _WaitedFor) -> list[Leak]:
    """The report entries; a survivor whose parents this check also saw is the newest
    link of a chain still re-arming itself: its entry says how many links there were."""
    alive = {probe.identity(item) for item in items}
    leaks = []
    for item, leak in zip(items, probe.describe(items)):
        links = waited_for.links(probe, item, alive)
        if links > 1:
            leak = leak.adding(
                f"the newest of {links} {probe.kind}, each started by the one before it since the"
                " baseline (a chain still re-arming itself when the grace period ended)"
            )
        leaks.append(leak)
    return leaks


def _anything_new_in_loop(baseline: Baseline) -> bool:
    """Whether a check of the in-loop probes would find something new to wait for (claims nothing)."""
    checked = {probe.kind for probe in baseline.settings.checked}
    for probe, mark in baseline.marks:
        if probe.checked_in_loop and probe.kind in checked:
            items = _new_items(baseline, probe, mark)
            if items and _unignored(probe, items, baseline.settings.rules_of(probe.kind)):
                return True
    return False


def _unignored(
    probe: Probe[Any, Any], items: list[object], rules: Rules, *, claim_ignored: bool = False
) -> list[object]:
    """`items` less those the rules ignore; with `claim_ignored`, those are claimed."""
    candidates = probe.candidates(items, rules.needs_frames())
    ignored = [rules.ignores(candidate) for candidate in candidates]
    if claim_ignored and any(ignored):
        probe.claim([item for item, skip in zip(items, ignored) if skip])
    return [item for item, skip in zip(items, ignored) if not skip]


def grace_deadline(baseline: Baseline) -> float:
    """The deadline of a check that starts now: its grace period from now (computed here only)."""
    return time.monotonic() + baseline.settings.grace_period


#: How a check waits for some items of one probe until a deadline, returning the
#: survivors: `blocking` (probe.wait) or `awaiting` (probe.wait_async, inside a running
#: loop). Both are coroutine functions, so that the check is written once, as one
#: coroutine; a blocking check never suspends and runs without a loop (`run_blocking`).
WaitStrategy: TypeAlias = "Callable[[Probe[Any, Any], list[object], float], Awaitable[list[object]]]"


async def blocking(probe: Probe[Any, Any], items: list[object], until: float) -> list[object]:
    return probe.wait(items, until)


async def awaiting(probe: Probe[Any, Any], items: list[object], until: float) -> list[object]:
    return await probe.wait_async(items, until)


def run_blocking(check: Coroutine[Any, Any, T]) -> T:
    """The result of a check driven by `blocking`: a coroutine that never suspends."""
    try:
        check.send(None)
    except StopIteration as done:
        result: T = done.value
        return result
    check.close()
    raise RuntimeError("a blocking check suspended")  # pragma: no cover (a strategy's bug)


async def leaks_with(
    baseline: Baseline, wait: WaitStrategy, deadline: float | None = None, in_loop: bool | None = None
) -> list[Leak]:
    """What started since `baseline` and is still alive at `deadline` (its grace from
    now by default), less the ignored; each wait made by `wait`."""
    if baseline.unchanged():
        return []  # nothing was started, nothing raised: the clean path ends here
    steps = _leaks_after_waits(baseline, grace_deadline(baseline) if deadline is None else deadline, in_loop)
    try:
        probe, items, until = next(steps)
        while True:
            started = time.perf_counter()
            survivors = await wait(probe, items, until)
            baseline.waited += time.perf_counter() - started
            probe, items, until = steps.send(survivors)
    except StopIteration as done:
        leaks: list[Leak] = done.value
        return leaks


def find_leaks(baseline: Baseline, deadline: float | None = None, in_loop: bool | None = None) -> list[Leak]:
    """`leaks_with` waiting by blocking."""
    return run_blocking(leaks_with(baseline, blocking, deadline, in_loop))


async def find_leaks_async(
    baseline: Baseline, deadline: float | None = None, in_loop: bool | None = None
) -> list[Leak]:
    """`leaks_with` from inside a running event loop: waits by awaiting, never blocks it."""
    return await leaks_with(baseline, awaiting, deadline, in_loop)


# -- verdicts -------------------------------------------------------------------


def leak_error(baseline: Baseline, leaks: list[Leak], after: dict[str, int] | None = None) -> LeakError:
    """The error for `leaks`; `after` overrides some of the counts taken now.

    What is reported counts, also where a probe's count does not look (a pending
    task on a closed loop).
    """
    headings = {kind: text for probe in PROBES for kind, text in probe.headings.items()}
    counts = counts_now(set(baseline.kinds()) - set(after or {}))
    for probe in PROBES:
        if probe.kind in counts:
            counts[probe.kind] += sum(
                1
                for leak in leaks
                if leak.kind == probe.kind and leak.resource is not None and not probe.counted(leak.resource)
            )
    counts.update(after or {})
    report = format_report(leaks, headings, baseline.counts_before(counts, leaks), counts)
    if baseline.cleaned:
        report += "".join(f"\ncleanup_leaks: {done}" for done in baseline.cleaned)
    return LeakError(report, leaks)


def conclude(baseline: Baseline, leaks: list[Leak], after: dict[str, int] | None = None) -> None:
    """Raise `LeakError` for `leaks` or, in warn mode, report them to stderr and warn;
    those the known-leaks file in force lists pass (leak_log.py).

    A `LeakWarning` turned into an error by name (``-W error::leaktest.LeakWarning``)
    raises the `LeakError` of fail mode instead; an error filter for every warning
    (``-W error``, a suite's ``filterwarnings = error``) does not: warn mode is
    there to adopt leaktest without failing anything.
    """
    baseline.leaked = True
    owner = _name_of(baseline.owner)
    leaks = leak_log.conclude(owner, leaks, warned=baseline.settings.leak_mode == "warn")
    if not leaks:  # every one listed in the known-leaks file
        return
    error = leak_error(baseline, leaks, after)
    if baseline.settings.leak_mode != "warn":
        raise error
    try:
        message = f"{owner} leaked: {', '.join(leak.name for leak in leaks)}"
        with warnings.catch_warnings():
            if _made_error_by_a_wider_filter(message):
                warnings.simplefilter("always", LeakWarning)  # shown, or recorded by pytest
            warnings.warn(LeakWarning(message), stacklevel=2)
    except LeakWarning:
        raise error from None
    baseline.warned = len(leaks)
    sys.stderr.write(f"leaktest: {owner} leaked (warn mode: not a failure):\n{error}\n")
    sys.stderr.flush()


def _made_error_by_a_wider_filter(message: str) -> bool:
    """Whether the warnings filter that applies to a `LeakWarning` with `message` makes
    it an error without naming it (``-W error``, ``filterwarnings = error``): one
    for `LeakWarning` or a subclass of it is the user's word. Filters are read as
    `warnings.filters` lists them, first match wins: (action, message, category,
    module, line); the module is not matched."""
    for action, text, category, _, _ in warnings.filters:
        if issubclass(LeakWarning, category) and (text is None or text.match(message)):
            return action == "error" and not (isinstance(category, type) and issubclass(category, LeakWarning))
    return False


def _name_of(owner: object) -> str:
    """A test's id, a class's qualified name, the text given, or a no_leaks block's."""
    if owner is None:
        return "a no_leaks block"
    if isinstance(owner, type):
        return f"{owner.__module__}.{owner.__qualname__} (class fixtures)"
    test_id = getattr(owner, "id", None)
    return str(test_id()) if callable(test_id) else str(owner)


async def verify_with(baseline: Baseline, wait: WaitStrategy) -> None:
    """Check, release the baseline, and raise `LeakError` (or warn) if anything leaked;
    with what `check_on_loop` found already, against its deadline and in one report."""
    found = baseline.found_on_loop
    try:
        leaks = await leaks_with(baseline, wait, None if found is None else found.deadline)
    finally:
        baseline.release()
    if found is not None:
        leaks = found.leaks + leaks
    if leaks:
        conclude(baseline, leaks, None if found is None else found.after)


def verify(baseline: Baseline) -> None:
    """`verify_with` waiting by blocking."""
    run_blocking(verify_with(baseline, blocking))


async def verify_async(baseline: Baseline) -> None:
    """`verify_with` from inside a running event loop."""
    await verify_with(baseline, awaiting)


class FoundOnLoop:
    """What the in-loop phase of a check found, for the rest of it (`verify_with`)."""

    __slots__ = ("deadline", "leaks", "after")

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline  # the grace period's end, shared by both phases
        self.leaks: list[Leak] = []
        self.after: dict[str, int] = {}  # the in-loop probes' counts then


def check_on_loop(baseline: Baseline, run_in_loop: Callable[[Callable[[], Coroutine[Any, Any, None]]], None]) -> None:
    """The first phase of the check of a test owning an event loop, kept on the baseline:
    `run_in_loop` runs the in-loop probes' check (tasks) on the test's loop, where what
    is new gets the grace by being awaited, before the loop is torn down."""
    if baseline.unchanged():
        return  # the clean path: `verify` has nothing to finish either
    found = baseline.found_on_loop = FoundOnLoop(grace_deadline(baseline))
    in_loop = [probe for probe, _ in baseline.marks if probe.checked_in_loop]
    # Running a check on the loop costs a task on it (in debug mode, a stack
    # extracted per callback): only when something is there to wait for. On the test's
    # own loop, that is what is pending on it, which its closing would cancel or drop:
    # a cheaper look than for everything new (what is pending on another loop is waited
    # for after the closing, by `verify`).
    if in_loop and (baseline._own_loop_busy() if baseline.own_loop is not None else _anything_new_in_loop(baseline)):

        async def in_loop_phase() -> None:
            found.leaks.extend(await find_leaks_async(baseline, found.deadline, in_loop=True))
            found.after.update((probe.kind, probe.count()) for probe in in_loop)

        run_in_loop(in_loop_phase)
