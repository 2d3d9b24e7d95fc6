"""Tests that print how deep their stack is, and which of its frames are leaktest's."""

import os
import sys
import unittest

import leaktest

PACKAGE = os.path.dirname(os.path.abspath(leaktest.__file__))


def print_depth(kind: str) -> None:
    frame = sys._getframe(1)
    depth, own = 0, []
    while frame is not None:
        depth += 1
        filename = os.path.abspath(frame.f_code.co_filename)
        # leaktest's __main__ stands where unittest's does.
        if filename.startswith(PACKAGE + os.sep) and os.path.basename(filename) != "__main__.py":
            own.append(f"{os.path.basename(frame.f_code.co_filename)}:{frame.f_code.co_name}")
        frame = frame.f_back
    print(f"depth {kind} {depth} {' '.join(own) or '-'}")


class Plain(unittest.TestCase):
    def test_depth(self) -> None:
        print_depth("sync")


class Isolated(unittest.IsolatedAsyncioTestCase):
    async def test_depth(self) -> None:
        print_depth("async")
