"""Every private attribute of IsolatedAsyncioTestCase that leaktest uses.

Apart from _compat.py because it imports asyncio (through `unittest.async_case`):
only an asynchronous test brings it in. One small function (or hook class) each:

- 3.11+ `_asyncioRunner`, `_callAsync`, `_setupAsyncioRunner`,
  `_tearDownAsyncioRunner`; 3.10 `_asyncioTestLoop`, `_callAsync`,
  `_setupAsyncioLoop`, `_tearDownAsyncioLoop`, `_asyncioCallsTask`: `LoopSteps`,
  `hook_loop_steps`, `create_test_loop`, `calls_task`, `run_in_test_loop`,
  `test_loop_closer`.
"""

from __future__ import annotations

import contextlib
import sys
import unittest
import unittest.async_case
from collections.abc import Callable, Coroutine

from .probes import event_loops

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__unittest = True  # hide these frames from unittest tracebacks
__tracebackhide__ = True  # and from pytest ones


def run_in_test_loop(test: unittest.IsolatedAsyncioTestCase, func: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """Run `func()` to completion on the test's loop, as the base class runs `asyncSetUp`.

    3.11+: `asyncio.Runner.run` through `_callAsync`, in the test's context; the
    check runs in a task of its own, which the task probe skips as the current task.
    3.10: `_callAsync` hands it to the base class's runner task `_asyncioCallsTask`,
    the current task there as well.
    """
    if sys.version_info >= (3, 11):
        if getattr(test, "_asyncioRunner", None) is not None:
            test._callAsync(func)  # type: ignore[attr-defined]
    elif getattr(test, "_asyncioTestLoop", None) is not None:
        test._callAsync(func)  # type: ignore[attr-defined]


def test_loop_closer(test: unittest.IsolatedAsyncioTestCase) -> Callable[[], None]:
    """What tears the base class's loop down now; its `run()` tries again afterwards.

    3.11+: the bound `_tearDownAsyncioRunner`, whose `asyncio.Runner.close()` is
    idempotent, called with no frame of leaktest's of its own: in debug mode, each frame
    on the stack is extracted into the source traceback of every task and callback the
    closing makes. 3.10: `_tearDownAsyncioLoop()` asserts the loop still exists, so the
    second call is disarmed once, on the instance.
    """
    if sys.version_info >= (3, 11):
        if getattr(test, "_asyncioRunner", None) is None:
            return _nothing
        closer: Callable[[], None] = test._tearDownAsyncioRunner  # type: ignore[attr-defined]
    elif getattr(test, "_asyncioTestLoop", None) is None:
        return _nothing
    else:

        def closer() -> None:
            test._tearDownAsyncioLoop()  # type: ignore[attr-defined]

            def skip_once() -> None:
                del test._tearDownAsyncioLoop  # type: ignore[attr-defined]

            vars(test)["_tearDownAsyncioLoop"] = skip_once

    return closer


def _nothing() -> None:
    """A test whose loop is gone already has nothing to close."""


#: IsolatedAsyncioTestCase's first step in `run()`: 3.11+ its `asyncio.Runner`'s
#: set-up, 3.10 its loop's.
_SET_UP = "_setupAsyncioRunner" if sys.version_info >= (3, 11) else "_setupAsyncioLoop"


class LoopSteps(unittest.IsolatedAsyncioTestCase):
    """IsolatedAsyncioTestCase's private loop set-up, between two public hooks.

    Hooked there rather than around `run()`: in the debug mode the base class
    turns on, every task and future records the whole stack, so a frame of
    leaktest's around the test would be paid for by every task the test makes.
    """

    def leaktest_loop_starting(self) -> None:
        """Called first in `run()` (and `debug()`), before the loop or runner is set up."""

    def leaktest_loop_ready(self) -> None:
        """Called once the loop (3.10) or the runner (3.11+) exists, before `setUp`."""


#: Around that step: 3.10's makes the test's loop (`event_loops.made_for_a_test`);
#: 3.11+'s makes only the runner, whose loop `create_test_loop` makes.
_MAKING_THE_LOOP: contextlib.AbstractContextManager[None] = (
    contextlib.nullcontext() if sys.version_info >= (3, 11) else event_loops.made_for_a_test
)


def _set_up(test: LoopSteps) -> None:
    test.leaktest_loop_starting()
    with _MAKING_THE_LOOP:
        getattr(super(LoopSteps, test), _SET_UP)()
    test.leaktest_loop_ready()


setattr(LoopSteps, _SET_UP, _set_up)


def hook_loop_steps(
    test: unittest.IsolatedAsyncioTestCase, starting: Callable[[], None], ready: Callable[[], None]
) -> None:
    """`LoopSteps` for one instance of a plain IsolatedAsyncioTestCase."""
    set_up = getattr(test, _SET_UP)

    def set_up_hooked() -> None:
        starting()
        with _MAKING_THE_LOOP:
            set_up()
        ready()

    setattr(test, _SET_UP, set_up_hooked)


def create_test_loop(test: unittest.IsolatedAsyncioTestCase) -> Any:
    """Make the runner create the test's loop now (3.11+: `asyncio.Runner.get_loop`,
    through `check.adopt_loop`'s `event_loops.made_for_a_test`); 3.10: the loop
    `_setupAsyncioLoop` made (`_asyncioTestLoop`)."""
    if sys.version_info >= (3, 11):
        runner = getattr(test, "_asyncioRunner", None)
        return runner.get_loop() if runner is not None else None
    return getattr(test, "_asyncioTestLoop", None)


def calls_task(test: unittest.IsolatedAsyncioTestCase) -> Any:
    """3.10: the base class's task that runs each step of the test on its loop
    (`_asyncioCallsTask`), pending from `_setupAsyncioLoop` to `_tearDownAsyncioLoop`;
    None on 3.11+, whose runner runs each step as a task of its own."""
    return getattr(test, "_asyncioCallsTask", None)
