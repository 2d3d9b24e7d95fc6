"""The asyncio event loops created since leaktest was imported, shared by the
tasks, handles and loops probes.

`asyncio.BaseEventLoop.__init__` is hooked once (probes/install.py): every loop
is numbered with the clock, its creation site noted and a weak reference kept.
A probe's mark is then a number, and a test that creates no loop compares two
integers. A check asks for the loops made since a mark (`made_since`: a bisection)
or for those still open (`open_loops`): closed loops of earlier tests stay alive
until a garbage collection, a hundred and more in an asyncio suite, and no check
walks them. The same hook notes a loop the policy creates implicitly: the loop
`asyncio.get_event_loop()` creates for a main thread that never had one set
belongs to the process, not to the test that asked first.

leaktest does not import asyncio: the hook is put in place when the code under
test imports it (`install.on_import`), before it can make a loop.

What this relies on, per Python version (each in one function below):
- every version: the loop classes derive from `asyncio.BaseEventLoop`; uvloop's
  do not, and are hooked once uvloop is imported (probes/optional.py).
- 3.10-3.13: `BaseDefaultEventLoopPolicy.get_event_loop` creates that implicit
  loop (`_implicit_creator`); 3.14+ creates none.
"""

from __future__ import annotations

import sys
import threading
import weakref
from types import CodeType, FrameType

from .. import stacks
from . import clock, install
from .optional import uvloop_loop

TYPE_CHECKING = False
if TYPE_CHECKING:
    import asyncio
    from typing import Any

SEQ = install.PREFIX + "seq"  # the creation number, on each loop (read as it is by the task hook: `seq_of`)
_ORIGIN = install.PREFIX + "origin"  # what made it (`stacks.creation_stack`) and the test running then
_made: clock.InOrder[asyncio.AbstractEventLoop] = clock.InOrder()  # every loop made
#: The same weak references, while their loop is not known to be closed: a plain set,
#: never rebound, whose truth test (whether a loop may still be open) costs no call (a
#: WeakSet's goes through Python code, on every test's mark).
OPEN: set[weakref.ref[asyncio.AbstractEventLoop]] = set()
_implicit: weakref.WeakSet[asyncio.AbstractEventLoop] = weakref.WeakSet()  # the process's


def _implicit_creator() -> CodeType | None:
    """The code of the policy method that creates a loop implicitly: 3.10-3.13
    `BaseDefaultEventLoopPolicy.get_event_loop` (3.14+ creates none)."""
    import asyncio.events

    policy = getattr(asyncio.events, "BaseDefaultEventLoopPolicy", None)
    method = getattr(policy, "get_event_loop", None)
    code = getattr(method, "__code__", None)
    return code if isinstance(code, CodeType) else None


#: Set once asyncio is imported; compared by identity (hashing a code object hashes its
#: whole contents, and this runs on every loop made).
_IMPLICIT_CREATOR: CodeType | None = None


def _asyncio_imported() -> None:
    global _IMPLICIT_CREATOR
    _IMPLICIT_CREATOR = _implicit_creator()


install.on_import("asyncio", _asyncio_imported)


def _on_loop_init(result: None, frame: FrameType | None, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """After `BaseEventLoop.__init__`: number the loop, note where, keep a weak reference
    to it; note it as the process's when the policy creates it implicitly (a few frames
    out: the loop classes' `__init__`s, the policy's `new_event_loop`)."""
    loop: asyncio.BaseEventLoop = args[0]
    # A test's own loop (`made_for_a_test`) keeps its innermost frame, named by a report.
    if frame is not None and _adopting is not None and _adopting == threading.get_ident():
        stack, made_for_test = stacks.innermost_frame(frame), True
    else:
        stack, made_for_test = stacks.creation_stack(frame), False
    setattr(loop, _ORIGIN, (stack, clock.running))
    ref: weakref.ref[asyncio.AbstractEventLoop] = weakref.ref(loop, OPEN.discard)
    setattr(loop, SEQ, _made.add(ref))
    OPEN.add(ref)
    if _IMPLICIT_CREATOR is not None and not made_for_test:
        for _ in range(8):
            if frame is None:
                return
            if frame.f_code is _IMPLICIT_CREATOR:
                _implicit.add(loop)
                return
            frame = frame.f_back


_adopting: int | None = None  # the thread inside `made_for_a_test`, if any


class _MadeForATest:
    """`with made_for_a_test:` around the code in which a test framework makes the loop
    its test runs on (IsolatedAsyncioTestCase: 3.11+ its runner's, `check.adopt_loop`;
    3.10 its loop set-up). That loop keeps only the innermost frame of its making, which
    a report names: the others are asyncio's, the framework's and leaktest's (and a
    `loop_factory` of the test's own, 3.13+, is not named then), and the check closes
    the loop before it could be reported. Walking out to the framework's frames cost
    more than the rest of the hooks of a trivial asynchronous test. Nor is that loop
    the policy's implicit one. A `with` statement puts no frame on the stack: on 3.10
    the set-up also makes the task that runs the test's steps and runs the loop, and
    every task and callback made then extracts each frame in debug mode."""

    def __enter__(self) -> None:
        global _adopting
        _adopting = threading.get_ident()

    def __exit__(self, *exc_info: object) -> None:
        global _adopting
        _adopting = None


made_for_a_test = _MadeForATest()


def base_loop() -> type:
    """`asyncio.BaseEventLoop`, once asyncio is imported (what the hooks with
    `module="asyncio"` are on)."""
    import asyncio

    return asyncio.BaseEventLoop


#: The hooks every probe that looks at loops declares (each installed once).
LOOP_INIT = install.Hook(base_loop, "__init__", _on_loop_init, after=True, module="asyncio")
UVLOOP_INIT = install.Hook(uvloop_loop, "__init__", _on_loop_init, after=True, module="uvloop")


def open_loops() -> list[asyncio.AbstractEventLoop]:
    """The loops alive and not closed; those found closed are forgotten here (a loop
    never opens again)."""
    found = []
    for ref in list(OPEN):
        loop = ref()
        if loop is None or loop.is_closed():
            OPEN.discard(ref)
        else:
            found.append(loop)
    return found


def made_since(mark: int) -> list[asyncio.AbstractEventLoop]:
    """The loops alive that were made after the clock's `mark`, closed ones included."""
    return _made.since(mark)


def seq_of(loop: asyncio.AbstractEventLoop) -> int:
    """The creation number of `loop`; 0 for loops created before leaktest was imported."""
    return getattr(loop, SEQ, 0)


def origin_of(loop: asyncio.AbstractEventLoop) -> stacks.StartSite | None:
    """Where `loop` was created, named like a thread's start site."""
    created: tuple[stacks.CreationStack, object] | None = getattr(loop, _ORIGIN, None)
    return None if created is None else stacks.created_site(*created)


def implicit(loop: asyncio.AbstractEventLoop) -> bool:
    """Whether `loop` is the one asyncio's policy created implicitly (the process's)."""
    return loop in _implicit


def running_loop() -> asyncio.AbstractEventLoop | None:
    """The loop running in this thread, if any."""
    if "asyncio" not in sys.modules:
        return None  # none runs before asyncio is imported
    import asyncio

    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None
