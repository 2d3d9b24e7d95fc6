"""leaktest: fail the test that leaves threads, asyncio tasks or child processes running."""

from .case import LeakCheckedAsyncTestCase, LeakCheckedTestCase
from .guards import no_leaks, verify_none
from .report import LeakError

__version__ = "0.1.0"

__all__ = ["LeakCheckedAsyncTestCase", "LeakCheckedTestCase", "LeakError", "no_leaks", "verify_none"]
