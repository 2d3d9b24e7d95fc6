"""`@leaktest.expected_leak(reason=...)`: a known, tracked leak does not fail the suite.

Its leak is reported as an expected failure (``x`` in unittest's output). When
the leak is fixed, the test is reported as an unexpected success, which fails
the run, so the mark is removed with the leak.
"""

from __future__ import annotations

import unittest

import leaktest
from examples.features.workers import Worker


class ExpectedLeakExample(unittest.TestCase):
    def test_a_known_leak_is_an_expected_failure(self) -> None:
        worker = Worker("known-leak")
        self.addCleanup(worker.stop)

        class Suite(leaktest.LeakCheckedTestCase):
            grace_period = 0

            @leaktest.expected_leak(reason="the cache's reaper is never stopped (issue 42)")
            def test(self) -> None:
                worker.start()

        result = unittest.TestResult()
        Suite("test").run(result)
        self.assertTrue(result.wasSuccessful())
        self.assertIn("issue 42", result.expectedFailures[0][1])

    def test_a_fixed_leak_is_an_unexpected_success(self) -> None:
        class Suite(leaktest.LeakCheckedTestCase):
            @leaktest.expected_leak(reason="fixed since")
            def test(self) -> None:
                pass

        result = unittest.TestResult()
        Suite("test").run(result)
        self.assertFalse(result.wasSuccessful())
        self.assertEqual(len(result.unexpectedSuccesses), 1)


if __name__ == "__main__":
    unittest.main()
