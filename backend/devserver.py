"""`python -m backend.devserver`: the embedded default — the API, one worker (with beat) and a demo shop.

With no DATABASE_URL, REDIS_URL or storage settings everything lives under
VAR_DIR (default ./var): the SQLite database (var/scraper.db), the filesystem
broker (var/broker), the images (var/storage, served by the API at /files/) and
the dev API key (var/dev-api-key, mode 0600; the database keeps only its hash).

It migrates the database, makes sure the dev key exists (created once, then
reused), starts three child processes —

    python -m backend.devapi                     the API on 127.0.0.1:$PORT (Werkzeug, quiet)
    celery -A worker worker -B --concurrency 1   one worker with the periodic sweeps embedded
    python -m backend.demoshop                   a demo shop on 127.0.0.1:$PORT+1

— with SCRAPER_ALLOWED_ORIGINS extended by the demo shop's origin (and nothing else), waits
until the API answers and the worker consumes, prints the demo shop's address, then
`API: http://127.0.0.1:PORT` and `API key: KEY` last, and runs until Ctrl-C or SIGTERM.

Stopping: an idle worker (no job running) is killed at once, so Ctrl-C returns in well
under two seconds; a worker with a job running gets a warm shutdown and STOP_GRACE_SECONDS
to finish it, after which it is killed and the sweep of the next run hands the job back
(a job left `running` is retried after JOB_STALE_SECONDS, a message never consumed stays
queued). If a child dies on its own, the others are stopped too and the exit code is 1.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import TextIO

from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from backend.auth import DEV_USER_EMAIL, authenticate, issue_api_key
from backend.db import Database
from backend.demoshop import PRODUCTS
from backend.errors import ConfigError
from backend.logging import TextFormatter, get_logger
from backend.migrate import drop_alembic_chatter, upgrade_to_head
from backend.models import Job, JobStatus
from backend.settings import Settings, get_settings

logger = get_logger("devserver")

ROOT = Path(__file__).resolve().parent.parent
KEY_FILE_NAME = "dev-api-key"
READY_TIMEOUT_SECONDS = 60.0
STOP_GRACE_SECONDS = 20.0
POLL_SECONDS = 0.2
_PR_SET_PDEATHSIG = 1


def ensure_dev_key(db: Database, key_file: Path) -> str:
    """The dev API key: the one stored in `key_file` if it still works, else a new one."""
    with db.session() as session:
        if key_file.is_file():
            stored = key_file.read_text().strip()
            if authenticate(session, stored) is not None:
                session.commit()
                return stored
        issued = issue_api_key(session, DEV_USER_EMAIL)
        session.commit()
    write_secret(key_file, issued.plaintext)
    return issued.plaintext


def write_secret(path: Path, value: str) -> None:
    """Write `value` to `path`, readable by the owner only, replacing any old file atomically."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value + "\n")
    tmp.replace(path)


