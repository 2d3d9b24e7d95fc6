"""Sockets: which ones were created since a mark and are still open, or were closed
by the garbage collector instead of their owner.

`socket.socket.__init__` is hooked (probes/install.py): every socket made through
the Python class (directly, `accept()`, `socketpair()`, `fromfd()`, `dup()`,
`create_connection()`, `ssl.SSLSocket`, asyncio's servers and transports,
`socketserver`, `http.client`...) gets the next clock number, the frames that made it
out to the code that asked for it (`stacks.creation_stack`: a few, however deep
the caller) and the test running then (`clock.running`). A test that creates no socket compares two integers. A
connection accepted by a listening socket takes the listener's number: it is
the server's owner's (a class whose `setUpClass` started the server), not the
test's that connected to it, and whoever owns the listener owns it (`made_by`).

`socket.socket.__del__` is hooked too, to see a socket destroyed while still open,
the moment Python warns "ResourceWarning: unclosed <socket...>": the record, and
with it the leak, stays the creating test's, whichever test runs when it is
collected. A socket reported as still open is closed there without that warning:
it was reported once, by its test. A check that finds a socket still open collects garbage once (the
failure path only), so that a socket the test dropped is told apart from one
still held. What that collection makes happen belongs to the test being checked:
the warnings its finalizers issue are recorded and dropped (under
`filterwarnings = error` each would be an exception inside a finalizer, which
pytest then raises in the next test), and a socket it closes is reported as
closed by leaktest's collection, not as a ResourceWarning nobody saw.

What this relies on, per Python version (each in one function below):
- 3.10+: `socket.socket` is a Python class over `_socket.socket` whose
  `__init__` every Python-made socket goes through (`ssl.SSLSocket._create`
  calls it too); `_socket.socket.__del__` is the C finalizer that warns and
  closes (`_finalizer`).
- 3.10+: `socket.socket.accept` makes the connection through `socket(...)` with the
  listener as `self` (`_listener_of`).
- 3.10+: an event loop's self-pipe is made by `_make_self_pipe` (selector and
  proactor loops) through `socket.socketpair` (`_self_pipe_makers`): not the test's
  socket; a loop left open is reported by the loops probe.
- uvloop 0.15+ (tested: 0.23), once the suite imports it: `Loop.create_server` and
  `create_unix_server` make each listening socket through `socket.socket`, then hand
  its descriptor to libuv and `detach()` it. Their hook (`Hook.awaited`) gives each
  socket's record the `Server` they return: the socket is open while that server
  lists the descriptor in `Server.sockets` (until `close()`), and described through
  the descriptor, borrowed (`_borrowed`). Closing a uvloop loop closes the servers
  still listening on it (asyncio's leaves their sockets open): `Loop.close` is hooked
  to note each such socket as closed by its loop, not by its owner, as the garbage
  collector's closing is noted.

leaktest does not import socket: the hooks, and what is read of socket once
(`_on_socket_import`), wait for the code under test to import it
(`install.on_import`); until then no socket can be made.
"""

from __future__ import annotations

import bisect
import contextlib
import gc
import operator
import sys
import warnings
import weakref
from collections.abc import Iterator, Sequence
from types import CodeType, FrameType

from .. import stacks
from ..options import Flag, Patterns
from ..report import Leak, entry
from ..rules import Candidate
from . import clock, install
from .base import Maker, Probe, poll
from .optional import uvloop_loop

TYPE_CHECKING = False
if TYPE_CHECKING:
    import socket
    from typing import Any

    _SocketRef = weakref.ref[socket.socket]
else:
    _SocketRef = weakref.ref

#: The clock's: a socket is numbered and listed in one step, so the list stays in the
#: clock's order (one lock a socket, `clock.lock`).
_lock = clock.lock


