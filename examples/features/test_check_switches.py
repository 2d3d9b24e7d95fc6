"""`check_threads`, `check_tasks`, `check_processes`: turn one kind of check off for a class."""

from __future__ import annotations

import subprocess
import sys
import unittest

import leaktest


class ChildProcessesAreNotMine(leaktest.LeakCheckedTestCase):
    # This class's tests hand children to a supervisor that outlives them.
    check_processes = False

    def test_a_child_left_running_is_not_checked(self) -> None:
        child = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
        self.addClassCleanup(child.wait)
        self.addClassCleanup(child.stdin.close)  # type: ignore[union-attr]


if __name__ == "__main__":
    unittest.main()
