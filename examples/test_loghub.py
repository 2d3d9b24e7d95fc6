"""The threaded log hub under leaktest: any thread left running fails the test.

No test sleeps to synchronise: each waits on the frames or the threads themselves,
with timeouts that only matter when something is already broken.
"""

from __future__ import annotations

import queue
import socket
import threading
import unittest
from typing import Literal

from examples.loghub import HandshakeRejected, Hub, LogClient, LogEntry, LogServer
from examples.loghub.client import ConnectionClosed
from examples.loghub.entries import LEVELS
from examples.loghub.protocol import (
    MAX_HEAD_SIZE,
    CloseCode,
    FrameDecoder,
    Opcode,
    accept_key,
    encode_frame,
    new_key,
    parse_close_payload,
    upgrade_request,
)
from leaktest import LeakCheckedTestCase

TOKEN = "s3cret-token"
WAIT = 5.0  # seconds; reached only when a test is failing anyway


def exchange(port: int, request: bytes) -> bytes:
    """Send raw bytes; return all the server answers before it hangs up."""
    with socket.create_connection(("127.0.0.1", port), timeout=WAIT) as sock:
        sock.sendall(request)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


def next_close_code(client: LogClient) -> int | None:
    """Skip heartbeats and entries up to the server's close frame; return its code."""
    while (frame := client.recv_frame(WAIT)).opcode is not Opcode.CLOSE:
        pass
    return parse_close_payload(frame.payload)[0]


def loghub_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("loghub-")]