class SocketRecord(_SocketRef):
    """One socket made through `socket.socket`, from its creation on: a weak
    reference to it (`record()`), made without a Python-level call. Compared and
    hashed as itself, not as its socket (a weak reference's way).

    Made for every socket: its creation sets the five slots; what only some sockets
    come to have (a listener, an end in the garbage collector, a report) is a class
    default until set, in the instance's `__dict__`, made then."""

    __slots__ = ("seq", "made", "stack", "test", "fd", "sock_id", "__dict__")
    __eq__ = object.__eq__
    __ne__ = object.__ne__
    __hash__ = object.__hash__
    seq: int  # its number as listed
    made: int  # the clock's number when it was made
    stack: stacks.CreationStack  # `stacks.creation_stack` from the caller of socket.socket()
    test: object  # the test function running then (`clock.running`)
    fd: int
    sock_id: int  # its socket's id(): whose record `_by_fd` holds, once the GC cleared the reference

    listener: SocketRecord | None = None  # for an accepted connection, the listener's record
    gone_open: str | None = None  # what it was, when the GC destroyed it open
    gone_addresses: tuple[str, ...] = ()
    by_check = False  # destroyed by the check's own garbage collection
    collected = False  # still open at a deadline: garbage was collected once since
    reported = False  # reported as a leak (still open, then)
    claimed = False
    server: weakref.ref[Any] | None = None  # the uvloop Server its descriptor was handed to
    loop_closed = False  # closed by its uvloop server's loop closing, not by its owner

    def live(self) -> socket.socket | None:
        """The socket while it is alive and open."""
        sock: socket.socket | None = self()
        return sock if sock is not None and sock.fileno() != -1 else None

    def held(self) -> bool:
        """Whether the uvloop server its descriptor was handed to still listens on it."""
        server = self.server() if self.server is not None else None
        return server is not None and any(s.fileno() == self.fd for s in server.sockets)

    def alive(self) -> bool:
        """Open, through its socket object or the uvloop server holding its descriptor."""
        return self.live() is not None or self.held()

    def open(self) -> bool:
        """`alive()`, or destroyed open. A pruning asks it of every record (most of them
        of sockets closed and gone), so it reads the socket itself first, with no call."""
        sock = self()
        if sock is not None and sock.fileno() != -1:
            return True
        return self.gone_open is not None or self.server is not None and self.held()


# Records in creation order (their numbers increase): a check bisects for those
# made after its mark. Closed and dead ones are dropped (`_prune`) whenever the list
# has doubled since the last pruning, and at a check when most of it is of sockets
# gone.
_created: list[SocketRecord] = []
_prune_at = 64
_kept_gone = 0  # records the last pruning kept of sockets gone (destroyed open; a uvloop server's)
#: Sockets destroyed closed since the last pruning (counted without a lock: a hint), in
#: a list: writing a module's global on every socket would empty 3.10's caches of them.
_closed_gone = [0]
#: The record of the socket last made on each descriptor, for `__del__` and `accept()`,
#: which check that it is their socket's. Keyed by descriptor, not by id: the numbers
#: come back, so an entry is overwritten, not removed with its socket (a dictionary by
#: id gained and lost a key per socket, which cost more than the rest of `__del__`'s
#: hook); those of sockets gone are removed by a pruning.
_by_fd: dict[int, SocketRecord] = {}
_SEQ = operator.attrgetter("seq")  # a record's number, as a key to bisect by (C code, no call)


def _prune() -> None:
    """Drop the records of sockets closed or gone (with `_lock` held): the garbage
    collector walks every record kept, on each collection."""
    global _prune_at, _kept_gone
    # `open()` written out: a call per record cost more than the rest of the socket's hook.
    _created[:] = [
        r
        for r in _created
        if ((s := r()) is not None and s.fileno() != -1 or r.gone_open is not None or r.server is not None and r.held())
        and not r.claimed
    ]
    for fd in [fd for fd, r in _by_fd.items() if r() is None]:
        del _by_fd[fd]
    _closed_gone[0] = 0
    _prune_at = max(64, 2 * len(_created))
    _kept_gone = sum(1 for r in _created if r() is None)


# What `_on_init` compares a socket's maker with, read once socket is imported, and
# the self-pipe's makers once asyncio is.
_SOCKETPAIR: CodeType | None = None
_ACCEPT: CodeType | None = None
_SELF_PIPE_MAKERS: tuple[CodeType, ...] = ()


