"""A report names the test as "from", not the wider fixture set up in the test's setup
(pytest-asyncio's autouse session `event_loop_policy`, a module fixture)."""

from __future__ import annotations

import unittest

from support import PYTHON_ENV
from test_pytest_plugin import HAVE_ASYNCIO_PLUGIN, Run, shared_run

SUITE = "pytest_made_after_a_fixture"


def the_run() -> Run:
    return shared_run("--leaktest", f"{SUITE}.py", needs=("asyncio",))


@unittest.skipUnless(
    HAVE_ASYNCIO_PLUGIN, f"pytest-asyncio is not importable (set {PYTHON_ENV} to a python that has it)"
)
class MadeAfterAFixtureTest(unittest.TestCase):
    def test_the_report_names_the_test(self) -> None:
        run = the_run()
        outcomes = {name: outcome for name, (outcome, _) in run.outcomes.items()}
        self.assertEqual(
            outcomes,
            {f"{SUITE}.test_first_of_the_session": "error", f"{SUITE}.test_after_a_module_fixture": "error"},
            run.output,
        )
        for test in ("test_first_of_the_session", "test_after_a_module_fixture"):
            report = run.report(f"{SUITE}.{test}")
            self.assertIn(f"created by {SUITE}.make_socket at ", report)
            self.assertIn(f", from {SUITE}.{test} at ", report)
        self.assertNotIn("event_loop_policy", run.report(f"{SUITE}.test_first_of_the_session"))
        self.assertNotIn("module_resource", run.report(f"{SUITE}.test_after_a_module_fixture"))


def start_runs() -> None:
    if HAVE_ASYNCIO_PLUGIN:
        the_run()


start_runs()  # when imported: discovery imports every module before any test runs, so the runs overlap them all


if __name__ == "__main__":
    unittest.main()
