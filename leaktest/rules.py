"""The ignore predicates, modelled on goleak's options: each one looks at a candidate."""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterable, Sequence
from types import CodeType

from . import stacks

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, TypeAlias

#: A function to ignore: ``"pkg.mod.Class.method"`` or the function object.
FunctionRef: TypeAlias = "str | Callable[..., Any]"


class Candidate:
    """What the rules see of something still alive: its names and its stack."""

    __slots__ = ("names", "frames", "start")

    def __init__(
        self, names: tuple[str, ...], frames: Sequence[stacks.Frame] = (), start: Sequence[stacks.Frame] = ()
    ) -> None:
        self.names = names
        self.frames = frames  # innermost first
        self.start = start  # the stack that started it, innermost first


class Functions:
    """Functions named as ``"pkg.mod.Class.method"`` strings or given as objects."""

    __slots__ = ("names", "codes")

    def __init__(self, names: frozenset[str] = frozenset(), codes: frozenset[CodeType] = frozenset()) -> None:
        self.names = names
        self.codes = codes

    def __bool__(self) -> bool:
        return bool(self.names or self.codes)

    @classmethod
    def of(cls, refs: Iterable[FunctionRef]) -> Functions:
        names: set[str] = set()
        codes: set[CodeType] = set()
        for ref in refs:
            if isinstance(ref, str):
                names.add(ref)
            else:
                code = stacks.code_of(ref)
                if code is not None:
                    codes.add(code)
        return cls(frozenset(names), frozenset(codes))

    def match(self, frame: stacks.Frame) -> bool:
        code = frame.f_code
        return code in self.codes or (bool(self.names) and stacks.qualified_name(code, frame) in self.names)


_NO_FUNCTIONS = Functions()


class Rules:
    """The ignores that apply to one kind of resource."""

    __slots__ = ("name_patterns", "top_functions", "any_functions", "started_by")

    def __init__(
        self,
        name_patterns: tuple[str, ...] = (),
        top_functions: Functions = _NO_FUNCTIONS,
        any_functions: Functions = _NO_FUNCTIONS,
        started_by: Functions = _NO_FUNCTIONS,
    ) -> None:
        self.name_patterns = name_patterns
        self.top_functions = top_functions
        self.any_functions = any_functions
        self.started_by = started_by

    def needs_frames(self) -> bool:
        return bool(self.top_functions or self.any_functions)

    def ignores_name(self, names: Iterable[str]) -> bool:
        return any(fnmatch.fnmatchcase(name, pattern) for name in names for pattern in self.name_patterns)

    def ignores(self, candidate: Candidate) -> bool:
        if self.ignores_name(candidate.names):
            return True
        if self.started_by and any(self.started_by.match(frame) for frame in candidate.start):
            return True
        frames = candidate.frames
        if not frames:
            return False
        if self.top_functions:
            top = stacks.top_frame(frames)
            if self.top_functions.match(frames[0]) or (top is not None and self.top_functions.match(top)):
                return True
        return bool(self.any_functions) and any(self.any_functions.match(f) for f in frames)
