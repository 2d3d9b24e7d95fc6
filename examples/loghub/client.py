"""A minimal blocking WebSocket client: just enough to drive `LogServer` from tests."""

from __future__ import annotations

import socket
import time
from collections import deque
from typing import Literal
from urllib.parse import urlencode

from .entries import LogEntry
from .protocol import (
    CloseCode,
    Frame,
    FrameDecoder,
    Opcode,
    close_payload,
    encode_frame,
    new_key,
    split_head,
    upgrade_request,
)
from .session import RECV_SIZE, ConnectionClosed, HandshakeRejected, check_response, read_entry

__all__ = ["ConnectionClosed", "HandshakeRejected", "LogClient", "handshake_target"]


def handshake_target(
    path: str, token: str | None, level: str | None, auth: Literal["header", "query"]
) -> tuple[str, str | None]:
    """The request target and the Bearer token to send (None: no Authorization header)."""
    query = {"level": level} if level else {}
    if auth == "query" and token is not None:
        query["token"] = token
    target = f"{path}?{urlencode(query)}" if query else path
    return target, token if auth == "header" else None


class LogClient:
    """One upgraded connection; frames are read only when a test asks for one."""

    def __init__(self, sock: socket.socket, received: bytes = b"") -> None:
        self._sock = sock
        self._decoder = FrameDecoder(expect_masked=False)
        self._frames: deque[Frame] = deque(self._decoder.feed(received))
        self._closed = False

    @classmethod
    def connect(
        cls,
        port: int,
        token: str | None,
        *,
        level: str | None = None,
        path: str = "/logs",
        auth: Literal["header", "query"] = "header",
        timeout: float = 5.0,
    ) -> LogClient:
        """Open and upgrade a connection; HandshakeRejected if the server refuses."""
        sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        try:
            key = new_key()
            target, bearer = handshake_target(path, token, level, auth)
            sock.sendall(upgrade_request("127.0.0.1", port, target, key, bearer))
            received = b""
            while (parts := split_head(received)) is None:
                chunk = sock.recv(RECV_SIZE)
                if not chunk:
                    raise ConnectionClosed(None, "during the handshake")
                received += chunk
            head, rest = parts
            check_response(head, key)
        except BaseException:
            sock.close()
            raise
        return cls(sock, rest)

    def recv_frame(self, timeout: float = 5.0) -> Frame:
        """The next frame of any kind; TimeoutError if none completes in time."""
        deadline = time.monotonic() + timeout
        while not self._frames:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no frame within {timeout} s")
            self._sock.settimeout(remaining)
            data = self._sock.recv(RECV_SIZE)
            if not data:
                raise ConnectionClosed(None, "end of stream")
            self._frames.extend(self._decoder.feed(data))
        return self._frames.popleft()

    def recv_entry(self, timeout: float = 5.0) -> LogEntry:
        """The next log entry; answers pings on the way, ConnectionClosed on a close frame."""
        deadline = time.monotonic() + timeout
        while True:
            read = read_entry(self.recv_frame(max(deadline - time.monotonic(), 0.0)))
            if isinstance(read, LogEntry):
                return read
            if read is not None:
                self.send_raw(read)  # the pong to a heartbeat

    def send_raw(self, data: bytes) -> None:
        """Send bytes as they are: tests use it to send bad frames."""
        self._sock.sendall(data)

    def abort(self) -> None:
        """Vanish without a close frame, as a crashed client would."""
        self._closed = True
        self._sock.close()

    def close(self, timeout: float = 5.0) -> None:
        """Closing handshake: send a close frame, wait for the server's, then hang up."""
        if self._closed:
            return
        self._closed = True
        try:
            self.send_raw(encode_frame(Opcode.CLOSE, close_payload(CloseCode.NORMAL), mask=True))
            deadline = time.monotonic() + timeout
            while self.recv_frame(max(deadline - time.monotonic(), 0.0)).opcode is not Opcode.CLOSE:
                pass
        except OSError:
            pass  # the server hung up first, or never answered: the socket goes anyway
        finally:
            self._sock.close()
