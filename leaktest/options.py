"""What an option is: its name, default, validation, merging and runner flag, in one object.

Every option is one `Option` instance. The class attributes, `Settings`, the
keyword options of `no_leaks`/`verify_none`, the runner's flags and its help are
all derived from these objects. General options are listed in settings.py; a
probe declares its own (its `check_*` switch, its name patterns).
"""

from __future__ import annotations

import math

from . import stacks
from .rules import FunctionRef

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Generic, TypeGuard, TypeVar
else:
    from ._typing import Generic, TypeVar

T = TypeVar("T")


class Option(Generic[T]):
    """One option, under the same name as class attribute, keyword and runner flag."""

    accumulates = False  # lists add up along the MRO and merge by union; scalars do not
    takes_value = True  # whether the runner flag is followed by a value

    def __init__(self, name: str, default: T, help: str, flag: str = "", metavar: str = "") -> None:
        self.name = name
        self.default = default
        self.help = help
        self.flag = flag or "--" + name.replace("_", "-")
        self.metavar = metavar

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"

    def validate(self, owner: str, value: object) -> T:
        """`value` checked and normalised; raises TypeError/ValueError naming `owner` and the option."""
        raise NotImplementedError

    def merge(self, first: T, second: T) -> T:
        """Two values of this option in one: the first, unless the option accumulates."""
        return first

    def flag_arguments(self) -> dict[str, Any]:
        """`argparse.add_argument` keywords for the runner flag (dest and flag aside)."""
        raise NotImplementedError

    def from_flag(self, given: Any) -> object:
        """What the parsed flag gives `validate`."""
        return given

    def flags(self) -> tuple[str, ...]:
        """Every spelling of the runner flag."""
        return (self.flag,)


class Flag(Option[bool]):
    """True or False; the runner has `--name/--no-name`."""

    takes_value = False

    def validate(self, owner: str, value: object) -> bool:
        if not isinstance(value, bool):
            raise TypeError(f"{owner}: {self.name} must be True or False, not {value!r}")
        return value

    def flag_arguments(self) -> dict[str, Any]:
        import argparse

        return {
            "action": argparse.BooleanOptionalAction,
            "help": f"{self.help} (default: {'on' if self.default else 'off'})",
        }

    def flags(self) -> tuple[str, ...]:
        return (self.flag, "--no-" + self.flag[2:])


class Seconds(Option[float]):
    """A finite number of seconds >= 0 (not a bool)."""

    def validate(self, owner: str, value: object) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TypeError(f"{owner}: {self.name} must be a number of seconds, not {type(value).__name__} {value!r}")
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"{owner}: {self.name} must be finite and >= 0, not {value!r}")
        return float(value)

    def flag_arguments(self) -> dict[str, Any]:
        return {
            "type": self._parse,
            "metavar": self.metavar or "SECONDS",
            "help": f"{self.help} (default: {self.default})",
        }

    def _parse(self, text: str) -> float:
        import argparse

        try:
            return self.validate(self.flag, float(text))
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a finite number of seconds >= 0, not {text!r}") from None


E = TypeVar("E")


class _List(Option[tuple[E, ...]]):
    """A list of entries; repeatable on the command line; adds up along the MRO."""

    accumulates = True
    entries = ""  # what an entry must be, for the error message

    def __init__(self, name: str, help: str, flag: str = "", metavar: str = "") -> None:
        super().__init__(name, (), help, flag, metavar)

    def validate(self, owner: str, value: object) -> tuple[E, ...]:
        if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple, set, frozenset)):
            raise TypeError(
                f"{owner}: {self.name} must be a list, tuple, set or frozenset of {self.entries},"
                f" not {type(value).__name__} {value!r}"
                + (f" (did you mean ({value!r},)?)" if isinstance(value, str) else "")
            )
        entries: list[E] = []
        for entry in value:
            if not self.accepts(entry):
                raise TypeError(
                    f"{owner}: {self.name} entries must be {self.entries}, not {type(entry).__name__} {entry!r}"
                )
            if entry not in entries:
                entries.append(entry)
        return tuple(entries)

    def accepts(self, entry: object) -> TypeGuard[E]:
        raise NotImplementedError

    def merge(self, first: tuple[E, ...], second: tuple[E, ...]) -> tuple[E, ...]:
        return tuple(dict.fromkeys((*first, *second)))

    def flag_arguments(self) -> dict[str, Any]:
        return {"action": "append", "type": _non_empty, "metavar": self.metavar, "help": self.help}

    def from_flag(self, given: Any) -> object:
        return tuple(given)


class Patterns(_List[str]):
    """`fnmatch` patterns (on names, addresses...)."""

    entries = "non-empty strings"

    def __init__(self, name: str, help: str, flag: str = "", metavar: str = "GLOB") -> None:
        super().__init__(name, help, flag, metavar)

    def accepts(self, entry: object) -> TypeGuard[str]:
        return isinstance(entry, str) and bool(entry)


class Functions(_List[FunctionRef]):
    """``"pkg.mod.Class.method"`` strings or Python functions (C functions have no frame)."""

    entries = "non-empty strings or Python functions"

    def __init__(self, name: str, help: str, flag: str = "", metavar: str = "FUNC") -> None:
        super().__init__(name, help, flag, metavar)

    def accepts(self, entry: object) -> TypeGuard[FunctionRef]:
        if isinstance(entry, str):
            return bool(entry)
        return stacks.code_of(entry) is not None


class Choice(Option[str]):
    """One of a few words (`leak_mode`: fail, warn, off)."""

    def __init__(self, name: str, default: str, choices: tuple[str, ...], help: str, flag: str = "") -> None:
        super().__init__(name, default, help, flag)
        self.choices = choices

    def validate(self, owner: str, value: object) -> str:
        if not isinstance(value, str) or value not in self.choices:
            raise ValueError(f"{owner}: {self.name} must be one of {', '.join(self.choices)}, not {value!r}")
        return value

    def flag_arguments(self) -> dict[str, Any]:
        return {"choices": self.choices, "help": f"{self.help} (default: {self.default})"}


def _non_empty(text: str) -> str:
    if not text:
        import argparse

        raise argparse.ArgumentTypeError("expected a non-empty pattern or name")
    return text
