"""Real Postgres, Redis and S3 for the test session: use running ones, else start private throwaway ones."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import boto3
import pytest

S3_ACCESS_KEY = "test-access-key"
S3_SECRET_KEY = "test-secret-key"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def free_port_pair() -> int:
    """A port whose successor is free too (the devserver's API and its demo shop)."""
    while True:
        port = free_port()
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
        return port


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=timeout):
        return True
    return False


def wait_for_port(host: str, port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if port_open(host, port):
            return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listens on {host}:{port} after {timeout}s")


def _find_binary(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    for root in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (root / name).exists():
            return str(root / name)
    return None


@dataclass
class PostgresServer:
    """A Postgres to create test databases on; `admin_url` points at its `postgres` database."""

    admin_url: str
    process_dir: Path | None = None

    def stop(self) -> None:
        if self.process_dir is not None:
            pg_ctl = _find_binary("pg_ctl")
            subprocess.run([pg_ctl, "-D", str(self.process_dir), "-m", "immediate", "stop"], check=False)
            shutil.rmtree(self.process_dir, ignore_errors=True)


def start_postgres() -> PostgresServer:
    """The Postgres from TEST_POSTGRES_URL, or on 127.0.0.1:5432, or a private one."""
    url = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")
    parts = urlsplit(url)
    if port_open(parts.hostname or "127.0.0.1", parts.port or 5432):
        return PostgresServer(admin_url=url)
    initdb, pg_ctl = _find_binary("initdb"), _find_binary("pg_ctl")
    if not (initdb and pg_ctl):
        pytest.exit(
            "Postgres is not running and not installed: install postgresql (apt-get install postgresql)", 2
        )
    data = Path(tempfile.mkdtemp(prefix="scraper-pg-"))
    port = free_port()
    run_as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    if run_as:
        shutil.chown(data, "postgres")
    subprocess.run(
        [*run_as, initdb, "-D", str(data), "-U", "postgres", "-A", "trust"], check=True, capture_output=True
    )
    subprocess.run(
        [
            *run_as,
            pg_ctl,
            "-D",
            str(data),
            "-w",
            "-o",
            f"-p {port} -k {data} -c listen_addresses=127.0.0.1",
            "-l",
            str(data / "log"),
            "start",
        ],
        check=True,
        capture_output=True,
    )
    return PostgresServer(
        admin_url=f"postgresql+psycopg2://postgres@127.0.0.1:{port}/postgres", process_dir=data
    )


@dataclass
class RedisServer:
    host: str
    port: int
    process: subprocess.Popen[bytes] | None = None
    password: str | None = None

    def url(self, db: int) -> str:
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}{self.host}:{self.port}/{db}"

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)

    def restart(self) -> None:
        """Kill and start again on the same port (fault tests); only for a private server."""
        self.kill()
        self.start_again()

    def kill(self) -> None:
        """SIGKILL a private server: everything it held in memory is gone, as in a crash."""
        assert self.process is not None, "kill needs a private redis-server"
        self.process.kill()
        self.process.wait(timeout=10)

    def start_again(self) -> None:
        """Start a killed private server again on the same port, empty."""
        self.process = _spawn_redis(self.port, self.password)
        wait_for_port(self.host, self.port)


def _spawn_redis(port: int, password: str | None = None) -> subprocess.Popen[bytes]:
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.exit(
            "Redis is not running and not installed: install redis-server (apt-get install redis-server)", 2
        )
    return subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        + (["--requirepass", password] if password else []),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def start_redis(*, private: bool = False, password: str | None = None) -> RedisServer:
    """The Redis on 127.0.0.1:6379 (TEST_REDIS_HOST/PORT), or a private one (with `password`, if given)."""
    host = os.environ.get("TEST_REDIS_HOST", "127.0.0.1")
    port = int(os.environ.get("TEST_REDIS_PORT", "6379"))
    if not private and password is None and port_open(host, port):
        return RedisServer(host=host, port=port)
    port = free_port()
    server = RedisServer(host="127.0.0.1", port=port, process=_spawn_redis(port, password), password=password)
    wait_for_port("127.0.0.1", port)
    return server


