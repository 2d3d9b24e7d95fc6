"""Django's SimpleTestCase and TestCase with leaktest's base class first."""

import threading

from django.test import SimpleTestCase, TestCase, TransactionTestCase

import leaktest

from .models import Note

_never = threading.Event()


def leak_thread(name: str) -> None:
    threading.Thread(target=_never.wait, name=name, daemon=True).start()


class SimpleChecked(leaktest.LeakCheckedTestCase, SimpleTestCase):
    grace_period = 0.05  # what it leaks on purpose is waited for briefly

    def test_clean(self) -> None:
        with self.settings(USE_TZ=False):
            from django.conf import settings

            self.assertFalse(settings.USE_TZ)

    def test_leaks_thread(self) -> None:
        leak_thread("django-simple-thread-leak")


class DatabaseChecked(leaktest.LeakCheckedTestCase, TestCase):
    grace_period = 0.05  # what it leaks on purpose is waited for briefly

    @classmethod
    def setUpTestData(cls) -> None:
        Note.objects.create(text="from setUpTestData")

    def test_clean(self) -> None:
        Note.objects.create(text="rolled back after the test")
        self.assertEqual(Note.objects.count(), 2)

    async def test_clean_async(self) -> None:
        # Django runs it through asgiref's async_to_sync, its ORM calls through sync_to_async.
        await Note.objects.acreate(text="rolled back after the test")
        self.assertEqual(await Note.objects.acount(), 2)

    def test_rolled_back(self) -> None:
        self.assertEqual(Note.objects.count(), 1)

    def test_leaks_thread(self) -> None:
        leak_thread("django-db-thread-leak")


class TransactionChecked(leaktest.LeakCheckedTestCase, TransactionTestCase):
    """Django closes the connection a TransactionTestCase's test opened in its own
    teardown, after unittest's run(): checked after it, the test leaves nothing open."""

    grace_period = 0.05  # what it leaks on purpose is waited for briefly
    check_fds = True

    def test_clean_query(self) -> None:
        Note.objects.create(text="flushed after the test")
        self.assertEqual(Note.objects.count(), 1)

    def test_leaks_thread(self) -> None:
        Note.objects.create(text="flushed after the test")
        leak_thread("django-transaction-thread-leak")
