"""`python -m backend.devserver` end to end: the lines last, a reusable 0600 key, a real job on the demo shop, no orphans."""

from __future__ import annotations

import hashlib
import io
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
from PIL import Image

from backend.settings import Settings
from tests import services

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT = 90.0
JOB_TIMEOUT = 90.0


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def product_photo(index: int) -> bytes:
    """A 900x900 JPEG whose content differs per index (distinct hashes and perceptual hashes)."""
    red = Image.linear_gradient("L").rotate(90 * index).resize((900, 900))
    green = Image.radial_gradient("L").resize((900, 900))
    blue = Image.effect_noise((900, 900), 40 + 10 * index)
    buffer = io.BytesIO()
    Image.merge("RGB", (red, green, blue)).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


class SlowImagesHandler(QuietHandler):
    """Pages at once, each photo after IMAGE_DELAY seconds: a job on it stays running a while."""

    def do_GET(self) -> None:
        if self.path.endswith(".jpg"):
            time.sleep(IMAGE_DELAY)
        super().do_GET()


IMAGE_DELAY = 4.0


def serve_product_page(site: Path, handler: type[SimpleHTTPRequestHandler]) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(handler, directory=str(site)))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/index.html"
    server.shutdown()
    server.server_close()


def write_product_page(site: Path) -> Path:
    site.mkdir()
    images = []
    for index in range(3):
        (site / f"espresso-{index}.jpg").write_bytes(product_photo(index))
        images.append(f'<img src="/espresso-{index}.jpg" alt="Espresso machine, view {index}" width="900">')
    (site / "index.html").write_text(
        "<html><head><title>Espresso Machine</title>"
        '<meta property="og:image" content="/espresso-0.jpg"></head>'
        f"<body><h1>Espresso Machine</h1>{''.join(images)}</body></html>"
    )
    return site


@pytest.fixture
def product_page(tmp_path: Path) -> Iterator[str]:
    """A tiny product page with three photos, served on loopback; yields its URL."""
    yield from serve_product_page(write_product_page(tmp_path / "site"), QuietHandler)


@pytest.fixture
def slow_product_page(tmp_path: Path) -> Iterator[str]:
    """The same page, its photos answered only after IMAGE_DELAY seconds."""
    yield from serve_product_page(write_product_page(tmp_path / "slow-site"), SlowImagesHandler)


@dataclass
class DevServer:
    """A running `python -m backend.devserver` and the lines it printed."""

    process: subprocess.Popen[str]
    lines: list[str] = field(default_factory=list)

    def read_stdout(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def value(self, prefix: str) -> str | None:
        return next((line.removeprefix(prefix) for line in self.lines if line.startswith(prefix)), None)

    def wait_for_lines(self, stderr_log: Path) -> tuple[str, str]:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            url, key = self.value("API: "), self.value("API key: ")
            if url and key:
                return url, key
            if self.process.poll() is not None:
                break
            time.sleep(0.1)
        raise AssertionError(f"no API/key lines; stdout={self.lines}\n{stderr_log.read_text()[-4000:]}")


def devserver_env(port: int, var_dir: Path, **extra: str) -> dict[str, str]:
    """The embedded default: no database, broker or storage settings from the machine running the tests."""
    env = {key: value for key, value in os.environ.items() if key.lower() not in Settings.model_fields}
    env.update(PORT=str(port), VAR_DIR=str(var_dir), PYTHONUNBUFFERED="1", **extra)
    return env


def start_devserver(port: int, var_dir: Path, stderr_log: Path, **extra_env: str) -> DevServer:
    with stderr_log.open("a") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "backend.devserver"],
            cwd=ROOT,
            env=devserver_env(port, var_dir, **extra_env),
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
    server = DevServer(process)
    threading.Thread(target=server.read_stdout, daemon=True).start()
    return server


def process_table() -> dict[int, tuple[int, int, str]]:
    """pid -> (ppid, pgid, state) for every process, read from /proc."""
    table = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        table[int(entry.name)] = (int(fields[1]), int(fields[2]), fields[0])
    return table


def descendants(pid: int) -> set[int]:
    """Every live process below `pid`, and every member of its children's process groups."""
    table = process_table()
    found: set[int] = set()
    frontier = [pid]
    while frontier:
        parent = frontier.pop()
        children = {child for child, (ppid, _, _) in table.items() if ppid == parent}
        frontier.extend(children - found)
        found |= children
    groups = {table[child][1] for child in found if child in table}
    return found | {member for member, (_, pgid, _) in table.items() if pgid in groups}


def alive(pids: set[int]) -> set[int]:
    table = process_table()
    return {pid for pid in pids if pid in table and table[pid][2] != "Z"}


def stop(server: DevServer, signum: int = signal.SIGINT) -> int:
    if server.process.poll() is None:
        server.process.send_signal(signum)
    try:
        return server.process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        server.process.kill()
        return server.process.wait()


def run_job(base_url: str, key: str, page_url: str) -> dict[str, object]:
    headers = {"Authorization": f"Bearer {key}"}
    submitted = requests.post(
        f"{base_url}/api/v1/jobs", json={"sales_page_url": page_url}, headers=headers, timeout=10
    )
    assert submitted.status_code == 202, submitted.text
    job_url = f"{base_url}/api/v1/jobs/{submitted.json()['id']}"
    deadline = time.monotonic() + JOB_TIMEOUT
    while time.monotonic() < deadline:
        job = requests.get(job_url, headers=headers, timeout=10).json()
        if job["status"] in ("succeeded", "failed", "cancelled"):
            return job
        time.sleep(0.3)
    raise AssertionError(f"job did not finish: {job}")


