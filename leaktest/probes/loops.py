"""asyncio event loops created since a mark and never closed.

A loop left open keeps its selector and its self-pipe (a socketpair) open, and
whatever is still scheduled on it never runs. Loops are numbered at creation by
the hook of probes/tasks.py (`BaseEventLoop.__init__`), so a test that creates
no loop compares two integers. Only public loop methods are read here.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import Sequence

from ..report import Leak
from ..rules import Candidate
from ..options import Flag
from . import clock
from .base import Probe
from .tasks import any_loop, live_loops, origin_of, seq_of

_claimed: weakref.WeakSet[asyncio.AbstractEventLoop] = weakref.WeakSet()


class LoopProbe(Probe[int, asyncio.AbstractEventLoop]):
    """A mark is the clock's number: loops numbered above it were created after it."""

    kind = "loops"
    switch = Flag("check_loops", True, "asyncio event loops created by the test and never closed")
    headings = {"loops": "found asyncio event loops never closed:"}

    def mark(self, everything: bool = False) -> int:
        return -1 if everything else clock.now

    def count(self) -> int:
        if not any_loop():
            return 0
        return sum(1 for loop in live_loops() if not loop.is_closed())

    def new_since(self, mark: int) -> list[asyncio.AbstractEventLoop]:
        if clock.now == mark:
            return []
        return [
            loop
            for loop in live_loops()
            if seq_of(loop) > mark and not loop.is_closed() and loop not in _claimed
        ]

    def candidates(self, items: Sequence[asyncio.AbstractEventLoop], with_frames: bool) -> list[Candidate]:
        return [Candidate(()) for _ in items]

    def wait(self, items: Sequence[asyncio.AbstractEventLoop], deadline: float) -> list[asyncio.AbstractEventLoop]:
        """Until each loop is closed or the deadline (a loop thread closes its loop as it ends)."""
        delay = 0.0005
        pending = [loop for loop in items if not loop.is_closed()]
        while pending and any(loop.is_running() for loop in pending):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            time.sleep(min(delay, remaining))
            delay = min(delay * 2, 0.01)
            pending = [loop for loop in pending if not loop.is_closed()]
        return pending

    def describe(self, items: Sequence[asyncio.AbstractEventLoop]) -> list[Leak]:
        return [_describe(loop) for loop in items]

    def claim(self, items: Sequence[asyncio.AbstractEventLoop]) -> None:
        _claimed.update(items)


def _describe(loop: asyncio.AbstractEventLoop) -> Leak:
    state = "running" if loop.is_running() else "stopped"
    tasks = len(asyncio.all_tasks(loop))
    name = f"Event loop #{seq_of(loop)}"
    head = f"{name} ({type(loop).__name__}, {state}, {tasks} pending task{'' if tasks == 1 else 's'}) never closed"
    origin = origin_of(loop)
    created = f" created by {origin}" if origin else " created outside any Python code leaktest can see"
    return Leak("loops", name, f"{head}\n{created}", loop)
