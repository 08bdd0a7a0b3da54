"""A real loopback TCP server that answers HTTP slowly on purpose: the hostile servers of issue 22.

Each connection gets `script(path)`: a list of (bytes, pause) steps written in order. The
server records, per connection, how many steps it wrote before the client went away, so a
test can tell "cut off early" from "served to the end" without measuring time. A script
always ends (a finite trickle), so a client that is never cut off gets a complete answer
and the test fails instead of hanging.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

Script = list[tuple[bytes, float]]


def trickled_header(byte_pause: float, count: int) -> Script:
    """`HTTP/1.1 200 OK` then one header value byte every `byte_pause` seconds, then a small body."""
    steps: Script = [(b"HTTP/1.1 200 OK\r\nX-Slow: ", 0.0)]
    steps += [(b"a", byte_pause)] * count
    return [
        *steps,
        (b"\r\nContent-Type: text/html\r\nContent-Length: 4\r\nConnection: close\r\n\r\n<p/>", 0.0),
    ]


def trickled_header_lines(line_pause: float, count: int) -> Script:
    """`HTTP/1.1 200 OK` then a whole header line every `line_pause` seconds, then a small body."""
    steps: Script = [(b"HTTP/1.1 200 OK\r\n", 0.0)]
    steps += [(f"X-Line-{n}: x\r\n".encode(), line_pause) for n in range(count)]
    return [*steps, (b"Content-Type: text/html\r\nContent-Length: 4\r\nConnection: close\r\n\r\n<p/>", 0.0)]


def trickled_body(byte_pause: float, count: int, content_type: str = "image/jpeg") -> Script:
    """A 200 whose body (no length: it ends at close) arrives one byte every `byte_pause` seconds."""
    head = f"HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nConnection: close\r\n\r\n".encode()
    return [(head, 0.0), (b"\xff\xd8\xff", 0.0), *[(b"\x00", byte_pause)] * count]


@dataclass
class SlowServer:
    """The running server: its port, and for each connection the path and the steps written."""

    port: int
    connections: list[dict[str, object]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str = "/", host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def finished(self) -> list[bool]:
        """Per connection so far: True if the whole script was written (the client was never cut off)."""
        with self.lock:
            return [bool(conn["finished"]) for conn in self.connections]

    def open_count(self) -> int:
        with self.lock:
            return sum(1 for conn in self.connections if not conn["closed"])


def our_threads() -> int:
    """Threads of this process that are not a slow server's own."""
    return sum(1 for thread in threading.enumerate() if not thread.name.startswith("slowserver"))


@contextlib.contextmanager
def slow_server(script: Callable[[str], Script]) -> Iterator[SlowServer]:
    """Serve `script(path)` on every connection, one thread per connection, until the block ends."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    server = SlowServer(port=listener.getsockname()[1])
    stop = threading.Event()

    def serve(conn: socket.socket, record: dict[str, object]) -> None:
        with conn:
            conn.settimeout(2.0)
            request = b""
            with contextlib.suppress(OSError):
                while b"\r\n\r\n" not in request:
                    chunk = conn.recv(4096)
                    if not chunk:
                        break
                    request += chunk
            line = request.split(b"\r\n", 1)[0].decode("latin-1").split(" ")
            record["path"] = line[1] if len(line) > 1 else ""
            try:
                for data, pause in script(str(record["path"])):
                    if pause and stop.wait(pause):
                        break
                    conn.sendall(data)
                else:
                    record["finished"] = True
                    # Hold the connection until the client closes it (or the server stops).
                    conn.settimeout(0.2)
                    while not stop.is_set():
                        with contextlib.suppress(TimeoutError):
                            if not conn.recv(1024):
                                break
            except OSError:
                pass  # the client went away: what this server exists to observe
            finally:
                with server.lock:
                    record["closed"] = True

    def accept() -> None:
        threads = []
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                break
            record: dict[str, object] = {
                "path": "",
                "finished": False,
                "closed": False,
                "at": time.monotonic(),
            }
            with server.lock:
                server.connections.append(record)
            thread = threading.Thread(target=serve, args=(conn, record), name="slowserver-conn", daemon=True)
            thread.start()
            threads.append(thread)
        for thread in threads:
            thread.join(timeout=5)

    acceptor = threading.Thread(target=accept, name="slowserver-accept", daemon=True)
    acceptor.start()
    try:
        yield server
    finally:
        stop.set()
        acceptor.join(timeout=10)
        listener.close()
