"""Helpers for leaktest's own tests: run an inner test case and look at its verdict.

Inner test cases leak on purpose, and a leak is reported only once the grace
period has been waited out. `run_tests` therefore gives an inner case that sets
no grace period of its own `INNER_GRACE_PERIOD` instead of the 1.0 s default,
and no load stretch (load.py), unless the test asks for it: the suite answers
in seconds, and what an inner case waits for ends by an event, a join or a
cleanup, never by the grace alone.
"""

from __future__ import annotations

import atexit
import concurrent.futures
import contextlib
import functools
import importlib.util
import itertools
import json
import multiprocessing
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import unittest
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar
from unittest import mock

from leaktest import load

T = TypeVar("T")

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent

#: The grace period of an inner test case that sets none (the default is 1.0 s).
INNER_GRACE_PERIOD = 0.05


def run_tests(case: type[unittest.TestCase], *names: str, load_stretch: bool = False) -> unittest.TestResult:
    """Run the named tests of `case` (all of them when none is named) in one suite,
    with the inner grace period unless `case` sets one; with the load stretch only
    if `load_stretch`."""
    case = quick(case)
    loader = unittest.TestLoader()
    if names:
        suite = unittest.TestSuite(case(name) for name in names)
    else:
        suite = loader.loadTestsFromTestCase(case)
    result = unittest.TestResult()
    with contextlib.nullcontext() if load_stretch else no_load_stretch():
        suite.run(result)
    return result


def quick(case: type[unittest.TestCase]) -> type[unittest.TestCase]:
    """`case` with the inner grace period, unless one of its own classes sets a grace period.

    A subclass of the same name and module, so that test ids and reports are unchanged.
    """
    if any("grace_period" in vars(cls) for cls in case.__mro__ if not cls.__module__.startswith("leaktest")):
        return case
    attributes = {"grace_period": INNER_GRACE_PERIOD, "__module__": case.__module__, "__qualname__": case.__qualname__}
    return type(case.__name__, (case,), attributes)


@contextlib.contextmanager
def no_load_stretch() -> Iterator[None]:
    """The grace period is not stretched however loaded the machine is."""
    with mock.patch.object(load, "extension", return_value=0.0):
        yield


# -- subprocesses ----------------------------------------------------------------


def child_environment(dropped: Callable[[str], bool]) -> dict[str, str]:
    """This process's environment for a child python, less the `dropped` variables.

    Where PYTHONDONTWRITEBYTECODE is set, the children keep their bytecode in one
    directory outside the tree for this test run, not nowhere: compiling leaktest
    afresh in every child was a third of a small run's time.
    """
    environment = {name: value for name, value in os.environ.items() if not dropped(name)}
    if environment.pop("PYTHONDONTWRITEBYTECODE", None):
        environment["PYTHONPYCACHEPREFIX"] = _bytecode_directory()
    return environment


@functools.cache
def _bytecode_directory() -> str:
    directory = tempfile.mkdtemp(prefix="leaktest-tests-bytecode-")
    atexit.register(shutil.rmtree, directory, True)
    return directory


#: The runner's option for a short grace period.
FAST = ("--grace-period", "0.05")


