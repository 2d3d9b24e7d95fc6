"""The known-leaks file (`--leak-baseline`) and the JSON report (`--leak-report`) of the runner.

Each case runs `python -m leaktest` in a subprocess on tests/suites/sample_known_leaks.py,
whose leaks change with the environment: SAMPLE_NEW adds some, SAMPLE_FIXED fixes one.
"""

from __future__ import annotations

import json
import os
import tempfile
import unittest
from pathlib import Path

from test_runner import leaking, leaktest_run

SUITE = "suites.sample_known_leaks"
FAST = ("--grace-period", "0.05")
HUB = ("threads", "suites.sample_known_leaks.Hub.run", "suites.sample_known_leaks.start_hub")


def entry(test: str, kind: str, runs: str, started_by: str, reason: str = "") -> dict[str, str]:
    return {"test": f"{SUITE}.Leaks.{test}", "kind": kind, "runs": runs, "started_by": started_by, "reason": reason}


RECORDED = [
    entry("test_fixed_later", *HUB),
    entry("test_hub_and_socket", "sockets", "AF_INET, SOCK_STREAM, listening", "suites.sample_known_leaks.listen"),
    entry("test_hub_and_socket", *HUB),
]


class KnownLeaksFile(unittest.TestCase):
    def setUp(self) -> None:
        scratch = tempfile.TemporaryDirectory()
        self.addCleanup(scratch.cleanup)
        self.file = os.path.join(scratch.name, "known-leaks.json")

    def run_suite(self, *flags: str, **env: str):  # type: ignore[no-untyped-def]
        return leaktest_run(*FAST, "--leak-baseline", self.file, *flags, SUITE, **env)

    def test_a_missing_file_records_every_leak_and_the_run_passes(self) -> None:
        result = self.run_suite()
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn(f"leaktest: 3 known leaks recorded in {self.file}", result.stderr)
        data = json.loads(Path(self.file).read_text())
        self.assertEqual(data["leaks"], RECORDED)

    def test_the_file_is_the_same_in_every_run(self) -> None:
        """Idents, ports and line numbers differ between runs: none is in the file."""
        self.run_suite()
        first = Path(self.file).read_bytes()
        os.remove(self.file)
        self.run_suite()
        self.assertEqual(Path(self.file).read_bytes(), first)
        self.assertTrue(first.decode().endswith("}\n"))

    def test_later_runs_fail_only_on_new_leaks_and_list_the_fixed_ones(self) -> None:
        self.run_suite()
        recorded = Path(self.file).read_bytes()
        same = self.run_suite()
        self.assertEqual(same.returncode, 0, same.stderr)
        self.assertIn(f"leaktest: 3 leaks known from {self.file}, not failed", same.stderr)
        self.assertNotIn("fixed", same.stderr)

        changed = self.run_suite(SAMPLE_NEW="1", SAMPLE_FIXED="1")
        self.assertEqual(changed.returncode, 1, changed.stderr)
        self.assertEqual(leaking(changed.stderr), [f"{SUITE}.Leaks.test_new_later"])
        self.assertIn("[Thread 'new' (ident", changed.stderr)
        self.assertIn(
            f"leaktest: known leaks fixed, remove them from {self.file}:\n"
            f"  {SUITE}.Leaks.test_fixed_later: threads, {HUB[1]}, started by {HUB[2]}\n",
            changed.stderr,
        )
        self.assertEqual(Path(self.file).read_bytes(), recorded)  # rewritten only when asked

    def test_update_rewrites_the_file_keeping_the_reasons(self) -> None:
        self.run_suite()
        data = json.loads(Path(self.file).read_text())
        data["leaks"][2]["reason"] = "the hub is shared, issue 12"
        Path(self.file).write_text(json.dumps(data))
        updated = self.run_suite("--update-leak-baseline", SAMPLE_NEW="1", SAMPLE_FIXED="1")
        self.assertEqual(updated.returncode, 0, updated.stderr)
        leaks = json.loads(Path(self.file).read_text())["leaks"]
        self.assertEqual(
            leaks,
            [
                RECORDED[1],
                entry("test_hub_and_socket", *HUB, reason="the hub is shared, issue 12"),
                entry("test_new_later", *HUB),
            ],
        )

    def test_a_file_that_is_not_one_is_a_usage_error_naming_it(self) -> None:
        Path(self.file).write_text('{"leaks": [{"test": "x"}]}')
        result = self.run_suite()
        self.assertEqual(result.returncode, 2)
        self.assertIn(f"{self.file}: not a leaktest known-leaks file (KeyError: 'kind')", result.stderr)

    def test_update_needs_the_file(self) -> None:
        result = leaktest_run("--update-leak-baseline", SUITE)
        self.assertEqual(result.returncode, 2)
        self.assertIn("--update-leak-baseline needs --leak-baseline FILE", result.stderr)


class JsonReport(unittest.TestCase):
    def setUp(self) -> None:
        scratch = tempfile.TemporaryDirectory()
        self.addCleanup(scratch.cleanup)
        self.dir = scratch.name

    def test_every_leak_with_what_became_of_it(self) -> None:
        report = os.path.join(self.dir, "leaks.json")
        known = os.path.join(self.dir, "known.json")
        leaktest_run(*FAST, "--leak-baseline", known, SUITE)
        result = leaktest_run(*FAST, "--leak-baseline", known, "--leak-report", report, SUITE, SAMPLE_NEW="1")
        self.assertIn(f"leaktest: JSON report of 5 leaks written to {report}", result.stderr)
        data = json.loads(Path(report).read_text())
        self.assertEqual(data["version"], 1)
        self.assertEqual(data["tests_run"], 6)
        found = {(leak["test"].rpartition(".")[2], leak["kind"], leak["status"]) for leak in data["leaks"]}
        self.assertEqual(
            found,
            {
                ("test_hub_and_socket", "threads", "known"),
                ("test_hub_and_socket", "sockets", "known"),
                ("test_fixed_later", "threads", "known"),
                ("test_new_later", "threads", "failed"),
                ("test_expected", "threads", "expected"),
            },
        )
        new = next(leak for leak in data["leaks"] if leak["test"].endswith("test_new_later"))
        self.assertEqual(new["name"], "Thread 'new'")
        self.assertEqual((new["runs"], new["started_by"]), HUB[1:])
        self.assertIn("in run\n    _never.wait()", new["report"])
        self.assertIn("started by suites.sample_known_leaks.start_hub at ", new["report"])
        self.assertEqual(data["known_leaks"], {"file": known, "recorded": False, "fixed": []})

    def test_warned_leaks(self) -> None:
        report = os.path.join(self.dir, "leaks.json")
        result = leaktest_run(*FAST, "--mode", "warn", "--leak-report", report, f"{SUITE}.Leaks")
        self.assertEqual(result.returncode, 0, result.stderr)
        statuses = sorted(leak["status"] for leak in json.loads(Path(report).read_text())["leaks"])
        self.assertEqual(statuses, ["expected", "warned", "warned", "warned"])
        self.assertNotIn("known_leaks", json.loads(Path(report).read_text()))


if __name__ == "__main__":
    unittest.main()
