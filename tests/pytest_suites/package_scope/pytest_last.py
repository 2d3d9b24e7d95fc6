"""Package-scoped fixtures (see tests/test_pytest_plugin.py)."""


def test_last(package_leak, package_hub):
    pass