def test_devserver_runs_a_job_and_stops_cleanly(tmp_path, product_page):
    """The devserver prints URL and key last, scrapes its demo shop with the guard on, reuses its key,
    and leaves no process behind."""
    port, var_dir, log = services.free_port_pair(), tmp_path / "var", tmp_path / "devserver.log"
    server = start_devserver(port, var_dir, log)
    try:
        url, key = server.wait_for_lines(log)
        children = descendants(server.process.pid)
        assert url == f"http://127.0.0.1:{port}"
        assert server.lines[-2:] == [f"API: {url}", f"API key: {key}"]
        shop = server.value("Demo shop: ").split()[0]
        assert shop == f"http://127.0.0.1:{port + 1}/products/espresso-machine"
        assert requests.get(f"{url}/health/live", timeout=5).status_code == 200

        job = run_job(url, key, shop)
        # Only the demo shop's origin is let through: another loopback site is refused, with the way out.
        refused = run_job(url, key, product_page)
        images = requests.get(
            f"{url}/api/v1/campaigns/{job['campaign_id']}/images",
            headers={"Authorization": f"Bearer {key}"},
            timeout=10,
        ).json()["items"]
        photo = requests.get(images[0]["cdn_url"], timeout=10)
    finally:
        code = stop(server)

    assert job["status"] == "succeeded", job
    assert job["progress"]["images_saved"] >= 4
    assert refused["status"] == "failed"
    assert refused["error"]["code"] == "blocked_url"
    assert "SCRAPER_ALLOWED_ORIGINS" in refused["error"]["message"]
    assert photo.status_code == 200
    assert photo.headers["Content-Type"] == "image/jpeg"
    assert code == 0, log.read_text()[-4000:]
    # Quiet unless something happens: no banner, no dev-server warning, no kombu, migration or access lines.
    terminal = log.read_text() + "\n".join(server.lines)
    for noise in (
        "development server",
        "No hostname was supplied",
        "[tasks]",
        "Running upgrade",
        "celery.beat",
        "http.request",  # one line per request of the API's
    ):
        assert noise not in terminal
    assert len(children) >= 3
    assert alive(children) == set()

    key_file = var_dir / "dev-api-key"
    assert key_file.read_text().strip() == key
    assert key_file.stat().st_mode & 0o777 == 0o600
    with sqlite3.connect(var_dir / "scraper.db") as db:
        stored = db.execute("SELECT key_hash FROM api_keys").fetchall()
    assert stored == [(hashlib.sha256(key.encode()).hexdigest(),)]

    again = start_devserver(port, var_dir, log)
    try:
        _, second_key = again.wait_for_lines(log)
    finally:
        stop(again, signal.SIGTERM)
    assert second_key == key


def test_devserver_exits_non_zero_when_a_child_dies(tmp_path):
    """If the worker dies, the devserver stops the API too and exits 1."""
    port, log = services.free_port_pair(), tmp_path / "devserver.log"
    server = start_devserver(port, tmp_path / "var", log)
    try:
        server.wait_for_lines(log)
        children = descendants(server.process.pid)
        table = process_table()
        worker = next(
            pid
            for pid in children
            if table.get(pid, (0, 0, ""))[0] == server.process.pid
            and "celery" in Path(f"/proc/{pid}/cmdline").read_text()
        )
        os.killpg(worker, signal.SIGKILL)
        code = server.process.wait(timeout=60)
    finally:
        stop(server)
    assert code == 1
    assert alive(children) == set()
    assert "devserver.child_died child=worker" in log.read_text()


def test_devserver_refuses_a_busy_port(tmp_path):
    """A port that is already taken is refused at once with one clear line."""
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "backend.devserver"],
            cwd=ROOT,
            env=devserver_env(port, tmp_path / "var"),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == f"port {port} is already in use; set PORT to a free port"


def test_devserver_refuses_a_busy_demo_shop_port(tmp_path):
    """The demo shop's port (PORT+1) is checked up front too."""
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        shop_port = busy.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "backend.devserver"],
            cwd=ROOT,
            env=devserver_env(shop_port - 1, tmp_path / "var"),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert result.returncode == 1
    assert (
        result.stderr.strip().splitlines()[-1]
        == f"port {shop_port} is already in use; set PORT to a free port"
    )


def test_ctrl_c_lets_a_running_job_finish(tmp_path, slow_product_page):
    """Ctrl-C while a job runs: the worker gets a warm shutdown, the job ends succeeded, exit 0."""
    port, var_dir, log = services.free_port_pair(), tmp_path / "var", tmp_path / "devserver.log"
    origin = slow_product_page.rsplit("/", 1)[0]
    server = start_devserver(port, var_dir, log, SCRAPER_ALLOWED_ORIGINS=origin)
    try:
        url, key = server.wait_for_lines(log)
        headers = {"Authorization": f"Bearer {key}"}
        job = requests.post(
            f"{url}/api/v1/jobs", json={"sales_page_url": slow_product_page}, headers=headers, timeout=10
        ).json()
        deadline = time.monotonic() + JOB_TIMEOUT
        job_url = f"{url}/api/v1/jobs/{job['id']}"
        while requests.get(job_url, headers=headers, timeout=10).json()["status"] != "running":
            assert time.monotonic() < deadline
            time.sleep(0.1)
    finally:
        code = stop(server)
    assert code == 0, log.read_text()[-4000:]
    assert "a job is running; letting it finish" in log.read_text()
    with sqlite3.connect(var_dir / "scraper.db") as db:
        row = db.execute("SELECT status, images_saved FROM jobs WHERE id = ?", (job["id"].replace("-", ""),))
        status, saved = row.fetchone()
    assert (status, saved) == ("succeeded", 3)
