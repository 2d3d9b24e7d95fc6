"""The known-leaks file (`--leak-baseline`) and the JSON report (`--leak-report`) of the runner.

Each case runs `python -m leaktest` in a subprocess on tests/suites/sample_known_leaks.py,
whose leaks change with the environment: SAMPLE_NEW adds some, SAMPLE_FIXED fixes one.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import tempfile
import unittest
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, NamedTuple

from support import leaktest_run, read_bytes, started, wait_for_started, write_bytes
from test_runner import leaking

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


class Run(NamedTuple):
    """A run on a file of its own: the process and the file's bytes after it (b"" if none)."""

    file: str
    process: subprocess.CompletedProcess[str]
    after: bytes


#: The files of the runs, removed by tearDownModule. Made once, here: the runs'
#: threads call `new_file` at once, and a second one made by a thread that lost
#: the race would be removed, its files with it, once unreferenced.
_SCRATCH = tempfile.TemporaryDirectory()


def new_file(name: str, content: bytes | None = None) -> str:
    """A path for a file of `name` no other run uses, holding `content` if given."""
    directory = tempfile.mkdtemp(dir=_SCRATCH.name)
    path = os.path.join(directory, name)
    if content is not None:
        write_bytes(path, content)
    return path


def run_on(file: str, *flags: str, **env: str) -> Run:
    process = leaktest_run(*FAST, "--leak-baseline", file, *flags, SUITE, **env)
    return Run(file, process, read_bytes(file))


def record() -> Run:
    """The known-leaks file of a first run."""
    return run_on(new_file("known-leaks.json"))


def run_on_copy(recorded: Future[Run], *flags: str, edit: Callable[[Any], Any] | None = None, **env: str) -> Run:
    """A run on a copy of the `recorded` file (its JSON changed by `edit` first)."""
    content = recorded.result().after
    if edit is not None:
        content = json.dumps(edit(json.loads(content))).encode()
    return run_on(new_file("known-leaks.json", content), *flags, **env)


def start_runs() -> None:
    """Start the runs of both classes at once, so that they overlap."""
    KnownLeaksFile.setUpClass()
    JsonReport.setUpClass()


def tearDownModule() -> None:
    wait_for_started()
    _SCRATCH.cleanup()


def with_reason(data: Any) -> Any:
    data["leaks"][2]["reason"] = "the hub is shared, issue 12"
    return data


