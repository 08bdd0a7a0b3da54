"""One wall-clock deadline per outbound request that no server can stretch.

A socket timeout bounds each receive, not the whole: a server that sends `HTTP/1.1 200 OK`
and then one header byte a second never lets a receive time out. A `Deadline` therefore
watches the sockets its request uses: the pinned transport (backend.urlguard.pinned) hands it
every socket it opens and every kept-alive one a request starts on, while the deadline is
the current one (`with deadline:`). At the deadline one watchdog thread per process shuts
those sockets down, so whatever read or write is blocked (TLS handshake, status line,
headers, body) returns at once and the caller raises FetchTimeoutError.

A deadline may sit within another (an image download within the job's image budget): it
expires no later than its parent, and cutting the parent (`cut`) cuts it too, so a job can
end every request it started before it returns.

The watchdog holds a duplicate of each watched socket's descriptor, never the number alone:
a descriptor the request closed and another thread reused is never shut by mistake.
"""

from __future__ import annotations

import contextlib
import contextvars
import heapq
import itertools
import os
import socket
import threading
import time
from types import TracebackType

from backend.errors import FetchTimeoutError

_current: contextvars.ContextVar[Deadline | None] = contextvars.ContextVar("deadline", default=None)


class Deadline:
    """A point in time after which a request gives up with FetchTimeoutError and its sockets are shut."""

    def __init__(self, seconds: float, *, within: Deadline | None = None) -> None:
        self.seconds = seconds
        self.expires_at = time.monotonic() + seconds
        self.parent = within
        if within is not None:
            self.expires_at = min(self.expires_at, within.expires_at)
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._children: set[Deadline] = set()
        self._cut = False
        self._closed = False
        self._token: contextvars.Token[Deadline | None] | None = None
        if within is not None:
            within._adopt(self)

    @property
    def cut_off(self) -> bool:
        """True once the deadline (or its parent's) has shut its sockets down."""
        return self._cut or (self.parent is not None and self.parent.cut_off)

    def expired(self) -> bool:
        return self.cut_off or time.monotonic() >= self.expires_at

    def remaining(self) -> float:
        """Seconds left; FetchTimeoutError once none are."""
        left = self.expires_at - time.monotonic()
        if left <= 0 or self.cut_off:
            raise FetchTimeoutError(f"no complete response within {self.seconds:g} s")
        return left

    def timeouts(self, connect_cap: float) -> tuple[float, float]:
        """(connect, read) socket timeouts for the next request, never beyond the deadline."""
        left = self.remaining()
        return min(connect_cap, left), left

    def watch(self, sock: socket.socket) -> None:
        """Shut `sock` down at the deadline (at once if it has passed)."""
        try:
            duplicate = socket.fromfd(sock.fileno(), sock.family, sock.type)
        except OSError:
            return  # already closed: nothing left to cut
        with self._lock:
            if not self._closed and not self.cut_off:
                self._sockets.append(duplicate)
                return
        _shut(duplicate)
        duplicate.close()

    def cut(self) -> None:
        """End now: shut every watched socket, this deadline's and its children's."""
        with self._lock:
            self._cut = True
            sockets, children = list(self._sockets), list(self._children)
        for sock in sockets:
            _shut(sock)
        for child in children:
            child.cut()

    def close(self) -> None:
        """Stop watching: release the duplicated descriptors. Idempotent."""
        with self._lock:
            self._closed = True
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            sock.close()
        if self.parent is not None:
            self.parent._disown(self)

    def __enter__(self) -> Deadline:
        self._token = _current.set(self)
        _watchdog().schedule(self)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._token is not None:
            _current.reset(self._token)
            self._token = None
        self.close()

    def _adopt(self, child: Deadline) -> None:
        with self._lock:
            self._children.add(child)
        if self.cut_off:
            child.cut()

    def _disown(self, child: Deadline) -> None:
        with self._lock:
            self._children.discard(child)


def watch_current(sock: socket.socket) -> None:
    """Hand `sock` to the current deadline, if a request runs under one (the transport calls this)."""
    deadline = _current.get()
    if deadline is not None:
        deadline.watch(sock)


def current_remaining() -> float | None:
    """Seconds left on the current deadline (FetchTimeoutError if none), or None outside one."""
    deadline = _current.get()
    return None if deadline is None else deadline.remaining()


def _shut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # not connected (yet, or any more): nothing is blocked on it
        sock.shutdown(socket.SHUT_RDWR)


class _Watchdog:
    """The one thread per process that cuts deadlines when they expire, earliest first."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Deadline]] = []
        self._order = itertools.count()
        self._wake = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="deadline-watchdog", daemon=True)
        self._thread.start()

    def schedule(self, deadline: Deadline) -> None:
        with self._wake:
            heapq.heappush(self._heap, (deadline.expires_at, next(self._order), deadline))
            if self._heap[0][2] is deadline:
                self._wake.notify()

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._heap or self._heap[0][0] > time.monotonic():
                    self._wake.wait(None if not self._heap else self._heap[0][0] - time.monotonic())
                _expires, _order, deadline = heapq.heappop(self._heap)
            if not deadline._closed:
                deadline.cut()


_instance: _Watchdog | None = None
_instance_lock = threading.Lock()


def _watchdog() -> _Watchdog:
    global _instance  # noqa: PLW0603 - one watchdog per process, started on first use
    with _instance_lock:
        if _instance is None:
            _instance = _Watchdog()
        return _instance


def _forget_after_fork() -> None:
    # A forked child (a Celery pool process) has no copy of the parent's thread.
    global _instance, _instance_lock
    _instance, _instance_lock = None, threading.Lock()


os.register_at_fork(after_in_child=_forget_after_fork)
