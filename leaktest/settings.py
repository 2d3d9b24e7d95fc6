"""The options, defined once, and `Settings`: their validated values and each probe's rules.

`OPTIONS` lists the options that are not a probe's; each probe declares its own
(probes/base.py). Everything else is derived from `all_options()`: the class
attributes' defaults, validation, MRO accumulation, `no_leaks`/`verify_none`'s
keyword options, the runner's flags and the runner's merging.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from . import ignore_sources, stacks
from .options import Choice, Flag, Functions, Option, Seconds
from .probes import PROBES, Probe
from .rules import FunctionRef, Rules
from .rules import Functions as FunctionSet

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, TypeVar

    T = TypeVar("T")

__unittest = True  # hide these frames from unittest tracebacks
__tracebackhide__ = True  # and from pytest ones


#: 1.0 s: see docs/grace.rst, "A grace period that holds under load".
GRACE_PERIOD = Seconds("grace_period", 1.0, "how long to wait, at most, for what a test started to end")
IGNORE_TOP_FUNCTIONS = Functions(
    "ignore_top_functions",
    "ignore what has pkg.mod.Class.method on top of its stack (outside the stdlib)",
    flag="--ignore-top-function",
)
IGNORE_ANY_FUNCTIONS = Functions(
    "ignore_any_functions",
    "ignore what has pkg.mod.Class.method anywhere in its stack",
    flag="--ignore-any-function",
)

IGNORE_STARTED_BY = Functions(
    "ignore_started_by",
    "ignore threads, tasks and processes started with pkg.mod.Class.method in the starting stack",
)
CLEANUP_LEAKS = Flag(
    "cleanup_leaks", False, "after reporting, cancel leaked tasks and timers, terminate and reap leaked children"
)
LIBRARY_IGNORES = Flag(
    "library_ignores",
    True,
    "ignore the long-lived helpers leaktest knows (trio's, anyio's, pydevd's) and those installed"
    " libraries declare (entry point group leaktest.ignores)",
)
LEAK_MODE = Choice(
    "leak_mode",
    "fail",
    ("fail", "warn", "off"),
    "what a leak does: fail the test, warn (report, pass) or off (no check); over LEAKTEST_MODE and leak_mode",
    flag="--mode",
)

#: The options that are not a probe's, in the order of the runner's help.
OPTIONS: tuple[Option[Any], ...] = (
    GRACE_PERIOD,
    IGNORE_TOP_FUNCTIONS,
    IGNORE_ANY_FUNCTIONS,
    IGNORE_STARTED_BY,
    CLEANUP_LEAKS,
    LIBRARY_IGNORES,
    LEAK_MODE,
)

DEFAULT_GRACE_PERIOD = GRACE_PERIOD.default


def all_options() -> list[Option[Any]]:
    """Every option: the general ones, then each probe's name patterns and switch."""
    options = list(OPTIONS)
    for probe in PROBES:
        if probe.names is not None:
            options.append(probe.names)
    options.extend(probe.switch for probe in PROBES)
    options.extend(probe.errors_switch for probe in PROBES if probe.errors_switch is not None)
    return options


