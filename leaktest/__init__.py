"""leaktest: fail the test that leaves threads, tasks, processes, sockets, handles, loops (or fds) behind.

The public names are imported on first use: pytest imports the package when it
loads the plugin, and a suite that does not ask for leaktest must find the
standard library unpatched; a suite that asks for `LeakCheckedTestCase` only
must not find asyncio imported (`LeakCheckedAsyncTestCase` is in async_case.py).
"""

from __future__ import annotations

import importlib

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from .async_case import LeakCheckedAsyncTestCase
    from .case import LeakCheckedTestCase
    from .guards import no_leaks, verify_none
    from .marks import expected_leak, leak_settings
    from .report import LeakError, LeakWarning

__version__ = "0.1.0"

__all__ = [
    "LeakCheckedAsyncTestCase",
    "LeakCheckedTestCase",
    "LeakError",
    "LeakWarning",
    "expected_leak",
    "leak_settings",
    "no_leaks",
    "verify_none",
]

_MODULE_OF = {
    "LeakCheckedAsyncTestCase": "async_case",
    "LeakCheckedTestCase": "case",
    "LeakError": "report",
    "LeakWarning": "report",
    "expected_leak": "marks",
    "leak_settings": "marks",
    "no_leaks": "guards",
    "verify_none": "guards",
}


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value
