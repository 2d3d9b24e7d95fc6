"""asyncio handles: `call_soon`, `call_later` and `call_at` callbacks scheduled since a
mark and still pending.

Nothing is hooked: loops are numbered at creation by probes/tasks.py; the check
reads the pending handles of the loops created since the mark, and of the loops
already open at the mark (a hub's loop thread), less what was pending on them
then. Scheduling does not move the clock: while older loops are open, a mark
copies their two queues (one C-level copy each) and the clean path compares
them again (`changed`), so a test that schedules nothing on them costs no more. In
`LeakCheckedAsyncTestCase` this runs on the test's loop, before the base class
closes it (closing a loop drops its handles without a word).

asyncio's own callbacks are not the test's: a task's steps (the task is the
leak, if any), `asyncio.sleep`'s timer, transports' and servers' plumbing, and
leaktest's own. Nor is a future's done-callback, whatever it calls: it was
scheduled by the future completing, not by the code calling `call_soon`; a class
sharing one loop across tests (one `run_until_complete` each) leaves the callbacks
of a task that finished in the loop's last pass queued behind the stop.

What this relies on, per Python version (each in one function below):
- 3.10+: `BaseEventLoop._ready` (a deque of `Handle`s due now) and
  `BaseEventLoop._scheduled` (a heap of `TimerHandle`s), `_queues`, `_queued`;
  `Handle._callback` and `Handle._args` (`_callback_of`); `Handle._source_traceback`,
  set in debug mode (`_scheduled_at`).
- uvloop 0.15+ (tested: 0.23), whose loop keeps its queues in C-level fields no
  attribute reaches: read as the loop's referents (`gc.get_referents`, one C call),
  `Loop._ready` is its one deque and `Loop._timers` its set of `TimerHandle`s
  (`_uvloop_queues`); a `Handle`'s callback and arguments are its third and fourth
  referents, a `TimerHandle`'s its first two, and each refers to its `Loop`
  (`_uvloop_callback_of`, `_loop_of`). uvloop's own callbacks are its transports'
  and servers' plumbing, as asyncio's are.
- 3.10+: a future, of either implementation (`futures._PyFuture`, the C
  `asyncio.Future`), schedules each done-callback once done as
  `loop.call_soon(callback, future, context=...)`: the only `Handle` asyncio makes
  with a done future as its one argument (`_scheduled_by_future`).
"""

from __future__ import annotations

import collections
import functools
import gc
import sys
import weakref
from collections.abc import Sequence

from .. import stacks
from ..options import Flag
from ..report import Leak, entry, short_repr
from ..rules import Candidate
from . import clock, install
from .base import Maker, Probe, poll
from .event_loops import OPEN, open_loops, running_loop, seq_of
from .tasks import loop_label, loop_thread

TYPE_CHECKING = False
if TYPE_CHECKING:
    import asyncio
    from typing import Any, NamedTuple, TypeAlias
else:
    from .._typing import NamedTuple

_claimed: weakref.WeakSet[asyncio.Handle] = weakref.WeakSet()


#: A loop's queues as `_queues` copies them: due now, due later.
Queues: TypeAlias = "tuple[tuple[asyncio.Handle, ...], tuple[asyncio.Handle, ...]]"


def _queues(loop: asyncio.AbstractEventLoop) -> Queues:
    """The handles waiting on `loop`, due now and later (3.10+: `_ready`, `_scheduled`;
    copied in one C call each, safe while the loop runs in another thread)."""
    ready = getattr(loop, "_ready", None)
    if ready is None:
        return _uvloop_queues(loop) if _is_uvloop(loop) else ((), ())
    return tuple(ready), tuple(getattr(loop, "_scheduled", ()))


def _queued(loop: asyncio.AbstractEventLoop) -> bool:
    """Whether any handle waits on `loop`: `_queues`, without copying them (every async
    test's clean path asks it of the test's loop)."""
    ready = getattr(loop, "_ready", None)
    if ready is None:
        return any(_queues(loop))
    return bool(ready or getattr(loop, "_scheduled", ()))


