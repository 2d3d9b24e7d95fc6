"""One counter for everything the probes see happen.

Every thread start, pool, event loop, child process and recorded exception takes
the next number. A baseline keeps the number it saw; a check that finds the same
number knows, without asking any probe, that nothing was started since.
"""

from __future__ import annotations

import os
import threading

_lock = threading.Lock()
now = 0  # the number of the latest event; read as `clock.now` (no call on the clean path)


def tick() -> int:
    """The next number: call it for every event a probe records."""
    global now
    with _lock:
        now += 1
        return now


def _new_lock_in_child() -> None:
    """A forked child may inherit the lock held by another thread of the parent."""
    global _lock
    _lock = threading.Lock()


if hasattr(os, "register_at_fork"):  # wherever os.fork exists
    os.register_at_fork(after_in_child=_new_lock_in_child)
