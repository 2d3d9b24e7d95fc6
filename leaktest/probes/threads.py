"""Threads: which ones started since a mark, and exceptions nobody caught in them.

`Thread.start` is wrapped once per process to number every thread and note where
it was started. A baseline is then one integer, and a check on a test that
started no thread compares two integers.
"""

from __future__ import annotations

import functools
import sys
import threading
import time
import traceback
from collections.abc import Callable, Sequence
import concurrent.futures.thread
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

from .. import stacks
from ..report import Leak
from ..rules import Candidate
from . import Probe

_lock = threading.Lock()
_last_seq = 0  # the number given to the most recently started thread (or pool)


def _next_seq() -> int:
    global _last_seq
    with _lock:
        _last_seq += 1
        return _last_seq


@functools.wraps(threading.Thread.start)
def _start(self: threading.Thread) -> None:
    pool_seq = _pool_seq(self)
    self._leaktest_seq = _next_seq() if pool_seq is None else pool_seq  # type: ignore[attr-defined]
    self._leaktest_origin = stacks.origin_of(sys._getframe(1))  # type: ignore[attr-defined]
    _original_start(self)


_original_start = threading.Thread.start
threading.Thread.start = _start  # type: ignore[method-assign]


# A ThreadPoolExecutor starts its workers lazily, inside whichever test first
# submits work: its workers are numbered as of the pool's creation, so a pool made
# in setUpClass or at import stays its owner's, not that test's.
_original_pool_init = ThreadPoolExecutor.__init__


@functools.wraps(_original_pool_init)
def _pool_init(self: ThreadPoolExecutor, *args: Any, **kwargs: Any) -> None:
    self._leaktest_seq = _next_seq()  # type: ignore[attr-defined]
    _original_pool_init(self, *args, **kwargs)


ThreadPoolExecutor.__init__ = _pool_init  # type: ignore[method-assign]
_pool_worker = getattr(concurrent.futures.thread, "_worker", None)


def _pool_seq(thread: threading.Thread) -> int | None:
    """The pool's number when `thread` is a ThreadPoolExecutor worker (3.10-3.13:
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

    thread_seq: int
    thread_name: str
    text: str
    claimed: bool = False


_uncaught: list[_Uncaught] = []
_marks_alive = 0

ExceptHook = Callable[[threading.ExceptHookArgs], object]


def _chained_to(previous: ExceptHook) -> ExceptHook:
    """An excepthook that records the exception for the test that started the thread."""

    def excepthook(args: threading.ExceptHookArgs) -> None:
        thread = args.thread
        if thread is not None and args.exc_type is not SystemExit:
            text = "".join(
                traceback.format_exception(args.exc_type, args.exc_value, args.exc_traceback)
            )
            _uncaught.append(_Uncaught(seq_of(thread), thread.name, text.rstrip("\n")))
        previous(args)

    excepthook._leaktest_previous = previous  # type: ignore[attr-defined]
    return excepthook


def _use_hook() -> tuple[int, ExceptHook | None]:
    """Make sure our excepthook is installed; return where new records start, and
    the hook installed here (None when one of ours was already in place)."""
    global _marks_alive
    with _lock:
        _marks_alive += 1
        current = threading.excepthook
        if hasattr(current, "_leaktest_previous"):
            return len(_uncaught), None
        hook = _chained_to(current)
        threading.excepthook = hook
        return len(_uncaught), hook


def _unuse_hook(installed: ExceptHook | None) -> None:
    """Restore the hook we replaced, unless somebody replaced ours since."""
    global _marks_alive
    with _lock:
        _marks_alive -= 1
        if installed is not None and threading.excepthook is installed:
            threading.excepthook = installed._leaktest_previous  # type: ignore[attr-defined]
        if _marks_alive == 0:
            _uncaught.clear()


@dataclass(frozen=True)
class ThreadMark:
    seq: int  # threads numbered above this started after the mark
    uncaught_from: int  # index into the uncaught-exception records
    installed_hook: ExceptHook | None
    exclude: frozenset[int] = field(default=frozenset())  # idents never reported


class ThreadProbe(Probe[ThreadMark, threading.Thread]):
    kind = "threads"

    def mark(self, everything: bool = False) -> ThreadMark:
        seq = -1 if everything else _last_seq
        uncaught_from, installed_hook = _use_hook()
        if everything:
            exclude = frozenset({threading.main_thread().ident or 0, threading.get_ident()})
            return ThreadMark(seq, uncaught_from, installed_hook, exclude)
        return ThreadMark(seq, uncaught_from, installed_hook)

    def release(self, mark: ThreadMark) -> None:
        _unuse_hook(mark.installed_hook)

    def count(self) -> int:
        return threading.active_count()

    def new_since(self, mark: ThreadMark) -> list[threading.Thread]:
        if _last_seq == mark.seq:
            return []
        current = threading.current_thread()
        return [
            thread
            for thread in threading.enumerate()
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
        found = []
        for record in _uncaught[mark.uncaught_from :]:
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
