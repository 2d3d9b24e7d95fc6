"""Targets of the multiprocessing children the tests start.

A module of its own: a spawned or forkserver child imports the module of its
target, and importing a test module (leaktest, the helpers, asyncio) was most of
such a child's start.
"""

from __future__ import annotations

from multiprocessing.connection import Connection


def wait_for_message(conn: Connection) -> None:
    """Run until the parent sends something or hangs up."""
    try:
        conn.recv()
    except EOFError:
        pass
