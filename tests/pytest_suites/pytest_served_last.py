"""A module fixture's threaded server still serves the module's last test when the
fixture is finalized, in that test's teardown (see tests/test_pytest_ownership_last.py)."""

import socket
import socketserver
import threading

import pytest

_kept = []  # the last test's connection, kept open


class Echo(socketserver.StreamRequestHandler):
    def handle(self):
        while self.rfile.readline():
            self.wfile.write(b"ok\n")


@pytest.fixture(scope="module")
def server():
    served = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Echo)
    served.daemon_threads = True  # not joined by server_close(): one may outlive the fixture
    thread = threading.Thread(target=served.serve_forever, name="served-last-server", daemon=True)
    thread.start()
    yield served.server_address
    served.shutdown()
    thread.join()
    served.server_close()


def test_first_closes_its_connection(server):
    with socket.create_connection(server) as client:
        client.sendall(b"hello\n")
        assert client.makefile("rb").readline() == b"ok\n"


def test_last_keeps_its_connection(server):
    client = socket.create_connection(server)
    _kept.append(client)
    client.sendall(b"hello\n")
    assert client.makefile("rb").readline() == b"ok\n"
