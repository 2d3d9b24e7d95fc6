"""Sockets: created by a test and still open after its cleanups, or closed only by the
garbage collector, fail that test (and no other)."""

from __future__ import annotations

import _socket
import asyncio
import gc
import os
import socket
import socketserver
import sys
import unittest
import warnings
from typing import Any
from unittest import mock

import leaktest
from leaktest.probes import sockets
from support import report, run_tests, verdict

#: Sockets inner tests leak on purpose; closed by the outer test's cleanup.
HELD: list[Any] = []


def close_held() -> None:
    while HELD:
        HELD.pop().close()


def open_listener() -> socket.socket:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    HELD.append(listener)
    return listener


class SocketCase(leaktest.LeakCheckedTestCase):
    def setUp(self) -> None:
        self.addCleanup(close_held)
        catcher = warnings.catch_warnings()  # "ResourceWarning: unclosed" of the dropped ones
        catcher.__enter__()
        warnings.simplefilter("ignore", ResourceWarning)
        self.addCleanup(catcher.__exit__, None, None, None)


class Verdicts(SocketCase):
    def test_a_listening_socket_left_open_fails_with_what_and_where(self) -> None:
        class Inner(leaktest.LeakCheckedTestCase):
            def test(self) -> None:
                self.port = open_listener().getsockname()[1]

        result = run_tests(Inner, "test")
        text = report(result)
        self.assertEqual(verdict(result), "FAIL", text)
        self.assertIn("found unexpected sockets:", text)
        self.assertRegex(text, r"\[Socket fd=\d+ \(AF_INET, SOCK_STREAM, listening on 127\.0\.0\.1:\d+\) still open")
        self.assertIn(f"created by {__name__}.open_listener at {__file__}:", text)
        # Named like a thread's start site: the helper, then the test that called it (on
        # 3.10, a method's class is found from the live frame only: not here).
        self.assertRegex(text, r"open_listener at \S+:\d+, from \S+\.test at \S+test_sockets\.py:\d+\]")

    def test_a_socket_closed_by_a_cleanup_passes(self) -> None:
        class Inner(leaktest.LeakCheckedTestCase):
            def test(self) -> None:
                self.addCleanup(open_listener().close)

        self.assertEqual(verdict(run_tests(Inner, "test")), "ok")

    def test_an_accepted_connection_left_open_fails_as_connected(self) -> None:
        class Inner(leaktest.LeakCheckedTestCase):
            def test(self) -> None:
                with socket.socket() as listener:
                    listener.bind(("127.0.0.1", 0))
                    listener.listen()
                    with socket.create_connection(listener.getsockname()) as client:
                        conn, _ = listener.accept()
                        HELD.append(conn)
                        self.peer = client.getsockname()

        result = run_tests(Inner, "test")
        text = report(result)
        self.assertEqual(verdict(result), "FAIL", text)
        self.assertEqual(text.count("[Socket fd="), 1, text)
        self.assertRegex(text, r"connected 127\.0\.0\.1:\d+ -> 127\.0\.0\.1:\d+\) still open")
        self.assertIn("through socket.socket.accept", text)

    def test_a_dropped_socket_fails_as_closed_by_the_garbage_collector(self) -> None:
        class Inner(leaktest.LeakCheckedTestCase):
            def test(self) -> None:
                socket.socket().bind(("127.0.0.1", 0))

        result = run_tests(Inner, "test")
        text = report(result)
        self.assertEqual(verdict(result), "FAIL", text)
        self.assertIn("never closed: the garbage collector closed it", text)
        self.assertIn("bound to 127.0.0.1:", text)

    def test_a_socket_in_a_garbage_cycle_is_the_creating_tests_leak_only(self) -> None:
        class Inner(leaktest.LeakCheckedTestCase):
            def test_1_drops(self) -> None:
                cycle: list[object] = [socket.socket()]
                cycle.append(cycle)

            def test_2_collects(self) -> None:
                gc.collect()

        gc.disable()  # no automatic collection between the two: the check must find it
        self.addCleanup(gc.enable)
        result = run_tests(Inner)
        text = report(result)
        self.assertEqual(len(result.failures), 1, text)
        self.assertIn("test_1_drops", str(result.failures[0][0]))
        self.assertIn("never closed: dropped, then closed by the garbage collection leaktest ran", text)

    def test_a_socket_its_dropped_owner_closes_when_collected_passes(self) -> None:
        """Its owner (a connection pool) closes it in its finalizer, which the check's own
        collection runs: closed by its owner, not a leak."""

        class Pool:
            def __init__(self) -> None:
                self.sock = socket.socket()

            def __del__(self) -> None:
                self.sock.close()

        class Inner(leaktest.LeakCheckedTestCase):
            def test(self) -> None:
                cycle: list[object] = [Pool()]
                cycle.append(cycle)

        gc.disable()  # no automatic collection: only the check's own finds the pool
        self.addCleanup(gc.enable)
        result = run_tests(Inner, "test")
        self.assertEqual(verdict(result), "ok", report(result))

    def test_a_socket_dropped_after_the_check_is_not_a_later_tests_leak(self) -> None:
        class Inner(leaktest.LeakCheckedTestCase):
            def test_1_holds(self) -> None:
                HELD.append(socket.socket())

            def test_2_drops_it(self) -> None:
                HELD.pop()

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResourceWarning)
            result = run_tests(Inner)
        self.assertEqual([str(test) for test, _ in result.failures], [str(Inner("test_1_holds"))], report(result))

    def test_a_reported_socket_dropped_later_is_not_reported_again_by_python(self) -> None:
        """The ResourceWarning of a socket leaktest reported would land in whichever test
        runs when the socket is collected (an unraisable error under `-W error`)."""

        class Inner(leaktest.LeakCheckedTestCase):
            def test_1_holds(self) -> None:
                HELD.append(socket.socket())

            def test_2_drops_it(self) -> None:
                HELD.pop()

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ResourceWarning)
            result = run_tests(Inner)
        self.assertEqual([str(test) for test, _ in result.failures], [str(Inner("test_1_holds"))], report(result))
        self.assertEqual([str(w.message) for w in caught if issubclass(w.category, ResourceWarning)], [])

    def test_asyncio_server_left_open_names_create_server(self) -> None:
        servers: list[asyncio.AbstractServer] = []

        class Inner(leaktest.LeakCheckedAsyncTestCase):
            async def test(self) -> None:
                servers.append(await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0))

        result = run_tests(Inner, "test")
        for server in servers:
            server.close()  # its loop is closed: this only closes the listening socket
        text = report(result)
        self.assertEqual(verdict(result), "FAIL", text)
        self.assertIn("listening on 127.0.0.1:", text)
        self.assertIn("through asyncio.base_events.BaseEventLoop.create_server", text)

    def test_asyncio_connections_closed_pass(self) -> None:
        class Inner(leaktest.LeakCheckedAsyncTestCase):
            async def test(self) -> None:
                server = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", 0)
                reader, writer = await asyncio.open_connection(*server.sockets[0].getsockname())
                await reader.read()
                writer.close()
                await writer.wait_closed()
                server.close()
                await server.wait_closed()

        result = run_tests(Inner, "test")
        self.assertEqual(verdict(result), "ok", report(result))

    def test_an_event_loops_self_pipe_is_not_a_socket_leak(self) -> None:
        loops: list[asyncio.AbstractEventLoop] = []
        self.addCleanup(lambda: [loop.close() for loop in loops])

        class Inner(leaktest.LeakCheckedTestCase):
            def test(self) -> None:
                loops.append(asyncio.new_event_loop())

        text = report(run_tests(Inner, "test"))
        self.assertIn("found asyncio event loops never closed:", text)
        self.assertNotIn("sockets:", text)

    def test_a_socket_pair_left_open_fails_though_a_loops_self_pipe_is_one(self) -> None:
        """Made through `socket.socketpair`, as a loop's self-pipe is: the test's own."""

        class Inner(leaktest.LeakCheckedTestCase):
            def test(self) -> None:
                HELD.extend(socket.socketpair())

        result = run_tests(Inner, "test")
        text = report(result)
        self.assertEqual(verdict(result), "FAIL", text)
        self.assertEqual(text.count("through socket.socketpair"), 2, text)

    def test_socketserver_made_in_setupclass_belongs_to_the_class(self) -> None:
        class Inner(leaktest.LeakCheckedTestCase):
            @classmethod
            def setUpClass(cls) -> None:
                cls.server = socketserver.TCPServer(("127.0.0.1", 0), socketserver.BaseRequestHandler)
                HELD.append(cls.server.socket)

            def test(self) -> None:
                pass

        result = run_tests(Inner)
        text = report(result)
        self.assertEqual((result.testsRun, len(result.errors)), (1, 1), text)
        self.assertIn("tearDownClass", str(result.errors[0][0]))
        self.assertIn("through socketserver.TCPServer.__init__", text)


