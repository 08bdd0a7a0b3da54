"""The speed benchmark's instruments: child processes, RSS/connection sampling, the decode floor, API latency.

Nothing here imports the service: the floor and the latency client are plain `requests`,
Pillow and hashlib, so they measure the hardware and the HTTP stack, not our code.
"""

from __future__ import annotations

import contextlib
import hashlib
import multiprocessing
import os
import signal
import statistics
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from io import BytesIO
from pathlib import Path
from types import TracebackType
from typing import Any

import requests
from PIL import Image
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

SAMPLE_SECONDS = 0.1
FLOOR_THREADS = 8
LATENCY_THREADS = 4
LATENCY_TIME_LIMIT = 60.0  # seconds per route, whatever the request count


class Children:
    """Child processes in their own process groups, stopped (and cleanups run) in reverse order on exit."""

    def __init__(self) -> None:
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.cleanups: list[Callable[[], None]] = []

    def start(
        self, name: str, argv: Sequence[str], log_dir: Path, env: dict[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        log = (log_dir / f"{name}.log").open("wb")
        cwd = Path(__file__).resolve().parent.parent
        proc = subprocess.Popen(
            argv, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.procs[name] = proc
        return proc

    def stop(self, name: str) -> None:
        proc = self.procs.pop(name, None)
        if proc is None or proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)

    def __enter__(self) -> Children:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        for name in reversed(list(self.procs)):
            self.stop(name)
        for cleanup in reversed(self.cleanups):
            with contextlib.suppress(Exception):
                cleanup()


def process_tree(root: int) -> list[int]:
    """`root` and all its descendants, from /proc/<pid>/task/*/children."""
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        for task in Path(f"/proc/{pid}/task").glob("*"):
            with contextlib.suppress(OSError):
                todo += [int(child) for child in (task / "children").read_text().split()]
    return tree


def rss_mb(pid: int) -> float:
    """VmRSS of one process in MB (0 if it is gone)."""
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


class PeakSampler:
    """Samples, from a thread, the RSS of process trees and the service's Postgres connections; keeps the peaks."""

    def __init__(self, roots: dict[str, int], admin_url: str, database: str) -> None:
        self.roots = roots
        self.engine = create_engine(make_url(admin_url), poolclass=NullPool)
        self.database = database
        self.peaks: dict[str, float] = {}
        self.max_connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="sampler", daemon=True)

    def _loop(self) -> None:
        query = text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = :db AND application_name LIKE 'image-scraper:%'"
        )
        with self.engine.connect() as conn:
            while not self._stop.wait(SAMPLE_SECONDS):
                self._sample_rss()
                count = int(conn.execute(query, {"db": self.database}).scalar_one())
                self.max_connections = max(self.max_connections, count)
                conn.rollback()

    def _sample_rss(self) -> None:
        for name, root in self.roots.items():
            per_process = [rss_mb(pid) for pid in process_tree(root)]
            self._peak(f"{name}_tree", sum(per_process))
            self._peak(f"{name}_process_max", max(per_process, default=0.0))

    def _peak(self, key: str, value: float) -> None:
        self.peaks[key] = max(self.peaks.get(key, 0.0), value)

    def peak_rss_mb(self) -> dict[str, float]:
        return {key: round(value, 1) for key, value in sorted(self.peaks.items())}

    def __enter__(self) -> PeakSampler:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.engine.dispose()


def _floor_one(session: requests.Session, url: str) -> int:
    data = session.get(url, timeout=30).content
    with Image.open(BytesIO(data)) as image:
        image.load()  # the full decode
    hashlib.md5(data).hexdigest()
    return len(data)


def _floor_process(urls: list[str]) -> int:
    Image.MAX_IMAGE_PIXELS = None  # the floor decodes everything the site serves
    session = requests.Session()
    adapter = requests.adapters.HTTPAdapter(pool_maxsize=FLOOR_THREADS)
    session.mount("http://", adapter)
    with ThreadPoolExecutor(FLOOR_THREADS) as pool:
        return sum(pool.map(lambda url: _floor_one(session, url), urls))


def floor_run(urls: list[str], *, processes: int, deadline: float) -> dict[str, Any]:
    """Download, fully decode and MD5 every URL on `processes` processes × FLOOR_THREADS threads."""
    shares = [urls[index::processes] for index in range(processes)]
    started = time.monotonic()
    with multiprocessing.get_context("spawn").Pool(processes) as pool:
        result = pool.map_async(_floor_process, shares)
        total = sum(result.get(timeout=max(1.0, deadline - time.monotonic())))
    wall = time.monotonic() - started
    return {"images": len(urls), "megabytes": round(total / 1e6, 1), "wall_seconds": round(wall, 2),
            "processes": processes, "threads": FLOOR_THREADS}  # fmt: skip


def _timed_requests(call: Callable[[requests.Session], requests.Response], count: int) -> list[float]:
    """`count` calls spread over LATENCY_THREADS threads, each with its own keep-alive session; seconds each."""
    timings: list[float] = []
    stop_at = time.monotonic() + LATENCY_TIME_LIMIT
    lock = threading.Lock()

    def worker(share: int) -> None:
        session = requests.Session()
        for _ in range(share):
            if time.monotonic() > stop_at:
                return
            started = time.perf_counter()
            call(session).raise_for_status()
            with lock:
                timings.append(time.perf_counter() - started)

    threads = [
        threading.Thread(target=worker, args=(count // LATENCY_THREADS,)) for _ in range(LATENCY_THREADS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return timings


def _summary(timings: list[float]) -> dict[str, float]:
    ordered = sorted(timings)
    return {"n": len(ordered), "mean_ms": round(statistics.fmean(ordered) * 1000, 2),
            "p50_ms": round(ordered[len(ordered) // 2] * 1000, 2),
            "p90_ms": round(ordered[int(len(ordered) * 0.9)] * 1000, 2)}  # fmt: skip


def latency_check(base: str, key: str, page_url: str, *, requests_per_route: int) -> dict[str, Any]:
    """POST/GET a job vs /health/live on the same gunicorn, interleaved route by route twice; ratios of means."""
    auth = {"Authorization": f"Bearer {key}"}
    job_id = requests.post(
        f"{base}/api/v1/jobs", json={"sales_page_url": page_url}, headers=auth, timeout=10
    ).json()["id"]
    routes: dict[str, Callable[[requests.Session], requests.Response]] = {
        "bare": lambda s: s.get(f"{base}/health/live", timeout=10),
        "get_job": lambda s: s.get(f"{base}/api/v1/jobs/{job_id}", headers=auth, timeout=10),
        "post_job": lambda s: s.post(
            f"{base}/api/v1/jobs", json={"sales_page_url": page_url}, headers=auth, timeout=10
        ),
    }
    _timed_requests(routes["bare"], LATENCY_THREADS * 10)  # warm up connections and code paths
    timings: dict[str, list[float]] = {name: [] for name in routes}
    for _ in range(2):  # two rounds, so a burst of machine load does not land on one route only
        for name, call in routes.items():
            timings[name] += _timed_requests(call, requests_per_route // 2)
    result: dict[str, Any] = {name: _summary(values) for name, values in timings.items()}
    for name in ("get_job", "post_job"):
        result[f"{name}_over_bare"] = round(result[name]["mean_ms"] / result["bare"]["mean_ms"], 2)
    result["threads"] = LATENCY_THREADS
    return result
