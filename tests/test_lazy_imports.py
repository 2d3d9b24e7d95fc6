"""leaktest imports only what the code under test imports.

asyncio (with ssl, subprocess, concurrent.futures, logging) costs a suite that
never uses it its import, and every `gc.collect()` of the run the objects it holds;
so does importlib.metadata, read only where a distribution declares ignores,
typing, which leaktest's annotations read only under the type checker, and
sysconfig, whose paths the stdlib's own modules' places already tell; socket,
which a suite that makes no socket never needs, costs its import (with selectors). So their probes' hooks wait for the code under
test to import them, and are in place as soon as it has: a task made in the very
test that first imported asyncio is seen. Each case runs in a fresh interpreter,
where nothing was imported before.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import unittest

from support import ROOT, TESTS, child_environment

#: Modules a synchronous suite never asked for.
NOT_ASKED_FOR = (
    "asyncio",
    "concurrent.futures",
    "importlib.metadata",
    "logging",
    "multiprocessing",
    "shlex",
    "ssl",
    "subprocess",
    "sysconfig",
    "typing",
    "unittest.async_case",
    # leaktest's own: the known-leaks file and the JSON report, for a run that asks for them.
    "leaktest.run_files",
    "leaktest.json_report",
    "leaktest.known_leaks",
)

#: What the script imported: the interpreter's start-up may have imported some already
#: (a `.pth` file of site-packages imports typing on some installations).
RUN_AND_LIST = """
import sys
NOT_ASKED_FOR = {not_asked_for!r}
AT_START = set(sys.modules)
{script}
print("imported:", " ".join(name for name in NOT_ASKED_FOR if name in sys.modules and name not in AT_START))
"""

SYNC_TESTS = """
import socket, threading, unittest

class Clean(BASE):
    def test_thread_joined(self):
        thread = threading.Thread(target=lambda: None)
        thread.start()
        thread.join()

    def test_socket_closed(self):
        socket.socket().close()
"""


def run_script(script: str) -> subprocess.CompletedProcess[str]:
    environment = child_environment(lambda name: name.startswith(("LEAKTEST_", "PYTEST_")))
    environment["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(TESTS)])
    source = RUN_AND_LIST.format(not_asked_for=NOT_ASKED_FOR, script=textwrap.dedent(script))
    return subprocess.run(
        [sys.executable, "-c", source], cwd=TESTS, env=environment, capture_output=True, text=True, timeout=300
    )


def imported(process: subprocess.CompletedProcess[str]) -> list[str]:
    lines = [line for line in process.stdout.splitlines() if line.startswith("imported:")]
    if not lines:
        raise AssertionError(f"no 'imported:' line in:\n{process.stdout}\n{process.stderr}")
    return lines[-1].split()[1:]


class NothingUnaskedTest(unittest.TestCase):
    def test_leak_checked_test_case(self) -> None:
        process = run_script(
            "from leaktest import LeakCheckedTestCase as BASE\n"
            + SYNC_TESTS
            + "result = unittest.TextTestRunner().run(unittest.defaultTestLoader.loadTestsFromTestCase(Clean))\n"
            + "print('verdict:', result.testsRun, len(result.failures), len(result.errors))\n"
        )
        self.assertIn("verdict: 2 0 0", process.stdout, process.stderr)
        self.assertEqual(imported(process), [])

    def test_runner(self) -> None:
        process = run_script(
            "import unittest\nBASE = unittest.TestCase\n"
            + SYNC_TESTS
            + "from leaktest import runner\n"
            + "program = runner.LeakTestProgram(module=None, argv=['leaktest', '__main__'], exit=False)\n"
            + "print('verdict:', program.result.testsRun, program.result.wasSuccessful())\n"
        )
        self.assertIn("verdict: 2 True", process.stdout, process.stderr)
        self.assertEqual(imported(process), [])

    def test_a_suite_that_makes_no_socket_never_imports_socket(self) -> None:
        process = run_script("""
            import threading, unittest
            from leaktest import runner

            class NoSockets(unittest.TestCase):
                def test_thread_joined(self):
                    thread = threading.Thread(target=lambda: None)
                    thread.start()
                    thread.join()

            program = runner.LeakTestProgram(module=None, argv=["leaktest", "__main__"], exit=False)
            print("verdict:", program.result.testsRun, program.result.wasSuccessful())
            print("socket imported:", "socket" in sys.modules)
        """)
        self.assertIn("verdict: 1 True", process.stdout, process.stderr)
        self.assertIn("socket imported: False", process.stdout)

    def test_the_async_test_case_imports_asyncio(self) -> None:
        process = run_script("from leaktest import LeakCheckedAsyncTestCase\n")
        self.assertIn("asyncio", imported(process))


class FirstImportedInTheTestTest(unittest.TestCase):
    def test_a_task_made_in_the_test_that_first_imported_asyncio_fails_it(self) -> None:
        process = run_script("""
            import unittest
            from leaktest import LeakCheckedTestCase

            assert "asyncio" not in sys.modules
            kept = []

            class FirstAsyncio(LeakCheckedTestCase):
                leak_grace_period = 0.05

                def test_imports_asyncio(self):
                    import asyncio

                    loop = asyncio.new_event_loop()
                    task = loop.create_task(asyncio.sleep(3600), name="made-after-the-first-import")
                    loop.run_until_complete(asyncio.sleep(0))
                    kept.append((loop, task))

            unittest.TextTestRunner().run(unittest.defaultTestLoader.loadTestsFromTestCase(FirstAsyncio))
        """)
        self.assertIn("FAIL: test_imports_asyncio", process.stderr)
        self.assertIn("Task 'made-after-the-first-import'", process.stderr)
        self.assertIn("never closed", process.stderr)  # the loop, made in the same test

    def test_a_socket_made_in_the_test_that_first_imported_socket_fails_it(self) -> None:
        process = run_script("""
            import unittest
            from leaktest import LeakCheckedTestCase

            assert "socket" not in sys.modules
            kept = []

            class FirstSocket(LeakCheckedTestCase):
                leak_grace_period = 0.05

                def test_imports_socket(self):
                    import socket

                    listener = socket.socket()
                    listener.bind(("127.0.0.1", 0))
                    listener.listen()
                    kept.append(listener)

            unittest.TextTestRunner().run(unittest.defaultTestLoader.loadTestsFromTestCase(FirstSocket))
            kept[0].close()
        """)
        self.assertIn("FAIL: test_imports_socket", process.stderr)
        self.assertIn("found unexpected sockets:", process.stderr)
        self.assertIn("listening on 127.0.0.1:", process.stderr)

    def test_a_process_started_in_the_test_that_first_imported_subprocess_fails_it(self) -> None:
        process = run_script("""
            import unittest
            from leaktest import LeakCheckedTestCase

            assert "subprocess" not in sys.modules
            children = []

            class FirstSubprocess(LeakCheckedTestCase):
                leak_grace_period = 0.05

                def test_imports_subprocess(self):
                    import subprocess

                    children.append(subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE))

            try:
                unittest.TextTestRunner().run(unittest.defaultTestLoader.loadTestsFromTestCase(FirstSubprocess))
            finally:
                for child in children:
                    child.stdin.close()
                    child.wait()
        """)
        self.assertIn("FAIL: test_imports_subprocess", process.stderr)
        self.assertIn("found unexpected processes:", process.stderr)
        self.assertIn("sys.stdin.read()", process.stderr)


if __name__ == "__main__":
    unittest.main()