class Records(SocketCase):
    def test_a_record_is_itself_once_its_socket_is_gone(self) -> None:
        """A record is the weak reference to its socket, compared and hashed as itself:
        a weak reference's own hash needs its object alive the first time."""
        with socket.socket() as sock:
            record = sockets._by_fd[sock.fileno()]
        del sock
        self.assertIsNone(record())
        self.assertEqual({record: "kept"}[record], "kept")
        self.assertNotEqual(record, sockets.SocketRecord(socket.socket))

    def test_the_records_of_many_sockets_closed_and_gone_are_dropped_at_the_next_check(self) -> None:
        """A test that held many sockets open at once leaves no records behind once they are
        closed and gone: every later collection of the garbage would walk them."""

        class Inner(leaktest.LeakCheckedTestCase):
            def test_holds_many(self) -> None:
                for _ in range(500):
                    sock = socket.socket()
                    self.addCleanup(sock.close)

        self.assertEqual(verdict(run_tests(Inner)), "ok")
        self.assertLess(len(sockets._created), 100)

    def test_a_pruning_drops_the_records_of_sockets_closed_and_gone_asking_them_nothing(self) -> None:
        """Each socket made walks the list once, amortized: a method call per record
        cost more than the rest of the socket's hook. The map by descriptor keeps no
        record of a socket gone past a pruning (a test that held thousands at once)."""
        held = [socket.socket() for _ in range(200)]
        for sock in held:
            sock.close()
        del held, sock
        with mock.patch.object(sockets.SocketRecord, "open", side_effect=AssertionError("asked")):
            with sockets._lock:
                sockets._prune()
        self.assertLess(len(sockets._created), 10)
        self.assertLess(len(sockets._by_fd), 10, "the records of sockets gone, by descriptor")

    def test_a_socket_made_without_the_hook_is_no_earlier_sockets_gone_open(self) -> None:
        """Records are found by descriptor at a socket's end: one made without the hook on
        the descriptor a closed socket had (`socket.socket.__new__`, then `_socket`'s
        `__init__`) is not that socket's, when dropped open."""

        class Inner(leaktest.LeakCheckedTestCase):
            def test(self) -> None:
                earlier = socket.socket()
                fd = earlier.fileno()
                earlier.close()
                unhooked = socket.socket.__new__(socket.socket)
                _socket.socket.__init__(unhooked)
                self.assertEqual(unhooked.fileno(), fd)
                del unhooked

        result = run_tests(Inner)
        self.assertEqual(verdict(result), "ok", report(result))


