"""Reading and validating the options: class attributes and keyword arguments.

Ignore lists accumulate along the MRO; scalar options follow normal attribute
lookup. Bad values raise at the earliest point, naming the owner and the option.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from types import CodeType
from typing import Any

from . import stacks
from .rules import Functions, Rules

DEFAULT_GRACE_PERIOD = 0.1

#: Threads never reported, whatever the options. asyncio's ThreadedChildWatcher
#: (the default on 3.10 and 3.11, and on 3.12+ without pidfd) runs one thread per
#: child until the child is reaped: "waitpid-N" on 3.10, "asyncio-waitpid-N" on
#: 3.11+. The child itself is what the process check reports.
DEFAULT_IGNORE_THREADS = ("waitpid-[0-9]*", "asyncio-waitpid-[0-9]*")

#: Ignore-list options: name -> whether entries may be function objects.
LIST_OPTIONS = {
    "ignore_threads": False,
    "ignore_tasks": False,
    "ignore_top_functions": True,
    "ignore_any_functions": True,
    "ignore_sockets": False,
}
#: Switches: name -> default. File descriptors are opt-in: listing them reads /proc.
FLAG_OPTIONS = {
    "check_threads": True,
    "check_tasks": True,
    "check_processes": True,
    "check_sockets": True,
    "check_handles": True,
    "check_loops": True,
    "check_fds": False,
}

FunctionRef = str | Callable[..., Any]


@dataclass(frozen=True)
class Settings:
    """Everything one check needs to know, validated."""

    grace_period: float = DEFAULT_GRACE_PERIOD
    ignore_threads: tuple[str, ...] = ()
    ignore_tasks: tuple[str, ...] = ()
    ignore_top_functions: tuple[FunctionRef, ...] = ()
    ignore_any_functions: tuple[FunctionRef, ...] = ()
    ignore_sockets: tuple[str, ...] = ()
    check_threads: bool = True
    check_tasks: bool = True
    check_processes: bool = True
    check_sockets: bool = True
    check_handles: bool = True
    check_loops: bool = True
    check_fds: bool = False

    def rules(self, kind: str) -> Rules:
        """The ignores for one resource kind (`threads`, `tasks`, `sockets`...)."""
        patterns = {
            "threads": DEFAULT_IGNORE_THREADS + self.ignore_threads,
            "tasks": self.ignore_tasks,
            "sockets": self.ignore_sockets,
        }.get(kind, ())
        return Rules(
            name_patterns=patterns,
            top_functions=_functions(self.ignore_top_functions),
            any_functions=_functions(self.ignore_any_functions),
        )



def _functions(refs: Iterable[FunctionRef]) -> Functions:
    names: set[str] = set()
    codes: set[CodeType] = set()
    for ref in refs:
        if isinstance(ref, str):
            names.add(ref)
        else:
            code = stacks.code_of(ref)
            if code is not None:
                codes.add(code)
    return Functions(frozenset(names), frozenset(codes))


def validate_grace_period(owner: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(
            f"{owner}: grace_period must be a number of seconds, not {type(value).__name__} {value!r}"
        )
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{owner}: grace_period must be finite and >= 0, not {value!r}")
    return float(value)


def validate_list(owner: str, option: str, value: object) -> tuple[FunctionRef, ...]:
    """A list, tuple or set of strings (or, for function ignores, functions)."""
    if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple, set, frozenset)):
        raise TypeError(
            f"{owner}: {option} must be a list or tuple, not {type(value).__name__} {value!r}"
            + (f" (did you mean ({value!r},)?)" if isinstance(value, str) else "")
        )
    functions_allowed = LIST_OPTIONS[option]
    entries: list[FunctionRef] = []
    for entry in value:
        if isinstance(entry, str) and entry:
            entries.append(entry)
        elif functions_allowed and not isinstance(entry, str) and stacks.code_of(entry) is not None:
            entries.append(entry)
        else:
            expected = "non-empty strings or Python functions" if functions_allowed else "non-empty strings"
            raise TypeError(
                f"{owner}: {option} entries must be {expected}, not {type(entry).__name__} {entry!r}"
            )
    return tuple(entries)


def validate_flag(owner: str, option: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{owner}: {option} must be True or False, not {value!r}")
    return value


def from_class(cls: type) -> Settings:
    """Settings from class attributes; ignore lists add up along the MRO."""
    owner = cls.__qualname__
    lists: dict[str, list[FunctionRef]] = {option: [] for option in LIST_OPTIONS}
    for klass in reversed(cls.__mro__):
        for option in LIST_OPTIONS:
            if option in vars(klass):
                for entry in validate_list(klass.__qualname__, option, vars(klass)[option]):
                    if entry not in lists[option]:
                        lists[option].append(entry)
    flags = {
        option: validate_flag(owner, option, getattr(cls, option, default))
        for option, default in FLAG_OPTIONS.items()
    }
    grace = validate_grace_period(owner, getattr(cls, "grace_period", DEFAULT_GRACE_PERIOD))
    return Settings(
        grace_period=grace,
        ignore_threads=tuple(str(e) for e in lists["ignore_threads"]),
        ignore_tasks=tuple(str(e) for e in lists["ignore_tasks"]),
        ignore_top_functions=tuple(lists["ignore_top_functions"]),
        ignore_any_functions=tuple(lists["ignore_any_functions"]),
        ignore_sockets=tuple(str(e) for e in lists["ignore_sockets"]),
        **flags,
    )


def from_options(owner: str, grace_period: object = DEFAULT_GRACE_PERIOD, **options: object) -> Settings:
    """Settings from keyword options (`no_leaks`, `verify_none`, the runner)."""
    unknown = set(options) - set(LIST_OPTIONS) - set(FLAG_OPTIONS)
    if unknown:
        raise TypeError(f"{owner}: unknown option(s) {', '.join(sorted(unknown))}")
    grace = validate_grace_period(owner, grace_period)
    checked = {
        option: validate_list(owner, option, value) for option, value in options.items() if option in LIST_OPTIONS
    }
    flags = {
        option: validate_flag(owner, option, options.get(option, default))
        for option, default in FLAG_OPTIONS.items()
    }
    return Settings(
        grace_period=grace,
        ignore_threads=tuple(str(e) for e in checked.get("ignore_threads", ())),
        ignore_tasks=tuple(str(e) for e in checked.get("ignore_tasks", ())),
        ignore_top_functions=checked.get("ignore_top_functions", ()),
        ignore_any_functions=checked.get("ignore_any_functions", ()),
        ignore_sockets=tuple(str(e) for e in checked.get("ignore_sockets", ())),
        **flags,
    )
