"""The child-process check: Popen, os.fork, multiprocessing and asyncio children.

Every inner test runs under its own `unittest.TestResult`; every child an inner
test leaves behind on purpose is killed and waited for by a cleanup of the
outer test, so this suite leaves nothing behind (the outer tests are leak
checked too). Children block on reading a pipe and are released by writing to
it or closing it: no sleep synchronises anything here.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import queue
import re
import subprocess
import sys
import threading
import traceback
import unittest
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import leaktest
from children import wait_for_message
from leaktest.probes import processes
from support import report, run_tests, verdict

LINUX = sys.platform.startswith("linux")

# Reads one line from stdin and exits with it as its status (1 if stdin closes first).
WAITS_FOR_STDIN = ["sh", "-c", 'read code && exit "$code"; exit 1']


def wait_until_exited(pid: int) -> None:
    """Block until child `pid` has exited, leaving it unreaped (a zombie)."""
    os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)


@contextmanager
def fork_allowed() -> Iterator[None]:
    """3.12+ warns about fork() in a process with threads; not the point here."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        yield


class ProcessTestCase(leaktest.LeakCheckedTestCase):
    """Outer tests: keep what inner tests start, and stop it afterwards."""

    def kept_popens(self) -> list[subprocess.Popen[bytes]]:
        """A list inner tests put their Popen objects in; killed and waited for at cleanup."""
        popens: list[subprocess.Popen[bytes]] = []

        def stop() -> None:
            for popen in popens:
                popen.kill()  # a no-op once it has been waited for
                if popen.stdin is not None:
                    popen.stdin.close()
                popen.wait()

        self.addCleanup(stop)
        return popens

    def kept_pids(self) -> list[int]:
        """Pids of forked children inner tests leave; killed and reaped at cleanup."""
        pids: list[int] = []

        def stop() -> None:
            for pid in pids:
                try:
                    os.kill(pid, 9)
                    os.waitpid(pid, 0)
                except (ProcessLookupError, ChildProcessError):  # the test reaped it already
                    pass

        self.addCleanup(stop)
        return pids

    def fork_blocked_child(self, exit_code: int = 0) -> tuple[int, int]:
        """os.fork a child that exits with `exit_code` once its pipe is written to or closed.

        Returns (pid, write end of the pipe); the write end is closed at cleanup.
        """
        read_end, write_end = os.pipe()
        with fork_allowed():
            pid = os.fork()
        if pid == 0:  # the child: never return into the test runner
            try:
                os.close(write_end)
                os.read(read_end, 1)
            finally:
                os._exit(exit_code)
        os.close(read_end)
        self.addCleanup(_close_quietly, write_end)
        return pid, write_end


def _close_quietly(fd: int) -> None:
    try:
        os.close(fd)
    except OSError:
        pass


