"""The one owner of the process-wide hooks and of the locks that must survive a fork.

A probe declares the standard-library functions it needs to hear about as
`Hook`s (`Probe.hooks`); `install` puts one wrapper in place per function, once
per process, and `uninstall` takes this copy's listeners out again (leaktest's
own tests and benchmarks).

Two copies of leaktest in one process (a vendored copy beside the installed one)
share the wrappers: the listeners live on the wrapper itself, as plain data, and
each copy adds its own to the wrapper it finds. So each copy hears of every
start, and the caller frame handed to the listeners is the caller's, never the
other copy's wrapper.

A warning takes its place from the innermost frame (a C function's, at stack level
1) or from the frames it counts outwards: a wrapper's frame would be that place. So
a `__del__`'s original is called, when it has something to do, from a frame placed
at the line that dropped the object (`_finalizer`: socket's "ResourceWarning:
unclosed" names that line), and a C function is called from a frame placed at its
caller's line (`_in_place`: os.fork's
3.12+ "DeprecationWarning: ... use of fork() may lead to deadlocks" names the line
that forked). What is left: a Python function hooked here that warns at stack level
3 or more counts the wrapper (none of the hooked ones is known to).

A hook after `BaseEventLoop.create_task` is no wrapper on 3.12+ (`Hook.on_return`):
its listener hears of the function's return through `sys.monitoring` (`_on_return`).
So no frame of leaktest's is on the stack while it makes the task: asyncio's debug mode
(every `IsolatedAsyncioTestCase` runs in it) extracts each frame there into the task's
source tracebacks, twice per task, which cost more than the rest of the hook. The tool
id taken is `sys.monitoring.OPTIMIZER_ID` (5), which no tool is known to use (CPython's
test_monitoring takes 2 to 4); where it is taken already, or the function in place is
not its owner's own (someone else's wrapper), a wrapper is used, as on 3.10-3.11.

A hook on a C function may also hand it other arguments (`Hook.rewrites`): the only
one is `_thread.start_new_thread`'s, which wraps the thread's function to tell when it
ends; its frame is left out of leak reports.

A hook on an `async def` method hears of what the call returns once awaited
(`Hook.awaited`: uvloop's `create_server` and `subprocess_exec`, whose servers and
children are made in compiled code no other hook sees): the wrapper returns a
coroutine of leaktest's awaiting the original one, whose frame a traceback through
the call shows.

Locks made by `new_lock()` are made free again in a forked child, where a lock
held by another thread of the parent would stay held forever (with the one
private method this needs, `_at_fork_reinit`, 3.9+); `after_fork` runs other
resets there.
"""

from __future__ import annotations

import functools
import os
import sys
import threading
from collections.abc import Callable, Iterable
from types import BuiltinFunctionType, CodeType, FrameType, FunctionType, TracebackType

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Protocol, TypeAlias

#: A listener: (result, caller frame, args, kwargs); `result` is None before the call.
#: What it returns is read by a rewriting hook's caller only.
Listener: TypeAlias = "Callable[[Any, FrameType | None, tuple[Any, ...], dict[str, Any]], object]"
#: A finalizer's listener (a hook on a `__del__`): the object ending, and nothing else,
#: since it runs on every such object's end; True when the original has nothing left to
#: do for it (`_finalizer`).
FinalizerListener: TypeAlias = "Callable[[Any], object]"

_SHARED = "_leaktest_hook"  # the wrapper attribute holding the shared listeners, in every copy

#: The prefix of the attributes this copy notes on threads, loops...: "_leaktest_" for
#: the package `leaktest`, another one for a copy under another name.
PREFIX = "_" + __name__.rpartition(".probes.")[0].replace(".", "_") + "_"


class Hook:
    """Call `listener` on every call of `owner().name`, before it or after it."""

    __slots__ = ("owner", "name", "listener", "after", "module", "rewrites", "awaited", "on_return")

    def __init__(
        self,
        owner: Callable[[], object],
        name: str,
        listener: Listener | FinalizerListener,
        after: bool = False,
        module: str | None = None,
        rewrites: bool = False,
        awaited: bool = False,
        on_return: bool = False,
    ) -> None:
        self.owner = owner  # the module or class, or None when it does not exist here
        self.name = name
        self.listener = listener
        self.after = after
        #: A module leaktest does not import itself (asyncio, uvloop): while it is not
        #: imported, the hook waits, and is put in place right after the module's own code
        #: ran (`on_import`), before the code that imported it can make anything with it.
        self.module = module
        #: A C function's hook that hands the call its arguments: the listener, called before
        #: it, returns them as (args, kwargs) (`_thread.start_new_thread`'s function, wrapped
        #: to tell when the thread ends).
        self.rewrites = rewrites
        #: An `async def` method's hook: the listener hears of the awaited result, with the
        #: frame that called the method. A method's hooks are all awaited or none is.
        self.awaited = awaited
        #: A hook after a Python function whose listener reads the result and the caller,
        #: not the arguments: on 3.12+ it hears of the return through `sys.monitoring`, with
        #: no frame of leaktest's on the stack while the function runs (`_monitor`).
        self.on_return = on_return


