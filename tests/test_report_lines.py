"""Every line of a report is true and leads to the test: what a thread runs, who started it."""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging.handlers
import multiprocessing
import queue
import socket
import socketserver
import sys
import threading
import unittest
from typing import Any

import leaktest
from hubs import PreparingThread, TwiceOverriddenThread
from leaktest.report import entry
from support import report, run_tests, verdict


def beat() -> None:
    """A heartbeat's tick (never runs: the timer is cancelled first)."""


class Worker(threading.Thread):
    """A Thread subclass: what it runs is its own `run`."""

    def __init__(self) -> None:
        super().__init__(name="worker")
        self.stopped = threading.Event()

    def run(self) -> None:
        self.serve()

    def serve(self) -> None:
        self.stopped.wait()


def start_worker(workers: list[Worker]) -> None:
    """A library's helper that starts a thread: the innermost frame outside the stdlib."""
    worker = Worker()
    workers.append(worker)
    worker.start()


async def start_waiter() -> asyncio.Task[bool]:
    """Leaves a task pending on the loop that runs this coroutine."""
    return asyncio.get_running_loop().create_task(asyncio.Event().wait(), name="waiter")


def close_loops(loops: list[asyncio.AbstractEventLoop]) -> None:
    for loop in loops:
        tasks = asyncio.all_tasks(loop)
        for task in tasks:
            task.cancel()
        loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
        loop.close()


class WhatTheThreadRuns(leaktest.LeakCheckedTestCase):
    """The head of an entry names the thread's target, unless it is the frame on top."""

    def test_timer_names_its_function_and_interval(self) -> None:
        timers: list[threading.Timer] = []
        self.addCleanup(lambda: [timer.cancel() for timer in timers])

        class Inner(leaktest.LeakCheckedTestCase):
            grace_period = 0

            def test(self) -> None:
                timers.append(threading.Timer(3600, beat))
                timers[0].start()

        result = run_tests(Inner, "test")
        self.assertEqual(verdict(result), "FAIL")
        self.assertIn("running threading.Timer(3600, test_report_lines.beat) with ", report(result))

    def test_queue_listener_names_its_monitor(self) -> None:
        listeners: list[logging.handlers.QueueListener] = []
        self.addCleanup(lambda: [listener.stop() for listener in listeners])

        class Inner(leaktest.LeakCheckedTestCase):
            grace_period = 0

            def test(self) -> None:
                listeners.append(logging.handlers.QueueListener(queue.Queue()))
                listeners[0].start()

        result = run_tests(Inner, "test")
        self.assertEqual(verdict(result), "FAIL")
        self.assertIn("running logging.handlers.QueueListener._monitor with ", report(result))

    def test_thread_subclass_names_its_run(self) -> None:
        workers: list[Worker] = []
        self.addCleanup(lambda: [(w.stopped.set(), w.join()) for w in workers])

        class Inner(leaktest.LeakCheckedTestCase):
            grace_period = 0

            def test(self) -> None:
                start_worker(workers)

        result = run_tests(Inner, "test")
        self.assertEqual(verdict(result), "FAIL")
        self.assertIn("Thread 'worker' (ident ", report(result))
        self.assertIn("running test_report_lines.Worker.run with test_report_lines.Worker.serve on top", report(result))


