from _leaks import leak_thread
from twisted.trial import unittest as trial


class TrialPlain(trial.SynchronousTestCase):
    def test_clean(self) -> None:
        pass

    def test_leaks_thread(self) -> None:
        leak_thread("trial-plain-leak")
