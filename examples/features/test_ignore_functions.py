"""`ignore_top_functions` and `ignore_any_functions`: ignore by what a thread or task runs.

Both take ``"pkg.module.Class.method"`` strings or the function objects themselves.
`ignore_top_functions` looks at the innermost frame outside the standard library
(a poller blocked in ``Event.wait`` inside ``Poller.poll_forever`` has
``poll_forever`` on top); `ignore_any_functions` looks anywhere in the stack.
"""

from __future__ import annotations

import unittest

import leaktest
from examples.features.workers import Worker, run_one, verdict


class Poller(Worker):
    """A library's thread: `run` calls `poll_forever`, which blocks."""

    def run(self) -> None:
        self.poll_forever()

    def poll_forever(self) -> None:
        self.stopping.wait()


class IgnoreFunctionsExample(leaktest.LeakCheckedTestCase):
    grace_period = 0

    def leak_poller(self, **settings: object) -> str:
        """Run a test that leaves a poller running, with `settings`; its verdict."""
        poller = Poller("poller")
        self.addCleanup(poller.stop)  # the example stops what its inner test leaves

        def test(_: unittest.TestCase) -> None:
            poller.start()

        Inner = type("Inner", (leaktest.LeakCheckedTestCase,), {"test": test, **settings})
        return verdict(run_one(Inner))

    def test_the_function_on_top_as_a_function_object(self) -> None:
        self.assertEqual(self.leak_poller(ignore_top_functions=[Poller.poll_forever]), "ok")

    def test_the_function_on_top_as_a_string(self) -> None:
        name = f"{__name__}.Poller.poll_forever"
        self.assertEqual(self.leak_poller(ignore_top_functions=[name]), "ok")

    def test_a_caller_of_the_top_function_is_not_on_top(self) -> None:
        self.assertEqual(self.leak_poller(ignore_top_functions=[Poller.run]), "FAIL")

    def test_any_function_matches_anywhere_in_the_stack(self) -> None:
        self.assertEqual(self.leak_poller(ignore_any_functions=[Poller.run]), "ok")


if __name__ == "__main__":
    unittest.main()
