"""LeakCheckedTestCase on threads: verdicts, grace, ignores, reports, no cascade."""

from __future__ import annotations

import _thread
import concurrent.futures
import functools
import gc
import itertools
import queue
import socketserver
import threading
import time
import unittest
import weakref
from collections.abc import Callable

import leaktest
from hubs import Hub, start_hub
from leaktest.probes import threads as thread_probe
from support import report, run_tests, verdict


class Verdicts(leaktest.LeakCheckedTestCase):
    """Shutdowns registered the usual ways pass; forgotten ones FAIL with a report."""

    def leaked_hub(self) -> Hub:
        """A hub an inner test leaks on purpose; this outer test stops it."""
        hub = Hub("forgotten-hub")
        self.addCleanup(hub.stop)
        return hub

    def test_thread_stopped_by_cleanup_passes(self) -> None:
        class Inner(leaktest.LeakCheckedTestCase):
            def setUp(self) -> None:
                self.addCleanup(start_hub().stop)

            def test(self) -> None:
                pass

        self.assertEqual(verdict(run_tests(Inner, "test")), "ok")

    def test_thread_stopped_in_teardown_passes(self) -> None:
        class Inner(leaktest.LeakCheckedTestCase):
            def setUp(self) -> None:
                self.hub = start_hub()

            def tearDown(self) -> None:
                self.hub.stop()

            def test(self) -> None:
                pass

        self.assertEqual(verdict(run_tests(Inner, "test")), "ok")

    def test_forgotten_thread_fails_with_name_top_function_and_start_site(self) -> None:
        hub = self.leaked_hub()

        class Inner(leaktest.LeakCheckedTestCase):
            def test(self) -> None:
                hub.thread.start()  # the start site the report must name

        result = run_tests(Inner, "test")
        self.assertEqual(verdict(result), "FAIL")
        text = report(result)
        self.assertIn("found unexpected threads:", text)
        self.assertIn("[Thread 'forgotten-hub' (ident ", text)
        self.assertIn("daemon=False) with hubs.Hub.run on top of the stack:", text)
        self.assertIn('hubs.py", line', text)
        self.assertIn("in get", text)  # the whole stack, down into queue.Queue.get
        self.assertRegex(text, r"started by .*Inner\.test at .*test_threads\.py:\d+\]")
        self.assertIn("counts before -> after: threads ", text)
        self.assertEqual(len(result.failures), 1)

    def test_failure_is_a_leak_error_listing_the_threads(self) -> None:
        hub = self.leaked_hub()
        with self.assertRaises(leaktest.LeakError) as caught:
            with leaktest.no_leaks(grace_period=0):
                hub.start()
        self.assertIsInstance(caught.exception, AssertionError)
        self.assertEqual([leak.name for leak in caught.exception.leaks], ["Thread 'forgotten-hub'"])
        self.assertIs(caught.exception.leaks[0].resource, hub.thread)

    def test_framework_frames_are_hidden(self) -> None:
        hub = self.leaked_hub()

        class Inner(leaktest.LeakCheckedTestCase):
            def test(self) -> None:
                hub.start()

        text = report(run_tests(Inner, "test"))
        self.assertTrue(text.startswith("leaktest.report.LeakError: found unexpected threads:"), text)
        self.assertNotIn("check.py", text)
        self.assertNotIn("case.py", text)

    def test_daemon_thread_is_a_leak(self) -> None:
        hub = Hub("daemon-hub", daemon=True)
        self.addCleanup(hub.stop)

        class Inner(leaktest.LeakCheckedTestCase):
            def test(self) -> None:
                hub.start()

        result = run_tests(Inner, "test")
        self.assertEqual(verdict(result), "FAIL")
        self.assertIn("[Thread 'daemon-hub' (ident ", report(result))
        self.assertIn("daemon=True)", report(result))

    def test_timer_not_cancelled_fails_and_cancelled_passes(self) -> None:
        timers: list[threading.Timer] = []
        self.addCleanup(lambda: [timer.cancel() or timer.join() for timer in timers])

        class Inner(leaktest.LeakCheckedTestCase):
            grace_period = 0.01

            def start_timer(self) -> threading.Timer:
                timer = threading.Timer(3600, print)
                timer.name = "slow-timer"
                timers.append(timer)
                timer.start()
                return timer

            def test_forgotten(self) -> None:
                self.start_timer()

            def test_cancelled(self) -> None:
                self.addCleanup(self.start_timer().cancel)

        class Cancelled(Inner):
            grace_period = 60  # the check returns when the cancelled timer's thread ends

        forgotten = run_tests(Inner, "test_forgotten")
        self.assertEqual(verdict(forgotten), "FAIL")
        self.assertIn("Thread 'slow-timer'", report(forgotten))
        self.assertEqual(verdict(run_tests(Cancelled, "test_cancelled")), "ok")

    def test_executor_not_shut_down_fails_and_shut_down_passes(self) -> None:
        class Inner(leaktest.LeakCheckedTestCase):
            grace_period = 0.01

            def start_pool(self) -> concurrent.futures.ThreadPoolExecutor:
                pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="pool")
                self.pool = pool  # kept alive by the test, as in a fixture
                pool.submit(int).result()
                return pool

            def test_forgotten(self) -> None:
                self.start_pool()

            def test_shut_down(self) -> None:
                self.addCleanup(self.start_pool().shutdown)

        forgotten = Inner("test_forgotten")
        result = run_tests(Inner, "test_shut_down")
        self.assertEqual(verdict(result), "ok")
        result = unittest.TestResult()
        forgotten.run(result)
        self.addCleanup(forgotten.pool.shutdown)
        self.assertEqual(verdict(result), "FAIL")
        self.assertIn("Thread 'pool_0'", report(result))

    def test_socketserver_not_shut_down_fails_and_shut_down_passes(self) -> None:
        servers: list[socketserver.TCPServer] = []

        def shut_down_all() -> None:
            for server in servers:
                server.shutdown()
                server.server_close()

        self.addCleanup(shut_down_all)

        class Inner(leaktest.LeakCheckedTestCase):
            grace_period = 0.01

            def serve(self) -> socketserver.TCPServer:
                server = socketserver.TCPServer(("127.0.0.1", 0), socketserver.BaseRequestHandler)
                thread = threading.Thread(target=server.serve_forever, args=(0.01,), name="serve-forever")
                thread.start()
                servers.append(server)
                return server

            def test_forgotten(self) -> None:
                self.serve()

            def test_shut_down(self) -> None:
                server = self.serve()
                servers.remove(server)
                self.addCleanup(server.server_close)
                self.addCleanup(server.shutdown)

        forgotten = run_tests(Inner, "test_forgotten")
        self.assertEqual(verdict(forgotten), "FAIL")
        self.assertIn("Thread 'serve-forever'", report(forgotten))
        # All of its stack is the stdlib's: the innermost frame counts as the top.
        self.assertIn("with selectors.", report(forgotten))
        self.assertIn("in serve_forever", report(forgotten))
        self.assertEqual(verdict(run_tests(Inner, "test_shut_down")), "ok")

    def test_setup_without_super_is_still_checked(self) -> None:
        hub = self.leaked_hub()

        class Inner(leaktest.LeakCheckedTestCase):
            def setUp(self) -> None:  # no super().setUp()
                hub.start()

            def test(self) -> None:
                pass

        self.assertEqual(verdict(run_tests(Inner, "test")), "FAIL")

    def test_failing_setup_is_still_checked(self) -> None:
        hub = self.leaked_hub()

        class Inner(leaktest.LeakCheckedTestCase):
            def setUp(self) -> None:
                hub.start()
                raise RuntimeError("setUp broke")

            def test(self) -> None:
                pass

        result = run_tests(Inner, "test")
        self.assertEqual(len(result.errors), 1)
        self.assertIn("RuntimeError: setUp broke", result.errors[0][1])
        self.assertEqual(len(result.failures), 1)
        self.assertIn("Thread 'forgotten-hub'", result.failures[0][1])

    def test_failure_and_leak_are_both_reported(self) -> None:
        hub = self.leaked_hub()

        class Inner(leaktest.LeakCheckedTestCase):
            def test(self) -> None:
                hub.start()
                self.assertEqual(1, 2)

        result = run_tests(Inner, "test")
        self.assertEqual(len(result.failures), 2)
        self.assertIn("AssertionError: 1 != 2", result.failures[0][1])
        self.assertIn("Thread 'forgotten-hub'", result.failures[1][1])

    def test_leak_is_reported_once_by_the_test_that_started_it(self) -> None:
        hub = self.leaked_hub()

        class Inner(leaktest.LeakCheckedTestCase):
            def test_1_leaks(self) -> None:
                hub.start()

            def test_2_innocent(self) -> None:
                pass

        result = run_tests(Inner)
        self.assertEqual(result.testsRun, 2)
        self.assertEqual([test.id().rsplit(".", 1)[1] for test, _ in result.failures], ["test_1_leaks"])
        self.assertEqual(result.errors, [])  # not again at class level either

    def test_thread_ending_within_the_grace_period_passes(self) -> None:
        stop = threading.Event()

        def wind_down() -> None:
            stop.wait()
            time.sleep(0.03)  # the slow shutdown under test, not synchronisation

        class Inner(leaktest.LeakCheckedTestCase):
            grace_period = 0.1

            def test(self) -> None:
                threading.Thread(target=wind_down, name="winding-down").start()
                self.addCleanup(stop.set)

        self.assertEqual(verdict(run_tests(Inner, "test")), "ok")

    def test_thread_needing_longer_than_the_grace_period_fails(self) -> None:
        release = threading.Event()
        stopped = threading.Event()
        threads: list[threading.Thread] = []
        self.addCleanup(lambda: (release.set(), [t.join() for t in threads]))

        def wind_down() -> None:
            stopped.wait()
            release.wait()  # ends only after the check is over

        class Inner(leaktest.LeakCheckedTestCase):
            grace_period = 0.05

            def test(self) -> None:
                thread = threading.Thread(target=wind_down, name="slow-to-stop")
                threads.append(thread)
                thread.start()
                self.addCleanup(stopped.set)

        result = run_tests(Inner, "test")
        self.assertEqual(verdict(result), "FAIL")
        self.assertIn("Thread 'slow-to-stop'", report(result))

    def test_the_check_returns_when_the_stragglers_end_not_at_the_deadline(self) -> None:
        # With a one-hour grace period, this test only finishes if the check
        # returns the moment the thread has ended.
        class Inner(leaktest.LeakCheckedTestCase):
            grace_period = 3600

            def test(self) -> None:
                self.addCleanup(start_hub().stop_later)

        self.assertEqual(verdict(run_tests(Inner, "test")), "ok")

    def test_exception_in_a_thread_fails_the_test_with_its_traceback(self) -> None:
        previous = threading.excepthook
        seen: list[str] = []

        def users_hook(args: threading.ExceptHookArgs) -> None:
            seen.append(args.thread.name if args.thread else "")

        threading.excepthook = users_hook
        self.addCleanup(setattr, threading, "excepthook", previous)

        def explode() -> None:
            raise ValueError("boom in a thread")

        class Inner(leaktest.LeakCheckedTestCase):
            def test(self) -> None:
                thread = threading.Thread(target=explode, name="exploding")
                thread.start()
                thread.join()

        result = run_tests(Inner, "test")
        self.assertEqual(verdict(result), "FAIL")
        text = report(result)
        self.assertIn("found exceptions raised in threads and not caught:", text)
        self.assertRegex(
            text, r"\[Thread 'exploding':\n(  .*\n)+ started by \S+Inner\.test at \S+test_threads\.py:\d+\]"
        )
        self.assertIn("in explode", text)
        self.assertIn("ValueError: boom in a thread", text)
        self.assertEqual(seen, ["exploding"])  # chained to the previous hook
        self.assertIs(threading.excepthook, users_hook)  # and restored


