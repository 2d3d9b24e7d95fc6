"""Classes of optional libraries that probes hook once the suite imports them.

leaktest imports nothing outside the standard library: each function here reads
`sys.modules` and returns None while the library is not imported (`Hook.module`
then keeps the hook waiting, probes/install.py). Importing this module imports no
asyncio either.

What this relies on:
- uvloop 0.15+ (tested: 0.23): `uvloop.Loop` is a Python subclass of its compiled
  loop, whose methods can be hooked as `asyncio.BaseEventLoop`'s are (`uvloop_loop`).
"""

from __future__ import annotations

import sys


def uvloop_loop() -> type | None:
    """uvloop's loop class, once uvloop is imported (never by leaktest)."""
    loop = getattr(sys.modules.get("uvloop"), "Loop", None)
    return loop if isinstance(loop, type) else None