class PopenChildren(ProcessTestCase):
    def test_running_child_not_waited_fails_with_pid_command_line_state_and_origin(self) -> None:
        popens = self.kept_popens()

        class Inner(leaktest.LeakCheckedTestCase):
            grace_period = 0.05

            def test_leaks(self) -> None:
                popens.append(subprocess.Popen(WAITS_FOR_STDIN, stdin=subprocess.PIPE))

        result = run_tests(Inner)
        self.assertEqual(verdict(result), "FAIL")
        text = report(result)
        pid = popens[0].pid
        self.assertIn("found unexpected processes:", text)
        self.assertIn(f"[Process {pid} (running): sh -c ", text)
        self.assertIn("read code", text)
        self.assertIn("started by test_processes.PopenChildren", text)
        self.assertIn("Inner.test_leaks at ", text)
        self.assertIn("through subprocess.Popen.__init__]", text)
        before, after = map(int, re.findall(r"processes (\d+) -> (\d+)", text)[0])
        self.assertEqual(after, before + 1, text)  # before: this suite's launcher

    def test_child_waited_in_cleanup_passes(self) -> None:
        class Inner(leaktest.LeakCheckedTestCase):
            def test_waits(self) -> None:
                popen = subprocess.Popen(WAITS_FOR_STDIN, stdin=subprocess.PIPE)
                self.addCleanup(popen.communicate, b"0\n")

        self.assertEqual(verdict(run_tests(Inner)), "ok")

    def test_users_wait_gets_the_exit_status_after_the_check_found_a_zombie(self) -> None:
        popens = self.kept_popens()

        class Inner(leaktest.LeakCheckedTestCase):
            grace_period = 0.05

            def test_leaves_zombie(self) -> None:
                popen = subprocess.Popen(WAITS_FOR_STDIN, stdin=subprocess.PIPE)
                popens.append(popen)
                assert popen.stdin is not None
                popen.stdin.write(b"7\n")
                popen.stdin.close()
                wait_until_exited(popen.pid)

        result = run_tests(Inner)
        self.assertEqual(verdict(result), "FAIL")
        popen = popens[0]
        self.assertIn(
            f"[Process {popen.pid} (zombie: exited, its exit status never waited for): sh -c ", report(result)
        )
        # Had the check reaped it, Popen.wait() would get ECHILD and say 0.
        self.assertEqual(popen.wait(), 7)

    def test_users_wait_gets_the_exit_status_after_the_check_found_it_running(self) -> None:
        popens = self.kept_popens()

        class Inner(leaktest.LeakCheckedTestCase):
            grace_period = 0.05

            def test_leaks(self) -> None:
                popens.append(subprocess.Popen(WAITS_FOR_STDIN, stdin=subprocess.PIPE))

        self.assertEqual(verdict(run_tests(Inner)), "FAIL")
        popen = popens[0]
        popen.communicate(b"3\n")
        self.assertEqual(popen.returncode, 3)

    def test_child_that_exits_and_is_reaped_by_its_owner_within_the_grace_passes(self) -> None:
        # The owner (a thread of this outer test) releases the child and reaps it
        # only once the check has looked at it: the check must wait, not just look.
        looked = threading.Event()
        handed_over: queue.Queue[subprocess.Popen[bytes]] = queue.Queue()
        real_state_of = processes.state_of

        def spying_state_of(child: processes.Child) -> str | None:
            state = real_state_of(child)
            if state is not None:
                looked.set()
            return state

        def owner() -> None:
            popen = handed_over.get()
            looked.wait(timeout=60)  # bounded, so that a broken check fails, not hangs
            popen.communicate(b"0\n")

        owner_thread = threading.Thread(target=owner, name="popen-owner")
        owner_thread.start()
        self.addCleanup(owner_thread.join)
        processes.state_of = spying_state_of
        self.addCleanup(setattr, processes, "state_of", real_state_of)

        class Inner(leaktest.LeakCheckedTestCase):
            grace_period = 30.0  # an upper bound: the check returns once the child is reaped

            def test_hands_over(self) -> None:
                handed_over.put(subprocess.Popen(WAITS_FOR_STDIN, stdin=subprocess.PIPE))

        result = run_tests(Inner)
        self.assertTrue(looked.is_set())
        self.assertEqual(verdict(result), "ok", report(result))

    def test_no_cascade_a_later_test_does_not_report_an_earlier_tests_child(self) -> None:
        popens = self.kept_popens()

        class Inner(leaktest.LeakCheckedTestCase):
            grace_period = 0.05

            def test_1_leaks(self) -> None:
                popens.append(subprocess.Popen(WAITS_FOR_STDIN, stdin=subprocess.PIPE))

            def test_2_clean(self) -> None:
                pass

        result = run_tests(Inner)  # one suite: the class-level check runs too
        self.assertEqual([test.id().rsplit(".", 1)[1] for test, _ in result.failures], ["test_1_leaks"])
        self.assertEqual(result.errors, [])
        self.assertEqual(report(result).count(f"Process {popens[0].pid} "), 1)

    def test_child_started_in_set_up_class_is_reported_against_the_class(self) -> None:
        popens = self.kept_popens()

        class Inner(leaktest.LeakCheckedTestCase):
            grace_period = 0.05

            @classmethod
            def setUpClass(cls) -> None:
                popens.append(subprocess.Popen(WAITS_FOR_STDIN, stdin=subprocess.PIPE))

            def test(self) -> None:
                pass

        result = run_tests(Inner)
        self.assertEqual(result.failures, [])
        self.assertEqual(len(result.errors), 1, report(result))
        self.assertIn(f"[Process {popens[0].pid} (running): sh -c ", report(result))

    def test_check_processes_false_does_not_look(self) -> None:
        popens = self.kept_popens()

        class Inner(leaktest.LeakCheckedTestCase):
            check_processes = False

            def test_leaks(self) -> None:
                popens.append(subprocess.Popen(WAITS_FOR_STDIN, stdin=subprocess.PIPE))

        self.assertEqual(verdict(run_tests(Inner)), "ok")


