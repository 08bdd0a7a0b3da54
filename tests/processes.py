"""Real service processes for end-to-end and fault tests: the API under gunicorn and Celery workers."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent


class ServiceProcess:
    """A child process with its output in a log file, stopped for sure at the end."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], log_dir: Path) -> None:
        self.name = name
        self.args = args
        self.env = {**os.environ, **env, "PYTHONUNBUFFERED": "1"}
        self.log_path = log_dir / f"{name}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> ServiceProcess:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            self.args, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        log.close()
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def signal(self, signum: int) -> None:
        assert self.process is not None
        self.process.send_signal(signum)

    def kill_group(self) -> None:
        """SIGKILL the process and every child it forked (no warm shutdown, no goodbye)."""
        assert self.process is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self, timeout: float = 20.0) -> int | None:
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else None
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill_group()
            return self.process.returncode

    def log_tail(self, lines: int = 60) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


def api_process(port: int, env: dict[str, str], log_dir: Path) -> ServiceProcess:
    args = [
        sys.executable, "-m", "gunicorn", "backend:create_app()",
        "--bind", f"127.0.0.1:{port}", "--workers", "1", "--threads", "4", "--graceful-timeout", "5",
    ]  # fmt: skip
    return ServiceProcess("api", args, env, log_dir)


def worker_process(
    env: dict[str, str], log_dir: Path, *, name: str = "worker", concurrency: int = 2
) -> ServiceProcess:
    args = [
        sys.executable, "-m", "celery", "-A", "worker", "worker", "--loglevel", "INFO",
        "--concurrency", str(concurrency), "--pool", "prefork",
        "--without-gossip", "--without-mingle", "-n", f"{name}-{os.getpid()}@%h",
    ]  # fmt: skip
    return ServiceProcess(name, args, env, log_dir)


def beat_process(env: dict[str, str], log_dir: Path) -> ServiceProcess:
    """`celery -A worker beat`: sends the stuck-job sweep every SWEEP_INTERVAL_SECONDS (a setting)."""
    args = [
        sys.executable, "-m", "celery", "-A", "worker", "beat", "--loglevel", "INFO",
        "--schedule", str(log_dir / "celerybeat-schedule"),
    ]  # fmt: skip
    return ServiceProcess("beat", args, env, log_dir)


def child_pids(pid: int) -> list[int]:
    """The direct children of `pid` (a Celery worker's pool processes), read from /proc."""
    children: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            children.extend(int(child) for child in (task / "children").read_text().split())
    return sorted(set(children))


def wait_until(
    predicate: Callable[[], object], *, timeout: float, interval: float = 0.2, what: str = ""
) -> object:
    """Poll until predicate returns something truthy; fail with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what or predicate}")


def wait_for_http(url: str, process: ServiceProcess, timeout: float = 30.0) -> None:
    def ready() -> bool:
        if not process.alive():
            raise RuntimeError(f"{process.name} exited early:\n{process.log_tail()}")
        try:
            return requests.get(url, timeout=2).status_code < 500
        except requests.RequestException:
            return False

    wait_until(ready, timeout=timeout, what=url)


def wait_for_worker(process: ServiceProcess, timeout: float = 30.0) -> None:
    def ready() -> bool:
        if not process.alive():
            raise RuntimeError(f"{process.name} exited early:\n{process.log_tail()}")
        return (
            " ready." in process.log_path.read_text(errors="replace") if process.log_path.exists() else False
        )

    wait_until(ready, timeout=timeout, what=f"{process.name} ready")
