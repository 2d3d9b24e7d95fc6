"""Threads: which ones started since a mark, and exceptions nobody caught in them.

`Thread.start` is wrapped once per process to number every thread and note where
it was started. A baseline is then one integer, and a check on a test that
started no thread compares two integers.
"""

from __future__ import annotations

import bisect
import functools
import os
import sys
import threading
import time
import traceback
import weakref
from collections.abc import Callable, Sequence
import concurrent.futures.thread
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from types import FrameType
from typing import Any, NamedTuple

from .. import stacks
from ..report import Leak
from ..rules import Candidate
from . import Probe, clock

_lock = threading.Lock()  # guards the started-thread list and the exception records

# Threads in start order, as (tick of the start, weak reference): a check looks
# only at those started after its mark, not at every thread alive. Dead entries
# are dropped whenever the list has doubled since the last pruning.
_started: list[tuple[int, weakref.ref[threading.Thread]]] = []
_prune_at = 64


@functools.wraps(threading.Thread.start)
def _start(self: threading.Thread) -> None:
    global _prune_at
    pool_seq = _pool_seq(self)
    self._leaktest_origin = stacks.origin_of(sys._getframe(1))  # type: ignore[attr-defined]
    with _lock:
        tick = clock.tick()
        self._leaktest_seq = tick if pool_seq is None else pool_seq  # type: ignore[attr-defined]
        _started.append((tick, weakref.ref(self)))
        if len(_started) >= _prune_at:
            _started[:] = [(n, ref) for n, ref in _started if _may_be_alive(ref())]
            _prune_at = max(64, 2 * len(_started))
    _original_start(self)


def _new_lock_in_child() -> None:
    """A forked child may inherit the lock held by another thread of the parent."""
    global _lock
    _lock = threading.Lock()


if hasattr(os, "register_at_fork"):  # wherever os.fork exists
    os.register_at_fork(after_in_child=_new_lock_in_child)


def _may_be_alive(thread: threading.Thread | None) -> bool:
    """Alive, or not running yet (its start is under way)."""
    return thread is not None and (thread.ident is None or thread.is_alive())


def _started_after(tick: int) -> list[threading.Thread]:
    """The threads started after `tick` that still exist."""
    with _lock:
        first = bisect.bisect_right(_started, tick, key=lambda entry: entry[0])
        threads = [ref() for _, ref in _started[first:]]
    return [thread for thread in threads if thread is not None]


_original_start = threading.Thread.start
threading.Thread.start = _start  # type: ignore[method-assign]


# A ThreadPoolExecutor starts its workers lazily, inside whichever test first
# submits work: its workers are numbered as of the pool's creation, so a pool made
# in setUpClass or at import stays its owner's, not that test's.
_original_pool_init = ThreadPoolExecutor.__init__


@functools.wraps(_original_pool_init)
def _pool_init(self: ThreadPoolExecutor, *args: Any, **kwargs: Any) -> None:
    self._leaktest_seq = clock.tick()  # type: ignore[attr-defined]
    _original_pool_init(self, *args, **kwargs)


ThreadPoolExecutor.__init__ = _pool_init  # type: ignore[method-assign]
_pool_worker = getattr(concurrent.futures.thread, "_worker", None)


def _pool_seq(thread: threading.Thread) -> int | None:
    """The pool's number when `thread` is a ThreadPoolExecutor worker (3.10-3.15:
    target `_worker`, first argument a weak reference to the executor)."""
    if getattr(thread, "_target", None) is not _pool_worker:
        return None
    args = getattr(thread, "_args", ())
    pool = args[0]() if args and callable(args[0]) else None
    seq = getattr(pool, "_leaktest_seq", None)
    return seq if isinstance(seq, int) else None


def seq_of(thread: threading.Thread) -> int:
    """The start number of `thread`; 0 for threads started before leaktest was imported."""
    return getattr(thread, "_leaktest_seq", 0)


def origin_of(thread: threading.Thread) -> stacks.Origin | None:
    return getattr(thread, "_leaktest_origin", None)


@dataclass
class _Uncaught:
    """An exception that ended a thread, formatted when it happened."""

    serial: int  # how many exceptions were recorded before this one
    thread_seq: int
    thread_name: str
    text: str
    claimed: bool = False


_KEEP_UNCAUGHT = 1000  # records kept for the checks still to come; older ones are dropped
_uncaught: list[_Uncaught] = []
_uncaught_total = 0  # how many were ever recorded: a mark keeps this number

ExceptHook = Callable[[threading.ExceptHookArgs], object]
_chained_hook: ExceptHook = threading.excepthook  # what `_excepthook` passes everything on to


def _excepthook(args: threading.ExceptHookArgs) -> None:
    """Record the exception for the test that started the thread, then chain."""
    global _uncaught_total
    thread = args.thread
    if thread is not None and args.exc_type is not SystemExit:
        text = "".join(traceback.format_exception(args.exc_type, args.exc_value, args.exc_traceback))
        with _lock:
            _uncaught.append(_Uncaught(_uncaught_total, seq_of(thread), thread.name, text.rstrip("\n")))
            _uncaught_total += 1
            del _uncaught[:-_KEEP_UNCAUGHT]
        clock.tick()
    _chained_hook(args)


