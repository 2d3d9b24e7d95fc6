"""Frames -> qualified names, the innermost frame outside the stdlib, formatted stacks,
and the one way to say where something was started (`StartSite`, `where`).

Everything here runs on the failure path only, except `start_site` and `start_stack`, which
run once per start (thread, task, process; the stack also per socket) and therefore stay
cheap (no formatting).
"""

from __future__ import annotations

import functools
import gc
import os
import site
import sys
import threading
import traceback
from collections.abc import Iterable, Sequence
from types import CodeType, FrameType, FunctionType

from .known_helpers import WRAPPER_FUNCTIONS

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, NamedTuple, TypeAlias
else:
    from ._typing import NamedTuple

_LEAKTEST_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


def _stdlib_dirs() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Directories holding the standard library, and those inside them that do not.

    Where `threading` and `os` were loaded from is where the running stdlib really is
    (also in a venv); site-packages may sit below it (``lib/python3.X/site-packages``).
    Not `sysconfig.get_paths()`: importing sysconfig and computing its paths was a
    tenth of leaktest's start-up, to learn nothing these do not tell.
    """
    stdlib = {os.path.dirname(os.path.abspath(path)) for path in (threading.__file__, os.__file__) if path}
    third_party = {os.path.abspath(p) for p in site.getsitepackages()}
    user_site = site.getusersitepackages()
    if isinstance(user_site, str):
        third_party.add(os.path.abspath(user_site))
    return (
        tuple(d + os.sep for d in sorted(stdlib)),
        tuple(d + os.sep for d in sorted(third_party)),
    )


_STDLIB_DIRS, _THIRD_PARTY_DIRS = _stdlib_dirs()
#: CPython's own tests, shipped inside the stdlib directory: test code, not the stdlib.
_STDLIB_TEST_DIRS = tuple(d + "test" + os.sep for d in _STDLIB_DIRS)


@functools.lru_cache(maxsize=4096)
def is_stdlib(filename: str) -> bool:
    """True for code of the standard library, frozen modules included; CPython's
    `test` package is test code."""
    if filename.startswith("<frozen "):
        return True
    if filename.startswith("<"):
        return False
    # An absolute name (the usual one) is normalised without reading the cwd: the hooks
    # run inside event loops where blockbuster refuses `os.path.abspath`.
    path = os.path.normpath(filename) if os.path.isabs(filename) else os.path.abspath(filename)
    if path.startswith(_THIRD_PARTY_DIRS) or path.startswith(_STDLIB_TEST_DIRS):
        return False
    parts = path.split(os.sep)
    if "site-packages" in parts or "dist-packages" in parts:
        return False
    return any(path.startswith(d) for d in _STDLIB_DIRS)


def is_leaktest(filename: str) -> bool:
    return filename.startswith(_LEAKTEST_DIR)


class FrameRecord(NamedTuple):
    """What a frame was when something was created, kept once the frame is gone.

    Keeping the frame itself would keep its locals (the socket it created) alive.
    The rules and the report read it as they read a frame.
    """

    f_code: CodeType
    f_globals: dict[str, Any]
    f_lineno: int


#: A live frame, or the record of one.
Frame = FrameType | FrameRecord


_START_DEPTH = 64  # frames kept of a start stack, at most (a thread started by a thread has no framework frames)


def start_stack(frame: FrameType | None) -> tuple[FrameRecord, ...]:
    """The stack that is starting something, for `ignore_started_by` and a socket's
    report: out to the first of the test framework's frames (those further out run
    every test),
    leaktest's own frames left out, at most `_START_DEPTH`. Runs on every start:
    records, no formatting."""
    records: list[FrameRecord] = []
    keep = records.append
    new = tuple.__new__  # skips NamedTuple's Python-level __new__
    while frame is not None and len(records) < _START_DEPTH:
        kind = _kinds.get(frame.f_code.co_filename)
        if kind is None:
            kind = _kind(frame)
        if kind != _LEAKTEST:
            keep(new(FrameRecord, (frame.f_code, frame.f_globals, frame.f_lineno)))
        if kind == _FRAMEWORK:
            break
        frame = frame.f_back
    return tuple(records)


#: Whether creations keep their whole start stack: only while a rule reads it (`ignore_started_by`).
_whole_stacks = False


def keep_whole_stacks() -> None:
    """From now on, record the whole stack of every creation, out to the test framework's
    frames (a rule matches any of them)."""
    global _whole_stacks
    _whole_stacks = True


#: Top-level packages whose own frames a creation keeps, out of the package (and the
#: stdlib frames it calls through): a library rule's `ignore_started_by` function may be
#: deep inside it (`urllib3.request`, the module-level pool's entry point, is a dozen
#: urllib3 and http.client frames out from its socket).
_followed: frozenset[str] = frozenset()
_followed_files: dict[str, bool] = {}  # filename -> whether its module is in a followed package


def follow_packages(packages: Iterable[str]) -> None:
    """From now on, what the code of these top-level packages makes keeps the packages'
    frames out to their caller (the library rules' `ignore_started_by` functions)."""
    global _followed
    if not _followed.issuperset(packages):
        _followed = _followed.union(packages)
        _followed_files.clear()


#: A `creation_stack`: three items a frame, innermost first (code, globals, instruction
#: offset), flat: one tuple a creation, not one a frame more.
CreationStack: TypeAlias = "tuple[Any, ...]"


def creation_stack(frame: FrameType | None) -> CreationStack:
    """The frames that are making something (a socket, a task), innermost first, out to
    the code that asked for it (the first frame outside the stdlib and leaktest) and
    its caller, whatever that is (the line of the test that led there, when the test
    called it through a helper); leaktest's own left out before it. Runs on every
    creation, so it costs as many frames as the stdlib took, however deep the caller:
    the test it was made for is the one running (`probes.clock.running`). Once a rule
    reads them (`keep_whole_stacks`), out to the test framework's frames; when the
    code that asked is in a followed package (`follow_packages`), out of that package.

    Plain values (code, globals, instruction offset), three a frame: `records`
    makes them frame records on the failure path. A named tuple costs twice as much to
    make, and a frame's `f_lineno` searches its code's line table up to the current
    instruction (30 us at the end of a 3000-line function), where `f_lasti` is read at once.
    """
    inner: list[Any] = []  # the stdlib's frames before the code that asked
    while True:
        if frame is None or len(inner) >= _START_DEPTH * 3:
            return tuple(inner)
        code = frame.f_code
        kind = _kinds.get(code.co_filename)
        if kind is None:
            kind = _kind(frame)
        if kind == _USER:
            break
        if kind == _FRAMEWORK:
            return tuple(inner)
        if kind != _LEAKTEST:
            inner += (code, frame.f_globals, frame.f_lasti)
        frame = frame.f_back
    module = frame.f_globals
    lasti = frame.f_lasti
    if _whole_stacks or (_followed and _followed_files.get(code.co_filename) is not False and _in_followed(frame)):
        return _longer_stack(frame, [*inner, code, module, lasti])
    caller = frame.f_back  # reading it makes its frame object (3.11+): one, not more
    if caller is None:
        return (*inner, code, module, lasti)
    if inner:
        return (*inner, code, module, lasti, caller.f_code, caller.f_globals, caller.f_lasti)
    return (code, module, lasti, caller.f_code, caller.f_globals, caller.f_lasti)


def innermost_frame(frame: FrameType) -> CreationStack:
    """A `creation_stack` of `frame` alone, walking nothing: for what is known to be made
    by the stdlib for the test (`probes.event_loops.made_for_a_test`)."""
    return (frame.f_code, frame.f_globals, frame.f_lasti)


def _longer_stack(asking: FrameType, kept: list[Any]) -> CreationStack:
    """`creation_stack` past the code that asked: out to the test framework's frames
    once a rule reads them, or out of the followed package it is in, and its caller."""
    frame: FrameType | None = asking
    if _whole_stacks:
        frame = asking.f_back
        while frame is not None and len(kept) < _START_DEPTH * 3:
            kind = _kinds.get(frame.f_code.co_filename)
            if kind is None:
                kind = _kind(frame)
            if kind == _FRAMEWORK:
                break
            if kind != _LEAKTEST:
                kept += (frame.f_code, frame.f_globals, frame.f_lasti)
            frame = frame.f_back
        return tuple(kept)
    caller = _out_of_followed(asking, kept).f_back
    if caller is not None:
        kept += (caller.f_code, caller.f_globals, caller.f_lasti)
    return tuple(kept)


def _in_followed(frame: FrameType) -> bool:
    """Whether the frame's module is in a followed package: one dict lookup once seen."""
    filename = frame.f_code.co_filename
    followed = _followed_files.get(filename)
    if followed is None:
        module = frame.f_globals.get("__name__")
        followed = isinstance(module, str) and module.partition(".")[0] in _followed
        _followed_files[filename] = followed
    return followed


def _out_of_followed(frame: FrameType, kept: list[Any]) -> FrameType:
    """Keep the frames out of a followed package, through the stdlib it calls through
    (urllib3's connections are `http.client`'s), to the last one before its caller."""
    while (back := frame.f_back) is not None and len(kept) < _START_DEPTH * 3:
        if not _in_followed(back):
            kind = _kinds.get(back.f_code.co_filename)
            if kind is None:
                kind = _kind(back)
            if kind not in (_STDLIB, _LEAKTEST):
                break
            if kind == _LEAKTEST:
                frame = back
                continue
        frame = back
        kept += (frame.f_code, frame.f_globals, frame.f_lasti)
    return frame


def records(stack: CreationStack) -> tuple[FrameRecord, ...]:
    """A `creation_stack` as frame records, for the rules and the report."""
    return tuple(FrameRecord(stack[i], stack[i + 1], _line_at(stack[i], stack[i + 2])) for i in range(0, len(stack), 3))


def _line_at(code: CodeType, lasti: int) -> int:
    """The line of the instruction at byte offset `lasti`, as `frame.f_lineno` gives it
    (`co_lines`, PEP 626, 3.10+)."""
    for start, end, line in code.co_lines():
        if start <= lasti < end and line is not None:
            return line
    return code.co_firstlineno


def _qualname_3_10(code: CodeType, module_globals: dict[str, object]) -> str:
    """The qualified name where `co_qualname` does not exist (3.10), worked out when a
    report names the code: its function among the module's functions and classes, or
    else the `__qualname__` of the function made of it (a class or function defined
    inside a function), found among the garbage collector's objects, or its bare name.

    Nothing is noted when the code runs: reading a frame's arguments on 3.10 copies its
    locals into `f_locals`, which keeps each of them alive until the function returns.
    """
    name = code.co_name
    for value in list(module_globals.values()):
        if code_of(value) is code:
            return str(getattr(value, "__qualname__", name))
        if isinstance(value, type):
            attr = value.__dict__.get(name)
            if attr is not None and code_of(attr) is code:
                return f"{value.__qualname__}.{name}"
    for referrer in gc.get_referrers(code):
        # (a `functools.wraps` wrapper carries the name of what it wraps, not its own)
        if isinstance(referrer, FunctionType) and referrer.__code__ is code and not hasattr(referrer, "__wrapped__"):
            return referrer.__qualname__
    return name


def code_of(obj: object) -> CodeType | None:
    """The code of the function the user wrote, behind a method, classmethod,
    staticmethod or decorator.

    `__wrapped__` (functools.wraps) is followed before `__code__`: a decorator's
    wrapper code is shared by every function it decorates, so naming it would
    match all of them.
    """
    seen = 0
    while obj is not None and seen < 100:
        seen += 1
        inner = getattr(obj, "__wrapped__", None) or getattr(obj, "__func__", None)
        if inner is None:
            code = getattr(obj, "__code__", None)
            return code if isinstance(code, CodeType) else None
        obj = inner
    return None


def qualified_name(code: CodeType, frame: Frame | None = None) -> str:
    """``module.Class.method`` for the code running in `frame`."""
    return _qualified(code, frame.f_globals if frame is not None else {})


def _qualified(code: CodeType, module_globals: dict[str, Any]) -> str:
    module = module_globals.get("__name__", "?")
    qualname = getattr(code, "co_qualname", None)  # 3.11+
    if qualname is None:
        qualname = _qualname_3_10(code, module_globals)
    return f"{module}.{qualname}"


def function_name(func: object) -> str:
    """``module.Class.method`` for a function or method object; its repr otherwise."""
    func = getattr(func, "__func__", func)
    qualname = getattr(func, "__qualname__", None)
    module = getattr(func, "__module__", None)
    if isinstance(qualname, str):
        return f"{module}.{qualname}" if isinstance(module, str) else qualname
    return repr(func)


def frames_of(frame: FrameType | None) -> list[FrameType]:
    """The stack from `frame` outwards, innermost first."""
    frames = []
    while frame is not None:
        frames.append(frame)
        frame = frame.f_back
    return frames


def top_frame(frames: Sequence[Frame]) -> Frame | None:
    """The innermost frame outside the stdlib and the known wrappers (the innermost frame if
    all are)."""
    wrappers = _wrapper_codes()
    for frame in frames:
        if not is_stdlib(frame.f_code.co_filename) and frame.f_code not in wrappers:
            return frame
    return frames[0] if frames else None


def _wrapper_codes() -> frozenset[CodeType]:
    """The code of `known_helpers.WRAPPER_FUNCTIONS` (``module.function.<locals>.inner``),
    found inside the code of the function that makes them, for the modules imported."""
    codes: set[CodeType] = set()
    for name in WRAPPER_FUNCTIONS:
        outer, _, inner = name.partition(".<locals>.")
        module_name, _, function = outer.rpartition(".")
        module = sys.modules.get(module_name)
        code = code_of(getattr(module, function, None)) if module is not None else None
        if code is not None:
            codes.update(c for c in code.co_consts if isinstance(c, CodeType) and c.co_name == inner)
    return frozenset(codes)


def format_frames(frames: Sequence[Frame]) -> str:
    """Python's traceback layout (most recent call last) for frames given innermost first,
    one indent less: `report.entry` indents every stack alike."""
    summary = traceback.StackSummary.extract(((f, f.f_lineno) for f in reversed(frames)), capture_locals=False)
    lines = "".join(summary.format()).rstrip("\n").splitlines()
    return "\n".join(line[2:] if line.startswith("  ") else line for line in lines)


class Origin:
    """One frame's place: its function's qualified name, file and line.

    Noted on every thread start and task creation: the name is worked out only
    when a report prints it (on 3.10 that means searching the module).
    """

    __slots__ = ("filename", "lineno", "_code", "_globals", "_function")

    def __init__(self, frame: Frame) -> None:
        code = frame.f_code
        self.filename = code.co_filename
        self.lineno = frame.f_lineno
        self._code = code
        self._globals = frame.f_globals
        self._function: str | None = None

    @classmethod
    def named(cls, function: str, filename: str, lineno: int) -> Origin:
        """A place known by its name only (asyncio's debug-mode traceback keeps no frame)."""
        origin = cls.__new__(cls)
        origin.filename, origin.lineno, origin._function = filename, lineno, function
        return origin

    @property
    def function(self) -> str:
        if self._function is None:
            self._function = _qualified(self._code, self._globals)
        return self._function

    @classmethod
    def of_test(cls, test: object) -> Origin | None:
        """The test (or fixture) function `test`, at the line it is defined on."""
        code = code_of(test)
        if code is None:
            return None
        return cls.named(function_name(test), code.co_filename, code.co_firstlineno)

    def runs(self, code: CodeType | None) -> bool:
        """Whether this is a frame of `code` (False for a place known by name only)."""
        return getattr(self, "_code", None) is code

    def __str__(self) -> str:
        return f"{self.function} at {self.filename}:{self.lineno}"


#: Modules whose frames call the tests: the test (or fixture) is the frame they called.
_FRAMEWORK_MODULES = frozenset(
    {"unittest.case", "unittest.async_case", "unittest.suite", "unittest.main", "unittest.runner"}
)
#: pytest-asyncio runs each async test (and fixture) through its own wrapper: the test is
#: what that called, not the wrapper (anyio's runner is left alone: anyio is a library too).
_FRAMEWORK_PACKAGES = ("_pytest.", "pluggy.", "pytest_asyncio.")
#: Copies of stdlib modules for older Pythons count as the stdlib (pytest-asyncio runs
#: 3.10's tests through `backports.asyncio.runner`, 3.11's `asyncio.Runner`).
_STDLIB_BACKPORTS = "backports."

_USER, _STDLIB, _LEAKTEST, _FRAMEWORK = range(4)
_kinds: dict[str, int] = {}  # filename -> one of the four kinds above


def _kind(frame: Frame) -> int:
    """What a frame's code is, by file: one dict lookup once a file has been seen."""
    filename = frame.f_code.co_filename
    kind = _kinds.get(filename)
    if kind is None:
        module = frame.f_globals.get("__name__")
        if is_leaktest(filename):
            kind = _LEAKTEST
        elif isinstance(module, str) and (module in _FRAMEWORK_MODULES or module.startswith(_FRAMEWORK_PACKAGES)):
            kind = _FRAMEWORK
        elif is_stdlib(filename) or (isinstance(module, str) and module.startswith(_STDLIB_BACKPORTS)):
            kind = _STDLIB
        else:
            kind = _USER
        _kinds[filename] = kind
    return kind


class StartSite:
    """Where a thread (or task) was started, told so that the reader reaches the test.

    `origin` is the innermost frame outside the stdlib and leaktest, or the stdlib
    function that did it when there is none (a socketserver's request thread);
    `test` the test or fixture frame that led there, when that is another frame.
    When leaktest numbered the starting thread: its name, and where it was
    started (`thread_origin`, `thread_test`). `root` is the test frame the chain
    of starting threads began at; only a reference, so a chain of sites never grows.
    """

    __slots__ = ("origin", "test", "thread", "thread_origin", "thread_test", "root", "through")
    origin: Origin
    test: Origin | None
    thread: str | None
    thread_origin: Origin | None
    thread_test: Origin | None
    root: Origin | None
    through: Origin | None  # the stdlib function the origin called to start it (`where`)

    def __init__(
        self,
        origin: Origin,
        test: Origin | None,
        root: Origin | None,
        thread: str | None = None,
        thread_site: StartSite | None = None,
    ) -> None:
        self.origin = origin
        self.test = test
        self.thread = thread
        self.thread_origin = thread_site.origin if thread_site is not None else None
        self.thread_test = thread_site.test if thread_site is not None else None
        self.root = root if root is not None or thread_site is None else thread_site.root
        self.through = None

    def __str__(self) -> str:
        text = str(self.origin)
        if self.test is not None:
            text += f", from {self.test}"
        if self.thread is not None:
            text += f" in thread {self.thread!r}"
            if self.thread_origin is not None:
                text += f" (started by {self.thread_origin}"
                if self.thread_test is not None:
                    text += f", from {self.thread_test}"
                text += ")"
            root = self.root
            if root is not None and root is not self.thread_origin and root is not self.thread_test:
                text += f", in a chain of threads begun by {root}"
        return text


def start_site(
    frame: FrameType | None,
    thread: str | None = None,
    thread_site: StartSite | None = None,
    inside: str | None = "threading",
) -> StartSite | None:
    """Where the code running `frame` starts something; runs on every `Thread.start()`
    and `loop.create_task()`.

    One walk out to the test framework's frames, no formatting. `thread` and
    `thread_site`: the starting thread's name and start site, when it has one. The
    innermost stdlib frame outside the module `inside` (the one whose function is
    hooked) that the origin went through (a `multiprocessing.Queue` feeder's
    `_start_thread`) is noted as `through`; None: nothing is.
    """
    caller = origin = test = through = None
    while frame is not None:
        kind = _kind(frame)
        if kind == _FRAMEWORK:
            break
        if kind != _LEAKTEST:
            if caller is None:
                caller = frame
            if kind == _USER:
                if origin is None:
                    origin = frame
                test = frame
            elif origin is None and through is None and inside and frame.f_globals.get("__name__") != inside:
                through = frame
        frame = frame.f_back
    if origin is None:  # all stdlib: the stdlib function is the origin, named once
        origin, through = caller, None
    if origin is None:
        return None
    noted = Origin(origin)
    # Without a framework frame, the outermost frame is the thread's own target, not a test.
    framework_called = frame is not None
    named_test = Origin(test) if framework_called and test is not None and test is not origin else None
    root = (named_test or noted) if framework_called else None
    site = StartSite(noted, named_test, root, thread, thread_site)
    if through is not None:
        site.through = Origin(through)
    return site


def created_site(stack: CreationStack, test: object) -> StartSite | None:
    """Where something was made, from the `creation_stack` it kept: the code that asked
    for it (the innermost frame outside the stdlib; the innermost one if all are stdlib),
    then `test`, the test function that was running (`probes.clock.running`), unless
    that is the same function. Runs only when a report names it."""
    frames = records(stack)
    origin = top_frame(frames)
    if origin is None:
        return None
    site = _with_test(Origin(origin), test)
    code = code_of(test)
    if site.test is not None and code is not None:
        # The test's line that led there, when the test's own frame was kept.
        called = next((frame for frame in frames[frames.index(origin) :] if frame.f_code is code), None)
        if called is not None:
            site.test = Origin.named(site.test.function, code.co_filename, called.f_lineno)
    return site


def _with_test(origin: Origin, test: object) -> StartSite:
    """`origin`'s site, "from" the running `test` (at its first line) when that is
    another function."""
    named = Origin.of_test(test) if test is not None else None
    if named is not None and origin.runs(code_of(test)):
        named = None
    return StartSite(origin, named, None)


def debug_site(source_traceback: object, test: object = None) -> StartSite | None:
    """Where asyncio's debug mode saw a task or callback made (its `_source_traceback`):
    the innermost frame outside the stdlib and leaktest (the innermost frame if all are
    stdlib), from `test` (the test running then, when known); None without one."""
    if not isinstance(source_traceback, Sequence) or not source_traceback:
        return None
    chosen = source_traceback[-1]
    for entry in reversed(source_traceback):
        if not is_stdlib(entry.filename) and not is_leaktest(entry.filename):
            chosen = entry
            break
    origin = Origin.named(chosen.name, chosen.filename, chosen.lineno)
    if test is None:
        return StartSite(origin, None, None)
    site = _with_test(origin, test)
    code = code_of(test)
    if code is not None and (chosen.filename, chosen.name) == (code.co_filename, code.co_name):
        site.test = None  # the test itself: named once
    return site


#: What a report says when no Python code leaktest saw started it.
UNSEEN = "outside any Python code leaktest can see"
#: ... for what only asyncio's debug mode records.
UNSEEN_WITHOUT_DEBUG = "at an unknown place (run the loop in debug mode, PYTHONASYNCIODEBUG=1, to know)"


def site_function(site: StartSite | None) -> str:
    """The function a start site names, without its line (the same in every run); '' if none."""
    return site.origin.function if site is not None else ""


def where(verb: str, site: StartSite | None, through: str | None = None, unseen: str = UNSEEN) -> str:
    """The one way a report says where something was started: ``started by <site>``,
    then the stdlib function the code went through (`through`, else the site's own);
    `unseen` when there is no site."""
    if through is None and site is not None and site.through is not None:
        through = site.through.function
    via = f" through {through}" if through else ""
    if site is not None:
        return f"{verb} by {site}{via}"
    return f"{verb}{via}, {unseen}" if via else f"{verb} {unseen}"
