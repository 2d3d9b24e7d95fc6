"""Unchanged Django tests, for `pytest --leaktest` with pytest-django (not named test*.py:
`manage.py test` does not collect them)."""

import threading

from django.test import TestCase, TransactionTestCase

from .models import Note

_never = threading.Event()


class DatabasePlain(TestCase):
    def test_clean(self) -> None:
        Note.objects.create(text="rolled back after the test")

    def test_leaks_thread(self) -> None:
        threading.Thread(target=_never.wait, name="django-plain-leak", daemon=True).start()


class TransactionPlain(TransactionTestCase):
    def test_clean_query(self) -> None:
        Note.objects.create(text="flushed after the test")
