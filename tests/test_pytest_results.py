"""Under pytest: the known-leaks file (`--leaktest-baseline`), the JSON report
(`--leaktest-report`), each leaking test's JUnit XML properties and the summary's
"leaks" section; with pytest-xdist too. Runs pytest in a subprocess on
tests/pytest_suites/pytest_known_leaks.py, whose leaks change with the environment.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import tempfile
import unittest
import xml.etree.ElementTree as ET
from concurrent.futures import Future
from typing import Any, NamedTuple

from support import (
    ROOT,
    TESTS,
    blocked_plugins,
    importable,
    pytest_python,
    read_bytes,
    run_in_turn,
    started,
    wait_for_started,
    write_bytes,
)
from test_pytest_plugin import NEEDS_PYTEST, SUITES

HAVE_PYTEST = importable("pytest")
HAVE_XDIST = HAVE_PYTEST and importable("xdist")
SUITE = "pytest_known_leaks.py"
CONFTEST_LEAK = ("threads", "threading.Event.wait", "conftest.leak")


def pytest(*args: str, needs: tuple[str, ...] = (), **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "LEAKTEST_", "SAMPLE_"))}
    environment.update(PYTHONPATH=os.pathsep.join([str(ROOT), str(TESTS)]), COLUMNS="400", **env)
    return run_in_turn(
        [
            pytest_python(),
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            *blocked_plugins(needs),
            "-p",
            "leaktest.pytest_plugin",
            "--leaktest",
            "--leaktest-grace-period",
            "0.05",
            *args,
            SUITE,
        ],
        cwd=SUITES,
        env=environment,
    )


def entry(test: str) -> dict[str, str]:
    return dict(zip(("test", "kind", "runs", "started_by"), (test, *CONFTEST_LEAK)), reason="")


class Cycle(NamedTuple):
    """A known-leaks file's life: each run with the file's bytes after it."""

    file: str
    first: tuple[subprocess.CompletedProcess[str], bytes]
    again: tuple[subprocess.CompletedProcess[str], bytes]
    changed: tuple[subprocess.CompletedProcess[str], bytes]
    updated: tuple[subprocess.CompletedProcess[str], bytes]


def known_leaks_cycle(*args: str, needs: tuple[str, ...] = ()) -> Cycle:
    """Record a known-leaks file, run against it, change the leaks, update it."""
    with tempfile.TemporaryDirectory() as scratch:
        file = os.path.join(scratch, "known-leaks.json")
        changes = {"SAMPLE_NEW": "1", "SAMPLE_FIXED": "1"}
        runs = []
        for more, env in (((), {}), ((), {}), ((), changes), (("--leaktest-update-baseline",), changes)):
            process = pytest("--leaktest-baseline", file, *more, *args, needs=needs, **env)
            runs.append((process, read_bytes(file)))
        return Cycle(file, *runs)


class UsageErrors(NamedTuple):
    file: str
    update_alone: subprocess.CompletedProcess[str]
    not_a_file_of_leaks: subprocess.CompletedProcess[str]


def usage_errors() -> UsageErrors:
    with tempfile.TemporaryDirectory() as scratch:
        file = os.path.join(scratch, "known-leaks.json")
        update_alone = pytest("--leaktest-update-baseline")
        write_bytes(file, b"[]")
        return UsageErrors(file, update_alone, pytest("--leaktest-baseline", file))


def start_runs() -> None:
    """Start every class's runs at once, so that they overlap (each class reads its own)."""
    for case in (KnownLeaksFile, Results):
        if not getattr(case, "__unittest_skip__", False):
            case.setUpClass()


def tearDownModule() -> None:
    wait_for_started()


@unittest.skipUnless(HAVE_PYTEST, NEEDS_PYTEST)
class KnownLeaksFile(unittest.TestCase):
    runs: dict[str, Future[Any]]

    @classmethod
    def setUpClass(cls) -> None:
        if "runs" not in vars(cls):
            cls.runs = {"plain": started(known_leaks_cycle), "usage": started(usage_errors)}
            if HAVE_XDIST:
                cls.runs["xdist"] = started(functools.partial(known_leaks_cycle, "-n", "2", needs=("xdist",)))

    def check_cycle(self, cycle: Cycle) -> None:
        file = cycle.file
        first, recorded = cycle.first
        self.assertEqual(first.returncode, 0, first.stdout)
        self.assertIn(f"leaktest: 3 known leaks recorded in {file}", first.stdout)
        self.assertEqual(
            json.loads(recorded)["leaks"],
            [
                entry("pytest_known_leaks.Unittest.test_old"),  # a unittest test: its own id
                entry(f"{SUITE}::test_fixed_later"),
                entry(f"{SUITE}::test_old"),
            ],
        )
        again = cycle.again[0]
        self.assertEqual(again.returncode, 0, again.stdout)
        self.assertIn(f"leaktest: 3 leaks known from {file}, not failed", again.stdout)

        changed, after_changed = cycle.changed
        self.assertEqual(changed.returncode, 1, changed.stdout)
        self.assertIn(f"ERROR {SUITE}::test_new_later - leaktest.report.LeakError", changed.stdout)
        # A pytest without pytest-asyncio warns of the suite's asyncio ini option in between.
        self.assertRegex(changed.stdout, r"\b6 passed(, \d+ warnings?)?, 1 error\b")
        self.assertIn(
            f"leaktest: known leaks fixed, remove them from {file}:\n"
            f"  {SUITE}::test_fixed_later: threads, threading.Event.wait, started by conftest.leak\n",
            changed.stdout,
        )
        self.assertEqual(after_changed, recorded)

        updated, after_update = cycle.updated
        self.assertEqual(updated.returncode, 0, updated.stdout)
        tests = [leak["test"] for leak in json.loads(after_update)["leaks"]]
        self.assertEqual(
            tests, ["pytest_known_leaks.Unittest.test_old", f"{SUITE}::test_new_later", f"{SUITE}::test_old"]
        )

    def test_record_pass_new_fails_fixed_listed(self) -> None:
        self.check_cycle(self.runs["plain"].result())

    @unittest.skipUnless(HAVE_XDIST, "pytest-xdist is not importable")
    def test_the_same_under_xdist(self) -> None:
        self.check_cycle(self.runs["xdist"].result())

    def test_usage_errors(self) -> None:
        runs: UsageErrors = self.runs["usage"].result()
        self.assertEqual(runs.update_alone.returncode, 4, runs.update_alone.stderr)
        self.assertIn("--leaktest-update-baseline needs --leaktest-baseline FILE", runs.update_alone.stderr)
        self.assertEqual(runs.not_a_file_of_leaks.returncode, 4, runs.not_a_file_of_leaks.stderr)
        self.assertIn(f"{runs.file}: not a leaktest known-leaks file", runs.not_a_file_of_leaks.stderr)


