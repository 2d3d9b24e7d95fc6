"""A minimal asyncio WebSocket client for the tests of `AsyncLogServer`."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from typing import Literal

from examples.loghub.client import handshake_target
from examples.loghub.entries import LogEntry
from examples.loghub.protocol import (
    CloseCode,
    Frame,
    FrameDecoder,
    Opcode,
    close_payload,
    encode_frame,
    new_key,
    upgrade_request,
)
from examples.loghub.session import RECV_SIZE, ConnectionClosed, check_response, read_entry

from .streams import read_head


class AsyncLogClient:
    """One upgraded connection; frames are read only when a test awaits one."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, received: bytes) -> None:
        self._reader = reader
        self._writer = writer
        self._decoder = FrameDecoder(expect_masked=False)
        self._frames: deque[Frame] = deque(self._decoder.feed(received))
        self._closed = False

    @classmethod
    async def connect(
        cls,
        port: int,
        token: str | None,
        *,
        level: str | None = None,
        path: str = "/logs",
        auth: Literal["header", "query"] = "header",
        timeout: float = 5.0,
    ) -> AsyncLogClient:
        """Open and upgrade a connection; HandshakeRejected if the server refuses."""
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            key = new_key()
            target, bearer = handshake_target(path, token, level, auth)
            writer.write(upgrade_request("127.0.0.1", port, target, key, bearer))
            head, rest = await asyncio.wait_for(read_head(reader), timeout)
            check_response(head, key)
        except BaseException:
            writer.close()
            raise
        return cls(reader, writer, rest)

    async def recv_frame(self, timeout: float = 5.0) -> Frame:
        """The next frame of any kind; asyncio.TimeoutError if none completes in time."""
        deadline = time.monotonic() + timeout
        while not self._frames:
            data = await asyncio.wait_for(self._reader.read(RECV_SIZE), max(deadline - time.monotonic(), 0.0))
            if not data:
                raise ConnectionClosed(None, "end of stream")
            self._frames.extend(self._decoder.feed(data))
        return self._frames.popleft()

    async def recv_entry(self, timeout: float = 5.0) -> LogEntry:
        """The next log entry; answers pings on the way, ConnectionClosed on a close frame."""
        deadline = time.monotonic() + timeout
        while True:
            read = read_entry(await self.recv_frame(max(deadline - time.monotonic(), 0.0)))
            if isinstance(read, LogEntry):
                return read
            if read is not None:
                await self.send_raw(read)  # the pong to a heartbeat

    async def send_raw(self, data: bytes) -> None:
        self._writer.write(data)
        await self._writer.drain()

    def abort(self) -> None:
        """Vanish without a close frame, as a crashed client would."""
        self._closed = True
        self._writer.transport.abort()

    async def close(self, timeout: float = 5.0) -> None:
        """Closing handshake: send a close frame, wait for the server's, then hang up."""
        if self._closed:
            return
        self._closed = True
        try:
            await self.send_raw(encode_frame(Opcode.CLOSE, close_payload(CloseCode.NORMAL), mask=True))
            deadline = time.monotonic() + timeout
            while (await self.recv_frame(max(deadline - time.monotonic(), 0.0))).opcode is not Opcode.CLOSE:
                pass
        except (OSError, asyncio.TimeoutError):
            pass  # the server hung up first, or never answered: the connection goes anyway
        finally:
            self._writer.close()
            try:
                await self._writer.wait_closed()
            except OSError:
                pass  # a reset while closing changes nothing
