"""Every private attribute of unittest and IsolatedAsyncioTestCase that leaktest uses.

One small function (or hook class) each, with the Python versions it was read
on: a new Python release means reading this file (and probes/tasks.py for
asyncio's own privates).

- `TestCase._outcome`, `_Outcome.testPartExecutor`, `_Outcome.success`
  (3.10-3.15): `outcome_of`, `record_in_outcome`, `outcome_success`,
  `outcome_reported` (`TestCase.run` adds a success only while `success` holds).
- `TestCase.tearDown_exceptions`, filled by `doClassCleanups` (3.10-3.15):
  `add_class_teardown_error`.
- `_Outcome.result` (3.10-3.15): `outcome_result`.
- IsolatedAsyncioTestCase's loop steps: in _async_compat.py, which imports
  asyncio; here only `is_async_test_class`, which does not (unittest imports
  `unittest.async_case` on first access of `unittest.IsolatedAsyncioTestCase`).
- The skip decorators' `__unittest_skip__` (3.10-3.15): `skipped`.
- TestSuite's fixture steps `_handleClassSetUp`, `_tearDownPreviousClass`,
  `_handleModuleFixture`, `_handleModuleTearDown`, `_get_previous_module`,
  `_createClassOrModuleLevelException`, and the result's `_previousTestClass`,
  `_moduleSetUpFailed`, the class's `_classSetupFailed` (3.10-3.15):
  `FixtureSteps`, `previous_test_class`, `module_setup_failed`,
  `class_setup_failed`, `previous_module`, `add_fixture_error`.
- TestProgram's `_getParentArgParser`, `_print_help`, `_main_parser`
  (3.10-3.15): `ProgramSteps`, `usage_error`.
- `unittest.main._NO_TESTS_EXITCODE` (3.12-3.15; none before): `exit_status`.
"""

from __future__ import annotations

import sys
import unittest
from contextlib import AbstractContextManager
from types import TracebackType

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, TypeGuard

__unittest = True  # hide these frames from unittest tracebacks
__tracebackhide__ = True  # and from pytest ones

ExcInfo = tuple[type[BaseException], BaseException, TracebackType]


# -- one test's outcome (3.10-3.15) ---------------------------------------------


def outcome_of(test: object) -> Any | None:
    """The `_Outcome` of a running test; None outside `TestCase.run`."""
    return getattr(test, "_outcome", None)


def record_in_outcome(outcome: Any, test: object) -> AbstractContextManager[None]:
    """A block whose exception unittest records as it records the test's own."""
    executor: AbstractContextManager[None] = outcome.testPartExecutor(test)
    return executor


def outcome_success(outcome: Any) -> bool:
    return bool(outcome.success)


def outcome_reported(outcome: Any) -> None:
    """The verdict was given already (an expected failure, an unexpected success):
    `TestCase.run` must not add a success of its own."""
    outcome.success = False


def outcome_result(outcome: Any) -> unittest.TestResult:
    """The result the running test reports to (`TestCase.run` made one if given none)."""
    result: unittest.TestResult = outcome.result
    return result


def add_class_teardown_error(cls: type, info: Any) -> None:
    """Report `info` as an error of the class's teardown (read by `doClassCleanups`' caller)."""
    cls.tearDown_exceptions.append(info)  # type: ignore[attr-defined]


def is_async_test_class(cls: type) -> bool:
    """Whether `cls` is an IsolatedAsyncioTestCase, without importing asyncio: a class
    can only be one once `unittest.async_case` is imported (3.10-3.15)."""
    async_case = sys.modules.get("unittest.async_case")
    return async_case is not None and issubclass(cls, async_case.IsolatedAsyncioTestCase)


def is_async_test(test: object) -> TypeGuard[unittest.IsolatedAsyncioTestCase]:
    return is_async_test_class(type(test))


def skipped(test: object, method: object) -> bool:
    """Whether `TestCase.run` will skip the test before its `setUp` (a skip decorator on
    its method or its class: their `__unittest_skip__`), so that no `doCleanups` follows."""
    return bool(getattr(method, "__unittest_skip__", False) or getattr(type(test), "__unittest_skip__", False))


