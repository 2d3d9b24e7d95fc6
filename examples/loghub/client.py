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
    accept_key,
    close_payload,
    encode_frame,
    new_key,
    parse_close_payload,
    parse_response,
    split_head,
    upgrade_request,
)

RECV_SIZE = 64 * 1024


class HandshakeRejected(Exception):
    """The server answered the opening handshake with `status` instead of 101."""

    def __init__(self, status: int) -> None:
        super().__init__(f"handshake rejected with HTTP {status}")
        self.status = status


class ConnectionClosed(ConnectionError):
    """The server sent a close frame (`code`) or just hung up (`code` is None)."""

    def __init__(self, code: int | None, reason: str = "") -> None:
        super().__init__(f"connection closed (code {code}) {reason}".strip())
        self.code = code


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
            status, headers = parse_response(head)
            if status != 101:
                raise HandshakeRejected(status)
            if headers.get("sec-websocket-accept") != accept_key(key):
                raise ConnectionError("wrong Sec-WebSocket-Accept")
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
            frame = self.recv_frame(max(deadline - time.monotonic(), 0.0))
            if frame.opcode is Opcode.TEXT:
                return LogEntry.from_json(frame.payload.decode("utf-8"))
            if frame.opcode is Opcode.PING:
                self.send_raw(encode_frame(Opcode.PONG, frame.payload, mask=True))
            elif frame.opcode is Opcode.CLOSE:
                raise ConnectionClosed(*parse_close_payload(frame.payload))

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
