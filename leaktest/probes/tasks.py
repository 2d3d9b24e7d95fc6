"""asyncio tasks: which ones are still pending on the loops created or open since a mark.

Loops are numbered at creation (probes/event_loops.py, as probes/threads.py
numbers threads). A mark is then the last loop number, plus, only when loops older than the mark are still
open, a snapshot of the tasks they hold. A test that creates no loop compares
two integers; tasks are listed with the public `asyncio.all_tasks(loop)`. A loop
made before the hooks existed is older than every test, and so are its tasks.

`BaseEventLoop.call_exception_handler` is hooked too, to record the two
messages asyncio logs when a task is garbage-collected: "Task exception was
never retrieved" and "Task was destroyed but it is pending!". An exception a
handler the test set on the loop (`set_exception_handler`, hooked to number it)
was given is the test's business, as a thread's exception its own excepthook
handled is; what that handler passes on to `default_exception_handler` (hooked
as well) is reported.

What this relies on, per Python version (each in one function below):
- every version: `Task._log_traceback`, the "exception not
  retrieved yet" flag both the C and the Python implementation keep
  (`_unretrieved`); `Task._fut_waiter`, the future a task waits on (`_awaited`);
  `Task._source_traceback`, set in debug mode (`_creation`); `create_task`
  drops its own frame from it, and leaktest its hook's (`_on_create_task`).
- every version: `tasks._PyTask`, the pure-Python Task, which is not a subclass
  of the C one that `asyncio.Task` names (`_task_classes`).
- 3.10+: `BaseEventLoop._thread_id`, the ident of the thread running the loop, or
  None (`loop_thread`).
- 3.10: `IsolatedAsyncioTestCase._setupAsyncioLoop` and `_tearDownAsyncioLoop` make
  the base class's own tasks, as an `asyncio.Runner` does on 3.11+ (`_case_codes_3_10`).
- 3.12.0-3.12.4: `Task._coro` instead of `Task.get_coro()`, which crashes on
  an eager task that finished inside `create_task` (`_coro_of`).
- 3.10-3.11 `tasks._all_tasks`, 3.12-3.13 `tasks._scheduled_tasks` (each a
  `WeakSet`, read through its set of weak references, `WeakSet.data`) and
  `tasks._eager_tasks` (a set): what `asyncio.all_tasks` lists, read in one pass
  without its Python code per task (`_registry`); looked at for being empty first
  (`_registry_empty`). 3.14+: `asyncio.all_tasks`, in C.
- no registry of live tasks: `asyncio.all_tasks(loop)` lists only pending
  ones; 3.10-3.13 keep private registries (`_all_tasks`; `_scheduled_tasks`,
  which misses eager tasks that finished inside `create_task`), 3.14+ only
  per-thread C lists. So `BaseEventLoop.create_task` is hooked too, keeping a
  weak reference to every task it makes (`_registered_tasks`): a task that
  ended with an exception nobody retrieved fails the test that created it,
  kept or dropped, not the test in which the garbage collector gets to it. A
  task built by calling `asyncio.Task(...)` directly is seen while pending,
  once a check waited for it, or when it is garbage-collected.

leaktest does not import asyncio: the hooks, and what is read of asyncio once,
wait for the code under test to import it (`install.on_import`); until then
there is no loop and no task to look at.
"""

from __future__ import annotations

import sys
import threading
import time
import traceback
import weakref
from collections.abc import Callable, Collection, Sequence
from types import CodeType, FrameType

from .. import stacks
from ..options import Flag, Patterns
from ..report import Leak, entry, short_repr
from ..rules import Candidate
from . import clock, event_loops, install, threads
from .base import Maker, Probe
from .event_loops import OPEN, base_loop, made_since, open_loops, running_loop, seq_of
from .optional import uvloop_loop

TYPE_CHECKING = False
if TYPE_CHECKING:
    import asyncio
    from typing import Any, TypeAlias

# Reentrant: the garbage collector may finalize a task inside any `with _lock:` block,
# and the finalizer reports an unretrieved exception through `_on_exception_handler`,
# in the same thread. It also guards the WeakSets below, whose Python-level iteration
# another thread's add would break (with the GIL as well as without).
_lock = install.new_lock(reentrant=True)
_HANDLER_SET = install.PREFIX + "handler_set"  # on each loop: the clock number its exception handler was set at
_REPORTED = install.PREFIX + "reported"  # on each task: reported (or created by a reported task)
#: On each task `loop.create_task` made (`_Creation`): its clock number, what made it
#: (`_Created`) and a weak reference to the task that created it (None: none did).
_CREATED = install.PREFIX + "created"
#: What a hook keeps of a creation: its `stacks.creation_stack` and the test running then.
_Created: TypeAlias = "tuple[stacks.CreationStack, object]"
_Creation: TypeAlias = "tuple[int, stacks.CreationStack, object, weakref.ref[asyncio.Task[Any]] | None]"
_claimed: weakref.WeakSet[asyncio.Task[Any]] = weakref.WeakSet()  # reported or hidden
_waited: weakref.WeakSet[asyncio.Task[Any]] = weakref.WeakSet()  # a check waited for them


