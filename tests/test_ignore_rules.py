"""`ignore_started_by` (by the stack that started it) and `ignore_processes` (command lines)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import subprocess
import sys
import threading
import unittest

import leaktest
from hubs import Hub
from support import FAST, leaktest_run, report, run_tests, verdict

# Reads stdin until it closes: released by closing its stdin, no sleep involved.
READS_STDIN = [sys.executable, "-c", "import sys; sys.stdin.read()  # leaktest-helper"]


def vendor_start(hub: Hub) -> None:
    """A library function that starts a thread for its caller."""
    hub.start()


class VendorPool:
    def spawn(self) -> subprocess.Popen[bytes]:
        return subprocess.Popen(READS_STDIN, stdin=subprocess.PIPE)


async def forever() -> None:
    await asyncio.Event().wait()


def vendor_task(name: str) -> asyncio.Task[None]:
    return asyncio.get_running_loop().create_task(forever(), name=name)


class StartedByTestCase(leaktest.LeakCheckedTestCase):
    def hub(self, name: str) -> Hub:
        hub = Hub(name)
        self.addCleanup(hub.stop)
        return hub

    def child_of(self, popens: list[subprocess.Popen[bytes]]) -> None:
        """Stop what the inner test leaves, once it has been judged."""

        def stop() -> None:
            for popen in popens:
                assert popen.stdin is not None
                popen.stdin.close()
                popen.wait()

        self.addCleanup(stop)


class IgnoreStartedBy(StartedByTestCase):
    def test_threads_by_function_object_and_by_name(self) -> None:
        for rule in (vendor_start, f"{__name__}.vendor_start"):
            with self.subTest(rule=rule):
                ignored, reported = self.hub("started-by-vendor"), self.hub("started-directly")

                class Inner(leaktest.LeakCheckedTestCase):
                    ignore_started_by = [rule]
                    grace_period = 0

                    def test(self) -> None:
                        vendor_start(ignored)
                        reported.start()

                result = run_tests(Inner, "test")
                self.assertEqual(verdict(result), "FAIL")
                self.assertIn("Thread 'started-directly'", report(result))
                self.assertNotIn("started-by-vendor", report(result))

    def test_anywhere_in_the_starting_stack_a_library_pool(self) -> None:
        pools: list[concurrent.futures.ThreadPoolExecutor] = []
        self.addCleanup(lambda: [pool.shutdown() for pool in pools])
        release = threading.Event()
        self.addCleanup(release.set)

        class Inner(leaktest.LeakCheckedTestCase):
            ignore_started_by = [concurrent.futures.ThreadPoolExecutor.submit]
            grace_period = 0

            def test(self) -> None:
                pools.append(concurrent.futures.ThreadPoolExecutor(thread_name_prefix="vendor-pool"))
                pools[0].submit(release.wait)

        self.assertEqual(verdict(run_tests(Inner, "test")), "ok")

    def test_tasks(self) -> None:
        tasks: list[asyncio.Task[None]] = []  # referenced: never "destroyed while pending"

        class Inner(leaktest.LeakCheckedAsyncTestCase):
            ignore_started_by = [vendor_task]
            grace_period = 0

            async def test(self) -> None:
                tasks.append(vendor_task("vendor-task"))
                tasks.append(asyncio.create_task(forever(), name="own-task"))

        result = run_tests(Inner, "test")
        self.assertEqual(verdict(result), "FAIL")
        self.assertIn("Task 'own-task'", report(result))
        self.assertNotIn("vendor-task", report(result))

    def test_processes_by_method(self) -> None:
        popens: list[subprocess.Popen[bytes]] = []
        self.child_of(popens)

        class Inner(leaktest.LeakCheckedTestCase):
            ignore_started_by = ["test_ignore_rules.VendorPool.spawn"]
            grace_period = 0

            def test(self) -> None:
                popens.append(VendorPool().spawn())

        self.assertEqual(verdict(run_tests(Inner, "test")), "ok")

    def test_the_function_it_runs_is_not_what_started_it(self) -> None:
        hub = self.hub("runs-hub-run")

        class Inner(leaktest.LeakCheckedTestCase):
            ignore_started_by = [Hub.run]  # what the thread runs, not what started it
            grace_period = 0

            def test(self) -> None:
                hub.start()

        self.assertEqual(verdict(run_tests(Inner, "test")), "FAIL")

    def test_bad_entries_fail_at_class_definition(self) -> None:
        with self.assertRaises(TypeError) as caught:
            type("BadStartedBy", (leaktest.LeakCheckedTestCase,), {"ignore_started_by": "vendor.start"})
        self.assertIn("BadStartedBy: ignore_started_by", str(caught.exception))


class IgnoreProcesses(StartedByTestCase):
    def test_matching_command_lines_are_ignored(self) -> None:
        popens: list[subprocess.Popen[bytes]] = []
        self.child_of(popens)

        class Inner(leaktest.LeakCheckedTestCase):
            ignore_processes = ["*sys.stdin.read()*leaktest-helper*"]
            grace_period = 0

            def test(self) -> None:
                popens.append(subprocess.Popen(READS_STDIN, stdin=subprocess.PIPE))

        self.assertEqual(verdict(run_tests(Inner, "test")), "ok")

    def test_others_are_reported(self) -> None:
        popens: list[subprocess.Popen[bytes]] = []
        self.child_of(popens)

        class Inner(leaktest.LeakCheckedTestCase):
            ignore_processes = ["*other-helper*"]
            grace_period = 0

            def test(self) -> None:
                popens.append(subprocess.Popen(READS_STDIN, stdin=subprocess.PIPE))

        result = run_tests(Inner, "test")
        self.assertEqual(verdict(result), "FAIL")
        self.assertIn("# leaktest-helper", report(result))

    def test_bad_entries_fail_at_class_definition(self) -> None:
        with self.assertRaises(TypeError) as caught:
            type("BadProcesses", (leaktest.LeakCheckedTestCase,), {"ignore_processes": [len]})
        self.assertIn("BadProcesses: ignore_processes", str(caught.exception))


class RunnerOptions(unittest.TestCase):
    def test_ignore_started_by_and_ignore_process(self) -> None:
        name = "suites.sample_leaky.PlainLeak"
        self.assertEqual(leaktest_run(*FAST, name).returncode, 1)
        checked = leaktest_run(*FAST, "--ignore-started-by", "suites.sample_leaky.leak", name)
        self.assertEqual(checked.returncode, 0, checked.stderr)
        checked = leaktest_run(*FAST, "--ignore-process", "*", name)
        self.assertEqual(checked.returncode, 1, checked.stderr)  # a thread is not a process


if __name__ == "__main__":
    unittest.main()
