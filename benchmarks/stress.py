"""``python -m benchmarks.stress``: run the test suites N times with every core kept busy.

One busy-loop process per CPU competes with the suites for the whole run, so a
test that depends on timing (a sleep used as synchronisation, a grace period too
short for a loaded machine) shows up as a failed run. Each failed run's output is
saved. The busy processes are killed at the end whatever happens, and each one
also exits by itself when this process goes away.

Exit status: 0 when every run passed, 1 otherwise.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

ROOT = Path(__file__).resolve().parent.parent

# Spins until killed, or until its parent (this process) is gone.
BUSY_LOOP = """
import os
parent = os.getppid()
while os.getppid() == parent:
    for _ in range(100_000):
        pass
"""


def start_busy(count: int) -> list[subprocess.Popen[bytes]]:
    busy = []
    for _ in range(count):
        busy.append(
            subprocess.Popen(
                [sys.executable, "-c", BUSY_LOOP],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
    return busy


def stop_busy(busy: Sequence[subprocess.Popen[bytes]]) -> None:
    for process in busy:
        if process.poll() is None:
            process.kill()
    for process in busy:
        process.wait()


def suite_command(runner: str, suite: str) -> list[str]:
    extra = ["-v"] if suite == "examples" else []
    return [sys.executable, "-m", runner, "discover", "-s", suite, *extra]


def run_once(command: list[str], timeout: float) -> tuple[int | None, str, float]:
    """Run one suite in its own process group; None as status when it timed out."""
    begin = time.perf_counter()
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        output, _ = process.communicate(timeout=timeout)
        status: int | None = process.returncode
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate()
        status = None
    except BaseException:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        raise
    return status, output.decode(errors="replace"), time.perf_counter() - begin


def _summary_line(output: str) -> str:
    """unittest's last verdict line ("OK", "FAILED (failures=1)", ...)."""
    for line in reversed(output.splitlines()):
        if line.startswith(("OK", "FAILED")):
            return line
    return "no unittest verdict"


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)  # so that the busy loops are killed on the way out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.stress", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=20, help="how many times to run each suite (20)")
    parser.add_argument(
        "--suites", nargs="+", default=["tests", "examples"], help="directories to discover (tests examples)"
    )
    parser.add_argument(
        "--runner",
        choices=["unittest", "leaktest"],
        default="unittest",
        help="python -m RUNNER discover -s SUITE (default unittest, as the README says)",
    )
    parser.add_argument("--busy", type=int, default=os.cpu_count() or 1, help="busy-loop processes (one per CPU)")
    parser.add_argument("--timeout", type=float, default=600, help="seconds allowed for one suite run")
    parser.add_argument("--out", default=str(ROOT / "build" / "stress"), help="where failing runs' output is saved")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    suites = [suite for suite in args.suites if (ROOT / suite).is_dir()]
    for missing in sorted(set(args.suites) - set(suites)):
        print(f"stress: skipping {missing}/: no such directory")
    if not suites:
        print("stress: nothing to run")
        return 1
    out = Path(args.out)

    signal.signal(signal.SIGTERM, _terminate)
    print(
        f"stress: {args.runs} runs of {', '.join(suites)} with python -m {args.runner},"
        f" {args.busy} busy-loop processes, {sys.version.split()[0]}, {os.cpu_count()} CPUs",
        flush=True,
    )
    failures: list[str] = []
    busy = start_busy(args.busy)
    began = time.perf_counter()
    try:
        for run in range(1, args.runs + 1):
            for suite in suites:
                status, output, seconds = run_once(suite_command(args.runner, suite), args.timeout)
                verdict = "timed out" if status is None else _summary_line(output)
                ok = status == 0
                line = f"run {run:>3}/{args.runs} {suite:<10} {'ok  ' if ok else 'FAIL'} {seconds:6.1f} s  {verdict}"
                if not ok:
                    out.mkdir(parents=True, exist_ok=True)
                    saved = out / f"run-{run:03d}-{suite}.txt"
                    saved.write_text(
                        f"$ {' '.join(suite_command(args.runner, suite))}\n"
                        f"exit status: {'timeout' if status is None else status}\n\n{output}",
                        encoding="utf-8",
                    )
                    failures.append(f"run {run} {suite}: {verdict} (output in {saved})")
                    line += f"  -> {saved}"
                print(line, flush=True)
    finally:
        stop_busy(busy)
    total = args.runs * len(suites)
    print(f"\nstress: {len(failures)} of {total} suite runs failed ({time.perf_counter() - began:.0f} s)")
    for failure in failures:
        print(f"  {failure}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
