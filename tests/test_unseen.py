"""Anything made before leaktest's hooks existed is older than every test, and so is
what it starts later: a module-wide pool's workers, tasks on its loop, connections its
listener accepts, threads its threads start. The objects are made in a process of their
own (tests/suites/sample_unseen.py), before any leaktest module is imported there."""

from __future__ import annotations

import re
import unittest

import leaktest
from support import run_module


class MadeBeforeLeaktest(leaktest.LeakCheckedTestCase):
    def test_what_older_objects_start_is_no_tests_leak(self) -> None:
        run = run_module("unittest", "-v", "suites.sample_unseen")
        verdicts = dict(re.findall(r"^(test_\w+) \(.*\) \.\.\. (\w+)$", run.stderr, re.MULTILINE))
        self.assertEqual(
            verdicts,
            {
                "test_first_submit_to_an_older_pool": "ok",
                "test_task_on_an_older_loop": "ok",
                "test_connection_accepted_by_an_older_listener": "ok",
                "test_thread_started_by_an_older_thread": "ok",
                "test_pool_made_by_the_test_leaks": "FAIL",
            },
            run.stderr,
        )
        self.assertIn("found unexpected threads:", run.stderr)


if __name__ == "__main__":
    unittest.main()
