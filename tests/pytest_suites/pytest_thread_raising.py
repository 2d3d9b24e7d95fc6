"""Run with `-W error -p release_after_teardown` (see tests/test_pytest_plugin.py)."""

import threading

from release_after_teardown import to_release


def _raise_when_released(released):
    released.wait()
    raise RuntimeError("raised by a thread while the check waited for it")


def test_thread_raising_during_the_check():
    released = threading.Event()
    to_release.append(released)
    threading.Thread(target=_raise_when_released, args=(released,), name="raises-late", daemon=True).start()


def test_after_the_thread_raised():
    pass
