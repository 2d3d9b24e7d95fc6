"""The run's results under pytest: the known-leaks file, the JSON report, each leaking
test's JUnit XML properties and the terminal summary's "leaks" section.

Loaded with the plugin (its `pytest_plugins`); active when one of its flags is given
or leaktest checks the run. Each leak found in a test's phase (leak_log.py) goes with
that phase's report as properties: JUnit XML writes them, and they carry the leaks
from pytest-xdist's workers to the controller, which writes the files. Every worker
reads the known-leaks file itself, to let the leaks it lists pass.
"""

from __future__ import annotations

import json
import unittest
from typing import TYPE_CHECKING, Any

import pytest

from .. import leak_log

if TYPE_CHECKING:
    from ..leak_log import LeakRecord
    from ..run_files import RunFiles

#: The JUnit XML properties of one leak: a line for people, the record for the controller.
PROPERTY, RECORD_PROPERTY = "leaktest.leak", "leaktest.leak.record"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("leaktest")
    group.addoption(
        "--leaktest-baseline",
        metavar="FILE",
        help="the known-leaks file (JSON): missing, every leak found is recorded there and passes;"
        " there, only leaks it does not list fail, and the fixed ones are listed",
    )
    group.addoption(
        "--leaktest-update-baseline",
        action="store_true",
        default=False,
        help="rewrite the known-leaks file with the leaks this run finds (they pass)",
    )
    group.addoption("--leaktest-report", metavar="FILE", help="write every leak of the run to FILE (JSON)")


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    baseline = config.getoption("leaktest_baseline")
    update = bool(config.getoption("leaktest_update_baseline"))
    report = config.getoption("leaktest_report")
    if update and not baseline:
        raise pytest.UsageError("--leaktest-update-baseline needs --leaktest-baseline FILE")
    checking = config.pluginmanager.get_plugin("leaktest-check") is not None
    if not (baseline or report or checking):
        return
    from ..run_files import RunFiles

    try:
        files = RunFiles(baseline, update, report) if baseline or report else None
    except ValueError as error:
        raise pytest.UsageError(str(error)) from None
    if files is None:  # the JUnit properties and the summary's section still want the leaks
        leak_log.start(None)
    config.pluginmanager.register(LeakResults(files, worker=hasattr(config, "workerinput")), "leaktest-results")


class LeakResults:
    """Passes each phase's leaks on with its report; the controller keeps them for the end."""

    def __init__(self, files: RunFiles | None, worker: bool) -> None:
        self.files = files
        self.worker = worker
        self.records: list[LeakRecord] = []
        self.tests_run: set[str] = set()
        self.news: list[str] = []  # what the summary says of the files

    # Plain hooks, not wrappers: they run three to six times per test, and a wrapper's
    # generator costs a user a few microseconds per test for nothing.

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_protocol(self, item: pytest.Item) -> None:
        """While `item` runs, the checks of other owners (its `no_leaks` blocks) are its own."""
        if leak_log.current is not None:
            leak_log.current.running = _ItemIds(item)

    def pytest_runtest_logfinish(self) -> None:
        if leak_log.current is not None:
            leak_log.current.running = None

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_makereport(self, item: pytest.Item) -> None:
        """Before any report of the phase is made: it copies the item's properties."""
        if leak_log.current is not None and leak_log.current.records:  # most phases: none
            for record in leak_log.current.take():
                item.user_properties.append((PROPERTY, _line(record)))
                item.user_properties.append((RECORD_PROPERTY, json.dumps(record.as_dict(), sort_keys=True)))

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when != "teardown" or self.worker:
            return
        self.tests_run.add(report.nodeid)
        for name, value in report.user_properties:
            if name == RECORD_PROPERTY:
                self.records.append(leak_log.LeakRecord.from_dict(json.loads(str(value))))

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if self.files is None or self.worker:
            return
        # The ids known-leaks entries hold: a unittest test's own, else pytest's node id.
        ran = self.tests_run | {_unittest_id(item) for item in session.items if item.nodeid in self.tests_run}
        self.news = self.files.finish(self.records, ran, len(self.tests_run))

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.worker or not (self.records or self.news):
            return
        terminalreporter.write_sep("=", "leaks")
        for record in self.records:
            terminalreporter.write_line(f"{record.test}: {_line(record)}")
        for line in self.news:
            terminalreporter.write_line(line)


def _line(record: LeakRecord) -> str:
    """``Thread 'hub-run' (threads, running pkg.Hub.run, started by pkg.Hub.start): failed``."""
    runs = f", running {record.runs}" if record.runs else ""
    started = f", started by {record.started_by}" if record.started_by else ""
    return f"{record.name} ({record.kind}{runs}{started}): {record.status}"


class _ItemIds:
    """The ids a check may name the running item by, worked out only when a check
    concludes (`item.cls` walks the item's parents: not on every test)."""

    __slots__ = ("_item",)

    def __init__(self, item: pytest.Item) -> None:
        self._item = item

    def __contains__(self, test: object) -> bool:
        return test in (self._item.nodeid, _unittest_id(self._item))


def _unittest_id(item: pytest.Item) -> str:
    """`TestCase.id()` of a unittest test item (what its check names it), else its node id."""
    cls = getattr(item, "cls", None)
    if isinstance(cls, type) and issubclass(cls, unittest.TestCase):
        return f"{cls.__module__}.{cls.__qualname__}.{item.name}"
    return item.nodeid
