"""Fixture ownership, for unittest and pytest alike: what a fixture of wider scope
(``setUpClass``, ``setUpModule``, a pytest fixture of class, module, package or
session scope) starts is that fixture's, and so is what that thing makes while
serving a test.

A fixture's baseline is taken before its setup. When the setup ends, what it
left running is *owned*: noted here by identity, since every probe can list its
items but not every one knows when they started (a file descriptor), and held
weakly where the item allows it (a task's exception holds its frames). When its
teardown begins, a second mark is taken. Where the clock tells when an item
started, that decides too: a pool made in the setup numbers the workers it
starts lazily in a test as of itself.

A test's check leaves out what an open fixture owns, and what an owned thing
made (`Probe.made_by`: a connection accepted by the fixture's server, a task of
a loop run by its thread). The fixture's check looks at what it owns and what
that made, less what was made for a test whose check found leaks: a handler
still serving a connection the test left open is that leak's consequence, not
the fixture's. So a fixture finalized in a test's teardown (pytest's last test
of its scope) is checked after that test (the plugin's hooks; `test_checked`).

Thread exceptions have no item to own: they go by when their thread started, in
the fixture's setup or teardown.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable

from .probes import clock

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from .check import Baseline
    from .probes import Probe

__unittest = True  # hide these frames from unittest tracebacks
__tracebackhide__ = True  # and from pytest ones


class Owner:
    """A fixture of wider scope: its baseline, and what it owns."""

    __slots__ = ("baseline", "items", "setup_ended", "teardown_began", "teardown_ended", "torn_down", "teardown_marks")

    def __init__(self, baseline: Baseline) -> None:
        self.baseline = baseline
        #: identity -> a weak reference to the item (`Probe.referent`), or the item where it
        #: allows none (a socket's record, a file descriptor's number and target: they hold
        #: nothing the test made).
        self.items: dict[int, object] = {}
        self.setup_ended: int | None = None  # the clock's number when its setup returned
        self.teardown_began: int | None = None  # the clock's number when its teardown began
        self.teardown_ended: int | None = None  # ... and when it ended
        self.torn_down = False  # `items` holds what its teardown left, too
        self.teardown_marks: list[tuple[Probe[Any, Any], Any]] | None = None


_open: list[Owner] = []  # the fixtures set up and not checked yet, outermost first
#: The clock windows of the tests whose check found leaks while a fixture was open.
_leaking_tests: list[tuple[int, int]] = []


def open_fixture(baseline: Baseline) -> Owner:
    """A fixture's baseline is taken, before its setup runs."""
    owner = Owner(baseline)
    _open.append(owner)
    return owner


# The steps of a fixture's life take its baseline: one that is no fixture's (or None,
# the mode in force being off) has nothing to note.


def setup_ended(baseline: Baseline | None) -> None:
    """Its setup returned (or raised): what it left running is its own from now on."""
    owner = None if baseline is None else baseline.fixture
    if owner is not None:
        _setup_ended(owner)


def teardown_begins(baseline: Baseline | None) -> None:
    """Its teardown is about to run: what is new from now on is its own, too."""
    owner = None if baseline is None else baseline.fixture
    if owner is not None and owner.teardown_marks is None and not owner.torn_down:
        owner.teardown_began = clock.now
        owner.teardown_marks = [(probe, probe.mark()) for probe, _ in owner.baseline.marks]


def teardown_ended(baseline: Baseline) -> None:
    """Its teardown is over: add what it left running to what the fixture owns."""
    owner = baseline.fixture
    if owner is not None and not owner.torn_down:
        owner.torn_down = True
        _setup_ended(owner)  # a fixture whose setup end was not seen owns what is there now
        marks, owner.teardown_marks = owner.teardown_marks, None
        if marks is not None:
            owner.teardown_ended = clock.now
            owner.items.update(_unowned_since(marks))
            _release(marks)


def _setup_ended(owner: Owner) -> None:
    if owner.setup_ended is None:
        owner.setup_ended = clock.now
        owner.items.update(_unowned_since(owner.baseline.marks))


