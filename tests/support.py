"""Helpers for leaktest's own tests: run an inner test case and look at its verdict."""

from __future__ import annotations

import unittest


def run_tests(case: type[unittest.TestCase], *names: str) -> unittest.TestResult:
    """Run the named tests of `case` (all of them when none is named) in one suite."""
    loader = unittest.TestLoader()
    if names:
        suite = unittest.TestSuite(case(name) for name in names)
    else:
        suite = loader.loadTestsFromTestCase(case)
    result = unittest.TestResult()
    suite.run(result)
    return result


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
