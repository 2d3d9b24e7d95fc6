"""A module fixture's server answers the tests: what it makes while serving is its
own, not the test's (see tests/test_pytest_plugin.py)."""

import pytest

from served import Server, ThreadCache  # tests/served.py: the pytest runs have tests/ on their path


@pytest.fixture(scope="module")
def server():
    running = Server("served-server", daemon=True)
    yield running
    running.stop()


def test_first_request(server):
    server.request()


def test_second_request(server):
    server.request()


@pytest.fixture(scope="class")
def thread_cache():
    cache = ThreadCache(daemon=True)
    yield cache
    cache.stop()


class TestThreadCache:
    def test_first_needs_a_worker(self, thread_cache):
        thread_cache.run()

    def test_second_reuses_it(self, thread_cache):
        thread_cache.run()
