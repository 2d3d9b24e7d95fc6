"""asyncio event loops created since a mark and never closed.

A loop left open keeps its selector and its self-pipe (a socketpair) open, and
whatever is still scheduled on it never runs. Loops are numbered at creation by
the hook of probes/tasks.py (`BaseEventLoop.__init__`), so a test that creates
no loop compares two integers. Only public loop methods are read here.

Not a test's leak: the loop `asyncio.get_event_loop()` creates implicitly for a
main thread that never had one set (3.10-3.13; 3.14 creates none). asyncio's
policy keeps it and hands it to every later caller: it belongs to the process,
as the default executor does, not to whichever test asked first. This probe
listens to `BaseEventLoop.__init__` too, to see who is creating the loop:
`BaseDefaultEventLoopPolicy.get_event_loop` (`_implicit_creators`).
"""

from __future__ import annotations

import asyncio
import asyncio.events
import time
import weakref
from collections.abc import Sequence
from types import CodeType, FrameType
from typing import Any

from .. import stacks
from ..options import Flag
from ..report import Leak, entry
from ..rules import Candidate
from . import clock, install
from .base import Probe
from .tasks import any_loop, live_loops, origin_of, seq_of

_claimed: weakref.WeakSet[asyncio.AbstractEventLoop] = weakref.WeakSet()
_implicit: weakref.WeakSet[asyncio.AbstractEventLoop] = weakref.WeakSet()  # the process's


def _implicit_creators() -> frozenset[CodeType]:
    """The code of the policy method that creates a loop implicitly: 3.10-3.13
    `BaseDefaultEventLoopPolicy.get_event_loop` (3.14+ creates none)."""
    policy = getattr(asyncio.events, "BaseDefaultEventLoopPolicy", None)
    method = getattr(policy, "get_event_loop", None)
    code = getattr(method, "__code__", None)
    return frozenset([code]) if isinstance(code, CodeType) else frozenset()


_IMPLICIT_CREATORS = _implicit_creators()


def _on_loop_init(result: None, frame: FrameType | None, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """After `BaseEventLoop.__init__`: note a loop the policy creates implicitly (a few
    frames out: the loop classes' `__init__`s, the policy's `new_event_loop`)."""
    for _ in range(8):
        if frame is None:
            return
        if frame.f_code in _IMPLICIT_CREATORS:
            _implicit.add(args[0])
            return
        frame = frame.f_back


class LoopProbe(Probe[int, asyncio.AbstractEventLoop]):
    """A mark is the clock's number: loops numbered above it were created after it."""

    kind = "loops"
    switch = Flag("check_loops", True, "asyncio event loops created by the test and never closed")
    headings = {"loops": "found asyncio event loops never closed:"}

    marks_clock = True

    def hooks(self) -> list[install.Hook]:
        if not _IMPLICIT_CREATORS:
            return []
        return [install.Hook(lambda: asyncio.BaseEventLoop, "__init__", _on_loop_init, after=True)]

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
            if seq_of(loop) > mark and not loop.is_closed() and loop not in _claimed and loop not in _implicit
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

    def cleanup(self, items: Sequence[asyncio.AbstractEventLoop]) -> str:
        """Close the leaked loops that are not running (a running loop belongs to its thread)."""
        closed = [loop for loop in items if not loop.is_closed() and not loop.is_running()]
        for loop in closed:
            loop.close()
        left = len(items) - len(closed)
        done = f"closed {len(closed)} event loop{'' if len(closed) == 1 else 's'}" if closed else ""
        return done + (f"; {left} running loop(s) left to their threads" if left else "")


def _describe(loop: asyncio.AbstractEventLoop) -> Leak:
    state = "running" if loop.is_running() else "stopped"
    tasks = len(asyncio.all_tasks(loop))
    name = f"Event loop #{seq_of(loop)}"
    head = f"{name} ({type(loop).__name__}, {state}, {tasks} pending task{'' if tasks == 1 else 's'}) never closed"
    return Leak("loops", name, entry(head, stacks.where("created", origin_of(loop))), loop)