class WithFiles(NamedTuple):
    """A run with its JSON report's data and its JUnit XML's test cases by name."""

    process: subprocess.CompletedProcess[str]
    report_file: str
    report: Any
    cases: dict[str | None, ET.Element]


def with_files(*args: str, json_report: bool = True, **env: str) -> WithFiles:
    with tempfile.TemporaryDirectory() as scratch:
        report, junit = os.path.join(scratch, "leaks.json"), os.path.join(scratch, "junit.xml")
        more = ("--leaktest-report", report) if json_report else ()
        process = pytest(*more, f"--junitxml={junit}", *args, **env)
        data = json.loads(read_bytes(report)) if json_report else None
        cases = {case.get("name"): case for case in ET.fromstring(read_bytes(junit)).iter("testcase")}
        return WithFiles(process, report, data, cases)


@unittest.skipUnless(HAVE_PYTEST, NEEDS_PYTEST)
class Results(unittest.TestCase):
    runs: dict[str, Future[Any]]

    @classmethod
    def setUpClass(cls) -> None:
        if "runs" not in vars(cls):
            cls.runs = {
                "report": started(functools.partial(with_files, SAMPLE_NEW="1")),
                "no files": started(
                    functools.partial(with_files, "-k", "test_old and not Unittest", json_report=False)
                ),
                "clean": started(functools.partial(pytest, "-k", "test_clean")),
            }

    def test_json_report_junit_properties_and_the_leaks_section(self) -> None:
        run: WithFiles = self.runs["report"].result()
        result, report, data, cases = run
        self.assertEqual(result.returncode, 1, result.stdout)
        self.assertEqual(data["tests_run"], 6)
        self.assertEqual(
            sorted((leak["test"], leak["status"]) for leak in data["leaks"]),
            [
                ("pytest_known_leaks.Unittest.test_old", "failed"),
                (f"{SUITE}::test_fixed_later", "failed"),
                (f"{SUITE}::test_new_later", "failed"),
                (f"{SUITE}::test_old", "failed"),
            ],
        )
        new = next(leak for leak in data["leaks"] if leak["test"].endswith("test_new_later"))
        self.assertEqual(
            (new["kind"], new["name"], new["runs"], new["started_by"]), ("threads", "Thread 'new'", *CONFTEST_LEAK[1:])
        )
        self.assertIn("started by conftest.leak at ", new["report"])

        properties = {p.get("name"): p.get("value") for p in cases["test_new_later"].iter("property")}
        self.assertEqual(
            properties["leaktest.leak"],
            "Thread 'new' (threads, running threading.Event.wait, started by conftest.leak): failed",
        )
        self.assertEqual(json.loads(properties["leaktest.leak.record"])["name"], "Thread 'new'")
        self.assertEqual(list(cases["test_clean"].iter("property")), [])

        section = result.stdout.partition("= leaks =")[2]
        self.assertIn(
            f"{SUITE}::test_new_later: Thread 'new' (threads, running threading.Event.wait,"
            " started by conftest.leak): failed\n",
            section,
        )
        self.assertIn(f"leaktest: JSON report of 4 leaks written to {report}", section)

    def test_without_files_the_properties_and_the_section_are_there(self) -> None:
        run: WithFiles = self.runs["no files"].result()
        result, cases = run.process, run.cases
        self.assertEqual(result.returncode, 1, result.stdout)
        properties = [p.get("value") for p in cases["test_old"].iter("property") if p.get("name") == "leaktest.leak"]
        self.assertEqual(len(properties), 1)
        self.assertRegex(
            properties[0],
            r"^Thread 'old-\d+' \(threads, running threading.Event.wait, started by conftest.leak\): failed$",
        )
        self.assertIn("= leaks =", result.stdout)
        self.assertIn(f"{SUITE}::test_old: Thread 'old-", result.stdout)

    def test_no_leak_no_section(self) -> None:
        result = self.runs["clean"].result()
        self.assertEqual(result.returncode, 0, result.stdout)
        self.assertNotIn("= leaks =", result.stdout)


start_runs()  # when imported: discovery imports every module before any test runs, so the runs overlap them all


if __name__ == "__main__":
    unittest.main()