class StartedFromTheStdlib(ProcessTestCase):
    def test_child_spawned_by_a_stdlib_only_thread_names_the_chain(self) -> None:
        popens = self.kept_popens()

        def spawn() -> None:
            popens.append(subprocess.Popen(WAITS_FOR_STDIN, stdin=subprocess.PIPE))

        class Inner(leaktest.LeakCheckedTestCase):
            grace_period = 0.05

            def test(self) -> None:
                # The thread's whole stack is the stdlib's: Thread.run calls the target,
                # spawn is this module's; the thread that ran it has a start site.
                spawner = threading.Thread(target=spawn, name="spawner")
                spawner.start()
                spawner.join()

        text = report(run_tests(Inner))
        self.assertRegex(
            text,
            r"started by test_processes\.\S*spawn at \S+test_processes\.py:\d+ in thread 'spawner' "
            r"\(started by \S+Inner\.test at \S+test_processes\.py:\d+\) through subprocess\.Popen\.__init__\]",
        )


class ForkedChildren(ProcessTestCase):
    def test_forked_child_left_running_fails(self) -> None:
        pids = self.kept_pids()
        fork = self.fork_blocked_child

        class Inner(leaktest.LeakCheckedTestCase):
            grace_period = 0.05

            def test_forks(self) -> None:
                pid, _ = fork()
                pids.append(pid)

        result = run_tests(Inner)
        self.assertEqual(verdict(result), "FAIL")
        text = report(result)
        self.assertIn(f"[Process {pids[0]} (running): a fork of this process (command line: ", text)
        self.assertIn("through os.fork]", text)

    def test_forked_child_waited_for_passes(self) -> None:
        fork = self.fork_blocked_child

        class Inner(leaktest.LeakCheckedTestCase):
            def test_forks_and_waits(self) -> None:
                pid, write_end = fork()
                os.close(write_end)
                os.waitpid(pid, 0)

        self.assertEqual(verdict(run_tests(Inner)), "ok")

    def test_the_check_never_reaps_waitpid_afterwards_gets_the_status(self) -> None:
        pids = self.kept_pids()
        fork = self.fork_blocked_child

        class Inner(leaktest.LeakCheckedTestCase):
            grace_period = 0.05

            def test_leaves_zombie(self) -> None:
                pid, write_end = fork(exit_code=5)
                pids.append(pid)
                os.close(write_end)
                wait_until_exited(pid)

        result = run_tests(Inner)
        self.assertEqual(verdict(result), "FAIL")
        pid = pids[0]
        self.assertIn(f"[Process {pid} (zombie: exited, its exit status never waited for): ", report(result))
        waited, status = os.waitpid(pid, 0)
        self.assertEqual((waited, os.waitstatus_to_exitcode(status)), (pid, 5))


class HookedCFunctions(ProcessTestCase):
    """Called from a frame at the caller's line: warnings and errors keep their place."""

    @unittest.skipUnless(sys.version_info >= (3, 12) and hasattr(os, "fork"), "3.12+ warns on fork with threads")
    def test_the_multithreaded_fork_warning_names_the_line_that_forked(self) -> None:
        """As without leaktest: the hook on os.fork is not the warning's place."""
        stop = threading.Event()
        thread = threading.Thread(target=stop.wait, name="making-it-multithreaded")
        thread.start()
        self.addCleanup(thread.join)
        self.addCleanup(stop.set)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", DeprecationWarning)
            line = sys._getframe().f_lineno + 1
            pid = os.fork()
            if pid == 0:  # the child: never return into the test runner
                os._exit(0)
        os.waitpid(pid, 0)
        forks = [w for w in caught if "use of fork()" in str(w.message)]
        self.assertEqual(len(forks), 1, [str(w.message) for w in caught])
        self.assertEqual((forks[0].filename, forks[0].lineno), (__file__, line))

    @unittest.skipUnless(hasattr(os, "posix_spawn"), "needs os.posix_spawn")
    def test_an_error_of_a_hooked_c_function_shows_the_callers_line_once(self) -> None:
        try:  # not assertRaises: it drops the traceback
            os.posix_spawn("/nonexistent/leaktest-test", ["x"], {})
        except FileNotFoundError as error:
            lines = traceback.format_tb(error.__traceback__)
        else:
            self.fail("posix_spawn of a missing file succeeded")
        self.assertEqual(sum('os.posix_spawn("/nonexistent' in line for line in lines), 1, "".join(lines))


