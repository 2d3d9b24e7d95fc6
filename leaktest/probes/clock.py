"""One counter for everything the probes see happen.

Every thread start, pool, event loop, child process and recorded exception takes
the next number. A baseline keeps the number it saw; a check that finds the same
number knows, without asking any probe, that nothing was started since. It also
knows which test is running, so that a hook need not walk the stack to find it.
"""

from __future__ import annotations

from . import install

#: Held while the number advances: by `tick`, and by a probe that lists what it numbers
#: in the clock's order, which advances `now` itself, inside this lock, as it lists it
#: (sockets: one lock, no call, on every socket made).
lock = install.new_lock()
now = 0  # the number of the latest event; read as `clock.now` (no call on the clean path)
#: The test (or fixture) function running now, set by its baseline: what a report of
#: something made meanwhile names as "from" (read as `clock.running` by the hooks).
running: object = None


def tick() -> int:
    """The next number: call it for every event a probe records."""
    global now
    with lock:
        now += 1
        return now
