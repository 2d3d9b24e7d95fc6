"""What a leak does: `fail` the test (the default), `warn` and let it pass, or `off`.

Precedence, most specific first: the command-line option of a runner
(`python -m leaktest --mode`, pytest's `--leaktest-mode`), then the environment
variable LEAKTEST_MODE, then the class attribute `leak_mode`, then `fail`. So
CI can turn a suite to `warn` or `off` without editing it.
"""

from __future__ import annotations

import os

from .probes import PROBES, install
from .settings import LEAK_MODE, Settings

ENV = "LEAKTEST_MODE"


def _from_environment() -> str | None:
    """Read once, at import: a bad value is an error before any test runs."""
    value = os.environ.get(ENV, "")
    return LEAK_MODE.validate(ENV, value.strip().lower()) if value.strip() else None


_environment = _from_environment()
_command_line: str | None = None
#: The mode the command line or the environment imposes on every check, if any;
#: read as `mode.forced` (no call on the clean path).
forced = _environment
_applied: dict[int, tuple[Settings, Settings]] = {}  # id(settings) -> (settings, with the forced mode)


def set_command_line_mode(mode: str | None) -> None:
    """For runners: the mode their command line asks for (None: not given)."""
    global _command_line, forced
    _command_line = None if mode is None else LEAK_MODE.validate("--mode", mode)
    forced = _command_line or _environment
    _applied.clear()
    follow_mode()


_HOOKS = [hook for probe in PROBES for hook in probe.hooks()]


def follow_mode() -> None:
    """The hooks in place, unless the mode forced on every check is `off`: then nothing
    is ever checked, and watching would only cost. Called when the engine (check.py) is
    imported, and again whenever a runner's command line sets the mode."""
    if forced == "off":
        install.uninstall()
    else:
        install.install(_HOOKS)


def applied(settings: Settings) -> Settings:
    """`settings` with the mode the command line or the environment forces, if any.

    Runs on every test: without a forced mode it returns `settings` as they are;
    with one, the replaced settings are made once per settings object.
    """
    if forced is None or settings.values[LEAK_MODE.name] == forced:
        return settings
    known = _applied.get(id(settings))
    if known is None or known[0] is not settings:
        known = (settings, settings.updated(ENV, {LEAK_MODE.name: forced}))
        _applied[id(settings)] = known
    return known[1]


__all__ = ["ENV", "applied", "forced", "set_command_line_mode"]
