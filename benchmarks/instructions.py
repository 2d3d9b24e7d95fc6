"""``python -m benchmarks.instructions``: what leaktest adds per operation, in instructions.

The CPU-time figures of `benchmarks.hooks` and `benchmarks.pytest_overhead` move
by 10% and more on a shared machine; an instruction count does not. Each side runs
the same child as there (hooks.py's `_CHILD`; a generated pytest suite), under
``valgrind --tool=callgrind``, once with twice `--ops` operations and once with
`--ops`: the difference divided by `--ops` is one operation's count, start-up,
imports and what the first operation alone does (the first test's loop policy)
left out; a pytest suite of twice a third of `--ops` tests against one of a third,
likewise (what differs between two pytest runs besides their tests, a few million
instructions, is then a few thousand a test). ``PYTHONHASHSEED=0`` keeps the two runs
alike. Needs valgrind; slow (each run
is 20-50 times slower under it). Nothing here asserts a count.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from .hooks import _CHILD, DEPTH_KINDS
from .pytest_overhead import KINDS, write_suite

ROOT = Path(__file__).resolve().parent.parent
_COLLECTED = re.compile(r"Collected : (\d+)")


def instructions(command: Sequence[str], cwd: Path | None = None, **env_vars: str) -> int:
    """What `command` executed, in instructions, under callgrind."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONHASHSEED="0", **env_vars)
    env.pop("PYTHONASYNCIODEBUG", None)
    run = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", *command],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
    )
    found = _COLLECTED.search(run.stderr)
    if run.returncode != 0 or found is None:
        raise SystemExit(f"{' '.join(command)} failed:\n{run.stdout}{run.stderr}")
    return int(found.group(1))


def per_operation(python: str, side: str, kind: str, depth: int, ops: int) -> float:
    def count(n: int) -> int:
        return instructions([python, "-c", _CHILD, side, kind, str(depth), str(n), "1"])

    return (count(2 * ops) - count(ops)) / ops


def per_pytest_test(python: str, args: tuple[str, ...], tests: int) -> float:
    """A suite of 2x`tests` trivial tests against one of `tests` (two modules against
    one): what differs is `tests` tests, not a module's start-up or what runs once."""
    with tempfile.TemporaryDirectory() as name:
        directory = Path(name)
        write_suite(directory, tests)
        (directory / "test_more.py").write_text((directory / "test_trivial.py").read_text())
        times = str(directory / "times")  # (what the suite's conftest writes: not read here)
        base = [python, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args, "test_trivial.py"]
        twice = instructions([*base, "test_more.py"], directory, BENCH_TIMES=times)
        return (twice - instructions(base, directory, BENCH_TIMES=times)) / tests


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.instructions", description=__doc__)
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument(
        "--ops",
        type=int,
        default=2000,
        help="operations (tests and debug-mode tasks: a tenth; pytest tests: a third; async tests: a hundredth)",
    )
    parser.add_argument("--depth", type=int, default=15, help="frames of the caller's own for the deep caller")
    parser.add_argument("--kinds", default="socket,task,debugtask,testcase,asynccase,pytest")
    args = parser.parse_args(argv)
    if shutil.which("valgrind") is None:
        raise SystemExit("needs valgrind")
    print(f"{args.python}: instructions per operation, callgrind")
    print(f"{'what':<22}{'plain':>12}{'leaktest':>12}{'added':>12}")
    for kind in args.kinds.split(","):
        if kind == "pytest":
            tests = max(1, args.ops // 3)
            plain = per_pytest_test(args.python, KINDS["plain pytest"], tests)
            checked = per_pytest_test(args.python, KINDS["pytest --leaktest"], tests)
            rows = [("pytest --leaktest", plain, checked)]
        else:
            tenth, hundredth = args.ops // 10, args.ops // 100
            ops = {"testcase": tenth, "debugtask": tenth, "asynccase": hundredth, "asyncmade": hundredth}.get(
                kind, args.ops
            )
            rows = []
            for depth in (1, args.depth) if kind in DEPTH_KINDS else (1,):
                label = f"{kind}, depth {depth}" if kind in DEPTH_KINDS else f"{kind}, per test"
                plain = per_operation(args.python, "plain", kind, depth, max(1, ops))
                checked = per_operation(args.python, "leaktest", kind, depth, max(1, ops))
                rows.append((label, plain, checked))
        for label, plain, checked in rows:
            added = checked - plain
            print(f"{label:<22}{plain:>12,.0f}{checked:>12,.0f}{added:>+12,.0f}  ({added / plain * 100:+.1f}%)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
