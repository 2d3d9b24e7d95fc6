"""unittest.TestCase classes collected by pytest (see tests/test_pytest_plugin.py)."""

import unittest

import leaktest
from conftest import leak
from hubs import start_hub


class PlainCase(unittest.TestCase):
    def test_clean(self):
        hub = start_hub("plain-case-hub", daemon=True)
        self.addCleanup(hub.stop)

    def test_leaks(self):
        leak("plain-case-leak")


class PlainCaseWithClassFixture(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        leak("setupclass-leak")

    def test_passes(self):
        pass


class CheckedCase(leaktest.LeakCheckedTestCase):
    ignore_threads = ("own-ignore-*",)
    grace_period = 0.05

    def test_own_ignores_hold(self):
        leak("own-ignore-1")

    def test_leaks_once(self):
        leak("checked-case-leak")
