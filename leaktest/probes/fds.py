"""File descriptors opened since a mark and still open (opt-in: `check_fds`).

Opening a file or a pipe goes through no Python function leaktest could wrap
cheaply, so this probe lists the numbers of the process's descriptors at the
mark and again at the check: it is the one check that reads `/proc` on every
test, and only when it is switched on (two directory listings per test; the
targets are read only for the numbers that are new). A descriptor the test
closed and whose number it reopened for another file is not seen.

Where the descriptors are listed: Linux `/proc/self/fd` (with each new one's
target, from `readlink`); other POSIX systems `/dev/fd` (numbers only,
untested); elsewhere (Windows) nothing is listed and nothing is reported.
Sockets made through `socket.socket` are left to the socket probe, which knows
where they were created.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from ..options import Flag
from ..report import Leak, entry
from ..rules import Candidate
from . import clock
from .base import Probe, poll
from .sockets import open_fds as socket_fds

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import NamedTuple
else:
    from .._typing import NamedTuple

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


def _numbers() -> frozenset[int]:
    """The numbers of the open descriptors."""
    if _DIRECTORY is None:
        return frozenset()
    try:
        numbers = {int(name) for name in os.listdir(_DIRECTORY)}
    except OSError:
        return frozenset()
    # The listing's own descriptor, closed by now, took the lowest free number: one
    # of the unbroken run 0, 1, 2... (the last one, unless a lower one was closed).
    top = 0
    while top + 1 in numbers:
        top += 1
    for fd in range(top, -1, -1):
        if not _is_open(fd):
            numbers.discard(fd)
            break
    return frozenset(numbers)


def _is_open(fd: int) -> bool:
    try:
        os.fstat(fd)
    except OSError:
        return False
    return True


def _open(descriptor: Descriptor) -> bool:
    return _is_open(descriptor.fd) and _target(descriptor.fd) == descriptor.target


class FdProbe(Probe[frozenset[int], Descriptor]):
    """A mark is the set of the numbers of the open descriptors."""

    kind = "fds"
    #: Opt-in: listing the descriptors reads /proc on every test.
    switch = Flag("check_fds", False, "file descriptors opened by the test and still open (reads /proc per test)")
    headings = {"fds": "found unexpected file descriptors:"}

    def mark(self, everything: bool = False) -> frozenset[int]:
        # Opening a file does not move the clock: move it, so the check looks.
        clock.tick()
        return frozenset() if everything else _numbers()

    def count(self) -> int:
        return len(_numbers())

    def new_since(self, mark: frozenset[int]) -> list[Descriptor]:
        numbers = _numbers()
        _claimed.intersection_update(d for d in _claimed if d.fd in numbers)  # closed ones may come back
        new = numbers - mark
        if not new:
            return []
        sockets = socket_fds()
        found = [Descriptor(fd, _target(fd)) for fd in sorted(new) if fd > 2 and fd not in sockets]
        return [d for d in found if d not in _claimed and (d.target or not _TARGETS) and _open(d)]

    def identity(self, item: Descriptor) -> int:
        return hash(item)  # each listing makes new ones: the number and the target tell them

    def candidates(self, items: Sequence[Descriptor], with_frames: bool) -> list[Candidate]:
        return [Candidate((d.target,) if d.target else ()) for d in items]

    def wait(self, items: Sequence[Descriptor], deadline: float) -> list[Descriptor]:
        return poll(items, lambda left: [d for d in left if _open(d)], deadline)

    def describe(self, items: Sequence[Descriptor]) -> list[Leak]:
        return [Leak("fds", f"fd {d.fd}", _describe(d), runs=_kind_of(d.target)) for d in items]

    def claim(self, items: Sequence[Descriptor]) -> None:
        _claimed.update(items)


def _kind_of(target: str) -> str:
    """A target without the inode number /proc gives pipes and sockets ("pipe:[123]" -> "pipe")."""
    kind, bracket, rest = target.partition(":[")
    return kind if bracket and rest[:-1].isdigit() else target


def _describe(descriptor: Descriptor) -> str:
    """No start site: descriptors are listed, not hooked, so nothing saw them opened."""
    target = descriptor.target or "(target unknown)"
    return entry(f"fd {descriptor.fd} -> {target} opened during the test, still open", None)
