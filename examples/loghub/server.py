"""The threaded `LogServer`: sockets and threads around the hub and the protocol.

Threads: `loghub-accept` takes connections, one `loghub-client-<n>` per client
reads its frames, `loghub-heartbeat` pings every client, and the hub's
`loghub-run` sends the entries. `stop()` wakes and joins every one of them.
"""

from __future__ import annotations

import socket
import threading
from http import HTTPStatus

from .entries import LogEntry
from .hub import Hub
from .protocol import (
    DEFAULT_MAX_FRAME_SIZE,
    CloseCode,
    HandshakeError,
    Opcode,
    UpgradeRequest,
    close_payload,
    encode_frame,
    error_response,
    split_head,
    upgrade_response,
)
from .session import RECV_SIZE, ClientFrames, Close, accept


class ClientConnection:
    """One client socket. The reader, the hub and the heartbeat all send on it,
    so every write goes through `_send_lock`, which also orders the 101 first."""

    def __init__(self, sock: socket.socket, name: str) -> None:
        self.sock = sock
        self.name = name
        self.min_level = 0
        self.upgraded = False
        self.thread: threading.Thread | None = None
        self._send_lock = threading.Lock()
        self._closing = False

    def receive(self) -> bytes:
        """The next bytes, b"" at end of stream; an idle client is not an error."""
        while True:
            try:
                return self.sock.recv(RECV_SIZE)
            except TimeoutError:
                continue  # the timeout is for stalled sends; stop() wakes us with shutdown()

    def upgrade(self, request: UpgradeRequest, hub: Hub) -> None:
        """Answer 101 and subscribe: under the lock, no entry can overtake the 101,
        and any entry published after the client has read the 101 reaches it."""
        with self._send_lock:
            hub.register(self)
            self.sock.sendall(upgrade_response(request.key))
            self.upgraded = True

    def refuse(self, status: HTTPStatus) -> None:
        with self._send_lock:
            self.sock.sendall(error_response(status))
            self._closing = True
            self._shutdown()

    def send_text(self, text: str) -> None:
        self.send_frame(Opcode.TEXT, text.encode("utf-8"))

    def send_frame(self, opcode: Opcode, payload: bytes = b"") -> None:
        with self._send_lock:
            if self._closing or not self.upgraded:
                raise ConnectionError(f"{self.name} is not open")
            try:
                self.sock.sendall(encode_frame(opcode, payload))
            except OSError:
                self._shutdown()  # a half-sent frame leaves the stream unusable
                raise

    def close(self, code: CloseCode, reason: str = "") -> None:
        """Close frame, then shutdown(), which wakes the reader wherever it blocks."""
        with self._send_lock:
            if self._closing:
                return
            self._closing = True
            if self.upgraded:
                try:
                    self.sock.sendall(encode_frame(Opcode.CLOSE, close_payload(code, reason)))
                except OSError:
                    pass  # the client is gone: nothing left to tell it
            self._shutdown()

    def release(self) -> None:
        """Free the socket; only the connection's own thread calls this, at its end."""
        with self._send_lock:
            self._closing = True
            self.sock.close()

    def _shutdown(self) -> None:
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass  # already disconnected


class LogServer:
    """Streams the hub's entries to WebSocket clients of ws://127.0.0.1:<port>/logs.

    `io_timeout` bounds how long a client may stall the handshake or a send
    before it is dropped; it never delays `stop()` for a client that reads.
    """

    def __init__(
        self,
        token: str,
        *,
        heartbeat_interval: float = 30.0,
        max_frame_size: int = DEFAULT_MAX_FRAME_SIZE,
        io_timeout: float = 5.0,
    ) -> None:
        self.hub = Hub()
        self._token = token
        self._heartbeat_interval = heartbeat_interval
        self._max_frame_size = max_frame_size
        self._io_timeout = io_timeout
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._connections: list[ClientConnection] = []
        self._connection_count = 0
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        self.hub.start()
        for target, name in ((self._accept_loop, "loghub-accept"), (self._heartbeat_loop, "loghub-heartbeat")):
            thread = threading.Thread(target=target, name=name)
            self._threads.append(thread)
            thread.start()

    def publish(self, level: str, message: str) -> None:
        self.hub.publish(LogEntry(level, message))

    def stop(self) -> None:
        """Idempotent and safe from any thread; every thread has exited when it returns."""
        with self._lock:
            first_call = not self._stopping.is_set()
            self._stopping.set()
        if first_call and self._threads:
            self._wake_accept()
        for thread in self._threads:  # accept first: after it, no connection can appear
            _join(thread)
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            connection.close(CloseCode.GOING_AWAY, "server stopping")
        for connection in connections:
            if connection.thread is not None:
                _join(connection.thread)
        self.hub.stop()
        self._listener.close()

    def _wake_accept(self) -> None:
        """accept() does not return when another thread closes the socket; a connection does."""
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=self._io_timeout).close()
        except OSError:
            pass  # the listener is already gone, and accept() with it

    def _accept_loop(self) -> None:
        while True:
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                if self._stopping.is_set():
                    sock.close()
                    return
                sock.settimeout(self._io_timeout)
                self._connection_count += 1
                connection = ClientConnection(sock, f"loghub-client-{self._connection_count}")
                connection.thread = threading.Thread(target=self._serve, args=(connection,), name=connection.name)
                self._connections = [c for c in self._connections if c.thread and c.thread.is_alive()]
                self._connections.append(connection)
                connection.thread.start()

    def _heartbeat_loop(self) -> None:
        while not self._stopping.wait(self._heartbeat_interval):
            with self._lock:
                connections = [c for c in self._connections if c.upgraded]
            for connection in connections:
                try:
                    connection.send_frame(Opcode.PING, b"heartbeat")
                except OSError:
                    pass  # its own thread notices the disconnection and cleans up

    def _serve(self, connection: ClientConnection) -> None:
        try:
            leftover = self._handshake(connection)
            if leftover is not None:
                self._read_frames(connection, leftover)
        except OSError:
            pass  # the client vanished or stalled past io_timeout: nobody to answer
        finally:
            self.hub.unregister(connection)
            connection.release()

    def _handshake(self, connection: ClientConnection) -> bytes | None:
        """Upgrade the connection and return the bytes read past the head, or refuse it (None)."""
        received = b""
        try:
            while (parts := split_head(received)) is None:
                chunk = connection.sock.recv(RECV_SIZE)  # a silent client times out here
                if not chunk:
                    raise ConnectionError("client left during the handshake")
                received += chunk
            head, leftover = parts
            request, connection.min_level = accept(head, self._token)
        except HandshakeError as refusal:
            connection.refuse(refusal.status)
            return None
        connection.upgrade(request, self.hub)
        return leftover

    def _read_frames(self, connection: ClientConnection, received: bytes) -> None:
        frames = ClientFrames(self._max_frame_size)
        while True:
            for answer in frames.answers(received):
                if isinstance(answer, Close):
                    connection.close(answer.code, answer.reason)
                    return
                connection.send_frame(Opcode.PONG, answer.payload)
            received = connection.receive()
            if not received:
                return  # the client vanished, perhaps mid-frame


def _join(thread: threading.Thread) -> None:
    if thread is not threading.current_thread():
        thread.join()
