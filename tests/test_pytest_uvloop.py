"""uvloop's timers, servers and subprocesses, made in its compiled code, reported as on
asyncio's own loop (a pytest run on tests/pytest_suites/pytest_uvloop_resources.py)."""

from __future__ import annotations

import unittest

from support import PYTHON_ENV
from test_pytest_plugin import HAVE_ASYNCIO_PLUGIN, HAVE_UVLOOP, Run, shared_run

SUITE = "pytest_uvloop_resources"


def resources_run() -> Run:
    return shared_run("--leaktest", f"{SUITE}.py", needs=("anyio",))


def session_run() -> Run:
    return shared_run("--leaktest", f"{SESSION}.py", needs=("asyncio",))


@unittest.skipUnless(HAVE_UVLOOP, f"uvloop or anyio is not importable (set {PYTHON_ENV} to a python that has it)")
class UvloopResourcesTest(unittest.TestCase):
    pytest_run: Run

    @classmethod
    def setUpClass(cls) -> None:
        cls.pytest_run = resources_run()

    def test_each_test_has_its_verdict(self) -> None:
        outcomes = {name: outcome for name, (outcome, _) in self.pytest_run.outcomes.items()}
        self.assertEqual(
            outcomes,
            {
                f"{SUITE}.test_leaves_a_timer_on_uvloop": "error",
                f"{SUITE}.test_leaves_a_timer_at_on_uvloop": "error",
                f"{SUITE}.test_leaves_a_server_on_uvloop": "error",
                f"{SUITE}.test_leaves_a_subprocess_on_uvloop": "error",
                f"{SUITE}.test_leaves_a_unix_server_on_uvloop": "error",
                f"{SUITE}.test_leaves_a_shell_on_uvloop": "error",
                f"{SUITE}.test_clean_on_uvloop": "passed",
                f"{SUITE}.test_leaves_a_server_on_an_open_uvloop_loop": "error",
                f"{SUITE}.test_leaves_a_callback_on_an_open_uvloop_loop": "error",
            },
            self.pytest_run.output,
        )

    def test_a_timer_is_named_by_its_callback(self) -> None:
        report = self.pytest_run.report(f"{SUITE}.test_leaves_a_timer_on_uvloop")
        self.assertIn("found asyncio callbacks and timers still pending:", report)
        self.assertIn(f"[Timer {SUITE}.uvloop_tick() (call_later/call_at, due in ", report)
        at = self.pytest_run.report(f"{SUITE}.test_leaves_a_timer_at_on_uvloop")
        self.assertIn(f"[Timer {SUITE}.uvloop_tick('at') (call_later/call_at, due in ", at)

    def test_a_callback_not_run_yet_is_named(self) -> None:
        report = self.pytest_run.report(f"{SUITE}.test_leaves_a_callback_on_an_open_uvloop_loop")
        self.assertIn(f"[Callback {SUITE}.uvloop_tick('soon') (call_soon, not run yet, on stopped loop #", report)

    def test_a_server_closed_only_by_its_loop_is_reported(self) -> None:
        report = self.pytest_run.report(f"{SUITE}.test_leaves_a_server_on_uvloop")
        self.assertIn("found unexpected sockets:", report)
        self.assertIn("(AF_INET, SOCK_STREAM, listening on 127.0.0.1:", report)
        self.assertIn("never closed: its server was still listening when its uvloop event loop closed it", report)
        self.assertIn(f"created by {SUITE}.test_leaves_a_server_on_uvloop at ", report)

    def test_a_unix_server_closed_only_by_its_loop_is_reported(self) -> None:
        report = self.pytest_run.report(f"{SUITE}.test_leaves_a_unix_server_on_uvloop")
        self.assertIn("(AF_UNIX, SOCK_STREAM, listening on ", report)
        self.assertIn("uvloop.sock) never closed: its server was still listening when its uvloop event loop", report)

    def test_a_server_on_an_open_loop_is_still_open(self) -> None:
        report = self.pytest_run.report(f"{SUITE}.test_leaves_a_server_on_an_open_uvloop_loop")
        self.assertIn("(AF_INET, SOCK_STREAM, listening on 127.0.0.1:", report)
        self.assertIn(") still open\n", report)
        self.assertIn(f"created by {SUITE}.test_leaves_a_server_on_an_open_uvloop_loop at ", report)
        self.assertIn("found asyncio event loops never closed:", report)

    def test_a_subprocess_is_reported_with_its_command_line(self) -> None:
        report = self.pytest_run.report(f"{SUITE}.test_leaves_a_subprocess_on_uvloop")
        self.assertIn("found unexpected processes:", report)
        self.assertIn("(running): ", report)
        self.assertIn("-c 'import time; time.sleep(3600)'", report)
        self.assertIn(f"started by {SUITE}.test_leaves_a_subprocess_on_uvloop at ", report)

    def test_a_shell_is_reported_as_run_by_sh(self) -> None:
        report = self.pytest_run.report(f"{SUITE}.test_leaves_a_shell_on_uvloop")
        self.assertIn("(running): /bin/sh -c 'sleep 3600'", report)
        self.assertIn(f"started by {SUITE}.test_leaves_a_shell_on_uvloop at ", report)


SESSION = "pytest_uvloop_session"


@unittest.skipUnless(
    HAVE_UVLOOP and HAVE_ASYNCIO_PLUGIN,
    f"uvloop or pytest-asyncio is not importable (set {PYTHON_ENV} to a python that has it)",
)
class UvloopSessionLoopTest(unittest.TestCase):
    """pytest-asyncio's session-scoped uvloop loop: the runner's own, never a test's;
    what a test leaves on it is that test's."""

    def test_each_test_has_its_verdict(self) -> None:
        run = session_run()
        outcomes = {name: outcome for name, (outcome, _) in run.outcomes.items()}
        self.assertEqual(
            outcomes,
            {
                f"{SESSION}.test_clean_first": "passed",
                f"{SESSION}.test_leaves_a_timer_on_the_session_loop": "error",
                f"{SESSION}.test_leaves_a_server_on_the_session_loop": "error",
                f"{SESSION}.test_clean_after": "passed",
            },
            run.output,
        )
        timer = run.report(f"{SESSION}.test_leaves_a_timer_on_the_session_loop")
        self.assertIn(f"[Timer {SESSION}.session_tick() (call_later/call_at, due in ", timer)
        self.assertNotIn("event loops never closed", timer)
        server = run.report(f"{SESSION}.test_leaves_a_server_on_the_session_loop")
        self.assertIn("(AF_INET, SOCK_STREAM, listening on 127.0.0.1:", server)
        self.assertIn(") still open\n", server)


def start_runs() -> None:
    if HAVE_UVLOOP:
        resources_run()
    if HAVE_UVLOOP and HAVE_ASYNCIO_PLUGIN:
        session_run()


start_runs()  # when imported: discovery imports every module before any test runs, so the runs overlap them all


if __name__ == "__main__":
    unittest.main()
