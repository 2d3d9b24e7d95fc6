"""A metrics library: the first metric recorded starts a reporter thread that runs
for the rest of the process, flushing what was recorded."""

from __future__ import annotations

import queue
import threading

_metrics: queue.Queue[tuple[str, float]] = queue.Queue()
_started = threading.Lock()
_reporter: threading.Thread | None = None


class Reporter:
    def run(self) -> None:
        while True:
            _metrics.get()  # a real one would send it somewhere


def record(name: str, value: float) -> None:
    """Record a metric; starts the process-wide reporter on first use."""
    global _reporter
    with _started:
        if _reporter is None:
            _reporter = threading.Thread(target=Reporter().run, name="example-metrics-reporter", daemon=True)
            _reporter.start()
    _metrics.put((name, value))
