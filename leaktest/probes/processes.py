"""Child processes: which ones were started since a mark, and whether they still exist.

Every child of this process is started through one of a few functions, hooked
(probes/install.py) to number the child and note where it was started:
`os.fork`, `os.forkpty`, `os.posix_spawn`, `os.posix_spawnp` and
`_posixsubprocess.fork_exec` (subprocess, multiprocessing's spawn start method,
its resource tracker and forkserver), plus multiprocessing's forkserver launch
(whose children are the forkserver's, not ours). A baseline is one integer, and
a check on a test that started no process compares two integers.

A child is a leak while it runs and, once exited, until whoever started it takes
its exit status (`Popen.wait()`, `Process.join()`, asyncio's child watcher): an
exited child nobody waited for is a zombie. leaktest itself NEVER reaps: the
state comes from /proc/PID/stat on Linux, from `waitid(WNOWAIT)` elsewhere, and
waiting for a child to exit uses a pidfd (Linux 5.3+), which does not reap either.

uvloop's loops start children through libuv, in compiled code no hook above sees:
`uvloop.Loop.subprocess_exec` and `subprocess_shell` (what asyncio's
`create_subprocess_exec` and `_shell` call) are hooked once the suite imports
uvloop, and the child is recorded from the transport they return (`Hook.awaited`,
`get_pid()`; uvloop 0.15+, tested: 0.23).

Not the test's doing: multiprocessing's resource tracker and forkserver, shared
helpers started lazily by whichever test first needs them (see `_shared_helpers`).
"""

from __future__ import annotations

import os
import select
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from types import FrameType

from .. import stacks
from ..options import Flag, Patterns
from ..report import Leak, entry
from ..rules import Candidate
from . import clock, install, threads
from .base import Probe
from .optional import uvloop_loop

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

RUNNING = "running"
ZOMBIE = "zombie"

# /proc/PID/stat as Linux lays it out (fields counted after the ")" closing the name).
_HAVE_PROC = sys.platform.startswith("linux") and os.path.exists("/proc/self/stat")
_STATE, _PPID, _STARTTIME = 0, 1, 19  # fields 3, 4 and 22 of proc(5)

_MAX_DELAY = 0.02  # longest sleep between two looks while waiting for a child to be reaped
_TERMINATE_WAIT = 2.0  # cleanup_leaks: seconds a child gets to exit after SIGTERM, then SIGKILL
_MIN_PRUNE_AT = 64  # records kept before dropping those of children already gone


class Child:
    """One child this process started, as its starter left it."""

    __slots__ = (
        *("pid", "via", "argv", "origin", "entry", "starttime", "direct", "start", "runs"),
        *("seq", "state", "reported"),
    )

    def __init__(
        self,
        pid: int,
        via: str,
        argv: tuple[str, ...] | None,
        origin: stacks.StartSite | None,
        entry: str | None,
        starttime: int | None,
        direct: bool = True,
        start: tuple[stacks.FrameRecord, ...] = (),
        runs: str | None = None,
    ) -> None:
        self.pid = pid
        self.via = via  # the wrapped function that created it: "os.fork", ...
        self.argv = argv  # the command line as passed, when there was one
        self.origin = origin  # named like a thread's start site
        self.entry = entry  # the stdlib function that caller called: "subprocess.Popen.__init__"
        self.starttime = starttime  # /proc start time, to tell a reused pid from this child
        self.direct = direct  # False for a forkserver's child: not ours to wait for
        self.start = start  # the stack that started it (`ignore_started_by`)
        self.runs = runs  # the multiprocessing Process it runs: "Process 'P-1' (target m.f)"
        self.seq = 0
        self.state = RUNNING  # the last state seen
        self.reported = False


_lock = install.new_lock()
_children: dict[int, Child] = {}  # pid -> the latest child recorded with that pid
_prune_at = _MIN_PRUNE_AT


# -- recording every child ---------------------------------------------------


def _record(pid: int, via: str, argv: object, frame: FrameType | None, *, direct: bool = True) -> None:
    """Number a child just started; runs once per spawn, so it may read /proc."""
    global _prune_at
    origin, entry = _spawn_site(frame)
    stat = _stat(pid) if _HAVE_PROC else None
    starttime = int(stat[_STARTTIME]) if stat is not None else None
    child = Child(
        pid, via, _argv(argv), origin, entry, starttime, direct, stacks.start_stack(frame), _process_run_by(frame)
    )
    child.seq = clock.tick()
    with _lock:
        _children[pid] = child
        crowded = len(_children) > _prune_at
    if crowded:  # children reaped by their owners with no check since: forget them
        _prune(list(_children.values()))
        _prune_at = max(_MIN_PRUNE_AT, 2 * len(_children))


