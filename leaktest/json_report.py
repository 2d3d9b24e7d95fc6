"""The JSON report of a run: every leak found, what became of it, and the known-leaks file's news.

``python -m leaktest --leak-report FILE``, ``pytest --leaktest-report FILE``. Written at
the end of the run; the layout (version 1):

    {"version": 1,
     "tests_run": 120,
     "leaks": [{"test": ..., "kind": "threads", "name": "Thread 'hub-run'",
                "runs": "pkg.Hub.run", "started_by": "pkg.Hub.start",
                "status": "failed" | "warned" | "expected" | "known",
                "report": the report's entry: the stack, where it was started}, ...],
     "known_leaks": {"file": ..., "recorded": bool, "fixed": [{"test", "kind", "runs",
                     "started_by"}, ...]}}   (only with a known-leaks file)
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from .known_leaks import KnownLeaks
from .leak_log import LeakRecord

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

VERSION = 1


def write(path: str, records: Sequence[LeakRecord], tests_run: set[str], count: int, known: KnownLeaks | None) -> None:
    data: dict[str, Any] = {
        "version": VERSION,
        "tests_run": count,
        "leaks": [_leak(record) for record in records],
    }
    if known is not None:
        data["known_leaks"] = {
            "file": known.path,
            "recorded": known.recording,
            "fixed": [
                dict(zip(("test", "kind", "runs", "started_by"), key)) for key in known.fixed(records, tests_run)
            ],
        }
    import json  # only where a run writes or reads a file

    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w", encoding="utf-8") as out:
        out.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def _leak(record: LeakRecord) -> dict[str, str]:
    fields = record.as_dict()
    fields["report"] = fields.pop("entry")
    return fields
