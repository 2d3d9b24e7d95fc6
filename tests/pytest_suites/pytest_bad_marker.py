"""Markers with bad values: a collection error naming each (see tests/test_pytest_plugin.py)."""

import pytest


def test_fine():
    pass


@pytest.mark.leaktest(grace_period=-1)
def test_negative_grace():
    pass


@pytest.mark.leaktest(ignore_threads="hub-*")
def test_bare_string():
    pass


@pytest.mark.leaktest(grace=1)
def test_unknown_option():
    pass
