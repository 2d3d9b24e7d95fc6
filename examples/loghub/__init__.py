"""A small stdlib-only WebSocket server that streams log entries over loopback.

One concern per module: `protocol` (RFC 6455 handshake and framing, pure
functions), `session` (every decision of the servers and clients, without
I/O, shared with `examples.async_loghub`), `endpoint` (who may connect),
`entries` (log entries and levels), `hub` (fan-out), `server` (sockets and
threads) and `client` (a blocking client for tests).
"""

from .client import HandshakeRejected, LogClient
from .entries import LogEntry
from .hub import Hub
from .server import LogServer

__all__ = ["HandshakeRejected", "Hub", "LogClient", "LogEntry", "LogServer"]
