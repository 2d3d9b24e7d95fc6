"""`Probe`: the plug-in point, one per resource kind, all of the same small shape."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from ..options import Flag, Patterns
from ..report import Leak
from ..rules import Candidate
from . import clock
from .install import Hook

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, ClassVar, Generic, NamedTuple, TypeVar
else:
    from .._typing import Generic, NamedTuple, TypeVar

Item = TypeVar("Item")
Mark = TypeVar("Mark")

#: Between two looks at what a check waits for: the first pause, doubled up to the longest.
_FIRST_PAUSE = 0.0005
_LONGEST_PAUSE = 0.01


def poll(
    items: Sequence[Item],
    left_of: Callable[[list[Item]], list[Item]],
    deadline: float,
    waiting: Callable[[list[Item]], bool] = bool,
) -> list[Item]:
    """Look at `items` again and again (`left_of`: those not done yet), pausing a little
    longer each time, while `waiting` for what is left and until the monotonic
    `deadline`; return what is left. For what ends without a way to block on it."""
    pause = _FIRST_PAUSE
    left = left_of(list(items))
    while waiting(left):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        time.sleep(min(pause, remaining))
        pause = min(pause * 2, _LONGEST_PAUSE)
        left = left_of(left)
    return left


class Maker(NamedTuple):
    """What made an item while serving a test (`Probe.made_by`), and its clock number."""

    thing: object  # None once it is gone
    started: int


class Probe(Generic[Mark, Item]):
    """Snapshot, list what is new, wait for it, describe it.

    `mark` and `new_since` run on every test and must stay cheap; the rest
    runs only when something new is still alive.
    """

    #: Plural noun: the report section of its leaks and the label of its count ("threads").
    kind: ClassVar[str] = ""
    #: The option that turns the probe on and off (`check_threads`).
    switch: ClassVar[Flag]
    #: The option that turns its `errors` off, when they have a switch of their own.
    errors_switch: ClassVar[Flag | None] = None
    #: The option holding `fnmatch` patterns its rules match on `Candidate.names`, if any.
    names: ClassVar[Patterns | None] = None
    #: Name patterns never reported, whatever the options.
    default_ignores: ClassVar[tuple[str, ...]] = ()
    #: Report section -> heading, for `kind` and the sections of its `errors`.
    headings: ClassVar[dict[str, str]] = {}
    #: Whether `mark` installs something that `release` must undo.
    installs: ClassVar[bool] = False
    #: Whether an async test checks it on its own loop, before the loop is torn down.
    checked_in_loop: ClassVar[bool] = False
    #: Whether its mark is the clock's number (-1 for `everything`): then `mark` is
    #: never called, and a baseline costs nothing for this probe.
    marks_clock: ClassVar[bool] = False
    #: Whether what it checks can change without the clock moving: its `changed(mark)`
    #: is then asked on the clean path.
    looks_without_clock: ClassVar[bool] = False

    def hooks(self) -> list[Hook]:
        """The process-wide hooks it listens to (installed by probes/install.py)."""
        return []

    def mark(self, everything: bool = False) -> Mark:
        """A cheap baseline; with `everything`, nothing counts as already there.

        A check whose clock (probes/clock.py) has not moved since the mark asks no
        probe anything: a probe that could find something new without the clock
        moving must tick it here. The default is the clock's number (`marks_clock`).
        """
        return -1 if everything else clock.now  # type: ignore[return-value]  # (`marks_clock`: an int)

    def changed(self, mark: Mark) -> bool:
        """For a probe that `looks_without_clock`: whether something new may exist although
        the clock has not moved (cheap: runs on the clean path of every test)."""
        return False

    def pending_on(self, loop: Any) -> bool:
        """For a `checked_in_loop` probe: whether anything of its kind is pending on `loop`,
        an event loop the test framework made for the test (cheap: runs on every such test)."""
        return False

    def release(self, mark: Mark) -> None:
        """Undo what `mark` installed; called once the check is over."""

    def count(self) -> int:
        """How many live items there are now, for the diagnostics line."""
        raise NotImplementedError

    def counted(self, item: Item) -> bool:
        """Whether `count` includes `item`, a live item being reported."""
        return True

    def made_by(self, item: Item) -> Maker | None:
        """What made `item` on its own while serving someone (a server's listener, the
        thread whose loop runs it), when that is another probe's item: whoever owns
        that maker owns `item` too. None: whoever started it."""
        return None

    def new_since(self, mark: Mark) -> list[Item]:
        """Live items started after `mark` (cheap when nothing was started)."""
        raise NotImplementedError

    def candidates(self, items: Sequence[Item], with_frames: bool) -> list[Candidate]:
        """What the ignore rules look at, one per item."""
        raise NotImplementedError

    def wait(self, items: Sequence[Item], deadline: float) -> list[Item]:
        """Wait for `items` to end, until the monotonic `deadline`; return the survivors."""
        raise NotImplementedError

    async def wait_async(self, items: Sequence[Item], deadline: float) -> list[Item]:
        """`wait` from inside a running event loop, which must not be blocked meanwhile.

        This default polls `wait` without blocking, yielding to the loop between
        polls (a thread may need the loop to finish); probes override it where
        they can await instead.
        """
        import asyncio

        pause = _FIRST_PAUSE
        while True:
            left = self.wait(items, time.monotonic())  # the deadline is now: never blocks
            remaining = deadline - time.monotonic()
            if not left or remaining <= 0:
                return left
            items = left
            await asyncio.sleep(min(pause, remaining))
            pause = min(pause * 2, _LONGEST_PAUSE)

    def describe(self, items: Sequence[Item]) -> list[Leak]:
        """The report entries for the survivors (the failure path: may be slow)."""
        raise NotImplementedError

    def identity(self, item: Item) -> int:
        """What tells two listings of the same item apart from two items (a probe
        listing wrappers says what they wrap)."""
        return id(item)

    def referent(self, item: Item) -> object:
        """The object `identity` names, which a fixture that owns `item` holds weakly
        (ownership.py): the item itself, or what a listed wrapper wraps."""
        return item

    def started(self, item: Item) -> int | None:
        """The clock number of `item`'s start, when known (probes/clock.py)."""
        return None

    def parent(self, item: Item) -> Item | None:
        """What started `item` (the thread or task it was started from), when known."""
        return None

    def start_function(self, item: Item) -> object:
        """The function whose code started `item` (file and qualified name), when known:
        a chain re-arms itself when each link was started by the same function."""
        return None

    def claim(self, items: Sequence[Item]) -> None:
        """Mark reported items, so that no later check reports them again."""
        raise NotImplementedError

    def cleanup(self, items: Sequence[Item]) -> str:
        """`cleanup_leaks`: end reported items where that is possible; says what was done.

        Runs after `describe` and `claim`, so the report shows them as they were.
        """
        return ""

    def errors(self, mark: Mark, keep: Callable[[int | None], bool]) -> list[Leak]:
        """Failures that are not leaks (an exception nobody caught), claimed once: those
        whose thread started at a clock number `keep` accepts (ownership.py)."""
        return []
