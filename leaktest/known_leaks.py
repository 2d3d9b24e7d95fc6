"""The known-leaks file: the leaks a suite accepts for now, so that only new ones fail.

``python -m leaktest --leak-baseline FILE`` (pytest: ``--leaktest-baseline FILE``):
- FILE missing: every leak found is recorded and passes; FILE is written at the end;
- FILE there: a leak it lists passes (reported as known), any other fails as usual;
  the entries of tests that ran and no longer leak are listed as fixed;
- with ``--update-leak-baseline`` (``--leaktest-update-baseline``): as when missing,
  and FILE is rewritten: the leaks found, plus the entries of tests that did not run.

An entry is keyed on what is the same in every run (leak_log.LeakRecord.key): the
test id, the kind, what it runs and the function that started it; never an ident,
a port, an address or a line. One entry stands for any number of leaks of its key.
The file is JSON, entries sorted, one key a line, with a "reason" to fill in, kept
when the file is rewritten.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from .leak_log import KNOWN, LeakRecord

Key = tuple[str, str, str, str]
_FIELDS = ("test", "kind", "runs", "started_by")
ABOUT = (
    "leaktest's known leaks: a run fails only on leaks not listed here. Give each entry a"
    " reason; remove the entries a run lists as fixed. Rewritten only by --update-leak-baseline"
    " (pytest: --leaktest-update-baseline)."
)


class KnownLeaks:
    """The entries of one file (key -> reason), and whether this run records them."""

    def __init__(self, path: str, entries: dict[Key, str], recording: bool) -> None:
        self.path = path
        self.entries = entries
        #: The file was missing, or an update was asked for: every leak passes, and the
        #: file is written at the end of the run.
        self.recording = recording

    def excuses(self, record: LeakRecord) -> bool:
        return self.recording or record.key() in self.entries

    def fixed(self, records: Iterable[LeakRecord], tests_run: Iterable[str]) -> list[Key]:
        """The entries of tests that ran and did not leak so this time, sorted."""
        found = {record.key() for record in records}
        ran = set(tests_run)
        return sorted(key for key in self.entries if key[0] in ran and key not in found)

    def write(self, records: Iterable[LeakRecord], tests_run: Iterable[str]) -> int:
        """Write the file: the leaks of `records` it excused, and the entries of tests that
        did not run; the reasons given kept. Returns the number of entries."""
        ran = set(tests_run)
        entries = {key: reason for key, reason in self.entries.items() if key[0] not in ran}
        for record in records:
            if record.status == KNOWN:
                entries.setdefault(record.key(), self.entries.get(record.key(), ""))
        data = {
            "about": ABOUT,
            "leaks": [{**dict(zip(_FIELDS, key)), "reason": entries[key]} for key in sorted(entries)],
        }
        import json  # only where a run writes or reads a file

        directory = os.path.dirname(os.path.abspath(self.path))
        os.makedirs(directory, exist_ok=True)
        temporary = f"{self.path}.tmp{os.getpid()}"
        with open(temporary, "w", encoding="utf-8") as out:
            out.write(json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
        os.replace(temporary, self.path)
        return len(entries)


def load(path: str, update: bool = False) -> KnownLeaks:
    """The file at `path` (a missing one records); ValueError naming the file when it is not one."""
    if not os.path.exists(path):
        return KnownLeaks(path, {}, recording=True)
    import json  # only where a run writes or reads a file

    try:
        with open(path, encoding="utf-8") as source:
            data = json.load(source)
        entries: dict[Key, str] = {}
        for entry in data["leaks"]:
            values = [entry[field] for field in _FIELDS]
            reason = entry.get("reason", "")
            if not all(isinstance(value, str) for value in (*values, reason)):
                raise TypeError(f"an entry's fields must be strings: {entry!r}")
            entries[(values[0], values[1], values[2], values[3])] = reason
    except (OSError, ValueError, TypeError, KeyError) as error:
        raise ValueError(f"{path}: not a leaktest known-leaks file ({type(error).__name__}: {error})") from None
    return KnownLeaks(path, entries, recording=update)


def describe(key: Key) -> str:
    """One line for an entry: the test, then what leaked."""
    test, kind, runs, started_by = key
    return f"{test}: {kind}, {runs or '?'}, started by {started_by or '?'}"
