"""`cleanup_leaks`: after the report, end what can be ended; the report still shows it."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import threading
import unittest
from collections.abc import Callable

import leaktest
from hubs import Hub
from support import report, run_tests, verdict

WAIT = 10.0  # seconds; reached only when a test is failing anyway
SLEEPER = [sys.executable, "-c", "import sys; sys.stdin.read()"]  # ends when stdin closes, or by a signal


class CleanupLeaks(leaktest.LeakCheckedTestCase):
    def run_leaking(self, cleanup: bool, body: Callable[[], object]) -> unittest.TestResult:
        def test(_: unittest.TestCase) -> None:
            body()

        Inner = type(
            "Inner", (leaktest.LeakCheckedTestCase,), {"cleanup_leaks": cleanup, "grace_period": 0, "test": test}
        )
        return run_tests(Inner, "test")

    def test_timer_is_cancelled_after_the_report(self) -> None:
        timer = threading.Timer(3600, print)
        self.addCleanup(timer.cancel)
        result = self.run_leaking(True, timer.start)
        self.assertEqual(verdict(result), "FAIL")
        self.assertIn("[Thread 'Thread-", report(result))  # reported as it was
        self.assertIn(f"cleanup_leaks: cancelled Timer {timer.name!r}", report(result))
        timer.join(WAIT)
        self.assertFalse(timer.is_alive())

    def test_without_the_option_nothing_is_touched(self) -> None:
        timer = threading.Timer(3600, print)
        self.addCleanup(timer.join)
        self.addCleanup(timer.cancel)
        result = self.run_leaking(False, timer.start)
        self.assertNotIn("cleanup_leaks", report(result))
        self.assertFalse(timer.finished.is_set())

    def test_threads_cannot_be_killed_and_the_report_says_so(self) -> None:
        hub = Hub("unkillable")
        self.addCleanup(hub.stop)
        result = self.run_leaking(True, hub.start)
        self.assertIn("threads cannot be killed in Python, left running: Thread 'unkillable'", report(result))
        self.assertTrue(hub.thread.is_alive())

    def test_child_is_terminated_and_reaped(self) -> None:
        popens: list[subprocess.Popen[bytes]] = []

        def spawn() -> None:
            popens.append(subprocess.Popen(SLEEPER, stdin=subprocess.PIPE))

        def close_stdin() -> None:
            for popen in popens:
                assert popen.stdin is not None
                popen.stdin.close()

        self.addCleanup(close_stdin)
        result = self.run_leaking(True, spawn)
        pid = popens[0].pid
        self.assertIn(f"[Process {pid} (running)", report(result))
        self.assertIn(f"cleanup_leaks: terminated and reaped Process {pid}", report(result))
        with self.assertRaises(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)  # already reaped: nothing left to wait for
        popens[0].wait(WAIT)  # the owner's own wait still returns

    def test_task_on_a_loop_in_another_thread_is_cancelled(self) -> None:
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, name="loop-thread")
        thread.start()

        def stop_loop() -> None:
            loop.call_soon_threadsafe(loop.stop)
            thread.join()
            loop.close()

        self.addCleanup(stop_loop)
        tasks: list[asyncio.Task[None]] = []

        async def create() -> None:
            tasks.append(asyncio.create_task(asyncio.Event().wait(), name="remote-task"))

        result = self.run_leaking(True, lambda: asyncio.run_coroutine_threadsafe(create(), loop).result(WAIT))
        self.assertIn("cleanup_leaks: cancelled Task 'remote-task'", report(result))
        asyncio.run_coroutine_threadsafe(asyncio.wait(tasks), loop).result(WAIT)
        self.assertTrue(tasks[0].cancelled())

    def test_socket_is_closed(self) -> None:
        sockets: list[socket.socket] = []
        self.addCleanup(lambda: [sock.close() for sock in sockets])
        result = self.run_leaking(True, lambda: sockets.append(socket.socket()))
        self.assertIn("found unexpected sockets:", report(result))
        self.assertIn("cleanup_leaks: closed the sockets fd", report(result))
        self.assertEqual(sockets[0].fileno(), -1)

    def test_loop_is_closed(self) -> None:
        loops: list[asyncio.AbstractEventLoop] = []
        self.addCleanup(lambda: [loop.close() for loop in loops])
        result = self.run_leaking(True, lambda: loops.append(asyncio.new_event_loop()))
        self.assertIn("cleanup_leaks: closed 1 event loop", report(result))
        self.assertTrue(loops[0].is_closed())

    def test_pending_handle_is_cancelled(self) -> None:
        loops: list[asyncio.AbstractEventLoop] = []
        handles: list[asyncio.TimerHandle] = []
        self.addCleanup(lambda: [loop.close() for loop in loops])

        def schedule() -> None:
            loops.append(asyncio.new_event_loop())
            handles.append(loops[0].call_later(3600, print))

        result = self.run_leaking(True, schedule)
        self.assertIn("cleanup_leaks: cancelled the callbacks", report(result))
        self.assertTrue(handles[0].cancelled())


if __name__ == "__main__":
    unittest.main()
