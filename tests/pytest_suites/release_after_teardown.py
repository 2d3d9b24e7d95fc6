"""A plugin (-p release_after_teardown) that, after pytest's own last look at a test's
teardown, releases the threads the test asked it to: a thread then ends while
leaktest's check waits for it (see tests/test_pytest_plugin.py)."""

import threading

import pytest

to_release: list[threading.Event] = []


@pytest.hookimpl(trylast=True)  # registered after pytest's own: runs after them
def pytest_runtest_teardown(item):
    while to_release:
        to_release.pop().set()
