"""Under pytest: the known-leaks file (`--leaktest-baseline`), the JSON report
(`--leaktest-report`), each leaking test's JUnit XML properties and the summary's
"leaks" section; with pytest-xdist too. Runs pytest in a subprocess on
tests/pytest_suites/pytest_known_leaks.py, whose leaks change with the environment.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import unittest
import xml.etree.ElementTree as ET
from pathlib import Path

from support import ROOT, TESTS, importable, pytest_python
from test_pytest_plugin import NEEDS_PYTEST, SUITES

HAVE_PYTEST = importable("pytest")
HAVE_XDIST = HAVE_PYTEST and importable("xdist")
SUITE = "pytest_known_leaks.py"
CONFTEST_LEAK = ("threads", "threading.Event.wait", "conftest.leak")


def pytest(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "LEAKTEST_", "SAMPLE_"))}
    environment.update(PYTHONPATH=os.pathsep.join([str(ROOT), str(TESTS)]), COLUMNS="400", **env)
    return subprocess.run(
        [
            pytest_python(),
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
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
        capture_output=True,
        text=True,
        timeout=300,
    )


def entry(test: str) -> dict[str, str]:
    return dict(zip(("test", "kind", "runs", "started_by"), (test, *CONFTEST_LEAK)), reason="")


@unittest.skipUnless(HAVE_PYTEST, NEEDS_PYTEST)
class KnownLeaksFile(unittest.TestCase):
    def setUp(self) -> None:
        scratch = tempfile.TemporaryDirectory()
        self.addCleanup(scratch.cleanup)
        self.dir = scratch.name
        self.file = os.path.join(scratch.name, "known-leaks.json")

    def check_cycle(self, *args: str) -> None:
        first = pytest("--leaktest-baseline", self.file, *args)
        self.assertEqual(first.returncode, 0, first.stdout)
        self.assertIn(f"leaktest: 3 known leaks recorded in {self.file}", first.stdout)
        recorded = Path(self.file).read_bytes()
        self.assertEqual(
            json.loads(recorded)["leaks"],
            [
                entry("pytest_known_leaks.Unittest.test_old"),  # a unittest test: its own id
                entry(f"{SUITE}::test_fixed_later"),
                entry(f"{SUITE}::test_old"),
            ],
        )
        again = pytest("--leaktest-baseline", self.file, *args)
        self.assertEqual(again.returncode, 0, again.stdout)
        self.assertIn(f"leaktest: 3 leaks known from {self.file}, not failed", again.stdout)

        changed = pytest("--leaktest-baseline", self.file, *args, SAMPLE_NEW="1", SAMPLE_FIXED="1")
        self.assertEqual(changed.returncode, 1, changed.stdout)
        self.assertIn(f"ERROR {SUITE}::test_new_later - leaktest.report.LeakError", changed.stdout)
        # A pytest without pytest-asyncio warns of the suite's asyncio ini option in between.
        self.assertRegex(changed.stdout, r"\b6 passed(, \d+ warnings?)?, 1 error\b")
        self.assertIn(
            f"leaktest: known leaks fixed, remove them from {self.file}:\n"
            f"  {SUITE}::test_fixed_later: threads, threading.Event.wait, started by conftest.leak\n",
            changed.stdout,
        )
        self.assertEqual(Path(self.file).read_bytes(), recorded)

        updated = pytest(
            "--leaktest-baseline", self.file, "--leaktest-update-baseline", *args, SAMPLE_NEW="1", SAMPLE_FIXED="1"
        )
        self.assertEqual(updated.returncode, 0, updated.stdout)
        tests = [leak["test"] for leak in json.loads(Path(self.file).read_text())["leaks"]]
        self.assertEqual(
            tests, ["pytest_known_leaks.Unittest.test_old", f"{SUITE}::test_new_later", f"{SUITE}::test_old"]
        )

    def test_record_pass_new_fails_fixed_listed(self) -> None:
        self.check_cycle()

    @unittest.skipUnless(HAVE_XDIST, "pytest-xdist is not importable")
    def test_the_same_under_xdist(self) -> None:
        self.check_cycle("-n", "2")

    def test_usage_errors(self) -> None:
        result = pytest("--leaktest-update-baseline")
        self.assertEqual(result.returncode, 4, result.stderr)
        self.assertIn("--leaktest-update-baseline needs --leaktest-baseline FILE", result.stderr)
        Path(self.file).write_text("[]")
        result = pytest("--leaktest-baseline", self.file)
        self.assertEqual(result.returncode, 4, result.stderr)
        self.assertIn(f"{self.file}: not a leaktest known-leaks file", result.stderr)


@unittest.skipUnless(HAVE_PYTEST, NEEDS_PYTEST)
class Results(unittest.TestCase):
    def test_json_report_junit_properties_and_the_leaks_section(self) -> None:
        with tempfile.TemporaryDirectory() as scratch:
            report, junit = os.path.join(scratch, "leaks.json"), os.path.join(scratch, "junit.xml")
            result = pytest("--leaktest-report", report, f"--junitxml={junit}", SAMPLE_NEW="1")
            data = json.loads(Path(report).read_text())
            cases = {case.get("name"): case for case in ET.parse(junit).iter("testcase")}
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
        with tempfile.TemporaryDirectory() as scratch:
            junit = os.path.join(scratch, "junit.xml")
            result = pytest(f"--junitxml={junit}", "-k", "test_old and not Unittest")
            cases = {case.get("name"): case for case in ET.parse(junit).iter("testcase")}
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
        result = pytest("-k", "test_clean")
        self.assertEqual(result.returncode, 0, result.stdout)
        self.assertNotIn("= leaks =", result.stdout)


if __name__ == "__main__":
    unittest.main()
