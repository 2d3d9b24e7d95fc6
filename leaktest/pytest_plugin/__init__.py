"""leaktest under pytest: every test item checked after its teardown phase.

Loaded through the `pytest11` entry point (or `-p leaktest.pytest_plugin`), this
module only adds options and the marker; the checker (`hooks.LeakCheck`) is
registered, and the engine imported, only when `--leaktest` or `leaktest = true`
asks for it.

The package: `hooks` (the checker's hooks: one item from its baseline to its
check; what fixtures of wider scope own is leaktest/ownership.py's, as for
unittest's class and module fixtures), `config` (the settings
from ini options, the command line and markers), `_compat` (what it reads of
pytest's, pytest-asyncio's and anyio's private API), `results` (the run's files,
JUnit properties and the summary's leaks section).
"""

from __future__ import annotations

import pytest

from ._compat import leave_unrewritten

leave_unrewritten(__name__.partition(".")[0])  # before the rest of leaktest is imported

from .config import MARKER, flag, key  # noqa: E402 (imported once leaktest is left unrewritten)

__unittest = True  # hide these frames from unittest tracebacks
__tracebackhide__ = True  # and from pytest ones

#: The known-leaks file, the JSON report, JUnit properties and the summary's "leaks".
pytest_plugins = ("leaktest.pytest_plugin.results",)


def pytest_addoption(parser: pytest.Parser) -> None:
    """`--leaktest`, ini `leaktest`, and every option of the runner as flag and ini option."""
    from ..settings import all_options

    group = parser.getgroup(
        "leaktest", "leaktest: fail tests that leave threads, tasks, processes, sockets, handles or loops behind"
    )
    group.addoption(
        "--leaktest",
        action="store_true",
        default=None,
        help="check every test for leaked threads, asyncio tasks and child processes",
    )
    parser.addini("leaktest", "leaktest: check every test (like --leaktest)", type="bool", default=False)
    for option in all_options():
        group.addoption(flag(option), dest=key(option), **{**option.flag_arguments(), "default": None})
        if option.accumulates:
            parser.addini(key(option), f"leaktest: {option.help}, one a line", type="linelist", default=[])
        else:
            parser.addini(key(option), f"leaktest: {option.help}", default="")


def pytest_configure(config: pytest.Config) -> None:
    from ..settings import all_options

    names = ", ".join(f"{option.name}=..." for option in all_options())
    config.addinivalue_line(
        "markers", f"{MARKER}(enabled=True, {names}): leaktest's settings for a test, class or module"
    )
    mode = config.getoption("leaktest_leak_mode")
    if mode is not None:  # --leaktest-mode: over LEAKTEST_MODE, for leak-checked unittest classes too
        from ..mode import set_command_line_mode

        set_command_line_mode(mode)
    if config.getoption("leaktest") or config.getini("leaktest"):
        from .config import suite_settings
        from .hooks import LeakCheck

        config.pluginmanager.register(LeakCheck(suite_settings(config)), "leaktest-check")
