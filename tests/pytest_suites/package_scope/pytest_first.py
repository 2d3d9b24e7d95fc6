"""Package-scoped fixtures (see tests/test_pytest_plugin.py)."""


def test_first(package_leak, package_hub):
    assert package_hub.thread.is_alive()
