"""Prints whether leaktest's hooks are in place (test_modes.OffWatchesNothing)."""

from __future__ import annotations

import socket
import unittest


class Watched(unittest.TestCase):
    def test_prints_whether_sockets_are_watched(self) -> None:
        print(f"sockets watched: {hasattr(socket.socket.__del__, '_leaktest_hook')}")
