"""`python -m leaktest ARGS`: `python -m unittest ARGS`, every test leak-checked."""

import sys

from .runner import PROG, LeakTestProgram

__unittest = True

if __name__ == "__main__":
    sys.argv[0] = PROG  # the program's name in its usage, as unittest's __main__ names its own
    program = LeakTestProgram(module=None, exit=False)
    sys.exit(program.leaktest_finish())
