"""File descriptors (opt-in): opened by a test and still open after its cleanups."""

from __future__ import annotations

import os
import socket
import unittest

import leaktest
from support import FILES, report, run_tests, verdict

HAS_PROC = os.path.isdir("/proc/self/fd")


@unittest.skipUnless(HAS_PROC, "descriptors are listed with their targets from /proc/self/fd (Linux)")
class Fds(leaktest.LeakCheckedTestCase):
    @classmethod
    def setUpClass(cls) -> None:
        FILES.acquire()  # no `started` call of another module opens a file meanwhile
        cls.addClassCleanup(FILES.release)

    def test_a_pipe_left_open_fails_when_switched_on(self) -> None:
        fds: list[int] = []
        self.addCleanup(lambda: [os.close(fd) for fd in fds])

        class Inner(leaktest.LeakCheckedTestCase):
            check_fds = True

            def test(self) -> None:
                fds.extend(os.pipe())

        result = run_tests(Inner, "test")
        text = report(result)
        self.assertEqual(verdict(result), "FAIL", text)
        self.assertIn("found unexpected file descriptors:", text)
        for fd in fds:
            self.assertRegex(text, rf"\[fd {fd} -> pipe:\[\d+\] opened during the test, still open\]")

    def test_off_by_default(self) -> None:
        fds: list[int] = []
        self.addCleanup(lambda: [os.close(fd) for fd in fds])

        class Inner(leaktest.LeakCheckedTestCase):
            def test(self) -> None:
                fds.extend(os.pipe())

        self.assertEqual(verdict(run_tests(Inner, "test")), "ok")

    def test_closed_in_a_cleanup_passes(self) -> None:
        class Inner(leaktest.LeakCheckedTestCase):
            check_fds = True

            def test(self) -> None:
                self.addCleanup(open(os.devnull).close)

        self.assertEqual(verdict(run_tests(Inner, "test")), "ok")

    def test_a_socket_is_reported_once_as_a_socket(self) -> None:
        held: list[socket.socket] = []
        self.addCleanup(lambda: [s.close() for s in held])

        class Inner(leaktest.LeakCheckedTestCase):
            check_fds = True

            def test(self) -> None:
                held.append(socket.socket())

        text = report(run_tests(Inner, "test"))
        self.assertIn("found unexpected sockets:", text)
        self.assertNotIn("file descriptors", text)