class MultiprocessingChildren(ProcessTestCase):
    def run_process_test(self, method: str, join: bool) -> tuple[unittest.TestResult, int]:
        context: Any = multiprocessing.get_context(method)
        receiver, sender = context.Pipe(duplex=False)
        started: list[multiprocessing.process.BaseProcess] = []

        def stop() -> None:
            # Release by message, not by closing: a forked child holds the sender too.
            for process in started:
                if process.exitcode is None:
                    sender.send(None)
                process.join()
            sender.close()
            receiver.close()

        self.addCleanup(stop)

        class Inner(leaktest.LeakCheckedTestCase):
            grace_period = 0.05

            def test_process(self) -> None:
                process = context.Process(target=wait_for_message, args=(receiver,))
                with fork_allowed():
                    process.start()
                started.append(process)
                if join:
                    sender.send(None)
                    process.join()

        result = run_tests(Inner)
        pid = started[0].pid
        assert pid is not None
        return result, pid

    def assert_not_joined_fails(self, method: str) -> None:
        result, pid = self.run_process_test(method, join=False)
        self.assertEqual(verdict(result), "FAIL")
        text = report(result)
        self.assertIn(f"[Process {pid} (running): ", text)
        # A spawned or forkserver child's command line is multiprocessing's: a line after
        # where it was started says what it runs (a fork says it in its head).
        self.assertRegex(
            text,
            r"through multiprocessing\.process\.BaseProcess\.start(\n running multiprocessing Process "
            r"'\w+-\d+' \(target children\.wait_for_message\))?\]",
        )
        self.assertEqual(text.count("[Process "), 1, text)  # no tracker, no forkserver

    def test_fork_process_not_joined_fails(self) -> None:
        self.assert_not_joined_fails("fork")

    def test_forked_process_says_what_it_runs(self) -> None:
        result, pid = self.run_process_test("fork", join=False)
        self.assertRegex(
            report(result),
            rf"\[Process {pid} \(running\): a fork of this process running multiprocessing "
            r"Process '\w+-\d+' \(target children\.wait_for_message\)\n",
        )

    def test_fork_process_joined_passes(self) -> None:
        result, _ = self.run_process_test("fork", join=True)
        self.assertEqual(verdict(result), "ok", report(result))

    def test_spawn_process_not_joined_fails(self) -> None:
        self.assert_not_joined_fails("spawn")

    def test_spawn_process_joined_passes(self) -> None:
        result, _ = self.run_process_test("spawn", join=True)
        self.assertEqual(verdict(result), "ok", report(result))

    @unittest.skipUnless("forkserver" in multiprocessing.get_all_start_methods(), "no forkserver")
    def test_forkserver_process_not_joined_fails(self) -> None:
        self.assert_not_joined_fails("forkserver")

    @unittest.skipUnless("forkserver" in multiprocessing.get_all_start_methods(), "no forkserver")
    def test_forkserver_process_joined_passes_and_the_forkserver_is_not_reported(self) -> None:
        from multiprocessing import forkserver

        server: Any = forkserver._forkserver
        server._stop()  # so that this test starts it
        result, _ = self.run_process_test("forkserver", join=True)
        self.assertIsNotNone(server._forkserver_pid)
        self.assertEqual(verdict(result), "ok", report(result))

    def test_resource_tracker_started_by_the_test_is_not_reported(self) -> None:
        from multiprocessing import resource_tracker

        tracker: Any = resource_tracker._resource_tracker
        tracker._stop()  # so that this test starts it
        locks: list[Any] = []

        class Inner(leaktest.LeakCheckedTestCase):
            def test_lock(self) -> None:
                locks.append(multiprocessing.get_context("spawn").Lock())

        result = run_tests(Inner)
        self.assertIsNotNone(tracker._pid)  # it did start
        self.assertEqual(verdict(result), "ok", report(result))


