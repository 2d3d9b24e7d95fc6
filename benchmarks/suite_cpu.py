"""``python -m benchmarks.suite_cpu MODULE...``: a real suite's CPU time, plain and under leaktest.

Runs ``python -m unittest MODULE...`` (which never imports leaktest) and ``python -m
leaktest MODULE...`` (this tree's leaktest, and that of each ``--other`` tree) in turn,
each in a fresh process, ``--rounds`` times (after one untimed run of each, which
writes its bytecode), alternating the order, and prints
each side's median CPU time (user + sys of the child, from ``getrusage``: what the
other processes of a shared machine take is not counted) and the median of the
paired differences with plain. Run a suite that uses the network under
``unshare -n sh -c 'ip link set lo up; ...'``. A library's suite runs in its checkout
(``--cwd``) with its sources on the path (``--suite-path src``). Nothing here asserts
a timing.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def run_side(
    command: list[str], path: str | None, suite: Suite = (None, ()), **options: Any
) -> subprocess.CompletedProcess[str]:
    """`command` with only the leaktest tree `path` (None: none) on PYTHONPATH, and the
    suite's own paths, run outside this tree (`-m` and `-c` put the working directory
    first on sys.path), in the suite's directory if it has one. Bytecode is written and
    read as for an installed package (PYTHONDONTWRITEBYTECODE dropped): else every
    leaktest run compiles leaktest, about 0.1 s."""
    directory, paths = suite
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    entries = [*([path] if path is not None else []), *paths]
    if entries:
        env["PYTHONPATH"] = os.pathsep.join(entries)
    cwd = directory if directory is not None else tempfile.gettempdir()
    return subprocess.run(command, env=env, cwd=cwd, text=True, **options)


#: A suite outside the stdlib: its directory (the working directory of its runs) and
#: the paths it needs on PYTHONPATH (its `src`).
Suite = tuple[str | None, Sequence[str]]


def cpu_of(command: list[str], path: str | None, suite: Suite) -> float:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    run_side(command, path, suite, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("modules", nargs="+", help="the test modules, e.g. test.test_socket")
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--cwd", help="the suite's directory (a checkout of a library)")
    parser.add_argument(
        "--suite-path", action="append", default=[], help="a path the suite needs, relative to --cwd (repeatable)"
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--other", action="append", default=[], help="another leaktest tree to compare (repeatable)")
    args = parser.parse_args(argv)
    sides: list[tuple[str, list[str], str | None]] = [
        ("plain", [args.python, "-m", "unittest", *args.modules], None),
        ("leaktest", [args.python, "-m", "leaktest", *args.modules], str(ROOT)),
    ]
    sides += [(f"leaktest {other}", [args.python, "-m", "leaktest", *args.modules], other) for other in args.other]
    suite: Suite = (args.cwd, [os.path.abspath(os.path.join(args.cwd or ".", path)) for path in args.suite_path])
    times: dict[str, list[float]] = {name: [] for name, _, _ in sides}
    for _, command, path in sides:  # untimed: each side's bytecode written once
        cpu_of(command, path, suite)
    for round_ in range(args.rounds):
        for name, command, path in sides if round_ % 2 == 0 else sides[::-1]:
            times[name].append(cpu_of(command, path, suite))
    plain = times["plain"]
    print(f"{args.python} -m unittest/leaktest {' '.join(args.modules)}: {args.rounds} rounds, CPU time (user+sys)")
    for name, taken in times.items():
        line = f"{name:40} median {statistics.median(taken):7.2f} s  (min {min(taken):.2f}, max {max(taken):.2f})"
        if name != "plain":
            pairs = [mine - theirs for mine, theirs in zip(taken, plain)]
            line += f"  +{statistics.median(pairs):.2f} s over plain (median of pairs)"
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