def explode() -> None:
    raise ValueError("boom in a thread")


def run_exploding(name: str) -> None:
    thread = threading.Thread(target=explode, name=name)
    thread.start()
    thread.join()


class NothingLeftForTheCollector(leaktest.LeakCheckedTestCase):
    """Reading a leaked thread's stack keeps nothing of it for the garbage collector: its
    frames and locals go with the thread, as without leaktest (CPython 3.12.1 crashed
    collecting the `getbuffer()` view a multiprocessing feeder thread held)."""

    def test_a_reported_threads_locals_are_freed_when_it_ends(self) -> None:
        class Held:
            pass

        release = threading.Event()
        held: list[weakref.ref[Held]] = []

        def hold() -> None:
            value = Held()
            held.append(weakref.ref(value))
            release.wait()

        thread = threading.Thread(target=hold, name="holder")

        class Inner(leaktest.LeakCheckedTestCase):
            grace_period = 0

            def test(self) -> None:
                thread.start()

        gc.disable()
        self.addCleanup(gc.enable)
        result = run_tests(Inner, "test")
        release.set()
        thread.join()
        self.assertIn("[Thread 'holder'", report(result))
        self.assertIsNone(held[0](), "the thread's local outlived it")

    def test_a_class_fixtures_thread_is_freed_when_it_ends_before_the_class(self) -> None:
        """The class owns what its setUpClass left running, without keeping it alive."""
        ended: list[bool] = []

        class Inner(leaktest.LeakCheckedTestCase):
            @classmethod
            def setUpClass(cls) -> None:
                cls.stop = threading.Event()
                thread = threading.Thread(target=cls.stop.wait, name="class-worker")
                thread.start()
                cls.thread = weakref.ref(thread)

            def test(self) -> None:
                thread = self.thread()
                assert thread is not None
                self.stop.set()
                thread.join()
                del thread
                gc.collect()
                ended.append(self.thread() is None)

        result = run_tests(Inner, "test")
        self.assertEqual((result.testsRun, result.failures, result.errors), (1, [], []))
        self.assertEqual(ended, [True], "the class's ownership kept its ended thread alive")


