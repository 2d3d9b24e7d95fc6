"""More time for stragglers while the machine is overloaded.

On a busy machine a thread that ends on its own right after a test's cleanups
may not get a CPU for a while. When something is still alive at the end of the
grace period, the deadline is pushed back in proportion to how overloaded the
machine is (the one-minute load average per usable CPU, up to `MAX_FACTOR`
times the grace period in all). Read only then: the clean path never asks.
"""

from __future__ import annotations

import os

#: The longest total wait, in grace periods, however loaded the machine is.
MAX_FACTOR = 3.0


def _load_per_cpu() -> float:
    """The one-minute load average per usable CPU; 0 where the system has none (Windows)."""
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):
        return 0.0
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    return load / max(cpus, 1)


def extension(grace_period: float) -> float:
    """Seconds to add to a deadline of `grace_period` that is reached with stragglers left."""
    factor = min(_load_per_cpu(), MAX_FACTOR)
    return grace_period * (factor - 1.0) if factor > 1.0 else 0.0
