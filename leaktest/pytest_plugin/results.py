"""The run's results under pytest: the known-leaks file, the JSON report, each leaking
test's JUnit XML properties and the terminal summary's "leaks" section.

Loaded with the plugin (its `pytest_plugins`); active when one of its flags is given
or leaktest checks the run. Each leak found in a test's phase (leak_log.py) goes with
that phase's report as properties: JUnit XML writes them, and they carry the leaks
from pytest-xdist's workers to the controller, which writes the files. Every worker
reads the known-leaks file itself, to let the leaks it lists pass.
"""

from __future__ import annotations

import functools
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

    # One hook per test: it costs a user a few microseconds per test for nothing when no
    # leak is found. A leak found goes to the running item's properties at once
    # (`_found`), the report of the phase it is found in copies them; pytest-xdist's
    # controller reads them back from the reports (`_FromWorkers`).

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_protocol(self, item: pytest.Item) -> None:
        """From `item`'s start to the next one's (or the session's end), the checks of
        other owners (its `no_leaks` blocks) are its own; nothing else runs meanwhile."""
        log = leak_log.current
        if log is not None:
            log.running = _ItemIds(item)
            log.added = functools.partial(self._found, item)
        self.tests_run.add(item.nodeid)

    def _found(self, item: pytest.Item, record: LeakRecord) -> None:
        item.user_properties.append((PROPERTY, _line(record)))
        item.user_properties.append((RECORD_PROPERTY, json.dumps(record.as_dict(), sort_keys=True)))
        if not self.worker:
            self.records.append(record)

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        if not self.worker and session.config.pluginmanager.has_plugin("dsession"):
            session.config.pluginmanager.register(_FromWorkers(self), "leaktest-results-from-workers")

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        log = leak_log.current
        if log is not None:  # the session's fixtures are finalized after this hook: no item runs
            log.running = log.added = None
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


class _FromWorkers:
    """pytest-xdist's controller: the tests run in the workers, their leaks come back as
    the properties of their teardown reports (which hold those of every phase)."""

    def __init__(self, results: LeakResults) -> None:
        self.results = results

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when != "teardown":
            return
        self.results.tests_run.add(report.nodeid)
        for name, value in report.user_properties:
            if name == RECORD_PROPERTY:
                self.results.records.append(leak_log.LeakRecord.from_dict(json.loads(str(value))))


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
