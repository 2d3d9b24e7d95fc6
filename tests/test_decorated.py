"""Ignore rules and reports name the function the user wrote, not its decorator's wrapper."""

from __future__ import annotations

import unittest

import leaktest
from decorated import Collector, Reporter
from support import report, run_tests, verdict


class DecoratedFunctions(leaktest.LeakCheckedTestCase):
    def leak_in(self, case: type[leaktest.LeakCheckedTestCase], hub: Reporter) -> unittest.TestResult:
        self.addCleanup(hub.stop)

        class Inner(case):  # type: ignore[valid-type, misc]
            grace_period = 0

            def test(self) -> None:
                hub.thread.start()

        return run_tests(Inner, "test")

    def test_top_rule_given_the_decorated_method_matches_it(self) -> None:
        class Case(leaktest.LeakCheckedTestCase):
            ignore_top_functions = [Reporter.run]

        self.assertEqual(verdict(self.leak_in(Case, Reporter("reporter"))), "ok")

    def test_top_rule_given_its_name_matches_it(self) -> None:
        class Case(leaktest.LeakCheckedTestCase):
            ignore_top_functions = ["decorated.Reporter.run"]

        self.assertEqual(verdict(self.leak_in(Case, Reporter("reporter"))), "ok")

    def test_any_rule_does_not_hide_other_functions_of_the_same_decorator(self) -> None:
        class Case(leaktest.LeakCheckedTestCase):
            ignore_any_functions = [Reporter.run]

        result = self.leak_in(Case, Collector("collector"))
        self.assertEqual(verdict(result), "FAIL")
        self.assertIn("Thread 'collector'", report(result))

    def test_report_names_the_method_with_its_class(self) -> None:
        result = self.leak_in(leaktest.LeakCheckedTestCase, Collector("collector"))
        self.assertIn("with decorated.Collector.run on top of the stack:", report(result))


if __name__ == "__main__":
    unittest.main()
