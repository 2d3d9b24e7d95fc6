"""An unchanged suite that leaks a listening socket and an asyncio timer, on purpose."""

import asyncio
import socket
import unittest

_held: list[socket.socket] = []  # leaked sockets stay referenced: not garbage-collected


def reconnect() -> None:
    pass


class SocketLeak(unittest.TestCase):
    def test_leaks_socket(self) -> None:
        _held.append(socket.create_server(("127.0.0.1", 0)))


class TimerLeak(unittest.IsolatedAsyncioTestCase):
    async def test_leaks_timer(self) -> None:
        asyncio.get_running_loop().call_later(3600, reconnect)