class KnownLeaksFile(unittest.TestCase):
    runs: dict[str, Future[Any]]

    @classmethod
    def setUpClass(cls) -> None:
        if "runs" in vars(cls):
            return
        recorded = started(record)
        changes: dict[str, Any] = {"SAMPLE_NEW": "1", "SAMPLE_FIXED": "1"}
        cls.runs = {
            "recorded": recorded,
            "recorded again": started(record),
            "same": started(functools.partial(run_on_copy, recorded)),
            "changed": started(functools.partial(run_on_copy, recorded, **changes)),
            "updated": started(
                functools.partial(run_on_copy, recorded, "--update-leak-baseline", edit=with_reason, **changes)
            ),
            "not one": started(functools.partial(run_on, new_file("known-leaks.json", b'{"leaks": [{"test": "x"}]}'))),
            "update alone": started(functools.partial(leaktest_run, "--update-leak-baseline", SUITE)),
        }

    def test_a_missing_file_records_every_leak_and_the_run_passes(self) -> None:
        file, result, after = self.runs["recorded"].result()
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn(f"leaktest: 3 known leaks recorded in {file}", result.stderr)
        data = json.loads(after)
        self.assertEqual(data["leaks"], RECORDED)

    def test_the_file_is_the_same_in_every_run(self) -> None:
        """Idents, ports and line numbers differ between runs: none is in the file."""
        first = self.runs["recorded"].result().after
        self.assertEqual(self.runs["recorded again"].result().after, first)
        self.assertTrue(first.decode().endswith("}\n"))

    def test_later_runs_fail_only_on_new_leaks_and_list_the_fixed_ones(self) -> None:
        recorded = self.runs["recorded"].result().after
        file, same, after_same = self.runs["same"].result()
        self.assertEqual(same.returncode, 0, same.stderr)
        self.assertIn(f"leaktest: 3 leaks known from {file}, not failed", same.stderr)
        self.assertNotIn("fixed", same.stderr)
        self.assertEqual(after_same, recorded)

        file, changed, after_changed = self.runs["changed"].result()
        self.assertEqual(changed.returncode, 1, changed.stderr)
        self.assertEqual(leaking(changed.stderr), [f"{SUITE}.Leaks.test_new_later"])
        self.assertIn("[Thread 'new' (ident", changed.stderr)
        self.assertIn(
            f"leaktest: known leaks fixed, remove them from {file}:\n"
            f"  {SUITE}.Leaks.test_fixed_later: threads, {HUB[1]}, started by {HUB[2]}\n",
            changed.stderr,
        )
        self.assertEqual(after_changed, recorded)  # rewritten only when asked

    def test_update_rewrites_the_file_keeping_the_reasons(self) -> None:
        _, updated, after = self.runs["updated"].result()
        self.assertEqual(updated.returncode, 0, updated.stderr)
        leaks = json.loads(after)["leaks"]
        self.assertEqual(
            leaks,
            [
                RECORDED[1],
                entry("test_hub_and_socket", *HUB, reason="the hub is shared, issue 12"),
                entry("test_new_later", *HUB),
            ],
        )

    def test_a_file_that_is_not_one_is_a_usage_error_naming_it(self) -> None:
        file, result, _ = self.runs["not one"].result()
        self.assertEqual(result.returncode, 2)
        self.assertIn(f"{file}: not a leaktest known-leaks file (KeyError: 'kind')", result.stderr)

    def test_update_needs_the_file(self) -> None:
        result = self.runs["update alone"].result()
        self.assertEqual(result.returncode, 2)
        self.assertIn("--update-leak-baseline needs --leak-baseline FILE", result.stderr)


def report_against_known(recorded: Future[Run]) -> tuple[str, str, subprocess.CompletedProcess[str], Any]:
    """A run with new leaks against a copy of the `recorded` file, and its JSON report."""
    known = new_file("known.json", recorded.result().after)
    report = new_file("leaks.json")
    result = leaktest_run(*FAST, "--leak-baseline", known, "--leak-report", report, SUITE, SAMPLE_NEW="1")
    return known, report, result, json.loads(read_bytes(report))


def warned_report() -> tuple[subprocess.CompletedProcess[str], Any]:
    report = new_file("leaks.json")
    result = leaktest_run(*FAST, "--mode", "warn", "--leak-report", report, f"{SUITE}.Leaks")
    return result, json.loads(read_bytes(report)) if os.path.exists(report) else None


class JsonReport(unittest.TestCase):
    runs: dict[str, Future[Any]]

    @classmethod
    def setUpClass(cls) -> None:
        if "runs" in vars(cls):
            return
        KnownLeaksFile.setUpClass()
        recorded = KnownLeaksFile.runs["recorded"]  # the same command as a first run of the report's
        cls.runs = {
            "against known": started(functools.partial(report_against_known, recorded)),
            "warned": started(warned_report),
        }

    def test_every_leak_with_what_became_of_it(self) -> None:
        known, report, result, data = self.runs["against known"].result()
        self.assertIn(f"leaktest: JSON report of 5 leaks written to {report}", result.stderr)
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
        result, data = self.runs["warned"].result()
        self.assertEqual(result.returncode, 0, result.stderr)
        statuses = sorted(leak["status"] for leak in data["leaks"])
        self.assertEqual(statuses, ["expected", "warned", "warned", "warned"])
        self.assertNotIn("known_leaks", data)


if __name__ == "__main__":
    unittest.main()


start_runs()  # when imported: discovery imports every module before any test runs, so the runs overlap them all