class AsyncioChildren(ProcessTestCase):
    def new_loop(self) -> asyncio.AbstractEventLoop:
        loop = asyncio.new_event_loop()
        self.addCleanup(loop.close)
        return loop

    def test_awaited_subprocess_passes_and_no_waitpid_thread_is_reported(self) -> None:
        loop = self.new_loop()

        async def run_child() -> int:
            child = await asyncio.create_subprocess_exec(*WAITS_FOR_STDIN, stdin=subprocess.PIPE)
            await child.communicate(b"4\n")
            assert child.returncode is not None
            return child.returncode

        codes: list[int] = []

        class Inner(leaktest.LeakCheckedTestCase):
            def test_awaits(self) -> None:
                codes.append(loop.run_until_complete(run_child()))

        result = run_tests(Inner)
        self.assertEqual(verdict(result), "ok", report(result))
        self.assertEqual(codes, [4])

    def test_subprocess_not_awaited_fails_and_its_waitpid_thread_is_not_reported(self) -> None:
        loop = self.new_loop()
        children: list[asyncio.subprocess.Process] = []

        async def stop() -> None:
            for child in children:
                child.kill()
                await child.wait()
                child._transport.close()  # type: ignore[attr-defined]

        self.addCleanup(lambda: loop.run_until_complete(stop()))

        async def start_child() -> asyncio.subprocess.Process:
            return await asyncio.create_subprocess_exec(*WAITS_FOR_STDIN, stdin=subprocess.PIPE)

        class Inner(leaktest.LeakCheckedTestCase):
            grace_period = 0.05

            def test_does_not_await(self) -> None:
                children.append(loop.run_until_complete(start_child()))

        result = run_tests(Inner)
        self.assertEqual(verdict(result), "FAIL")
        text = report(result)
        self.assertIn(f"[Process {children[0].pid} (running): sh -c ", text)
        self.assertIn("through asyncio.subprocess.create_subprocess_exec]", text)
        self.assertNotIn("found unexpected threads", text)  # 3.10, 3.11: "waitpid-N" threads


class VerifyNone(ProcessTestCase):
    def test_verify_none_reports_every_child(self) -> None:
        popen = subprocess.Popen(WAITS_FOR_STDIN, stdin=subprocess.PIPE)
        self.addCleanup(popen.communicate, b"0\n")
        with self.assertRaises(leaktest.LeakError) as caught:
            leaktest.verify_none(grace_period=0.01, ignore_threads=["*"])
        self.assertIn(f"[Process {popen.pid} (running): sh -c ", str(caught.exception))

    @unittest.skipUnless(LINUX, "children not started through leaktest's wrappers: /proc only")
    def test_verify_none_sees_children_started_behind_leaktests_back(self) -> None:
        unwrapped_fork: Callable[[], int] = os.fork.__wrapped__  # type: ignore[attr-defined]
        read_end, write_end = os.pipe()
        with fork_allowed():
            pid = unwrapped_fork()
        if pid == 0:
            try:
                os.close(write_end)
                os.read(read_end, 1)
            finally:
                os._exit(0)
        os.close(read_end)
        self.addCleanup(os.waitpid, pid, 0)
        self.addCleanup(os.close, write_end)
        with self.assertRaises(leaktest.LeakError) as caught:
            leaktest.verify_none(grace_period=0.01, ignore_threads=["*"])
        text = str(caught.exception)
        self.assertIn(f"[Process {pid} (running): ", text)
        self.assertIn("not through a function it wraps", text)


class Speed(unittest.TestCase):
    def test_the_clean_path_is_an_integer_compare(self) -> None:
        probe = processes.ProcessProbe()
        mark = probe.mark()
        self.assertEqual(probe.new_since(mark), [])


if __name__ == "__main__":
    unittest.main()