class Warnings(SocketCase):
    def test_the_unclosed_warning_names_the_line_that_dropped_the_socket(self) -> None:
        """As without leaktest: its hook on the socket's finalizer is not the warning's place."""
        lines: list[int] = []

        class Inner(leaktest.LeakCheckedTestCase):
            def test(self) -> None:
                sock = socket.socket()
                lines.append(sys._getframe().f_lineno + 1)
                del sock

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ResourceWarning)
            result = run_tests(Inner, "test")
        self.assertIn("the garbage collector closed it", report(result))
        unclosed = [w for w in caught if issubclass(w.category, ResourceWarning)]
        self.assertEqual(len(unclosed), 1, [str(w.message) for w in caught])
        self.assertEqual((unclosed[0].filename, unclosed[0].lineno), (__file__, lines[0]))

    def test_a_socket_dropped_where_its_frame_has_no_line_is_closed_and_warned(self) -> None:
        """3.12+: while an inlined comprehension that raised is cleaned up, its frame has
        no line. The socket is closed and warned of at the function's first line; the hook
        once failed there, printing an ignored exception and leaving the descriptor open."""
        fds: list[int] = []
        lines: list[int] = []

        def make(index: int) -> socket.socket:
            if index == 2:
                raise OSError("the third one fails")
            sock = socket.socket()
            fds.append(sock.fileno())
            return sock

        class Inner(leaktest.LeakCheckedTestCase):
            def test(self) -> None:
                code = sys._getframe().f_code
                lines.append(code.co_firstlineno if sys.version_info >= (3, 12) else sys._getframe().f_lineno + 2)
                try:
                    [make(index) for index in range(3)]
                except OSError:
                    pass

        unraisable: list[str] = []
        previous = sys.unraisablehook
        sys.unraisablehook = lambda args: unraisable.append(repr(args.exc_value))
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", ResourceWarning)
                result = run_tests(Inner, "test")
        finally:
            sys.unraisablehook = previous
        self.assertEqual(unraisable, [])
        self.assertEqual(verdict(result), "FAIL")
        self.assertIn("the garbage collector closed it", report(result))
        for fd in fds:
            with self.assertRaises(OSError, msg=f"descriptor {fd} left open"):
                os.fstat(fd)
        unclosed = [w for w in caught if issubclass(w.category, ResourceWarning)]
        self.assertEqual([(w.filename, w.lineno) for w in unclosed], [(__file__, lines[0])] * 2)


