"""Where a socket, task or thread was made, named from what its hook kept: the code that
asked, the test that was running (not a wrapper every test shares), the stdlib function
it went through; and nothing kept alive for it."""

from __future__ import annotations

import asyncio
import functools
import gc
import multiprocessing
import os
import socket
import sys
import threading
import unittest
import weakref
from collections.abc import Callable, Coroutine
from typing import Any

import leaktest
from leaktest import stacks
from support import report, run_tests, verdict

#: What the inner tests leave open on purpose; closed by the outer test's cleanup.
HELD: list[Any] = []


async def settle(tasks: set[asyncio.Task[Any]]) -> None:
    """Wait for cancelled `tasks` on their own loop (3.10's gather outside it takes another)."""
    await asyncio.gather(*tasks, return_exceptions=True)


def close_held() -> None:
    while HELD:
        item = HELD.pop()
        if isinstance(item, asyncio.AbstractEventLoop):
            tasks = asyncio.all_tasks(item)
            for task in tasks:
                task.cancel()
            item.run_until_complete(settle(tasks))
            item.close()
        else:
            item.close()


def asynctest(test: Callable[[Any], Coroutine[Any, Any, None]]) -> Callable[[Any], None]:
    """A suite's shared helper running each async test on a loop of its own (as many
    suites' `tests/util.py` do): its wrapper frame is under every test."""

    @functools.wraps(test)
    def async_wrapper(self: Any) -> None:
        loop = asyncio.new_event_loop()
        HELD.append(loop)
        loop.run_until_complete(test(self))

    return async_wrapper


def serve_in_a_callback(loop: asyncio.AbstractEventLoop, served: asyncio.Event) -> None:
    """A library's server side: called by the loop, so no test frame is on its stack."""
    loop.create_task(asyncio.Event().wait(), name="served")
    served.set()


def open_socket_here() -> socket.socket:
    """A library's helper making a socket; a local the socket must not keep alive."""
    witness = Witness()
    WITNESSES.append(weakref.ref(witness))
    sock = socket.socket()
    HELD.append(sock)
    return sock


class Witness:
    pass


WITNESSES: list[weakref.ref[Witness]] = []


class FromNamesTheRunningTest(leaktest.LeakCheckedTestCase):
    def setUp(self) -> None:
        self.addCleanup(close_held)

    def test_a_task_made_by_a_loop_callback_names_the_test_not_the_shared_wrapper(self) -> None:
        class Inner(leaktest.LeakCheckedTestCase):
            grace_period = 0

            @asynctest
            async def test(self) -> None:
                served = asyncio.Event()
                asyncio.get_running_loop().call_soon(serve_in_a_callback, asyncio.get_running_loop(), served)
                await served.wait()

        text = report(run_tests(Inner, "test"))
        self.assertIn("[Task 'served' ", text)
        self.assertRegex(
            text,
            r"created by test_creation_sites\.serve_in_a_callback at \S+test_creation_sites\.py:\d+, "
            r"from \S+Inner\.test at \S+test_creation_sites\.py:\d+\]",
        )
        self.assertNotRegex(text, r"from \S*async_wrapper")
        # The loop is the wrapper's own: it made it, for the test that was running.
        self.assertRegex(text, r"created by \S+\.async_wrapper at \S+:\d+, from \S+Inner\.test at ")

    def test_a_socket_made_by_a_helper_names_the_helper_then_the_tests_line(self) -> None:
        lines: list[int] = []

        class Inner(leaktest.LeakCheckedTestCase):
            def test(self) -> None:
                lines.append(sys._getframe().f_lineno + 1)
                open_socket_here()

        text = report(run_tests(Inner, "test"))
        self.assertRegex(
            text,
            r"created by test_creation_sites\.open_socket_here at \S+test_creation_sites\.py:\d+, "
            rf"from \S+Inner\.test at \S+test_creation_sites\.py:{lines[0]}\]",
        )

    def test_a_socket_made_deep_below_the_test_names_the_tests_first_line(self) -> None:
        lines: list[int] = []

        def nested(levels: int) -> None:
            nested(levels - 1) if levels else open_socket_here()

        class Inner(leaktest.LeakCheckedTestCase):
            def test(self) -> None:
                lines.append(sys._getframe().f_code.co_firstlineno)
                lines.append(sys._getframe().f_lineno + 1)
                nested(10)

        text = report(run_tests(Inner, "test"))
        # Its call's line once a rule of an earlier test made whole stacks kept (`stacks.keep_whole_stacks`).
        self.assertRegex(
            text,
            rf"open_socket_here at \S+, from \S+Inner\.test at \S+test_creation_sites\.py:({lines[0]}|{lines[1]})\]",
        )

    def test_a_socket_made_by_a_thread_of_the_test_names_the_test(self) -> None:
        class Inner(leaktest.LeakCheckedTestCase):
            def test(self) -> None:
                thread = threading.Thread(target=open_socket_here)
                thread.start()
                thread.join()

        text = report(run_tests(Inner, "test"))
        self.assertRegex(text, r"created by test_creation_sites\.open_socket_here at \S+, from \S+Inner\.test at ")

    def test_what_a_class_fixture_makes_names_its_setupclass(self) -> None:
        class Inner(leaktest.LeakCheckedTestCase):
            @classmethod
            def setUpClass(cls) -> None:
                open_socket_here()

            def test(self) -> None:
                pass

        result = run_tests(Inner)
        self.assertEqual(verdict(result), "ERROR")
        self.assertRegex(
            report(result), r"open_socket_here at \S+, from \S+Inner\.setUpClass at \S+test_creation_sites"
        )