def _module_command(module: str, args: Sequence[str], env: dict[str, str]) -> tuple[list[str], dict[str, Any]]:
    """The command and the options (cwd, env) of `run_module`."""
    environment = child_environment(lambda name: name == "LEAKTEST_VERBOSE")
    environment["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(TESTS)])
    environment.update(env)
    return [sys.executable, "-m", module, *args], {"cwd": TESTS, "env": environment}


def run_module(module: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`python -m module args` in tests/, where the samples import as `suites.*`."""
    command, options = _module_command(module, args, env)
    return run_in_turn(command, **options)


def leaktest_run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`python -m leaktest args` in tests/."""
    return run_module("leaktest", *args, **env)


def run_in_turn(command: Sequence[str], *, cwd: Path | str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`command` run to its end in `cwd` with `env`, its output captured as text
    (a timeout of 300 s): at once from the main thread (a test), else by the
    launcher, in its turn (a run started for a test to read later)."""
    if threading.current_thread() is threading.main_thread():
        return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=TIMEOUT)
    return launched(command, cwd, env).result()


#: How long a subprocess may take.
TIMEOUT = 300.0

#: A run started for a test to read later.
Started = concurrent.futures.Future[subprocess.CompletedProcess[str]]

_STARTED_MODULES: dict[tuple[str, tuple[str, ...], tuple[tuple[str, str], ...]], Started] = {}


def started_module(module: str, *args: str, **env: str) -> Started:
    """`run_module(module, *args, **env)`, started at once and only once: a test
    module starts its runs when it is imported, and its tests read `.result()`."""
    key = (module, args, tuple(sorted(env.items())))
    if key not in _STARTED_MODULES:
        command, options = _module_command(module, args, env)
        _STARTED_MODULES[key] = launched(command, **options)
    return _STARTED_MODULES[key]


#: The order in which runs were asked for: the launcher starts the earliest asked for
#: first, and a run a `started` call asks for takes the call's place in that order.
_ORDER = itertools.count()
_CALL = threading.local()


class Awaited(concurrent.futures.Future[T]):
    """A future the main thread may wait for: once it does, the launcher starts
    the runs of the future's place in the order before any other."""

    def __init__(self, order: int) -> None:
        super().__init__()
        self.order = order

    def result(self, timeout: float | None = None) -> T:
        if not self.done() and threading.current_thread() is threading.main_thread():
            launcher().wanted_now(self.order)
        return super().result(timeout)


def started(call: Callable[[], T]) -> concurrent.futures.Future[T]:
    """`call` started at once in a thread of its own, for calls that run
    subprocesses one after the other (`run_in_turn`) and work on their results."""
    order = next(_ORDER)
    future: Awaited[T] = Awaited(order)

    def run() -> None:
        _CALL.order = order
        try:
            future.set_result(call())
        except BaseException as error:  # the reader sees it
            future.set_exception(error)

    threading.Thread(target=run, name=f"started {getattr(call, '__name__', call)}", daemon=True).start()
    _STARTED.setdefault(sys._getframe(1).f_globals["__name__"], []).append(future)
    return future


#: Held by `started` calls while they open a file, and by the tests that look at every
#: file descriptor of the process (test_fds, test_leak_matrix), which would see it.
FILES = threading.Lock()


def read_bytes(path: str) -> bytes:
    """The file's bytes (b"" if there is none), read under `FILES`."""
    with FILES:
        return Path(path).read_bytes() if os.path.exists(path) else b""


def write_bytes(path: str, content: bytes) -> None:
    with FILES:
        Path(path).write_bytes(content)


#: Per test module, the calls it has `started`.
_STARTED: dict[str, list[concurrent.futures.Future[Any]]] = {}


def wait_for_started() -> None:
    """Wait for every call the calling module has `started`, however it ends: its
    `tearDownModule`, so that no run outlives the module (nor its scratch files)."""
    concurrent.futures.wait(_STARTED.get(sys._getframe(1).f_globals["__name__"], []))


def launched(command: Sequence[str], cwd: Path | str, env: dict[str, str]) -> Started:
    """`command` started by the launcher in its turn: its output captured as text."""
    return launcher().start(command, cwd, env)


class Launcher:
    """The client of launcher.py: a process started before any test, which starts
    the runs the tests read later (see its docstring for why)."""

    def __init__(self, python: str) -> None:
        environment = child_environment(lambda name: name.startswith(("PYTEST_", "LEAKTEST_", "PYTHONPATH")))
        self._scratch = tempfile.mkdtemp(prefix="leaktest-tests-runs-")
        self._process = subprocess.Popen(
            [python, str(TESTS / "launcher.py")], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=environment
        )
        self._runs: dict[int, tuple[Started, list[str]]] = {}
        self._ids = itertools.count()
        self._lock = threading.Lock()
        self._replies = threading.Thread(target=self._read_replies, name="launcher replies", daemon=True)
        self._replies.start()
        atexit.register(self._close)

    def start(self, command: Sequence[str], cwd: Path | str, env: dict[str, str]) -> Started:
        order = getattr(_CALL, "order", None)
        future: Awaited[subprocess.CompletedProcess[str]] = Awaited(next(_ORDER) if order is None else order)
        with self._lock:
            run = next(self._ids)
            output = os.path.join(self._scratch, str(run))
            self._runs[run] = (future, list(command))
            self._send(
                run=run,
                order=future.order,
                argv=list(command),
                cwd=str(cwd),
                env=env,
                out=f"{output}.out",
                err=f"{output}.err",
                timeout=TIMEOUT,
            )
        return future

    def wanted_now(self, order: int) -> None:
        """The main thread waits for the runs of `order`: they go first."""
        with self._lock:
            self._send(first=order)

    def _send(self, **message: object) -> None:
        assert self._process.stdin is not None
        self._process.stdin.write(json.dumps(message).encode() + b"\n")
        self._process.stdin.flush()

    def _read_replies(self) -> None:
        assert self._process.stdout is not None
        for line in self._process.stdout:
            reply = json.loads(line)
            with self._lock:
                future, command = self._runs.pop(reply["ended"])
            stdout, stderr = reply["out"], reply["err"]
            if reply["status"] is None:
                future.set_exception(subprocess.TimeoutExpired(command, TIMEOUT, stdout, stderr))
            else:
                future.set_result(subprocess.CompletedProcess(command, reply["status"], stdout, stderr))
        with self._lock:
            for future, command in self._runs.values():
                future.set_exception(RuntimeError(f"the launcher ended before {command} did"))

    def _close(self) -> None:
        """Let the launcher finish the runs it has started (it starts no more once
        its input ends: nothing reads them), then remove the runs' output."""
        assert self._process.stdin is not None and self._process.stdout is not None
        self._process.stdin.close()
        self._process.wait()
        self._replies.join()
        self._process.stdout.close()
        shutil.rmtree(self._scratch, ignore_errors=True)


#: What this suite runs in the background (the launcher, its client's thread, the
#: threads of `started`), for the tests that look at every thread and child there is.
THE_SUITES_OWN: dict[str, Any] = {
    "ignore_threads": ["launcher replies", "started *"],
    "ignore_processes": [f"* {TESTS / 'launcher.py'}"],
}


@functools.cache
def launcher() -> Launcher:
    """The one launcher, started when support is imported (before any test). Where
    LEAKTEST_PYTEST_PYTHON names no python, this one: the pytest tests skip, saying so."""
    python = pytest_python()
    return Launcher(python if os.access(python, os.X_OK) else sys.executable)


def verdict(result: unittest.TestResult) -> str:
    """'ok', 'FAIL' or 'ERROR' for a result holding one test."""
    if result.errors:
        return "ERROR"
    if result.failures:
        return "FAIL"
    return "ok"


def report(result: unittest.TestResult) -> str:
    """Every failure and error text of `result`, joined."""
    return "\n".join(text for _, text in result.failures + result.errors)


# -- pytest in a subprocess ---------------------------------------------------

#: The python that runs pytest (a venv with pytest and its plugins); else this one.
PYTHON_ENV = "LEAKTEST_PYTEST_PYTHON"

#: The pytest11 entry points of the python that runs pytest, as one line of names.
_ENTRY_POINTS = "from importlib.metadata import entry_points; print(*[e.name for e in entry_points(group='pytest11')])"


def pytest_python() -> str:
    return os.environ.get(PYTHON_ENV) or sys.executable


@functools.cache
def other_plugins() -> tuple[str, ...]:
    """The third-party plugins installed for the python that runs pytest (leaktest's own
    left out): a run loads only those it needs. Importing them is most of a small run's
    time (anyio imports trio; hypothesis and pytest-benchmark, where installed, a second)."""
    names = subprocess.run([pytest_python(), "-c", _ENTRY_POINTS], capture_output=True, text=True).stdout.split()
    return tuple(name for name in names if not name.startswith("leaktest"))


def blocked_plugins(needs: Sequence[str] = ()) -> list[str]:
    """The `-p no:NAME` arguments that keep every other plugin but those a run `needs` from loading."""
    return [arg for name in other_plugins() if not name.startswith(tuple(needs)) for arg in ("-p", f"no:{name}")]


@functools.cache
def importable(module: str) -> bool:
    """Whether `module` imports in the python that runs pytest."""
    if not os.environ.get(PYTHON_ENV):
        return importlib.util.find_spec(module) is not None
    try:
        check = subprocess.run([pytest_python(), "-c", f"import {module}"], capture_output=True)
    except OSError:  # no such python
        return False
    return check.returncode == 0


#: Per test, (outcome, report text): see `junit_outcomes`.
Outcomes = dict[str, tuple[str, str]]


class PytestRun:
    """One pytest run in a subprocess, started at once (`launched`): reading its
    results waits for it, so that runs started together overlap.

    Started in `cwd` with `paths` importable and, of `other_plugins()`, only those it
    `needs`; `process` is the finished process, `outcomes` per test (outcome, report text).
    """

    def __init__(self, args: Sequence[str], cwd: Path, paths: Sequence[str], needs: Sequence[str] = ()) -> None:
        environment = child_environment(lambda name: name.startswith(("PYTEST_", "LEAKTEST_")))
        environment["PYTHONPATH"] = os.pathsep.join(filter(None, paths))
        environment["COLUMNS"] = "400"  # -rA lines are cut to the terminal width
        self._scratch = tempfile.TemporaryDirectory()
        self._junit = os.path.join(self._scratch.name, "junit.xml")
        command = [pytest_python(), "-m", "pytest", "-p", "no:cacheprovider", *blocked_plugins(needs)]
        self._child = launched([*command, "-rA", f"--junitxml={self._junit}", *args], cwd, environment)
        self._result: tuple[subprocess.CompletedProcess[str], Outcomes] | None = None

    @property
    def process(self) -> subprocess.CompletedProcess[str]:
        return self.finished()[0]

    @property
    def outcomes(self) -> Outcomes:
        return self.finished()[1]

    def finished(self) -> tuple[subprocess.CompletedProcess[str], Outcomes]:
        """The process and the outcomes, once it has ended."""
        if self._result is None:
            try:
                completed = self._child.result()
                outcomes = junit_outcomes(self._junit) if os.path.exists(self._junit) else {}
            finally:
                self._scratch.cleanup()
            self._result = (completed, outcomes)
        return self._result


def junit_outcomes(junit: str) -> Outcomes:
    """Per test "Class.name" or "module.name", its outcome and report text.

    An outcome joins the phases that reported something, in order: "passed",
    "failed", "error" (at teardown), "failed+error" (a failing test that also
    leaked): pytest writes one <testcase> per phase that reported something.
    """
    kinds: dict[str, list[str]] = {}
    texts: dict[str, list[str]] = {}
    for case in ET.parse(junit).iter("testcase"):
        name = f"{case.get('classname', '').rpartition('.')[2]}.{case.get('name')}"
        kinds.setdefault(name, [])
        texts.setdefault(name, [])
        for child in case:
            if child.tag in ("failure", "error", "skipped"):
                kinds[name].append({"failure": "failed", "error": "error", "skipped": "skipped"}[child.tag])
                texts[name].append(f"{child.get('message', '')}\n{child.text or ''}")
    return {name: ("+".join(kinds[name]) or "passed", "\n".join(texts[name])) for name in kinds}


if multiprocessing.parent_process() is None:  # not in a child a test started with multiprocessing
    launcher()  # now, before any test: its process is older than every test's baseline
