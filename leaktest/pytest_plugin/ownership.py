"""Fixture ownership: what a class, module, package or session fixture starts is that
fixture's, and so is what that thing makes while serving a test.

A fixture's setup is baselined like a test; what it left running is noted here
(kept alive until the fixture is finalized, then checked as the fixture's). A
test's check leaves out what is owned, and what an owned thing made: a
connection accepted by the fixture's server, a task or timer of a loop that runs
in the fixture's thread (each probe's `made_by`).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from ..check import Baseline
    from ..probes import Probe

__unittest = True  # hide these frames from unittest tracebacks
__tracebackhide__ = True  # and from pytest ones


@dataclasses.dataclass
class Owner:
    """A non-function fixture and what it started (kept alive here until it is checked)."""

    name: str
    baseline: Baseline
    items: list[object] = dataclasses.field(default_factory=list)


class Ownership:
    """Who owns what, among the things fixtures of wider scope started."""

    def __init__(self) -> None:
        self._owned: dict[int, Owner] = {}  # id of an item a fixture started -> that fixture
        #: The same, for the fixtures finalized in the teardown of the test being checked
        #: (the last test of their scope): theirs still, until that test's check is over.
        self._retired: dict[int, Owner] = {}

    def own(self, owner: Owner) -> None:
        """Note what the fixture's setup started and left running (fixtures it set up keep theirs)."""
        for probe, mark in owner.baseline.marks:
            for item in probe.new_since(mark):
                if id(item) not in self._owned:
                    self._owned[id(item)] = owner
                    owner.items.append(item)

    def release(self, owner: Owner) -> None:
        """At the fixture's finalization: its items are checked as its own, not owned any more
        once the test whose teardown finalized it is checked (`test_checked`)."""
        for item in owner.items:
            if self._owned.pop(id(item), None) is not None:
                self._retired[id(item)] = owner
        ids = {id(item) for item in owner.items}
        baseline = owner.baseline
        baseline.marks = [(_filtered(probe, lambda item: id(item) in ids), mark) for probe, mark in baseline.marks]

    def test_checked(self) -> None:
        """The test is checked: what the fixtures finalized in its teardown owned is owned no more."""
        self._retired.clear()

    def exclude_owned(self, baseline: Baseline) -> None:
        """Leave out of a test's check what fixtures of wider scope own, and what they made."""
        if (self._owned or self._retired) and not any(isinstance(probe, _Filtered) for probe, _ in baseline.marks):
            baseline.marks = [
                (_filtered(probe, functools.partial(self._unowned, probe)), mark) for probe, mark in baseline.marks
            ]

    def _unowned(self, probe: Probe[Any, Any], item: object) -> bool:
        return self.owner_of(probe, item) is None

    def owner_of(self, probe: Probe[Any, Any], item: object) -> Owner | None:
        """The fixture that owns `item`, or owns what made it."""
        owner = self._owned.get(id(item)) or self._retired.get(id(item))
        if owner is None:
            maker = probe.made_by(item)
            if maker is not None:
                owner = self._owned.get(id(maker.thing)) or self._retired.get(id(maker.thing))
        return owner


def _filtered(probe: Probe[Any, Any], keep: Callable[[object], bool]) -> Probe[Any, Any]:
    return cast("Probe[Any, Any]", _Filtered(probe, keep))


class _Filtered:
    """A probe that sees only the items `keep` accepts; everything else is the probe's."""

    def __init__(self, probe: Probe[Any, Any], keep: Callable[[object], bool]) -> None:
        self._probe = probe
        self._keep = keep

    def new_since(self, mark: object) -> list[object]:
        return [item for item in self._probe.new_since(mark) if self._keep(item)]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._probe, name)
