"""Plain helpers of the benchmarks that start the service: the repository root, a loopback port, a throwaway database.

Standard library only, so that run_service.py can use them before its children start and before
it imports service_client.py (SQLAlchemy, requests and the backend).
"""

from __future__ import annotations

import socket
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def new_database_name() -> str:
    return f"bench_{uuid.uuid4().hex[:8]}"


def database_url(admin_url: str, name: str) -> str:
    """`admin_url` naming database `name` instead (plain string work, before SQLAlchemy is imported)."""
    return urlunsplit(urlsplit(admin_url)._replace(path=f"/{name}"))
