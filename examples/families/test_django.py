"""Django's SimpleTestCase, leak-checked: leaktest.LeakCheckedTestCase first among the bases.

The same goes for TestCase and TransactionTestCase, run by `manage.py test`:
Django's own set-up and teardown (settings, transactions, the test client, the
connections a TransactionTestCase's test opened) keep working, and leaktest
checks after Django's teardown. This example configures Django itself, as
`manage.py` would from the project's settings.
"""

from __future__ import annotations

import unittest

try:
    import django
    from django.conf import settings
    from django.test import SimpleTestCase
except ImportError:  # a test-only dependency of this example
    raise unittest.SkipTest("django is not installed") from None

import leaktest
from examples.features.workers import Worker, report, verdict

if not settings.configured:
    settings.configure(USE_TZ=True)
    django.setup()


class SettingsTest(leaktest.LeakCheckedTestCase, SimpleTestCase):
    def test_override(self) -> None:
        with self.settings(USE_TZ=False):
            self.assertFalse(settings.USE_TZ)


class LeakInADjangoTest(unittest.TestCase):
    def test_a_thread_left_running_fails_the_test(self) -> None:
        worker = Worker("django-example-worker")

        class Leaky(SettingsTest):
            def test(self) -> None:
                worker.start()

        result = unittest.TestResult()
        Leaky("test")(result)  # as Django's runner calls a test: its set-up and teardown around run()
        worker.stop()
        self.assertEqual(verdict(result), "FAIL")
        self.assertIn("[Thread 'django-example-worker'", report(result))
