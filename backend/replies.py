"""Where a worker leaves the answer to one /analyze call, and where the API process waits for it.

A reply is one JSON object under a random id. With REDIS_URL it is a Redis list that
expires after REPLY_TTL_SECONDS: the worker pushes it, and the API's BLPOP wakes as soon as
it is there. Without Redis (the embedded default: a filesystem broker, API and worker on one
machine) it is a file under VAR_DIR/replies that the API polls. A reply nobody waits for any
more (the API gave up) expires in Redis, or is removed by the next file wait once stale.
Neither Celery's result backend nor the jobs table is used: a preview is not stored.
"""

from __future__ import annotations

import contextlib
import json
import time
from pathlib import Path
from typing import Any, Protocol

import redis

from backend.errors import BrokerUnavailableError
from backend.settings import Settings

REPLY_TTL_SECONDS = 300
KEY_PREFIX = "scraper:analyze-reply"
FILE_POLL_SECONDS = 0.1


class ReplyBox(Protocol):
    def put(self, reply_id: str, reply: dict[str, Any]) -> None: ...

    def wait(self, reply_id: str, timeout: float) -> dict[str, Any] | None: ...

    def close(self) -> None: ...


class RedisReplyBox:
    """Replies as short-lived Redis lists: one RPUSH + EXPIRE to answer, one BLPOP to wait."""

    def __init__(self, url: str, namespace: str, max_wait: float) -> None:
        # The socket timeout must outlast the longest BLPOP, or redis-py gives up first.
        self.client = redis.Redis.from_url(url, socket_connect_timeout=5, socket_timeout=max_wait + 10)
        self.namespace = namespace

    def _key(self, reply_id: str) -> str:
        return f"{KEY_PREFIX}:{self.namespace}:{reply_id}"

    def put(self, reply_id: str, reply: dict[str, Any]) -> None:
        key = self._key(reply_id)
        try:
            with self.client.pipeline(transaction=True) as pipe:
                pipe.rpush(key, json.dumps(reply, separators=(",", ":")))
                pipe.expire(key, REPLY_TTL_SECONDS)
                pipe.execute()
        except redis.RedisError as exc:
            raise BrokerUnavailableError(f"reply channel unavailable: {type(exc).__name__}") from exc

    def wait(self, reply_id: str, timeout: float) -> dict[str, Any] | None:
        try:
            found = self.client.blpop([self._key(reply_id)], timeout=max(timeout, 0.01))
        except redis.RedisError as exc:
            raise BrokerUnavailableError(f"reply channel unavailable: {type(exc).__name__}") from exc
        return None if found is None else json.loads(found[1])

    def close(self) -> None:
        self.client.close()


class FileReplyBox:
    """Replies as files in one folder (one machine only): written atomically, polled, removed when read."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def put(self, reply_id: str, reply: dict[str, Any]) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        partial = self.folder / f".{reply_id}.partial"
        partial.write_text(json.dumps(reply, separators=(",", ":")))
        partial.replace(self.folder / f"{reply_id}.json")

    def wait(self, reply_id: str, timeout: float) -> dict[str, Any] | None:
        path = self.folder / f"{reply_id}.json"
        end = time.monotonic() + timeout
        while True:
            with contextlib.suppress(FileNotFoundError):
                reply = json.loads(path.read_text())
                path.unlink(missing_ok=True)
                return reply
            if time.monotonic() >= end:
                self._remove_stale()
                return None
            time.sleep(FILE_POLL_SECONDS)

    def _remove_stale(self) -> None:
        """Delete replies left by workers that answered after their caller gave up."""
        cutoff = time.time() - REPLY_TTL_SECONDS
        with contextlib.suppress(FileNotFoundError):
            for path in self.folder.iterdir():
                with contextlib.suppress(FileNotFoundError):
                    if path.stat().st_mtime < cutoff:
                        path.unlink()

    def close(self) -> None:
        """Nothing is held open."""


def make_reply_box(settings: Settings) -> ReplyBox | None:
    """Redis when REDIS_URL is set, files under VAR_DIR with the filesystem broker, else None (no previews)."""
    if settings.redis_url:
        url = settings.redis_url
        if settings.redis_tls and url.startswith("redis://"):
            url = "rediss://" + url.removeprefix("redis://")
        return RedisReplyBox(url, settings.celery_queue, max_wait=settings.analyze_wait_seconds)
    if settings.broker_url.startswith("filesystem://"):
        return FileReplyBox((settings.var_dir / "replies").resolve())
    return None
