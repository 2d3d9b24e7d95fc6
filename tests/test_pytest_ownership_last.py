"""What a fixture's server made for the last test of the fixture's scope is still the
fixture's, although pytest finalizes the fixture in that test's teardown, before its check."""

from __future__ import annotations

import unittest

from support import PYTHON_ENV
from test_pytest_plugin import HAVE_PYTEST, Run, shared_run

SUITE = "pytest_served_last"


def the_run() -> Run:
    return shared_run("--leaktest", f"{SUITE}.py")


@unittest.skipUnless(HAVE_PYTEST, f"pytest is not importable (set {PYTHON_ENV} to a python that has it)")
class LastTestOfTheScopeTest(unittest.TestCase):
    def test_the_servers_handler_thread_is_not_the_last_tests(self) -> None:
        run = the_run()
        outcomes = {name: outcome for name, (outcome, _) in run.outcomes.items()}
        self.assertEqual(
            outcomes,
            {f"{SUITE}.test_first_closes_its_connection": "passed", f"{SUITE}.test_last_keeps_its_connection": "error"},
            run.output,
        )
        report = run.report(f"{SUITE}.test_last_keeps_its_connection")
        self.assertIn("found unexpected sockets:", report)
        self.assertIn(f"created by {SUITE}.test_last_keeps_its_connection at ", report)
        self.assertNotIn("found unexpected threads:", report)
        self.assertNotIn("process_request_thread", report)


def start_runs() -> None:
    if HAVE_PYTEST:
        the_run()


start_runs()  # when imported: discovery imports every module before any test runs, so the runs overlap them all


if __name__ == "__main__":
    unittest.main()
