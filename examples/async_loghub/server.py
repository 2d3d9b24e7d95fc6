"""`AsyncLogServer`: `asyncio.start_server` around the shared protocol module.

Tasks: one `loghub-client-<n>` per connection, `loghub-heartbeat` and the hub's
`loghub-run`. `stop()` ends every one of them and awaits it.
"""

from __future__ import annotations

import asyncio
from http import HTTPStatus

from examples.loghub.entries import LogEntry
from examples.loghub.protocol import (
    DEFAULT_MAX_FRAME_SIZE,
    CloseCode,
    HandshakeError,
    Opcode,
    UpgradeRequest,
    close_payload,
    encode_frame,
    error_response,
    upgrade_response,
)
from examples.loghub.session import RECV_SIZE, ClientFrames, Close, accept

from .hub import AsyncHub
from .streams import read_head


class AsyncConnection:
    """One client. Unlike the threaded server, sends need no lock: `write()` never
    yields, so frames from the hub, the heartbeat and the reader cannot interleave."""

    def __init__(self, writer: asyncio.StreamWriter, name: str) -> None:
        self.name = name
        self.min_level = 0
        self.upgraded = False
        self._writer = writer
        self._closing = False

    def upgrade(self, request: UpgradeRequest, hub: AsyncHub) -> None:
        """Subscribe and answer 101 with no await in between, so no entry can overtake it."""
        hub.register(self)
        self._writer.write(upgrade_response(request.key))
        self.upgraded = True

    def refuse(self, status: HTTPStatus) -> None:
        self._closing = True
        self._writer.write(error_response(status))
        self._writer.close()  # the transport sends what it holds, then closes

    async def send_text(self, text: str) -> None:
        await self.send_frame(Opcode.TEXT, text.encode("utf-8"))

    async def send_frame(self, opcode: Opcode, payload: bytes = b"") -> None:
        if self._closing or not self.upgraded:
            raise ConnectionError(f"{self.name} is not open")
        self._writer.write(encode_frame(opcode, payload))
        await self._writer.drain()

    def close(self, code: CloseCode, reason: str = "") -> None:
        """Close frame, then close the transport: the reader's read() then sees the end."""
        if self._closing:
            return
        self._closing = True
        if self.upgraded:
            self._writer.write(encode_frame(Opcode.CLOSE, close_payload(code, reason)))
        self._writer.close()

    def abort(self) -> None:
        """Drop a client that does not even take its close frame."""
        self._writer.transport.abort()


class AsyncLogServer:
    """Streams the hub's entries to WebSocket clients of ws://127.0.0.1:<port>/logs.

    `io_timeout` bounds the handshake, and how long `stop()` lets a client take
    its close frame before the connection is aborted.
    """

    def __init__(
        self,
        token: str,
        *,
        heartbeat_interval: float = 30.0,
        max_frame_size: int = DEFAULT_MAX_FRAME_SIZE,
        io_timeout: float = 5.0,
    ) -> None:
        self.hub = AsyncHub()
        self.port = 0
        self._token = token
        self._heartbeat_interval = heartbeat_interval
        self._max_frame_size = max_frame_size
        self._io_timeout = io_timeout
        self._server: asyncio.Server | None = None
        self._heartbeat: asyncio.Task[None] | None = None
        self._connections: dict[asyncio.Task[object], AsyncConnection] = {}
        self._connection_count = 0
        self._stop_lock = asyncio.Lock()
        self._stopped = False

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        self.hub.start()
        self._heartbeat = asyncio.create_task(self._heartbeat_loop(), name="loghub-heartbeat")

    def publish(self, level: str, message: str) -> None:
        self.hub.publish(LogEntry(level, message))

    async def stop(self) -> None:
        """Idempotent; concurrent callers all return once every task is done."""
        async with self._stop_lock:
            if self._stopped:
                return
            self._stopped = True
            if self._server is not None:
                self._server.close()  # no new connections from here on
            if self._heartbeat is not None:
                self._heartbeat.cancel()
                await asyncio.gather(self._heartbeat, return_exceptions=True)
            await self.hub.stop()
            await self._close_connections()
            if self._server is not None:
                await self._server.wait_closed()

    async def _close_connections(self) -> None:
        """Close every client and wait for its task to end by itself.

        Closing rather than cancelling: on 3.10 and 3.11, asyncio logs an error for
        a `start_server` handler task that ends cancelled.
        """
        connections = dict(self._connections)
        for connection in connections.values():
            connection.close(CloseCode.GOING_AWAY, "server stopping")
        if connections:
            _, stalled = await asyncio.wait(connections.keys(), timeout=self._io_timeout)
            for task in stalled:
                connections[task].abort()
            await asyncio.gather(*connections, return_exceptions=True)

    async def _heartbeat_loop(self) -> None:
        while True:
            await asyncio.sleep(self._heartbeat_interval)
            for connection in [c for c in self._connections.values() if c.upgraded]:
                try:
                    await connection.send_frame(Opcode.PING, b"heartbeat")
                except OSError:
                    pass  # its own task notices the disconnection and cleans up

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connection_count += 1
        task.set_name(f"loghub-client-{self._connection_count}")
        connection = AsyncConnection(writer, task.get_name())
        self._connections[task] = connection
        try:
            if not self._stopped:
                leftover = await self._handshake(reader, connection)
                if leftover is not None:
                    await self._read_frames(reader, connection, leftover)
        except (OSError, asyncio.TimeoutError):
            pass  # the client vanished or stalled: nobody to answer
        finally:
            self.hub.unregister(connection)
            del self._connections[task]
            writer.close()

    async def _handshake(self, reader: asyncio.StreamReader, connection: AsyncConnection) -> bytes | None:
        """Upgrade and return the bytes read past the head, or refuse (None)."""
        try:
            head, leftover = await asyncio.wait_for(read_head(reader), self._io_timeout)
            request, connection.min_level = accept(head, self._token)
        except HandshakeError as refusal:
            connection.refuse(refusal.status)
            return None
        connection.upgrade(request, self.hub)
        return leftover

    async def _read_frames(self, reader: asyncio.StreamReader, connection: AsyncConnection, received: bytes) -> None:
        frames = ClientFrames(self._max_frame_size)
        while True:
            for answer in frames.answers(received):
                if isinstance(answer, Close):
                    connection.close(answer.code, answer.reason)
                    return
                await connection.send_frame(Opcode.PONG, answer.payload)
            received = await reader.read(RECV_SIZE)
            if not received:
                return  # the client vanished, perhaps mid-frame
