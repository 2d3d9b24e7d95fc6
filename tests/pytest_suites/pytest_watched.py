"""Prints whether leaktest's hooks are in place (run with -s; test_pytest_plugin)."""

from __future__ import annotations

import socket


def test_prints_whether_sockets_are_watched() -> None:
    print(f"sockets watched: {hasattr(socket.socket.__del__, '_leaktest_hook')}")