def close(owner: Owner) -> None:
    """The fixture's check is over (or it was dropped unchecked): it owns nothing more."""
    if owner in _open:
        _open.remove(owner)
        if not _open:
            _leaking_tests.clear()
    marks, owner.teardown_marks = owner.teardown_marks, None
    if marks is not None:
        _release(marks)


def test_checked(baseline: Baseline) -> None:
    """The check of a test found leaks: what fixtures' things made for it meanwhile is
    that leak's consequence (`keeper`)."""
    if _open:
        _leaking_tests.append((baseline.clock, clock.now))


def keeper(baseline: Baseline, probe: Probe[Any, Any]) -> Callable[[object], bool] | None:
    """Which of `probe`'s new items `baseline`'s check looks at; None: all of them.

    A fixture's check looks at what is its own; any other check at what is no
    fixture's.
    """
    owner = baseline.fixture
    if owner is not None:
        return lambda item: _theirs(owner, probe, item, to_report=True)
    if not _open:
        return None
    return lambda item: not any(_theirs(owner, probe, item) for owner in _open)


def keeps_error(baseline: Baseline, started: int | None) -> bool:
    """Whether a thread's exception is `baseline`'s to report, by when the thread started."""
    if started is None:
        return True
    owner = baseline.fixture
    if owner is not None:
        return _in_its_time(owner, started)
    return not any(_in_its_time(owner, started) for owner in _open)


def _theirs(owner: Owner, probe: Probe[Any, Any], item: object, *, to_report: bool = False) -> bool:
    """Whether `item` is `owner`'s: owned, started in its setup or teardown, or made
    by something that is; `to_report`: not made for a test whose check found leaks."""
    if _owns(owner, probe.identity(item)):
        return True
    started = probe.started(item)
    if started is not None and _in_its_time(owner, started):
        return True
    maker = probe.made_by(item)
    if maker is None:
        return False
    if not (maker.thing is not None and _owns(owner, id(maker.thing))) and not _in_its_time(owner, maker.started):
        return False
    return not (to_report and started is not None and any(_within(*test, started) for test in _leaking_tests))


def _in_its_time(owner: Owner, started: int) -> bool:
    """Whether the clock number `started` is in `owner`'s setup or in its teardown, and
    not in the setup of a fixture set up inside them (`request.getfixturevalue`)."""
    if not _within(owner.baseline.clock, owner.setup_ended, started) and not (
        owner.teardown_began is not None and _within(owner.teardown_began, owner.teardown_ended, started)
    ):
        return False
    inner = _open[_open.index(owner) + 1 :] if owner in _open else ()  # opened after it
    return not any(_within(other.baseline.clock, other.setup_ended, started) for other in inner)


def _owns(owner: Owner, key: int) -> bool:
    """Whether `owner` owns the item of identity `key` (not another one made since at
    the address of an owned item that is gone)."""
    held = owner.items.get(key)
    # `_held`'s weak reference is exactly a `weakref.ref`; a socket's record, held as it is, is a subclass.
    return held is not None and (type(held) is not weakref.ref or held() is not None)


def _within(begin: int, end: int | None, started: int) -> bool:
    return begin < started and (end is None or started <= end)


def _unowned_since(marks: list[tuple[Probe[Any, Any], Any]]) -> dict[int, object]:
    """What is new since `marks` that no fixture owns yet (fixtures set up inside a
    setup keep theirs)."""
    found: dict[int, object] = {}
    for probe, mark in marks:
        for item in probe.new_since(mark):
            key = probe.identity(item)
            if not any(_owns(owner, key) for owner in _open):
                found[key] = _held(probe.referent(item))
    return found


def _held(referent: object) -> object:
    try:
        return weakref.ref(referent)
    except TypeError:
        return referent


def _release(marks: list[tuple[Probe[Any, Any], Any]]) -> None:
    for probe, mark in reversed(marks):
        if probe.installs:
            probe.release(mark)