def _spawn_site(frame: FrameType | None) -> tuple[stacks.StartSite | None, str | None]:
    """Where a child was started (as a thread's start site: the stdlib caller when no
    other code is on the stack, the starting thread), and which stdlib function the
    code outside the stdlib called to start it."""
    site = threads.start_site(frame, threading.current_thread())
    inner: FrameType | None = None
    while frame is not None:
        filename = frame.f_code.co_filename
        if not stacks.is_leaktest(filename):
            if not stacks.is_stdlib(filename):
                return site, _name(inner)
            inner = frame
        frame = frame.f_back
    return site, None


def _process_run_by(frame: FrameType | None) -> str | None:
    """The multiprocessing Process a child was started for, from the `process_obj`
    argument of the `Popen.__init__`/`_launch` of multiprocessing.popen_* (3.10+),
    and its private `_target`."""
    while frame is not None:
        code = frame.f_code
        if "process_obj" in code.co_varnames[: code.co_argcount] and stacks.is_stdlib(code.co_filename):
            process = frame.f_locals.get("process_obj")
            name = getattr(process, "name", None)
            if isinstance(name, str):
                target = getattr(process, "_target", None)
                what = f" (target {stacks.function_name(target)})" if target is not None else ""
                return f"multiprocessing Process {name!r}{what}"
        frame = frame.f_back
    return None


def _name(frame: FrameType | None) -> str | None:
    return None if frame is None else stacks.qualified_name(frame.f_code, frame)


def _argv(argv: object) -> tuple[str, ...] | None:
    if not isinstance(argv, (list, tuple)):
        return None
    try:
        return tuple(a if isinstance(a, str) else os.fsdecode(a) for a in argv)
    except TypeError:
        return tuple(str(a) for a in argv)


