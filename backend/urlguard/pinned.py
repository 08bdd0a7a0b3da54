"""A requests transport that connects only to addresses the SSRF guard vetted, at the moment it connects.

`check_url` refuses a URL whose host resolves to a private address, but a name can resolve
again when the connection opens, and a hostile DNS server can answer a public address the
first time and 127.0.0.1 the second (DNS rebinding). `PinnedAdapter` closes that gap: its
connections do not resolve the host themselves. When urllib3 opens a new socket,
`vet_host` resolves the name once (through an injectable resolver), refuses it unless every
address is public (unless allow_private, or the connection's origin is in allowed_origins), and
the socket connects to exactly those addresses.

Everything else stays as requests does it: the Host header, TLS SNI and certificate
verification all use the original host name (the connection's `host` is unchanged; only
the socket's destination is pinned), and keep-alive pools are keyed by host name. A pooled
connection was vetted when it opened and keeps talking to that address.

Every socket a connection opens, and every kept-alive socket a request starts on, is handed
to the current `Deadline` (backend.urlguard.deadline), which shuts it down when the request's
wall-clock budget ends; connecting never waits beyond that budget either.

A refused address raises BlockedUrlError straight through requests (urllib3 only wraps
OSError and HTTP errors), so a job fails with `blocked_url` and no socket was opened.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Collection
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3 import connection as urllib3_connection
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError

from backend.errors import FetchFailedError
from backend.origins import connection_origin
from backend.urlguard.deadline import current_remaining, watch_current
from backend.urlguard.hosts import Resolver, system_resolver, vet_host

Connector = Callable[[HTTPConnection], socket.socket]


def connect_pinned(conn: HTTPConnection, *, allow_private: bool, resolver: Resolver) -> socket.socket:
    """Open the socket for `conn` to its host's vetted addresses only, trying each in turn."""
    try:
        addresses = vet_host(conn.host, allow_private=allow_private, resolver=resolver)
    except FetchFailedError as exc:
        raise NameResolutionError(conn.host, conn, socket.gaierror(str(exc))) from None
    last_error: OSError | None = None
    for address in addresses:
        timeout = _within_deadline(conn.timeout)
        try:
            return urllib3_connection.connection.create_connection(
                (str(address), conn.port),
                timeout,
                source_address=conn.source_address,
                socket_options=conn.socket_options,
            )
        except TimeoutError as exc:
            raise ConnectTimeoutError(
                conn, f"Connection to {conn.host} ({address}) timed out. (connect timeout={conn.timeout})"
            ) from exc
        except OSError as exc:
            last_error = exc
    raise NewConnectionError(conn, f"Failed to establish a new connection: {last_error}")


def _within_deadline(timeout: Any) -> Any:
    """The connect timeout, shortened to what is left of the current deadline (if any)."""
    left = current_remaining()
    if left is None:
        return timeout
    return min(timeout, left) if isinstance(timeout, int | float) else left


def _pool_classes(connector: Connector) -> dict[str, type[HTTPConnectionPool]]:
    """HTTP and HTTPS pool classes whose connections open their sockets through `connector`."""

    class PinnedHTTPConnection(HTTPConnection):
        def _new_conn(self) -> socket.socket:
            sock = connector(self)
            watch_current(sock)
            return sock

        def request(self, *args: Any, **kwargs: Any) -> None:
            if self.sock is not None:  # a kept-alive socket: this request's deadline watches it too
                watch_current(self.sock)
            super().request(*args, **kwargs)

    class PinnedHTTPSConnection(HTTPSConnection):
        def _new_conn(self) -> socket.socket:
            sock = connector(self)
            watch_current(sock)
            return sock

        def request(self, *args: Any, **kwargs: Any) -> None:
            if self.sock is not None:
                watch_current(self.sock)
            super().request(*args, **kwargs)

    class PinnedHTTPConnectionPool(HTTPConnectionPool):
        ConnectionCls = PinnedHTTPConnection

    class PinnedHTTPSConnectionPool(HTTPSConnectionPool):
        ConnectionCls = PinnedHTTPSConnection

    return {"http": PinnedHTTPConnectionPool, "https": PinnedHTTPSConnectionPool}


class PinnedAdapter(HTTPAdapter):
    """An HTTPAdapter whose every new connection goes through `vet_host` and to the vetted address only."""

    def __init__(
        self,
        *,
        allow_private: bool,
        allowed_origins: Collection[str] = (),
        resolver: Resolver | None = None,
        **adapter_kwargs: Any,
    ) -> None:
        self.allow_private = allow_private
        self.allowed_origins = frozenset(allowed_origins)
        self.resolver: Resolver = resolver or system_resolver
        super().__init__(**adapter_kwargs)

    def _connect(self, conn: HTTPConnection) -> socket.socket:
        scheme = "https" if isinstance(conn, HTTPSConnection) else "http"
        allowed = (
            self.allow_private or connection_origin(scheme, conn.host, conn.port) in self.allowed_origins
        )
        return connect_pinned(conn, allow_private=allowed, resolver=self.resolver)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _pool_classes(self._connect)

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:  # noqa: ARG002 - refuses all
        # A proxy would make the connection to an address we never vetted.
        raise FetchFailedError("proxies are not used for scraping")


def session_resolver(http: requests.Session) -> Resolver | None:
    """The resolver the session's adapter connects with, so checks and connections agree (None: system)."""
    adapter = http.get_adapter("http://example.com/")
    return adapter.resolver if isinstance(adapter, PinnedAdapter) else None


def make_pinned_session(
    *,
    allow_private: bool,
    allowed_origins: Collection[str] = (),
    user_agent: str,
    pool_connections: int,
    pool_maxsize: int,
    resolver: Resolver | None = None,
) -> requests.Session:
    """A keep-alive session whose http and https connections are pinned to vetted addresses.

    trust_env is off: proxy variables and ~/.netrc must not redirect or credential requests
    to URLs chosen by users, and the pinning assumes a direct connection.
    """
    session = requests.Session()
    session.trust_env = False
    session.headers.update({"User-Agent": user_agent, "Accept-Language": "en;q=0.9, *;q=0.5"})
    adapter = PinnedAdapter(
        allow_private=allow_private,
        allowed_origins=allowed_origins,
        resolver=resolver,
        pool_connections=pool_connections,
        pool_maxsize=pool_maxsize,
    )
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session
