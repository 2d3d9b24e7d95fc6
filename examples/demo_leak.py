"""Four tests that leak, to show what leaktest reports: ``python -m examples.demo_leak``.

1. a `LogServer` whose `stop()` was forgotten: threads `loghub-accept`,
   `loghub-heartbeat` and `loghub-run`, and its listening socket, outlive the test;
2. an asyncio task, `forgotten-tailer`, created and never awaited nor cancelled;
3. an asyncio reconnect timer (`loop.call_later`) never cancelled;
4. a child process, started with `Popen` and never waited for.

Each test FAILs with leaktest's report, and the demo exits with status 1
(leaks found); `test_demo_leak.py` checks exactly that. After the report it
stops the server and kills the child, so the demo itself leaves nothing behind.
The name does not match ``test*.py``: unittest discovery must not collect it.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import unittest

from examples.loghub import LogServer
from leaktest import LeakCheckedAsyncTestCase, LeakCheckedTestCase

SLEEPER = [sys.executable, "-c", "import time; time.sleep(30)"]

# What the tests leak, kept so that `clear_away_leaks` can end it after the report.
forgotten_servers: list[LogServer] = []
forgotten_children: list[subprocess.Popen[bytes]] = []


class ForgottenServerStop(LeakCheckedTestCase):
    def test_server_never_stopped(self) -> None:
        server = LogServer("demo-token")
        server.start()
        forgotten_servers.append(server)  # no self.addCleanup(server.stop)


async def tail_forever() -> None:
    while True:
        await asyncio.sleep(1)


class ForgottenTask(LeakCheckedAsyncTestCase):
    async def test_task_never_awaited(self) -> None:
        asyncio.create_task(tail_forever(), name="forgotten-tailer")  # neither awaited nor cancelled


def reconnect() -> None:
    """What a client would do when its timer fires."""


class ForgottenTimer(LeakCheckedAsyncTestCase):
    async def test_reconnect_timer_never_cancelled(self) -> None:
        asyncio.get_running_loop().call_later(30, reconnect)  # the handle is never cancelled


class ForgottenChild(LeakCheckedTestCase):
    def test_child_never_waited(self) -> None:
        forgotten_children.append(subprocess.Popen(SLEEPER))  # no wait(), no kill()


def clear_away_leaks() -> None:
    """What the tests should have done; the task and the timer need nothing, their loop is closed."""
    for server in forgotten_servers:
        server.stop()
    for child in forgotten_children:
        child.kill()
        child.wait()


def main() -> int:
    loader = unittest.defaultTestLoader
    suite = unittest.TestSuite(
        loader.loadTestsFromTestCase(case)
        for case in (ForgottenServerStop, ForgottenTask, ForgottenTimer, ForgottenChild)
    )
    try:
        result = unittest.TextTestRunner(verbosity=2).run(suite)
    finally:
        clear_away_leaks()
    return 0 if result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