class Ownership(SocketCase):
    def test_a_class_socket_a_test_drops_open_is_the_classs(self) -> None:
        """The class owns its socket's record after the socket is gone: the test that
        dropped it is not blamed; the class is, for a socket nobody closed."""

        class Inner(leaktest.LeakCheckedTestCase):
            @classmethod
            def setUpClass(cls) -> None:
                cls.sock = socket.socket()

            def test_drops_it(self) -> None:
                del type(self).sock
                gc.collect()

        result = run_tests(Inner)
        text = report(result)
        self.assertEqual((result.testsRun, len(result.failures), len(result.errors)), (1, 0, 1), text)
        self.assertIn("tearDownClass", str(result.errors[0][0]))
        self.assertIn("the garbage collector closed it", text)

    def test_connections_accepted_by_a_class_server_are_the_classs(self) -> None:
        class Inner(leaktest.LeakCheckedTestCase):
            @classmethod
            def setUpClass(cls) -> None:
                cls.listener = socket.create_server(("127.0.0.1", 0))
                cls.addClassCleanup(cls.listener.close)
                cls.accepted: list[socket.socket] = []
                cls.addClassCleanup(lambda: [conn.close() for conn in cls.accepted])

            def test_connects(self) -> None:
                with socket.create_connection(self.listener.getsockname()):
                    self.accepted.append(self.listener.accept()[0])  # the server keeps it open

        result = run_tests(Inner)
        self.assertEqual((result.testsRun, len(result.failures), len(result.errors)), (1, 0, 0), report(result))

    def test_a_class_server_leaving_an_accepted_connection_open_is_reported_against_the_class(self) -> None:
        class Inner(leaktest.LeakCheckedTestCase):
            @classmethod
            def setUpClass(cls) -> None:
                cls.listener = socket.create_server(("127.0.0.1", 0))
                cls.addClassCleanup(cls.listener.close)

            def test_connects(self) -> None:
                with socket.create_connection(self.listener.getsockname()):
                    HELD.append(self.listener.accept()[0])

        result = run_tests(Inner)
        text = report(result)
        self.assertEqual((result.testsRun, len(result.failures), len(result.errors)), (1, 0, 1), text)
        self.assertIn("tearDownClass", str(result.errors[0][0]))
        self.assertIn("through socket.socket.accept", text)

    def test_a_connection_a_leaking_test_keeps_open_is_that_tests_leak_alone(self) -> None:
        """The class server's side stays open because the test left its own open: a
        consequence of the test's leak, which the class's check does not report again."""

        class Inner(leaktest.LeakCheckedTestCase):
            @classmethod
            def setUpClass(cls) -> None:
                cls.listener = socket.create_server(("127.0.0.1", 0))
                cls.addClassCleanup(cls.listener.close)

            def test_keeps_its_side(self) -> None:
                HELD.append(socket.create_connection(self.listener.getsockname()))
                HELD.append(self.listener.accept()[0])

        result = run_tests(Inner)
        text = report(result)
        self.assertEqual((result.testsRun, len(result.failures), len(result.errors)), (1, 1, 0), text)
        self.assertIn("through socket.create_connection", text)
        self.assertNotIn("through socket.socket.accept", text)


