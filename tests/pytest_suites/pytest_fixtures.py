"""Fixtures of wider scope own what they start (see tests/test_pytest_plugin.py)."""

import pytest

from conftest import leak
from hubs import start_hub


@pytest.fixture(scope="session", autouse=True)
def session_hub():
    """Started by the first test's setup, stopped at the end of the session: never a leak."""
    hub = start_hub("session-hub", daemon=True)
    yield hub
    hub.stop()


@pytest.fixture(scope="module")
def module_leak():
    """Starts a thread and never stops it: a leak of this fixture, not of a test."""
    leak("module-fixture-leak")


@pytest.fixture(scope="class")
def class_hub():
    hub = start_hub("class-hub", daemon=True)
    yield hub
    hub.stop()


def test_first_uses_the_leaky_module_fixture(module_leak):
    pass


def test_last_of_the_module(module_leak):
    pass


class TestWithClassFixture:
    def test_one(self, class_hub):
        assert class_hub.thread.is_alive()

    def test_two(self, class_hub):
        assert class_hub.thread.is_alive()


def test_after_the_class():
    pass
