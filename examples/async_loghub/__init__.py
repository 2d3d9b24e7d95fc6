"""The log hub again, on asyncio: tasks instead of threads, same protocol module.

`examples.loghub.protocol`, `session`, `endpoint` and `entries` are shared
unchanged: every protocol decision is made there, once; only the I/O around
them differs.
"""

from .client import AsyncLogClient
from .hub import AsyncHub
from .server import AsyncLogServer

__all__ = ["AsyncHub", "AsyncLogClient", "AsyncLogServer"]
