"""The probes, one per resource kind, in report order.

A new kind is a module with a `Probe` subclass (probes/base.py) and one line here.
`register` adds one from outside the package.
"""

from __future__ import annotations

from .base import Probe
from .fds import FdProbe
from .handles import HandleProbe
from .loops import LoopProbe
from .processes import ProcessProbe
from .sockets import SocketProbe
from .tasks import TaskProbe
from .threads import ThreadProbe

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["PROBES", "Probe", "register"]

PROBES: list[Probe[Any, Any]] = [
    ThreadProbe(),
    TaskProbe(),
    ProcessProbe(),
    SocketProbe(),
    HandleProbe(),
    LoopProbe(),
    FdProbe(),
]


def register(probe: Probe[Any, Any]) -> None:
    """Check `probe` too, in every Settings made from now on (its options included)."""
    PROBES.append(probe)
