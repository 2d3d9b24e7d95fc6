"""What both log servers and both clients decide, without any I/O.

The threaded (`examples.loghub`) and asyncio (`examples.async_loghub`) versions
differ only in how they read and write bytes; every protocol decision is here,
once: which upgrade to accept, what to answer to a client's frames, how a client
checks the 101 and reads the stream.
"""

from __future__ import annotations

from dataclasses import dataclass

from .endpoint import check_request, min_level
from .entries import LogEntry
from .protocol import (
    DEFAULT_MAX_FRAME_SIZE,
    CloseCode,
    Frame,
    FrameDecoder,
    Opcode,
    ProtocolError,
    UpgradeRequest,
    accept_key,
    encode_frame,
    parse_close_payload,
    parse_response,
    parse_upgrade_request,
)

RECV_SIZE = 64 * 1024  # bytes asked of a socket or a stream per read


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


# -- the server's side ---------------------------------------------------------


def accept(head: bytes, token: str) -> tuple[UpgradeRequest, int]:
    """The upgrade request and the client's minimum level; HandshakeError to refuse it."""
    request = parse_upgrade_request(head)
    check_request(request, token)
    return request, min_level(request)


@dataclass(frozen=True)
class Pong:
    payload: bytes


@dataclass(frozen=True)
class Close:
    code: CloseCode
    reason: str = ""


class ClientFrames:
    """A client's incoming frames, turned into what the server must answer."""

    def __init__(self, max_frame_size: int = DEFAULT_MAX_FRAME_SIZE) -> None:
        self._decoder = FrameDecoder(expect_masked=True, max_frame_size=max_frame_size)

    def answers(self, data: bytes) -> list[Pong | Close]:
        """Pongs for pings; a `Close` (always last) ends the connection.

        Text, binary and pong frames carry nothing for a one-way stream.
        """
        try:
            frames = self._decoder.feed(data)
        except ProtocolError as error:
            return [Close(error.close_code, str(error))]
        answers: list[Pong | Close] = []
        for frame in frames:
            if frame.opcode is Opcode.PING:
                answers.append(Pong(frame.payload))
            elif frame.opcode is Opcode.CLOSE:
                answers.append(Close(CloseCode.NORMAL))
                break
        return answers


# -- the client's side ---------------------------------------------------------


def check_response(head: bytes, key: str) -> None:
    """HandshakeRejected unless the server switched protocols for our `key`."""
    status, headers = parse_response(head)
    if status != 101:
        raise HandshakeRejected(status)
    if headers.get("sec-websocket-accept") != accept_key(key):
        raise ConnectionError("wrong Sec-WebSocket-Accept")


def read_entry(frame: Frame) -> LogEntry | bytes | None:
    """A log entry, the pong to send back (bytes), or None for a frame to skip.

    ConnectionClosed on the server's close frame.
    """
    if frame.opcode is Opcode.TEXT:
        return LogEntry.from_json(frame.payload.decode("utf-8"))
    if frame.opcode is Opcode.PING:
        return encode_frame(Opcode.PONG, frame.payload, mask=True)
    if frame.opcode is Opcode.CLOSE:
        raise ConnectionClosed(*parse_close_payload(frame.payload))
    return None