class TestsOwnExceptHook(leaktest.LeakCheckedTestCase):
    """An exception that a `threading.excepthook` installed by the test handled is no
    finding; one that reaches the hook in place at the baseline is."""

    def run_with_hook(self, chain: bool, thread_before: bool) -> tuple[unittest.TestResult, list[str]]:
        seen: list[str] = []

        class Inner(leaktest.LeakCheckedTestCase):
            def test(self) -> None:
                if thread_before:  # leaktest's hook is in place already
                    run_exploding("earlier")
                previous = threading.excepthook

                def tests_hook(args: threading.ExceptHookArgs) -> None:
                    seen.append(args.thread.name if args.thread else "")
                    if chain:
                        previous(args)

                threading.excepthook = tests_hook
                try:
                    run_exploding("handled")
                finally:
                    threading.excepthook = previous

        return run_tests(Inner, "test"), seen

    def test_an_exception_the_tests_hook_handled_passes(self) -> None:
        result, seen = self.run_with_hook(chain=False, thread_before=False)
        self.assertEqual(verdict(result), "ok", report(result))
        self.assertEqual(seen, ["handled"])

    def test_an_exception_the_tests_hook_passed_on_to_leaktests_fails(self) -> None:
        previous = threading.excepthook
        threading.excepthook = lambda args: None
        self.addCleanup(setattr, threading, "excepthook", previous)
        result, seen = self.run_with_hook(chain=True, thread_before=True)
        self.assertEqual(verdict(result), "FAIL", report(result))
        self.assertIn("[Thread 'handled':", report(result))
        self.assertEqual(seen, ["handled"])

    def test_the_tests_hook_installed_after_leaktests_handles_its_thread(self) -> None:
        previous = threading.excepthook
        threading.excepthook = lambda args: None  # the earlier thread's exception: not this test's concern
        self.addCleanup(setattr, threading, "excepthook", previous)
        result, seen = self.run_with_hook(chain=False, thread_before=True)
        text = report(result)
        self.assertEqual(verdict(result), "FAIL", text)
        self.assertIn("[Thread 'earlier':", text)
        self.assertNotIn("'handled'", text)
        self.assertEqual(seen, ["handled"])