def port_in_use(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
        return True
    return False


def shop_port(settings: Settings) -> int:
    """The demo shop's port: the one after the API's."""
    return settings.port + 1


def shop_origin(settings: Settings) -> str:
    return f"http://127.0.0.1:{shop_port(settings)}"


def child_env(settings: Settings, var_dir: Path) -> dict[str, str]:
    """The children's environment: the same settings, every path absolute, the demo shop allowed."""
    env = dict(os.environ)
    env.update(
        PORT=str(settings.port),
        VAR_DIR=str(var_dir),
        PYTHONUNBUFFERED="1",
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        SCRAPER_ALLOWED_ORIGINS=" ".join([*settings.allowed_origins, shop_origin(settings)]),
        WORKER_HEARTBEAT_FILE=str(settings.heartbeat_path),
    )
    if settings.local_storage_dir is not None:
        env["LOCAL_STORAGE_DIR"] = str(settings.storage_dir)
    return env


def api_command(port: int) -> list[str]:
    return [sys.executable, "-m", "backend.devapi", "--port", str(port)]


def shop_command(port: int) -> list[str]:
    return [sys.executable, "-m", "backend.demoshop", "--port", str(port)]


def worker_command(var_dir: Path) -> list[str]:
    # Mingle, gossip and heartbeats are broadcasts between workers; with one worker
    # on a filesystem broker they only add start-up delay and files. -q: no banner.
    return [
        sys.executable, "-m", "celery", "-q", "-A", "worker", "worker", "-B",
        "--concurrency", "1", "--loglevel", "INFO",
        "--hostname", f"devserver@{socket.gethostname()}",
        "--schedule", str(var_dir / "celerybeat-schedule"),
        "--without-mingle", "--without-gossip", "--without-heartbeat",
    ]  # fmt: skip


def jobs_running(settings: Settings) -> bool:
    """Whether any job is running; True when the database cannot tell (the careful answer)."""
    db = Database(settings)
    try:
        with db.session() as session:
            count = session.scalar(select(func.count()).where(Job.status == JobStatus.RUNNING))
        return bool(count)
    except SQLAlchemyError:
        return True
    finally:
        db.dispose()


def worker_ready(heartbeat: Path, since: float) -> bool:
    """The worker's consumer loop has touched its heartbeat file since `since` (it consumes)."""
    try:
        return heartbeat.stat().st_mtime >= since
    except OSError:
        return False


def _die_with_parent() -> None:
    # Linux: if the devserver is SIGKILLed, the kernel sends the child SIGTERM, so it
    # cannot outlive us. Best effort elsewhere.
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass
class Child:
    """One supervised child process, leader of its own process group."""

    name: str
    args: list[str]
    process: subprocess.Popen[bytes] | None = None

    def start(self, env: dict[str, str], cwd: Path) -> None:
        # Its own session: a Ctrl-C at the terminal reaches only the devserver, which
        # then stops each child once, in order (celery treats a second signal as "cold").
        self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and fixed arguments
            self.args,
            env=env,
            cwd=cwd,
            start_new_session=True,
            preexec_fn=_die_with_parent,  # noqa: PLW1509 - the devserver starts no threads of its own
        )
        logger.debug("devserver.started", child=self.name, pid=self.process.pid)

    @property
    def exit_code(self) -> int | None:
        return None if self.process is None else self.process.poll()

    def stop(self, grace: float) -> None:
        """SIGTERM (warm shutdown), wait up to `grace`, then SIGKILL the whole group (at once if 0)."""
        if self.process is None:
            return
        if self.process.poll() is None and grace > 0:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                logger.warning("devserver.kill", child=self.name, reason="no exit in time", grace_s=grace)
        # Pool processes, embedded beat, anything it forked and left behind.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        logger.debug("devserver.stopped", child=self.name, code=self.process.returncode)


@dataclass
class Supervisor:
    """Runs the children until a stop is requested or one of them exits."""

    children: list[Child]
    stop_requested: threading.Event = field(default_factory=threading.Event)
    signals_seen: int = 0

    def on_signal(self, signum: int, _frame: FrameType | None) -> None:
        self.signals_seen += 1
        if self.signals_seen > 1:
            logger.warning(
                "devserver.signal_again",
                signal=signal.Signals(signum).name,
                action="killing the children now",
            )
            for child in self.children:
                if child.process is not None:
                    with contextlib.suppress(ProcessLookupError, PermissionError):
                        os.killpg(child.process.pid, signal.SIGKILL)
        self.stop_requested.set()

    def dead_child(self) -> Child | None:
        return next((child for child in self.children if child.exit_code is not None), None)

    def wait_until(self, ready: Callable[[], bool], timeout: float) -> bool:
        """Poll `ready` until true; False if a child died, a stop came, or time ran out."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.stop_requested.is_set() or self.dead_child() is not None:
                return False
            if ready():
                return True
            time.sleep(POLL_SECONDS)
        return False

    def run(self) -> int:
        """Block until Ctrl-C/SIGTERM (exit 0) or a child's death (exit 1)."""
        while not self.stop_requested.wait(POLL_SECONDS):
            dead = self.dead_child()
            if dead is not None:
                logger.error("devserver.child_died", child=dead.name, code=dead.exit_code, action="stopping")
                return 1
        return 0

    def stop_all(self, worker_busy: Callable[[], bool]) -> None:
        # The worker first: it may be finishing a job that talks to nothing but the database
        # and storage. Idle, it has nothing to finish or hand back (a message it has not
        # taken stays queued), so it is killed rather than waited for: Celery's warm
        # shutdown of an idle worker takes seconds (its poll loop, then the pool's join).
        for child in sorted(self.children, key=lambda child: child.name != "worker"):
            busy = child.name == "worker" and child.exit_code is None and worker_busy()
            if busy:
                logger.warning(
                    "devserver.stopping",
                    reason="a job is running; letting it finish (Ctrl-C again to kill)",
                )
            child.stop(STOP_GRACE_SECONDS if busy else 0)


