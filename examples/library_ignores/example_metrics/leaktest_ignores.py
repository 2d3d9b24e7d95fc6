"""What this library tells leaktest (entry point group `leaktest.ignores`, see
pyproject.toml): the same settings a test class takes. Keep this module light: leaktest
imports it once per process, before the first test."""

IGNORES = {
    "ignore_top_functions": ["example_metrics.Reporter.run"],
}
