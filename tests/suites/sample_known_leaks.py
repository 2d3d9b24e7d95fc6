"""Leaks whose set changes with the environment, for the known-leaks file and the JSON
report: SAMPLE_NEW adds a leak, SAMPLE_FIXED fixes one. The leaked threads are daemons
and the sockets listen on ports the system picks: both differ in every run."""

import os
import socket
import threading
import unittest

import leaktest

_never = threading.Event()
_sockets: list[socket.socket] = []


class Hub:
    def run(self) -> None:
        _never.wait()


def start_hub(name: str) -> None:
    threading.Thread(target=Hub().run, name=name, daemon=True).start()


def listen() -> None:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    _sockets.append(server)


class Leaks(unittest.TestCase):
    def test_hub_and_socket(self) -> None:
        start_hub(f"hub-{os.getpid()}")
        listen()

    def test_fixed_later(self) -> None:
        if not os.environ.get("SAMPLE_FIXED"):
            start_hub("to-be-fixed")

    def test_new_later(self) -> None:
        if os.environ.get("SAMPLE_NEW"):
            start_hub("new")

    def test_clean(self) -> None:
        pass

    @leaktest.expected_leak(reason="issue 7")
    def test_expected(self) -> None:
        start_hub("expected")


class Nested(unittest.TestCase):
    def test_asserts_a_leak(self) -> None:
        """A check inside the test is the test's own: the file neither excuses nor records it."""
        with self.assertRaises(leaktest.LeakError):
            with leaktest.no_leaks(grace_period=0):
                start_hub("asserted")
