"""A package fixture that leaks, and one whose finalizer stops its hub."""

import pytest

from conftest import leak
from hubs import start_hub


@pytest.fixture(scope="package")
def package_leak():
    leak("package-fixture-leak")


@pytest.fixture(scope="package")
def package_hub():
    hub = start_hub("package-hub", daemon=True)
    yield hub
    hub.stop()