def _on_socket_import() -> None:
    global _SOCKETPAIR, _ACCEPT
    import socket

    _SOCKETPAIR = socket.socketpair.__code__
    _ACCEPT = socket.socket.accept.__code__


install.on_import("socket", _on_socket_import)


def _self_pipe_makers() -> tuple[CodeType, ...]:
    """The codes that make an event loop's self-pipe through `socket.socketpair` (3.10+):
    `_make_self_pipe` of the selector loops, and of the proactor loops where asyncio
    loaded them (Windows). Compared by identity, with no call, on every socket pair."""
    makers = []
    for module, loop_class in (
        ("selector_events", "BaseSelectorEventLoop"),
        ("proactor_events", "BaseProactorEventLoop"),
    ):
        method = getattr(getattr(sys.modules.get("asyncio." + module), loop_class, None), "_make_self_pipe", None)
        code = getattr(method, "__code__", None)
        if isinstance(code, CodeType):
            makers.append(code)
    return tuple(makers)


def _on_asyncio_import() -> None:
    global _SELF_PIPE_MAKERS
    _SELF_PIPE_MAKERS = _self_pipe_makers()


install.on_import("asyncio", _on_asyncio_import)


def _listener_of(frame: FrameType | None) -> SocketRecord | None | bool:
    """For a connection made by `socket.socket.accept` (3.10+: its `self` is the
    listener), the listener's record, or True for a listener leaktest did not see;
    False for any other socket."""
    if frame is None or frame.f_code is not _ACCEPT:
        return False
    listener: socket.socket = frame.f_locals["self"]
    record = _by_fd.get(listener.fileno())
    return record if record is not None and record() is listener else True


