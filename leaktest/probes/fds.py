"""File descriptors opened since a mark and still open (opt-in: `check_fds`).

Opening a file or a pipe goes through no Python function leaktest could wrap
cheaply, so this probe lists the process's descriptors at the mark and again
at the check: it is the one check that reads `/proc` on every test, and only
when it is switched on (about 20-60 us per test for a few dozen descriptors).

Where the descriptors are listed: Linux `/proc/self/fd` (each one's target read
with `readlink`, so a number closed and reused for another file counts as new);
other POSIX systems `/dev/fd` (numbers only, untested); elsewhere (Windows)
nothing is listed and nothing is reported. Sockets made through `socket.socket`
are left to the socket probe, which knows where they were created.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from typing import NamedTuple

from ..report import Leak
from ..rules import Candidate
from ..options import Flag
from . import clock
from .base import Probe
from .sockets import open_fds as socket_fds

_DIRECTORY = next((d for d in ("/proc/self/fd", "/dev/fd") if os.path.isdir(d)), None)
_TARGETS = _DIRECTORY == "/proc/self/fd"


class Descriptor(NamedTuple):
    fd: int
    target: str  # what it points to ("/tmp/x", "pipe:[123]"); "" where unknown


_claimed: set[Descriptor] = set()  # reported, and still open at the last listing


def _target(fd: int) -> str:
    if not _TARGETS:
        return ""
    try:
        return os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return ""


def _listing() -> frozenset[Descriptor]:
    """The open descriptors, less the one the listing itself uses."""
    if _DIRECTORY is None:
        return frozenset()
    try:
        names = os.listdir(_DIRECTORY)
    except OSError:
        return frozenset()
    found = set()
    for name in names:
        fd = int(name)
        target = _target(fd)
        if target or not _TARGETS:
            found.add(Descriptor(fd, target))
    return frozenset(found)


def _open(descriptor: Descriptor) -> bool:
    try:
        os.fstat(descriptor.fd)
    except OSError:
        return False
    return _target(descriptor.fd) == descriptor.target


class FdProbe(Probe[frozenset[Descriptor], Descriptor]):
    """A mark is the listing of the open descriptors."""

    kind = "fds"
    #: Opt-in: listing the descriptors reads /proc on every test.
    switch = Flag("check_fds", False, "file descriptors opened by the test and still open (reads /proc per test)")
    headings = {"fds": "found unexpected file descriptors:"}

    def mark(self, everything: bool = False) -> frozenset[Descriptor]:
        # Opening a file does not move the clock: move it, so the check looks.
        clock.tick()
        return frozenset() if everything else _listing()

    def count(self) -> int:
        return len(_listing())

    def new_since(self, mark: frozenset[Descriptor]) -> list[Descriptor]:
        listing = _listing()
        _claimed.intersection_update(listing)  # closed since: the number may come back as new
        new = listing - mark - _claimed
        if not new:
            return []
        sockets = socket_fds()
        return sorted(d for d in new if d.fd not in sockets and d.fd > 2 and _open(d))

    def candidates(self, items: Sequence[Descriptor], with_frames: bool) -> list[Candidate]:
        return [Candidate((d.target,) if d.target else ()) for d in items]

    def wait(self, items: Sequence[Descriptor], deadline: float) -> list[Descriptor]:
        delay = 0.0005
        pending = [d for d in items if _open(d)]
        while pending:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            time.sleep(min(delay, remaining))
            delay = min(delay * 2, 0.01)
            pending = [d for d in pending if _open(d)]
        return pending

    def describe(self, items: Sequence[Descriptor]) -> list[Leak]:
        return [
            Leak("fds", f"fd {d.fd}", f"fd {d.fd} -> {d.target or '(target unknown)'} opened during the test, still open")
            for d in items
        ]

    def claim(self, items: Sequence[Descriptor]) -> None:
        _claimed.update(items)
