"""Run by tests/test_pytest_plugin.py (InstalledTest) with leaktest installed: pytest marks
every module of a distribution with a pytest11 entry point for assertion rewriting."""

import sys


def test_only_the_modules_imported_before_the_plugin_opts_out_are_rewritten():
    assert "leaktest.check" in sys.modules  # the engine is imported (--leaktest)
    rewritten = sorted(
        name
        for name, module in list(sys.modules.items())
        if name.partition(".")[0] == "leaktest"
        and type(getattr(module, "__loader__", None)).__name__ == "AssertionRewritingHook"
    )
    # The package, the plugin and what it imports before opting out; and `results`, a
    # plugin pytest imports by name (`pytest_plugins`), which pytest marks itself.
    plugin = ["leaktest.pytest_plugin", "leaktest.pytest_plugin._compat", "leaktest.pytest_plugin.results"]
    assert rewritten == ["leaktest", *plugin]
