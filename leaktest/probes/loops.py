"""asyncio event loops created since a mark and never closed.

A loop left open keeps its selector and its self-pipe (a socketpair) open, and
whatever is still scheduled on it never runs. Loops are numbered at creation by
probes/event_loops.py, so a test that creates no loop compares two integers.
Only public loop methods are read here.

Not a test's leak: the loop `asyncio.get_event_loop()` creates implicitly for a
main thread that never had one set (3.10-3.13; 3.14 creates none). asyncio's
policy keeps it and hands it to every later caller: it belongs to the process,
as the default executor does, not to whichever test asked first
(`event_loops.implicit`).
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence

from .. import stacks
from ..options import Flag
from ..report import Leak, entry
from ..rules import Candidate
from . import clock, event_loops, install
from .base import Probe, poll
from .event_loops import OPEN, implicit, made_since, open_loops, origin_of, seq_of

TYPE_CHECKING = False
if TYPE_CHECKING:
    import asyncio

_claimed: weakref.WeakSet[asyncio.AbstractEventLoop] = weakref.WeakSet()


class LoopProbe(Probe[int, "asyncio.AbstractEventLoop"]):
    """A mark is the clock's number: loops numbered above it were created after it
    (none before asyncio is imported)."""

    kind = "loops"
    switch = Flag("check_loops", True, "asyncio event loops created by the test and never closed")
    headings = {"loops": "found asyncio event loops never closed:"}

    marks_clock = True

    def hooks(self) -> list[install.Hook]:
        return [event_loops.LOOP_INIT, event_loops.UVLOOP_INIT]

    def count(self) -> int:
        if not OPEN:
            return 0
        return len(open_loops())

    def new_since(self, mark: int) -> list[asyncio.AbstractEventLoop]:
        if clock.now == mark:
            return []
        return [
            loop for loop in made_since(mark) if not loop.is_closed() and loop not in _claimed and not implicit(loop)
        ]

    def candidates(self, items: Sequence[asyncio.AbstractEventLoop], with_frames: bool) -> list[Candidate]:
        return [Candidate(()) for _ in items]

    def wait(self, items: Sequence[asyncio.AbstractEventLoop], deadline: float) -> list[asyncio.AbstractEventLoop]:
        """Until each loop is closed or the deadline (a loop thread closes its loop as it ends)."""
        return poll(
            items,
            lambda left: [loop for loop in left if not loop.is_closed()],
            deadline,
            lambda left: any(loop.is_running() for loop in left),
        )

    def describe(self, items: Sequence[asyncio.AbstractEventLoop]) -> list[Leak]:
        return [_describe(loop) for loop in items]

    def claim(self, items: Sequence[asyncio.AbstractEventLoop]) -> None:
        _claimed.update(items)

    def cleanup(self, items: Sequence[asyncio.AbstractEventLoop]) -> str:
        """Close the leaked loops that are not running (a running loop belongs to its thread)."""
        closed = [loop for loop in items if not loop.is_closed() and not loop.is_running()]
        for loop in closed:
            loop.close()
        left = len(items) - len(closed)
        done = f"closed {len(closed)} event loop{'' if len(closed) == 1 else 's'}" if closed else ""
        return done + (f"; {left} running loop(s) left to their threads" if left else "")


def _describe(loop: asyncio.AbstractEventLoop) -> Leak:
    import asyncio

    state = "running" if loop.is_running() else "stopped"
    tasks = len(asyncio.all_tasks(loop))
    name = f"Event loop #{seq_of(loop)}"
    head = f"{name} ({type(loop).__name__}, {state}, {tasks} pending task{'' if tasks == 1 else 's'}) never closed"
    site = origin_of(loop)
    return Leak(
        "loops",
        name,
        entry(head, stacks.where("created", site)),
        loop,
        runs=type(loop).__qualname__,
        origin=stacks.site_function(site),
    )
