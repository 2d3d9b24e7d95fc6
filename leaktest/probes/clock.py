"""One counter for everything the probes see happen.

Every thread start, pool, event loop, child process and recorded exception takes
the next number. A baseline keeps the number it saw; a check that finds the same
number knows, without asking any probe, that nothing was started since. It also
knows which test is running, so that a hook need not walk the stack to find it.
"""

from __future__ import annotations

import bisect
import operator
import weakref

from . import install

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Generic, TypeVar
else:
    from .._typing import Generic, TypeVar

T = TypeVar("T")

#: An entry's number, as a key to bisect by: C code, where a lambda is a Python call per step.
NUMBER = operator.itemgetter(0)

#: Held while the number advances: by `tick`, by `InOrder.add`, and by the socket probe,
#: which lists its records (an accepted connection takes its listener's number) and
#: advances `now` itself, inside this lock: one lock, no call, on every socket made. Reentrant: a list that
#: grows in the lock may run the garbage collector, whose finalizers may tick (asyncio
#: reports a pending task it destroys, which the task probe numbers). Taken with
#: `acquire()` and `release()` in `try`/`finally`, not `with`, where it is taken on
#: every event: `with` costs twice as much (2.4k instructions against 0.9k, 3.13).
#: What that leaves: a KeyboardInterrupt raised between the acquire and the `try`.
lock = install.new_lock(reentrant=True)
now = 0  # the number of the latest event; read as `clock.now` (no call on the clean path)
#: The test (or fixture) function running now, set by its baseline: what a report of
#: something made meanwhile names as "from" (read as `clock.running` by the hooks).
running: object = None


def tick() -> int:
    """The next number: call it for every event a probe records."""
    global now
    lock.acquire()
    try:
        now += 1
        return now
    finally:
        lock.release()


class InOrder(Generic[T]):
    """Weak references to what a probe numbers, in the clock's order: each is numbered
    and listed in one step, in `lock`, so that a check bisects for those made after its
    mark. The references to what is gone are dropped whenever the list has doubled
    since the last pruning, not by a callback on every object's end (tasks, loops)."""

    __slots__ = ("_entries", "_prune_at")

    def __init__(self) -> None:
        self._entries: list[tuple[int, weakref.ref[T]]] = []
        self._prune_at = 64

    def add(self, ref: weakref.ref[T]) -> int:
        """`tick()` for the object of `ref`, listed with its number: the number."""
        global now
        lock.acquire()  # (not `with`: see `lock`)
        try:
            now += 1
            seq = now
            self._entries.append((seq, ref))
            if len(self._entries) >= self._prune_at:
                self._entries[:] = [entry for entry in self._entries if entry[1]() is not None]
                self._prune_at = max(64, 2 * len(self._entries))
            return seq
        finally:
            lock.release()

    def since(self, mark: int) -> list[T]:
        """The objects still alive numbered after `mark`, in order (`since(0)`: all)."""
        entries = list(self._entries)  # one step under the GIL
        first = bisect.bisect_right(entries, mark, key=NUMBER)
        return [item for _, ref in entries[first:] if (item := ref()) is not None]

    def number_of(self, item: T) -> int:
        """`item`'s number; 0 for an object never listed here."""
        return next((seq for seq, ref in list(self._entries) if ref() is item), 0)
