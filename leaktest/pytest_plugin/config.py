"""The plugin's settings: ini options and flags (one of each per runner option), and
`leaktest` markers, over the defaults."""

from __future__ import annotations

import argparse
import functools
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from _pytest.nodes import Node

    from ..options import Option
    from ..settings import Settings

__unittest = True  # hide these frames from unittest tracebacks
__tracebackhide__ = True  # and from pytest ones

MARKER = "leaktest"


def flag(option: Option[Any]) -> str:
    """The pytest flag of an option: the runner's, prefixed (`--leaktest-grace-period`)."""
    return "--leaktest-" + option.flag[2:]


def key(option: Option[Any]) -> str:
    """The option's ini name and its dest on the command line (`leaktest_grace_period`)."""
    return "leaktest_" + option.name


def suite_settings(config: pytest.Config) -> Settings:
    """The settings of every test: the defaults, changed by the ini options, then the command line's."""
    from ..settings import from_flags

    def from_ini(option: Option[Any]) -> object:
        text = config.getini(key(option))
        if not text:
            return None
        try:
            return _from_ini(option, text)
        except (argparse.ArgumentTypeError, ValueError) as error:
            raise pytest.UsageError(f"ini option {key(option)}: {error}") from None

    try:
        return from_flags(
            ("leaktest's ini options", from_ini),
            ("leaktest's command-line options", lambda option: config.getoption(key(option))),
        )
    except (TypeError, ValueError) as error:
        raise pytest.UsageError(str(error)) from None


_BOOLEANS = {"true": True, "yes": True, "on": True, "1": True, "false": False, "no": False, "off": False, "0": False}


def _from_ini(option: Option[Any], value: str | list[str]) -> object:
    """An ini value as its command-line flag would give it (lines for a list option)."""
    convert: Callable[[str], object] = option.flag_arguments().get("type", str)
    if isinstance(value, list):
        return [convert(line) for line in value]
    text = value.strip()
    if not option.takes_value:
        if text.lower() not in _BOOLEANS:
            raise ValueError(f"expected true or false, not {text!r}")
        return _BOOLEANS[text.lower()]
    return convert(text)


@functools.cache
def _enabled() -> Option[bool]:
    """The marker's own option (`enabled=False`: not checked), beside the settings' ones."""
    from ..options import Flag

    return Flag("enabled", True, "check the test")


def marked_settings(suite: Settings, node: pytest.Item | pytest.Collector) -> Settings | None:
    """The settings for `node` under its `leaktest` markers, farthest first; None: disabled.

    Raises `BadMarker` naming the marker and where it is.
    """
    return _enabled_only(collector_marked(suite, node))


#: Settings under some markers, and whether the nearest that says says enabled.
Marked = tuple["Settings", bool]


def collector_marked(suite: Settings, collector: pytest.Item | pytest.Collector) -> Marked:
    """`marked_settings` of a collector, worked out once for all the items it collects
    (`item_settings`): the markers of every node above an item are its collector's."""
    return _apply(suite, True, list(collector.iter_markers_with_node(MARKER)))


def item_settings(collector: Marked, item: pytest.Item) -> Settings | None:
    """`marked_settings` of an item its collector's markers are known for: only the
    item's own are read (walking up the nodes for each item costs more than the rest of
    its collection does)."""
    own = [(item, mark) for mark in item.own_markers if mark.name == MARKER]
    return _enabled_only(_apply(*collector, own) if own else collector)


def _apply(settings: Settings, enabled: bool, marks: Sequence[tuple[Node, pytest.Mark]]) -> Marked:
    """`settings` updated by `marks`, nearest first as pytest lists them."""
    for owner_node, mark in reversed(marks):
        owner = f"@pytest.mark.{MARKER} on {owner_node.nodeid or 'the session'}"
        options = dict(mark.kwargs)
        try:
            if mark.args:
                raise TypeError(f"{owner}: takes keyword arguments only, not {mark.args!r}")
            if "enabled" in options:
                enabled = _enabled().validate(owner, options.pop("enabled"))
            settings = settings.updated(owner, options)
        except (TypeError, ValueError) as error:
            raise BadMarker(str(error)) from None
    return settings, enabled


def _enabled_only(marked: Marked) -> Settings | None:
    settings, enabled = marked
    return settings if enabled else None


class BadMarker(Exception):
    """A `leaktest` marker with a bad value: reported as a collection error."""
