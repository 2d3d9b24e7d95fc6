"""What a test makes after a wider fixture was set up for it is the test's, "from" the
test: the fixture's setup is over (see tests/test_pytest_made_after_a_fixture.py).

The run loads pytest-asyncio, whose session fixture `event_loop_policy` is autouse:
set up for the first test, after that test's baseline."""

import socket

import pytest

_kept = []


def make_socket():
    _kept.append(socket.socket())


def test_first_of_the_session():
    make_socket()


@pytest.fixture(scope="module")
def module_resource():
    return "resource"


def test_after_a_module_fixture(module_resource):
    make_socket()
