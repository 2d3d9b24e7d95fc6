"""Fixture ownership, as for unittest's class fixtures (see tests/test_pytest_plugin.py):
what a fixture's teardown leaves is the fixture's; a connection its server keeps
after the test closed its side is the fixture's; a file it opens, first requested
by a test, is not that test's; a fixture finalized when its parameter changes
leaves the next test's leaks to that test; a fixture set up inside another's
setup is its own; an exception its thread raises during a test is its own."""

import os
import socket
import tempfile
import threading

import pytest

from conftest import leak
from hubs import start_hub

_held = []  # the connections the holding server keeps open: its leak


@pytest.fixture(scope="class")
def teardown_leak():
    yield
    leak("left-by-a-teardown")


class TestTeardownLeak:
    def test_one(self, teardown_leak):
        pass

    def test_two(self, teardown_leak):
        pass


@pytest.fixture(scope="class")
def holding_server():
    listener = socket.create_server(("127.0.0.1", 0))
    yield listener
    listener.close()


class TestHeldConnection:
    def test_closes_its_side(self, holding_server):
        with socket.create_connection(holding_server.getsockname()):
            _held.append(holding_server.accept()[0])

    def test_last(self, holding_server):
        pass


@pytest.fixture(scope="class")
def scratch_file():
    fd, path = tempfile.mkstemp()
    yield fd
    os.close(fd)
    os.unlink(path)


@pytest.mark.leaktest(check_fds=True)
class TestScratchFile:
    def test_first_use(self, scratch_file):
        os.fstat(scratch_file)

    def test_second_use(self, scratch_file):
        os.fstat(scratch_file)


@pytest.fixture(scope="class", params=["first", "second"])
def switched(request):
    yield request.param


class TestSwitchedParameter:
    def test_leaks_with_the_second(self, switched):
        if switched == "second":
            leak("leaked-after-a-switch")


@pytest.fixture(scope="session")
def session_hub():
    hub = start_hub("set-up-inside-a-class-fixture", daemon=True)
    yield hub
    hub.stop()


@pytest.fixture(scope="class")
def uses_the_session_hub(request):
    """Sets the session fixture up inside its own setup (pytest then finalizes the two
    together): the hub is the session fixture's, stopped by it, a leak of neither."""
    return request.getfixturevalue("session_hub")


class TestNestedSetup:
    def test_one(self, uses_the_session_hub):
        assert uses_the_session_hub.thread.is_alive()

    def test_two(self, uses_the_session_hub):
        pass


@pytest.fixture(scope="class")
def failing_worker():
    """Its thread raises when a test asks it to: an exception of the fixture's thread."""
    asked = threading.Event()

    def work():
        asked.wait()
        raise RuntimeError("the fixture's worker failed")

    thread = threading.Thread(target=work, name="fixture-worker")
    thread.start()
    yield asked, thread
    asked.set()
    thread.join()


class TestFixtureThreadRaising:
    def test_makes_it_raise(self, failing_worker):
        asked, thread = failing_worker
        asked.set()
        thread.join()

    def test_last(self, failing_worker):
        pass
