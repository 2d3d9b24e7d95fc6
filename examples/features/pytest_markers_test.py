"""``@pytest.mark.leaktest(...)``: leaktest's settings for a pytest test, class or module.

Under ``pytest --leaktest examples`` (CI runs it so); without ``--leaktest`` the
markers change nothing. Named ``*_test.py`` so that pytest collects it and
unittest's discovery (``test*.py``), which runs without pytest installed, does not.
The first two tests leak what their marker allows (each would be an ERROR at
teardown without it); the module's teardown stops what they left running.
"""

from __future__ import annotations

import pytest

from examples.features.workers import Worker

pytestmark = pytest.mark.leaktest(ignore_threads=["pool-*"])

left_running: list[Worker] = []


def teardown_module() -> None:
    for worker in left_running:
        worker.stop()


def test_a_pool_thread_may_outlive_the_test() -> None:
    left_running.append(Worker("pool-1").start())  # ignored: the module's marker


@pytest.mark.leaktest(enabled=False)  # not checked at all
def test_a_known_leak() -> None:
    left_running.append(Worker("cache-reaper").start())


@pytest.mark.leaktest(grace_period=5.0, ignore_tasks=["heartbeat"], check_processes=False)
def test_a_slow_shutdown_is_waited_for() -> None:
    Worker("flusher").start().stop_later()  # not joined: the check waits for its end