class Settings:
    """Everything one check needs to know, validated; each checked probe with its rules.

    Built once per class, `no_leaks` call or run, never during a check.
    """

    __slots__ = (
        "values",
        "off",
        "checked",
        "_rules",
        "in_loop",
        "own_mark_probes",
        "own_markers",
        "own_marks_to_release",
        "own_marks_to_watch",
    )

    def __init__(self, values: Mapping[str, object] | None = None) -> None:
        options = all_options()
        self.values: dict[str, object] = {option.name: option.default for option in options}
        if values:
            self.values.update(values)
        if self.get(IGNORE_STARTED_BY) or self.get(IGNORE_ANY_FUNCTIONS):
            # A user's rule may name any caller: keep the whole stack of every creation from
            # now on. The libraries' rules name frames of their own package, kept without it
            # once that package is followed (known_helpers.py).
            stacks.keep_whole_stacks()
        sources = library_ignores() if self.values[LIBRARY_IGNORES.name] else {}
        if sources.get(IGNORE_STARTED_BY.name):
            stacks.follow_packages(_packages(sources[IGNORE_STARTED_BY.name]))
        top: tuple[FunctionRef, ...] = self.get(IGNORE_TOP_FUNCTIONS) + sources.get(IGNORE_TOP_FUNCTIONS.name, ())
        anywhere: tuple[FunctionRef, ...] = self.get(IGNORE_ANY_FUNCTIONS) + sources.get(IGNORE_ANY_FUNCTIONS.name, ())
        started_by: tuple[FunctionRef, ...] = self.get(IGNORE_STARTED_BY) + sources.get(IGNORE_STARTED_BY.name, ())
        functions = (FunctionSet.of(top), FunctionSet.of(anywhere), FunctionSet.of(started_by))
        #: The probes switched on, in report order.
        self.checked: tuple[Probe[Any, Any], ...] = tuple(probe for probe in PROBES if self.values[probe.switch.name])
        self._rules = {probe.kind: self._made_rules(probe, sources, *functions) for probe in self.checked}
        #: The checked probes an async test checks on its own loop.
        self.in_loop = tuple(probe for probe in self.checked if probe.checked_in_loop)
        #: Whether the mode turns the check off.
        self.off = self.values[LEAK_MODE.name] == "off"
        #: The checked probes whose mark is more than the clock's number, their `mark`
        #: methods, and the indexes of those to release.
        self.own_mark_probes = tuple(probe for probe in self.checked if not probe.marks_clock)
        self.own_markers = tuple(probe.mark for probe in self.own_mark_probes)
        self.own_marks_to_release = tuple(index for index, probe in enumerate(self.own_mark_probes) if probe.installs)
        #: The own-mark probes whose `changed` the clean path asks (indexes into `own_mark_probes`).
        self.own_marks_to_watch = tuple(
            index for index, probe in enumerate(self.own_mark_probes) if probe.looks_without_clock
        )

    def rules_of(self, kind: str) -> Rules:
        """The rules of the checked probe of `kind`."""
        return self._rules[kind]

    def _made_rules(
        self,
        probe: Probe[Any, Any],
        sources: Mapping[str, tuple[Any, ...]],
        top: FunctionSet,
        anywhere: FunctionSet,
        started_by: FunctionSet,
    ) -> Rules:
        patterns = probe.default_ignores
        if probe.names is not None:
            patterns += self.get(probe.names) + sources.get(probe.names.name, ())
        return Rules(name_patterns=patterns, top_functions=top, any_functions=anywhere, started_by=started_by)

    def get(self, option: Option[T]) -> T:
        return self.values[option.name]  # type: ignore[return-value]  # (what `option` validated)

    @property
    def grace_period(self) -> float:
        return self.get(GRACE_PERIOD)

    @property
    def leak_mode(self) -> str:
        return self.get(LEAK_MODE)

    @property
    def cleanup_leaks(self) -> bool:
        return self.get(CLEANUP_LEAKS)

    def __getattr__(self, name: str) -> object:
        """Any option's value by name (`settings.ignore_threads`)."""
        try:
            return self.values[name]
        except KeyError:
            raise AttributeError(name) from None

    def __repr__(self) -> str:
        return f"Settings({self.values!r})"

    def updated(self, owner: str, options: Mapping[str, object]) -> Settings:
        """These settings changed by `options`: scalars replaced, accumulating options extended.

        Raises TypeError/ValueError naming `owner` for an unknown option or a bad value.
        """
        if not options:
            return self
        known = {option.name: option for option in all_options()}
        values = dict(self.values)
        for name, checked in validated(owner, options).items():
            option = known[name]
            values[name] = option.merge(values[name], checked) if option.accumulates else checked
        return Settings(values)

    def merged(self, others: Iterable[Settings]) -> Settings:
        """These settings plus the accumulating options (the ignores) of `others`."""
        values = dict(self.values)
        for other in others:
            for option in all_options():
                if option.accumulates and option.name in other.values:
                    values[option.name] = option.merge(values[option.name], other.values[option.name])
        return Settings(values)


def ignore_options() -> dict[str, Option[Any]]:
    """The options an ignore source may set: the accumulating ones (the ignores)."""
    return {option.name: option for option in all_options() if option.accumulates}


def library_ignores() -> dict[str, tuple[Any, ...]]:
    """The ignores of every ignore source (ignore_sources.py), loaded once per process."""
    return ignore_sources.combined(ignore_options())


def _packages(functions: Iterable[FunctionRef]) -> set[str]:
    """The top-level packages of functions named or given (their own frames are followed)."""
    names = (ref if isinstance(ref, str) else getattr(ref, "__module__", None) or "" for ref in functions)
    return {name.partition(".")[0] for name in names if name}


def ignore_sources_listing(settings: Settings) -> list[str]:
    """The ignore sources `settings` use, one a line (for `-v`)."""
    return ignore_sources.listing(settings.get(LIBRARY_IGNORES), ignore_options())


def from_class(cls: type) -> Settings:
    """Settings from class attributes; accumulating options add up along the MRO."""
    values: dict[str, object] = {}
    for option in all_options():
        if option.accumulates:
            value = option.default
            for klass in reversed(cls.__mro__):
                if option.name in vars(klass):
                    own = option.validate(klass.__qualname__, vars(klass)[option.name])
                    value = option.merge(value, own)
        else:
            value = option.validate(cls.__qualname__, getattr(cls, option.name, option.default))
        values[option.name] = value
    return Settings(values)


def validated(owner: str, options: Mapping[str, object]) -> dict[str, object]:
    """`options`, each value validated: the one place an unknown option or a bad value
    is refused, with a TypeError/ValueError naming `owner` (a test's own settings are
    validated when `leak_settings` is applied)."""
    known = {option.name: option for option in all_options()}
    checked = {}
    for name, value in options.items():
        option = known.get(name)
        if option is None:
            raise TypeError(f"{owner}: unknown option {name!r} (known: {', '.join(known)})")
        checked[name] = option.validate(owner, value)
    return checked


def from_options(owner: str, **options: object) -> Settings:
    """Settings from keyword options (`no_leaks`, `verify_none`)."""
    return Settings(validated(owner, options))


def from_flags(*layers: tuple[str, Callable[[Option[Any]], object]]) -> Settings:
    """Settings from command-line flags (the runner's; pytest's, over its ini options):
    the defaults, changed by each layer in turn. A layer is its owner, for the errors,
    and what its flag of an option gave (None: not given)."""
    settings = Settings()
    for owner, given in layers:
        values = {}
        for option in all_options():
            value = given(option)
            if value is not None:
                values[option.name] = option.from_flag(value)
        settings = settings.updated(owner, values)
    return settings
