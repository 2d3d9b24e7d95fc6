"""Ignore sources: leaktest's known helpers and the `leaktest.ignores` entry points.

Each case runs in a subprocess: the sources are loaded once per process. The
runs start when the module is imported (`start_runs`), so that they overlap
other modules' tests. The entry point cases make a distribution by hand (a
`.dist-info` directory on the path, as an installer leaves it); the real helpers
run with the python of LEAKTEST_PYTEST_PYTHON, which has trio and anyio (skipped
where it has not).
"""

from __future__ import annotations

import os
import sys
import tempfile
import textwrap
import unittest
import unittest.mock
from pathlib import Path

from leaktest import ignore_sources
from support import Started, blocked_plugins, importable, launched, pytest_python

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

#: A suite whose thread is a metrics reporter's, as a library would start it.
REPORTER_SUITE = """
import threading, unittest
import leaktest
import metrics_lib

class Reporting(leaktest.LeakCheckedTestCase):
    grace_period = 0.05

    def test_starts_reporter(self):
        metrics_lib.start_reporter()

class ReportingWithoutLibraryIgnores(Reporting):
    library_ignores = False
"""

LIBRARY = """
import threading
_stop = threading.Event()

class Reporter:
    def run(self):
        _stop.wait()

def start_reporter():
    threading.Thread(target=Reporter().run, name="metrics-reporter", daemon=True).start()
"""


def run(python: str, args: list[str], path: list[str], cwd: Path | str = HERE) -> Started:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "LEAKTEST_"))}
    environment["PYTHONPATH"] = os.pathsep.join([str(ROOT), *path])
    return launched([python, *args], cwd, environment)


#: Where the runs' suites are written: removed by tearDownModule, once the runs have ended.
_SCRATCH = tempfile.TemporaryDirectory()


def scratch() -> str:
    """A new directory for one run's files."""
    return tempfile.mkdtemp(dir=_SCRATCH.name)


def start_runs() -> None:
    """Start the runs of every class at once, so that they overlap."""
    for case in (EntryPoints, KnownHelpers, LookalikeHelpers, UnderPytest):
        if not getattr(case, "__unittest_skip__", False):
            case.setUpClass()


def tearDownModule() -> None:
    for case in (EntryPoints, KnownHelpers, LookalikeHelpers, UnderPytest):
        for started in vars(case).get("runs", {}).values():
            started.exception()  # it has ended, however
    _SCRATCH.cleanup()