def wait_for(event: threading.Event) -> None:
    """What the raw threads of the tests below run."""
    event.wait()


class RawThreads(leaktest.LeakCheckedTestCase):
    """Threads started with `_thread.start_new_thread` (3.13+: `start_joinable_thread`),
    not through `threading.Thread`: seen, reported with their function, waited for."""

    def start_raw(self, start: Callable[..., object], ends_in_cleanup: bool) -> unittest.TestResult:
        release = threading.Event()
        self.addCleanup(release.set)

        class Inner(leaktest.LeakCheckedTestCase):
            def test(self) -> None:
                start(wait_for, (release,))
                if ends_in_cleanup:
                    self.addCleanup(release.set)

        return run_tests(Inner, "test")

    def starters(self) -> dict[str, Callable[..., object]]:
        found: dict[str, Callable[..., object]] = {"start_new_thread": lambda f, a: _thread.start_new_thread(f, a)}
        joinable = getattr(_thread, "start_joinable_thread", None)  # 3.13+
        if joinable is not None:
            found["start_joinable_thread"] = lambda f, a: joinable(functools.partial(f, *a))
        return found

    def test_a_raw_thread_left_running_fails_with_its_function_and_start_site(self) -> None:
        for name, start in self.starters().items():
            with self.subTest(name):
                result = self.start_raw(start, ends_in_cleanup=False)
                text = report(result)
                self.assertEqual(verdict(result), "FAIL", text)
                self.assertIn("found unexpected threads:", text)
                self.assertRegex(
                    text,
                    rf"\[Thread started by _thread\.{name} \(ident \d+\) with test_threads\.wait_for on top of the stack:\n  File \S+test_threads\.py",
                )
                self.assertRegex(text, r"started by \S*<lambda> at \S+test_threads\.py:\d+, from \S+Inner\.test at ")
                self.assertEqual(text.count("[Thread "), 1, text)

    def test_a_raw_thread_ending_after_the_cleanups_is_waited_for(self) -> None:
        for name, start in self.starters().items():
            with self.subTest(name):
                result = self.start_raw(start, ends_in_cleanup=True)
                self.assertEqual(verdict(result), "ok", report(result))

    def test_a_raw_thread_that_returned_keeps_nothing_of_its_function(self) -> None:
        class Work:
            def run(self) -> None:
                pass

            def exit(self) -> None:
                _thread.exit()  # as test_socket's client threads end

        for (name, start), method in itertools.product(self.starters().items(), ("run", "exit")):
            with self.subTest(name, method=method):
                holder = [Work()]
                gone = weakref.ref(holder[0])

                class Inner(leaktest.LeakCheckedTestCase):
                    def test(self) -> None:
                        start(getattr(holder.pop(), method), ())

                result = run_tests(Inner, "test")
                self.assertEqual(verdict(result), "ok", report(result))
                self.assertIsNone(gone(), "the ended raw thread keeps its function's object alive")

    def test_a_raw_thread_that_ended_leaves_no_record_after_its_tests_check(self) -> None:
        """Nothing else holds a raw thread: its record, start stack and site included,
        is what every later garbage collection would walk (test_socket starts hundreds)."""
        for name, start in self.starters().items():
            with self.subTest(name):
                raws: list[thread_probe.RawThread] = []
                known = threading.Event()

                def work() -> None:
                    raws.extend(raw for _, raw in thread_probe._raw if raw.ident == threading.get_ident())
                    known.set()

                class Inner(leaktest.LeakCheckedTestCase):
                    def test(self) -> None:
                        start(work, ())
                        known.wait()
                        raws[0].join(timeout=60)

                result = run_tests(Inner, "test")
                self.assertEqual(verdict(result), "ok", report(result))
                self.assertNotIn(raws[0], [raw for _, raw in thread_probe._raw])

    def test_a_thread_is_reported_once(self) -> None:
        release = threading.Event()
        self.addCleanup(release.set)

        class Inner(leaktest.LeakCheckedTestCase):
            grace_period = 0

            def test(self) -> None:
                threading.Thread(target=wait_for, args=(release,), name="once").start()

        text = report(run_tests(Inner, "test"))
        self.assertEqual(text.count("[Thread "), 1, text)
        self.assertIn("[Thread 'once'", text)


