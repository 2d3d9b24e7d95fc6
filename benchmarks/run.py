"""``python -m benchmarks``: measure every figure, print the table, optionally save JSON."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import sys
import time
import traceback
from collections.abc import Sequence

from .figures import FIGURES, BenchmarkError, Options, Row


def machine() -> dict[str, object]:
    model = "unknown"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count() or 0
    try:
        load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    except OSError:
        load = "unknown"
    return {
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "usable_cpus": usable,
        "cpu_model": model,
        "load_average_at_start": load,
    }


def _number(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    digits = 3 if abs(value) < 10 else 1
    return f"{value:.{digits}f} {unit}".strip()


def format_table(rows: Sequence[Row]) -> str:
    header = ("figure", "value", "baseline", "ratio", "goal", "met?")
    lines = []
    for row in rows:
        if row.value is None:
            lines.append((row.figure, row.note or "-", "", "", "", ""))
            continue
        baseline = ""
        if row.baseline is not None:
            baseline = f"{_number(row.baseline, row.unit)} ({row.baseline_label})"
        ratio = f"{row.ratio:.2f}x" if row.ratio is not None else ""
        goal = f"<= {_number(row.goal, row.unit)}" if row.goal is not None else ""
        met = {None: "", True: "yes", False: "NO"}[row.met]
        if row.note:
            met = f"{met} ({row.note})".strip()
        lines.append((row.figure, _number(row.value, row.unit), baseline, ratio, goal, met))
    widths = [max(len(line[i]) for line in [header, *lines]) for i in range(len(header))]
    out = [
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip()
        for line in [header, tuple("-" * w for w in widths), *lines]
    ]
    return "\n".join(out)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument(
        "figures",
        nargs="*",
        metavar="FIGURE",
        help=f"figures to measure, among {' '.join(FIGURES)} (default: all)",
    )
    parser.add_argument("--repeats", type=int, help="runs per figure; the median is shown (default 7)")
    parser.add_argument("--tests", type=int, help="trivial tests per measurement (default 2000)")
    parser.add_argument("--quick", action="store_true", help="fewer runs and tests, for CI")
    parser.add_argument("--json", metavar="FILE", help="also write every row and sample to FILE")
    parser.add_argument("--strict", action="store_true", help="exit with status 2 when a goal is missed")
    args = parser.parse_args(argv)

    options = Options()
    if args.quick:
        options = Options(repeats=5, tests=500, async_tests=50)
    if args.repeats is not None:
        if args.repeats < 1:
            parser.error("--repeats must be at least 1")
        options.repeats = args.repeats
    if args.tests is not None:
        if args.tests < 1:
            parser.error("--tests must be at least 1")
        options.tests = args.tests
    chosen = args.figures or list(FIGURES)
    unknown = [name for name in chosen if name not in FIGURES]
    if unknown:
        parser.error(f"unknown figure(s) {' '.join(unknown)}; choose among {' '.join(FIGURES)}")

    info = machine()
    print(f"leaktest benchmarks: {info['python']} on {info['platform']}")
    print(
        f"machine: {info['cpus']} CPUs ({info['usable_cpus']} usable), {info['cpu_model']},"
        f" load average {info['load_average_at_start']}"
    )
    print(f"each figure: median of {options.repeats} runs (b: {max(5, 3 * options.repeats)})", flush=True)
    if options.repeats < 5:
        print("warning: fewer than 5 runs per figure; medians are not meaningful")
    rows: list[Row] = []
    errors = 0
    began = time.perf_counter()
    for name in chosen:
        for figure in FIGURES[name]:
            try:
                rows.extend(figure(options))
            except BenchmarkError as error:
                errors += 1
                rows.append(Row(f"{name}. {figure.__name__}", None, note=f"ERROR: {error}"))
            except Exception:
                errors += 1
                traceback.print_exc()
                rows.append(Row(f"{name}. {figure.__name__}", None, note="ERROR: see traceback above"))
    print()
    print(format_table(rows))
    print(f"\n({time.perf_counter() - began:.1f} s)")
    if args.json:
        payload = {
            "machine": info,
            "options": dataclasses.asdict(options),
            "rows": [{**dataclasses.asdict(row), "ratio": row.ratio, "met": row.met} for row in rows],
        }
        with open(args.json, "w", encoding="utf-8") as out:
            json.dump(payload, out, indent=2)
            out.write("\n")
    if errors:
        return 1
    if args.strict and any(row.met is False for row in rows):
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