class ProtocolTest(unittest.TestCase):
    def test_accept_key_matches_rfc_6455_example(self) -> None:
        self.assertEqual(accept_key("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")

    def test_frames_round_trip_with_7_16_and_64_bit_lengths(self) -> None:
        for size in (0, 125, 126, 65535, 65536, 70000):
            with self.subTest(size=size):
                payload = bytes(range(256)) * (size // 256) + bytes(size % 256)
                decoder = FrameDecoder(expect_masked=True)
                data = encode_frame(Opcode.TEXT, payload, mask=True)
                frames = decoder.feed(data[:3]) + decoder.feed(data[3:])  # split mid-header
                self.assertEqual([(f.opcode, f.payload) for f in frames], [(Opcode.TEXT, payload)])


class Collector:
    """A subscriber without a socket: what the hub sends lands in a queue."""

    def __init__(self, min_level: int) -> None:
        self.min_level = min_level
        self.received: queue.Queue[str] = queue.Queue()

    def send_text(self, text: str) -> None:
        self.received.put(LogEntry.from_json(text).message)


class Vanished(Collector):
    def send_text(self, text: str) -> None:
        raise ConnectionResetError("gone")


class HubTest(LeakCheckedTestCase):
    def test_fans_out_by_level_and_drops_failing_subscribers(self) -> None:
        hub = Hub()
        hub.start()
        self.addCleanup(hub.stop)
        everything, errors_only, vanished = Collector(0), Collector(LEVELS["ERROR"]), Vanished(0)
        for subscriber in (everything, vanished, errors_only):
            hub.register(subscriber)
        hub.publish(LogEntry("INFO", "first"))
        hub.publish(LogEntry("ERROR", "second"))
        self.assertEqual([everything.received.get(timeout=WAIT) for _ in range(2)], ["first", "second"])
        self.assertEqual(errors_only.received.get(timeout=WAIT), "second")
        self.assertEqual(hub.subscriber_count(), 2)


class LogServerTest(LeakCheckedTestCase):
    def setUp(self) -> None:
        self.server = LogServer(TOKEN, heartbeat_interval=0.05)
        self.server.start()
        self.addCleanup(self.server.stop)

    def connect(self, level: str | None = None, auth: Literal["header", "query"] = "header") -> LogClient:
        client = LogClient.connect(self.server.port, TOKEN, level=level, auth=auth)
        self.addCleanup(client.close)
        return client

    def receive_messages(self, client: LogClient, count: int) -> list[str]:
        return [client.recv_entry(WAIT).message for _ in range(count)]

    def test_endpoint_exists(self) -> None:
        key = new_key()
        with socket.create_connection(("127.0.0.1", self.server.port), timeout=WAIT) as sock:
            sock.sendall(upgrade_request("127.0.0.1", self.server.port, "/logs", key, TOKEN))
            answer = b""
            while b"\r\n\r\n" not in answer and (chunk := sock.recv(65536)):
                answer += chunk
        self.assertTrue(answer.startswith(b"HTTP/1.1 101 "), answer)
        self.assertIn(f"Sec-WebSocket-Accept: {accept_key(key)}".encode(), answer)
        self.assertTrue(exchange(self.server.port, b"GET /other HTTP/1.1\r\n\r\n").startswith(b"HTTP/1.1 404 "))

    def test_filters_logs_by_level(self) -> None:
        warning_client = self.connect(level="WARNING")
        info_client = self.connect(level="info")
        everything_client = self.connect()
        for level in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            self.server.publish(level, f"a {level} entry")
        # CRITICAL comes last, so receiving it proves nothing filtered out is still on the way.
        self.assertEqual([warning_client.recv_entry(WAIT).level for _ in range(3)], ["WARNING", "ERROR", "CRITICAL"])
        self.assertEqual(
            [info_client.recv_entry(WAIT).level for _ in range(4)], ["INFO", "WARNING", "ERROR", "CRITICAL"]
        )
        self.assertEqual(len(self.receive_messages(everything_client, 5)), 5)
        with self.assertRaises(HandshakeRejected) as rejected:
            self.connect(level="CHATTY")
        self.assertEqual(rejected.exception.status, 400)

    def test_requires_authentication(self) -> None:
        port = self.server.port
        refused = {
            "no token": upgrade_request("127.0.0.1", port, "/logs", new_key(), None),
            "wrong bearer": upgrade_request("127.0.0.1", port, "/logs", new_key(), "guess"),
            "wrong query token": upgrade_request("127.0.0.1", port, "/logs?token=guess", new_key(), None),
        }
        for case, request in refused.items():
            with self.subTest(case):
                answer = exchange(port, request)  # returns only because the server hung up
                self.assertTrue(answer.startswith(b"HTTP/1.1 401 "), answer)
                self.assertNotIn(b"Sec-WebSocket-Accept", answer)
        self.assertEqual(self.server.hub.subscriber_count(), 0)
        self.connect(auth="query")  # the right token is accepted in the query too
        self.assertEqual(self.server.hub.subscriber_count(), 1)

    def test_sends_heartbeats(self) -> None:
        client = self.connect()
        pings = 0
        while pings < 2:
            if client.recv_frame(WAIT).opcode is Opcode.PING:
                pings += 1
        client.send_raw(encode_frame(Opcode.PING, b"are you there", mask=True))
        while (frame := client.recv_frame(WAIT)).opcode is not Opcode.PONG:
            pass
        self.assertEqual(frame.payload, b"are you there")

    def test_high_frequency_stream_loses_nothing(self) -> None:
        client = self.connect()
        expected = [f"entry {n}" for n in range(10_000)]
        for message in expected:
            self.server.publish("INFO", message)
        self.assertEqual(self.receive_messages(client, len(expected)), expected)

    def test_malformed_handshake_gets_400_and_close(self) -> None:
        port = self.server.port
        malformed = {
            "not HTTP": b"HELLO\r\n\r\n",
            "no key": b"GET /logs?token=" + TOKEN.encode() + b" HTTP/1.1\r\nUpgrade: websocket\r\n"
            b"Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n",
            "head too long": b"G" * (MAX_HEAD_SIZE + 1),
        }
        for case, request in malformed.items():
            with self.subTest(case):
                self.assertTrue(exchange(port, request).startswith(b"HTTP/1.1 400 "))

    def test_oversized_frame_gets_close_1009(self) -> None:
        client = self.connect()
        too_big = 2 * 1024 * 1024
        # Only the header: the server must refuse before reading (or buffering) any payload.
        client.send_raw(bytes([0x80 | Opcode.TEXT, 0x80 | 127]) + too_big.to_bytes(8, "big"))
        self.assertEqual(next_close_code(client), CloseCode.MESSAGE_TOO_BIG)
        self.assert_connection_threads_end()

    def test_client_vanishing_mid_frame_ends_its_thread(self) -> None:
        client = self.connect()
        client.send_raw(encode_frame(Opcode.TEXT, b"x" * 100, mask=True)[:20])
        client.abort()
        self.assert_connection_threads_end()
        survivor = self.connect()
        self.server.publish("INFO", "still serving")
        self.assertEqual(survivor.recv_entry(WAIT).message, "still serving")

    def test_stop_closes_every_client_and_joins_every_thread(self) -> None:
        clients = [self.connect(), self.connect()]
        stoppers = [threading.Thread(target=self.server.stop, name=f"stopper-{n}") for n in range(3)]
        for stopper in stoppers:
            stopper.start()
        for stopper in stoppers:
            stopper.join()
        self.assertEqual(loghub_threads(), [])
        for client in clients:
            self.assertEqual(next_close_code(client), CloseCode.GOING_AWAY)
            with self.assertRaises(ConnectionClosed):
                client.recv_frame(WAIT)

    def test_silent_client_is_dropped_after_io_timeout(self) -> None:
        impatient = LogServer(TOKEN, io_timeout=0.1)
        impatient.start()
        self.addCleanup(impatient.stop)
        self.assertEqual(exchange(impatient.port, b""), b"")  # returns only because the server hung up
        self.assert_connection_threads_end()

    def assert_connection_threads_end(self) -> None:
        for thread in loghub_threads():
            if thread.name.startswith("loghub-client-"):
                thread.join(WAIT)
                self.assertFalse(thread.is_alive(), f"{thread.name} still running")
        self.assertEqual(self.server.hub.subscriber_count(), 0)


if __name__ == "__main__":
    unittest.main()