class EntryPoints(unittest.TestCase):
    runs: dict[str, Started]

    @classmethod
    def setUpClass(cls) -> None:
        if "runs" in vars(cls):
            return
        threads = 'IGNORES = {"ignore_threads": ["metrics-*"]}\n'
        declared = cls.distribution('IGNORES = {"ignore_top_functions": ["metrics_lib.Reporter.run"]}\n')
        cls.runs = {
            "declared": cls.run_suite(declared, "-v"),
            "verbose": cls.run_suite(cls.distribution(threads), "-v"),
            "as errors": cls.run_suite(cls.distribution('IGNORES = ["metrics-*"]\n'), python_flags=("-W", "error")),
        }
        plain = cls.distribution(threads)
        Path(plain, "test_plain.py").write_text(
            "import unittest, metrics_lib\nclass Plain(unittest.TestCase):\n"
            "    def test_starts_reporter(self):\n        metrics_lib.start_reporter()\n"
        )
        for flags in ((), ("--no-library-ignores",)):
            cls.runs[f"plain {flags}"] = run(
                sys.executable,
                ["-m", "leaktest", *flags, "--grace-period", "0.05", "-v", "test_plain"],
                [plain],
                cwd=plain,
            )
        for declaration, entry_point, error in cls.BROKEN:
            cls.runs[error] = cls.run_suite(cls.distribution(declaration, *(entry_point,) if entry_point else ()))

    @staticmethod
    def distribution(declaration: str, entry_point: str = "metrics = metrics_lib.leaktest_ignores:IGNORES") -> str:
        """A directory holding the suite, the library and its distribution's metadata."""
        top = scratch()
        root = Path(top)
        (root / "test_reporting.py").write_text(REPORTER_SUITE)
        package = root / "metrics_lib"
        package.mkdir()
        (package / "__init__.py").write_text(LIBRARY)
        (package / "leaktest_ignores.py").write_text(declaration)
        info = root / "metrics_lib-1.2.dist-info"
        info.mkdir()
        (info / "METADATA").write_text("Metadata-Version: 2.1\nName: metrics-lib\nVersion: 1.2\n")
        (info / "entry_points.txt").write_text(f"[leaktest.ignores]\n{entry_point}\n")
        return top

    @staticmethod
    def run_suite(top: str, *args: str, python_flags: tuple[str, ...] = ()) -> Started:
        return run(sys.executable, [*python_flags, "-m", "leaktest", *args, "test_reporting"], [top], cwd=top)

    #: Per broken declaration (its module's source, its entry point if not the usual one), the error named.
    BROKEN = (
        ('IGNORES = {"ignore_thread": ["metrics-*"]}\n', None, "unknown ignore option 'ignore_thread'"),
        ('IGNORES = {"ignore_threads": "metrics-*"}\n', None, "ignore_threads must be a list"),
        ('IGNORES = ["metrics-*"]\n', None, "expected a mapping of ignore options, not list"),
        ("raise ImportError('no such helper')\n", None, "ImportError: no such helper"),
        ("IGNORES = {}\n", "metrics = metrics_lib.nowhere:IGNORES", "ModuleNotFoundError"),
    )

    def test_a_declared_helper_is_not_a_leak_and_the_switch_turns_it_back_on(self) -> None:
        result = self.runs["declared"].result()
        self.assertIn("test_starts_reporter (test_reporting.Reporting", result.stderr)
        self.assertRegex(result.stderr, r"\.Reporting(\.test_starts_reporter)?\) \.\.\. ok")
        self.assertRegex(result.stderr, r"\.ReportingWithoutLibraryIgnores(\.test_starts_reporter)?\) \.\.\. FAIL")
        self.assertIn("[Thread 'metrics-reporter'", result.stderr)
        self.assertEqual(result.returncode, 1, result.stderr)

    def test_verbose_lists_the_sources(self) -> None:
        result = self.runs["verbose"].result()
        self.assertIn("leaktest: ignore sources (turn off with library_ignores = False):", result.stderr)
        self.assertIn(
            "  metrics-lib 1.2 (leaktest.ignores: metrics = metrics_lib.leaktest_ignores:IGNORES): "
            "ignore_threads: metrics-*",
            result.stderr,
        )
        self.assertIn("  leaktest: trio's thread cache: ignore_top_functions: ", result.stderr)

    def test_the_runner_flag_turns_every_source_off(self) -> None:
        for flags, verdict in (((), "ok"), (("--no-library-ignores",), "FAIL")):
            result = self.runs[f"plain {flags}"].result()
            with self.subTest(flags):
                self.assertRegex(result.stderr, rf"\.Plain(\.test_starts_reporter)?\) \.\.\. {verdict}")
        self.assertIn("leaktest: ignore sources off (library_ignores is False)", result.stderr)

    def test_a_broken_declaration_is_a_warning_naming_the_distribution(self) -> None:
        for _, _, error in self.BROKEN:
            result = self.runs[error].result()
            with self.subTest(error):
                self.assertIn(
                    "leaktest: ignoring the ignores of metrics-lib 1.2 (leaktest.ignores: metrics =", result.stderr
                )
                self.assertIn(error, result.stderr)
                # The run goes on, without the declaration: the reporter is a leak.
                self.assertIn("[Thread 'metrics-reporter'", result.stderr)
                self.assertIn("Ran 2 tests", result.stderr)

    def test_a_broken_declaration_under_warnings_as_errors_is_still_no_crash(self) -> None:
        result = self.runs["as errors"].result()
        self.assertIn("leaktest: ignoring the ignores of metrics-lib 1.2", result.stderr)
        self.assertIn("Ran 2 tests", result.stderr)


class LookingBeforeImporting(unittest.TestCase):
    """importlib.metadata is imported only where a distribution may declare the group."""

    def maybe_declared(self, *path: str) -> bool:
        with unittest.mock.patch.object(sys, "path", list(path)):
            return ignore_sources._maybe_declared()

    def directory_with(self, entry_points: str) -> str:
        """A directory on the path holding one distribution declaring `entry_points`."""
        top = tempfile.mkdtemp()
        self.addCleanup(__import__("shutil").rmtree, top)
        info = Path(top, "lib-1.0.dist-info")
        info.mkdir()
        (info / "entry_points.txt").write_text(entry_points)
        return top

    def test_a_declaring_distribution_is_seen(self) -> None:
        top = self.directory_with("[leaktest.ignores]\nmetrics = metrics_lib.leaktest_ignores:IGNORES\n")
        self.assertTrue(self.maybe_declared(top))

    def test_distributions_declaring_other_groups_are_not(self) -> None:
        top = self.directory_with("[pytest11]\nother = other.plugin\n")
        Path(top, "single-1.0.egg-info").write_text("a PKG-INFO file, not a directory\n")
        self.assertFalse(self.maybe_declared(top, os.path.join(top, "missing")))

    def test_a_zip_on_the_path_is_left_to_importlib_metadata(self) -> None:
        with tempfile.NamedTemporaryFile(suffix=".zip") as archive:
            self.assertTrue(self.maybe_declared(archive.name))


@unittest.skipUnless(
    importable("trio") and importable("anyio"), "trio or anyio is not importable (set LEAKTEST_PYTEST_PYTHON)"
)
class KnownHelpers(unittest.TestCase):
    """Each helper of known_helpers.py, started for real: not a leak, unless the switch is off."""

    runs: dict[str, Started]

    @classmethod
    def setUpClass(cls) -> None:
        if "runs" not in vars(cls):
            cls.runs = {
                name: run(pytest_python(), ["suites/sample_known_helpers.py", "-v", name], [str(HERE)])
                for name in ("TrioCache", "TrioCacheUnknown", "AnyioPool", "AnyioPoolUnknown")
            }

    def test_trio_thread_cache(self) -> None:
        known, unknown = self.runs["TrioCache"].result(), self.runs["TrioCacheUnknown"].result()
        self.assertEqual(known.returncode, 0)
        self.assertIn("[Thread 'Trio thread ", unknown.stderr)
        self.assertEqual(unknown.returncode, 1)

    def test_anyio_process_pool(self) -> None:
        known, unknown = self.runs["AnyioPool"].result(), self.runs["AnyioPoolUnknown"].result()
        self.assertEqual(known.returncode, 0)
        self.assertIn("[Task 'AnyIO process pool shutdown task'", unknown.stderr)
        self.assertEqual(unknown.returncode, 1)


