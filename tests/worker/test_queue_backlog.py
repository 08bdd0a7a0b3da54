"""queue_backlog reads the waiting messages of a queue from the real broker (the sweep's backlog check)."""

from __future__ import annotations

import uuid

import redis

from backend.broker import queue_backlog
from worker.config import make_celery


def test_queue_backlog_counts_waiting_messages_on_redis(make_settings, redis_url):
    """An empty queue is 0; three sent messages are 3."""
    queue = f"backlog-{uuid.uuid4().hex[:8]}"
    app = make_celery(make_settings(redis_url=redis_url, celery_queue=queue))
    try:
        assert queue_backlog(app, queue) == 0
        for index in range(3):
            app.send_task("scraper.nothing", args=[index])
        assert queue_backlog(app, queue) == 3
    finally:
        client = redis.Redis.from_url(redis_url)
        client.delete(queue)
        client.close()


def test_queue_backlog_is_zero_when_the_broker_is_unreachable(make_settings):
    """An unknown depth never stops the sweep: it reads as 0 (the enqueue then reports the dead broker)."""
    app = make_celery(make_settings(redis_url="redis://127.0.0.1:1/0"))
    assert queue_backlog(app, "scrape") == 0
