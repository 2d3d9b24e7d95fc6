"""``python -m benchmarks.gc_cost MODULE``: what leaktest adds to every ``gc.collect()``.

A suite that collects after each test (CPython's ``test.support.gc_collect``) pays
for every object alive on each collection, and leaktest's modules are some of them.
Each side runs in a fresh process that imports ``MODULE``: plain (never imports
leaktest), and under leaktest (this tree, and each ``--other`` tree), where one
trivial ``LeakCheckedTestCase`` test is run with the runner's modules loaded, as
``python -m leaktest`` would. Each process times ``--collections`` collections
with ``time.perf_counter`` and reports the fastest, and the objects alive; the
sides alternate for ``--rounds`` rounds; medians are printed. Nothing asserts a timing.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

from .suite_cpu import run_side

ROOT = Path(__file__).resolve().parent.parent

#: Run in each fresh process: argv is MODULE, COLLECTIONS, and "leaktest" or "plain".
_CHILD = """
import gc, io, sys, time, unittest, importlib
importlib.import_module(sys.argv[1])
if sys.argv[3] == "leaktest":
    import leaktest, leaktest.runner

    class Trivial(leaktest.LeakCheckedTestCase):
        def test(self):
            pass

    unittest.TextTestRunner(stream=io.StringIO()).run(unittest.defaultTestLoader.loadTestsFromTestCase(Trivial))
gc.collect()
fastest = float("inf")
for _ in range(int(sys.argv[2])):
    started = time.perf_counter()
    gc.collect()
    fastest = min(fastest, time.perf_counter() - started)
print(len(gc.get_objects()), fastest)
"""


def measure(python: str, module: str, collections: int, side: str, path: str | None) -> tuple[int, float]:
    command = [python, "-c", _CHILD, module, str(collections), side]
    output = run_side(command, path, capture_output=True, check=True).stdout.split()
    return int(output[0]), float(output[1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("module", help="the module the suite imports, e.g. test.test_socket")
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--collections", type=int, default=60)
    parser.add_argument("--other", action="append", default=[], help="another leaktest tree to compare (repeatable)")
    args = parser.parse_args(argv)
    sides: list[tuple[str, str, str | None]] = [("plain", "plain", None), ("leaktest", "leaktest", str(ROOT))]
    sides += [(f"leaktest {other}", "leaktest", other) for other in args.other]
    results: dict[str, list[tuple[int, float]]] = {name: [] for name, _, _ in sides}
    for round_ in range(args.rounds):
        for name, side, path in sides if round_ % 2 == 0 else sides[::-1]:
            results[name].append(measure(args.python, args.module, args.collections, side, path))
    print(
        f"{args.python}, {args.module} imported: a gc.collect(), fastest of {args.collections}, median of {args.rounds} processes"
    )
    for name, taken in results.items():
        objects = statistics.median(count for count, _ in taken)
        print(f"{name:40} {statistics.median(t for _, t in taken) * 1e3:6.3f} ms  {objects:8,.0f} objects alive")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
