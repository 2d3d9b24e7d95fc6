"""A package fixture that leaks, and one whose finalizer stops its hub."""

import pytest

from conftest import Hub, leak


@pytest.fixture(scope="package")
def package_leak():
    leak("package-fixture-leak")


@pytest.fixture(scope="package")
def package_hub():
    hub = Hub("package-hub")
    yield hub
    hub.stop()
