"""Reading the HTTP head off an asyncio stream, for the server and the client alike."""

from __future__ import annotations

import asyncio

from examples.loghub.protocol import split_head
from examples.loghub.session import RECV_SIZE, ConnectionClosed


async def read_head(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
    """The head and the bytes that came after it (already the first frames, maybe)."""
    received = b""
    while (parts := split_head(received)) is None:
        chunk = await reader.read(RECV_SIZE)
        if not chunk:
            raise ConnectionClosed(None, "during the handshake")
        received += chunk
    return parts
