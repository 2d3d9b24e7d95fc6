"""Run with the plugin loaded but not enabled: leaktest must change nothing."""

import sys
import threading


def test_threading_is_not_patched():
    assert threading.Thread.start.__code__.co_filename == threading.__file__


def test_the_engine_is_not_imported():
    assert "leaktest.check" not in sys.modules