_installed: list[Hook] = []  # what this copy installed, for `uninstall`
_waiting: list[Hook] = []  # hooks on a module not imported yet


def install(hooks: Iterable[Hook]) -> None:
    """Put every hook in place; installing a hook a second time does nothing."""
    for hook in hooks:
        if hook.after and hook.name == "__del__":
            raise ValueError(f"{hook.listener!r}: a finalizer's hook runs before it only")
        if hook.module is not None and hook.module not in sys.modules:
            if hook not in _waiting:
                if not any(other.module == hook.module for other in _waiting):
                    on_import(hook.module, functools.partial(_install_waiting, hook.module))
                _waiting.append(hook)
            continue
        owner = hook.owner()
        if owner is None or not hasattr(owner, hook.name):
            continue  # not on this platform, or not imported yet
        with _install_lock:
            if _monitor(owner, hook):
                continue
            shared = _shared(getattr(owner, hook.name))
            if shared is None:
                shared = _wrap(owner, hook.name, hook.awaited)
            if hook.awaited != ("awaited" in shared):
                raise ValueError(f"{hook.listener!r}: a method's hooks are all awaited or none is")
            if hook.rewrites and (hook.after or not isinstance(shared["original"], BuiltinFunctionType)):
                raise ValueError(f"{hook.listener!r}: only a C function's hook before it hands it its arguments")
            key = "awaited" if hook.awaited else "rewrites" if hook.rewrites else "after" if hook.after else "before"
            shared.setdefault(key, ())
            if hook.listener not in shared[key]:
                shared[key] = (*shared[key], hook.listener)
            if hook not in _installed:
                _installed.append(hook)


def _install_waiting(module: str) -> None:
    """Put in place the hooks waiting for `module`, imported now. (Not those of the other
    modules in `sys.modules`: one may be still executing, importing this one.)"""
    ready = [hook for hook in _waiting if hook.module == module]
    _waiting[:] = [hook for hook in _waiting if hook.module != module]
    install(ready)


# -- after an import ------------------------------------------------------------

_on_import: dict[str, list[Callable[[], None]]] = {}  # module name -> what runs once it is imported


def on_import(module: str, action: Callable[[], None]) -> None:
    """Run `action` once `module` is imported: now if it is, else right after the module's
    own code ran, in the import statement that brought it in. A module leaktest does
    not need until the code under test uses it (asyncio) is not imported by leaktest:
    its hooks and what a probe derives from it wait for it."""
    if module in sys.modules:
        action()
        return
    with _install_lock:
        actions = _on_import.setdefault(module, [])
        if action not in actions:
            actions.append(action)
        if _WATCHER not in sys.meta_path:
            sys.meta_path.insert(0, _WATCHER)


def _imported(module: str) -> None:
    with _install_lock:
        actions = _on_import.pop(module, [])
        if not _on_import and _WATCHER in sys.meta_path:
            sys.meta_path.remove(_WATCHER)
    for action in actions:
        try:  # an action never breaks the import
            action()
        except Exception:
            pass


class _ImportWatcher:
    """A finder placed first in `sys.meta_path` while an `on_import` action waits: for
    a waited module, it finds the spec as the other finders would and has its loader
    announce the end of the module's execution. Asked for every import meanwhile,
    it answers the others with a dict lookup."""

    def __init__(self) -> None:
        #: The names being found by the other finders (one import of a name at a time:
        #: the import system holds the name's lock), so as not to answer them twice.
        self._finding: set[str] = set()

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> Any:
        if name not in _on_import or name in self._finding:
            return None
        self._finding.add(name)
        try:
            for finder in sys.meta_path:
                find = getattr(finder, "find_spec", None)
                if finder is self or find is None:
                    continue
                spec = find(name, path, target)
                if spec is not None:
                    break
            else:
                return None
        finally:
            self._finding.discard(name)
        if spec.loader is not None and hasattr(spec.loader, "exec_module"):
            spec.loader = _Announcing(spec.loader)
        return spec

    def invalidate_caches(self) -> None:
        """Nothing cached (called by `importlib.invalidate_caches`)."""


