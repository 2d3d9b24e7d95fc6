"""The asyncio log hub under leaktest: any task left pending fails the test.

As in test_loghub, every wait is on a frame or a task, never a sleep.
"""

from __future__ import annotations

import asyncio
import unittest
from typing import Literal

from examples.async_loghub import AsyncLogClient, AsyncLogServer
from examples.loghub import HandshakeRejected
from examples.loghub.client import ConnectionClosed
from examples.loghub.protocol import (
    CloseCode,
    Opcode,
    accept_key,
    encode_frame,
    new_key,
    parse_close_payload,
    upgrade_request,
)
from leaktest import LeakCheckedAsyncTestCase

TOKEN = "s3cret-token"
WAIT = 5.0  # seconds; reached only when a test is failing anyway


async def exchange(port: int, request: bytes) -> bytes:
    """Send raw bytes; return all the server answers before it hangs up."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(request)
        return await asyncio.wait_for(reader.read(), WAIT)  # read() returns at end of stream
    finally:
        writer.close()
        await writer.wait_closed()


async def next_close_code(client: AsyncLogClient) -> int | None:
    """Skip heartbeats and entries up to the server's close frame; return its code."""
    while (frame := await client.recv_frame(WAIT)).opcode is not Opcode.CLOSE:
        pass
    return parse_close_payload(frame.payload)[0]


class AsyncLogServerTest(LeakCheckedAsyncTestCase):
    async def asyncSetUp(self) -> None:
        self.server = AsyncLogServer(TOKEN, heartbeat_interval=0.05)
        await self.server.start()
        self.addAsyncCleanup(self.server.stop)

    async def connect(
        self, token: str | None = TOKEN, level: str | None = None, auth: Literal["header", "query"] = "header"
    ) -> AsyncLogClient:
        client = await AsyncLogClient.connect(self.server.port, token, level=level, auth=auth)
        self.addAsyncCleanup(client.close)
        return client

    async def test_endpoint_exists(self) -> None:
        key = new_key()
        reader, writer = await asyncio.open_connection("127.0.0.1", self.server.port)
        writer.write(upgrade_request("127.0.0.1", self.server.port, "/logs", key, TOKEN))
        answer = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), WAIT)
        writer.close()
        await writer.wait_closed()
        self.assertTrue(answer.startswith(b"HTTP/1.1 101 "), answer)
        self.assertIn(f"Sec-WebSocket-Accept: {accept_key(key)}".encode(), answer)
        self.assertTrue((await exchange(self.server.port, b"GET /other HTTP/1.1\r\n\r\n")).startswith(b"HTTP/1.1 404 "))

    async def test_filters_logs_by_level(self) -> None:
        warning_client = await self.connect(level="WARNING")
        info_client = await self.connect(level="INFO", auth="query")
        for level in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            self.server.publish(level, f"a {level} entry")
        # CRITICAL comes last, so receiving it proves nothing filtered out is still on the way.
        self.assertEqual(
            [(await warning_client.recv_entry(WAIT)).level for _ in range(3)], ["WARNING", "ERROR", "CRITICAL"]
        )
        self.assertEqual(
            [(await info_client.recv_entry(WAIT)).level for _ in range(4)], ["INFO", "WARNING", "ERROR", "CRITICAL"]
        )

    async def test_requires_authentication(self) -> None:
        for case, token in {"no token": None, "wrong token": "guess"}.items():
            with self.subTest(case):
                with self.assertRaises(HandshakeRejected) as rejected:
                    await self.connect(token=token)
                self.assertEqual(rejected.exception.status, 401)
                answer = await exchange(
                    self.server.port, upgrade_request("127.0.0.1", self.server.port, "/logs", new_key(), token)
                )  # returns only because the server hung up: no upgrade
                self.assertTrue(answer.startswith(b"HTTP/1.1 401 "), answer)
                self.assertNotIn(b"Sec-WebSocket-Accept", answer)
        self.assertEqual(self.server.hub.subscriber_count(), 0)

    async def test_sends_heartbeats(self) -> None:
        client = await self.connect()
        pings = 0
        while pings < 2:
            if (await client.recv_frame(WAIT)).opcode is Opcode.PING:
                pings += 1

    async def test_high_frequency_stream_loses_nothing(self) -> None:
        client = await self.connect()
        expected = [f"entry {n}" for n in range(10_000)]
        for sent, message in enumerate(expected, 1):
            self.server.publish("INFO", message)
            if sent % 1000 == 0:
                await asyncio.sleep(0)  # a polite burst: no single step holds the loop for long
        self.assertEqual([(await client.recv_entry(WAIT)).message for _ in expected], expected)

    async def test_oversized_frame_gets_close_1009(self) -> None:
        client = await self.connect()
        too_big = 2 * 1024 * 1024
        await client.send_raw(bytes([0x80 | Opcode.TEXT, 0x80 | 127]) + too_big.to_bytes(8, "big"))
        self.assertEqual(await next_close_code(client), CloseCode.MESSAGE_TOO_BIG)
        await self.assert_connection_tasks_end()

    async def test_client_vanishing_mid_frame_ends_its_task(self) -> None:
        client = await self.connect()
        await client.send_raw(encode_frame(Opcode.TEXT, b"x" * 100, mask=True)[:20])
        client.abort()
        await self.assert_connection_tasks_end()

    async def test_stop_closes_every_client_and_ends_every_task(self) -> None:
        clients = [await self.connect(), await self.connect()]
        await asyncio.gather(self.server.stop(), self.server.stop())
        others = asyncio.all_tasks() - {asyncio.current_task()}
        self.assertEqual([t.get_name() for t in others if t.get_name().startswith("loghub-")], [])
        for client in clients:
            self.assertEqual(await next_close_code(client), CloseCode.GOING_AWAY)
            with self.assertRaises(ConnectionClosed):
                await client.recv_frame(WAIT)

    async def assert_connection_tasks_end(self) -> None:
        tasks = [t for t in asyncio.all_tasks() if t.get_name().startswith("loghub-client-")]
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=WAIT)
            self.assertEqual(pending, set())
        self.assertEqual(self.server.hub.subscriber_count(), 0)


if __name__ == "__main__":
    unittest.main()
