"""RFC 6455 in pure functions: the opening handshake and frame encoding/decoding.

Nothing here touches a socket, so the threaded server, the asyncio server and
both clients share it, and each rule is written exactly once.
"""

from __future__ import annotations

import base64
import binascii
import enum
import hashlib
import os
from dataclasses import dataclass
from http import HTTPStatus
from urllib.parse import parse_qsl, urlsplit

#: The fixed GUID that RFC 6455 section 1.3 appends to the client's key.
WEBSOCKET_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#: An HTTP head longer than this is refused: it bounds what a client can make us buffer.
MAX_HEAD_SIZE = 8 * 1024
DEFAULT_MAX_FRAME_SIZE = 1024 * 1024
HEAD_END = b"\r\n\r\n"


class Opcode(enum.IntEnum):
    CONTINUATION = 0x0
    TEXT = 0x1
    BINARY = 0x2
    CLOSE = 0x8
    PING = 0x9
    PONG = 0xA


class CloseCode(enum.IntEnum):
    NORMAL = 1000
    GOING_AWAY = 1001
    PROTOCOL_ERROR = 1002
    MESSAGE_TOO_BIG = 1009


class HandshakeError(Exception):
    """A request we refuse; `status` is the HTTP answer it gets instead of 101."""

    def __init__(self, status: HTTPStatus, detail: str) -> None:
        super().__init__(f"{status.value} {status.phrase}: {detail}")
        self.status = status


class ProtocolError(Exception):
    """A frame we refuse; `close_code` is what the close frame tells the peer."""

    def __init__(self, close_code: CloseCode, detail: str) -> None:
        super().__init__(detail)
        self.close_code = close_code


@dataclass(frozen=True)
class UpgradeRequest:
    """The parts of a client's opening handshake that the servers look at."""

    path: str
    query: dict[str, str]
    headers: dict[str, str]  # names lower-cased

    @property
    def key(self) -> str:
        return self.headers["sec-websocket-key"]


@dataclass(frozen=True)
class Frame:
    opcode: Opcode
    payload: bytes = b""
    fin: bool = True


def new_key() -> str:
    """A fresh Sec-WebSocket-Key: 16 random bytes, base64-encoded."""
    return base64.b64encode(os.urandom(16)).decode("ascii")


def accept_key(key: str) -> str:
    """The Sec-WebSocket-Accept that proves the server understood the handshake."""
    digest = hashlib.sha1((key + WEBSOCKET_GUID).encode("ascii")).digest()
    return base64.b64encode(digest).decode("ascii")


def split_head(received: bytes) -> tuple[bytes, bytes] | None:
    """(head, bytes after it) once the blank line is in, None until then.

    HandshakeError(400) once more than MAX_HEAD_SIZE arrived without one.
    """
    end = received.find(HEAD_END)
    if end < 0:
        if len(received) > MAX_HEAD_SIZE:
            raise HandshakeError(HTTPStatus.BAD_REQUEST, "no end of head within the size limit")
        return None
    return received[:end], received[end + len(HEAD_END) :]


def _parse_head(head: bytes) -> tuple[str, dict[str, str]]:
    """The first line and the headers of an HTTP head; HandshakeError(400) if garbled."""
    try:
        text = head.decode("ascii")
    except UnicodeDecodeError:
        raise HandshakeError(HTTPStatus.BAD_REQUEST, "non-ASCII bytes in the head") from None
    first_line, *header_lines = text.split("\r\n")
    headers: dict[str, str] = {}
    for line in header_lines:
        if not line:
            continue
        name, colon, value = line.partition(":")
        if not colon or not name.strip():
            raise HandshakeError(HTTPStatus.BAD_REQUEST, f"malformed header line {line!r}")
        headers[name.strip().lower()] = value.strip()
    return first_line, headers


def parse_upgrade_request(head: bytes) -> UpgradeRequest:
    """Parse a GET request head; HandshakeError(400) if it is not HTTP/1.1 GET."""
    request_line, headers = _parse_head(head)
    parts = request_line.split(" ")
    if len(parts) != 3 or parts[0] != "GET" or parts[2] != "HTTP/1.1":
        raise HandshakeError(HTTPStatus.BAD_REQUEST, f"not an HTTP/1.1 GET: {request_line!r}")
    target = urlsplit(parts[1])
    return UpgradeRequest(path=target.path, query=dict(parse_qsl(target.query)), headers=headers)


def check_upgrade_headers(request: UpgradeRequest) -> None:
    """HandshakeError(400) unless the headers ask for a version-13 WebSocket upgrade."""
    headers = request.headers
    connection_tokens = {token.strip().lower() for token in headers.get("connection", "").split(",")}
    if headers.get("upgrade", "").lower() != "websocket" or "upgrade" not in connection_tokens:
        raise HandshakeError(HTTPStatus.BAD_REQUEST, "missing Upgrade: websocket")
    if headers.get("sec-websocket-version") != "13":
        raise HandshakeError(HTTPStatus.BAD_REQUEST, "Sec-WebSocket-Version must be 13")
    try:
        key_bytes = base64.b64decode(headers.get("sec-websocket-key", ""), validate=True)
    except binascii.Error:
        key_bytes = b""
    if len(key_bytes) != 16:
        raise HandshakeError(HTTPStatus.BAD_REQUEST, "Sec-WebSocket-Key must be 16 bytes, base64")


