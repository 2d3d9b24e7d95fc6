"""Threads: which ones started since a mark, and exceptions nobody caught in them.

`Thread.start` is wrapped once per process to number every thread and note where
it was started. A baseline is then one integer, and a check on a test that
started no thread compares two integers.

Threads started below `threading` (`_thread.start_new_thread`, 3.13+ also
`start_joinable_thread`) are seen too (`RawThread`), and waited for like a Thread.

What was made before the hooks existed (a module-wide pool, a server thread
started at import) is older than every test, and so is what it starts later.
leaktest does not import `concurrent.futures`: its pool's hook waits for the code
under test to import it (`install.on_import`).

Private APIs read, 3.10-3.15: `Thread._target` and `Thread._args` (`_target_name`,
`_pool_seq`), `concurrent.futures.thread._worker` (`_pool_seq`),
`threading._DummyThread` (`_unseen`), `threading._active` (`_current_thread_if_known`).
"""

from __future__ import annotations

import _thread
import bisect
import functools
import itertools
import sys
import threading
import time
import traceback
import weakref
from collections.abc import Callable, Sequence
from types import FrameType

from .. import stacks
from ..options import Flag, Patterns
from ..report import Leak, entry
from ..rules import Candidate
from . import clock, install
from .base import Maker, Probe

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_lock = install.new_lock()  # guards the started-thread list, the exception records, the excepthook

# What this copy of leaktest notes on each thread (and pool): another copy notes its own.
_SEQ = install.PREFIX + "seq"  # the start number (the pool's creation number for its workers)
_SITE = install.PREFIX + "site"  # where it was started (stacks.StartSite)
_START = install.PREFIX + "start"  # the stack that started it (`ignore_started_by`)
#: (a weak reference to the numbered thread that started it, that thread's number)
_PARENT = install.PREFIX + "parent"
_REPORTED = install.PREFIX + "reported"  # a check reported it (or the thread that started it)


class RawThread:
    """A thread started with `_thread.start_new_thread` (3.13+ also
    `start_joinable_thread`), not through `threading.Thread`: CPython's test_socket
    starts its client threads so, and C-accelerated libraries through the same call.
    The call is handed this object in place of the function: it runs the function and
    tells when it has returned (nothing else signals a raw thread's end). Once it has,
    the function is let go, as `Thread` lets its target go: a test's bound method
    (test_socket's client threads) would keep the test alive with all it holds.
    Its end is a lock held until then: one object for the garbage collector to
    traverse until the next check lets it go, where an `Event` is five."""

    _names = itertools.count(1)

    def __init__(self, function: Callable[..., object], api: str) -> None:
        self.function: Callable[..., object] | None = function
        self.api = api
        self.name = f"raw-thread-{next(RawThread._names)}"
        self.ident: int | None = None
        self.daemon = True
        self._running = _thread.allocate_lock()
        self._running.acquire()

    def __call__(self, *args: Any, **kwargs: Any) -> object:
        self.ident = threading.get_ident()
        assert self.function is not None  # (called once, by the thread it starts)
        raised = True  # then `_thread` names the function: "Exception ignored in thread started by"
        try:
            result = self.function(*args, **kwargs)
            raised = False
            return result
        except SystemExit:  # `_thread.exit()`, a quiet end (test_socket's client threads)
            raised = False
            raise
        finally:
            if not raised:
                self.function = None
            self._running.release()

    def __repr__(self) -> str:
        return repr(self.function)  # "Exception ignored in thread started by <the function>"

    def is_alive(self) -> bool:
        return self._running.locked()

    def join(self, timeout: float) -> None:
        if self._running.acquire(timeout=timeout):
            self._running.release()


#: What the thread probe reports: a `threading.Thread`, or a thread started below it.
AnyThread = threading.Thread | RawThread