def _on_spawn(
    via: str, pid_of: Callable[[Any], int], argv_of: Callable[[tuple[Any, ...], dict[str, Any]], object]
) -> install.Listener:
    """The listener recording the child a spawn function just started."""

    def spawned(result: Any, frame: FrameType | None, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        pid = pid_of(result)
        if pid > 0:  # 0: we are the new child (os.fork, os.forkpty)
            _record(pid, via, argv_of(args, kwargs), frame)

    return spawned


def _no_argv(args: tuple[Any, ...], kwargs: dict[str, Any]) -> object:
    return None


def _spawn_argv(args: tuple[Any, ...], kwargs: dict[str, Any]) -> object:
    return args[1] if len(args) > 1 else kwargs.get("argv")


def _fork_exec_argv(args: tuple[Any, ...], kwargs: dict[str, Any]) -> object:
    return args[0] if args else kwargs.get("args")


_on_fork_exec = _on_spawn("_posixsubprocess.fork_exec", int, _fork_exec_argv)

#: Every function that starts a child. 3.11+: subprocess calls the `_fork_exec` it
#: imported; 3.10 and multiprocessing.util.spawnv_passfds (all versions) look
#: `fork_exec` up on `_posixsubprocess`.
_SPAWN_HOOKS = [
    install.Hook(lambda: os, "fork", _on_spawn("os.fork", int, _no_argv), after=True),
    install.Hook(lambda: os, "forkpty", _on_spawn("os.forkpty", lambda r: int(r[0]), _no_argv), after=True),
    install.Hook(lambda: os, "posix_spawn", _on_spawn("os.posix_spawn", int, _spawn_argv), after=True),
    install.Hook(lambda: os, "posix_spawnp", _on_spawn("os.posix_spawnp", int, _spawn_argv), after=True),
    install.Hook(
        lambda: sys.modules.get("_posixsubprocess"), "fork_exec", _on_fork_exec, after=True, module="_posixsubprocess"
    ),
    install.Hook(lambda: sys.modules.get("subprocess"), "_fork_exec", _on_fork_exec, after=True, module="subprocess"),
]


def _on_uvloop_subprocess(via: str, argv_of: Callable[[tuple[Any, ...]], object]) -> install.Listener:
    """The listener recording the child of an awaited uvloop `subprocess_exec`/`_shell`."""

    def spawned(result: Any, frame: FrameType | None, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        pid = result[0].get_pid()
        if isinstance(pid, int) and pid > 0:
            _record(pid, via, argv_of(args), frame)

    return spawned


def _exec_argv(args: tuple[Any, ...]) -> object:
    """`loop.subprocess_exec(protocol_factory, program, *args)`: the program and its arguments."""
    return args[2:]


def _shell_argv(args: tuple[Any, ...]) -> object:
    """`loop.subprocess_shell(protocol_factory, cmd)`: run by /bin/sh, as subprocess does."""
    return ("/bin/sh", "-c", *args[2:3])


_UVLOOP_HOOKS = [
    install.Hook(
        uvloop_loop,
        "subprocess_exec",
        _on_uvloop_subprocess("uvloop.Loop.subprocess_exec", _exec_argv),
        awaited=True,
        module="uvloop",
    ),
    install.Hook(
        uvloop_loop,
        "subprocess_shell",
        _on_uvloop_subprocess("uvloop.Loop.subprocess_shell", _shell_argv),
        awaited=True,
        module="uvloop",
    ),
]


def _forget_parents_children() -> None:
    """In a forked child: the parent's children are not ours."""
    _children.clear()


install.after_fork(_forget_parents_children)


def _on_forkserver_launch(result: None, frame: FrameType | None, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """After multiprocessing's forkserver `Popen._launch`: its child is the forkserver's."""
    pid = getattr(args[0], "pid", None)
    if isinstance(pid, int) and pid > 0:
        _record(pid, "multiprocessing forkserver", None, frame, direct=False)


def _forkserver_popen() -> object:
    """multiprocessing's forkserver Popen, once its module is imported (multiprocessing
    imports it when a forkserver context starts a process; leaktest never does)."""
    popen_forkserver = sys.modules.get("multiprocessing.popen_forkserver")
    return getattr(popen_forkserver, "Popen", None)


_FORKSERVER_HOOK = install.Hook(
    _forkserver_popen, "_launch", _on_forkserver_launch, after=True, module="multiprocessing.popen_forkserver"
)


# -- what is not the test's doing -------------------------------------------


def _shared_helpers() -> set[int]:
    """Pids of multiprocessing's resource tracker and forkserver, if running.

    Each is started lazily by the first test that needs it and then serves the
    whole process: it is not that test's leak. (Same attributes on 3.10 to 3.15.)
    """
    pids: set[int] = set()
    tracker = sys.modules.get("multiprocessing.resource_tracker")
    pid = getattr(getattr(tracker, "_resource_tracker", None), "_pid", None)
    if isinstance(pid, int):
        pids.add(pid)
    forkserver = sys.modules.get("multiprocessing.forkserver")
    pid = getattr(getattr(forkserver, "_forkserver", None), "_forkserver_pid", None)
    if isinstance(pid, int):
        pids.add(pid)
    return pids


# -- looking at a child without reaping it ------------------------------------


def _stat(pid: int) -> list[bytes] | None:
    """The fields of /proc/PID/stat after the command name, or None if it is gone."""
    try:
        fd = os.open(f"/proc/{pid}/stat", os.O_RDONLY)
    except OSError:
        return None
    try:
        data = os.read(fd, 4096)
    except OSError:
        return None
    finally:
        os.close(fd)
    return data[data.rfind(b")") + 2 :].split()


def state_of(child: Child) -> str | None:
    """RUNNING, ZOMBIE (exited, not yet reaped), or None once reaped: never reaps."""
    if _HAVE_PROC:
        stat = _stat(child.pid)
        if stat is None:
            return None
        if child.starttime is not None and int(stat[_STARTTIME]) != child.starttime:
            return None  # the pid now belongs to another process
        if child.direct and int(stat[_PPID]) != os.getpid():
            return None
        code = stat[_STATE]
        if code == b"Z":
            return ZOMBIE
        return None if code in (b"X", b"x") else RUNNING
    if child.direct and hasattr(os, "waitid"):
        try:
            result = os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            return None
        except OSError:
            return RUNNING
        return RUNNING if result is None else ZOMBIE
    try:
        os.kill(child.pid, 0)
    except (ProcessLookupError, PermissionError):
        return None
    except OSError:
        return RUNNING
    return RUNNING


def _forget(child: Child) -> None:
    with _lock:
        if _children.get(child.pid) is child:
            del _children[child.pid]


def _prune(children: Iterable[Child]) -> None:
    for child in children:
        if state_of(child) is None:
            _forget(child)


def _pidfd(child: Child) -> int | None:
    """A descriptor that becomes readable when `child` exits (Linux 5.3+), or None."""
    if not hasattr(os, "pidfd_open"):
        return None
    try:
        return os.pidfd_open(child.pid)
    except OSError:  # gone, too old a kernel, or refused by a seccomp policy
        return None


def _cmdline(child: Child) -> str:
    if _HAVE_PROC:
        try:
            with open(f"/proc/{child.pid}/cmdline", "rb") as f:
                raw = f.read()
        except OSError:
            raw = b""
        if raw:
            return _joined(os.fsdecode(arg) for arg in raw.rstrip(b"\0").split(b"\0"))
    if child.argv:
        return _joined(child.argv)
    return "(command line unknown)"


def _joined(argv: Iterable[str]) -> str:
    """A command line as a shell reads it; `shlex` is imported only once a child is looked at."""
    import shlex

    return shlex.join(argv)


def _command_lines(child: Child) -> tuple[str, ...]:
    """What `ignore_processes` matches: the command line as started, and as it is now
    (a child that has not exec'd yet still shows its parent's)."""
    now = _cmdline(child)
    started = _joined(child.argv) if child.argv else now
    return (started, now) if started != now else (now,)


def _unrecorded_children(known: set[int]) -> list[Child]:
    """Children not started through a wrapped function (C code): /proc only, slow."""
    if not _HAVE_PROC:
        return []
    me = os.getpid()
    pids: set[int] = set()
    try:
        tasks = os.listdir("/proc/self/task")
        for tid in tasks:
            with open(f"/proc/self/task/{tid}/children", "rb") as f:
                pids.update(int(p) for p in f.read().split())
    except OSError:  # no /proc/PID/task/TID/children (CONFIG_PROC_CHILDREN): scan
        for name in os.listdir("/proc"):
            if name.isdigit():
                stat = _stat(int(name))
                if stat is not None and int(stat[_PPID]) == me:
                    pids.add(int(name))
    found = []
    for pid in sorted(pids - known):
        stat = _stat(pid)
        if stat is None:
            continue
        child = Child(pid, "a function leaktest does not wrap", None, None, None, int(stat[_STARTTIME]))
        with _lock:
            child = _children.setdefault(pid, child)
        found.append(child)
    return found


# -- the probe ----------------------------------------------------------------


class ProcessProbe(Probe[int, Child]):
    """A mark is the number of the last child started (-1: every child counts)."""

    kind = "processes"
    switch = Flag("check_processes", True, "check child processes (running or never reaped)")
    names = Patterns(
        "ignore_processes",
        "ignore child processes whose command line matches (fnmatch; repeatable)",
        flag="--ignore-process",
    )
    headings = {"processes": "found unexpected processes:"}
    marks_clock = True

    def hooks(self) -> list[install.Hook]:
        return [*_SPAWN_HOOKS, _FORKSERVER_HOOK, *_UVLOOP_HOOKS]

    def count(self) -> int:
        if not _children:
            return 0
        helpers = _shared_helpers()
        alive = 0
        for child in list(_children.values()):
            if child.pid in helpers or state_of(child) is None:
                _forget(child)
            else:
                alive += 1
        return alive

    def new_since(self, mark: int) -> list[Child]:
        if mark == clock.now:
            return []
        helpers = _shared_helpers()
        found = []
        for child in list(_children.values()):
            if child.seq <= mark or child.reported:
                continue
            state = None if child.pid in helpers else state_of(child)
            if state is None:
                _forget(child)
            else:
                child.state = state
                found.append(child)
        if mark < 0:
            found.extend(child for child in _unrecorded_children(set(_children) | helpers) if not child.reported)
        return found

    def candidates(self, items: Sequence[Child], with_frames: bool) -> list[Candidate]:
        return [Candidate(_command_lines(child), start=child.start) for child in items]

    def wait(self, items: Sequence[Child], deadline: float) -> list[Child]:
        """Until each child is reaped by its owner or the deadline passes; never reaps."""
        pending = list(items)
        pidfds: dict[int, int] = {}
        delay = 0.001
        try:
            while True:
                still = []
                for child in pending:
                    state = state_of(child)
                    if state is not None:
                        if state != child.state:
                            delay = 0.001  # it just exited: its owner should reap it soon
                        child.state = state
                        still.append(child)
                pending = still
                remaining = deadline - time.monotonic()
                if not pending or remaining <= 0:
                    return pending
                running = [child for child in pending if child.state == RUNNING]
                for child in running:
                    if child.pid not in pidfds:
                        fd = _pidfd(child)
                        if fd is not None:
                            pidfds[child.pid] = fd
                watched = [pidfds[child.pid] for child in running if child.pid in pidfds]
                if len(watched) == len(pending):
                    timeout = remaining  # all running and watched: wake when one exits
                else:
                    timeout = min(delay, remaining)
                    delay = min(delay * 2, _MAX_DELAY)
                if watched:
                    poller = select.poll()
                    for fd in watched:
                        poller.register(fd, select.POLLIN)
                    poller.poll(max(1, int(timeout * 1000 + 0.999)))
                else:
                    time.sleep(timeout)
        finally:
            for fd in pidfds.values():
                os.close(fd)

    def describe(self, items: Sequence[Child]) -> list[Leak]:
        return [_describe(child) for child in items]

    def started(self, item: Child) -> int | None:
        return item.seq

    def claim(self, items: Sequence[Child]) -> None:
        for child in items:
            child.reported = True

    def cleanup(self, items: Sequence[Child]) -> str:
        """Terminate (SIGTERM, then SIGKILL) and reap the leaked children.

        The one place leaktest reaps: the owner's own `wait()` then finds the child
        gone (`Popen` reports returncode 0, `Process.join()` returns).
        """
        ended = [child for child in items if _terminate(child)]
        return f"terminated and reaped {', '.join(f'Process {c.pid}' for c in ended)}" if ended else ""


def _terminate(child: Child) -> bool:
    """SIGTERM, a short wait, SIGKILL; then reap it if it is ours. False if it was gone."""
    if state_of(child) is None or not hasattr(signal, "SIGKILL"):
        return False
    for sig in (signal.SIGTERM, signal.SIGKILL):
        if state_of(child) == RUNNING:
            try:
                os.kill(child.pid, sig)
            except OSError:
                return False
            _wait_exited(child, time.monotonic() + _TERMINATE_WAIT)
    if child.direct and state_of(child) == ZOMBIE:
        try:
            os.waitpid(child.pid, 0)
        except ChildProcessError:  # its owner reaped it meanwhile
            pass
    _forget(child)
    return True


def _wait_exited(child: Child, deadline: float) -> None:
    """Until `child` no longer runs (a zombie or gone) or the deadline passes."""
    fd = _pidfd(child)
    try:
        while state_of(child) == RUNNING and (remaining := deadline - time.monotonic()) > 0:
            if fd is None:
                time.sleep(min(_MAX_DELAY, remaining))
            else:
                select.select([fd], [], [], remaining)
    finally:
        if fd is not None:
            os.close(fd)


def _describe(child: Child) -> Leak:
    state = state_of(child) or child.state
    if state == ZOMBIE:
        status = "zombie: exited, its exit status never waited for"
        if not child.direct:
            status = "exited, not yet reaped by the forkserver"
    else:
        status = RUNNING
    extra = []
    if child.via in ("os.fork", "os.forkpty"):
        # Its command line is this process's: say what the fork runs instead, when known.
        what = f"running {child.runs}" if child.runs else f"(command line: {_cmdline(child)})"
        head = f"Process {child.pid} ({status}): a fork of this process {what}"
    else:
        head = f"Process {child.pid} ({status}): {_cmdline(child)}"
        if child.runs:
            extra.append(f"running {child.runs}")
    if child.origin is None and child.starttime is not None and child.via.startswith("a function"):
        started = stacks.where("started", None, unseen="by code leaktest cannot see (not through a function it wraps)")
    else:
        started = stacks.where("started", child.origin, child.entry or child.via)
    runs = child.runs or (os.path.basename(child.argv[0]) if child.argv else "")
    origin = stacks.site_function(child.origin)
    return Leak("processes", f"Process {child.pid}", entry(head, started, extra=extra), child, child.seq, runs, origin)
