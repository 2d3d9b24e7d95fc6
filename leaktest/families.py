"""The TestCase families whose life cycle does not end where leaktest's check runs.

leaktest checks at the end of unittest's `doCleanups`, inside the test's outcome.
Two families end elsewhere; each is recognised by its class, looked up in
`sys.modules` and never imported (a test of the family means the framework is
loaded already; leaktest stays stdlib-only), and read on the versions named:

- Twisted trial's `SynchronousTestCase` (Twisted 24.11-26.10; not its
  asynchronous `TestCase`, see `asynchronous_trial_class`) has its own
  `run()`: `setUp`, the test, trial's own cleanups, then `tearDown`, reported to
  its own result, with no `_Outcome` or `doCleanups`. The check is made the end
  of its `tearDown` step: trial looks `self.tearDown` up when it calls it (only
  when `setUp` succeeded), so an instance attribute wraps the class's for one
  run, and a leak is raised as the test's `failureException`, which trial reports
  as the test's FAIL. Public names only: `checked_after_teardown`, `as_failure`.
- Django's `SimpleTestCase` (Django 4.2-6.1) tears down after unittest's `run()`:
  its private `_setup_and_call` calls `_post_teardown()` (the rollback or flush,
  closing the connections a TransactionTestCase's test opened) once `run()` has
  returned, unless the test was skipped. That teardown is run at the end of
  `doCleanups` instead, before the check, and the later call made a no-op:
  `tear_down_now`.
- tornado's `AsyncTestCase` (tornado 6.5-6.6) cancels, without a word, every
  task still pending on its IOLoop's asyncio loop at the start of its
  `tearDown`, after the user's and `AsyncHTTPTestCase`'s, then closes the loop.
  The in-loop probes (tasks) are checked just before, on that loop through the
  public `IOLoop.run_sync`: for one run, `AsyncTestCase.tearDown` is wrapped on
  the class (what `super().tearDown()` reaches; an instance attribute would
  come before the user's `tearDown`), the wrapper acting for that test only:
  `checked_before_cancelled`, `cancelling_tear_down`, `io_loop_of`. The rest is
  checked at the end of `doCleanups`, as for any test.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Coroutine, Iterator

from .report import LeakError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, TypeAlias

__unittest = True  # hide these frames from unittest tracebacks
__tracebackhide__ = True  # and from pytest ones

TRIAL_MODULE = "twisted.trial.unittest"
DJANGO_MODULE = "django.test"
TORNADO_MODULE = "tornado.testing"


def runs_its_own_way(cls: type) -> bool:
    """Whether the tests of `cls` are synchronous trial tests (it derives from trial's
    `SynchronousTestCase`, not from its asynchronous `TestCase`)."""
    trial = sys.modules.get(TRIAL_MODULE)
    return trial is not None and issubclass(cls, trial.SynchronousTestCase) and not issubclass(cls, trial.TestCase)


def asynchronous_trial_class(cls: type) -> bool:
    """Whether `cls` derives from trial's asynchronous `TestCase`, whose `setUp`, test,
    cleanups and `tearDown` may return Deferreds run by the reactor: the end of its
    `tearDown` call is not the end of its teardown, and leaktest has no hook there."""
    trial = sys.modules.get(TRIAL_MODULE)
    return trial is not None and issubclass(cls, trial.TestCase)


@contextlib.contextmanager
def checked_after_teardown(test: Any, result: Any, check: Callable[[], None]) -> Iterator[None]:
    """Within the block (one run of `test`), `check()` runs at the end of its `tearDown` step.

    A leak is raised as the test's `failureException` (trial's `FailTest`), so
    trial records a FAIL; when `tearDown` itself raised, that error is the one
    trial records, and the leak is added to `result` as a failure of its own.
    """
    tear_down = test.tearDown

    def tear_down_then_check() -> None:
        del test.tearDown  # this run only
        try:
            tear_down()
        except BaseException:
            try:
                check()
            except LeakError as leak:
                try:
                    raise as_failure(test, leak) from None
                except LeakError:
                    result.addFailure(test, sys.exc_info())
            raise
        try:
            check()
        except LeakError as leak:
            raise as_failure(test, leak) from None

    test.tearDown = tear_down_then_check
    try:
        yield
    finally:  # setUp failed: trial called no tearDown
        if vars(test).get("tearDown") is tear_down_then_check:
            del test.tearDown


_FAILURE_CLASSES: dict[type[BaseException], type[LeakError]] = {}


def as_failure(test: Any, leak: LeakError) -> LeakError:
    """`leak` as an instance of the test's `failureException` too (a LeakError still)."""
    failure: type[BaseException] = test.failureException
    if isinstance(leak, failure):
        return leak
    cls = _FAILURE_CLASSES.get(failure)
    if cls is None:
        cls = type(LeakError.__name__, (LeakError, failure), {"__module__": LeakError.__module__})
        _FAILURE_CLASSES[failure] = cls
    return cls(str(leak), leak.leaks)


def tears_down_after_run(test: object) -> bool:
    """Whether `test` is a Django test (its class derives from Django's `SimpleTestCase`)."""
    django = sys.modules.get(DJANGO_MODULE)
    return django is not None and isinstance(test, django.SimpleTestCase)


def tear_down_now(test: Any) -> None:
    """Run Django's `_post_teardown` now; the call Django makes after `run()` does nothing."""
    post_teardown = test._post_teardown

    def done_already() -> None:
        del test._post_teardown

    test._post_teardown = done_already
    post_teardown()


def cancels_pending_tasks(cls: type) -> bool:
    """Whether the tests of `cls` are tornado tests (it derives from tornado's `AsyncTestCase`)."""
    tornado = sys.modules.get(TORNADO_MODULE)
    return tornado is not None and issubclass(cls, tornado.AsyncTestCase)


RunInLoop: TypeAlias = "Callable[[Callable[[], Coroutine[Any, Any, None]]], None]"


@contextlib.contextmanager
def checked_before_cancelled(test: Any, check: Callable[[RunInLoop], None]) -> Iterator[None]:
    """Within the block (one run of `test`), `check(run_in_loop)` runs as tornado's
    `AsyncTestCase.tearDown` begins, before it cancels the pending tasks."""
    cls, tear_down = cancelling_tear_down()

    def check_then_tear_down(self: Any) -> None:
        if self is test:
            check(io_loop_of(self).run_sync)
        tear_down(self)

    cls.tearDown = check_then_tear_down
    try:
        yield
    finally:
        cls.tearDown = tear_down  # an enclosing run's wrapper, if any


def cancelling_tear_down() -> tuple[Any, Callable[[Any], None]]:
    """tornado's `AsyncTestCase` and its own `tearDown`, the one that cancels the tasks."""
    cls = sys.modules[TORNADO_MODULE].AsyncTestCase
    tear_down: Callable[[Any], None] = vars(cls)["tearDown"]
    return cls, tear_down


def io_loop_of(test: Any) -> Any:
    """The test's IOLoop, made by `AsyncTestCase.setUp` (the attribute tornado documents)."""
    return test.io_loop
