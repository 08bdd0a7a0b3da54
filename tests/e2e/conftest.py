"""A running system for end-to-end tests: API under gunicorn, Celery worker processes, the shop site."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from backend.auth import issue_api_key
from backend.settings import Settings
from tests import processes
from tests.conftest import settings_env
from tests.services import free_port
from tests.shopsite import ServedSite, build_site, serve_site


@dataclass
class RunningSystem:
    """The API base URL, a key, and handles on the processes behind them."""

    base_url: str
    api_key: str
    api: processes.ServiceProcess
    worker: processes.ServiceProcess
    settings: Settings

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return requests.post(f"{self.base_url}{path}", headers=self.headers, timeout=10, **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return requests.get(f"{self.base_url}{path}", headers=self.headers, timeout=10, **kwargs)

    def delete(self, path: str) -> requests.Response:
        return requests.delete(f"{self.base_url}{path}", headers=self.headers, timeout=10)

    def wait_for_job(self, job_id: str, timeout: float = 90.0) -> dict[str, Any]:
        """Poll the job until it ends; returns the final job JSON."""

        def finished() -> dict[str, Any] | None:
            job = self.get(f"/api/v1/jobs/{job_id}").json()
            return job if job["status"] in ("succeeded", "failed", "cancelled") else None

        try:
            return processes.wait_until(finished, timeout=timeout, interval=0.3, what=f"job {job_id}")  # type: ignore[return-value]
        except TimeoutError:
            raise AssertionError(
                f"job {job_id} did not finish\n--- worker log ---\n{self.worker.log_tail()}"
            ) from None


def start_system(
    settings: Settings, log_dir: Path, api_key: str, *, concurrency: int = 2, port: int | None = None
) -> RunningSystem:
    port = port or free_port()
    env = settings_env(settings) | {"PORT": str(port)}
    api = processes.api_process(port, env, log_dir).start()
    worker = processes.worker_process(env, log_dir, concurrency=concurrency).start()
    base_url = f"http://127.0.0.1:{port}"
    try:
        processes.wait_for_http(f"{base_url}/health/live", api)
        processes.wait_for_worker(worker)
    except Exception:
        api.stop()
        worker.stop()
        raise
    return RunningSystem(base_url=base_url, api_key=api_key, api=api, worker=worker, settings=settings)


@pytest.fixture
def new_api_key(db: Any) -> str:
    with db.session() as session:
        issued = issue_api_key(session, "e2e@example.test")
        session.commit()
    return issued.plaintext


@pytest.fixture
def system(
    settings: Settings, db: Any, store: Any, new_api_key: str, tmp_path: Path
) -> Iterator[RunningSystem]:
    """API + 2-process worker on Postgres, Redis and the S3 server."""
    running = start_system(settings, tmp_path, new_api_key)
    yield running
    running.worker.stop()
    running.api.stop()


SLOW_PAGE = "/products/slow.html"


@pytest.fixture(scope="session")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedSite]:
    """The project's shop site plus a page whose last images answer only after a stall."""
    root = tmp_path_factory.mktemp("e2e-shop")
    manifest = build_site(root)
    images = "".join(
        f'<img src="{prefix}/img/basic/{name}.jpg" alt="{name}">'
        for prefix, name in (("", "hero"), ("", "side"), ("/stall", "back"), ("/stall", "detail"))
    )
    (root / SLOW_PAGE.lstrip("/")).write_text(
        f"<html><body><div class='product-gallery'>{images}</div></body></html>"
    )
    with serve_site(root) as base_url:
        yield ServedSite(manifest=manifest, base_url=base_url, root=root)
