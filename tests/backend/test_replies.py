"""The reply boxes /analyze answers travel in: Redis lists (real Redis) and files, put, waited for, expired."""

from __future__ import annotations

import os
import threading
import time

import pytest

from backend.replies import REPLY_TTL_SECONDS, FileReplyBox, RedisReplyBox, make_reply_box


@pytest.fixture(params=["redis", "files"])
def box(request, redis_url, tmp_path):
    made = (
        RedisReplyBox(redis_url, f"t{time.monotonic_ns()}", max_wait=5) if request.param == "redis" else None
    )
    made = made or FileReplyBox(tmp_path / "replies")
    yield made
    made.close()


def test_a_reply_put_while_waiting_wakes_the_waiter_and_is_taken_once(box):
    taken: list = []
    waiter = threading.Thread(target=lambda: taken.append(box.wait("r1", 5)))
    waiter.start()
    box.put("r1", {"analysis": {"url": "u"}})
    waiter.join(timeout=10)
    assert taken == [{"analysis": {"url": "u"}}]
    assert box.wait("r1", 0.05) is None


def test_waiting_for_a_reply_nobody_sends_ends_empty(box):
    assert box.wait("never", 0.2) is None


def test_redis_replies_expire(redis_url):
    box = RedisReplyBox(redis_url, "expiry", max_wait=5)
    box.put("r2", {"error": {"code": "timeout", "message": "m"}})
    assert 0 < box.client.ttl(box._key("r2")) <= REPLY_TTL_SECONDS
    box.close()


def test_a_stale_file_reply_is_removed_by_the_next_wait(tmp_path):
    box = FileReplyBox(tmp_path / "replies")
    box.put("late", {"analysis": {}})
    old = time.time() - REPLY_TTL_SECONDS - 1
    os.utime(tmp_path / "replies" / "late.json", (old, old))
    assert box.wait("other", 0.01) is None
    assert list((tmp_path / "replies").iterdir()) == []


def test_the_box_follows_the_deployment(make_settings, redis_url):
    assert isinstance(make_reply_box(make_settings(redis_url=redis_url)), RedisReplyBox)
    assert isinstance(make_reply_box(make_settings()), FileReplyBox)  # the embedded filesystem broker
    assert make_reply_box(make_settings(celery_broker_url="amqp://guest@127.0.0.1//")) is None