@dataclass
class TlsRedis:
    """A private redis-server speaking only TLS, with a self-signed certificate (`cert`) no CA vouches for."""

    port: int
    cert: Path
    process: subprocess.Popen[bytes]

    def url(self, db: int, scheme: str = "rediss") -> str:
        return f"{scheme}://127.0.0.1:{self.port}/{db}"

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def start_tls_redis(workdir: Path) -> TlsRedis:
    """redis-server on a free loopback port with TLS only, its certificate made here by openssl."""
    cert, key = workdir / "redis-cert.pem", workdir / "redis-key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    port = free_port()
    binary = shutil.which("redis-server") or "redis-server"
    process = subprocess.Popen(
        [binary, "--port", "0", "--tls-port", str(port), "--bind", "127.0.0.1", "--tls-cert-file", str(cert),
         "--tls-key-file", str(key), "--tls-auth-clients", "no", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    wait_for_port("127.0.0.1", port)
    return TlsRedis(port=port, cert=cert, process=process)


@dataclass
class S3Server:
    endpoint: str
    bucket: str
    server: object

    def client(self):
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=S3_ACCESS_KEY,
            aws_secret_access_key=S3_SECRET_KEY,
            region_name="us-east-1",
        )

    def object_keys(self) -> list[str]:
        paginator = self.client().get_paginator("list_objects_v2")
        return [
            obj["Key"] for page in paginator.paginate(Bucket=self.bucket) for obj in page.get("Contents", [])
        ]

    def clear(self) -> None:
        client = self.client()
        for key in self.object_keys():
            client.delete_object(Bucket=self.bucket, Key=key)

    def stop(self) -> None:
        self.server.stop()  # type: ignore[attr-defined]

    def start_again(self) -> None:
        """Start a stopped server again on the same port and make sure the bucket exists (fault tests)."""
        port = int(urlsplit(self.endpoint).port or 0)
        self.server = _spawn_moto(port)
        with contextlib.suppress(self.client().exceptions.BucketAlreadyOwnedByYou):
            self.client().create_bucket(Bucket=self.bucket)


def _spawn_moto(port: int) -> object:
    from moto.server import ThreadedMotoServer  # noqa: PLC0415 - heavy import, only when S3 is wanted

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    wait_for_port("127.0.0.1", port)
    return server


def start_s3(bucket: str = "scraper-test") -> S3Server:
    """moto's S3 server in a thread on a loopback port; boto3 talks HTTP to it."""
    port = free_port()
    s3 = S3Server(endpoint=f"http://127.0.0.1:{port}", bucket=bucket, server=_spawn_moto(port))
    s3.client().create_bucket(Bucket=bucket)
    return s3


@dataclass
class MotoProcess:
    """moto's S3 server in a process of its own, so a test can SIGSTOP it (a hung R2) without stopping itself."""

    process: subprocess.Popen[bytes]

    def pause(self) -> None:
        """SIGSTOP: connections are still accepted by the kernel, and never answered."""
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        self.process.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        self.resume()
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


def start_s3_process(bucket: str = "scraper-stoppable") -> S3Server:
    """An S3Server whose moto runs in a child process (`S3Server.server` is its MotoProcess)."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    s3 = S3Server(endpoint=f"http://127.0.0.1:{port}", bucket=bucket, server=MotoProcess(process))
    try:
        wait_for_port("127.0.0.1", port, timeout=30)
        s3.client().create_bucket(Bucket=bucket)
    except Exception:
        s3.stop()
        raise
    return s3


@dataclass
class PgBouncer:
    """A private PgBouncer in transaction mode in front of a Postgres (fault tests)."""

    port: int
    workdir: Path
    process: subprocess.Popen[bytes]

    def url(self, database_url: str) -> str:
        """`database_url` with its host and port replaced by this bouncer's."""
        parts = urlsplit(database_url)
        auth = parts.netloc.rsplit("@", 1)[0] + "@" if "@" in parts.netloc else ""
        return parts._replace(netloc=f"{auth}127.0.0.1:{self.port}").geturl()

    def log_text(self) -> str:
        path = self.workdir / "pgbouncer.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        shutil.rmtree(self.workdir, ignore_errors=True)


def pgbouncer_binary() -> str | None:
    return shutil.which("pgbouncer") or next(
        (str(path) for path in (Path("/usr/sbin/pgbouncer"),) if path.exists()), None
    )


def start_pgbouncer(
    postgres_url: str, *, max_client_conn: int, default_pool_size: int, binary: str
) -> PgBouncer:
    """PgBouncer on a free loopback port, transaction pooling, trust auth, every database passed through."""
    parts = urlsplit(postgres_url)
    port = free_port()
    workdir = Path(tempfile.mkdtemp(prefix="scraper-pgbouncer-"))
    user = parts.username or "postgres"
    (workdir / "users.txt").write_text(f'"{user}" "{parts.password or ""}"\n')
    password = f" password={parts.password}" if parts.password else ""
    (workdir / "pgbouncer.ini").write_text(
        "[databases]\n"
        f"* = host={parts.hostname or '127.0.0.1'} port={parts.port or 5432} user={user}{password}\n"
        "[pgbouncer]\n"
        f"listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n"
        f"auth_type = trust\nauth_file = {workdir / 'users.txt'}\n"
        "pool_mode = transaction\n"
        f"max_client_conn = {max_client_conn}\ndefault_pool_size = {default_pool_size}\n"
        "reserve_pool_size = 0\nmax_db_connections = 0\n"
        f"logfile = {workdir / 'pgbouncer.log'}\npidfile = {workdir / 'pgbouncer.pid'}\n"
        "ignore_startup_parameters = extra_float_digits\n"
        "server_reset_query =\nlog_connections = 0\nlog_disconnections = 0\n"
    )
    # PgBouncer refuses to run as root; -u drops to the postgres user (which must read the files).
    run_as: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(workdir, "postgres")
        for child in workdir.iterdir():
            shutil.chown(child, "postgres")
        run_as = ["-u", "postgres"]
    process = subprocess.Popen(
        [binary, *run_as, str(workdir / "pgbouncer.ini")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port("127.0.0.1", port, timeout=15)
    except TimeoutError:
        process.kill()
        log = (
            (workdir / "pgbouncer.log").read_text(errors="replace")
            if (workdir / "pgbouncer.log").exists()
            else ""
        )
        raise RuntimeError(f"pgbouncer did not start:\n{log}") from None
    return PgBouncer(port=port, workdir=workdir, process=process)


@contextlib.contextmanager
def silent_server() -> Iterator[int]:
    """A loopback port whose TCP connections are accepted (by the kernel's backlog) and never answered."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        yield int(sock.getsockname()[1])
