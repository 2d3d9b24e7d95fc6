"""Bad configuration fails when the class is defined, naming the class and the attribute."""

from __future__ import annotations

import unittest

import leaktest


class ClassAttributes(leaktest.LeakCheckedTestCase):
    def assertRejected(self, error: type[Exception], attribute: str, value: object) -> str:
        with self.assertRaises(error) as caught:
            type("BadCase", (leaktest.LeakCheckedTestCase,), {attribute: value})
        message = str(caught.exception)
        self.assertIn("BadCase", message)
        self.assertIn(attribute, message)
        return message

    def test_bare_string_where_a_list_is_expected(self) -> None:
        for attribute in ("ignore_threads", "ignore_tasks", "ignore_top_functions", "ignore_any_functions"):
            with self.subTest(attribute):
                message = self.assertRejected(TypeError, attribute, "hub-*")
                self.assertIn("did you mean ('hub-*',)?", message)

    def test_wrong_entry_types(self) -> None:
        cases = [
            ("ignore_threads", [42]),
            ("ignore_threads", [len]),  # functions only where functions are matched
            ("ignore_tasks", [None]),
            ("ignore_top_functions", [3.5]),
            ("ignore_top_functions", [len]),  # C functions have no frame to match
            ("ignore_any_functions", [""]),
            ("ignore_threads", None),
            ("ignore_threads", 7),
        ]
        for attribute, value in cases:
            with self.subTest(attribute=attribute, value=value):
                self.assertRejected(TypeError, attribute, value)

    def test_message_says_what_is_accepted(self) -> None:
        message = self.assertRejected(TypeError, "ignore_threads", 7)
        self.assertIn("a list, tuple, set or frozenset of", message)
        for accepted in ({"hub-*"}, frozenset({"hub-*"})):
            with self.subTest(type(accepted).__name__):
                case = type("SetCase", (leaktest.LeakCheckedTestCase,), {"ignore_threads": accepted})
                self.assertEqual(case._leaktest_settings.ignore_threads, ("hub-*",))

    def test_bad_grace_periods(self) -> None:
        for value, error in [
            (-1, ValueError),
            (float("nan"), ValueError),
            (float("inf"), ValueError),
            (True, TypeError),
            ("0.1", TypeError),
            (None, TypeError),
        ]:
            with self.subTest(value=value):
                self.assertRejected(error, "grace_period", value)

    def test_bad_check_flags(self) -> None:
        for attribute in ("check_threads", "check_tasks", "check_processes"):
            with self.subTest(attribute):
                self.assertRejected(TypeError, attribute, "no")

    def test_good_values_are_accepted(self) -> None:
        case = type(
            "GoodCase",
            (leaktest.LeakCheckedTestCase,),
            {
                "grace_period": 0,
                "ignore_threads": ("a-*",),
                "ignore_top_functions": ["pkg.mod.Class.method", ClassAttributes.assertRejected],
                "check_processes": False,
            },
        )
        settings = case._leaktest_settings
        self.assertEqual(settings.grace_period, 0.0)
        self.assertEqual(settings.ignore_threads, ("a-*",))
        self.assertFalse(settings.check_processes)

    def test_a_subclass_is_validated_too(self) -> None:
        base = type("GoodBase", (leaktest.LeakCheckedTestCase,), {"ignore_threads": ["x"]})
        with self.assertRaises(TypeError) as caught:
            type("BadChild", (base,), {"ignore_threads": "y"})
        self.assertIn("BadChild", str(caught.exception))


class Options(leaktest.LeakCheckedTestCase):
    def test_no_leaks_and_verify_none_validate_their_options(self) -> None:
        for function in (leaktest.no_leaks, leaktest.verify_none):
            for options, error in [
                ({"grace_period": None}, TypeError),
                ({"grace_period": float("nan")}, ValueError),
                ({"grace_period": -0.5}, ValueError),
                ({"grace_period": False}, TypeError),
                ({"ignore_threads": "hub"}, TypeError),
                ({"ignore_any_functions": [1]}, TypeError),
            ]:
                with self.subTest(function=function.__name__, options=options):
                    with self.assertRaises(error) as caught:
                        function(**options)  # type: ignore[arg-type]
                    self.assertIn(function.__name__, str(caught.exception))
                    self.assertIn(next(iter(options)), str(caught.exception))


if __name__ == "__main__":
    unittest.main()
