"""What the examples share: a tiny background worker, and running a test to see its verdict."""

from __future__ import annotations

import threading
import unittest


class Worker:
    """A thread named `name` that runs until `stop()`; `stop()` joins it."""

    def __init__(self, name: str = "worker") -> None:
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.run, name=name)

    def start(self) -> Worker:
        self.thread.start()
        return self

    def run(self) -> None:
        self.stopping.wait()

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join()

    def stop_later(self) -> None:
        """Ask the thread to end without waiting for it: it ends a moment later."""
        self.stopping.set()


def run_one(case: type[unittest.TestCase], name: str = "test") -> unittest.TestResult:
    """Run one test of `case` with its own result, as a test runner would."""
    result = unittest.TestResult()
    case(name).run(result)
    return result


def verdict(result: unittest.TestResult) -> str:
    """'ok', 'FAIL' or 'ERROR' for a result holding one test."""
    if result.errors:
        return "ERROR"
    return "FAIL" if result.failures else "ok"


def report(result: unittest.TestResult) -> str:
    return "\n".join(text for _, text in result.failures + result.errors)