class OlderThreads(leaktest.LeakCheckedTestCase):
    """Threads from before leaktest was imported are nobody's."""

    def test_exception_in_an_older_thread_is_not_this_tests(self) -> None:
        go = threading.Event()
        previous = threading.excepthook
        threading.excepthook = lambda args: None
        self.addCleanup(setattr, threading, "excepthook", previous)

        def explode_later() -> None:
            go.wait()
            raise ValueError("not the inner test's")

        thread = threading.Thread(target=explode_later)
        thread.start()
        thread._leaktest_seq = 0  # type: ignore[attr-defined]  # as if started before leaktest
        self.addCleanup(thread.join)

        class Inner(leaktest.LeakCheckedTestCase):
            def test(self) -> None:
                go.set()
                thread.join()

        self.assertEqual(verdict(run_tests(Inner, "test")), "ok")


class Ignores(leaktest.LeakCheckedTestCase):
    """Ignore lists: names, top function, any function, inherited along the MRO."""

    def leak_in(self, case: type[leaktest.LeakCheckedTestCase], name: str = "ignored-hub") -> unittest.TestResult:
        hub = Hub(name)
        self.addCleanup(hub.stop)

        class Inner(case):  # type: ignore[valid-type, misc]
            grace_period = 0

            def test(self) -> None:
                hub.start()

        return run_tests(Inner, "test")

    def test_queue_blocked_thread_ignored_by_its_top_function(self) -> None:
        class Case(leaktest.LeakCheckedTestCase):
            ignore_top_functions = ["hubs.Hub.run"]

        self.assertEqual(verdict(self.leak_in(Case)), "ok")

    def test_queue_blocked_thread_not_ignored_without_it(self) -> None:
        class Case(leaktest.LeakCheckedTestCase):
            ignore_top_functions = ["hubs.Hub.stop"]

        self.assertEqual(verdict(self.leak_in(Case)), "FAIL")

    def test_innermost_frame_itself_matches_a_top_function(self) -> None:
        class Case(leaktest.LeakCheckedTestCase):
            ignore_top_functions = ["threading.Condition.wait"]

        self.assertEqual(verdict(self.leak_in(Case)), "ok")

    def test_any_function_matches_anywhere_in_the_stack(self) -> None:
        class Case(leaktest.LeakCheckedTestCase):
            ignore_any_functions = ["threading.Thread._bootstrap"]

        self.assertEqual(verdict(self.leak_in(Case)), "ok")

    def test_thread_name_patterns(self) -> None:
        class Case(leaktest.LeakCheckedTestCase):
            ignore_threads = ["ignored-*"]

        self.assertEqual(verdict(self.leak_in(Case)), "ok")
        self.assertEqual(verdict(self.leak_in(Case, "other-hub")), "FAIL")

    def test_function_objects(self) -> None:
        class ByMethod(leaktest.LeakCheckedTestCase):
            ignore_top_functions = [Hub.run]

        class ByBoundMethod(leaktest.LeakCheckedTestCase):
            ignore_top_functions = [Hub().run]

        class ByStdlibFunction(leaktest.LeakCheckedTestCase):
            ignore_any_functions = [queue.Queue.get]

        for case in (ByMethod, ByBoundMethod, ByStdlibFunction):
            with self.subTest(case.__name__):
                self.assertEqual(verdict(self.leak_in(case)), "ok")

    def test_ignores_accumulate_along_the_mro(self) -> None:
        class Base(leaktest.LeakCheckedTestCase):
            ignore_threads = ["base-*"]

        class Child(Base):
            ignore_threads = ["child-*"]

        self.assertEqual(Child._leaktest_settings.ignore_threads, ("base-*", "child-*"))
        self.assertEqual(verdict(self.leak_in(Child, "base-hub")), "ok")
        self.assertEqual(verdict(self.leak_in(Child, "child-hub")), "ok")
        self.assertEqual(verdict(self.leak_in(Base, "child-hub")), "FAIL")

    def test_ignored_thread_does_not_use_up_the_grace_period(self) -> None:
        class Case(leaktest.LeakCheckedTestCase):
            grace_period = 3600  # only finishes if the ignored hub is not waited for
            ignore_threads = ["ignored-*"]

        hub = Hub("ignored-hub")
        self.addCleanup(hub.stop)

        class Inner(Case):
            def test(self) -> None:
                hub.start()

        self.assertEqual(verdict(run_tests(Inner, "test")), "ok")


