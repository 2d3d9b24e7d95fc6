"""A class's marker with a bad value: one collection error for its items (see tests/test_pytest_plugin.py)."""

import pytest


@pytest.mark.leaktest(grace_period="soon")
class TestUnderABadClassMarker:
    def test_one(self):
        pass

    def test_two(self):
        pass