_uvloop: tuple[type, type, type] | None = None


def _uvloop_types() -> tuple[type, type, type] | None:
    """uvloop's compiled loop, `Handle` and `TimerHandle` classes, once it is imported."""
    global _uvloop
    if _uvloop is None and "uvloop.loop" in sys.modules:
        module = sys.modules["uvloop.loop"]
        types = tuple(getattr(module, name, None) for name in ("Loop", "Handle", "TimerHandle"))
        if all(isinstance(t, type) for t in types):
            _uvloop = types  # type: ignore[assignment]
    return _uvloop


def _is_uvloop(loop: object) -> bool:
    types = _uvloop_types()
    return types is not None and isinstance(loop, types[0])


def _uvloop_queues(loop: asyncio.AbstractEventLoop) -> Queues:
    """A uvloop loop's handles due now and its armed timers (uvloop 0.15+: `Loop._ready`,
    the one deque among its referents, and `Loop._timers`, the set of `TimerHandle`s)."""
    timer = _uvloop[2] if _uvloop is not None else None
    ready: tuple[asyncio.Handle, ...] = ()
    timers: tuple[asyncio.Handle, ...] = ()
    for field in gc.get_referents(loop):
        kind = type(field)
        if kind is collections.deque:
            ready = tuple(field)
        elif kind is set and field:
            members = tuple(field)
            if type(members[0]) is timer:
                timers = members
    return ready, timers


def _uvloop_callback_of(handle: object) -> tuple[Any, tuple[Any, ...]] | None:
    """What a uvloop handle will call, with what (uvloop 0.15+: a `TimerHandle`'s first two
    referents, `callback` and `args`; a `Handle`'s third and fourth, `arg1` and `arg2`,
    the callback and its arguments for `call_soon`'s); None for another handle."""
    types = _uvloop_types()
    if types is None or type(handle) not in types[1:]:
        return None
    fields = gc.get_referents(handle)
    if len(fields) < 4:  # another layout than the one read here
        return None
    callback, args = fields[:2] if type(handle) is types[2] else fields[2:4]
    return callback, args if isinstance(args, tuple) else ()


def _pending(loop: asyncio.AbstractEventLoop) -> list[asyncio.Handle]:
    """The handles waiting on `loop`, not cancelled."""
    ready, scheduled = _queues(loop)
    return [handle for handle in ready + scheduled if not handle.cancelled()]


def _callback_of(handle: asyncio.Handle) -> tuple[Any, tuple[Any, ...]]:
    """What the handle will call, with what (3.10+: `_callback`, `_args`; None once run)."""
    import asyncio

    if isinstance(handle, asyncio.Handle):
        return getattr(handle, "_callback", None), getattr(handle, "_args", None) or ()
    return _uvloop_callback_of(handle) or (None, ())


def _is_timer(handle: asyncio.Handle) -> bool:
    """Scheduled by `call_later`/`call_at`: asyncio's `TimerHandle`, or uvloop's."""
    import asyncio

    if isinstance(handle, asyncio.TimerHandle):
        return True
    types = _uvloop_types()
    return types is not None and type(handle) is types[2]


def _scheduled_at(handle: asyncio.Handle) -> str:
    """Where the handle was scheduled: recorded by asyncio in debug mode only."""
    return stacks.where("scheduled", _scheduled_site(handle), unseen=stacks.UNSEEN_WITHOUT_DEBUG)


def _scheduled_site(handle: asyncio.Handle) -> stacks.StartSite | None:
    return stacks.debug_site(getattr(handle, "_source_traceback", None))


#: The two implementations of asyncio's futures (tasks derive from them), once it is imported.
_FUTURES: tuple[type[Any], ...] = ()


def _asyncio_imported() -> None:
    import asyncio.futures

    global _FUTURES
    _FUTURES = tuple({asyncio.Future, getattr(asyncio.futures, "_PyFuture", asyncio.Future)})


install.on_import("asyncio", _asyncio_imported)