class WhoStartedIt(leaktest.LeakCheckedTestCase):
    """ "started by" names the code that did it, and the test that led there."""

    def test_library_helper_and_the_test_frame(self) -> None:
        workers: list[Worker] = []
        self.addCleanup(lambda: [(w.stopped.set(), w.join()) for w in workers])

        class Inner(leaktest.LeakCheckedTestCase):
            grace_period = 0

            def test(self) -> None:
                start_worker(workers)

        text = report(run_tests(Inner, "test"))
        self.assertRegex(
            text,
            r"started by test_report_lines\.start_worker at .*test_report_lines\.py:\d+, "
            r"from test_report_lines\.WhoStartedIt\.test_library_helper_and_the_test_frame"
            r"\.<locals>\.Inner\.test at .*test_report_lines\.py:\d+\]",
        )

    def test_started_by_the_test_itself_names_it_once(self) -> None:
        workers: list[Worker] = []
        self.addCleanup(lambda: [(w.stopped.set(), w.join()) for w in workers])

        class Inner(leaktest.LeakCheckedTestCase):
            grace_period = 0

            def test(self) -> None:
                workers.append(Worker())
                workers[0].start()

        text = report(run_tests(Inner, "test"))
        self.assertRegex(text, r"started by \S+Inner\.test at .*test_report_lines\.py:\d+\]")

    def test_a_subclass_overriding_start_names_the_caller_of_start(self) -> None:
        for kind in (PreparingThread, TwiceOverriddenThread):
            with self.subTest(kind=kind.__name__):
                threads: list[PreparingThread] = []
                lines: list[int] = []

                class Inner(leaktest.LeakCheckedTestCase):
                    grace_period = 0

                    def test(self) -> None:
                        threads.append(kind("preparing"))
                        lines.append(sys._getframe().f_lineno + 1)
                        threads[0].start()

                text = report(run_tests(Inner, "test"))
                threads[0].stop()
                self.assertTrue(threads[0].prepared)
                self.assertNotIn("PreparingThread.start", text)
                self.assertNotIn("TwiceOverriddenThread.start", text)
                self.assertRegex(text, rf"started by \S+Inner\.test at \S+test_report_lines\.py:{lines[0]}\]")

    def test_socketserver_request_thread_names_the_stdlib_caller_and_the_chain(self) -> None:
        entered = threading.Event()
        release = threading.Event()

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                entered.set()
                release.wait()

        server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        serving = threading.Thread(target=server.serve_forever, args=(0.01,), name="serve")
        client = socket.socket()

        def stop() -> None:
            release.set()
            client.close()
            server.shutdown()
            server.server_close()
            serving.join()

        self.addCleanup(stop)

        class Inner(leaktest.LeakCheckedTestCase):
            grace_period = 0

            def test(self) -> None:
                serving.start()
                client.connect(server.server_address)
                entered.wait()

        text = report(run_tests(Inner, "test"))
        self.assertNotIn("outside any Python code", text)
        self.assertRegex(
            text,
            r"started by socketserver\.ThreadingMixIn\.process_request at \S+socketserver\.py:\d+"
            r" in thread 'serve' \(started by \S+Inner\.test at \S+test_report_lines\.py:\d+\)\]",
        )

    def test_multiprocessing_queue_feeder_started_from_a_stdlib_only_thread(self) -> None:
        channel: Any = multiprocessing.Queue()
        producer = threading.Thread(target=channel.put, args=(1,), name="producer")

        def stop() -> None:
            producer.join()
            channel.get()
            channel.close()
            channel.join_thread()

        self.addCleanup(stop)

        class Inner(leaktest.LeakCheckedTestCase):
            grace_period = 0

            def test(self) -> None:
                producer.start()
                producer.join()

        text = report(run_tests(Inner, "test"))
        self.assertIn("Thread 'QueueFeederThread'", text)
        self.assertRegex(
            text,
            r"started by multiprocessing\.queues\.Queue\._start_thread at \S+queues\.py:\d+"
            r" in thread 'producer' \(started by \S+Inner\.test at \S+test_report_lines\.py:\d+\)\]",
        )


class WhereATaskWasCreated(leaktest.LeakCheckedTestCase):
    def test_created_by_names_the_function_fully_without_debug_mode(self) -> None:
        loops: list[asyncio.AbstractEventLoop] = []
        kept: list[asyncio.Task[bool]] = []  # a pending task nothing refers to may be collected
        self.addCleanup(close_loops, loops)

        class Inner(leaktest.LeakCheckedTestCase):
            grace_period = 0

            def test(self) -> None:
                loops.append(asyncio.new_event_loop())
                kept.append(loops[0].run_until_complete(start_waiter()))

        text = report(run_tests(Inner, "test"))
        self.assertIn("[Task 'waiter' ", text)
        self.assertRegex(
            text,
            r"created by test_report_lines\.start_waiter at \S+test_report_lines\.py:\d+, "
            r"from \S+Inner\.test at \S+test_report_lines\.py:\d+\]",
        )


class OneLayout(leaktest.LeakCheckedTestCase):
    """Every entry: the head, its stack two spaces in, where it was started, more lines."""

    def test_the_parts_of_an_entry(self) -> None:
        text = entry("Head:", "started by f at x.py:1", "File x.py\n  code", ["one more"])
        self.assertEqual(text, "Head:\n  File x.py\n    code\n started by f at x.py:1\n one more")

    def test_without_a_stack_or_a_site(self) -> None:
        self.assertEqual(entry("fd 5 -> pipe:[1] still open", None), "fd 5 -> pipe:[1] still open")

    def test_an_exception_in_a_thread_is_laid_out_like_a_leak(self) -> None:
        class Inner(leaktest.LeakCheckedTestCase):
            def test(self) -> None:
                thread = threading.Thread(target=lambda: 1 / 0, name="dividing")
                thread.start()
                thread.join()

        with contextlib.redirect_stderr(io.StringIO()):  # the default excepthook prints it too
            text = report(run_tests(Inner, "test"))
        self.assertRegex(
            text,
            r"\[Thread 'dividing':\n  Traceback \(most recent call last\):\n(  .*\n)+  ZeroDivisionError: [^\n]+\n"
            r" started by \S+Inner\.test at \S+test_report_lines\.py:\d+\]",
        )


class Counts(leaktest.LeakCheckedTestCase):
    def test_pending_task_on_a_closed_loop_is_counted(self) -> None:
        kept: list[asyncio.Task[bool]] = []
        self.addCleanup(kept.clear)

        class Inner(leaktest.LeakCheckedTestCase):
            def test(self) -> None:
                loop = asyncio.new_event_loop()
                loop.set_exception_handler(lambda loop, context: None)  # the GC's message later
                kept.append(loop.run_until_complete(start_waiter()))
                loop.close()

        text = report(run_tests(Inner, "test"))
        self.assertIn("[Task 'waiter' ", text)
        self.assertIn("on closed loop", text)
        self.assertIn("tasks 0 -> 1", text)


if __name__ == "__main__":
    unittest.main()
