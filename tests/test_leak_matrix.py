"""The leak matrix: every kind of leak leaktest claims to catch, leaking and clean.

For each kind, an inner leak-checked test that leaves the resource running must
FAIL (exactly one failure, the leaked resource named in the report), and the same
test that stops it must PASS. Each inner test runs with its own TestResult; the
outer test stops whatever the leaking variant left behind (threads joined,
processes killed and reaped), so nothing outlives it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import io
import multiprocessing
import os
import socket
import socketserver
import subprocess
import sys
import threading
import unittest
import warnings
from collections.abc import Callable

import leaktest
from children import wait_for_message
from support import FILES, report, run_tests

HAS_FORK = hasattr(os, "fork")


# A child that runs until its stdin (or the pipe it is given) is closed, or it is killed.
BLOCKING_CHILD = [sys.executable, "-c", "import sys; sys.stdin.buffer.read()"]


def _reconnect() -> None:
    """A callback an inner test schedules and forgets."""


def _reap(process: subprocess.Popen[bytes]) -> None:
    """Kill a child an inner test leaked on purpose, and wait for it."""
    if process.poll() is None:
        process.kill()
    process.wait()
    if process.stdin is not None:
        process.stdin.close()


class LeakMatrix(leaktest.LeakCheckedTestCase):
    """One test per kind: a leaking variant that FAILs and a clean one that passes."""

    # -- verdicts ---------------------------------------------------------

    def assert_leaks(self, case: type[unittest.TestCase], *names: str) -> str:
        """`case.test_leaking` FAILs once, as a LeakError naming every one of `names`."""
        with self.subTest("leaking"):
            result = run_tests(case, "test_leaking")
            text = report(result)
            self.assertEqual((result.testsRun, len(result.failures), len(result.errors)), (1, 1, 0), text)
            self.assertIn("LeakError", text)
            for name in names:
                self.assertIn(name, text)
            return text
        return ""  # pragma: no cover (a failed subTest)

    def assert_clean(self, case: type[unittest.TestCase]) -> None:
        with self.subTest("clean"):
            result = run_tests(case, "test_clean")
            self.assertEqual(
                (result.testsRun, len(result.failures), len(result.errors)),
                (1, 0, 0),
                report(result),
            )

    def release_after(self, event: threading.Event, threads: list[threading.Thread]) -> None:
        """Let the leaked threads go and join them when this outer test ends."""

        def release() -> None:
            event.set()
            for thread in threads:
                thread.join()

        self.addCleanup(release)

    # -- threads ----------------------------------------------------------

    def test_thread(self) -> None:
        go = threading.Event()
        threads: list[threading.Thread] = []
        self.release_after(go, threads)

        class Case(leaktest.LeakCheckedTestCase):
            def start(self, name: str) -> threading.Thread:
                thread = threading.Thread(target=go.wait, name=name)
                threads.append(thread)
                thread.start()
                return thread

            def test_leaking(self) -> None:
                self.start("matrix-thread")

            def test_clean(self) -> None:
                release = threading.Event()
                thread = threading.Thread(target=release.wait, name="matrix-thread-ok")
                thread.start()
                self.addCleanup(thread.join)
                self.addCleanup(release.set)

        self.assert_leaks(Case, "Thread 'matrix-thread'")
        self.assert_clean(Case)

    def test_timer(self) -> None:
        timers: list[threading.Timer] = []

        def cancel_all() -> None:
            for timer in timers:
                timer.cancel()
                timer.join()

        self.addCleanup(cancel_all)

        class Case(leaktest.LeakCheckedTestCase):
            def start(self) -> threading.Timer:
                timer = threading.Timer(3600, print)
                timer.name = "matrix-timer"
                timers.append(timer)
                timer.start()
                return timer

            def test_leaking(self) -> None:
                self.start()

            def test_clean(self) -> None:
                timer = self.start()
                self.addCleanup(timer.join)
                self.addCleanup(timer.cancel)

        self.assert_leaks(Case, "Thread 'matrix-timer'")
        self.assert_clean(Case)

    def test_thread_pool_executor(self) -> None:
        pools: list[concurrent.futures.ThreadPoolExecutor] = []
        self.addCleanup(lambda: [pool.shutdown(wait=True) for pool in pools])

        class Case(leaktest.LeakCheckedTestCase):
            def test_leaking(self) -> None:
                pool = concurrent.futures.ThreadPoolExecutor(2, thread_name_prefix="matrix-pool")
                pools.append(pool)
                pool.submit(int).result()

            def test_clean(self) -> None:
                with concurrent.futures.ThreadPoolExecutor(2, thread_name_prefix="matrix-pool") as pool:
                    pool.submit(int).result()

        self.assert_leaks(Case, "Thread 'matrix-pool_0'")
        self.assert_clean(Case)

    def test_socketserver_serve_forever(self) -> None:
        servers: list[tuple[socketserver.TCPServer, threading.Thread]] = []

        def shut_down_all() -> None:
            for server, thread in servers:
                server.shutdown()
                server.server_close()
                thread.join()

        self.addCleanup(shut_down_all)

        class Case(leaktest.LeakCheckedTestCase):
            def serve(self) -> tuple[socketserver.TCPServer, threading.Thread]:
                server = socketserver.TCPServer(("127.0.0.1", 0), socketserver.BaseRequestHandler)
                thread = threading.Thread(
                    target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="matrix-server"
                )
                thread.start()
                return server, thread

            def test_leaking(self) -> None:
                servers.append(self.serve())

            def test_clean(self) -> None:
                server, thread = self.serve()
                self.addCleanup(thread.join)
                self.addCleanup(server.server_close)
                self.addCleanup(server.shutdown)

        self.assert_leaks(Case, "Thread 'matrix-server'", "in serve_forever")
        self.assert_clean(Case)

    def test_exception_in_a_thread(self) -> None:
        def explode() -> None:
            raise ValueError("matrix boom")

        def contain() -> None:
            try:
                raise ValueError("caught in the thread")
            except ValueError:
                pass

        class Case(leaktest.LeakCheckedTestCase):
            def run_thread(self, target: Callable[[], None]) -> None:
                thread = threading.Thread(target=target, name="matrix-exploding")
                thread.start()
                thread.join()

            def test_leaking(self) -> None:
                self.run_thread(explode)

            def test_clean(self) -> None:
                self.run_thread(contain)

        # The default excepthook, which leaktest chains to, prints the traceback.
        with contextlib.redirect_stderr(io.StringIO()) as printed:
            self.assert_leaks(Case, "Thread 'matrix-exploding'", "ValueError: matrix boom", "in explode")
        self.assertIn("ValueError: matrix boom", printed.getvalue())
        self.assert_clean(Case)

    def test_class_fixture(self) -> None:
        go = threading.Event()
        threads: list[threading.Thread] = []
        self.release_after(go, threads)

        class Leaking(leaktest.LeakCheckedTestCase):
            @classmethod
            def setUpClass(cls) -> None:
                super().setUpClass()
                thread = threading.Thread(target=go.wait, name="matrix-class-thread")
                threads.append(thread)
                thread.start()

            def test(self) -> None:
                pass

        class Clean(leaktest.LeakCheckedTestCase):
            @classmethod
            def setUpClass(cls) -> None:
                super().setUpClass()
                release = threading.Event()
                thread = threading.Thread(target=release.wait, name="matrix-class-thread-ok")
                thread.start()
                cls.addClassCleanup(thread.join)
                cls.addClassCleanup(release.set)

            def test(self) -> None:
                pass

        with self.subTest("leaking"):
            result = run_tests(Leaking)
            text = report(result)
            # The test itself passes; the class fixture is reported once, against the class.
            self.assertEqual((result.testsRun, len(result.failures) + len(result.errors)), (1, 1), text)
            ((holder, _),) = result.failures + result.errors
            self.assertIn("tearDownClass", str(holder))
            self.assertIn("Leaking", str(holder))
            self.assertIn("LeakError", text)
            self.assertIn("Thread 'matrix-class-thread'", text)
        with self.subTest("clean"):
            result = run_tests(Clean)
            self.assertEqual((result.testsRun, len(result.failures), len(result.errors)), (1, 0, 0), report(result))

    # -- asyncio tasks ----------------------------------------------------

    def test_asyncio_task(self) -> None:
        class Case(leaktest.LeakCheckedAsyncTestCase):  # type: ignore[valid-type, misc]
            async def test_leaking(self) -> None:
                # Cancelled by IsolatedAsyncioTestCase at teardown, after leaktest's check.
                asyncio.create_task(asyncio.Event().wait(), name="matrix-task")

            async def test_clean(self) -> None:
                go = asyncio.Event()
                task = asyncio.create_task(go.wait(), name="matrix-task-ok")
                go.set()
                await task

        self.assert_leaks(Case, "matrix-task")
        self.assert_clean(Case)

    def test_task_on_a_loop_in_a_thread(self) -> None:
        # A hub running its own event loop in a background thread: the task pending
        # there is reported as a task (its name), beside the thread running the loop.
        loops: list[tuple[asyncio.AbstractEventLoop, threading.Thread]] = []
        kept: list[asyncio.Task[None]] = []

        def stop_all() -> None:
            for loop, thread in loops:
                loop.call_soon_threadsafe(loop.stop)
                thread.join()
                tasks = asyncio.all_tasks(loop)
                for task in tasks:
                    task.cancel()
                loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
                loop.close()

        self.addCleanup(stop_all)

        class Case(leaktest.LeakCheckedTestCase):
            def test_leaking(self) -> None:
                loop = asyncio.new_event_loop()
                ready = threading.Event()

                def serve() -> None:
                    asyncio.set_event_loop(loop)
                    # Held here: a pending task nothing refers to may be garbage-collected.
                    kept.append(loop.create_task(asyncio.Event().wait(), name="matrix-thread-task"))
                    loop.call_soon(ready.set)
                    loop.run_forever()

                thread = threading.Thread(target=serve, name="matrix-loop-thread")
                loops.append((loop, thread))
                thread.start()
                ready.wait()

            def test_clean(self) -> None:
                async def main() -> None:
                    go = asyncio.Event()
                    task = asyncio.create_task(go.wait(), name="matrix-thread-task-ok")
                    go.set()
                    await task

                thread = threading.Thread(target=asyncio.run, args=(main(),), name="matrix-loop-ok")
                thread.start()
                self.addCleanup(thread.join)

        self.assert_leaks(Case, "matrix-thread-task")
        self.assert_clean(Case)

    def test_asyncio_timer(self) -> None:
        class Case(leaktest.LeakCheckedAsyncTestCase):  # type: ignore[valid-type, misc]
            async def test_leaking(self) -> None:
                asyncio.get_running_loop().call_later(3600, _reconnect)

            async def test_clean(self) -> None:
                timer = asyncio.get_running_loop().call_later(3600, _reconnect)
                self.addCleanup(timer.cancel)

        self.assert_leaks(Case, "Timer ", "_reconnect")
        self.assert_clean(Case)

    def test_event_loop(self) -> None:
        loops: list[asyncio.AbstractEventLoop] = []
        self.addCleanup(lambda: [loop.close() for loop in loops])

        class Case(leaktest.LeakCheckedTestCase):
            def test_leaking(self) -> None:
                loops.append(asyncio.new_event_loop())

            def test_clean(self) -> None:
                self.addCleanup(asyncio.new_event_loop().close)

        self.assert_leaks(Case, "Event loop #", "never closed")
        self.assert_clean(Case)

    # -- sockets and file descriptors --------------------------------------

    def test_listening_socket(self) -> None:
        sockets: list[socket.socket] = []
        self.addCleanup(lambda: [sock.close() for sock in sockets])

        class Case(leaktest.LeakCheckedTestCase):
            def listen(self) -> socket.socket:
                sock = socket.create_server(("127.0.0.1", 0))
                sockets.append(sock)
                return sock

            def test_leaking(self) -> None:
                self.listen()

            def test_clean(self) -> None:
                self.addCleanup(self.listen().close)

        self.assert_leaks(Case, "listening on 127.0.0.1:", "through socket.create_server")
        self.assert_clean(Case)

    def test_socket_dropped_unclosed(self) -> None:
        class Case(leaktest.LeakCheckedTestCase):
            def test_leaking(self) -> None:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", ResourceWarning)
                    socket.socket().bind(("127.0.0.1", 0))

            def test_clean(self) -> None:
                with socket.socket() as sock:
                    sock.bind(("127.0.0.1", 0))

        self.assert_leaks(Case, "the garbage collector closed it")
        self.assert_clean(Case)

    @unittest.skipUnless(os.path.isdir("/proc/self/fd"), "file descriptors are listed from /proc (Linux)")
    def test_file_descriptor(self) -> None:
        fds: list[int] = []
        self.addCleanup(lambda: [os.close(fd) for fd in fds])

        class Case(leaktest.LeakCheckedTestCase):
            check_fds = True

            def test_leaking(self) -> None:
                fds.extend(os.pipe())

            def test_clean(self) -> None:
                read, write = os.pipe()
                self.addCleanup(os.close, read)
                self.addCleanup(os.close, write)

        with FILES:  # no `started` call of another module opens a file meanwhile
            text = self.assert_leaks(Case, "-> pipe:[")
            self.assertIn(f"[fd {fds[0]} -> pipe:[", text)
            self.assert_clean(Case)

    # -- child processes --------------------------------------------------

    def test_subprocess_popen(self) -> None:
        holder: list[subprocess.Popen[bytes]] = []

        class Case(leaktest.LeakCheckedTestCase):
            def test_leaking(self) -> None:
                holder.append(subprocess.Popen(BLOCKING_CHILD, stdin=subprocess.PIPE))

            def test_clean(self) -> None:
                with subprocess.Popen(BLOCKING_CHILD, stdin=subprocess.PIPE) as child:
                    child.communicate(b"")

        self.addCleanup(lambda: [_reap(child) for child in holder])
        text = self.assert_leaks(Case)
        (child,) = holder
        self.assertIn(str(child.pid), text)
        self.assert_clean(Case)

    def test_multiprocessing_process(self) -> None:
        context = multiprocessing.get_context("spawn")
        holder: list[tuple[multiprocessing.process.BaseProcess, object]] = []

        def stop_all() -> None:
            for process, conn in holder:
                process.kill()
                process.join()
                conn.close()  # type: ignore[attr-defined]
                process.close()

        self.addCleanup(stop_all)

        class Case(leaktest.LeakCheckedTestCase):
            def start(self) -> tuple[multiprocessing.process.BaseProcess, object]:
                ours, theirs = context.Pipe()
                process = context.Process(target=wait_for_message, args=(theirs,), name="matrix-mp")
                process.start()
                theirs.close()
                return process, ours

            def test_leaking(self) -> None:
                holder.append(self.start())

            def test_clean(self) -> None:
                process, conn = self.start()
                conn.close()  # type: ignore[attr-defined]
                process.join()
                process.close()

        text = self.assert_leaks(Case)
        ((process, _),) = holder
        self.assertIn(str(process.pid), text)
        self.assert_clean(Case)

    @unittest.skipUnless(HAS_FORK, "os.fork does not exist here")
    def test_os_fork(self) -> None:
        pids: list[tuple[int, int]] = []  # (pid, write end of the pipe the child reads)

        def stop_all() -> None:
            for pid, write_end in pids:
                os.close(write_end)  # the child sees end of file and exits
                os.waitpid(pid, 0)

        self.addCleanup(stop_all)

        def fork(block: bool) -> tuple[int, int]:
            read_end, write_end = os.pipe()
            pid = os.fork()
            if pid == 0:  # the child: never return into unittest
                try:
                    os.close(write_end)
                    if block:
                        os.read(read_end, 1)
                finally:
                    os._exit(0)
            os.close(read_end)
            return pid, write_end

        class Case(leaktest.LeakCheckedTestCase):
            def test_leaking(self) -> None:
                pids.append(fork(block=True))

            def test_clean(self) -> None:
                pid, write_end = fork(block=False)
                os.close(write_end)
                os.waitpid(pid, 0)

        text = self.assert_leaks(Case)
        ((pid, _),) = pids
        self.assertIn(str(pid), text)
        self.assert_clean(Case)


if __name__ == "__main__":
    unittest.main()