def _scheduled_by_future(handle: asyncio.Handle) -> bool:
    """Scheduled by a future completing: due now, its one argument the done future
    that scheduled it (3.10+, both implementations)."""
    _, args = _callback_of(handle)
    if not args or len(args) != 1 or _is_timer(handle):
        return False
    future = args[0]
    return isinstance(future, _FUTURES) and bool(future.done())


def _function(callback: object) -> object:
    """The function under partials and bound methods."""
    while isinstance(callback, functools.partial):
        callback = callback.func
    return getattr(callback, "__func__", callback)


def _internal(callback: object) -> bool:
    """asyncio's own plumbing, or leaktest's: not the test's callback."""
    import asyncio

    while isinstance(callback, functools.partial):
        callback = callback.func
    if isinstance(getattr(callback, "__self__", None), asyncio.Future):
        return True  # a task's step or wake-up, a future's method
    module = getattr(_function(callback), "__module__", None) or ""
    return module.split(".")[0] in ("asyncio", "_asyncio", "uvloop", "leaktest")


def callback_name(callback: object) -> str:
    """``module.Class.method`` of what a handle calls."""
    function = _function(callback)
    module = getattr(function, "__module__", None)
    qualname = getattr(function, "__qualname__", None)
    if qualname is None:
        return repr(callback)
    name = f"{module}.{qualname}" if module else str(qualname)
    return f"functools.partial({name})" if isinstance(callback, functools.partial) else name


class Pending(NamedTuple):
    """A pending handle, and what was pending on its loop at the mark (not the test's)."""

    handle: asyncio.Handle
    before: frozenset[asyncio.Handle]


#: (seq, old): the handles of loops numbered above `seq` are all new; `old` holds the
#: queues of the open older loops, if any. A plain tuple: made on every test.
HandleMark = tuple[int, "dict[asyncio.AbstractEventLoop, Queues] | None"]


_NOTHING: frozenset[asyncio.Handle] = frozenset()


class HandleProbe(Probe[HandleMark, Pending]):
    """A mark is the clock's number, plus, only while loops older than it are open
    (a hub's loop thread), the handles pending on them then."""

    kind = "handles"
    switch = Flag("check_handles", True, "asyncio call_soon/call_later/call_at callbacks still pending")
    headings = {"handles": "found asyncio callbacks and timers still pending:"}
    checked_in_loop = True  # before the test's loop closes, which drops its handles
    looks_without_clock = True  # scheduling on an older loop does not move the clock

    def mark(self, everything: bool = False) -> HandleMark:
        if everything:
            return (-1, None)
        old = None
        if OPEN:
            old = {loop: _queues(loop) for loop in open_loops()} or None
        return (clock.now, old)

    def changed(self, mark: HandleMark) -> bool:
        """Whether the queues of an older loop open at the mark changed since."""
        _, old = mark
        if not old:
            return False
        for loop, queues in old.items():
            if loop.is_closed() or _queues(loop) != queues:
                return True
        return False

    def pending_on(self, loop: Any) -> bool:
        return _queued(loop) and bool(_reportable(loop, _NOTHING))

    def count(self) -> int:
        if not OPEN:
            return 0
        return sum(
            1
            for loop in open_loops()
            for handle in _pending(loop)
            if not _internal(_callback_of(handle)[0]) and not _scheduled_by_future(handle)
        )

    def new_since(self, mark: HandleMark) -> list[Pending]:
        seq, old = mark
        if clock.now == seq and not old:
            return []
        found = []
        for loop in open_loops():
            if seq_of(loop) > seq:
                before = _NOTHING
            elif old and loop in old:
                ready, scheduled = old[loop]
                before = frozenset(ready + scheduled)
            else:
                continue
            found += [Pending(handle, before) for handle in _reportable(loop, before)]
        return found

    def made_by(self, item: Pending) -> Maker | None:
        """The thread running the callback's loop: a fixture's server thread owns what its loop runs."""
        return loop_thread(_loop_of(item.handle))

    def candidates(self, items: Sequence[Pending], with_frames: bool) -> list[Candidate]:
        return [Candidate((callback_name(_callback_of(item.handle)[0]),)) for item in items]

    def wait(self, items: Sequence[Pending], deadline: float) -> list[Pending]:
        """Until each handle has run or is cancelled, or the deadline. Only a loop running
        in another thread can run them meanwhile; others are not waited for."""
        here = running_loop()

        def run_elsewhere(left: list[Pending]) -> bool:
            return any((loop := _loop_of(p.handle)) is not here and loop.is_running() for p in left)

        return poll(items, _still_pending, deadline, run_elsewhere)

    def describe(self, items: Sequence[Pending]) -> list[Leak]:
        return [_describe(item.handle) for item in items]

    def identity(self, item: Pending) -> int:
        return id(item.handle)

    def referent(self, item: Pending) -> object:
        return item.handle

    def claim(self, items: Sequence[Pending]) -> None:
        _claimed.update(item.handle for item in items)

    def cleanup(self, items: Sequence[Pending]) -> str:
        """Cancel the pending callbacks, each in its own loop's thread."""
        here = running_loop()
        cancelled = []
        for handle in (item.handle for item in items):
            loop = _loop_of(handle)
            if handle.cancelled() or loop.is_closed():
                continue
            try:
                if loop.is_running() and loop is not here:
                    loop.call_soon_threadsafe(handle.cancel)
                else:
                    handle.cancel()
            except RuntimeError:  # its loop is closed
                continue
            cancelled.append(callback_name(_callback_of(handle)[0]))
        return f"cancelled the callbacks {', '.join(cancelled)}" if cancelled else ""


