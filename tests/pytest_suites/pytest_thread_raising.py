"""Run with `-W error -p release_after_teardown` (see tests/test_pytest_plugin.py)."""

import threading

import pytest

from release_after_teardown import to_release


def _raise_when_released(released):
    released.wait()
    raise RuntimeError("raised by a thread while the check waited for it")


# The thread ends on its own once released, and pytest's hook for its exception may
# first import tracemalloc: on a loaded machine that outlasts the suite's 0.05 s. The
# check waits only until the thread has ended, so a long grace costs nothing.
@pytest.mark.leaktest(grace_period=10)
def test_thread_raising_during_the_check():
    released = threading.Event()
    to_release.append(released)
    threading.Thread(target=_raise_when_released, args=(released,), name="raises-late", daemon=True).start()


def test_after_the_thread_raised():
    pass
