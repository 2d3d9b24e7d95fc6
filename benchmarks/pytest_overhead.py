"""``python -m benchmarks.pytest_overhead``: what `pytest --leaktest` adds per test.

1000 trivial test functions, run by plain pytest and by pytest with the plugin
enabled, in the same benchmark run, in a shuffled order each round. Each run's time is the CPU time
of its test loop (`pytest_runtestloop`, measured inside pytest: interpreter
start-up and collection are left out, and so is the time other processes of a
busy machine take from it). Two figures per kind: the difference of the fastest
runs (the least disturbed), and the median over the rounds of the difference to
the plain run of the same round. "plugin loaded, off" has no per-test code at
all: what it shows is the noise of the machine.
pytest itself must be importable by the python given with --python.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

_TIMER = """\
import json, os, time
import pytest

@pytest.hookimpl(wrapper=True)
def pytest_runtestloop(session):
    started = time.process_time()
    try:
        return (yield)
    finally:
        with open(os.environ["BENCH_TIMES"], "a") as out:
            out.write(json.dumps(time.process_time() - started) + "\\n")
"""

KINDS = {
    "plain pytest": ("-p", "no:leaktest"),
    "plugin loaded, off": ("-p", "leaktest.pytest_plugin"),
    "pytest --leaktest": ("-p", "leaktest.pytest_plugin", "--leaktest"),
}


def write_suite(directory: Path, tests: int) -> None:
    (directory / "conftest.py").write_text(_TIMER)
    (directory / "pytest.ini").write_text("[pytest]\n")
    body = "".join(f"def test_{index}():\n    pass\n\n\n" for index in range(tests))
    (directory / "test_trivial.py").write_text(body)


def run_once(python: str, directory: Path, args: tuple[str, ...], times: Path) -> float:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "LEAKTEST_"))}
    environment["PYTHONPATH"] = str(ROOT)
    environment["BENCH_TIMES"] = str(times)
    times.write_text("")
    process = subprocess.run(
        [python, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args, "test_trivial.py"],
        cwd=directory,
        env=environment,
        capture_output=True,
        text=True,
    )
    if process.returncode != 0:
        raise SystemExit(f"pytest {' '.join(args)} failed:\n{process.stdout}{process.stderr}")
    return float(json.loads(times.read_text().splitlines()[0]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.pytest_overhead", description=__doc__)
    parser.add_argument("--python", default=sys.executable, help="a python that has pytest (default: this one)")
    parser.add_argument("--tests", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=11, help="runs of each kind, alternating")
    options = parser.parse_args(argv)
    results: dict[str, list[float]] = {kind: [] for kind in KINDS}
    shuffler = random.Random(12)
    with tempfile.TemporaryDirectory() as scratch:
        directory = Path(scratch)
        write_suite(directory, options.tests)
        order = list(KINDS)
        for _ in range(options.rounds):
            shuffler.shuffle(order)  # no kind always runs first, or right after another
            for kind in order:
                results[kind].append(run_once(options.python, directory, KINDS[kind], directory / "times"))
    micro = 1e6 / options.tests
    plain = results["plain pytest"]
    print(f"{options.tests} trivial tests, {options.rounds} rounds, CPU time per test, pytest run by {options.python}")
    print(f"{'':20} {'fastest run':>22} {'median paired difference':>30}")
    print(f"{'plain pytest':20} {min(plain) * micro:8.1f} us")
    for kind, values in results.items():
        if kind != "plain pytest":
            fastest = (min(values) - min(plain)) * micro
            paired = statistics.median(v - p for v, p in zip(values, plain)) * micro
            print(
                f"{kind:20} {fastest:+8.1f} us {100 * fastest / (min(plain) * micro):+5.1f}%"
                f" {paired:+14.1f} us {100 * paired / (statistics.median(plain) * micro):+5.1f}%"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