class ClassFixtures(leaktest.LeakCheckedTestCase):
    """Threads started in setUpClass and still alive after the class are the class's."""

    def test_thread_from_setupclass_reported_against_the_class(self) -> None:
        hub = Hub("class-hub")
        self.addCleanup(hub.stop)

        class Inner(leaktest.LeakCheckedTestCase):
            @classmethod
            def setUpClass(cls) -> None:  # no super(): still checked
                hub.start()

            def test(self) -> None:
                pass

        result = run_tests(Inner)
        self.assertEqual(result.failures, [])
        self.assertEqual(len(result.errors), 1)
        holder, text = result.errors[0]
        self.assertIn("tearDownClass", str(holder))
        self.assertIn("Inner", str(holder))
        self.assertIn("[Thread 'class-hub'", text)

    def test_thread_a_class_cleanup_starts_after_a_failed_setupclass_is_the_classs(self) -> None:
        """unittest runs the class cleanups of a failed setUpClass without tearDownClass:
        what they leave is still the class's."""
        hub = Hub("started-by-a-class-cleanup")
        self.addCleanup(hub.stop)

        class Inner(leaktest.LeakCheckedTestCase):
            @classmethod
            def setUpClass(cls) -> None:
                cls.addClassCleanup(hub.start)
                raise RuntimeError("setUpClass failed")

            def test(self) -> None:
                pass

        result = run_tests(Inner)
        self.assertEqual(result.failures, [])
        texts = "\n".join(text for _, text in result.errors)
        self.assertIn("RuntimeError: setUpClass failed", texts)
        self.assertIn("[Thread 'started-by-a-class-cleanup'", texts)

    def test_thread_stopped_in_class_cleanup_passes(self) -> None:
        class Inner(leaktest.LeakCheckedTestCase):
            @classmethod
            def setUpClass(cls) -> None:
                super().setUpClass()
                cls.addClassCleanup(start_hub("class-hub").stop)

            def test(self) -> None:
                pass

        result = run_tests(Inner)
        self.assertEqual((result.testsRun, result.failures, result.errors), (1, [], []))

    def test_class_thread_alive_during_tests_is_not_the_tests_leak(self) -> None:
        class Inner(leaktest.LeakCheckedTestCase):
            @classmethod
            def setUpClass(cls) -> None:
                super().setUpClass()
                cls.hub = start_hub("class-hub")

            @classmethod
            def tearDownClass(cls) -> None:
                cls.hub.stop()

            def test_1(self) -> None:
                pass

            def test_2(self) -> None:
                pass

        result = run_tests(Inner)
        self.assertEqual((result.testsRun, result.failures, result.errors), (2, [], []))

    def test_pool_from_setupclass_starting_threads_lazily_in_a_test(self) -> None:
        pools: list[concurrent.futures.ThreadPoolExecutor] = []
        self.addCleanup(lambda: [pool.shutdown() for pool in pools])

        class Inner(leaktest.LeakCheckedTestCase):
            shut_down = True

            @classmethod
            def setUpClass(cls) -> None:
                cls.pool = concurrent.futures.ThreadPoolExecutor(2, thread_name_prefix="lazy")
                pools.append(cls.pool)

            @classmethod
            def tearDownClass(cls) -> None:
                if cls.shut_down:
                    cls.pool.shutdown()

            def test_1_first_use_starts_the_workers(self) -> None:
                self.assertEqual(self.pool.submit(sum, [1, 2]).result(), 3)

            def test_2(self) -> None:
                self.assertEqual(self.pool.submit(sum, [3]).result(), 3)

        result = run_tests(Inner)
        self.assertEqual((result.testsRun, result.failures, result.errors), (2, [], []))

        class Forgotten(Inner):
            shut_down = False

        result = run_tests(Forgotten)
        self.assertEqual(result.failures, [])
        self.assertEqual(len(result.errors), 1)
        self.assertIn("tearDownClass", str(result.errors[0][0]))
        self.assertIn("[Thread 'lazy_0'", result.errors[0][1])

    def test_nested_setupclass_overrides_take_one_baseline(self) -> None:
        hubs: list[Hub] = []
        self.addCleanup(lambda: [hub.stop() for hub in hubs])

        class Base(leaktest.LeakCheckedTestCase):
            @classmethod
            def setUpClass(cls) -> None:
                super().setUpClass()
                hubs.append(start_hub("base-hub"))

        class Inner(Base):
            @classmethod
            def setUpClass(cls) -> None:
                super().setUpClass()
                hubs.append(start_hub("inner-hub"))

            def test(self) -> None:
                pass

        text = report(run_tests(Inner))
        self.assertIn("[Thread 'base-hub'", text)
        self.assertIn("[Thread 'inner-hub'", text)


if __name__ == "__main__":
    unittest.main()