class _Announcing:
    """A module's loader, for one execution of it: the module gets its own loader back
    before its code runs, and `_imported` runs after."""

    def __init__(self, loader: Any) -> None:
        self.loader = loader

    def create_module(self, spec: Any) -> Any:
        return self.loader.create_module(spec)

    def exec_module(self, module: Any) -> None:
        module.__spec__.loader = module.__loader__ = self.loader
        self.loader.exec_module(module)
        _imported(module.__name__)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.loader, name)


_WATCHER = _ImportWatcher()


def uninstall() -> None:
    """Take this copy's listeners out; put the original back where no listener is left."""
    with _install_lock:
        for hook in reversed(_installed):
            owner = hook.owner()
            current = getattr(owner, hook.name, None)
            shared = _shared(current)
            if shared is None:
                continue
            _remove(shared, hook.listener)
            ours = getattr(current, _SHARED, None) is shared  # not under someone else's wrapper
            if ours and not any(shared.get(key) for key in _KEYS):
                setattr(owner, hook.name, shared["original"])
        _installed.clear()
        _waiting.clear()  # (their `on_import` actions then find nothing to install)
        _stop_monitoring()


_KEYS = ("before", "after", "rewrites", "awaited")


def _remove(shared: dict[str, Any], listener: Listener | FinalizerListener) -> None:
    for key in _KEYS:
        shared[key] = tuple(other for other in shared.get(key, ()) if other is not listener)


def _shared(function: object) -> dict[str, Any] | None:
    """The listeners of a leaktest wrapper (any copy's), also under someone else's wrapper."""
    for _ in range(10):
        shared = getattr(function, _SHARED, None)
        if isinstance(shared, dict):
            return shared
        function = getattr(function, "__wrapped__", None)
        if function is None:
            return None
    return None


def _wrap(owner: object, name: str, awaited: bool) -> dict[str, Any]:
    original = getattr(owner, name)
    shared: dict[str, Any] = {"original": original, "before": (), "after": (), "rewrites": ()}
    if name == "__del__":
        setattr(owner, name, _finalizer(shared))
        return shared
    if awaited:
        shared["awaited"] = ()
        setattr(owner, name, _awaiting_wrapper(original, shared))
        return shared

    in_place = isinstance(original, BuiltinFunctionType)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not in_place and not shared["before"]:  # the original called on the first line: see `_after`
            return _after(shared["after"], original(*args, **kwargs), args, kwargs)
        try:
            frame: FrameType | None = sys._getframe(1)
        except ValueError:  # called from C with no Python caller (a finalizer)
            frame = None
        for listener in shared["before"]:
            try:  # a listener never breaks the call it hears about
                listener(None, frame, args, kwargs)
            except Exception:
                pass
        after = shared["after"]
        if in_place and frame is not None:
            for rewrite in shared.get("rewrites", ()):  # (an older copy's wrapper has none)
                try:
                    args, kwargs = rewrite(None, frame, args, kwargs)
                except Exception:
                    pass
            return _heard(after, _in_place(original, frame, args, kwargs), frame, args, kwargs)
        return _heard(after, original(*args, **kwargs), frame, args, kwargs)

    wrapper.__code__ = wrapper.__code__.replace(co_filename=WRAPPER_FILE)
    functools.update_wrapper(wrapper, original)
    setattr(wrapper, _SHARED, shared)
    setattr(owner, name, wrapper)
    return shared


#: The file the wrappers' code names: this one's, in a directory "(hook)" that does not
#: exist. asyncio's debug mode extracts the wrapper's frame into every task's and handle's
#: source traceback, and `linecache.checkcache` stats each file of it that was ever read
#: whole: this name is no file, so it is never stat'ed. A traceback still shows the
#: wrapper's lines: linecache reads them through the module's loader (`lazycache`), which
#: it never stats either. Its base name is this file's, so that coverage.py, which takes a
#: frame's `__file__` when the base names agree, counts the wrapper's lines as this file's
#: instead of failing its report on a file with no source.
WRAPPER_FILE = os.path.join(os.path.dirname(__file__), "(hook)", os.path.basename(__file__))