class LookalikeHelpers(unittest.TestCase):
    """pydevd and blockbuster are not installed in CI: modules of the same names, shaped
    as their code is (see known_helpers.py), stand in for them."""

    runs: dict[str, Started]

    @classmethod
    def setUpClass(cls) -> None:
        if "runs" not in vars(cls):
            top = cls.lookalikes()
            cls.runs = {"lookalikes": run(sys.executable, ["-m", "unittest", "-v", "test_lookalikes"], [top], cwd=top)}

    @staticmethod
    def lookalikes() -> str:
        top = scratch()
        root = Path(top)
        (root / "_pydevd_bundle").mkdir()
        (root / "_pydevd_bundle" / "__init__.py").write_text("")
        (root / "_pydevd_bundle" / "pydevd_daemon_thread.py").write_text(
            textwrap.dedent("""
            import threading
            stop = threading.Event()
            class PyDBDaemonThread(threading.Thread):
                def run(self):
                    self._on_run()
            class TimeoutThread(PyDBDaemonThread):
                def _on_run(self):
                    stop.wait()
        """)
        )
        (root / "blockbuster").mkdir()
        (root / "blockbuster" / "__init__.py").write_text("")
        (root / "blockbuster" / "blockbuster.py").write_text(
            textwrap.dedent("""
            def _wrap_blocking(func):
                def wrapper(*args, **kwargs):
                    return func(*args, **kwargs)
                return wrapper
        """)
        )
        (root / "test_lookalikes.py").write_text(
            textwrap.dedent("""
            import threading, unittest
            import leaktest
            from _pydevd_bundle.pydevd_daemon_thread import TimeoutThread
            from blockbuster.blockbuster import _wrap_blocking

            stop = threading.Event()
            wait = _wrap_blocking(stop.wait)

            class Worker:
                def run(self):
                    wait()

            class Debugger(leaktest.LeakCheckedTestCase):
                grace_period = 0.05
                def test_debugger_thread(self):
                    TimeoutThread(daemon=True, name="pydevd.TimeoutThread").start()

            class DebuggerUnknown(Debugger):
                library_ignores = False

            class Blocked(leaktest.LeakCheckedTestCase):
                grace_period = 0.05
                def test_blocked_in_a_wrapper(self):
                    threading.Thread(target=Worker().run, name="blocked", daemon=True).start()
        """)
        )
        return top

    def test_pydevd_threads_and_blockbuster_frames(self) -> None:
        result = self.runs["lookalikes"].result()
        self.assertRegex(result.stderr, r"\.Debugger(\.test_debugger_thread)?\) \.\.\. ok")
        self.assertRegex(result.stderr, r"\.DebuggerUnknown(\.test_debugger_thread)?\) \.\.\. FAIL")
        self.assertIn("[Thread 'pydevd.TimeoutThread'", result.stderr)
        self.assertIn("[Thread 'blocked' (ident ", result.stderr)
        self.assertIn("with test_lookalikes.Worker.run on top of the stack", result.stderr)


@unittest.skipUnless(importable("pytest"), "pytest is not importable (set LEAKTEST_PYTEST_PYTHON)")
class UnderPytest(unittest.TestCase):
    runs: dict[str, Started]

    @classmethod
    def setUpClass(cls) -> None:
        if "runs" in vars(cls):
            return
        top = scratch()
        Path(top, "test_nothing.py").write_text("def test_nothing():\n    pass\n")
        pytest = ["-m", "pytest", "-p", "no:cacheprovider", *blocked_plugins()]
        args = [*pytest, "-p", "leaktest.pytest_plugin", "--leaktest", "-v"]
        cls.runs = {
            switch: run(pytest_python(), [*args, *more, "test_nothing.py"], [], cwd=top)
            for switch, more in (("on", []), ("off", ["--no-leaktest-library-ignores"]))
        }

    def test_verbose_lists_the_sources_and_the_flag_turns_them_off(self) -> None:
        on, off = self.runs["on"].result(), self.runs["off"].result()
        self.assertIn("leaktest: ignore sources (turn off with library_ignores = False):", on.stdout)
        self.assertIn("  leaktest: trio's thread cache: ignore_top_functions: ", on.stdout)
        self.assertIn("leaktest: ignore sources off (library_ignores is False)", off.stdout)
        self.assertEqual((on.returncode, off.returncode), (0, 0), on.stdout + off.stdout)


start_runs()  # when imported: discovery imports every module before any test runs, so the runs overlap them all


if __name__ == "__main__":
    unittest.main()
