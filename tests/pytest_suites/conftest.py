"""Helpers for the small pytest suites that tests/test_pytest_plugin.py runs.

Leaked threads are daemons blocked on an event nobody sets; hubs (daemons too) stop when asked.
"""

import threading

import pytest

from hubs import start_hub  # tests/hubs.py: the pytest runs have tests/ on their path

never = threading.Event()


def leak(name: str) -> threading.Thread:
    thread = threading.Thread(target=never.wait, name=name, daemon=True)
    thread.start()
    return thread


@pytest.fixture
def worker():
    """A function-scoped fixture whose finalizer stops the thread it started."""
    hub = start_hub("function-fixture-worker", daemon=True)
    yield hub
    hub.stop()
