"""The goleak-shaped failure message, the one layout of its entries, and `LeakError`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

__unittest = True  # hide these frames from unittest tracebacks
__tracebackhide__ = True  # and from pytest ones


def short_repr(obj: object, width: int) -> str:
    """`repr(obj)`, cut to `width` characters (an argument or an awaited object in a report)."""
    text = repr(obj)
    return text if len(text) <= width else text[: width - 3] + "..."


class Leak:
    """One thing a check found: a leaked resource, or a failure inside one."""

    __slots__ = ("kind", "name", "entry", "resource", "started", "runs", "origin")

    def __init__(
        self,
        kind: str,
        name: str,
        entry: str,
        resource: object = None,
        started: int | None = None,
        runs: str = "",
        origin: str = "",
    ) -> None:
        self.kind = kind  # the report section: "threads", "thread exceptions", ...
        self.name = name  # short label, e.g. "Thread 'hub-run'"
        self.entry = entry  # the whole report entry, stack included
        self.resource = resource
        #: The clock number (probes/clock.py) of the start of what it is about, when known:
        #: tells what a test started from what its class's or module's fixtures did.
        self.started = started
        #: What it runs (a thread's function, a task's coroutine, a program...) and the function
        #: that started it: no ident, address or line, so the same leak reads the same in every
        #: run (the known-leaks file's key, the JSON report).
        self.runs = runs
        self.origin = origin

    def __str__(self) -> str:
        return self.name

    def __repr__(self) -> str:
        return f"<Leak {self.kind}: {self.name}>"

    def adding(self, line: str) -> Leak:
        """The same leak, its entry one line longer (what a check learnt of it after `entry`)."""
        return Leak(
            self.kind, self.name, f"{self.entry}\n{_DETAIL}{line}", self.resource, self.started, self.runs, self.origin
        )


class LeakWarning(UserWarning):
    """A leak in `warn` mode: the test passes, the leak is reported.

    A UserWarning, so Python shows it by default (a ResourceWarning would be
    hidden); ``-W error::leaktest.LeakWarning`` turns it back into a failure.
    """


class LeakError(AssertionError):
    """A check found leaks; `.leaks` lists them. An AssertionError, so a test FAILs."""

    def __init__(self, message: str, leaks: Sequence[Leak]) -> None:
        super().__init__(message)
        self.leaks = list(leaks)


def entry(head: str, where: str | None, stack: str = "", extra: Sequence[str] = ()) -> str:
    """One report entry, laid out alike for every kind: the head, the stack (each line two
    spaces in), then where it was started (`stacks.where`) and any further lines (one space
    in), so that each part is at the same place in every entry."""
    lines = [head]
    lines.extend(_STACK + line for line in stack.splitlines())
    lines.extend(_DETAIL + line for line in (where, *extra) if line)
    return "\n".join(lines)


_STACK = "  "  # the indent of a stack's lines in an entry
_DETAIL = " "  # the indent of the lines after it


def format_report(
    leaks: Sequence[Leak],
    headings: Mapping[str, str],
    before: Mapping[str, int],
    after: Mapping[str, int],
) -> str:
    """One section per kind, under its heading (`headings`: kind -> heading), then the counts."""
    sections: dict[str, list[str]] = {}
    for leak in leaks:
        sections.setdefault(leak.kind, []).append(leak.entry)
    lines = []
    for kind, entries in sections.items():
        lines.append(headings.get(kind, f"found unexpected {kind}:"))
        lines.extend(f"[{entry}]" for entry in entries)
    lines.append(format_counts(before, after))
    return "\n".join(lines)


def format_counts(before: Mapping[str, int], after: Mapping[str, int]) -> str:
    """``counts before -> after: threads 1 -> 2, ...``, in the order of `before`."""
    counts = ", ".join(f"{kind} {before[kind]} -> {after.get(kind, 0)}" for kind in before)
    return f"counts before -> after: {counts}"