def _awaiting_wrapper(original: Callable[..., Any], shared: dict[str, Any]) -> Callable[..., Any]:
    """The wrapper of an `async def` method: its listeners hear of the awaited result."""

    @functools.wraps(original)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            frame: FrameType | None = sys._getframe(1)
        except ValueError:
            frame = None
        return _awaited(shared, original(*args, **kwargs), frame, args, kwargs)

    setattr(wrapper, _SHARED, shared)
    return wrapper


async def _awaited(
    shared: dict[str, Any], call: Any, frame: FrameType | None, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    return _heard(shared["awaited"], await call, frame, args, kwargs)


#: How `_in_place` calls a C function: compiled once, placed per call site.
_CALL = compile("original(*args, **kwargs)", "<leaktest hook>", "eval")


@functools.lru_cache(maxsize=256)
def _placed(filename: str, lineno: int) -> CodeType:
    """`_CALL` as if written at `filename`:`lineno` (a few fork and spawn sites per suite)."""
    return _CALL.replace(co_filename=filename, co_firstlineno=lineno, co_name="<called through leaktest's hook>")


def _in_place(original: Callable[..., Any], caller: FrameType, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """Call C function `original` from a frame at `caller`'s file and line, in its module.

    A C function warns at the innermost Python frame: here, that frame, which has the
    caller's place, module and warning registry, as if there were no hook. Costs an
    `eval` per call: only the process-spawning functions are C functions hooked here.
    """
    # 3.12+: no line while an inlined comprehension's cleanup runs; then its first line.
    lineno = caller.f_lineno
    code = _placed(caller.f_code.co_filename, caller.f_code.co_firstlineno if lineno is None else lineno)
    try:
        return eval(code, caller.f_globals, {"original": original, "args": args, "kwargs": kwargs})
    except BaseException as error:
        # The placed frame would repeat the caller's line in the traceback: leave it out.
        here = error.__traceback__
        if here is not None and here.tb_next is not None and here.tb_next.tb_frame.f_code is code:
            here.tb_next = None
        raise


def _finalizer(shared: dict[str, Any]) -> Callable[[object], None]:
    """The hook on a `__del__`: a function the interpreter calls on every such object's
    end, which runs the listeners, then the original only when it has something to do.
    A listener returns True when the original has nothing left to do for the object (a
    socket its owner closed: the C finalizer neither warns nor closes); when every one
    does, it is not called, which is the common case and costs one call. Otherwise it
    is called from a frame placed at the line the object was dropped on (`_in_place`):
    a frame of leaktest's would be the place of a warning it raises at stacklevel 1
    (socket's "ResourceWarning: unclosed"); this way the warning names that line, as
    without leaktest. Listeners run before only, and get the object alone
    (`FinalizerListener`): where an object happens to be collected says nothing about it."""
    original = shared["original"]

    def finalizer(instance: object) -> None:
        listeners = shared["before"]
        quiet = bool(listeners)
        for listener in listeners:
            try:  # a listener never breaks the finalizer
                if listener(instance) is not True:
                    quiet = False
            except Exception:
                quiet = False
        if quiet:
            return
        try:
            dropped_at = sys._getframe(1)
        except ValueError:  # ended with no Python code running (at the warning's place: this frame)
            original(instance)
            return
        _in_place(original, dropped_at, (instance,), {})

    setattr(finalizer, _SHARED, shared)
    return finalizer


def _after(listeners: tuple[Listener, ...], result: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """`_heard`, for a wrapper with listeners after the call only: the common case, and
    the hot one (every socket, task and loop made). The wrapper's frame is on the stack
    while the original runs: asyncio's debug mode extracts it into every task's source
    traceback, looking up its line, which costs less the nearer the call is to the
    function's start. No local name holds the result: an eager task's traceback keeps
    the wrapper's frame alive, which would keep the task alive in a cycle (as CPython's
    gh-128552)."""
    try:
        frame: FrameType | None = sys._getframe(2)  # the wrapper's caller
    except ValueError:  # called from C with no Python caller
        frame = None
    for listener in listeners:  # `_heard`'s loop, written out: one call less on the hot path
        try:
            listener(result, frame, args, kwargs)
        except Exception:
            pass
    return result


def _heard(
    listeners: tuple[Listener, ...], result: Any, frame: FrameType | None, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    """`result`, once every listener heard of it (a listener never breaks the call)."""
    for listener in listeners:
        try:
            listener(result, frame, args, kwargs)
        except Exception:
            pass
    return result


# -- after a Python function returns (3.12+) ------------------------------------

_TOOL = 5  # sys.monitoring.OPTIMIZER_ID
#: id(code) -> the listeners of the hooks after that function, heard through sys.monitoring.
_returns: dict[int, tuple[Callable[..., object], ...]] = {}
_monitored: list[CodeType] = []  # their codes, for `uninstall`


def _monitor(owner: object, hook: Hook) -> bool:
    """Hear of `hook`'s function returning through `sys.monitoring` (with `_install_lock`
    held): True when it is heard so; False, for a wrapper, on 3.10-3.11, when someone
    else's wrapper is in the function's place, or when another tool has the tool id."""
    if not hook.on_return or not isinstance(owner, type):
        return False
    function = vars(owner).get(hook.name)
    code = function.__code__ if type(function) is FunctionType else None
    # (3.11+: the code's own qualified name, which `functools.wraps` leaves as it is)
    if code is None or getattr(code, "co_qualname", None) != f"{owner.__qualname__}.{hook.name}":
        return False
    if not _returns and not _take_tool():
        return False
    listeners = _returns.get(id(code))
    if listeners is None:
        _monitored.append(code)
        monitoring = sys.monitoring  # type: ignore[attr-defined,unused-ignore]
        monitoring.set_local_events(_TOOL, code, monitoring.events.PY_RETURN)
        listeners = ()
    if hook.listener not in listeners:
        _returns[id(code)] = (*listeners, hook.listener)
    if hook not in _installed:
        _installed.append(hook)
    return True


def _take_tool() -> bool:
    monitoring = getattr(sys, "monitoring", None)
    if monitoring is None:
        return False
    try:
        monitoring.use_tool_id(_TOOL, "leaktest")
    except ValueError:  # another tool's, or another copy of leaktest's
        return False
    monitoring.register_callback(_TOOL, monitoring.events.PY_RETURN, _on_return)
    return True


def _stop_monitoring() -> None:
    """Give the tool id back (`uninstall`, with `_install_lock` held)."""
    if not _returns:
        return
    monitoring = sys.monitoring  # type: ignore[attr-defined,unused-ignore]
    for code in _monitored:
        monitoring.set_local_events(_TOOL, code, 0)
    monitoring.register_callback(_TOOL, monitoring.events.PY_RETURN, None)
    monitoring.free_tool_id(_TOOL)
    _returns.clear()
    _monitored.clear()


def _on_return(code: CodeType, offset: int, result: object) -> None:
    """sys.monitoring's PY_RETURN callback, called from inside the returning function:
    its listeners hear of the result and the function's caller, with no arguments.
    Returns None, never `sys.monitoring.DISABLE`: every call is heard."""
    try:
        caller: FrameType | None = sys._getframe(2)  # (1: the function's own frame)
    except ValueError:  # called from C with no Python caller
        caller = None
    for listener in _returns.get(id(code), ()):
        try:  # a listener never breaks the call it hears about
            listener(result, caller, (), {})
        except Exception:
            pass


# -- locks and forks ----------------------------------------------------------


if TYPE_CHECKING:

    class Lock(Protocol):
        """What leaktest uses of a lock; `new_lock` makes one that survives a fork."""

        def __enter__(self) -> bool: ...

        def __exit__(
            self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
        ) -> None: ...

        def acquire(self, blocking: bool = ..., timeout: float = ...) -> bool: ...

        def release(self) -> None: ...


def new_lock(*, reentrant: bool = False) -> Lock:
    """A `threading.Lock` (or `RLock`) that a forked child gets free: the lock itself,
    with no wrapper, since some are taken on every event a probe records."""
    lock: Lock = threading.RLock() if reentrant else threading.Lock()
    _locks.append(lock)
    return lock


def _reinit(lock: Lock) -> None:
    """Make a lock free again in a forked child: `_at_fork_reinit` (3.9+ locks and
    RLocks, what CPython's threading and logging use in a child)."""
    lock._at_fork_reinit()  # type: ignore[attr-defined]


_locks: list[Lock] = []
_after_fork: list[Callable[[], None]] = []


def locks() -> list[Lock]:
    """Every lock of this copy (for leaktest's fork test)."""
    return list(_locks)


def after_fork(reset: Callable[[], None]) -> None:
    """Run `reset` in every forked child, after the locks are new."""
    _after_fork.append(reset)


def _in_forked_child() -> None:
    for lock in _locks:
        _reinit(lock)
    for reset in _after_fork:
        reset()


_install_lock = new_lock()

if hasattr(os, "register_at_fork"):  # wherever os.fork exists
    os.register_at_fork(after_in_child=_in_forked_child)
