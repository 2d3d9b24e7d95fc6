"""Telling the stdlib apart, qualified names (3.10 too), the top frame."""

from __future__ import annotations

import os
import queue
import sys
import sysconfig
import threading
import unittest
import unittest.mock
import weakref
from collections.abc import Callable
from types import FrameType

import leaktest
from leaktest import stacks


class Outer:
    class Inner:
        def method(self) -> object:
            return sys._getframe()

        @classmethod
        def klass(cls) -> object:
            return sys._getframe()

    @staticmethod
    def static() -> object:
        return sys._getframe()


def function() -> object:
    return sys._getframe()


class StdlibDetection(leaktest.LeakCheckedTestCase):
    def test_stdlib_modules(self) -> None:
        self.assertTrue(stacks.is_stdlib(queue.__file__))
        self.assertTrue(stacks.is_stdlib(threading.__file__))

    def test_frozen_modules(self) -> None:
        self.assertTrue(stacks.is_stdlib("<frozen importlib._bootstrap>"))
        self.assertTrue(stacks.is_stdlib("<frozen posixpath>"))

    def test_site_packages_below_the_stdlib_directory(self) -> None:
        stdlib = sysconfig.get_paths()["stdlib"]
        self.assertFalse(stacks.is_stdlib(os.path.join(stdlib, "site-packages", "pkg", "mod.py")))
        self.assertFalse(stacks.is_stdlib(os.path.join(stdlib, "dist-packages", "pkg", "mod.py")))

    def test_user_code_and_strings(self) -> None:
        self.assertFalse(stacks.is_stdlib(__file__))
        self.assertFalse(stacks.is_stdlib("<string>"))

    def test_venv_layout(self) -> None:
        # A venv keeps its own site-packages and uses the base installation's stdlib.
        venv_site = os.path.join(sys.prefix, "venv", "lib", "python3", "site-packages", "m.py")
        self.assertFalse(stacks.is_stdlib(venv_site))
        self.assertTrue(stacks.is_stdlib(os.path.join(os.path.dirname(threading.__file__), "json", "x.py")))


class QualifiedNames(leaktest.LeakCheckedTestCase):
    def name(self, frame: object) -> str:
        assert isinstance(frame, type(sys._getframe()))
        return stacks.qualified_name(frame.f_code, frame)

    def test_names_on_every_version(self) -> None:
        self.assertEqual(self.name(Outer.Inner().method()), "test_stacks.Outer.Inner.method")
        self.assertEqual(self.name(Outer.Inner.klass()), "test_stacks.Outer.Inner.klass")
        self.assertEqual(self.name(function()), "test_stacks.function")

    def test_inherited_method_names_its_defining_class(self) -> None:
        class Child(Outer.Inner):
            pass

        self.assertEqual(self.name(Child().method()), "test_stacks.Outer.Inner.method")

    def test_a_function_defined_in_a_function_is_named_as_its_qualname_says(self) -> None:
        def helper(argument: object) -> object:
            return sys._getframe()

        record = stacks.records(stacks.innermost_frame(helper(1)))[0]  # (as a report names it: no frame left)
        expected = "test_stacks.QualifiedNames.test_a_function_defined_in_a_function_is_named_as_its_qualname_says"
        self.assertEqual(stacks.qualified_name(record.f_code, record), expected + ".<locals>.helper")

    def test_noting_a_frame_keeps_none_of_its_locals_alive(self) -> None:
        """(3.10 read a method's `self` through `f_locals`, whose copy of the locals kept
        each one alive until the function returned.)"""

        class Held:
            pass

        def note(argument: object, how: Callable[[FrameType], object]) -> bool:
            held = Held()
            seen = weakref.ref(held)
            how(sys._getframe())
            del held
            return seen() is not None

        for how in (stacks.creation_stack, stacks.start_stack, stacks.Origin):
            with self.subTest(how=how.__name__):
                self.assertFalse(note(1, how))

    def test_stdlib_method(self) -> None:
        q: queue.Queue[int] = queue.Queue()
        frames: list[str] = []

        def tracer(frame, event, arg):  # type: ignore[no-untyped-def]
            if event == "call" and frame.f_code is queue.Queue.put.__code__:
                frames.append(self.name(frame))

        sys.settrace(tracer)
        try:
            q.put(1)
        finally:
            sys.settrace(None)
        self.assertEqual(frames, ["queue.Queue.put"])

    def test_top_frame_skips_the_stdlib(self) -> None:
        frames = stacks.frames_of(sys._getframe())
        self.assertIs(stacks.top_frame(frames), frames[0])
        self.assertIsNone(stacks.top_frame([]))


if __name__ == "__main__":
    unittest.main()


class WhereItWasStarted(leaktest.LeakCheckedTestCase):
    """One sentence for every kind: the site, the function it went through, or why none."""

    def test_a_site_and_the_function_it_went_through(self) -> None:
        site = stacks.start_site(sys._getframe())
        self.assertIsNotNone(site)
        self.assertRegex(
            stacks.where("created", site, "socket.create_server"),
            r"^created by test_stacks\.WhereItWasStarted\.test_a_site_and_the_function_it_went_through "
            r"at \S+test_stacks\.py:\d+ through socket\.create_server$",
        )

    def test_no_site(self) -> None:
        self.assertEqual(stacks.where("started", None), "started outside any Python code leaktest can see")
        self.assertEqual(
            stacks.where("started", None, "os.fork"),
            "started through os.fork, outside any Python code leaktest can see",
        )

    def test_a_creation_names_its_caller_and_the_running_test(self) -> None:
        site = stacks.created_site(stacks.creation_stack(function()), WhereItWasStarted.test_no_site)
        self.assertRegex(
            str(site),
            r"^test_stacks\.function at \S+test_stacks\.py:\d+, "
            r"from test_stacks\.WhereItWasStarted\.test_no_site at \S+test_stacks\.py:\d+$",
        )

    def test_a_creation_by_the_running_test_names_it_once(self) -> None:
        test = type(self).test_a_creation_by_the_running_test_names_it_once
        site = stacks.created_site(stacks.creation_stack(sys._getframe()), test)
        self.assertRegex(
            str(site), r"^\S+\.test_a_creation_by_the_running_test_names_it_once at \S+test_stacks\.py:\d+$"
        )

    def test_a_creation_keeps_its_frames_out_to_the_code_that_asked_and_its_caller(self) -> None:
        def deep(levels: int) -> FrameType:
            return deep(levels - 1) if levels else sys._getframe()

        with unittest.mock.patch.object(stacks, "_whole_stacks", False):  # as long as no rule reads them
            stack = stacks.records(stacks.creation_stack(deep(20)))
        self.assertEqual([frame.f_code.co_name for frame in stack], ["deep", "deep"])
        with unittest.mock.patch.object(stacks, "_whole_stacks", True):
            self.assertGreater(len(stacks.records(stacks.creation_stack(deep(20)))), 20)
