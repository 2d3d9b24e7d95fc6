"""Ignore sources: the ignores that hold for every test besides its own settings.

Two kinds, loaded, listed and turned off alike (option `library_ignores`):
- leaktest's list of the ecosystem's long-lived helpers (known_helpers.py);
- what installed distributions publish under the entry point group `leaktest.ignores`:
  each entry point names a mapping of the ignore options a class takes
  (``{"ignore_threads": ["metrics-*"], "ignore_top_functions": ["pkg.Reporter.run"]}``).

Loaded once per process, when the first settings that use them are built. A broken
declaration is skipped with a warning naming its distribution; it never stops a run.
Reads `importlib.metadata.EntryPoint.dist` (3.10+, documented), and imports
importlib.metadata only when some installed distribution may declare the group
(`_maybe_declared`): it holds thousands of objects that every `gc.collect()` of the
run would walk, in a process that never needed them.
"""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Mapping
from importlib.machinery import PathFinder

from .known_helpers import KNOWN_HELPERS
from .options import Option

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

#: The entry point group libraries publish their ignores under.
GROUP = "leaktest.ignores"


class IgnoreSource:
    """One source of ignores: where it comes from, and its validated options."""

    __slots__ = ("name", "options")

    def __init__(self, name: str, options: Mapping[str, tuple[Any, ...]]) -> None:
        self.name = name  # "leaktest: trio's thread cache", "example-metrics 1.0 (leaktest.ignores: metrics)"
        self.options = options


_loaded: tuple[IgnoreSource, ...] | None = None
_combined: dict[str, tuple[Any, ...]] | None = None


def loaded(known: Mapping[str, Option[Any]]) -> tuple[IgnoreSource, ...]:
    """Every source: leaktest's known helpers, then the installed entry points (once per process).

    `known`: the options a source may set (the accumulating ones), by name.
    """
    global _loaded
    if _loaded is None:
        sources = [
            IgnoreSource(f"leaktest: {helper.name}", _validated(f"leaktest: {helper.name}", helper.options, known))
            for helper in KNOWN_HELPERS
        ]
        sources.extend(_from_entry_points(known))
        _loaded = tuple(sources)
    return _loaded


def combined(known: Mapping[str, Option[Any]]) -> dict[str, tuple[Any, ...]]:
    """The options of every source, merged (option name -> entries); once per process."""
    global _combined
    if _combined is None:
        _combined = {}
        for source in loaded(known):
            for name, entries in source.options.items():
                _combined[name] = known[name].merge(_combined.get(name, ()), entries)
    return _combined


def listing(enabled: bool, known: Mapping[str, Option[Any]]) -> list[str]:
    """What `-v` prints: a heading, then one line per source and what it ignores."""
    if not enabled:
        return ["leaktest: ignore sources off (library_ignores is False)"]
    lines = ["leaktest: ignore sources (turn off with library_ignores = False):"]
    for source in loaded(known):
        what = "; ".join(f"{name}: {', '.join(map(str, entries))}" for name, entries in source.options.items())
        lines.append(f"  {source.name}: {what or 'nothing'}")
    return lines


def _from_entry_points(known: Mapping[str, Option[Any]]) -> list[IgnoreSource]:
    if not _maybe_declared():
        return []
    from importlib.metadata import entry_points

    sources = []
    try:
        points = list(entry_points(group=GROUP))
    except Exception as error:  # a broken installed metadata file
        _warn(f"leaktest: the {GROUP} entry points could not be listed: {error!r}")
        return []
    for point in sorted(points, key=lambda p: (_distribution(p), p.name)):
        name = f"{_distribution(point)} ({GROUP}: {point.name} = {point.value})"
        try:
            declared = point.load()
            if not isinstance(declared, Mapping):
                raise TypeError(f"expected a mapping of ignore options, not {type(declared).__name__}")
            sources.append(IgnoreSource(name, _validated(name, declared, known)))
        except Exception as error:
            _warn(f"leaktest: ignoring the ignores of {name}: {type(error).__name__}: {error}")
    return sources


def _maybe_declared() -> bool:
    """Whether an installed distribution may declare the group: its name in the
    ``entry_points.txt`` of a ``.dist-info`` or ``.egg-info`` directory on `sys.path`,
    where importlib.metadata's own finder looks. Yes, to be safe, for what this look
    cannot see: a zip or egg on `sys.path`, another finder of distributions."""
    if any(hasattr(finder, "find_distributions") and finder is not PathFinder for finder in sys.meta_path):
        return True
    for entry in sys.path:
        directory = entry or "."
        if not os.path.isdir(directory):
            if os.path.exists(directory):
                return True  # a zip file: read through importlib.metadata
            continue
        if directory.endswith(".egg"):
            return True
        try:
            with os.scandir(directory) as children:
                infos = [child.path for child in children if child.name.lower().endswith((".dist-info", ".egg-info"))]
        except OSError:
            continue
        for info in infos:
            try:
                with open(os.path.join(info, "entry_points.txt"), encoding="utf-8", errors="replace") as file:
                    if GROUP in file.read():
                        return True
            except OSError:
                continue
    return False


def _distribution(point: Any) -> str:
    """``name version`` of the distribution declaring `point`."""
    dist = getattr(point, "dist", None)
    if dist is None:
        return "an unknown distribution"
    return f"{dist.metadata['Name']} {dist.version}"


def _validated(
    owner: str, declared: Mapping[Any, object], known: Mapping[str, Option[Any]]
) -> dict[str, tuple[Any, ...]]:
    options = {}
    for key, value in declared.items():
        option = known.get(key) if isinstance(key, str) else None
        if option is None:
            raise ValueError(f"{owner}: unknown ignore option {key!r} (known: {', '.join(known)})")
        options[key] = option.validate(owner, value)
    return options


def _warn(message: str) -> None:
    """A warning; on stderr when the warning filters turn it into an error (never a crash)."""
    try:
        warnings.warn(message, UserWarning, stacklevel=2)
    except Warning:
        sys.stderr.write(message + "\n")