# -- TestSuite's class and module fixtures (3.10-3.15) ----------------------------


class FixtureSteps(unittest.TestSuite):
    """TestSuite's private fixture steps, as public methods a subclass may extend.

    Each `leaktest_*` method does what the private step does; call `super()`.
    """

    def _handleClassSetUp(self, test: unittest.TestCase, result: unittest.TestResult) -> None:
        self.leaktest_class_setup(test, result)

    def _tearDownPreviousClass(self, test: unittest.TestCase | None, result: unittest.TestResult) -> None:
        self.leaktest_previous_class_teardown(test, result)

    def _handleModuleFixture(self, test: unittest.TestCase, result: unittest.TestResult) -> None:
        self.leaktest_module_setup(test, result)

    def _handleModuleTearDown(self, result: unittest.TestResult) -> None:
        self.leaktest_module_teardown(result)

    def leaktest_class_setup(self, test: unittest.TestCase, result: unittest.TestResult) -> None:
        super()._handleClassSetUp(test, result)  # type: ignore[misc]

    def leaktest_previous_class_teardown(self, test: unittest.TestCase | None, result: unittest.TestResult) -> None:
        super()._tearDownPreviousClass(test, result)  # type: ignore[misc]

    def leaktest_module_setup(self, test: unittest.TestCase, result: unittest.TestResult) -> None:
        super()._handleModuleFixture(test, result)  # type: ignore[misc]

    def leaktest_module_teardown(self, result: unittest.TestResult) -> None:
        super()._handleModuleTearDown(result)  # type: ignore[misc]


def previous_test_class(result: unittest.TestResult) -> type | None:
    previous: type | None = getattr(result, "_previousTestClass", None)
    return previous


def module_setup_failed(result: unittest.TestResult) -> bool:
    return bool(getattr(result, "_moduleSetUpFailed", False))


def class_setup_failed(cls: type) -> bool:
    return bool(getattr(cls, "_classSetupFailed", False))


def previous_module(suite: unittest.TestSuite, result: unittest.TestResult) -> str | None:
    previous: str | None = suite._get_previous_module(result)  # type: ignore[attr-defined]
    return previous


def add_fixture_error(
    suite: unittest.TestSuite,
    result: unittest.TestResult,
    error: BaseException,
    method: str,
    parent: str,
    info: Any,
) -> None:
    """Report `error` as unittest reports a failing fixture: "method (parent)"."""
    suite._createClassOrModuleLevelException(  # type: ignore[attr-defined]
        result, error, method, parent, info=info
    )


# -- TestProgram (3.10-3.15) -----------------------------------------------------


class ProgramSteps(unittest.TestProgram):
    """TestProgram's private argument-parser steps, as public methods."""

    def _getParentArgParser(self) -> Any:
        parser = super()._getParentArgParser()  # type: ignore[misc]
        self.leaktest_add_arguments(parser)
        return parser

    def _print_help(self, *args: Any, **kwargs: Any) -> None:
        self.leaktest_print_help()
        super()._print_help(*args, **kwargs)  # type: ignore[misc]

    def leaktest_add_arguments(self, parser: Any) -> None:
        """Add options to the parser every unittest sub-command shares."""

    def leaktest_print_help(self) -> None:
        """Print what comes before unittest's help."""


def exit_status(result: unittest.TestResult) -> int:
    """The status `unittest.main` exits with after `result`: 1 for a failure; 3.12+
    `_NO_TESTS_EXITCODE` (5) when no test ran and none was skipped."""
    no_tests: int | None = getattr(sys.modules["unittest.main"], "_NO_TESTS_EXITCODE", None)
    if no_tests is not None and result.testsRun == 0 and not result.skipped:
        return no_tests
    return 0 if result.wasSuccessful() else 1


def usage_error(program: unittest.TestProgram, message: str) -> None:
    """Exit with status 2 and `message`, as argparse does for a bad argument."""
    program._main_parser.error(message)  # type: ignore[attr-defined]
