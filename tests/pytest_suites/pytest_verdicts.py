"""Plain pytest functions: one verdict each (see tests/test_pytest_plugin.py)."""

import pytest

from conftest import leak
from hubs import start_hub


def test_clean():
    pass


def test_leaks_thread():
    leak("function-leak")


def test_fails_and_leaks():
    leak("failing-leak")
    assert False, "fails on purpose"


def test_fixture_finalizer_stops_the_thread(worker):
    assert worker.thread.is_alive()


@pytest.mark.leaktest(grace_period=3600)
def test_thread_ends_within_the_grace():
    # With a one-hour grace, this only finishes if the check returns the moment it ends.
    start_hub("winding-down", daemon=True).stop_later()


@pytest.mark.leaktest(ignore_threads=["ignored-*"])
def test_ignored_by_marker():
    leak("ignored-by-marker")


@pytest.mark.leaktest(check_threads=False)
def test_threads_not_checked():
    leak("not-checked")


@pytest.mark.leaktest(enabled=False)
def test_disabled():
    leak("disabled-leak")


@pytest.mark.leaktest(ignore_threads=["class-ignored-*"])
class TestMarkedClass:
    def test_ignored_by_class_marker(self):
        leak("class-ignored-1")

    @pytest.mark.leaktest(ignore_threads=["method-ignored-*"])
    def test_class_and_method_ignores_add_up(self):
        leak("class-ignored-2")
        leak("method-ignored-1")

    def test_other_leaks_still_fail(self):
        leak("class-not-ignored")


@pytest.mark.leaktest(enabled=False)
class TestDisabledClass:
    @pytest.mark.leaktest(grace_period=0)
    def test_a_closer_marker_without_enabled_keeps_it_off(self):
        leak("disabled-class-leak")