def prepare(settings: Settings, var_dir: Path) -> str:
    """Migrate the database and return the dev API key."""
    var_dir.mkdir(parents=True, exist_ok=True)
    upgrade_to_head(settings.effective_database_url)
    db = Database(settings)
    try:
        return ensure_dev_key(db, var_dir / KEY_FILE_NAME)
    finally:
        db.dispose()


def announce(settings: Settings, key: str, stream: TextIO) -> None:
    """The lines a user needs, last on the terminal: the demo shop, then the API and its key."""
    bold, plain = ("\033[1m", "\033[0m") if stream.isatty() else ("", "")
    lines = [
        "",
        f"Demo shop: {shop_origin(settings)}/products/{PRODUCTS[0].slug} (try scraping it; README)",
        "Web page: open the API address in a browser. Ctrl-C stops everything.",
        f"{bold}API: http://127.0.0.1:{settings.port}{plain}",
        f"{bold}API key: {key}{plain}",
    ]
    stream.write("\n".join(lines) + "\n")
    stream.flush()


def serve(settings: Settings, var_dir: Path, key: str) -> int:
    """Start the children, announce the URL and key once the API answers and the worker consumes, supervise."""
    env = child_env(settings, var_dir)
    supervisor = Supervisor(
        [
            Child("api", api_command(settings.port)),
            Child("worker", worker_command(var_dir)),
            Child("shop", shop_command(shop_port(settings))),
        ]
    )
    signal.signal(signal.SIGINT, supervisor.on_signal)
    signal.signal(signal.SIGTERM, supervisor.on_signal)
    heartbeat = settings.heartbeat_path
    started = time.time() - 1.0  # file times are coarser than the clock on some filesystems

    def ready() -> bool:
        return (
            port_in_use(settings.port)
            and port_in_use(shop_port(settings))
            and worker_ready(heartbeat, started)
        )

    try:
        for child in supervisor.children:
            # cwd=var_dir: anything a child writes relative to its cwd stays out of the checkout.
            child.start(env, var_dir)
        if not supervisor.wait_until(ready, READY_TIMEOUT_SECONDS):
            dead = supervisor.dead_child()
            if supervisor.stop_requested.is_set():
                return 0
            reason = (
                f"{dead.name} exited with code {dead.exit_code}"
                if dead
                else "the API or worker did not start"
            )
            logger.error("devserver.failed", reason=reason)
            return 1
        announce(settings, key, sys.stdout)
        return supervisor.run()
    finally:
        stopping = time.monotonic()
        supervisor.stop_all(lambda: jobs_running(settings))
        logger.info("devserver.stopped", seconds=round(time.monotonic() - stopping, 1))


def configure_logging() -> None:
    # Only what matters: the devserver's own events, and anything at WARNING or above.
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(TextFormatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    handler.addFilter(drop_alembic_chatter)
    logging.basicConfig(level=logging.WARNING, handlers=[handler], force=True)
    logger.setLevel(logging.INFO)


def main() -> int:
    configure_logging()
    try:
        settings = get_settings()
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)  # noqa: T201
        return 1
    for port in (settings.port, shop_port(settings)):
        if port_in_use(port):
            print(f"port {port} is already in use; set PORT to a free port", file=sys.stderr)  # noqa: T201
            return 1
    var_dir = settings.var_dir.resolve()
    key = prepare(settings, var_dir)
    return serve(settings, var_dir, key)


if __name__ == "__main__":
    sys.exit(main())