# -- what the process-wide hooks tell (probes/install.py) -----------------------


class _Record:
    """A task asyncio complained about when it was garbage-collected."""

    __slots__ = (
        *("loop", "loop_seq", "task_seq", "kind", "name", "text", "names", "start", "started"),
        *("seq", "claimed", "handler_set", "context_id"),
    )

    def __init__(
        self,
        loop: weakref.ref[asyncio.AbstractEventLoop],
        loop_seq: int,
        task_seq: int,
        kind: str,
        name: str,
        text: str,
        names: tuple[str, ...],
        start: tuple[stacks.FrameRecord, ...],
        started: int | None,
    ) -> None:
        self.loop = loop
        self.loop_seq = loop_seq
        self.task_seq = task_seq  # the task's creation number (0 if not made by `loop.create_task`)
        self.kind = kind  # "tasks" (destroyed while pending) or "task exceptions"
        self.name = name
        self.text = text
        self.names = names  # what `ignore_tasks` patterns match
        self.start = start  # what `ignore_started_by` matches
        self.started = started  # the clock number of the task's creation
        self.seq = 0  # the clock's number when it was recorded
        self.claimed = False
        #: When the loop's exception handler that was given the report was set (0: none
        #: was, asyncio's default handler logged it), and the report's id, to tell if
        #: that handler passed it on to the default one.
        self.handler_set = 0
        self.context_id = 0

    def done(self) -> bool:
        return False  # a destroyed pending task never ends


#: What the task probe reports: a live task, or one asyncio destroyed while pending.
Item: TypeAlias = "asyncio.Task[Any] | _Record"


_KEEP_RECORDS = 1000  # records kept for the checks still to come; older ones are dropped
_records: list[_Record] = []


def _task_classes() -> tuple[type[asyncio.Task[Any]], ...]:
    """What a "task" in asyncio's garbage-collection messages can be: the C Task and
    the pure-Python one (3.10-3.15: `tasks._PyTask`), which code may build directly."""
    import asyncio.tasks

    python_task: type[asyncio.Task[Any]] = asyncio.tasks._PyTask  # type: ignore[attr-defined]
    return (asyncio.Task, python_task)


_TASK_CLASSES: tuple[type[asyncio.Task[Any]], ...] = ()  # set once asyncio is imported
_GC_MESSAGES = {
    "Task exception was never retrieved": "task exceptions",
    "Task was destroyed but it is pending!": "tasks",
}


