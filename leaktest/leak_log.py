"""Every leak of the run, as records: what the known-leaks file and the JSON report are made of.

Every check of the run's tests and fixtures that finds leaks hands them here
(`check.conclude`), before it fails or warns: the leaks the known-leaks file in
force lists (known_leaks.py) are taken out and recorded as known, the others
recorded as failed or warned and returned. A runner (python -m leaktest, the pytest plugin) turns the log on for a run
(`start`) and writes the files from it at the end. Without one, nothing is kept.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Container, Iterator

from .report import Leak

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .known_leaks import KnownLeaks

#: What became of a leak: it failed its test, was a warning (warn mode), an expected
#: failure (`expected_leak`), or is listed in the known-leaks file (or is being recorded there).
FAILED, WARNED, EXPECTED, KNOWN = "failed", "warned", "expected", "known"


class LeakRecord:
    """One leak of one test, as the files tell it."""

    __slots__ = ("test", "kind", "name", "runs", "started_by", "entry", "status")

    def __init__(self, test: str, kind: str, name: str, runs: str, started_by: str, entry: str, status: str) -> None:
        self.test = test  # the test id (pytest: the node id), or the fixture's or block's name
        self.kind = kind  # the report section: "threads", "tasks", "thread exceptions"...
        self.name = name  # "Thread 'hub-run'": may hold numbers (idents, ports) that change between runs
        self.runs = runs  # what it runs: a thread's function, a task's coroutine, a program...
        self.started_by = started_by  # the function that started or created it, without a line
        self.entry = entry  # the whole report entry: stack, where it was started (with lines)
        self.status = status  # FAILED, WARNED, EXPECTED or KNOWN

    def key(self) -> tuple[str, str, str, str]:
        """What is the same in every run: never an ident, a port, an address or a line."""
        return (self.test, self.kind, self.runs, self.started_by)

    def as_dict(self) -> dict[str, str]:
        return {name: getattr(self, name) for name in self.__slots__}

    @classmethod
    def from_dict(cls, data: dict[str, str]) -> LeakRecord:
        return cls(*(str(data.get(name, "")) for name in cls.__slots__))


class LeakLog:
    """The records of one run, and the known leaks in force."""

    def __init__(self, known: KnownLeaks | None) -> None:
        self.known = known
        self.records: list[LeakRecord] = []
        self.tests_run: set[str] = set()  # the tests that ran: only their entries can be fixed
        #: The ids of the test the runner is running (empty between tests, where class and
        #: module fixtures are checked). A check of anything else meanwhile (a `no_leaks`
        #: block, a test run by the test) is the test's own business: not the run's to log.
        self.running: Container[str] | None = None
        #: Where each record of the running test goes instead of `records` (the pytest
        #: plugin: the item's properties, with the report of the phase it was found in).
        self.added: Callable[[LeakRecord], None] | None = None
        self._lock = threading.Lock()

    def conclude(self, test: str, leaks: list[Leak], warned: bool, expected: bool) -> list[Leak]:
        """Record `leaks` of `test`; return those the known-leaks file does not excuse
        (an `expected_leak` test's are its own mark's to judge: never excused)."""
        if self.running is not None and test not in self.running:
            return leaks
        left = []
        with self._lock:
            for leak in leaks:
                record = LeakRecord(test, leak.kind, leak.name, leak.runs, leak.origin, leak.entry, FAILED)
                if expected:
                    record.status = EXPECTED
                elif self.known is not None and self.known.excuses(record):
                    record.status = KNOWN
                elif warned:
                    record.status = WARNED
                if record.status != KNOWN:
                    left.append(leak)
                if self.added is None:
                    self.records.append(record)
                else:
                    self.added(record)
        return left

    def ran(self, test: str) -> None:
        self.tests_run.add(test)


#: The log of the run in progress; None when no runner asked for one.
current: LeakLog | None = None


def start(known: KnownLeaks | None) -> LeakLog:
    """Keep every leak from now on, excusing those `known` lists."""
    global current
    current = LeakLog(known)
    return current


def conclude(test: str, leaks: list[Leak], warned: bool) -> list[Leak]:
    """`check.conclude`'s hook: the leaks to fail or warn about (all of them without a log)."""
    log = current
    return leaks if log is None else log.conclude(test, leaks, warned, _expecting)


_expecting = False


@contextlib.contextmanager
def expecting() -> Iterator[None]:
    """Around the check of an `expected_leak` test: its leaks are expected ones."""
    global _expecting
    _expecting = True
    try:
        yield
    finally:
        _expecting = False