class NothingKeptAlive(leaktest.LeakCheckedTestCase):
    def test_a_socket_keeps_no_local_of_the_code_that_made_it(self) -> None:
        self.addCleanup(close_held)
        gc.collect()
        del WITNESSES[:]
        open_socket_here()
        self.assertIsNone(WITNESSES[0]())  # collected by reference counting, no frame kept

    def test_a_task_keeps_no_local_of_the_code_that_made_it(self) -> None:
        async def make() -> None:
            witness = Witness()
            WITNESSES.append(weakref.ref(witness))
            await asyncio.get_running_loop().create_task(asyncio.sleep(0))

        del WITNESSES[:]
        asyncio.run(make())
        self.assertIsNone(WITNESSES[0]())


class ThroughTheStdlib(leaktest.LeakCheckedTestCase):
    def test_a_thread_the_stdlib_starts_in_the_tests_own_thread_names_the_function(self) -> None:
        channels: list[Any] = []

        def stop() -> None:
            channels[0].get()
            channels[0].close()
            channels[0].join_thread()

        self.addCleanup(stop)

        class Inner(leaktest.LeakCheckedTestCase):
            grace_period = 0

            def test(self) -> None:
                channels.append(multiprocessing.Queue())
                channels[0].put(1)  # starts the queue's feeder thread

        text = report(run_tests(Inner, "test"))
        self.assertIn("Thread 'QueueFeederThread'", text)
        self.assertRegex(
            text,
            r"started by \S+Inner\.test at \S+test_creation_sites\.py:\d+"
            r" through multiprocessing\.queues\.Queue\._start_thread\]",
        )


class StdlibTestPackage(leaktest.LeakCheckedTestCase):
    def test_cpythons_test_package_is_test_code(self) -> None:
        stdlib = os.path.dirname(threading.__file__)
        self.assertFalse(stacks.is_stdlib(os.path.join(stdlib, "test", "test_socket.py")))
        self.assertFalse(stacks.is_stdlib(os.path.join(stdlib, "test", "support", "socket_helper.py")))
        self.assertTrue(stacks.is_stdlib(os.path.join(stdlib, "unittest", "case.py")))


if __name__ == "__main__":
    unittest.main()