def _on_exception_handler(result: None, frame: FrameType | None, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """Before `BaseEventLoop.call_exception_handler`: record a task asyncio complains about."""
    loop: asyncio.BaseEventLoop = args[0]
    context: dict[str, Any] = args[1] if len(args) > 1 else kwargs.get("context", {})
    kind = _GC_MESSAGES.get(str(context.get("message", "")))
    task = context.get("task", context.get("future"))
    # A reported task's end belongs to its report. (Not `_claimed`: the collector
    # clears weak references before it finalizes the task.)
    if kind is not None and isinstance(task, _TASK_CLASSES) and not _reported(task):
        record = _record(loop, kind, task, context.get("exception"))
        if loop.get_exception_handler() is not None:
            record.handler_set, record.context_id = getattr(loop, _HANDLER_SET, 0), id(context)
        with _lock:
            record.seq = clock.tick()
            _records.append(record)
            del _records[:-_KEEP_RECORDS]


def _on_default_exception_handler(
    result: None, frame: FrameType | None, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> None:
    """Before `BaseEventLoop.default_exception_handler`: a report the loop's own handler
    passes on is no longer handled by it."""
    context: dict[str, Any] = args[1] if len(args) > 1 else kwargs.get("context", {})
    with _lock:
        for record in reversed(_records):
            if record.handler_set and record.context_id == id(context):
                record.handler_set = 0
                break


def _on_set_exception_handler(
    result: None, frame: FrameType | None, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> None:
    """After `BaseEventLoop.set_exception_handler`: number the handler, to tell a test's own."""
    setattr(args[0], _HANDLER_SET, clock.tick())


# The tasks `loop.create_task` made, in clock order. A task created on a loop older
# than a mark moves the clock like a new loop does, and is told apart by its number,
# so that a mark needs no snapshot of the loops open at it (see also `_registered_tasks`).
_made: clock.InOrder[asyncio.Task[Any]] = clock.InOrder()


def _on_create_task(
    task: asyncio.Task[Any], frame: FrameType | None, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> None:
    """After `BaseEventLoop.create_task`: number the task, keep a weak reference to it,
    the frames that created it out to the code that asked (`stacks.creation_stack`,
    which asyncio's debug-mode traceback cannot replace: it keeps a function's bare
    name, not its class) with the test running then, and the task that created it,
    as `Thread.start` notes for threads. Runs on every task: kept on the task itself,
    which its finalizer still reads."""
    # In debug mode asyncio names the last frame of `_source_traceback` as where the task
    # was "created at" (its repr, "Task was destroyed but it is pending!"); `create_task`
    # drops its own frame from it so that this is its caller's, here the hook's wrapper
    # (3.10-3.11, uvloop; on 3.12+ `create_task` is heard of without one, and without its
    # arguments: `Hook.on_return`).
    if args and (made_at := getattr(task, "_source_traceback", None)) and made_at[-1].filename == install.WRAPPER_FILE:
        del made_at[-1]
    loop = task.get_loop()
    if _made_by_runner(frame) or not getattr(loop, event_loops.SEQ, 0):  # (`seq_of`, without a call)
        return  # a loop made before leaktest's hooks existed is older than every test, so are its tasks
    seq = _made.add(weakref.ref(task))
    parent = _current_task(loop)  # None unless it runs
    parent_ref = None if parent is None or parent is task else weakref.ref(parent)
    try:
        setattr(task, _CREATED, (seq, stacks.creation_stack(frame), clock.running, parent_ref))
        if _any_reported and parent is not None and parent is not task and _reported(parent):
            setattr(task, _REPORTED, True)  # a reported task's successor: part of that report
    except AttributeError:  # a task factory's own class, without a __dict__
        pass


def _runner_codes() -> tuple[frozenset[int], frozenset[int]]:
    """The ids of the codes of `asyncio.Runner.run` and `Runner.close` (3.11+; no
    `Runner` on 3.10), and of those between them and `create_task`:
    `BaseEventLoop.run_until_complete`, `ensure_future` and (3.10-3.12) `_ensure_future`."""
    import asyncio

    runner = getattr(asyncio, "Runner", None)
    between = [asyncio.BaseEventLoop.run_until_complete, asyncio.tasks.ensure_future]
    between += [f for f in (getattr(asyncio.tasks, "_ensure_future", None),) if f is not None]
    runs = frozenset() if runner is None else frozenset({id(runner.run.__code__), id(runner.close.__code__)})
    return runs, frozenset(id(f.__code__) for f in between)


def _case_codes_3_10() -> frozenset[int]:
    """3.10, which has no `asyncio.Runner`: the ids of the codes of
    `IsolatedAsyncioTestCase._setupAsyncioLoop` and `_tearDownAsyncioLoop`. They make
    the base class's own tasks: the one that runs each step of the test, ended in the
    teardown, and the teardown's, run to completion there."""
    # Run as the module's own code ends: not yet an attribute of the `unittest` package.
    case = sys.modules["unittest.async_case"].IsolatedAsyncioTestCase
    methods = [getattr(case, name, None) for name in ("_setupAsyncioLoop", "_tearDownAsyncioLoop")]
    return frozenset(id(code) for method in methods if isinstance(code := getattr(method, "__code__", None), CodeType))


_RUNNER: frozenset[int] = frozenset()  # these two set once asyncio is imported
_ON_THE_WAY: frozenset[int] = frozenset()
_current_task: Callable[[asyncio.AbstractEventLoop], asyncio.Task[Any] | None]


def _asyncio_imported() -> None:
    """What is read of asyncio once, for the hooks, when the code under test imports it."""
    import asyncio

    global _TASK_CLASSES, _RUNNER, _ON_THE_WAY, _current_task
    _TASK_CLASSES = _task_classes()
    _RUNNER, _ON_THE_WAY = _runner_codes()
    _current_task = asyncio.current_task


install.on_import("asyncio", _asyncio_imported)


def _async_case_imported() -> None:
    global _RUNNER
    _RUNNER |= _case_codes_3_10()


if sys.version_info < (3, 11):
    install.on_import("unittest.async_case", _async_case_imported)


def _made_by_runner(frame: FrameType | None) -> bool:
    """Created by an `asyncio.Runner` (directly, or through `run_until_complete` and
    `ensure_future`): run to completion, or cancelled and awaited, before the runner
    returns; an exception is raised to its caller. Not a leak: no number, no record.
    On 3.10, likewise, by an `IsolatedAsyncioTestCase`'s own loop steps.
    Codes are compared by id (hashing a code object hashes its whole contents), and
    the walk goes on only through the functions on the way: one frame for any other task."""
    while frame is not None:
        code = id(frame.f_code)
        if code in _RUNNER:
            return True
        if code not in _ON_THE_WAY:
            return False
        frame = frame.f_back
    return False


def task_seq(task: asyncio.Task[Any]) -> int:
    """The creation number of `task`; 0 when it was not made by `loop.create_task`."""
    created: _Creation | None = getattr(task, _CREATED, None)
    if created is not None:
        return created[0]
    return _made.number_of(task)  # a task factory's own class, without a __dict__


def _created(task: asyncio.Task[Any]) -> _Created | None:
    """What `loop.create_task` kept of `task`'s creation; None for a task it did not make."""
    created: _Creation | None = getattr(task, _CREATED, None)
    return None if created is None else created[1:3]


def _start_of(task: asyncio.Task[Any]) -> tuple[stacks.FrameRecord, ...]:
    """The recorded creation stack of `task` (`ignore_started_by`)."""
    created = _created(task)
    return () if created is None else stacks.records(created[0])


def _record(loop: asyncio.AbstractEventLoop, kind: str, task: asyncio.Task[Any], exc: object) -> _Record:
    name = f"Task {task.get_name()!r}"
    if kind == "task exceptions" and isinstance(exc, BaseException):
        head = f"{name} (coroutine {_coro_name(task)}, garbage-collected):"
        text = entry(head, _creation(task), _format_exception(exc))
    else:
        head = f"{name} (coroutine {_coro_name(task)}) was garbage-collected while pending"
        text = entry(f"{head} on loop #{seq_of(loop)} (its await chain is gone)", _creation(task))
    return _Record(
        weakref.ref(loop),
        seq_of(loop),
        task_seq(task),
        kind,
        name,
        text,
        _names(task),
        _start_of(task),
        _started(task),
    )


# -- what each Python version keeps where --------------------------------------


def _records_since(seq: int) -> list[_Record]:
    with _lock:
        return [record for record in _records if record.seq > seq]


def _registered_tasks(loops: Collection[asyncio.AbstractEventLoop], mark: int) -> list[asyncio.Task[Any]]:
    """The live tasks of `loops`, all made after the clock's `mark`, done ones included,
    from public views only.

    `asyncio.all_tasks(loop)` lists only pending tasks, and 3.14+ keeps no
    Python-visible registry at all (per-thread C lists); 3.12-3.13's registry
    never holds an eager task that finished inside `create_task`. Hence the
    tasks `loop.create_task` made (weakly kept by the hook above) after `mark`, which
    a loop made after it has no task older than (not every task of the process alive,
    on every check), plus those a check waited for.
    """
    found = set(_made.since(mark))
    with _lock:
        found.update(_waited)
    found.update(pending_tasks(loops))
    return [task for task in found if task.get_loop() in loops]


def pending_tasks(loops: Collection[asyncio.AbstractEventLoop]) -> list[asyncio.Task[Any]]:
    """What `asyncio.all_tasks(loop)` lists for each of `loops`: their pending tasks.

    asyncio's registry holds every task of the process still alive, most of them done
    ones of earlier tests' closed loops waiting for the garbage collector, and 3.10-3.13's
    `all_tasks` runs Python code for each of them, on every call: here the registry is
    read once, for all the loops, with no Python-level call per task (`_registry`)."""
    if not loops:
        return []
    registry = _registry()
    if registry is not None:
        try:
            return [task for task in registry if task.get_loop() in loops and not task.done()]
        except AttributeError:  # a task-like object another library registered, with no `get_loop()`
            pass
    import asyncio

    return [task for loop in loops for task in asyncio.all_tasks(loop)]


#: asyncio's registries of tasks: 3.10-3.11 `tasks._all_tasks`; 3.12-3.13
#: `tasks._scheduled_tasks` and `_eager_tasks`; 3.14+ keeps its tasks in C lists (none).
_REGISTRIES: tuple[str, ...]
if sys.version_info < (3, 12):
    _REGISTRIES = ("_all_tasks",)
elif sys.version_info < (3, 14):
    _REGISTRIES = ("_scheduled_tasks", "_eager_tasks")
else:
    _REGISTRIES = ()


def _registry() -> set[asyncio.Task[Any]] | None:
    """The tasks in asyncio's registries (3.10-3.13), done ones included; None where there
    is none to read (3.14+). A `WeakSet`'s tasks are read from its set of weak references
    (`WeakSet.data`), copied in one C call, as `all_tasks` copies the registry first."""
    module = sys.modules.get("asyncio.tasks")
    if not _REGISTRIES or module is None:
        return None
    found: set[asyncio.Task[Any]] = set()
    for name in _REGISTRIES:
        registry = getattr(module, name, ())
        refs = getattr(registry, "data", None)
        if refs is None:  # 3.12-3.13 `_eager_tasks`: the tasks themselves
            found.update(registry)
        else:
            found.update([ref() for ref in list(refs)])
    found.discard(None)  # (a task gone, its weak reference not yet taken out)
    return found


def _registry_empty() -> bool:
    """Whether asyncio's registry of tasks is empty: a look that costs a length, where
    listing a loop's tasks reads every task of the process. False where there is no
    registry to look at (3.14+)."""
    module = sys.modules.get("asyncio.tasks")
    if not _REGISTRIES or module is None:
        return False
    for name in _REGISTRIES:
        registry = getattr(module, name, True)
        if getattr(registry, "data", registry):  # (a WeakSet's length is Python code)
            return False
    return True


def _unretrieved(task: asyncio.Task[Any]) -> bool:
    """Done with an exception nobody has asked for: the flag behind "never retrieved"."""
    return bool(getattr(task, "_log_traceback", False))


def _awaited(task: asyncio.Task[Any]) -> asyncio.Future[Any] | None:
    """The future `task` is suspended on (`_fut_waiter`, both implementations, 3.10+)."""
    import asyncio

    waiter = getattr(task, "_fut_waiter", None)
    return waiter if isinstance(waiter, asyncio.Future) else None


def _creation(task: asyncio.Task[Any]) -> str:
    """Where the task was created: noted by `loop.create_task`, else by asyncio in debug mode."""
    return stacks.where("created", _creation_site(task), unseen=stacks.UNSEEN_WITHOUT_DEBUG)


def _creation_site(task: asyncio.Task[Any]) -> stacks.StartSite | None:
    stack, test = _created(task) or ((), None)
    return stacks.created_site(stack, test) or stacks.debug_site(getattr(task, "_source_traceback", None), test)


def loop_thread(loop: asyncio.AbstractEventLoop) -> Maker | None:
    """The thread running `loop` (3.10+: `BaseEventLoop._thread_id`), None while it is
    not running. Failure path only: it lists the threads."""
    ident = getattr(loop, "_thread_id", None)
    thread = next((thread for thread in threading.enumerate() if thread.ident == ident), None)
    return None if ident is None or thread is None else Maker(thread, threads.seq_of(thread))


def loop_label(loop: asyncio.AbstractEventLoop) -> str:
    """ "running loop #2 in thread 'server'": which loop, and whose, when another thread runs it."""
    state = "closed" if loop.is_closed() else "running" if loop.is_running() else "stopped"
    maker = loop_thread(loop)
    thread = maker.thing if maker is not None else None
    if isinstance(thread, threading.Thread) and thread is not threading.current_thread():
        return f"{state} loop #{seq_of(loop)} in thread {thread.name!r}"
    return f"{state} loop #{seq_of(loop)}"


def _parent(task: asyncio.Task[Any]) -> asyncio.Task[Any] | None:
    """The task that created `task`, while it still exists."""
    created: _Creation | None = getattr(task, _CREATED, None)
    ref = None if created is None else created[3]
    return None if ref is None else ref()


def _started(task: asyncio.Task[Any]) -> int | None:
    """The clock number of `task`'s creation, when `loop.create_task` made it."""
    created: _Creation | None = getattr(task, _CREATED, None)
    return None if created is None else created[0]


_any_reported = False  # whether any task was reported yet: until then, no task creation asks


def _note_reported() -> None:
    global _any_reported
    _any_reported = True


def _reported(task: asyncio.Task[Any]) -> bool:
    """Reported already, or created by a reported task (before the report was made)."""
    if getattr(task, _REPORTED, False) is True:
        return True
    parent = _parent(task)
    return parent is not None and getattr(parent, _REPORTED, False) is True


def hide(task: asyncio.Task[Any] | None) -> None:
    """Never report `task` (a test framework's own machinery)."""
    if task is not None:
        with _lock:
            _claimed.add(task)


# -- the probe ------------------------------------------------------------------


class TaskProbe(Probe[int, Item]):
    """A mark is the clock's number: loops, tasks and records numbered above it are new."""

    kind = "tasks"
    switch = Flag("check_tasks", True, "check asyncio tasks")
    names = Patterns("ignore_tasks", "ignore asyncio tasks by name or coroutine qualified name", flag="--ignore-task")
    headings = {
        "tasks": "found unexpected tasks:",
        "task exceptions": "found exceptions raised in tasks and never retrieved:",
    }
    checked_in_loop = True
    marks_clock = True

    def hooks(self) -> list[install.Hook]:
        return [
            event_loops.LOOP_INIT,
            install.Hook(base_loop, "call_exception_handler", _on_exception_handler, module="asyncio"),
            install.Hook(base_loop, "default_exception_handler", _on_default_exception_handler, module="asyncio"),
            install.Hook(base_loop, "set_exception_handler", _on_set_exception_handler, after=True, module="asyncio"),
            install.Hook(base_loop, "create_task", _on_create_task, after=True, module="asyncio", on_return=True),
            event_loops.UVLOOP_INIT,
            install.Hook(uvloop_loop, "call_exception_handler", _on_exception_handler, module="uvloop"),
            install.Hook(uvloop_loop, "default_exception_handler", _on_default_exception_handler, module="uvloop"),
            install.Hook(uvloop_loop, "set_exception_handler", _on_set_exception_handler, after=True, module="uvloop"),
            install.Hook(uvloop_loop, "create_task", _on_create_task, after=True, module="uvloop"),
        ]

    def pending_on(self, loop: Any) -> bool:
        return not _registry_empty() and any(task not in _claimed for task in pending_tasks((loop,)))

    def count(self) -> int:
        if not OPEN:
            return 0
        import asyncio

        loops = open_loops()
        if not loops:  # closed loops of earlier tests wait for the GC: skip them
            return 0
        current = asyncio.current_task() if running_loop() is not None else None
        total = len(pending_tasks(loops))
        return total - (current is not None and not current.done())

    def counted(self, item: Item) -> bool:
        return isinstance(item, _Record) or not item.get_loop().is_closed()

    def _new_loops(self, mark: int) -> list[asyncio.AbstractEventLoop]:
        """The loops created after the mark: all their tasks are new."""
        return made_since(mark)

    def _new_on_old_loops(self, mark: int) -> list[asyncio.Task[Any]]:
        """Tasks created after the mark on loops created before it (a hub's loop)."""
        return [task for task in _made.since(mark) if seq_of(task.get_loop()) <= mark]

    def new_since(self, mark: int) -> list[Item]:
        if clock.now == mark or "asyncio" not in sys.modules:
            return []  # no loop, task or collected task since the mark (none before asyncio)
        import asyncio

        found: list[Item] = [
            record
            for record in _records_since(mark)
            if record.kind == "tasks" and not record.claimed and self._record_watched(mark, record)
        ]
        current = asyncio.current_task() if running_loop() is not None else None
        pending = pending_tasks(self._new_loops(mark))
        pending += [task for task in self._new_on_old_loops(mark) if not task.done()]
        found.extend(task for task in pending if task is not current and task not in _claimed and not _reported(task))
        return found

    def _record_watched(self, mark: int, record: _Record) -> bool:
        return record.loop_seq > mark or record.task_seq > mark

    def made_by(self, item: Item) -> Maker | None:
        """The thread running the task's loop: a fixture's server thread owns what its loop runs."""
        import asyncio

        return loop_thread(item.get_loop()) if isinstance(item, asyncio.Task) else None

    def candidates(self, items: Sequence[Item], with_frames: bool) -> list[Candidate]:
        return [
            Candidate(item.names, start=item.start)
            if isinstance(item, _Record)
            else Candidate(_names(item), list(reversed(_chain(item)[0])) if with_frames else [], _start_of(item))
            for item in items
        ]

    def wait(self, items: Sequence[Item], deadline: float) -> list[Item]:
        """Block until the tasks on loops running in other threads are done, or the deadline."""
        import asyncio

        here = running_loop()
        waitable = [t for t in items if isinstance(t, asyncio.Task) and _can_finish(t, here)]
        if waitable and deadline > time.monotonic():
            done = threading.Event()
            remaining = [len(waitable)]

            def one_done() -> None:
                with _lock:
                    remaining[0] -= 1
                    if remaining[0] == 0:
                        done.set()

            for task in waitable:
                if not _notify_when_done(task, one_done):
                    one_done()
            done.wait(max(0.0, deadline - time.monotonic()))
        with _lock:
            _waited.update(waitable)
        return [t for t in items if not t.done()]

    async def wait_async(self, items: Sequence[Item], deadline: float) -> list[Item]:
        """Await the tasks of the running loop, and those of loops running elsewhere."""
        import asyncio

        loop = asyncio.get_running_loop()
        waiters: list[asyncio.Future[Any]] = []
        tasks = [t for t in items if isinstance(t, asyncio.Task)]
        for task in tasks:
            if task.get_loop() is loop:
                waiters.append(task)
            elif _can_finish(task, loop):
                waiters.append(_future_for(task, loop))
        remaining = deadline - time.monotonic()
        if waiters and remaining > 0:
            await asyncio.wait(waiters, timeout=remaining)
        for waiter in waiters:
            if not isinstance(waiter, asyncio.Task):
                waiter.cancel()
        with _lock:
            _waited.update(tasks)
        return [t for t in items if not t.done()]

    def describe(self, items: Sequence[Item]) -> list[Leak]:
        return [_record_leak(item) if isinstance(item, _Record) else _describe(item) for item in items]

    def started(self, item: Item) -> int | None:
        return item.started if isinstance(item, _Record) else _started(item)

    def parent(self, item: Item) -> Item | None:
        return None if isinstance(item, _Record) else _parent(item)

    def start_function(self, item: Item) -> object:
        created = None if isinstance(item, _Record) else _created(item)
        site = None if created is None else stacks.created_site(*created)
        return None if site is None else (site.origin.filename, site.origin.function)

    def claim(self, items: Sequence[Item]) -> None:
        with _lock:
            for item in items:
                if isinstance(item, _Record):
                    item.claimed = True
                else:
                    _claimed.add(item)
                    try:
                        _note_reported()
                        setattr(item, _REPORTED, True)
                    except AttributeError:  # a task class without a __dict__
                        pass

    def cleanup(self, items: Sequence[Item]) -> str:
        """Cancel the leaked tasks, each in its own loop's thread."""
        cancelled = []
        here = running_loop()
        for task in items:
            if isinstance(task, _Record) or task.done():
                continue
            loop = task.get_loop()
            try:
                if loop.is_running() and loop is not here:
                    loop.call_soon_threadsafe(task.cancel)
                else:
                    task.cancel()
            except RuntimeError:  # its loop is closed: nothing will ever run it
                continue
            cancelled.append(f"Task {task.get_name()!r}")
        return f"cancelled {', '.join(cancelled)}" if cancelled else ""

    def errors(self, mark: int, keep: Callable[[int | None], bool]) -> list[Leak]:
        # A task's exception has no start number: always kept.
        if clock.now == mark:
            return []
        found = []
        loops = self._new_loops(mark)
        tasks = _registered_tasks(set(loops), mark) if loops else []
        for task in [*tasks, *self._new_on_old_loops(mark)]:
            if task.done() and _unretrieved(task) and task not in _claimed and not _reported(task):
                found.append(_exception_leak(task))
        for record in _records_since(mark):
            handled_by_the_test = record.handler_set > mark
            if (
                record.kind == "task exceptions"
                and not handled_by_the_test
                and self._record_watched(mark, record)
                and _claim(record)
            ):
                found.append(_record_leak(record))
        return found


def _claim(record: _Record) -> bool:
    """Claim `record` for this check; False when a check in another thread already has."""
    with _lock:
        claimed, record.claimed = record.claimed, True
    return not claimed


def _exception_leak(task: asyncio.Task[Any]) -> Leak:
    exc = task.exception()  # retrieves it: asyncio will not log it again, no later test sees it
    with _lock:
        _claimed.add(task)
    name = f"Task {task.get_name()!r}"
    trace = _format_exception(exc) if exc is not None else "(no exception)"
    text = entry(f"{name} (coroutine {_coro_name(task)}):", _creation(task), trace)
    origin = stacks.site_function(_creation_site(task))
    return Leak("task exceptions", f"exception in {name}", text, task, _started(task), _coro_name(task), origin)


def _record_leak(record: _Record) -> Leak:
    """The report entry of a task asyncio destroyed: what it ran, as its ignore names say."""
    runs = record.names[-1] if record.names else ""
    top = stacks.top_frame(record.start)
    origin = stacks.Origin(top).function if top is not None else ""
    return Leak(record.kind, record.name, record.text, started=record.started, runs=runs, origin=origin)


def _format_exception(exc: BaseException) -> str:
    return "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)).rstrip("\n")


# -- waiting --------------------------------------------------------------------


def _can_finish(task: asyncio.Task[Any], here: asyncio.AbstractEventLoop | None) -> bool:
    """Only a task on a loop running in another thread can finish while we wait here.

    A stopped or closed loop runs nothing; the loop running in this thread runs
    nothing either while a synchronous check blocks it.
    """
    loop = task.get_loop()
    return loop is not here and loop.is_running() and not loop.is_closed()


def _notify_when_done(task: asyncio.Task[Any], callback: Callable[[], None]) -> bool:
    """Call `callback` (in the task's loop thread) once `task` is done; False if impossible."""

    def add() -> None:
        task.add_done_callback(lambda _: callback())

    try:
        task.get_loop().call_soon_threadsafe(add)
    except RuntimeError:  # closed in the meantime
        return False
    return True


def _future_for(task: asyncio.Task[Any], here: asyncio.AbstractEventLoop) -> asyncio.Future[Any]:
    """A future of the running loop that completes when `task` (another loop's) is done."""
    future: asyncio.Future[Any] = here.create_future()

    def settle() -> None:
        if not future.done():
            future.set_result(None)

    def wake() -> None:
        try:
            here.call_soon_threadsafe(settle)
        except RuntimeError:  # our loop closed first: nobody waits any more
            pass

    if not _notify_when_done(task, wake):
        settle()
    return future


# -- describing ----------------------------------------------------------------


def _coro_of(task: asyncio.Task[Any]) -> object:
    """The task's coroutine; None once an eager task finished inside `create_task` (3.12+).

    3.12.0-3.12.4: `Task.get_coro()` crashes the interpreter on such a task
    (CPython gh-122332), so read `Task._coro` there, which both implementations keep.
    """
    if (3, 12) <= sys.version_info < (3, 12, 5):
        return getattr(task, "_coro", None)
    return task.get_coro()


def _coro_name(task: asyncio.Task[Any]) -> str:
    coro = _coro_of(task)
    if coro is None:
        return "unknown, finished eagerly"
    qualname = getattr(coro, "__qualname__", None) or type(coro).__qualname__
    frame = getattr(coro, "cr_frame", None) or getattr(coro, "gi_frame", None)
    module = frame.f_globals.get("__name__") if frame is not None else None
    if module is None:
        code = getattr(coro, "cr_code", None) or getattr(coro, "gi_code", None)
        module = _module_of(code)
    return f"{module}.{qualname}" if module else str(qualname)


def _module_of(code: CodeType | None) -> str | None:
    if code is None:
        return None
    for name, module in list(sys.modules.items()):
        if getattr(module, "__file__", None) == code.co_filename:
            return name
    return None


def _names(task: asyncio.Task[Any]) -> tuple[str, ...]:
    """What `ignore_tasks` patterns match: the task name, the coroutine's qualified names."""
    coro = _coro_of(task)
    qualname = getattr(coro, "__qualname__", None)
    names = [task.get_name(), _coro_name(task)]
    if qualname:
        names.append(str(qualname))
    return tuple(names)


def _chain(task: asyncio.Task[Any]) -> tuple[list[FrameType], object]:
    """The frames of the task's await chain, outermost first, and what the innermost awaits."""
    frames: list[FrameType] = []
    awaitable: object = _coro_of(task)
    seen = 0
    while awaitable is not None and seen < 1000:
        seen += 1
        frame = (
            getattr(awaitable, "cr_frame", None)
            or getattr(awaitable, "gi_frame", None)
            or getattr(awaitable, "ag_frame", None)
        )
        if frame is None:
            break
        frames.append(frame)
        awaitable = (
            getattr(awaitable, "cr_await", None)
            or getattr(awaitable, "gi_yieldfrom", None)
            or getattr(awaitable, "ag_await", None)
        )
    return frames, _awaited(task)


def _state(task: asyncio.Task[Any]) -> str:
    loop = task.get_loop()
    state = "pending"
    cancelling = getattr(task, "cancelling", None)  # 3.11+
    if cancelling is not None and cancelling():
        state += ", cancelling"
    return f"{state}, on {loop_label(loop)}"


def _format_chain(task: asyncio.Task[Any], depth: int = 0) -> str:
    import asyncio

    frames, waiter = _chain(task)
    lines = []
    if frames:
        lines.append(stacks.format_frames(list(reversed(frames))))
    else:
        lines.append("(no coroutine frame: not started, or not a Python coroutine)")
    if waiter is not None:
        if isinstance(waiter, asyncio.Task) and depth < 20:
            lines.append(f"awaiting Task {waiter.get_name()!r} (coroutine {_coro_name(waiter)}):")
            lines.append(_format_chain(waiter, depth + 1))
        else:
            lines.append(f"awaiting {short_repr(waiter, 200)}")
    return "\n".join(lines)


def _describe(task: asyncio.Task[Any]) -> Leak:
    frames, _ = _chain(task)
    top = stacks.top_frame(list(reversed(frames)))
    head = f"Task {task.get_name()!r} (coroutine {_coro_name(task)}, {_state(task)})"
    head += f" with {stacks.qualified_name(top.f_code, top)} on top of the await chain:" if top is not None else ":"
    text = entry(head, _creation(task), _format_chain(task))
    origin = stacks.site_function(_creation_site(task))
    return Leak("tasks", f"Task {task.get_name()!r}", text, task, _started(task), _coro_name(task), origin)