def _install_hook() -> ExceptHook | None:
    """Put `_excepthook` in front of the current hook, unless it is there already.

    Returns what to give `_uninstall_hook` later: the chained hook it replaced
    (None when nothing was installed). Nested marks install and restore LIFO.
    """
    global _chained_hook
    current = threading.excepthook
    if current is _excepthook:
        return None
    replaced, _chained_hook = _chained_hook, current
    threading.excepthook = _excepthook
    return replaced


def _uninstall_hook(replaced: ExceptHook | None) -> None:
    """Give the hook back to the one `_install_hook` chained to, unless replaced since."""
    global _chained_hook
    if replaced is not None and threading.excepthook is _excepthook:
        threading.excepthook, _chained_hook = _chained_hook, replaced


class ThreadMark(NamedTuple):
    seq: int  # threads numbered above this started after the mark
    uncaught_from: int  # the exceptions recorded from this serial on are candidates
    replaced_hook: ExceptHook | None  # for `_uninstall_hook`
    exclude: frozenset[int] = frozenset()  # idents never reported


_NO_IDENTS: frozenset[int] = frozenset()


class ThreadProbe(Probe[ThreadMark, threading.Thread]):
    kind = "threads"
    installs = True  # the excepthook

    def mark(self, everything: bool = False) -> ThreadMark:
        if everything:
            exclude = frozenset({threading.main_thread().ident or 0, threading.get_ident()})
            return ThreadMark(-1, _uncaught_total, _install_hook(), exclude)
        # tuple.__new__ skips NamedTuple's Python-level __new__: this runs on every test.
        return tuple.__new__(ThreadMark, (clock.now, _uncaught_total, _install_hook(), _NO_IDENTS))

    def release(self, mark: ThreadMark) -> None:
        _uninstall_hook(mark.replaced_hook)

    def count(self) -> int:
        return threading.active_count()

    def new_since(self, mark: ThreadMark) -> list[threading.Thread]:
        if clock.now == mark.seq:
            return []
        current = threading.current_thread()
        # verify_none (seq -1) wants every thread, those older than leaktest too.
        threads = threading.enumerate() if mark.seq < 0 else _started_after(mark.seq)
        return [
            thread
            for thread in threads
            if seq_of(thread) > mark.seq
            and thread is not current
            and thread.ident not in mark.exclude
            and not getattr(thread, "_leaktest_reported", False)
            and thread.is_alive()
        ]

    def candidates(self, items: Sequence[threading.Thread], with_frames: bool) -> list[Candidate]:
        frames = sys._current_frames() if with_frames else {}
        return [
            Candidate((thread.name,), stacks.frames_of(frames.get(thread.ident or 0)))
            for thread in items
        ]

    def wait(self, items: Sequence[threading.Thread], deadline: float) -> list[threading.Thread]:
        for thread in items:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            thread.join(remaining)
        return [thread for thread in items if thread.is_alive()]

    def describe(self, items: Sequence[threading.Thread]) -> list[Leak]:
        frames = sys._current_frames()
        return [_describe(thread, frames.get(thread.ident or 0)) for thread in items]

    def claim(self, items: Sequence[threading.Thread]) -> None:
        for thread in items:
            thread._leaktest_reported = True  # type: ignore[attr-defined]

    def errors(self, mark: ThreadMark) -> list[Leak]:
        if _uncaught_total == mark.uncaught_from:
            return []
        found = []
        with _lock:
            records = [record for record in _uncaught if record.serial >= mark.uncaught_from]
        for record in records:
            if record.thread_seq > mark.seq and not record.claimed:
                record.claimed = True
                found.append(
                    Leak(
                        "thread exceptions",
                        f"exception in Thread {record.thread_name!r}",
                        f"Thread {record.thread_name!r}:\n{_indent(record.text)}",
                    )
                )
        return found


def _describe(thread: threading.Thread, frame: FrameType | None) -> Leak:
    frames = stacks.frames_of(frame)
    top = stacks.top_frame(frames)
    head = f"Thread {thread.name!r} (ident {thread.ident}, daemon={thread.daemon})"
    if top is not None:
        head += f" with {stacks.qualified_name(top.f_code, top)} on top of the stack:"
        body = stacks.format_frames(frames)
    else:
        head += " (its stack could not be read)"
        body = ""
    origin = origin_of(thread)
    started = f" started by {origin}" if origin else " started outside any Python code leaktest can see"
    entry = "\n".join(part for part in (head, body, started) if part)
    return Leak("threads", f"Thread {thread.name!r}", entry, thread)


def _indent(text: str) -> str:
    return "\n".join("  " + line for line in text.splitlines())
