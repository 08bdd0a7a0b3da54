"""The benchmark's side of the service under test: its throwaway database, an API key and the job API.

Apart from run_service.py, which starts the service's processes before importing this module:
SQLAlchemy, requests and the backend take about a second to import, and that second then
overlaps the API's and the worker's own imports instead of coming before them.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from backend.auth import issue_api_key
from backend.db import Database
from backend.migrate import upgrade_to_head
from backend.settings import load_settings

TERMINAL = {"succeeded", "failed", "cancelled"}


def create_database(admin_url: str, name: str) -> None:
    _as_admin(admin_url, f'CREATE DATABASE "{name}"')


def drop_database(admin_url: str, name: str) -> None:
    _as_admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _as_admin(admin_url: str, statement: str) -> None:
    """One statement outside a transaction (CREATE/DROP DATABASE cannot run inside one), on a fresh connection."""
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with engine.connect() as conn:
        conn.execute(text(statement))
    engine.dispose()


def migrate_and_issue_key(db_url: str) -> str:
    """The schema at head (Alembic) and a new API key's plaintext."""
    upgrade_to_head(db_url)
    database = Database(load_settings(database_url=db_url))
    with database.session() as session:
        key = issue_api_key(session, "bench@localhost").plaintext
        session.commit()
    database.dispose()
    return key


def api_session(key: str) -> requests.Session:
    """A keep-alive HTTP session sending the API key."""
    http = requests.Session()
    http.headers["Authorization"] = f"Bearer {key}"
    return http


def wait_ready(base: str, deadline: float, path: str = "/health") -> None:
    """Wait until GET base+path answers 200 (the API's readiness probe by default)."""
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{base}{path}", timeout=5).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise TimeoutError("the API did not become healthy")


def submit_all(http: requests.Session, base: str, pages: list[str]) -> dict[str, dict[str, Any]]:
    jobs = {}
    for page in pages:
        response = http.post(
            f"{base}/api/v1/jobs", json={"sales_page_url": page, "max_images": 100}, timeout=30
        )
        response.raise_for_status()
        jobs[page] = response.json()
    return jobs


def wait_all(
    http: requests.Session,
    base: str,
    jobs: dict[str, dict[str, Any]],
    deadline: float,
    interval: float = 0.2,
    on_end: Callable[[str, dict[str, Any]], None] | None = None,
) -> None:
    """Poll the pending jobs until all have ended or the deadline passes; `jobs` gets their final state.

    Jobs run roughly in submission order, so each round polls them in that order and stops at
    the first one still pending: the poller costs the API a few requests a round, not one per
    job, and leaves the CPU to the workers being measured. `on_end(page, job)` is told of each
    job as soon as it is seen ended.
    """
    pending = dict(jobs)
    while pending and time.monotonic() < deadline:
        for page, job in list(pending.items()):
            current = http.get(f"{base}/api/v1/jobs/{job['id']}", timeout=10).json()
            if current["status"] not in TERMINAL:
                break
            jobs[page] = current
            del pending[page]
            if on_end is not None:
                on_end(page, current)
        time.sleep(interval)


def collect(http: requests.Session, base: str, job: dict[str, Any], store_dir: Path) -> list[dict[str, str]]:
    images = []
    url = f"{base}/api/v1/campaigns/{job['campaign_id']}/images?limit=100"
    for item in http.get(url, timeout=30).json()["items"]:
        data = (store_dir / item["storage_key"]).read_bytes()
        images.append({"url": item["original_url"], "checksum": hashlib.md5(data).hexdigest()})
    return images