class Settings(SocketCase):
    def leaking(self, **attributes: object) -> type[unittest.TestCase]:
        def test(self: unittest.TestCase) -> None:
            open_listener()

        return type("Inner", (leaktest.LeakCheckedTestCase,), {"test": test, **attributes})

    def test_check_sockets_false_passes(self) -> None:
        self.assertEqual(verdict(run_tests(self.leaking(check_sockets=False), "test")), "ok")

    def test_ignore_sockets_matches_the_address(self) -> None:
        self.assertEqual(verdict(run_tests(self.leaking(ignore_sockets=["127.0.0.1:*"]), "test")), "ok")
        self.assertEqual(verdict(run_tests(self.leaking(ignore_sockets=["10.*"]), "test")), "FAIL")

    def test_function_rules_match_the_creation_stack(self) -> None:
        self.assertEqual(verdict(run_tests(self.leaking(ignore_any_functions=[open_listener]), "test")), "ok")
        self.assertEqual(
            verdict(run_tests(self.leaking(ignore_top_functions=[f"{__name__}.open_listener"]), "test")), "ok"
        )

    def test_bad_ignore_sockets_fails_at_class_definition(self) -> None:
        with self.assertRaisesRegex(TypeError, "Bad: ignore_sockets must be a list"):
            type("Bad", (leaktest.LeakCheckedTestCase,), {"ignore_sockets": "127.0.0.1:*"})
        with self.assertRaisesRegex(TypeError, "Bad: check_sockets must be True or False"):
            type("Bad", (leaktest.LeakCheckedTestCase,), {"check_sockets": 1})

    def test_verify_none_reports_every_open_socket(self) -> None:
        open_listener()
        with self.assertRaisesRegex(leaktest.LeakError, r"listening on 127\.0\.0\.1:\d+\) still open"):
            leaktest.verify_none(ignore_threads=["*"], grace_period=0)

    def test_no_leaks_and_its_switch(self) -> None:
        with self.assertRaisesRegex(leaktest.LeakError, "listening on 127.0.0.1:"):
            with leaktest.no_leaks(grace_period=0):
                open_listener()
        with leaktest.no_leaks(check_sockets=False):
            open_listener()
        with leaktest.no_leaks(ignore_sockets=["127.0.0.1:*"]):
            open_listener()