def upgrade_response(key: str) -> bytes:
    return (
        "HTTP/1.1 101 Switching Protocols\r\n"
        "Upgrade: websocket\r\n"
        "Connection: Upgrade\r\n"
        f"Sec-WebSocket-Accept: {accept_key(key)}\r\n\r\n"
    ).encode("ascii")


def error_response(status: HTTPStatus) -> bytes:
    """A complete refusal; the server closes the connection right after it."""
    extra = "WWW-Authenticate: Bearer\r\n" if status is HTTPStatus.UNAUTHORIZED else ""
    return (f"HTTP/1.1 {status.value} {status.phrase}\r\n{extra}Content-Length: 0\r\nConnection: close\r\n\r\n").encode(
        "ascii"
    )


def upgrade_request(host: str, port: int, target: str, key: str, token: str | None) -> bytes:
    """The client's opening handshake; the token goes in an Authorization header."""
    auth = f"Authorization: Bearer {token}\r\n" if token is not None else ""
    return (
        f"GET {target} HTTP/1.1\r\nHost: {host}:{port}\r\n"
        "Upgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n{auth}\r\n"
    ).encode("ascii")


def parse_response(head: bytes) -> tuple[int, dict[str, str]]:
    """The status code and headers of the server's answer to the handshake."""
    status_line, headers = _parse_head(head)
    parts = status_line.split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
        raise HandshakeError(HTTPStatus.BAD_GATEWAY, f"not an HTTP status line: {status_line!r}")
    return int(parts[1]), headers


def apply_mask(payload: bytes, mask: bytes) -> bytes:
    """XOR with the 4-byte mask, as one big integer: much faster than a byte loop."""
    if not payload:
        return b""
    repeated = (mask * (len(payload) // 4 + 1))[: len(payload)]
    masked = int.from_bytes(payload, "big") ^ int.from_bytes(repeated, "big")
    return masked.to_bytes(len(payload), "big")


def encode_frame(opcode: Opcode, payload: bytes = b"", *, mask: bool = False) -> bytes:
    """One final frame; clients must mask (`mask=True`), servers must not."""
    length = len(payload)
    mask_bit = 0x80 if mask else 0
    if length < 126:
        header = bytes([0x80 | opcode, mask_bit | length])
    elif length < 1 << 16:
        header = bytes([0x80 | opcode, mask_bit | 126]) + length.to_bytes(2, "big")
    else:
        header = bytes([0x80 | opcode, mask_bit | 127]) + length.to_bytes(8, "big")
    if not mask:
        return header + payload
    mask_key = os.urandom(4)
    return header + mask_key + apply_mask(payload, mask_key)


def close_payload(code: CloseCode, reason: str = "") -> bytes:
    return code.to_bytes(2, "big") + reason.encode("utf-8")[:123]


def parse_close_payload(payload: bytes) -> tuple[int | None, str]:
    """The code and reason of a close frame; an empty payload carries neither."""
    if len(payload) < 2:
        return None, ""
    return int.from_bytes(payload[:2], "big"), payload[2:].decode("utf-8", "replace")


class FrameDecoder:
    """Bytes in as they arrive, whole frames out; it never does I/O itself.

    The size limit is checked as soon as the header is in, so a peer announcing
    a huge frame is refused before we buffer any of it.
    """

    def __init__(self, *, expect_masked: bool, max_frame_size: int = DEFAULT_MAX_FRAME_SIZE) -> None:
        self._buffer = bytearray()
        self._expect_masked = expect_masked
        self._max_frame_size = max_frame_size

    def feed(self, data: bytes) -> list[Frame]:
        """Add received bytes; return the frames they complete (ProtocolError if bad)."""
        self._buffer += data
        frames = []
        while (frame := self._next_frame()) is not None:
            frames.append(frame)
        return frames

    def _next_frame(self) -> Frame | None:
        buffer = self._buffer
        if len(buffer) < 2:
            return None
        first, second = buffer[0], buffer[1]
        if first & 0x70:
            raise ProtocolError(CloseCode.PROTOCOL_ERROR, "reserved bits set")
        try:
            opcode = Opcode(first & 0x0F)
        except ValueError:
            raise ProtocolError(CloseCode.PROTOCOL_ERROR, f"unknown opcode {first & 0x0F}") from None
        fin = bool(first & 0x80)
        if bool(second & 0x80) != self._expect_masked:
            raise ProtocolError(CloseCode.PROTOCOL_ERROR, "wrong masking for this direction")
        length, offset = second & 0x7F, 2
        if length in (126, 127):
            offset += 2 if length == 126 else 8
            if len(buffer) < offset:
                return None
            length = int.from_bytes(buffer[2:offset], "big")
        if length > self._max_frame_size:
            raise ProtocolError(CloseCode.MESSAGE_TOO_BIG, f"{length}-byte frame over the {self._max_frame_size} limit")
        if opcode >= Opcode.CLOSE and (length > 125 or not fin):
            raise ProtocolError(CloseCode.PROTOCOL_ERROR, "control frames must be short and final")
        mask_size = 4 if self._expect_masked else 0
        end = offset + mask_size + length
        if len(buffer) < end:
            return None
        payload = bytes(buffer[offset + mask_size : end])
        if self._expect_masked:
            payload = apply_mask(payload, bytes(buffer[offset : offset + mask_size]))
        del buffer[:end]
        return Frame(opcode, payload, fin)