def _on_init(result: None, frame: FrameType | None, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """After `socket.socket.__init__`: number the socket, keep what made it
    (`stacks.creation_stack`) and the test running then. Runs on every socket."""
    code = frame.f_code if frame is not None else None
    if (
        code is _SOCKETPAIR
        and frame is not None
        and (maker := frame.f_back) is not None
        and maker.f_code in _SELF_PIPE_MAKERS
    ):
        return  # an event loop's self-pipe (`_self_pipe_makers`)
    sock = args[0]
    record = SocketRecord(sock)
    record.stack = stacks.creation_stack(frame)
    record.test = clock.running
    record.fd = sock.fileno()
    record.sock_id = id(sock)
    listener = _listener_of(frame) if code is _ACCEPT else False
    _lock.acquire()  # (not `with`: see `clock.lock`)
    try:
        if listener is False:
            clock.now = record.seq = record.made = clock.now + 1  # `clock.tick()`, in this lock
            _created.append(record)
        else:  # accepted: the listener's number (0 for one leaktest did not see)
            record.listener = listener if isinstance(listener, SocketRecord) else None
            record.seq = record.listener.seq if record.listener is not None else 0
            record.made = clock.now
            bisect.insort(_created, record, key=_SEQ)
        _by_fd[record.fd] = record
        if len(_created) >= _prune_at:
            _prune()
    finally:
        _lock.release()


def _finalizer() -> object:
    """`socket.socket`, whose `__del__` is the C finalizer of `_socket.socket` (3.10+),
    which warns "unclosed" and closes."""
    import _socket
    import socket

    return socket.socket if hasattr(_socket.socket, "__del__") else None


def _on_del(self: socket.socket) -> bool:
    """Before the finalizer: note a socket destroyed while open, for the test that created
    it. True when the C finalizer has nothing left to do (the socket is closed): then it
    is not called (`install._finalizer`)."""
    fd = self.fileno()
    if fd == -1:  # closed by its owner: nothing to note
        _closed_gone[0] += 1
        return True
    record = _by_fd.get(fd)
    if record is None or record.sock_id != id(self):  # a socket made without the hook
        return False
    if record.reported:
        # Reported once, by its test: closed here, quietly, not warned about again in
        # whichever test runs when it is collected (an error there under `-W error`).
        sys.modules["_socket"].socket.close(self)  # (no import statement in a finalizer)
        return True
    try:
        record.gone_addresses = tuple(a for a in addresses(self) if a)
        record.gone_open = _what(self)
        record.by_check = _check_collecting
        _collected.append(record)
        del _collected[:-_KEEP_COLLECTED]
    except Exception:  # never break a finalizer
        pass
    return False


def _on_uvloop_server(server: Any, frame: FrameType | None, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """Once uvloop's `create_server`/`create_unix_server` is awaited: each listening
    socket is the returned server's, open while the server holds it: one it made and
    detached (a TCP server's), or one it keeps attached (a UNIX server's, one passed in
    as `sock=`), which the loop's close closes. Its record is the latest with that
    descriptor (open since it was made)."""
    for fd in {sock.fileno() for sock in server.sockets}:
        with _lock:
            record = next((r for r in reversed(_created) if r.fd == fd), None)
            if record is not None and record.gone_open is None:
                record.server = weakref.ref(server)


def _on_uvloop_close(result: None, frame: FrameType | None, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """Before a uvloop loop closes, and with it the servers still listening on it: each
    of their sockets is noted as never closed by its owner, for the test that made it."""
    loop = args[0]
    with _lock:
        held = [r for r in _created if r.server is not None and r.gone_open is None]
    for record in held:
        server = record.server() if record.server is not None else None
        if server is None or server.get_loop() is not loop or not record.held():
            continue
        with _borrowed(record.fd) as sock:
            record.gone_addresses = tuple(a for a in addresses(sock) if a)
            record.gone_open = _what(sock)
        record.loop_closed = True
        _collected.append(record)
        del _collected[:-_KEEP_COLLECTED]


def _uvloop_server_hooks() -> list[install.Hook]:
    return [
        *(
            install.Hook(uvloop_loop, name, _on_uvloop_server, awaited=True, module="uvloop")
            for name in ("create_server", "create_unix_server")
        ),
        install.Hook(uvloop_loop, "close", _on_uvloop_close, module="uvloop"),
    ]


@contextlib.contextmanager
def _borrowed(fd: int) -> Iterator[socket.socket]:
    """A socket object on a descriptor someone else holds (a uvloop server's), to read
    its addresses: made without the creation hook, and detached after."""
    import _socket
    import socket

    sock = socket.socket.__new__(socket.socket)
    _socket.socket.__init__(sock, fileno=fd)
    try:
        yield sock
    finally:
        _socket.socket.detach(sock)


def _open_socket(record: SocketRecord) -> contextlib.AbstractContextManager[socket.socket | None]:
    """The record's socket while it is open: its own object, or its descriptor borrowed
    from the uvloop server holding it."""
    sock = record.live()
    if sock is None and record.held():
        return _borrowed(record.fd)
    return contextlib.nullcontext(sock)


_check_collecting = False  # while `_collect_garbage` runs
_KEEP_COLLECTED = 1000  # records kept for the checks still to come; older ones are dropped
_collected: list[SocketRecord] = []  # sockets the GC destroyed open, in that order


def _collect_garbage() -> None:
    """`gc.collect()` for a check, its finalizers' warnings recorded and dropped (the
    sockets it closes are reported; no `filterwarnings = error` turns one into an
    unraisable exception for the next test). Failure path only: it also drops the
    warnings other threads issue meanwhile."""
    global _check_collecting
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        _check_collecting = True
        try:
            gc.collect()
        finally:
            _check_collecting = False


def _created_after(seq: int) -> list[SocketRecord]:
    with _lock:
        if len(_created) > 64 and 2 * _closed_gone[0] > len(_created):  # mostly sockets gone: a test held many
            _prune()
        first = bisect.bisect_right(_created, seq, key=_SEQ)
        return _created[first:]


def open_fds() -> set[int]:
    """The descriptors of the recorded sockets still open (for the fd probe)."""
    with _lock:
        records = list(_created)
    return {record.fd for record in records if record.alive()}


# -- describing ----------------------------------------------------------------


def _address(address: object) -> str:
    """ "127.0.0.1:8080", "[::1]:8080", "/tmp/x.sock", or the address as Python gives it."""
    if isinstance(address, tuple) and len(address) >= 2 and isinstance(address[0], str):
        host, port = address[0], address[1]
        return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    if isinstance(address, bytes):  # a Linux abstract unix socket
        return repr(address)
    return str(address)


def addresses(sock: socket.socket) -> tuple[str, str]:
    """Local and peer address as strings; "" for what the socket does not have."""
    local = peer = ""
    try:
        local = _address(sock.getsockname())
    except OSError:
        pass
    try:
        peer = _address(sock.getpeername())
    except OSError:
        pass
    return local, peer


def _listening(sock: socket.socket) -> bool:
    import socket

    option = getattr(socket, "SO_ACCEPTCONN", None)
    if option is None:
        return False
    try:
        return bool(sock.getsockopt(socket.SOL_SOCKET, option))
    except OSError:
        return False


def _enum_name(value: object) -> str:
    return getattr(value, "name", None) or str(value)


def _what(sock: socket.socket) -> str:
    """'Socket fd=7 (AF_INET, SOCK_STREAM, listening on 127.0.0.1:8080)'."""
    local, peer = addresses(sock)
    kind = f"{_enum_name(sock.family)}, {_enum_name(sock.type)}"
    if _listening(sock):
        state = f"listening on {local or '?'}"
    elif peer:
        state = f"connected {local or '?'} -> {peer}"
    elif local and not local.endswith(":0"):
        state = f"bound to {local}, not connected"
    else:
        state = "not bound, not connected"
    name = "SSLSocket" if type(sock).__name__ == "SSLSocket" else "Socket"
    return f"{name} fd={sock.fileno()} ({kind}, {state})"


def _shape(sock: socket.socket) -> str:
    """What a socket is, without its addresses (they change between runs)."""
    state = "listening" if _listening(sock) else "connected" if addresses(sock)[1] else "not connected"
    return f"{_enum_name(sock.family)}, {_enum_name(sock.type)}, {state}"


def _module_name(frame: stacks.Frame) -> str:
    return str(frame.f_globals.get("__name__", ""))


def _maker(stack: Sequence[stacks.Frame]) -> str | None:
    """The stdlib function the code outside the stdlib called to make the socket: the
    innermost one outside the socket and ssl modules (`http.client.HTTPConnection.connect`
    rather than `socket.create_connection`), else the outermost of those."""
    inner: list[stacks.Frame] = []  # the stdlib frames inside the creating code, innermost first
    for frame in stack:
        if not stacks.is_stdlib(frame.f_code.co_filename):
            break
        inner.append(frame)
    maker = next((f for f in inner if _module_name(f) not in ("socket", "ssl")), None)
    if maker is None and inner:  # socket.create_connection, socket.socketpair...
        maker = inner[-1]
    return stacks.qualified_name(maker.f_code, maker) if maker is not None else None


def _describe(record: SocketRecord) -> Leak:
    with _open_socket(record) as sock:
        return _describe_open(record, sock)


def _describe_open(record: SocketRecord, sock: socket.socket | None) -> Leak:
    record.reported = sock is not None
    if sock is not None:
        what = _what(sock)
        head = f"{what} still open"
        runs = _shape(sock)
    elif record.loop_closed:
        runs = "never closed"
        what = record.gone_open or f"Socket fd={record.fd}"
        head = f"{what} never closed: its server was still listening when its uvloop event loop closed it"
    elif record.by_check:
        runs = "dropped, never closed"
        what = record.gone_open or f"Socket fd={record.fd}"
        head = f"{what} never closed: dropped, then closed by the garbage collection leaktest ran"
    else:
        runs = "dropped, never closed"
        what = record.gone_open or f"Socket fd={record.fd}"
        head = f"{what} never closed: the garbage collector closed it (ResourceWarning: unclosed socket)"
    site = stacks.created_site(record.stack, record.test)
    created = stacks.where("created", site, _maker(stacks.records(record.stack)))
    return Leak(
        "sockets", what.split(" (")[0], entry(head, created), record, runs=runs, origin=stacks.site_function(site)
    )


# -- the probe ------------------------------------------------------------------


class SocketProbe(Probe[int, SocketRecord]):
    """A mark is the clock's number: sockets numbered above it were created after it."""

    kind = "sockets"
    switch = Flag("check_sockets", True, "sockets created by the test and still open, or closed by the GC")
    names = Patterns(
        "ignore_sockets",
        'ignore sockets whose local or peer address matches ("127.0.0.1:*")',
        flag="--ignore-socket",
    )
    headings = {"sockets": "found unexpected sockets:"}
    marks_clock = True

    def hooks(self) -> list[install.Hook]:
        return [
            install.Hook(lambda: sys.modules["socket"].socket, "__init__", _on_init, after=True, module="socket"),
            install.Hook(_finalizer, "__del__", _on_del, module="socket"),
            *_uvloop_server_hooks(),
        ]

    def count(self) -> int:
        if not _created:
            return 0
        with _lock:
            records = list(_created)
        return sum(1 for record in records if record.alive())

    def new_since(self, mark: int) -> list[SocketRecord]:
        if clock.now == mark:
            return []
        found = [r for r in _created_after(mark) if not r.claimed and r.alive()]
        found += [r for r in list(_collected) if r.seq > mark and not r.claimed]
        return found

    def started(self, item: SocketRecord) -> int | None:
        return item.made  # an accepted connection: when it was accepted, not its listener's number

    def made_by(self, item: SocketRecord) -> Maker | None:
        """An accepted connection is its server's: the listener's record."""
        return Maker(item.listener, item.listener.seq) if item.listener is not None else None

    def candidates(self, items: Sequence[SocketRecord], with_frames: bool) -> list[Candidate]:
        candidates = []
        for record in items:
            stack = stacks.records(record.stack)
            candidates.append(Candidate(_addresses_of(record), stack if with_frames else [], stack))
        return candidates

    def wait(self, items: Sequence[SocketRecord], deadline: float) -> list[SocketRecord]:
        """Until each socket is closed (by its owner, or by another thread) or the deadline."""
        pending = poll(
            items,
            lambda left: [record for record in left if record.open()],
            deadline,
            lambda left: any(record.gone_open is None for record in left),
        )
        if any(record.gone_open is None and not record.collected for record in pending):
            # At the deadline, garbage is collected once: a socket the test dropped
            # without closing is then told from one still held, and one whose dropped
            # owner closes it when collected (a connection pool) was closed by its owner.
            _collect_garbage()
            for record in pending:
                record.collected = True
            pending = [record for record in pending if record.open()]
        return pending

    def describe(self, items: Sequence[SocketRecord]) -> list[Leak]:
        return [_describe(record) for record in items]

    def claim(self, items: Sequence[SocketRecord]) -> None:
        for record in items:
            record.claimed = True

    def cleanup(self, items: Sequence[SocketRecord]) -> str:
        """Close the leaked sockets still open (those the GC destroyed are closed already);
        a uvloop server holding one is closed, in its loop's thread."""
        closed = []
        for record in items:
            sock = record.live()
            if sock is not None:
                closed.append(f"fd {sock.fileno()}")
                sock.close()
            elif record.server is not None and record.held() and (server := record.server()) is not None:
                closed.append(f"fd {record.fd}")
                _close_server(server)
        return f"closed the sockets {', '.join(closed)}" if closed else ""


def _close_server(server: Any) -> None:
    """Close a uvloop server in its loop's thread (uvloop's loops are not thread-safe)."""
    import asyncio  # imported already: uvloop imports it

    loop = server.get_loop()
    if loop.is_closed():
        return
    try:
        here = asyncio.get_running_loop()
    except RuntimeError:
        here = None
    if loop.is_running() and loop is not here:
        loop.call_soon_threadsafe(server.close)
    else:
        server.close()


def _addresses_of(record: SocketRecord) -> tuple[str, ...]:
    """What `ignore_sockets` patterns match: the local and peer addresses."""
    with _open_socket(record) as sock:
        if sock is None:
            return record.gone_addresses
        return tuple(address for address in addresses(sock) if address)
