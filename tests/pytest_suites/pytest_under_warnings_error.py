"""Run with `-W error`, as suites with `filterwarnings = error` are (see tests/test_pytest_plugin.py)."""

import gc
import socket

import pytest

from conftest import leak


@pytest.fixture(scope="module", autouse=True)
def no_automatic_collection():
    """Only the check's own collection finds the dropped socket."""
    gc.disable()
    yield
    gc.enable()


@pytest.mark.leaktest(grace_period=0)
def test_drops_a_socket_in_a_cycle():
    cycle = [socket.socket()]
    cycle.append(cycle)


def test_after_the_check_collected_it():
    pass


@pytest.mark.leaktest(grace_period=0)
def test_leaks_thread():
    leak("leak-under-warnings-error")


class BrokenFinalizer:
    def __del__(self):
        raise RuntimeError("raised by a finalizer the check's collection ran")


@pytest.mark.leaktest(grace_period=0)
def test_drops_a_socket_and_a_broken_finalizer_in_a_cycle():
    cycle = [socket.socket(), BrokenFinalizer()]
    cycle.append(cycle)


def test_after_the_broken_finalizer_ran():
    pass
