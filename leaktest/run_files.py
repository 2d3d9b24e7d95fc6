"""The files of a run, for both runners: the known-leaks file read at the start, then
written (when recording) with the JSON report at the end, and what the summary says of them."""

from __future__ import annotations

from collections.abc import Sequence

from . import json_report, known_leaks, leak_log
from .leak_log import KNOWN, LeakRecord


class RunFiles:
    """Where a run's files are: the known-leaks file (with its entries), the JSON report."""

    def __init__(self, baseline: str | None, update: bool, report: str | None) -> None:
        """Starts the run's leak log; raises ValueError naming the known-leaks file when
        it is not one."""
        self.known = known_leaks.load(baseline, update) if baseline else None
        self.report = report
        leak_log.start(self.known)

    def finish(self, records: Sequence[LeakRecord], tests_run: set[str], count: int) -> list[str]:
        """Write what is to be written; the summary's lines about it. `tests_run`: the ids
        the tests that ran have in the known-leaks file; `count`: how many ran."""
        lines = []
        known = self.known
        if known is not None:
            if known.recording:
                count = known.write(records, tests_run)
                lines.append(f"leaktest: {_plural(count, 'known leak')} recorded in {known.path}")
            else:
                excused = sum(1 for record in records if record.status == KNOWN)
                if excused:
                    lines.append(f"leaktest: {_plural(excused, 'leak')} known from {known.path}, not failed")
                fixed = known.fixed(records, tests_run)
                if fixed:
                    lines.append(f"leaktest: known leaks fixed, remove them from {known.path}:")
                    lines.extend(f"  {known_leaks.describe(key)}" for key in fixed)
        if self.report is not None:
            json_report.write(self.report, records, tests_run, count, known)
            lines.append(f"leaktest: JSON report of {_plural(len(records), 'leak')} written to {self.report}")
        return lines


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun if count == 1 else noun + 's'}"
