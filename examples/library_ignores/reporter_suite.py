"""A test of code that records a metric. With leaktest-example-metrics installed
(pip install examples/library_ignores), its reporter thread is the library's and the
test passes; only importable (PYTHONPATH), leaktest does not know it and the test
fails with "[Thread 'example-metrics-reporter' ...".

Not named test_*: the examples' own runs do not collect it (CI runs it both ways).
"""

from __future__ import annotations

import unittest

import example_metrics

import leaktest


class RecordsMetrics(leaktest.LeakCheckedTestCase):
    def test_record(self) -> None:
        example_metrics.record("requests", 1.0)


if __name__ == "__main__":
    unittest.main()
