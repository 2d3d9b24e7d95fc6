"""Frames -> qualified names, the innermost frame outside the stdlib, formatted stacks.

Everything here runs on the failure path only, except `origin_of` and `start_stack`, which run
once per start (thread, task, process) and therefore stay cheap (no formatting).
"""

from __future__ import annotations

import functools
import os
import site
import sysconfig
import threading
import traceback
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from types import CodeType, FrameType
from typing import Any, NamedTuple, Union

_LEAKTEST_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


def _stdlib_dirs() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Directories holding the standard library, and those inside them that do not.

    `threading.__file__` is where the running stdlib really is (also in a venv);
    site-packages may sit below it (``lib/python3.X/site-packages``).
    """
    paths = sysconfig.get_paths()
    stdlib = {os.path.dirname(os.path.abspath(threading.__file__))}
    stdlib.update(os.path.abspath(paths[key]) for key in ("stdlib", "platstdlib") if key in paths)
    third_party = {os.path.abspath(paths[key]) for key in ("purelib", "platlib") if key in paths}
    third_party.update(os.path.abspath(p) for p in site.getsitepackages())
    user_site = site.getusersitepackages()
    if isinstance(user_site, str):
        third_party.add(os.path.abspath(user_site))
    return (
        tuple(d + os.sep for d in sorted(stdlib)),
        tuple(d + os.sep for d in sorted(third_party)),
    )


_STDLIB_DIRS, _THIRD_PARTY_DIRS = _stdlib_dirs()


@functools.lru_cache(maxsize=4096)
def is_stdlib(filename: str) -> bool:
    """True for code of the standard library, frozen modules included."""
    if filename.startswith("<frozen "):
        return True
    if filename.startswith("<"):
        return False
    path = os.path.abspath(filename)
    if any(path.startswith(d) for d in _THIRD_PARTY_DIRS):
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
    The rules and the report read these three attributes, as on a frame.
    """

    f_code: CodeType
    f_globals: dict[str, Any]
    f_lineno: int


#: A live frame, or the record of one.
Frame = Union[FrameType, FrameRecord]


def record_stack(frame: FrameType | None) -> tuple[FrameRecord, ...]:
    """The stack from `frame` outwards, innermost first, as records (no formatting)."""
    records: list[FrameRecord] = []
    while frame is not None:
        records.append(FrameRecord(frame.f_code, frame.f_globals, frame.f_lineno))
        frame = frame.f_back
    return tuple(records)


_START_DEPTH = 64  # frames kept of a start stack: enough for any framework's nesting


def start_stack(frame: FrameType | None) -> tuple[FrameRecord, ...]:
    """The stack that is starting something, for `ignore_started_by`: leaktest's own
    frames left out, at most `_START_DEPTH`. Runs on every start: records, no formatting."""
    records: list[FrameRecord] = []
    while frame is not None and len(records) < _START_DEPTH:
        code = frame.f_code
        if not code.co_filename.startswith(_LEAKTEST_DIR):
            # tuple.__new__ skips NamedTuple's Python-level __new__.
            records.append(tuple.__new__(FrameRecord, (code, frame.f_globals, frame.f_lineno)))
        frame = frame.f_back
    return tuple(records)


def _qualname_3_10(code: CodeType, frame: Frame | None) -> str:
    """Best effort qualified name where `co_qualname` does not exist (3.10).

    Looks for the function owning `code` on the class of the first argument
    (methods), then among the module's functions and classes.
    """
    name = code.co_name
    if isinstance(frame, FrameType) and code.co_argcount:
        first = frame.f_locals.get(code.co_varnames[0])
        owner = first if isinstance(first, type) else type(first)
        for klass in getattr(owner, "__mro__", ()):
            attr = klass.__dict__.get(name)
            if attr is not None and code_of(attr) is code:
                return f"{klass.__qualname__}.{name}"
    module_globals = frame.f_globals if frame is not None else {}
    for value in list(module_globals.values()):
        if code_of(value) is code:
            return str(getattr(value, "__qualname__", name))
        if isinstance(value, type):
            attr = value.__dict__.get(name)
            if attr is not None and code_of(attr) is code:
                return f"{value.__qualname__}.{name}"
    return name


def code_of(obj: object) -> CodeType | None:
    """The code object behind a function, method, classmethod, staticmethod or wrapper."""
    seen = 0
    while obj is not None and seen < 10:
        seen += 1
        code = getattr(obj, "__code__", None)
        if isinstance(code, CodeType):
            return code
        obj = getattr(obj, "__func__", None) or getattr(obj, "__wrapped__", None)
    return None


def qualified_name(code: CodeType, frame: Frame | None = None) -> str:
    """``module.Class.method`` for the code running in `frame`."""
    module = frame.f_globals.get("__name__", "?") if frame is not None else "?"
    qualname = getattr(code, "co_qualname", None)  # 3.11+
    if qualname is None:
        qualname = _qualname_3_10(code, frame)
    return f"{module}.{qualname}"


def frames_of(frame: FrameType | None) -> list[FrameType]:
    """The stack from `frame` outwards, innermost first."""
    frames = []
    while frame is not None:
        frames.append(frame)
        frame = frame.f_back
    return frames


def top_frame(frames: Sequence[Frame]) -> Frame | None:
    """The innermost frame outside the stdlib (the innermost frame if all are stdlib)."""
    for frame in frames:
        if not is_stdlib(frame.f_code.co_filename):
            return frame
    return frames[0] if frames else None


def format_frames(frames: Sequence[Frame], indent: str = "  ") -> str:
    """Python's traceback layout (most recent call last) for frames given innermost first."""
    summary = traceback.StackSummary.extract(
        ((f, f.f_lineno) for f in reversed(frames)), capture_locals=False
    )
    lines = "".join(summary.format()).rstrip("\n").splitlines()
    return "\n".join(indent + line[2:] if line.startswith("  ") else indent + line for line in lines)


@dataclass(frozen=True)
class Origin:
    """Where something was started: the innermost caller outside the stdlib and leaktest."""

    filename: str
    lineno: int
    function: str

    def __str__(self) -> str:
        return f"{self.function} at {self.filename}:{self.lineno}"


def origin_of(frame: FrameType | None) -> Origin | None:
    """Cheap enough to run on every `Thread.start()`: no formatting, no file reads."""
    for candidate in _outwards(frame):
        filename = candidate.f_code.co_filename
        if not is_stdlib(filename) and not is_leaktest(filename):
            code = candidate.f_code
            return Origin(filename, candidate.f_lineno, qualified_name(code, candidate))
    return None


def _outwards(frame: FrameType | None) -> Iterator[FrameType]:
    while frame is not None:
        yield frame
        frame = frame.f_back