def _loop_of(handle: asyncio.Handle) -> asyncio.AbstractEventLoop:
    """The loop a handle was scheduled on (3.10+: `Handle._loop`; uvloop: the `Loop` among
    its referents)."""
    loop = getattr(handle, "_loop", None)
    if loop is None:
        types = _uvloop_types()
        loop = next((f for f in gc.get_referents(handle) if types is not None and isinstance(f, types[0])), None)
    if loop is None:
        raise TypeError(f"{handle!r}: no loop of its own")
    return loop  # type: ignore[return-value]  # (a `Handle._loop`, or uvloop's `Loop`)


def _still_pending(items: Sequence[Pending]) -> list[Pending]:
    """What is pending now on the loops of `items`: those not run yet, and the ones
    scheduled since (a callback that re-arms itself is still there)."""
    loops = {_loop_of(item.handle): item.before for item in items}
    return [
        Pending(handle, before)
        for loop, before in loops.items()
        if not loop.is_closed()
        for handle in _reportable(loop, before)
    ]


def _reportable(loop: asyncio.AbstractEventLoop, before: frozenset[asyncio.Handle]) -> list[asyncio.Handle]:
    return [
        h
        for h in _pending(loop)
        if h not in before and h not in _claimed and not _internal(_callback_of(h)[0]) and not _scheduled_by_future(h)
    ]


def _describe(handle: asyncio.Handle) -> Leak:
    callback, args = _callback_of(handle)
    name = callback_name(callback)
    loop = _loop_of(handle)
    on = f"on {loop_label(loop)}"
    if _is_timer(handle):
        due = handle.when() - loop.time()  # type: ignore[attr-defined]
        when = f"due in {due:.3f}s" if due >= 0 else f"overdue by {-due:.3f}s"
        head = f"Timer {name}{_args(args)} (call_later/call_at, {when}, {on})"
        label = f"Timer {name}"
    else:
        head = f"Callback {name}{_args(args)} (call_soon, not run yet, {on})"
        label = f"Callback {name}"
    origin = stacks.site_function(_scheduled_site(handle))
    return Leak("handles", label, entry(head, _scheduled_at(handle)), handle, runs=name, origin=origin)


def _args(args: tuple[Any, ...]) -> str:
    text = ", ".join(short_repr(arg, 60) for arg in args)
    return f"({text})"