def _on_raw_start(api: str) -> install.Listener:
    """Before `_thread.<api>`: hand it a `RawThread` running the function, noted like
    `Thread.start` notes its own. `threading` calls its own aliases of these (bound
    when it was imported): a `Thread` is never noted twice."""

    def listener(result: None, frame: FrameType | None, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if args:
            function, rest = args[0], args[1:]
        else:
            kwargs = dict(kwargs)
            function, rest = kwargs.pop("function"), ()
        raw = RawThread(function, api)
        starter = _current_thread_if_known()
        numbered = starter is not None and seq_of(starter) > 0
        inherited = None if starter is None or numbered or not _unseen(starter) else 0
        _note_start(raw, frame, frame, starter, numbered, inherited)
        return (raw, *rest), kwargs

    return listener


_on_start_new_thread = _on_raw_start("start_new_thread")
_on_start_joinable_thread = _on_raw_start("start_joinable_thread")  # 3.13+


def _current_thread_if_known() -> threading.Thread | None:
    """The `Thread` running this code, without making a `_DummyThread` for a thread
    threading does not know (`threading._active`, 3.10-3.15)."""
    active: dict[int, threading.Thread] = threading._active  # type: ignore[attr-defined]
    return active.get(threading.get_ident())


#: Raw threads in start order, held (nothing else holds them) until they are seen ended.
_raw: list[tuple[int, RawThread]] = []

# Threads in start order, as (tick of the start, weak reference): a check looks
# only at those started after its mark, not at every thread alive. Dead entries
# are dropped whenever the list has doubled since the last pruning.
_started: list[tuple[int, weakref.ref[threading.Thread]]] = []
_prune_at = 64


def _on_start(result: None, frame: FrameType | None, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """Before `Thread.start`: number the thread and note where it was started."""
    thread: threading.Thread = args[0]
    starter = threading.current_thread()
    numbered = seq_of(starter) > 0
    # Started by a pool, or a thread, that leaktest did not see made: older than every test.
    inherited = _pool_seq(thread) if numbered or not _unseen(starter) else 0
    site_frame = frame if type(thread).start is threading.Thread.start else _caller_of_start(thread, frame)
    _note_start(thread, frame, site_frame, starter, numbered, inherited)


def _note_start(
    thread: AnyThread,
    frame: FrameType | None,
    site_frame: FrameType | None,
    starter: threading.Thread | None,
    numbered: bool,
    inherited: int | None,
) -> None:
    """Note where and by whom `thread` was started, give it its number, keep it in start order."""
    global _prune_at
    setattr(thread, _START, stacks.start_stack(frame))
    # `start_site(site_frame, starter)`, with `numbered` known already: this runs on every start.
    named = starter if numbered else None
    site = stacks.start_site(site_frame, named.name if named else None, site_of(named) if named else None)
    setattr(thread, _SITE, site)
    if named is not None:
        setattr(thread, _PARENT, (weakref.ref(named), seq_of(named)))
    if _alive and threading.excepthook is not _excepthook:
        _install_hook()
    with _lock:
        if named is not None and _reported(named):
            # Started by a thread already reported (a timer re-arming itself): part of that report.
            setattr(thread, _REPORTED, True)
        tick = clock.tick()
        setattr(thread, _SEQ, tick if inherited is None else inherited)
        if isinstance(thread, RawThread):
            _raw.append((tick, thread))
        else:
            _started.append((tick, weakref.ref(thread)))
        if len(_started) + len(_raw) >= _prune_at:
            _started[:] = [(n, ref) for n, ref in _started if _may_be_alive(ref())]
            _drop_ended_raw()
            _prune_at = max(64, 2 * (len(_started) + len(_raw)))


def _caller_of_start(thread: threading.Thread, frame: FrameType | None) -> FrameType | None:
    """The frame that called `thread.start()`, past the `start` overrides of the thread's
    own classes (watchdog's `BaseThread.start` calls `super().start()`): the user's line
    started the thread, not the override."""
    overrides = set()
    for klass in type(thread).__mro__:
        if klass is threading.Thread:
            break
        code = stacks.code_of(vars(klass).get("start"))
        if code is not None:
            overrides.add(code)
    while frame is not None and frame.f_code in overrides and _first_argument(frame) is thread:
        frame = frame.f_back
    return frame


def _first_argument(frame: FrameType) -> object:
    """`self` of a method's frame."""
    code = frame.f_code
    return frame.f_locals.get(code.co_varnames[0]) if code.co_argcount else None


def _may_be_alive(thread: threading.Thread | None) -> bool:
    """Alive, or not running yet (its start is under way)."""
    return thread is not None and (thread.ident is None or thread.is_alive())


def _drop_ended_raw() -> None:
    """Let the raw threads that ended go (with `_lock` held): leaktest alone holds them."""
    _raw[:] = [(n, raw) for n, raw in _raw if raw.is_alive()]


def _started_after(tick: int) -> list[AnyThread]:
    """The threads started after `tick` that still exist. The raw threads that ended are
    let go here, at every check that asks: nothing else holds them, and each, with its
    start stack and site, is objects every collection of the garbage walks."""
    with _lock:
        if _raw:
            _drop_ended_raw()
        first = bisect.bisect_right(_started, tick, key=clock.NUMBER)
        threads = [ref() for _, ref in _started[first:]]
        first = bisect.bisect_right(_raw, tick, key=clock.NUMBER)
        raw = [thread for _, thread in _raw[first:]]
    found: list[AnyThread] = [thread for thread in threads if thread is not None]
    found.extend(raw)
    return found


# A ThreadPoolExecutor starts its workers lazily, inside whichever test first
# submits work: its workers are numbered as of the pool's creation, so a pool made
# in setUpClass or at import stays its owner's, not that test's.
def _on_pool_init(result: None, frame: FrameType | None, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    setattr(args[0], _SEQ, clock.tick())


def _pool_class() -> type:
    """`ThreadPoolExecutor`, once `concurrent.futures.thread` is imported."""
    from concurrent.futures.thread import ThreadPoolExecutor

    return ThreadPoolExecutor


def _pool_seq(thread: threading.Thread) -> int | None:
    """The pool's number when `thread` is a ThreadPoolExecutor worker, 0 for a pool made
    before leaktest's hooks existed (3.10-3.15: target `_worker`, first argument a weak
    reference to the executor)."""
    pools = sys.modules.get("concurrent.futures.thread")
    if pools is None or getattr(thread, "_target", None) is not getattr(pools, "_worker", None):
        return None
    args = getattr(thread, "_args", ())
    pool = args[0]() if args and callable(args[0]) else None
    seq = getattr(pool, _SEQ, 0)
    return seq if isinstance(seq, int) else 0


def _unseen(starter: threading.Thread) -> bool:
    """Whether `starter`, a thread leaktest did not number, was started before its hooks
    existed: not the main thread, not a thread threading did not start (a `_DummyThread`:
    its start was not `Thread.start`'s), and not a thread a check was begun in."""
    if starter is threading.main_thread() or isinstance(starter, threading._DummyThread):
        return False
    here = starter.ident
    return not any(ident == here for ident, _ in _alive.copy().values())


def seq_of(thread: AnyThread) -> int:
    """The start number of `thread`; 0 for threads started before leaktest was imported."""
    return getattr(thread, _SEQ, 0)


def _parent(thread: AnyThread) -> threading.Thread | None:
    """The numbered thread `thread` was started from, while it still exists."""
    noted = getattr(thread, _PARENT, None)
    return None if noted is None else noted[0]()


def _reported(thread: AnyThread) -> bool:
    """Reported already, or started by a reported thread (before the report was made)."""
    if getattr(thread, _REPORTED, False):
        return True
    parent = _parent(thread)
    return parent is not None and getattr(parent, _REPORTED, False) is True


def start_site(frame: FrameType | None, starter: threading.Thread) -> stacks.StartSite | None:
    """Where the code running `frame` in thread `starter` starts something (a thread, a
    process): with the starter's name and start site when leaktest numbered it, so that
    what a server thread starts leads back to the test that started the server."""
    numbered = seq_of(starter) > 0
    return stacks.start_site(frame, starter.name if numbered else None, site_of(starter))


def site_of(thread: AnyThread | None) -> stacks.StartSite | None:
    """Where `thread` was started, when leaktest saw it start."""
    site: stacks.StartSite | None = getattr(thread, _SITE, None)
    return site


def _target_name(thread: AnyThread) -> str | None:
    """What the thread runs: a Timer's function and interval, a subclass's `run`, the target.

    Reads `Thread._target` (every version; deleted once `run` returns).
    """
    if isinstance(thread, RawThread):
        function = thread.function
        if function is None:
            return None  # it has returned
        while isinstance(function, functools.partial):
            function = function.func
        return stacks.function_name(function)
    if isinstance(thread, threading.Timer):
        return f"threading.Timer({thread.interval!r}, {stacks.function_name(thread.function)})"
    run = type(thread).run
    if run is not threading.Thread.run:
        return stacks.function_name(run)
    target = getattr(thread, "_target", None)
    return None if target is None else stacks.function_name(target)


class _Uncaught:
    """An exception that ended a thread, formatted when it happened."""

    __slots__ = ("serial", "thread_seq", "thread_name", "site", "text", "claimed")

    def __init__(
        self, serial: int, thread_seq: int, thread_name: str, site: stacks.StartSite | None, text: str
    ) -> None:
        self.serial = serial  # how many exceptions were recorded before this one
        self.thread_seq = thread_seq
        self.thread_name = thread_name
        self.site = site  # where the thread was started: the test it belongs to
        self.text = text
        self.claimed = False


_KEEP_UNCAUGHT = 1000  # records kept for the checks still to come; older ones are dropped
_uncaught: list[_Uncaught] = []
_uncaught_total = 0  # how many were ever recorded: a mark keeps this number

ExceptHook = Callable[[threading.ExceptHookArgs], object]
_chained_hook: ExceptHook = threading.excepthook  # what `_excepthook` passes everything on to


def _excepthook(args: threading.ExceptHookArgs) -> None:
    """Record the exception for the test that started the thread, then chain."""
    global _uncaught_total
    thread = args.thread
    # A reported thread's end belongs to its report: later checks stay silent.
    if thread is not None and args.exc_type is not SystemExit and not _reported(thread):
        text = "".join(traceback.format_exception(args.exc_type, args.exc_value, args.exc_traceback))
        with _lock:
            record = _Uncaught(_uncaught_total, seq_of(thread), thread.name, site_of(thread), text.rstrip("\n"))
            _uncaught.append(record)
            _uncaught_total += 1
            del _uncaught[:-_KEEP_UNCAUGHT]
        clock.tick()
    _chained_hook(args)


# leaktest's excepthook is put in front of the current one when a thread starts
# while a mark is alive (only such threads' exceptions are any test's) and the
# current one was in place at a mark (not one the code under test installed), and taken
# out once the mark that was innermost then, and every mark taken since, is
# released: a mark costs two dict operations (atomic) and no lock while no
# thread starts.
_tokens = itertools.count(1)  # one token per mark
#: The marks not yet released: token -> (ident of the thread of the mark, the hook in place then).
_alive: dict[int, tuple[int, ExceptHook]] = {}


class _Installed:
    """One time `_excepthook` was put in front of another hook, and the marks relying on it."""

    __slots__ = ("replaced", "chained_before", "outer", "waiting")

    def __init__(self, replaced: ExceptHook, chained_before: ExceptHook, outer: _Installed | None) -> None:
        self.replaced = replaced  # the hook to put back
        self.chained_before = chained_before  # what `_excepthook` chained to before
        self.outer = outer
        # The marks to be released before it is taken out: the newest alive in the
        # starting thread (the innermost, when marks nest; else the newest of all),
        # and those taken while it is in place.
        here = threading.get_ident()
        mine = [token for token, (ident, _) in _alive.copy().items() if ident == here]
        self.waiting = {max(mine or _alive)}


_installed: _Installed | None = None  # the latest installation still in place


def _install_hook() -> None:
    """Put `_excepthook` in front of the current hook (a thread starts while a mark is
    alive), when that hook was in place at a mark: one the code under test installed
    since handles what reaches it, and passes on what it does not handle (to the hook
    it replaced, leaktest's when it was in place)."""
    global _chained_hook, _installed
    with _lock:
        current = threading.excepthook
        if current is not _excepthook and any(hook is current for _, hook in _alive.copy().values()):
            _installed = _Installed(threading.excepthook, _chained_hook, _installed)
            _chained_hook = threading.excepthook
            threading.excepthook = _excepthook


def _put_back(installed: _Installed, token: int) -> None:
    """Put back the hook an installation replaced once no mark relies on it (unless replaced since)."""
    global _chained_hook, _installed
    with _lock:
        installed.waiting.discard(token)
        if not installed.waiting and installed is _installed:
            if threading.excepthook is _excepthook:
                threading.excepthook = installed.replaced
            _chained_hook = installed.chained_before
            _installed = installed.outer


#: (seq, uncaught_from, token): threads numbered above `seq` started after the mark;
#: the exceptions recorded from serial `uncaught_from` on are candidates; `token` is
#: for `release`. A plain tuple: a NamedTuple's construction costs 20 times more.
ThreadMark = tuple[int, int, int]


class ThreadProbe(Probe[ThreadMark, AnyThread]):
    kind = "threads"
    switch = Flag("check_threads", True, "check threads")
    names = Patterns(
        "ignore_threads", "ignore threads whose name matches (fnmatch; repeatable)", flag="--ignore-thread"
    )
    #: asyncio's ThreadedChildWatcher (the default on 3.10 and 3.11, and on 3.12+
    #: without pidfd) runs one thread per child until the child is reaped:
    #: "waitpid-N" on 3.10, "asyncio-waitpid-N" on 3.11+. The child itself is what
    #: the process probe reports.
    default_ignores = ("waitpid-[0-9]*", "asyncio-waitpid-[0-9]*")
    headings = {
        "threads": "found unexpected threads:",
        "thread exceptions": "found exceptions raised in threads and not caught:",
    }
    #: Exceptions of tasks nobody retrieved are part of the task check (`check_tasks`).
    errors_switch = Flag("check_thread_exceptions", True, "fail a test whose thread died of an uncaught exception")
    installs = True  # a mark's token, for the excepthook

    def hooks(self) -> list[install.Hook]:
        return [
            install.Hook(lambda: threading.Thread, "start", _on_start),
            install.Hook(_pool_class, "__init__", _on_pool_init, module="concurrent.futures.thread"),
            install.Hook(lambda: _thread, "start_new_thread", _on_start_new_thread, rewrites=True),
            install.Hook(lambda: _thread, "start_joinable_thread", _on_start_joinable_thread, rewrites=True),
        ]

    # `mark` and `release` run on every test: the token's bookkeeping is written out here.
    def mark(self, everything: bool = False) -> ThreadMark:
        token = next(_tokens)
        _alive[token] = (threading.get_ident(), threading.excepthook)
        installed = _installed
        if installed is not None:
            installed.waiting.add(token)  # the hook in place serves this mark too
        return (-1 if everything else clock.now, _uncaught_total, token)

    def release(self, mark: ThreadMark) -> None:
        _, _, token = mark
        _alive.pop(token, None)
        installed = _installed
        if installed is not None and token in installed.waiting:
            _put_back(installed, token)

    def count(self) -> int:
        return threading.active_count()

    def new_since(self, mark: ThreadMark) -> list[AnyThread]:
        seq, _, _ = mark
        if clock.now == seq:
            return []
        current = threading.current_thread()
        # verify_none (seq -1) wants every thread but the main one, those older than leaktest too.
        threads = threading.enumerate() if seq < 0 else _started_after(seq)
        return [
            thread
            for thread in threads
            if seq_of(thread) > seq
            and thread is not current
            and thread is not threading.main_thread()
            and not _reported(thread)
            and thread.is_alive()
        ]

    def candidates(self, items: Sequence[AnyThread], with_frames: bool) -> list[Candidate]:
        frames = _others_frames() if with_frames else {}
        return [
            Candidate((thread.name,), stacks.frames_of(frames.get(thread.ident or 0)), getattr(thread, _START, ()))
            for thread in items
        ]

    def wait(self, items: Sequence[AnyThread], deadline: float) -> list[AnyThread]:
        for thread in items:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            thread.join(remaining)
        return [thread for thread in items if thread.is_alive()]

    def describe(self, items: Sequence[AnyThread]) -> list[Leak]:
        frames = _others_frames()
        return [_describe(thread, frames.get(thread.ident or 0)) for thread in items]

    def started(self, item: AnyThread) -> int | None:
        return seq_of(item)

    def made_by(self, item: AnyThread) -> Maker | None:
        """The thread it was started from (gone, by its number): a fixture's dispatcher owns
        the workers it starts."""
        noted = getattr(item, _PARENT, None)
        return None if noted is None else Maker(noted[0](), noted[1])

    def parent(self, item: AnyThread) -> threading.Thread | None:
        return _parent(item)

    def start_function(self, item: AnyThread) -> object:
        site = site_of(item)
        return None if site is None else (site.origin.filename, site.origin.function)

    def claim(self, items: Sequence[AnyThread]) -> None:
        with _lock:  # against `_on_start` deciding whether a new thread inherits it
            for thread in items:
                setattr(thread, _REPORTED, True)

    def cleanup(self, items: Sequence[AnyThread]) -> str:
        """Cancel pending `threading.Timer`s; other threads cannot be stopped from outside."""
        timers = [thread for thread in items if isinstance(thread, threading.Timer)]
        for timer in timers:
            timer.cancel()
        others = [thread for thread in items if not isinstance(thread, threading.Timer)]
        done = []
        if timers:
            done.append("cancelled " + ", ".join(f"Timer {timer.name!r}" for timer in timers))
        if others:
            names = ", ".join(f"Thread {thread.name!r}" for thread in others)
            done.append(f"threads cannot be killed in Python, left running: {names}")
        return "; ".join(done)

    def errors(self, mark: ThreadMark, keep: Callable[[int | None], bool]) -> list[Leak]:
        seq, uncaught_from, _ = mark
        if _uncaught_total == uncaught_from:
            return []
        found = []
        with _lock:
            records = [record for record in _uncaught if record.serial >= uncaught_from]
        for record in records:
            if record.thread_seq > seq and not record.claimed and keep(record.thread_seq):
                record.claimed = True
                name = f"Thread {record.thread_name!r}"
                text = entry(f"{name}:", stacks.where("started", record.site), record.text)
                found.append(
                    Leak(
                        "thread exceptions",
                        f"exception in {name}",
                        text,
                        started=record.thread_seq,
                        origin=stacks.site_function(record.site),
                    )
                )
        return found


def _others_frames() -> dict[int, FrameType]:
    """The current frame of every other thread. Never the calling thread's own: held in
    a local of that frame, it would make a reference cycle of it, and keep every other
    thread's frames and locals alive for the garbage collector after those threads end
    (where CPython 3.12.1 crashes on a multiprocessing feeder's `getbuffer()` view)."""
    me = threading.get_ident()
    return {ident: frame for ident, frame in sys._current_frames().items() if ident != me}


def _describe(thread: AnyThread, frame: FrameType | None) -> Leak:
    frames = [frame for frame in stacks.frames_of(frame) if not stacks.is_leaktest(frame.f_code.co_filename)]
    top = stacks.top_frame(frames)
    if isinstance(thread, RawThread):
        head = f"Thread started by _thread.{thread.api} (ident {thread.ident})"
    else:
        head = f"Thread {thread.name!r} (ident {thread.ident}, daemon={thread.daemon})"
    target = _target_name(thread)
    on_top = stacks.qualified_name(top.f_code, top) if top is not None else None
    if target is not None and target != on_top:
        head += f" running {target}"
    head += f" with {on_top} on top of the stack:" if on_top is not None else " (its stack could not be read)"
    site = site_of(thread)
    text = entry(head, stacks.where("started", site), stacks.format_frames(frames))
    runs = target or on_top or ""
    return Leak("threads", f"Thread {thread.name!r}", text, thread, seq_of(thread), runs, stacks.site_function(site))
